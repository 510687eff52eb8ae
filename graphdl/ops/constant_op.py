"""Constants and placeholders: ``constant``, ``placeholder``, ``placeholder_with_default``."""

from __future__ import annotations

import numpy as np

from graphdl import dtypes
from graphdl.framework.op_def import define_op
from graphdl.framework.ops import constant_tensor, convert_to_tensor, make_tensor, python_value_to_numpy
from graphdl.framework.tensor_shape import as_shape

define_op(
    "Const",
    infer=lambda op: [(op.attrs["value"].shape, op.attrs["dtype"])],
    kernel=lambda ctx: ctx.attrs["value"],
    not_differentiable=True,
)


def constant(value, dtype=None, shape=None, name="Const", verify_shape=False):
    """A tensor with a fixed value; a scalar ``value`` with ``shape`` fills that shape."""
    array = python_value_to_numpy(value, dtype) if dtype is not None else python_value_to_numpy(value)
    if dtype is not None and array.dtype != dtypes.as_dtype(dtype).np:
        array = array.astype(dtypes.as_dtype(dtype).np)
    if shape is not None:
        shape = tuple(as_shape(shape).as_list())
        if array.shape != shape:
            if verify_shape:
                raise TypeError(f"Expected Tensor's shape: {shape}, got {array.shape}.")
            if array.size == 1:
                array = np.full(shape, array.reshape(()), dtype=array.dtype)
            elif array.size == int(np.prod(shape)):
                array = array.reshape(shape)
            else:
                raise TypeError(
                    f"constant '{name}': cannot make a tensor of shape {shape} from a value with {array.size} elements"
                )
    return constant_tensor(array, name=name)


def _placeholder_kernel(ctx):
    raise AssertionError(f"Placeholder '{ctx.op.name}' must be fed")  # prune() reports it before running


define_op(
    "Placeholder",
    infer=lambda op: [(op.attrs["shape"], op.attrs["dtype"])],
    kernel=_placeholder_kernel,
    not_differentiable=True,
)


def placeholder(dtype, shape=None, name=None):
    """A tensor whose value must be given in ``feed_dict``; ``None`` dims accept any size."""
    dtype = dtypes.as_dtype(dtype)
    return make_tensor("Placeholder", [], {"dtype": dtype, "shape": as_shape(shape).as_tuple()}, name or "Placeholder")


define_op(
    "PlaceholderWithDefault",
    infer=lambda op: [(op.attrs["shape"], op.inputs[0].dtype)],
    kernel=lambda ctx, x: x,
    grad=lambda op, dy: [dy],
)


def placeholder_with_default(input, shape, name=None):  # noqa: A002 - TF1 argument name
    """A placeholder that takes the value of ``input`` when it is not fed."""
    x = convert_to_tensor(input)
    shape = as_shape(shape)
    if not shape.is_compatible_with(x.shape):
        raise ValueError(f"placeholder_with_default: default value of shape {x.shape} does not match shape {shape}")
    return make_tensor("PlaceholderWithDefault", [x], {"shape": shape.as_tuple()}, name or "PlaceholderWithDefault")
