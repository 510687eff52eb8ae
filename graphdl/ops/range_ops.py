"""range, linspace, one_hot, size, rank and other index/shape-query ops."""

from __future__ import annotations

import numpy as np

from graphdl import dtypes
from graphdl.framework.constant_value import constant_value
from graphdl.framework.op_def import define_op
from graphdl.framework.ops import constant_tensor, convert_to_tensor, is_tensor_like, make_tensor, name_scope
from graphdl.ops.reduction_ops import check_dtype, reduce_sum

__all__ = ["lin_space", "linspace", "one_hot", "range", "rank", "size"]

_RANGE_DTYPES = (dtypes.int32, dtypes.int64, dtypes.float32, dtypes.float64)  # TF's promotion order
_INDEX_DTYPES = (dtypes.uint8, dtypes.int32, dtypes.int64)


def _require_scalar(op, t, what):
    if t.shape.ndims not in (None, 0):
        raise ValueError(f"{what} of '{op.type}' must be a scalar, not shape {t.shape}")


# -- Size / Rank -------------------------------------------------------------------------------
def _infer_size(op):
    out = op.attrs["out_type"]
    if out not in (dtypes.int32, dtypes.int64):
        raise TypeError(f"out_type of 'Size' must be int32 or int64, got {out.name}")
    return [((), out)]


define_op(
    "Size",
    infer=_infer_size,
    kernel=lambda ctx, x: np.asarray(np.size(x), dtype=ctx.attrs["out_type"].np),
    not_differentiable=True,
)
define_op(
    "Rank",
    infer=lambda op: [((), dtypes.int32)],
    kernel=lambda ctx, x: np.asarray(np.ndim(x), dtype=np.int32),
    not_differentiable=True,
)


def size(input, name=None, out_type=dtypes.int32):
    """The number of elements of ``input`` as a scalar (a constant when its shape is known)."""
    out_type = dtypes.as_dtype(out_type)
    with name_scope(name, "Size", [input]) as scope:
        x = convert_to_tensor(input)
        n = x.shape.num_elements()
        if n is None and x.shape.ndims and any(d == 0 for d in x.shape.as_tuple()):
            n = 0
        if n is not None:
            return constant_tensor(np.asarray(n, dtype=out_type.np), name=scope)
        return make_tensor("Size", [x], {"out_type": out_type}, scope)


def rank(input, name=None):
    """The number of dimensions of ``input`` as an int32 scalar (a constant when statically known)."""
    with name_scope(name, "Rank", [input]) as scope:
        x = convert_to_tensor(input)
        if x.shape.ndims is not None:
            return constant_tensor(np.asarray(x.shape.ndims, dtype=np.int32), name=scope)
        return make_tensor("Rank", [x], name=scope)


# -- Range -------------------------------------------------------------------------------------
def _range_size(start, limit, delta, dtype):
    """Number of elements of range(start, limit, delta), with TF's validation messages."""
    if delta == 0:
        raise ValueError(f"Requires delta != 0: {delta}")
    if delta > 0 and start > limit:
        raise ValueError(f"Requires start <= limit when delta > 0: {start}/{limit}")
    if delta < 0 and start < limit:
        raise ValueError(f"Requires start >= limit when delta < 0: {start}/{limit}")
    if dtype.is_integer:
        start, limit, delta = int(start), int(limit), int(delta)
        return (abs(limit - start) + abs(delta) - 1) // abs(delta)
    t = dtype.np.type
    return int(np.ceil(np.abs((t(limit) - t(start)) / t(delta))))


def _infer_range(op):
    dtype = op.attrs["Tidx"]
    if dtype not in _RANGE_DTYPES:
        raise TypeError(f"Range supports int32, int64, float32 and float64, got {dtype.name}")
    for t, what in zip(op.inputs, ("start", "limit", "delta")):
        _require_scalar(op, t, what)
        if t.dtype != dtype:
            raise TypeError(f"{what} of 'Range' has dtype {t.dtype.name}, expected {dtype.name}")
    values = [constant_value(t) for t in op.inputs]
    if any(v is None for v in values):
        return [((None,), dtype)]
    return [((_range_size(*values, dtype),), dtype)]


def _range_kernel(ctx, start, limit, delta):
    dtype = ctx.attrs["Tidx"]
    n = _range_size(start, limit, delta, dtype)
    if dtype.is_integer:
        return (int(start) + np.arange(n, dtype=np.int64) * int(delta)).astype(dtype.np)
    # TF accumulates ``value += delta`` step by step; a cumulative sum in the same dtype matches it.
    steps = np.full(n, delta, dtype=dtype.np)
    if n:
        steps[0] = start
    return np.cumsum(steps, dtype=dtype.np)


