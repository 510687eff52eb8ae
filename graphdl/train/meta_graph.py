"""TF1's graph files: ``tf.train.write_graph``, ``export_meta_graph`` and ``import_meta_graph``.

A meta graph file (``model.ckpt.meta``, written by ``Saver.save``) holds a graph with what
a fresh process needs to continue with it: its collections (variables, train_op, losses,
summaries...), the Variables behind them and the Saver's settings. It is UTF-8 JSON::

    {"format": "graphdl-meta-graph", "version": 1,
     "meta_info": {"producer": "graphdl 0.1.0", "tags": []},
     "graph_def": {"format": "graphdl-graph", "version": 1, "nodes": [...]},
     "variables": {"dense/kernel": {"variable": "dense/kernel:0", "initial_value": "...:0",
                   "initializer": "dense/kernel/Assign", "snapshot": "dense/kernel/read:0",
                   "trainable": true, "variable_store_name": "dense/kernel"}, ...},
     "collections": {"variables": [{"variable": "dense/kernel"}, ...],
                     "train_op": [{"operation": "Adam"}], "losses": [{"tensor": "loss:0"}],
                     "my_numbers": [{"value": 3}], ...},
     "saver_def": {"var_names": {"<checkpoint key>": "<variable op name>"}, "max_to_keep": 5,
                   "keep_checkpoint_every_n_hours": 10000.0, "pad_step_number": false} or null}

``graph_def`` is the graph format of graphdl/framework/graph_io.py; collection items are
Variables (by op name, described once in ``variables``), tensors, operations, or values
in the attr encoding of graphdl/framework/attr_codec.py; a collection holding anything else
is left out with a warning (as TF1 does). Loading executes no code. See docs/graph_format.md.
"""

from __future__ import annotations

import json
import logging
import os

from graphdl.framework.attr_codec import GraphFormatError, UnserializableAttrError, decode_value, encode_value
from graphdl.framework.graph import Graph, get_default_graph
from graphdl.framework.graph_io import FORMAT_NAME as GRAPH_FORMAT_NAME
from graphdl.framework.graph_io import FORMAT_VERSION as GRAPH_FORMAT_VERSION
from graphdl.framework.graph_io import (
    GraphDef,
    check_header,
    dumps,
    graph_to_graph_def,
    import_graph_data,
    parse_json,
)
from graphdl.framework.operation import Operation, Tensor
from graphdl.io.atomic import write_atomically

__all__ = [
    "MetaGraphDef", "SaverDef", "export_meta_graph", "import_meta_graph", "load_graph", "load_session",
    "read_meta_graph_file", "register_collection_codec", "save_graph", "write_graph",
]

FORMAT_NAME = "graphdl-meta-graph"
FORMAT_VERSION = 1
_logger = logging.getLogger("graphdl")


class SaverDef:
    """What a Saver needs to be rebuilt (TF1's ``SaverDef``): checkpoint key -> variable op name, and its settings."""

    def __init__(self, var_names, max_to_keep=5, keep_checkpoint_every_n_hours=10000.0, pad_step_number=False):
        self.var_names = dict(var_names)
        self.max_to_keep = max_to_keep
        self.keep_checkpoint_every_n_hours = keep_checkpoint_every_n_hours
        self.pad_step_number = pad_step_number

    def as_dict(self) -> dict:
        return {
            "var_names": dict(self.var_names), "max_to_keep": self.max_to_keep,
            "keep_checkpoint_every_n_hours": self.keep_checkpoint_every_n_hours,
            "pad_step_number": self.pad_step_number,
        }

    @classmethod
    def from_dict(cls, data) -> SaverDef:
        ok = (
            isinstance(data, dict) and isinstance(data.get("var_names"), dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in data["var_names"].items())
            and (data.get("max_to_keep") is None or _is_int(data.get("max_to_keep")))
            and isinstance(data.get("keep_checkpoint_every_n_hours", 0), (int, float))
            and isinstance(data.get("pad_step_number", False), bool)
        )
        if not ok:
            raise GraphFormatError(f"The meta graph's saver_def is malformed: {str(data)[:120]}")
        return cls(data["var_names"], data.get("max_to_keep"), data.get("keep_checkpoint_every_n_hours", 10000.0),
                   data.get("pad_step_number", False))


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


