"""Copying a Program into a fresh graph, op by op, so that passes can substitute ops.

Passes never mutate the user's graph: each builds a new Program. Ops keep their exact
names, so variables (keyed by VariableV2 op name) and random ops (keyed by op name)
still find their state in the session.
"""

from __future__ import annotations

from graphdl.client.program import Program, prune
from graphdl.framework.graph import Graph
from graphdl.framework.operation import Operation, Tensor
from graphdl.passes.purity import SideEffectCheck


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
        # Reserve the names of the ops to copy, so that ops a pass creates under generated
        # names never take the exact name of an op copied later.
        for op in program.ops:
            self.graph.unique_name(op.name)
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
        self._feed_ops = {t.op for t in self.feeds}
        self._side_effects = None
        self._uses = None

    @property
    def side_effects(self) -> SideEffectCheck:
        """Which source tensors may be dropped without losing a side effect (built on first use)."""
        if self._side_effects is None:
            self._side_effects = SideEffectCheck(self.source)
        return self._side_effects

    def uses(self, old: Tensor) -> int:
        """How many inputs of the source program's ops read ``old``, plus one per fetch of it."""
        if self._uses is None:
            counts: dict = {}
            for op in self.source.ops:
                for t in op.inputs:
                    counts[t] = counts.get(t, 0) + 1
            for t in self.source.fetches:
                counts[t] = counts.get(t, 0) + 1
            self._uses = counts
        return self._uses.get(old, 0)

    def tensor(self, old: Tensor) -> Tensor:
        """The new graph's tensor standing for ``old``."""
        return self._tensors[old]

    def has(self, old: Tensor) -> bool:
        return old in self._tensors

    def bind(self, old: Tensor, new: Tensor):
        """Make ``new`` stand for ``old`` in everything built afterwards."""
        self._tensors[old] = new

    def control_inputs(self, op: Operation) -> list[Operation]:
        """The new graph's ops standing for ``op``'s control inputs.

        A control input replaced by a fed value (e.g. an Identity of a fed placeholder)
        has nothing left to run, so it is dropped rather than turned into a dependency
        on the feed.
        """
        result = []
        for c in op.control_inputs:
            new = self._ops.get(c)
            if new is not None and new not in self._feed_ops and new not in result:
                result.append(new)
        return result

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
        targets = []
        for op in self.source.targets:
            new = self._ops.get(op)
            if new is not None and new not in self._feed_ops and new not in targets:
                targets.append(new)
        targets = tuple(targets)
        return prune(self.graph, fetches, tuple(self.feeds), targets)


def copy_program(program: Program, substitute=None) -> Program:
    """Copy ``program``; ``substitute(builder, op)`` may build replacement ops and return True."""
    builder = ProgramBuilder(program)
    for op in program.ops:
        if op.outputs and all(builder.has(t) for t in op.outputs):
            # Every output is fed: the op is in the program only as a control input or a
            # target, so it runs as it is (its fed outputs keep the fed values).
            builder.copy(op)
        elif substitute is None or not substitute(builder, op):
            builder.copy(op)
    return builder.finish()
