"""ONNX control flow (If, Loop, Scan) as graphdl's ``cond`` and ``while_loop``.

Each branch or body (an ONNX subgraph) is imported into the function graphdl traces for
``cond``/``while_loop``; names it does not define resolve in the enclosing scope, and graphdl
captures those outer tensors. ``Loop`` carries ``(counter, condition, *loop-carried values,
*TensorArrays)`` through a ``while_loop`` whose ``maximum_iterations`` is the trip count; each
scan output is written to a TensorArray at the counter and stacked after the loop. ``Scan``
is a ``while_loop`` over the rows of its scan inputs.

A loop-carried value may change shape from one iteration to the next (ONNX allows it), so the
loop's shape invariants are found first: the body is imported into a throwaway function graph
with the current invariants, and each invariant is relaxed to what both it and the body's
result fit, until they agree. That trace also gives the scan outputs' dtypes and element
shapes, which the TensorArrays need before the loop is built.
"""

from __future__ import annotations

import numpy as np

import graphdl
from graphdl.framework.func_graph import FuncGraph
from graphdl.ops.functional_ops import most_specific_common_shape

from .registry import converter, normalize_axis, rank_of


def _scalar(t, dtype):
    """``t`` (a one-element tensor, as ONNX gives trip counts and conditions) as a scalar of ``dtype``."""
    if t.shape.ndims != 0:
        t = graphdl.reshape(t, [])
    return t if t.dtype == dtype else graphdl.cast(t, dtype)


def _trial_outputs(node, attr_name: str, specs) -> list:
    """(dtype, static shape) of each output of the subgraph ``attr_name`` imported on placeholders of ``specs``
    ((dtype, shape) pairs), in a function graph that is then thrown away."""
    trial = FuncGraph("onnx_trial", graphdl.get_default_graph())
    trial._names_in_use = dict(trial._names_in_use)  # names used by the throwaway trace stay free for the real one
    with trial.as_default():
        inputs = [trial.add_input(dtype, shape, "input") for dtype, shape in specs]
        outputs = node.subgraph(attr_name, inputs)
    return [(t.dtype, t.shape.as_tuple()) for t in outputs]


def _loop_invariants(node, carried, specs_for, first_output: int):
    """Shape invariants of the loop-carried tensors ``carried`` that the body keeps, and the (dtype, shape) of every
    body output under them. ``specs_for(shapes)`` gives the body's input specs for carried shapes ``shapes``; the
    body returns the carried values from output ``first_output`` on."""
    shapes = [t.shape.as_tuple() for t in carried]
    while True:  # ends: each round relaxes a dim to None or a shape to unknown rank, or changes nothing
        outputs = _trial_outputs(node, "body", specs_for(shapes))
        if len(outputs) < first_output + len(carried):
            raise ValueError(f"{node!r}: the body returns {len(outputs)} outputs; it must return at least "
                             f"{first_output + len(carried)}")
        relaxed = [most_specific_common_shape([s, out[1]])
                   for s, out in zip(shapes, outputs[first_output: first_output + len(carried)])]
        if relaxed == shapes:
            return shapes, outputs
        shapes = relaxed


def _tensor_array(dtype, element_shape, size=0, dynamic_size=True):
    return graphdl.TensorArray(dtype, size=size, dynamic_size=dynamic_size, element_shape=element_shape)


def _stacked(array, element_shape):
    """The TensorArray's elements stacked along a new first axis, with the static element shape set."""
    stacked = array.stack()
    if element_shape is not None and stacked.shape.is_compatible_with([None, *element_shape]):
        stacked.set_shape([None, *element_shape])
    return stacked


# -- If ------------------------------------------------------------------------------------------------------------


@converter("If")
def if_(node):
    """``If``: graphdl ``cond`` over the two branch subgraphs; a predicate known at import time imports only the
    branch it takes."""
    known = node.const(0)
    if known is not None:
        if np.size(known) != 1:
            raise ValueError(f"{node!r}: the condition must hold one element, got shape {np.shape(known)}")
        return node.subgraph("then_branch" if bool(np.asarray(known).reshape(-1)[0]) else "else_branch", [])
    pred = _scalar(node.input(0), graphdl.bool_)
    outputs = graphdl.cond(pred, lambda: node.subgraph("then_branch", []), lambda: node.subgraph("else_branch", []),
                           strict=True, name="If")
    return list(outputs)


# -- Loop ----------------------------------------------------------------------------------------------------------


