"""Matrix products: ``matmul`` (MatMul for matrices, BatchMatMulV2 with broadcast batch dims) and ``tensordot``."""

from __future__ import annotations

import functools
import numbers

import numpy as np

from graphdl import dtypes
from graphdl.framework.op_def import define_op
from graphdl.framework.ops import convert_n_to_tensors, make_tensor, name_scope
from graphdl.ops.grad_utils import unbroadcast
from graphdl.ops.shape_inference import broadcast_dims

__all__ = ["matmul", "tensordot"]

_MATMUL_DTYPES = (dtypes.float16, dtypes.float32, dtypes.float64, dtypes.int32, dtypes.int64)


def _check_inputs(op_type, a, b):
    for arg, t in (("a", a), ("b", b)):
        if t.dtype not in _MATMUL_DTYPES:
            names = ", ".join(d.name for d in _MATMUL_DTYPES)
            raise TypeError(
                f"Value passed to parameter '{arg}' of op '{op_type}' (tensor '{t.name}') has DataType "
                f"{t.dtype.name} not in list of allowed values: {names}"
            )
    if a.dtype != b.dtype:
        raise TypeError(
            f"Input 'b' of '{op_type}' Op has type {b.dtype.name} that does not match type {a.dtype.name} of "
            f"argument 'a' ('{b.name}' vs '{a.name}'). Use graphdl.cast to make them agree."
        )


def _inner_dims_agree(k_a, k_b):
    if k_a is not None and k_b is not None and k_a != k_b:
        raise ValueError(f"Dimensions must be equal, but are {k_a} and {k_b}")


# -- MatMul (rank 2) ----------------------------------------------------------------------------------
def _infer_matmul(op):
    a, b = op.inputs
    _check_inputs(op.type, a, b)
    dims = []
    for t in (a, b):
        d = t.shape.as_tuple()
        if d is not None and len(d) != 2:
            raise ValueError(f"Shape must be rank 2 but is rank {len(d)}")
        dims.append(d if d is not None else (None, None))
    (m, k_a), (k_b, n) = dims
    if op.attrs["transpose_a"]:
        m, k_a = k_a, m
    if op.attrs["transpose_b"]:
        k_b, n = n, k_b
    _inner_dims_agree(k_a, k_b)
    return [((m, n), a.dtype)]


def _matmul_kernel(ctx, a, b):
    if ctx.attrs["transpose_a"]:
        a = a.T
    if ctx.attrs["transpose_b"]:
        b = b.T
    return np.matmul(a, b)


def _mat_mul(a, b, transpose_a=False, transpose_b=False):
    return make_tensor("MatMul", [a, b], {"transpose_a": transpose_a, "transpose_b": transpose_b}, "MatMul")


def _matmul_grad(op, grad):
    a, b = op.inputs
    t_a, t_b = op.attrs["transpose_a"], op.attrs["transpose_b"]
    if not t_a and not t_b:
        return [_mat_mul(grad, b, transpose_b=True), _mat_mul(a, grad, transpose_a=True)]
    if not t_a and t_b:
        return [_mat_mul(grad, b), _mat_mul(grad, a, transpose_a=True)]
    if t_a and not t_b:
        return [_mat_mul(b, grad, transpose_b=True), _mat_mul(a, grad)]
    return [_mat_mul(b, grad, transpose_a=True, transpose_b=True), _mat_mul(grad, a, transpose_a=True, transpose_b=True)]


define_op("MatMul", infer=_infer_matmul, kernel=_matmul_kernel, grad=_matmul_grad)


# -- BatchMatMulV2 (rank >= 2, batch dims broadcast) ------------------------------------------------------
def _infer_batch_matmul(op):
    x, y = op.inputs
    _check_inputs(op.type, x, y)
    dx, dy = x.shape.as_tuple(), y.shape.as_tuple()
    for d in (dx, dy):
        if d is not None and len(d) < 2:
            raise ValueError(f"Shape must be at least rank 2 but is rank {len(d)}")
    if dx is None or dy is None:
        return [(None, x.dtype)]
    m, k_x = dx[-2:]
    k_y, n = dy[-2:]
    if op.attrs["adj_x"]:
        m, k_x = k_x, m
    if op.attrs["adj_y"]:
        k_y, n = n, k_y
    _inner_dims_agree(k_x, k_y)
    batch = broadcast_dims(dx[:-2], dy[:-2])
    return [(batch + (m, n), x.dtype)]