define_op("Range", infer=_infer_range, kernel=_range_kernel, not_differentiable=True)


def range(start, limit=None, delta=1, dtype=None, name="range"):
    """The sequence start, start + delta, ... up to (excluding) ``limit``; ``range(n)`` is 0..n-1.

    Without ``dtype`` the arguments are promoted along int32 < int64 < float32 < float64.
    """
    if limit is None:
        start, limit = 0, start
    with name_scope(name, "Range", [start, limit, delta]) as scope:
        if dtype is None:
            # Python numbers follow the tensors' dtype (so range(x, 10) works for an int64 x).
            hint = next((convert_to_tensor(v).dtype for v in (start, limit, delta) if is_tensor_like(v)), None)
            args = [convert_to_tensor(v, dtype_hint=hint, name=n) for v, n in
                    zip((start, limit, delta), ("start", "limit", "delta"))]
            for a in args:
                if a.dtype not in _RANGE_DTYPES:
                    raise TypeError(f"range arguments must be int32, int64, float32 or float64, got {a.dtype.name}")
            dtype = max((a.dtype for a in args), key=_RANGE_DTYPES.index)
            from graphdl.ops.math_ops import cast

            args = [cast(a, dtype) for a in args]
        else:
            dtype = dtypes.as_dtype(dtype)
            args = [convert_to_tensor(v, dtype=dtype, name=n) for v, n in
                    zip((start, limit, delta), ("start", "limit", "delta"))]
        return make_tensor("Range", args, {"Tidx": dtype}, scope)


# -- LinSpace ----------------------------------------------------------------------------------
def _infer_linspace(op):
    start, stop, num = op.inputs
    for t, what in ((start, "start"), (stop, "stop")):
        if t.dtype not in (dtypes.float32, dtypes.float64):
            raise TypeError(
                f"Value passed to parameter '{what}' has DataType {t.dtype.name} not in list of allowed values: "
                "float32, float64"
            )
        _require_scalar(op, t, what)
    if stop.dtype != start.dtype:
        raise TypeError(f"stop of 'LinSpace' has dtype {stop.dtype.name}, but start has {start.dtype.name}")
    if num.dtype not in (dtypes.int32, dtypes.int64):
        raise TypeError(f"num of 'LinSpace' must be int32 or int64, got {num.dtype.name}")
    _require_scalar(op, num, "num")
    n = constant_value(num)
    if n is None:
        return [((None,), start.dtype)]
    if int(n) <= 0:
        raise ValueError(f"Requires num > 0: {int(n)}")
    return [((int(n),), start.dtype)]


def _linspace_kernel(ctx, start, stop, num):
    n = int(num)
    if n <= 0:
        raise ValueError(f"Requires num > 0: {n}")
    t = start.dtype.type
    if n == 1:
        return np.asarray([start], dtype=start.dtype)
    step = t((stop - start) / t(n - 1))
    return t(start) + step * np.arange(n).astype(start.dtype)


def _linspace_grad(op, dy):
    """Each output is start + (stop - start) * i / (num - 1): linear in start and stop."""
    dtype = op.outputs[0].dtype
    zero, one = (constant_tensor(np.asarray(v, dtype=dtype.np)) for v in (0, 1))
    weights = make_tensor("LinSpace", [zero, one, op.inputs[2]], name="LinSpaceWeights")
    grad_stop = reduce_sum(dy * weights)
    return [reduce_sum(dy) - grad_stop, grad_stop, None]


define_op("LinSpace", infer=_infer_linspace, kernel=_linspace_kernel, grad=_linspace_grad)


def lin_space(start, stop, num, name=None):
    """``num`` evenly spaced values from ``start`` to ``stop`` inclusive (float32/float64 scalars)."""
    if is_tensor_like(stop) and not is_tensor_like(start):
        start = convert_to_tensor(start, dtype_hint=convert_to_tensor(stop).dtype)
    start = convert_to_tensor(start)
    stop = convert_to_tensor(stop, dtype_hint=start.dtype)
    num = convert_to_tensor(num, dtype_hint=dtypes.int32)
    check_dtype("LinSpace", start, (dtypes.float32, dtypes.float64), "start")
    check_dtype("LinSpace", stop, (start.dtype,), "stop")
    check_dtype("LinSpace", num, (dtypes.int32, dtypes.int64), "num")
    return make_tensor("LinSpace", [start, stop, num], name=name or "LinSpace")


linspace = lin_space


