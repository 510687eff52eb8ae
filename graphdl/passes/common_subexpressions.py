"""Common subexpression elimination: identical pure ops on identical inputs are computed once."""

from __future__ import annotations

import numpy as np

from graphdl.passes.pipeline import register_pass
from graphdl.passes.purity import is_pure
from graphdl.passes.rewrite import copy_program


def _hashable(value):
    if isinstance(value, np.ndarray):
        return ("ndarray", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value


def op_signature(op_type, attrs, inputs) -> tuple:
    """A key equal for ops that compute the same value (type, attrs and input tensors)."""
    return (op_type, _hashable(attrs), tuple(id(t) for t in inputs))


@register_pass("common_subexpressions", "merge identical pure ops on the same inputs")
def eliminate_common_subexpressions(program):
    """Reuse the first of several identical pure ops (and identical constants)."""
    changes = []
    seen: dict = {}

    def substitute(builder, op):
        if not is_pure(op):
            return False
        inputs = [builder.tensor(t) for t in op.inputs]
        key = op_signature(op.type, op.attrs, inputs)
        first = seen.get(key)
        if first is None:
            new = builder.copy(op, inputs)
            seen[key] = new
            return True
        builder.replace(op, list(first.outputs))
        builder.alias_op(op, first)
        changes.append(f"{op.name} -> {first.name} ({op.type})")
        return True

    return copy_program(program, substitute), changes
