"""Direct stride-1 convolutions for few channels: no window matrix, one long vectorized loop per filter tap.

With few input and output channels (LeNet's first layer: 3 -> 6) the im2col matrix has
short rows and the matmul a tiny inner dimension, so BLAS runs far below its peak while
im2col streams the whole window matrix through memory. Here the input is copied once into
a zero-padded NCHW buffer and the output is computed "wide": an output plane is laid out
with the padded input's row width, so for a filter tap (a, b) the whole plane is
``out[p] += w * x[a * W + b + p]``, one contiguous loop of ``OH * W`` elements that LLVM
vectorizes; the last ``KW - 1`` columns of each wide row are discarded. The loops over the
plane are generated per filter size with every tap unrolled (``conv_direct_codegen.py``). The
filter gradient is a dot product of the same shifted input with the output gradient (zero in
the discarded columns), and the input gradient is the same wide convolution of the
zero-padded output gradient with the flipped, transposed filter.

LeNet's conv1 (64x32x32x3 input, 5x5x3x6 filter, float32, one thread, best of 30 on a loaded
2-core machine): forward loop 1.2 ms (2.1 ms with one pass per tap), filter gradient 1.3-1.5 ms
(2.1-2.4 ms).
"""

from __future__ import annotations

import numpy as np
from graphdl.backends.numba_cpu.fused_codegen import PARALLEL_MIN_ELEMENTS, _threads
from graphdl.backends.numba_cpu.kernels.conv_direct_codegen import kernels_for, output_block
from graphdl.backends.numba_cpu.kernels.reductions import run_split
from numba import njit

_FLAGS = {"cache": True, "nogil": True, "error_model": "numpy"}


@njit(**_FLAGS)
def padded_nchw(x, nhwc, pt, pl, out):
    """``out`` (N, C, Hp, Wp) = ``x`` (NHWC if ``nhwc`` else NCHW) placed at (pt, pl), zeros around it."""
    n_, c_, hp, wp = out.shape
    if nhwc:
        h, w = x.shape[1], x.shape[2]
    else:
        h, w = x.shape[2], x.shape[3]
    for n in range(n_):
        for c in range(c_):
            for y in range(hp):
                row = out[n, c, y]
                yy = y - pt
                if yy < 0 or yy >= h:
                    for j in range(wp):
                        row[j] = 0
                    continue
                for j in range(wp):
                    xx = j - pl
                    if 0 <= xx < w:
                        row[j] = x[n, yy, xx, c] if nhwc else x[n, c, yy, xx]
                    else:
                        row[j] = 0


@njit(**_FLAGS)
def narrow(wide, ow, nhwc, out):
    """The first ``ow`` columns of each wide row of ``wide`` (N, O, OH, Wp) into ``out`` (NHWC or NCHW)."""
    n_, o_, oh, _ = wide.shape
    for n in range(n_):
        for o in range(o_):
            for i in range(oh):
                row = wide[n, o, i]
                for j in range(ow):
                    if nhwc:
                        out[n, i, j, o] = row[j]
                    else:
                        out[n, o, i, j] = row[j]


@njit(**_FLAGS)
def widen(dy, nhwc, wp, left, top, out):
    """``out`` (N, O, Hq, Wq) = the gradient ``dy`` placed at (top, left) of rows of width ``wp``, zeros elsewhere."""
    n_, o_, hq, wq = out.shape
    if nhwc:
        oh, ow = dy.shape[1], dy.shape[2]
    else:
        oh, ow = dy.shape[2], dy.shape[3]
    for n in range(n_):
        for o in range(o_):
            for y in range(hq):
                row = out[n, o, y]
                i = y - top
                for j in range(wq):
                    jj = j - left
                    if 0 <= i < oh and 0 <= jj < ow:
                        row[j] = dy[n, i, jj, o] if nhwc else dy[n, o, i, jj]
                    else:
                        row[j] = 0


@njit(**_FLAGS)
def crop(wide, pt, pl, h, w, nhwc, out):
    """``out`` (N, H, W, C) or (N, C, H, W) = ``wide`` (N, C, Hq, Wq) rows pt..pt+h, columns pl..pl+w."""
    n_, c_ = wide.shape[0], wide.shape[1]
    for n in range(n_):
        for c in range(c_):
            for y in range(h):
                row = wide[n, c, y + pt]
                for x in range(w):
                    if nhwc:
                        out[n, y, x, c] = row[x + pl]
                    else:
                        out[n, c, y, x] = row[x + pl]


def usable(strides, dilations, channels_in, channels_out) -> bool:
    """Whether the direct kernels apply (stride 1, no dilation) and should beat im2col + BLAS (few channels)."""
    return tuple(strides) == (1, 1) and tuple(dilations) == (1, 1) and channels_in * channels_out <= DIRECT_MAX_CHANNEL_PRODUCT


