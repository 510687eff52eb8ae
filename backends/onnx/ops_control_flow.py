"""ONNX mappings of control flow: ``cond``/``case`` as ``If``, ``while_loop`` as ``Loop``, TensorArrays as tensors.

A branch or loop body (a ``FuncGraph``) is exported into its own ONNX subgraph by a
:class:`FunctionContext`, which shares value names and initializers with the enclosing
export: a tensor the function captures from outside is an outer-scope reference to the
enclosing graph's value (or, when the exporter knows it statically, folded in), and a
variable read inside is the outer graph's initializer.

``While`` becomes ``Loop``: the trip count is ``maximum_iterations`` (when given), the
first condition is the cond function evaluated on the initial loop variables, and the body
subgraph computes the next loop variables and then the cond function on them. A TensorArray
loop variable that the body only writes at a counter loop variable (starting at 0, stepping
by 1, as in ``dynamic_rnn``) becomes a Loop scan output: the written values, stacked, padded
with zeros to the array's size. Other TensorArrays are dense tensors (``[size, *element]``)
updated with ``ScatterND``. An ``If`` with a statically known predicate (a pinned
``training`` flag) is exported as its taken branch only; ``Case`` becomes a chain of ``If``.
"""

from __future__ import annotations

import numpy as np
from graphdl.backends.onnx.context import ExportContext, Lazy, onnx_type
from graphdl.backends.onnx.registry import register
from graphdl.backends.onnx.static_eval import StaticEvaluator
from onnx import TensorProto, helper, numpy_helper

from graphdl.framework.func_graph import outermost_graph

_INT64_MAX = np.iinfo(np.int64).max


class FunctionContext(ExportContext):
    """The export of one function (a branch or loop body): its own nodes; names and initializers shared.

    ``bindings`` maps the function's placeholders (inputs, captures) to what they stand for:
    an ONNX value name visible inside, a ``Lazy``, or a tensor of the enclosing graph (folded
    when the parent knows its value, else an outer-scope reference to the parent's value).
    """

    def __init__(self, parent: ExportContext, bindings: dict, fold_inputs: bool = True):
        self.parent = parent
        self.opset = parent.opset
        self.nodes: list = []
        self.initializers = parent.initializers
        self._values: dict = {}
        self._nchw: dict = {}
        self._names = parent._names
        self._const_cache = parent._const_cache
        self._mapped: set = set()
        self._op_stack: list = []
        self.variable_values = parent.variable_values
        pinned, inputs = {}, {}
        for inner, bound in bindings.items():
            if isinstance(bound, (str, Lazy)):
                self._values[inner] = bound
                inputs[inner] = bound
                continue
            value = parent.static.value(bound) if fold_inputs else None
            if value is not None:
                pinned[inner] = value
            else:
                self._values[inner] = Lazy(lambda outer=bound: parent.get(outer))
                inputs[inner] = None
        self.static = StaticEvaluator(inputs, pinned)

    def root(self) -> ExportContext:
        """The top-level export context."""
        ctx = self
        while isinstance(ctx, FunctionContext):
            ctx = ctx.parent
        return ctx

    def ensure(self, op):
        """Map ``op``; a variable read inside the function is the outer graph's initializer."""
        if op.type == "VariableV2" and op not in self.variable_values:
            outer = outermost_graph(op.graph).get_operation_by_name(op.name)
            self._mapped.add(op)
            self._values[op.outputs[0]] = self.root().get(outer.outputs[0])
            return
        super().ensure(op)

    def graph(self, outputs, name: str, inputs=()):
        """An ONNX GraphProto of the nodes emitted so far plus ``outputs`` (tensors or (ONNX name, dtype) pairs)."""
        infos = []
        for item in outputs:
            source, dtype = (item, item.dtype) if hasattr(item, "op") else item
            source = self.get(source) if hasattr(source, "op") else source
            out = self.fresh(f"{name}/output{len(infos)}")
            self.nodes.append(helper.make_node("Identity", [source], [out], name=self.fresh(out + "_node")))
            infos.append(helper.make_tensor_value_info(out, onnx_type(dtype), None))
        return helper.make_graph(self.nodes, name, list(inputs), infos)


