"""graphdl's benchmark harness: the standard workloads W1-W6 on graphdl and on the peer
frameworks installed beside it (``python -m bench.run --help``; see bench/README.md).

Kept free of imports so that ``python -m bench.worker --cold`` measures only the framework's start-up.
"""
