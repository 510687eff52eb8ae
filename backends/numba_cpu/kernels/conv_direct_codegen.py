"""Generated direct-convolution loops with every filter tap unrolled, specialized to the filter size.

``tile_correlation`` computes a wide VALID correlation (the forward pass and the input gradient of
``conv_direct.py``) in ``fma_tile`` register tiles: a tile holds a block of output channels times two
vectors of consecutive wide-plane positions, and each filter tap loads the two shifted input vectors
once for every channel of the block, so the sums never leave registers while one input channel's
taps are added (LeNet's conv1 forward, 64 images, two threads: 0.54 ms with the layout copies, against
~1.9 ms for one vectorized loop per pass over three output channels, which LLVM kept on the stack).

The filter gradient's generated ``tap_gradients`` accumulates one row of taps for a block of output
channels per pass (``KW * block`` vector sums, kept in registers): each load of the shifted input or
of the output gradient then feeds several multiply-adds, where one pass over every tap of a single
channel pair loaded as often as it multiplied (LeNet conv1's filter gradient, 64 images, one thread:
0.64 ms against 1.2 ms, interleaved runs; both compiled for the host's widest vectors).
"""

from __future__ import annotations

from graphdl.backends.numba_cpu.kernel_cache import compiled_for, load_generated_module, vector_width_comment
from graphdl.backends.numba_cpu.kernels.fma_tile import balanced_runs, vector_lanes

# The filter gradient keeps ``block * KW`` sums in vector registers (one row of taps for a block of
# outputs); with 4 outputs and 5 columns that is 20 accumulators plus 9 loads, within AVX-512's 32 registers.
GRADIENT_BLOCK = 4
_HEADER = (
    "from numba import njit\n"
    "_FLAGS = {'cache': True, 'nogil': True, 'error_model': 'numpy', 'boundscheck': False}\n"
    "_SUM_FLAGS = {**_FLAGS, 'fastmath': {'reassoc', 'contract', 'nsz', 'arcp'}}\n\n"
)
_modules: dict = {}


def output_block(channels: int, most: int) -> int:
    """Output channels computed per pass: the largest divisor of ``channels`` up to ``most``."""
    return max(d for d in range(1, most + 1) if channels % d == 0)


def _gradient_source(kh: int, kw: int, block: int) -> str:
    lines = [
        "@njit(**_SUM_FLAGS)",
        "def tap_gradients(xp, dyw, dw, start, stop):",
        '    """dw[a, b, c, o] += sum over n in start..stop and p of dyw[n, o, p] * xp[n, c, a * Wp + b + p]."""',
        "    c_, hp, wp = xp.shape[1], xp.shape[2], xp.shape[3]",
        "    o_ = dyw.shape[1]",
        f"    span = (hp - {kh - 1}) * wp - {kw - 1}",
        "    zero = dw.dtype.type(0)",
        "    for n in range(start, stop):",
        "        for c in range(c_):",
        "            xf = xp[n, c].reshape(-1)",
        f"            for o0 in range(0, o_, {block}):",
    ]
    lines += [f"                g{k} = dyw[n, o0 + {k}].reshape(-1)[:span]" for k in range(block)]
    lines.append(f"                for a in range({kh}):")
    lines += [f"                    s{b} = xf[a * wp + {b}:a * wp + {b} + span]" for b in range(kw)]
    lines += [f"                    t{k}_{b} = zero" for k in range(block) for b in range(kw)]
    lines.append("                    for p in range(span):")
    lines += [f"                        x{b} = s{b}[p]" for b in range(kw)]
    lines += [f"                        y{k} = g{k}[p]" for k in range(block)]
    lines += [f"                        t{k}_{b} += y{k} * x{b}" for k in range(block) for b in range(kw)]
    lines += [f"                    dw[a, {b}, c, o0 + {k}] += t{k}_{b}" for k in range(block) for b in range(kw)]
    return "\n".join(lines) + "\n"