def _batch_matmul_kernel(ctx, x, y):
    if ctx.attrs["adj_x"]:
        x = np.swapaxes(x, -1, -2)
    if ctx.attrs["adj_y"]:
        y = np.swapaxes(y, -1, -2)
    return np.matmul(x, y)


def _batch_matmul_grad(op, grad):
    x, y = op.inputs
    adj_x, adj_y = op.attrs["adj_x"], op.attrs["adj_y"]
    if not adj_x:
        if not adj_y:
            gx, gy = matmul(grad, y, adjoint_b=True), matmul(x, grad, adjoint_a=True)
        else:
            gx, gy = matmul(grad, y), matmul(grad, x, adjoint_a=True)
    elif not adj_y:
        gx, gy = matmul(y, grad, adjoint_b=True), matmul(x, grad)
    else:
        gx, gy = matmul(y, grad, adjoint_a=True, adjoint_b=True), matmul(grad, x, adjoint_a=True, adjoint_b=True)
    sx, sy = x.shape, y.shape
    if sx.is_fully_defined() and sy.is_fully_defined() and sx == sy:
        return [gx, gy]
    # Sum over the batch dims each input was broadcast along (its matrix dims always match).
    return [unbroadcast(gx, x, y), unbroadcast(gy, y, x)]


define_op("BatchMatMulV2", infer=_infer_batch_matmul, kernel=_batch_matmul_kernel, grad=_batch_matmul_grad)


def matmul(a, b, transpose_a=False, transpose_b=False, adjoint_a=False, adjoint_b=False, a_is_sparse=False,
           b_is_sparse=False, name=None):
    """The matrix product ``a @ b`` (optionally transposing either first).

    Rank-2 inputs give a MatMul op; inputs of higher (or unknown) rank multiply their last
    two dims as matrices, broadcasting the leading batch dims (BatchMatMulV2). ``adjoint``
    equals ``transpose`` for real tensors; ``*_is_sparse`` are accepted hints with no effect.
    """
    if transpose_a and adjoint_a:
        raise ValueError("Only one of transpose_a and adjoint_a can be True.")
    if transpose_b and adjoint_b:
        raise ValueError("Only one of transpose_b and adjoint_b can be True.")
    with name_scope(name, "MatMul", [a, b]) as scope:
        a, b = convert_n_to_tensors([a, b])
        _check_inputs("MatMul", a, b)
        ra, rb = a.shape.ndims, b.shape.ndims
        if ra is None or rb is None or ra > 2 or rb > 2:
            attrs = {"adj_x": bool(transpose_a or adjoint_a), "adj_y": bool(transpose_b or adjoint_b)}
            return make_tensor("BatchMatMulV2", [a, b], attrs, scope)
        attrs = {"transpose_a": bool(transpose_a or adjoint_a), "transpose_b": bool(transpose_b or adjoint_b)}
        return make_tensor("MatMul", [a, b], attrs, scope)


# -- tensordot ------------------------------------------------------------------------------------------
def _tensordot_axes(a, b, axes):
    """(a_axes, b_axes) as lists of ints, or (n, None) for an int ``axes`` on an input of unknown rank."""
    if isinstance(axes, numbers.Integral) or (isinstance(axes, np.ndarray) and axes.ndim == 0):
        n = int(axes)
        if n < 0:
            raise ValueError(f"'axes' must be at least 0, got {n}.")
        ra = a.shape.ndims
        if ra is None or b.shape.ndims is None:
            return n, None
        if n > ra or n > b.shape.ndims:
            raise ValueError(
                f"'axes' ({n}) must not be larger than the number of dimensions of tensor "
                f"'{a.name if n > ra else b.name}'."
            )
        return list(range(ra - n, ra)), list(range(n))
    if isinstance(axes, (list, tuple, np.ndarray)):
        if len(axes) != 2:
            raise ValueError(f"'axes' must be an integer or have length 2, got {axes!r}.")
        a_axes, b_axes = axes
        a_axes = [int(a_axes)] if isinstance(a_axes, numbers.Integral) else [int(i) for i in a_axes]
        b_axes = [int(b_axes)] if isinstance(b_axes, numbers.Integral) else [int(i) for i in b_axes]
        if len(a_axes) != len(b_axes):
            raise ValueError(f"Different number of contraction axes 'a' and 'b', {len(a_axes)} != {len(b_axes)}.")
        return a_axes, b_axes
    raise TypeError(f"tensordot: 'axes' must be an int or a pair of lists of ints, got {type(axes).__name__}")


