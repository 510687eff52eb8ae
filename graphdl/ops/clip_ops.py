"""Clipping: by value, by norm, by global norm (gradient clipping), and the global norm itself."""

from __future__ import annotations

import collections.abc

from graphdl.framework.ops import convert_to_tensor, name_scope
from graphdl.ops.array_ops import ones_like, stack
from graphdl.ops.compare_ops import greater, where
from graphdl.ops.control_ops import identity
from graphdl.ops.math_ops import cast, maximum, minimum, multiply, subtract, truediv
from graphdl.ops.reduction_ops import reduce_sum
from graphdl.ops.unary_math_ops import rsqrt, sqrt, square

__all__ = ["clip_by_value", "clip_by_norm", "clip_by_global_norm", "global_norm", "clip_by_average_norm"]


def _check_not_broadcast(values, result, what):
    if not values.shape.is_compatible_with(result.shape):
        raise ValueError(
            f"{what}: the clip bounds would broadcast '{values.name}' of shape {values.shape} to shape "
            f"{result.shape}; the bounds must broadcast to the shape of t."
        )


def clip_by_value(t, clip_value_min, clip_value_max, name=None):
    """``t`` with values below ``clip_value_min`` set to it and values above ``clip_value_max`` set to it.

    The bounds are scalars or broadcast to the shape of ``t``. The gradient passes through
    where ``t`` lies within the bounds (inclusive) and flows to the bounds elsewhere.
    """
    with name_scope(name, "clip_by_value", [t, clip_value_min, clip_value_max]) as scope:
        values = convert_to_tensor(t, name="t")
        t_min = minimum(values, clip_value_max)
        _check_not_broadcast(values, t_min, "clip_by_value")
        t_max = maximum(t_min, clip_value_min, name=scope)
        _check_not_broadcast(values, t_max, "clip_by_value")
        return t_max


def clip_by_norm(t, clip_norm, axes=None, name=None):
    """``t * clip_norm / max(l2norm(t), clip_norm)``: rescale ``t`` so its L2 norm (over ``axes``, default all)
    is at most ``clip_norm``."""
    with name_scope(name, "clip_by_norm", [t, clip_norm]) as scope:
        values = convert_to_tensor(t, name="t")
        l2sum = reduce_sum(multiply(values, values), axes, keepdims=True)
        pred = greater(l2sum, 0)
        # Two-sided where: sqrt's gradient at 0 would otherwise be nan.
        l2sum_safe = where(pred, l2sum, ones_like(l2sum))
        l2norm = where(pred, sqrt(l2sum_safe), l2sum)
        intermediate = multiply(values, clip_norm)
        _check_not_broadcast(values, intermediate, "clip_by_norm")
        return identity(truediv(intermediate, maximum(l2norm, clip_norm)), name=scope)


def _as_tensor_list(t_list, what):
    if not isinstance(t_list, collections.abc.Sequence) or isinstance(t_list, (str, bytes)):
        raise TypeError(f"{what}: t_list should be a sequence of tensors, got {type(t_list).__name__}")
    return [None if t is None else convert_to_tensor(t, name=f"t_{i}") for i, t in enumerate(t_list)]


def global_norm(t_list, name=None):
    """sqrt(sum of the squares of all elements of all tensors in ``t_list``); None entries are ignored."""
    t_list = list(t_list) if isinstance(t_list, collections.abc.Sequence) else t_list
    with name_scope(name, "global_norm", [t for t in (t_list or []) if t is not None]):
        values = [v for v in _as_tensor_list(t_list, "global_norm") if v is not None]
        if not values:
            raise ValueError("global_norm: t_list contains no tensors")
        squared = [reduce_sum(square(v)) for v in values]
        total = reduce_sum(stack(squared))
        return sqrt(total, name="global_norm")


def clip_by_global_norm(t_list, clip_norm, use_norm=None, name=None):
    """Scale every tensor of ``t_list`` by ``clip_norm / max(global_norm, clip_norm)``.

    Returns ``(list_clipped, global_norm)``; None entries stay None. If the global norm is
    inf or nan, every clipped tensor is nan (as TF). ``use_norm`` supplies a precomputed norm.
    """
    if not isinstance(t_list, collections.abc.Sequence) or isinstance(t_list, (str, bytes)):
        raise TypeError(f"clip_by_global_norm: t_list should be a sequence of tensors, got {type(t_list).__name__}")
    t_list = list(t_list)
    if use_norm is None:
        use_norm = global_norm(t_list, name)
    use_norm = convert_to_tensor(use_norm)
    with name_scope(name, "clip_by_global_norm", [t for t in t_list if t is not None] + [clip_norm]):
        clip_norm = convert_to_tensor(clip_norm, dtype=use_norm.dtype, name="clip_norm")
        scale_for_finite = multiply(clip_norm, minimum(truediv(1.0, use_norm), truediv(1.0, clip_norm)))
        scale = scale_for_finite + subtract(use_norm, use_norm)  # nan when the norm is not finite
        values = _as_tensor_list(t_list, "clip_by_global_norm")
        clipped = []
        for i, v in enumerate(values):
            if v is None:
                clipped.append(None)
                continue
            clipped.append(identity(multiply(v, cast(scale, v.dtype)), name=f"_{i}"))
        return clipped, use_norm


def clip_by_average_norm(t, clip_norm, name=None):
    """``t * clip_norm / max(l2norm(t) / size(t), clip_norm)``: clip by the L2 norm averaged over elements."""
    with name_scope(name, "clip_by_average_norm", [t, clip_norm]) as scope:
        t = convert_to_tensor(t, name="t")
        n_element = reduce_sum(ones_like(t))
        l2norm_inv = rsqrt(reduce_sum(multiply(t, t)))
        factor = minimum(multiply(l2norm_inv, n_element), truediv(1.0, convert_to_tensor(clip_norm, dtype=t.dtype)))
        return identity(multiply(multiply(t, clip_norm), factor), name=scope)