def kernels_for(kh: int, kw: int, block: int):
    """The generated module for a ``kh`` x ``kw`` filter and ``block`` output channels a pass: ``tap_gradients``."""
    key = (kh, kw, block)
    module = _modules.get(key)
    if module is None:
        source = vector_width_comment() + _HEADER + _gradient_source(kh, kw, block)
        module = _modules[key] = load_generated_module(source)
    return module



# Output channels of one correlation tile (rows of accumulators) and vectors of wide-plane positions per row: 6 x 2
# vectors are 12 sums in registers; each pair of shifted-input vectors loaded feeds 12 multiply-adds.
_TILE_CHANNELS = 6
_TILE_VECTORS = 2
_TILE_HEADER = (
    "from numba import njit\n"
    "from graphdl.backends.numba_cpu.kernels.fma_tile import fma_tile\n"
    "_FLAGS = {'cache': True, 'nogil': True, 'error_model': 'numpy', 'boundscheck': False}\n\n"
)


def tile_columns(itemsize: int) -> int:
    """Wide-plane positions one correlation tile computes per output channel (a multiple of the vector width)."""
    return _TILE_VECTORS * vector_lanes(itemsize)


def _channel_blocks(channels: int) -> list:
    """``[(first, count)]``: the output channels cut into the fewest nearly equal tiles of at most ``_TILE_CHANNELS``."""
    return [(a, b - a) for a, b in balanced_runs(channels, _TILE_CHANNELS)]


def _tile_correlation_source(kh: int, kw: int, o: int, columns: int) -> str:
    steps_w = tuple((a, b) for a in range(kh) for b in range(kw))  # shifted input: row a of the plane, column b
    steps_x = tuple((0, a * kw + b) for a in range(kh) for b in range(kw))  # the tap's weight
    blocks = _channel_blocks(o)
    lines = []
    for rows in sorted({count for _, count in blocks}):
        for accumulate in (False, True):
            lines.append(f"_t{rows}_{int(accumulate)} = fma_tile({tuple((0, k * kh * kw) for k in range(rows))}, "
                         f"{tuple((k, 0) for k in range(rows))},\n    {steps_x}, {steps_w}, {columns}, {accumulate})")
    lines += [
        "\n\n@njit(**_FLAGS)",
        "def tile_correlation(xf, c_, hp, wp, wf, of, plane, start, stop):",
        f'    """Wide VALID stride-1 correlation: of[(n * {o} + k) * plane + p] = sum over c, a, b of',
        f"    wf[((c * {o} + k) * {kh} + a) * {kw} + b] * xf[((n * c_ + c) * hp + a) * wp + b + p], n in start..stop, p below",
        f'    ``plane`` (a multiple of {columns}); xf holds {columns + kw} readable elements past its last image."""',
        "    for n in range(start, stop):",
        f"        for p in range(0, plane, {columns}):",
    ]
    lines.append("            x0 = n * c_ * hp * wp + p")
    for first, rows in blocks:
        out = f"of, (n * {o} + {first}) * plane + p, plane"
        weights = f"wf, {first * kh * kw}"
        lines += [
            f"            _t{rows}_0({weights}, 0, xf, x0, wp, {out})",
            "            for c in range(1, c_):",
            f"                _t{rows}_1({weights} + c * {o * kh * kw}, 0, xf, x0 + c * hp * wp, wp, {out})",
        ]
    return "\n".join(lines) + "\n"


def correlation_for(kh: int, kw: int, o: int, args):
    """The generated ``tile_correlation`` for a ``kh`` x ``kw`` filter and ``o`` output channels, compiled for ``args``."""
    columns = tile_columns(args[0].dtype.itemsize)
    key = ("tile", kh, kw, o, columns)
    module = _modules.get(key)
    if module is None:
        source = vector_width_comment() + _TILE_HEADER + _tile_correlation_source(kh, kw, o, columns)
        module = _modules[key] = load_generated_module(source)
    return compiled_for(module.tile_correlation, args, widen=False)
