"""ONNX Conv and ConvTranspose (1-D and 2-D, groups, dilations, explicit/auto pads) as graphdl's NCHW
Conv2D / Conv2DBackpropInput; 1-D convolutions run as 2-D ones over a height of 1."""

from __future__ import annotations

import math

import graphdl
from graphdl import nn

from .registry import converter, rank_of


def conv_pads(node, in_sizes, kernel, strides, dilations, transpose=False, out_sizes=None):
    """Explicit [(begin, end), ...] pads per spatial dim from ``pads`` or ``auto_pad`` (SAME_UPPER/LOWER, VALID)."""
    n = len(kernel)
    auto_pad = node.attr("auto_pad", "NOTSET")
    if auto_pad in ("NOTSET", ""):
        pads = node.attr("pads") or [0] * (2 * n)
        return [(int(pads[i]), int(pads[i + n])) for i in range(n)]
    if auto_pad == "VALID":
        return [(0, 0)] * n
    if auto_pad not in ("SAME_UPPER", "SAME_LOWER"):
        raise node.unsupported(f"auto_pad '{auto_pad}'")
    if any(d is None for d in in_sizes):
        raise node.unsupported(f"auto_pad {auto_pad} needs static spatial dims")
    result = []
    for i in range(n):
        dk = (kernel[i] - 1) * dilations[i] + 1
        if transpose:
            out = out_sizes[i] if out_sizes else in_sizes[i] * strides[i]
            total = max(0, strides[i] * (in_sizes[i] - 1) + dk - out + _output_padding(node, n)[i])
        else:
            out = math.ceil(in_sizes[i] / strides[i])
            total = max(0, (out - 1) * strides[i] + dk - in_sizes[i])
        small, large = total // 2, total - total // 2
        result.append((small, large) if auto_pad == "SAME_UPPER" else (large, small))
    return result


def _output_padding(node, n):
    return [int(v) for v in (node.attr("output_padding") or [0] * n)]


def _spatial(node, x, w):
    rank = rank_of(x, node)
    if rank not in (3, 4):
        raise node.unsupported(f"{node.op_type} over {rank - 2} spatial dims (graphdl convolves 1-D and 2-D inputs)")
    n = rank - 2
    kernel = [int(k) for k in (node.attr("kernel_shape") or w.shape.as_list()[2:])]
    strides = [int(s) for s in (node.attr("strides") or [1] * n)]
    dilations = [int(d) for d in (node.attr("dilations") or [1] * n)]
    return n, kernel, strides, dilations


def _to_2d(n, x, w, kernel, strides, dilations, pads):
    """1-D convs as 2-D ones with a height of 1."""
    if n == 2:
        return x, w, kernel, strides, dilations, pads
    return (graphdl.expand_dims(x, 2), graphdl.expand_dims(w, 2), [1, *kernel], [1, *strides], [1, *dilations],
            [(0, 0), *pads])


def _bias(node, y):
    if not node.has_input(2):
        return y
    b = node.input(2)
    return y + graphdl.reshape(b, [1, -1] + [1] * (rank_of(y, node) - 2))


def _split_groups(node, x, w, group, w_axis=0):
    if group == 1:
        return [x], [w]
    return graphdl.split(x, group, axis=1), graphdl.split(w, group, axis=w_axis)


@converter("Conv")
def conv(node):
    """Conv: X (N, C, *spatial), W (M, C/group, *kernel), optional bias B (M)."""
    x, w = node.input(0), node.input(1)
    n, kernel, strides, dilations = _spatial(node, x, w)
    pads = conv_pads(node, x.shape.as_tuple()[2:], kernel, strides, dilations)
    x, w, kernel, strides, dilations, pads = _to_2d(n, x, w, kernel, strides, dilations, pads)
    group = int(node.attr("group", 1))
    outs = []
    for xg, wg in zip(*_split_groups(node, x, w, group)):
        filt = graphdl.transpose(wg, [2, 3, 1, 0])  # OIHW -> HWIO
        outs.append(nn.conv2d(xg, filt, strides=[1, 1, *strides], padding=[[0, 0], [0, 0], *map(list, pads)],
                              data_format="NCHW", dilations=[1, 1, *dilations]))
    y = outs[0] if group == 1 else graphdl.concat(outs, 1)
    if n == 1:
        y = graphdl.squeeze(y, [2])
    return _bias(node, y)


@converter("ConvTranspose")
def conv_transpose(node):
    """ConvTranspose: X (N, C, *spatial), W (C, M/group, *kernel); output size from ``output_shape`` or
    stride * (in - 1) + output_padding + dilated kernel - pads."""
    x, w = node.input(0), node.input(1)
    n, kernel, strides, dilations = _spatial(node, x, w)
    in_sizes = x.shape.as_tuple()[2:]
    if any(d is None for d in in_sizes):
        raise node.unsupported("ConvTranspose needs static spatial input dims")
    output_shape = node.attr("output_shape")
    output_shape = [int(v) for v in output_shape[-n:]] if output_shape else None
    out_pad = _output_padding(node, n)
    if output_shape is not None and node.attr("auto_pad", "NOTSET") in ("NOTSET", ""):
        pads = []
        for i in range(n):
            total = strides[i] * (in_sizes[i] - 1) + out_pad[i] + (kernel[i] - 1) * dilations[i] + 1 - output_shape[i]
            pads.append((total - total // 2, total // 2))
    else:
        pads = conv_pads(node, in_sizes, kernel, strides, dilations, transpose=True, out_sizes=output_shape)
    sizes = [strides[i] * (in_sizes[i] - 1) + out_pad[i] + (kernel[i] - 1) * dilations[i] + 1 - sum(pads[i])
             for i in range(n)]
    # A negative pad (an output_shape beyond the full result) adds zeros: no input reaches those positions.
    grow = [(max(0, -b), max(0, -e)) for b, e in pads]
    pads = [(max(0, b), max(0, e)) for b, e in pads]
    sizes = [s - b - e for s, (b, e) in zip(sizes, grow)]
    x, w, kernel, strides, dilations, pads = _to_2d(n, x, w, kernel, strides, dilations, pads)
    sizes = sizes if n == 2 else [1, *sizes]
    group = int(node.attr("group", 1))
    batch = graphdl.shape(x)[0]
    outs = []
    for xg, wg in zip(*_split_groups(node, x, w, group)):
        filt = graphdl.transpose(wg, [2, 3, 1, 0])  # (C, M/g, kh, kw) -> (kh, kw, M/g, C): HWIO of the forward conv
        m = wg.shape.as_tuple()[1]
        input_sizes = graphdl.stack([batch, m, *sizes])
        outs.append(nn.conv2d_backprop_input(input_sizes, filt, xg, strides=[1, 1, *strides],
                                             padding=[[0, 0], [0, 0], *map(list, pads)], data_format="NCHW",
                                             dilations=[1, 1, *dilations]))
    y = outs[0] if group == 1 else graphdl.concat(outs, 1)
    if n == 1:
        y = graphdl.squeeze(y, [2])
    if any(b or e for b, e in grow):
        y = graphdl.pad(y, [[0, 0], [0, 0], *map(list, grow)])
    return _bias(node, y)
