"""Direct stride-1 convolutions for few channels: no window matrix, register tiles over wide planes.

With few input and output channels (LeNet's first layer: 3 -> 6) the im2col matrix has
short rows and the matmul a tiny inner dimension, so BLAS runs far below its peak while
im2col streams the whole window matrix through memory. Here the input is copied once into
a zero-padded NCHW buffer and the output is computed "wide": an output plane is laid out
with the padded input's row width, so for a filter tap (a, b) the whole plane is
``out[p] += w * x[a * W + b + p]``, a run of contiguous positions; the last ``KW - 1`` columns
of each wide row are discarded. The correlation runs in register tiles of a few output channels
by two vectors of positions (``conv_direct_codegen.tile_correlation``). The filter gradient is a
dot product of the same shifted input with the output gradient (zero in the discarded columns),
and the input gradient is the same wide correlation of the zero-padded output gradient with the
flipped, transposed filter. A large batch is split into one run of images per kernel thread, each
doing its own layout copies and loops.

LeNet's conv1 (64x32x32x3 input, 5x5x3x6 filter, float32): forward with the layout copies 0.54 ms
(two threads; 1.9 ms before the register tiles), filter gradient loop 0.64 ms (one thread).
"""

from __future__ import annotations

import numpy as np
from graphdl.backends.numba_cpu.fused_codegen import PARALLEL_MIN_ELEMENTS, _threads
from graphdl.backends.numba_cpu.kernel_cache import compiled_for
from graphdl.backends.numba_cpu.kernels.conv_direct_codegen import (
    GRADIENT_BLOCK,
    correlation_for,
    kernels_for,
    output_block,
    tile_columns,
)
from graphdl.backends.numba_cpu.kernels.reductions import run_split, split_piece
from numba import njit

_FLAGS = {"cache": True, "nogil": True, "error_model": "numpy"}


@njit(**_FLAGS)
def padded_nchw(x, nhwc, pt, pl, out, start, stop):
    """``out`` (N, C, Hp, Wp) = ``x`` (NHWC if ``nhwc`` else NCHW) placed at (pt, pl), zeros around it (images
    ``start..stop``). Each row is split into its zero margins and the copied middle, with no test per element
    (LeNet's conv1 input, one thread: 142 -> 75 us)."""
    _, c_, hp, wp = out.shape
    if nhwc:
        h, w = x.shape[1], x.shape[2]
    else:
        h, w = x.shape[2], x.shape[3]
    lo, hi = min(max(pl, 0), wp), max(min(pl + w, wp), min(max(pl, 0), wp))
    for n in range(start, stop):
        for c in range(c_):
            for y in range(hp):
                row = out[n, c, y]
                yy = y - pt
                if yy < 0 or yy >= h:
                    row[:] = 0
                    continue
                row[:lo] = 0
                row[hi:] = 0
                middle = row[lo:hi]
                source = x[n, yy, lo - pl:hi - pl, c] if nhwc else x[n, c, yy, lo - pl:hi - pl]
                for j in range(hi - lo):
                    middle[j] = source[j]


@njit(**_FLAGS)
def narrow(wide, ow, nhwc, bias, relu, out, start, stop):
    """The first ``ow`` columns of each wide row of ``wide`` (N, O, OH, Wp) into ``out`` (NHWC or NCHW), images
    ``start..stop``; plus ``bias[o]`` when ``bias`` is not empty, then ``max(., 0)`` when ``relu`` (a fused
    convolution's epilogue, free here: each value passes through a register anyway)."""
    _, o_, oh, _ = wide.shape
    with_bias = bias.size > 0
    zero = wide.dtype.type(0)
    for n in range(start, stop):
        for o in range(o_):
            b = bias[o] if with_bias else zero
            for i in range(oh):
                row = wide[n, o, i]
                for j in range(ow):
                    v = row[j] + b if with_bias else row[j]
                    if relu:
                        v = max(v, zero)
                    if nhwc:
                        out[n, i, j, o] = v
                    else:
                        out[n, o, i, j] = v


