"""Neural-network ops: activations, softmax / log_softmax, bias_add, l2_loss, and their gradient ops.

Each op follows TF1's op type names (``Relu``, ``ReluGrad``, ``BiasAdd``, ``Softmax`` ...). The
gradient ops (``ReluGrad``, ``EluGrad`` ...) are themselves differentiable, so second derivatives
work. The composites of ``tf.nn`` built on these (dropout, moments, l2_normalize ...) live in
``graphdl.ops.nn_impl``; the cross-entropy losses in ``graphdl.ops.nn_loss_ops``.
"""

from __future__ import annotations

import numpy as np

from graphdl import dtypes
from graphdl.framework.constant_value import constant_value
from graphdl.framework.op_def import define_op
from graphdl.framework.ops import convert_to_tensor, make_tensor, name_scope
from graphdl.ops import array_ops
from graphdl.ops.math_ops import cast, multiply, subtract
from graphdl.ops.reduction_ops import reduce_sum
from graphdl.ops.shape_inference import FLOAT, NUMERIC, require_dtype

__all__ = [
    "bias_add",
    "elu",
    "l2_loss",
    "leaky_relu",
    "log_softmax",
    "relu",
    "relu6",
    "selu",
    "softmax",
    "softplus",
    "softsign",
]

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _math():
    # math_ops grows functions (where, exp, less ...) that this module's second-order gradients use.
    from graphdl.ops import math_ops

    return math_ops


# -- shape rules ---------------------------------------------------------------------------------
def _unary_rule(allowed):
    def infer(op):
        x = op.inputs[0]
        require_dtype(op, x, allowed, "features")
        return [(x.shape.as_tuple(), x.dtype)]

    return infer


def _grad_op_rule(op):
    """(gradients, features-or-outputs) -> a gradient shaped like both."""
    dy, x = op.inputs[0], op.inputs[1]
    if dy.dtype != x.dtype:
        raise TypeError(f"gradients ({dy.dtype.name}) and features ({x.dtype.name}) of {op.type} must share a dtype")
    if not dy.shape.is_compatible_with(x.shape):
        raise ValueError(f"gradients shape {dy.shape} and features shape {x.shape} of {op.type} must be equal")
    return [(dy.shape.merge_with(x.shape).as_tuple(), x.dtype)]


def _second_order(grad_op_fn):
    """Gradient of a (dy, x) -> dy * f'(x) op whose f'(x) is piecewise constant: d/d(dy) only."""

    def grad(op, g):
        return [grad_op_fn(g, op.inputs[1], op), array_ops.zeros_like(op.inputs[1])]

    return grad


# -- Relu ------------------------------------------------------------------------------------------
define_op(
    "Relu",
    infer=_unary_rule(NUMERIC),
    kernel=lambda ctx, x: np.maximum(x, np.zeros((), x.dtype)),
    grad=lambda op, dy: [relu_grad(dy, op.outputs[0])],
)
define_op(
    "ReluGrad",
    infer=_grad_op_rule,
    kernel=lambda ctx, dy, y: np.where(y > 0, dy, np.zeros((), dy.dtype)),
    grad=_second_order(lambda g, y, op: relu_grad(g, y)),
)


def relu(features, name=None):
    """Rectified linear unit: ``max(features, 0)``."""
    return make_tensor("Relu", [convert_to_tensor(features)], name=name or "Relu")


def relu_grad(gradients, features, name=None):
    """``gradients`` where ``features > 0``, else 0 (the backprop of Relu)."""
    return make_tensor("ReluGrad", [gradients, features], name=name or "ReluGrad")


