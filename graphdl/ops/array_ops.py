"""Tensor creation and shape ops: shape, reshape, fill, zeros/ones(_like), stack/unstack, broadcast_to."""

from __future__ import annotations

import numpy as np

from graphdl import dtypes
from graphdl.framework.constant_value import constant_value, constant_value_as_shape
from graphdl.framework.op_def import define_op
from graphdl.framework.ops import (
    constant_tensor,
    convert_n_to_tensors,
    convert_to_tensor,
    is_tensor_like,
    make_op,
    make_tensor,
    name_scope,
)
from graphdl.framework.tensor_shape import TensorShape, as_shape
from graphdl.ops.shape_inference import broadcast_dims, same_as_input

__all__ = [
    "broadcast_gradient_args",
    "broadcast_to",
    "fill",
    "ones",
    "ones_like",
    "reduced_shape",
    "reshape",
    "shape",
    "stack",
    "unstack",
    "zeros",
    "zeros_like",
]


def _shape_tensor(value, name="shape"):
    """A 1-D int32 tensor from a list/tuple/TensorShape/tensor describing a shape."""
    if isinstance(value, TensorShape):
        value = value.as_list()
    if isinstance(value, (list, tuple)) and not any(hasattr(v, "op") or hasattr(v, "_as_tensor") for v in value):
        return constant_tensor(np.asarray(value, dtype=np.int32).reshape(-1), name=name)
    t = convert_to_tensor(value, dtype_hint=dtypes.int32)
    return t


# -- Shape -------------------------------------------------------------------------------
define_op(
    "Shape",
    infer=lambda op: [((op.inputs[0].shape.ndims,), op.attrs["out_type"])],
    kernel=lambda ctx, x: np.asarray(x.shape, dtype=ctx.attrs["out_type"].np),
    not_differentiable=True,
)


def shape(input, name=None, out_type=dtypes.int32):
    """The runtime shape of ``input`` as a 1-D integer tensor."""
    x = convert_to_tensor(input)
    return make_tensor("Shape", [x], {"out_type": dtypes.as_dtype(out_type)}, name or "Shape")


# -- Reshape -----------------------------------------------------------------------------
def _infer_reshape(op):
    x, target = op.inputs
    new = constant_value_as_shape(target)
    if new.ndims is None:
        return [(None, x.dtype)]
    dims = list(new.as_tuple())
    value = constant_value(target)
    value = None if value is None else [int(v) for v in np.ravel(value)]  # plain ints for the messages
    if value is not None and value.count(-1) > 1:
        raise ValueError(f"Only one dimension of a reshape may be -1, got {value}")
    n = x.shape.num_elements()
    unknown = [i for i, d in enumerate(dims) if d is None]
    known = int(np.prod([d for d in dims if d is not None])) if dims else 1
    if n is not None:
        if len(unknown) == 1 and value is not None:
            if known == 0 or n % known:
                raise ValueError(f"Cannot reshape a tensor with {n} elements to shape {value}")
            dims[unknown[0]] = n // known
        elif not unknown and known != n:
            raise ValueError(f"Cannot reshape a tensor with {n} elements to shape {dims} ({known} elements)")
    return [(tuple(dims), x.dtype)]


def _reshape_grad(op, dy):
    x = op.inputs[0]
    target = x.shape.as_list() if x.shape.is_fully_defined() else shape(x)
    return [reshape(dy, target), None]


define_op(
    "Reshape",
    infer=_infer_reshape,
    kernel=lambda ctx, x, s: np.reshape(x, tuple(int(d) for d in s)),
    grad=_reshape_grad,
)


def reshape(tensor, shape, name=None):
    """``tensor`` with a new shape (one dim may be -1: inferred)."""
    x = convert_to_tensor(tensor)
    return make_tensor("Reshape", [x, _shape_tensor(shape)], name=name or "Reshape")


# -- Fill, zeros, ones --------------------------------------------------------------------
def _infer_fill(op):
    dims, value = op.inputs
    if value.shape.ndims not in (None, 0):
        raise ValueError(f"Fill value must be a scalar, got shape {value.shape}")
    return [(constant_value_as_shape(dims).as_tuple(), value.dtype)]


define_op(
    "Fill",
    infer=_infer_fill,
    kernel=lambda ctx, dims, value: np.full(tuple(int(d) for d in dims), value, dtype=value.dtype),
    grad=lambda op, dy: [None, _reduce_all(dy)],
)