class MetaGraphDef:
    """A serialized graph with its collections, Variables and Saver (TF1's ``tf.MetaGraphDef``).

    ``graph_def`` (a GraphDef), ``collection_def`` ({name: [encoded items]}), ``variables``
    ({variable op name: description}), ``saver_def`` (a SaverDef or None), ``meta_info_def``.
    """

    def __init__(self, data: dict | None = None):
        if data is None:
            data = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "meta_info": {},
                    "graph_def": GraphDef().as_dict(), "variables": {}, "collections": {}, "saver_def": None}
        self._set(data)

    def _set(self, data, source=""):
        data = check_header(data, FORMAT_NAME, FORMAT_VERSION, "meta graph", source)
        for key, kind in (("variables", dict), ("collections", dict), ("meta_info", dict)):
            if not isinstance(data.get(key, {}), kind):
                raise GraphFormatError(f"The meta graph file {source} is corrupt: '{key}' must be a JSON object.")
        self.graph_def = GraphDef(data.get("graph_def"))
        self.saver_def = None if data.get("saver_def") is None else SaverDef.from_dict(data["saver_def"])
        self.collection_def = dict(data.get("collections", {}))
        self.variables = dict(data.get("variables", {}))
        self.meta_info_def = dict(data.get("meta_info", {}))

    def as_dict(self) -> dict:
        return {
            "format": FORMAT_NAME, "version": FORMAT_VERSION, "meta_info": self.meta_info_def,
            "graph_def": self.graph_def.as_dict(), "variables": self.variables, "collections": self.collection_def,
            "saver_def": None if self.saver_def is None else self.saver_def.as_dict(),
        }

    def to_json(self, as_text: bool = True) -> str:
        """JSON text: readable (one node per line) with ``as_text``, compact otherwise."""
        return dumps(self.as_dict(), as_text, expand_depth=3)

    def SerializeToString(self) -> bytes:
        return self.to_json(as_text=False).encode("utf-8")

    def ParseFromString(self, data, source: str = "") -> MetaGraphDef:
        """Replace this MetaGraphDef with the one serialized in ``data`` (bytes or str)."""
        self._set(parse_json(data, "meta graph", source), source)
        return self

    @classmethod
    def FromString(cls, data) -> MetaGraphDef:
        return cls().ParseFromString(data)

    def __str__(self):
        return self.to_json(as_text=True)

    def __repr__(self):
        return (f"<graphdl.MetaGraphDef with {len(self.graph_def.as_dict()['nodes'])} nodes, "
                f"{len(self.collection_def)} collections>")


# -- collection items -------------------------------------------------------------------------
_BUILTIN_KINDS = ("variable", "tensor", "operation", "value")
_CODECS: dict = {}  # kind -> (python type, to_json, from_json)


def register_collection_codec(kind: str, python_type, to_json, from_json):
    """Let collections holding ``python_type`` objects (queue runners...) be exported (TF1's register_proto_function).

    ``to_json(item, name_of)`` returns JSON-able data describing ``item``, naming graph
    elements with ``name_of(tensor_or_operation)``; ``from_json(data, element)`` rebuilds
    it after an import, ``element(name)`` giving the imported Tensor (``"op:0"``) or Operation
    (``"op"``). In the file the item is ``{kind: data}``.
    """
    if kind in _BUILTIN_KINDS or not isinstance(kind, str):
        raise ValueError(f"Collection item kind {kind!r} is reserved or not a string")
    _CODECS[kind] = (python_type, to_json, from_json)


