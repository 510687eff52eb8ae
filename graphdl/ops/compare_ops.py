"""Comparisons (bool results, broadcasting), logical ops, and ``where`` (selection or coordinates of true elements)."""

from __future__ import annotations

import numpy as np

from graphdl import dtypes, errors
from graphdl.framework.op_def import define_op
from graphdl.framework.ops import convert_n_to_tensors, convert_to_tensor, make_tensor, name_scope
from graphdl.framework.tensor_shape import TensorShape
from graphdl.ops.grad_utils import unbroadcast
from graphdl.ops.math_ops import NUMERIC, _checked_infer, binary_op, check_dtype
from graphdl.ops.shape_inference import broadcast_binary, broadcast_dims

__all__ = [
    "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
    "logical_and", "logical_or", "logical_not", "logical_xor", "where", "where_v2",
]

_EQUALITY = dtypes.ALL_DTYPES
_BOOL = (dtypes.bool_,)


def _bool_result(op):
    return broadcast_binary(op, out_dtype=dtypes.bool_)


def _bool_kernel(fn):
    return lambda ctx, x, y: np.asarray(fn(x, y), dtype=np.bool_)


for _type, _fn, _allowed in [
    ("Equal", np.equal, _EQUALITY), ("NotEqual", np.not_equal, _EQUALITY),
    ("Less", np.less, NUMERIC), ("LessEqual", np.less_equal, NUMERIC),
    ("Greater", np.greater, NUMERIC), ("GreaterEqual", np.greater_equal, NUMERIC),
    ("LogicalAnd", np.logical_and, _BOOL), ("LogicalOr", np.logical_or, _BOOL),
]:
    define_op(
        _type,
        infer=_checked_infer(_allowed, _bool_result),
        kernel=_bool_kernel(_fn),
        not_differentiable=True,
    )
define_op(
    "LogicalNot",
    infer=_checked_infer(_BOOL, lambda op: [(op.inputs[0].shape.as_tuple(), dtypes.bool_)]),
    kernel=lambda ctx, x: np.logical_not(x),
    not_differentiable=True,
)


def equal(x, y, name=None):
    """x == y elementwise (bool), with broadcasting."""
    return binary_op("Equal", x, y, name or "Equal")


def not_equal(x, y, name=None):
    """x != y elementwise (bool), with broadcasting."""
    return binary_op("NotEqual", x, y, name or "NotEqual")


def less(x, y, name=None):
    """x < y elementwise (bool), with broadcasting."""
    return binary_op("Less", x, y, name or "Less", NUMERIC)


def less_equal(x, y, name=None):
    """x <= y elementwise (bool), with broadcasting."""
    return binary_op("LessEqual", x, y, name or "LessEqual", NUMERIC)


def greater(x, y, name=None):
    """x > y elementwise (bool), with broadcasting."""
    return binary_op("Greater", x, y, name or "Greater", NUMERIC)


def greater_equal(x, y, name=None):
    """x >= y elementwise (bool), with broadcasting."""
    return binary_op("GreaterEqual", x, y, name or "GreaterEqual", NUMERIC)


def logical_and(x, y, name=None):
    """x AND y elementwise on bool tensors, with broadcasting."""
    return binary_op("LogicalAnd", x, y, name or "LogicalAnd", _BOOL)


def logical_or(x, y, name=None):
    """x OR y elementwise on bool tensors, with broadcasting."""
    return binary_op("LogicalOr", x, y, name or "LogicalOr", _BOOL)


def logical_not(x, name=None):
    """NOT x elementwise on a bool tensor."""
    x = convert_to_tensor(x)
    check_dtype(x, _BOOL, "LogicalNot")
    return make_tensor("LogicalNot", [x], name=name or "LogicalNot")


def logical_xor(x, y, name="LogicalXor"):
    """x XOR y elementwise on bool tensors: (x OR y) AND NOT (x AND y)."""
    return logical_and(logical_or(x, y), logical_not(logical_and(x, y)), name=name)


# -- Select (TF1 where) ----------------------------------------------------------------------------
def _infer_select(op):
    cond, x, y = op.inputs
    if cond.dtype != dtypes.bool_:
        raise TypeError(f"condition '{cond.name}' must be a bool tensor, got {cond.dtype.name}")
    if x.dtype != y.dtype:
        raise TypeError(f"x and y must have the same dtype, got {x.dtype.name} ('{x.name}') and {y.dtype.name} ('{y.name}')")
    if not x.shape.is_compatible_with(y.shape):
        raise ValueError(
            f"x and y must have the same shape, but are {x.shape} and {y.shape} "
            "(graphdl.where_v2 broadcasts them)"
        )
    data = x.shape.merge_with(y.shape)
    c_rank, d_rank = cond.shape.ndims, data.ndims
    if c_rank is None or d_rank is None or c_rank == 0:
        return [(data.as_tuple(), x.dtype)]
    if c_rank == 1 and d_rank > 0:
        if not cond.shape.is_compatible_with(TensorShape([data.as_tuple()[0]])):
            raise ValueError(
                f"a vector condition must have one entry per row of x: condition has shape {cond.shape}, x has {data}"
            )
        return [(data.merge_with(TensorShape([cond.shape.as_tuple()[0]] + [None] * (d_rank - 1))).as_tuple(), x.dtype)]
    if not cond.shape.is_compatible_with(data):
        raise ValueError(
            f"condition must be a scalar, a vector over the first dimension, or have the shape of x: "
            f"condition has shape {cond.shape}, x has {data} (graphdl.where_v2 broadcasts them)"
        )
    return [(data.merge_with(cond.shape).as_tuple(), x.dtype)]


