"""Layout ops that are more than one gather through a fixed map: ``ReverseSequence``, ``StridedSliceGrad``,
``MirrorPadGrad``, and ``MaxPoolGradGrad``.

- ``ReverseSequence``: each element finds its batch entry and sequence position from two
  strides and reads its mirror when the position is inside that entry's length. The
  lengths are checked on the host with the reference kernel's messages.
- ``StridedSliceGrad``: the reference kernel, run once per shape and slice on an index
  tensor, gives each output element the ``dy`` element it receives (or none); the device
  gathers through that map (see ``data.py``).
- ``MirrorPadGrad``: one pass per padded axis folds the mirrored borders back: each
  output position sums the few ``dy`` positions that copied it (their list per axis comes
  from ``np.pad`` of the positions, as in the reference kernel), so no atomics are needed.
- ``MaxPoolGradGrad``: each pooled element reads ``g`` at its window's first maximum.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from graphdl.backends.numba_cuda.device import launch_size, to_device
from graphdl.backends.numba_cuda.kernel_registry import register_cuda_kernel
from graphdl.backends.numba_cuda.kernels.data import _movable, gather
from graphdl.backends.numba_cuda.kernels.pool import _Pool, _window_max
from numba import cuda

from graphdl import errors
from graphdl.framework.op_def import get_op_def


def _size(shape) -> int:
    return int(np.prod(shape, dtype=np.int64))


def _float(op) -> bool:
    return np.dtype(op.outputs[0].dtype.np) in (np.dtype(np.float32), np.dtype(np.float64))


# -- ReverseSequence ------------------------------------------------------------------------------------------------------
@cuda.jit
def _reverse_sequence(x, lengths, out, batch_stride, batch_size, seq_stride, seq_size):
    for idx in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        t = (idx // seq_stride) % seq_size
        n = lengths[(idx // batch_stride) % batch_size]
        if t < n:
            out[idx] = x[idx + (n - 1 - 2 * t) * seq_stride]
        else:
            out[idx] = x[idx]


@register_cuda_kernel("ReverseSequence", host_inputs=(1,), accepts=_movable)
def reverse_sequence(op, ctx):
    seq_dim, batch_dim = op.attrs["seq_dim"], op.attrs["batch_dim"]

    def run(x, lengths):
        lengths, shape = np.asarray(lengths).astype(np.int64), tuple(x.shape)
        if lengths.shape != (shape[batch_dim],):
            raise ValueError(f"seq_lengths must have shape [{shape[batch_dim]}], got {list(lengths.shape)}")
        bad = np.flatnonzero((lengths < 0) | (lengths > shape[seq_dim]))
        if bad.size:
            b = int(bad[0])
            raise ValueError(f"seq_lengths[{b}] = {lengths[b]} is not in [0, {shape[seq_dim]}] "
                             f"(input.dims({seq_dim}))")
        out = ctx.empty(shape, x.dtype, op)
        if out.size:
            blocks, threads = launch_size(out.size)
            _reverse_sequence[blocks, threads](x.reshape(-1), to_device(lengths), out.reshape(-1),
                                               _size(shape[batch_dim + 1:]), shape[batch_dim],
                                               _size(shape[seq_dim + 1:]), shape[seq_dim])
        return out

    return run


# -- StridedSliceGrad -------------------------------------------------------------------------------------------------------
@register_cuda_kernel("StridedSliceGrad", host_inputs=(0, 1, 2, 3), accepts=_movable)
def strided_slice_grad(op, ctx):
    from graphdl.backends.numba_cpu.kernel_registry import _Context

    reference, rctx = get_op_def(op.type).kernel, _Context(op, ctx.state)
    maps: OrderedDict = OrderedDict()

    def index_map(shape, begin, end, strides, dy_shape):
        key = (dy_shape,) + tuple(np.asarray(a).astype(np.int64).tobytes() for a in (shape, begin, end, strides))
        if key not in maps:
            # dy numbered from 1: the scattered numbers minus 1 are the map, -1 where nothing lands
            numbers = np.arange(1, _size(dy_shape) + 1, dtype=np.int64).reshape(dy_shape)
            scattered = reference(rctx, shape, begin, end, strides, numbers)
            maps[key] = (scattered.shape, to_device(scattered.reshape(-1) - 1, "a strided slice gradient map"))
            if len(maps) > 16:
                maps.popitem(last=False)
        return maps[key]

    def run(shape, begin, end, strides, dy):
        out_shape, mapping = index_map(shape, begin, end, strides, tuple(dy.shape))
        return gather(dy, mapping, ctx.empty(out_shape, dy.dtype, op))

    return run


# -- MirrorPadGrad ------------------------------------------------------------------------------------------------------------
@cuda.jit
def _fold_axis(dy, start, sources, out, n_in, n_out, inner):
    for idx in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        k = idx % inner
        i = (idx // inner) % n_out
        base = (idx // (inner * n_out)) * n_in * inner + k
        acc = 0.0
        for a in range(start[i], start[i + 1]):
            acc += dy[base + sources[a] * inner]
        out[idx] = acc


@register_cuda_kernel("MirrorPadGrad", host_inputs=(1,), accepts=_float)
def mirror_pad_grad(op, ctx):
    mode = op.attrs["mode"].lower()
    folds: dict = {}

    def fold(n, before, after):
        """Device (start, sources): padded positions copied from each of the n positions, in CSR form."""
        key = (n, before, after)
        if key not in folds:
            origin = np.pad(np.arange(n), (before, after), mode=mode)
            order = np.argsort(origin, kind="stable")
            start = np.concatenate([[0], np.cumsum(np.bincount(origin, minlength=n))])
            folds[key] = (to_device(start.astype(np.int64)), to_device(order.astype(np.int64)))
        return folds[key]

    def run(dy, paddings):
        pads = np.asarray(paddings).reshape(-1, 2).astype(np.int64).tolist()
        if len(pads) != dy.ndim:
            raise ValueError(f"paddings must have one [before, after] row per dim of the gradient (rank {dy.ndim}), "
                             f"got {len(pads)} rows")
        out = dy
        for axis, (before, after) in enumerate(pads):
            if before == 0 and after == 0:
                continue
            shape = tuple(out.shape)
            n = shape[axis] - before - after
            if n <= 0 or before < 0 or after < 0:
                raise errors.InvalidArgumentError(
                    None, op, f"{op.type} '{op.name}': paddings {pads[axis]} do not fit dim {axis} of the gradient "
                    f"(size {shape[axis]})")
            folded = ctx.empty(shape[:axis] + (n,) + shape[axis + 1:], dy.dtype, op)
            if folded.size:
                blocks, threads = launch_size(folded.size)
                _fold_axis[blocks, threads](out.reshape(-1), *fold(n, before, after), folded.reshape(-1),
                                            shape[axis], n, _size(shape[axis + 1:]))
            out = folded
        return out if out is not dy else _copy(ctx, op, dy)  # (no padding: a new array, never the input itself)

    return run


def _copy(ctx, op, x):
    from graphdl.backends.numba_cuda.kernels.state import copy_into

    return copy_into(ctx.empty(x.shape, x.dtype, op), x)


# -- MaxPoolGradGrad ------------------------------------------------------------------------------------------------------------
@cuda.jit
def _max_pool_grad_grad(x, g, out, h, w, c, oh, ow, kh, kw, sh, sw, pt, pl):
    for idx in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        ch, ox, oy, n = idx % c, (idx // c) % ow, (idx // (c * ow)) % oh, idx // (c * ow * oh)
        _, where = _window_max(x, n, oy, ox, ch, h, w, c, kh, kw, sh, sw, pt, pl)
        y = oy * sh - pt + where // kw
        xx = ox * sw - pl + where % kw
        if 0 <= y < h and 0 <= xx < w:
            out[idx] = g[((n * h + y) * w + xx) * c + ch]
        else:
            out[idx] = 0


@register_cuda_kernel("MaxPoolGradGrad", accepts=_float)
def max_pool_grad_grad(op, ctx):
    pool = _Pool(op, ctx)

    def run(x, y, g):
        pool.check_rank(x)
        if tuple(g.shape) != tuple(x.shape):
            raise errors.InvalidArgumentError(None, op, f"{op.type} '{op.name}': grad shape {list(g.shape)} must "
                                              f"equal orig_input shape {list(x.shape)}")
        x, g = pool.nhwc(x), pool.nhwc(g)
        out_shape, args = pool.geometry(tuple(x.shape))
        out = ctx.empty(out_shape, g.dtype, op)
        if out.size:
            blocks, threads = launch_size(out.size)
            _max_pool_grad_grad[blocks, threads](x.reshape(-1), g.reshape(-1), out.reshape(-1), *args)
        return pool.from_nhwc(out)

    return run
