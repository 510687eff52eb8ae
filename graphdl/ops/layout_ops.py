"""Layout ops: transpose, expand_dims, squeeze, concat, split, tile and friends (pad and reverse live in pad_ops)."""

from __future__ import annotations

import numpy as np

from graphdl import dtypes
from graphdl.framework.constant_value import constant_value, constant_value_as_shape
from graphdl.framework.op_def import define_op
from graphdl.framework.ops import (
    constant_tensor,
    convert_n_to_tensors,
    convert_to_tensor,
    make_op,
    make_tensor,
    name_scope,
)
from graphdl.framework.tensor_shape import Dimension, TensorShape, as_shape
from graphdl.ops import array_ops
from graphdl.ops.shape_inference import broadcast_dims

__all__ = [
    "broadcast_dynamic_shape", "broadcast_static_shape", "concat", "expand_dims", "identity_n", "invert_permutation",
    "pad", "reverse", "reverse_sequence", "reverse_v2", "split", "squeeze", "tile", "transpose",
]

INDEX_DTYPES = (dtypes.int32, dtypes.int64)


# -- helpers shared with indexing_ops -----------------------------------------------------------
def known_ints(t):
    """A 1-D int tensor's entries as a list of ints with None where unknown (None if its length is unknown)."""
    value = constant_value(t)
    if value is not None:
        return [int(v) for v in np.ravel(value)]
    if t.op.type == "Pack" and t.op.attrs.get("axis", 0) == 0:
        out = []
        for x in t.op.inputs:
            v = constant_value(x)
            out.append(None if v is None or np.ndim(v) != 0 else int(v))
        return out
    if t.shape.ndims == 1 and t.shape.as_tuple()[0] is not None:
        return [None] * t.shape.as_tuple()[0]
    return None


def shape_of(x, dtype=dtypes.int32):
    """``x``'s shape as a 1-D tensor: a constant when statically known, else ``graphdl.shape(x)``."""
    if x.shape.is_fully_defined():
        return constant_tensor(np.asarray(x.shape.as_list(), dtype=dtypes.as_dtype(dtype).np), name="Shape")
    return array_ops.shape(x, out_type=dtype)


def int_input(value, name):
    """An int32 tensor from a Python int/list (tensors pass through)."""
    if isinstance(value, Dimension):
        value = value.value
    if isinstance(value, TensorShape):
        value = value.as_list()
    return convert_to_tensor(value, dtype_hint=dtypes.int32, name=name)


def require_int(op, t, what):
    if t.dtype not in INDEX_DTYPES:
        raise TypeError(f"'{what}' of {op.type} must be int32 or int64, got {t.dtype.name} ('{t.name}')")


def _axis_value(op, t, rank, what="axis", extra=0):
    """A scalar axis input normalized to [0, rank + extra), or None when not constant."""
    require_int(op, t, what)
    value = constant_value(t)
    if value is None or rank is None:
        return None
    if np.size(value) != 1:
        raise ValueError(f"'{what}' must be a scalar, got shape {np.shape(value)}")
    a, n = int(np.ravel(value)[0]), rank + extra
    if not -n <= a < n:
        raise ValueError(f"{what} {a} is out of range [{-n}, {n}) for an input of rank {rank}")
    return a % n


# -- Transpose / InvertPermutation ---------------------------------------------------------------
def _check_perm(perm, rank):
    if len(perm) != rank:
        raise ValueError(f"transpose expects a vector of size {rank}. But input(1) is a vector of size {len(perm)}")
    for i, p in enumerate(perm):
        if not 0 <= p < rank:
            raise ValueError(f"perm[{i}] = {p} is out of range [0, {rank}) (perm {list(perm)})")
    missing = sorted(set(range(rank)) - set(perm))
    if missing:
        raise ValueError(f"{missing[0]} is missing from perm {list(perm)}: it must be a permutation of 0..{rank - 1}")


