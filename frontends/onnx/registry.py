"""The converter registry: one function per ONNX op type, building graphdl ops for one ONNX node.

A converter is registered with :func:`converter` and receives a :class:`NodeContext`; it returns
one graphdl tensor or a list (one per ONNX output, None for outputs it does not produce)::

    @converter("Relu")
    def relu(node):
        return graphdl.nn.relu(node.input(0))
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from onnx import helper

import graphdl
from graphdl import errors
from graphdl.framework.op_def import get_op_def

CONVERTERS: dict[str, Callable] = {}
# Inputs (by index) that fix output shapes or axes (axes, pads, starts, sizes, ...): graphdl builds static graphs,
# so these must be constants at import time (an initializer, a Constant node, or ``import_model(constant_inputs=)``).
STATIC_INPUTS: dict[str, tuple] = {}


def converter(*op_types: str, static_inputs: tuple = ()):
    """Register the decorated function as the converter of each ONNX op type in ``op_types``;
    ``static_inputs`` lists the input indices that must be known at import time."""

    def register(fn):
        for op_type in op_types:
            if op_type in CONVERTERS:
                raise ValueError(f"ONNX op type '{op_type}' already has a converter")
            CONVERTERS[op_type] = fn
            STATIC_INPUTS[op_type] = tuple(static_inputs)
        return fn

    return register


def onnx_dtype(elem_type: int) -> graphdl.DType:
    """The graphdl dtype of an ONNX TensorProto element type; TypeError when graphdl has none."""
    try:
        return graphdl.as_dtype(helper.tensor_dtype_to_np_dtype(elem_type))
    except (TypeError, KeyError, ValueError):
        name = helper.tensor_dtype_to_string(elem_type) if elem_type else "UNDEFINED"
        raise TypeError(f"ONNX element type {name} has no graphdl dtype") from None


class UnsupportedOnnxError(errors.UnimplementedError):
    """An ONNX op type, attribute or input form that the importer cannot express in graphdl."""

    def __init__(self, message: str):
        super().__init__(None, None, message)


class NodeContext:
    """One ONNX node as its converter sees it: attributes, graphdl inputs, constant values, opset."""

    def __init__(self, node, inputs, constants, opset: int, values=None):
        self.node = node
        self.op_type = node.op_type
        self.name = node.name or (node.output[0] if node.output else node.op_type)
        self.opset = opset
        self.attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        self._inputs = inputs
        self._constants = constants
        self._values = values if values is not None else {}

    def __repr__(self):
        return f"{self.op_type} node '{self.name}'"

    @property
    def num_inputs(self) -> int:
        return len(self._inputs)

    def has_input(self, i: int) -> bool:
        """Whether input ``i`` is given (ONNX marks omitted optional inputs with an empty name)."""
        return i < len(self._inputs) and self._inputs[i] is not None

    def input(self, i: int):
        """The graphdl tensor of input ``i``; a clear error when it is missing."""
        if not self.has_input(i):
            raise ValueError(f"{self!r}: input {i} is required but missing")
        return self._inputs[i]

    def inputs(self):
        """All given inputs (skipping omitted optional ones)."""
        return [t for t in self._inputs if t is not None]

    def const(self, i: int):
        """The NumPy value of input ``i`` when known at import time (initializer, Constant, static shape), else None."""
        if not self.has_input(i):
            return None
        name = self.node.input[i]
        if name not in self._constants:
            value = fold_constant(self._inputs[i])
            if value is None:
                return None
            self._constants[name] = value
        return self._constants[name]

    def require_const(self, i: int, what: str):
        """The NumPy value of input ``i``; UnsupportedOnnxError naming the node when it is only known at run time."""
        value = self.const(i)
        if value is None:
            raise UnsupportedOnnxError(f"{self!r}: input {i} ({what}) must be a constant (an initializer or a "
                                       f"Constant node) for graphdl to import it")
        return value

    def attr(self, name: str, default=None):
        """An attribute's value (bytes decoded to str), or ``default`` when absent."""
        value = self.attrs.get(name, default)
        return value.decode() if isinstance(value, bytes) else value

    def int_list(self, attr_name: str, input_index: int, what: str):
        """A list of ints given as an attribute (older opsets) or a constant input (newer ones); None when neither."""
        if attr_name in self.attrs:
            return [int(v) for v in self.attrs[attr_name]]
        if self.has_input(input_index):
            return [int(v) for v in np.atleast_1d(self.require_const(input_index, what))]
        return None

    def subgraph(self, attr_name: str, inputs) -> list:
        """Import the graph attribute ``attr_name`` (a branch or loop body) into the current graphdl graph, its
        inputs bound to the tensors ``inputs``, and return its outputs. The subgraph sees the names of the scope
        enclosing this node (ONNX lexical scoping); its own names stay local to it."""
        from .importer import import_subgraph

        return import_subgraph(self.attrs[attr_name], list(inputs), self._values, self._constants, self.opset,
                               where=f"{self!r} attribute '{attr_name}'")

    def unsupported(self, detail: str):
        """An UnsupportedOnnxError naming this node and what graphdl cannot express."""
        return UnsupportedOnnxError(f"{self!r}: {detail}")


_NOT_FOLDABLE = {"Placeholder", "PlaceholderWithDefault", "VariableV2"}


def fold_constant(tensor):
    """The value of ``tensor`` when it depends on no placeholder, variable or stateful op (e.g. shape arithmetic
    on static shapes), computed once at import time on the reference backend; else None."""
    value = graphdl.constant_value(tensor)
    if value is not None:
        return np.asarray(value)
    seen, stack = set(), [tensor.op]
    while stack:
        op = stack.pop()
        if op.name in seen:
            continue
        seen.add(op.name)
        if op.type in _NOT_FOLDABLE or get_op_def(op.type).stateful:
            return None
        stack.extend(t.op for t in op.inputs)
    with graphdl.Session(graph=tensor.graph, backend="reference") as sess:
        return np.asarray(sess.run(tensor))


def rank_of(t, node) -> int:
    """The static rank of ``t``; UnsupportedOnnxError naming ``node`` when unknown."""
    ndims = t.shape.ndims
    if ndims is None:
        raise node.unsupported(f"input '{t.name}' needs a known rank")
    return ndims


def normalize_axis(axis: int, rank: int, node) -> int:
    """``axis`` in [0, rank) from ONNX's [-rank, rank) range; ValueError naming the node when out of range."""
    if not -rank <= axis < rank:
        raise ValueError(f"{node!r}: axis {axis} is out of range for rank {rank}")
    return axis % rank