# -- OneHot ------------------------------------------------------------------------------------
def _one_hot_position(axis, out_rank):
    if not -1 <= axis < out_rank:
        raise ValueError(f"Expected axis to be -1 or between [0, {out_rank}).  But received: {axis}")
    return out_rank - 1 if axis == -1 else axis


def _infer_one_hot(op):
    indices, depth, on, off = op.inputs
    if indices.dtype not in _INDEX_DTYPES:
        raise TypeError(f"indices of 'OneHot' must be uint8, int32 or int64, got {indices.dtype.name}")
    if depth.dtype != dtypes.int32:
        raise TypeError(f"depth of 'OneHot' must be int32, got {depth.dtype.name}")
    for t, what in ((depth, "depth"), (on, "on_value"), (off, "off_value")):
        _require_scalar(op, t, what)
    if on.dtype != off.dtype:
        raise TypeError(f"dtype {on.dtype.name} of on_value does not match dtype {off.dtype.name} of off_value")
    d = constant_value(depth)
    if d is not None and int(d) < 0:
        raise ValueError(f"depth must be non-negative, got: {int(d)}")
    dims = indices.shape.as_tuple()
    if dims is None:
        if op.attrs["axis"] < -1:
            raise ValueError(f"Expected axis to be -1 or non-negative, but received: {op.attrs['axis']}")
        return [(None, on.dtype)]
    pos = _one_hot_position(op.attrs["axis"], len(dims) + 1)
    out = list(dims)
    out.insert(pos, None if d is None else int(d))
    return [(tuple(out), on.dtype)]


def _one_hot_kernel(ctx, indices, depth, on, off):
    d = int(depth)
    if d < 0:
        raise ValueError(f"depth must be non-negative, got: {d}")
    pos = _one_hot_position(ctx.attrs["axis"], indices.ndim + 1)
    hot = np.asarray(indices)[..., None] == np.arange(d)  # out-of-range and negative indices match nothing
    return np.moveaxis(np.where(hot, on, off).astype(on.dtype), -1, pos)


def _one_hot_grad(op, dy):
    """No gradient for the indices; on_value/off_value get the summed gradient of their positions."""
    indices, depth, on, _ = op.inputs
    dtype = on.dtype
    mask = make_tensor(
        "OneHot",
        [indices, depth, constant_tensor(np.asarray(1, dtype.np)), constant_tensor(np.asarray(0, dtype.np))],
        {"axis": op.attrs["axis"]},
        name="OneHotMask",
    )
    grad_on = reduce_sum(dy * mask)
    return [None, None, grad_on, reduce_sum(dy) - grad_on]


define_op("OneHot", infer=_infer_one_hot, kernel=_one_hot_kernel, grad=_one_hot_grad)


def _one_hot_value(value, dtype, what):
    if is_tensor_like(value):
        t = convert_to_tensor(value)
        if t.dtype != dtype:
            raise TypeError(f"dtype {t.dtype.name} of {what} does not match dtype parameter {dtype.name}")
        return t
    return convert_to_tensor(value, dtype=dtype, name=what)


def one_hot(indices, depth, on_value=None, off_value=None, axis=None, dtype=None, name=None):
    """A one-hot tensor: ``on_value`` where the last (or ``axis``) index equals ``indices``, ``off_value`` elsewhere.

    Indices that are negative or >= ``depth`` give all-``off_value`` rows. The dtype is
    ``dtype``, else that of ``on_value``/``off_value``, else float32.
    """
    with name_scope(name, "one_hot", [indices, depth, on_value, off_value]) as scope:
        values = [v for v in (on_value, off_value) if v is not None]
        if dtype is not None:
            dtype = dtypes.as_dtype(dtype)
        elif values:
            tensors = [convert_to_tensor(v) for v in values if is_tensor_like(v)]
            dtype = (tensors[0] if tensors else convert_to_tensor(values[0])).dtype
        else:
            dtype = dtypes.float32
        on = _one_hot_value(1 if on_value is None else on_value, dtype, "on_value")
        off = _one_hot_value(0 if off_value is None else off_value, dtype, "off_value")
        indices = convert_to_tensor(indices)
        check_dtype("OneHot", indices, _INDEX_DTYPES, "indices")
        depth = convert_to_tensor(depth, dtype_hint=dtypes.int32)
        check_dtype("OneHot", depth, (dtypes.int32, dtypes.int64), "depth")
        if depth.dtype != dtypes.int32 and depth.dtype.is_integer:
            from graphdl.ops.math_ops import cast

            depth = cast(depth, dtypes.int32)
        axis = -1 if axis is None else int(axis)
        return make_tensor("OneHot", [indices, depth, on, off], {"axis": axis}, scope)
