"""The fused LSTM and GRU cell updates and their gradients (``graphdl/ops/rnn_ops.py``, ``gru_ops.py``) on the device.

One thread per ``(batch, unit)`` element reads that unit's gate pre-activations, applies
the activations and writes every output of the op, as the CPU kernels do in one pass
(``backends/numba_cpu/kernels/rnn.py``). Gate gradients are written straight into the
``[batch, k * units]`` layout the matmul gradient reads. Each kernel takes ``one``, a 1
of the tensors' dtype, so float32 cells compute in float32 (a float literal would make
every expression float64).
"""

from __future__ import annotations

import math

import numpy as np
from graphdl.backends.numba_cuda.device import launch_size
from graphdl.backends.numba_cuda.kernel_registry import register_cuda_kernel
from numba import cuda

from graphdl import errors
from graphdl.ops.gru_ops import check_gates_shapes, check_update_shapes


@cuda.jit(device=True, inline=True)
def _sigmoid(v, one):
    # exp of a non-positive argument only: no overflow (the simulator's math.exp raises on one)
    if v >= 0:
        return one / (one + math.exp(-v))
    e = math.exp(v)
    return e / (one + e)


@cuda.jit(device=True, inline=True)
def lstm_unit(zi, zj, zf, zo, c_prev, idx, g, units, one, new_c, new_h, act):
    """One unit of the cell update from its gate pre-activations (bias and forget_bias included)."""
    i, j, f, o = _sigmoid(zi, one), math.tanh(zj), _sigmoid(zf, one), _sigmoid(zo, one)
    c = c_prev * f + i * j
    new_c[idx] = c
    new_h[idx] = math.tanh(c) * o
    act[g] = i
    act[g + units] = j
    act[g + 2 * units] = f
    act[g + 3 * units] = o


@cuda.jit
def _lstm_update(gates, bias, c_prev, forget_bias, new_c, new_h, act, units, one):
    for idx in range(cuda.grid(1), c_prev.shape[0], cuda.gridsize(1)):
        u = idx % units
        g = (idx - u) * 4 + u  # this unit's i gate in row idx // units of [batch, 4 * units]
        lstm_unit(gates[g] + bias[u], gates[g + units] + bias[units + u],
                  gates[g + 2 * units] + bias[2 * units + u] + forget_bias, gates[g + 3 * units] + bias[3 * units + u],
                  c_prev[idx], idx, g, units, one, new_c, new_h, act)


@cuda.jit
def _lstm_update_grad(c_prev, new_c, act, d_new_c, d_new_h, d_gates, d_c_prev, units, one):
    for idx in range(cuda.grid(1), c_prev.shape[0], cuda.gridsize(1)):
        u = idx % units
        g = (idx - u) * 4 + u
        i, j, f, o = act[g], act[g + units], act[g + 2 * units], act[g + 3 * units]
        tc = math.tanh(new_c[idx])
        dc = d_new_c[idx] + d_new_h[idx] * o * (one - tc * tc)
        d_gates[g] = dc * j * i * (one - i)
        d_gates[g + units] = dc * i * (one - j * j)
        d_gates[g + 2 * units] = dc * c_prev[idx] * f * (one - f)
        d_gates[g + 3 * units] = d_new_h[idx] * tc * o * (one - o)
        d_c_prev[idx] = dc * f


@cuda.jit
def _gru_gates(gates, bias, h_prev, r_h, u_out, r_out, units, one):
    for idx in range(cuda.grid(1), h_prev.shape[0], cuda.gridsize(1)):
        k = idx % units
        g = (idx - k) * 2 + k
        r = _sigmoid(gates[g] + bias[k], one)
        r_out[idx] = r
        r_h[idx] = r * h_prev[idx]
        u_out[idx] = _sigmoid(gates[g + units] + bias[units + k], one)


@cuda.jit
def _gru_gates_grad(h_prev, r_in, u_in, d_rh, d_u, d_gates, d_h_prev, units, one):
    for idx in range(cuda.grid(1), h_prev.shape[0], cuda.gridsize(1)):
        k = idx % units
        g = (idx - k) * 2 + k
        r, u = r_in[idx], u_in[idx]
        d_gates[g] = d_rh[idx] * h_prev[idx] * r * (one - r)
        d_gates[g + units] = d_u[idx] * u * (one - u)
        d_h_prev[idx] = d_rh[idx] * r


@cuda.jit
def _gru_update(candidate, bias, u_in, h_prev, new_h, c_out, units, one):
    for idx in range(cuda.grid(1), h_prev.shape[0], cuda.gridsize(1)):
        c = math.tanh(candidate[idx] + bias[idx % units])
        u = u_in[idx]
        c_out[idx] = c
        new_h[idx] = u * h_prev[idx] + (one - u) * c


@cuda.jit
def _gru_update_grad(u_in, h_prev, c_in, d_new_h, d_candidate, d_u, d_h_prev, units, one):
    for idx in range(cuda.grid(1), h_prev.shape[0], cuda.gridsize(1)):
        u, c, dnh = u_in[idx], c_in[idx], d_new_h[idx]
        d_candidate[idx] = dnh * (one - u) * (one - c * c)
        d_u[idx] = dnh * (h_prev[idx] - c)
        d_h_prev[idx] = dnh * u


