"""ONNX mappings of elementwise ops: unary math, activations, binary arithmetic, comparisons, logic, casts."""

from __future__ import annotations

import numpy as np
from graphdl.backends.onnx.context import onnx_type
from graphdl.backends.onnx.registry import register

UNARY = {
    "Abs": "Abs", "Acos": "Acos", "Acosh": "Acosh", "Asin": "Asin", "Asinh": "Asinh", "Atan": "Atan",
    "Atanh": "Atanh", "Ceil": "Ceil", "Cos": "Cos", "Cosh": "Cosh", "Erf": "Erf", "Exp": "Exp", "Floor": "Floor",
    "Log": "Log", "Neg": "Neg", "Reciprocal": "Reciprocal", "Relu": "Relu", "Sigmoid": "Sigmoid", "Sign": "Sign",
    "Sin": "Sin", "Sinh": "Sinh", "Sqrt": "Sqrt", "Tan": "Tan", "Tanh": "Tanh", "Softplus": "Softplus",
    "Softsign": "Softsign", "Round": "Round", "Rint": "Round", "IsNan": "IsNaN", "IsInf": "IsInf",
    "LogicalNot": "Not", "Identity": "Identity", "StopGradient": "Identity", "Elu": "Elu",
}
# Layout-free unary ops: an NCHW twin of the input gives an NCHW twin of the output (no transposes).
LAYOUT_FREE = {"Relu", "Sigmoid", "Tanh", "Elu", "Relu6", "LeakyRelu", "Selu", "Softplus", "Identity", "Abs", "Neg"}

BINARY = {
    "AddV2": "Add", "Sub": "Sub", "Mul": "Mul", "RealDiv": "Div", "Maximum": "Max", "Minimum": "Min", "Pow": "Pow",
    "Equal": "Equal", "Greater": "Greater", "GreaterEqual": "GreaterOrEqual", "Less": "Less",
    "LessEqual": "LessOrEqual", "LogicalAnd": "And", "LogicalOr": "Or",
}

SELU_ALPHA, SELU_GAMMA = 1.6732632423543772, 1.0507009873554805


def _scalar(ctx, value, like) -> str:
    return ctx.const(np.asarray(value, dtype=like.dtype.np))


def _unary_onnx(ctx, op, x: str) -> str:
    t = op.type
    if t == "Relu" and op.inputs[0].dtype.is_integer:
        return ctx.node("Max", [x, _scalar(ctx, 0, op.inputs[0])])
    if t in UNARY:
        return ctx.node(UNARY[t], [x])
    if t == "Rsqrt":
        return ctx.node("Reciprocal", [ctx.node("Sqrt", [x])])
    if t == "Square":
        return ctx.node("Mul", [x, x])
    if t == "Expm1":
        return ctx.node("Sub", [ctx.node("Exp", [x]), _scalar(ctx, 1, op.inputs[0])])
    if t == "Log1p":
        return ctx.node("Log", [ctx.node("Add", [x, _scalar(ctx, 1, op.inputs[0])])])
    if t == "Erfc":
        return ctx.node("Sub", [_scalar(ctx, 1, op.inputs[0]), ctx.node("Erf", [x])])
    if t == "IsFinite":
        return ctx.node("Not", [ctx.node("Or", [ctx.node("IsNaN", [x]), ctx.node("IsInf", [x])])])
    if t == "Relu6":
        return ctx.node("Clip", [x, _scalar(ctx, 0, op.inputs[0]), _scalar(ctx, 6, op.inputs[0])])
    if t == "LeakyRelu":
        return ctx.node("LeakyRelu", [x], alpha=float(op.attrs["alpha"]))
    if t == "Selu":
        return ctx.node("Selu", [x], alpha=SELU_ALPHA, gamma=SELU_GAMMA)
    raise ctx.error("no unary mapping")


