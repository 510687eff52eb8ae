"""Compiled kernels for the neural-network ops that are not elementwise.

Softmax, LogSoftmax and the two softmax cross-entropies work row by row over the last
(class) axis of an input of any rank viewed as ``(rows, classes)``: the row maximum is
subtracted before exponentiating, float32 rows use the vectorizable ``fexp``/``flog`` of
``fastmath.py`` (float64 rows NumPy's), and the cross-entropies produce the loss and the
backprop of a row in the same pass. BiasAddGrad is a Sum over every dim but the channel
one (the planned reductions of ``reductions.py``), L2Loss a blocked sum of squares and
BiasAdd (NCHW, or NHWC where fusion left it alone) a loop adding a per-channel value.
Rows are split across the kernel thread pool when an input has
``PARALLEL_MIN_ELEMENTS`` elements or more; the W1-sized ops (128 x 512, 128 x 10) run
on one thread, where the saving is the NumPy temporaries.
"""

from __future__ import annotations

import numpy as np
from graphdl.backends.numba_cpu.fastmath import fexp, flog
from graphdl.backends.numba_cpu.fused_codegen import PARALLEL_MIN_ELEMENTS, _threads
from graphdl.backends.numba_cpu.kernel_registry import buffer_pool, numpy_kernel, register_kernel
from graphdl.backends.numba_cpu.kernels.reductions import NUMBA_DTYPES, Reducer, row_extremum, run_split
from numba import njit, types
from numba.extending import overload

from graphdl import errors

_BASE = {"cache": True, "nogil": True, "error_model": "numpy"}
# The flags of the fused elementwise kernels. No reassoc: it would let LLVM rewrite (x - m) - log(s)
# as x - (m + log(s)) (losing digits for large logits) and undo the Cody-Waite reduction inside the
# inlined fexp. Helpers are inlined (inline="always"): a call to another compiled function costs
# more than a short row, and the disk cache counts on one compiled function per kernel.
_FLAGS = {**_BASE, "fastmath": {"contract", "afn", "arcp"}}
_SUM_FLAGS = {**_BASE, "fastmath": {"reassoc", "contract", "nsz", "arcp"}}
_BLOCK = 1024
_LANES = 16


def _exp(v):
    """exp: ``fexp`` for float32, NumPy's for float64."""


@overload(_exp, inline="always")
def _exp_impl(v):
    if v == types.float32:
        return lambda v: fexp(v)
    return lambda v: np.exp(v)


def _log(v):
    """log: ``flog`` for float32, NumPy's for float64."""


@overload(_log, inline="always")
def _log_impl(v):
    if v == types.float32:
        return lambda v: flog(v) if v == v else v  # noqa: PLR0124 - flog does not pass NaN through
    return lambda v: np.log(v)


@njit(inline="always", **_FLAGS)
def _exp_shifted(xrow, m, orow, lanes):
    """orow = exp(xrow - m); returns its sum (NaN when xrow holds a NaN, which then spreads over the row).

    The sum adds into ``_LANES`` partial sums (``lanes``, scratch of the row's dtype): an
    elementwise vector add, so it vectorizes without reassociating anything.
    """
    n = xrow.size
    for j in range(n):
        orow[j] = _exp(xrow[j] - m)
    full = n - n % _LANES
    lanes[:] = 0
    for j in range(0, full, _LANES):
        for k in range(_LANES):
            lanes[k] += orow[j + k]
    s = lanes[0]
    for k in range(1, _LANES):
        s += lanes[k]
    for j in range(full, n):
        s += orow[j]
    return s


# Row kernels over (rows, classes) arrays; rows start..stop.
@njit(**_FLAGS)
def _softmax(start, stop, x, out):
    lanes = np.empty(_LANES, x.dtype)
    for o in range(start, stop):
        xrow, orow = x[o], out[o]
        inv = 1 / _exp_shifted(xrow, row_extremum(xrow, True), orow, lanes)
        for j in range(orow.size):
            orow[j] *= inv


@njit(**_FLAGS)
def _log_softmax(start, stop, x, out):
    lanes = np.empty(_LANES, x.dtype)
    for o in range(start, stop):
        xrow, orow = x[o], out[o]
        m = row_extremum(xrow, True)
        ls = _log(_exp_shifted(xrow, m, orow, lanes))  # orow holds the exps until overwritten below
        for j in range(orow.size):
            orow[j] = (xrow[j] - m) - ls