# -- Relu6 -------------------------------------------------------------------------------------------
define_op(
    "Relu6",
    infer=_unary_rule(NUMERIC),
    kernel=lambda ctx, x: np.clip(x, 0, 6).astype(x.dtype),
    grad=lambda op, dy: [relu6_grad(dy, op.inputs[0])],
)
define_op(
    "Relu6Grad",
    infer=_grad_op_rule,
    kernel=lambda ctx, dy, x: np.where((x > 0) & (x < 6), dy, np.zeros((), dy.dtype)),
    grad=_second_order(lambda g, x, op: relu6_grad(g, x)),
)


def relu6(features, name=None):
    """``min(max(features, 0), 6)``."""
    with name_scope(name, "Relu6", [features]) as scope:
        return make_tensor("Relu6", [convert_to_tensor(features)], name=scope)


def relu6_grad(gradients, features, name=None):
    """``gradients`` where ``0 < features < 6``, else 0."""
    return make_tensor("Relu6Grad", [gradients, features], name=name or "Relu6Grad")


# -- LeakyRelu -------------------------------------------------------------------------------------
define_op(
    "LeakyRelu",
    infer=_unary_rule(FLOAT),
    kernel=lambda ctx, x: np.where(x > 0, x, x * np.asarray(ctx.attrs["alpha"], x.dtype)),
    grad=lambda op, dy: [leaky_relu_grad(dy, op.inputs[0], op.attrs["alpha"])],
)
define_op(
    "LeakyReluGrad",
    infer=_grad_op_rule,
    kernel=lambda ctx, dy, x: np.where(x > 0, dy, dy * np.asarray(ctx.attrs["alpha"], dy.dtype)),
    grad=_second_order(lambda g, x, op: leaky_relu_grad(g, x, op.attrs["alpha"])),
)


def leaky_relu(features, alpha=0.2, name=None):
    """``features`` where positive, ``alpha * features`` elsewhere (integers are cast to float32)."""
    with name_scope(name, "LeakyRelu", [features]) as scope:
        features = convert_to_tensor(features)
        if features.dtype.is_integer:
            features = cast(features, dtypes.float32)
        if isinstance(alpha, np.ndarray):
            alpha = alpha.item()
        return make_tensor("LeakyRelu", [features], {"alpha": float(alpha)}, name=scope)


def leaky_relu_grad(gradients, features, alpha, name=None):
    """``gradients`` where ``features > 0``, else ``alpha * gradients``."""
    return make_tensor("LeakyReluGrad", [gradients, features], {"alpha": float(alpha)}, name=name or "LeakyReluGrad")


# -- Elu / Selu (gradients from the outputs, as TF) ---------------------------------------------------------
def _where_negative(y, value):
    m = _math()
    return m.where(m.less(y, array_ops.zeros_like(y)), value, array_ops.zeros_like(y))


define_op(
    "Elu",
    infer=_unary_rule(FLOAT),
    kernel=lambda ctx, x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
    grad=lambda op, dy: [elu_grad(dy, op.outputs[0])],
)
define_op(
    "EluGrad",
    infer=_grad_op_rule,
    kernel=lambda ctx, dy, y: np.where(y < 0, dy * (y + 1), dy),
    grad=lambda op, g: [elu_grad(g, op.inputs[1]), _where_negative(op.inputs[1], multiply(g, op.inputs[0]))],
)


def elu(features, name=None):
    """Exponential linear unit: ``features`` if positive, else ``exp(features) - 1``."""
    return make_tensor("Elu", [convert_to_tensor(features)], name=name or "Elu")


def elu_grad(gradients, outputs, name=None):
    """Backprop of Elu from its outputs: ``gradients * (outputs + 1)`` where ``outputs < 0``."""
    return make_tensor("EluGrad", [gradients, outputs], name=name or "EluGrad")


define_op(
    "Selu",
    infer=_unary_rule(FLOAT),
    kernel=lambda ctx, x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0))),
    grad=lambda op, dy: [selu_grad(dy, op.outputs[0])],
)
define_op(
    "SeluGrad",
    infer=_grad_op_rule,
    kernel=lambda ctx, dy, y: np.where(y < 0, dy * (y + SELU_SCALE * SELU_ALPHA), dy * SELU_SCALE),
    grad=lambda op, g: [selu_grad(g, op.inputs[1]), _where_negative(op.inputs[1], multiply(g, op.inputs[0]))],
)


