"""Fixes to Numba's CUDA simulator, installed when it stands in for a GPU (``NUMBA_ENABLE_CUDASIM=1``).

As shipped (numba 0.68) the simulator runs every CUDA thread of a block as a Python thread:

- ``cuda.shared.array`` looks up the block's array in a dict and creates it when missing,
  without a lock. A thread switch between the lookup and the store gives two threads of
  one block different "shared" arrays, and the kernel silently computes wrong values (a
  tiled matmul returned wrong products in about 1 launch in 50 under a short GIL switch
  interval). Here the lookup and the store happen under a lock.
- ``cuda.syncthreads`` is a per-thread event that the block's manager finds by busy-polling
  every thread, so each barrier costs several GIL switch intervals (5 ms each): a small
  matmul took seconds, and the op tests on the "cuda" backend took minutes.

Here a block's threads run as greenlets in the launching thread when ``greenlet`` is
installed (it comes with playwright, a test extra): a barrier is one switch per thread
and no thread switch can land inside a kernel's Python code. Without ``greenlet`` they
stay OS threads, with a condition-variable barrier instead of the polling. Either way a
barrier releases when every thread of the block that has not returned is waiting, as
on a GPU. Nothing changes on a real GPU.
"""

from __future__ import annotations

import sys
import threading

import numpy as np

try:
    import greenlet
except ImportError:  # pragma: no cover - greenlet comes with the test extras
    greenlet = None

_installed = False


# -- shared arrays ---------------------------------------------------------------------
def _install_shared_array_lock(kernelapi):
    lock = threading.Lock()
    stock_array = kernelapi.FakeCUDAShared.array

    def array(self, shape, dtype):
        if shape == 0:  # dynamic shared memory: one buffer, no lookup
            return stock_array(self, shape, dtype)
        if isinstance(dtype, kernelapi.types.Type):
            dtype = kernelapi.numpy_support.as_dtype(dtype)
        caller = sys._getframe(1)
        key = (caller.f_code.co_filename, caller.f_lineno)  # one shared array per source line, as the simulator
        with lock:
            result = self._allocations.get(key)
            if result is None:
                result = self._allocations[key] = np.empty(shape, dtype)
        return result

    kernelapi.FakeCUDAShared.array = array


# -- blocks as greenlets ---------------------------------------------------------------
class _GreenletThread:
    """One CUDA thread of a block run as a greenlet: what the simulator's kernel API asks of a thread."""

    def __init__(self, manager, block_index, thread_index, kernelapi, args):
        self.manager = manager
        self.blockIdx = kernelapi.Dim3(*block_index)
        self.threadIdx = kernelapi.Dim3(*thread_index)
        dims = kernelapi.Dim3(*manager._block_dim)
        self.thread_id = self.threadIdx.x + dims.x * (self.threadIdx.y + dims.y * self.threadIdx.z)
        self.exception = None
        self.greenlet = greenlet.greenlet(self._run)
        self.greenlet.cuda_thread = self
        self._args = args

    def _run(self):
        try:
            self.manager._f(*self._args)
        except Exception as e:  # noqa: BLE001 - any error of the kernel, reported as the simulator reports it
            where = f"tid={list(self.threadIdx)} ctaid={list(self.blockIdx)}"
            self.exception = (type(e)(f"{where}: {e}" if str(e) else where), sys.exc_info()[2])

    def syncthreads(self):
        self.greenlet.parent.switch()

    def _sync_reduce(self, value, reduce):
        index = (self.threadIdx.x, self.threadIdx.y, self.threadIdx.z)[: self.manager.block_state.ndim]
        self.manager.block_state[index] = value
        self.syncthreads()
        result = reduce(self.manager.block_state)
        self.syncthreads()
        return result

    def syncthreads_count(self, value):
        return self._sync_reduce(value, np.count_nonzero)

    def syncthreads_and(self, value):
        return self._sync_reduce(value, lambda state: 1 if np.all(state) else 0)

    def syncthreads_or(self, value):
        return self._sync_reduce(value, lambda state: 1 if np.any(state) else 0)


