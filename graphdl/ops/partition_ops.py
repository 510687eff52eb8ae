"""Data-dependent regrouping: ``unique`` / ``unique_with_counts``, ``dynamic_partition`` and ``dynamic_stitch``."""

from __future__ import annotations

import numpy as np

from graphdl import dtypes, errors
from graphdl.framework.op_def import define_op
from graphdl.framework.ops import convert_to_tensor, make_op, make_tensor
from graphdl.ops.math_ops import check_dtype

__all__ = ["dynamic_partition", "dynamic_stitch", "unique", "unique_with_counts"]

_INDEX_TYPES = (dtypes.int32, dtypes.int64)


# -- Unique / UniqueWithCounts --------------------------------------------------------------------------------
def _infer_unique(op):
    x = op.inputs[0]
    if x.shape.ndims not in (None, 1):
        raise ValueError(f"{op.type} '{op.name}': x must be a vector, got '{x.name}' of shape {x.shape}")
    out_idx = op.attrs["out_idx"]
    if out_idx not in _INDEX_TYPES:
        raise TypeError(f"{op.type}: out_idx must be int32 or int64, got {out_idx.name}")
    specs = [((None,), x.dtype), (x.shape.as_tuple() or (None,), out_idx)]
    return specs + ([((None,), out_idx)] if op.type == "UniqueWithCounts" else [])


def _unique_kernel(ctx, x):
    if x.ndim != 1:
        raise errors.InvalidArgumentError(None, ctx.op, f"{ctx.op.type} '{ctx.op.name}': x must be a vector, got "
                                                        f"shape {list(x.shape)}")
    _, first, inverse, counts = np.unique(x, return_index=True, return_inverse=True, return_counts=True)
    order = np.argsort(first, kind="stable")  # TF lists the values in the order they first occur
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    index_dtype = ctx.attrs["out_idx"].np
    y, idx = x[first[order]], rank[inverse.reshape(-1)].astype(index_dtype)
    if ctx.op.type == "UniqueWithCounts":
        return y, idx, counts[order].astype(index_dtype)
    return y, idx


define_op("Unique", infer=_infer_unique, kernel=_unique_kernel)
define_op("UniqueWithCounts", infer=_infer_unique, kernel=_unique_kernel)


def unique(x, out_idx=dtypes.int32, name=None):
    """The distinct values of the vector ``x`` in order of first occurrence, and for each entry of ``x`` the index
    of its value there: ``(y, idx)`` with ``x == gather(y, idx)``."""
    op = make_op("Unique", [convert_to_tensor(x, name="x")], {"out_idx": dtypes.as_dtype(out_idx)}, name=name or "Unique")
    return tuple(op.outputs)


def unique_with_counts(x, out_idx=dtypes.int32, name=None):
    """:func:`unique` plus how often each distinct value occurs: ``(y, idx, count)``."""
    op = make_op("UniqueWithCounts", [convert_to_tensor(x, name="x")], {"out_idx": dtypes.as_dtype(out_idx)},
                 name=name or "UniqueWithCounts")
    return tuple(op.outputs)


# -- DynamicPartition -----------------------------------------------------------------------------------------
def _infer_partition(op):
    data, partitions = op.inputs
    if partitions.dtype != dtypes.int32:
        raise TypeError(f"DynamicPartition: partitions '{partitions.name}' must be int32, got {partitions.dtype.name}")
    dd, pd = data.shape.as_tuple(), partitions.shape.as_tuple()
    rest = None
    if dd is not None and pd is not None:
        if len(pd) > len(dd) or not data.shape[:len(pd)].is_compatible_with(partitions.shape):
            raise ValueError(f"DynamicPartition '{op.name}': partitions.shape {partitions.shape} must be a prefix of "
                             f"data.shape {data.shape}")
        rest = dd[len(pd):]
    shape = None if rest is None else (None, *rest)
    return [(shape, data.dtype)] * op.attrs["num_partitions"]


def _partition_kernel(ctx, data, partitions):
    n = ctx.attrs["num_partitions"]
    if data.shape[:partitions.ndim] != partitions.shape:
        raise errors.InvalidArgumentError(
            None, ctx.op, f"DynamicPartition '{ctx.op.name}': data.shape {list(data.shape)} must start with "
                          f"partitions.shape {list(partitions.shape)}")
    bad = np.argwhere((partitions < 0) | (partitions >= n))
    if bad.size:
        pos = tuple(int(i) for i in bad[0])
        raise errors.InvalidArgumentError(
            None, ctx.op, f"DynamicPartition '{ctx.op.name}': partitions{list(pos)} = {partitions[pos]} is not in "
                          f"[0, {n})")
    flat_parts = partitions.reshape(-1)
    flat = data.reshape((flat_parts.size,) + data.shape[partitions.ndim:])
    return tuple(flat[flat_parts == i] for i in range(n))


def _partition_grad(op, *grads):
    """TF's rule: partition the positions of ``data`` the same way, then stitch the gradients back to them."""
    from graphdl.ops.array_ops import reshape, shape
    from graphdl.ops.range_ops import range as range_
    from graphdl.ops.range_ops import size

    data, partitions = op.inputs
    positions = reshape(range_(size(partitions)), shape(partitions))
    parts = dynamic_partition(positions, partitions, op.attrs["num_partitions"])
    stitched = dynamic_stitch(parts, list(grads))
    return [reshape(stitched, shape(data)), None]


