"""ONNX elementwise math, activations, comparisons, logic, MatMul/Gemm, reductions, ArgMax/ArgMin,
Softmax/LogSoftmax/Hardmax, Clip, Cast and CumSum as graphdl ops."""

from __future__ import annotations

import numpy as np

import graphdl
from graphdl import nn

from .registry import converter, normalize_axis, onnx_dtype, rank_of

_UNARY = {
    "Abs": graphdl.abs, "Neg": graphdl.negative, "Exp": graphdl.exp, "Log": graphdl.log, "Sqrt": graphdl.sqrt,
    "Reciprocal": graphdl.reciprocal, "Floor": graphdl.floor, "Ceil": graphdl.ceil, "Sin": graphdl.sin,
    "Cos": graphdl.cos, "Tan": graphdl.tan, "Asin": graphdl.asin, "Acos": graphdl.acos, "Atan": graphdl.atan,
    "Sinh": graphdl.sinh, "Cosh": graphdl.cosh, "Asinh": graphdl.asinh, "Acosh": graphdl.acosh,
    "Atanh": graphdl.atanh, "Tanh": graphdl.tanh, "Sigmoid": graphdl.sigmoid, "Relu": nn.relu, "Erf": graphdl.erf,
    "Sign": graphdl.sign, "Softplus": nn.softplus, "Softsign": nn.softsign, "IsNaN": graphdl.is_nan,
    "Round": graphdl.round, "Not": graphdl.logical_not,
}


@converter(*_UNARY)
def unary(node):
    """One-input elementwise ops that map one-to-one onto graphdl ops."""
    return _UNARY[node.op_type](node.input(0))


def _scalar(value, like):
    return graphdl.constant(np.asarray(value, dtype=like.dtype.np))


@converter("Elu")
def elu(node):
    x, alpha = node.input(0), node.attr("alpha", 1.0)
    return nn.elu(x) if alpha == 1.0 else graphdl.where(x > 0, x, _scalar(alpha, x) * (graphdl.exp(x) - 1))


@converter("Celu")
def celu(node):
    x, alpha = node.input(0), _scalar(node.attr("alpha", 1.0), node.input(0))
    return graphdl.maximum(x, 0 * x) + graphdl.minimum(0 * x, alpha * (graphdl.exp(x / alpha) - 1))


@converter("Selu")
def selu(node):
    x = node.input(0)
    alpha, gamma = node.attr("alpha", 1.67326319217681884765625), node.attr("gamma", 1.05070102214813232421875)
    return _scalar(gamma, x) * graphdl.where(x > 0, x, _scalar(alpha, x) * (graphdl.exp(x) - 1))


@converter("LeakyRelu")
def leaky_relu(node):
    return nn.leaky_relu(node.input(0), alpha=node.attr("alpha", 0.01))


@converter("PRelu")
def prelu(node):
    x, slope = node.input(0), node.input(1)
    return graphdl.where(x < 0, x * slope, x + 0 * slope)


@converter("ThresholdedRelu")
def thresholded_relu(node):
    x = node.input(0)
    return graphdl.where(x > _scalar(node.attr("alpha", 1.0), x), x, graphdl.zeros_like(x))


@converter("HardSigmoid")
def hard_sigmoid(node):
    x = node.input(0)
    y = _scalar(node.attr("alpha", 0.2), x) * x + _scalar(node.attr("beta", 0.5), x)
    return graphdl.clip_by_value(y, _scalar(0, x), _scalar(1, x))


@converter("HardSwish")
def hard_swish(node):
    x = node.input(0)
    return x * graphdl.clip_by_value(x / _scalar(6, x) + _scalar(0.5, x), _scalar(0, x), _scalar(1, x))


@converter("Mish")
def mish(node):
    x = node.input(0)
    return x * graphdl.tanh(nn.softplus(x))


@converter("Gelu")
def gelu(node):
    x = node.input(0)
    if node.attr("approximate", "none") == "tanh":
        inner = _scalar(np.sqrt(2 / np.pi), x) * (x + _scalar(0.044715, x) * x * x * x)
        return _scalar(0.5, x) * x * (1 + graphdl.tanh(inner))
    return _scalar(0.5, x) * x * (1 + graphdl.erf(x * _scalar(1 / np.sqrt(2), x)))


@converter("Shrink")
def shrink(node):
    x = node.input(0)
    lambd, bias = _scalar(node.attr("lambd", 0.5), x), _scalar(node.attr("bias", 0.0), x)
    return graphdl.where(x < -lambd, x + bias, graphdl.where(x > lambd, x - bias, graphdl.zeros_like(x)))


# -- binary and variadic ---------------------------------------------------------------------------------------------
def _is_int(t):
    return t.dtype.is_integer


