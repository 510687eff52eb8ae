"""Build a graphdl graph from an ONNX model: inputs -> placeholders, initializers -> constants or variables,
nodes -> graphdl ops through the converter registry (one converter per ONNX op type)."""

from __future__ import annotations

import collections
import os
import re
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import numpy_helper

import graphdl

from . import (  # noqa: F401
    control_flow_converters,
    conv_converters,
    index_converters,
    math_converters,
    nn_converters,
    pool_converters,
    rnn_converters,
    tensor_converters,
)
from .registry import CONVERTERS, NodeContext, UnsupportedOnnxError, onnx_dtype

_INVALID_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.\-/]")


def graphdl_name(onnx_name: str, fallback: str) -> str:
    """A valid graphdl op name for an ONNX value name (ONNX names may hold any characters)."""
    name = _INVALID_NAME_CHARS.sub("_", onnx_name or "").strip("/")
    if not name or not re.match(r"[A-Za-z0-9.]", name[0]):
        name = f"{fallback}_{name}" if name else fallback
    return name


@dataclass
class ImportedModel:
    """An imported ONNX model: its graphdl ``graph`` and the tensors standing for the ONNX graph's
    ``inputs`` (placeholders) and ``outputs``, both dicts keyed by ONNX value name."""

    graph: graphdl.Graph
    inputs: dict
    outputs: dict
    variables: list = field(default_factory=list)
    opset: int = 0

    def session(self, backend=None) -> graphdl.Session:
        """A Session on the imported graph with its variables (trainable initializers) initialized."""
        sess = graphdl.Session(graph=self.graph, backend=backend)
        if self.variables:
            with self.graph.as_default():
                init = graphdl.variables_initializer(self.variables)
            sess.run(init)
        return sess

    def run(self, feeds: dict, session=None) -> list:
        """Run the model on ``feeds`` (ONNX input name -> array); the outputs in the ONNX graph's order."""
        sess = session if session is not None else self.session()
        feed_dict = {self.inputs[k]: v for k, v in feeds.items()}
        return sess.run(list(self.outputs.values()), feed_dict)


def _load(path_or_proto) -> onnx.ModelProto:
    if isinstance(path_or_proto, onnx.ModelProto):
        return path_or_proto
    if isinstance(path_or_proto, (bytes, bytearray)):
        return onnx.load_model_from_string(bytes(path_or_proto))
    if isinstance(path_or_proto, (str, os.PathLike)):
        return onnx.load(os.fspath(path_or_proto))
    raise TypeError(f"import_model expects a path, serialized bytes or an onnx.ModelProto, got "
                    f"{type(path_or_proto).__name__}")


def default_opset(model: onnx.ModelProto) -> int:
    """The model's version of the default ONNX domain."""
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return int(entry.version)
    raise ValueError("the ONNX model imports no version of the default domain ('ai.onnx')")


def _placeholder(value_info, name):
    tensor_type = value_info.type.tensor_type
    if not value_info.type.HasField("tensor_type"):
        raise UnsupportedOnnxError(f"graph input '{value_info.name}' is not a tensor (sequence/map/optional "
                                   f"inputs have no graphdl equivalent)")
    dtype = onnx_dtype(tensor_type.elem_type)
    shape = None
    if tensor_type.HasField("shape"):
        shape = [d.dim_value if d.HasField("dim_value") else None for d in tensor_type.shape.dim]
    return graphdl.placeholder(dtype, shape, name=name)


