"""ONNX shape and data-movement ops (Reshape, Flatten, Transpose, Squeeze/Unsqueeze, Concat, Split, Slice,
Gather, Expand, Tile, Pad, Shape, Size, Constant, ConstantOfShape, Range, Identity, Dropout,
DepthToSpace/SpaceToDepth) as graphdl ops."""

from __future__ import annotations

import numpy as np
from onnx import numpy_helper

import graphdl

from .registry import converter, normalize_axis, rank_of


@converter("Identity")
def identity(node):
    return graphdl.identity(node.input(0))


@converter("Dropout")
def dropout(node):
    """Inference-mode Dropout: the identity, and an all-true mask."""
    if node.opset >= 12 and node.has_input(2):
        training = node.const(2)
        if training is None or bool(training):
            raise node.unsupported("Dropout with training_mode true (graphdl imports inference graphs)")
    x = graphdl.identity(node.input(0))
    return [x, graphdl.ones_like(x, dtype=graphdl.bool_)]


@converter("Constant")
def constant(node):
    """The Constant node's value as a NumPy array (the importer makes it a graphdl Const and records it)."""
    for key in ("value", "sparse_value"):
        if key in node.attrs:
            if key == "sparse_value":
                raise node.unsupported("sparse constants")
            return numpy_helper.to_array(node.attrs[key])
    for key, dtype in (("value_float", np.float32), ("value_floats", np.float32), ("value_int", np.int64),
                       ("value_ints", np.int64)):
        if key in node.attrs:
            return np.asarray(node.attrs[key], dtype=dtype)
    raise node.unsupported(f"Constant attribute {sorted(node.attrs)}")


@converter("ConstantOfShape")
def constant_of_shape(node):
    value = numpy_helper.to_array(node.attrs["value"]) if "value" in node.attrs else np.zeros(1, np.float32)
    shape = node.const(0)
    if shape is not None:
        return np.full([int(d) for d in shape], value.reshape(()), dtype=value.dtype)
    return graphdl.fill(node.input(0), graphdl.constant(value.reshape(())))


@converter("Shape")
def shape(node):
    x = node.input(0)
    rank = rank_of(x, node)
    start, end = node.attr("start", 0), node.attr("end", rank)
    start, end = (max(0, min(rank, v + rank if v < 0 else v)) for v in (start, end))
    return graphdl.shape(x, out_type=graphdl.int64)[start:end]


@converter("Size")
def size(node):
    return graphdl.size(node.input(0), out_type=graphdl.int64)


@converter("Reshape")
def reshape(node):
    """Reshape: 0 copies the input's dim (unless allowzero), -1 is inferred."""
    x = node.input(0)
    target = node.const(1)
    allowzero = node.attr("allowzero", 0)
    if target is not None:
        target = [int(v) for v in target]
        if not allowzero and 0 in target:
            dims = x.shape.as_tuple()
            if dims is not None and all(dims[i] is not None for i, v in enumerate(target) if v == 0):
                target = [dims[i] if v == 0 else v for i, v in enumerate(target)]
            else:
                in_shape = graphdl.shape(x, out_type=graphdl.int64)
                parts = [in_shape[i:i + 1] if v == 0 else graphdl.constant([v], dtype=graphdl.int64)
                         for i, v in enumerate(target)]
                return graphdl.reshape(x, graphdl.concat(parts, 0))
        return graphdl.reshape(x, target)
    target = node.input(1)
    if allowzero:
        return graphdl.reshape(x, target)
    n = target.shape.as_tuple()[0]
    rank = rank_of(x, node)
    if n is None:
        raise node.unsupported("Reshape needs a shape input of known length")
    in_shape = graphdl.shape(x, out_type=target.dtype)
    if n > rank:  # a 0 beyond the input's rank is invalid in ONNX; pad so the select lines up
        in_shape = graphdl.concat([in_shape, graphdl.zeros([n - rank], dtype=target.dtype)], 0)
    in_shape = in_shape[:n]
    return graphdl.reshape(x, graphdl.where_v2(graphdl.equal(target, 0), in_shape, target))


