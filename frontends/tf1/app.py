"""``tf.app``: ``tf.app.run()`` and ``tf.app.flags``, as TF1 scripts start::

    def main(argv):
        ...

    if __name__ == "__main__":
        tf.app.run()
"""

from __future__ import annotations

import sys

from graphdl.frontends.tf1 import flags

__all__ = ["flags", "run"]


def run(main=None, argv=None):
    """Parse the known flags of ``argv`` (default ``sys.argv``), call ``main(remaining argv)``, exit with its result.

    ``main`` defaults to the ``main`` function of the ``__main__`` module. Unknown flags are
    left in the argv ``main`` receives, as TF1 does; a flag with an invalid value prints the
    error and exits with status 1. Ends with ``sys.exit(main(argv))``.
    """
    main = main or sys.modules["__main__"].main
    try:
        remaining = flags.FLAGS(sys.argv if argv is None else argv, known_only=True)
    except flags.Error as e:
        sys.stderr.write(f"FATAL Flags parsing error: {e}\nPass --helpshort or --helpfull to see help on flags.\n")
        sys.exit(1)
    sys.exit(main(remaining))