def _reduce_all(t):
    from graphdl.ops.reduction_ops import reduce_sum

    return reduce_sum(t)


def fill(dims, value, name=None):
    """A tensor of shape ``dims`` filled with the scalar ``value``."""
    return make_tensor("Fill", [_shape_tensor(dims), convert_to_tensor(value)], name=name or "Fill")


def _filled(shape, value, dtype, name):
    dtype = dtypes.as_dtype(dtype)
    # A list may mix ints and scalar tensors (``zeros([tf.shape(x)[0], 3])``): then the shape is only known at run time.
    python_shape = isinstance(shape, (list, tuple, TensorShape, int)) and not (
        isinstance(shape, (list, tuple)) and any(is_tensor_like(d) for d in shape))
    static = as_shape(shape) if python_shape else None
    if static is not None and static.is_fully_defined():
        return constant_tensor(np.full(static.as_list(), value, dtype=dtype.np), name=name)
    return fill(shape, np.array(value, dtype=dtype.np), name=name)


def zeros(shape, dtype=dtypes.float32, name=None):
    """A tensor of zeros."""
    return _filled(shape, 0, dtype, name or "zeros")


def ones(shape, dtype=dtypes.float32, name=None):
    """A tensor of ones."""
    return _filled(shape, 1, dtype, name or "ones")


define_op("ZerosLike", infer=same_as_input, kernel=lambda ctx, x: np.zeros_like(x), not_differentiable=True)
define_op("OnesLike", infer=same_as_input, kernel=lambda ctx, x: np.ones_like(x), not_differentiable=True)


def _like(op_type, value, tensor, dtype, name):
    x = convert_to_tensor(tensor)
    if dtype is not None and dtypes.as_dtype(dtype) != x.dtype:
        with name_scope(name, op_type, [x]) as scope:
            return _filled_like(shape(x), value, dtype, x, scope)
    return make_tensor(op_type, [x], name=name or op_type)


def _filled_like(dims, value, dtype, x, scope):
    if x.shape.is_fully_defined():
        return constant_tensor(np.full(x.shape.as_list(), value, dtype=dtypes.as_dtype(dtype).np), name=scope)
    return fill(dims, np.array(value, dtype=dtypes.as_dtype(dtype).np), name=scope)


def zeros_like(tensor, dtype=None, name=None, optimize=True):
    """Zeros with the shape (and dtype, unless given) of ``tensor``."""
    return _like("ZerosLike", 0, tensor, dtype, name)


def ones_like(tensor, dtype=None, name=None, optimize=True):
    """Ones with the shape (and dtype, unless given) of ``tensor``."""
    return _like("OnesLike", 1, tensor, dtype, name)


# -- Pack / Unpack (stack / unstack) ---------------------------------------------------------
def _infer_pack(op):
    axis = op.attrs["axis"]
    first = op.inputs[0]
    shape = TensorShape(first.shape)
    for t in op.inputs[1:]:
        if t.dtype != first.dtype:
            raise TypeError(f"stack inputs must share a dtype: '{t.name}' is {t.dtype.name}, '{first.name}' is {first.dtype.name}")
        if not shape.is_compatible_with(t.shape):
            raise ValueError(f"Shapes of all inputs must match: {shape} vs {t.shape}")
        shape = shape.merge_with(t.shape)
    if shape.ndims is None:
        return [(None, first.dtype)]
    dims = list(shape.as_tuple())
    rank = len(dims) + 1
    if not -rank <= axis < rank:
        raise ValueError(f"axis {axis} is out of range for stacking tensors of rank {len(dims)}")
    dims.insert(axis % rank, len(op.inputs))
    return [(tuple(dims), first.dtype)]


define_op(
    "Pack",
    infer=_infer_pack,
    kernel=lambda ctx, *xs: np.stack(xs, axis=ctx.attrs["axis"]),
    grad=lambda op, dy: unstack(dy, num=len(op.inputs), axis=op.attrs["axis"]),
)


def stack(values, axis=0, name="stack"):
    """Stack rank-R tensors into one rank-(R+1) tensor along ``axis``."""
    values = convert_n_to_tensors(list(values))
    if not values:
        raise ValueError("stack needs at least one tensor")
    return make_tensor("Pack", values, {"axis": int(axis)}, name)