def _inline(ctx, func, bindings: dict):
    """The ONNX names of ``func``'s outputs computed in ``ctx``'s own graph (no subgraph)."""
    child = FunctionContext(ctx, bindings)
    names = [child.get(t) for t in func.outputs]
    ctx.nodes.extend(child.nodes)
    return names


def _capture_bindings(func, captures, capture_index) -> dict:
    """Placeholder of ``func`` -> the op input it captures."""
    return {inner: captures[i] for inner, i in zip(func.capture_placeholders, capture_index)}


# -- If / Case ---------------------------------------------------------------------------------


@register("If", "Case")
def if_case(ctx, op):
    """``If``: the two branches as then/else subgraphs; ``Case``: a chain of ``If`` (out of range: the last)."""
    branches = op.attrs["branches"]
    captures = list(op.inputs[1: len(op.inputs) - op.attrs.get("exclusive_preds", 0)])
    bindings = [_capture_bindings(b, captures, op.attrs["capture_index"][k]) for k, b in enumerate(branches)]
    index = op.inputs[0]
    static = ctx.static.value(index)
    if static is not None:
        k = (0 if bool(static) else 1) if op.type == "If" else int(static)
        k = k if 0 <= k < len(branches) - (op.type == "Case") else len(branches) - 1
        return _inline(ctx, branches[k], bindings[k]) + [ctx.const(np.asarray(k, np.int32))]
    specs = [(None, t.dtype) for t in op.outputs[:-1]]

    def branch(k):
        child = FunctionContext(ctx, bindings[k])
        return child.graph(branches[k].outputs, ctx.fresh(f"{op.name}/branch{k}"))

    count = len(op.outputs) - 1
    if op.type == "If":
        pred = ctx.get(index)
        outputs = ctx.node("If", [pred], outputs=count, then_branch=branch(0), else_branch=branch(1))
        taken = Lazy(lambda: ctx.node("Cast", [ctx.node("Not", [pred])], to=TensorProto.INT32))
    else:
        position = ctx.int64(index)
        last = len(branches) - 1
        chosen = ctx.node("Where", [_in_range(ctx, position, last), position, ctx.const(np.int64(last))])
        nested = branch(last)
        for k in range(last - 1, -1, -1):
            is_k = ctx.node("Equal", [chosen, ctx.const(np.int64(k))])
            if k == 0:
                outputs = ctx.node("If", [is_k], outputs=count, then_branch=branch(0), else_branch=nested)
                break
            wrapper = FunctionContext(ctx, {})
            inner = wrapper.node("If", [is_k], outputs=count, then_branch=branch(k), else_branch=nested)
            inner = inner if isinstance(inner, list) else [inner]
            nested = wrapper.graph([(name, dtype) for name, (_, dtype) in zip(inner, specs)],
                                   ctx.fresh(f"{op.name}/case{k}"))
        else:  # a single (default) branch
            outputs = _inline(ctx, branches[0], bindings[0])
        taken = Lazy(lambda: ctx.cast(chosen, np.int32))
    outputs = outputs if isinstance(outputs, list) else [outputs]
    return list(outputs) + [taken]


def _in_range(ctx, position: str, last: int) -> str:
    low = ctx.node("GreaterOrEqual", [position, ctx.const(np.int64(0))])
    return ctx.node("And", [low, ctx.node("Less", [position, ctx.const(np.int64(last))])])


# -- While -------------------------------------------------------------------------------------


def _strip_identity(tensor):
    while tensor.op.type == "Identity":
        tensor = tensor.op.inputs[0]
    return tensor


