"""Reduction fusion: a Sum/Mean/Max/Min of a fused elementwise kernel's output joins that kernel.

``reduce_sum(square(x - y))`` becomes one loop that never stores the squares; the bias
gradient ``reduce_sum(relu_grad(dy, h), axis=0)`` is computed in the same loop that
writes ``relu_grad`` for the weight gradient's matmul. The reduced axes must be the
leading dims, the trailing dims, or all dims of the kernel's output (what a kernel
can reduce while looping over it in order).
"""

from __future__ import annotations

import numpy as np

from graphdl.ops.fused_ops import Reduction
from graphdl.passes.rewrite import ProgramBuilder

REDUCTIONS = ("Sum", "Mean", "Max", "Min")


def reduction_layout(axes, rank) -> str | None:
    """"all", "rows" (trailing dims), "cols" (leading dims), or None when a kernel can't reduce them in order."""
    axes = sorted(axes)
    if not axes:
        return None
    if axes == list(range(rank)):
        return "all"
    if axes == list(range(rank - len(axes), rank)):
        return "rows"
    if axes == list(range(len(axes))):
        return "cols"
    return None


def _absorbable(op, fetched_ops, observed):
    """The Reduction that ``op`` (a reduction of a FusedElementwise output) can become, or None."""
    if op.type not in REDUCTIONS or op in observed:
        return None
    producer = op.inputs[0].op
    if producer.type != "FusedElementwise" or producer.attrs.get("reduction") is not None:
        return None
    if len(producer.outputs) != 1 or op.inputs[1].op.type != "Const" or not op.inputs[0].dtype.is_floating:
        return None
    rank = op.inputs[0].shape.ndims
    if rank is None or rank == 0:
        return None
    axes = sorted({int(a) % rank for a in np.ravel(op.inputs[1].op.attrs["value"])})
    if reduction_layout(axes, rank) is None:
        return None
    return Reduction(op.type, producer.attrs["outputs"][0], tuple(axes), bool(op.attrs["keep_dims"]))


def fuse_reductions(program):
    """Move eligible reductions into the FusedElementwise op that produces their input."""
    fetched_ops = {t.op for t in program.fetches}
    observed = set(program.targets) | {c for op in program.ops for c in op.control_inputs}
    absorbed = {}
    for op in program.ops:
        reduction = _absorbable(op, fetched_ops, observed)
        producer = op.inputs[0].op if op.inputs else None
        if reduction is not None and producer not in absorbed:
            absorbed[producer] = (op, reduction)
    builder = ProgramBuilder(program)
    changes = []
    in_program = set(program.ops)
    for op in program.ops:
        if op.outputs and all(builder.has(t) for t in op.outputs):
            continue
        if op not in absorbed:
            builder.copy(op)
            continue
        reduce_op, reduction = absorbed[op]
        other_consumers = [c for c in op.outputs[0].consumers() if c in in_program and c is not reduce_op]
        keep_elementwise = bool(other_consumers) or op in fetched_ops
        attrs = dict(op.attrs)
        attrs["reduction"] = reduction
        attrs["outputs"] = tuple(op.attrs["outputs"]) if keep_elementwise else ()
        fused = builder.create(
            "FusedElementwise", [builder.tensor(t) for t in op.inputs], attrs, op.name, builder.control_inputs(op), exact=True
        )
        if keep_elementwise:
            builder.replace(op, [fused.outputs[0]])
        else:
            builder.alias_op(op, fused)
        builder.replace(reduce_op, [fused.outputs[-1]])
        fused.outputs[-1].set_shape(reduce_op.outputs[0].shape)
        kept = " (elementwise output kept)" if keep_elementwise else ""
        changes.append(f"{reduce_op.name} ({reduce_op.type} over axes {list(reduction.axes)}) -> {op.name}{kept}")
    return builder.finish(), changes
