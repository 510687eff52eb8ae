"""``export``: the inference part of a graphdl graph as an ONNX ModelProto.

The exported graph is the user's graph (not the backend's optimized one), pruned to what
the outputs need: placeholders listed in ``inputs`` become graph inputs (``None`` dims
symbolic: the first one ``batch``, others ``<input>_dim<k>``), variables become
initializers holding the session's current values, constants become initializers, and
ops are mapped one by one through the table in ``registry``.
"""

from __future__ import annotations

import functools
import sys

import numpy as np
import onnx
from graphdl.backends.onnx.context import ExportContext, onnx_type
from onnx import helper

from graphdl.framework.graph import Graph
from graphdl.io.atomic import write_atomically

MIN_OPSET = 13


@functools.cache
def default_opset() -> int:
    """The newest opset both the installed onnx defines and onnxruntime (when installed) loads."""
    newest = onnx.defs.onnx_opset_version()
    try:
        import onnxruntime
    except ImportError:
        return newest
    x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "probe", [x], [y])
    for opset in range(newest, MIN_OPSET, -1):
        imports = [helper.make_opsetid("", opset)]
        model = helper.make_model(graph, opset_imports=imports, ir_version=helper.find_min_ir_version_for(imports))
        if _loads(onnxruntime, model):
            return opset
    return MIN_OPSET


def _loads(onnxruntime, model) -> bool:
    try:
        onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    except Exception:  # noqa: BLE001 - an opset this onnxruntime rejects
        return False
    return True


def _session_and_graph(sess_or_graph):
    if isinstance(sess_or_graph, Graph):
        return None, sess_or_graph
    graph = getattr(sess_or_graph, "graph", None)
    if not isinstance(graph, Graph):
        raise TypeError(f"export takes a graphdl Session or Graph, got {type(sess_or_graph).__name__}")
    return sess_or_graph, graph


def _as_tensor(graph, item, role):
    if isinstance(item, str):
        name = item if ":" in item else item + ":0"
        try:
            return graph.get_tensor_by_name(name)
        except (KeyError, ValueError) as e:
            raise ValueError(f"export: {role} '{item}' is not a tensor of the graph ({e})") from None
    tensor = getattr(item, "_as_tensor", None)
    tensor = tensor() if tensor is not None else item
    if getattr(tensor, "graph", None) is not graph:
        raise ValueError(f"export: {role} {item!r} is not a tensor of the exported graph")
    return tensor


def _default_name(tensor) -> str:
    return tensor.op.name if tensor.value_index == 0 else f"{tensor.op.name}:{tensor.value_index}"


def _named(graph, items, role) -> list:
    """(ONNX name, tensor) pairs for a list of tensors/names or a dict name -> tensor."""
    if isinstance(items, dict):
        pairs = [(str(k), _as_tensor(graph, v, role)) for k, v in items.items()]
    else:
        if not isinstance(items, (list, tuple)):
            items = [items]
        pairs = [(None, _as_tensor(graph, v, role)) for v in items]
        pairs = [(_default_name(t), t) for _, t in pairs]
    names = [n for n, _ in pairs]
    if len(set(names)) != len(names):
        raise ValueError(f"export: {role} names must be unique, got {names}")
    return pairs


def _needed_variables(outputs, stop) -> list:
    seen, stack, variables = set(), [t.op for t in outputs], []
    while stack:
        op = stack.pop()
        if op in seen:
            continue
        seen.add(op)
        if op.type == "VariableV2":
            variables.append(op)
        stack.extend(t.op for t in op.inputs if t not in stop)
        stack.extend(_function_variables(op))
    return variables


def _function_variables(op) -> list:
    """The (outer) variables read inside the functions of a control-flow op (a while_loop body, cond branches)."""
    from graphdl.framework.func_graph import FuncGraph, outermost_graph

    funcs = [f for v in op.attrs.values() for f in (v if isinstance(v, (list, tuple)) else [v])
             if isinstance(f, FuncGraph)]
    found = []
    for func in funcs:
        for inner in func.get_operations():
            if inner.type == "VariableV2":
                found.append(outermost_graph(func).get_operation_by_name(inner.name))
            found.extend(_function_variables(inner))
    return found


def _variable_values(sess, graph, var_ops, static) -> dict:
    if not var_ops:
        return {}
    if sess is not None:
        values = sess.run([op.outputs[0] for op in var_ops])
        return {op: np.asarray(v) for op, v in zip(var_ops, values)}
    from graphdl.framework.graph import GraphKeys

    initial = {}
    for key in (GraphKeys.GLOBAL_VARIABLES, GraphKeys.LOCAL_VARIABLES):
        for v in graph.get_collection(key):
            initial[v.op] = v.initial_value
    values = {}
    for op in var_ops:
        init = initial.get(op)
        value = static.value(init) if init is not None else None
        if value is None:
            how = f"by '{init.name}' ({init.op.type})" if init is not None else "outside the variables collections"
            raise ValueError(
                f"export: variable '{op.name}' is initialized {how}, which is not a constant; "
                "export from a Session holding its trained value (export(sess, ...)) instead of a Graph."
            )
        values[op] = np.asarray(value, dtype=op.outputs[0].dtype.np)
    return values


