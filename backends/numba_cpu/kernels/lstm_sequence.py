"""An LSTM layer over a sequence (``graphdl/ops/lstm_sequence_ops.py``): BLAS products and one compiled pass a step.

Forward, step t multiplies ``x_t @ w[:I]`` and adds ``h_{t-1} @ w[I:]`` into a scratch buffer
(two BLAS calls, the second accumulating), and one pass over ``[batch, units]`` adds the bias,
applies the activations and writes ``h[t]``, ``c[t]`` and the activations in place in the
``[T, ...]`` outputs; the inputs' projection of all steps is never written out (as a separate
matmul it cost ~0.5 ms of a 4.3 ms W3 forward, mostly the 7 MB it wrote and the recurrence read
back). Backward walks the steps in reverse: one pass writes the step's gate gradients into
``d_z[t]``, carries ``d c`` in place and adds the gate gradients to the bias gradient; one
product carries ``d h`` (``d_z[t] @ w[I:].T``) and two more add ``[x_t, h_{t-1}]^T d_z[t]`` to the
kernel's gradient while ``d_z[t]`` is still in cache (each thread into its own copy, summed at the
end: W3's step 0.2-0.7 ms faster than one product over all steps afterwards, interleaved in one
process). Neither direction concatenates, splits or allocates per step. When nothing reads the gate
gradients of all steps (no input gradient: the inputs are placeholders), one step's worth is reused
instead of writing 7 MB (W3: 0.4-0.6 ms a step, interleaved).

Batch rows are independent, so a large layer runs one run of rows per kernel thread, each with its
own single-threaded products: a program with these ops keeps BLAS on one thread
(``threads.prefer_products_on_kernel_pool``). On two BLAS threads instead, each step's product
would run on both cores and its cell update on one, while the other spun. Each run of rows is one
compiled loop over the steps calling NumPy's BLAS directly (``blas.gemm``), so the two threads never
wait for each other's Python code (a W3 forward recurrence: ~5.0-5.6 ms vs ~6.2-7.0 ms with one
``np.matmul`` call a step); with a NumPy built on another BLAS, the steps loop in Python.
"""

from __future__ import annotations

import numpy as np
from graphdl.backends.numba_cpu.blas import NO_TRANS, TRANS, gemm, gemm_address
from graphdl.backends.numba_cpu.kernel_registry import buffer_pool, numpy_kernel, output_is_read, register_kernel
from graphdl.backends.numba_cpu.kernels.matmul import matmul_into
from graphdl.backends.numba_cpu.kernels.reductions import run_split, split_piece
from graphdl.backends.numba_cpu.kernels.rnn import _FLAGS, _c, _Compiled, _supported, _tanh, _update
from graphdl.backends.numba_cpu.threads import blas_threads_for, prefer_products_on_kernel_pool, product_pieces
from numba import njit

from graphdl import errors


# The backward unit math is written out here as in rnn.py's cell gradient (it also carries d h and sums the
# bias gradient): shared through inlined helper functions returning tuples, LLVM no longer vectorized the loops
# (the cell update measured 104 us against 58 us). The forward step is rnn.py's cell update itself. Both are
# inlined into the step loops below (numba IR inlining): a call left in a loop compiled for forced 512-bit
# vectors makes LLVM print "loop not vectorized" remarks on stderr.
@njit(inline="always", **_FLAGS)
def _step_grad(c_prev, new_c, act, d_c, d_h, carry_h, carry_c, d_gates, d_bias):
    """Step gradient; ``carry_c`` holds d c_t on entry and d c_{t-1} on exit; adds the gate gradients'
    column sums to ``d_bias``."""
    rows, units = c_prev.shape
    one = act.dtype.type(1)
    bi, bj, bf, bo = d_bias[:units], d_bias[units:2 * units], d_bias[2 * units:3 * units], d_bias[3 * units:]
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
            gi = dc * j * i * (one - i)
            gj = dc * i * (one - j * j)
            gf = dc * cp[u] * f * (one - f)
            go = dh * tc * o * (one - o)
            di[u] = gi
            dj[u] = gj
            df[u] = gf
            do[u] = go
            bi[u] += gi
            bj[u] += gj
            bf[u] += gf
            bo[u] += go
            cc[u] = dc * f


