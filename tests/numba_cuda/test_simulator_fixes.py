"""The fixes to Numba's CUDA simulator (backends/numba_cuda/simulator.py): shared arrays and barriers.

These run only under the simulator (no GPU): on a real device the simulator is not used. The
kernels run with a block's threads as greenlets and, as without greenlet installed, as OS threads.
"""

import threading
import time

import numpy as np
import pytest
from graphdl.backends.numba_cuda import device, simulator

if not device.simulator():
    pytest.skip("the simulator fixes apply only under NUMBA_ENABLE_CUDASIM=1", allow_module_level=True)

cuda = device.cuda()  # installs the fixes
from numba.cuda.simulator import kernelapi


@pytest.fixture(params=["greenlets", "threads"])
def block_threads(request, monkeypatch):
    """How the simulator runs a block's threads."""
    if request.param == "threads":
        monkeypatch.setattr(simulator, "greenlet", None)
    elif simulator.greenlet is None:
        pytest.skip("greenlet is not installed")
    return request.param


class _SlowLookup(dict):
    """A dict whose lookups yield the GIL, so a thread switch lands between a lookup and the store after it."""

    def get(self, key, default=None):
        value = super().get(key, default)
        time.sleep(0.002)
        return value


def test_threads_of_a_block_get_one_shared_array_even_when_they_race():
    shared = kernelapi.FakeCUDAShared(0)
    shared._allocations = _SlowLookup()
    arrays = []
    start = threading.Barrier(8)

    def allocate():
        start.wait()
        arrays.append(shared.array((4,), np.float32))  # one source line: one shared array

    threads = [threading.Thread(target=allocate) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(arrays) == 8
    assert all(a is arrays[0] for a in arrays), f"{len({id(a) for a in arrays})} different arrays for one block"


@cuda.jit
def _block_sum(x, out):
    # Every thread writes its element, then thread 0 adds them all after the barrier.
    shared = cuda.shared.array(16, np.float64)
    tid = cuda.threadIdx.x
    shared[tid] = x[cuda.blockIdx.x * cuda.blockDim.x + tid]
    cuda.syncthreads()
    if tid == 0:
        total = 0.0
        for i in range(cuda.blockDim.x):
            total += shared[i]
        out[cuda.blockIdx.x] = total


def test_syncthreads_makes_every_threads_write_visible(block_threads):
    x = np.arange(48, dtype=np.float64)
    out = cuda.to_device(np.zeros(3))
    _block_sum[3, 16](cuda.to_device(x), out)
    np.testing.assert_array_equal(out.copy_to_host(), x.reshape(3, 16).sum(axis=1))


@cuda.jit
def _early_exit(out):
    # Threads 4.. return before the barrier; the others must not wait for them.
    tid = cuda.threadIdx.x
    if tid >= 4:
        return
    shared = cuda.shared.array(4, np.int64)
    shared[tid] = tid + 1
    cuda.syncthreads()
    out[tid] = shared[(tid + 1) % 4]


def test_a_barrier_releases_when_the_remaining_threads_returned(block_threads):
    out = cuda.to_device(np.zeros(4, np.int64))
    _early_exit[1, 8](out)
    np.testing.assert_array_equal(out.copy_to_host(), [2, 3, 4, 1])


@cuda.jit
def _fails_in_one_thread(out):
    tid = cuda.threadIdx.x
    if tid == 2:
        out[100] = 1  # out of bounds
    cuda.syncthreads()
    out[tid] = tid


def test_an_error_in_one_thread_is_raised_with_its_thread_and_nothing_hangs(block_threads):
    out = cuda.to_device(np.zeros(4, np.int64))
    with pytest.raises(IndexError, match=r"tid=\[2, 0, 0\]"):
        _fails_in_one_thread[1, 4](out)


@cuda.jit
def _count(out):
    out[0] = cuda.syncthreads_count(cuda.threadIdx.x % 3 == 0)


def test_syncthreads_count_uses_the_barrier(block_threads):
    out = cuda.to_device(np.zeros(1, np.int64))
    _count[1, 9](out)
    assert out.copy_to_host()[0] == 3
