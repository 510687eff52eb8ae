"""Which ops a pass may evaluate early, merge or drop."""

from __future__ import annotations

from graphdl.framework.op_def import get_op_def

# Ops whose value is not a pure function of their inputs even though they are not stateful.
_NOT_PURE = {"Placeholder", "PlaceholderWithDefault", "NoOp"}


def is_pure(op) -> bool:
    """True when ``op``'s outputs depend only on its inputs and attrs (no state, randomness or feeds)."""
    return op.type not in _NOT_PURE and not get_op_def(op.type).stateful and not op.control_inputs