def _is_variable(value) -> bool:
    from graphdl.variables import Variable

    return isinstance(value, Variable)


def _encode_item(item, graph: Graph, rename, include, variables: dict, var_store_names: dict):
    """The JSON form of one collection item, or None when it cannot be serialized."""
    if _is_variable(item):
        if item.graph is not graph or not include(item.op):
            return None
        name = rename(item.op.name)
        if name not in variables:
            variables[name] = {
                "variable": _tensor_ref(item.op.outputs[0], rename),
                "initial_value": _tensor_ref(item.initial_value, rename),
                "initializer": rename(item.initializer.name),
                "snapshot": _tensor_ref(item.value(), rename),
                "trainable": bool(item.trainable),
            }
            if id(item) in var_store_names:
                variables[name]["variable_store_name"] = rename(var_store_names[id(item)])
        return {"variable": name}
    if isinstance(item, Tensor):
        return {"tensor": _tensor_ref(item, rename)} if item.graph is graph and include(item.op) else None
    if isinstance(item, Operation):
        return {"operation": rename(item.name)} if item.graph is graph and include(item) else None
    if item is None or isinstance(item, (bool, int, float, str, bytes)):
        return {"value": encode_value(item, None, "collection item")}
    for kind, (python_type, to_json, _) in _CODECS.items():
        if isinstance(item, python_type):
            def name_of(element):
                if not isinstance(element, (Tensor, Operation)) or element.graph is not graph:
                    raise UnserializableAttrError(f"{element!r} is not an element of the exported graph")
                op = element if isinstance(element, Operation) else element.op
                if not include(op):
                    raise UnserializableAttrError(f"'{element.name}' is outside the exported scope")
                return _tensor_ref(element, rename) if isinstance(element, Tensor) else rename(element.name)

            try:
                data = to_json(item, name_of)
                json.dumps(data, allow_nan=False)
            except (UnserializableAttrError, TypeError, ValueError):
                return None
            return {kind: data}
    return None


def _tensor_ref(t: Tensor, rename) -> str:
    return f"{rename(t.op.name)}:{t.value_index}"


def _decode_item(item, ops: dict, variables: dict, where: str):
    if not isinstance(item, dict) or len(item) != 1:
        raise GraphFormatError(f"{where}: collection item {str(item)[:80]} must be a one-key object")
    (kind, body), = item.items()
    if kind == "variable":
        if body not in variables:
            raise GraphFormatError(f"{where}: variable '{body}' is not described in the meta graph's 'variables'")
        return variables[body]
    if kind == "tensor":
        return _tensor(ops, body, where)
    if kind == "operation":
        return _op(ops, body, where)
    if kind == "value":
        return decode_value(body, _no_function, where)
    if kind in _CODECS:
        def element(name):
            return _tensor(ops, name, where) if isinstance(name, str) and ":" in name else _op(ops, name, where)

        try:
            return _CODECS[kind][2](body, element)
        except GraphFormatError:
            raise
        except Exception as e:  # noqa: BLE001 - a malformed item may break its codec in any way
            raise GraphFormatError(f"{where}: cannot rebuild a {kind!r} item: {e}") from None
    raise GraphFormatError(
        f"{where}: unknown collection item kind {kind!r} (variable, tensor, operation, value"
        f"{''.join(', ' + k for k in _CODECS)}); a module registering it may not be imported"
    )


def _no_function(tag, body):
    raise GraphFormatError("a collection item cannot hold a function graph")


def _op(ops: dict, name, where) -> Operation:
    op = ops.get(name) if isinstance(name, str) else None
    if op is None:
        raise GraphFormatError(f"{where}: '{name}' does not name an op of the meta graph")
    return op


def _tensor(ops: dict, ref, where) -> Tensor:
    if not isinstance(ref, str) or ":" not in ref:
        raise GraphFormatError(f"{where}: {ref!r} is not a tensor reference 'op_name:index'")
    name, _, index = ref.rpartition(":")
    op = _op(ops, name, where)
    if not index.isdigit() or int(index) >= len(op.outputs):
        raise GraphFormatError(f"{where}: '{ref}' names no output of op '{name}'")
    return op.outputs[int(index)]


