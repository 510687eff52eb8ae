"""Which ops a pass may evaluate early, merge or drop."""

from __future__ import annotations

from graphdl.framework.op_def import get_op_def

# Ops whose value is not a pure function of their inputs even though they are not stateful.
_NOT_PURE = {"Placeholder", "PlaceholderWithDefault", "NoOp"}


def is_pure(op) -> bool:
    """True when ``op``'s outputs depend only on its inputs and attrs (no state, randomness or feeds)."""
    return op.type not in _NOT_PURE and not get_op_def(op.type).stateful and not op.control_inputs


def reads_variable_directly(op) -> bool:
    """True when ``op`` takes a variable itself (a VariableV2 output) as an input.

    Such an op reads the variable when it runs, so moving that read to another op
    (which may run after an assignment) can change the value it sees.
    """
    return any(t.op.type == "VariableV2" for t in op.inputs)


class SideEffectCheck:
    """Whether the ops computing a tensor of ``program`` may be dropped without losing a side effect.

    A tensor is droppable when nothing it depends on (through data or control edges, up
    to the program's feeds) is stateful, except variable reads: assignments, optimizer
    updates and random ops (whose generators advance when they run) must keep running.
    """

    def __init__(self, program):
        self._fed = set(program.feeds)
        self._memo: dict = {}

    def droppable(self, tensor) -> bool:
        """True when no side effect is reachable backwards from ``tensor``."""
        if tensor in self._fed:
            return True
        return self._op_droppable(tensor.op)

    def _op_droppable(self, root) -> bool:
        # Iterative post-order walk (graphs can be deeper than Python's recursion limit).
        stack = [root]
        while stack:
            op = stack[-1]
            if op in self._memo:
                stack.pop()
                continue
            if get_op_def(op.type).stateful and op.type != "VariableV2":
                self._memo[op] = False
                stack.pop()
                continue
            parents = [t.op for t in op.inputs if t not in self._fed] + list(op.control_inputs)
            pending = [p for p in parents if p not in self._memo]
            if pending:
                stack.extend(pending)
                continue
            self._memo[op] = all(self._memo[p] for p in parents)
            stack.pop()
        return self._memo[root]