@converter("Flatten")
def flatten(node):
    x = node.input(0)
    rank = rank_of(x, node)
    axis = node.attr("axis", 1)
    axis = axis + rank if axis < 0 else axis
    dims = x.shape.as_tuple()
    outer = dims[:axis]
    if all(d is not None for d in outer):
        return graphdl.reshape(x, [int(np.prod(outer, dtype=np.int64)), -1])
    if all(d is not None for d in dims[axis:]):
        return graphdl.reshape(x, [-1, int(np.prod(dims[axis:], dtype=np.int64))])
    s = graphdl.shape(x)
    return graphdl.reshape(x, graphdl.stack([graphdl.reduce_prod(s[:axis]), graphdl.reduce_prod(s[axis:])]))


@converter("Transpose")
def transpose(node):
    x = node.input(0)
    perm = node.attr("perm")
    if perm is None:
        perm = list(range(rank_of(x, node)))[::-1]
    return graphdl.transpose(x, [int(p) for p in perm])


@converter("Squeeze", static_inputs=(1,))
def squeeze(node):
    x = node.input(0)
    axes = node.int_list("axes", 1, "axes")
    if axes:
        rank = rank_of(x, node)
        axes = sorted(normalize_axis(a, rank, node) for a in axes)
    return graphdl.squeeze(x, axes or None)


@converter("Unsqueeze", static_inputs=(1,))
def unsqueeze(node):
    x = node.input(0)
    axes = node.int_list("axes", 1, "axes")
    out_rank = rank_of(x, node) + len(axes)
    for axis in sorted(normalize_axis(a, out_rank, node) for a in axes):
        x = graphdl.expand_dims(x, axis)
    return x


@converter("Concat")
def concat(node):
    xs = node.inputs()
    rank = rank_of(xs[0], node)
    return graphdl.concat(xs, normalize_axis(node.attr("axis"), rank, node))