def _float(op) -> bool:
    return np.dtype(op.inputs[0].dtype.np) in (np.dtype(np.float32), np.dtype(np.float64))


def _check_same_shapes(op, named, want):
    """InvalidArgumentError unless every (name, array, width) of ``named`` is [batch, width * units]."""
    rows, units = want
    if all(tuple(a.shape) == (rows, w * units) for _, a, w in named):
        return
    got = ", ".join(f"{name} {list(a.shape)} (expected [{rows}, {w * units}])" for name, a, w in named)
    raise errors.InvalidArgumentError(None, op, f"{op.type} '{op.name}': input shapes disagree: {got}")


def _check_lstm(op, gates, bias, c_prev):
    rows, units = tuple(c_prev.shape) if c_prev.ndim == 2 else (None, None)
    if c_prev.ndim != 2 or tuple(gates.shape) != (rows, 4 * units) or tuple(bias.shape) != (4 * units,):
        raise errors.InvalidArgumentError(
            None, op, f"{op.type} '{op.name}': gates {list(gates.shape)}, bias {list(bias.shape)} and c_prev "
            f"{list(c_prev.shape)} must be [batch, 4 * units], [4 * units] and [batch, units]")


def _cell_kernel(kernel, check, output_widths, attrs=()):
    """A factory launching ``kernel(*inputs, *attrs, *outputs, units, one)`` over the [batch, units] elements.

    ``check(op, *inputs)`` validates the shapes and returns ``(batch, units)``; the outputs are
    [batch, width * units] for each width of ``output_widths``.
    """

    def factory(op, ctx):
        dtype = np.dtype(op.inputs[0].dtype.np)
        one = dtype.type(1)
        scalars = tuple(dtype.type(op.attrs[name]) for name in attrs)

        def run(*inputs):
            rows, units = check(op, *inputs)
            outputs = tuple(ctx.empty((rows, w * units), dtype, op) for w in output_widths)
            if rows * units:
                blocks, threads = launch_size(rows * units)
                kernel[blocks, threads](*(a.reshape(-1) for a in inputs), *scalars, *(o.reshape(-1) for o in outputs),
                                        units, one)
            return outputs

        return run

    return factory


def _lstm_update_check(op, gates, bias, c_prev):
    _check_lstm(op, gates, bias, c_prev)
    return tuple(c_prev.shape)


def _lstm_grad_check(op, c_prev, new_c, act, d_new_c, d_new_h):
    if c_prev.ndim != 2:
        raise errors.InvalidArgumentError(None, op, f"{op.type} '{op.name}': c_prev must be [batch, units], got "
                                          f"{list(c_prev.shape)}")
    dims = tuple(c_prev.shape)
    _check_same_shapes(op, [("new_c", new_c, 1), ("act", act, 4), ("d_new_c", d_new_c, 1),
                            ("d_new_h", d_new_h, 1)], dims)
    return dims


def _gru_gates_check(op, gates, bias, h_prev):
    check_gates_shapes(op, gates, bias, h_prev)
    return tuple(h_prev.shape)


def _gru_update_check(op, candidate, bias, u, h_prev):
    check_update_shapes(op, candidate, bias, u, h_prev)
    return tuple(h_prev.shape)


def _gru_grad_check(named_widths):
    """A shape check for a GRU gradient op whose inputs are ``named_widths`` ((name, width) each, one named h_prev)."""

    def check(op, *inputs):
        h_prev = inputs[named_widths.index(("h_prev", 1))]
        if h_prev.ndim != 2:
            raise errors.InvalidArgumentError(None, op, f"{op.type} '{op.name}': h_prev must be [batch, units], got "
                                              f"{list(h_prev.shape)}")
        dims = tuple(h_prev.shape)
        _check_same_shapes(op, [(name, a, w) for (name, w), a in zip(named_widths, inputs)], dims)
        return dims

    return check


register_cuda_kernel("LSTMBlockCellUpdate", accepts=_float)(
    _cell_kernel(_lstm_update, _lstm_update_check, (1, 1, 4), attrs=("forget_bias",)))
register_cuda_kernel("LSTMBlockCellUpdateGrad", accepts=_float)(
    _cell_kernel(_lstm_update_grad, _lstm_grad_check, (4, 1)))
register_cuda_kernel("GRUBlockCellGates", accepts=_float)(_cell_kernel(_gru_gates, _gru_gates_check, (1, 1, 1)))
register_cuda_kernel("GRUBlockCellGatesGrad", accepts=_float)(_cell_kernel(
    _gru_gates_grad, _gru_grad_check([("h_prev", 1), ("r", 1), ("u", 1), ("d_rh", 1), ("d_u", 1)]), (2, 1)))
register_cuda_kernel("GRUBlockCellUpdate", accepts=_float)(_cell_kernel(_gru_update, _gru_update_check, (1, 1)))
register_cuda_kernel("GRUBlockCellUpdateGrad", accepts=_float)(_cell_kernel(
    _gru_update_grad, _gru_grad_check([("u", 1), ("h_prev", 1), ("c", 1), ("d_new_h", 1)]), (1, 1, 1)))
