"""Reductions (``Sum``, ``Mean``, ``Max``, ``Min``, ``Prod``, ``ArgMax``, ``ArgMin``) on the device.

The reduced axes are brought together (a transpose when they are not adjacent) so the
input reads as ``(outer, red, inner)``. When there are few outputs and many values per
output, one block reduces each output through shared memory; otherwise each thread
reduces one output. Floating sums accumulate in float64.
"""

from __future__ import annotations

import math

import numpy as np
from graphdl.backends.numba_cuda.device import BLOCK, MAX_BLOCKS, launch_size
from graphdl.backends.numba_cuda.kernel_registry import register_cuda_kernel
from graphdl.backends.numba_cuda.kernels.data import transpose
from numba import cuda, float64

SUM, MEAN, MAX, MIN, PROD = 0, 1, 2, 3, 4
_KINDS = {"Sum": SUM, "Mean": MEAN, "Max": MAX, "Min": MIN, "Prod": PROD}
_SHARED = 256


@cuda.jit(device=True, inline=True)
def _combine(kind, acc, v):
    if kind == SUM or kind == MEAN:
        return acc + v
    if kind == PROD:
        return acc * v
    if kind == MAX:
        return v if (v > acc or v != v) else acc  # noqa: PLR0124 - the NaN test for every dtype
    return v if (v < acc or v != v) else acc  # noqa: PLR0124 - the NaN test for every dtype


@cuda.jit
def _reduce_per_thread(x, out, outer, red, inner, kind):
    for o in range(cuda.grid(1), outer * inner, cuda.gridsize(1)):
        base = (o // inner) * red * inner + o % inner
        acc = x[base]
        for r in range(1, red):
            acc = _combine(kind, acc, x[base + r * inner])
        out[o] = acc / red if kind == MEAN else acc


@cuda.jit
def _reduce_per_block(x, out, outer, red, inner, kind):
    shared = cuda.shared.array(_SHARED, float64)
    tid = cuda.threadIdx.x
    for o in range(cuda.blockIdx.x, outer * inner, cuda.gridDim.x):
        base = (o // inner) * red * inner + o % inner
        if tid < red:
            acc = float64(x[base + tid * inner])
            for r in range(tid + cuda.blockDim.x, red, cuda.blockDim.x):
                acc = _combine(kind, acc, float64(x[base + r * inner]))
        elif kind == SUM or kind == MEAN:
            acc = 0.0
        elif kind == PROD:
            acc = 1.0
        else:
            acc = float64(x[base])  # any element is neutral for max and min
        shared[tid] = acc
        cuda.syncthreads()
        step = cuda.blockDim.x // 2
        while step > 0:
            if tid < step:
                shared[tid] = _combine(kind, shared[tid], shared[tid + step])
            cuda.syncthreads()
            step //= 2
        if tid == 0:
            out[o] = shared[0] / red if kind == MEAN else shared[0]
        cuda.syncthreads()


@cuda.jit
def _arg_reduce(x, out, outer, red, inner, is_max):
    for o in range(cuda.grid(1), outer * inner, cuda.gridsize(1)):
        base = (o // inner) * red * inner + o % inner
        best, index = x[base], 0
        for r in range(1, red):
            v = x[base + r * inner]
            if best != best:  # noqa: PLR0124 - the NaN test for every dtype
                break
            if (is_max and (v > best or v != v)) or (not is_max and (v < best or v != v)):  # noqa: PLR0124 - the NaN test for every dtype
                best, index = v, r
        out[o] = index


def normalized_axes(axis_value, rank):
    """Sorted distinct non-negative axes of an axis input (all axes for an empty input of rank 0)."""
    axes = np.ravel(np.asarray(axis_value)).astype(np.int64)
    return sorted({int(a) % rank for a in axes}) if rank else []


def as_outer_red_inner(x, axes):
    """``(x2, outer, red, inner)``: ``x`` (transposed when the axes are not adjacent) as (outer, red, inner)."""
    shape = tuple(x.shape)
    if axes and axes != list(range(axes[0], axes[-1] + 1)):
        kept = [d for d in range(len(shape)) if d not in axes]
        x = transpose(x, kept + list(axes))
        shape = tuple(x.shape)
        axes = list(range(len(kept), len(shape)))
    if not axes:
        return x, int(np.prod(shape, dtype=np.int64)), 1, 1
    outer = int(np.prod(shape[: axes[0]], dtype=np.int64))
    red = int(np.prod(shape[axes[0]: axes[-1] + 1], dtype=np.int64))
    inner = int(np.prod(shape[axes[-1] + 1:], dtype=np.int64))
    return x, outer, red, inner


def reduce_device(x, axes, kind, out):
    """Reduce device array ``x`` over sorted ``axes`` into ``out`` (flat size outer * inner)."""
    x2, outer, red, inner = as_outer_red_inner(x, axes)
    n = outer * inner
    flat = out.reshape(-1)
    if n == 0:
        return out
    if red == 0:
        from graphdl.backends.numba_cuda.kernels.data import fill

        identity = {SUM: 0, MEAN: math.nan, PROD: 1, MAX: -math.inf, MIN: math.inf}[kind]
        if not np.issubdtype(out.dtype, np.floating) and kind in (MAX, MIN):
            info = np.iinfo(out.dtype)
            identity = info.min if kind == MAX else info.max
        return fill(out, identity)
    floating = np.issubdtype(x.dtype, np.floating)
    if floating and red >= 64 and n <= 4096:
        blocks = min(n, MAX_BLOCKS)  # each block loops over outputs
        _reduce_per_block[blocks, min(BLOCK, _SHARED)](x2.reshape(-1), flat, outer, red, inner, kind)
    else:
        blocks, threads = launch_size(n)
        _reduce_per_thread[blocks, threads](x2.reshape(-1), flat, outer, red, inner, kind)
    return out


def _reduction(op, ctx):
    kind = _KINDS[op.type]
    keep_dims = bool(op.attrs.get("keep_dims", False))
    dtype = op.outputs[0].dtype.np

    def run(x, axis):
        axes = normalized_axes(axis, x.ndim)
        shape = [1 if d in axes else n for d, n in enumerate(x.shape)] if keep_dims else [
            n for d, n in enumerate(x.shape) if d not in axes]
        return reduce_device(x, axes, kind, ctx.empty(shape, dtype, op))

    return run


def _reducible(op) -> bool:
    return op.inputs[0].dtype.is_floating or op.inputs[0].dtype.is_integer


register_cuda_kernel(*_KINDS, host_inputs=(1,), accepts=_reducible)(_reduction)


def _arg(op, ctx):
    is_max = op.type == "ArgMax"
    dtype = op.outputs[0].dtype.np

    def run(x, axis):
        a = int(np.asarray(axis).reshape(())) % x.ndim
        x2, outer, red, inner = as_outer_red_inner(x, [a])
        out = ctx.empty(tuple(x.shape)[:a] + tuple(x.shape)[a + 1:], dtype, op)
        if outer * inner:
            blocks, threads = launch_size(outer * inner)
            _arg_reduce[blocks, threads](x2.reshape(-1), out.reshape(-1), outer, red, inner, is_max)
        return out

    return run


register_cuda_kernel("ArgMax", "ArgMin", host_inputs=(1,), accepts=_reducible)(_arg)
