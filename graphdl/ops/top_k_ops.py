"""The k largest entries of the last dim (``TopKV2``) and whether targets rank in the top k (``InTopKV2``)."""

from __future__ import annotations

import collections

import numpy as np

from graphdl import dtypes, errors
from graphdl.framework.constant_value import constant_value
from graphdl.framework.op_def import define_op
from graphdl.framework.ops import convert_to_tensor, is_tensor_like, make_op, make_tensor, name_scope
from graphdl.ops.math_ops import NUMERIC, check_dtype

__all__ = ["in_top_k", "top_k"]

TopKV2 = collections.namedtuple("TopKV2", ["values", "indices"])


def _int_scalar(op, t, what, allowed=(dtypes.int32,)):
    check_dtype(t, allowed, op.type, what)
    if t.shape.ndims not in (None, 0):
        raise ValueError(f"{op.type} '{op.name}': {what} must be a scalar (0-D), got shape {t.shape}")
    value = constant_value(t)
    if value is not None and int(value) < 0:
        raise ValueError(f"{op.type} '{op.name}': need {what} >= 0, got {int(value)}")
    return None if value is None else int(value)


# -- TopKV2 ---------------------------------------------------------------------------------------
def _infer_top_k(op):
    x, k_t = op.inputs
    check_dtype(x, NUMERIC, "TopKV2", "input")
    k = _int_scalar(op, k_t, "k")
    dims = x.shape.as_tuple()
    if dims is None:
        return [(None, x.dtype), (None, dtypes.int32)]
    if not dims:
        raise ValueError(f"TopKV2 '{op.name}': input must be at least 1-D, got a scalar '{x.name}'")
    if k is not None and dims[-1] is not None and dims[-1] < k:
        raise ValueError(f"TopKV2 '{op.name}': input must have at least k={k} columns, '{x.name}' has shape {x.shape}")
    out = dims[:-1] + (k,)
    return [(out, x.dtype), (out, dtypes.int32)]


def descending_order(x):
    """Indices sorting the last dim of ``x`` from largest to smallest, equal values by lower index first."""
    n = x.shape[-1]
    # A stable ascending sort of the reversed row, read backwards, puts ties in increasing index order.
    return (n - 1 - np.argsort(x[..., ::-1], axis=-1, kind="stable"))[..., ::-1]


def _top_k_kernel(ctx, x, k):
    k = int(k)
    if x.ndim == 0:
        raise errors.InvalidArgumentError(None, ctx.op, f"TopKV2 '{ctx.op.name}': input must be at least 1-D")
    if k < 0:
        raise errors.InvalidArgumentError(None, ctx.op, f"TopKV2 '{ctx.op.name}': need k >= 0, got {k}")
    if x.shape[-1] < k:
        raise errors.InvalidArgumentError(
            None, ctx.op, f"TopKV2 '{ctx.op.name}': input must have at least k columns. Had {x.shape[-1]}, needed {k}")
    indices = descending_order(x)[..., :k]
    return np.take_along_axis(x, indices, axis=-1), indices.astype(np.int32)


def _top_k_grad(op, dvalues, dindices):
    """Each value's gradient goes back to the position it came from (scatter of the flat positions)."""
    from graphdl.ops.array_ops import reshape, shape, stack
    from graphdl.ops.indexing_ops import scatter_nd
    from graphdl.ops.layout_ops import expand_dims
    from graphdl.ops.range_ops import range as range_
    from graphdl.ops.reduction_ops import reduce_prod

    x, indices = op.inputs[0], op.outputs[1]
    if constant_value(op.inputs[1]) == 0:  # nothing selected (and no [-1, 0] reshape to make)
        from graphdl.ops.array_ops import zeros_like

        return [zeros_like(x), None]
    in_shape = shape(x)
    k = shape(indices)[-1]
    rows_by_k = reshape(indices, stack([-1, k]))
    n = in_shape[-1]
    offsets = expand_dims(range_(0, shape(rows_by_k)[0] * n, n), -1)
    flat = reshape(rows_by_k + offsets, [-1])
    grad = scatter_nd(expand_dims(flat, -1), reshape(dvalues, [-1]), stack([reduce_prod(in_shape)]))
    return [reshape(grad, in_shape), None]


define_op("TopKV2", infer=_infer_top_k, kernel=_top_k_kernel, grad=_top_k_grad)


