"""Direct stride-1 NHWC Conv2D vectorized along the output-channel axis, for few filter taps.

When the output has a vector's worth of channels (LeNet's conv2: 5x5x6 -> 16), one output pixel
is ``out[n, i, j, :] = sum over (a, b, c) of x[n, i + a, j + b, c] * w[a, b, c, :]``: every tap is
a broadcast input scalar times a contiguous filter row. A few neighbouring pixels of an output row
are one ``fma_tile`` (their sums stay in registers; each filter row loaded feeds every pixel), every
tap unrolled; the columns past the last whole group of pixels take a one-pixel tile. No window
matrix is built, unlike im2col + BLAS, whose copy costs more than its small matmul here.

LeNet's conv2 forward (64x14x14x6 input, 5x5x6x16 filter, float32, one thread, interleaved runs):
0.29 ms in tiles of 5 pixels, 0.83 ms for one pixel a loop left to LLVM's vectorizer, 0.78 ms
for im2col + BLAS.
"""

from __future__ import annotations

import numpy as np
from graphdl.backends.numba_cpu.kernel_cache import compiled_for, load_generated_module, vector_width_comment
from graphdl.backends.numba_cpu.kernels.conv_direct import add_bias_activation, image_pieces, over_images
from graphdl.backends.numba_cpu.kernels.fma_tile import balanced_runs
from graphdl.backends.numba_cpu.kernels.reductions import split_piece

# Beyond these the unrolled tiles grow large and im2col + BLAS catches up (more channels, bigger filters).
MAX_TAPS = 160

_HEADER = (
    "from numba import njit\n"
    "from graphdl.backends.numba_cpu.kernels.fma_tile import fma_tile\n"
    "_FLAGS = {'cache': True, 'nogil': True, 'error_model': 'numpy', 'boundscheck': False}\n"
    "\n"
)


def usable(strides, dilations, kh, kw, channels_in, channels_out) -> bool:
    """Whether the forward kernel applies (stride 1, no dilation, output channels a multiple of 8 up to 32, few taps)."""
    return (tuple(strides) == (1, 1) and tuple(dilations) == (1, 1) and channels_out % 8 == 0
            and 8 <= channels_out <= 32 and kh * kw * channels_in <= MAX_TAPS)


