"""ONNX mappings of reductions, arg-max/min, matrix products, softmax and the losses."""

from __future__ import annotations

import numpy as np
from graphdl.backends.onnx.context import onnx_type
from graphdl.backends.onnx.registry import register
from onnx import TensorProto

REDUCTIONS = {"Sum": "ReduceSum", "Mean": "ReduceMean", "Max": "ReduceMax", "Min": "ReduceMin", "Prod": "ReduceProd",
              "All": "ReduceMin", "Any": "ReduceMax"}


def reduce(ctx, onnx_op: str, x: str, axes, keepdims: bool) -> str:
    """An ONNX reduction over ``axes`` (None: all): axes as an input from opset 13 (ReduceSum) or 18 (the others)."""
    keep = int(bool(keepdims))
    if axes is None:
        return ctx.node(onnx_op, [x], keepdims=keep)
    axes = [int(a) for a in axes]
    if onnx_op == "ReduceSum" or ctx.opset >= 18:
        return ctx.node(onnx_op, [x, ctx.int64(axes)], keepdims=keep)
    return ctx.node(onnx_op, [x], axes=axes, keepdims=keep)


@register(*REDUCTIONS)
def reduction(ctx, op):
    """reduce_sum/mean/max/min/prod/all/any; bool reductions run on int32 (ONNX reduces no bools)."""
    x, axis_t = op.inputs
    axes = np.asarray(ctx.require_value(axis_t, "axis")).reshape(-1)
    value = ctx.get(x)
    if len(axes) == 0:
        return ctx.node("Identity", [value])
    rank = x.shape.ndims
    if rank is not None:
        axes = [int(a) + rank if int(a) < 0 else int(a) for a in axes]
    if op.type in ("All", "Any"):
        value = ctx.node("Cast", [value], to=TensorProto.INT32)
        result = reduce(ctx, REDUCTIONS[op.type], value, axes, op.attrs.get("keep_dims", False))
        return ctx.node("Cast", [result], to=TensorProto.BOOL)
    return reduce(ctx, REDUCTIONS[op.type], value, axes, op.attrs.get("keep_dims", False))


@register("ArgMax", "ArgMin")
def arg_max(ctx, op):
    x, axis_t = op.inputs
    axis = int(np.asarray(ctx.require_value(axis_t, "dimension")).reshape(()))
    result = ctx.node(op.type, [ctx.get(x)], axis=axis, keepdims=0)
    out = op.outputs[0]
    return result if out.dtype.np == np.int64 else ctx.node("Cast", [result], to=onnx_type(out.dtype))


@register("L2Loss")
def l2_loss(ctx, op):
    x = ctx.get(op.inputs[0])
    total = ctx.node("Reshape", [reduce(ctx, "ReduceSum", ctx.node("Mul", [x, x]), None, False), ctx.int64([])])
    return ctx.node("Div", [total, ctx.const(np.asarray(2, op.inputs[0].dtype.np))])


@register("MatMul")
def matmul(ctx, op):
    """Gemm for floating matrices (with its transposes), MatMul otherwise."""
    a, b = op.inputs
    ta, tb = bool(op.attrs.get("transpose_a")), bool(op.attrs.get("transpose_b"))
    if a.dtype.is_floating:
        return ctx.node("Gemm", [ctx.get(a), ctx.get(b)], transA=int(ta), transB=int(tb))
    av = ctx.node("Transpose", [ctx.get(a)], perm=[1, 0]) if ta else ctx.get(a)
    bv = ctx.node("Transpose", [ctx.get(b)], perm=[1, 0]) if tb else ctx.get(b)
    return ctx.node("MatMul", [av, bv])


def _swap_last(ctx, tensor, value):
    rank = tensor.shape.ndims
    if rank is None:
        raise ctx.error("adjoint of an input of unknown rank")
    perm = list(range(rank))
    perm[-1], perm[-2] = perm[-2], perm[-1]
    return ctx.node("Transpose", [value], perm=perm)


@register("BatchMatMulV2")
def batch_matmul(ctx, op):
    a, b = op.inputs
    av, bv = ctx.get(a), ctx.get(b)
    if op.attrs.get("adj_x"):
        av = _swap_last(ctx, a, av)
    if op.attrs.get("adj_y"):
        bv = _swap_last(ctx, b, bv)
    return ctx.node("MatMul", [av, bv])


@register("Softmax", "LogSoftmax")
def softmax(ctx, op):
    return ctx.node(op.type, [ctx.get(op.inputs[0])], axis=-1)


@register("SoftmaxCrossEntropyWithLogits")
def softmax_cross_entropy(ctx, op):
    """(loss, backprop): -sum(labels * log_softmax(logits), -1) and softmax(logits) - labels."""
    logits, labels = ctx.get(op.inputs[0]), ctx.get(op.inputs[1])
    log_probs = ctx.node("LogSoftmax", [logits], axis=-1)
    loss = ctx.node("Neg", [reduce(ctx, "ReduceSum", ctx.node("Mul", [labels, log_probs]), [-1], False)])
    backprop = ctx.node("Sub", [ctx.node("Softmax", [logits], axis=-1), labels])
    return [loss, backprop]


@register("SparseSoftmaxCrossEntropyWithLogits")
def sparse_softmax_cross_entropy(ctx, op):
    """(loss, backprop) with integer class labels."""
    logits, labels_t = op.inputs
    lv = ctx.get(logits)
    log_probs = ctx.node("LogSoftmax", [lv], axis=-1)
    labels = ctx.node("Unsqueeze", [ctx.int64(labels_t), ctx.int64([-1])])
    picked = ctx.node("GatherElements", [log_probs, labels], axis=-1)
    loss = ctx.node("Neg", [ctx.node("Squeeze", [picked, ctx.int64([-1])])])
    depth = ctx.node("Gather", [ctx.node("Shape", [lv]), ctx.int64(-1)])
    dtype = logits.dtype.np
    one_hot = ctx.node("OneHot", [ctx.int64(labels_t), depth, ctx.const(np.asarray([0, 1], dtype))], axis=-1)
    backprop = ctx.node("Sub", [ctx.node("Softmax", [lv], axis=-1), one_hot])
    return [loss, backprop]
