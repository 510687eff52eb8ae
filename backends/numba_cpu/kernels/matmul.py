"""Matrix products through NumPy's BLAS (multithreaded OpenBLAS), writing into pooled outputs.

Small products (``threads.BLAS_PARALLEL_MIN_MACS``, ``BLAS_PARALLEL_MIN_BYTES``) run on one BLAS
thread, larger ones on the session's thread budget (see ``threads.blas_threads_for``), or, in a
program whose products run on the kernel pool, as one single-threaded product per kernel thread
(``split_matmul``).

Transposes are views (BLAS reads them with its transpose flags), never copies. MatMul
calls ``np.dot`` for small products, where it has the least per-call overhead
((1, 512) x (512, 10): 1.7 us vs 2.1 us for ``np.matmul``), and ``np.matmul`` from
``_MATMUL_MIN_FLOPS`` multiply-adds on, where it is as fast or faster (the weight
gradient (784, 128)^T x (128, 512) of W1: ~390 us vs ~470 us for ``np.dot``).
BatchMatMulV2 needs broadcasting of the batch dims, which ``np.matmul`` does; its output
shape is planned once per input shapes.
"""

from __future__ import annotations

import numpy as np
from graphdl.backends.numba_cpu.kernel_registry import buffer_pool, register_kernel
from graphdl.backends.numba_cpu.kernels.reductions import run_split
from graphdl.backends.numba_cpu.threads import blas_threads_for, product_pieces

_MATMUL_MIN_FLOPS = 1 << 20
# A large output with a short inner dimension (the gradient (128, 10) x (10, 512)) is also
# faster through np.matmul: 48 us vs 63 us for np.dot.
_MATMUL_MIN_OUTPUT = 1 << 12


def split_matmul(a, b, out):
    """``out = a @ b`` as one product per kernel thread, each on a run of rows (or columns, when ``out`` is
    wider than tall) of ``out``."""
    matmul = np.matmul
    if out.shape[0] >= out.shape[1]:
        run_split(lambda start, stop: matmul(a[start:stop], b, out=out[start:stop]), out.shape[0])
    else:
        run_split(lambda start, stop: matmul(a, b[:, start:stop], out=out[:, start:stop]), out.shape[1])


def matmul_into(a, b, out):
    """``out = a @ b`` (2-D), on the thread layout the session's policy gives this product: BLAS's threads, or
    one single-threaded product per kernel thread (``split_matmul``); ``np.dot`` for small products."""
    macs = out.shape[0] * out.shape[1] * a.shape[1]
    blas_threads_for(macs, a.nbytes + b.nbytes)
    if product_pieces(macs, a.nbytes + b.nbytes) > 1:
        split_matmul(a, b, out)
    elif macs < _MATMUL_MIN_FLOPS and out.size < _MATMUL_MIN_OUTPUT:
        np.dot(a, b, out)
    else:
        np.matmul(a, b, out=out)
    return out


@register_kernel("MatMul", implementation="blas")
def matmul_kernel(op, state):
    take = buffer_pool(state).take
    dtype = op.outputs[0].dtype.np
    transpose_a, transpose_b = bool(op.attrs["transpose_a"]), bool(op.attrs["transpose_b"])

    def mat_mul(a, b):
        if transpose_a:
            a = a.T
        if transpose_b:
            b = b.T
        return matmul_into(a, b, take((a.shape[0], b.shape[1]), dtype))

    return mat_mul


@register_kernel("BatchMatMulV2", implementation="blas")
def batch_matmul_kernel(op, state):
    take = buffer_pool(state).take
    dtype = op.outputs[0].dtype.np
    adj_x, adj_y = bool(op.attrs["adj_x"]), bool(op.attrs["adj_y"])
    matmul = np.matmul
    shapes: dict = {}

    def out_shape(x, y):
        if x.ndim < 2 or y.ndim < 2:
            raise ValueError(f"BatchMatMulV2 needs inputs of rank >= 2, got shapes {list(x.shape)} and {list(y.shape)}")
        batch = np.broadcast_shapes(x.shape[:-2], y.shape[:-2])
        return tuple(batch) + (x.shape[-2], y.shape[-1])

    def batch_matmul(x, y):
        if adj_x:
            x = np.swapaxes(x, -1, -2)
        if adj_y:
            y = np.swapaxes(y, -1, -2)
        key = (x.shape, y.shape)
        shape = shapes.get(key)
        if shape is None:
            shape = shapes[key] = out_shape(x, y)
        out = take(shape, dtype)
        blas_threads_for(out.size * x.shape[-1], x.nbytes + y.nbytes)
        matmul(x, y, out=out)
        return out

    return batch_matmul
