"""ONNX mappings of selection ops: top_k, in_top_k, unique, dynamic_partition, dynamic_stitch."""

from __future__ import annotations

from graphdl.backends.onnx.registry import register
from onnx import TensorProto


@register("TopKV2")
def top_k(ctx, op):
    """ONNX TopK over the last axis (largest, sorted; ties: lower index first in both), int64 indices cast to int32."""
    x, k = op.inputs
    values, indices = ctx.node("TopK", [ctx.get(x), ctx.node("Reshape", [ctx.int64(k), ctx.int64([1])])],
                               outputs=2, axis=-1, largest=1, sorted=1)
    return [values, ctx.cast(indices, op.outputs[1].dtype)]


@register("InTopKV2")
def in_top_k(ctx, op):
    """Fewer than k scores strictly above the target's, the target in range and the row finite (as TF)."""
    predictions, targets, k = op.inputs
    scores, target = ctx.get(predictions), ctx.int64(targets)
    classes = ctx.node("Gather", [ctx.node("Shape", [scores]), ctx.int64(1)])
    in_range = ctx.node("And", [ctx.node("GreaterOrEqual", [target, ctx.int64(0)]),
                                ctx.node("Less", [target, classes])])
    safe = ctx.node("Where", [in_range, target, ctx.int64(0)])
    target_score = ctx.node("GatherElements", [scores, ctx.node("Unsqueeze", [safe, ctx.int64([1])])], axis=1)
    higher = ctx.node("Cast", [ctx.node("Greater", [scores, target_score])], to=TensorProto.INT64)
    count = ctx.node("ReduceSum", [higher, ctx.int64([1])], keepdims=0)
    bad = ctx.node("Or", [ctx.node("IsInf", [scores]), ctx.node("IsNaN", [scores])])
    bad_count = ctx.node("ReduceSum", [ctx.node("Cast", [bad], to=TensorProto.INT64), ctx.int64([1])], keepdims=0)
    finite = ctx.node("Equal", [bad_count, ctx.int64(0)])
    in_top = ctx.node("Less", [count, ctx.int64(k)])
    return ctx.node("And", [ctx.node("And", [in_range, finite]), in_top])


@register("Unique", "UniqueWithCounts")
def unique(ctx, op):
    """ONNX Unique with sorted=0 lists values by first occurrence, as TF does; int64 indices and counts cast."""
    y, _, inverse, counts = ctx.node("Unique", [ctx.get(op.inputs[0])], outputs=4, sorted=0, axis=None)
    out = [y, ctx.cast(inverse, op.outputs[1].dtype)]
    return out + ([ctx.cast(counts, op.outputs[2].dtype)] if op.type == "UniqueWithCounts" else [])
