"""Index-driven ops on the device: ``UnsortedSegmentSum``, ``GatherGrad``, ``ScatterNd`` (scatter-add),
``GatherNd``, ``GatherDropNegatives`` (row gathers) and ``OneHot``.

Every op here moves whole rows of ``inner`` contiguous elements. The indices stay on the
host, as TF1 keeps int32 index tensors there: they are checked with the reference
kernels' messages (``graphdl/ops/indexing_ops.py``), so a bad index is an error naming
it rather than a stray write on the device, and turned into one flat element offset per
row (-1: no row), which is uploaded. Gathers copy ``out[row, j] = params[offset[row] + j]``;
scatters add ``updates[row, j]`` into ``out[offset[row] + j]`` with ``cuda.atomic.add``
(float32/float64: rows that share a destination may be summed in any order).
"""

from __future__ import annotations

import numpy as np
from graphdl.backends.numba_cuda.device import launch_size, to_device
from graphdl.backends.numba_cuda.kernel_registry import register_cuda_kernel
from graphdl.backends.numba_cuda.kernels.data import _movable, fill
from numba import cuda

from graphdl.ops.indexing_ops import _batch_dims, _check_nd_indices, check_index_range
from graphdl.ops.range_ops import _one_hot_position


@cuda.jit
def _scatter_add(updates, offsets, out, inner):
    for idx in range(cuda.grid(1), updates.shape[0], cuda.gridsize(1)):
        start = offsets[idx // inner]
        if start >= 0:
            cuda.atomic.add(out, start + idx % inner, updates[idx])


@cuda.jit
def _gather_rows(params, offsets, out, inner, zero):
    for idx in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        start = offsets[idx // inner]
        if start >= 0:
            out[idx] = params[start + idx % inner]
        else:
            out[idx] = zero


@cuda.jit
def _one_hot(indices, out, depth, inner, on, off):
    for idx in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        k = idx % inner
        d = (idx // inner) % depth
        if indices[(idx // (inner * depth)) * inner + k] == d:
            out[idx] = on
        else:
            out[idx] = off


def _size(shape) -> int:
    return int(np.prod(shape, dtype=np.int64))


def scatter_rows(ctx, op, updates, offsets, out_shape):
    """Zeros of ``out_shape`` with each ``inner``-element row of ``updates`` added at its offset (-1: dropped)."""
    out = fill(ctx.empty(out_shape, updates.dtype, op), 0)
    if updates.size and offsets.size:
        inner = updates.size // offsets.size
        blocks, threads = launch_size(updates.size)
        _scatter_add[blocks, threads](updates.reshape(-1), to_device(offsets.astype(np.int64).reshape(-1)),
                                      out.reshape(-1), inner)
    return out


def gather_rows(ctx, op, params, offsets, out_shape):
    """Rows of ``params`` starting at each flat offset (zeros where it is -1), shaped ``out_shape``."""
    out = ctx.empty(out_shape, params.dtype, op)
    if out.size:
        inner = out.size // offsets.size
        blocks, threads = launch_size(out.size)
        _gather_rows[blocks, threads](params.reshape(-1), to_device(offsets.astype(np.int64).reshape(-1)),
                                      out.reshape(-1), inner, out.dtype.type(0))
    return out


def _scatter_addable(op) -> bool:
    return np.dtype(op.outputs[0].dtype.np) in (np.dtype(np.float32), np.dtype(np.float64))


# -- UnsortedSegmentSum and its gradient ---------------------------------------------------------------------------
@register_cuda_kernel("UnsortedSegmentSum", host_inputs=(1, 2), accepts=_scatter_addable)
def unsorted_segment_sum(op, ctx):
    def run(data, ids, num):
        ids, n = np.asarray(ids), int(np.asarray(num))
        shape = tuple(data.shape)
        if shape[:ids.ndim] != ids.shape:
            raise ValueError(f"data.shape = {list(shape)} does not start with segment_ids.shape = {list(ids.shape)}")
        if n < 0:
            raise ValueError(f"num_segments must be non-negative, got {n}")
        flat_ids = ids.reshape(-1).astype(np.int64)
        too_big = np.flatnonzero(flat_ids >= n)
        if too_big.size:
            pos = np.unravel_index(too_big[0], ids.shape)
            raise ValueError(f"segment_ids[{','.join(map(str, pos))}] = {flat_ids[too_big[0]]} is out of range "
                             f"[0, {n})")
        inner = _size(shape[ids.ndim:])
        return scatter_rows(ctx, op, data, np.where(flat_ids >= 0, flat_ids * inner, -1), (n,) + shape[ids.ndim:])

    return run


@register_cuda_kernel("GatherDropNegatives", host_inputs=(1,), accepts=_movable)
def gather_drop_negatives(op, ctx):
    def run(params, ids):
        ids = np.asarray(ids).astype(np.int64)
        check_index_range(np.maximum(ids, 0), params.shape[0], "segment_ids")
        inner = _size(tuple(params.shape)[1:])
        offsets = np.where(ids >= 0, ids * inner, -1)
        return gather_rows(ctx, op, params, offsets, ids.shape + tuple(params.shape)[1:])

    return run


# -- GatherGrad ---------------------------------------------------------------------------------------------------------
@register_cuda_kernel("GatherGrad", host_inputs=(0, 1, 2), accepts=_scatter_addable)
def gather_grad(op, ctx):
    def run(shape, indices, axis, dy):
        shape = tuple(int(d) for d in np.ravel(shape))
        indices = np.asarray(indices).astype(np.int64)
        b = _batch_dims(op.attrs["batch_dims"], indices.ndim)
        a = int(axis) % len(shape)
        want = shape[:a] + indices.shape[b:] + shape[a + 1:]
        if tuple(dy.shape) != want:
            raise ValueError(f"the gradient has shape {list(dy.shape)}, expected {list(want)} (params shape "
                             f"{list(shape)}, indices shape {list(indices.shape)}, axis {a}, batch_dims {b})")
        n = shape[a]
        bad = np.flatnonzero((indices < -n) | (indices >= n))
        if bad.size:
            raise IndexError(f"index {indices.reshape(-1)[bad[0]]} is out of bounds for axis {a} with size {n}")
        batch, mid, inner = _size(shape[:b]), _size(shape[b:a]), _size(shape[a + 1:])
        rows = np.where(indices < 0, indices + n, indices).reshape(batch, 1, -1)
        offsets = ((np.arange(batch).reshape(-1, 1, 1) * mid + np.arange(mid).reshape(1, -1, 1)) * n + rows) * inner
        return scatter_rows(ctx, op, dy, offsets, shape)

    return run


# -- GatherNd / ScatterNd -------------------------------------------------------------------------------------------
def _nd_offsets(indices, shape, what):
    """The flat offset of each index tuple's slice in an array of ``shape`` (checked as the reference does)."""
    idx = _check_nd_indices(indices, shape, what)
    rows = _size(indices.shape[:-1])
    if not idx:
        return np.zeros(rows, np.int64)
    k = len(idx)
    flat = np.ravel_multi_index(tuple(np.asarray(i, np.int64).reshape(-1) for i in idx), shape[:k])
    return flat.astype(np.int64) * _size(shape[k:])


@register_cuda_kernel("GatherNd", host_inputs=(1,), accepts=_movable)
def gather_nd(op, ctx):
    def run(params, indices):
        indices, shape = np.asarray(indices), tuple(params.shape)
        offsets = _nd_offsets(indices, shape, "param")
        return gather_rows(ctx, op, params, offsets, indices.shape[:-1] + shape[indices.shape[-1]:])

    return run


@register_cuda_kernel("ScatterNd", host_inputs=(0, 2), accepts=_scatter_addable)
def scatter_nd(op, ctx):
    def run(indices, updates, shape):
        indices, shape = np.asarray(indices), tuple(int(d) for d in np.ravel(shape))
        offsets = _nd_offsets(indices, shape, "output")
        k = indices.shape[-1]
        want = indices.shape[:-1] + shape[k:]
        if tuple(updates.shape) != want:
            raise ValueError(f"updates must have shape {list(want)} (indices.shape[:-1] + shape[{k}:]), "
                             f"got {list(updates.shape)}")
        return scatter_rows(ctx, op, updates, offsets, shape)

    return run


# -- OneHot ---------------------------------------------------------------------------------------------------------------
@register_cuda_kernel("OneHot", host_inputs=(1, 2, 3), accepts=_movable)
def one_hot(op, ctx):
    dtype = np.dtype(op.outputs[0].dtype.np)

    def run(indices, depth, on, off):
        d = int(np.asarray(depth))
        if d < 0:
            raise ValueError(f"depth must be non-negative, got: {d}")
        shape = tuple(indices.shape)
        pos = _one_hot_position(op.attrs["axis"], len(shape) + 1)
        out = ctx.empty(shape[:pos] + (d,) + shape[pos:], dtype, op)
        if out.size:
            blocks, threads = launch_size(out.size)
            _one_hot[blocks, threads](indices.reshape(-1), out.reshape(-1), d, _size(shape[pos:]),
                                      dtype.type(np.asarray(on).item()), dtype.type(np.asarray(off).item()))
        return out

    return run
