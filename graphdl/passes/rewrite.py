"""Copying a Program into a fresh graph, op by op, so that passes can substitute ops.

Passes never mutate the user's graph: each builds a new Program. Ops keep their exact
names, so variables (keyed by VariableV2 op name) and random ops (keyed by op name)
still find their state in the session.
"""

from __future__ import annotations

from graphdl.client.program import Program, prune
from graphdl.framework.graph import Graph
from graphdl.framework.operation import Operation, Tensor


class ProgramBuilder:
    """Builds the rewritten Program: ``tensor(old)`` maps old tensors to new ones."""

    def __init__(self, program: Program):
        self.source = program
        self.graph = Graph()
        self.graph.seed = program.graph.seed
        self._tensors: dict[Tensor, Tensor] = {}
        self._ops: dict[Operation, Operation] = {}
        self.feeds = []
        in_program = set(program.ops)
        for t in program.feeds:
            if t.op.type == "Placeholder" and t.op not in in_program:
                name = t.op.name
            else:
                name = self.graph.unique_name(f"feed/{t.op.name}_{t.value_index}")
            new = self.graph.create_op(
                "Placeholder", [], {"dtype": t.dtype, "shape": t.shape.as_tuple()}, name + "/"
            ).outputs[0]
            self._tensors[t] = new
            self.feeds.append(new)

    def tensor(self, old: Tensor) -> Tensor:
        """The new graph's tensor standing for ``old``."""
        return self._tensors[old]

    def has(self, old: Tensor) -> bool:
        return old in self._tensors

    def bind(self, old: Tensor, new: Tensor):
        """Make ``new`` stand for ``old`` in everything built afterwards."""
        self._tensors[old] = new

    def control_inputs(self, op: Operation) -> list[Operation]:
        return [self._ops[c] for c in op.control_inputs if c in self._ops]

    def create(self, op_type, inputs, attrs=None, name=None, control_inputs=(), exact=False) -> Operation:
        """Create an op in the new graph (``exact``: keep ``name`` as is, else make it unique)."""
        with self.graph.control_dependencies(list(control_inputs)):
            return self.graph.create_op(op_type, inputs, attrs, (name + "/") if exact else name)

    def copy(self, op: Operation, inputs=None) -> Operation:
        """Copy ``op`` (same type, attrs and name) with its inputs mapped; binds its outputs."""
        inputs = [self.tensor(t) for t in op.inputs] if inputs is None else inputs
        new = self.create(op.type, inputs, dict(op.attrs), op.name, self.control_inputs(op), exact=True)
        for old_t, new_t in zip(op.outputs, new.outputs):
            new_t.set_shape(old_t.shape)
            if old_t not in self._tensors:
                self._tensors[old_t] = new_t
        self._ops[op] = new
        return new

    def replace(self, op: Operation, outputs: list[Tensor]):
        """Record that ``outputs`` (new-graph tensors) replace ``op``'s outputs."""
        for old_t, new_t in zip(op.outputs, outputs):
            if old_t not in self._tensors:
                self._tensors[old_t] = new_t
        if outputs:
            self._ops[op] = outputs[0].op

    def alias_op(self, op: Operation, new: Operation):
        """Make ``new`` stand for ``op`` as a control input."""
        self._ops[op] = new

    def finish(self) -> Program:
        """The new Program, pruned to what its fetches and targets need."""
        fetches = tuple(self._tensors[t] for t in self.source.fetches)
        targets = tuple(self._ops[op] for op in self.source.targets if op in self._ops)
        return prune(self.graph, fetches, tuple(self.feeds), targets)


def copy_program(program: Program, substitute=None) -> Program:
    """Copy ``program``; ``substitute(builder, op)`` may build replacement ops and return True."""
    builder = ProgramBuilder(program)
    for op in program.ops:
        if op.outputs and all(builder.has(t) for t in op.outputs):
            continue  # fully fed
        if substitute is None or not substitute(builder, op):
            builder.copy(op)
    return builder.finish()
