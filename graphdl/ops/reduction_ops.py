"""Reductions over axes (reduce_sum/mean/max/min/prod/any/all/logsumexp, count_nonzero) and argmax/argmin.

Every reduction takes TF1's ``axis`` (None, int, list or int tensor; negative counts from
the end), ``keepdims``, and the deprecated ``reduction_indices``/``keep_dims`` aliases.
"""

from __future__ import annotations

import numpy as np

from graphdl import dtypes
from graphdl.framework.constant_value import constant_value
from graphdl.framework.op_def import define_op
from graphdl.framework.ops import constant_tensor, convert_to_tensor, is_tensor_like, make_tensor, name_scope

__all__ = [
    "arg_max",
    "arg_min",
    "argmax",
    "argmin",
    "count_nonzero",
    "reduce_all",
    "reduce_any",
    "reduce_logsumexp",
    "reduce_max",
    "reduce_mean",
    "reduce_min",
    "reduce_prod",
    "reduce_std",
    "reduce_sum",
    "reduce_variance",
]

_NUMERIC = dtypes.FLOATING_DTYPES + dtypes.INTEGER_DTYPES


# -- axis handling ------------------------------------------------------------------------------
def normalize_axes(axes, rank):
    """Axes as sorted non-negative ints; raises ValueError for an axis out of range."""
    out = []
    for a in np.ravel(axes):
        a = int(a)
        if not -rank <= a < max(rank, 1):
            raise ValueError(f"Invalid reduction dimension {a} for input with {rank} dimensions")
        out.append(a % rank if rank else 0)
    return sorted(set(out))


def check_dtype(op_type, tensor, allowed, param):
    """TypeError (as TF1 raises when an op is created) unless ``tensor.dtype`` is one of ``allowed``."""
    if tensor.dtype not in allowed:
        names = ", ".join(d.name for d in allowed)
        raise TypeError(
            f"Value passed to parameter '{param}' of '{op_type}' has DataType {tensor.dtype.name} "
            f"(tensor '{tensor.name}') not in list of allowed values: {names}"
        )


_INDEX_DTYPES = (dtypes.int32, dtypes.int64)


def infer_reduction(op, out_dtype=None, allowed=None):
    """Shape rule of a reduction op with inputs (x, axes) and attr keep_dims."""
    x, axes_t = op.inputs[0], op.inputs[1]
    dtype = out_dtype or x.dtype
    if allowed is not None and x.dtype not in allowed:
        names = ", ".join(d.name for d in allowed)
        raise TypeError(f"Input '{x.name}' of '{op.type}' has dtype {x.dtype.name}, expected one of: {names}")
    if not (axes_t.dtype.is_integer):
        raise TypeError(f"reduction axes must be integers, got {axes_t.dtype.name}")
    if axes_t.shape.ndims is not None and axes_t.shape.ndims > 1:
        raise ValueError(f"reduction axes must be a scalar or a vector, got shape {axes_t.shape}")
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
        from graphdl.ops.range_ops import range as range_
        from graphdl.ops.range_ops import rank as rank_

        return range_(0, rank_(x))
    if is_tensor_like(axis) or (isinstance(axis, (list, tuple)) and any(is_tensor_like(a) for a in axis)):
        return convert_to_tensor(axis)
    return constant_tensor(np.asarray(axis, dtype=np.int32), name="reduction_indices")


def axes_tuple(axes):
    """Kernel helper: an axes array as a tuple of ints for NumPy."""
    return tuple(int(a) for a in np.ravel(axes))


def _kernel_axes(x, axes):
    """Kernel helper: validated non-negative axes of ``x`` (errors name the rank, as at build time)."""
    return tuple(normalize_axes(axes, x.ndim)) if x.ndim else ()


def resolve_axis(axis, reduction_indices, keepdims, keep_dims):
    """TF1's deprecated argument aliases: ``reduction_indices`` for axis, ``keep_dims`` for keepdims."""
    if reduction_indices is not None:
        if axis is not None:
            raise ValueError("Can not specify both 'axis' and 'reduction_indices'")
        axis = reduction_indices
    if keep_dims is not None:
        keepdims = keep_dims
    return axis, bool(keepdims)


def _may_reduce_to_scalar(keepdims, axis, output):
    """A full reduction without keepdims is a scalar even when the input's rank is unknown (as TF1)."""
    if not keepdims and axis is None and not output.shape.is_fully_defined():
        output.set_shape(())
    return output


