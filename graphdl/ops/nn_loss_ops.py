"""Cross-entropy ops of ``tf.nn``: (sparse) softmax, sigmoid and weighted cross-entropy with logits.

The two fused ops ``SoftmaxCrossEntropyWithLogits`` and ``SparseSoftmaxCrossEntropyWithLogits``
output (loss, backprop) as TF does; the class axis is the last one and any number of leading
(batch) dims is accepted. Their gradients are differentiable again (second derivatives work).
"""

from __future__ import annotations

import numpy as np

from graphdl import dtypes, errors
from graphdl.framework.constant_value import constant_value
from graphdl.framework.op_def import define_op
from graphdl.framework.ops import convert_to_tensor, is_tensor_like, make_op, name_scope
from graphdl.ops import array_ops
from graphdl.ops.control_ops import stop_gradient
from graphdl.ops.math_ops import add, cast, multiply, negative, subtract
from graphdl.ops.nn_ops import _over_axis, _resolve_axis, _softmax_last, np_log_softmax, relu
from graphdl.ops.reduction_ops import reduce_sum
from graphdl.ops.shape_inference import FLOAT, require_dtype

__all__ = [
    "sigmoid_cross_entropy_with_logits",
    "softmax_cross_entropy_with_logits",
    "softmax_cross_entropy_with_logits_v2",
    "sparse_softmax_cross_entropy_with_logits",
    "weighted_cross_entropy_with_logits",
]


def _ensure_xent_args(name, sentinel, labels, logits):
    if sentinel is not None:
        raise ValueError(f"Only call `{name}` with named arguments (labels=..., logits=..., ...)")
    if labels is None or logits is None:
        raise ValueError("Both labels and logits must be provided.")


def _expand_last(vec, like):
    """``vec`` (shaped like ``like`` without its last dim) with a trailing dim of 1, to broadcast against ``like``."""
    if like.shape.is_fully_defined():
        return array_ops.reshape(vec, like.shape.as_list()[:-1] + [1])
    return array_ops.reshape(vec, array_ops.reduced_shape(array_ops.shape(like), np.array([-1], np.int32)))


def _is_zero(t):
    if t.op.type == "ZerosLike":
        return True
    value = constant_value(t)
    return value is not None and not np.any(value)


def _logits_second_order(logits, grad_grad):
    """The gradient that flows into ``logits`` through a (softmax - labels) backprop output."""
    sm = _softmax_last(logits)
    return multiply(subtract(grad_grad, reduce_sum(multiply(grad_grad, sm), -1, keepdims=True)), sm)


# -- SoftmaxCrossEntropyWithLogits -------------------------------------------------------------------------
def _infer_xent(op):
    logits, labels = op.inputs
    require_dtype(op, logits, FLOAT, "features")
    if labels.dtype != logits.dtype:
        raise TypeError(f"labels dtype {labels.dtype.name} does not match logits dtype {logits.dtype.name}")
    if logits.shape.ndims == 0 or labels.shape.ndims == 0:
        raise ValueError("logits and labels must have at least 1 dimension (the class dimension)")
    if not logits.shape.is_compatible_with(labels.shape):
        raise ValueError(
            f"logits and labels must have the same shape: logits_size={logits.shape} labels_size={labels.shape}"
        )
    shape = logits.shape.merge_with(labels.shape).as_tuple()
    return [(None if shape is None else shape[:-1], logits.dtype), (shape, logits.dtype)]


def _xent_kernel(ctx, logits, labels):
    if logits.shape != labels.shape:
        raise errors.InvalidArgumentError(
            None, ctx.op,
            f"logits and labels must have the same shape: logits_size={list(logits.shape)} "
            f"labels_size={list(labels.shape)} (op '{ctx.op.name}')",
        )
    logsm = np_log_softmax(logits)
    loss = -np.sum(labels * logsm, axis=-1)
    return loss.astype(logits.dtype), (np.exp(logsm) - labels).astype(logits.dtype)


def _xent_grad(op, grad_loss, grad_grad):
    logits = op.inputs[0]
    g = _expand_last(grad_loss, logits)
    d_logits = multiply(g, op.outputs[1])
    d_labels = multiply(g, negative(_over_axis("LogSoftmax", logits, -1, None)))
    if grad_grad is not None and not _is_zero(grad_grad):
        d_logits = add(d_logits, _logits_second_order(logits, grad_grad))
        d_labels = subtract(d_labels, grad_grad)
    return [d_logits, d_labels]


define_op("SoftmaxCrossEntropyWithLogits", infer=_infer_xent, kernel=_xent_kernel, grad=_xent_grad)


