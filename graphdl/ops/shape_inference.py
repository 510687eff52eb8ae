"""Shared shape/dtype rules used by op definitions."""

from __future__ import annotations

from graphdl import dtypes


def broadcast_dims(a, b):
    """NumPy broadcasting of two static shapes (tuples with None, or None for unknown rank).

    Raises ValueError("Dimensions must be equal, ...") when they cannot broadcast.
    """
    if a is None or b is None:
        return None
    rank = max(len(a), len(b))
    a = (1,) * (rank - len(a)) + tuple(a)
    b = (1,) * (rank - len(b)) + tuple(b)
    out = []
    for x, y in zip(a, b):
        if x == 1:
            out.append(y)
        elif y == 1:
            out.append(x)
        elif x is None:
            out.append(y)
        elif y is None or x == y:
            out.append(x)
        else:
            raise ValueError(f"Dimensions must be equal, but are {x} and {y}")
    return tuple(out)


def same_as_input(op):
    """Output 0 has the shape and dtype of input 0."""
    x = op.inputs[0]
    return [(x.shape.as_tuple(), x.dtype)]


def broadcast_binary(op, out_dtype=None):
    """Shape: broadcast of inputs 0 and 1; dtype: ``out_dtype`` or input 0's (inputs must agree)."""
    x, y = op.inputs[0], op.inputs[1]
    if x.dtype != y.dtype:
        raise TypeError(
            f"Input 'y' of '{op.type}' Op has type {y.dtype.name} that does not match type "
            f"{x.dtype.name} of argument 'x'"
        )
    return [(broadcast_dims(x.shape.as_tuple(), y.shape.as_tuple()), out_dtype or x.dtype)]


def require_dtype(op, tensor, allowed, what="input"):
    """Raise TypeError naming the op when ``tensor.dtype`` is not among ``allowed``."""
    if tensor.dtype not in allowed:
        names = ", ".join(d.name for d in allowed)
        raise TypeError(f"{what} '{tensor.name}' of op '{op.type}' has dtype {tensor.dtype.name}; expected one of: {names}")


FLOAT = dtypes.FLOATING_DTYPES
NUMERIC = dtypes.FLOATING_DTYPES + dtypes.INTEGER_DTYPES
