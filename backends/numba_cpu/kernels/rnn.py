"""The fused LSTM and GRU cell updates and their gradients (``graphdl/ops/rnn_ops.py``, ``gru_ops.py``) as compiled loops.

One pass over ``[batch, units]`` reads the four gate pre-activations of a unit, adds the
bias, applies the activations (the vectorizable float32 ``fsigmoid``/``ftanh`` of
``fastmath.py``; NumPy's functions for float64) and writes the new cell and hidden state
and the activations the gradient needs. The gradient is one pass too, writing the gate
gradients straight into the ``[batch, 4 * units]`` layout the kernel's matmul reads.
An unrolled LSTM step thus runs one kernel forward and one backward instead of a split,
five activations, three products, a sum and, backward, eight kernels and a concat.
"""

from __future__ import annotations

import warnings

import numpy as np
from graphdl.backends.numba_cpu.fastmath import fsigmoid, ftanh
from graphdl.backends.numba_cpu.kernel_cache import compile_kernel
from graphdl.backends.numba_cpu.kernel_registry import buffer_pool, numpy_kernel, register_kernel
from graphdl.backends.numba_cpu.kernels.reductions import NUMBA_DTYPES
from numba import njit, types
from numba.core.errors import NumbaIRAssumptionWarning
from numba.extending import overload

from graphdl.ops.gru_ops import check_gates_shapes, check_update_shapes

_FLAGS = {"cache": True, "nogil": True, "error_model": "numpy", "fastmath": {"contract", "afn", "arcp"}}


def _sigmoid(v):
    """sigmoid: ``fsigmoid`` for float32, exact for float64."""


@overload(_sigmoid, inline="always")
def _sigmoid_impl(v):
    if v == types.float32:
        return lambda v: fsigmoid(v)
    return lambda v: 1.0 / (1.0 + np.exp(-v))


def _tanh(v):
    """tanh: ``ftanh`` for float32, NumPy's for float64."""


@overload(_tanh, inline="always")
def _tanh_impl(v):
    if v == types.float32:
        return lambda v: ftanh(v)
    return lambda v: np.tanh(v)


@njit(inline="always", **_FLAGS)  # also inlined into the LSTM recurrence's step loop (lstm_sequence.py)
def _update(gates, bias, c_prev, forget_bias, new_c, new_h, act):
    rows, units = c_prev.shape
    bi, bj, bf, bo = bias[:units], bias[units:2 * units], bias[2 * units:3 * units], bias[3 * units:]
    for r in range(rows):
        g = gates[r]
        gi, gj, gf, go = g[:units], g[units:2 * units], g[2 * units:3 * units], g[3 * units:]
        a = act[r]
        ai, aj, af, ao = a[:units], a[units:2 * units], a[2 * units:3 * units], a[3 * units:]
        cp, nc, nh = c_prev[r], new_c[r], new_h[r]
        for u in range(units):
            i = _sigmoid(gi[u] + bi[u])
            j = _tanh(gj[u] + bj[u])
            f = _sigmoid(gf[u] + bf[u] + forget_bias)
            o = _sigmoid(go[u] + bo[u])
            c = cp[u] * f + i * j
            nc[u] = c
            nh[u] = _tanh(c) * o
            ai[u] = i
            aj[u] = j
            af[u] = f
            ao[u] = o


@njit(**_FLAGS)
def _update_grad(c_prev, new_c, act, d_new_c, d_new_h, d_gates, d_c_prev):
    rows, units = c_prev.shape
    one = act.dtype.type(1)
    for r in range(rows):
        a = act[r]
        ai, aj, af, ao = a[:units], a[units:2 * units], a[2 * units:3 * units], a[3 * units:]
        d = d_gates[r]
        di, dj, df, do = d[:units], d[units:2 * units], d[2 * units:3 * units], d[3 * units:]
        cp, nc, dnc, dnh, dcp = c_prev[r], new_c[r], d_new_c[r], d_new_h[r], d_c_prev[r]
        for u in range(units):
            i, j, f, o = ai[u], aj[u], af[u], ao[u]
            tc = _tanh(nc[u])
            dc = dnc[u] + dnh[u] * o * (one - tc * tc)
            di[u] = dc * j * i * (one - i)
            dj[u] = dc * i * (one - j * j)
            df[u] = dc * cp[u] * f * (one - f)
            do[u] = dnh[u] * tc * o * (one - o)
            dcp[u] = dc * f


class _Compiled:
    """Compiles a kernel once for the argument types of its first call (quietly: inlining the fast-math
    activations trips a pedantic Numba IR check that does not affect the code)."""

    def __init__(self, kernel):
        self.kernel = kernel
        self.ready = set()

    def __call__(self, *args):
        key = tuple(a.dtype.str if isinstance(a, np.ndarray) else type(a) for a in args)
        if key not in self.ready:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NumbaIRAssumptionWarning)
                compile_kernel(self.kernel, args)
            self.ready.add(key)
        return self.kernel(*args)


def _supported(op):
    return op.inputs[0].dtype.np in NUMBA_DTYPES


def _c(array):
    return array if array.flags.c_contiguous else np.ascontiguousarray(array)


def _check(op, gates, bias, c_prev):
    rows, units = c_prev.shape if c_prev.ndim == 2 else (None, None)
    if c_prev.ndim != 2 or gates.shape != (rows, 4 * units) or bias.shape != (4 * units,):
        from graphdl import errors

        raise errors.InvalidArgumentError(
            None, op, f"{op.type} '{op.name}': gates {list(gates.shape)}, bias {list(bias.shape)} and c_prev "
            f"{list(c_prev.shape)} must be [batch, 4 * units], [4 * units] and [batch, units]",
        )