def _infer_unpack(op):
    x = op.inputs[0]
    num, axis = op.attrs["num"], op.attrs["axis"]
    dims = x.shape.as_tuple()
    if dims is None:
        return [(None, x.dtype)] * num
    if not -len(dims) <= axis < len(dims):
        raise ValueError(f"axis {axis} is out of range for unstacking a tensor of rank {len(dims)}")
    axis %= len(dims)
    if dims[axis] is not None and dims[axis] != num:
        raise ValueError(f"Cannot unstack {num} tensors from dimension {axis} of size {dims[axis]}")
    rest = dims[:axis] + dims[axis + 1:]
    return [(rest, x.dtype)] * num


def _unpack_kernel(ctx, x):
    axis = ctx.attrs["axis"]
    return tuple(np.take(x, i, axis=axis) for i in range(x.shape[axis]))


def _unpack_grad(op, *dys):
    dys = [dy if dy is not None else zeros_like(out) for dy, out in zip(dys, op.outputs)]
    return [stack(dys, axis=op.attrs["axis"])]


define_op("Unpack", infer=_infer_unpack, kernel=_unpack_kernel, grad=_unpack_grad)


def unstack(value, num=None, axis=0, name="unstack"):
    """Split a tensor into a list of tensors along ``axis`` (whose size must be known or ``num`` given)."""
    x = convert_to_tensor(value)
    if num is None:
        dims = x.shape.as_tuple()
        if dims is None or dims[axis] is None:
            raise ValueError(f"Cannot infer num from shape {x.shape} of '{x.name}'; pass num=")
        num = dims[axis]
    return list(make_op("Unpack", [x], {"num": int(num), "axis": int(axis)}, name).outputs)


# -- broadcasting ------------------------------------------------------------------------------
def _infer_broadcast_to(op):
    x, target = op.inputs
    out = constant_value_as_shape(target).as_tuple()
    broadcast_dims(x.shape.as_tuple(), out)  # raises if incompatible
    return [(out, x.dtype)]


def _broadcast_to_grad(op, dy):
    from graphdl.ops.grad_utils import unbroadcast

    return [unbroadcast(dy, op.inputs[0], op.outputs[0]), None]


define_op(
    "BroadcastTo",
    infer=_infer_broadcast_to,
    kernel=lambda ctx, x, s: np.broadcast_to(x, tuple(int(d) for d in s)).copy(),
    grad=_broadcast_to_grad,
)


def broadcast_to(input, shape, name=None):
    """``input`` broadcast (NumPy rules) to ``shape``."""
    return make_tensor("BroadcastTo", [convert_to_tensor(input), _shape_tensor(shape)], name=name or "BroadcastTo")


def _broadcast_gradient_args_kernel(ctx, s0, s1):
    rank = max(len(s0), len(s1))
    a = [1] * (rank - len(s0)) + list(s0)
    b = [1] * (rank - len(s1)) + list(s1)
    r0 = [i for i in range(rank) if a[i] == 1 and b[i] != 1 or i < rank - len(s0)]
    r1 = [i for i in range(rank) if b[i] == 1 and a[i] != 1 or i < rank - len(s1)]
    return np.asarray(r0, dtype=s0.dtype), np.asarray(r1, dtype=s0.dtype)


define_op(
    "BroadcastGradientArgs",
    infer=lambda op: [((None,), op.inputs[0].dtype), ((None,), op.inputs[0].dtype)],
    kernel=_broadcast_gradient_args_kernel,
    not_differentiable=True,
)


def broadcast_gradient_args(s0, s1, name=None):
    """The axes to sum over to reduce gradients of the broadcast output back to shapes ``s0`` and ``s1``."""
    op = make_op("BroadcastGradientArgs", [convert_to_tensor(s0), convert_to_tensor(s1)], name=name or "BroadcastGradientArgs")
    return op.outputs[0], op.outputs[1]


def _reduced_shape_kernel(ctx, input_shape, axes):
    out = np.array(input_shape, copy=True)
    out[np.asarray(axes, dtype=np.int64) % max(len(out), 1)] = 1
    return out


define_op(
    "ReducedShape",
    infer=lambda op: [(op.inputs[0].shape.as_tuple(), op.inputs[0].dtype)],
    kernel=_reduced_shape_kernel,
    not_differentiable=True,
)


def reduced_shape(input_shape, axes, name=None):
    """``input_shape`` with the dims in ``axes`` set to 1 (the keepdims shape of a reduction)."""
    return make_tensor("ReducedShape", [convert_to_tensor(input_shape), convert_to_tensor(axes)], name=name or "ReducedShape")
