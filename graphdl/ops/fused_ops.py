"""Ops the compiler creates: ``FusedElementwise`` runs a DAG of elementwise ops as one kernel.

Its attrs describe the member ops (``instructions``), so the reference backend can
interpret it with the members' own NumPy kernels (the oracle for generated kernels)
and a backend can generate one loop over the broadcast output shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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
    specs = [(dims, op.attrs["instructions"][j].dtype) for j in op.attrs["outputs"]]
    reduction = op.attrs.get("reduction")
    if reduction is not None:
        specs.append((reduced_dims(dims, reduction), op.attrs["instructions"][reduction.temp].dtype))
    return specs


@dataclass(frozen=True)
class Reduction:
    """A reduction at the tail of a fused kernel: ``op_type`` (Sum/Mean/Max/Min) of temp ``temp`` over ``axes``."""

    op_type: str
    temp: int
    axes: tuple
    keep_dims: bool


def reduced_dims(dims, reduction: Reduction):
    """The static shape of the reduced output."""
    if dims is None:
        return None
    if reduction.keep_dims:
        return tuple(1 if i in reduction.axes else d for i, d in enumerate(dims))
    return tuple(d for i, d in enumerate(dims) if i not in reduction.axes)


class _MemberContext:
    __slots__ = ("attrs", "op", "state")

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
        value = np.asarray(kernel(_MemberContext(op, dict(ins.attrs)), *args))
        # Unfused, each member's value is stored in its dtype before the next op reads it; round
        # the same way here (a kernel may compute in float64), so fused and unfused results agree.
        if value.dtype != ins.dtype.np:
            value = value.astype(ins.dtype.np)
        temps.append(value)
    return tuple(temps[j] for j in outputs)


def _fused_kernel(ctx, *inputs):
    reduction = ctx.attrs.get("reduction")
    wanted = tuple(ctx.attrs["outputs"]) + ((reduction.temp,) if reduction else ())
    results = run_instructions(ctx.attrs["instructions"], wanted, inputs, ctx.op)
    if reduction is not None:
        value = np.broadcast_to(results[-1], np.broadcast_shapes(*[np.shape(x) for x in inputs]))
        reduce_kernel = get_op_def(reduction.op_type).kernel
        reduced = reduce_kernel(
            _MemberContext(ctx.op, {"keep_dims": reduction.keep_dims}), value, np.asarray(reduction.axes, np.int32)
        )
        results = results[:-1] + (np.asarray(reduced, dtype=value.dtype),)
    return results if len(results) > 1 else results[0]


define_op("FusedElementwise", infer=_infer_fused, kernel=_fused_kernel, not_differentiable=True)