def softmax_cross_entropy_with_logits_v2(labels, logits, axis=None, name=None, dim=None):
    """Softmax cross-entropy between ``labels`` (a distribution per row) and unscaled ``logits`` along ``axis``.

    Gradients flow into both ``logits`` and ``labels``. Returns the loss with ``axis`` removed.
    """
    axis = _resolve_axis(axis, dim)
    with name_scope(name, "softmax_cross_entropy_with_logits", [logits, labels]) as scope:
        logits = convert_to_tensor(logits)
        labels = convert_to_tensor(labels) if is_tensor_like(labels) else convert_to_tensor(labels, logits.dtype)
        to_float32 = logits.dtype == dtypes.float16
        precise = cast(logits, dtypes.float32) if to_float32 else logits
        labels = cast(labels, precise.dtype)
        ndims = precise.shape.ndims
        if axis != -1 and not (ndims is not None and axis == ndims - 1):
            if ndims is None:
                raise ValueError(f"softmax_cross_entropy_with_logits over axis {axis} needs the rank of the logits")
            if not -ndims <= axis < ndims:
                raise ValueError(f"axis {axis} is out of range for logits of rank {ndims}")
            from graphdl.ops.layout_ops import transpose

            axis %= ndims
            perm = [i for i in range(ndims) if i != axis] + [axis]
            precise, labels = transpose(precise, perm), transpose(labels, perm)
        cost = make_op("SoftmaxCrossEntropyWithLogits", [precise, labels], name=scope).outputs[0]
        return cast(cost, dtypes.float16) if to_float32 else cost


def softmax_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None, dim=-1, name=None, axis=None):
    """Softmax cross-entropy (TF1's deprecated v1): like the v2 op, but no gradient flows into ``labels``.

    Must be called with named arguments.
    """
    _ensure_xent_args("softmax_cross_entropy_with_logits", _sentinel, labels, logits)
    if axis is not None:
        if dim not in (-1, None):
            raise ValueError("Cannot specify both 'dim' and 'axis'")
        dim = axis
    with name_scope(name, "softmax_cross_entropy_with_logits_sg", [logits, labels]) as scope:
        logits = convert_to_tensor(logits)
        labels = convert_to_tensor(labels) if is_tensor_like(labels) else convert_to_tensor(labels, logits.dtype)
        labels = stop_gradient(labels, name="labels_stop_gradient")
    return softmax_cross_entropy_with_logits_v2(labels=labels, logits=logits, axis=dim, name=scope)


# -- SparseSoftmaxCrossEntropyWithLogits ---------------------------------------------------------------------
def _infer_sparse_xent(op):
    logits, labels = op.inputs
    require_dtype(op, logits, FLOAT, "features")
    require_dtype(op, labels, (dtypes.int32, dtypes.int64), "labels")
    dims = logits.shape.as_tuple()
    if dims is not None and len(dims) == 0:
        raise ValueError(f"Logits cannot be scalars - received shape {logits.shape}.")
    if dims is not None and labels.shape.ndims is not None:
        if labels.shape.ndims != len(dims) - 1:
            raise ValueError(
                f"Rank mismatch: Rank of labels (received {labels.shape.ndims}) should equal rank of logits minus 1 "
                f"(received {len(dims)})."
            )
        if not labels.shape.is_compatible_with(dims[:-1]):
            raise ValueError(
                f"Shape mismatch: The shape of labels (received {labels.shape}) should equal the shape of logits "
                f"except for the last dimension (received {logits.shape})."
            )
    batch = labels.shape.merge_with(dims[:-1]).as_tuple() if dims is not None else labels.shape.as_tuple()
    full = None
    if dims is not None:
        full = tuple(batch) + (dims[-1],)
    elif batch is not None:
        full = tuple(batch) + (None,)
    return [(batch, logits.dtype), (full, logits.dtype)]


def _sparse_xent_kernel(ctx, logits, labels):
    num_classes = logits.shape[-1]
    if labels.shape != logits.shape[:-1]:
        raise errors.InvalidArgumentError(
            None, ctx.op,
            f"labels shape {list(labels.shape)} must equal logits shape {list(logits.shape)} without its last "
            f"dimension (op '{ctx.op.name}')",
        )
    bad = (labels < 0) | (labels >= num_classes)
    if np.any(bad):
        value = int(labels[bad].flat[0])
        shown = " ".join(str(int(v)) for v in labels.reshape(-1)[:20])
        raise errors.InvalidArgumentError(
            None, ctx.op,
            f"Received a label value of {value} which is outside the valid range of [0, {num_classes}).  "
            f"Label values: {shown} (op '{ctx.op.name}')",
        )
    logsm = np_log_softmax(logits)
    idx = labels[..., None].astype(np.int64)
    picked = np.take_along_axis(logsm, idx, axis=-1)[..., 0]
    backprop = np.exp(logsm)
    np.put_along_axis(backprop, idx, np.take_along_axis(backprop, idx, axis=-1) - 1, axis=-1)
    return (-picked).astype(logits.dtype), backprop.astype(logits.dtype)


def _sparse_xent_grad(op, grad_loss, grad_grad):
    logits = op.inputs[0]
    d_logits = multiply(_expand_last(grad_loss, logits), op.outputs[1])
    if grad_grad is not None and not _is_zero(grad_grad):
        d_logits = add(d_logits, _logits_second_order(logits, grad_grad))
    return [d_logits, None]