@register_kernel("LSTMBlockCellUpdate")
def lstm_block_cell_update_kernel(op, state):
    if not _supported(op):
        return numpy_kernel(op, state)
    take = buffer_pool(state).take
    dtype = np.dtype(op.inputs[0].dtype.np)
    forget_bias = dtype.type(op.attrs["forget_bias"])
    kernel = _Compiled(_update)

    def update(gates, bias, c_prev):
        _check(op, gates, bias, c_prev)
        new_c, new_h = take(c_prev.shape, dtype), take(c_prev.shape, dtype)
        act = take(gates.shape, dtype)
        kernel(_c(gates), _c(bias), _c(c_prev), forget_bias, new_c, new_h, act)
        return new_c, new_h, act

    return update


@register_kernel("LSTMBlockCellUpdateGrad")
def lstm_block_cell_update_grad_kernel(op, state):
    if not _supported(op):
        return numpy_kernel(op, state)
    take = buffer_pool(state).take
    dtype = np.dtype(op.inputs[0].dtype.np)
    kernel = _Compiled(_update_grad)

    def update_grad(c_prev, new_c, act, d_new_c, d_new_h):
        d_gates, d_c_prev = take(act.shape, dtype), take(c_prev.shape, dtype)
        kernel(_c(c_prev), _c(new_c), _c(act), _c(d_new_c), _c(d_new_h), d_gates, d_c_prev)
        return d_gates, d_c_prev

    return update_grad


# The GRU cell's two elementwise stages (graphdl/ops/gru_ops.py) and their gradients.

@njit(**_FLAGS)
def _gru_gates(gates, bias, h_prev, r_h, u_out, r_out):
    rows, units = h_prev.shape
    br, bu = bias[:units], bias[units:]
    for row in range(rows):
        g, h = gates[row], h_prev[row]
        gr, gu = g[:units], g[units:]
        rh, uo, ro = r_h[row], u_out[row], r_out[row]
        for k in range(units):
            r = _sigmoid(gr[k] + br[k])
            ro[k] = r
            rh[k] = r * h[k]
            uo[k] = _sigmoid(gu[k] + bu[k])


@njit(**_FLAGS)
def _gru_gates_grad(h_prev, r_in, u_in, d_rh, d_u, d_gates, d_h_prev):
    rows, units = h_prev.shape
    one = h_prev.dtype.type(1)
    for row in range(rows):
        h, r, u, drh, du, dh = h_prev[row], r_in[row], u_in[row], d_rh[row], d_u[row], d_h_prev[row]
        d = d_gates[row]
        dr, dub = d[:units], d[units:]
        for k in range(units):
            dr[k] = drh[k] * h[k] * r[k] * (one - r[k])
            dub[k] = du[k] * u[k] * (one - u[k])
            dh[k] = drh[k] * r[k]


@njit(**_FLAGS)
def _gru_update(candidate, bias, u_in, h_prev, new_h, c_out):
    rows, units = h_prev.shape
    one = h_prev.dtype.type(1)
    for row in range(rows):
        cand, u, h, nh, co = candidate[row], u_in[row], h_prev[row], new_h[row], c_out[row]
        for k in range(units):
            c = _tanh(cand[k] + bias[k])
            co[k] = c
            nh[k] = u[k] * h[k] + (one - u[k]) * c


@njit(**_FLAGS)
def _gru_update_grad(u_in, h_prev, c_in, d_new_h, d_candidate, d_u, d_h_prev):
    rows, units = h_prev.shape
    one = h_prev.dtype.type(1)
    for row in range(rows):
        u, h, c, dnh = u_in[row], h_prev[row], c_in[row], d_new_h[row]
        dc, du, dh = d_candidate[row], d_u[row], d_h_prev[row]
        for k in range(units):
            dc[k] = dnh[k] * (one - u[k]) * (one - c[k] * c[k])
            du[k] = dnh[k] * (h[k] - c[k])
            dh[k] = dnh[k] * u[k]


def _elementwise_cell_kernel(loop, check, output_shapes):
    """A kernel factory running ``loop(*inputs, *outputs)`` on pooled output buffers of ``output_shapes(*inputs)``
    (after ``check(op, *inputs)`` when given); the NumPy kernel for dtypes Numba does not compile."""

    def factory(op, state):
        if not _supported(op):
            return numpy_kernel(op, state)
        take = buffer_pool(state).take
        dtype = np.dtype(op.inputs[0].dtype.np)
        kernel = _Compiled(loop)

        def run(*inputs):
            if check is not None:
                check(op, *inputs)
            outputs = tuple(take(shape, dtype) for shape in output_shapes(*inputs))
            kernel(*(_c(a) for a in inputs), *outputs)
            return outputs

        return run

    return factory


def _same_as_h(h_prev, count):
    return [h_prev.shape] * count


register_kernel("GRUBlockCellGates")(_elementwise_cell_kernel(
    _gru_gates, check_gates_shapes, lambda gates, bias, h_prev: _same_as_h(h_prev, 3)))
register_kernel("GRUBlockCellGatesGrad")(_elementwise_cell_kernel(
    _gru_gates_grad, None, lambda h_prev, *_: [(h_prev.shape[0], 2 * h_prev.shape[1]), h_prev.shape]))
register_kernel("GRUBlockCellUpdate")(_elementwise_cell_kernel(
    _gru_update, check_update_shapes, lambda candidate, bias, u, h_prev: _same_as_h(h_prev, 2)))
register_kernel("GRUBlockCellUpdateGrad")(_elementwise_cell_kernel(
    _gru_update_grad, None, lambda u, h_prev, c, d_new_h: _same_as_h(h_prev, 3)))