@njit(**_FLAGS)
def add_bias_activation(rows, bias, relu):
    """``rows`` (pixels, channels) += ``bias``, then ``max(., 0)`` when ``relu``, in place: a fused convolution's
    epilogue over an NHWC output."""
    zero = rows.dtype.type(0)
    for r in range(rows.shape[0]):
        row = rows[r]
        for c in range(rows.shape[1]):
            v = row[c] + bias[c]
            row[c] = max(v, zero) if relu else v


@njit(**_FLAGS)
def widen(dy, nhwc, left, top, out, start, stop):
    """``out`` (N, O, Hq, Wq) = the gradient ``dy`` placed at (top, left), zeros elsewhere (images ``start..stop``)."""
    padded_nchw(dy, nhwc, top, left, out, start, stop)


@njit(**_FLAGS)
def crop(wide, pt, pl, h, w, nhwc, out, start, stop):
    """``out`` (N, H, W, C) or (N, C, H, W) = ``wide`` (N, C, Hq, Wq) rows pt..pt+h, columns pl..pl+w (images
    ``start..stop``)."""
    c_ = wide.shape[1]
    for n in range(start, stop):
        for c in range(c_):
            for y in range(h):
                row = wide[n, c, y + pt]
                for x in range(w):
                    if nhwc:
                        out[n, y, x, c] = row[x + pl]
                    else:
                        out[n, c, y, x] = row[x + pl]


def usable(strides, dilations, channels_in, channels_out, input_gradient=False) -> bool:
    """Whether the direct kernels apply (stride 1, no dilation) and should beat im2col + BLAS (few channels); the
    input gradient's limit (``input_gradient``) is higher."""
    limit = INPUT_GRADIENT_MAX_CHANNEL_PRODUCT if input_gradient else DIRECT_MAX_CHANNEL_PRODUCT
    return tuple(strides) == (1, 1) and tuple(dilations) == (1, 1) and channels_in * channels_out <= limit


# in * out channels up to which the direct forward and filter gradient are used (measured: see the module
# docstring of conv.py; above it the channel-vector tiles or im2col + BLAS are faster).
DIRECT_MAX_CHANNEL_PRODUCT = 48
# The input gradient's tiled wide correlation beats col2im + BLAS further (two threads, interleaved: 6 x 16
# channels 0.47 vs 0.58 ms for LeNet's conv2, 8 x 8 0.75 vs 1.6 ms, level at 16 x 32, slower at 32 x 64).
INPUT_GRADIENT_MAX_CHANNEL_PRODUCT = 256


def _padded_planes(take, n, c, hp, wp, dtype, columns, kw):
    """A zero-padded NCHW buffer ``(n, c, hp, wp)`` and the flat array it is a view of, which has ``columns + kw``
    zeros past the last image: the correlation's last tile of wide positions reads that far."""
    size = n * c * hp * wp
    flat = take((size + columns + kw,), dtype)
    flat[size:] = 0
    return flat, flat[:size].reshape(n, c, hp, wp)