def _infer_transpose(op):
    x, perm = op.inputs
    require_int(op, perm, "perm")
    if perm.shape.ndims not in (None, 1):
        raise ValueError(f"perm must be a vector, got shape {perm.shape}")
    dims, p = x.shape.as_tuple(), constant_value(perm)
    if p is None:
        n = len(dims) if dims is not None else (perm.shape.as_tuple() or (None,))[0]
        return [(None if n is None else (None,) * n, x.dtype)]
    p = [int(v) for v in np.ravel(p)]
    if dims is None:
        return [((None,) * len(p), x.dtype)]
    _check_perm(p, len(dims))
    return [(tuple(dims[i] for i in p), x.dtype)]


def _transpose_kernel(ctx, x, perm):
    p = [int(v) for v in perm]
    _check_perm(p, x.ndim)
    return np.transpose(x, p)


def _transpose_grad(op, dy):
    perm = op.inputs[1]
    p = constant_value(perm)
    inverse = np.argsort(np.ravel(p)).astype(perm.dtype.np) if p is not None else invert_permutation(perm)
    return [transpose(dy, inverse), None]


define_op("Transpose", infer=_infer_transpose, kernel=_transpose_kernel, grad=_transpose_grad)


def transpose(a, perm=None, name="transpose", conjugate=False):
    """``a`` with its dims permuted by ``perm`` (default: reversed). ``conjugate`` is a no-op for real dtypes."""
    with name_scope(name, "transpose", [a]) as scope:
        x = convert_to_tensor(a)
        if perm is None:
            rank = x.shape.ndims
            if rank is not None:
                perm_t = constant_tensor(np.arange(rank - 1, -1, -1, dtype=np.int32), name="perm")
            else:
                from graphdl.ops.range_ops import range as range_

                perm_t = range_(array_ops.shape(array_ops.shape(x))[0] - 1, -1, -1)
        else:
            perm_t = int_input(perm, "perm")
        return make_tensor("Transpose", [x, perm_t], name=scope)


def _infer_invert_permutation(op):
    x = op.inputs[0]
    require_int(op, x, "x")
    if x.shape.ndims not in (None, 1):
        raise ValueError(f"invert_permutation expects a vector, got shape {x.shape}")
    v = constant_value(x)
    if v is not None:
        _check_perm([int(i) for i in np.ravel(v)], np.size(v))
    return [(x.shape.as_tuple() if x.shape.ndims is not None else (None,), x.dtype)]


def _invert_permutation_kernel(ctx, x):
    _check_perm([int(i) for i in x], x.size)
    return np.argsort(x).astype(x.dtype)


define_op("InvertPermutation", infer=_infer_invert_permutation, kernel=_invert_permutation_kernel,
          not_differentiable=True)


def invert_permutation(x, name=None):
    """The inverse permutation: ``y[x[i]] = i``."""
    return make_tensor("InvertPermutation", [int_input(x, "x")], name=name or "InvertPermutation")


# -- ExpandDims / Squeeze --------------------------------------------------------------------
def _reshape_back(op, dy):
    return [array_ops.reshape(dy, shape_of(op.inputs[0]))] + [None] * (len(op.inputs) - 1)


def _infer_expand_dims(op):
    x, axis = op.inputs
    if axis.shape.num_elements() not in (None, 1):
        raise ValueError(f"'dim' input must be a tensor with a single value, got shape {axis.shape}")
    dims = x.shape.as_tuple()
    a = _axis_value(op, axis, None if dims is None else len(dims), "axis", extra=1)
    if dims is None:
        return [(None, x.dtype)]
    if a is None:
        return [((None,) * (len(dims) + 1), x.dtype)]
    return [(dims[:a] + (1,) + dims[a:], x.dtype)]


def _expand_dims_kernel(ctx, x, axis):
    a = int(np.ravel(axis)[0])
    if not -x.ndim - 1 <= a <= x.ndim:
        raise ValueError(f"Tried to expand dim index {a} for tensor with {x.ndim} dimensions.")
    return np.expand_dims(x, a)


define_op("ExpandDims", infer=_infer_expand_dims, kernel=_expand_dims_kernel, grad=_reshape_back)


