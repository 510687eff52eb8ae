"""ONNX mappings of shape and layout ops: reshape, transpose, concat/stack, split/unstack, tile, fill, pad, shape."""

from __future__ import annotations

import numpy as np
from graphdl.backends.onnx.registry import register
from onnx import numpy_helper


def _axis(ctx, tensor, rank=None, what="axis") -> int:
    value = int(np.asarray(ctx.require_value(tensor, what)).reshape(()))
    return value + rank if rank is not None and value < 0 else value


def _cast_to(ctx, name, tensor):
    """Cast an int64 ONNX result to ``tensor``'s dtype when it differs (Shape -> int32)."""
    return name if tensor.dtype.np == np.int64 else ctx.cast(name, tensor.dtype)


@register("Reshape")
def reshape(ctx, op):
    return ctx.node("Reshape", [ctx.get(op.inputs[0]), ctx.int64(op.inputs[1])])


@register("ExpandDims")
def expand_dims(ctx, op):
    rank = op.inputs[0].shape.ndims
    axis = _axis(ctx, op.inputs[1])
    if axis < 0 and rank is not None:
        axis += rank + 1
    return ctx.node("Unsqueeze", [ctx.get(op.inputs[0]), ctx.int64([axis])])


@register("Squeeze")
def squeeze(ctx, op):
    dims = list(op.attrs.get("squeeze_dims") or [])
    if not dims:
        shape = op.inputs[0].shape.as_tuple()
        if shape is None or any(d is None for d in shape):
            return ctx.node("Squeeze", [ctx.get(op.inputs[0])])
        dims = [i for i, d in enumerate(shape) if d == 1]
    return ctx.node("Squeeze", [ctx.get(op.inputs[0]), ctx.int64(dims)])


@register("Transpose")
def transpose(ctx, op):
    perm = [int(p) for p in ctx.require_value(op.inputs[1], "perm")]
    x = op.inputs[0]
    if perm == [0, 3, 1, 2] and ctx.has_nchw(x):
        return ctx.nchw(x)
    return ctx.node("Transpose", [ctx.get(x)], perm=perm)


@register("ConcatV2")
def concat(ctx, op):
    values = op.inputs[:-1]
    rank = op.outputs[0].shape.ndims
    return ctx.node("Concat", [ctx.get(t) for t in values], axis=_axis(ctx, op.inputs[-1], rank))


@register("Pack")
def pack(ctx, op):
    axis = int(op.attrs.get("axis", 0))
    if axis < 0:
        axis += op.outputs[0].shape.ndims
    parts = [ctx.node("Unsqueeze", [ctx.get(t), ctx.int64([axis])]) for t in op.inputs]
    return ctx.node("Concat", parts, axis=axis)


