"""The thread budget of the Numba backend: its kernel thread pool and BLAS's.

NumPy's OpenBLAS (and SciPy's, if loaded) each keep a thread pool; with the kernels'
own pool they would oversubscribe the cores. A session's
``ConfigProto(intra_op_parallelism_threads=n)`` sets all of them to ``n`` (through
threadpoolctl, which finds every loaded BLAS); ``NUMBA_NUM_THREADS`` or the core count
is the default.
"""

from __future__ import annotations

import os

_state = {"threads": None, "limiter": None}


def kernel_threads() -> int:
    """How many threads a large kernel may split its work across."""
    if _state["threads"] is None:
        _state["threads"] = max(1, int(os.environ.get("NUMBA_NUM_THREADS") or os.cpu_count() or 1))
    return _state["threads"]


def set_threads(count: int):
    """Use ``count`` threads for kernels and for every loaded BLAS library."""
    if not count or count < 1 or count == _state["threads"]:
        return
    from threadpoolctl import threadpool_limits

    _state["threads"] = int(count)
    _state["limiter"] = threadpool_limits(limits=int(count), user_api="blas")
