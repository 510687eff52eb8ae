"""The fused GRU cell: its two elementwise stages as two ops, each with a one-op gradient.

A GRU step (TF1's ``GRUCell``: variables ``gates/{kernel,bias}`` and ``candidate/{kernel,bias}``)
is two matmuls with elementwise work after each::

    r, u  = sigmoid([x, h] @ W_ru + b_ru)          # GRUBlockCellGates -> (r * h, u, r)
    c     = tanh([x, r * h] @ W_c + b_c)           # GRUBlockCellUpdate -> (new_h, c)
    new_h = u * h + (1 - u) * c

``GRUBlockCellGates(gates, b_ru, h_prev)`` takes the first matmul's ``[B, 2H]`` result and
returns ``r * h_prev`` (the second matmul's input), ``u`` and ``r``;
``GRUBlockCellUpdate(candidate, b_c, u, h_prev)`` returns ``new_h`` and ``c``. Their gradient ops
write the gate gradients straight into the ``[B, 2H]`` layout the kernel's matmul gradient reads.
TF1's ``GRUBlockCell`` plays the same role with the matmuls inside; here they stay BLAS calls.
"""

from __future__ import annotations

import numpy as np

from graphdl import errors
from graphdl.framework.op_def import define_op
from graphdl.framework.ops import convert_to_tensor, make_op, name_scope
from graphdl.ops.shape_inference import FLOAT, require_dtype

__all__ = ["gru_block_cell_gates", "gru_block_cell_update"]


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _same_dtype(op):
    for i, t in enumerate(op.inputs):
        require_dtype(op, t, FLOAT, f"input {i}")
    if len({t.dtype for t in op.inputs}) != 1:
        names = ", ".join(t.dtype.name for t in op.inputs)
        raise TypeError(f"{op.type} '{op.name}': all inputs must share one float dtype, got {names}")
    return op.inputs[0].dtype


def _matrix(op, tensor, what):
    dims = tensor.shape.as_tuple()
    if dims is not None and len(dims) != 2:
        raise ValueError(f"{op.type} '{op.name}': {what} must be a matrix [batch, columns], got shape {tensor.shape}")
    return dims if dims is not None else (None, None)


def _merge(op, what, *values):
    known = {v for v in values if v is not None}
    if len(known) > 1:
        raise ValueError(f"{op.type} '{op.name}': {what} disagree: {sorted(known)}")
    return known.pop() if known else None


def _infer_gates(op):
    gates, bias, h_prev = op.inputs
    dtype = _same_dtype(op)
    (gb, gc), (hb, units) = _matrix(op, gates, "gates"), _matrix(op, h_prev, "h_prev")
    bias_dims = bias.shape.as_tuple()
    if bias_dims is not None and len(bias_dims) != 1:
        raise ValueError(f"GRUBlockCellGates '{op.name}': b_ru must be a vector [2 * units], got shape {bias.shape}")
    half = lambda n: None if n is None else n / 2
    units = _merge(op, "units of gates [B, 2H], b_ru [2H] and h_prev [B, H]", half(gc), units,
                   half(bias_dims[0]) if bias_dims else None)
    if units is not None and units != int(units):
        raise ValueError(f"GRUBlockCellGates '{op.name}': gates' last dimension must be 2 * units, got {gc}")
    batch = _merge(op, "batch sizes of gates and h_prev", gb, hb)
    shape = (batch, None if units is None else int(units))
    return [(shape, dtype)] * 3


def _infer_update(op):
    candidate, bias, u, h_prev = op.inputs
    dtype = _same_dtype(op)
    dims = [_matrix(op, t, name) for t, name in ((candidate, "candidate"), (u, "u"), (h_prev, "h_prev"))]
    bias_dims = bias.shape.as_tuple()
    if bias_dims is not None and len(bias_dims) != 1:
        raise ValueError(f"GRUBlockCellUpdate '{op.name}': b_c must be a vector [units], got shape {bias.shape}")
    units = _merge(op, "units of candidate, b_c, u and h_prev", *(d[1] for d in dims),
                   bias_dims[0] if bias_dims else None)
    batch = _merge(op, "batch sizes of candidate, u and h_prev", *(d[0] for d in dims))
    return [((batch, units), dtype)] * 2


def _check_runtime_shapes(op, bias, bias_width, named_inputs):
    """InvalidArgumentError unless every input is [batch, width * units] and the bias [bias_width * units]."""
    h_prev = named_inputs[-1][1]
    rows, units = h_prev.shape if h_prev.ndim == 2 else (-1, -1)
    if bias.shape == (bias_width * units,) and all(a.shape == (rows, w * units) for _, a, w in named_inputs):
        return
    got = ", ".join(f"{name} {list(a.shape)} (expected [batch, {w} * units])" for name, a, w in named_inputs)
    raise errors.InvalidArgumentError(
        None, op, f"{op.type} '{op.name}': {got}, bias {list(bias.shape)} (expected [{bias_width} * units])")


def check_gates_shapes(op, gates, bias, h_prev):
    """Check GRUBlockCellGates' runtime shapes: gates [B, 2H], b_ru [2H], h_prev [B, H]."""
    _check_runtime_shapes(op, bias, 2, [("gates", gates, 2), ("h_prev", h_prev, 1)])


def check_update_shapes(op, candidate, bias, u, h_prev):
    """Check GRUBlockCellUpdate's runtime shapes: candidate, u and h_prev [B, H], b_c [H]."""
    _check_runtime_shapes(op, bias, 1, [("candidate", candidate, 1), ("u", u, 1), ("h_prev", h_prev, 1)])