def _input_info(name, tensor, dynamic_axes):
    dims = tensor.shape.as_tuple()
    if dims is None:
        raise ValueError(f"export: input '{name}' ({tensor.name}) has unknown rank; give its placeholder a shape")
    overrides = (dynamic_axes or {}).get(name, {})
    if isinstance(overrides, (list, tuple)):
        overrides = {axis: None for axis in overrides}
    shape = []
    for k, d in enumerate(dims):
        if k in overrides or d is None:
            shape.append(overrides.get(k) or ("batch" if k == 0 else f"{name}_dim{k}"))
        else:
            shape.append(d)
    return helper.make_tensor_value_info(name, onnx_type(tensor.dtype), shape)


def _output_info(name, tensor):
    dims = tensor.shape.as_tuple()
    return helper.make_tensor_value_info(name, onnx_type(tensor.dtype), None if dims is None else list(dims))


def _rename_outputs(ctx, produced: dict, input_names: set):
    """Give each graph output its requested name (renaming the producing node's output, or an Identity)."""
    initializer_names = {i.name for i in ctx.initializers}
    taken = set()
    renames = {}
    for want, have in produced.items():
        if have in input_names or have in initializer_names or have in taken:
            ctx.nodes.append(helper.make_node("Identity", [have], [want], name=ctx.fresh(want + "/Identity_node")))
        else:
            renames[have] = want
            taken.add(have)
    for node in ctx.nodes:
        for i, name in enumerate(node.input):
            if name in renames:
                node.input[i] = renames[name]
        for i, name in enumerate(node.output):
            if name in renames:
                node.output[i] = renames[name]


def _pins(graph, feed_dict) -> dict:
    pinned = {}
    for key, value in (feed_dict or {}).items():
        tensor = _as_tensor(graph, key, "feed_dict key")
        pinned[tensor] = np.asarray(value, dtype=tensor.dtype.np)
    return pinned


def export(sess_or_graph, inputs, outputs, path=None, opset=None, dynamic_axes=None, feed_dict=None,
           check=True, graph_name=None) -> onnx.ModelProto:
    """Export the inference graph computing ``outputs`` from ``inputs`` as an ONNX model.

    ``sess_or_graph``: a Session (variables export with their current values) or a Graph
    (variables must have constant initial values). ``inputs``/``outputs``: lists of tensors
    or tensor names (ONNX names default to the op names) or dicts ONNX name -> tensor.
    ``feed_dict`` pins tensors (``keep_prob``, ``training`` placeholders) to constants, which
    folds dropout and training branches away; an unfed ``placeholder_with_default`` takes
    its default. ``dynamic_axes`` ({input name: {axis: dim name}}) names or adds symbolic
    dims. ``opset`` defaults to :func:`default_opset`. With ``path`` the model is written
    there atomically. Returns the ``onnx.ModelProto``, checked with the full ONNX checker.
    """
    sess, graph = _session_and_graph(sess_or_graph)
    opset = default_opset() if opset is None else int(opset)
    if not MIN_OPSET <= opset <= onnx.defs.onnx_opset_version():
        raise ValueError(f"export: opset {opset} is not supported; use {MIN_OPSET}..{onnx.defs.onnx_opset_version()}")
    input_pairs = _named(graph, inputs, "input")
    output_pairs = _named(graph, outputs, "output")
    for name in dynamic_axes or {}:
        if name not in dict(input_pairs):
            raise ValueError(f"export: dynamic_axes names '{name}', which is not an input ({[n for n, _ in input_pairs]})")
    pinned = _pins(graph, feed_dict)
    graph_inputs = {t: n for n, t in input_pairs}
    ctx = ExportContext(opset, graph_inputs, pinned, {})
    for name, _ in output_pairs:
        ctx._names.add(name)
    stop = set(graph_inputs) | set(pinned)
    ctx.variable_values = _variable_values(sess, graph, _needed_variables([t for _, t in output_pairs], stop),
                                           ctx.static)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 100_000))
    try:
        produced = {name: ctx.get(t) for name, t in output_pairs}
    finally:
        sys.setrecursionlimit(limit)
    _rename_outputs(ctx, produced, set(graph_inputs.values()))
    onnx_graph = helper.make_graph(
        ctx.nodes, graph_name or "graphdl",
        [_input_info(n, t, dynamic_axes) for n, t in input_pairs],
        [_output_info(n, t) for n, t in output_pairs],
        initializer=ctx.initializers,
    )
    imports = [helper.make_opsetid("", opset)]
    model = helper.make_model(onnx_graph, opset_imports=imports, producer_name="graphdl",
                              ir_version=helper.find_min_ir_version_for(imports))
    if check:
        onnx.checker.check_model(model, full_check=True)
    if path is not None:
        write_atomically(path, model.SerializeToString())
    return model