@register(*UNARY, "Rsqrt", "Square", "Expm1", "Log1p", "Erfc", "IsFinite", "Relu6", "LeakyRelu", "Selu")
def unary(ctx, op):
    """One ONNX node (or a short composition) per element; stays in NCHW when its input has an NCHW twin."""
    x = op.inputs[0]
    if op.type in LAYOUT_FREE and x.shape.ndims == 4 and ctx.has_nchw(x):
        twin = _unary_onnx(ctx, op, ctx.nchw(x))
        ctx.set_nchw(op.outputs[0], twin)
        return ctx.nhwc_of(twin)
    if op.type in ("Identity", "StopGradient"):
        return ctx.get(x)  # an alias: no node
    return _unary_onnx(ctx, op, ctx.get(x))


@register("CheckNumerics", "Print")
def passthrough(ctx, op):
    """Debugging ops pass their (first) input through in an exported inference graph."""
    return ctx.get(op.inputs[0])


@register("IdentityN")
def identity_n(ctx, op):
    return [ctx.get(t) for t in op.inputs]


@register("PlaceholderWithDefault")
def placeholder_with_default(ctx, op):
    """An unfed placeholder_with_default is its default value."""
    return ctx.get(op.inputs[0])


@register("Placeholder")
def placeholder(ctx, op):
    raise ctx.error("this placeholder is needed by the outputs but is neither in inputs nor pinned by feed_dict=")


@register("Const")
def const(ctx, op):
    return ctx.const(op.attrs["value"], hint=op.name)


def _known_one(ctx, tensor) -> bool:
    value = ctx.static.value(tensor)
    if value is None:
        value = ctx.static.fill_value(tensor)
    return value is not None and bool(np.all(np.asarray(value) == 1))


@register(*BINARY)
def binary(ctx, op):
    """Broadcasting binary ops; ``x * 1`` (a dropout at keep_prob 1) is x itself."""
    a, b = op.inputs
    if op.type == "Mul":
        for keep, one in ((a, b), (b, a)):
            if _known_one(ctx, one) and keep.shape.as_tuple() == op.outputs[0].shape.as_tuple():
                return ctx.get(keep)
    return ctx.node(BINARY[op.type], [ctx.get(a), ctx.get(b)])


@register("NotEqual")
def not_equal(ctx, op):
    return ctx.node("Not", [ctx.node("Equal", [ctx.get(op.inputs[0]), ctx.get(op.inputs[1])])])


@register("AddN")
def add_n(ctx, op):
    return ctx.node("Sum", [ctx.get(t) for t in op.inputs])


@register("SquaredDifference")
def squared_difference(ctx, op):
    d = ctx.node("Sub", [ctx.get(op.inputs[0]), ctx.get(op.inputs[1])])
    return ctx.node("Mul", [d, d])


@register("FloorDiv", "FloorMod", "TruncateDiv", "TruncateMod")
def integer_division(ctx, op):
    """TF's floor/truncating division and remainder (ONNX Div truncates integers; Mod fmod=0 floors)."""
    a, b = ctx.get(op.inputs[0]), ctx.get(op.inputs[1])
    is_int = op.inputs[0].dtype.is_integer
    if op.type == "TruncateDiv":
        return ctx.node("Div", [a, b]) if is_int else _trunc(ctx, op, a, b)
    if op.type == "TruncateMod":
        return ctx.node("Mod", [a, b], fmod=1)
    if is_int:
        mod = ctx.node("Mod", [a, b], fmod=0)
        if op.type == "FloorMod":
            return mod
        return ctx.node("Div", [ctx.node("Sub", [a, mod]), b])
    floor = ctx.node("Floor", [ctx.node("Div", [a, b])])
    if op.type == "FloorDiv":
        return floor
    return ctx.node("Sub", [a, ctx.node("Mul", [floor, b])])


def _trunc(ctx, op, a, b):
    q = ctx.node("Div", [a, b])
    return ctx.node("Mul", [ctx.node("Sign", [q]), ctx.node("Floor", [ctx.node("Abs", [q])])])


def _where_zero(ctx, op, test: str, value: str) -> str:
    zero = _scalar(ctx, 0, op.inputs[0])
    return ctx.node("Where", [ctx.node("Equal", [test, zero]), zero, value])


