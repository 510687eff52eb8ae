"""Generated direct-convolution loops with every filter tap unrolled, specialized to the filter size.

A loop per filter tap would stream the output plane once per tap (75 read-modify-write passes
for LeNet's 5x5x3 filter). The generated ``wide_correlation`` reads each input plane
once per block of output channels: one loop over the plane computes, for every position, all
``KH * KW`` taps of a block of output channels, so the loads of the shifted input are shared
by the block and each output element is stored once per input channel. The filter gradient's
generated ``tap_gradients`` likewise accumulates every tap of one (input, output) channel pair
in one pass (one vector reduction per tap).
"""

from __future__ import annotations

from graphdl.backends.numba_cpu.kernel_cache import load_generated_module

# Output channels per pass: each is a store stream the vectorizer must prove apart from the input
# (runtime alias checks); past 3 LLVM gives up and the loop runs scalar (LeNet conv1, 6 outputs a pass:
# 7.1 ms against 1.2 ms for 1, 2 or 3 a pass).
_MAX_BLOCK = 3
_HEADER = (
    "from numba import njit\n"
    "_FLAGS = {'cache': True, 'nogil': True, 'error_model': 'numpy', 'boundscheck': False}\n"
    "_SUM_FLAGS = {**_FLAGS, 'fastmath': {'reassoc', 'contract', 'nsz', 'arcp'}}\n\n"
)
_modules: dict = {}


def output_block(channels: int) -> int:
    """Output channels computed per pass: the largest divisor of ``channels`` up to ``_MAX_BLOCK``."""
    return max(d for d in range(1, _MAX_BLOCK + 1) if channels % d == 0)


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


def _gradient_source(kh: int, kw: int) -> str:
    taps = [(a, b) for a in range(kh) for b in range(kw)]
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
    ]
    for a, b in taps:
        lines.append(f"            s{a}_{b} = xf[{a} * wp + {b}:{a} * wp + {b} + span]")
    lines.append("            for o in range(o_):")
    lines.append("                g = dyw[n, o].reshape(-1)[:span]")
    for a, b in taps:
        lines.append(f"                t{a}_{b} = zero")
    lines.append("                for p in range(span):")
    lines.append("                    gp = g[p]")
    for a, b in taps:
        lines.append(f"                    t{a}_{b} += gp * s{a}_{b}[p]")
    for a, b in taps:
        lines.append(f"                dw[{a}, {b}, c, o] += t{a}_{b}")
    return "\n".join(lines) + "\n"


def kernels_for(kh: int, kw: int, block: int):
    """The generated module for a ``kh`` x ``kw`` filter: ``wide_correlation`` (``block`` outputs a pass), ``tap_gradients``."""
    key = (kh, kw, block)
    module = _modules.get(key)
    if module is None:
        source = _HEADER + _correlation_source(kh, kw, block) + _gradient_source(kh, kw)
        module = _modules[key] = load_generated_module(source)
    return module
