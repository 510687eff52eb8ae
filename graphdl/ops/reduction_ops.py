"""Reductions over axes: reduce_sum and friends, with TF1's ``axis``/``keepdims`` arguments."""

from __future__ import annotations

import numpy as np


from graphdl.framework.constant_value import constant_value
from graphdl.framework.op_def import define_op
from graphdl.framework.ops import constant_tensor, convert_to_tensor, make_tensor

__all__ = ["reduce_sum"]


def normalize_axes(axes, rank):
    """Axes as sorted non-negative ints; raises ValueError for an axis out of range."""
    out = []
    for a in np.ravel(axes):
        a = int(a)
        if not -rank <= a < max(rank, 1):
            raise ValueError(f"Invalid reduction dimension {a} for input with {rank} dimensions")
        out.append(a % rank if rank else 0)
    return sorted(set(out))


def infer_reduction(op, out_dtype=None):
    """Shape rule of a reduction op with inputs (x, axes) and attr keep_dims."""
    x, axes_t = op.inputs[0], op.inputs[1]
    dtype = out_dtype or x.dtype
    if not (axes_t.dtype.is_integer):
        raise TypeError(f"reduction axes must be integers, got {axes_t.dtype.name}")
    dims = x.shape.as_tuple()
    keep = op.attrs["keep_dims"]
    axes = constant_value(axes_t)
    if dims is None:
        return [(None, dtype)]
    if axes is None:
        if keep:
            return [((None,) * len(dims), dtype)]
        return [(None, dtype)]
    axes = normalize_axes(axes, len(dims))
    if keep:
        return [(tuple(1 if i in axes else d for i, d in enumerate(dims)), dtype)]
    return [(tuple(d for i, d in enumerate(dims) if i not in axes), dtype)]


def reduction_axes(x, axis):
    """The axes input of a reduction: ``axis`` as an int32 tensor, all axes when None."""
    if axis is None:
        rank = x.shape.ndims
        if rank is not None:
            return constant_tensor(np.arange(rank, dtype=np.int32), name="Const")
        from graphdl.ops.array_ops import shape
        from graphdl.ops.range_ops import range as range_

        return range_(0, shape(shape(x))[0])
    if hasattr(axis, "op") or hasattr(axis, "_as_tensor"):
        return convert_to_tensor(axis)
    return constant_tensor(np.asarray(axis, dtype=np.int32), name="reduction_indices")


def axes_tuple(axes):
    """Kernel helper: an axes array as a tuple of ints for NumPy."""
    return tuple(int(a) for a in np.ravel(axes))


def resolve_axis(axis, reduction_indices, keepdims, keep_dims):
    """TF1's deprecated argument aliases: ``reduction_indices`` for axis, ``keep_dims`` for keepdims."""
    if reduction_indices is not None:
        if axis is not None:
            raise ValueError("Can not specify both 'axis' and 'reduction_indices'")
        axis = reduction_indices
    if keep_dims is not None:
        keepdims = keep_dims
    return axis, bool(keepdims)


def grad_to_input_shape(op, dy):
    """Broadcast a reduction's gradient ``dy`` back to the shape of its input."""
    from graphdl.ops import array_ops

    x = op.inputs[0]
    if not op.attrs["keep_dims"]:
        axes_value = constant_value(op.inputs[1])
        if x.shape.ndims is not None and axes_value is not None:
            axes = normalize_axes(axes_value, x.shape.ndims)
            kept = [1 if i in axes else d for i, d in enumerate(x.shape.as_tuple())]
            if all(d is not None for d in kept):
                dy = array_ops.reshape(dy, kept)
            else:
                dy = array_ops.reshape(dy, array_ops.reduced_shape(array_ops.shape(x), op.inputs[1]))
        else:
            dy = array_ops.reshape(dy, array_ops.reduced_shape(array_ops.shape(x), op.inputs[1]))
    target = x.shape.as_list() if x.shape.is_fully_defined() else array_ops.shape(x)
    return array_ops.broadcast_to(dy, target)


define_op(
    "Sum",
    infer=infer_reduction,
    kernel=lambda ctx, x, axes: np.sum(x, axis=axes_tuple(axes), keepdims=ctx.attrs["keep_dims"], dtype=x.dtype),
    grad=lambda op, dy: [grad_to_input_shape(op, dy), None],
)


def reduce_sum(input_tensor, axis=None, keepdims=False, name=None, reduction_indices=None, keep_dims=None):
    """Sum of elements across ``axis`` (all axes when None)."""
    axis, keepdims = resolve_axis(axis, reduction_indices, keepdims, keep_dims)
    x = convert_to_tensor(input_tensor)
    return make_tensor("Sum", [x, reduction_axes(x, axis)], {"keep_dims": keepdims}, name or "Sum")


