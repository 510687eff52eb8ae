"""Data movement on the device: views, and every gather-like op through an index map.

Reshape-like ops only relabel a C-contiguous array's shape: they return device views.
Ops that move elements (transpose, slicing, tiling, broadcasting, reversal, splitting,
concatenation, padding, gathering) are defined once, by their NumPy reference kernels:
the reference kernel runs on the host over the input's element indices, which gives,
for each output element, the input element it takes (or -1 for padding). The device
then gathers ``out[i] = x[map[i]]``. The map depends only on shapes and on the small
host-side operands (axes, begins, paddings, gather indices) and is cached per op.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from graphdl.backends.numba_cpu.kernel_registry import _Context
from graphdl.backends.numba_cuda.device import empty, launch_size, to_device
from graphdl.backends.numba_cuda.kernel_registry import register_cuda_kernel
from numba import cuda

from graphdl.framework.op_def import get_op_def


@cuda.jit
def _gather(out, x, index, fill_value):
    for i in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        k = index[i]
        out[i] = x[k] if k >= 0 else fill_value


@cuda.jit
def _fill(out, value):
    for i in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        out[i] = value


def fill(out, value):
    """Set every element of device array ``out`` to ``value``."""
    if out.size:
        blocks, threads = launch_size(out.size)
        _fill[blocks, threads](out.reshape(-1), out.dtype.type(value))
    return out


def gather(x, index_map, out, fill_value=0):
    """``out.flat[i] = x.flat[index_map[i]]`` (``fill_value`` where the map holds -1)."""
    if out.size:
        blocks, threads = launch_size(out.size)
        _gather[blocks, threads](out.reshape(-1), x.reshape(-1), index_map, out.dtype.type(fill_value))
    return out


def _shape_proxy(shape):
    """A zero-memory host array of ``shape`` (what view ops need to compute their output shape)."""
    return np.broadcast_to(np.zeros((), np.int8), tuple(shape))


_TRANSPOSES: dict = {}


def transpose(x, perm):
    """A new C-contiguous device array holding ``x`` transposed by ``perm``."""
    key = (tuple(x.shape), tuple(perm))
    index_map = _TRANSPOSES.get(key)
    if index_map is None:
        host = np.transpose(np.arange(x.size, dtype=np.int64).reshape(x.shape), perm)
        index_map = _TRANSPOSES[key] = to_device(np.ascontiguousarray(host).reshape(-1), "a transpose index map")
    out_shape = tuple(x.shape[p] for p in perm)
    return gather(x, index_map, empty(out_shape, x.dtype, "a transposed tensor"))


# -- views -------------------------------------------------------------------------------
def _view(op, ctx):
    kernel = get_op_def(op.type).kernel
    rctx = _Context(op, None)

    def run(x, *host_args):
        shape = kernel(rctx, _shape_proxy(x.shape), *host_args).shape
        return x.reshape(shape) if x.size else ctx.empty(shape, x.dtype, op)

    return run


register_cuda_kernel("Reshape", "ExpandDims", host_inputs=(1,), accepts=lambda op: _movable(op))(_view)
register_cuda_kernel("Squeeze", accepts=lambda op: _movable(op))(_view)


def _movable(op) -> bool:
    """Numeric and boolean tensors move on the device; strings stay on the host."""
    from graphdl import dtypes

    return all(t.dtype != dtypes.string for t in list(op.inputs) + list(op.outputs))


# -- index maps ----------------------------------------------------------------------------
class IndexMapKernel:
    """Runs a data-movement op as a gather through the index map its reference kernel computes."""

    _CACHE_SIZE = 16

    def __init__(self, op, ctx, data_inputs, pad_value_input=None):
        self.op, self.ctx = op, ctx
        self.kernel = get_op_def(op.type).kernel
        self.rctx = _Context(op, ctx.state)
        self.data_inputs = data_inputs  # indices of inputs whose elements move
        self.pad_value_input = pad_value_input
        self.maps: OrderedDict = OrderedDict()

    def _maps_for(self, args):
        key = tuple(
            ("d", tuple(a.shape)) if i in self.data_inputs else ("h", np.asarray(a).dtype.str, np.asarray(a).shape,
                                                                  np.asarray(a).tobytes())
            for i, a in enumerate(args)
        )
        entry = self.maps.get(key)
        if entry is not None:
            self.maps.move_to_end(key)
            return entry
        offset, ref_args = 0, []
        for i, a in enumerate(args):
            if i in self.data_inputs:
                ref_args.append(np.arange(offset, offset + a.size, dtype=np.int64).reshape(a.shape))
                offset += a.size
            elif i == self.pad_value_input:
                ref_args.append(np.int64(-1))
            else:
                ref_args.append(np.asarray(a))
        if self.pad_value_input is not None and len(args) <= self.pad_value_input:
            ref_args.append(np.int64(-1))
        result = self.kernel(self.rctx, *ref_args)
        results = list(result) if isinstance(result, (tuple, list)) else [result]
        entry = [(r.shape, to_device(np.ascontiguousarray(r, dtype=np.int64).reshape(-1), "an index map"))
                 for r in results]
        self.maps[key] = entry
        if len(self.maps) > self._CACHE_SIZE:
            self.maps.popitem(last=False)
        return entry

    def __call__(self, *args):
        data = [args[i] for i in self.data_inputs]
        if len(data) == 1:
            source = data[0]
        else:  # several inputs (concat, pack): gather from their concatenation
            total = sum(d.size for d in data)
            source = self.ctx.empty((total,), self.op.outputs[0].dtype.np, self.op)
            offset = 0
            for d in data:
                if d.size:
                    from graphdl.backends.numba_cuda.kernels.state import copy_into

                    copy_into(source[offset: offset + d.size], d)
                offset += d.size
        fill_value = 0
        if self.pad_value_input is not None and len(args) > self.pad_value_input:
            fill_value = np.asarray(args[self.pad_value_input]).reshape(()).item()
        outs = []
        for (shape, index_map), t in zip(self._maps_for(args), self.op.outputs):
            out = self.ctx.empty(shape, t.dtype.np, self.op)
            outs.append(gather(source, index_map, out, fill_value))
        return outs[0] if len(outs) == 1 else tuple(outs)


def _single_data_input(op, ctx):
    return IndexMapKernel(op, ctx, data_inputs=(0,))


register_cuda_kernel("Transpose", "Slice", "StridedSlice", "Tile", "BroadcastTo", "ReverseV2", "MirrorPad",
                     host_inputs=(1, 2, 3), accepts=_movable)(_single_data_input)
register_cuda_kernel("Unpack", accepts=_movable)(_single_data_input)
register_cuda_kernel("Pad", host_inputs=(1,), accepts=_movable)(
    lambda op, ctx: IndexMapKernel(op, ctx, (0,), pad_value_input=2))
register_cuda_kernel("PadV2", host_inputs=(1, 2), accepts=_movable)(
    lambda op, ctx: IndexMapKernel(op, ctx, (0,), pad_value_input=2))
register_cuda_kernel("GatherV2", host_inputs=(1, 2), accepts=_movable)(_single_data_input)
register_cuda_kernel("Split", host_inputs=(0,), accepts=_movable)(
    lambda op, ctx: IndexMapKernel(op, ctx, data_inputs=(1,)))
register_cuda_kernel("SplitV", host_inputs=(1, 2), accepts=_movable)(_single_data_input)


@register_cuda_kernel("ConcatV2", host_inputs=lambda op: (len(op.inputs) - 1,), accepts=_movable)
def concat(op, ctx):
    return IndexMapKernel(op, ctx, data_inputs=tuple(range(len(op.inputs) - 1)))


@register_cuda_kernel("Pack", accepts=_movable)
def pack(op, ctx):
    return IndexMapKernel(op, ctx, data_inputs=tuple(range(len(op.inputs))))


# -- fills -------------------------------------------------------------------------------------
@register_cuda_kernel("Fill", host_inputs=(0, 1))
def fill_op(op, ctx):
    dtype = op.outputs[0].dtype.np

    def run(dims, value):
        return fill(ctx.empty(tuple(int(d) for d in np.ravel(dims)), dtype, op), np.asarray(value).reshape(()).item())

    return run


@register_cuda_kernel("ZerosLike", "OnesLike")
def zeros_like(op, ctx):
    value = 1 if op.type == "OnesLike" else 0

    def run(x):
        return fill(ctx.empty(x.shape, x.dtype, op), value)

    return run
