"""Row-wise neural-network kernels: softmax, log-softmax, the two softmax cross-entropies;
``BiasAdd`` in any data format, ``BiasAddGrad`` and ``L2Loss`` on the reduction kernels.

One block handles one row (the last axis): its threads stride over the classes and
combine their maxima and sums in shared memory, in float64.
"""

from __future__ import annotations

import math

import numpy as np
from graphdl.backends.numba_cuda.device import BLOCK, launch_size
from graphdl.backends.numba_cuda.kernel_registry import register_cuda_kernel
from graphdl.backends.numba_cuda.kernels.reductions import SUM, reduce_device
from numba import cuda, float64

from graphdl import errors

_SHARED = 256


@cuda.jit(device=True)
def _block_max(shared, value):
    tid = cuda.threadIdx.x
    shared[tid] = value
    cuda.syncthreads()
    step = cuda.blockDim.x // 2
    while step > 0:
        if tid < step and shared[tid + step] > shared[tid]:
            shared[tid] = shared[tid + step]
        cuda.syncthreads()
        step //= 2
    result = shared[0]
    cuda.syncthreads()
    return result


@cuda.jit(device=True)
def _block_sum(shared, value):
    tid = cuda.threadIdx.x
    shared[tid] = value
    cuda.syncthreads()
    step = cuda.blockDim.x // 2
    while step > 0:
        if tid < step:
            shared[tid] += shared[tid + step]
        cuda.syncthreads()
        step //= 2
    result = shared[0]
    cuda.syncthreads()
    return result


@cuda.jit(device=True)
def _row_log_normalizer(shared, x, base, n):
    """max and log(sum(exp(x - max))) of row x[base:base + n], for every thread of the block."""
    m = -math.inf
    for j in range(cuda.threadIdx.x, n, cuda.blockDim.x):
        v = float64(x[base + j])
        if v > m or v != v:  # noqa: PLR0124 - the NaN test for every dtype
            m = v
    m = _block_max(shared, m)
    s = 0.0
    for j in range(cuda.threadIdx.x, n, cuda.blockDim.x):
        s += math.exp(float64(x[base + j]) - m)
    s = _block_sum(shared, s)
    return m, math.log(s)


@cuda.jit
def _softmax(x, out, rows, n, log):
    shared = cuda.shared.array(_SHARED, float64)
    for r in range(cuda.blockIdx.x, rows, cuda.gridDim.x):
        base = r * n
        m, log_z = _row_log_normalizer(shared, x, base, n)
        for j in range(cuda.threadIdx.x, n, cuda.blockDim.x):
            z = float64(x[base + j]) - m - log_z
            out[base + j] = z if log else math.exp(z)


@cuda.jit
def _xent(logits, labels, loss, backprop, rows, n):
    shared = cuda.shared.array(_SHARED, float64)
    for r in range(cuda.blockIdx.x, rows, cuda.gridDim.x):
        base = r * n
        m, log_z = _row_log_normalizer(shared, logits, base, n)
        acc = 0.0
        for j in range(cuda.threadIdx.x, n, cuda.blockDim.x):
            log_p = float64(logits[base + j]) - m - log_z
            y = float64(labels[base + j])
            acc -= y * log_p
            backprop[base + j] = math.exp(log_p) - y
        acc = _block_sum(shared, acc)
        if cuda.threadIdx.x == 0:
            loss[r] = acc


@cuda.jit
def _sparse_xent(logits, labels, loss, backprop, rows, n):
    shared = cuda.shared.array(_SHARED, float64)
    for r in range(cuda.blockIdx.x, rows, cuda.gridDim.x):
        base = r * n
        m, log_z = _row_log_normalizer(shared, logits, base, n)
        label = labels[r]
        for j in range(cuda.threadIdx.x, n, cuda.blockDim.x):
            log_p = float64(logits[base + j]) - m - log_z
            backprop[base + j] = math.exp(log_p) - (1.0 if j == label else 0.0)
            if j == label:
                loss[r] = -log_p


def _row_launch(rows):
    return min(max(rows, 1), 65535), min(BLOCK, _SHARED)


def _float(op) -> bool:
    return op.inputs[0].dtype.is_floating and op.inputs[0].dtype.name != "float16"


@register_cuda_kernel("Softmax", "LogSoftmax", accepts=_float)
def softmax(op, ctx):
    log = op.type == "LogSoftmax"

    def run(x):
        out = ctx.empty(x.shape, x.dtype, op)
        if x.size:
            n = tuple(x.shape)[-1]
            rows = x.size // n
            blocks, threads = _row_launch(rows)
            _softmax[blocks, threads](x.reshape(-1), out.reshape(-1), rows, n, log)
        return out

    return run