define_op("DynamicPartition", infer=_infer_partition, kernel=_partition_kernel, grad=_partition_grad)


def dynamic_partition(data, partitions, num_partitions, name=None):
    """Split ``data`` into ``num_partitions`` tensors: output ``i`` holds the slices ``data[j...]`` with
    ``partitions[j...] == i``, in order."""
    if int(num_partitions) < 1:
        raise ValueError(f"dynamic_partition: num_partitions must be at least 1, got {num_partitions}")
    d = convert_to_tensor(data, name="data")
    p = convert_to_tensor(partitions, dtype_hint=dtypes.int32, name="partitions")
    check_dtype(p, (dtypes.int32,), "DynamicPartition", "partitions")
    op = make_op("DynamicPartition", [d, p], {"num_partitions": int(num_partitions)}, name=name or "DynamicPartition")
    return list(op.outputs)


# -- DynamicStitch --------------------------------------------------------------------------------------------
def _infer_stitch(op):
    n = len(op.inputs) // 2
    indices, data = op.inputs[:n], op.inputs[n:]
    rest = None
    for i, (idx, d) in enumerate(zip(indices, data)):
        if idx.dtype != dtypes.int32:
            raise TypeError(f"DynamicStitch: indices[{i}] '{idx.name}' must be int32, got {idx.dtype.name}")
        if d.dtype != data[0].dtype:
            raise TypeError(f"DynamicStitch: data[{i}] has dtype {d.dtype.name}, data[0] {data[0].dtype.name}")
        dd, idd = d.shape.as_tuple(), idx.shape.as_tuple()
        if dd is None or idd is None:
            continue
        if len(idd) > len(dd) or not d.shape[:len(idd)].is_compatible_with(idx.shape):
            raise ValueError(f"DynamicStitch '{op.name}': data[{i}].shape {d.shape} must start with indices[{i}].shape "
                             f"{idx.shape}")
        here = dd[len(idd):]
        if rest is not None and len(here) == len(rest):
            here = tuple(a if a is not None else b for a, b in zip(here, rest))
        elif rest is not None:
            raise ValueError(f"DynamicStitch '{op.name}': data[{i}] has inner shape {here}, data[0] {rest}")
        rest = here
    from graphdl.framework.constant_value import constant_value

    values = [constant_value(idx) for idx in indices]
    first = None
    if all(v is not None for v in values):
        first = max((int(np.max(v)) for v in values if np.size(v)), default=-1) + 1
    return [(None if rest is None else (first, *rest), data[0].dtype)]


def _stitch_kernel(ctx, *args):
    n = len(args) // 2
    indices, data = args[:n], args[n:]
    inner = None
    flat_indices, flat_values = [], []
    for i, (idx, d) in enumerate(zip(indices, data)):
        if d.shape[:idx.ndim] != idx.shape:
            raise errors.InvalidArgumentError(
                None, ctx.op, f"DynamicStitch '{ctx.op.name}': data[{i}].shape {list(d.shape)} must start with "
                              f"indices[{i}].shape {list(idx.shape)}")
        inner = d.shape[idx.ndim:] if inner is None else inner
        flat_indices.append(idx.reshape(-1))
        flat_values.append(d.reshape((-1,) + inner))
    all_indices = np.concatenate(flat_indices) if flat_indices else np.zeros(0, np.int32)
    values = np.concatenate(flat_values) if flat_values else np.zeros((0,), data[0].dtype)
    if all_indices.size and all_indices.min() < 0:
        raise errors.InvalidArgumentError(None, ctx.op, f"DynamicStitch '{ctx.op.name}': negative index "
                                                        f"{all_indices.min()}")
    out = np.zeros((int(all_indices.max()) + 1 if all_indices.size else 0,) + inner, dtype=data[0].dtype)
    # A repeated index takes the value that comes last (in data order), as TF specifies.
    reversed_indices = all_indices[::-1]
    unique_indices, first_in_reversed = np.unique(reversed_indices, return_index=True)
    out[unique_indices] = values[len(all_indices) - 1 - first_in_reversed]
    return out


def _stitch_grad(op, grad):
    """As TF: each data slice receives the gradient at its index (also a slice a later one overwrote)."""
    from graphdl.ops.indexing_ops import gather

    n = len(op.inputs) // 2
    return [None] * n + [gather(grad, idx) for idx in op.inputs[:n]]


define_op("DynamicStitch", infer=_infer_stitch, kernel=_stitch_kernel, grad=_stitch_grad)


def dynamic_stitch(indices, data, name=None):
    """Interleave the ``data`` tensors into one: ``merged[indices[m][i...], ...] = data[m][i..., ...]``.

    The result has ``max(indices) + 1`` rows; where indices repeat, the last slice wins.
    """
    indices, data = list(indices), list(data)
    if len(indices) != len(data) or not indices:
        raise ValueError(f"dynamic_stitch: needs as many indices as data tensors (at least one), got {len(indices)} "
                         f"and {len(data)}")
    idx = [convert_to_tensor(i, dtype_hint=dtypes.int32, name="indices") for i in indices]
    for i in idx:
        check_dtype(i, (dtypes.int32,), "DynamicStitch", "indices")
    values = [convert_to_tensor(d, name="data") for d in data]
    return make_tensor("DynamicStitch", idx + values, name=name or "DynamicStitch")
