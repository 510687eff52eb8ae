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
    """The layer unrolled over its (static) number of steps: per step a MatMul of [x_t, h] and the cell's
    elementwise form."""
    x, h0, c0, w, bias = op.inputs
    steps = x.shape.as_tuple()[0] if x.shape.ndims else None
    if steps is None:
        raise ctx.error(f"BlockLSTMRecurrence '{op.name}': the number of time steps (dim 0 of x, shape {x.shape}) "
                        "must be known to export it; give the inputs a static time dimension", op)
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

    def stacked(values):
        if not values:
            raise ctx.error(f"BlockLSTMRecurrence '{op.name}' has no time steps to export", op)
        return ctx.node("Concat", [ctx.node("Unsqueeze", [v, ctx.int64([0])]) for v in values], axis=0)

    return [stacked(hs), stacked(cs), Lazy(lambda: stacked([ctx.node("Concat", a, axis=1) for a in acts])), h, c]


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