@converter("Add", "Sub", "Mul")
def arithmetic(node):
    fn = {"Add": graphdl.add, "Sub": graphdl.subtract, "Mul": graphdl.multiply}[node.op_type]
    return fn(node.input(0), node.input(1))


@converter("Div")
def div(node):
    x, y = node.input(0), node.input(1)
    return graphdl.truncatediv(x, y) if _is_int(x) else graphdl.realdiv(x, y)


@converter("Mod")
def mod(node):
    x, y = node.input(0), node.input(1)
    return graphdl.truncatemod(x, y) if node.attr("fmod", 0) else graphdl.floormod(x, y)


@converter("Pow")
def pow_(node):
    x, y = node.input(0), node.input(1)
    if y.dtype != x.dtype:
        y = graphdl.cast(y, x.dtype)
    return graphdl.pow(x, y)


_VARIADIC = {"Max": graphdl.maximum, "Min": graphdl.minimum, "Sum": graphdl.add, "Mean": graphdl.add}


@converter(*_VARIADIC)
def variadic(node):
    """Max/Min/Sum/Mean of any number of broadcast inputs."""
    xs = node.inputs()
    out = xs[0]
    for x in xs[1:]:
        out = _VARIADIC[node.op_type](out, x)
    if node.op_type == "Mean":
        out = out / _scalar(len(xs), out)
    return out if len(xs) > 1 else graphdl.identity(out)


_COMPARE = {
    "Equal": graphdl.equal, "Less": graphdl.less, "Greater": graphdl.greater, "LessOrEqual": graphdl.less_equal,
    "GreaterOrEqual": graphdl.greater_equal, "And": graphdl.logical_and, "Or": graphdl.logical_or,
    "Xor": graphdl.logical_xor,
}


@converter(*_COMPARE)
def compare(node):
    return _COMPARE[node.op_type](node.input(0), node.input(1))


@converter("Where")
def where(node):
    return graphdl.where_v2(node.input(0), node.input(1), node.input(2))


@converter("Clip")
def clip(node):
    x = node.input(0)
    if node.opset < 11:
        low, high = node.attr("min"), node.attr("max")
        low = None if low is None else _scalar(low, x)
        high = None if high is None else _scalar(high, x)
    else:
        low = node.input(1) if node.has_input(1) else None
        high = node.input(2) if node.has_input(2) else None
    if low is not None:
        x = graphdl.maximum(x, low)
    if high is not None:
        x = graphdl.minimum(x, high)
    return x if (low is not None or high is not None) else graphdl.identity(x)


@converter("Cast")
def cast(node):
    return graphdl.cast(node.input(0), onnx_dtype(node.attr("to")))


@converter("CastLike")
def cast_like(node):
    return graphdl.cast(node.input(0), node.input(1).dtype)


# -- matrix products -------------------------------------------------------------------------------------------------
@converter("MatMul")
def matmul(node):
    """NumPy matmul semantics: 1-D operands are promoted to matrices and the added dim dropped after."""
    a, b = node.input(0), node.input(1)
    ra, rb = rank_of(a, node), rank_of(b, node)
    if ra == 1:
        a = graphdl.expand_dims(a, 0)
    if rb == 1:
        b = graphdl.expand_dims(b, 1)
    out = graphdl.matmul(a, b)
    if ra == 1:
        out = graphdl.squeeze(out, [-1 if rb == 1 else -2])
    if rb == 1:
        out = graphdl.squeeze(out, [-1])
    return out


@converter("Gemm")
def gemm(node):
    """alpha * A' B' + beta * C, with A' and B' optionally transposed."""
    a, b = node.input(0), node.input(1)
    out = graphdl.matmul(a, b, transpose_a=bool(node.attr("transA", 0)), transpose_b=bool(node.attr("transB", 0)))
    alpha, beta = node.attr("alpha", 1.0), node.attr("beta", 1.0)
    if alpha != 1.0:
        out = out * _scalar(alpha, out)
    if node.has_input(2):
        c = node.input(2)
        out = out + (c if beta == 1.0 else c * _scalar(beta, c))
    return out


# -- reductions ------------------------------------------------------------------------------------------------------
def _reduce_axes(node, axes_from_input_since: int):
    """The reduction axes (None = all) from the attribute or, from ``axes_from_input_since`` on, input 1."""
    if node.opset >= axes_from_input_since:
        axes = node.int_list("__none__", 1, "axes")
    else:
        axes = node.attrs.get("axes")
        axes = None if axes is None else [int(a) for a in axes]
    if not axes:
        return "noop" if node.attr("noop_with_empty_axes", 0) else None
    rank = rank_of(node.input(0), node)
    return [normalize_axis(a, rank, node) for a in axes]


