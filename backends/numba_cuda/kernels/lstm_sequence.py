"""An LSTM layer over a sequence (``graphdl/ops/lstm_sequence_ops.py``) on the device.

The inputs' projection of all steps is one matrix product (``matmul_into``: cuBLAS or the tiled
kernel); then each step is one product by the recurrent rows of the kernel and one launch over
the ``[batch, units]`` elements, as the CPU kernels do (``backends/numba_cpu/kernels/lstm_sequence.py``);
the per-step slices of the ``[T, ...]`` inputs and outputs are views, so nothing is copied or
allocated per step.
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


@cuda.jit
def _broadcast_scalar(value, out):
    for idx in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        out[idx] = value[0]


def _as_state(ctx, op, value, shape, dtype):
    """A fresh ``shape`` device array holding ``value`` ([B, H], or a scalar repeated)."""
    out = ctx.empty(shape, dtype, op)
    if value.ndim == 0:
        if out.size:
            blocks, threads = launch_size(out.size)
            _broadcast_scalar[blocks, threads](value.reshape(1), out.reshape(-1))
    elif tuple(value.shape) == tuple(shape):
        out.copy_to_device(value)
    else:
        raise errors.InvalidArgumentError(None, op, f"{op.type} '{op.name}': a final-state gradient of shape "
                                          f"{list(value.shape)} for a state of shape {list(shape)}")
    return out


def _copy(ctx, op, value):
    out = ctx.empty(tuple(value.shape), value.dtype, op)
    out.copy_to_device(value)
    return out


def _dims(op, x, h0, c0, w, bias):
    if x.ndim == 3 and h0.ndim == 2:
        steps, batch, depth = x.shape
        units = h0.shape[1]
        if (tuple(h0.shape) == tuple(c0.shape) == (batch, units) and tuple(w.shape) == (depth + units, 4 * units)
                and tuple(bias.shape) == (4 * units,)):
            return steps, batch, depth, units
    raise errors.InvalidArgumentError(
        None, op, f"{op.type} '{op.name}': x {list(x.shape)}, h0 {list(h0.shape)}, c0 {list(c0.shape)}, "
        f"w {list(w.shape)} and bias {list(bias.shape)} must be [T, B, I], [B, H], [B, H], [I + H, 4H] and [4H]")


@register_cuda_kernel("BlockLSTMRecurrence", accepts=_float)
def block_lstm_recurrence(op, ctx):
    dtype = np.dtype(op.inputs[0].dtype.np)
    one, forget_bias = dtype.type(1), dtype.type(op.attrs["forget_bias"])
    use_cublas = _cupy() is not None

    def run(x, h0, c0, w, bias):
        steps, batch, depth, units = _dims(op, x, h0, c0, w, bias)
        four, size = 4 * units, batch * units
        h, c = ctx.empty((steps, batch, units), dtype, op), ctx.empty((steps, batch, units), dtype, op)
        act = ctx.empty((steps, batch, four), dtype, op)
        if not size or not steps:
            return h, c, act, _copy(ctx, op, h0), _copy(ctx, op, c0)
        # The inputs' projection of every step in one product (xw), the recurrent product per step.
        xw = ctx.empty((steps, batch, four), dtype, op)
        if depth:
            matmul_into(x, w[:depth], xw, False, False, 1, 0, 0, steps * batch, four, depth, use_cublas)
        else:
            fill(xw, 0)
        wh = w[depth:]
        gates = ctx.empty((batch, four), dtype, op)
        flat_xw, flat_h, flat_c, flat_act = xw.reshape(-1), h.reshape(-1), c.reshape(-1), act.reshape(-1)
        h_prev, c_prev = h0.reshape(-1), c0.reshape(-1)
        blocks, threads = launch_size(size)
        for t in range(steps):
            matmul_into(h_prev, wh, gates, False, False, 1, 0, 0, batch, four, units, use_cublas)
            new_h, new_c = flat_h[t * size:(t + 1) * size], flat_c[t * size:(t + 1) * size]
            _step[blocks, threads](gates.reshape(-1), flat_xw[4 * t * size:4 * (t + 1) * size], bias, c_prev,
                                   forget_bias, new_c, new_h, flat_act[4 * t * size:4 * (t + 1) * size], units, one)
            h_prev, c_prev = new_h, new_c
        return h, c, act, h[steps - 1], c[steps - 1]

    return run


@register_cuda_kernel("BlockLSTMRecurrenceGrad", accepts=_float)
def block_lstm_recurrence_grad(op, ctx):
    dtype = np.dtype(op.inputs[0].dtype.np)
    one = dtype.type(1)
    use_cublas = _cupy() is not None

    def run(x, h0, c0, w, h, c, act, d_h, d_c, d_h_last, d_c_last):
        steps, batch, units = tuple(c.shape)
        depth = x.shape[2]
        four, size = 4 * units, batch * units
        d_z = ctx.empty((steps, batch, four), dtype, op)
        # The final state's gradient flows into the last step (a scalar: that value for every element).
        carry_h = _as_state(ctx, op, d_h_last, (batch, units), dtype)
        carry_c = _as_state(ctx, op, d_c_last, (batch, units), dtype)
        d_w, d_bias = fill(ctx.empty((depth + units, four), dtype, op), 0), fill(ctx.empty((four,), dtype, op), 0)
        if not size or not steps:
            return d_z, carry_h, carry_c, d_w, d_bias
        wh = w[depth:]
        # A scalar output gradient (zero where the output has none) is one [B, H] block for every step.
        flat_dh = _as_state(ctx, op, d_h, (batch, units), dtype).reshape(-1) if d_h.ndim == 0 else d_h.reshape(-1)
        flat_dc = _as_state(ctx, op, d_c, (batch, units), dtype).reshape(-1) if d_c.ndim == 0 else d_c.reshape(-1)
        every_h, every_c = d_h.ndim != 0, d_c.ndim != 0
        flat_c, flat_act, flat_dz = (a.reshape(-1) for a in (c, act, d_z))
        blocks, threads = launch_size(size)
        for t in range(steps - 1, -1, -1):
            c_prev = flat_c[(t - 1) * size:t * size] if t else c0.reshape(-1)
            d_gates = flat_dz[4 * t * size:4 * (t + 1) * size]
            th, tc = (t if every_h else 0), (t if every_c else 0)
            _step_grad[blocks, threads](c_prev, flat_c[t * size:(t + 1) * size], flat_act[4 * t * size:4 * (t + 1) * size],
                                        flat_dc[tc * size:(tc + 1) * size], flat_dh[th * size:(th + 1) * size],
                                        carry_h.reshape(-1), carry_c.reshape(-1), d_gates, units, one)
            matmul_into(d_gates, wh, carry_h, False, True, 1, 0, 0, batch, units, four, use_cublas)
        # Step t's gates read [x_t, h_{t-1}]: the kernel's gradient is x^T d_z over all rows for its input rows
        # and [h0, h[:-1]]^T d_z for its recurrent rows.
        rows = steps * batch
        if depth:
            matmul_into(x, d_z, d_w[:depth], True, False, 1, 0, 0, depth, four, rows, use_cublas)
        h_prev = ctx.empty((steps, batch, units), dtype, op)
        flat_prev = h_prev.reshape(-1)
        flat_prev[:size].copy_to_device(h0.reshape(-1))
        if steps > 1:
            flat_prev[size:].copy_to_device(h.reshape(-1)[:(steps - 1) * size])
        matmul_into(h_prev, d_z, d_w[depth:], True, False, 1, 0, 0, units, four, rows, use_cublas)
        col_blocks, col_threads = launch_size(four)
        _column_sums[col_blocks, col_threads](flat_dz, rows, four, d_bias)
        return d_z, carry_h, carry_c, d_w, d_bias

    return run
