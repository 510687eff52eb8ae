"""TF's strided-slice semantics (begin/end/strides with masks): NumPy indexing, static shapes, ``t[...]`` keys."""

from __future__ import annotations

import builtins
import numbers

import numpy as np

from graphdl.framework.tensor_shape import Dimension

MASK_ATTRS = ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask")


def _bit(mask: int, i: int) -> bool:
    return bool(mask >> i & 1)


def strided_slice_index(begin, end, strides, attrs) -> tuple:
    """The NumPy index tuple equivalent to a StridedSlice with these vectors and mask attrs."""
    index = []
    for i in range(len(begin)):
        if _bit(attrs.get("ellipsis_mask", 0), i):
            index.append(Ellipsis)
        elif _bit(attrs.get("new_axis_mask", 0), i):
            index.append(None)
        elif _bit(attrs.get("shrink_axis_mask", 0), i):
            index.append(int(begin[i]))
        else:
            b = None if _bit(attrs.get("begin_mask", 0), i) else int(begin[i])
            e = None if _bit(attrs.get("end_mask", 0), i) else int(end[i])
            index.append(builtins.slice(b, e, int(strides[i])))
    return tuple(index)


def evaluate_strided_slice(value, begin, end, strides, attrs):
    """Apply a StridedSlice to a NumPy value."""
    return np.asarray(value)[strided_slice_index(begin, end, strides, attrs)]


def dense_layout(rank: int, n: int, attrs) -> list:
    """How a spec of ``n`` entries applies to a rank-``rank`` input, in output order.

    Returns ``(kind, spec_index, input_dim)`` triples, kind being ``"slice"``, ``"shrink"``,
    ``"new"`` (a new axis; input_dim None) or ``"full"`` (a dim covered by the explicit or
    implicit trailing ellipsis; spec_index None). Raises ValueError for more than one
    ellipsis or more indexed dims than the input has.
    """
    ellipsis = attrs.get("ellipsis_mask", 0) & ((1 << n) - 1)
    if ellipsis & (ellipsis - 1):
        raise ValueError("Multiple ellipses in slice spec not allowed")
    new_axis, shrink = attrs.get("new_axis_mask", 0), attrs.get("shrink_axis_mask", 0)
    consuming = sum(1 for i in range(n) if not _bit(ellipsis, i) and not _bit(new_axis, i))
    if consuming > rank:
        raise ValueError(f"Index out of range using input dim {rank}; input has only {rank} dims")
    out, d = [], 0
    for i in range(n):
        if _bit(ellipsis, i):
            for _ in range(rank - consuming):
                out.append(("full", None, d))
                d += 1
        elif _bit(new_axis, i):
            out.append(("new", i, None))
        else:
            out.append(("shrink" if _bit(shrink, i) else "slice", i, d))
            d += 1
    while d < rank:
        out.append(("full", None, d))
        d += 1
    return out


def _slice_length(dim, b, e, s, b_masked, e_masked):
    """Number of elements ``x[b:e:s]`` selects along a dim of size ``dim`` (None when not known)."""
    if s is None or dim is None:
        return None
    if (b is None and not b_masked) or (e is None and not e_masked):
        return None
    return len(range(*builtins.slice(None if b_masked else b, None if e_masked else e, s).indices(dim)))


def output_shape(dims, begin, end, strides, attrs):
    """The static output shape of a StridedSlice, or None when the rank is unknown.

    ``dims`` is the input shape (tuple with None entries, or None); ``begin``/``end``/``strides``
    are lists of ints with None for unknown entries (all three the same length ``n``). Known
    values are validated as TF does: strides non-zero, shrunk indices inside their dim.
    """
    n = len(begin)
    for i, s in enumerate(strides):
        if s is not None and s == 0:
            raise ValueError(f"strides[{i}] must be non-zero")
    if dims is None:
        return None
    out = []
    for kind, i, d in dense_layout(len(dims), n, attrs):
        if kind == "new":
            out.append(1)
        elif kind == "full":
            out.append(dims[d])
        elif kind == "shrink":
            if strides[i] is not None and strides[i] < 0:
                raise ValueError("only stride 1 allowed on non-range indexing.")
            b, dim = begin[i], dims[d]
            if b is not None and dim is not None and not -dim <= b < dim:
                raise ValueError(f"slice index {b} of dimension {d} out of bounds.")
        else:
            b_masked, e_masked = _bit(attrs.get("begin_mask", 0), i), _bit(attrs.get("end_mask", 0), i)
            out.append(_slice_length(dims[d], begin[i], end[i], strides[i], b_masked, e_masked))
    return tuple(out)