@njit(**_FLAGS)
def _forward_rows(gemm_at, x, h0, c0, w, bias, forget_bias, h, c, act, gates, start, stop):
    """Every step for batch rows [start, stop): ``gates = x_t @ w[:I] + h_{t-1} @ w[I:]`` through BLAS (no
    ``[T, B, 4H]`` projection of all inputs goes through memory), then the cell update (``rnn._update``)."""
    steps, depth, units = x.shape[0], x.shape[2], h0.shape[1]
    four = 4 * units
    one, zero = x.dtype.type(1), x.dtype.type(0)
    input_kernel, recurrent_kernel = w[:depth], w[depth:]
    g = gates[start:stop]
    rows = stop - start
    for t in range(steps):
        h_prev = h[t - 1, start:stop] if t else h0[start:stop]
        c_prev = c[t - 1, start:stop] if t else c0[start:stop]
        if depth:
            gemm(gemm_at, NO_TRANS, NO_TRANS, rows, four, depth, one, x[t, start:stop], depth, input_kernel, four,
                 zero, g, four)
        gemm(gemm_at, NO_TRANS, NO_TRANS, rows, four, units, one, h_prev, units, recurrent_kernel, four,
             one if depth else zero, g, four)
        _update(g, bias, c_prev, forget_bias, c[t, start:stop], h[t, start:stop], act[t, start:stop])


@njit(**_FLAGS)
def _backward_rows(gemm_at, x, h0, c0, wh_t, h, c, act, d_h, d_c, carry_h, carry_c, d_z, d_bias, d_w, with_h0, start,
                   stop):
    """Every step backwards for batch rows [start, stop): ``_step_grad``, then ``d h_{t-1} = d_z[t] @ wh_t``
    (``wh_t`` is the recurrent rows of the kernel, transposed and contiguous) and ``d_w += [x_t, h_{t-1}]^T d_z[t]``
    over these rows, while ``d_z[t]`` is in cache (``d_w`` starts at zero; ``h0``'s term only ``with_h0``).
    ``carry_h``/``carry_c`` hold the final state's gradient on entry and the initial state's on exit. A ``d_z``
    of one step is scratch that every step reuses (nothing reads the gate gradients of all steps)."""
    steps, depth, units = c.shape[0], x.shape[2], c0.shape[1]
    four = 4 * units
    rows = stop - start
    one, zero = c.dtype.type(1), c.dtype.type(0)
    ch, cc = carry_h[start:stop], carry_c[start:stop]
    input_rows, recurrent_rows = d_w[:depth], d_w[depth:]
    every_h, every_c = d_h.shape[0] > 1, d_c.shape[0] > 1  # else one [1, B, H] gradient for every step
    every_z = d_z.shape[0] > 1
    for t in range(steps - 1, -1, -1):
        c_prev = c[t - 1, start:stop] if t else c0[start:stop]
        d_gates = d_z[t if every_z else 0, start:stop]
        _step_grad(c_prev, c[t, start:stop], act[t, start:stop], d_c[t if every_c else 0, start:stop],
                   d_h[t if every_h else 0, start:stop], ch, cc, d_gates, d_bias)
        if depth:
            gemm(gemm_at, TRANS, NO_TRANS, depth, four, rows, one, x[t, start:stop], depth, d_gates, four, one,
                 input_rows, four)
        if t or with_h0:
            h_prev = h[t - 1, start:stop] if t else h0[start:stop]
            gemm(gemm_at, TRANS, NO_TRANS, units, four, rows, one, h_prev, units, d_gates, four, one, recurrent_rows,
                 four)
        gemm(gemm_at, NO_TRANS, NO_TRANS, rows, units, four, one, d_gates, four, wh_t, units, zero, ch, units)


