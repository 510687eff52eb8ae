"""graphdl's serialized graph format (TF1's ``GraphDef`` role) and ``import_graph_def``.

A graph serializes to UTF-8 JSON (``as_text`` indents it, the binary form is compact; both
read the same way)::

    {"format": "graphdl-graph", "version": 1, "producer": "graphdl 0.1.0",
     "nodes": [
       {"name": "x", "op": "Placeholder", "inputs": [], "control_inputs": [], "device": "",
        "attrs": {"dtype": {"dtype": "float32"}, "shape": {"tuple": [null, 3]}},
        "outputs": [{"dtype": "float32", "shape": [null, 3]}]},
       {"name": "dense/MatMul", "op": "MatMul", "inputs": ["x:0", "dense/kernel/read:0"], ...},
       ...]}

``nodes`` are the ops in creation order. ``inputs`` are tensor references
``"<op name>:<output index>"`` to earlier nodes; ``control_inputs`` op names (any node);
``attrs`` use the tagged encoding of graphdl/framework/attr_codec.py (dtypes, shapes,
lists, tuples, strings, numbers, NumPy arrays such as a Const's value: small ones as JSON
values, others base64); ``outputs`` record each output's dtype and static shape (``null``
for an unknown rank), which loading checks and uses to restore shapes set with
``set_shape``. A function graph (the branches of ``cond``, the body of ``while_loop``) is
an attr value ``{"function": {"id": "f0", "name": ..., "name_scope": ..., "nodes": [...],
"inputs": [tensor refs], "outputs": [tensor refs], "placeholder_captures": [[outer ref,
inner ref], ...], "captures": [[levels up, outer ref, inner ref], ...]}}`` whose nodes
follow the same rules; outer references name tensors of the enclosing graph (``levels up``
graphs out for ``captures``); a function used twice is written once and then referred to as
``{"function_ref": "f0"}``.

Loading parses JSON and nothing else (no pickle, no eval): every op type must be registered
in this graphdl, every attr must use a documented encoding, and a file of another format or
a newer version is refused with a GraphFormatError saying so. See docs/graph_format.md.
"""

from __future__ import annotations

import json
import re

from graphdl import errors
from graphdl.framework.attr_codec import (
    GraphFormatError,
    UnserializableAttrError,
    decode_dims,
    decode_dtype,
    decode_value,
    encode_value,
)
from graphdl.framework.func_graph import FuncGraph
from graphdl.framework.graph import Graph, get_default_graph
from graphdl.framework.op_def import get_op_def
from graphdl.framework.operation import Operation, Tensor

__all__ = ["GraphDef", "GraphFormatError", "NodeDef", "UnserializableAttrError", "import_graph_def"]

FORMAT_NAME = "graphdl-graph"
FORMAT_VERSION = 1
_TENSOR_REF = re.compile(r"^(.+):(\d+)$")
_NODE_KEYS = {"name", "op", "inputs", "control_inputs", "device", "attrs", "outputs"}


def _producer() -> str:
    import graphdl

    return f"graphdl {getattr(graphdl, '__version__', '?')}"


# -- GraphDef ---------------------------------------------------------------------------------
class NodeDef:
    """A read-only view of one serialized op, with TF1's NodeDef field names.

    ``name``, ``op`` (the op type), ``input`` (``"x"``, ``"x:1"``, ``"^ctrl"`` as in TF1),
    ``device``, ``attr`` (the attrs in their JSON encoding) and ``output`` (dtype/shape dicts).
    """

    __slots__ = ("_data",)

    def __init__(self, data: dict):
        self._data = data

    name = property(lambda self: self._data["name"])
    op = property(lambda self: self._data["op"])
    device = property(lambda self: self._data.get("device", ""))
    attr = property(lambda self: dict(self._data.get("attrs", {})))
    output = property(lambda self: list(self._data.get("outputs", [])))

    @property
    def input(self) -> list:
        refs = [r.removesuffix(":0") for r in self._data.get("inputs", [])]
        return refs + ["^" + c for c in self._data.get("control_inputs", [])]

    def __repr__(self):
        return f"<NodeDef {self.name!r} op={self.op!r}>"