@converter("Split", static_inputs=(1,))
def split(node):
    """Split: sizes from the ``split`` attribute (before opset 13) or input 1, or ``num_outputs`` (opset 18)
    parts, the last one smaller when the dim does not divide."""
    x = node.input(0)
    rank = rank_of(x, node)
    axis = normalize_axis(node.attr("axis", 0), rank, node)
    sizes = node.int_list("split", 1, "split")
    n_out = len(node.node.output)
    if sizes is None:
        dim = x.shape.as_tuple()[axis]
        if dim is None:
            return graphdl.split(x, n_out, axis=axis)
        part = -(-dim // n_out)
        sizes = [part] * (dim // part) + ([dim % part] if dim % part else [])
        if len(sizes) != n_out:
            sizes = [dim // n_out] * n_out
    return graphdl.split(x, sizes, axis=axis)


_EDGE = 2**31 - 1


@converter("Slice", static_inputs=(1, 2, 3, 4))
def slice_(node):
    """Slice with starts/ends/axes/steps as attributes (before opset 10) or constant inputs, clamped as NumPy does."""
    x = node.input(0)
    rank = rank_of(x, node)
    if node.opset < 10:
        starts, ends = list(node.attr("starts")), list(node.attr("ends"))
        axes, steps = node.attr("axes"), None
    else:
        axes = node.int_list("__none__", 3, "axes")
        steps = node.int_list("__none__", 4, "steps")
        if node.const(1) is None or node.const(2) is None:
            return _run_time_slice(node, x, rank, axes, steps)
        starts = node.int_list("__none__", 1, "starts")
        ends = node.int_list("__none__", 2, "ends")
    axes = list(range(len(starts))) if axes is None else [normalize_axis(a, rank, node) for a in axes]
    steps = [1] * len(starts) if steps is None else steps
    key = [slice(None)] * rank
    for axis, start, end, step in zip(axes, starts, ends, steps):
        key[axis] = slice(int(start), int(end), int(step))
    return _apply_slices(x, key)


def _run_time_slice(node, x, rank, axes, steps):
    """Slice with starts/ends known only at run time (a loop counter, say): a strided_slice whose begin/end are
    gathered from them; TF's clamping of out-of-range starts and ends is ONNX's."""
    starts, ends = (graphdl.reshape(graphdl.cast(node.input(i), graphdl.int64), [-1]) for i in (1, 2))
    count = starts.shape.as_tuple()[0]
    if axes is None and count is None:
        raise node.unsupported("Slice with run-time starts needs constant axes or starts of known length")
    axes = list(range(count)) if axes is None else [normalize_axis(a, rank, node) for a in axes]
    steps = [1] * len(axes) if steps is None else steps
    zero = graphdl.constant([0], dtype=graphdl.int64)
    begin, end, strides, mask = [], [], [], 0
    for d in range(rank):
        if d in axes:
            k = axes.index(d)
            begin.append(starts[k:k + 1])
            end.append(ends[k:k + 1])
            strides.append(steps[k])
        else:
            mask |= 1 << d
            begin.append(zero)
            end.append(zero)
            strides.append(1)
    return graphdl.strided_slice(x, graphdl.concat(begin, 0), graphdl.concat(end, 0),
                                 graphdl.constant(np.asarray(strides, np.int64)), begin_mask=mask, end_mask=mask)


def _apply_slices(x, key):
    dims = x.shape.as_tuple()
    begin, end, strides, begin_mask, end_mask = [], [], [], 0, 0
    for i, s in enumerate(key):
        step = 1 if s.step is None else s.step
        start, stop = s.start, s.stop
        if dims is not None and dims[i] is not None:
            start, stop, step = s.indices(dims[i])
            if step < 0 and stop < 0:
                stop = None
        else:  # unknown dim: sentinels beyond int32 mean "from/to the edge"
            if start is not None and (start <= -_EDGE if step > 0 else start >= _EDGE):
                start = None
            if stop is not None and (stop >= _EDGE if step > 0 else stop <= -_EDGE):
                stop = None
        if start is None:
            begin_mask |= 1 << i
            start = 0
        if stop is None:
            end_mask |= 1 << i
            stop = 0
        begin.append(start)
        end.append(stop)
        strides.append(step)
    return graphdl.strided_slice(x, np.array(begin, np.int64), np.array(end, np.int64), np.array(strides, np.int64),
                                 begin_mask=begin_mask, end_mask=end_mask)


@converter("Gather")
def gather(node):
    """Gather along ``axis``; negative indices count from the end."""
    x, indices = node.input(0), node.input(1)
    rank = rank_of(x, node)
    axis = normalize_axis(node.attr("axis", 0), rank, node)
    idx = node.const(1)
    dim = x.shape.as_tuple()[axis]
    if idx is not None and dim is not None:
        indices = graphdl.constant(np.where(idx < 0, idx + dim, idx).astype(idx.dtype))
    else:
        n = graphdl.cast(graphdl.shape(x)[axis], indices.dtype)
        indices = graphdl.where_v2(indices < 0, indices + n, indices)
    return graphdl.gather(x, indices, axis=axis)


@converter("Expand")
def expand(node):
    """Expand: broadcast the input and the given shape together (either may hold the larger dims)."""
    x = node.input(0)
    target = node.const(1)
    if target is not None and x.shape.is_fully_defined():
        full = np.broadcast_shapes(tuple(x.shape.as_list()), tuple(int(v) for v in target))
        return graphdl.broadcast_to(x, list(full))
    shape = node.input(1)
    return x * graphdl.ones(shape, dtype=x.dtype)


@converter("Tile")
def tile(node):
    return graphdl.tile(node.input(0), node.input(1))


@converter("Pad", static_inputs=(1, 2, 3))
def pad(node):
    """Pad: pads as an attribute (before opset 11) or input 1 ([begins..., ends...]), constant/reflect/edge,
    optional ``axes`` (opset 18); negative pads crop."""
    x = node.input(0)
    rank = rank_of(x, node)
    mode = node.attr("mode", "constant")
    pads = node.int_list("pads", 1, "pads")
    if node.opset < 11:
        value = node.attr("value", 0.0)
    else:
        value = node.const(2) if node.has_input(2) else 0
        if value is None:
            raise node.unsupported("Pad needs a constant constant_value")
        value = np.asarray(value).reshape(-1)[0] if np.size(value) else 0
    axes = node.int_list("__none__", 3, "axes") if node.opset >= 18 else None
    axes = list(range(rank)) if axes is None else [normalize_axis(a, rank, node) for a in axes]
    pairs = [[0, 0] for _ in range(rank)]
    for i, axis in enumerate(axes):
        pairs[axis] = [pads[i], pads[i + len(axes)]]
    crop = [slice(-b if b < 0 else None, e if e < 0 else None) for b, e in pairs]
    if any(b < 0 or e < 0 for b, e in pairs):
        x = _apply_slices(x, crop)
        pairs = [[max(b, 0), max(e, 0)] for b, e in pairs]
    tf_mode = {"constant": "CONSTANT", "reflect": "REFLECT", "edge": "edge", "wrap": "wrap"}.get(mode)
    if tf_mode is None:
        raise node.unsupported(f"Pad mode '{mode}'")
    if mode in ("edge", "wrap"):
        return _gather_pad(x, pairs, mode)
    if tf_mode == "CONSTANT":
        return graphdl.pad(x, pairs, constant_values=np.asarray(value, dtype=x.dtype.np))
    return graphdl.pad(x, pairs, mode=tf_mode)


def _gather_pad(x, pairs, mode):
    """Edge/wrap padding: gather clamped (edge) or wrapped-around (wrap) indices along each padded axis."""
    dims = x.shape.as_tuple()
    for axis, (before, after) in enumerate(pairs):
        if before == 0 and after == 0:
            continue
        if dims[axis] is None:
            raise ValueError(f"Pad mode '{mode}' needs static dims")
        idx = np.arange(-before, dims[axis] + after)
        idx = np.clip(idx, 0, dims[axis] - 1) if mode == "edge" else idx % dims[axis]
        x = graphdl.gather(x, graphdl.constant(idx.astype(np.int64)), axis=axis)
    return x


@converter("Range")
def range_(node):
    # ONNX's Range takes scalars; exporters also pass one-element vectors (a dim split off a shape).
    start, limit, delta = (graphdl.reshape(t, []) if t.shape.ndims != 0 else t for t in map(node.input, range(3)))
    if start.dtype == graphdl.float16:  # graphdl's Range has no float16 kernel
        f32 = [graphdl.cast(t, graphdl.float32) for t in (start, limit, delta)]
        return graphdl.cast(graphdl.range(*f32, dtype=graphdl.float32), graphdl.float16)
    return graphdl.range(start, limit, delta, dtype=start.dtype)


@converter("DepthToSpace")
def depth_to_space(node):
    x = node.input(0)
    b = node.attr("blocksize")
    _, c, h, w = x.shape.as_tuple()
    if node.attr("mode", "DCR") == "DCR":
        y = graphdl.reshape(x, [-1, b, b, c // (b * b), h, w])
        y = graphdl.transpose(y, [0, 3, 4, 1, 5, 2])
    else:
        y = graphdl.reshape(x, [-1, c // (b * b), b, b, h, w])
        y = graphdl.transpose(y, [0, 1, 4, 2, 5, 3])
    return graphdl.reshape(y, [-1, c // (b * b), h * b, w * b])


@converter("SpaceToDepth")
def space_to_depth(node):
    x = node.input(0)
    b = node.attr("blocksize")
    _, c, h, w = x.shape.as_tuple()
    y = graphdl.reshape(x, [-1, c, h // b, b, w // b, b])
    crd = node.attr("mode", "DCR") == "CRD"
    y = graphdl.transpose(y, [0, 1, 3, 5, 2, 4] if crd else [0, 3, 5, 1, 2, 4])
    return graphdl.reshape(y, [-1, c * b * b, h // b, w // b])