def gates_reference(gates, bias, h_prev):
    """NumPy: (r * h_prev, u, r) for the first matmul's result ``gates`` = [r_bar, u_bar]."""
    r, u = np.split(_sigmoid(gates + bias), 2, axis=1)
    dtype = h_prev.dtype
    return (r * h_prev).astype(dtype), u.astype(dtype), r.astype(dtype)


def gates_grad_reference(h_prev, r, u, d_rh, d_u):
    """NumPy: (d_gates [B, 2H], d_h_prev) of GRUBlockCellGates."""
    d_r = d_rh * h_prev * r * (1 - r)
    d_ub = d_u * u * (1 - u)
    dtype = h_prev.dtype
    return np.concatenate([d_r, d_ub], axis=1).astype(dtype), (d_rh * r).astype(dtype)


def update_reference(candidate, bias, u, h_prev):
    """NumPy: (new_h, c) with c = tanh(candidate + b_c)."""
    c = np.tanh(candidate + bias)
    dtype = h_prev.dtype
    return (u * h_prev + (1 - u) * c).astype(dtype), c.astype(dtype)


def update_grad_reference(u, h_prev, c, d_new_h):
    """NumPy: (d_candidate, d_u, d_h_prev) of GRUBlockCellUpdate."""
    dtype = h_prev.dtype
    return ((d_new_h * (1 - u) * (1 - c * c)).astype(dtype), (d_new_h * (h_prev - c)).astype(dtype),
            (d_new_h * u).astype(dtype))


def _internal_output_unused(op, index, grad_type):
    users = [c for c in op.outputs[index].consumers() if c.type not in (grad_type, "ZerosLike")]
    if users:
        raise LookupError(f"'{op.name}': output {index} of {op.type} is internal to its gradient and cannot be "
                          "differentiated")


def _grad_gates(op, d_rh, d_u, d_r):
    from graphdl.ops.array_ops import zeros_like
    from graphdl.ops.reduction_ops import reduce_sum

    if d_r is not None:
        _internal_output_unused(op, 2, "GRUBlockCellGatesGrad")
    _, _, h_prev = op.inputs
    rh, u, r = op.outputs
    d_rh = d_rh if d_rh is not None else zeros_like(rh)
    d_u = d_u if d_u is not None else zeros_like(u)
    d_gates, d_h_prev = make_op("GRUBlockCellGatesGrad", [h_prev, r, u, d_rh, d_u]).outputs
    return [d_gates, reduce_sum(d_gates, 0), d_h_prev]


def _grad_update(op, d_new_h, d_c):
    from graphdl.ops.reduction_ops import reduce_sum

    if d_new_h is None:
        return [None] * 4
    if d_c is not None:
        _internal_output_unused(op, 1, "GRUBlockCellUpdateGrad")
    _, _, u, h_prev = op.inputs
    d_candidate, d_u, d_h_prev = make_op("GRUBlockCellUpdateGrad", [u, h_prev, op.outputs[1], d_new_h]).outputs
    return [d_candidate, reduce_sum(d_candidate, 0), d_u, d_h_prev]


def _infer_gates_grad(op):
    h_prev = op.inputs[0]
    dtype = _same_dtype(op)
    batch, units = _matrix(op, h_prev, "h_prev")
    return [((batch, None if units is None else 2 * units), dtype), ((batch, units), dtype)]


def _infer_update_grad(op):
    dtype = _same_dtype(op)
    return [(_matrix(op, op.inputs[1], "h_prev"), dtype)] * 3


def _gates_kernel(ctx, gates, bias, h_prev):
    check_gates_shapes(ctx.op, gates, bias, h_prev)
    return gates_reference(gates, bias, h_prev)


def _update_kernel(ctx, candidate, bias, u, h_prev):
    check_update_shapes(ctx.op, candidate, bias, u, h_prev)
    return update_reference(candidate, bias, u, h_prev)


define_op("GRUBlockCellGates", infer=_infer_gates, grad=_grad_gates, kernel=_gates_kernel)
define_op("GRUBlockCellGatesGrad", infer=_infer_gates_grad, not_differentiable=True,
          kernel=lambda ctx, h_prev, r, u, d_rh, d_u: gates_grad_reference(h_prev, r, u, d_rh, d_u))
define_op("GRUBlockCellUpdate", infer=_infer_update, grad=_grad_update, kernel=_update_kernel)
define_op("GRUBlockCellUpdateGrad", infer=_infer_update_grad, not_differentiable=True,
          kernel=lambda ctx, u, h_prev, c, d_new_h: update_grad_reference(u, h_prev, c, d_new_h))


def gru_block_cell_gates(gates, b_ru, h_prev, name=None):
    """The GRU's reset/update gates after the first matmul: returns ``(r * h_prev, u)``."""
    with name_scope(name, "GRUBlockCellGates", [gates, b_ru, h_prev]) as scope:
        gates = convert_to_tensor(gates)
        b_ru = convert_to_tensor(b_ru, dtype=gates.dtype)
        h_prev = convert_to_tensor(h_prev, dtype=gates.dtype)
        op = make_op("GRUBlockCellGates", [gates, b_ru, h_prev], name=scope)
        return op.outputs[0], op.outputs[1]


def gru_block_cell_update(candidate, b_c, u, h_prev, name=None):
    """The GRU's new state after the candidate matmul: ``u * h_prev + (1 - u) * tanh(candidate + b_c)``."""
    with name_scope(name, "GRUBlockCellUpdate", [candidate, b_c, u, h_prev]) as scope:
        candidate = convert_to_tensor(candidate)
        args = [candidate] + [convert_to_tensor(t, dtype=candidate.dtype) for t in (b_c, u, h_prev)]
        return make_op("GRUBlockCellUpdate", args, name=scope).outputs[0]
