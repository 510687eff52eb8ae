"""A whole LSTM layer as one op: every time step of TF1's LSTM cell over a sequence.

``BlockLSTMRecurrence(x, h0, c0, w, bias)`` with ``x`` the inputs of all ``T`` steps
(``[T, B, I]``) and ``w`` the cell's kernel (``[I + H, 4H]``, gates in TF1's order i, j, f, o)
runs, for t = 0 .. T-1,

    z_t = [x_t, h_{t-1}] @ w + bias
    c_t = c_{t-1} * sigmoid(z_f + forget_bias) + sigmoid(z_i) * tanh(z_j)
    h_t = tanh(c_t) * sigmoid(z_o)

and returns ``h``, ``c`` (``[T, B, H]``), the gate activations the gradient reads and the final
state ``h_T``, ``c_T`` (``h0``, ``c0`` for no steps): TF1's ``BlockLSTM`` (``LSTMBlockFusedCell``)
without peepholes or cell clipping. A model that reads only the final state (a sequence
classifier) then has no gradient for the ``[T, B, H]`` outputs: the gradient op takes each of
``d_h``, ``d_c`` as ``[T, B, H]`` or as one scalar for every step (zero when absent), so no
megabytes of zeros are written for it. The gradient op,
``BlockLSTMRecurrenceGrad`` (TF1's ``BlockLSTMGrad``), walks the steps backwards and returns the
gradient of every step's gate pre-activations (``d_z``, ``[T, B, 4H]``), of the initial state, of
``w`` (``[x_t, h_{t-1}]^T d_z`` summed over the steps: one product for the input rows, one for the
recurrent rows) and of ``bias``; the inputs' gradient is one matmul in the graph
(``d_z @ w[:I]^T``), left out when nothing needs it.

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
    """(T, B, I, H) from the op's inputs, checking that every shape agrees."""
    x, h0, c0, w, bias = (t.shape.as_tuple() for t in op.inputs[:5])
    name = f"{op.type} '{op.name}'"

    def rank(shape, want, what, layout):
        if shape is not None and len(shape) != want:
            raise ValueError(f"{name}: {what} must be {layout}, got shape {list(shape)}")

    rank(x, 3, "x (the inputs)", "[time, batch, input depth]")
    rank(h0, 2, "h0", "[batch, units]")
    rank(c0, 2, "c0", "[batch, units]")
    rank(w, 2, "w (the kernel)", "[input depth + units, 4 * units]")
    rank(bias, 1, "bias", "[4 * units]")
    units = {s[1] for s in (h0, c0) if s is not None and s[1] is not None}
    units |= {s[-1] // 4 for s in (w, bias) if s is not None and s[-1] is not None}
    fours = [s[-1] for s in (w, bias) if s is not None and s[-1] is not None]
    depth = x[2] if x is not None else None
    if depth is not None and w is not None and w[0] is not None:
        units.add(w[0] - depth)
    if len(units) > 1 or any(f % 4 for f in fours):
        raise ValueError(f"{name}: shapes disagree on the number of units: x {list(x or [])}, h0 {list(h0 or [])}, "
                         f"c0 {list(c0 or [])}, w {list(w or [])}, bias {list(bias or [])}; "
                         "expected x [T, B, I], h0 and c0 [B, H], w [I + H, 4H], bias [4H]")
    batches = {s[i] for s, i in ((x, 1), (h0, 0), (c0, 0)) if s is not None and s[i] is not None}
    if len(batches) > 1:
        raise ValueError(f"{name}: x {list(x)}, h0 {list(h0 or [])} and c0 {list(c0 or [])} "
                         "must have the same batch size")
    return (x[0] if x else None), (batches.pop() if batches else None), depth, (units.pop() if units else None)


def _same_float_dtype(op, tensors, names):
    for t, n in zip(tensors, names):
        require_dtype(op, t, FLOAT, n)
    if len({t.dtype for t in tensors}) != 1:
        listed = ", ".join(f"{n} {t.dtype.name}" for t, n in zip(tensors, names))
        raise TypeError(f"{op.type} '{op.name}': all inputs must share one float dtype, got {listed}")


def _infer(op):
    _same_float_dtype(op, op.inputs, ("x", "h0", "c0", "w", "bias"))
    steps, batch, _, units = _dims(op)
    four = 4 * units if units is not None else None
    dtype = op.inputs[0].dtype
    return [((steps, batch, units), dtype), ((steps, batch, units), dtype), ((steps, batch, four), dtype),
            ((batch, units), dtype), ((batch, units), dtype)]


def recurrence_reference(x, h0, c0, w, bias, forget_bias):
    """NumPy: (h, c, activations), each stacked over the time steps, and the final (h, c)."""
    hs, cs, acts = [], [], []
    h, c = h0, c0
    depth = x.shape[2]
    for t in range(x.shape[0]):
        c, h, act = update_reference(x[t] @ w[:depth] + h @ w[depth:], bias, c, forget_bias)
        hs.append(h)
        cs.append(c)
        acts.append(act)
    units, dtype = h0.shape[1], x.dtype
    if not hs:
        return (np.zeros((0, *h0.shape), dtype),) * 2 + (np.zeros((0, h0.shape[0], 4 * units), dtype), h0, c0)
    return np.stack(hs), np.stack(cs), np.stack(acts), h, c


def recurrence_grad_reference(x, h0, c0, w, h, c, act, d_h, d_c, d_h_last, d_c_last):
    """NumPy: (d_z [T, B, 4H], d_h0, d_c0, d_w, d_bias) by walking the steps backwards."""
    steps, depth = c.shape[0], x.shape[2]
    d_h, d_c = np.broadcast_to(d_h, c.shape), np.broadcast_to(d_c, c.shape)
    d_z = np.zeros(act.shape, act.dtype)
    carry_h = np.broadcast_to(d_h_last, c0.shape).astype(c0.dtype)  # the final state's gradient
    carry_c = np.broadcast_to(d_c_last, c0.shape).astype(c0.dtype)
    for t in reversed(range(steps)):
        c_prev = c[t - 1] if t else c0
        d_z[t], carry_c = update_grad_reference(c_prev, c[t], act[t], d_c[t] + carry_c, d_h[t] + carry_h)
        carry_h = d_z[t] @ w[depth:].T
    four = w.shape[1]
    h_prev = np.concatenate([h0[None], h[:-1]])[:steps]
    inputs = np.concatenate([x, h_prev], axis=2).reshape(steps * x.shape[1], w.shape[0])
    d_w = (inputs.T @ d_z.reshape(steps * x.shape[1], four)).astype(w.dtype)
    return d_z, carry_h.astype(c0.dtype), carry_c.astype(c0.dtype), d_w, d_z.sum((0, 1), dtype=w.dtype)


def _grad(op, d_h, d_c, d_act, d_h_last, d_c_last):
    from graphdl.ops import array_ops, indexing_ops, matmul_ops

    users = [u for u in op.outputs[2].consumers() if u.type not in ("BlockLSTMRecurrenceGrad", "ZerosLike")]
    if users:
        raise LookupError(f"'{op.name}': the gate activations output of BlockLSTMRecurrence is internal to its "
                          "gradient and cannot be differentiated")
    x, h0, c0, w, _ = op.inputs
    h, c, act = op.outputs[:3]
    # gradients() fills an output without a gradient with zeros_like(output); the op takes a scalar zero for
    # it instead (left unused, that ZerosLike is pruned): nothing [T, B, H]-sized is written for it.
    zero = array_ops.zeros([], x.dtype)
    d_h, d_c, d_h_last, d_c_last = (zero if g is None or g.op.type == "ZerosLike" else g
                                    for g in (d_h, d_c, d_h_last, d_c_last))
    d_z, d_h0, d_c0, d_w, d_bias = make_op("BlockLSTMRecurrenceGrad",
                                           [x, h0, c0, w, h, c, act, d_h, d_c, d_h_last, d_c_last]).outputs
    # The inputs' gradient d_z @ w[:I]^T, as graph ops: pruned away when nothing needs it.
    input_kernel = indexing_ops.slice(w, [0, 0], array_ops.stack([_width(x, 2), -1]))
    rows = array_ops.stack([_width(x, 0) * _width(x, 1), _width(w, 1)])  # not -1: zero units would be ambiguous
    d_x = matmul_ops.matmul(array_ops.reshape(d_z, rows), input_kernel, transpose_b=True)
    return [array_ops.reshape(d_x, array_ops.shape(x)), d_h0, d_c0, d_w, d_bias]


def _width(tensor, axis):
    """The static size of ``tensor``'s dim ``axis``, or its size as a scalar tensor."""
    from graphdl.ops import array_ops

    size = tensor.shape.as_tuple()
    if size is not None and size[axis] is not None:
        return size[axis]
    return array_ops.shape(tensor)[axis]


def _infer_grad(op):
    names = ("x", "h0", "c0", "w", "h", "c", "act", "d_h", "d_c", "d_h_last", "d_c_last")
    _same_float_dtype(op, op.inputs, names)
    shapes = dict(zip(names, (t.shape.as_tuple() for t in op.inputs)))
    for what in names:
        want = {"h0": (2,), "c0": (2,), "w": (2,), "d_h": (0, 3), "d_c": (0, 3), "d_h_last": (0, 2),
                "d_c_last": (0, 2)}.get(what, (3,))
        shape = shapes[what]
        if shape is not None and len(shape) not in want:
            raise ValueError(f"{op.type} '{op.name}': {what} must have rank {' or '.join(map(str, want))}, "
                             f"got shape {list(shape)}")
    c0, c, w = shapes["c0"], shapes["c"], shapes["w"]
    steps = c[0] if c else None
    batch = c0[0] if c0 else None
    units = c0[1] if c0 else None
    four = 4 * units if units is not None else None
    dtype = op.inputs[0].dtype
    return [((steps, batch, four), dtype), ((batch, units), dtype), ((batch, units), dtype),
            (tuple(w) if w else (None, four), dtype), ((four,), dtype)]


define_op(
    "BlockLSTMRecurrence",
    infer=_infer,
    kernel=lambda ctx, x, h0, c0, w, bias: recurrence_reference(x, h0, c0, w, bias, ctx.attrs["forget_bias"]),
    grad=_grad,
)
define_op(
    "BlockLSTMRecurrenceGrad",
    infer=_infer_grad,
    kernel=lambda ctx, *args: recurrence_grad_reference(*args),
    not_differentiable=True,
)


def lstm_block_recurrence(x, h0, c0, w, bias, forget_bias=1.0, name=None):
    """An LSTM layer over a whole sequence: ``(h, c)``, each ``[T, B, H]`` (the op's outputs 3 and 4 are
    the final ``h`` and ``c``).

    ``x`` is ``[T, B, I]`` (time-major inputs), ``h0``/``c0`` the initial state ``[B, H]``, ``w`` the
    cell's kernel ``[I + H, 4H]`` (input rows first, as ``BasicLSTMCell``/``LSTMBlockFusedCell`` keep
    it) and ``bias`` ``[4H]``, gates in TF1's order (i, j, f, o).
    """
    with name_scope(name, "BlockLSTMRecurrence", [x, h0, c0, w, bias]) as scope:
        x = convert_to_tensor(x)
        h0, c0, w, bias = (convert_to_tensor(t, dtype=x.dtype) for t in (h0, c0, w, bias))
        op = make_op("BlockLSTMRecurrence", [x, h0, c0, w, bias], {"forget_bias": float(forget_bias)}, name=scope)
        return op.outputs[0], op.outputs[1]
