"""A whole LSTM layer's recurrence as one op: every time step of the cell update after the input projection.

``BlockLSTMRecurrence(xw, h0, c0, wh, bias)`` with ``xw = x @ kernel[:input_depth]`` for all
``T`` steps at once (``[T, B, 4H]``, gates in TF1's order i, j, f, o) runs, for t = 0 .. T-1,

    z_t = xw[t] + h_{t-1} @ wh + bias
    c_t = c_{t-1} * sigmoid(z_f + forget_bias) + sigmoid(z_i) * tanh(z_j)
    h_t = tanh(c_t) * sigmoid(z_o)

and returns ``h``, ``c`` (``[T, B, H]``) and the gate activations the gradient reads. This is
TF1's ``BlockLSTM`` (``LSTMBlockFusedCell``) with the input projection left outside as one
large matmul, so its gradient is an ordinary matmul too. The gradient op,
``BlockLSTMRecurrenceGrad`` (TF1's ``BlockLSTMGrad``), walks the steps backwards and returns
the gradient of every step's gate pre-activations (``[T, B, 4H]``, which is the gradient of
``xw``), of the initial state, of ``wh`` (one product over all steps, ``[h0, h[:-1]]^T d_xw``)
and of ``bias``.

``static_rnn`` runs a plain ``BasicLSTMCell``/``LSTMCell`` through this op (``rnn_cell_impl``).
"""

from __future__ import annotations

import numpy as np

from graphdl.framework.op_def import define_op
from graphdl.framework.ops import convert_to_tensor, make_op, name_scope
from graphdl.ops.rnn_ops import update_grad_reference, update_reference
from graphdl.ops.shape_inference import FLOAT, require_dtype

__all__ = ["lstm_block_recurrence"]