def _reduction(fn, pre=None, post=None, axes_input_since=18):
    def convert(node):
        x = node.input(0)
        axes = _reduce_axes(node, axes_input_since)
        if pre is not None:
            x = pre(x)
        if axes == "noop":
            return graphdl.identity(x)
        if x.dtype == graphdl.bool_:  # Max/Min of booleans: any/all
            fn_bool = {graphdl.reduce_max: graphdl.reduce_any, graphdl.reduce_min: graphdl.reduce_all}.get(fn)
            if fn_bool is not None:
                return fn_bool(x, axis=axes, keepdims=bool(node.attr("keepdims", 1)))
        out = fn(x, axis=axes, keepdims=bool(node.attr("keepdims", 1)))
        return post(out) if post is not None else out

    return convert


_REDUCTIONS = {
    "ReduceSum": _reduction(graphdl.reduce_sum, axes_input_since=13),
    "ReduceMean": _reduction(graphdl.reduce_mean),
    "ReduceMax": _reduction(graphdl.reduce_max),
    "ReduceMin": _reduction(graphdl.reduce_min),
    "ReduceProd": _reduction(graphdl.reduce_prod),
    "ReduceL1": _reduction(graphdl.reduce_sum, pre=graphdl.abs),
    "ReduceL2": _reduction(graphdl.reduce_sum, pre=graphdl.square, post=graphdl.sqrt),
    "ReduceSumSquare": _reduction(graphdl.reduce_sum, pre=graphdl.square),
    "ReduceLogSum": _reduction(graphdl.reduce_sum, post=graphdl.log),
    "ReduceLogSumExp": _reduction(graphdl.reduce_logsumexp),
}


@converter(*_REDUCTIONS, static_inputs=(1,))
def reduce(node):
    """Reduce* ops: axes as an attribute before opset 18 (13 for ReduceSum), as input 1 after; keepdims;
    noop_with_empty_axes."""
    return _REDUCTIONS[node.op_type](node)


@converter("ArgMax", "ArgMin")
def arg_extremum(node):
    """ArgMax/ArgMin along ``axis`` (int64), keepdims, and select_last_index by reversing the axis."""
    x = node.input(0)
    rank = rank_of(x, node)
    axis = normalize_axis(node.attr("axis", 0), rank, node)
    fn = graphdl.argmax if node.op_type == "ArgMax" else graphdl.argmin
    if node.attr("select_last_index", 0):
        n = graphdl.shape(x, out_type=graphdl.int64)[axis]
        out = n - 1 - fn(graphdl.reverse(x, [axis]), axis=axis, output_type=graphdl.int64)
    else:
        out = fn(x, axis=axis, output_type=graphdl.int64)
    return graphdl.expand_dims(out, axis) if node.attr("keepdims", 1) else out


def _hardmax(x, axis):
    depth = graphdl.shape(x)[axis]
    return graphdl.one_hot(graphdl.argmax(x, axis=axis), depth, axis=axis, dtype=x.dtype)


@converter("Softmax", "LogSoftmax", "Hardmax")
def softmax(node):
    """Softmax family: from opset 13 along one ``axis`` (default -1); before, over the dims from ``axis`` (default 1)
    on, flattened to 2-D."""
    x = node.input(0)
    rank = rank_of(x, node)
    fn = {"Softmax": nn.softmax, "LogSoftmax": nn.log_softmax, "Hardmax": _hardmax}[node.op_type]
    if node.opset >= 13:
        return fn(x, axis=normalize_axis(node.attr("axis", -1), rank, node))
    axis = normalize_axis(node.attr("axis", 1), rank, node) if rank else 0
    shape = graphdl.shape(x)
    flat = graphdl.reshape(x, graphdl.stack([graphdl.reduce_prod(shape[:axis]), graphdl.reduce_prod(shape[axis:])]))
    return graphdl.reshape(fn(flat, axis=1), shape)


@converter("CumSum", static_inputs=(1,))
def cumsum(node):
    """CumSum as a product with a triangular 0/1 matrix along the axis (exclusive and reverse pick the triangle)."""
    x = node.input(0)
    rank = rank_of(x, node)
    axis = normalize_axis(int(np.asarray(node.require_const(1, "axis")).reshape(())), rank, node)
    n = x.shape.as_tuple()[axis]
    if n is None:
        raise node.unsupported("CumSum needs a static length along its axis")
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")  # out[j] = sum_i x[i] * m[i, j]
    exclusive, reverse = node.attr("exclusive", 0), node.attr("reverse", 0)
    if reverse:
        m = (i > j) if exclusive else (i >= j)
    else:
        m = (i < j) if exclusive else (i <= j)
    tri = graphdl.constant(m.astype(x.dtype.np))
    moved = [d for d in range(rank) if d != axis] + [axis]
    out = graphdl.tensordot(graphdl.transpose(x, moved), tri, axes=[[rank - 1], [0]])
    return graphdl.transpose(out, list(np.argsort(moved)))