class GraphDef:
    """A serialized graph (TF1's ``tf.GraphDef``): the JSON document described in the module docstring.

    Made by ``Graph.as_graph_def()`` (a snapshot), read with ``ParseFromString`` or
    ``tf.train.import_meta_graph``'s files, imported with ``import_graph_def``.
    """

    def __init__(self, data: dict | None = None):
        if data is None:
            data = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "producer": _producer(), "nodes": []}
        self._data = check_header(data, FORMAT_NAME, FORMAT_VERSION, "graph")

    @property
    def node(self) -> list:
        """The ops, as NodeDef views, in creation order."""
        return [NodeDef(n) for n in self._data["nodes"]]

    @property
    def versions(self) -> dict:
        return {"format": FORMAT_NAME, "version": self._data["version"], "producer": self._data.get("producer", "")}

    def as_dict(self) -> dict:
        """The JSON document (not a copy: do not modify)."""
        return self._data

    def to_json(self, as_text: bool = True) -> str:
        """The document as JSON text: indented with ``as_text``, compact otherwise."""
        return dumps(self._data, as_text)

    def SerializeToString(self) -> bytes:
        """The compact UTF-8 JSON bytes of this graph."""
        return self.to_json(as_text=False).encode("utf-8")

    def ParseFromString(self, data) -> GraphDef:
        """Replace this GraphDef with the graph serialized in ``data`` (bytes or str of either form)."""
        self._data = check_header(parse_json(data, "graph"), FORMAT_NAME, FORMAT_VERSION, "graph")
        return self

    @classmethod
    def FromString(cls, data) -> GraphDef:
        return cls().ParseFromString(data)

    def __eq__(self, other):
        return isinstance(other, GraphDef) and self._data == other._data

    __hash__ = None

    def __str__(self):
        return self.to_json(as_text=True)

    def __repr__(self):
        return f"<graphdl.GraphDef with {len(self._data['nodes'])} nodes>"