@converter("Loop")
def loop(node):
    """``Loop(M, cond, *v)``: ``for i in range(M) while cond`` running the body on ``(i, cond, *v)`` -> ``(cond,
    *v, *scan_outputs)``; returns the final loop-carried values, then each scan output stacked over iterations."""
    n = len(node.node.input) - 2
    trip = _scalar(node.input(0), graphdl.int64) if node.has_input(0) else None
    has_cond = node.has_input(1)
    if trip is None and not has_cond:
        raise node.unsupported("a Loop with neither a trip count nor a condition never ends")
    carried = [node.input(2 + k) for k in range(n)]
    keep = _scalar(node.input(1), graphdl.bool_) if has_cond else graphdl.constant(True)
    fixed = [(graphdl.int64, ()), (graphdl.bool_, ())]
    shapes, outputs = _loop_invariants(node, carried, lambda shapes: fixed + [
        (t.dtype, s) for t, s in zip(carried, shapes)], 1)
    scans = outputs[1 + n:]
    arrays = [_tensor_array(dtype, shape) for dtype, shape in scans]

    def body(t, keep, *rest):
        values, arrays = rest[:n], rest[n:]
        results = node.subgraph("body", [graphdl.cast(t, graphdl.int64), keep, *values])
        # The spec's pseudo-code ignores the body's condition when the Loop has no cond input, but onnxruntime and
        # onnx's reference implementation stop on it: follow them.
        next_keep = _scalar(results[0], graphdl.bool_)
        arrays = [a.write(t, v) for a, v in zip(arrays, results[1 + n:])]
        return [t + 1, next_keep, *results[1: 1 + n], *arrays]

    invariants = [graphdl.TensorShape(s) for s in [(), (), *shapes, *[None] * len(arrays)]]
    final = graphdl.while_loop(lambda t, keep, *_: keep, body, [graphdl.constant(0), keep, *carried, *arrays],
                               shape_invariants=invariants, maximum_iterations=trip, return_same_structure=True,
                               name="Loop")
    return list(final[2: 2 + n]) + [_stacked(a, shape) for a, (_, shape) in zip(final[2 + n:], scans)]


# -- Scan ----------------------------------------------------------------------------------------------------------


def _scan(node, states, sequences, output_axes, output_directions):
    """Run the body over the rows of ``sequences`` (already along axis 0, in scan order); returns the final states
    and the scan outputs, stacked, reversed where ``output_directions`` says and moved to ``output_axes``."""
    n = len(states)
    steps = sequences[0].shape.as_tuple()[0]
    steps = graphdl.shape(sequences[0])[0] if steps is None else steps
    fixed = [(x.dtype, x.shape.as_tuple()[1:]) for x in sequences]
    shapes, outputs = _loop_invariants(node, states, lambda shapes: [
        (t.dtype, s) for t, s in zip(states, shapes)] + fixed, 0)
    scans = outputs[n:]
    arrays = [_tensor_array(dtype, shape, size=steps, dynamic_size=False) for dtype, shape in scans]

    def body(t, *rest):
        values, arrays = rest[:n], rest[n:]
        elements = [graphdl.gather(x, t) for x in sequences]
        results = node.subgraph("body", [*values, *elements])
        arrays = [a.write(t, v) for a, v in zip(arrays, results[n:])]
        return [t + 1, *results[:n], *arrays]

    invariants = [graphdl.TensorShape(s) for s in [(), *shapes, *[None] * len(arrays)]]
    final = graphdl.while_loop(lambda t, *_: t < steps, body, [graphdl.constant(0), *states, *arrays],
                               shape_invariants=invariants, return_same_structure=True, name="Scan")
    results = list(final[1: 1 + n])
    for array, (_, shape), axis, direction in zip(final[1 + n:], scans, output_axes, output_directions):
        y = _stacked(array, shape)
        if isinstance(steps, int) and y.shape.ndims is not None:
            y.set_shape([steps, *y.shape.as_tuple()[1:]])
        if direction:
            y = graphdl.reverse(y, [0])
        rank = rank_of(y, node)
        axis = normalize_axis(axis, rank, node)
        if axis:
            y = graphdl.transpose(y, list(range(1, axis + 1)) + [0] + list(range(axis + 1, rank)))
        results.append(y)
    return results


def _along_axis_0(x, axis: int, reverse: bool, node):
    rank = rank_of(x, node)
    axis = normalize_axis(axis, rank, node)
    if axis:
        x = graphdl.transpose(x, [axis] + [d for d in range(rank) if d != axis])
    return graphdl.reverse(x, [0]) if reverse else x


@converter("Scan")
def scan(node):
    """``Scan``: the body runs once per row of the scan inputs (along ``scan_input_axes``, in
    ``scan_input_directions``), carrying state; scan outputs are stacked along ``scan_output_axes``. Opset 8's
    form (a leading batch axis, ``sequence_lens``) runs the scan once per batch row (a static batch size)."""
    m = node.attr("num_scan_inputs")
    body_outputs = len(node.attrs["body"].output)
    if node.opset < 9:
        return _scan_batched(node, m, body_outputs)
    inputs = [node.input(i) for i in range(len(node.node.input))]
    n = len(inputs) - m
    k = body_outputs - n
    axes = node.attr("scan_input_axes") or [0] * m
    directions = node.attr("scan_input_directions") or [0] * m
    sequences = [_along_axis_0(x, a, d, node) for x, a, d in zip(inputs[n:], axes, directions)]
    return _scan(node, inputs[:n], sequences, node.attr("scan_output_axes") or [0] * k,
                 node.attr("scan_output_directions") or [0] * k)


def _scan_batched(node, m: int, body_outputs: int):
    if node.has_input(0):
        raise node.unsupported("opset-8 Scan with sequence_lens (sequences of different lengths)")
    inputs = [node.input(i) for i in range(1, len(node.node.input))]
    n = len(inputs) - m
    batch = inputs[0].shape.as_tuple()[0] if inputs[0].shape.ndims else None
    if batch is None:
        raise node.unsupported("opset-8 Scan needs a static batch size")
    directions = node.attr("directions") or [0] * m
    rows = []
    for b in range(batch):
        sequences = [_along_axis_0(x[b], 0, d, node) for x, d in zip(inputs[n:], directions)]
        rows.append(_scan(node, [s[b] for s in inputs[:n]], sequences, [0] * (body_outputs - n),
                          [0] * (body_outputs - n)))
    return [graphdl.stack(column, axis=0) for column in zip(*rows)]