def _counters(ctx, op) -> set:
    """Indices of loop variables that start at 0 and grow by 1 per iteration (``time`` of dynamic_rnn)."""
    from graphdl.framework.constant_value import constant_value

    body = op.attrs["body_graph"]
    found = set()
    for j in range(op.attrs["num_loop_vars"]):
        start = ctx.static.value(op.inputs[j])
        step = body.outputs[j].op
        if start is None or start.ndim != 0 or start != 0 or step.type not in ("AddV2", "Add"):
            continue
        a, b = step.inputs
        if b is body.inputs[j]:
            a, b = b, a
        one = constant_value(b)
        if a is body.inputs[j] and one is not None and np.ndim(one) == 0 and one == 1:
            found.add(j)
    return found


def _scan_outputs(ctx, op) -> dict:
    """{loop var index: written value}: TensorArrays the body only writes, at a counter, into a fresh array."""
    n = op.attrs["num_loop_vars"]
    body, cond = op.attrs["body_graph"], op.attrs["cond_graph"]
    counters = [body.inputs[j] for j in _counters(ctx, op)]
    scans = {}
    for k in range(n):
        write = body.outputs[k].op
        if write.type != "TensorArrayScatter" or write.inputs[0] is not body.inputs[k]:
            continue
        if body.inputs[k].consumers() != [write] or cond.inputs[k].consumers():
            continue
        if _strip_identity(op.inputs[k]).op.type != "TensorArray":
            continue
        index = _strip_identity(write.inputs[1])
        if index.shape.ndims == 0 and any(index is c for c in counters):
            scans[k] = write.inputs[2]
    return scans


@register("While")
def while_(ctx, op):
    """ONNX ``Loop``: trip count from maximum_iterations, cond evaluated before each iteration, captures outer refs."""
    attrs = op.attrs
    n, num_captures = attrs["num_loop_vars"], attrs["num_captures"]
    body_func, cond_func = attrs["body_graph"], attrs["cond_graph"]
    captures = list(op.inputs[n: n + num_captures])
    cond_bindings = _capture_bindings(cond_func, captures, attrs["cond_capture_index"])
    body_bindings = _capture_bindings(body_func, captures, attrs["body_capture_index"])
    scans = _scan_outputs(ctx, op)
    carried = [i for i in range(n) if i not in scans]

    first = dict(cond_bindings)
    first.update({cond_func.inputs[i]: op.inputs[i] for i in carried})
    (cond0,) = _inline(ctx, cond_func, first)
    trip = ctx.int64(op.inputs[n + num_captures], hint="maximum_iterations") if attrs["has_maximum_iterations"] \
        else None

    iteration = ctx.fresh(f"{op.name}/iteration")
    count_in = ctx.fresh(f"{op.name}/count")
    var_names = {i: ctx.fresh(f"{body_func.inputs[i].op.name}") for i in carried}
    bindings = dict(body_bindings)
    bindings.update(cond_bindings)
    bindings.update({body_func.inputs[i]: var_names[i] for i in carried})
    body = FunctionContext(ctx, bindings)
    for i in carried:  # the cond function of the next iteration reads the body's results
        body._values[cond_func.inputs[i]] = Lazy(lambda i=i: body.get(body_func.outputs[i]))
    inputs = [helper.make_tensor_value_info(iteration, TensorProto.INT64, []),
              helper.make_tensor_value_info(ctx.fresh(f"{op.name}/cond_in"), TensorProto.BOOL, []),
              helper.make_tensor_value_info(count_in, TensorProto.INT64, [])]
    inputs += [helper.make_tensor_value_info(var_names[i], onnx_type(body_func.inputs[i].dtype), None)
               for i in carried]
    count_out = body.node("Add", [count_in, body.const(np.int64(1))])
    outputs = [cond_func.outputs[0], (count_out, np.int64)] + [body_func.outputs[i] for i in carried]
    outputs += [scans[k] for k in sorted(scans)]
    graph = body.graph(outputs, ctx.fresh(f"{op.name}/body"), inputs)

    initial = [ctx.get(op.inputs[i]) for i in carried]
    results = ctx.node("Loop", [trip, cond0, ctx.const(np.int64(0)), *initial],
                       outputs=1 + len(carried) + len(scans), body=graph)
    results = results if isinstance(results, list) else [results]
    out = [None] * (n + 1)
    out[n] = results[0]
    for i, name in zip(carried, results[1:]):
        out[i] = name
    for k, name in zip(sorted(scans), results[1 + len(carried):]):
        out[k] = Lazy(lambda name=name, k=k: _pad_to_size(ctx, name, _strip_identity(op.inputs[k]).op))
    return out


