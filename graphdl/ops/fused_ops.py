"""Ops the compiler creates: ``FusedElementwise`` runs a DAG of elementwise ops as one kernel.

Its attrs describe the member ops (``instructions``), so the reference backend can
interpret it with the members' own NumPy kernels (the oracle for generated kernels)
and a backend can generate one loop over the broadcast output shape.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphdl.framework.op_def import define_op, get_op_def
from graphdl.ops.shape_inference import broadcast_dims


@dataclass(frozen=True)
class Instruction:
    """One member op: ``op_type`` applied to ``args`` (("input", k) or ("temp", j)), with ``attrs``."""

    op_type: str
    args: tuple
    attrs: tuple  # sorted (name, value) pairs
    name: str  # the original op's name, for reports
    dtype: object  # output dtype


def _infer_fused(op):
    dims = ()
    for t in op.inputs:
        dims = broadcast_dims(dims, t.shape.as_tuple())
    out_dims = op.attrs.get("output_shape")
    if out_dims is not None and dims is not None:
        dims = tuple(a if a is not None else b for a, b in zip(out_dims, dims)) if len(out_dims) == len(dims) else out_dims
    elif dims is None:
        dims = out_dims
    return [(dims, op.attrs["instructions"][j].dtype) for j in op.attrs["outputs"]]


class _MemberContext:
    __slots__ = ("op", "attrs", "state")

    def __init__(self, op, attrs):
        self.op = op
        self.attrs = attrs
        self.state = None


def run_instructions(instructions, outputs, inputs, op=None):
    """Evaluate fused instructions with the members' reference kernels."""
    temps = []
    for ins in instructions:
        args = [inputs[i] if kind == "input" else temps[i] for kind, i in ins.args]
        kernel = get_op_def(ins.op_type).kernel
        temps.append(kernel(_MemberContext(op, dict(ins.attrs)), *args))
    return tuple(temps[j] for j in outputs)


def _fused_kernel(ctx, *inputs):
    results = run_instructions(ctx.attrs["instructions"], ctx.attrs["outputs"], inputs, ctx.op)
    return results if len(results) > 1 else results[0]


define_op("FusedElementwise", infer=_infer_fused, kernel=_fused_kernel, not_differentiable=True)