# -- ``tensor[key]`` --------------------------------------------------------------------------
_VALID_INDICES = (
    "Only integers, slices (`:`), ellipsis (`...`), newaxis (`None`) and scalar int32/int64 tensors "
    "are valid indices"
)


def _is_tensor(value) -> bool:
    return hasattr(value, "op") and hasattr(value, "dtype") or hasattr(value, "_as_tensor")


def _check_index(idx):
    """Return ``idx`` as a Python int or a scalar integer tensor; TypeError otherwise."""
    if isinstance(idx, (bool, np.bool_)):
        raise TypeError(f"{_VALID_INDICES}, got {idx!r}. For a boolean mask use graphdl.boolean_mask(tensor, mask).")
    if isinstance(idx, numbers.Integral):
        return int(idx)
    if isinstance(idx, Dimension):
        if idx.value is None:
            raise TypeError(f"{_VALID_INDICES}, got an unknown Dimension.")
        return int(idx.value)
    if _is_tensor(idx):
        t = idx if hasattr(idx, "op") else idx._as_tensor()
        if t.dtype.is_bool:
            raise TypeError(
                f"{_VALID_INDICES}, got the boolean tensor '{t.name}'. "
                "For boolean masking use graphdl.boolean_mask(tensor, mask)."
            )
        if not t.dtype.is_integer:
            raise TypeError(f"{_VALID_INDICES}, got the {t.dtype.name} tensor '{t.name}'.")
        if t.shape.ndims not in (None, 0):
            raise TypeError(
                f"{_VALID_INDICES}, got tensor '{t.name}' of shape {t.shape}. "
                "To select several entries use graphdl.gather(tensor, indices) (or gather_nd)."
            )
        return t
    if isinstance(idx, np.ndarray) and idx.ndim == 0 and idx.dtype.kind in "iu":
        return int(idx)
    raise TypeError(
        f"{_VALID_INDICES}, got {idx!r}. To select several entries use graphdl.gather(tensor, indices); "
        "for a boolean mask use graphdl.boolean_mask(tensor, mask)."
    )


def _slice_bound(value):
    """A slice start/stop: None (masked) or an index."""
    if value is None:
        return None
    if isinstance(value, Dimension) and value.value is None:
        return None
    return _check_index(value)


def parse_getitem_key(key):
    """TF1's ``_slice_helper`` spec for ``tensor[key]``.

    Returns ``(begin, end, strides, masks)``: lists whose entries are Python ints or scalar
    integer tensors (``end`` may hold ``("plus_one", tensor)`` for a tensor index), and a
    dict of the five mask attrs. As in TF1, a list key is read like a tuple.
    """
    if not isinstance(key, (list, tuple)):
        key = [key]
    begin, end, strides = [], [], []
    masks = dict.fromkeys(MASK_ATTRS, 0)
    for index, s in enumerate(key):
        bit = 1 << index
        if isinstance(s, builtins.slice):
            start, stop = _slice_bound(s.start), _slice_bound(s.stop)
            step = 1 if s.step is None else _check_index(s.step)
            if isinstance(step, int) and step == 0:
                raise ValueError("slice step cannot be zero")
            if start is None:
                masks["begin_mask"] |= bit
            if stop is None:
                masks["end_mask"] |= bit
            begin.append(0 if start is None else start)
            end.append(0 if stop is None else stop)
            strides.append(step)
        elif s is Ellipsis:
            begin.append(0), end.append(0), strides.append(1)
            masks["ellipsis_mask"] |= bit
        elif s is None:
            begin.append(0), end.append(0), strides.append(1)
            masks["new_axis_mask"] |= bit
        else:
            s = _check_index(s)
            begin.append(s)
            end.append(s + 1 if isinstance(s, int) else ("plus_one", s))
            strides.append(1)
            masks["shrink_axis_mask"] |= bit
    return begin, end, strides, masks
