"""2-D convolution and its two gradients as im2col/col2im kernels plus a matrix product.

``Conv2D``: every filter window of the NHWC input is written as one row of a column
matrix (zeros where the window hangs over the padding), which the matmul path
(cuBLAS or the tiled kernel) multiplies by the filter reshaped to (KH*KW*C, O).
``Conv2DBackpropFilter`` multiplies the transposed column matrix by the output
gradient; ``Conv2DBackpropInput`` multiplies the output gradient by the transposed
filter and gathers each input element's window contributions (no atomics). NCHW
tensors are transposed to NHWC and back. Geometry and messages are the reference
kernels' (``graphdl/ops/conv_ops.py``).
"""

from __future__ import annotations

import numpy as np
from graphdl.backends.numba_cuda.device import launch_size
from graphdl.backends.numba_cuda.kernel_registry import register_cuda_kernel
from graphdl.backends.numba_cuda.kernels.data import transpose
from graphdl.backends.numba_cuda.kernels.matmul import _cupy, matmul_into
from numba import cuda

from graphdl.ops import conv_ops


@cuda.jit
def _im2col(x, cols, h, w, c, oh, ow, kh, kw, sh, sw, dh, dw, pt, pl):
    k = kh * kw * c
    for idx in range(cuda.grid(1), cols.shape[0], cuda.gridsize(1)):
        row, col = idx // k, idx % k
        ch = col % c
        j = (col // c) % kw
        i = col // (c * kw)
        ox = row % ow
        oy = (row // ow) % oh
        n = row // (ow * oh)
        y = oy * sh - pt + i * dh
        xx = ox * sw - pl + j * dw
        if 0 <= y < h and 0 <= xx < w:
            cols[idx] = x[((n * h + y) * w + xx) * c + ch]
        else:
            cols[idx] = 0


@cuda.jit
def _col2im(cols, dx, h, w, c, oh, ow, kh, kw, sh, sw, dh, dw, pt, pl):
    k = kh * kw * c
    for idx in range(cuda.grid(1), dx.shape[0], cuda.gridsize(1)):
        ch = idx % c
        xx = (idx // c) % w
        y = (idx // (c * w)) % h
        n = idx // (c * w * h)
        acc = 0.0
        for i in range(kh):
            ty = y + pt - i * dh
            if ty < 0 or ty % sh != 0 or ty // sh >= oh:
                continue
            oy = ty // sh
            for j in range(kw):
                tx = xx + pl - j * dw
                if tx < 0 or tx % sw != 0 or tx // sw >= ow:
                    continue
                ox = tx // sw
                acc += cols[((n * oh + oy) * ow + ox) * k + (i * kw + j) * c + ch]
        dx[idx] = acc


class ConvLayout:
    """What convolution kernels share: the op's reference context for errors, plans per shape, NHWC layout."""

    def __init__(self, op, ctx):
        from graphdl.backends.numba_cpu.kernel_registry import _Context

        self.op, self.ctx = op, ctx
        self.ref = _Context(op, ctx.state)
        self.fmt = op.attrs["data_format"]
        self.plans: dict = {}

    def nhwc(self, x):
        return transpose(x, (0, 2, 3, 1)) if self.fmt == "NCHW" else x

    def from_nhwc(self, x):
        return transpose(x, (0, 3, 1, 2)) if self.fmt == "NCHW" else x

    def nhwc_shape(self, shape):
        shape = tuple(int(d) for d in shape)
        return (shape[0], shape[2], shape[3], shape[1]) if self.fmt == "NCHW" else shape

    def check_rank(self, *named):
        """The op's error for any (what, array) pair that is not rank 4."""
        for what, a in named:
            if a.ndim != 4:
                conv_ops._fail(self.ref, f"{what} must be rank 4, got shape {list(a.shape)}")


class _Conv(ConvLayout):
    """What the three convolution kernels share beyond the layout: the geometry per shape, the column matrix."""

    def __init__(self, op, ctx):
        super().__init__(op, ctx)
        self.use_cublas = _cupy() is not None

    def plan(self, x_shape, f_shape):
        key = (tuple(x_shape), tuple(f_shape))
        plan = self.plans.get(key)
        if plan is None:
            out_shape, pads, strides, dilations = conv_ops.runtime_plan(self.ref, key[0], key[1], False)
            plan = self.plans[key] = (out_shape, pads[0][0], pads[1][0], strides, dilations)
        return plan

    def columns(self, x, f_shape, plan):
        out_shape, pt, pl, (sh, sw), (dh, dw) = plan
        n, h, w, c = x.shape
        kh, kw = f_shape[0], f_shape[1]
        rows, k = n * out_shape[1] * out_shape[2], kh * kw * c
        cols = self.ctx.empty((rows, k), x.dtype, self.op)
        if cols.size:
            blocks, threads = launch_size(cols.size)
            _im2col[blocks, threads](x.reshape(-1), cols.reshape(-1), h, w, c, out_shape[1], out_shape[2], kh, kw,
                                     sh, sw, dh, dw, pt, pl)
        return cols, rows, k


def float_output(op) -> bool:
    """Whether the op computes float32 or float64 (the dtypes these kernels have)."""
    return np.dtype(op.outputs[0].dtype.np) in (np.dtype(np.float32), np.dtype(np.float64))


@register_cuda_kernel("Conv2D", accepts=float_output)
def conv2d(op, ctx):
    conv = _Conv(op, ctx)

    def run(x, f):
        if x.ndim != 4:
            conv_ops._fail(conv.ref, f"input must be rank 4, got shape {list(x.shape)}")
        x = conv.nhwc(x)
        plan = conv.plan(x.shape, f.shape)
        out_shape = plan[0]
        out = ctx.empty(out_shape, x.dtype, op)
        cols, rows, k = conv.columns(x, f.shape, plan)
        m = int(f.shape[3])
        if out.size:
            matmul_into(cols, f, out, False, False, 1, 0, 0, rows, m, k, conv.use_cublas)
        return conv.from_nhwc(out)

    return run


@register_cuda_kernel("Conv2DBackpropFilter", host_inputs=(1,), accepts=float_output)
def conv2d_backprop_filter(op, ctx):
    conv = _Conv(op, ctx)

    def run(x, filter_sizes, dy):
        f_shape = tuple(conv_ops._sizes(conv.ref, filter_sizes, "filter_sizes"))
        x, dy = conv.nhwc(x), conv.nhwc(dy)
        plan = conv.plan(x.shape, f_shape)
        conv_ops._check_out_backprop(conv.ref, dy.shape, plan[0])
        cols, rows, k = conv.columns(x, f_shape, plan)
        df = ctx.empty(f_shape, x.dtype, op)
        if df.size:
            if rows == 0:
                from graphdl.backends.numba_cuda.kernels.data import fill

                return fill(df, 0)
            matmul_into(cols, dy, df, True, False, 1, 0, 0, k, f_shape[3], rows, conv.use_cublas)
        return df

    return run


@register_cuda_kernel("Conv2DBackpropInput", host_inputs=(0,), accepts=float_output)
def conv2d_backprop_input(op, ctx):
    conv = _Conv(op, ctx)

    def run(input_sizes, f, dy):
        in_shape = conv.nhwc_shape(conv_ops._sizes(conv.ref, input_sizes, "input_sizes"))
        dy = conv.nhwc(dy)
        plan = conv.plan(in_shape, f.shape)
        conv_ops._check_out_backprop(conv.ref, dy.shape, plan[0])
        out_shape, pt, pl, (sh, sw), (dh, dw) = plan
        kh, kw, c, m = (int(d) for d in f.shape)
        rows, k = out_shape[0] * out_shape[1] * out_shape[2], kh * kw * c
        cols = ctx.empty((rows, k), dy.dtype, op)
        dx = ctx.empty(in_shape, dy.dtype, op)
        if cols.size:
            matmul_into(dy, f, cols, False, True, 1, 0, 0, rows, k, m, conv.use_cublas)
        if dx.size:
            if not cols.size:
                from graphdl.backends.numba_cuda.kernels.data import fill

                fill(dx, 0)
            else:
                _, h, w, _ = in_shape
                blocks, threads = launch_size(dx.size)
                _col2im[blocks, threads](cols.reshape(-1), dx.reshape(-1), h, w, c, out_shape[1], out_shape[2], kh, kw,
                                         sh, sw, dh, dw, pt, pl)
        return conv.from_nhwc(dx)

    return run
