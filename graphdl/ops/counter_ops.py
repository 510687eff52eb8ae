"""``CountUpTo``: increment an integer variable until it reaches a limit (TF1's ``tf.count_up_to``).

``train.limit_epochs`` counts epochs with it: the run that would pass ``limit`` raises
``OutOfRangeError`` instead, which ends a queue runner.
"""

from __future__ import annotations

import numpy as np

from graphdl import errors
from graphdl.client.state import Uninitialized
from graphdl.framework.op_def import define_op
from graphdl.framework.ops import make_tensor

__all__ = ["count_up_to"]


def _infer(op):
    ref = op.inputs[0]
    if ref.op.type != "VariableV2":
        raise TypeError(f"CountUpTo needs a variable as its input, got '{ref.name}' produced by a {ref.op.type} op")
    if not ref.dtype.is_integer or ref.shape.ndims not in (None, 0):
        raise TypeError(f"CountUpTo needs a scalar integer variable, got {ref.dtype.name} {ref.shape}")
    return [((), ref.dtype)]


def _kernel(ctx, ref):
    name = ctx.op.inputs[0].op.name
    if isinstance(ref, Uninitialized):
        raise errors.FailedPreconditionError(
            None, ctx.op, f"Attempting to use uninitialized value {name} (needed by op '{ctx.op.name}'). Run "
            "graphdl.local_variables_initializer() (train.limit_epochs keeps its epoch count in a local variable).")
    limit = ctx.attrs["limit"]
    if int(ref) >= limit:
        raise errors.OutOfRangeError(None, ctx.op, f"Reached limit of {limit} [op '{ctx.op.name}']")
    old = np.array(ref, copy=True)
    ctx.state.variables[name] = np.array(ref + 1, dtype=ref.dtype)
    return old


define_op("CountUpTo", infer=_infer, kernel=_kernel, stateful=True, ref_inputs=(0,), not_differentiable=True)


def count_up_to(ref, limit, name=None):
    """Increment the integer variable ``ref`` and return its value before; OutOfRangeError once it reached ``limit``."""
    ref = ref._variable if hasattr(ref, "_variable") else ref
    return make_tensor("CountUpTo", [ref], {"limit": int(limit)}, name or "CountUpTo")
