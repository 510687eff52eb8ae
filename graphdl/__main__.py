"""``python -m graphdl``: the graphdl command line (see graphdl/cli.py)."""

import sys

from graphdl.cli import main

sys.exit(main())
