"""Constant folding: pure ops whose inputs are all constants are evaluated once, at compile time."""

from __future__ import annotations

import numpy as np

from graphdl.client.state import SessionState
from graphdl.framework.op_def import get_op_def
from graphdl.passes.pipeline import register_pass
from graphdl.passes.purity import is_pure
from graphdl.passes.rewrite import copy_program

# Folding an op that expands a small input into a large constant (fill, tile, broadcast)
# would bloat the program; above this many elements, such results are computed at run time.
MAX_EXPANDED_ELEMENTS = 1 << 16


class _FoldingContext:
    __slots__ = ("op", "attrs", "state")

    def __init__(self, op):
        self.op = op
        self.attrs = op.attrs
        self.state = SessionState()


def _constant_of(builder, tensor):
    new = builder.tensor(tensor)
    return new.op.attrs["value"] if new.op.type == "Const" else None


@register_pass("constant_folding", "evaluate pure ops whose inputs are all constants")
def fold_constants(program):
    """Replace pure ops with all-constant inputs by Const ops holding their values."""
    changes = []
    fetched = set(program.fetches)

    def substitute(builder, op):
        if not op.inputs or not is_pure(op) or op.type == "Const":
            return False
        values = [_constant_of(builder, t) for t in op.inputs]
        if any(v is None for v in values):
            return False
        kernel = get_op_def(op.type).kernel
        try:
            results = kernel(_FoldingContext(op), *values)
        except Exception:  # noqa: BLE001 - an op that fails here fails the same way at run time
            return False
        results = results if len(op.outputs) != 1 else (results,)
        results = [np.asarray(r, dtype=t.dtype.np) for r, t in zip(results, op.outputs)]
        input_size = max(sum(np.size(v) for v in values), 1)
        if any(r.size > MAX_EXPANDED_ELEMENTS and r.size > 4 * input_size for r in results):
            return False
        if any(t in fetched for t in op.outputs) and len(op.outputs) > 1:
            return False
        outputs = []
        for i, (t, r) in enumerate(zip(op.outputs, results)):
            name = op.name if len(op.outputs) == 1 else f"{op.name}/folded_{i}"
            const = builder.create("Const", [], {"value": r, "dtype": t.dtype}, name, builder.control_inputs(op), exact=True)
            outputs.append(const.outputs[0])
        builder.replace(op, outputs)
        changes.append(f"folded {op.name} ({op.type})")
        return True

    return copy_program(program, substitute), changes