@njit(**_FLAGS)
def _sparse_xent(start, stop, x, labels, loss, backprop):
    """Loss and backprop of rows ``start..stop``; -1, or the first row whose label is out of range."""
    cols = x.shape[1]
    for o in range(start, stop):
        if labels[o] < 0 or labels[o] >= cols:
            return o
    lanes = np.empty(_LANES, x.dtype)
    for o in range(start, stop):
        xrow, brow = x[o], backprop[o]
        m = row_extremum(xrow, True)
        s = _exp_shifted(xrow, m, brow, lanes)
        inv = 1 / s
        for j in range(cols):
            brow[j] *= inv
        k = labels[o]
        brow[k] -= 1
        loss[o] = _log(s) - (xrow[k] - m)
    return -1


@njit(**_FLAGS)
def _xent(start, stop, x, labels, loss, backprop):
    lanes = np.empty(_LANES, x.dtype)
    for o in range(start, stop):
        xrow, prow, brow = x[o], labels[o], backprop[o]
        m = row_extremum(xrow, True)
        s = _exp_shifted(xrow, m, brow, lanes)
        inv = 1 / s
        ls = _log(s)
        total = s - s  # 0 in the row's dtype (s is finite and positive, or NaN making the loss NaN)
        for j in range(xrow.size):
            p = prow[j]
            total += p * (ls - (xrow[j] - m))
            brow[j] = brow[j] * inv - p
        loss[o] = total


@njit(**_SUM_FLAGS)
def _sum_squares(start, stop, x):
    """sum(x[start:stop] ** 2) in float64, adding blocks summed in the input dtype."""
    total = 0.0
    for b0 in range(start, stop, _BLOCK):
        block = x[b0:min(b0 + _BLOCK, stop)]
        acc = block[0] * block[0]
        for i in range(1, block.size):
            acc += block[i] * block[i]
        total += acc
    return total


@njit(**_FLAGS)
def _bias_add_last(start, stop, x, bias, out):
    for o in range(start, stop):
        xrow, orow = x[o], out[o]
        for j in range(orow.size):
            orow[j] = xrow[j] + bias[j]


@njit(**_FLAGS)
def _bias_add_mid(start, stop, x, bias, out):
    channels = bias.size
    for o in range(start, stop):  # o runs over (batch, channel) pairs
        v = bias[o % channels]
        xrow, orow = x[o], out[o]
        for i in range(orow.size):
            orow[i] = xrow[i] + v


# -- helpers --------------------------------------------------------------------------------------------------------
def _view(x, take, shape):
    """``x`` reshaped to ``shape``, C-contiguous (a non-contiguous input is copied into a pooled buffer first)."""
    if not x.flags.c_contiguous:
        copy = take(x.shape, x.dtype)
        np.copyto(copy, x)
        x = copy
    return x if x.shape == shape else x.reshape(shape)


def _run_rows(kernel, rows, size, *args):
    """``kernel(start, stop, *args)`` over ``rows`` rows (``size`` elements), split across threads when large."""
    if rows > 1 and size >= PARALLEL_MIN_ELEMENTS and _threads() > 1:
        return run_split(kernel, rows, *args)
    return [kernel(0, rows, *args)]


def _supported(op):
    return op.inputs[0].dtype.np in NUMBA_DTYPES  # float16 runs the NumPy kernel: Numba has no half arithmetic


