"""Conv2D and its two backprops on the CPU: a compiled im2col / col2im plus one BLAS matmul each.

Stride-1 convolutions with few channels go to the direct kernels of ``conv_direct.py``
instead (no window matrix; ``conv_direct.usable`` decides, with a higher limit for the input gradient); those with a vector's worth of output
channels and few taps run their forward and filter gradient in register tiles (``conv_channels.py``).

Conv2D copies every filter window of the (NHWC view of the) input into a pooled
``(N * OH * OW, KH * KW * C)`` matrix (zeros where a window hangs over the padding) and
multiplies it by the ``(KH * KW * C, O)`` filter. Conv2DBackpropFilter multiplies the
transposed window matrix by the output gradient; Conv2DBackpropInput multiplies the output
gradient by the transposed filter and adds the window gradients back (col2im). NCHW runs
on transposed views of the same NHWC code. Shapes and paddings are planned once per input
shapes. For a VALID stride-1 convolution with a small window (LeNet's conv2) im2col and col2im
are generated for the window, every entry unrolled, with no padding checks. The depthwise ops
keep their NumPy (einsum) reference kernels.

Blocks of window rows (``_BLOCK_BYTES``) are gathered and multiplied one at a time, so the
window matrix stays in cache instead of streaming ~15 MB through memory (conv1 of W2). When the
products stay on one BLAS thread (``threads.blas_threads_for``), each kernel thread takes a run of
images with its own blocks (and, for the filter gradient, its own partial sum).

Measured with ``python -m bench.conv_w2`` (W2 = LeNet, batch 64, NHWC float32, VALID; forward +
both backprops, best of 15, a shared 2-core machine under load, OPENBLAS_NUM_THREADS=1):
conv 3->6 5x5 on 32x32: 15.3 ms here vs 35.0 ms for the NumPy reference kernels and 57.6 ms for
a plain NumPy im2col; conv 6->16 5x5 on 14x14: 3.6 ms vs 6.5 ms and 6.5 ms. (The reference's
Conv2DBackpropInput, col2im as 25 strided NumPy adds, is the slowest piece: ~23 ms for conv1.)
"""

from __future__ import annotations

import numpy as np
from graphdl.backends.numba_cpu.fused_codegen import PARALLEL_MIN_ELEMENTS, _threads
from graphdl.backends.numba_cpu.kernel_cache import compiled_for, load_generated_module, vector_width_comment
from graphdl.backends.numba_cpu.kernel_registry import _Context, buffer_pool, numpy_kernel, register_kernel
from graphdl.backends.numba_cpu.kernels import conv_channels, conv_direct
from graphdl.backends.numba_cpu.kernels.reductions import NUMBA_DTYPES, run_split, split_piece
from graphdl.backends.numba_cpu.threads import blas_threads_for
from numba import njit

from graphdl.ops import conv_geometry as geo
from graphdl.ops import conv_ops

_FLAGS = {"cache": True, "nogil": True, "error_model": "numpy"}
_BLOCK_BYTES = 1 << 18


@njit(**_FLAGS)
def _im2col(x, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, start, stop, cols):
    """cols[r - start, (a, b, c)] = x[n, i * sh + a * dh - pt, j * sw + b * dw - pl, c], 0 outside x, r = (n, i, j).

    ``x`` is C-contiguous NHWC. With dw == 1, a window row inside x is one contiguous run of kw * c values.
    """
    _, h, w, c = x.shape
    xf = x.reshape(-1)
    cf = cols.reshape(-1)
    run = kw * c
    dst = 0
    for r in range(start, stop):
        n, rest = divmod(r, oh * ow)
        i, j = divmod(rest, ow)
        x0 = j * sw - pl
        whole = dw == 1 and x0 >= 0 and x0 + kw <= w
        for a in range(kh):
            y = i * sh + a * dh - pt
            if y < 0 or y >= h:
                for t in range(run):
                    cf[dst + t] = 0
            elif whole:
                src = ((n * h + y) * w + x0) * c
                for t in range(run):
                    cf[dst + t] = xf[src + t]
            else:
                for b in range(kw):
                    xx = x0 + b * dw
                    o = dst + b * c
                    if 0 <= xx < w:
                        src = ((n * h + y) * w + xx) * c
                        for ch in range(c):
                            cf[o + ch] = xf[src + ch]
                    else:
                        for ch in range(c):
                            cf[o + ch] = 0
            dst += run


