"""Helpers shared by gradient functions."""

from __future__ import annotations


def _aligned_dim(other, axis_from_end):
    dims = other.shape.as_tuple()
    if dims is None:
        return None
    return dims[-axis_from_end] if axis_from_end <= len(dims) else 1


def unbroadcast(grad, x, *others):
    """Reduce ``grad`` (shaped like the broadcast of ``x`` with ``others``) to ``x``'s shape.

    Uses static reduction axes when shapes allow, else reduces by the runtime shapes
    (``BroadcastGradientArgs``), so unknown dims are handled either way.
    """
    if grad is None:
        return None
    from graphdl.ops import array_ops, reduction_ops

    g_dims, x_dims = grad.shape.as_tuple(), x.shape.as_tuple()
    static = g_dims is not None and x_dims is not None and all(o.shape.ndims is not None for o in others)
    if static:
        lead = len(g_dims) - len(x_dims)
        ones = []
        for i, xd in enumerate(x_dims):
            gd = g_dims[lead + i]
            from_end = len(x_dims) - i
            if xd == 1:
                if gd != 1:
                    ones.append(lead + i)
            elif xd is None and not all(_aligned_dim(o, from_end) == 1 for o in others):
                static = False
                break
    if static:
        if lead == 0 and not ones:
            return grad
        if ones:
            grad = reduction_ops.reduce_sum(grad, ones, keepdims=True)
        if lead:
            grad = reduction_ops.reduce_sum(grad, list(range(lead)))
        return grad
    x_shape = array_ops.shape(x)
    axes, _ = array_ops.broadcast_gradient_args(x_shape, array_ops.shape(grad))
    return array_ops.reshape(reduction_ops.reduce_sum(grad, axes), x_shape)