def _reduce(op_type, input_tensor, axis, keepdims, name, reduction_indices, keep_dims):
    axis, keepdims = resolve_axis(axis, reduction_indices, keepdims, keep_dims)
    x = convert_to_tensor(input_tensor)
    check_dtype(op_type, x, (dtypes.bool_,) if op_type in ("Any", "All") else _NUMERIC, "input")
    axes = reduction_axes(x, axis)
    check_dtype(op_type, axes, _INDEX_DTYPES, "reduction_indices")
    out = make_tensor(op_type, [x, axes], {"keep_dims": keepdims}, name or op_type)
    return _may_reduce_to_scalar(keepdims, axis, out)


# -- gradient helpers ------------------------------------------------------------------------------
def _kept_shape(op, t):
    """``t`` (shaped like the reduction's output) reshaped to the keep_dims shape, so it broadcasts to the input."""
    from graphdl.ops import array_ops

    if op.attrs["keep_dims"]:
        return t
    x = op.inputs[0]
    axes_value = constant_value(op.inputs[1])
    if x.shape.ndims is not None and axes_value is not None:
        axes = normalize_axes(axes_value, x.shape.ndims)
        kept = [1 if i in axes else d for i, d in enumerate(x.shape.as_tuple())]
        if all(d is not None for d in kept):
            return array_ops.reshape(t, kept)
    return array_ops.reshape(t, array_ops.reduced_shape(array_ops.shape(x), op.inputs[1]))


def grad_to_input_shape(op, dy):
    """Broadcast a reduction's gradient ``dy`` back to the shape of its input."""
    from graphdl.ops import array_ops

    x = op.inputs[0]
    dy = _kept_shape(op, dy)
    target = x.shape.as_list() if x.shape.is_fully_defined() else array_ops.shape(x)
    return array_ops.broadcast_to(dy, target)