# in * out channels up to which the direct kernels are used (measured: see the module docstring of conv.py).
DIRECT_MAX_CHANNEL_PRODUCT = 48


def forward(take, x, w, nhwc, pads, out_shape):
    """Conv2D of ``x`` with HWIO ``w`` (stride 1), into a pooled array of ``out_shape`` (x's layout)."""
    (pt, pb), (pl, pr) = pads
    _, _, c, o = w.shape
    if nhwc:
        n, h, wd = x.shape[0], x.shape[1], x.shape[2]
        oh, ow = out_shape[1], out_shape[2]
    else:
        n, h, wd = x.shape[0], x.shape[2], x.shape[3]
        oh, ow = out_shape[2], out_shape[3]
    xp = take((n, c, h + pt + pb, wd + pl + pr), x.dtype)
    padded_nchw(x, nhwc, pt, pl, xp)
    wt = np.ascontiguousarray(w.transpose(3, 2, 0, 1))
    wide = take((n, o, oh, xp.shape[3]), x.dtype)
    _correlate(xp, wt, wide)
    out = take(out_shape, x.dtype)
    narrow(wide, ow, nhwc, out)
    return out


def backprop_filter(take, x, dy, nhwc, pads, f_shape):
    """Conv2DBackpropFilter (stride 1): the HWIO filter gradient."""
    (pt, pb), (pl, pr) = pads
    kh, kw, c, o = f_shape
    n, h, wd = (x.shape[0], x.shape[1], x.shape[2]) if nhwc else (x.shape[0], x.shape[2], x.shape[3])
    xp = take((n, c, h + pt + pb, wd + pl + pr), x.dtype)
    padded_nchw(x, nhwc, pt, pl, xp)
    oh = xp.shape[2] - kh + 1
    dyw = take((n, o, oh, xp.shape[3]), x.dtype)
    widen(dy, nhwc, xp.shape[3], 0, 0, dyw)
    kernel = kernels_for(kh, kw, 1).tap_gradients
    if _split_batch(n, xp.size):
        pieces = [np.zeros(tuple(f_shape), x.dtype) for _ in range(min(_threads(), n))]
        run_split(lambda start, stop: kernel(xp, dyw, pieces[_piece(start, n, len(pieces))], start, stop), n)
        return sum(pieces[1:], pieces[0])
    dw = take(tuple(f_shape), x.dtype)
    dw[...] = 0
    kernel(xp, dyw, dw, 0, n)
    return dw


def backprop_input(take, w, dy, nhwc, pads, in_shape):
    """Conv2DBackpropInput (stride 1): the input gradient, a full correlation of dy with the flipped filter."""
    (pt, _), (pl, _) = pads
    kh, kw, c, o = w.shape
    n, h, wd = (in_shape[0], in_shape[1], in_shape[2]) if nhwc else (in_shape[0], in_shape[2], in_shape[3])
    oh, ow = (dy.shape[1], dy.shape[2]) if nhwc else (dy.shape[2], dy.shape[3])
    # dy zero padded by the filter size - 1 on each side: its wide VALID correlation with the flipped,
    # channel-transposed filter is the gradient of the padded input, of which x's part is cropped out.
    hq, wq = oh + 2 * (kh - 1), ow + 2 * (kw - 1)
    dyp = take((n, o, hq, wq), w.dtype)
    widen(dy, nhwc, wq, kw - 1, kh - 1, dyp)
    flipped = np.ascontiguousarray(w[::-1, ::-1].transpose(2, 3, 0, 1))  # (C, O, KH, KW)
    wide = take((n, c, hq - kh + 1, wq), w.dtype)
    _correlate(dyp, flipped, wide)
    dx = take(tuple(in_shape), w.dtype)
    crop(wide, pt, pl, h, wd, nhwc, dx)
    return dx


def _split_batch(n, size) -> bool:
    return n > 1 and size >= PARALLEL_MIN_ELEMENTS and _threads() > 1


def _piece(start, n, pieces):
    """Which of ``run_split``'s ``pieces`` starts at ``start``."""
    return next(p for p in range(pieces) if n * p // pieces == start)


def _correlate(xp, w, wide):
    """``wide`` = the wide VALID correlation of ``xp`` with ``w`` (O, C, KH, KW), split over the batch when large."""
    o, _, kh, kw = w.shape
    kernel = kernels_for(kh, kw, output_block(o)).wide_correlation
    n = xp.shape[0]
    if _split_batch(n, xp.size):
        run_split(lambda start, stop: kernel(xp, w, wide, start, stop), n)
    else:
        kernel(xp, w, wide, 0, n)
