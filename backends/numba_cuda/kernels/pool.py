"""Max and average pooling and their gradients, one thread per output (or input) element.

Geometry is the reference kernels' (``graphdl/ops/pool_ops.py``): TF's SAME/VALID
output sizes and padding, average windows counting only real input elements, and a
max window's gradient going to its first maximum. The gradients gather: each input
element sums what the windows containing it send back, so no atomics are needed.
NCHW tensors are transposed to NHWC and back.
"""

from __future__ import annotations

import math

import numpy as np
from graphdl.backends.numba_cuda.device import launch_size
from graphdl.backends.numba_cuda.kernel_registry import register_cuda_kernel
from graphdl.backends.numba_cuda.kernels.data import transpose
from numba import cuda

from graphdl import errors
from graphdl.ops.pool_ops import pool_geometry, spatial_params


@cuda.jit(device=True)
def _window_max(x, n, oy, ox, ch, h, w, c, kh, kw, sh, sw, pt, pl):
    """(max, index i * kw + j of its first occurrence) of one window (-inf, 0 for an all-padding window)."""
    best, where = -math.inf, 0
    for i in range(kh):
        y = oy * sh - pt + i
        if y < 0 or y >= h:
            continue
        for j in range(kw):
            xx = ox * sw - pl + j
            if xx < 0 or xx >= w:
                continue
            v = x[((n * h + y) * w + xx) * c + ch]
            if v > best:
                best, where = v, i * kw + j
    return best, where


