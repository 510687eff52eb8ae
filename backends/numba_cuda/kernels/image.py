"""Image resizing on the device: ``ResizeBilinear``, ``ResizeNearestNeighbor`` and their gradients.

Coordinates are the reference kernels' (``graphdl/ops/image_ops.py``): the host computes,
once per size pair, each output row's and column's source taps with ``bilinear_weights``
or ``nearest_indices`` (``align_corners`` and ``half_pixel_centers`` included) and uploads
them as compressed sparse rows (tap start per output index, source indices, weights).
Bilinear resizing is separable, so every output element sums its (at most 2 x 2) taps.
A gradient is the same sum over the transposed taps: each input element gathers from the
output elements that read it, without atomics. Nearest-neighbour resizing copies, so
integer images keep their exact values.
"""

from __future__ import annotations

import numpy as np
from graphdl.backends.numba_cuda.device import launch_size, to_device
from graphdl.backends.numba_cuda.kernel_registry import register_cuda_kernel
from graphdl.backends.numba_cuda.kernels.data import _movable
from numba import cuda

from graphdl import errors
from graphdl.ops.image_ops import _check_runtime, bilinear_weights, nearest_indices

_CACHED_SIZES = 64  # size pairs whose coordinate tables an op keeps on the device


@cuda.jit
def _separable(x, out, h, w, c, oh, ow, y_start, y_index, y_weight, x_start, x_index, x_weight):
    for idx in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        ch = idx % c
        ox = (idx // c) % ow
        oy = (idx // (c * ow)) % oh
        n = idx // (c * ow * oh)
        acc = 0.0
        for a in range(y_start[oy], y_start[oy + 1]):
            base = (n * h + y_index[a]) * w
            row = 0.0
            for b in range(x_start[ox], x_start[ox + 1]):
                row += x_weight[b] * x[(base + x_index[b]) * c + ch]
            acc += y_weight[a] * row
        out[idx] = acc


@cuda.jit
def _nearest(x, out, h, w, c, oh, ow, ys, xs):
    for idx in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        ch = idx % c
        ox = (idx // c) % ow
        oy = (idx // (c * ow)) % oh
        n = idx // (c * ow * oh)
        out[idx] = x[((n * h + ys[oy]) * w + xs[ox]) * c + ch]


def _sparse_rows(rows, columns, weights, n_rows):
    """(start, columns, weights) of the taps sorted by row: row r's taps are start[r]:start[r + 1]."""
    order = np.argsort(rows, kind="stable")
    start = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n_rows))]).astype(np.int64)
    return start, columns[order].astype(np.int64), weights[order].astype(np.float64)


def _bilinear_taps(out_size, in_size, flags):
    """Rows (output index), columns (input index) and weights of one axis' bilinear interpolation."""
    lower, upper, lerp = bilinear_weights(out_size, in_size, *flags)
    rows = np.arange(out_size, dtype=np.int64)
    return (np.concatenate([rows, rows]), np.concatenate([lower, upper]),
            np.concatenate([np.float32(1) - lerp, lerp]))


def _nearest_taps(out_size, in_size, flags):
    rows = np.arange(out_size, dtype=np.int64)
    return rows, nearest_indices(out_size, in_size, *flags), np.ones(out_size, np.float64)


class _Taps:
    """Device tap tables of each axis, cached per (output size, input size) pair."""

    def __init__(self, op, taps, transposed):
        self.flags = (bool(op.attrs["align_corners"]), bool(op.attrs["half_pixel_centers"]))
        self.taps, self.transposed = taps, transposed
        self.cache: dict = {}

    def axis(self, out_size, in_size):
        """Tables of one axis for resizing ``in_size`` to ``out_size`` (their transpose for a gradient)."""
        key = (out_size, in_size)
        tables = self.cache.get(key)
        if tables is None:
            if self.transposed:  # the gradient's "output" is the forward input: taps of the forward resize, flipped
                columns, rows, weights = self.taps(in_size, out_size, self.flags)
            else:
                rows, columns, weights = self.taps(out_size, in_size, self.flags)
            host = _sparse_rows(rows, columns, weights, out_size)
            if len(self.cache) >= _CACHED_SIZES:
                self.cache.clear()
            tables = self.cache[key] = tuple(to_device(a, "resize coordinates") for a in host)
        return tables