def _make_variable(graph: Graph, ops: dict, name: str, entry, where: str):
    """A graphdl Variable over the imported ops of variable ``name`` (TF1's Variable(variable_def=...))."""
    from graphdl.variables import Variable

    if not isinstance(entry, dict) or not isinstance(entry.get("trainable", True), bool):
        raise GraphFormatError(f"{where}: malformed variable description {str(entry)[:80]}")
    variable = _tensor(ops, entry.get("variable"), where)
    if variable.op.type != "VariableV2":
        raise GraphFormatError(f"{where}: '{entry.get('variable')}' is a {variable.op.type} op, not a VariableV2")
    initializer = _op(ops, entry.get("initializer"), where)
    if initializer.type != "Assign" or initializer.inputs[0] is not variable:
        raise GraphFormatError(f"{where}: '{entry.get('initializer')}' is not the Assign initializing '{name}'")
    # The same fields Variable.__init__ sets (tests/test_graph_io.py checks they stay in step).
    v = Variable.__new__(Variable)
    v._variable = variable
    v._initial_value = _tensor(ops, entry.get("initial_value"), where)
    v._initializer_op = initializer
    v._snapshot = _tensor(ops, entry.get("snapshot"), where)
    v._trainable = entry.get("trainable", True)
    v._constraint = None
    v._graph = graph
    return v


# -- export / import --------------------------------------------------------------------------
def export_meta_graph(
    filename=None, meta_info_def=None, graph_def=None, saver_def=None, collection_list=None, as_text=False,
    graph=None, export_scope=None, clear_devices=False, clear_extraneous_savers=False, strip_default_attrs=False,
    save_debug_info=False, **kwargs,
) -> MetaGraphDef:
    """Describe ``graph`` (default: the default graph) as a MetaGraphDef, and write it to ``filename`` if given.

    ``collection_list``: the collections to include (default all); a collection with an item
    the format cannot hold (a Python object) is left out with a warning. ``saver_def`` (from
    ``Saver.as_saver_def()``) lets ``import_meta_graph`` rebuild that Saver. ``export_scope``
    keeps only the ops under that name scope and strips it from their names. The file is
    written atomically, indented JSON with ``as_text``, compact JSON otherwise.
    """
    graph = graph if graph is not None else get_default_graph()
    if graph_def is None:
        graph_def = graph_to_graph_def(graph, clear_devices=clear_devices, export_scope=export_scope)
    elif not isinstance(graph_def, GraphDef):
        raise TypeError(f"graph_def must be a GraphDef, got {type(graph_def).__name__}")
    prefix = export_scope.rstrip("/") + "/" if export_scope else ""

    def include(op):
        return op.name.startswith(prefix)

    def rename(name):
        return name[len(prefix):] if prefix and name.startswith(prefix) else name

    var_store_names = {id(v): k for k, v in graph._variable_store.items()}
    variables, collections = {}, {}
    keys = graph.get_all_collection_keys() if collection_list is None else list(collection_list)
    for key in keys:
        if not isinstance(key, str):
            _logger.warning("Only collections with string names are exported; skipping collection %r.", key)
            continue
        items = graph.get_collection(key)
        if prefix:
            items = [v for v in items if not hasattr(v, "name") or v.name.startswith(prefix)]
        found = dict(variables)
        encoded = [_encode_item(v, graph, rename, include, found, var_store_names) for v in items]
        if any(e is None for e in encoded):
            bad = next(v for v, e in zip(items, encoded) if e is None)
            _logger.warning(
                "Collection '%s' is not exported to the meta graph: its item %r is neither a Variable, Tensor or "
                "Operation of this graph nor a number or string.", key, bad,
            )
            continue
        variables = found
        collections[key] = encoded
    import graphdl

    info = {"producer": f"graphdl {graphdl.__version__}", "tags": []}
    info.update(meta_info_def or {})
    meta = MetaGraphDef({
        "format": FORMAT_NAME, "version": FORMAT_VERSION, "meta_info": info, "graph_def": graph_def.as_dict(),
        "variables": variables, "collections": collections,
        "saver_def": None if saver_def is None else _saver_def_renamed(saver_def, rename).as_dict(),
    })
    if filename:
        write_atomically(os.fspath(filename), meta.to_json(as_text).encode("utf-8"))
    return meta


