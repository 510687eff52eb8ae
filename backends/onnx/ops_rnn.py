"""ONNX mappings of the fused RNN cell ops as their elementwise form (LSTM and GRU block cells)."""

from __future__ import annotations

import numpy as np
from graphdl.backends.onnx.context import Lazy
from graphdl.backends.onnx.ops_array import split_equal
from graphdl.backends.onnx.registry import register


def _units(tensor):
    """The static size of the last dim of ``tensor`` (None when unknown)."""
    return tensor.shape.as_tuple()[-1] if tensor.shape.ndims else None


@register("LSTMBlockCellUpdate")
def lstm_block_cell_update(ctx, op):
    """(new_c, new_h, activations) from gates + bias split as i, j, f, o."""
    gates, bias, c_prev = op.inputs
    z = ctx.node("Add", [ctx.get(gates), ctx.get(bias)])
    i, j, f, o = split_equal(ctx, z, 1, 4, _units(gates))
    forget_bias = ctx.const(np.asarray(op.attrs.get("forget_bias", 1.0), c_prev.dtype.np))
    i, j, o = ctx.node("Sigmoid", [i]), ctx.node("Tanh", [j]), ctx.node("Sigmoid", [o])
    f = ctx.node("Sigmoid", [ctx.node("Add", [f, forget_bias])])
    new_c = ctx.node("Add", [ctx.node("Mul", [ctx.get(c_prev), f]), ctx.node("Mul", [i, j])])
    new_h = ctx.node("Mul", [ctx.node("Tanh", [new_c]), o])
    return [new_c, new_h, Lazy(lambda: ctx.node("Concat", [i, j, f, o], axis=1))]


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