def top_k(input, k=1, sorted=True, name=None):
    """The ``k`` largest entries along the last dim of ``input`` and their int32 positions.

    Returns a ``TopKV2(values, indices)`` namedtuple, each of shape ``input.shape[:-1] + [k]``,
    values in descending order (equal values: the lower index first). ``sorted=False`` is
    accepted; the result is sorted either way, which TF1 allows.
    """
    x = convert_to_tensor(input, name="input")
    k_t = convert_to_tensor(k) if is_tensor_like(k) else convert_to_tensor(np.int32(k), name="k")
    check_dtype(k_t, (dtypes.int32,), "TopKV2", "k")
    op = make_op("TopKV2", [x, k_t], {"sorted": bool(sorted)}, name=name or "TopKV2")
    return TopKV2(op.outputs[0], op.outputs[1])


# -- InTopKV2 -------------------------------------------------------------------------------------
def _infer_in_top_k(op):
    predictions, targets, k_t = op.inputs
    check_dtype(predictions, dtypes.FLOATING_DTYPES, "InTopKV2", "predictions")
    check_dtype(targets, (dtypes.int32, dtypes.int64), "InTopKV2", "targets")
    if k_t.dtype != targets.dtype:
        raise TypeError(f"InTopKV2 '{op.name}': k ({k_t.dtype.name}) must have the dtype of targets "
                        f"({targets.dtype.name})")
    _int_scalar(op, k_t, "k", (targets.dtype,))
    pd, td = predictions.shape.as_tuple(), targets.shape.as_tuple()
    if pd is not None and len(pd) != 2:
        raise ValueError(f"InTopKV2 '{op.name}': predictions must be 2-D [batch, classes], got shape "
                         f"{predictions.shape}")
    if td is not None and len(td) != 1:
        raise ValueError(f"InTopKV2 '{op.name}': targets must be 1-D [batch], got shape {targets.shape}")
    batch = td[0] if td is not None else None
    if pd is not None:
        if None not in (batch, pd[0]) and batch != pd[0]:
            raise ValueError(f"InTopKV2 '{op.name}': first dimension of predictions {pd[0]} must match length of "
                             f"targets {batch}")
        batch = pd[0] if batch is None else batch
    return [((batch,), dtypes.bool_)]


def _in_top_k_kernel(ctx, predictions, targets, k):
    if predictions.ndim != 2 or targets.ndim != 1 or predictions.shape[0] != targets.shape[0]:
        raise errors.InvalidArgumentError(
            None, ctx.op, f"InTopKV2 '{ctx.op.name}': predictions must be [batch, classes] and targets [batch], got "
                          f"shapes {list(predictions.shape)} and {list(targets.shape)}")
    k = int(k)
    if k < 0:
        raise errors.InvalidArgumentError(None, ctx.op, f"InTopKV2 '{ctx.op.name}': need k >= 0, got {k}")
    num_classes = predictions.shape[1]
    valid = (targets >= 0) & (targets < num_classes)
    safe = np.where(valid, targets, 0)
    target_values = predictions[np.arange(len(targets)), safe]
    # As TF: a target is in the top k when fewer than k classes score strictly higher; a target out of range or
    # any non-finite score in its row makes the answer false.
    higher = np.sum(predictions > target_values[:, None], axis=1)
    finite = np.all(np.isfinite(predictions), axis=1)
    return valid & finite & (higher < k)


define_op("InTopKV2", infer=_infer_in_top_k, kernel=_in_top_k_kernel, not_differentiable=True)


def in_top_k(predictions, targets, k, name=None):
    """Whether each ``targets[i]`` is among the ``k`` highest of ``predictions[i]`` (a bool vector).

    Ties count in the target's favour (fewer than ``k`` classes strictly higher); a row with a
    non-finite prediction, or a target outside ``[0, classes)``, gives False.
    """
    with name_scope(name, "in_top_k", [predictions, targets]):
        p = convert_to_tensor(predictions, name="predictions")
        t = convert_to_tensor(targets, dtype_hint=dtypes.int32, name="targets")
        k_t = convert_to_tensor(k) if is_tensor_like(k) else convert_to_tensor(np.asarray(k, t.dtype.np), name="k")
        return make_tensor("InTopKV2", [p, t, k_t], name=name or "InTopKV2")
