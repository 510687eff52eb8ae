"""An LSTM layer's recurrence (``graphdl/ops/lstm_sequence_ops.py``) on the device.

Each step is one matrix product (``matmul_into``: cuBLAS or the tiled kernel) and one
launch over the ``[batch, units]`` elements, as the CPU kernels do
(``backends/numba_cpu/kernels/lstm_sequence.py``); the per-step slices of the ``[T, ...]``
inputs and outputs are views, so nothing is copied or allocated per step.
"""

from __future__ import annotations

import math

import numpy as np
from graphdl.backends.numba_cuda.device import launch_size
from graphdl.backends.numba_cuda.kernel_registry import register_cuda_kernel
from graphdl.backends.numba_cuda.kernels.data import fill
from graphdl.backends.numba_cuda.kernels.matmul import _cupy, matmul_into
from graphdl.backends.numba_cuda.kernels.rnn import _float, lstm_unit
from numba import cuda

from graphdl import errors


@cuda.jit
def _step(gates, xw, bias, c_prev, forget_bias, new_c, new_h, act, units, one):
    for idx in range(cuda.grid(1), c_prev.shape[0], cuda.gridsize(1)):
        u = idx % units
        g = (idx - u) * 4 + u  # this unit's i gate in row idx // units of [batch, 4 * units]
        lstm_unit(gates[g] + xw[g] + bias[u], gates[g + units] + xw[g + units] + bias[units + u],
                  gates[g + 2 * units] + xw[g + 2 * units] + bias[2 * units + u] + forget_bias,
                  gates[g + 3 * units] + xw[g + 3 * units] + bias[3 * units + u], c_prev[idx], idx, g, units, one,
                  new_c, new_h, act)


@cuda.jit
def _step_grad(c_prev, new_c, act, d_c, d_h, carry_h, carry_c, d_gates, units, one):
    for idx in range(cuda.grid(1), c_prev.shape[0], cuda.gridsize(1)):
        u = idx % units
        g = (idx - u) * 4 + u
        i, j, f, o = act[g], act[g + units], act[g + 2 * units], act[g + 3 * units]
        tc = math.tanh(new_c[idx])
        dh = d_h[idx] + carry_h[idx]
        dc = d_c[idx] + carry_c[idx] + dh * o * (one - tc * tc)
        d_gates[g] = dc * j * i * (one - i)
        d_gates[g + units] = dc * i * (one - j * j)
        d_gates[g + 2 * units] = dc * c_prev[idx] * f * (one - f)
        d_gates[g + 3 * units] = dh * tc * o * (one - o)
        carry_c[idx] = dc * f


@cuda.jit
def _column_sums(flat, rows, cols, out):
    for j in range(cuda.grid(1), cols, cuda.gridsize(1)):
        total = flat[j] * 0
        for r in range(rows):
            total += flat[r * cols + j]
        out[j] = total


def _dims(op, xw, h0, c0, wh, bias):
    if xw.ndim == 3 and xw.shape[2] % 4 == 0:
        steps, batch, four = xw.shape
        units = four // 4
        if (tuple(h0.shape) == tuple(c0.shape) == (batch, units) and tuple(wh.shape) == (units, four)
                and tuple(bias.shape) == (four,)):
            return steps, batch, units
    raise errors.InvalidArgumentError(
        None, op, f"{op.type} '{op.name}': xw {list(xw.shape)}, h0 {list(h0.shape)}, c0 {list(c0.shape)}, "
        f"wh {list(wh.shape)} and bias {list(bias.shape)} must be [T, B, 4H], [B, H], [B, H], [H, 4H] and [4H]")