define_op(
    "SparseSoftmaxCrossEntropyWithLogits", infer=_infer_sparse_xent, kernel=_sparse_xent_kernel, grad=_sparse_xent_grad
)


def sparse_softmax_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None, name=None):
    """Softmax cross-entropy with integer class ``labels`` (shape: logits' shape without its last dim).

    Labels must lie in ``[0, num_classes)``; others raise InvalidArgumentError when run.
    Must be called with named arguments.
    """
    _ensure_xent_args("sparse_softmax_cross_entropy_with_logits", _sentinel, labels, logits)
    with name_scope(name, "SparseSoftmaxCrossEntropyWithLogits", [labels, logits]):
        labels = convert_to_tensor(labels)
        logits = convert_to_tensor(logits)
        if not labels.dtype.is_integer or labels.dtype not in (dtypes.int32, dtypes.int64):
            raise TypeError(
                f"sparse_softmax_cross_entropy_with_logits: labels must be int32 or int64 class indices, got "
                f"{labels.dtype.name} ('{labels.name}'). Use softmax_cross_entropy_with_logits_v2 for one-hot or "
                "probability labels."
            )
        lshape, xshape = labels.shape, logits.shape
        if xshape.ndims == 0:
            raise ValueError(f"Logits cannot be scalars - received shape {xshape}.")
        if xshape.ndims is not None and lshape.ndims is not None and lshape.ndims != xshape.ndims - 1:
            raise ValueError(
                f"Rank mismatch: Rank of labels (received {lshape.ndims}) should equal rank of logits minus 1 "
                f"(received {xshape.ndims})."
            )
        if xshape.ndims is not None and not lshape.is_compatible_with(xshape.as_tuple()[:-1]):
            raise ValueError(
                f"Shape mismatch: The shape of labels (received {lshape}) should equal the shape of logits except "
                f"for the last dimension (received {xshape})."
            )
        precise = cast(logits, dtypes.float32) if logits.dtype == dtypes.float16 else logits
        cost = make_op(
            "SparseSoftmaxCrossEntropyWithLogits", [precise, labels], name=name or "SparseSoftmaxCrossEntropyWithLogits"
        ).outputs[0]
        return cast(cost, dtypes.float16) if logits.dtype == dtypes.float16 else cost


# -- sigmoid / weighted cross-entropy (composites) -------------------------------------------------------------
def _logits_and_labels(logits, labels, what):
    logits = convert_to_tensor(logits, name="logits")
    labels = convert_to_tensor(labels) if is_tensor_like(labels) else convert_to_tensor(labels, logits.dtype)
    if not labels.shape.is_compatible_with(logits.shape):
        raise ValueError(f"logits and labels must have the same shape ({logits.shape} vs {labels.shape}) in {what}")
    return logits, labels


def sigmoid_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None, name=None):
    """Elementwise logistic loss ``max(x, 0) - x * z + log(1 + exp(-abs(x)))`` of logits x and labels z.

    Must be called with named arguments.
    """
    _ensure_xent_args("sigmoid_cross_entropy_with_logits", _sentinel, labels, logits)
    from graphdl.ops import math_ops as m

    with name_scope(name, "logistic_loss", [logits, labels]) as scope:
        logits, labels = _logits_and_labels(logits, labels, "sigmoid_cross_entropy_with_logits")
        zeros = array_ops.zeros_like(logits)
        cond = m.greater_equal(logits, zeros)
        relu_logits = m.where(cond, logits, zeros)
        neg_abs_logits = m.where(cond, negative(logits), logits)
        return add(subtract(relu_logits, multiply(logits, labels)), m.log1p(m.exp(neg_abs_logits)), name=scope)


def weighted_cross_entropy_with_logits(labels=None, logits=None, pos_weight=None, name=None, targets=None):
    """Logistic loss with positive examples weighted by ``pos_weight``:
    ``(1 - z) * x + (1 + (pos_weight - 1) * z) * log(1 + exp(-x))``, computed stably.
    """
    if labels is not None and targets is not None:
        raise ValueError("Cannot specify both 'targets' and 'labels'")
    labels = targets if labels is None else labels
    if labels is None or logits is None or pos_weight is None:
        raise ValueError("labels, logits and pos_weight must all be provided.")
    from graphdl.ops import math_ops as m

    with name_scope(name, "logistic_loss", [logits, labels]) as scope:
        logits, labels = _logits_and_labels(logits, labels, "weighted_cross_entropy_with_logits")
        if not is_tensor_like(pos_weight):
            pos_weight = convert_to_tensor(pos_weight, logits.dtype)
        log_weight = add(multiply(subtract(pos_weight, 1), labels), 1)
        softplus_neg = add(m.log1p(m.exp(negative(m.abs(logits)))), relu(negative(logits)))
        return add(multiply(subtract(1, labels), logits), multiply(log_weight, softplus_neg), name=scope)
