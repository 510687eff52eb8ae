"""ONNX normalization ops (BatchNormalization in inference mode, LRN, InstanceNormalization,
LayerNormalization, LpNormalization, MeanVarianceNormalization) and Resize/Upsample as graphdl ops."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper

import graphdl
from graphdl import nn
from graphdl.framework.constant_value import constant_value_as_shape
from graphdl.ops.check_ops import assert_equal

from .registry import converter, normalize_axis, rank_of


def _per_channel(t, rank):
    """A (C,) parameter reshaped to broadcast along dim 1 of a rank-``rank`` NC... tensor."""
    return graphdl.reshape(t, [1, -1] + [1] * (rank - 2)) if rank > 2 else t


@converter("BatchNormalization")
def batch_normalization(node):
    """Inference-mode BatchNormalization: scale * (x - mean) / sqrt(var + epsilon) + B along dim 1."""
    if node.attr("training_mode", 0) or (node.opset < 14 and len([o for o in node.node.output if o]) > 1):
        raise node.unsupported("BatchNormalization in training mode (graphdl imports inference graphs)")
    x = node.input(0)
    rank = rank_of(x, node)
    scale, bias, mean, var = (_per_channel(node.input(i), rank) for i in range(1, 5))
    eps = np.asarray(node.attr("epsilon", 1e-5), dtype=x.dtype.np)
    return (x - mean) * (scale * graphdl.rsqrt(var + eps)) + bias


@converter("LRN")
def lrn(node):
    """LRN across channels: x / (bias + alpha / size * sum of squares over the window)^beta; odd ``size`` maps to
    graphdl's LRN (NHWC) with depth_radius (size - 1) / 2, even sizes sum shifted slices (ONNX's window is
    asymmetric then)."""
    x = node.input(0)
    size = int(node.attr("size"))
    alpha, beta, bias = node.attr("alpha", 1e-4), node.attr("beta", 0.75), node.attr("bias", 1.0)
    rank = rank_of(x, node)
    if size % 2 == 1 and rank == 4:
        nhwc = graphdl.transpose(x, [0, 2, 3, 1])
        y = nn.local_response_normalization(nhwc, depth_radius=(size - 1) // 2, bias=bias, alpha=alpha / size,
                                            beta=beta)
        return graphdl.transpose(y, [0, 3, 1, 2])
    lo, hi = (size - 1) // 2, size - 1 - (size - 1) // 2
    sq = graphdl.pad(graphdl.square(x), [[0, 0], [lo, hi]] + [[0, 0]] * (rank - 2))
    channels = x.shape.as_tuple()[1]
    if channels is None:
        raise node.unsupported("LRN with an even size needs a static channel dim")
    total = graphdl.add_n([sq[:, i:i + channels] for i in range(size)])
    dt = x.dtype.np
    return x / graphdl.pow(np.asarray(bias, dt) + np.asarray(alpha / size, dt) * total, np.asarray(beta, dt))


@converter("InstanceNormalization")
def instance_normalization(node):
    x = node.input(0)
    rank = rank_of(x, node)
    mean, var = nn.moments(x, axes=list(range(2, rank)), keep_dims=True)
    eps = np.asarray(node.attr("epsilon", 1e-5), dtype=x.dtype.np)
    scale, bias = _per_channel(node.input(1), rank), _per_channel(node.input(2), rank)
    return (x - mean) * graphdl.rsqrt(var + eps) * scale + bias


@converter("LayerNormalization")
def layer_normalization(node):
    """LayerNormalization over the dims from ``axis`` on; outputs Y, Mean and InvStdDev (kept dims)."""
    x = node.input(0)
    rank = rank_of(x, node)
    axis = normalize_axis(node.attr("axis", -1), rank, node)
    mean, var = nn.moments(x, axes=list(range(axis, rank)), keep_dims=True)
    inv_std = graphdl.rsqrt(var + np.asarray(node.attr("epsilon", 1e-5), dtype=x.dtype.np))
    y = (x - mean) * inv_std * node.input(1)
    if node.has_input(2):
        y = y + node.input(2)
    return [y, mean, inv_std]


@converter("LpNormalization")
def lp_normalization(node):
    x = node.input(0)
    axis = normalize_axis(node.attr("axis", -1), rank_of(x, node), node)
    p = node.attr("p", 2)
    if p == 1:
        norm = graphdl.reduce_sum(graphdl.abs(x), axis=axis, keepdims=True)
    elif p == 2:
        norm = graphdl.sqrt(graphdl.reduce_sum(graphdl.square(x), axis=axis, keepdims=True))
    else:
        raise node.unsupported(f"LpNormalization with p={p} (ONNX allows 1 or 2)")
    return graphdl.div_no_nan(x, norm)


@converter("MeanVarianceNormalization")
def mean_variance_normalization(node):
    x = node.input(0)
    axes = [int(a) for a in (node.attr("axes") or [0, 2, 3])]
    mean, var = nn.moments(x, axes=axes, keep_dims=True)
    return (x - mean) / (graphdl.sqrt(var) + np.asarray(1e-9, x.dtype.np))


# -- Resize / Upsample -------------------------------------------------------------------------------------------------
def _axis_matrix(attrs, opset, in_len, out_len, scale, roi):
    """The (out_len, in_len) matrix of ONNX's 1-D resize along one axis, read off the ONNX reference Resize applied to
    the identity (Resize is separable: N-D resizing is 1-D resizing along each axis in turn)."""
    from onnx.reference import ReferenceEvaluator

    names = ["x", "roi", "scales"] if scale is not None else ["x", "roi", "", "sizes"]
    node = helper.make_node("Resize", names, ["y"], **attrs)
    types = {"x": onnx.TensorProto.DOUBLE, "roi": onnx.TensorProto.FLOAT, "scales": onnx.TensorProto.FLOAT,
             "sizes": onnx.TensorProto.INT64}
    graph = helper.make_graph(
        [node], "resize_axis", [helper.make_tensor_value_info(n, types[n], None) for n in names if n],
        [helper.make_tensor_value_info("y", onnx.TensorProto.DOUBLE, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", max(opset, 11))])
    feeds = {"x": np.eye(in_len), "roi": np.asarray([0, roi[0], 1, roi[1]], np.float32)}
    if scale is not None:
        feeds["scales"] = np.asarray([1, scale], np.float32)
    else:
        feeds["sizes"] = np.asarray([in_len, out_len], np.int64)
    (y,) = ReferenceEvaluator(model).run(None, feeds)
    return y.T  # row j of y is the resized basis vector e_j


def _resize(node, x, scales, sizes, roi, attrs, opset):
    rank = rank_of(x, node)
    dims = x.shape.as_tuple()
    axes = node.attr("axes")
    axes = list(range(rank)) if axes is None else [normalize_axis(a, rank, node) for a in axes]
    if node.attr("keep_aspect_ratio_policy", "stretch") != "stretch":
        raise node.unsupported("keep_aspect_ratio_policy other than 'stretch'")
    if attrs.get("coordinate_transformation_mode") == "tf_crop_and_resize":
        raise node.unsupported("coordinate_transformation_mode 'tf_crop_and_resize'")
    for k, axis in enumerate(axes):
        in_len = dims[axis]
        scale = None if scales is None else float(scales[k])
        out_len = sizes[k] if sizes is not None else None
        if scale == 1.0 or out_len == in_len or (sizes is not None and out_len is None):
            continue
        if in_len is None:
            raise node.unsupported("Resize needs static dims along the resized axes")
        if out_len is None:
            out_len = int(np.floor(in_len * scale))
        r = (0.0, 1.0) if roi is None else (float(roi[k]), float(roi[k + len(axes)]))
        matrix = _axis_matrix(attrs, opset, in_len, out_len, scale, r)
        x = _apply_along(x, matrix, axis, rank, attrs.get("mode", "nearest"))
    return graphdl.identity(x)


def _apply_along(x, matrix, axis, rank, mode):
    if mode == "nearest" and np.all((matrix == 0) | (matrix == 1)) and np.all(matrix.sum(1) == 1):
        return graphdl.gather(x, graphdl.constant(matrix.argmax(1).astype(np.int64)), axis=axis)
    if not x.dtype.is_floating:
        raise ValueError(f"Resize mode '{mode}' needs a floating input, got {x.dtype.name}")
    moved = [d for d in range(rank) if d != axis] + [axis]
    m = graphdl.constant(matrix.T.astype(x.dtype.np))
    out = graphdl.tensordot(graphdl.transpose(x, moved), m, axes=[[rank - 1], [0]])
    return graphdl.transpose(out, list(np.argsort(moved)))


_RESIZE_ATTRS = ("mode", "coordinate_transformation_mode", "cubic_coeff_a", "exclude_outside", "nearest_mode",
                 "antialias", "extrapolation_value")


def _sizes(node, x):
    """Resize's output sizes; entries computed at run time (an exporter's ``Shape(x)[:2]`` for batch and channels)
    are None, meaning "unchanged", with the run-time checks that they are."""
    value = node.const(3)
    if value is not None:
        return [int(v) for v in value], []
    partial = constant_value_as_shape(node.input(3))
    if partial.ndims is None:
        raise node.unsupported("Resize needs constant sizes (or sizes whose resized entries are constants)")
    sizes = [None if d is None else int(d) for d in partial.as_list()]
    unknown = [k for k, d in enumerate(sizes) if d is None]
    if not unknown:
        return sizes, []
    keep = graphdl.gather(graphdl.cast(node.input(3), graphdl.int64), unknown)
    have = graphdl.gather(graphdl.cast(graphdl.shape(x), graphdl.int64), unknown)
    message = f"{node!r}: the sizes computed at run time must keep dims {unknown} of the input unchanged"
    return sizes, [assert_equal(keep, have, message=message)]


@converter("Resize", static_inputs=(1, 2, 3))
def resize(node):
    """Resize (nearest/linear/cubic, every coordinate transformation but tf_crop_and_resize) with static input dims:
    a gather (nearest) or a product with a constant interpolation matrix per resized axis."""
    x = node.input(0)
    attrs = {k: node.attr(k) for k in _RESIZE_ATTRS if k in node.attrs}
    if node.opset < 11:  # Resize-10: (X, scales), asymmetric coordinates
        attrs.setdefault("coordinate_transformation_mode", "asymmetric")
        attrs.setdefault("nearest_mode", "floor" if node.attr("mode", "nearest") == "nearest" else "round_prefer_floor")
        return _resize(node, x, node.require_const(1, "scales"), None, None, attrs, node.opset)
    scales = node.const(2) if node.has_input(2) else None
    scales = None if scales is not None and scales.size == 0 else scales
    sizes, checks = _sizes(node, x) if node.has_input(3) and scales is None else (None, [])
    if checks:
        with graphdl.control_dependencies(checks):
            x = graphdl.identity(x)
    if scales is None and sizes is None:
        raise node.unsupported("Resize needs constant scales or sizes")
    roi = node.const(1) if node.has_input(1) else None
    roi = None if roi is not None and roi.size == 0 else roi
    return _resize(node, x, scales, sizes, roi, attrs, node.opset)


@converter("Upsample", static_inputs=(1,))
def upsample(node):
    """Upsample (opsets 7-9): Resize with asymmetric coordinates; scales as an attribute or input 1."""
    x = node.input(0)
    scales = node.attr("scales")
    scales = np.asarray(scales, np.float32) if scales is not None else node.require_const(1, "scales")
    mode = node.attr("mode", "nearest")
    attrs = {"mode": mode, "coordinate_transformation_mode": "asymmetric"}
    if mode == "nearest":
        attrs["nearest_mode"] = "floor"
    return _resize(node, x, scales, None, None, attrs, 11)
