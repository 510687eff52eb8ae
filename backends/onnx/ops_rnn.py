"""ONNX mappings of the fused RNN cell ops as their elementwise form (LSTM and GRU block cells)."""

from __future__ import annotations

import numpy as np
from graphdl.backends.onnx.context import Lazy
from graphdl.backends.onnx.ops_array import split_equal
from graphdl.backends.onnx.registry import register


def _units(tensor):
    """The static size of the last dim of ``tensor`` (None when unknown)."""
    return tensor.shape.as_tuple()[-1] if tensor.shape.ndims else None


def _lstm_update(ctx, z, c_prev: str, forget_bias, dtype, units):
    """(new_c, new_h, [i, j, f, o]) of an LSTM cell from ONNX value ``z`` (gates + bias, i, j, f, o)."""
    i, j, f, o = split_equal(ctx, z, 1, 4, 4 * units if units is not None else None)
    i, j, o = ctx.node("Sigmoid", [i]), ctx.node("Tanh", [j]), ctx.node("Sigmoid", [o])
    f = ctx.node("Sigmoid", [ctx.node("Add", [f, ctx.const(np.asarray(forget_bias, dtype))])])
    new_c = ctx.node("Add", [ctx.node("Mul", [c_prev, f]), ctx.node("Mul", [i, j])])
    new_h = ctx.node("Mul", [ctx.node("Tanh", [new_c]), o])
    return new_c, new_h, [i, j, f, o]


@register("LSTMBlockCellUpdate")
def lstm_block_cell_update(ctx, op):
    """(new_c, new_h, activations) from gates + bias split as i, j, f, o."""
    gates, bias, c_prev = op.inputs
    z = ctx.node("Add", [ctx.get(gates), ctx.get(bias)])
    units = _units(c_prev)
    new_c, new_h, gates_act = _lstm_update(ctx, z, ctx.get(c_prev), op.attrs.get("forget_bias", 1.0), c_prev.dtype.np,
                                           units)
    return [new_c, new_h, Lazy(lambda: ctx.node("Concat", gates_act, axis=1))]


@register("BlockLSTMRecurrence")
def block_lstm_recurrence(ctx, op):
    """The layer unrolled over its number of steps, when static: per step a MatMul of [x_t, h] and the cell's
    elementwise form; else ONNX's LSTM op."""
    x, h0, c0, w, bias = op.inputs
    steps = x.shape.as_tuple()[0] if x.shape.ndims else None
    if steps is None:
        return _onnx_lstm(ctx, op)
    units, dtype = _units(h0), x.dtype.np
    h, c, w_value, bias_value, x_value = ctx.get(h0), ctx.get(c0), ctx.get(w), ctx.get(bias), ctx.get(x)
    hs, cs, acts = [], [], []
    for t in range(steps):
        x_t = ctx.node("Gather", [x_value, ctx.const(np.asarray(t, np.int64))], axis=0)
        z = ctx.node("Add", [ctx.node("MatMul", [ctx.node("Concat", [x_t, h], axis=1), w_value]), bias_value])
        c, h, gates_act = _lstm_update(ctx, z, c, op.attrs.get("forget_bias", 1.0), dtype, units)
        hs.append(h)
        cs.append(c)
        acts.append(gates_act)

    def stacked(values, step_like):
        if not values:  # no steps: an empty [0, ...] slice shaped like one step (``step_like()``)
            template = ctx.node("Unsqueeze", [step_like(), ctx.int64([0])])
            return ctx.node("Slice", [template, ctx.int64([0]), ctx.int64([0]), ctx.int64([0])])
        return ctx.node("Concat", [ctx.node("Unsqueeze", [v, ctx.int64([0])]) for v in values], axis=0)

    return [stacked(hs, lambda: h), stacked(cs, lambda: c),
            Lazy(lambda: stacked([ctx.node("Concat", a, axis=1) for a in acts],
                                 lambda: ctx.node("Concat", [h] * 4, axis=1))), h, c]