@register("DivNoNan", "MulNoNan", "Xdivy", "Xlogy")
def safe_division(ctx, op):
    """``x / y`` or ``x * y`` with 0 where the guarded operand is 0."""
    x, y = ctx.get(op.inputs[0]), ctx.get(op.inputs[1])
    if op.type == "DivNoNan":
        return _where_zero(ctx, op, y, ctx.node("Div", [x, y]))
    if op.type == "MulNoNan":
        return _where_zero(ctx, op, y, ctx.node("Mul", [x, y]))
    if op.type == "Xdivy":
        return _where_zero(ctx, op, x, ctx.node("Div", [x, y]))
    return _where_zero(ctx, op, x, ctx.node("Mul", [x, ctx.node("Log", [y])]))


@register("Atan2")
def atan2(ctx, op):
    """atan(y / x) shifted by +-pi where x < 0."""
    y, x = ctx.get(op.inputs[0]), ctx.get(op.inputs[1])
    like = op.inputs[0]
    base = ctx.node("Atan", [ctx.node("Div", [y, x])])
    zero = _scalar(ctx, 0, like)
    shift = ctx.node("Where", [ctx.node("GreaterOrEqual", [y, zero]), _scalar(ctx, np.pi, like),
                               _scalar(ctx, -np.pi, like)])
    return ctx.node("Add", [base, ctx.node("Where", [ctx.node("Less", [x, zero]), shift, zero])])


@register("Cast")
def cast(ctx, op):
    return ctx.node("Cast", [ctx.get(op.inputs[0])], to=onnx_type(op.outputs[0].dtype))


@register("ZerosLike", "OnesLike")
def fill_like(ctx, op):
    from onnx import numpy_helper

    value = np.asarray([0 if op.type == "ZerosLike" else 1], dtype=op.outputs[0].dtype.np)
    shape = ctx.node("Shape", [ctx.get(op.inputs[0])])
    return ctx.node("ConstantOfShape", [shape], value=numpy_helper.from_array(value))


@register("Select", "SelectV2")
def select(ctx, op):
    """Where; a statically known condition picks a branch. TF1's Select takes a vector condition per row."""
    cond, x, y = op.inputs
    known = ctx.static.value(cond)
    if known is not None and known.size and (np.all(known) or not np.any(known)):
        chosen = x if np.all(known) else y
        if chosen.shape.as_tuple() == op.outputs[0].shape.as_tuple() and chosen.shape.ndims is not None:
            return ctx.get(chosen)
    c = ctx.get(cond)
    if op.type == "Select" and cond.shape.ndims == 1 and (x.shape.ndims or 0) > 1:
        c = ctx.node("Unsqueeze", [c, ctx.int64(list(range(1, x.shape.ndims)))])
    return ctx.node("Where", [c, ctx.get(x), ctx.get(y)])


@register("Where")
def where_indices(ctx, op):
    """tf.where(condition): the [n, rank] int64 coordinates of the true elements."""
    return ctx.node("Transpose", [ctx.node("NonZero", [ctx.get(op.inputs[0])])], perm=[1, 0])


@register("BiasAdd")
def bias_add(ctx, op):
    """Add along the channel dim; NHWC with an NCHW twin stays NCHW."""
    x, b = op.inputs
    rank = x.shape.ndims
    if op.attrs.get("data_format", "NHWC") in ("NCHW", "NCDHW") or (rank == 4 and ctx.has_nchw(x)):
        nchw_twin = op.attrs.get("data_format", "NHWC") not in ("NCHW", "NCDHW")
        if rank is None:
            raise ctx.error("BiasAdd in NCHW needs an input of known rank")
        bias = ctx.node("Unsqueeze", [ctx.get(b), ctx.int64(list(range(1, rank - 1)))])
        if nchw_twin:
            twin = ctx.node("Add", [ctx.nchw(x), bias])
            ctx.set_nchw(op.outputs[0], twin)
            return ctx.nhwc_of(twin)
        return ctx.node("Add", [ctx.get(x), bias])
    return ctx.node("Add", [ctx.get(x), ctx.get(b)])