def selu(features, name=None):
    """Scaled ELU: ``scale * features`` if positive, else ``scale * alpha * (exp(features) - 1)``."""
    return make_tensor("Selu", [convert_to_tensor(features)], name=name or "Selu")


def selu_grad(gradients, outputs, name=None):
    """Backprop of Selu from its outputs."""
    return make_tensor("SeluGrad", [gradients, outputs], name=name or "SeluGrad")


# -- Softplus / Softsign -----------------------------------------------------------------------------------
def _stable_sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _softplus_grad_grad(op, g):
    dy, x = op.inputs
    m = _math()
    d2x = m.divide(multiply(g, dy), m.add(m.add(m.exp(m.negative(x)), 2.0), m.exp(x)))
    return [softplus_grad(g, x), d2x]


def _softsign_grad_grad(op, g):
    dy, x = op.inputs
    m = _math()
    denom = m.add(m.abs(x), 1.0)
    d2x = m.divide(multiply(multiply(g, dy), multiply(m.sign(x), -2.0)), multiply(denom, multiply(denom, denom)))
    return [softsign_grad(g, x), d2x]


define_op(
    "Softplus",
    infer=_unary_rule(FLOAT),
    kernel=lambda ctx, x: np.logaddexp(np.zeros((), x.dtype), x),
    grad=lambda op, dy: [softplus_grad(dy, op.inputs[0])],
)
define_op(
    "SoftplusGrad",
    infer=_grad_op_rule,
    kernel=lambda ctx, dy, x: dy * _stable_sigmoid(x),
    grad=_softplus_grad_grad,
)
define_op(
    "Softsign",
    infer=_unary_rule(FLOAT),
    kernel=lambda ctx, x: x / (1 + np.abs(x)),
    grad=lambda op, dy: [softsign_grad(dy, op.inputs[0])],
)
define_op(
    "SoftsignGrad",
    infer=_grad_op_rule,
    kernel=lambda ctx, dy, x: dy / np.square(1 + np.abs(x)),
    grad=_softsign_grad_grad,
)


def softplus(features, name=None):
    """``log(exp(features) + 1)``, computed without overflow."""
    return make_tensor("Softplus", [convert_to_tensor(features)], name=name or "Softplus")


def softplus_grad(gradients, features, name=None):
    """Backprop of Softplus: ``gradients * sigmoid(features)``."""
    return make_tensor("SoftplusGrad", [gradients, features], name=name or "SoftplusGrad")


def softsign(features, name=None):
    """``features / (abs(features) + 1)``."""
    return make_tensor("Softsign", [convert_to_tensor(features)], name=name or "Softsign")


def softsign_grad(gradients, features, name=None):
    """Backprop of Softsign: ``gradients / (1 + abs(features))**2``."""
    return make_tensor("SoftsignGrad", [gradients, features], name=name or "SoftsignGrad")


# -- Softmax / LogSoftmax (over the last axis) --------------------------------------------------------------
def _infer_softmax(op):
    x = op.inputs[0]
    require_dtype(op, x, FLOAT, "logits")
    if x.shape.ndims == 0:
        raise ValueError(f"logits must have >= 1 dimension, got shape {x.shape}")
    return [(x.shape.as_tuple(), x.dtype)]


