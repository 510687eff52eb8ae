"""The CUDA device as this backend sees it: availability, launch sizes, transfers, clear errors.

Everything that touches ``numba.cuda`` directly for memory lives here, so out-of-memory
and missing-device conditions become one readable message instead of a driver traceback.
Under Numba's simulator (``NUMBA_ENABLE_CUDASIM=1``) every CUDA thread is a Python
thread, so launches use small blocks and grid-stride loops there.
"""

from __future__ import annotations

import os

import numpy as np

from graphdl import errors

_NO_DEVICE = (
    "The 'cuda' backend found no usable CUDA device ({reason}). Run on the CPU with "
    "Session(backend='numba') (the default), or set NUMBA_ENABLE_CUDASIM=1 to run this backend on "
    "Numba's CUDA simulator (slow; for tests)."
)


def simulator() -> bool:
    """Whether Numba's CUDA simulator stands in for a GPU."""
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")


def _numpy_compat():
    """numba-cuda releases up to 0.2x register ``np.row_stack``, which NumPy 2.5 removed; alias it (same function)."""
    if not hasattr(np, "row_stack"):
        np.row_stack = np.vstack


def cuda():
    """The ``numba.cuda`` module, after checking that a device (or the simulator) is there."""
    _numpy_compat()
    try:
        from numba import cuda as numba_cuda
    except ImportError as e:  # pragma: no cover - numba always ships its CUDA target or numba-cuda
        raise errors.UnavailableError(None, None, _NO_DEVICE.format(reason=f"numba.cuda cannot be imported: {e}"))
    if simulator():
        from graphdl.backends.numba_cuda import simulator as simulator_fixes

        simulator_fixes.install()
    else:
        try:
            available = numba_cuda.is_available()
        except Exception as e:  # noqa: BLE001 - the driver's own exception types vary
            available, reason = False, str(e)
        else:
            reason = "numba.cuda.is_available() is False: no NVIDIA driver or GPU"
        if not available:
            raise errors.UnavailableError(None, None, _NO_DEVICE.format(reason=reason))
    return numba_cuda


def device_name() -> str:
    """A short description of the device kernels run on."""
    if simulator():
        return "Numba CUDA simulator"
    device = cuda().get_current_device()
    name = device.name.decode() if isinstance(device.name, bytes) else str(device.name)
    return f"{name} (compute capability {device.compute_capability[0]}.{device.compute_capability[1]})"


# Threads per block, and the most blocks a grid-stride launch uses.
BLOCK = 8 if simulator() else 256
MAX_BLOCKS = 2 if simulator() else 4096


def launch_size(n: int, block: int = 0) -> tuple[int, int]:
    """(blocks, threads) for a grid-stride loop over ``n`` items."""
    block = block or BLOCK
    return max(1, min(MAX_BLOCKS, (n + block - 1) // block)), block


def _out_of_memory(e, what, nbytes):
    free_total = ""
    try:
        free, total = cuda().current_context().get_memory_info()
        free_total = f"; the device has {free / 2**20:.1f} MiB free of {total / 2**20:.1f} MiB"
    except Exception:  # noqa: BLE001, S110 - the report must not fail while reporting
        pass
    return errors.ResourceExhaustedError(
        None, None,
        f"Out of GPU memory while allocating {nbytes / 2**20:.1f} MiB for {what}{free_total}. Use a smaller batch "
        f"or model, free other GPU users, or run on the CPU with Session(backend='numba'). ({e})",
    )


def is_out_of_memory(e) -> bool:
    """Whether ``e`` says the device ran out of memory."""
    text = f"{type(e).__name__} {e}"
    return "OUT_OF_MEMORY" in text or "out of memory" in text.lower()


def empty(shape, dtype, what="a tensor"):
    """An uninitialized device array."""
    dtype = np.dtype(dtype)
    try:
        return cuda().device_array(tuple(int(d) for d in shape), dtype=dtype)
    except Exception as e:
        if is_out_of_memory(e):
            raise _out_of_memory(e, what, int(np.prod(shape, dtype=np.int64)) * dtype.itemsize) from None
        raise


def to_device(value, what="a tensor"):
    """Copy a host array to a new device array (C-contiguous)."""
    value = np.asarray(value)
    if not value.flags.c_contiguous:  # (np.ascontiguousarray would turn a 0-d array into shape (1,))
        value = value.copy(order="C")
    try:
        return cuda().to_device(value)
    except Exception as e:
        if is_out_of_memory(e):
            raise _out_of_memory(e, what, value.nbytes) from None
        raise


def is_device_array(value) -> bool:
    """Whether ``value`` lives on the device (has the CUDA array interface)."""
    # (the simulator's arrays have copy_to_host but no __cuda_array_interface__)
    return not isinstance(value, np.ndarray) and (
        hasattr(value, "__cuda_array_interface__") or hasattr(value, "copy_to_host"))


def to_host(value) -> np.ndarray:
    """A host copy of a device array; host values pass through."""
    if is_device_array(value):
        return value.copy_to_host()
    return value if isinstance(value, np.ndarray) else np.asarray(value)


def synchronize():
    """Wait for all kernels queued on the device."""
    cuda().synchronize()