def dumps(data, as_text: bool, expand_depth: int = 2) -> str:
    """JSON text of ``data``: compact, or (``as_text``) objects and arrays less than ``expand_depth``
    levels deep spread one item per line, deeper ones (each node) on one line."""
    if not as_text:
        return json.dumps(data, separators=(",", ":"), allow_nan=False)

    def render(value, depth, indent):
        if depth >= expand_depth or not isinstance(value, (dict, list)) or not value:
            return json.dumps(value, allow_nan=False)
        pad = indent + " "
        if isinstance(value, dict):
            items = [f"{pad}{json.dumps(k)}: {render(v, depth + 1, pad)}" for k, v in value.items()]
            return "{\n" + ",\n".join(items) + "\n" + indent + "}"
        items = [pad + render(v, depth + 1, pad) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + indent + "]"

    return render(data, 0, "") + "\n"


def parse_json(data, what: str, source: str = "") -> dict:
    """Parse serialized JSON bytes/str; GraphFormatError (naming ``source``) when it is not JSON."""
    where = f" {source}" if source else ""
    if isinstance(data, (bytes, bytearray, memoryview)):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError as e:
            raise GraphFormatError(f"The {what} file{where} is not a graphdl {what} (not UTF-8 JSON: {e}).") from None
    if not isinstance(data, str):
        raise TypeError(f"A serialized {what} must be bytes or str, got {type(data).__name__}")
    try:
        return json.loads(data, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as e:
        raise GraphFormatError(f"The {what} file{where} is corrupt or truncated (invalid JSON: {e}).") from None


def _reject_constant(name):
    raise ValueError(f"non-standard JSON constant {name}")


def check_header(data, format_name: str, version: int, what: str, source: str = "") -> dict:
    """``data`` if it is a ``format_name`` document this graphdl reads; GraphFormatError otherwise."""
    where = f" {source}" if source else ""
    if not isinstance(data, dict) or data.get("format") != format_name:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise GraphFormatError(f"The {what} file{where} is not a graphdl {what}: format {found!r}, expected {format_name!r}.")
    found = data.get("version")
    if not isinstance(found, int) or isinstance(found, bool) or found < 1:
        raise GraphFormatError(f"The {what} file{where} has an invalid format version {found!r}.")
    if found > version:
        raise GraphFormatError(
            f"The {what} file{where} has format version {found}, written by a newer graphdl; this graphdl "
            f"({_producer()}) reads {format_name} versions up to {version}. Upgrade graphdl to load it."
        )
    if format_name == FORMAT_NAME and not isinstance(data.get("nodes"), list):
        raise GraphFormatError(f"The {what} file{where} is corrupt: 'nodes' must be a list.")
    return data


# -- writing ----------------------------------------------------------------------------------
class _Exporter:
    """Encodes a graph and its function graphs; ``rename`` maps op names (export_scope stripping)."""

    def __init__(self, clear_devices=False, rename=None):
        self._clear_devices = clear_devices
        self._rename = rename or (lambda name: name)
        self._function_ids: dict = {}

    def graph(self, graph: Graph, include=None) -> list:
        nodes = []
        for op in graph.get_operations():
            if include is None or include(op):
                nodes.append(self._node(op, include))
        return nodes

    def _ref(self, t: Tensor) -> str:
        return f"{self._rename(t.op.name)}:{t.value_index}"

    def _node(self, op: Operation, include) -> dict:
        where = f"attr '{{}}' of op '{op.name}' ({op.type})"
        for t in op.inputs:
            if include is not None and not include(t.op):
                raise ValueError(f"Op '{op.name}' takes '{t.name}', which is outside the exported scope.")
        return {
            "name": self._rename(op.name),
            "op": op.type,
            "inputs": [self._ref(t) for t in op.inputs],
            "control_inputs": [self._rename(c.name) for c in op.control_inputs
                               if include is None or include(c)],
            "device": "" if self._clear_devices else str(op.device or ""),
            "attrs": {k: encode_value(v, lambda f, op=op: self._function(f, op), where.format(k))
                      for k, v in op.attrs.items()},
            "outputs": [_output_spec(t) for t in op.outputs],
        }

    def _function(self, func: FuncGraph, op: Operation) -> dict:
        if func in self._function_ids:
            return {"function_ref": self._function_ids[func]}
        if func.outer_graph is not op.graph and (func.captures or func._placeholder_captures):
            # (A gradient function may be traced beside the op's graph; it captures nothing, so the op's graph
            # serves as its enclosing graph.)
            raise UnserializableAttrError(
                f"Function graph '{func.name}' of op '{op.name}' captures tensors of a graph other than the op's own."
            )
        fid = self._function_ids[func] = f"f{len(self._function_ids)}"
        captures = []
        for outer, inner in func.captures.items():
            levels, g = 1, func.outer_graph
            while g is not None and outer.graph is not g:
                levels, g = levels + 1, getattr(g, "outer_graph", None)
            if g is None:
                raise UnserializableAttrError(f"Function '{func.name}' captures '{outer.name}' of an unrelated graph.")
            captures.append([levels, self._ref(outer), self._ref(inner)])
        return {"function": {
            "id": fid,
            "name": self._rename(func.name),
            "name_scope": self._rename(func.get_name_scope()),
            "nodes": self.graph(func),
            "inputs": [self._ref(t) for t in func.inputs],
            "outputs": [self._ref(t) for t in func.outputs],
            "placeholder_captures": [[self._ref(o), self._ref(i)] for o, i in func._placeholder_captures],
            "captures": captures,
        }}


def _output_spec(t: Tensor) -> dict:
    dims = t.shape.as_tuple()
    return {"dtype": t.dtype.name, "shape": None if dims is None else list(dims)}


def graph_to_graph_def(graph: Graph, clear_devices: bool = False, export_scope: str | None = None) -> GraphDef:
    """Serialize ``graph`` (a snapshot) as a GraphDef.

    ``export_scope``: only ops under that name scope, with the scope stripped from their names.
    Raises UnserializableAttrError naming the op and attr for a value the format cannot hold.
    """
    include, rename = None, None
    if export_scope:
        prefix = export_scope.rstrip("/") + "/"
        include = lambda op: op.name.startswith(prefix)
        rename = lambda name: name.removeprefix(prefix)
    nodes = _Exporter(clear_devices, rename).graph(graph, include)
    return GraphDef({"format": FORMAT_NAME, "version": FORMAT_VERSION, "producer": _producer(), "nodes": nodes})


# -- reading ----------------------------------------------------------------------------------
class _Scope:
    """One graph being filled during an import: original op names -> new ops."""

    def __init__(self, graph: Graph, prefix: str, parent=None, input_map=None):
        self.graph = graph
        self.prefix = prefix
        self.parent = parent
        self.input_map = input_map or {}
        self.used_inputs: set = set()
        self.ops: dict[str, Operation] = {}

    def tensor(self, ref, where: str) -> Tensor:
        if not isinstance(ref, str):
            raise GraphFormatError(f"{where}: tensor reference {ref!r} must be a string 'op:index'")
        m = _TENSOR_REF.match(ref)
        if m is None:
            raise GraphFormatError(f"{where}: '{ref}' is not a tensor reference 'op_name:index'")
        if ref in self.input_map:
            self.used_inputs.add(ref)
            return self.input_map[ref]
        op = self.op(m.group(1), where)
        index = int(m.group(2))
        if index >= len(op.outputs):
            raise GraphFormatError(f"{where}: '{ref}' refers to output {index} of an op with {len(op.outputs)} outputs")
        return op.outputs[index]

    def op(self, name, where: str) -> Operation:
        op = self.ops.get(name) if isinstance(name, str) else None
        if op is None:
            raise GraphFormatError(f"{where}: '{name}' does not name an earlier op of the graph file")
        return op

    def up(self, levels: int, where: str) -> _Scope:
        scope = self
        for _ in range(levels):
            scope = scope.parent
            if scope is None:
                raise GraphFormatError(f"{where}: a capture refers {levels} graphs out, beyond the outermost graph")
        return scope


class _Importer:
    def __init__(self, clear_devices=False):
        self._clear_devices = clear_devices
        self._functions: dict[str, FuncGraph] = {}

    def import_nodes(self, scope: _Scope, nodes):
        if not isinstance(nodes, list):
            raise GraphFormatError("'nodes' must be a list")
        created = []
        for k, node in enumerate(nodes):
            created.append((self._create(scope, node, k), node))
        for op, node in created:
            for c in _list(node.get("control_inputs", []), f"node '{op.name}' control_inputs"):
                op._add_control_input(scope.op(c, f"control input of node '{op.name}'"))

    def _create(self, scope: _Scope, node, k) -> Operation:
        if not isinstance(node, dict) or not isinstance(node.get("name"), str) or not isinstance(node.get("op"), str):
            raise GraphFormatError(f"node {k} must be an object with string 'name' and 'op', got {str(node)[:80]}")
        name, op_type = node["name"], node["op"]
        where = f"node '{name}' ({op_type})"
        unknown = set(node) - _NODE_KEYS
        if unknown:
            raise GraphFormatError(f"{where}: unknown fields {sorted(unknown)}")
        try:
            get_op_def(op_type)
        except errors.NotFoundError:
            raise GraphFormatError(
                f"{where}: op type '{op_type}' is not registered in this graphdl ({_producer()}); the file needs a "
                "graphdl that defines it."
            ) from None
        if name in scope.ops:
            raise GraphFormatError(f"{where}: duplicate node name '{name}'")
        inputs = [scope.tensor(r, where) for r in _list(node.get("inputs", []), f"{where} inputs")]
        raw_attrs = node.get("attrs", {})
        if not isinstance(raw_attrs, dict):
            raise GraphFormatError(f"{where}: attrs must be an object")
        attrs = {
            key: decode_value(v, lambda tag, body: self._function(scope, tag, body, where), f"{where} attr '{key}'")
            for key, v in raw_attrs.items()
        }
        graph = scope.graph
        if scope.prefix + name in graph._ops_by_name:
            raise ValueError(
                f"Cannot import node '{name}': the graph already has an op named '{scope.prefix + name}'. Import "
                "into a new graph (with tf.Graph().as_default():) or under a name (import_scope=/name=)."
            )
        try:
            with graph.control_dependencies(None):
                op = graph.create_op(op_type, inputs, attrs, scope.prefix + name + "/")
        except Exception as e:  # noqa: BLE001 - a malformed attr may break shape inference in any way
            raise GraphFormatError(f"{where}: cannot be created from the graph file: {e}") from None
        device = node.get("device", "")
        if not isinstance(device, str):
            raise GraphFormatError(f"{where}: device must be a string")
        op._set_device("" if self._clear_devices else device)
        self._check_outputs(op, node.get("outputs"), where)
        scope.ops[name] = op
        return op

    def _check_outputs(self, op, specs, where):
        if specs is None:
            return
        specs = _list(specs, f"{where} outputs")
        if len(specs) != len(op.outputs):
            raise GraphFormatError(f"{where}: the file records {len(specs)} outputs, the op has {len(op.outputs)}")
        for i, (t, spec) in enumerate(zip(op.outputs, specs)):
            if not isinstance(spec, dict):
                raise GraphFormatError(f"{where}: output {i} spec must be an object")
            dtype = decode_dtype(spec.get("dtype"), f"{where} output {i}")
            if dtype != t.dtype:
                raise GraphFormatError(
                    f"{where}: output {i} has dtype {dtype.name} in the file, but this graphdl makes it {t.dtype.name}"
                )
            shape = spec.get("shape")
            if shape is not None:
                try:
                    t.set_shape(decode_dims(shape, f"{where} output {i}"))
                except ValueError as e:
                    raise GraphFormatError(f"{where}: output {i}: {e}") from None

    def _function(self, scope: _Scope, tag, body, where) -> FuncGraph:
        if tag == "function_ref":
            if body not in self._functions:
                raise GraphFormatError(f"{where}: function_ref {body!r} does not name an earlier function")
            return self._functions[body]
        if not isinstance(body, dict) or not isinstance(body.get("id"), str) or not isinstance(body.get("name"), str):
            raise GraphFormatError(f"{where}: a function needs string 'id' and 'name'")
        fid = body["id"]
        if fid in self._functions:
            raise GraphFormatError(f"{where}: function id {fid!r} is defined twice")
        where = f"function '{body['name']}' (in {where})"
        name_scope = body.get("name_scope", "")
        if not isinstance(name_scope, str):
            raise GraphFormatError(f"{where}: name_scope must be a string")
        func = FuncGraph(_join(scope.prefix, body["name"]), scope.graph, name_scope=_join(scope.prefix, name_scope))
        inner = _Scope(func, scope.prefix, parent=scope)
        self.import_nodes(inner, body.get("nodes"))
        func.inputs = [inner.tensor(r, where) for r in _list(body.get("inputs", []), f"{where} inputs")]
        func.outputs = [inner.tensor(r, where) for r in _list(body.get("outputs", []), f"{where} outputs")]
        for pair in _list(body.get("placeholder_captures", []), f"{where} placeholder_captures"):
            if not isinstance(pair, list) or len(pair) != 2:
                raise GraphFormatError(f"{where}: a placeholder capture must be [outer ref, inner ref]")
            func._placeholder_captures.append((scope.tensor(pair[0], where), inner.tensor(pair[1], where)))
        for entry in _list(body.get("captures", []), f"{where} captures"):
            if not (isinstance(entry, list) and len(entry) == 3 and isinstance(entry[0], int) and entry[0] >= 1):
                raise GraphFormatError(f"{where}: a capture must be [levels up >= 1, outer ref, inner ref]")
            outer = inner.up(entry[0], where).tensor(entry[1], where)
            func.captures[outer] = inner.tensor(entry[2], where)
        self._functions[fid] = func
        return func


def _list(value, where) -> list:
    if not isinstance(value, list):
        raise GraphFormatError(f"{where} must be a list, got {str(value)[:80]}")
    return value


def _join(prefix: str, name: str) -> str:
    return (prefix + name) if name else prefix.rstrip("/")


def mark_names_used(graph: Graph, ops):
    """Reserve the imported names and their name scopes, so that new ops get fresh names (``dense_1``...)."""
    in_use = graph._names_in_use
    for op in ops:
        parts = op.name.lower().split("/")
        for i in range(1, len(parts) + 1):
            in_use.setdefault("/".join(parts[:i]), 1)


def import_graph_data(graph: Graph, graph_def: GraphDef, prefix: str, input_map=None, clear_devices=False) -> dict:
    """Create ``graph_def``'s ops in ``graph`` under ``prefix`` (``""`` or ending in '/').

    ``input_map`` maps tensor references of the file (``"x:0"``) to existing tensors.
    Returns {original op name: new Operation} for the top-level ops.
    """
    scope = _Scope(graph, prefix, input_map=input_map)
    before = len(graph.get_operations())
    _Importer(clear_devices).import_nodes(scope, graph_def.as_dict()["nodes"])
    unused = sorted(set(scope.input_map) - scope.used_inputs)
    if unused:
        raise ValueError(f"Attempted to map inputs that were not found in graph_def: [{', '.join(unused)}]")
    mark_names_used(graph, graph.get_operations()[before:])
    return scope.ops


def _normalize_input_map(graph: Graph, graph_def: GraphDef, input_map) -> dict:
    if not input_map:
        return {}
    if not isinstance(input_map, dict):
        raise TypeError("input_map must be a dictionary mapping strings to Tensor objects.")
    from graphdl.framework.ops import convert_to_tensor

    specs = {}
    for node in graph_def.as_dict()["nodes"]:
        for i, spec in enumerate(node.get("outputs") or []):
            specs[f"{node.get('name')}:{i}"] = spec
    result = {}
    for key, value in input_map.items():
        if not isinstance(key, str):
            raise TypeError(f"input_map keys must be tensor names (strings), got {key!r}")
        ref = key if _TENSOR_REF.match(key) else key + ":0"
        if ref.startswith("^"):
            raise ValueError(f"input_map key {key!r}: control inputs cannot be remapped")
        tensor = convert_to_tensor(value)
        if tensor.graph is not graph:
            raise ValueError(f"input_map value for {key!r} ('{tensor.name}') is from another graph")
        spec = specs.get(ref)
        if spec is not None and spec.get("dtype") != tensor.dtype.name:
            raise ValueError(
                f"input_map: '{ref}' has dtype {spec.get('dtype')} in the graph_def but is mapped to "
                f"'{tensor.name}' of dtype {tensor.dtype.name}."
            )
        result[ref] = tensor
    return result


def import_graph_def(graph_def, input_map=None, return_elements=None, name=None, op_dict=None, producer_op_list=None):
    """Import a serialized graph into the default graph (TF1's ``tf.import_graph_def``).

    Op names are prefixed with ``name`` (default ``"import"``, made unique: ``import_1``...;
    ``""`` for none). ``input_map`` maps tensor names of ``graph_def`` (``"x:0"`` or ``"x"``)
    to existing tensors, which the imported ops then use instead. ``return_elements``: names
    in ``graph_def`` to return, a Tensor for ``"op:0"``, an Operation for ``"op"``. Returns
    that list, or None without ``return_elements``. Raises GraphFormatError for a malformed
    graph_def, ValueError for unused ``input_map`` keys or unknown ``return_elements``.
    """
    if not isinstance(graph_def, GraphDef):
        raise TypeError(f"graph_def must be a GraphDef proto, got {type(graph_def).__name__}")
    graph = get_default_graph()
    input_map = _normalize_input_map(graph, graph_def, input_map)
    with graph.name_scope(name if name is not None else "import") as prefix:
        ops = import_graph_data(graph, graph_def, prefix, input_map)
    if return_elements is None:
        return None
    return [_return_element(ops, r) for r in return_elements]


def _return_element(ops: dict, name):
    if not isinstance(name, str):
        raise TypeError(f"return_elements must be names (strings), got {name!r}")
    m = _TENSOR_REF.match(name)
    op = ops.get(m.group(1) if m else name)
    if op is None:
        raise ValueError(f"Requested return_element {name!r} not found in graph_def.")
    if m is None:
        return op
    index = int(m.group(2))
    if index >= len(op.outputs):
        raise ValueError(f"Requested return_element {name!r}: op '{op.name}' has {len(op.outputs)} outputs.")
    return op.outputs[index]