def np_log_softmax(x):
    """Stable log-softmax over the last axis of a NumPy array."""
    shifted = x - np.max(x, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def np_softmax(x):
    """Stable softmax over the last axis of a NumPy array."""
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def _softmax_grad(op, dy):
    y = op.outputs[0]
    return [multiply(subtract(dy, reduce_sum(multiply(dy, y), -1, keepdims=True)), y)]


def _log_softmax_grad(op, dy):
    return [subtract(dy, multiply(reduce_sum(dy, -1, keepdims=True), _softmax_last(op.inputs[0])))]


define_op("Softmax", infer=_infer_softmax, kernel=lambda ctx, x: np_softmax(x), grad=_softmax_grad)
define_op("LogSoftmax", infer=_infer_softmax, kernel=lambda ctx, x: np_log_softmax(x), grad=_log_softmax_grad)


def _softmax_last(logits, name=None):
    return make_tensor("Softmax", [logits], name=name or "Softmax")


def _resolve_axis(axis, dim):
    if axis is not None and dim is not None:
        raise ValueError("Cannot specify both 'dim' and 'axis'")
    axis = dim if axis is None else axis
    return -1 if axis is None else axis


def _over_axis(op_type, logits, axis, name):
    """Apply last-axis op ``op_type`` along ``axis`` by swapping that axis with the last one, as TF1 does."""
    logits = convert_to_tensor(logits)
    if hasattr(axis, "op"):
        value = constant_value(axis)
        if value is None:
            raise ValueError(f"{op_type}: the axis must be known when the graph is built, got tensor '{axis.name}'")
        axis = int(value)
    axis = int(axis)
    ndims = logits.shape.ndims
    if axis == -1 or (ndims is not None and axis == ndims - 1):
        return make_tensor(op_type, [logits], name=name or op_type)
    if ndims is None:
        raise ValueError(f"{op_type} over axis {axis} needs the rank of '{logits.name}' to be known")
    if not -ndims <= axis < ndims:
        from graphdl import errors

        raise errors.InvalidArgumentError(
            None, None,
            f"Dimension ({axis}) must be in the range [{-ndims}, {ndims}) where {ndims} is the number of "
            "dimensions in the input.",
        )
    from graphdl.ops.layout_ops import transpose

    axis %= ndims
    perm = list(range(ndims))
    perm[axis], perm[-1] = perm[-1], perm[axis]
    out = make_tensor(op_type, [transpose(logits, perm)], name=op_type)
    out = transpose(out, perm, name=name)
    out.set_shape(logits.shape)
    return out


def softmax(logits, axis=None, name=None, dim=None):
    """``exp(logits) / reduce_sum(exp(logits), axis)`` along ``axis`` (default: the last), computed stably."""
    return _over_axis("Softmax", logits, _resolve_axis(axis, dim), name)


def log_softmax(logits, axis=None, name=None, dim=None):
    """``logits - log(reduce_sum(exp(logits), axis))`` along ``axis`` (default: the last), computed stably."""
    return _over_axis("LogSoftmax", logits, _resolve_axis(axis, dim), name)


# -- BiasAdd -------------------------------------------------------------------------------------------------------
def _channel_axis(data_format, rank):
    return 1 if data_format == "NCHW" else rank - 1


def _infer_bias_add(op):
    value, bias = op.inputs
    fmt = op.attrs["data_format"]
    if value.dtype != bias.dtype:
        raise TypeError(f"bias dtype {bias.dtype.name} does not match value dtype {value.dtype.name}")
    if bias.shape.ndims not in (None, 1):
        raise ValueError(f"Shape must be rank 1 but is rank {bias.shape.ndims}: bias must be a vector, got shape {bias.shape}")
    dims = value.shape.as_tuple()
    if dims is None:
        return [(None, value.dtype)]
    min_rank = 3 if fmt == "NCHW" else 2
    if len(dims) < min_rank:
        raise ValueError(f"Shape must be at least rank {min_rank} but is rank {len(dims)} (data_format {fmt})")
    c = _channel_axis(fmt, len(dims))
    b = bias.shape.as_tuple()[0] if bias.shape.ndims == 1 else None
    if dims[c] is not None and b is not None and dims[c] != b:
        raise ValueError(f"Dimensions must be equal, but are {dims[c]} and {b}: the channel dim of value ({fmt}) "
                         f"must match the size of bias")
    out = list(dims)
    out[c] = dims[c] if dims[c] is not None else b
    return [(tuple(out), value.dtype)]


def _bias_add_kernel(ctx, value, bias):
    fmt = ctx.attrs["data_format"]
    c = _channel_axis(fmt, value.ndim)
    if value.shape[c] != bias.shape[0]:
        from graphdl import errors

        raise errors.InvalidArgumentError(
            None, ctx.op,
            f"Must provide as many biases as the channel dimension of the input tensor: {bias.shape} vs. {value.shape} "
            f"(op '{ctx.op.name}', data_format {fmt})",
        )
    shape = [1] * value.ndim
    shape[c] = bias.shape[0]
    return value + bias.reshape(shape)


def _infer_bias_add_grad(op):
    dy = op.inputs[0]
    dims = dy.shape.as_tuple()
    if dims is None:
        return [((None,), dy.dtype)]
    return [((dims[_channel_axis(op.attrs["data_format"], len(dims))],), dy.dtype)]


def _bias_add_grad_kernel(ctx, dy):
    c = _channel_axis(ctx.attrs["data_format"], dy.ndim)
    return np.sum(dy, axis=tuple(i for i in range(dy.ndim) if i != c), dtype=dy.dtype)


define_op(
    "BiasAdd",
    infer=_infer_bias_add,
    kernel=_bias_add_kernel,
    grad=lambda op, dy: [dy, bias_add_grad(dy, op.attrs["data_format"])],
)
define_op(
    "BiasAddGrad",
    infer=_infer_bias_add_grad,
    kernel=_bias_add_grad_kernel,
    # d(sum over non-channel dims)/d(dy) broadcasts g back: BiasAdd onto zeros does exactly that.
    grad=lambda op, g: [make_tensor("BiasAdd", [array_ops.zeros_like(op.inputs[0]), g],
                                    {"data_format": op.attrs["data_format"]}, "BiasAdd")],
)


def _normalize_data_format(data_format):
    if data_format is None:
        return "NHWC"
    if data_format.startswith("NC"):
        return "NCHW"
    if data_format.startswith("N") and data_format.endswith("C"):
        return "NHWC"
    raise ValueError(f"data_format must be of the form `N...C` or `NC...`, got {data_format!r}")


def bias_add(value, bias, data_format=None, name=None):
    """Add the 1-D ``bias`` along the channel dim of ``value`` (last for "NHWC"/"N...C", second for "NCHW"/"NC...")."""
    with name_scope(name, "BiasAdd", [value, bias]) as scope:
        fmt = _normalize_data_format(data_format)
        value = convert_to_tensor(value)
        bias = convert_to_tensor(bias, dtype=value.dtype)
        return make_tensor("BiasAdd", [value, bias], {"data_format": fmt}, name=scope)


def bias_add_grad(out_backprop, data_format="NHWC", name=None):
    """The gradient of BiasAdd w.r.t. its bias: ``out_backprop`` summed over all but the channel dim."""
    return make_tensor("BiasAddGrad", [out_backprop], {"data_format": data_format}, name=name or "BiasAddGrad")


# -- L2Loss ------------------------------------------------------------------------------------------------
def _infer_l2_loss(op):
    x = op.inputs[0]
    require_dtype(op, x, FLOAT, "t")
    return [((), x.dtype)]


define_op(
    "L2Loss",
    infer=_infer_l2_loss,
    kernel=lambda ctx, x: np.asarray(np.sum(np.square(x)) / 2, dtype=x.dtype),
    grad=lambda op, dy: [multiply(op.inputs[0], dy)],
)


def l2_loss(t, name=None):
    """Half the squared L2 norm of ``t``: ``sum(t ** 2) / 2``."""
    return make_tensor("L2Loss", [convert_to_tensor(t)], name=name or "L2Loss")
