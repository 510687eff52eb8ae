"""``MatMul`` and ``BatchMatMulV2``: cuBLAS through CuPy when it is installed, else a tiled kernel.

The Numba kernel is the always-available path: 16x16 tiles of both operands staged in
shared memory, transposes folded into the index arithmetic, each block looping over the
output tiles of every batch matrix (broadcast batch dims are expanded by an index map
first). ``Session.explain`` says which implementation ran each op ("cublas" or "cuda").
"""

from __future__ import annotations

import numpy as np
from graphdl.backends.numba_cuda.device import MAX_BLOCKS, simulator
from graphdl.backends.numba_cuda.kernel_registry import register_cuda_kernel
from numba import cuda, float32, float64

from graphdl import errors

TILE = 8 if simulator() else 16  # smaller tiles under the simulator: less padding work for its Python threads
# Blocks of one launch; each loops over output tiles. The simulator starts threads per block, so few there.
MAX_TILE_BLOCKS = MAX_BLOCKS if simulator() else 2**31 - 1


def _tiled_kernel(element_type):
    @cuda.jit
    def kernel(a, b, c, m, n, k, trans_a, trans_b, stride_a, stride_b, batches):
        sa = cuda.shared.array((TILE, TILE), element_type)
        sb = cuda.shared.array((TILE, TILE), element_type)
        tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
        tiles_n = (n + TILE - 1) // TILE
        per_batch = ((m + TILE - 1) // TILE) * tiles_n
        # Each block takes output tiles in turn (the loop's bounds are the same for all its threads).
        for tile in range(cuda.blockIdx.x, per_batch * batches, cuda.gridDim.x):
            batch = tile // per_batch
            row = ((tile % per_batch) // tiles_n) * TILE + ty
            col = (tile % tiles_n) * TILE + tx
            a_base, b_base, c_base = batch * stride_a, batch * stride_b, batch * m * n
            acc = element_type(0)
            for t in range((k + TILE - 1) // TILE):
                ka, kb = t * TILE + tx, t * TILE + ty
                if row < m and ka < k:
                    sa[ty, tx] = a[a_base + (ka * m + row if trans_a else row * k + ka)]
                else:
                    sa[ty, tx] = 0
                if col < n and kb < k:
                    sb[ty, tx] = b[b_base + (col * k + kb if trans_b else kb * n + col)]
                else:
                    sb[ty, tx] = 0
                cuda.syncthreads()
                for j in range(TILE):
                    acc += sa[ty, j] * sb[j, tx]
                cuda.syncthreads()
            if row < m and col < n:
                c[c_base + row * n + col] = acc

    return kernel


_TILED = {np.dtype(np.float32): _tiled_kernel(float32), np.dtype(np.float64): _tiled_kernel(float64)}


def _cupy():
    if simulator():
        return None
    try:
        import cupy
    except ImportError:
        return None
    return cupy


def matmul_into(a, b, out, trans_a, trans_b, batch, stride_a, stride_b, m, n, k, use_cublas):
    """``out[batch] = op(a[batch]) @ op(b[batch])`` over C-contiguous device arrays.

    ``stride_a``/``stride_b`` are the elements between batches (0 broadcasts one matrix).
    """
    if use_cublas:
        cupy = _cupy()
        a3 = cupy.asarray(a).reshape((batch, k, m) if trans_a else (batch, m, k))
        b3 = cupy.asarray(b).reshape((batch, n, k) if trans_b else (batch, k, n))
        if trans_a:
            a3 = a3.transpose(0, 2, 1)
        if trans_b:
            b3 = b3.transpose(0, 2, 1)
        cupy.matmul(a3, b3, out=cupy.asarray(out).reshape(batch, m, n))
        return out
    tiles = ((m + TILE - 1) // TILE) * ((n + TILE - 1) // TILE) * batch
    _TILED[np.dtype(out.dtype)][min(tiles, MAX_TILE_BLOCKS), (TILE, TILE)](
        a.reshape(-1), b.reshape(-1), out.reshape(-1), m, n, k, trans_a, trans_b, stride_a, stride_b, batch)
    return out


def _float(op) -> bool:
    return np.dtype(op.outputs[0].dtype.np) in _TILED


def _implementation():
    return "cublas" if _cupy() is not None else "cuda"


@register_cuda_kernel("MatMul", accepts=_float, implementation=_implementation())
def mat_mul(op, ctx):
    trans_a, trans_b = bool(op.attrs["transpose_a"]), bool(op.attrs["transpose_b"])
    dtype = op.outputs[0].dtype.np
    use_cublas = _cupy() is not None

    def run(a, b):
        if a.ndim != 2 or b.ndim != 2:
            raise errors.InvalidArgumentError(None, op, f"MatMul '{op.name}': inputs must be matrices, got shapes "
                                              f"{list(a.shape)} and {list(b.shape)}")
        m, k = (a.shape[1], a.shape[0]) if trans_a else a.shape
        k2, n = (b.shape[1], b.shape[0]) if trans_b else b.shape
        if k != k2:
            raise errors.InvalidArgumentError(
                None, op, f"Matrix size-incompatible: In[0]: {list(a.shape)}, In[1]: {list(b.shape)} (op '{op.name}')")
        out = ctx.empty((m, n), dtype, op)
        if m and n:
            if k == 0:
                from graphdl.backends.numba_cuda.kernels.data import fill

                return fill(out, 0)
            matmul_into(a, b, out, trans_a, trans_b, 1, 0, 0, m, n, k, use_cublas)
        return out

    return run


@register_cuda_kernel("BatchMatMulV2", accepts=_float, implementation=_implementation())
def batch_mat_mul(op, ctx):
    adj_x, adj_y = bool(op.attrs["adj_x"]), bool(op.attrs["adj_y"])
    dtype = op.outputs[0].dtype.np
    use_cublas = _cupy() is not None

    def run(x, y):
        m, k = (tuple(x.shape)[-1], tuple(x.shape)[-2]) if adj_x else tuple(x.shape)[-2:]
        k2, n = (tuple(y.shape)[-1], tuple(y.shape)[-2]) if adj_y else tuple(y.shape)[-2:]
        try:
            batch_shape = np.broadcast_shapes(tuple(x.shape)[:-2], tuple(y.shape)[:-2])
        except ValueError:
            batch_shape = None
        if k != k2 or batch_shape is None:
            raise errors.InvalidArgumentError(
                None, op, f"BatchMatMulV2 '{op.name}': incompatible shapes {list(x.shape)} and {list(y.shape)}")
        x, y = _expand_batch(x, batch_shape), _expand_batch(y, batch_shape)
        batch = int(np.prod(batch_shape, dtype=np.int64))
        out = ctx.empty(tuple(batch_shape) + (m, n), dtype, op)
        if out.size:
            if k == 0:
                from graphdl.backends.numba_cuda.kernels.data import fill

                return fill(out, 0)
            matmul_into(x, y, out, adj_x, adj_y, batch, m * k, k * n, m, n, k, use_cublas)
        return out

    return run


def _expand_batch(x, batch_shape):
    """``x`` with its batch dims broadcast to ``batch_shape`` (a copy only when they differ)."""
    if tuple(tuple(x.shape)[:-2]) == tuple(batch_shape):
        return x
    from graphdl.backends.numba_cuda.device import empty, to_device
    from graphdl.backends.numba_cuda.kernels.data import gather

    shape = tuple(batch_shape) + tuple(tuple(x.shape)[-2:])
    index = np.broadcast_to(np.arange(x.size, dtype=np.int64).reshape(x.shape), shape)
    return gather(x, to_device(np.ascontiguousarray(index).reshape(-1)), empty(shape, x.dtype, "a broadcast batch"))