def _wide_planes(take, n, o, rows, width, dtype, columns):
    """The correlation's output: flat ``(n, o, plane)`` with ``plane`` = ``rows * width`` rounded up to whole tiles,
    and the ``(n, o, rows, width)`` view of its wide rows."""
    plane = -(-rows * width // columns) * columns
    flat = take((n * o * plane,), dtype)
    return flat, plane, flat.reshape(n, o, plane)[:, :, :rows * width].reshape(n, o, rows, width)


def forward(take, x, w, nhwc, pads, out_shape, bias=None, relu=False):
    """Conv2D of ``x`` with HWIO ``w`` (stride 1), into a pooled array of ``out_shape`` (x's layout); plus ``bias``
    on the channel axis, then ``max(., 0)`` when ``relu`` (a fused convolution)."""
    (pt, pb), (pl, pr) = pads
    kh, kw, c, o = w.shape
    if nhwc:
        n, h, wd = x.shape[0], x.shape[1], x.shape[2]
        oh, ow = out_shape[1], out_shape[2]
    else:
        n, h, wd = x.shape[0], x.shape[2], x.shape[3]
        oh, ow = out_shape[2], out_shape[3]
    hp, wp = h + pt + pb, wd + pl + pr
    columns = tile_columns(x.dtype.itemsize)
    xf, xp = _padded_planes(take, n, c, hp, wp, x.dtype, columns, kw)
    wt = np.ascontiguousarray(w.transpose(2, 3, 0, 1))  # (C, O, KH, KW)
    wide_flat, plane, wide = _wide_planes(take, n, o, oh, wp, x.dtype, columns)
    out = take(out_shape, x.dtype)
    correlate = correlation_for(kh, kw, o, (xf, 0, 0, 0, wt.reshape(-1), wide_flat, 0, 0, 0))
    epilogue_bias = bias if bias is not None else np.empty(0, x.dtype)  # empty: no bias

    def images(start, stop):
        padded_nchw(x, nhwc, pt, pl, xp, start, stop)
        correlate(xf, c, hp, wp, wt.reshape(-1), wide_flat, plane, start, stop)
        narrow(wide, ow, nhwc, epilogue_bias, relu, out, start, stop)

    over_images(images, n, xp.size)
    return out


def backprop_filter(take, x, dy, nhwc, pads, f_shape):
    """Conv2DBackpropFilter (stride 1): the HWIO filter gradient."""
    (pt, pb), (pl, pr) = pads
    kh, kw, c, o = f_shape
    n, h, wd = (x.shape[0], x.shape[1], x.shape[2]) if nhwc else (x.shape[0], x.shape[2], x.shape[3])
    xp = take((n, c, h + pt + pb, wd + pl + pr), x.dtype)
    oh = xp.shape[2] - kh + 1
    dyw = take((n, o, oh, xp.shape[3]), x.dtype)
    pieces = image_pieces(n, xp.size)
    dw = take(tuple(f_shape), x.dtype)
    sums = dw[None] if pieces == 1 else take((pieces, *f_shape), x.dtype)  # one per piece of images, added last
    tap_gradients = compiled_for(kernels_for(kh, kw, output_block(o, GRADIENT_BLOCK)).tap_gradients, (xp, dyw, sums[0], 0, 0))

    def images(start, stop):
        padded_nchw(x, nhwc, pt, pl, xp, start, stop)
        widen(dy, nhwc, 0, 0, dyw, start, stop)
        total = sums[split_piece(start, n, pieces)]
        total.fill(0)
        tap_gradients(xp, dyw, total, start, stop)

    over_images(images, n, xp.size)
    if pieces > 1:
        np.sum(sums, axis=0, out=dw)
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
    columns = tile_columns(w.dtype.itemsize)
    dyf, dyp = _padded_planes(take, n, o, hq, wq, w.dtype, columns, kw)
    flipped = np.ascontiguousarray(w[::-1, ::-1].transpose(3, 2, 0, 1)).reshape(-1)  # (O, C, KH, KW)
    wide_flat, plane, wide = _wide_planes(take, n, c, hq - kh + 1, wq, w.dtype, columns)
    dx = take(tuple(in_shape), w.dtype)
    correlate = correlation_for(kh, kw, c, (dyf, 0, 0, 0, flipped, wide_flat, 0, 0, 0))

    def images(start, stop):
        widen(dy, nhwc, kw - 1, kh - 1, dyp, start, stop)
        correlate(dyf, o, hq, wq, flipped, wide_flat, plane, start, stop)
        crop(wide, pt, pl, h, wd, nhwc, dx, start, stop)

    over_images(images, n, dyp.size)
    return dx


def image_pieces(n, size) -> int:
    """Into how many runs of images a batch of ``n`` (``size`` elements) is split: one per kernel thread when large."""
    return min(_threads(), n) if n > 1 and size >= PARALLEL_MIN_ELEMENTS and _threads() > 1 else 1


def over_images(images, n, size):
    """``images(start, stop)`` over the batch: in one call, or one call per kernel thread when the work is large."""
    if image_pieces(n, size) > 1:
        run_split(images, n)
    else:
        images(0, n)
