"""Normalization on the device: ``FusedBatchNormV3``, ``FusedBatchNormGradV3``, ``LRN`` and ``LRNGrad``.

Semantics are the reference kernels' (``graphdl/ops/norm_ops.py``). Batch norm sees a
4-D tensor as ``(outer, channels, inner)`` (NHWC: inner = 1; NCHW: outer = N, inner =
H * W), so both layouts run the same kernels without a transpose. The per-channel
statistics take one block per channel: its threads stride over the channel's values and
combine their float64 partial sums in shared memory (two passes for the variance, as the
reference computes it); an elementwise kernel then normalizes. LRN sums its channel
window per element; its gradient stores each element's ``dy * x * norm ** (-beta - 1)``
and sums that over the same (symmetric) window.
"""

from __future__ import annotations

import math

import numpy as np
from graphdl.backends.numba_cuda.device import BLOCK, MAX_BLOCKS, launch_size
from graphdl.backends.numba_cuda.kernel_registry import register_cuda_kernel
from graphdl.backends.numba_cuda.kernels.nn import _SHARED, _block_sum
from graphdl.backends.numba_cuda.kernels.state import copy_into
from numba import cuda, float64

from graphdl import errors


# -- batch norm ---------------------------------------------------------------------------------------------------
@cuda.jit(device=True, inline=True)
def _at(j, ch, channels, inner):
    """The flat index of the j-th value of channel ``ch`` in an (outer, channels, inner) tensor."""
    return ((j // inner) * channels + ch) * inner + j % inner


@cuda.jit
def _moments(x, running_mean, running_var, factor, out_mean, out_var, saved_mean, saved_var, channels, inner, count):
    shared = cuda.shared.array(_SHARED, float64)
    tid = cuda.threadIdx.x
    for ch in range(cuda.blockIdx.x, channels, cuda.gridDim.x):
        total = 0.0
        for j in range(tid, count, cuda.blockDim.x):
            total += x[_at(j, ch, channels, inner)]
        total = _block_sum(shared, total)
        mean = total / count if count > 0 else math.nan
        squares = 0.0
        for j in range(tid, count, cuda.blockDim.x):
            d = x[_at(j, ch, channels, inner)] - mean
            squares += d * d
        squares = _block_sum(shared, squares)
        if tid == 0:
            var = squares / count if count > 0 else math.nan
            unbiased = var * count / max(count - 1, 1)
            saved_mean[ch] = mean
            saved_var[ch] = var
            if factor == 1.0:
                out_mean[ch] = mean
                out_var[ch] = unbiased
            else:
                out_mean[ch] = (1.0 - factor) * running_mean[ch] + factor * mean
                out_var[ch] = (1.0 - factor) * running_var[ch] + factor * unbiased


@cuda.jit
def _normalize(x, mean, var, scale, offset, epsilon, y, channels, inner):
    for idx in range(cuda.grid(1), y.shape[0], cuda.gridsize(1)):
        ch = (idx // inner) % channels
        inv = 1.0 / math.sqrt(var[ch] + epsilon)
        y[idx] = (x[idx] - mean[ch]) * (inv * scale[ch]) + offset[ch]


@cuda.jit
def _grad_sums(dy, x, mean, var, epsilon, d_scale, d_offset, channels, inner, count):
    shared = cuda.shared.array(_SHARED, float64)
    tid = cuda.threadIdx.x
    for ch in range(cuda.blockIdx.x, channels, cuda.gridDim.x):
        inv = 1.0 / math.sqrt(var[ch] + epsilon)
        m = mean[ch]
        sum_dy, sum_dy_xhat = 0.0, 0.0
        for j in range(tid, count, cuda.blockDim.x):
            k = _at(j, ch, channels, inner)
            g = float64(dy[k])
            sum_dy += g
            sum_dy_xhat += g * (x[k] - m) * inv
        sum_dy = _block_sum(shared, sum_dy)
        sum_dy_xhat = _block_sum(shared, sum_dy_xhat)
        if tid == 0:
            d_offset[ch] = sum_dy
            d_scale[ch] = sum_dy_xhat


@cuda.jit
def _grad_input(dy, x, mean, var, scale, d_scale, d_offset, epsilon, dx, channels, inner, count, training):
    for idx in range(cuda.grid(1), dx.shape[0], cuda.gridsize(1)):
        ch = (idx // inner) % channels
        inv = 1.0 / math.sqrt(var[ch] + epsilon)
        if training:
            xhat = (x[idx] - mean[ch]) * inv
            dx[idx] = scale[ch] * inv * (dy[idx] - d_offset[ch] / count - xhat * (d_scale[ch] / count))
        else:
            dx[idx] = dy[idx] * (scale[ch] * inv)


def _float(op) -> bool:
    return np.dtype(op.inputs[0].dtype.np) in (np.dtype(np.float32), np.dtype(np.float64))


def _layout(op, x):
    """(channels, inner, count) of 4-D ``x`` in the op's data format."""
    if x.ndim != 4:
        raise errors.InvalidArgumentError(None, op, f"{op.type} '{op.name}': x must be 4-dimensional "
                                          f"({op.attrs['data_format']}), got shape {list(x.shape)}")
    _, d1, d2, d3 = (int(d) for d in x.shape)
    channels, inner = (d3, 1) if op.attrs["data_format"] == "NHWC" else (d1, d2 * d3)
    return channels, inner, x.size // channels if channels else 0


def _check_vectors(op, x, channels, named):
    for name, v in named:
        if tuple(v.shape) != (channels,):
            raise errors.InvalidArgumentError(
                None, op, f"{op.type} '{op.name}': {name} must have {channels} elements (the channel dim of x "
                f"{list(x.shape)}, data_format {op.attrs['data_format']}), got shape {list(v.shape)}")


def _channel_blocks(channels):
    return max(1, min(channels, MAX_BLOCKS)), min(BLOCK, _SHARED)


@register_cuda_kernel("FusedBatchNormV3", accepts=_float)
def fused_batch_norm(op, ctx):
    training = bool(op.attrs["is_training"])
    factor = float(op.attrs["exponential_avg_factor"])
    epsilon = float(op.attrs["epsilon"])

    def run(x, scale, offset, mean, variance):
        channels, inner, count = _layout(op, x)
        u = scale.dtype
        running = [("mean", mean), ("variance", variance)] if (not training or factor != 1.0) else []
        _check_vectors(op, x, channels, [("scale", scale), ("offset", offset)] + running)
        stats = [ctx.empty((channels,), u, op) for _ in range(4)]
        if training:
            if channels:
                blocks, threads = _channel_blocks(channels)
                _moments[blocks, threads](x.reshape(-1), mean, variance, factor, *stats, channels, inner, count)
            use_mean, use_var = stats[2], stats[3]
        else:
            for out, value in zip(stats, (mean, variance, mean, variance)):
                copy_into(out, value)
            use_mean, use_var = mean, variance
        y = ctx.empty(x.shape, x.dtype, op)
        if y.size:
            blocks, threads = launch_size(y.size)
            _normalize[blocks, threads](x.reshape(-1), use_mean, use_var, scale, offset, epsilon, y.reshape(-1),
                                        channels, inner)
        return (y, *stats, ctx.empty((0,), u, op))

    return run


@register_cuda_kernel("FusedBatchNormGradV3", accepts=_float)
def fused_batch_norm_grad(op, ctx):
    training = bool(op.attrs["is_training"])
    epsilon = float(op.attrs["epsilon"])

    def run(dy, x, scale, saved_mean, saved_var, reserve_3):
        channels, inner, count = _layout(op, x)
        if tuple(dy.shape) != tuple(x.shape):
            raise errors.InvalidArgumentError(None, op, f"{op.type} '{op.name}': y_backprop shape {list(dy.shape)} "
                                              f"must equal x shape {list(x.shape)}")
        _check_vectors(op, x, channels, [("scale", scale), ("reserve_space_1", saved_mean),
                                         ("reserve_space_2", saved_var)])
        u = scale.dtype
        d_scale, d_offset = ctx.empty((channels,), u, op), ctx.empty((channels,), u, op)
        if channels:
            blocks, threads = _channel_blocks(channels)
            _grad_sums[blocks, threads](dy.reshape(-1), x.reshape(-1), saved_mean, saved_var, epsilon, d_scale,
                                        d_offset, channels, inner, count)
        dx = ctx.empty(x.shape, x.dtype, op)
        if dx.size:
            blocks, threads = launch_size(dx.size)
            _grad_input[blocks, threads](dy.reshape(-1), x.reshape(-1), saved_mean, saved_var, scale, d_scale,
                                         d_offset, epsilon, dx.reshape(-1), channels, inner, count, training)
        return dx, d_scale, d_offset, ctx.empty((0,), u, op), ctx.empty((0,), u, op)

    return run


# -- LRN --------------------------------------------------------------------------------------------------------------
@cuda.jit(device=True, inline=True)
def _norm(x, base, d, depth, radius, bias, alpha):
    """bias + alpha * (the sum of squares of x[base + d - radius : base + d + radius + 1], clipped to the depth)."""
    total = 0.0
    for k in range(max(d - radius, 0), min(d + radius + 1, depth)):
        v = float64(x[base + k])
        total += v * v
    return bias + alpha * total


@cuda.jit
def _lrn(x, out, depth, radius, bias, alpha, beta):
    for idx in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        d = idx % depth
        out[idx] = x[idx] * math.pow(_norm(x, idx - d, d, depth, radius, bias, alpha), -beta)


@cuda.jit
def _lrn_grad_terms(dy, x, terms, depth, radius, bias, alpha, beta):
    for idx in range(cuda.grid(1), terms.shape[0], cuda.gridsize(1)):
        d = idx % depth
        terms[idx] = float64(dy[idx]) * x[idx] * math.pow(_norm(x, idx - d, d, depth, radius, bias, alpha), -beta - 1)


@cuda.jit
def _lrn_grad(dy, x, terms, dx, depth, radius, bias, alpha, beta):
    for idx in range(cuda.grid(1), dx.shape[0], cuda.gridsize(1)):
        d = idx % depth
        base = idx - d
        inner = 0.0
        for k in range(max(d - radius, 0), min(d + radius + 1, depth)):
            inner += terms[base + k]
        norm = _norm(x, base, d, depth, radius, bias, alpha)
        dx[idx] = dy[idx] * math.pow(norm, -beta) - 2.0 * alpha * beta * x[idx] * inner


def _lrn_params(op):
    a = op.attrs
    return int(a["depth_radius"]), float(a["bias"]), float(a["alpha"]), float(a["beta"])


def _check_lrn_input(op, x, what="input"):
    if x.ndim != 4:
        raise errors.InvalidArgumentError(None, op, f"{op.type} '{op.name}': {what} must be 4-dimensional (NHWC), "
                                          f"got shape {list(x.shape)}")


@register_cuda_kernel("LRN", accepts=_float)
def lrn(op, ctx):
    params = _lrn_params(op)

    def run(x):
        _check_lrn_input(op, x)
        out = ctx.empty(x.shape, x.dtype, op)
        if out.size:
            blocks, threads = launch_size(out.size)
            _lrn[blocks, threads](x.reshape(-1), out.reshape(-1), int(x.shape[3]), *params)
        return out

    return run


@register_cuda_kernel("LRNGrad", accepts=_float)
def lrn_grad(op, ctx):
    params = _lrn_params(op)

    def run(dy, x, y):
        _check_lrn_input(op, x, "input_image")
        if tuple(dy.shape) != tuple(x.shape):
            raise errors.InvalidArgumentError(None, op, f"{op.type} '{op.name}': input_grads shape {list(dy.shape)} "
                                              f"must equal input_image shape {list(x.shape)}")
        dx = ctx.empty(x.shape, x.dtype, op)
        if dx.size:
            terms = ctx.empty((dx.size,), np.float64, op)
            blocks, threads = launch_size(dx.size)
            depth = int(x.shape[3])
            _lrn_grad_terms[blocks, threads](dy.reshape(-1), x.reshape(-1), terms, depth, *params)
            _lrn_grad[blocks, threads](dy.reshape(-1), x.reshape(-1), terms, dx.reshape(-1), depth, *params)
        return dx

    return run
