"""Constant folding: pure ops whose inputs are all constants are evaluated once, at compile time.

``Shape``, ``Size``, ``Rank``, ``ZerosLike`` and ``OnesLike`` of a tensor whose static shape is fully known are folded
too, whatever computes the tensor, when dropping that computation loses no side effect.
"""

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

# Ops whose value depends only on their input's static shape.
_SHAPE_OPS = {
    "Shape": lambda op, dims: np.asarray(dims, dtype=op.attrs["out_type"].np),
    "Size": lambda op, dims: np.asarray(int(np.prod(dims, dtype=np.int64)), dtype=op.attrs["out_type"].np),
    "Rank": lambda op, dims: np.asarray(len(dims), dtype=np.int32),
    # Small only: a large all-zeros constant would bloat the program (see MAX_EXPANDED_ELEMENTS).
    "ZerosLike": lambda op, dims: _filled(op, dims, 0),
    "OnesLike": lambda op, dims: _filled(op, dims, 1),
}


def _filled(op, dims, value):
    if int(np.prod(dims, dtype=np.int64)) > MAX_EXPANDED_ELEMENTS:
        return None
    return np.full(dims, value, dtype=op.outputs[0].dtype.np)


class _FoldingContext:
    __slots__ = ("attrs", "op", "state")

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
        results = _fold_static_shape(builder, op)
        if results is None:
            results = _evaluate(builder, op)
        if results is None:
            return False
        if any(t in fetched for t in op.outputs) and len(op.outputs) > 1:
            return False
        # The constant waits for whatever the op waited for, including (through its inputs)
        # the control inputs of constants created under control_dependencies.
        controls = builder.control_inputs(op)
        for t in op.inputs:
            controls.extend(c for c in builder.tensor(t).op.control_inputs if c not in controls)
        outputs = []
        for i, (t, r) in enumerate(zip(op.outputs, results)):
            if len(op.outputs) == 1:
                name, exact = op.name, True
            else:
                name, exact = f"{op.name}/folded_{i}", False
            const = builder.create("Const", [], {"value": r, "dtype": t.dtype}, name, controls, exact)
            outputs.append(const.outputs[0])
        builder.replace(op, outputs)
        changes.append(f"folded {op.name} ({op.type})")
        return True

    return copy_program(program, substitute), changes


def _fold_static_shape(builder, op):
    """The value of Shape/Size/Rank of a fully static tensor, or None."""
    fold = _SHAPE_OPS.get(op.type)
    if fold is None:
        return None
    x = op.inputs[0]
    if not x.shape.is_fully_defined() or not builder.side_effects.droppable(x):
        return None
    value = fold(op, tuple(x.shape.as_list()))
    return None if value is None else [value]


def _evaluate(builder, op):
    """The values of ``op``'s outputs when all its inputs are constants (and small enough), or None."""
    values = [_constant_of(builder, t) for t in op.inputs]
    if any(v is None for v in values):
        return None
    kernel = get_op_def(op.type).kernel
    try:
        with np.errstate(all="ignore"):
            results = kernel(_FoldingContext(op), *values)
    except Exception:  # noqa: BLE001 - an op that fails here fails the same way at run time
        return None
    if len(op.outputs) == 1 and not (isinstance(results, tuple) and len(results) == 1):  # Unpack(num=1) gives (x,)
        results = (results,)
    results = [np.asarray(r, dtype=t.dtype.np) for r, t in zip(results, op.outputs)]
    input_size = max(sum(np.size(v) for v in values), 1)
    if any(r.size > MAX_EXPANDED_ELEMENTS and r.size > 4 * input_size for r in results):
        return None
    # A kernel may return a view of its input (reshape, identity): the folded constant gets its own
    # storage, so that nothing done to one constant's value can show up in the other.
    return [r.copy() if any(np.may_share_memory(r, v) for v in values) else r for r in results]
