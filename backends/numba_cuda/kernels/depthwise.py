"""Depthwise 2-D convolution (``DepthwiseConv2dNative``) and its two gradients as direct kernels.

Input channel ``c`` meets only ``filter[:, :, c, :]``, so no column matrix pays off: the
forward pass gives each output element its own thread summing its window; the input
gradient gives each input element a thread gathering from the windows that cover it (no
atomics); the filter gradient gives each filter element a block whose threads stride over
the batch and output positions and combine their float64 sums in shared memory. NCHW
tensors are transposed to NHWC and back. Geometry and messages are the reference
kernels' (``graphdl/ops/conv_ops.py``).
"""

from __future__ import annotations

from graphdl.backends.numba_cuda.device import BLOCK, MAX_BLOCKS, launch_size
from graphdl.backends.numba_cuda.kernel_registry import register_cuda_kernel
from graphdl.backends.numba_cuda.kernels.conv import ConvLayout, float_output
from graphdl.backends.numba_cuda.kernels.nn import _SHARED, _block_sum
from numba import cuda, float64

from graphdl.ops import conv_ops


@cuda.jit
def _forward(x, f, out, h, w, c, mult, oh, ow, kh, kw, sh, sw, dh, dw, pt, pl):
    channels = c * mult
    for idx in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        oc = idx % channels
        ch, m = oc // mult, oc % mult
        ox = (idx // channels) % ow
        oy = (idx // (channels * ow)) % oh
        n = idx // (channels * ow * oh)
        acc = 0.0
        for i in range(kh):
            y = oy * sh - pt + i * dh
            if y < 0 or y >= h:
                continue
            for j in range(kw):
                xx = ox * sw - pl + j * dw
                if 0 <= xx < w:
                    acc += float64(x[((n * h + y) * w + xx) * c + ch]) * f[((i * kw + j) * c + ch) * mult + m]
        out[idx] = acc


@cuda.jit
def _input_grad(dy, f, dx, h, w, c, mult, oh, ow, kh, kw, sh, sw, dh, dw, pt, pl):
    channels = c * mult
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
            for j in range(kw):
                tx = xx + pl - j * dw
                if tx < 0 or tx % sw != 0 or tx // sw >= ow:
                    continue
                g = (((n * oh + ty // sh) * ow + tx // sw) * channels + ch * mult)
                k = ((i * kw + j) * c + ch) * mult
                for m in range(mult):
                    acc += float64(dy[g + m]) * f[k + m]
        dx[idx] = acc


@cuda.jit
def _filter_grad(x, dy, df, n_batch, h, w, c, mult, oh, ow, kh, kw, sh, sw, dh, dw, pt, pl):
    shared = cuda.shared.array(_SHARED, float64)
    tid = cuda.threadIdx.x
    channels = c * mult
    positions = n_batch * oh * ow
    for k in range(cuda.blockIdx.x, df.shape[0], cuda.gridDim.x):
        m = k % mult
        ch = (k // mult) % c
        j = (k // channels) % kw
        i = k // (channels * kw)
        acc = 0.0
        for p in range(tid, positions, cuda.blockDim.x):
            ox = p % ow
            oy = (p // ow) % oh
            n = p // (ow * oh)
            y = oy * sh - pt + i * dh
            xx = ox * sw - pl + j * dw
            if 0 <= y < h and 0 <= xx < w:
                acc += float64(x[((n * h + y) * w + xx) * c + ch]) * dy[p * channels + ch * mult + m]
        acc = _block_sum(shared, acc)
        if tid == 0:
            df[k] = acc


class _Depthwise(ConvLayout):
    """What the three depthwise kernels share beyond the layout: the launch geometry per shape pair."""

    def geometry(self, x_shape, f_shape):
        """(output NHWC shape, launch arguments after the arrays) for NHWC input and HWIM filter shapes."""
        key = (tuple(int(d) for d in x_shape), tuple(int(d) for d in f_shape))
        plan = self.plans.get(key)
        if plan is None:
            out_shape, pads, (sh, sw), (dh, dw) = conv_ops.runtime_plan(self.ref, key[0], key[1], True)
            (_, h, w, c), (kh, kw, _, mult) = key
            args = (h, w, c, mult, out_shape[1], out_shape[2], kh, kw, sh, sw, dh, dw, pads[0][0], pads[1][0])
            plan = self.plans[key] = (tuple(out_shape), args)
        return plan

    def nhwc_sizes(self, sizes, what):
        return self.nhwc_shape(conv_ops._sizes(self.ref, sizes, what))


@register_cuda_kernel("DepthwiseConv2dNative", accepts=float_output)
def depthwise_conv2d(op, ctx):
    conv = _Depthwise(op, ctx)

    def run(x, f):
        conv.check_rank(("input", x))
        x = conv.nhwc(x)
        out_shape, args = conv.geometry(x.shape, f.shape)
        out = ctx.empty(out_shape, x.dtype, op)
        if out.size:
            blocks, threads = launch_size(out.size)
            _forward[blocks, threads](x.reshape(-1), f.reshape(-1), out.reshape(-1), *args)
        return conv.from_nhwc(out)

    return run


@register_cuda_kernel("DepthwiseConv2dNativeBackpropInput", host_inputs=(0,), accepts=float_output)
def depthwise_conv2d_backprop_input(op, ctx):
    conv = _Depthwise(op, ctx)

    def run(input_sizes, f, dy):
        in_shape = conv.nhwc_sizes(input_sizes, "input_sizes")
        conv.check_rank(("out_backprop", dy))
        dy = conv.nhwc(dy)
        out_shape, args = conv.geometry(in_shape, f.shape)
        conv_ops._check_out_backprop(conv.ref, dy.shape, out_shape)
        dx = ctx.empty(in_shape, dy.dtype, op)
        if dx.size:
            blocks, threads = launch_size(dx.size)
            _input_grad[blocks, threads](dy.reshape(-1), f.reshape(-1), dx.reshape(-1), *args)
        return conv.from_nhwc(dx)

    return run


@register_cuda_kernel("DepthwiseConv2dNativeBackpropFilter", host_inputs=(1,), accepts=float_output)
def depthwise_conv2d_backprop_filter(op, ctx):
    conv = _Depthwise(op, ctx)

    def run(x, filter_sizes, dy):
        f_shape = tuple(conv_ops._sizes(conv.ref, filter_sizes, "filter_sizes"))
        conv.check_rank(("input", x), ("out_backprop", dy))
        x, dy = conv.nhwc(x), conv.nhwc(dy)
        out_shape, args = conv.geometry(x.shape, f_shape)
        conv_ops._check_out_backprop(conv.ref, dy.shape, out_shape)
        df = ctx.empty(f_shape, x.dtype, op)
        if df.size:
            blocks = max(1, min(df.size, MAX_BLOCKS))
            _filter_grad[blocks, min(BLOCK, _SHARED)](x.reshape(-1), dy.reshape(-1), df.reshape(-1),
                                                      int(x.shape[0]), *args)
        return df

    return run