def _mean_grad(op, dy):
    from graphdl.ops.math_ops import cast, divide
    from graphdl.ops.range_ops import size

    x, y = op.inputs[0], op.outputs[0]
    grad = grad_to_input_shape(op, dy)
    n_in, n_out = x.shape.num_elements(), y.shape.num_elements()
    if n_in is not None and n_out is not None:
        factor = constant_tensor(np.asarray(n_in // max(n_out, 1), dtype=dy.dtype.np))
    else:
        factor = divide(cast(size(x), dy.dtype), cast(size(y), dy.dtype))
    return [divide(grad, factor), None]


def _min_or_max_grad(op, dy):
    """The gradient flows to the positions equal to the extremum, split equally among ties (as TF)."""
    from graphdl.ops.math_ops import cast, divide, equal

    x = op.inputs[0]
    y = _kept_shape(op, op.outputs[0])
    indicators = cast(equal(y, x), dy.dtype)
    num_selected = reduce_sum(indicators, op.inputs[1], keepdims=True)
    return [divide(indicators, num_selected) * _kept_shape(op, dy), None]


def _prod_grad(op, dy):
    """d prod / d x_i = product of the other elements, exact also where ``x`` holds zeros.

    Where the group has no zero: prod / x_i. With exactly one zero: the product of the
    non-zeros at the zero's position, 0 elsewhere. With more zeros: 0 everywhere.
    """
    from graphdl.ops.math_ops import cast, divide, equal

    x, axes = op.inputs[0], op.inputs[1]
    grad = grad_to_input_shape(op, dy)
    is_zero = cast(equal(x, 0), x.dtype)
    safe = x + is_zero  # zeros replaced by ones
    prod_all = _kept_shape(op, op.outputs[0])
    prod_nonzero = reduce_prod(safe, axes, keepdims=True)
    one_zero = cast(equal(reduce_sum(is_zero, axes, keepdims=True), 1), x.dtype)
    others = is_zero * (prod_nonzero * one_zero) + (1 - is_zero) * divide(prod_all, safe)
    return [grad * others, None]


# -- kernels --------------------------------------------------------------------------------------
def _mean_kernel(ctx, x, axes):
    axes = _kernel_axes(x, axes)
    keep = ctx.attrs["keep_dims"]
    count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    total = np.sum(x, axis=axes, keepdims=keep, dtype=x.dtype)
    if x.dtype.kind in "iu":
        if count == 0:
            return np.zeros_like(total)
        # C-style integer division (truncation toward zero), as TF's integer mean; the count
        # may not fit the input dtype (300 int8 values), so divide in int64.
        wide = total.astype(np.int64)
        return (np.sign(wide) * (np.abs(wide) // count)).astype(x.dtype)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(total / x.dtype.type(count), dtype=x.dtype)


def _extremum_kernel(fn, lowest):
    def kernel(ctx, x, axes):
        initial = (-np.inf if lowest else np.inf) if x.dtype.kind == "f" else (
            np.iinfo(x.dtype).min if lowest else np.iinfo(x.dtype).max)
        # ``initial`` makes empty reductions return the identity (-inf for max), as TF.
        return fn(x, axis=_kernel_axes(x, axes), keepdims=ctx.attrs["keep_dims"], initial=initial)

    return kernel


def _simple_kernel(fn, **extra):
    def kernel(ctx, x, axes):
        kwargs = {"dtype": x.dtype} if extra.get("keep_dtype") else {}
        return fn(x, axis=_kernel_axes(x, axes), keepdims=ctx.attrs["keep_dims"], **kwargs)

    return kernel


define_op(
    "Sum",
    infer=lambda op: infer_reduction(op, allowed=_NUMERIC),
    kernel=_simple_kernel(np.sum, keep_dtype=True),
    grad=lambda op, dy: [grad_to_input_shape(op, dy), None],
)
define_op("Mean", infer=lambda op: infer_reduction(op, allowed=_NUMERIC), kernel=_mean_kernel, grad=_mean_grad)
define_op(
    "Max",
    infer=lambda op: infer_reduction(op, allowed=_NUMERIC),
    kernel=_extremum_kernel(np.max, lowest=True),
    grad=_min_or_max_grad,
)
define_op(
    "Min",
    infer=lambda op: infer_reduction(op, allowed=_NUMERIC),
    kernel=_extremum_kernel(np.min, lowest=False),
    grad=_min_or_max_grad,
)
define_op(
    "Prod",
    infer=lambda op: infer_reduction(op, allowed=_NUMERIC),
    kernel=_simple_kernel(np.prod, keep_dtype=True),
    grad=_prod_grad,
)
define_op(
    "Any",
    infer=lambda op: infer_reduction(op, allowed=(dtypes.bool_,)),
    kernel=_simple_kernel(np.any),
    not_differentiable=True,
)
define_op(
    "All",
    infer=lambda op: infer_reduction(op, allowed=(dtypes.bool_,)),
    kernel=_simple_kernel(np.all),
    not_differentiable=True,
)


# -- public reductions ------------------------------------------------------------------------------
def reduce_sum(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None):
    """Sum of elements across ``axis`` (all axes when None)."""
    return _reduce("Sum", input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_mean(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None):
    """Mean of elements across ``axis`` (all axes when None); integer inputs give the truncated integer mean."""
    return _reduce("Mean", input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_max(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None):
    """Maximum of elements across ``axis``; the gradient is split equally among tied maxima."""
    return _reduce("Max", input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_min(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None):
    """Minimum of elements across ``axis``; the gradient is split equally among tied minima."""
    return _reduce("Min", input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_prod(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None):
    """Product of elements across ``axis`` (all axes when None)."""
    return _reduce("Prod", input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_any(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None):
    """Logical OR of a bool tensor across ``axis``."""
    return _reduce("Any", input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_all(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None):
    """Logical AND of a bool tensor across ``axis``."""
    return _reduce("All", input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_logsumexp(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None):
    """log(sum(exp(x))) across ``axis``, computed stably by shifting by the (finite) maximum."""
    from graphdl.ops import array_ops
    from graphdl.ops.control_ops import stop_gradient
    from graphdl.ops.math_ops import add, exp, is_finite, log, where

    axis, keepdims = resolve_axis(axis, reduction_indices, keepdims, keep_dims)
    with name_scope(name, "ReduceLogSumExp", [input_tensor]) as scope:
        x = convert_to_tensor(input_tensor)
        raw_max = reduce_max(x, axis, keepdims=True)
        my_max = stop_gradient(where(is_finite(raw_max), raw_max, array_ops.zeros_like(raw_max)))
        result = log(reduce_sum(exp(x - my_max), axis, keepdims=keepdims))
        if not keepdims:
            target = result.shape.as_list() if result.shape.is_fully_defined() else array_ops.shape(result)
            my_max = array_ops.reshape(my_max, target)
        result = add(result, my_max, name=scope)
        return _may_reduce_to_scalar(keepdims, axis, result)


def reduce_variance(input_tensor, axis=None, keepdims=False, name=None):
    """Population variance (mean squared deviation from the mean) across ``axis``."""
    from graphdl.ops.math_ops import square

    with name_scope(name or "reduce_variance", values=[input_tensor]):
        x = convert_to_tensor(input_tensor)
        means = reduce_mean(x, axis=axis, keepdims=True)
        return reduce_mean(square(x - means), axis=axis, keepdims=keepdims)


def reduce_std(input_tensor, axis=None, keepdims=False, name=None):
    """Population standard deviation across ``axis``."""
    from graphdl.ops.math_ops import sqrt

    with name_scope(name or "reduce_std", values=[input_tensor]):
        return sqrt(reduce_variance(input_tensor, axis=axis, keepdims=keepdims))


def count_nonzero(input_tensor=None, axis=None, keepdims=None, dtype=dtypes.int64, name=None,
                  reduction_indices=None, keep_dims=None, input=None):
    """Number of non-zero (for bools: True) elements across ``axis``, as ``dtype``."""
    from graphdl.ops.math_ops import cast

    if input is not None:
        if input_tensor is not None:
            raise ValueError("Cannot specify both 'input_tensor' and 'input'")
        input_tensor = input
    axis, keepdims = resolve_axis(axis, reduction_indices, keepdims, keep_dims)
    with name_scope(name, "count_nonzero", [input_tensor]) as scope:
        x = convert_to_tensor(input_tensor)
        nonzero = cast(x, dtypes.bool_) if x.dtype != dtypes.bool_ else x
        counts = reduce_sum(cast(nonzero, dtypes.int64), axis=axis, keepdims=keepdims)
        return cast(counts, dtype, name=scope)


# -- argmax / argmin ----------------------------------------------------------------------------------
def _infer_arg_reduce(op):
    x, dim = op.inputs
    out = op.attrs["output_type"]
    if x.dtype not in _NUMERIC:
        raise TypeError(f"Input '{x.name}' of '{op.type}' has dtype {x.dtype.name}; expected a numeric dtype")
    if out not in (dtypes.int32, dtypes.int64):
        raise TypeError(f"output_type of '{op.type}' must be int32 or int64, got {out.name}")
    if not dim.dtype.is_integer:
        raise TypeError(f"The dimension of '{op.type}' must be an integer, got {dim.dtype.name}")
    if dim.shape.ndims not in (None, 0):
        raise ValueError(f"The dimension of '{op.type}' must be a scalar, got shape {dim.shape}")
    dims = x.shape.as_tuple()
    axis = constant_value(dim)
    if dims is None:
        return [(None, out)]
    if axis is None:
        return [((None,) * max(len(dims) - 1, 0), out)]
    axis = int(axis)
    if not -len(dims) <= axis < len(dims):
        raise ValueError(f"Expected dimension in the range [{-len(dims)}, {len(dims)}), but got {axis}")
    axis %= len(dims)
    if dims[axis] == 0:
        raise ValueError(f"Reduction axis {axis} is empty in shape {list(dims)}")
    return [(dims[:axis] + dims[axis + 1:], out)]


def _arg_reduce_kernel(fn):
    def kernel(ctx, x, dim):
        axis = int(dim)
        if not -x.ndim <= axis < x.ndim:
            raise ValueError(f"Expected dimension in the range [{-x.ndim}, {x.ndim}), but got {axis}")
        if x.shape[axis] == 0:
            raise ValueError(f"Reduction axis {axis % x.ndim} is empty in shape {list(x.shape)}")
        return fn(x, axis=axis).astype(ctx.attrs["output_type"].np)

    return kernel


define_op("ArgMax", infer=_infer_arg_reduce, kernel=_arg_reduce_kernel(np.argmax), not_differentiable=True)
define_op("ArgMin", infer=_infer_arg_reduce, kernel=_arg_reduce_kernel(np.argmin), not_differentiable=True)


def _arg_reduce(op_type, input, axis, dimension, output_type, name):
    if dimension is not None:
        if axis is not None:
            raise ValueError("Cannot specify both 'axis' and 'dimension'")
        axis = dimension
    if axis is None:
        axis = 0
    x = convert_to_tensor(input)
    dim = convert_to_tensor(axis)
    check_dtype(op_type, x, _NUMERIC, "input")
    check_dtype(op_type, dim, _INDEX_DTYPES, "dimension")
    output_type = dtypes.as_dtype(output_type)
    if output_type not in _INDEX_DTYPES:
        raise TypeError(f"output_type of '{op_type}' must be int32 or int64, got {output_type.name}")
    return make_tensor(op_type, [x, dim], {"output_type": output_type}, name or op_type)


def argmax(input, axis=None, name=None, dimension=None, output_type=dtypes.int64):
    """Index of the largest value along ``axis`` (default 0); the first one among ties."""
    return _arg_reduce("ArgMax", input, axis, dimension, output_type, name)


def argmin(input, axis=None, name=None, dimension=None, output_type=dtypes.int64):
    """Index of the smallest value along ``axis`` (default 0); the first one among ties."""
    return _arg_reduce("ArgMin", input, axis, dimension, output_type, name)


def arg_max(input, dimension, output_type=dtypes.int64, name=None):
    """Deprecated TF1 alias of :func:`argmax` (``dimension`` is required)."""
    return _arg_reduce("ArgMax", input, None, dimension, output_type, name)


def arg_min(input, dimension, output_type=dtypes.int64, name=None):
    """Deprecated TF1 alias of :func:`argmin` (``dimension`` is required)."""
    return _arg_reduce("ArgMin", input, None, dimension, output_type, name)