def _pad_to_size(ctx, stacked: str, tensor_array) -> str:
    """``stacked`` ([iterations, *element]) followed by zero rows up to the TensorArray's size."""
    size = ctx.node("Reshape", [ctx.int64(tensor_array.inputs[0], hint="size"), ctx.const(np.asarray([1], np.int64))])
    shape = ctx.node("Shape", [stacked])
    rows = ctx.node("Slice", [shape, ctx.const(np.asarray([0], np.int64)), ctx.const(np.asarray([1], np.int64))])
    element = ctx.node("Slice", [shape, ctx.const(np.asarray([1], np.int64)),
                                 ctx.const(np.asarray([_INT64_MAX], np.int64))])
    missing = ctx.node("Max", [ctx.node("Sub", [size, rows]), ctx.const(np.asarray([0], np.int64))])
    zero = numpy_helper.from_array(np.zeros(1, tensor_array.attrs["dtype"].np))
    zeros = ctx.node("ConstantOfShape", [ctx.node("Concat", [missing, element], axis=0)], value=zero)
    return ctx.node("Concat", [stacked, zeros], axis=0)


# -- TensorArray ---------------------------------------------------------------------------------


def _zeros(ctx, tensor_array, element_shape: str) -> str:
    """A zero tensor ``[size, *element_shape]`` of the TensorArray's dtype."""
    size = ctx.node("Reshape", [ctx.int64(tensor_array.inputs[0], hint="size"), ctx.const(np.asarray([1], np.int64))])
    zero = numpy_helper.from_array(np.zeros(1, tensor_array.attrs["dtype"].np))
    return ctx.node("ConstantOfShape", [ctx.node("Concat", [size, element_shape], axis=0)], value=zero)


@register("TensorArray")
def tensor_array(ctx, op):
    """A TensorArray with a fully known element shape: zeros ``[size, *element_shape]``."""
    element = op.attrs["element_shape"]
    if element is None or any(d is None for d in element):
        raise ctx.error(
            f"the TensorArray's element shape {element} is not fully known and no write fixes it here; give "
            "TensorArray(element_shape=...) a full shape, or write it only at the loop counter of a while_loop"
        )
    return _zeros(ctx, op, ctx.const(np.asarray(element, np.int64), hint="element_shape"))


@register("TensorArrayScatter")
def tensor_array_scatter(ctx, op):
    """``ScatterND`` of the written rows into the array (a fresh array takes its element shape from the value)."""
    flow, indices, value = op.inputs
    source = _strip_identity(flow).op
    element = source.attrs["element_shape"] if source.type == "TensorArray" else None
    value_name = ctx.get(value)
    if source.type == "TensorArray" and (element is None or any(d is None for d in element)):
        if op.attrs.get("dynamic_size"):
            raise ctx.error("a dynamic_size TensorArray is exported only when written at a while_loop counter")
        rank = indices.shape.ndims
        if rank is None:
            raise ctx.error(f"the rank of the indices '{indices.name}' must be known")
        shape = ctx.node("Shape", [value_name])
        rest = ctx.node("Slice", [shape, ctx.const(np.asarray([rank], np.int64)),
                                  ctx.const(np.asarray([_INT64_MAX], np.int64))])
        base = _zeros(ctx, source, rest)
    else:
        if op.attrs.get("dynamic_size"):
            raise ctx.error("a dynamic_size TensorArray is exported only when written at a while_loop counter")
        base = ctx.get(flow)
    index = ctx.node("Unsqueeze", [ctx.int64(indices, hint="indices"), ctx.const(np.asarray([-1], np.int64))])
    return ctx.node("ScatterND", [base, index, value_name])