@njit(**_FLAGS)
def _col2im(cols, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, start, stop, dx):
    """dx (C-contiguous NHWC) += the window entries of cols rows ``start..stop`` (the inverse scatter of _im2col)."""
    _, h, w, c = dx.shape
    df = dx.reshape(-1)
    cf = cols.reshape(-1)
    run = kw * c
    src = 0
    for r in range(start, stop):
        n, rest = divmod(r, oh * ow)
        i, j = divmod(rest, ow)
        x0 = j * sw - pl
        whole = dw == 1 and x0 >= 0 and x0 + kw <= w
        for a in range(kh):
            y = i * sh + a * dh - pt
            if 0 <= y < h:
                if whole:
                    dst = ((n * h + y) * w + x0) * c
                    for t in range(run):
                        df[dst + t] += cf[src + t]
                else:
                    for b in range(kw):
                        xx = x0 + b * dw
                        if 0 <= xx < w:
                            dst = ((n * h + y) * w + xx) * c
                            o = src + b * c
                            for ch in range(c):
                                df[dst + ch] += cf[o + ch]
            src += run


# Window entries (KH * KW * C) up to which im2col and col2im of a VALID stride-1 convolution are generated with
# every entry unrolled (LeNet conv2: 150; its col2im 1.2-1.6 -> 0.9-1.0 ms, interleaved runs in one session).
_UNROLL_MAX_ENTRIES = 400


def _valid_window_source(kh: int, kw: int, c: int) -> str:
    """im2col and col2im of a VALID stride-1 ``kh`` x ``kw`` x ``c`` window, every window entry unrolled."""
    run = kw * c
    sources = []
    for name, doc, statement in (
        ("im2col", "cols rows start..stop = the windows of x (C-contiguous NHWC)", "cf[src + {e}] = xf[at + {o}]"),
        ("col2im", "x (C-contiguous NHWC) += the window entries of cols rows start..stop", "xf[at + {o}] += cf[src + {e}]"),
    ):
        lines = [
            "@njit(cache=True, nogil=True, error_model='numpy', boundscheck=False)",
            f"def {name}(cols, x, start, stop):",
            f'    """{doc} (VALID, stride 1)."""',
            "    h, w = x.shape[1], x.shape[2]",
            f"    oh, ow = h - {kh - 1}, w - {kw - 1}",
            "    xf = x.reshape(-1)",
            "    cf = cols.reshape(-1)",
            "    n, rest = divmod(start, oh * ow)",
            "    i, j = divmod(rest, ow)",
            f"    line = w * {c}",
            "    src = 0",
            "    for _ in range(start, stop):",
            f"        at = ((n * h + i) * w + j) * {c}",
        ]
        lines += ["        " + statement.format(e=a * run + t, o=f"{a} * line + {t}") for a in range(kh) for t in range(run)]
        lines += [
            f"        src += {kh * run}",
            "        j += 1",
            "        if j == ow:",
            "            j = 0",
            "            i += 1",
            "            if i == oh:",
            "                i = 0",
            "                n += 1",
        ]
        sources.append("\n".join(lines) + "\n")
    return "from numba import njit\n\n\n" + "\n\n".join(sources)


def _valid_window_kernel(name: str, kh: int, kw: int, c: int, args):
    """The generated ``im2col`` or ``col2im`` (``name``) of a VALID stride-1 window, compiled for ``args``' types."""
    module = _window_modules.get((kh, kw, c))
    if module is None:  # (load_generated_module hashes the source: once per window, not per call)
        module = _window_modules[kh, kw, c] = load_generated_module(vector_width_comment() + _valid_window_source(kh, kw, c))
    # straight-line copies, no loop to vectorize: forcing the vector width only makes LLVM print a remark
    return compiled_for(getattr(module, name), args, widen=False)