def _saver_def_renamed(saver_def: SaverDef, rename) -> SaverDef:
    if not isinstance(saver_def, SaverDef):
        raise TypeError(f"saver_def must be a SaverDef (Saver.as_saver_def()), got {type(saver_def).__name__}")
    out = SaverDef({}, saver_def.max_to_keep, saver_def.keep_checkpoint_every_n_hours, saver_def.pad_step_number)
    out.var_names = {k: rename(v) for k, v in saver_def.var_names.items()}
    return out


def read_meta_graph_file(filename) -> MetaGraphDef:
    """The MetaGraphDef in ``filename``; OSError when missing, GraphFormatError when not a readable meta graph."""
    filename = os.fspath(filename)
    if not os.path.isfile(filename):
        raise OSError(f"File {filename} does not exist.")
    with open(filename, "rb") as f:
        data = f.read()
    return MetaGraphDef().ParseFromString(data, source=filename)


def import_meta_graph(meta_graph_or_file, clear_devices=False, import_scope=None, **kwargs):
    """Recreate a saved graph in the default graph, with its collections and Variables; returns a Saver.

    ``meta_graph_or_file``: a MetaGraphDef or the path of a meta graph file (e.g.
    ``"model.ckpt-100.meta"``). Op names are prefixed with ``import_scope`` when given.
    The Variables come back as graphdl Variables in their collections, so
    ``tf.global_variables()``, ``tf.get_collection("train_op")`` and
    ``graph.get_tensor_by_name`` work as before. Returns a Saver over the imported
    variables (their original names are the checkpoint keys), ready for
    ``saver.restore(sess, checkpoint)``; None when the graph has no variables.
    ``input_map`` (keyword) maps tensor names of the file to existing tensors.
    """
    meta = meta_graph_or_file
    if not isinstance(meta, MetaGraphDef):
        meta = read_meta_graph_file(meta)
    graph = get_default_graph()
    variables = _import_into(graph, meta, clear_devices, import_scope, kwargs.get("input_map"))
    from graphdl.train.saver import Saver

    if meta.saver_def is not None:
        sd = meta.saver_def
        var_list = {}
        for key, name in sd.var_names.items():
            var = variables.get(name)
            if var is None:
                raise GraphFormatError(f"The meta graph's saver_def names variable '{name}', which it does not describe.")
            var_list[key] = var
        return Saver(var_list=var_list, max_to_keep=sd.max_to_keep, allow_empty=True,
                     keep_checkpoint_every_n_hours=sd.keep_checkpoint_every_n_hours, pad_step_number=sd.pad_step_number)
    # Without a saver_def, a Saver over the global variables, keyed by their names in the file.
    names = [item["variable"] for item in meta.collection_def.get("variables", []) if "variable" in item]
    if not names:
        _logger.info("Saver not created because there are no variables in the graph to restore")
        return None
    return Saver(var_list={name: variables[name] for name in dict.fromkeys(names)})