def import_model(path_or_proto, graph: graphdl.Graph | None = None, trainable_initializers: bool = False,
                 constant_inputs: dict | None = None, check: bool = False) -> ImportedModel:
    """Build a graphdl graph from an ONNX model (a path, bytes or ``onnx.ModelProto``).

    Graph inputs become placeholders (symbolic or unknown dims -> None), initializers become
    constants, or ``Variable``s when ``trainable_initializers`` is set (floating ones only, so the
    model can be fine-tuned), and each node becomes graphdl ops through its converter.
    ``constant_inputs`` (ONNX input name -> array) binds graph inputs to constants instead, as
    graphdl needs inputs that fix shapes or axes (Reshape's, Slice's, Pad's, ...) at import time. The graph
    is built into ``graph`` (a new Graph by default). Returns an :class:`ImportedModel`.
    An op type without a converter raises UnsupportedOnnxError naming the op type and the node.
    """
    model = _load(path_or_proto)
    if check:
        onnx.checker.check_model(model)
    opset = default_opset(model)
    foreign = [n for n in model.graph.node if n.domain not in ("", "ai.onnx")]
    if foreign:
        n = foreign[0]
        raise UnsupportedOnnxError(f"{n.op_type} node '{n.name}' is in domain '{n.domain}'; graphdl imports "
                                   f"only the default ONNX domain")
    graph = graph if graph is not None else graphdl.Graph()
    onnx_graph = model.graph
    values: dict = {}
    constants: dict = {}
    inputs: dict = {}
    variables: list = []
    with graph.as_default():
        init_names = {init.name for init in onnx_graph.initializer}
        constant_inputs = dict(constant_inputs or {})
        for value_info in onnx_graph.input:
            if value_info.name in constant_inputs:
                array = np.asarray(constant_inputs.pop(value_info.name))
                constants[value_info.name] = array
                values[value_info.name] = graphdl.constant(array, name=graphdl_name(value_info.name, "input"))
            elif value_info.name not in init_names:
                t = _placeholder(value_info, graphdl_name(value_info.name, "input"))
                values[value_info.name] = inputs[value_info.name] = t
        if constant_inputs:
            raise ValueError(f"constant_inputs names no graph input: {sorted(constant_inputs)}")
        for init in onnx_graph.initializer:
            array = numpy_helper.to_array(init)
            name = graphdl_name(init.name, "initializer")
            dtype = onnx_dtype(init.data_type)
            if trainable_initializers and dtype.is_floating:
                var = graphdl.Variable(array.astype(dtype.np), name=name)
                variables.append(var)
                values[init.name] = var.value() if hasattr(var, "value") else var
            else:
                constants[init.name] = array
                values[init.name] = graphdl.constant(array, dtype=dtype, name=name)
        for node in onnx_graph.node:
            _convert_node(node, values, constants, opset)
        outputs = {}
        for out in onnx_graph.output:
            if out.name not in values:
                raise ValueError(f"ONNX graph output '{out.name}' is produced by no node")
            outputs[out.name] = values[out.name]
    return ImportedModel(graph, inputs, outputs, variables, opset)


def import_subgraph(onnx_graph, inputs: list, outer_values, outer_constants, opset: int, where: str) -> list:
    """Convert the nodes of an ONNX subgraph (an ``If`` branch, a ``Loop``/``Scan`` body) into the current default
    graph and return the graphdl tensors of its outputs.

    The subgraph's inputs are bound to ``inputs`` (graphdl tensors, one per input), its initializers become
    constants, and names it does not define resolve in the enclosing scope (``outer_values``/``outer_constants``),
    as ONNX's lexical scoping says; names it defines stay local to it."""
    if len(inputs) != len(onnx_graph.input):
        raise ValueError(f"{where}: the subgraph '{onnx_graph.name}' takes {len(onnx_graph.input)} inputs, "
                         f"{len(inputs)} were given")
    values = collections.ChainMap({}, outer_values)
    constants = collections.ChainMap({}, outer_constants)
    for value_info, tensor in zip(onnx_graph.input, inputs):
        values[value_info.name] = tensor
    for init in onnx_graph.initializer:
        array = numpy_helper.to_array(init)
        constants[init.name] = array
        values[init.name] = graphdl.constant(array, dtype=onnx_dtype(init.data_type),
                                             name=graphdl_name(init.name, "initializer"))
    for node in onnx_graph.node:
        _convert_node(node, values, constants, opset)
    outputs = []
    for out in onnx_graph.output:
        if out.name not in values:
            raise ValueError(f"{where}: subgraph output '{out.name}' is produced by no node and names no outer value")
        outputs.append(values[out.name])
    return outputs


def _convert_node(node, values, constants, opset):
    if node.domain not in ("", "ai.onnx"):
        raise UnsupportedOnnxError(f"{node.op_type} node '{node.name}' is in domain '{node.domain}'; graphdl "
                                   f"imports only the default ONNX domain")
    fn = CONVERTERS.get(node.op_type)
    if fn is None:
        raise UnsupportedOnnxError(f"ONNX op type '{node.op_type}' (node '{node.name or node.output[0]}') has no "
                                   f"graphdl converter")
    node_inputs = []
    for name in node.input:
        if not name:
            node_inputs.append(None)
        elif name not in values:
            raise ValueError(f"{node.op_type} node '{node.name}': input '{name}' is produced by no earlier node "
                             f"(the ONNX graph must be topologically sorted)")
        else:
            node_inputs.append(values[name])
    ctx = NodeContext(node, node_inputs, constants, opset, values)
    scope = graphdl_name(node.name or node.output[0], node.op_type)
    with graphdl.name_scope(scope):
        result = fn(ctx)
    results = list(result) if isinstance(result, (list, tuple)) else [result]
    for i, out_name in enumerate(node.output):
        if not out_name:
            continue
        if i >= len(results) or results[i] is None:
            raise UnsupportedOnnxError(f"{ctx!r}: output {i} ('{out_name}') is not produced by graphdl's converter")
        value = results[i]
        if isinstance(value, np.ndarray):
            constants[out_name] = value
            value = graphdl.constant(value, name=graphdl_name(out_name, "const"))
        values[out_name] = value