def expand_dims(input, axis=None, name=None, dim=None):
    """``input`` with a new dim of size 1 inserted at ``axis`` (``dim`` is the deprecated alias)."""
    if dim is not None:
        if axis is not None:
            raise ValueError("Cannot specify both 'axis' and 'dim'")
        axis = dim
    if axis is None:
        raise ValueError("Must specify an axis argument to graphdl.expand_dims()")
    return make_tensor("ExpandDims", [convert_to_tensor(input), int_input(axis, "dim")], name=name or "ExpandDims")


def _squeeze_dims(dims, axes):
    """The dims kept by squeezing ``axes`` (all size-1 dims if empty) out of ``dims``; None if unknowable."""
    rank = len(dims)
    if not axes:
        if any(d is None for d in dims):
            return None
        return tuple(d for d in dims if d != 1)
    norm = set()
    for a in axes:
        if not -rank <= a < rank:
            raise ValueError(f"Tried to squeeze dim index {a} for tensor with {rank} dimensions.")
        a %= rank
        if dims[a] is not None and dims[a] != 1:
            raise ValueError(f"Can not squeeze dim[{a}], expected a dimension of 1, got {dims[a]}")
        norm.add(a)
    return tuple(d for i, d in enumerate(dims) if i not in norm)


def _infer_squeeze(op):
    x = op.inputs[0]
    dims = x.shape.as_tuple()
    return [(None if dims is None else _squeeze_dims(dims, op.attrs["squeeze_dims"]), x.dtype)]


define_op(
    "Squeeze",
    infer=_infer_squeeze,
    kernel=lambda ctx, x: np.reshape(x, _squeeze_dims(x.shape, ctx.attrs["squeeze_dims"])),
    grad=_reshape_back,
)


def squeeze(input, axis=None, name=None, squeeze_dims=None):
    """``input`` without the size-1 dims listed in ``axis`` (all size-1 dims when None)."""
    if squeeze_dims is not None:
        if axis is not None:
            raise ValueError("Cannot specify both 'squeeze_dims' and 'axis'")
        axis = squeeze_dims
    if isinstance(axis, int):
        axis = [axis]
    axes = [int(a) for a in (axis or [])]
    return make_tensor("Squeeze", [convert_to_tensor(input)], {"squeeze_dims": axes}, name or "Squeeze")


# -- ConcatV2 ---------------------------------------------------------------------------------
def _infer_concat(op):
    values, axis_t = op.inputs[:-1], op.inputs[-1]
    first = values[0]
    for t in values[1:]:
        if t.dtype != first.dtype:
            raise TypeError(f"ConcatV2 inputs must share a dtype: '{t.name}' is {t.dtype.name}, "
                            f"'{first.name}' is {first.dtype.name}")
    ranks = {t.shape.ndims for t in values} - {None}
    if len(ranks) > 1:
        known = [t for t in values if t.shape.ndims is not None]
        raise ValueError(f"Shape must be rank {known[0].shape.ndims} but is rank "
                         f"{next(t.shape.ndims for t in known if t.shape.ndims != known[0].shape.ndims)}: all "
                         f"inputs of concat must have the same rank, got shapes {[str(t.shape) for t in values]}")
    if not ranks:
        require_int(op, axis_t, "axis")
        return [(None, first.dtype)]
    rank = ranks.pop()
    if rank == 0:
        raise ValueError("Can't concatenate scalars (use graphdl.stack instead)")
    a = _axis_value(op, axis_t, rank)
    if a is None:
        return [((None,) * rank, first.dtype)]
    out = [None] * rank
    total = 0
    for t in values:
        dims = t.shape.as_tuple()
        if dims is None:
            total = None
            continue
        for i, d in enumerate(dims):
            if i == a:
                continue
            if out[i] is not None and d is not None and out[i] != d:
                raise ValueError(f"Dimension {i} in both shapes must be equal, but are {out[i]} and {d}. "
                                 f"Shapes are {[str(v.shape) for v in values]}; concat axis is {a}")
            out[i] = d if out[i] is None else out[i]
        total = None if total is None or dims[a] is None else total + dims[a]
    out[a] = total
    return [(tuple(out), first.dtype)]


