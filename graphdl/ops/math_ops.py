"""Elementwise math with NumPy broadcasting: arithmetic, comparisons, logic, casts."""

from __future__ import annotations

import numpy as np

from graphdl import dtypes
from graphdl.framework.op_def import define_op
from graphdl.framework.ops import convert_n_to_tensors, convert_to_tensor, make_tensor
from graphdl.ops.grad_utils import unbroadcast
from graphdl.ops.shape_inference import broadcast_binary, same_as_input

__all__ = ["add", "subtract", "multiply", "negative", "cast", "add_n"]


def binary_op(op_type: str, x, y, name=None):
    """Create a broadcasting binary op; Python scalars take the other operand's dtype."""
    x, y = convert_n_to_tensors([x, y])
    return make_tensor(op_type, [x, y], name=name or op_type)


def unary_op(op_type: str, x, name=None):
    return make_tensor(op_type, [convert_to_tensor(x)], name=name or op_type)


# -- arithmetic -------------------------------------------------------------------------
define_op(
    "AddV2",
    infer=broadcast_binary,
    kernel=lambda ctx, x, y: np.add(x, y),
    grad=lambda op, dz: [unbroadcast(dz, op.inputs[0], op.inputs[1]), unbroadcast(dz, op.inputs[1], op.inputs[0])],
)
define_op(
    "Sub",
    infer=broadcast_binary,
    kernel=lambda ctx, x, y: np.subtract(x, y),
    grad=lambda op, dz: [unbroadcast(dz, op.inputs[0], op.inputs[1]), unbroadcast(negative(dz), op.inputs[1], op.inputs[0])],
)
define_op(
    "Mul",
    infer=broadcast_binary,
    kernel=lambda ctx, x, y: np.multiply(x, y),
    grad=lambda op, dz: [
        unbroadcast(multiply(dz, op.inputs[1]), op.inputs[0], op.inputs[1]),
        unbroadcast(multiply(op.inputs[0], dz), op.inputs[1], op.inputs[0]),
    ],
)
define_op("Neg", infer=same_as_input, kernel=lambda ctx, x: np.negative(x), grad=lambda op, dy: [negative(dy)])


def add(x, y, name=None):
    """x + y, elementwise with broadcasting."""
    return binary_op("AddV2", x, y, name or "add")


def subtract(x, y, name=None):
    """x - y, elementwise with broadcasting."""
    return binary_op("Sub", x, y, name or "sub")


def multiply(x, y, name=None):
    """x * y, elementwise with broadcasting."""
    return binary_op("Mul", x, y, name or "mul")


def negative(x, name=None):
    """-x, elementwise."""
    return unary_op("Neg", x, name or "Neg")


# -- add_n ------------------------------------------------------------------------------
def _infer_add_n(op):
    first = op.inputs[0]
    shape = first.shape
    for t in op.inputs[1:]:
        if t.dtype != first.dtype:
            raise TypeError(f"AddN inputs must share a dtype: '{t.name}' is {t.dtype.name}, '{first.name}' is {first.dtype.name}")
        if not shape.is_compatible_with(t.shape):
            raise ValueError(f"Shapes must be equal, but are {shape} and {t.shape}")
        shape = shape.merge_with(t.shape)
    return [(shape.as_tuple(), first.dtype)]


def _add_n_kernel(ctx, *xs):
    total = xs[0].copy()
    for x in xs[1:]:
        total += x
    return total


define_op("AddN", infer=_infer_add_n, kernel=_add_n_kernel, grad=lambda op, dy: [dy] * len(op.inputs))


def add_n(inputs, name=None):
    """Sum of a list of tensors of the same shape and dtype."""
    inputs = convert_n_to_tensors(list(inputs))
    if not inputs:
        raise ValueError("add_n needs at least one input tensor")
    if len(inputs) == 1 and name is None:
        return inputs[0]
    return make_tensor("AddN", inputs, name=name or "AddN")


# -- cast --------------------------------------------------------------------------------
def _cast_grad(op, dy):
    x = op.inputs[0]
    if x.dtype.is_floating and op.outputs[0].dtype.is_floating:
        return [cast(dy, x.dtype)]
    return [None]


define_op(
    "Cast",
    infer=lambda op: [(op.inputs[0].shape.as_tuple(), op.attrs["DstT"])],
    kernel=lambda ctx, x: x.astype(ctx.attrs["DstT"].np),
    grad=_cast_grad,
)


def cast(x, dtype, name=None):
    """``x`` converted to ``dtype`` (floats to ints truncate toward zero)."""
    x = convert_to_tensor(x)
    dtype = dtypes.as_dtype(dtype)
    if x.dtype == dtype and name is None:
        return x
    return make_tensor("Cast", [x], {"SrcT": x.dtype, "DstT": dtype}, name or "Cast")