def pixels_per_tile(ow: int, o: int) -> int:
    """Output pixels a tile computes: about 96 accumulated values (6 vectors of 16 float32), a divisor of the
    row width ``ow`` when one is close, so that no column is left for the one-pixel tile."""
    most = max(2, 96 // o)
    for pixels in range(most, max(1, most // 2) - 1, -1):
        if ow % pixels == 0:
            return pixels
    return most


def _forward_source(kh: int, kw: int, c: int, o: int, pixels: int) -> str:
    taps = [(a, b * c + ch) for a in range(kh) for b in range(kw) for ch in range(c)]
    weights = [(0, t * o) for t in range(len(taps))]
    return (
        f"_pixels = fma_tile({tuple((0, p * c) for p in range(pixels))}, {tuple((0, p * o) for p in range(pixels))},\n"
        f"                   {tuple(taps)}, {tuple(weights)}, {o}, False)\n"
        f"_pixel = fma_tile(((0, 0),), ((0, 0),), {tuple(taps)}, {tuple(weights)}, {o}, False)\n\n\n"
        "@njit(**_FLAGS)\n"
        "def forward(xp, w, out, start, stop):\n"
        '    """out[n, i, j, :] = sum over taps of xp[n, i + a, j + b, c] * w[a, b, c, :], images start..stop; tiles of\n'
        f'    {pixels} pixels along each output row."""\n'
        "    h, wd = xp.shape[1], xp.shape[2]\n"
        "    oh, ow = out.shape[1], out.shape[2]\n"
        "    xf, wf, of = xp.reshape(-1), w.reshape(-1), out.reshape(-1)\n"
        f"    row = wd * {c}\n"
        f"    whole = ow - ow % {pixels}\n"
        "    for n in range(start, stop):\n"
        "        for i in range(oh):\n"
        "            x0 = (n * h + i) * row\n"
        f"            o0 = (n * oh + i) * ow * {o}\n"
        f"            for j in range(0, whole, {pixels}):\n"
        f"                _pixels(xf, x0 + j * {c}, row, wf, 0, 0, of, o0 + j * {o}, 0)\n"
        "            for j in range(whole, ow):\n"
        f"                _pixel(xf, x0 + j * {c}, row, wf, 0, 0, of, o0 + j * {o}, 0)\n\n\n"
    )


def _segment(ow: int) -> int:
    """Pixels of an output row one filter-gradient tile sums: a divisor of ``ow`` from 4 to 16, else up to 16."""
    for pixels in range(min(ow, 16), 3, -1):
        if ow % pixels == 0:
            return pixels
    return min(ow, 16)


def _filter_gradient_source(kh: int, kw: int, c: int, o: int, segment: int, tail: int) -> str:
    taps = [(a, b * c + ch) for a in range(kh) for b in range(kw) for ch in range(c)]
    # every tap of a block is one row of accumulators, kept in registers: about 24 vectors of float32
    blocks = balanced_runs(len(taps), min(24, max(4, 384 // o)))
    lines = []
    for name, steps in (("_seg", segment), ("_tail", tail)):
        if not steps:
            continue
        for k, (t0, t1) in enumerate(blocks):
            lines.append(f"{name}{k} = fma_tile({tuple(taps[t0:t1])}, {tuple((0, t * o) for t in range(t0, t1))},\n"
                         f"    {tuple((0, j * c) for j in range(steps))}, {tuple((0, j * o) for j in range(steps))}, {o}, True)")

    def calls(name, first, indent):
        return "\n".join(f"{indent}{name}{k}(xf, x0 + {first} * {c}, row, df, d0 + {first} * {o}, 0, wf, 0, 0)"
                         for k in range(len(blocks)))

    body = [
        "\n\n@njit(**_FLAGS)",
        "def backprop_filter(xp, dy, dw, start, stop):",
        '    """dw[a, b, c, :] += sum over images start..stop and pixels (i, j) of xp[n, i + a, j + b, c] * dy[n, i, j, :]."""',
        "    h, wd = xp.shape[1], xp.shape[2]",
        "    oh, ow = dy.shape[1], dy.shape[2]",
        "    xf, df, wf = xp.reshape(-1), dy.reshape(-1), dw.reshape(-1)",
        f"    row = wd * {c}",
        "    for n in range(start, stop):",
        "        for i in range(oh):",
        "            x0 = (n * h + i) * row",
        f"            d0 = (n * oh + i) * ow * {o}",
        f"            for j in range(0, ow - {tail}, {segment}):",
        calls("_seg", "j", "                "),
    ]
    if tail:
        body.append(calls("_tail", f"(ow - {tail})", "            "))
    return "\n".join(lines + body) + "\n\n"


_modules: dict = {}


def _generated(name: str, key: tuple, source):
    """The generated kernel ``name`` for ``key`` (``source()`` the first time), from the kernel cache."""
    module = _modules.get((name, key))
    if module is None:
        module = _modules[name, key] = load_generated_module(vector_width_comment() + _HEADER + source())
    return getattr(module, name)


def _forward_kernel(kh: int, kw: int, c: int, o: int, pixels: int, args):
    """The generated forward kernel for this filter and tile width, compiled for the types of ``args``."""
    return compiled_for(_generated("forward", (kh, kw, c, o, pixels), lambda: _forward_source(kh, kw, c, o, pixels)),
                        args, widen=False)


def _filter_gradient_kernel(kh: int, kw: int, c: int, o: int, ow: int, args):
    """The generated filter-gradient kernel for this filter and output width, compiled for the types of ``args``."""
    segment = _segment(ow)
    key = (kh, kw, c, o, segment, ow % segment)
    kernel = _generated("backprop_filter", key, lambda: _filter_gradient_source(kh, kw, c, o, segment, ow % segment))
    return compiled_for(kernel, args, widen=False)


def _padded_nhwc(take, x, nhwc, pads):
    """``x`` as a C-contiguous NHWC array with the zero padding ``pads`` around it (``x`` itself when it already is)."""
    xn = x if nhwc else x.transpose(0, 2, 3, 1)
    (pt, pb), (pl, pr) = pads
    if pt == pb == pl == pr == 0 and xn.flags.c_contiguous:
        return xn
    n, h, w, c = xn.shape
    xp = take((n, h + pt + pb, w + pl + pr, c), x.dtype)
    if pt or pb or pl or pr:
        xp.fill(0)
    xp[:, pt:pt + h, pl:pl + w] = xn
    return xp


def forward(take, x, w, nhwc, pads, out_shape, bias=None, relu=False):
    """Conv2D (stride 1) of ``x`` with HWIO ``w``, into a pooled array of ``out_shape`` (x's layout); plus ``bias``
    on the channel axis, then ``max(., 0)`` when ``relu`` (a fused convolution), on each run of images while it is
    in cache."""
    kh, kw, c, o = w.shape
    xp = _padded_nhwc(take, x, nhwc, pads)
    n, oh, ow = xp.shape[0], xp.shape[1] - kh + 1, xp.shape[2] - kw + 1
    out = take((n, oh, ow, o), x.dtype)
    wc = np.ascontiguousarray(w)
    kernel = _forward_kernel(kh, kw, c, o, pixels_per_tile(ow, o), (xp, wc, out, 0, 0))
    def images(start, stop):
        kernel(xp, wc, out, start, stop)
        if bias is not None:
            add_bias_activation(out[start:stop].reshape(-1, o), bias, relu)

    over_images(images, n, out.size * kh * kw * c)
    if nhwc:
        return out
    result = take(tuple(out_shape), x.dtype)
    np.copyto(result, out.transpose(0, 3, 1, 2))
    return result


def backprop_filter(take, x, dy, nhwc, pads, f_shape):
    """Conv2DBackpropFilter (stride 1): the HWIO filter gradient, summed in register tiles of taps by output channels."""
    kh, kw, c, o = f_shape
    xp = _padded_nhwc(take, x, nhwc, pads)
    dyn = _padded_nhwc(take, dy, nhwc, ((0, 0), (0, 0)))  # C-contiguous NHWC
    n, ow = dyn.shape[0], dyn.shape[2]
    pieces = image_pieces(n, dyn.size * kh * kw * c)
    dw = take(tuple(f_shape), x.dtype)
    sums = dw[None] if pieces == 1 else take((pieces, *f_shape), x.dtype)  # one per piece of images, added last
    kernel = _filter_gradient_kernel(kh, kw, c, o, ow, (xp, dyn, sums[0], 0, 0))

    def images(start, stop):
        total = sums[split_piece(start, n, pieces)]
        total.fill(0)
        kernel(xp, dyn, total, start, stop)

    over_images(images, n, dyn.size * kh * kw * c)
    if pieces > 1:
        np.sum(sums, axis=0, out=dw)
    return dw