def _prod(dims):
    """Product of ints and scalar tensors: an int when all are known."""
    from graphdl.ops.math_ops import multiply

    known = int(np.prod([d for d in dims if isinstance(d, int)])) if dims else 1
    tensors = [d for d in dims if not isinstance(d, int)]
    if not tensors:
        return known
    total = functools.reduce(multiply, tensors)
    return total if known == 1 else multiply(total, known)


def _tensordot_reshape(x, axes, flipped):
    """``x`` transposed and reshaped to a matrix (free dims x contracted dims, or flipped); and its free dims."""
    from graphdl.ops import array_ops
    from graphdl.ops.layout_ops import transpose

    rank = x.shape.ndims
    if rank is None:
        raise ValueError(f"tensordot with explicit axes needs inputs of known rank; '{x.name}' has unknown rank.")
    axes = [i + rank if i < 0 else i for i in axes]
    for i in axes:
        if not 0 <= i < rank:
            raise ValueError(f"tensordot: axis {i} is out of range for '{x.name}' of rank {rank}")
    free = [i for i in range(rank) if i not in axes]
    static = x.shape.as_tuple()
    if all(d is not None for d in static):
        dims = list(static)
    else:
        shape_t = array_ops.shape(x)
        dims = [static[i] if static[i] is not None else shape_t[i] for i in range(rank)]
    free_dims = [dims[i] for i in free]
    prod_free, prod_axes = _prod(free_dims), _prod([dims[i] for i in axes])
    perm = axes + free if flipped else free + axes
    if perm != list(range(rank)):
        x = transpose(x, perm)
    new_shape = [prod_axes, prod_free] if flipped else [prod_free, prod_axes]
    if list(x.shape.as_tuple()) != new_shape:
        x = array_ops.reshape(x, new_shape)
    return x, free_dims, [static[i] for i in free]


def _tensordot_unknown_rank(a, b, n, scope):
    """tensordot over the last ``n`` dims of ``a`` and first ``n`` of ``b`` when a rank is unknown."""
    from graphdl.ops import array_ops
    from graphdl.ops.layout_ops import concat
    from graphdl.ops.reduction_ops import reduce_prod

    sa, sb = array_ops.shape(a), array_ops.shape(b)
    if n == 0:
        a_free, b_free = sa, sb
        a2, b2 = array_ops.reshape(a, [-1, 1]), array_ops.reshape(b, [1, -1])
    else:
        a_free, b_free = sa[:-n], sb[n:]
        inner = reduce_prod(sb[:n])
        a2 = array_ops.reshape(a, array_ops.stack([-1, inner]))
        b2 = array_ops.reshape(b, array_ops.stack([inner, -1]))
    return array_ops.reshape(matmul(a2, b2), concat([a_free, b_free], 0), name=scope)


def tensordot(a, b, axes, name=None):
    """Sum of products of ``a`` and ``b`` over the given axes (NumPy's ``tensordot``).

    ``axes`` is an int N (the last N dims of ``a`` with the first N of ``b``) or a pair of
    lists ``[a_axes, b_axes]``. The result has the free dims of ``a`` then those of ``b``.
    """
    with name_scope(name, "Tensordot", [a, b]) as scope:
        a, b = convert_n_to_tensors([a, b])
        a_axes, b_axes = _tensordot_axes(a, b, axes)
        if b_axes is None:
            return _tensordot_unknown_rank(a, b, a_axes, scope)
        if a.shape.ndims is not None and b.shape.ndims is not None:
            for i, j in zip(a_axes, b_axes):
                if -a.shape.ndims <= i < a.shape.ndims and -b.shape.ndims <= j < b.shape.ndims:
                    _inner_dims_agree(a.shape[i].value, b.shape[j].value)
        a_mat, a_free, a_static = _tensordot_reshape(a, a_axes, flipped=False)
        b_mat, b_free, b_static = _tensordot_reshape(b, b_axes, flipped=True)
        product = matmul(a_mat, b_mat)
        out_dims = a_free + b_free
        if all(isinstance(d, int) for d in out_dims) and product.shape.as_tuple() == tuple(out_dims):
            return product
        from graphdl.ops import array_ops

        result = array_ops.reshape(product, out_dims, name=scope)
        result.set_shape(a_static + b_static)
        return result
