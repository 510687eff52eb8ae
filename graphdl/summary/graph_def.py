"""A graphdl ``Graph`` as a TensorFlow ``GraphDef`` protobuf, for TensorBoard's graph tab.

Each Operation becomes a NodeDef with its scoped name (so name scopes group in TensorBoard),
op type, inputs (``"op"`` for output 0, ``"op:i"`` otherwise, ``"^op"`` for control inputs),
device and attrs: ``dtype`` (or ``T``, the dtype of the op's first input), ``_output_shapes``
and the op's plain attrs (ints, floats, bools, strings, dtypes, shapes, lists of these).
Constants keep their value when small; function-valued attrs (cond/while branches) are left
out. This is a picture of the graph for TensorBoard, not a format graphdl loads back.
"""

from __future__ import annotations

import numbers

import numpy as np

from graphdl import dtypes
from graphdl.framework.tensor_shape import TensorShape
from graphdl.summary._tensorboard import tensorboard
from graphdl.summary.encoding import as_bytes_array

# Constants with more elements are written with their dtype and shape only.
MAX_CONSTANT_ELEMENTS = 64

# TF's DataType enum names of graphdl's dtypes.
_DATA_TYPE_NAMES = {
    "float16": "DT_HALF", "float32": "DT_FLOAT", "float64": "DT_DOUBLE", "int8": "DT_INT8", "int16": "DT_INT16",
    "int32": "DT_INT32", "int64": "DT_INT64", "uint8": "DT_UINT8", "bool": "DT_BOOL", "string": "DT_STRING",
}


def data_type(dtype) -> int:
    """TF's DataType enum value of a graphdl dtype (DT_INVALID for unknown ones)."""
    types_pb2 = tensorboard().types_pb2
    name = _DATA_TYPE_NAMES.get(dtypes.as_dtype(dtype).name)
    return types_pb2.DataType.Value(name) if name else types_pb2.DT_INVALID


def shape_proto(shape):
    """A TensorShapeProto: unknown rank, or dims with -1 for unknown sizes."""
    tensor_shape_pb2 = tensorboard().tensor_shape_pb2
    dims = shape.as_tuple() if isinstance(shape, TensorShape) else (None if shape is None else tuple(shape))
    if dims is None:
        return tensor_shape_pb2.TensorShapeProto(unknown_rank=True)
    return tensor_shape_pb2.TensorShapeProto(
        dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=-1 if d is None else int(d)) for d in dims])


def graph_to_graph_def(graph, add_shapes: bool = True):
    """The ``GraphDef`` of ``graph``: one NodeDef per Operation, in creation order.

    With ``add_shapes``, each node gets TF's ``_output_shapes`` attr (the static shapes of its outputs).
    """
    tb = tensorboard()
    graph_def = tb.graph_pb2.GraphDef()
    for op in graph.get_operations():
        node = graph_def.node.add(name=op.name, op=op.type, device=_device_text(op.device))
        node.input.extend(t.op.name if t.value_index == 0 else f"{t.op.name}:{t.value_index}" for t in op.inputs)
        node.input.extend("^" + c.name for c in op.control_inputs)
        for key, value in op.attrs.items():
            attr = _attr_value(key, value)
            if attr is not None:
                node.attr[key].CopyFrom(attr)
        if "dtype" not in node.attr and "T" not in node.attr:
            typed = op.inputs[0] if op.inputs else (op.outputs[0] if op.outputs else None)
            if typed is not None:
                node.attr["T"].type = data_type(typed.dtype)
        if add_shapes and op.outputs:
            node.attr["_output_shapes"].list.shape.extend(shape_proto(t.shape) for t in op.outputs)
    return graph_def


def _device_text(device) -> str:
    return device if isinstance(device, str) else ""


def _attr_value(key, value):
    """An AttrValue for a plain attr value, or None for values a GraphDef cannot show (functions, objects)."""
    attr_value_pb2 = tensorboard().attr_value_pb2
    if isinstance(value, dtypes.DType):
        return attr_value_pb2.AttrValue(type=data_type(value))
    if isinstance(value, TensorShape) or (key.endswith("shape") and _is_shape_tuple(value)):
        return attr_value_pb2.AttrValue(shape=shape_proto(value))
    if isinstance(value, np.ndarray):
        return attr_value_pb2.AttrValue(tensor=_tensor_proto(value)) if key == "value" else None
    scalar = _scalar_attr(value)
    if scalar is not None:
        return attr_value_pb2.AttrValue(**scalar)
    if isinstance(value, (list, tuple)):
        return _list_attr(value)
    return None


def _is_shape_tuple(value) -> bool:
    return value is None or (isinstance(value, (list, tuple)) and all(
        d is None or (isinstance(d, numbers.Integral) and not isinstance(d, bool)) for d in value))


def _scalar_attr(value):
    if isinstance(value, (bool, np.bool_)):
        return {"b": bool(value)}
    if isinstance(value, numbers.Integral):
        return {"i": int(value)}
    if isinstance(value, numbers.Real):
        return {"f": float(value)}
    if isinstance(value, str):
        return {"s": value.encode()}
    if isinstance(value, bytes):
        return {"s": value}
    return None


def _list_attr(values):
    attr_value_pb2 = tensorboard().attr_value_pb2
    items = list(values)
    if all(isinstance(v, dtypes.DType) for v in items):
        return attr_value_pb2.AttrValue(list=attr_value_pb2.AttrValue.ListValue(type=[data_type(v) for v in items]))
    scalars = [_scalar_attr(v) for v in items]
    if any(s is None for s in scalars) or len({next(iter(s)) for s in scalars}) > 1:
        return None  # mixed or non-plain items (function specs, tensors)
    field = next(iter(scalars[0])) if scalars else "i"
    return attr_value_pb2.AttrValue(list=attr_value_pb2.AttrValue.ListValue(**{field: [s[field] for s in scalars]}))


def _tensor_proto(array: np.ndarray):
    tb = tensorboard()
    if array.size > MAX_CONSTANT_ELEMENTS:
        return tb.tensor_pb2.TensorProto(dtype=data_type(array.dtype), tensor_shape=shape_proto(array.shape))
    return tb.make_tensor_proto(as_bytes_array(array) if array.dtype == object else array)
