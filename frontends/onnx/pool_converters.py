"""ONNX MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool and LpPool as graphdl ops.

2-D undilated pools run as graphdl's NCHW MaxPool/AvgPool over an explicitly padded input;
1-D, 3-D and dilated pools take the window maximum/sum over strided slices of the padded input."""

from __future__ import annotations

import itertools
import math

import numpy as np

import graphdl
from graphdl import nn

from .conv_converters import conv_pads
from .registry import converter, rank_of


def _geometry(node, x):
    """Kernel, strides, dilations, per-dim (begin, end) pads incl. ceil_mode's extra end pad, and output sizes."""
    rank = rank_of(x, node)
    n = rank - 2
    kernel = [int(k) for k in node.attr("kernel_shape")]
    strides = [int(s) for s in (node.attr("strides") or [1] * n)]
    dilations = [int(d) for d in (node.attr("dilations") or [1] * n)]
    in_sizes = x.shape.as_tuple()[2:]
    pads = conv_pads(node, in_sizes, kernel, strides, dilations)
    ceil_mode = node.attr("ceil_mode", 0)
    extra, outs = [0] * n, [None] * n
    for i in range(n):
        if in_sizes[i] is None:
            if ceil_mode:
                raise node.unsupported("ceil_mode needs static spatial dims")
            continue
        dk = (kernel[i] - 1) * dilations[i] + 1
        span = in_sizes[i] + sum(pads[i]) - dk
        out = (math.ceil(span / strides[i]) if ceil_mode else span // strides[i]) + 1
        if ceil_mode and (out - 1) * strides[i] >= in_sizes[i] + pads[i][0]:
            out -= 1  # the last window must start inside the input or its begin padding
        outs[i] = out
        extra[i] = max(0, (out - 1) * strides[i] + dk - in_sizes[i] - sum(pads[i]))
    return kernel, strides, dilations, pads, extra, outs


def _window_slices(x, kernel, strides, dilations, outs):
    """One strided slice of the padded input per window offset (each has the output's shape)."""
    for offset in itertools.product(*[range(k) for k in kernel]):
        key = [slice(None), slice(None)]
        for i, o in enumerate(offset):
            start = o * dilations[i]
            key.append(slice(start, start + (outs[i] - 1) * strides[i] + 1, strides[i]))
        yield x[tuple(key)]


def _pad(x, pads, extra, value):
    pairs = [[0, 0], [0, 0]] + [[b, e + x_] for (b, e), x_ in zip(pads, extra)]
    if not any(v for p in pairs for v in p):
        return x
    return graphdl.pad(x, pairs, constant_values=np.asarray(value, dtype=x.dtype.np))


def _lowest(dtype):
    return -np.inf if dtype.is_floating else np.iinfo(dtype.np).min


def _native(node, x, dilations):
    return rank_of(x, node) == 4 and all(d == 1 for d in dilations)


@converter("MaxPool")
def max_pool(node):
    """MaxPool (no Indices output): pads/auto_pad, strides, dilations, ceil_mode; padding never wins the max."""
    if len(node.node.output) > 1 and node.node.output[1]:
        raise node.unsupported("MaxPool's Indices output")
    if node.attr("storage_order", 0):
        raise node.unsupported("MaxPool storage_order=1")
    x = node.input(0)
    kernel, strides, dilations, pads, extra, outs = _geometry(node, x)
    padded = _pad(x, pads, extra, _lowest(x.dtype))
    if _native(node, x, dilations):
        return nn.max_pool(padded, [1, 1, *kernel], [1, 1, *strides], "VALID", data_format="NCHW")
    _require_static(node, outs)
    windows = list(_window_slices(padded, kernel, strides, dilations, outs))
    out = windows[0]
    for w in windows[1:]:
        out = graphdl.maximum(out, w)
    return out


def _require_static(node, outs):
    if any(o is None for o in outs):
        raise node.unsupported("this pooling needs static spatial dims")


def _divisor(node, x, kernel, strides, dilations, pads, extra, outs, include_pad):
    """How many elements each window averages: the window size, less padding (unless counted) and ceil overhang."""
    if not any(extra) and (include_pad or not any(v for p in pads for v in p)):
        return float(np.prod(kernel))
    _require_static(node, outs)
    in_sizes = x.shape.as_tuple()[2:]
    mask = np.ones(in_sizes)
    mask = np.pad(mask, [(b, e) for b, e in pads], constant_values=1.0 if include_pad else 0.0)
    mask = np.pad(mask, [(0, e) for e in extra])
    total = np.zeros(outs)
    for offset in itertools.product(*[range(k) for k in kernel]):
        key = tuple(slice(o * d, o * d + (n - 1) * s + 1, s) for o, d, n, s in zip(offset, dilations, outs, strides))
        total += mask[key]
    return total


@converter("AveragePool")
def average_pool(node):
    """AveragePool: pads/auto_pad, strides, dilations, ceil_mode and count_include_pad."""
    x = node.input(0)
    kernel, strides, dilations, pads, extra, outs = _geometry(node, x)
    include_pad = bool(node.attr("count_include_pad", 0))
    auto_pad = node.attr("auto_pad", "NOTSET")
    if auto_pad == "SAME_UPPER" and not include_pad and _native(node, x, dilations) and not any(extra):
        return nn.avg_pool(x, [1, 1, *kernel], [1, 1, *strides], "SAME", data_format="NCHW")
    padded = _pad(x, pads, extra, 0)
    if _native(node, x, dilations):
        total = nn.avg_pool(padded, [1, 1, *kernel], [1, 1, *strides], "VALID", data_format="NCHW")
        total = total * np.asarray(np.prod(kernel), dtype=x.dtype.np)
    else:
        _require_static(node, outs)
        windows = list(_window_slices(padded, kernel, strides, dilations, outs))
        total = graphdl.add_n(windows) if len(windows) > 1 else windows[0]
    divisor = _divisor(node, x, kernel, strides, dilations, pads, extra, outs, include_pad)
    return total / np.asarray(divisor, dtype=x.dtype.np)


@converter("LpPool")
def lp_pool(node):
    """LpPool: (sum over the window of |x|^p)^(1/p), zero padding."""
    x = node.input(0)
    p = float(node.attr("p", 2))
    kernel, strides, dilations, pads, extra, outs = _geometry(node, x)
    _require_static(node, outs)
    padded = _pad(graphdl.pow(graphdl.abs(x), np.asarray(p, x.dtype.np)), pads, extra, 0)
    total = graphdl.add_n(list(_window_slices(padded, kernel, strides, dilations, outs)))
    return graphdl.pow(total, np.asarray(1.0 / p, x.dtype.np))


@converter("GlobalAveragePool", "GlobalMaxPool")
def global_pool(node):
    x = node.input(0)
    axes = list(range(2, rank_of(x, node)))
    fn = graphdl.reduce_mean if node.op_type == "GlobalAveragePool" else graphdl.reduce_max
    return fn(x, axis=axes, keepdims=True)