def split_equal(ctx, x: str, axis: int, num: int, dim):
    """``num`` equal parts of ONNX value ``x`` along ``axis`` (``dim``: the static size, or None)."""
    if num == 1:
        return [ctx.node("Identity", [x])]
    if dim is not None:
        return ctx.node("Split", [x, ctx.int64([dim // num] * num)], outputs=num, axis=axis)
    if ctx.opset >= 18:
        return ctx.node("Split", [x], outputs=num, axis=axis, num_outputs=num)
    raise ctx.error(f"splitting a dim of unknown size needs opset >= 18 (got {ctx.opset})")


@register("Unpack")
def unpack(ctx, op):
    x = op.inputs[0]
    axis = int(op.attrs.get("axis", 0))
    if axis < 0:
        axis += x.shape.ndims
    num = len(op.outputs)
    parts = split_equal(ctx, ctx.get(x), axis, num, num)
    return [ctx.node("Squeeze", [p, ctx.int64([axis])]) for p in parts]


@register("Split")
def split(ctx, op):
    x = op.inputs[1]
    axis = _axis(ctx, op.inputs[0], x.shape.ndims)
    dim = x.shape.as_tuple()[axis] if x.shape.ndims is not None else None
    return split_equal(ctx, ctx.get(x), axis, len(op.outputs), dim)


@register("SplitV")
def split_v(ctx, op):
    x = op.inputs[0]
    axis = _axis(ctx, op.inputs[2], x.shape.ndims)
    sizes = [int(s) for s in ctx.require_value(op.inputs[1], "size_splits")]
    if -1 in sizes:
        dim = x.shape.as_tuple()[axis]
        if dim is None:
            raise ctx.error("size_splits with -1 needs a static dim")
        sizes[sizes.index(-1)] = dim - (sum(sizes) + 1)
    if len(sizes) == 1:
        return [ctx.node("Identity", [ctx.get(x)])]
    return ctx.node("Split", [ctx.get(x), ctx.int64(sizes)], outputs=len(sizes), axis=axis)


@register("Tile")
def tile(ctx, op):
    return ctx.node("Tile", [ctx.get(op.inputs[0]), ctx.int64(op.inputs[1])])


@register("BroadcastTo")
def broadcast_to(ctx, op):
    return ctx.node("Expand", [ctx.get(op.inputs[0]), ctx.int64(op.inputs[1])])


@register("Fill")
def fill(ctx, op):
    """ConstantOfShape for a constant fill value, else Expand of the value."""
    dims, value = op.inputs
    known = ctx.static.value(value)
    if known is not None:
        array = np.asarray(known, dtype=value.dtype.np).reshape([1])
        return ctx.node("ConstantOfShape", [ctx.int64(dims)], value=numpy_helper.from_array(array))
    return ctx.node("Expand", [ctx.get(value), ctx.int64(dims)])


@register("Shape")
def shape(ctx, op):
    return _cast_to(ctx, ctx.node("Shape", [ctx.get(op.inputs[0])]), op.outputs[0])


@register("Size")
def size(ctx, op):
    return _cast_to(ctx, ctx.node("Size", [ctx.get(op.inputs[0])]), op.outputs[0])


@register("Rank")
def rank(ctx, op):
    return _cast_to(ctx, ctx.node("Size", [ctx.node("Shape", [ctx.get(op.inputs[0])])]), op.outputs[0])


@register("Range")
def range_(ctx, op):
    return ctx.node("Range", [ctx.get(t) for t in op.inputs])


@register("LinSpace")
def lin_space(ctx, op):
    """start + range(num) * (stop - start) / (num - 1); the last element is exactly stop as in TF."""
    start, stop, num = op.inputs
    dtype = start.dtype.np
    n = ctx.cast(ctx.get(num), dtype)
    one = ctx.const(np.asarray(1, dtype))
    steps = ctx.node("Range", [ctx.const(np.asarray(0, dtype)), n, one])
    span = ctx.node("Sub", [ctx.get(stop), ctx.get(start)])
    denominator = ctx.node("Max", [ctx.node("Sub", [n, one]), one])
    values = ctx.node("Add", [ctx.get(start), ctx.node("Mul", [steps, ctx.node("Div", [span, denominator])])])
    last = ctx.node("Equal", [steps, ctx.node("Sub", [n, one])])
    is_last = ctx.node("And", [last, ctx.node("Greater", [n, one])])
    return ctx.node("Where", [is_last, ctx.get(stop), values])


def _onnx_pads(ctx, paddings) -> str:
    """TF's [[begin, end] per dim] paddings as ONNX's [begins..., ends...] int64 vector."""
    known = ctx.static.value(paddings)
    if known is not None:
        return ctx.int64(np.asarray(known).T.reshape(-1))
    flat = ctx.node("Reshape", [ctx.node("Transpose", [ctx.get(paddings)], perm=[1, 0]), ctx.int64([-1])])
    return ctx.node("Cast", [flat], to=7)


@register("Pad", "PadV2", "MirrorPad")
def pad(ctx, op):
    x, paddings = op.inputs[0], op.inputs[1]
    if op.type == "MirrorPad":
        if op.attrs["mode"] != "REFLECT":
            raise ctx.error(f"MirrorPad mode {op.attrs['mode']} has no ONNX Pad mode (only REFLECT maps)")
        return ctx.node("Pad", [ctx.get(x), _onnx_pads(ctx, paddings)], mode="reflect")
    inputs = [ctx.get(x), _onnx_pads(ctx, paddings)]
    if op.type == "PadV2":
        inputs.append(ctx.get(op.inputs[2]))
    return ctx.node("Pad", inputs, mode="constant")