def _resize(x, out, taps):
    _, h, w, c = (int(d) for d in x.shape)
    _, oh, ow, _ = out.shape
    if out.size:
        blocks, threads = launch_size(out.size)
        _separable[blocks, threads](x.reshape(-1), out.reshape(-1), h, w, c, oh, ow, *taps.axis(oh, h),
                                    *taps.axis(ow, w))
    return out


def _size_pair(size):
    return tuple(int(v) for v in np.ravel(size))


def _check_grads(op, grads, n, c, what):
    if grads.ndim != 4 or grads.shape[0] != n or grads.shape[3] != c:
        raise errors.InvalidArgumentError(
            None, op, f"{op.type} '{op.name}': grads must be 4-D NHWC with the batch and channels of {what} "
            f"({n}, {c}), got shape {list(grads.shape)}")


def _bilinear_input(op) -> bool:
    dtype = np.dtype(op.inputs[0].dtype.np)
    return dtype.kind in "iu" or dtype in (np.dtype(np.float32), np.dtype(np.float64))


def _float_output(op) -> bool:
    return np.dtype(op.outputs[0].dtype.np) in (np.dtype(np.float32), np.dtype(np.float64))


@register_cuda_kernel("ResizeBilinear", host_inputs=(1,), accepts=_bilinear_input)
def resize_bilinear(op, ctx):
    from graphdl.backends.numba_cpu.kernel_registry import _Context

    rctx, taps = _Context(op, ctx.state), _Taps(op, _bilinear_taps, transposed=False)
    dtype = op.outputs[0].dtype.np

    def run(images, size):
        size = _size_pair(size)
        _check_runtime(rctx, images, size)
        out = ctx.empty((images.shape[0], size[0], size[1], images.shape[3]), dtype, op)
        return _resize(images, out, taps)

    return run


@register_cuda_kernel("ResizeBilinearGrad", accepts=_float_output)
def resize_bilinear_grad(op, ctx):
    taps = _Taps(op, _bilinear_taps, transposed=True)

    def run(grads, original):
        if original.ndim != 4:
            raise errors.InvalidArgumentError(None, op, f"{op.type} '{op.name}': original_image must be 4-D NHWC, "
                                              f"got shape {list(original.shape)}")
        _check_grads(op, grads, original.shape[0], original.shape[3], "original_image")
        return _resize(grads, ctx.empty(original.shape, original.dtype, op), taps)

    return run


@register_cuda_kernel("ResizeNearestNeighborGrad", host_inputs=(1,), accepts=_float_output)
def resize_nearest_grad(op, ctx):
    taps = _Taps(op, _nearest_taps, transposed=True)

    def run(grads, size):
        h, w = _size_pair(size)
        if grads.ndim != 4:
            raise errors.InvalidArgumentError(None, op, f"{op.type} '{op.name}': grads must be 4-D NHWC, got shape "
                                              f"{list(grads.shape)}")
        return _resize(grads, ctx.empty((grads.shape[0], h, w, grads.shape[3]), grads.dtype, op), taps)

    return run


@register_cuda_kernel("ResizeNearestNeighbor", host_inputs=(1,), accepts=_movable)
def resize_nearest(op, ctx):
    from graphdl.backends.numba_cpu.kernel_registry import _Context

    rctx = _Context(op, ctx.state)
    flags = (bool(op.attrs["align_corners"]), bool(op.attrs["half_pixel_centers"]))
    cache: dict = {}

    def indices(out_size, in_size):
        key = (out_size, in_size)
        if key not in cache:
            if len(cache) >= _CACHED_SIZES:
                cache.clear()
            cache[key] = to_device(nearest_indices(out_size, in_size, *flags).astype(np.int64), "resize coordinates")
        return cache[key]

    def run(images, size):
        size = _size_pair(size)
        _check_runtime(rctx, images, size)
        n, h, w, c = (int(d) for d in images.shape)
        out = ctx.empty((n, size[0], size[1], c), images.dtype, op)
        if out.size:
            blocks, threads = launch_size(out.size)
            _nearest[blocks, threads](images.reshape(-1), out.reshape(-1), h, w, c, size[0], size[1],
                                      indices(size[0], h), indices(size[1], w))
        return out

    return run
