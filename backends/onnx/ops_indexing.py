"""ONNX mappings of slicing and indexing ops: strided slices, slices, reverses, gathers, scatters, one-hot."""

from __future__ import annotations

import numpy as np
from graphdl.backends.onnx.registry import register
from onnx import numpy_helper

from graphdl.framework.strided_slice_spec import dense_layout

INT64_MAX, INT64_MIN = np.iinfo(np.int64).max, np.iinfo(np.int64).min


def _bit(mask: int, i: int) -> bool:
    return bool(int(mask) >> i & 1)


@register("StridedSlice")
def strided_slice(ctx, op):
    """Slice (with negative steps) on the sliced dims, Squeeze for shrink_axis_mask, Unsqueeze for new axes."""
    x, begin_t, end_t, strides_t = op.inputs
    rank = x.shape.ndims
    if rank is None:
        raise ctx.error("the input needs a known rank")
    begin = [int(v) for v in ctx.require_value(begin_t, "begin")]
    end = [int(v) for v in ctx.require_value(end_t, "end")]
    strides = [int(v) for v in ctx.require_value(strides_t, "strides")]
    attrs = op.attrs
    starts, ends, axes, steps, shrink, new_axes = [], [], [], [], [], []
    position = 0
    for kind, i, d in dense_layout(rank, len(begin), attrs):
        if kind == "new":
            new_axes.append(position)
        elif kind == "shrink":
            b = begin[i]
            starts.append(b)
            ends.append(INT64_MAX if b == -1 else b + 1)
            axes.append(d)
            steps.append(1)
            shrink.append(d)
            continue
        elif kind == "slice":
            s = strides[i]
            b = (INT64_MAX if s < 0 else 0) if _bit(attrs.get("begin_mask", 0), i) else begin[i]
            e = (INT64_MIN if s < 0 else INT64_MAX) if _bit(attrs.get("end_mask", 0), i) else end[i]
            if not (s == 1 and b == 0 and e == INT64_MAX):
                starts.append(b)
                ends.append(e)
                axes.append(d)
                steps.append(s)
        position += 1
    value = ctx.get(x)
    if axes:
        value = ctx.node("Slice", [value, ctx.int64(starts), ctx.int64(ends), ctx.int64(axes), ctx.int64(steps)])
    if shrink:
        value = ctx.node("Squeeze", [value, ctx.int64(shrink)])
    if new_axes:
        value = ctx.node("Unsqueeze", [value, ctx.int64(new_axes)])
    if not (axes or shrink or new_axes):
        value = ctx.node("Identity", [value])
    return value


@register("Slice")
def slice_(ctx, op):
    """tf.slice(begin, size): size -1 means to the end of the dim."""
    x, begin_t, size_t = op.inputs
    begin, size = ctx.static.value(begin_t), ctx.static.value(size_t)
    if begin is not None and size is not None:
        ends = [INT64_MAX if int(s) == -1 else int(b) + int(s) for b, s in zip(begin, size)]
        return ctx.node("Slice", [ctx.get(x), ctx.int64(begin), ctx.int64(ends)])
    b, s = ctx.int64(begin_t), ctx.int64(size_t)
    to_end = ctx.node("Equal", [s, ctx.int64([-1])])
    ends = ctx.node("Where", [to_end, ctx.int64([INT64_MAX]), ctx.node("Add", [b, s])])
    return ctx.node("Slice", [ctx.get(x), b, ends])


@register("ReverseV2")
def reverse(ctx, op):
    rank = op.inputs[0].shape.ndims
    axes = [int(a) + rank if int(a) < 0 else int(a) for a in np.asarray(ctx.require_value(op.inputs[1], "axis"))
            .reshape(-1)]
    if not axes:
        return ctx.node("Identity", [ctx.get(op.inputs[0])])
    n = len(axes)
    return ctx.node("Slice", [ctx.get(op.inputs[0]), ctx.int64([-1] * n), ctx.int64([INT64_MIN] * n),
                              ctx.int64(axes), ctx.int64([-1] * n)])


