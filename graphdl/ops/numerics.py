"""NaN/Inf checks: ``tf.check_numerics`` (op ``CheckNumerics``), ``verify_tensor_all_finite``, ``add_check_numerics_ops``.

``CheckNumerics`` passes its input through and raises InvalidArgumentError naming its
message when the value has a NaN or an infinity. It is stateful (its raising is a side
effect), so the compiler never folds, merges or fuses it away.
"""

from __future__ import annotations

import numpy as np

from graphdl import errors
from graphdl.framework.graph import get_default_graph
from graphdl.framework.op_def import define_op
from graphdl.framework.ops import control_dependencies, convert_to_tensor, make_tensor, name_scope
from graphdl.ops.shape_inference import FLOAT, require_dtype

__all__ = ["add_check_numerics_ops", "check_numerics", "verify_tensor_all_finite"]


def _infer_check_numerics(op):
    x = op.inputs[0]
    require_dtype(op, x, FLOAT, "tensor")
    return [(x.shape.as_tuple(), x.dtype)]


def _check_numerics_kernel(ctx, x):
    if not np.isfinite(x).all():
        has_nan, has_inf = bool(np.isnan(x).any()), bool(np.isinf(x).any())
        what = "Inf and NaN" if has_nan and has_inf else ("NaN" if has_nan else "Inf")
        raise errors.InvalidArgumentError(
            None, ctx.op, f"{ctx.attrs['message']} : Tensor had {what} values\n\t [[node {ctx.op.name} (CheckNumerics)]]"
        )
    return x


def _check_numerics_grad(op, dy):
    message = "Not a number (NaN) or infinity (Inf) values detected in gradient. " + op.attrs["message"]
    return [check_numerics(dy, message)]


define_op("CheckNumerics", infer=_infer_check_numerics, kernel=_check_numerics_kernel, grad=_check_numerics_grad,
          stateful=True)


def check_numerics(tensor, message, name=None):
    """``tensor`` passed through; running it raises InvalidArgumentError "<message> : Tensor had NaN values" (or Inf)."""
    tensor = convert_to_tensor(tensor)
    return make_tensor("CheckNumerics", [tensor], {"message": str(message)}, name or "CheckNumerics")


def verify_tensor_all_finite(t, msg, name=None):
    """``t`` through an identity that first checks it for NaN and Inf (raising InvalidArgumentError naming ``msg``)."""
    from graphdl.ops.control_ops import identity

    with name_scope(name, "VerifyFinite", [t]):
        t = convert_to_tensor(t, name="t")
        check = check_numerics(t, message=msg)
        with control_dependencies([check]):
            return identity(t)


def add_check_numerics_ops():
    """A group op running a ``check_numerics`` on every floating-point tensor of the default graph.

    The checks run one after the other in graph order, each named "<op name>:<output index>"
    in its message, so the first NaN/Inf reported is where it appeared.
    """
    from graphdl.ops.control_ops import group

    graph = get_default_graph()
    checks = []
    for op in graph.get_operations():
        if op.type == "CheckNumerics":
            continue
        for output in op.outputs:
            if output.dtype.is_floating:
                with control_dependencies(checks):
                    checks = [check_numerics(output, message=f"{op.name}:{output.value_index}")]
    return group(*checks)