@register_cuda_kernel("BlockLSTMRecurrence", accepts=_float)
def block_lstm_recurrence(op, ctx):
    dtype = np.dtype(op.inputs[0].dtype.np)
    one, forget_bias = dtype.type(1), dtype.type(op.attrs["forget_bias"])
    use_cublas = _cupy() is not None

    def run(xw, h0, c0, wh, bias):
        steps, batch, units = _dims(op, xw, h0, c0, wh, bias)
        four, size = 4 * units, batch * units
        h, c = ctx.empty((steps, batch, units), dtype, op), ctx.empty((steps, batch, units), dtype, op)
        act = ctx.empty((steps, batch, four), dtype, op)
        if not size:
            return h, c, act
        gates = ctx.empty((batch, four), dtype, op)
        flat_xw, flat_h, flat_c, flat_act = xw.reshape(-1), h.reshape(-1), c.reshape(-1), act.reshape(-1)
        h_prev, c_prev = h0.reshape(-1), c0.reshape(-1)
        blocks, threads = launch_size(size)
        for t in range(steps):
            if units:
                matmul_into(h_prev, wh, gates, False, False, 1, 0, 0, batch, four, units, use_cublas)
            new_h, new_c = flat_h[t * size:(t + 1) * size], flat_c[t * size:(t + 1) * size]
            _step[blocks, threads](gates.reshape(-1), flat_xw[4 * t * size:4 * (t + 1) * size], bias, c_prev,
                                   forget_bias, new_c, new_h, flat_act[4 * t * size:4 * (t + 1) * size], units, one)
            h_prev, c_prev = new_h, new_c
        return h, c, act

    return run


@register_cuda_kernel("BlockLSTMRecurrenceGrad", accepts=_float)
def block_lstm_recurrence_grad(op, ctx):
    dtype = np.dtype(op.inputs[0].dtype.np)
    one = dtype.type(1)
    use_cublas = _cupy() is not None

    def run(h0, c0, wh, h, c, act, d_h, d_c):
        steps, batch, units = tuple(c.shape)
        four, size = 4 * units, batch * units
        d_xw = ctx.empty((steps, batch, four), dtype, op)
        carry_h, carry_c = fill(ctx.empty((batch, units), dtype, op), 0), fill(ctx.empty((batch, units), dtype, op), 0)
        d_wh, d_bias = fill(ctx.empty((units, four), dtype, op), 0), fill(ctx.empty((four,), dtype, op), 0)
        if not size or not steps:
            return d_xw, carry_h, carry_c, d_wh, d_bias
        flat_c, flat_act, flat_dh, flat_dc, flat_dxw = (a.reshape(-1) for a in (c, act, d_h, d_c, d_xw))
        blocks, threads = launch_size(size)
        for t in range(steps - 1, -1, -1):
            c_prev = flat_c[(t - 1) * size:t * size] if t else c0.reshape(-1)
            d_gates = flat_dxw[4 * t * size:4 * (t + 1) * size]
            _step_grad[blocks, threads](c_prev, flat_c[t * size:(t + 1) * size], flat_act[4 * t * size:4 * (t + 1) * size],
                                        flat_dc[t * size:(t + 1) * size], flat_dh[t * size:(t + 1) * size],
                                        carry_h.reshape(-1), carry_c.reshape(-1), d_gates, units, one)
            matmul_into(d_gates, wh, carry_h, False, True, 1, 0, 0, batch, units, four, use_cublas)
        # Step t's gates read h_{t-1}: the recurrent kernel's gradient is [h0, h[:-1]]^T d_xw over all rows.
        h_prev = ctx.empty((steps, batch, units), dtype, op)
        flat_prev = h_prev.reshape(-1)
        flat_prev[:size].copy_to_device(h0.reshape(-1))
        if steps > 1:
            flat_prev[size:].copy_to_device(h.reshape(-1)[:(steps - 1) * size])
        matmul_into(h_prev, d_xw, d_wh, True, False, 1, 0, 0, units, four, steps * batch, use_cublas)
        col_blocks, col_threads = launch_size(four)
        _column_sums[col_blocks, col_threads](flat_dxw, steps * batch, four, d_bias)
        return d_xw, carry_h, carry_c, d_wh, d_bias

    return run