def _check(op, x, h0, c0, w, bias):
    batch, depth = x.shape[1:] if x.ndim == 3 else (None, None)
    units = h0.shape[1] if h0.ndim == 2 else None
    if (x.ndim != 3 or h0.ndim != 2 or h0.shape != (batch, units) or c0.shape != (batch, units)
            or w.shape != (depth + units, 4 * units) or bias.shape != (4 * units,)):
        raise errors.InvalidArgumentError(
            None, op, f"{op.type} '{op.name}': x {list(x.shape)}, h0 {list(h0.shape)}, c0 {list(c0.shape)}, "
            f"w {list(w.shape)} and bias {list(bias.shape)} must be [T, B, I], [B, H], [B, H], [I + H, 4H] and [4H]")


@register_kernel("BlockLSTMRecurrence")
def block_lstm_recurrence_kernel(op, state):
    if not _supported(op):
        return numpy_kernel(op, state)
    take = buffer_pool(state).take
    dtype = np.dtype(op.inputs[0].dtype.np)
    forget_bias = dtype.type(op.attrs["forget_bias"])
    step, forward_rows, gemm_at = _Compiled(_update), _Compiled(_forward_rows), gemm_address(dtype)

    def recurrence(x, h0, c0, w, bias):
        _check(op, x, h0, c0, w, bias)
        steps, batch, depth = x.shape
        units = h0.shape[1]
        four = 4 * units
        x, h0, c0, w, bias = (_c(a) for a in (x, h0, c0, w, bias))
        h, c = take((steps, batch, units), dtype), take((steps, batch, units), dtype)
        act, gates = take((steps, batch, four), dtype), take((batch, four), dtype)
        blas_threads_for(batch * (depth + units) * four, batch * depth * x.itemsize + h0.nbytes + w.nbytes)
        pieces = product_pieces(steps * batch * (depth + units) * four)

        def rows(start, stop):
            if gemm_at:
                forward_rows(gemm_at, x, h0, c0, w, bias, forget_bias, h, c, act, gates, start, stop)
                return
            # NumPy's BLAS has no 64-bit cblas_gemm to call from the compiled loop: np.matmul per step.
            g, recurrent = gates[start:stop], take((stop - start, four), dtype)
            h_prev, c_prev = h0[start:stop], c0[start:stop]
            for t in range(steps):
                np.matmul(x[t, start:stop], w[:depth], out=g)
                g += np.matmul(h_prev, w[depth:], out=recurrent)
                step(g, bias, c_prev, forget_bias, c[t, start:stop], h[t, start:stop], act[t, start:stop])
                h_prev, c_prev = h[t, start:stop], c[t, start:stop]

        if pieces > 1 and batch > 1:
            run_split(rows, batch)
        elif batch:
            rows(0, batch)
        return h, c, act, (h[-1] if steps else h0.copy()), (c[-1] if steps else c0.copy())

    return recurrence


def _kernel_gradient(take, x, h0, h, d_z):
    """``[x_t, h_{t-1}]^T d_z[t]`` summed over the steps, into the input rows and the recurrent rows of the
    kernel's gradient without concatenating anything: one product each over all steps (contiguous views), one
    more for step 0's ``h0`` unless it is zero (the usual zero state)."""
    steps, batch, units = h.shape
    depth, four = x.shape[2], d_z.shape[2]
    d_w = take((depth + units, four), d_z.dtype)
    flat = d_z.reshape(steps * batch, four)
    matmul_into(x.reshape(steps * batch, depth).T, flat, d_w[:depth])
    if steps > 1:
        matmul_into(h[:-1].reshape((steps - 1) * batch, units).T, flat[batch:], d_w[depth:])
    else:
        d_w[depth:].fill(0)
    if steps and h0.any():
        first = take((units, four), d_z.dtype)
        matmul_into(h0.T, d_z[0], first)
        d_w[depth:] += first
    return d_w


