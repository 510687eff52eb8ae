"""TF's strided-slice semantics (begin/end/strides with masks) turned into NumPy indexing."""

from __future__ import annotations

import numpy as np

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
            index.append(slice(b, e, int(strides[i])))
    return tuple(index)


def evaluate_strided_slice(value, begin, end, strides, attrs):
    """Apply a StridedSlice to a NumPy value."""
    return np.asarray(value)[strided_slice_index(begin, end, strides, attrs)]