_window_modules: dict = {}


class _Geometry:
    """Shapes checked like the reference kernel, the padding plan and the row blocks, per (input, filter) shape."""

    def __init__(self, ctx, x_shape, f_shape):
        self.out_shape, pads, (self.sh, self.sw), (self.dh, self.dw) = conv_ops.runtime_plan(ctx, x_shape, f_shape,
                                                                                             False)
        self.pads = pads
        self.pt, self.pl = pads[0][0], pads[1][0]
        self.kh, self.kw, c, self.m = f_shape
        self.direct = conv_direct.usable((self.sh, self.sw), (self.dh, self.dw), c, self.m)
        self.direct_input_gradient = conv_direct.usable((self.sh, self.sw), (self.dh, self.dw), c, self.m, True)
        geometry = ((self.sh, self.sw), (self.dh, self.dw), self.kh, self.kw, c, self.m)
        self.channels = not self.direct and conv_channels.usable(*geometry)
        self.k = self.kh * self.kw * c
        n, oh, ow, _ = self.out_shape
        self.rows = n * oh * ow
        # VALID, stride 1, no dilation: every window lies inside the input, so im2col and col2im are generated
        # for the window with no bounds checks and every entry unrolled.
        self.unrolled_windows = ((self.sh, self.sw, self.dh, self.dw) == (1, 1, 1, 1) and self.k <= _UNROLL_MAX_ENTRIES
                                 and (oh, ow) == (x_shape[1] - self.kh + 1, x_shape[2] - self.kw + 1))
        # Blocks of window rows of about _BLOCK_BYTES stay in cache between im2col and the matmul reading them.
        self.step = max(64, _BLOCK_BYTES // (4 * max(self.k, 1)))
        self.blocks = self.blocks_of_images(0, n)
        self.block_rows = min(self.step, self.rows)

    def blocks_of_images(self, first, stop):
        """The row blocks of images ``first..stop`` (one image's rows are ``OH * OW`` consecutive rows)."""
        per_image = self.out_shape[1] * self.out_shape[2]
        end = stop * per_image
        return [(r, min(r + self.step, end)) for r in range(first * per_image, end, self.step)]

    def split(self, blas_threads) -> int:
        """How many pieces of images to run at once: one per kernel thread when the products stay on one BLAS
        thread and the work is large enough, else 1."""
        n = self.out_shape[0]
        if blas_threads > 1 or n < 2 or self.rows * self.k < PARALLEL_MIN_ELEMENTS:
            return 1
        return min(_threads(), n)

    def im2col(self, x, start, stop, cols):
        if self.unrolled_windows:
            _valid_window_kernel("im2col", self.kh, self.kw, x.shape[3], (cols, x, start, stop))(cols, x, start, stop)
            return
        _im2col(x, self.kh, self.kw, self.sh, self.sw, self.dh, self.dw, self.pt, self.pl, self.out_shape[1],
                self.out_shape[2], start, stop, cols)

    def col2im(self, cols, start, stop, dx):
        if self.unrolled_windows:
            _valid_window_kernel("col2im", self.kh, self.kw, dx.shape[3], (cols, dx, start, stop))(cols, dx, start, stop)
            return
        _col2im(cols, self.kh, self.kw, self.sh, self.sw, self.dh, self.dw, self.pt, self.pl, self.out_shape[1],
                self.out_shape[2], start, stop, dx)


class _Planner:
    def __init__(self, op, state):
        self.ctx = _Context(op, state)
        self.plans: dict = {}

    def __call__(self, x_shape, f_shape):
        key = (tuple(x_shape), tuple(f_shape))
        plan = self.plans.get(key)
        if plan is None:
            plan = self.plans[key] = _Geometry(self.ctx, key[0], key[1])
        return plan


def _over_images(images, n, pieces):
    """``images(first, stop)`` over all ``n`` images: in one call, or one call per kernel thread."""
    if pieces > 1:
        run_split(images, n)
    else:
        images(0, n)


def _contiguous(take, x):
    if x.flags.c_contiguous:
        return x
    copy = take(x.shape, x.dtype)
    np.copyto(copy, x)
    return copy


def _rows(take, dy, fmt):
    """The NHWC output gradient as a contiguous ``(N * OH * OW, O)`` matrix."""
    dy = _contiguous(take, geo.to_nhwc(dy, fmt))
    return dy.reshape(-1, dy.shape[3])


def _shape_in(fmt, nhwc_shape):
    """An NHWC shape written in ``fmt``."""
    n, h, w, c = nhwc_shape
    return (n, c, h, w) if fmt == "NCHW" else tuple(nhwc_shape)


def _nhwc_shape(fmt, shape):
    """A shape in ``fmt`` written as NHWC."""
    if fmt == "NCHW":
        n, c, h, w = shape
        return (n, h, w, c)
    return tuple(shape)


def _supported(op):
    return op.inputs[0].dtype.np in NUMBA_DTYPES and op.outputs[0].dtype.np in NUMBA_DTYPES


def _conv2d(op, state, fused_ops=()):
    """Conv2D's kernel; with ``fused_ops`` (``_FusedConv2D``) it also takes the bias and adds it, then applies the
    activation, on each block of output rows while it is in cache."""
    if not _supported(op):
        return numpy_kernel(op, state)
    take = buffer_pool(state).take
    fmt = op.attrs["data_format"]
    planner = _Planner(op, state)
    matmul = np.matmul
    relu = "Relu" in fused_ops

    def conv2d(x, w, bias=None):
        if x.ndim != 4:
            conv_ops._fail(planner.ctx, f"input must be rank 4, got shape {list(x.shape)}")
        g = planner(geo.to_nhwc(x, fmt).shape, w.shape)
        if bias is not None and bias.shape != (g.m,):
            conv_ops._fail(planner.ctx, f"bias must be a vector of the {g.m} output channels, got shape "
                                        f"{list(bias.shape)}")
        if g.direct:
            out_shape = _shape_in(fmt, g.out_shape)
            return conv_direct.forward(take, x, w, fmt == "NHWC", g.pads, out_shape, bias, relu)
        if g.channels:
            return conv_channels.forward(take, x, w, fmt == "NHWC", g.pads, _shape_in(fmt, g.out_shape), bias, relu)
        xn = _contiguous(take, geo.to_nhwc(x, fmt))
        w2 = np.ascontiguousarray(w).reshape(g.k, g.m)
        rows = take((g.rows, g.m), x.dtype)
        pieces = g.split(blas_threads_for(g.block_rows * g.k * g.m))
        cols = take((pieces, g.block_rows, g.k), x.dtype)

        def images(first, stop):
            piece_cols = cols[split_piece(first, g.out_shape[0], pieces)]
            for start, end in g.blocks_of_images(first, stop):
                block = piece_cols[: end - start]
                g.im2col(xn, start, end, block)
                matmul(block, w2, out=rows[start:end])
                if bias is not None:
                    conv_direct.add_bias_activation(rows[start:end], bias, relu)

        _over_images(images, g.out_shape[0], pieces)
        if fmt == "NHWC":
            return rows.reshape(g.out_shape)
        out = take(geo.from_nhwc(rows.reshape(g.out_shape), fmt).shape, x.dtype)
        np.copyto(out, geo.from_nhwc(rows.reshape(g.out_shape), fmt))
        return out

    return conv2d


@register_kernel("Conv2D")
def conv2d_kernel(op, state):
    return _conv2d(op, state)


@register_kernel("_FusedConv2D")
def fused_conv2d_kernel(op, state):
    return _conv2d(op, state, tuple(op.attrs["fused_ops"]))


@register_kernel("Conv2DBackpropFilter")
def conv2d_backprop_filter_kernel(op, state):
    if not _supported(op):
        return numpy_kernel(op, state)
    take = buffer_pool(state).take
    fmt = op.attrs["data_format"]
    planner = _Planner(op, state)
    matmul = np.matmul

    def conv2d_backprop_filter(x, sizes, dy):
        f_shape = tuple(conv_ops._sizes(planner.ctx, sizes, "filter_sizes"))
        if x.ndim != 4 or dy.ndim != 4:
            conv_ops._fail(planner.ctx, f"input and out_backprop must be rank 4, got shapes {list(x.shape)} and "
                                        f"{list(dy.shape)}")
        g = planner(geo.to_nhwc(x, fmt).shape, f_shape)
        conv_ops._check_out_backprop(planner.ctx, geo.to_nhwc(dy, fmt).shape, g.out_shape)
        if g.direct:
            return conv_direct.backprop_filter(take, x, dy, fmt == "NHWC", g.pads, f_shape)
        if g.channels:
            return conv_channels.backprop_filter(take, x, dy, fmt == "NHWC", g.pads, f_shape)
        xn = _contiguous(take, geo.to_nhwc(x, fmt))
        dy2 = _rows(take, dy, fmt)
        pieces = g.split(blas_threads_for(g.block_rows * g.k * g.m))
        dw = take(f_shape, x.dtype)
        # one filter gradient per piece of images, added at the end
        sums = dw.reshape(1, g.k, g.m) if pieces == 1 else take((pieces, g.k, g.m), x.dtype)
        partials = take((pieces, g.k, g.m), x.dtype)
        cols = take((pieces, g.block_rows, g.k), x.dtype)

        def images(first, stop):
            piece = split_piece(first, g.out_shape[0], pieces)
            total, partial, piece_cols = sums[piece], partials[piece], cols[piece]
            total.fill(0)
            for start, end in g.blocks_of_images(first, stop):
                block = piece_cols[: end - start]
                g.im2col(xn, start, end, block)
                matmul(block.T, dy2[start:end], out=partial)
                total += partial

        _over_images(images, g.out_shape[0], pieces)
        if pieces > 1:
            np.sum(sums, axis=0, out=dw.reshape(g.k, g.m))
        return dw

    return conv2d_backprop_filter


@register_kernel("Conv2DBackpropInput")
def conv2d_backprop_input_kernel(op, state):
    if not _supported(op):
        return numpy_kernel(op, state)
    take = buffer_pool(state).take
    fmt = op.attrs["data_format"]
    planner = _Planner(op, state)
    matmul = np.matmul

    def conv2d_backprop_input(sizes, w, dy):
        sizes = tuple(conv_ops._sizes(planner.ctx, sizes, "input_sizes"))
        if dy.ndim != 4:
            conv_ops._fail(planner.ctx, f"out_backprop must be rank 4, got shape {list(dy.shape)}")
        g = planner(_nhwc_shape(fmt, sizes), w.shape)
        conv_ops._check_out_backprop(planner.ctx, geo.to_nhwc(dy, fmt).shape, g.out_shape)
        if g.direct_input_gradient:
            return conv_direct.backprop_input(take, w, dy, fmt == "NHWC", g.pads, sizes)
        dx = take(sizes, w.dtype)
        dxn = geo.to_nhwc(dx, fmt)
        dy2 = _rows(take, dy, fmt)
        wt = np.ascontiguousarray(w).reshape(g.k, g.m).T
        nhwc = dxn if fmt == "NHWC" else take(dxn.shape, w.dtype)
        nhwc.fill(0)
        pieces = g.split(blas_threads_for(g.block_rows * g.k * g.m))
        dcols = take((pieces, g.block_rows, g.k), w.dtype)

        def images(first, stop):  # pieces write disjoint images of dx
            piece_cols = dcols[split_piece(first, g.out_shape[0], pieces)]
            for start, end in g.blocks_of_images(first, stop):
                block = piece_cols[: end - start]
                matmul(dy2[start:end], wt, out=block)
                g.col2im(block, start, end, nhwc)

        _over_images(images, g.out_shape[0], pieces)
        if nhwc is not dxn:
            np.copyto(dxn, nhwc)
        return dx

    return conv2d_backprop_input