class _Threading:
    """Stands in for ``threading`` inside the kernel API: ``current_thread()`` is the running greenlet's thread."""

    def __getattr__(self, name):
        return getattr(threading, name)

    @staticmethod
    def current_thread():
        running = getattr(greenlet.getcurrent(), "cuda_thread", None) if greenlet is not None else None
        return running or threading.current_thread()


def _run_block_as_greenlets(manager, grid_point, args, kernelapi):
    threads = [_GreenletThread(manager, grid_point, point, kernelapi, args) for point in np.ndindex(*manager._block_dim)]
    running = threads
    while running:
        # One round: each thread runs until it waits at the barrier or returns; then the barrier releases.
        for thread in running:
            thread.greenlet.switch()
            if thread.exception is not None:
                raise thread.exception[0].with_traceback(thread.exception[1])
        running = [t for t in running if not t.greenlet.dead]


# -- blocks as OS threads (no greenlet) -------------------------------------------------
class _Aborted(RuntimeError):
    """Raised in the block's other threads at a barrier after one thread failed."""


class _BlockBarrier:
    """``syncthreads`` for one block of OS threads: releases when every live thread of the block is waiting."""

    def __init__(self, threads: int):
        self.condition = threading.Condition()
        self.live = threads
        self.waiting = 0
        self.generation = 0
        self.aborted = False

    def wait(self):
        with self.condition:
            if self.aborted:
                raise _Aborted("abort flag set on syncthreads call")
            generation = self.generation
            self.waiting += 1
            if self.waiting == self.live:
                self._release()
                return
            while generation == self.generation and not self.aborted:
                self.condition.wait()
            if self.aborted:
                raise _Aborted("abort flag set on syncthreads clear")

    def leave(self):
        """A thread returned: the others no longer wait for it."""
        with self.condition:
            self.live -= 1
            if self.waiting and self.waiting == self.live:
                self._release()

    def abort(self):
        with self.condition:
            self.aborted = True
            self.condition.notify_all()

    def _release(self):
        self.waiting = 0
        self.generation += 1
        self.condition.notify_all()


def _run_block_as_threads(manager, grid_point, args, block_thread):
    barrier = _BlockBarrier(int(np.prod(manager._block_dim)))

    def target():
        try:
            manager._f(*args)
        except BaseException:
            barrier.abort()
            raise
        finally:
            barrier.leave()

    threads = []
    for point in np.ndindex(*manager._block_dim):
        thread = block_thread(target, manager, grid_point, point, manager._debug)
        thread.barrier = barrier
        threads.append(thread)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # The thread that failed first, not the others it stopped at their next barrier.
    failures = sorted((t.exception for t in threads if t.exception), key=lambda e: isinstance(e[0], _Aborted))
    if failures:
        raise failures[0][0].with_traceback(failures[0][1])


def _install_block_runner(kernel, kernelapi):
    def run(self, grid_point, *args):
        if greenlet is not None and not self._debug:
            _run_block_as_greenlets(self, grid_point, args, kernelapi)
        else:
            _run_block_as_threads(self, grid_point, args, kernel.BlockThread)

    def syncthreads(self):
        self.barrier.wait()

    def module_syncthreads(self):
        # (the kernel API's own version finds the thread through threading.current_thread(): slower, same thread)
        running = getattr(greenlet.getcurrent(), "cuda_thread", None) if greenlet is not None else None
        if running is not None:
            running.greenlet.parent.switch()
        else:
            threading.current_thread().syncthreads()

    kernel.BlockThread.syncthreads = syncthreads
    kernel.BlockManager.run = run
    if greenlet is not None:
        kernelapi.threading = _Threading()
        kernelapi.FakeCUDAModule.syncthreads = module_syncthreads


def install():
    """Patch the simulator once; a part whose simulator internals differ from numba 0.68's is left as it is."""
    global _installed
    if _installed:
        return
    _installed = True
    from numba.cuda.simulator import kernel, kernelapi

    if hasattr(kernelapi, "FakeCUDAShared") and hasattr(kernelapi, "numpy_support"):
        _install_shared_array_lock(kernelapi)
    if hasattr(kernel, "BlockManager") and hasattr(kernel, "BlockThread") and hasattr(kernelapi, "threading"):
        _install_block_runner(kernel, kernelapi)