@register("ReverseSequence")
def reverse_sequence(ctx, op):
    batch, time = int(op.attrs.get("batch_dim", 0)), int(op.attrs["seq_dim"])
    if {batch, time} != {0, 1}:
        raise ctx.error(f"ONNX ReverseSequence needs batch_dim/seq_dim 0 and 1, got {batch}/{time}")
    return ctx.node("ReverseSequence", [ctx.get(op.inputs[0]), ctx.int64(op.inputs[1])],
                    batch_axis=batch, time_axis=time)


@register("GatherV2")
def gather(ctx, op):
    params, indices, axis_t = op.inputs
    if int(op.attrs.get("batch_dims", 0)) != 0:
        raise ctx.error("gather with batch_dims != 0 has no ONNX Gather equivalent")
    rank = params.shape.ndims
    axis = int(np.asarray(ctx.require_value(axis_t, "axis")).reshape(()))
    if axis < 0 and rank is not None:
        axis += rank
    return ctx.node("Gather", [ctx.get(params), ctx.get(indices)], axis=axis)


@register("GatherNd")
def gather_nd(ctx, op):
    return ctx.node("GatherND", [ctx.get(op.inputs[0]), ctx.int64(op.inputs[1])])


@register("OneHot")
def one_hot(ctx, op):
    """ONNX OneHot; negative indices (all off in TF, wrapped in ONNX) are moved out of range first."""
    indices, depth, on, off = op.inputs
    idx = ctx.int64(indices)
    d = ctx.int64(depth)
    idx = ctx.node("Where", [ctx.node("Less", [idx, ctx.int64(0)]), d, idx])
    hot = ctx.node("OneHot", [idx, d, ctx.const(np.asarray([0, 1], np.float32))], axis=int(op.attrs.get("axis", -1)))
    mask = ctx.node("Cast", [hot], to=9)  # ONNX OneHot takes few value types: select on a bool mask instead
    return ctx.node("Where", [mask, ctx.get(on), ctx.get(off)])


def _zeros(ctx, shape: str, dtype) -> str:
    return ctx.node("ConstantOfShape", [shape], value=numpy_helper.from_array(np.zeros([1], dtype)))


@register("ScatterNd")
def scatter_nd(ctx, op):
    """ScatterND onto zeros, adding duplicates (reduction needs opset >= 16)."""
    if ctx.opset < 16:
        raise ctx.error("scatter_nd adds duplicate indices, which ONNX ScatterND supports from opset 16")
    indices, updates, shape = op.inputs
    zeros = _zeros(ctx, ctx.int64(shape), updates.dtype.np)
    return ctx.node("ScatterND", [zeros, ctx.int64(indices), ctx.get(updates)], reduction="add")


@register("UnsortedSegmentSum")
def unsorted_segment_sum(ctx, op):
    """ScatterND-add of each row into its segment; negative segment ids are dropped as in TF."""
    if ctx.opset < 16:
        raise ctx.error("unsorted_segment_sum needs ScatterND's reduction, available from opset 16")
    data, ids, num = op.inputs
    id_rank = ids.shape.ndims
    if id_rank is None:
        raise ctx.error("segment_ids needs a known rank")
    ids64 = ctx.int64(ids)
    zero = ctx.int64(0)
    keep = ctx.node("GreaterOrEqual", [ids64, zero])
    safe_ids = ctx.node("Where", [keep, ids64, zero])
    mask = ctx.node("Cast", [keep], to=ctx_type(data))
    rank = data.shape.ndims
    if rank is not None and rank > id_rank:
        mask = ctx.node("Unsqueeze", [mask, ctx.int64(list(range(id_rank, rank)))])
    updates = ctx.node("Mul", [ctx.get(data), mask])
    tail = ctx.node("Slice", [ctx.node("Shape", [ctx.get(data)]), ctx.int64([id_rank]), ctx.int64([INT64_MAX])])
    out_shape = ctx.node("Concat", [ctx.node("Reshape", [ctx.int64(num), ctx.int64([1])]), tail], axis=0)
    zeros = _zeros(ctx, out_shape, data.dtype.np)
    indices = ctx.node("Unsqueeze", [safe_ids, ctx.int64([-1])])
    return ctx.node("ScatterND", [zeros, indices, updates], reduction="add")


def ctx_type(tensor):
    from graphdl.backends.onnx.context import onnx_type

    return onnx_type(tensor.dtype)