@cuda.jit
def _max_pool(x, out, h, w, c, oh, ow, kh, kw, sh, sw, pt, pl):
    for idx in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        ch, ox, oy, n = idx % c, (idx // c) % ow, (idx // (c * ow)) % oh, idx // (c * ow * oh)
        best, _ = _window_max(x, n, oy, ox, ch, h, w, c, kh, kw, sh, sw, pt, pl)
        out[idx] = best


@cuda.jit
def _avg_pool(x, out, h, w, c, oh, ow, kh, kw, sh, sw, pt, pl):
    for idx in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        ch, ox, oy, n = idx % c, (idx // c) % ow, (idx // (c * ow)) % oh, idx // (c * ow * oh)
        total, count = 0.0, 0
        for i in range(kh):
            y = oy * sh - pt + i
            if 0 <= y < h:
                for j in range(kw):
                    xx = ox * sw - pl + j
                    if 0 <= xx < w:
                        total += x[((n * h + y) * w + xx) * c + ch]
                        count += 1
        out[idx] = total / count if count else 0.0


@cuda.jit(device=True)
def _window_count(oy, ox, h, w, kh, kw, sh, sw, pt, pl):
    y0, x0 = oy * sh - pt, ox * sw - pl
    return (min(y0 + kh, h) - max(y0, 0)) * (min(x0 + kw, w) - max(x0, 0))


@cuda.jit
def _pool_grad(x, dy, dx, h, w, c, oh, ow, kh, kw, sh, sw, pt, pl, is_max):
    for idx in range(cuda.grid(1), dx.shape[0], cuda.gridsize(1)):
        ch, xx, y, n = idx % c, (idx // c) % w, (idx // (c * w)) % h, idx // (c * w * h)
        acc = 0.0
        # the windows whose span covers (y, xx)
        oy_lo = max(0, (y + pt - kh) // sh + 1) if y + pt >= kh else 0
        ox_lo = max(0, (xx + pl - kw) // sw + 1) if xx + pl >= kw else 0
        for oy in range(oy_lo, min(oh, (y + pt) // sh + 1)):
            i = y + pt - oy * sh
            if i < 0 or i >= kh:
                continue
            for ox in range(ox_lo, min(ow, (xx + pl) // sw + 1)):
                j = xx + pl - ox * sw
                if j < 0 or j >= kw:
                    continue
                g = dy[((n * oh + oy) * ow + ox) * c + ch]
                if is_max:
                    _, where = _window_max(x, n, oy, ox, ch, h, w, c, kh, kw, sh, sw, pt, pl)
                    if where == i * kw + j:
                        acc += g
                else:
                    acc += g / _window_count(oy, ox, h, w, kh, kw, sh, sw, pt, pl)
        dx[idx] = acc


class _Pool:
    def __init__(self, op, ctx):
        self.op, self.ctx = op, ctx
        self.fmt = op.attrs["data_format"]
        (self.kh, self.kw), (self.sh, self.sw) = spatial_params(op.attrs)

    def nhwc(self, x):
        return transpose(x, (0, 2, 3, 1)) if self.fmt == "NCHW" else x

    def from_nhwc(self, x):
        return transpose(x, (0, 3, 1, 2)) if self.fmt == "NCHW" else x

    def geometry(self, nhwc_shape):
        n, h, w, c = nhwc_shape
        oh, ow, pt, pl = pool_geometry(self.op.attrs, h, w)
        return (n, oh, ow, c), (h, w, c, oh, ow, self.kh, self.kw, self.sh, self.sw, pt, pl)

    def check_rank(self, x, what="input"):
        if x.ndim != 4:
            raise errors.InvalidArgumentError(None, self.op, f"{self.op.type} '{self.op.name}': {what} must be rank 4, "
                                              f"got shape {list(x.shape)}")


def _float(op) -> bool:
    return np.dtype(op.outputs[0].dtype.np) in (np.dtype(np.float32), np.dtype(np.float64))


def _forward(kernel):
    def factory(op, ctx):
        pool = _Pool(op, ctx)

        def run(x):
            pool.check_rank(x)
            x = pool.nhwc(x)
            out_shape, args = pool.geometry(tuple(x.shape))
            out = ctx.empty(out_shape, x.dtype, op)
            if out.size:
                blocks, threads = launch_size(out.size)
                kernel[blocks, threads](x.reshape(-1), out.reshape(-1), *args)
            return pool.from_nhwc(out)

        return run

    return factory


register_cuda_kernel("MaxPool", accepts=_float)(_forward(_max_pool))
register_cuda_kernel("AvgPool", accepts=_float)(_forward(_avg_pool))


def _check_grad_shape(op, dy, want):
    if tuple(dy.shape) != tuple(want):
        raise errors.InvalidArgumentError(None, op, f"{op.type} '{op.name}': grad shape {list(dy.shape)} (NHWC) does "
                                          f"not match the pooled shape {list(want)}")


@register_cuda_kernel("MaxPoolGrad", accepts=_float)
def max_pool_grad(op, ctx):
    pool = _Pool(op, ctx)

    def run(x, y, dy):
        pool.check_rank(x)
        x, dy = pool.nhwc(x), pool.nhwc(dy)
        out_shape, args = pool.geometry(tuple(x.shape))
        _check_grad_shape(op, dy, out_shape)
        dx = ctx.empty(x.shape, dy.dtype, op)
        if dx.size:
            blocks, threads = launch_size(dx.size)
            _pool_grad[blocks, threads](x.reshape(-1), dy.reshape(-1), dx.reshape(-1), *args, True)
        return pool.from_nhwc(dx)

    return run


@register_cuda_kernel("AvgPoolGrad", host_inputs=(0,), accepts=_float)
def avg_pool_grad(op, ctx):
    pool = _Pool(op, ctx)

    def run(shape, dy):
        shape = tuple(int(d) for d in np.ravel(shape))
        nhwc = (shape[0], shape[2], shape[3], shape[1]) if pool.fmt == "NCHW" else shape
        dy = pool.nhwc(dy)
        out_shape, args = pool.geometry(nhwc)
        _check_grad_shape(op, dy, out_shape)
        dx = ctx.empty(nhwc, dy.dtype, op)
        if dx.size:
            blocks, threads = launch_size(dx.size)
            _pool_grad[blocks, threads](dy.reshape(-1), dy.reshape(-1), dx.reshape(-1), *args, False)
        return pool.from_nhwc(dx)

    return run