# -- registration ---------------------------------------------------------------------------------------------------
def _softmax_factory(op, state, kernel):
    if not _supported(op):
        return numpy_kernel(op, state)
    take = buffer_pool(state).take

    def softmax(x):
        out = take(x.shape, x.dtype)
        size = out.size
        if size:
            cols = x.shape[-1]
            shape = (size // cols, cols)
            _run_rows(kernel, shape[0], size, _view(x, take, shape), _view(out, take, shape))
        return out

    return softmax


@register_kernel("Softmax")
def softmax_kernel(op, state):
    return _softmax_factory(op, state, _softmax)


@register_kernel("LogSoftmax")
def log_softmax_kernel(op, state):
    return _softmax_factory(op, state, _log_softmax)


@register_kernel("SparseSoftmaxCrossEntropyWithLogits")
def sparse_xent_kernel(op, state):
    if not _supported(op):
        return numpy_kernel(op, state)
    take = buffer_pool(state).take
    name = op.name

    def sparse_xent(logits, labels):
        if logits.ndim == 0 or labels.shape != logits.shape[:-1]:
            raise errors.InvalidArgumentError(
                None, op,
                f"labels shape {list(labels.shape)} must equal logits shape {list(logits.shape)} without its last "
                f"dimension (op '{name}')",
            )
        loss = take(labels.shape, logits.dtype)
        backprop = take(logits.shape, logits.dtype)
        cols = logits.shape[-1]
        rows = loss.size
        if rows == 0:
            return loss, backprop
        shape = (rows, cols)
        flat_labels = _view(labels, take, (rows,))
        codes = _run_rows(_sparse_xent, rows, backprop.size, _view(logits, take, shape), flat_labels,
                          _view(loss, take, (rows,)), _view(backprop, take, shape))
        for bad in codes:
            if bad >= 0:
                shown = " ".join(str(int(v)) for v in flat_labels[:20])
                raise errors.InvalidArgumentError(
                    None, op,
                    f"Received a label value of {int(flat_labels[bad])} which is outside the valid range of "
                    f"[0, {cols}).  Label values: {shown} (op '{name}')",
                )
        return loss, backprop

    return sparse_xent


@register_kernel("SoftmaxCrossEntropyWithLogits")
def xent_kernel(op, state):
    if not _supported(op):
        return numpy_kernel(op, state)
    take = buffer_pool(state).take
    name = op.name

    def xent(logits, labels):
        if logits.shape != labels.shape or logits.ndim == 0:
            raise errors.InvalidArgumentError(
                None, op,
                f"logits and labels must have the same shape: logits_size={list(logits.shape)} "
                f"labels_size={list(labels.shape)} (op '{name}')",
            )
        loss = take(logits.shape[:-1], logits.dtype)
        backprop = take(logits.shape, logits.dtype)
        if backprop.size:
            shape = (loss.size, logits.shape[-1])
            _run_rows(_xent, loss.size, backprop.size, _view(logits, take, shape), _view(labels, take, shape),
                      _view(loss, take, (loss.size,)), _view(backprop, take, shape))
        else:
            loss.fill(0)  # no classes: an empty sum
        return loss, backprop

    return xent


@register_kernel("BiasAddGrad")
def bias_add_grad_kernel(op, state):
    if not _supported(op):
        return numpy_kernel(op, state)
    nchw = op.attrs["data_format"] == "NCHW"
    reducer = Reducer("Sum", op.inputs[0].dtype.np, False, buffer_pool(state))
    plans: dict = {}

    def bias_add_grad(dy):
        if type(dy) is not np.ndarray:
            dy = np.asarray(dy)
        run = plans.get(dy.shape)
        if run is None:
            if dy.ndim < (2 if nchw else 1):
                raise ValueError(f"BiasAddGrad needs an input of rank >= {2 if nchw else 1}, got shape {list(dy.shape)}")
            channel = 1 if nchw else dy.ndim - 1
            run = plans[dy.shape] = reducer.plan(dy.shape, tuple(i for i in range(dy.ndim) if i != channel))
        return run(dy)

    return bias_add_grad


@register_kernel("L2Loss")
def l2_loss_kernel(op, state):
    if not _supported(op):
        return numpy_kernel(op, state)
    take = buffer_pool(state).take
    dtype = op.inputs[0].dtype.np

    def l2_loss(x):
        flat = _view(x, take, (x.size,))
        n = flat.size
        if n >= PARALLEL_MIN_ELEMENTS and _threads() > 1:
            total = sum(run_split(_sum_squares, n, flat))
        else:
            total = _sum_squares(0, n, flat)
        out = take((), dtype)
        out[()] = total / 2
        return out

    return l2_loss


@register_kernel("BiasAdd")
def bias_add_kernel(op, state):
    if not _supported(op):
        return numpy_kernel(op, state)
    fmt = op.attrs["data_format"]
    nchw = fmt == "NCHW"
    take = buffer_pool(state).take

    def bias_add(value, bias):
        channel = 1 if nchw else value.ndim - 1
        if value.ndim < (2 if nchw else 1) or bias.ndim != 1 or value.shape[channel] != bias.shape[0]:
            raise errors.InvalidArgumentError(
                None, op,
                f"Must provide as many biases as the channel dimension of the input tensor: {bias.shape} vs. "
                f"{value.shape} (op '{op.name}', data_format {fmt})",
            )
        out = take(value.shape, value.dtype)
        if out.size == 0:
            return out
        channels = bias.shape[0]
        inner = out.size // (value.shape[0] * channels) if nchw else 1
        b = np.ascontiguousarray(bias)
        if inner == 1:
            shape = (out.size // channels, channels)
            _run_rows(_bias_add_last, shape[0], out.size, _view(value, take, shape), b, _view(out, take, shape))
        else:
            shape = (out.size // inner, inner)
            _run_rows(_bias_add_mid, shape[0], out.size, _view(value, take, shape), b, _view(out, take, shape))
        return out

    return bias_add