def _onnx_lstm(ctx, op):
    """ONNX's LSTM op over any number of steps: the kernel's gate blocks reordered from TF1's (i, j, f, o) to
    ONNX's (i, o, f, c), transposed, forget_bias folded into the f bias. It yields every step's h and the final
    state, not every step's c: a graph reading those needs a static number of steps."""
    x, h0, c0, w, bias = op.inputs
    depth = x.shape.as_tuple()[2] if x.shape.ndims == 3 else None
    units = _units(h0)
    if depth is None or units is None:
        raise ctx.error(f"BlockLSTMRecurrence '{op.name}': exporting it needs a static input depth and number of "
                        f"units (x {x.shape}, h0 {h0.shape})", op)
    dtype = x.dtype.np
    kernel = ctx.get(w)

    def onnx_gates(value, axis):
        i, j, f, o = split_equal(ctx, value, axis, 4, 4 * units)
        return ctx.node("Concat", [i, o, f, j], axis=axis)

    def rows(start, stop):  # [1, 4H, rows] from kernel rows [start, stop)
        block = ctx.node("Slice", [kernel, ctx.int64([start]), ctx.int64([stop]), ctx.int64([0])])
        return ctx.node("Unsqueeze", [ctx.node("Transpose", [onnx_gates(block, 1)], perm=[1, 0]), ctx.int64([0])])

    i, j, f, o = split_equal(ctx, ctx.get(bias), 0, 4, 4 * units)
    f = ctx.node("Add", [f, ctx.const(np.asarray(op.attrs.get("forget_bias", 1.0), dtype))])
    biases = ctx.node("Concat", [i, o, f, j, ctx.const(np.zeros(4 * units, dtype))], axis=0)
    state = [ctx.node("Unsqueeze", [ctx.get(t), ctx.int64([0])]) for t in (h0, c0)]
    every_h, last_h, last_c = ctx.node("LSTM", [ctx.get(x), rows(0, depth), rows(depth, depth + units),
                                                ctx.node("Unsqueeze", [biases, ctx.int64([0])]), None, *state],
                                       outputs=3, hidden_size=units)

    def unavailable(what):
        def build():
            raise ctx.error(f"BlockLSTMRecurrence '{op.name}': {what} of every step is exported only for a static "
                            f"number of time steps (x {x.shape}); read the final state instead", op)
        return Lazy(build)

    squeeze = ctx.int64([0])
    return [ctx.node("Squeeze", [every_h, ctx.int64([1])]), unavailable("the cell state"),
            unavailable("the gate activations"), ctx.node("Squeeze", [last_h, squeeze]),
            ctx.node("Squeeze", [last_c, squeeze])]


@register("GRUBlockCellGates")
def gru_block_cell_gates(ctx, op):
    """(r * h_prev, u, r) from sigmoid(gates + bias) split as r, u."""
    gates, bias, h_prev = op.inputs
    act = ctx.node("Sigmoid", [ctx.node("Add", [ctx.get(gates), ctx.get(bias)])])
    r, u = split_equal(ctx, act, 1, 2, _units(gates))
    return [ctx.node("Mul", [r, ctx.get(h_prev)]), u, r]


@register("GRUBlockCellUpdate")
def gru_block_cell_update(ctx, op):
    """(u * h_prev + (1 - u) * c, c) with c = tanh(candidate + bias)."""
    candidate, bias, u_t, h_prev = op.inputs
    c = ctx.node("Tanh", [ctx.node("Add", [ctx.get(candidate), ctx.get(bias)])])
    u, h = ctx.get(u_t), ctx.get(h_prev)
    new_h = ctx.node("Add", [ctx.node("Mul", [u, h]), ctx.node("Mul", [ctx.node("Sub", [ctx.const(
        np.asarray(1, h_prev.dtype.np)), u]), c])])
    return [new_h, c]