def _import_into(graph: Graph, meta: MetaGraphDef, clear_devices, import_scope, input_map):
    """Import ``meta`` into ``graph``; returns {variable op name in the file: Variable}."""
    from graphdl.framework.graph_io import _normalize_input_map

    input_map = _normalize_input_map(graph, meta.graph_def, input_map)
    with graph.as_default(), graph.name_scope(import_scope or "") as prefix:
        ops = import_graph_data(graph, meta.graph_def, prefix, input_map, clear_devices)
    variables = {}
    for name, entry in meta.variables.items():
        variables[name] = _make_variable(graph, ops, name, entry, f"meta graph variable '{name}'")
        store_name = entry.get("variable_store_name")
        if isinstance(store_name, str):
            graph._variable_store[prefix + store_name] = variables[name]
    for key, items in meta.collection_def.items():
        if not isinstance(items, list):
            raise GraphFormatError(f"meta graph collection '{key}' must be a list")
        decoded = [_decode_item(item, ops, variables, f"meta graph collection '{key}'") for item in items]
        for value in decoded:
            graph.add_to_collection(key, value)
    return variables


# -- files ----------------------------------------------------------------------------------------
def write_graph(graph_or_graph_def, logdir, name, as_text=True) -> str:
    """Write a graph (a Graph or GraphDef) to ``logdir/name`` atomically, creating ``logdir``; returns the path.

    graphdl's graph format: indented JSON with ``as_text``, compact JSON otherwise; read it
    back with ``GraphDef().ParseFromString(open(path, "rb").read())`` or ``graphdl.load_graph``.
    """
    graph_def = graph_or_graph_def
    if isinstance(graph_def, Graph):
        graph_def = graph_def.as_graph_def()
    if not isinstance(graph_def, GraphDef):
        raise TypeError(f"write_graph takes a Graph or a GraphDef, got {type(graph_or_graph_def).__name__}")
    logdir = os.fspath(logdir)
    if logdir:
        os.makedirs(logdir, exist_ok=True)
    path = os.path.join(logdir, os.fspath(name))
    write_atomically(path, graph_def.to_json(as_text).encode("utf-8"))
    return path


def save_graph(graph: Graph, path, as_text: bool = True) -> str:
    """Write ``graph`` with its collections and Variables as a meta graph file at ``path``; returns the path."""
    if not isinstance(graph, Graph):
        raise TypeError(f"save_graph takes a graphdl Graph, got {type(graph).__name__}")
    path = os.fspath(path)
    export_meta_graph(path, graph=graph, as_text=as_text)
    return path


def load_graph(path) -> Graph:
    """A new Graph holding the graph saved in ``path`` (a meta graph file or a ``write_graph`` file).

    From a meta graph file the collections and Variables come back too, so that
    ``with graph.as_default(): saver = graphdl.train.Saver()`` then
    ``saver.restore(graphdl.Session(graph=graph), checkpoint)`` restores its variables.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise OSError(f"File {path} does not exist.")
    with open(path, "rb") as f:
        data = parse_json(f.read(), "graph", path)
    graph = Graph()
    fmt = data.get("format") if isinstance(data, dict) else None
    if fmt == FORMAT_NAME:
        meta = MetaGraphDef.__new__(MetaGraphDef)
        meta._set(data, path)
        _import_into(graph, meta, False, None, None)
    else:
        graph_def = GraphDef(check_header(data, GRAPH_FORMAT_NAME, GRAPH_FORMAT_VERSION, "graph", path))
        import_graph_data(graph, graph_def, "")
    return graph


def load_session(meta_graph_file, checkpoint, backend=None):
    """A Session over a new graph imported from ``meta_graph_file``, its variables restored from ``checkpoint``.

    What ``graphdl export GRAPH --checkpoint CKPT``-style tools need: ``sess.graph`` is the graph.
    Raises ValueError when the meta graph has no variables to restore.
    """
    from graphdl.client.session import Session

    graph = Graph()
    with graph.as_default():
        saver = import_meta_graph(meta_graph_file)
    if saver is None:
        raise ValueError(f"The meta graph {meta_graph_file} has no variables to restore from {checkpoint}.")
    sess = Session(graph=graph, backend=backend)
    saver.restore(sess, os.fspath(checkpoint))
    return sess