def _select_kernel(ctx, cond, x, y):
    if x.shape != y.shape:
        raise errors.InvalidArgumentError(
            None, ctx.op, f"'then' and 'else' must have the same size, but received: {list(x.shape)} vs. {list(y.shape)} "
            f"(op '{ctx.op.name}')"
        )
    if cond.ndim == 0:
        return x if cond else y
    if cond.ndim == 1 and x.ndim > 1:
        if cond.shape[0] != x.shape[0]:
            raise errors.InvalidArgumentError(
                None, ctx.op, f"Number of batches of 'then' must match size of 'cond', but saw: {x.shape[0]} vs. "
                f"{cond.shape[0]} (op '{ctx.op.name}')"
            )
        cond = cond.reshape(cond.shape + (1,) * (x.ndim - 1))
    elif cond.shape != x.shape:
        raise errors.InvalidArgumentError(
            None, ctx.op, f"'condition' and 'then' must have the same shape: {list(cond.shape)} vs. {list(x.shape)} "
            f"(op '{ctx.op.name}')"
        )
    return np.where(cond, x, y)


def _select_grad(op, g):
    from graphdl.ops.array_ops import zeros_like

    c, x = op.inputs[0], op.inputs[1]
    zeros = zeros_like(x)
    return [None, where(c, g, zeros), where(c, zeros, g)]


define_op("Select", infer=_infer_select, kernel=_select_kernel, grad=_select_grad)


def _infer_select_v2(op):
    cond, x, y = op.inputs
    if cond.dtype != dtypes.bool_:
        raise TypeError(f"condition '{cond.name}' must be a bool tensor, got {cond.dtype.name}")
    if x.dtype != y.dtype:
        raise TypeError(f"x and y must have the same dtype, got {x.dtype.name} ('{x.name}') and {y.dtype.name} ('{y.name}')")
    shape = broadcast_dims(broadcast_dims(cond.shape.as_tuple(), x.shape.as_tuple()), y.shape.as_tuple())
    return [(shape, x.dtype)]


def _select_v2_grad(op, g):
    from graphdl.ops.array_ops import zeros

    c, x, y = op.inputs
    z = zeros([], dtype=g.dtype)
    return [None, unbroadcast(where_v2(c, g, z), x, c, y), unbroadcast(where_v2(c, z, g), y, c, x)]


define_op("SelectV2", infer=_infer_select_v2, kernel=lambda ctx, c, x, y: np.where(c, x, y), grad=_select_v2_grad)


# -- Where (coordinates of true elements) --------------------------------------------------------
def _infer_where(op):
    rank = op.inputs[0].shape.ndims
    return [((None, rank), dtypes.int64)]


def _where_kernel(x):
    if x.ndim == 0:
        return np.zeros((1 if x else 0, 0), dtype=np.int64)
    return np.argwhere(x).astype(np.int64)


define_op(
    "Where",
    infer=_infer_where,
    kernel=lambda ctx, x: _where_kernel(x),
    not_differentiable=True,
)


def _condition(condition):
    cond = convert_to_tensor(condition, preferred_dtype=dtypes.bool_, name="condition")
    return cond


def _select_inputs(condition, x, y):
    cond = _condition(condition)
    if cond.dtype != dtypes.bool_:
        raise TypeError(f"where: condition '{cond.name}' must be a bool tensor, got {cond.dtype.name}")
    x, y = convert_n_to_tensors([x, y])
    if x.dtype != y.dtype:
        raise TypeError(f"where: x and y must have the same dtype, got {x.dtype.name} ('{x.name}') and {y.dtype.name} ('{y.name}')")
    return cond, x, y


def where(condition, x=None, y=None, name=None):
    """Elements of ``x`` where ``condition`` is true, of ``y`` elsewhere; or, without x and y, the coordinates
    (int64, shape ``[num_true, rank]``) of the true elements of ``condition``.

    TF1 semantics: ``x`` and ``y`` have the same shape, and ``condition`` has that shape, is a
    scalar, or is a vector selecting whole rows (first dimension). Use ``where_v2`` to broadcast.
    """
    if x is None and y is None:
        with name_scope(name, "Where", [condition]) as scope:
            cond = _condition(condition)
            return make_tensor("Where", [cond], name=scope)
    if x is None or y is None:
        raise ValueError("x and y must both be non-None or both be None.")
    cond, x, y = _select_inputs(condition, x, y)
    return make_tensor("Select", [cond, x, y], name=name or "Select")


def where_v2(condition, x=None, y=None, name=None):
    """Elements of ``x`` where ``condition`` is true, else of ``y``, broadcasting all three (NumPy rules);
    without x and y, the coordinates of the true elements of ``condition``."""
    if x is None and y is None:
        return where(condition, name=name)
    if x is None or y is None:
        raise ValueError("x and y must both be non-None or both be None.")
    cond, x, y = _select_inputs(condition, x, y)
    return make_tensor("SelectV2", [cond, x, y], name=name or "SelectV2")
