"""Identity-like and grouping ops: ``identity``, ``stop_gradient``, ``no_op``, ``group``, ``tuple``."""

from __future__ import annotations

import builtins

from graphdl.framework.op_def import define_op
from graphdl.framework.ops import control_dependencies, convert_to_tensor, graph_of, make_op, make_tensor, name_scope
from graphdl.framework.operation import Operation, Tensor
from graphdl.ops.shape_inference import same_as_input

define_op("Identity", infer=same_as_input, kernel=lambda ctx, x: x, grad=lambda op, dy: [dy])
define_op("StopGradient", infer=same_as_input, kernel=lambda ctx, x: x, not_differentiable=True)
define_op("NoOp", infer=lambda op: [], kernel=lambda ctx: (), not_differentiable=True)


def identity(input, name=None):  # noqa: A002 - TF1 argument name
    """A tensor with the same value as ``input``."""
    return make_tensor("Identity", [convert_to_tensor(input)], name=name or "Identity")


def stop_gradient(input, name=None):  # noqa: A002
    """Same value as ``input``, but gradients do not flow through it."""
    return make_tensor("StopGradient", [convert_to_tensor(input)], name=name or "StopGradient")


def no_op(name=None):
    """An op that does nothing; useful with control dependencies."""
    return make_op("NoOp", [], name=name or "NoOp")


def group(*inputs, name=None):
    """An op that runs all ``inputs`` (ops or tensors) and produces nothing."""
    flat = []
    for x in inputs:
        flat.extend(x if isinstance(x, (list, builtins.tuple)) else [x])
    deps = [x if isinstance(x, Operation) else convert_to_tensor(x).op for x in flat if x is not None]
    graph = graph_of(deps)
    with graph.as_default(), control_dependencies(deps):
        return no_op(name=name or "group_deps")


def tuple(tensors, name=None, control_inputs=None):  # noqa: A001 - TF1 name
    """The tensors, each passed through an identity that waits for all of them (and ``control_inputs``)."""
    tensors = list(tensors)
    with name_scope(name, "tuple", [t for t in tensors if t is not None]):
        gate = group(*[t for t in tensors if t is not None], *(control_inputs or []))
        outs = []
        for t in tensors:
            if t is None:
                outs.append(None)
                continue
            with control_dependencies([gate]):
                outs.append(identity(t) if isinstance(t, Tensor) else t)
        return outs