def _dims(op):
    """(T, B, H) from the op's inputs, checking that every shape agrees."""
    xw, h0, c0, wh, bias = (t.shape.as_tuple() for t in op.inputs[:5])
    name = f"{op.type} '{op.name}'"

    def rank(shape, want, what, layout):
        if shape is not None and len(shape) != want:
            raise ValueError(f"{name}: {what} must be {layout}, got shape {list(shape)}")

    rank(xw, 3, "xw (the input projection)", "[time, batch, 4 * units]")
    rank(h0, 2, "h0", "[batch, units]")
    rank(c0, 2, "c0", "[batch, units]")
    rank(wh, 2, "wh (the recurrent kernel)", "[units, 4 * units]")
    rank(bias, 1, "bias", "[4 * units]")
    units = {s[1] for s in (h0, c0) if s is not None and s[1] is not None}
    units |= {s[0] for s in (wh,) if s is not None and s[0] is not None}
    units |= {s[-1] // 4 for s in (xw, wh, bias) if s is not None and s[-1] is not None}
    fours = [s[-1] for s in (xw, wh, bias) if s is not None and s[-1] is not None]
    if len(units) > 1 or any(f % 4 for f in fours):
        raise ValueError(f"{name}: shapes disagree on the number of units: xw {list(xw or [])}, h0 {list(h0 or [])}, "
                         f"c0 {list(c0 or [])}, wh {list(wh or [])}, bias {list(bias or [])}; "
                         "expected xw [T, B, 4H], h0 and c0 [B, H], wh [H, 4H], bias [4H]")
    batches = {s[i] for s, i in ((xw, 1), (h0, 0), (c0, 0)) if s is not None and s[i] is not None}
    if len(batches) > 1:
        raise ValueError(f"{name}: xw {list(xw)}, h0 {list(h0 or [])} and c0 {list(c0 or [])} "
                         "must have the same batch size")
    return (xw[0] if xw else None), (batches.pop() if batches else None), (units.pop() if units else None)


def _same_float_dtype(op, tensors, names):
    for t, n in zip(tensors, names):
        require_dtype(op, t, FLOAT, n)
    if len({t.dtype for t in tensors}) != 1:
        listed = ", ".join(f"{n} {t.dtype.name}" for t, n in zip(tensors, names))
        raise TypeError(f"{op.type} '{op.name}': all inputs must share one float dtype, got {listed}")


def _infer(op):
    _same_float_dtype(op, op.inputs, ("xw", "h0", "c0", "wh", "bias"))
    steps, batch, units = _dims(op)
    four = 4 * units if units is not None else None
    dtype = op.inputs[0].dtype
    return [((steps, batch, units), dtype), ((steps, batch, units), dtype), ((steps, batch, four), dtype)]


def recurrence_reference(xw, h0, c0, wh, bias, forget_bias):
    """NumPy: (h, c, activations), each stacked over the time steps."""
    hs, cs, acts = [], [], []
    h, c = h0, c0
    for t in range(xw.shape[0]):
        c, h, act = update_reference(xw[t] + h @ wh, bias, c, forget_bias)
        hs.append(h)
        cs.append(c)
        acts.append(act)
    units, dtype = h0.shape[1], xw.dtype
    if not hs:
        return (np.zeros((0, *h0.shape), dtype),) * 2 + (np.zeros((0, h0.shape[0], 4 * units), dtype),)
    return np.stack(hs), np.stack(cs), np.stack(acts)


def recurrence_grad_reference(h0, c0, wh, h, c, act, d_h, d_c):
    """NumPy: (d_xw [T, B, 4H], d_h0, d_c0, d_wh, d_bias) by walking the steps backwards."""
    steps = c.shape[0]
    d_xw = np.zeros(act.shape, act.dtype)
    carry_h, carry_c = np.zeros_like(c0), np.zeros_like(c0)
    for t in reversed(range(steps)):
        c_prev = c[t - 1] if t else c0
        d_xw[t], carry_c = update_grad_reference(c_prev, c[t], act[t], d_c[t] + carry_c, d_h[t] + carry_h)
        carry_h = d_xw[t] @ wh.T
    units, four = wh.shape
    h_prev = np.concatenate([h0[None], h[:-1]]).reshape(-1, units)
    d_wh = (h_prev.T @ d_xw.reshape(-1, four)).astype(wh.dtype)
    return d_xw, carry_h.astype(c0.dtype), carry_c.astype(c0.dtype), d_wh, d_xw.sum((0, 1), dtype=wh.dtype)


def _grad(op, d_h, d_c, d_act):
    from graphdl.ops import array_ops

    users = [u for u in op.outputs[2].consumers() if u.type not in ("BlockLSTMRecurrenceGrad", "ZerosLike")]
    if users:
        raise LookupError(f"'{op.name}': the gate activations output of BlockLSTMRecurrence is internal to its "
                          "gradient and cannot be differentiated")
    _, h0, c0, wh, _ = op.inputs
    h, c, act = op.outputs
    d_h = d_h if d_h is not None else array_ops.zeros_like(h)
    d_c = d_c if d_c is not None else array_ops.zeros_like(c)
    return list(make_op("BlockLSTMRecurrenceGrad", [h0, c0, wh, h, c, act, d_h, d_c]).outputs)


def _infer_grad(op):
    names = ("h0", "c0", "wh", "h", "c", "act", "d_h", "d_c")
    _same_float_dtype(op, op.inputs, names)
    shapes = dict(zip(names, (t.shape.as_tuple() for t in op.inputs)))
    for what in names:
        want = 2 if what in ("h0", "c0", "wh") else 3
        shape = shapes[what]
        if shape is not None and len(shape) != want:
            raise ValueError(f"{op.type} '{op.name}': {what} must have rank {want}, got shape {list(shape)}")
    c0, c, wh = shapes["c0"], shapes["c"], shapes["wh"]
    steps = c[0] if c else None
    batch = c0[0] if c0 else None
    units = c0[1] if c0 else None
    four = 4 * units if units is not None else None
    dtype = op.inputs[0].dtype
    return [((steps, batch, four), dtype), ((batch, units), dtype), ((batch, units), dtype),
            (tuple(wh) if wh else (units, four), dtype), ((four,), dtype)]


define_op(
    "BlockLSTMRecurrence",
    infer=_infer,
    kernel=lambda ctx, xw, h0, c0, wh, bias: recurrence_reference(xw, h0, c0, wh, bias, ctx.attrs["forget_bias"]),
    grad=_grad,
)
define_op(
    "BlockLSTMRecurrenceGrad",
    infer=_infer_grad,
    kernel=lambda ctx, *args: recurrence_grad_reference(*args),
    not_differentiable=True,
)


def lstm_block_recurrence(xw, h0, c0, wh, bias, forget_bias=1.0, name=None):
    """An LSTM layer's steps after the input projection: ``(h, c)``, each ``[T, B, H]``.

    ``xw`` is ``[T, B, 4H]`` (the inputs times the input rows of the kernel), ``h0``/``c0`` the
    initial state ``[B, H]``, ``wh`` the kernel's recurrent rows ``[H, 4H]`` and ``bias`` ``[4H]``,
    gates in TF1's order (i, j, f, o).
    """
    with name_scope(name, "BlockLSTMRecurrence", [xw, h0, c0, wh, bias]) as scope:
        xw = convert_to_tensor(xw)
        h0, c0, wh, bias = (convert_to_tensor(t, dtype=xw.dtype) for t in (h0, c0, wh, bias))
        op = make_op("BlockLSTMRecurrence", [xw, h0, c0, wh, bias], {"forget_bias": float(forget_bias)}, name=scope)
        return op.outputs[0], op.outputs[1]
