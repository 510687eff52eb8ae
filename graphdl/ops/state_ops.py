"""Variables' ops: ``VariableV2`` holds a session value; ``Assign``/``AssignAdd``/``AssignSub`` change it."""

from __future__ import annotations

import numpy as np

from graphdl import dtypes, errors
from graphdl.client.state import Uninitialized
from graphdl.framework.op_def import define_op
from graphdl.framework.ops import convert_to_tensor, make_tensor
from graphdl.framework.tensor_shape import as_shape


def _read(ctx):
    return ctx.state.read_variable(ctx.op.name)


define_op(
    "VariableV2",
    infer=lambda op: [(op.attrs["shape"], op.attrs["dtype"])],
    kernel=_read,
    not_differentiable=False,
    grad=lambda op, dy: [],
    stateful=True,
)


def variable_op(shape, dtype, name) -> "object":
    """The VariableV2 op's output tensor (the variable itself, ``v:0``)."""
    return make_tensor("VariableV2", [], {"shape": as_shape(shape).as_tuple(), "dtype": dtypes.as_dtype(dtype)}, name)


def _check_ref(op):
    ref = op.inputs[0]
    if ref.op.type != "VariableV2":
        raise TypeError(
            f"{op.type} needs a variable as its first input, got '{ref.name}' produced by a {ref.op.type} op"
        )
    return ref


def _infer_assign(op):
    ref, value = _check_ref(op), op.inputs[1]
    if value.dtype != ref.dtype:
        raise TypeError(f"Cannot assign a {value.dtype.name} value to variable '{ref.op.name}' of dtype {ref.dtype.name}")
    if op.attrs.get("validate_shape", True):
        if not ref.shape.is_compatible_with(value.shape):
            raise ValueError(
                f"Shapes must be equal: variable '{ref.op.name}' has shape {ref.shape} but the assigned value has {value.shape}"
            )
        return [(ref.shape.merge_with(value.shape).as_tuple(), ref.dtype)]
    return [(value.shape.as_tuple(), ref.dtype)]


def _variable_name(ctx):
    return ctx.op.inputs[0].op.name


def _assign_kernel(ctx, ref, value):
    if ctx.attrs.get("validate_shape", True) and not isinstance(ref, Uninitialized) and ref.shape != value.shape:
        raise errors.InvalidArgumentError(
            None, ctx.op,
            f"Assign '{ctx.op.name}': variable '{_variable_name(ctx)}' has shape {ref.shape} but the value has shape {value.shape}",
        )
    stored = np.array(value, copy=True)
    ctx.state.variables[_variable_name(ctx)] = stored
    return stored


def _update_kernel(sign):
    def kernel(ctx, ref, value):
        if isinstance(ref, Uninitialized):
            raise errors.FailedPreconditionError(
                None, ctx.op, f"Attempting to use uninitialized value {ref.name} (in op '{ctx.op.name}')"
            )
        stored = (ref + value) if sign > 0 else (ref - value)
        stored = np.asarray(stored, dtype=ref.dtype)
        if stored.shape != ref.shape:
            raise errors.InvalidArgumentError(
                None, ctx.op, f"{ctx.op.type} '{ctx.op.name}': value of shape {value.shape} does not match variable shape {ref.shape}"
            )
        ctx.state.variables[_variable_name(ctx)] = stored
        return stored

    return kernel


define_op("Assign", infer=_infer_assign, kernel=_assign_kernel, stateful=True, ref_inputs=(0,), not_differentiable=True)
define_op("AssignAdd", infer=_infer_assign, kernel=_update_kernel(+1), stateful=True, ref_inputs=(0,), not_differentiable=True)
define_op("AssignSub", infer=_infer_assign, kernel=_update_kernel(-1), stateful=True, ref_inputs=(0,), not_differentiable=True)

define_op(
    "IsVariableInitialized",
    infer=lambda op: [((), dtypes.bool_)],
    kernel=lambda ctx, ref: np.array(not isinstance(ref, Uninitialized)),
    stateful=True,
    ref_inputs=(0,),
    not_differentiable=True,
)

define_op(
    "InitializedValue",
    infer=lambda op: [(op.inputs[0].shape.as_tuple(), op.inputs[0].dtype)],
    kernel=lambda ctx, ref, initial: initial if isinstance(ref, Uninitialized) else ref,
    stateful=True,
    ref_inputs=(0,),
    not_differentiable=True,
)


def _ref_tensor(ref):
    return ref._variable if hasattr(ref, "_variable") else ref


def assign(ref, value, validate_shape=None, use_locking=None, name=None):
    """Store ``value`` in variable ``ref``; returns the new value."""
    ref = _ref_tensor(ref)
    value = convert_to_tensor(value, dtype=ref.dtype)
    validate = True if validate_shape is None else bool(validate_shape)
    return make_tensor("Assign", [ref, value], {"validate_shape": validate}, name or "Assign")


def assign_add(ref, value, use_locking=None, name=None):
    """Add ``value`` to variable ``ref``; returns the new value."""
    ref = _ref_tensor(ref)
    return make_tensor("AssignAdd", [ref, convert_to_tensor(value, dtype=ref.dtype)], {}, name or "AssignAdd")


def assign_sub(ref, value, use_locking=None, name=None):
    """Subtract ``value`` from variable ``ref``; returns the new value."""
    ref = _ref_tensor(ref)
    return make_tensor("AssignSub", [ref, convert_to_tensor(value, dtype=ref.dtype)], {}, name or "AssignSub")


def is_variable_initialized(variable, name=None):
    """A bool tensor: has ``variable`` been initialized in the running session?"""
    return make_tensor("IsVariableInitialized", [_ref_tensor(variable)], {}, name or "IsVariableInitialized")
