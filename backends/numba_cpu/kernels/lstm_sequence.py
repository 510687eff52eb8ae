"""An LSTM layer's recurrence (``graphdl/ops/lstm_sequence_ops.py``): one BLAS product and one compiled pass a step.

Forward, step t multiplies ``h_{t-1} @ wh`` into a scratch buffer and one pass over
``[batch, units]`` adds the step's input projection and the bias, applies the activations and
writes ``h[t]``, ``c[t]`` and the activations in place in the ``[T, ...]`` outputs. Backward
walks the steps in reverse: one pass writes the step's gate gradients into ``d_xw[t]`` and
carries ``d c`` in place, one product carries ``d h`` (``d_xw[t] @ wh.T``). Neither direction
concatenates, splits or allocates per step; the weight gradients are one product over all steps
in the graph (``lstm_sequence_ops._grad``).
"""

from __future__ import annotations

import numpy as np
from graphdl.backends.numba_cpu.kernel_registry import buffer_pool, numpy_kernel, register_kernel
from graphdl.backends.numba_cpu.kernels.rnn import _FLAGS, _c, _Compiled, _sigmoid, _supported, _tanh
from graphdl.backends.numba_cpu.threads import blas_threads_for
from numba import njit

from graphdl import errors


# The unit math is written out here as in rnn.py's cell kernels: shared through inlined helper functions
# returning tuples, LLVM no longer vectorized the loops (the cell update measured 104 us against 58 us).
@njit(**_FLAGS)
def _step(gates, xw, bias, c_prev, forget_bias, new_c, new_h, act):
    rows, units = c_prev.shape
    bi, bj, bf, bo = bias[:units], bias[units:2 * units], bias[2 * units:3 * units], bias[3 * units:]
    for r in range(rows):
        g, x, a = gates[r], xw[r], act[r]
        gi, gj, gf, go = g[:units], g[units:2 * units], g[2 * units:3 * units], g[3 * units:]
        xi, xj, xf, xo = x[:units], x[units:2 * units], x[2 * units:3 * units], x[3 * units:]
        ai, aj, af, ao = a[:units], a[units:2 * units], a[2 * units:3 * units], a[3 * units:]
        cp, nc, nh = c_prev[r], new_c[r], new_h[r]
        for u in range(units):
            i = _sigmoid(gi[u] + xi[u] + bi[u])
            j = _tanh(gj[u] + xj[u] + bj[u])
            f = _sigmoid(gf[u] + xf[u] + bf[u] + forget_bias)
            o = _sigmoid(go[u] + xo[u] + bo[u])
            c = cp[u] * f + i * j
            nc[u] = c
            nh[u] = _tanh(c) * o
            ai[u] = i
            aj[u] = j
            af[u] = f
            ao[u] = o


@njit(**_FLAGS)
def _step_grad(c_prev, new_c, act, d_c, d_h, carry_h, carry_c, d_gates):
    """Step gradient; ``carry_c`` holds d c_t on entry and d c_{t-1} on exit."""
    rows, units = c_prev.shape
    one = act.dtype.type(1)
    for r in range(rows):
        a, d = act[r], d_gates[r]
        ai, aj, af, ao = a[:units], a[units:2 * units], a[2 * units:3 * units], a[3 * units:]
        di, dj, df, do = d[:units], d[units:2 * units], d[2 * units:3 * units], d[3 * units:]
        cp, nc, dcr, dhr, ch, cc = c_prev[r], new_c[r], d_c[r], d_h[r], carry_h[r], carry_c[r]
        for u in range(units):
            i, j, f, o = ai[u], aj[u], af[u], ao[u]
            tc = _tanh(nc[u])
            dh = dhr[u] + ch[u]
            dc = dcr[u] + cc[u] + dh * o * (one - tc * tc)
            di[u] = dc * j * i * (one - i)
            dj[u] = dc * i * (one - j * j)
            df[u] = dc * cp[u] * f * (one - f)
            do[u] = dh * tc * o * (one - o)
            cc[u] = dc * f


def _check(op, xw, h0, c0, wh, bias):
    _, batch, four = xw.shape if xw.ndim == 3 else (None, None, None)
    units = four // 4 if four is not None else None
    if (xw.ndim != 3 or four % 4 or h0.shape != (batch, units) or c0.shape != (batch, units)
            or wh.shape != (units, four) or bias.shape != (four,)):
        raise errors.InvalidArgumentError(
            None, op, f"{op.type} '{op.name}': xw {list(xw.shape)}, h0 {list(h0.shape)}, c0 {list(c0.shape)}, "
            f"wh {list(wh.shape)} and bias {list(bias.shape)} must be [T, B, 4H], [B, H], [B, H], [H, 4H] and [4H]")


@register_kernel("BlockLSTMRecurrence")
def block_lstm_recurrence_kernel(op, state):
    if not _supported(op):
        return numpy_kernel(op, state)
    take = buffer_pool(state).take
    dtype = np.dtype(op.inputs[0].dtype.np)
    forget_bias = dtype.type(op.attrs["forget_bias"])
    step = _Compiled(_step)

    def recurrence(xw, h0, c0, wh, bias):
        _check(op, xw, h0, c0, wh, bias)
        steps, batch, four = xw.shape
        units = four // 4
        xw, wh, bias = _c(xw), _c(wh), _c(bias)
        h, c, act = take((steps, batch, units), dtype), take((steps, batch, units), dtype), take(xw.shape, dtype)
        gates = take((batch, four), dtype)
        h_prev, c_prev = _c(h0), _c(c0)
        blas_threads_for(batch * units * four, h0.nbytes + wh.nbytes)
        for t in range(steps):
            np.matmul(h_prev, wh, out=gates)
            step(gates, xw[t], bias, c_prev, forget_bias, c[t], h[t], act[t])
            h_prev, c_prev = h[t], c[t]
        return h, c, act

    return recurrence


@register_kernel("BlockLSTMRecurrenceGrad")
def block_lstm_recurrence_grad_kernel(op, state):
    if not _supported(op):
        return numpy_kernel(op, state)
    take = buffer_pool(state).take
    dtype = np.dtype(op.inputs[0].dtype.np)
    step_grad = _Compiled(_step_grad)

    def recurrence_grad(wh, c0, c, act, d_h, d_c):
        steps = c.shape[0]
        c0, c, act, d_h, d_c = _c(c0), _c(c), _c(act), _c(d_h), _c(d_c)
        d_xw = take(act.shape, dtype)
        carry_h, carry_c = take(c0.shape, dtype), take(c0.shape, dtype)
        carry_h.fill(0)
        carry_c.fill(0)
        wh_t = wh.T
        blas_threads_for(wh.size * c0.shape[0], act[0].nbytes + wh.nbytes)
        for t in range(steps - 1, -1, -1):
            step_grad(c[t - 1] if t else c0, c[t], act[t], d_c[t], d_h[t], carry_h, carry_c, d_xw[t])
            np.matmul(d_xw[t], wh_t, out=carry_h)
        return d_xw, carry_h, carry_c

    return recurrence_grad
