"""The thread budget of the Numba backend: its kernel thread pool and BLAS's.

NumPy's OpenBLAS (and SciPy's, if loaded) each keep a thread pool; with the kernels'
own pool they would oversubscribe the cores. A session's
``ConfigProto(intra_op_parallelism_threads=n)`` sets all of them to ``n`` (through
threadpoolctl, which finds every loaded BLAS); ``NUMBA_NUM_THREADS`` or the core count
is the default.

A program whose matrix products run on several BLAS threads runs its own kernels on one
thread: after each such call, OpenBLAS's workers spin-wait on the other cores for a long
while (about 0.1 s), so a kernel split across the pool would share those cores with
spinning threads and run slower than on one (a W1 training step: Adam on the 784x512
weight 0.45 ms split vs 0.29 ms serial, the matmuls 0.8 vs 0.5 ms). A program whose
products are all small keeps BLAS on one thread and splits its own kernels instead
(a LeNet step: every product is below the limit, the convolutions and pooling dominate).

A program with a kernel that interleaves many medium products with its own loops (an LSTM
layer's recurrence: 28 steps of a (128, 128) x (128, 512) product and a cell update) keeps BLAS
on one thread throughout and splits its large products itself, one single-threaded product per
kernel thread (``product_pieces``); the recurrence then runs each half of the batch on its own
core, products and cell updates alike, instead of running every cell update on one core while
the other spins (a W3 step: 0.79-0.92x the time, interleaved in one process). Kernels declare this with
``prefer_products_on_kernel_pool``; the executable switches the mode per run. The mode is process-wide,
like BLAS's thread count: sessions running at once in several threads may see each other's setting, which
changes how fast their products run, never what they compute.
"""

from __future__ import annotations

import os
import threading

_state = {"threads": None, "limiter": None}
_run_local = threading.local()


def kernel_threads() -> int:
    """How many threads a large kernel may split its work across (1 inside a serial run)."""
    if getattr(_run_local, "serial", False):
        return 1
    if _state["threads"] is None:
        _state["threads"] = max(1, int(os.environ.get("NUMBA_NUM_THREADS") or os.cpu_count() or 1))
    return _state["threads"]


def thread_budget() -> int:
    """The configured number of threads (``ConfigProto``, ``NUMBA_NUM_THREADS`` or the core count)."""
    if _state["threads"] is None:
        _state["threads"] = max(1, int(os.environ.get("NUMBA_NUM_THREADS") or os.cpu_count() or 1))
    return _state["threads"]


# Matrix products with fewer multiply-adds than this and operands that fit in cache run on one BLAS
# thread. Splitting them gains a few microseconds on an idle machine, but each call then waits for a
# second thread, which on a busy machine may not be scheduled for milliseconds: a (64, 72) x (72, 256)
# product measured 23-31 ms with two OpenBLAS threads and another process busy, against 20-30 us on one.
# Products that stream a large operand (W5's (1, 784) x (784, 512): 25 us on one thread, 13 on two) keep
# the thread budget.
BLAS_PARALLEL_MIN_MACS = 1 << 22
BLAS_PARALLEL_MIN_BYTES = 1 << 19
_blas = {"controllers": None, "threads": None, "parallel_calls": 0, "on_kernel_pool": False}
_PREFER_KERNEL_POOL: set = set()


def prefer_products_on_kernel_pool(*op_types: str):
    """Declare that programs with these ops run their products on one BLAS thread each, split across the
    kernel pool (see the module doc)."""
    _PREFER_KERNEL_POOL.update(op_types)


def prefers_products_on_kernel_pool(op_types) -> bool:
    """Whether a program with ``op_types`` should run its products on the kernel pool."""
    return not _PREFER_KERNEL_POOL.isdisjoint(op_types)


def set_products_on_kernel_pool(on: bool) -> bool:
    """Run products on one BLAS thread each, large ones split by their kernels (``True``) or on BLAS's own
    threads; returns the previous setting."""
    previous = _blas["on_kernel_pool"]
    _blas["on_kernel_pool"] = bool(on)
    return previous


def parallel_blas_calls() -> int:
    """How many products so far were given more than one BLAS thread (a counter to compare across a run)."""
    return _blas["parallel_calls"]


def blas_threads_for(macs: int, operand_bytes: int = 0):
    """Give the loaded BLAS libraries one thread for a small product (``macs`` multiply-adds, operands of
    ``operand_bytes``), the whole thread budget for a large one, one for every product while products run on
    the kernel pool (changing the setting only when it differs); returns that number of threads."""
    small = macs < BLAS_PARALLEL_MIN_MACS and operand_bytes < BLAS_PARALLEL_MIN_BYTES
    want = 1 if small or _blas["on_kernel_pool"] else thread_budget()
    if want > 1:
        _blas["parallel_calls"] += 1
    _set_blas_threads(want)
    return want


def product_pieces(macs: int, operand_bytes: int = 0) -> int:
    """How many pieces a kernel should split a product (or a run of products) of ``macs`` multiply-adds into
    across the kernel pool: the kernel threads for a large one while products run on the kernel pool, else 1."""
    small = macs < BLAS_PARALLEL_MIN_MACS and operand_bytes < BLAS_PARALLEL_MIN_BYTES
    return 1 if small or not _blas["on_kernel_pool"] else kernel_threads()


def _set_blas_threads(want: int):
    if want == _blas["threads"]:
        return
    controllers = _blas["controllers"]
    if controllers is None:
        from threadpoolctl import ThreadpoolController

        controllers = _blas["controllers"] = [
            c for c in ThreadpoolController().lib_controllers if c.user_api == "blas"
        ]
    for controller in controllers:
        controller.set_num_threads(want)
    _blas["threads"] = want


def set_serial_run(serial: bool) -> bool:
    """Make kernels started from this thread run unsplit (``True``) or not; returns the previous setting."""
    previous = getattr(_run_local, "serial", False)
    _run_local.serial = serial
    return previous


def set_threads(count: int):
    """Use ``count`` threads for kernels and for every loaded BLAS library."""
    if not count or count < 1 or count == _state["threads"]:
        return
    from threadpoolctl import threadpool_limits

    _state["threads"] = int(count)
    _state["limiter"] = threadpool_limits(limits=int(count), user_api="blas")
    _blas["threads"] = None  # the next product sets its own count again
