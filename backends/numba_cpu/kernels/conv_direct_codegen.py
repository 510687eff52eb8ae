"""Generated direct-convolution loops with every filter tap unrolled, specialized to the filter size.

A loop per filter tap would stream the output plane once per tap (75 read-modify-write passes
for LeNet's 5x5x3 filter). The generated ``wide_correlation`` reads each input plane
once per block of output channels: one loop over the plane computes, for every position, all
``KH * KW`` taps of a block of output channels, so the loads of the shifted input are shared
by the block and each output element is stored once per input channel. The filter gradient's
generated ``tap_gradients`` accumulates one row of taps for a block of output channels per pass
(``KW * block`` vector sums, kept in registers): each load of the shifted input or of the output
gradient then feeds several multiply-adds, where one pass over every tap of a single channel pair
loaded as often as it multiplied (LeNet conv1's filter gradient, 64 images, one thread: 0.64 ms
against 1.2 ms, interleaved runs; both compiled for the host's widest vectors).
"""

from __future__ import annotations

from graphdl.backends.numba_cpu.kernel_cache import load_generated_module, vector_width_comment

# Output channels per pass: each is a store stream the vectorizer must prove apart from the input
# (runtime alias checks); past 3 LLVM gives up and the loop runs scalar (LeNet conv1, 6 outputs a pass:
# 7.1 ms against 1.2 ms for 1, 2 or 3 a pass).
_MAX_BLOCK = 3
# The filter gradient keeps ``block * KW`` sums in vector registers (one row of taps for a block of
# outputs); with 4 outputs and 5 columns that is 20 accumulators plus 9 loads, within AVX-512's 32 registers.
GRADIENT_BLOCK = 4
_HEADER = (
    "from numba import njit\n"
    "_FLAGS = {'cache': True, 'nogil': True, 'error_model': 'numpy', 'boundscheck': False}\n"
    "_SUM_FLAGS = {**_FLAGS, 'fastmath': {'reassoc', 'contract', 'nsz', 'arcp'}}\n\n"
)
_modules: dict = {}


def output_block(channels: int, most: int = _MAX_BLOCK) -> int:
    """Output channels computed per pass: the largest divisor of ``channels`` up to ``most``."""
    return max(d for d in range(1, most + 1) if channels % d == 0)


def _correlation_source(kh: int, kw: int, block: int) -> str:
    taps = [(a, b) for a in range(kh) for b in range(kw)]
    lines = [
        "@njit(**_FLAGS)",
        "def wide_correlation(xp, w, out, start, stop):",
        '    """out[n, o] (wide rows, zeroed here) = VALID stride-1 correlation of xp[n] with w[o], n in start..stop."""',
        "    c_, hp, wp = xp.shape[1], xp.shape[2], xp.shape[3]",
        "    o_ = w.shape[0]",
        f"    plane = (hp - {kh - 1}) * wp",
        f"    span = plane - {kw - 1}",
        "    for n in range(start, stop):",
        "        for o in range(o_):",
        "            out[n, o] = 0",
        f"        for o0 in range(0, o_, {block}):",
    ]
    for k in range(block):
        lines.append(f"            d{k} = out[n, o0 + {k}].reshape(-1)")
    lines.append("            for c in range(c_):")
    lines.append("                xf = xp[n, c].reshape(-1)")
    for k in range(block):
        for a, b in taps:
            lines.append(f"                w{k}_{a}_{b} = w[o0 + {k}, c, {a}, {b}]")
    for a, b in taps:  # slices: a range index into them needs no negative-index handling, so LLVM vectorizes
        lines.append(f"                s{a}_{b} = xf[{a} * wp + {b}:{a} * wp + {b} + span]")
    lines.append("                for p in range(span):")
    for a, b in taps:
        lines.append(f"                    x{a}_{b} = s{a}_{b}[p]")
    for k in range(block):
        terms = " + ".join(f"w{k}_{a}_{b} * x{a}_{b}" for a, b in taps)
        lines.append(f"                    d{k}[p] += {terms}")
    return "\n".join(lines) + "\n\n"


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
    """The generated module for a ``kh`` x ``kw`` filter and ``block`` output channels a pass: ``wide_correlation``,
    ``tap_gradients``."""
    key = (kh, kw, block)
    module = _modules.get(key)
    if module is None:
        source = vector_width_comment() + _HEADER + _correlation_source(kh, kw, block) + _gradient_source(kh, kw, block)
        module = _modules[key] = load_generated_module(source)
    return module

