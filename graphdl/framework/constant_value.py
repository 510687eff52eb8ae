"""Build-time evaluation of tensors whose value is known statically (for shape inference)."""

from __future__ import annotations

import numpy as np

from graphdl.framework.tensor_shape import TensorShape


def constant_value(tensor):
    """The NumPy value of ``tensor`` if it can be computed without running the graph, else None."""
    op = tensor.op
    t = op.type
    if t == "Const":
        return op.attrs["value"]
    if t in ("Identity", "StopGradient"):
        return constant_value(op.inputs[0])
    if t == "Shape":
        shape = op.inputs[0].shape
        if shape.is_fully_defined():
            return np.array(shape.as_list(), dtype=tensor.dtype.np)
        return None
    if t == "Size":
        n = op.inputs[0].shape.num_elements()
        return None if n is None else np.array(n, dtype=tensor.dtype.np)
    if t == "Rank":
        r = op.inputs[0].shape.ndims
        return None if r is None else np.array(r, dtype=np.int32)
    if t == "Cast":
        v = constant_value(op.inputs[0])
        return None if v is None else v.astype(tensor.dtype.np)
    if t == "Pack":
        values = [constant_value(x) for x in op.inputs]
        if any(v is None for v in values):
            return None
        return np.stack(values, axis=op.attrs.get("axis", 0))
    if t == "ConcatV2":
        values = [constant_value(x) for x in op.inputs[:-1]]
        axis = constant_value(op.inputs[-1])
        if axis is None or any(v is None for v in values):
            return None
        return np.concatenate(values, axis=int(axis))
    if t in ("Fill",):
        dims, value = constant_value(op.inputs[0]), constant_value(op.inputs[1])
        if dims is None or value is None:
            return None
        return np.full(dims, value, dtype=tensor.dtype.np)
    if t == "StridedSlice":
        from graphdl.framework.strided_slice_spec import evaluate_strided_slice

        values = [constant_value(x) for x in op.inputs]
        if any(v is None for v in values):
            return None
        return evaluate_strided_slice(values[0], values[1], values[2], values[3], op.attrs)
    return None


def constant_value_as_shape(tensor) -> TensorShape:
    """A partially known shape from a 1-D int tensor (``-1`` or unknown entries become None)."""
    value = constant_value(tensor)
    if value is not None:
        return TensorShape([None if int(d) < 0 else int(d) for d in np.ravel(value)])
    op = tensor.op
    if op.type == "Shape":
        return op.inputs[0].shape
    if op.type == "Pack":
        dims = []
        for x in op.inputs:
            v = constant_value(x)
            dims.append(None if v is None or int(v) < 0 else int(v))
        return TensorShape(dims)
    if op.type == "ConcatV2":
        result = TensorShape([])
        for x in op.inputs[:-1]:
            result = result.concatenate(constant_value_as_shape(x))
        return result
    if op.type == "StridedSlice" and op.inputs[0].op.type == "Shape":
        begin, end, strides = (constant_value(x) for x in op.inputs[1:])
        source = op.inputs[0].op.inputs[0].shape
        if begin is not None and end is not None and strides is not None and source.ndims is not None:
            from graphdl.framework.strided_slice_spec import evaluate_strided_slice

            sliced = evaluate_strided_slice(np.array(source.as_list(), dtype=object), begin, end, strides, op.attrs)
            if np.ndim(sliced) == 1:
                return TensorShape(list(sliced))
    rank = tensor.shape[0].value if tensor.shape.ndims == 1 else None
    return TensorShape(None if rank is None else [None] * rank)