def _concat_kernel(ctx, *args):
    values, axis = args[:-1], int(args[-1])
    rank = values[0].ndim
    if not -rank <= axis < rank:
        raise ValueError(f"ConcatOp : Expected concatenating dimensions in the range [{-rank}, {rank}), but got {axis}")
    for i, v in enumerate(values[1:], 1):
        if v.ndim != rank or np.delete(v.shape, axis % rank).tolist() != np.delete(values[0].shape, axis % rank).tolist():
            raise ValueError(f"ConcatOp : Dimensions of inputs should match: shape[0] = {list(values[0].shape)} vs. "
                             f"shape[{i}] = {list(v.shape)}")
    return np.concatenate(values, axis=axis)


def _concat_grad(op, dy):
    values, axis_t = op.inputs[:-1], op.inputs[-1]
    rank = dy.shape.ndims
    a = _axis_value(op, axis_t, rank)
    sizes = [t.shape.as_tuple()[a] if a is not None and t.shape.ndims else None for t in values]
    if all(s is not None for s in sizes):
        size_t = constant_tensor(np.asarray(sizes, dtype=np.int32), name="sizes")
    else:
        from graphdl.ops.indexing_ops import tensor_getitem

        size_t = array_ops.stack([tensor_getitem(array_ops.shape(t), axis_t) for t in values])
    parts = split(dy, size_t, axis=axis_t, num=len(values))
    return list(parts) + [None]


define_op("ConcatV2", infer=_infer_concat, kernel=_concat_kernel, grad=_concat_grad)


def concat(values, axis, name="concat"):
    """Concatenate tensors along ``axis`` (negative counts from the end)."""
    if not isinstance(values, (list, tuple)):
        values = [values]
    values = list(values)
    if not values:
        raise ValueError("concat needs at least one tensor")
    if len(values) == 1:
        with name_scope(name, "concat", values) as scope:
            axis_t = int_input(axis, "concat_dim")
            if axis_t.shape.ndims not in (None, 0):
                raise ValueError(f"concat axis must be a scalar, got shape {axis_t.shape}")
            from graphdl.ops.control_ops import identity

            return identity(values[0], name=scope)
    tensors = convert_n_to_tensors(values)
    return make_tensor("ConcatV2", tensors + [int_input(axis, "axis")], name=name or "concat")


# -- Split / SplitV -----------------------------------------------------------------------------
def _split_sizes(dim, sizes):
    """Resolve one -1 in ``sizes`` against ``dim``; sizes may hold None (unknown)."""
    if sizes.count(-1) > 1:
        raise ValueError(f"size_splits may contain at most one -1, got {sizes}")
    known = sum(s for s in sizes if s is not None and s != -1)
    if any(s is not None and s < -1 for s in sizes):
        raise ValueError(f"size_splits must be non-negative (or one -1), got {sizes}")
    if dim is not None and (known > dim or (-1 not in sizes and None not in sizes and known != dim)):
        raise ValueError(f"Determined shape must either match input shape along split_dim exactly if fully "
                         f"specified, or be less than the size of the input along split_dim if not fully "
                         f"specified. Got: sizes {sizes} (sum {known}) for a dimension of size {dim}")
    if -1 in sizes:
        fill = dim - known if dim is not None and None not in sizes else None
        sizes = [fill if s == -1 else s for s in sizes]
    return sizes


def _split_outputs(x, a, sizes, dtype):
    dims = x.shape.as_tuple()
    if dims is None:
        return [(None, dtype)] * len(sizes)
    if a is None:
        return [((None,) * len(dims), dtype)] * len(sizes)
    return [(dims[:a] + (s,) + dims[a + 1:], dtype) for s in sizes]