def _backward_in_python(step_grad, take, x, h0, c0, wh_t, h, c, act, d_h, d_c, carry_h, carry_c, d_z, d_bias):
    """The backward steps with one ``np.matmul`` a step (a NumPy whose BLAS has no 64-bit ``cblas_gemm`` to call
    from compiled code); ``(d_z, d_h0, d_c0, d_w)``, ``d_bias`` summed in place."""
    steps = c.shape[0]
    for t in range(steps - 1, -1, -1):
        tc, th = (t if d_c.shape[0] > 1 else 0), (t if d_h.shape[0] > 1 else 0)
        step_grad(c[t - 1] if t else c0, c[t], act[t], d_c[tc], d_h[th], carry_h, carry_c, d_z[t], d_bias)
        np.matmul(d_z[t], wh_t, out=carry_h)
    return d_z, carry_h, carry_c, _kernel_gradient(take, x, h0, h, d_z)


def _every_step(take, gradient, shape, dtype):
    """An output's gradient as ``[T, B, H]``, or as ``[1, B, H]`` filled with a scalar gradient (one value for
    every step: zero where the output has none)."""
    if gradient.ndim == 0:
        filled = take((1,) + tuple(shape[1:]), dtype)
        filled.fill(gradient)
        return filled
    if gradient.shape != tuple(shape):
        raise ValueError(f"an output gradient of shape {list(gradient.shape)} for outputs of shape {list(shape)}")
    return _c(gradient)


@register_kernel("BlockLSTMRecurrenceGrad")
def block_lstm_recurrence_grad_kernel(op, state):
    if not _supported(op):
        return numpy_kernel(op, state)
    take = buffer_pool(state).take
    dtype = np.dtype(op.inputs[0].dtype.np)
    step_grad, backward_rows, gemm_at = _Compiled(_step_grad), _Compiled(_backward_rows), gemm_address(dtype)
    # The gate gradients of every step (7 MB for W3) are an output only an input gradient reads; a layer on
    # placeholder inputs reuses one step's worth instead.
    gate_gradients_read = output_is_read(op, 0)

    def recurrence_grad(x, h0, c0, w, h, c, act, d_h, d_c, d_h_last, d_c_last):
        steps, batch, units = c.shape
        depth, four = x.shape[2], 4 * units
        x, h0, c0, w, h, c, act = (_c(a) for a in (x, h0, c0, w, h, c, act))
        d_h, d_c = (_every_step(take, g, c.shape, dtype) for g in (d_h, d_c))
        all_steps = gate_gradients_read or not gemm_at
        d_z = take(act.shape if all_steps else (1, *act.shape[1:]), dtype)
        carry_h, carry_c = take(c0.shape, dtype), take(c0.shape, dtype)
        np.copyto(carry_h, d_h_last)  # the final state's gradient flows into the last step
        np.copyto(carry_c, d_c_last)
        # A contiguous transpose: OpenBLAS multiplies by it ~1.35x faster than by the transposed view.
        wh_t = take((four, units), dtype)
        np.copyto(wh_t, w[depth:].T)
        blas_threads_for(four * units * batch, batch * four * act.itemsize + wh_t.nbytes)
        pieces = min(product_pieces(steps * four * units * batch), max(batch, 1))
        bias_parts = take((pieces, four), dtype)
        bias_parts.fill(0)
        if not gemm_at:
            return (*_backward_in_python(step_grad, take, x, h0, c0, wh_t, h, c, act, d_h, d_c, carry_h, carry_c, d_z,
                                         bias_parts[0]), bias_parts[0].copy())
        kernel_parts = take((pieces, depth + units, four), dtype)
        kernel_parts.fill(0)
        with_h0 = bool(steps and h0.any())

        def rows(s, e):
            piece = split_piece(s, batch, pieces)
            backward_rows(gemm_at, x, h0, c0, wh_t, h, c, act, d_h, d_c, carry_h, carry_c, d_z, bias_parts[piece],
                          kernel_parts[piece], with_h0, s, e)

        if pieces > 1:
            run_split(rows, batch)
        elif batch:
            rows(0, batch)
        d_w, d_bias = take((depth + units, four), dtype), take((four,), dtype)
        np.sum(kernel_parts, axis=0, out=d_w)
        np.sum(bias_parts, axis=0, out=d_bias)
        return (d_z if all_steps else None), carry_h, carry_c, d_w, d_bias

    return recurrence_grad


prefer_products_on_kernel_pool("BlockLSTMRecurrence", "BlockLSTMRecurrenceGrad")