@register_cuda_kernel("SoftmaxCrossEntropyWithLogits", accepts=_float)
def softmax_cross_entropy(op, ctx):
    def run(logits, labels):
        if tuple(logits.shape) != tuple(labels.shape):
            raise errors.InvalidArgumentError(
                None, op, f"logits and labels must have the same shape: logits_size={list(logits.shape)} "
                f"labels_size={list(labels.shape)} (op '{op.name}')")
        loss = ctx.empty(tuple(logits.shape)[:-1], logits.dtype, op)
        backprop = ctx.empty(logits.shape, logits.dtype, op)
        if logits.size:
            n = tuple(logits.shape)[-1]
            rows = logits.size // n
            blocks, threads = _row_launch(rows)
            _xent[blocks, threads](logits.reshape(-1), labels.reshape(-1), loss.reshape(-1), backprop.reshape(-1),
                                   rows, n)
        return loss, backprop

    return run


@register_cuda_kernel("SparseSoftmaxCrossEntropyWithLogits", host_inputs=(1,), accepts=_float)
def sparse_softmax_cross_entropy(op, ctx):
    """Labels are checked on the host (a bad label is an error naming it, never a silent zero)."""
    from graphdl.backends.numba_cuda.device import to_device

    def run(logits, labels):
        labels = np.asarray(labels)
        n = tuple(logits.shape)[-1]
        if tuple(labels.shape) != tuple(logits.shape)[:-1]:
            raise errors.InvalidArgumentError(
                None, op, f"labels shape {list(labels.shape)} must equal logits shape {list(logits.shape)} without "
                f"its last dimension (op '{op.name}')")
        bad = (labels < 0) | (labels >= n)
        if np.any(bad):
            shown = " ".join(str(int(v)) for v in labels.reshape(-1)[:20])
            raise errors.InvalidArgumentError(
                None, op, f"Received a label value of {int(labels[bad].flat[0])} which is outside the valid range of "
                f"[0, {n}).  Label values: {shown} (op '{op.name}')")
        loss = ctx.empty(tuple(logits.shape)[:-1], logits.dtype, op)
        backprop = ctx.empty(logits.shape, logits.dtype, op)
        if logits.size:
            rows = logits.size // n
            blocks, threads = _row_launch(rows)
            _sparse_xent[blocks, threads](logits.reshape(-1), to_device(labels.astype(np.int64).reshape(-1)),
                                          loss.reshape(-1), backprop.reshape(-1), rows, n)
        return loss, backprop

    return run


def _channel_axis(data_format, ndim):
    return 1 if str(data_format).startswith("NC") and ndim > 2 else ndim - 1


@cuda.jit
def _bias_add(x, bias, out, channels, inner):
    for i in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        out[i] = x[i] + bias[(i // inner) % channels]


@register_cuda_kernel("BiasAdd", accepts=_float)
def bias_add(op, ctx):
    fmt = op.attrs.get("data_format", "NHWC")

    def run(x, bias):
        c = _channel_axis(fmt, x.ndim)
        if bias.ndim != 1 or tuple(x.shape)[c] != bias.shape[0]:
            raise errors.InvalidArgumentError(
                None, op, f"Must provide as many biases as the channel dimension of the input tensor: "
                f"{tuple(bias.shape)} vs. {tuple(x.shape)} (op '{op.name}', data_format {fmt})")
        out = ctx.empty(x.shape, x.dtype, op)
        if x.size:
            inner = int(np.prod(tuple(x.shape)[c + 1:], dtype=np.int64))
            blocks, threads = launch_size(x.size)
            _bias_add[blocks, threads](x.reshape(-1), bias, out.reshape(-1), bias.shape[0], inner)
        return out

    return run


@register_cuda_kernel("BiasAddGrad", accepts=_float)
def bias_add_grad(op, ctx):
    fmt = op.attrs.get("data_format", "NHWC")

    def run(dy):
        c = _channel_axis(fmt, dy.ndim)
        return reduce_device(dy, [d for d in range(dy.ndim) if d != c], SUM, ctx.empty((dy.shape[c],), dy.dtype, op))

    return run


@cuda.jit
def _half_square(x, out):
    for i in range(cuda.grid(1), x.shape[0], cuda.gridsize(1)):
        out[i] = x[i] * x[i] / 2


@register_cuda_kernel("L2Loss", accepts=_float)
def l2_loss(op, ctx):
    def run(x):
        squares = ctx.empty((x.size,), x.dtype, op)
        if x.size:
            blocks, threads = launch_size(x.size)
            _half_square[blocks, threads](x.reshape(-1), squares)
        return reduce_device(squares, [0], SUM, ctx.empty((), x.dtype, op))

    return run