def _infer_split(op):
    axis_t, x = op.inputs
    num = op.attrs["num_split"]
    if num < 1:
        raise ValueError(f"num_split must be at least 1, got {num}")
    a = _axis_value(op, axis_t, x.shape.ndims)
    dim = None if a is None else x.shape.as_tuple()[a]
    if dim is not None and dim % num:
        raise ValueError(f"Number of ways to split should evenly divide the split dimension, but got split_dim {a} "
                         f"(size = {dim}) and num_split {num}")
    return _split_outputs(x, a, [None if dim is None else dim // num] * num, x.dtype)


def _split_kernel(ctx, axis, x):
    num, a = ctx.attrs["num_split"], int(axis)
    if x.shape[a] % num:
        raise ValueError(f"Number of ways to split should evenly divide the split dimension, but got split_dim {a} "
                         f"(size = {x.shape[a]}) and num_split {num}")
    return tuple(np.split(x, num, axis=a))


def _grads_or_zeros(op, dys):
    return [dy if dy is not None else array_ops.zeros_like(t) for dy, t in zip(dys, op.outputs)]


define_op("Split", infer=_infer_split, kernel=_split_kernel,
          grad=lambda op, *dys: [None, concat(_grads_or_zeros(op, dys), op.inputs[0])])


def _infer_split_v(op):
    x, sizes_t, axis_t = op.inputs
    require_int(op, sizes_t, "size_splits")
    num = op.attrs["num_split"]
    a = _axis_value(op, axis_t, x.shape.ndims)
    sizes = known_ints(sizes_t)
    if sizes is None:
        sizes = [None] * num
    if len(sizes) != num:
        raise ValueError(f"size_splits has {len(sizes)} entries but num_split is {num}")
    dim = None if a is None else x.shape.as_tuple()[a]
    return _split_outputs(x, a, _split_sizes(dim, sizes), x.dtype)


def _split_v_kernel(ctx, x, sizes, axis):
    a = int(axis)
    sizes = _split_sizes(x.shape[a], [int(s) for s in sizes])
    return tuple(np.split(x, np.cumsum(sizes)[:-1], axis=a))


define_op("SplitV", infer=_infer_split_v, kernel=_split_v_kernel,
          grad=lambda op, *dys: [concat(_grads_or_zeros(op, dys), op.inputs[2]), None, None])


def split(value, num_or_size_splits, axis=0, num=None, name="split"):
    """Split ``value`` along ``axis`` into ``num_or_size_splits`` equal parts, or parts of the listed sizes."""
    x = convert_to_tensor(value)
    axis_t = int_input(axis, "split_dim")
    if isinstance(num_or_size_splits, (int, np.integer, Dimension)) and not isinstance(num_or_size_splits, bool):
        n = int(num_or_size_splits.value if isinstance(num_or_size_splits, Dimension) else num_or_size_splits)
        return list(make_op("Split", [axis_t, x], {"num_split": n}, name or "split").outputs)
    sizes_t = int_input(num_or_size_splits, "size_splits")
    if sizes_t.shape.ndims == 0:
        raise ValueError("Rank-0 tensors are not supported as the num_or_size_splits argument to split. "
                         f"Argument provided: {num_or_size_splits}")
    if num is None:
        dims = sizes_t.shape.as_tuple()
        num = dims[0] if dims else None
        if num is None:
            raise ValueError(f"Cannot infer num from shape {num_or_size_splits}: pass num=")
    return list(make_op("SplitV", [x, sizes_t, axis_t], {"num_split": int(num)}, name or "split").outputs)


# -- Tile ---------------------------------------------------------------------------------------
def _infer_tile(op):
    x, multiples = op.inputs
    require_int(op, multiples, "multiples")
    m = known_ints(multiples)
    dims = x.shape.as_tuple()
    if dims is None:
        return [(None if m is None else (None,) * len(m), x.dtype)]
    if m is None:
        return [((None,) * len(dims), x.dtype)]
    if len(m) != len(dims):
        raise ValueError(f"Expected multiples argument to be a vector of length {len(dims)} but got length {len(m)}")
    for i, v in enumerate(m):
        if v is not None and v < 0:
            raise ValueError(f"Expected multiples[{i}] >= 0, but got {v}")
    return [(tuple(None if d is None or k is None else d * k for d, k in zip(dims, m)), x.dtype)]


def _tile_kernel(ctx, x, multiples):
    if len(multiples) != x.ndim:
        raise ValueError(f"Expected multiples argument to be a vector of length {x.ndim} but got length {len(multiples)}")
    return np.tile(x, [int(m) for m in multiples])


def _tile_grad(op, dy):
    from graphdl.ops.reduction_ops import reduce_sum

    x, multiples = op.inputs
    m, rank = constant_value(multiples), x.shape.ndims
    if m is not None and x.shape.is_fully_defined():
        split_shape = np.stack([np.ravel(m), x.shape.as_list()], axis=1).reshape(-1).astype(np.int32)
    else:
        split_shape = array_ops.reshape(array_ops.stack([multiples, shape_of(x, multiples.dtype)], axis=1), [-1])
    if rank is not None:
        axes = list(range(0, 2 * rank, 2))
    else:
        from graphdl.ops.range_ops import range as range_

        axes = range_(0, array_ops.shape(split_shape)[0], 2)
    return [reduce_sum(array_ops.reshape(dy, split_shape), axes), None]


define_op("Tile", infer=_infer_tile, kernel=_tile_kernel, grad=_tile_grad)


def tile(input, multiples, name=None):
    """``input`` repeated ``multiples[i]`` times along each dim i."""
    return make_tensor("Tile", [convert_to_tensor(input), int_input(multiples, "multiples")], name=name or "Tile")


# -- IdentityN, broadcast shapes ---------------------------------------------------------------
define_op(
    "IdentityN",
    infer=lambda op: [(t.shape.as_tuple(), t.dtype) for t in op.inputs],
    kernel=lambda ctx, *xs: tuple(xs),
    grad=lambda op, *dys: list(dys),
)


def identity_n(input, name=None):
    """A list of tensors with the same values as the tensors in ``input``."""
    tensors = [convert_to_tensor(t) for t in input]
    return list(make_op("IdentityN", tensors, name=name or "IdentityN").outputs)


def broadcast_static_shape(shape_x, shape_y):
    """The TensorShape two static shapes broadcast to; ValueError when incompatible."""
    x, y = as_shape(shape_x), as_shape(shape_y)
    try:
        return TensorShape(broadcast_dims(x.as_tuple(), y.as_tuple()))
    except ValueError:
        raise ValueError(f"Incompatible shapes for broadcasting: {x} and {y}") from None


def _infer_broadcast_args(op):
    s0, s1 = op.inputs
    for t in (s0, s1):
        require_int(op, t, "shape")
    n0, n1 = (t.shape.as_tuple()[0] if t.shape.ndims == 1 else None for t in (s0, s1))
    v0, v1 = constant_value_as_shape(s0), constant_value_as_shape(s1)
    if v0.ndims is not None and v1.ndims is not None:
        try:
            return [((len(broadcast_dims(v0.as_tuple(), v1.as_tuple())),), s0.dtype)]
        except ValueError:
            raise ValueError(f"Incompatible shapes: {v0} vs. {v1}") from None
    return [((None if n0 is None or n1 is None else max(n0, n1),), s0.dtype)]


def _broadcast_args_kernel(ctx, s0, s1):
    try:
        return np.asarray(np.broadcast_shapes(tuple(int(d) for d in s0), tuple(int(d) for d in s1)), dtype=s0.dtype)
    except ValueError:
        raise ValueError(f"Incompatible shapes: {list(s0)} vs. {list(s1)}") from None


define_op("BroadcastArgs", infer=_infer_broadcast_args, kernel=_broadcast_args_kernel, not_differentiable=True)


def broadcast_dynamic_shape(shape_x, shape_y):
    """The 1-D shape tensor two shape tensors broadcast to."""
    return make_tensor("BroadcastArgs", [int_input(shape_x, "s0"), int_input(shape_y, "s1")], name="BroadcastArgs")


# pad/reverse are defined in pad_ops (which uses the helpers above); re-exported so that
# `from graphdl.ops.layout_ops import *` keeps exporting them.
from graphdl.ops.pad_ops import pad, reverse, reverse_sequence, reverse_v2
