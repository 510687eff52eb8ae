"""Slicing and indexing: slice, strided_slice (``t[...]``), gather, gather_nd, scatter_nd, segment sums, masks."""

from __future__ import annotations

import builtins

import numpy as np

from graphdl import dtypes
from graphdl.framework import strided_slice_spec as spec
from graphdl.framework.constant_value import constant_value, constant_value_as_shape
from graphdl.framework.op_def import define_op
from graphdl.framework.ops import constant_tensor, convert_to_tensor, is_tensor_like, make_tensor, name_scope
from graphdl.framework.tensor_shape import TensorShape
from graphdl.ops import array_ops
from graphdl.ops.layout_ops import INDEX_DTYPES, int_input, known_ints, pad, require_int, shape_of

__all__ = [
    "batch_gather", "boolean_mask", "gather", "gather_nd", "newaxis", "scatter_nd", "slice", "strided_slice",
    "unsorted_segment_sum",
]

# ``x[:, tf.newaxis]`` inserts a dim of size 1, as in TF1 (and NumPy).
newaxis = None


def _index_input(value, what, op_type):
    """An int32/int64 index tensor; TypeError (as TF1 raises at op creation) for other dtypes."""
    t = int_input(value, what)
    if t.dtype not in INDEX_DTYPES:
        raise TypeError(f"Value passed to parameter '{what}' of {op_type} has DataType {t.dtype.name} not in list of "
                        f"allowed values: int32, int64")
    return t


def _vector_values(op, t, what):
    """Entries of a 1-D int input (None where unknown), or None when its length is unknown."""
    require_int(op, t, what)
    if t.shape.ndims not in (None, 1):
        raise ValueError(f"'{what}' of {op.type} must be a vector, got shape {t.shape}")
    return known_ints(t)


# -- Slice ----------------------------------------------------------------------------------------
def _slice_dims(dims, begin, size):
    """Output dims of Slice; validates known entries as TF does."""
    out = []
    for i, (d, b, s) in enumerate(zip(dims, begin, size)):
        if d is not None and b is not None and not 0 <= b <= d:
            raise ValueError(f"Expected begin[{i}] in [0, {d}], but got {b}")
        if s == -1:
            out.append(None if d is None or b is None else d - b)
            continue
        if s is not None and (s < 0 or (d is not None and b is not None and b + s > d)):
            hi = "?" if d is None or b is None else d - b
            raise ValueError(f"Expected size[{i}] in [0, {hi}], but got {s}")
        out.append(s)
    return tuple(out)


def _infer_slice(op):
    x, begin_t, size_t = op.inputs
    begin, size = _vector_values(op, begin_t, "begin"), _vector_values(op, size_t, "size")
    dims = x.shape.as_tuple()
    n = next((len(v) for v in (dims, begin, size) if v is not None), None)
    if n is None:
        return [(None, x.dtype)]
    for what, v in (("begin", begin), ("size", size)):
        if v is not None and len(v) != n:
            raise ValueError(f"Expected {what} to have {n} entries (the input rank), got {len(v)}")
    return [(_slice_dims(dims or (None,) * n, begin or [None] * n, size or [None] * n), x.dtype)]


def _slice_kernel(ctx, x, begin, size):
    if len(begin) != x.ndim or len(size) != x.ndim:
        raise ValueError(f"Expected begin and size to have {x.ndim} entries, got {len(begin)} and {len(size)}")
    out = _slice_dims(x.shape, [int(b) for b in begin], [int(s) for s in size])
    return x[tuple(builtins.slice(int(b), int(b) + n) for b, n in zip(begin, out))]


def _slice_grad(op, dy):
    from graphdl.ops.math_ops import subtract

    x, begin, _ = op.inputs
    b = constant_value(begin)
    if b is not None and x.shape.is_fully_defined() and dy.shape.is_fully_defined():
        b = np.ravel(b)
        after = np.asarray(x.shape.as_list()) - b - np.asarray(dy.shape.as_list())
        paddings = np.stack([b, after], axis=1).astype(begin.dtype.np)
    else:
        after = subtract(subtract(shape_of(x, begin.dtype), begin), shape_of(dy, begin.dtype))
        paddings = array_ops.stack([begin, after], axis=1)
    return [pad(dy, paddings), None, None]


define_op("Slice", infer=_infer_slice, kernel=_slice_kernel, grad=_slice_grad)


def slice(input_, begin, size, name=None):
    """The ``size``-shaped block of ``input_`` starting at ``begin`` (``size[i] = -1``: to the end of dim i)."""
    x = convert_to_tensor(input_)
    return make_tensor("Slice", [x, int_input(begin, "begin"), int_input(size, "size")], name=name or "Slice")


# -- StridedSlice / StridedSliceGrad -----------------------------------------------------------
def _spec_values(op, inputs):
    """The begin/end/strides inputs as lists (None entries unknown), or None when their length is unknown."""
    values = [_vector_values(op, t, what) for t, what in zip(inputs, ("begin", "end", "strides"))]
    if len({t.dtype for t in inputs}) > 1:
        raise TypeError(f"begin, end and strides of {op.type} must share a dtype, got "
                        f"{', '.join(t.dtype.name for t in inputs)}")
    lengths = {len(v) for v in values if v is not None}
    if len(lengths) > 1:
        raise ValueError(f"Expected begin, end, and strides to be 1D equal size tensors, got lengths {sorted(lengths)}")
    if not lengths:
        return None
    n = lengths.pop()
    return [v if v is not None else [None] * n for v in values]


def _infer_strided_slice(op):
    x = op.inputs[0]
    values = _spec_values(op, op.inputs[1:])
    if values is None:
        return [(None, x.dtype)]
    return [(spec.output_shape(x.shape.as_tuple(), *values, op.attrs), x.dtype)]


def _runtime_index(shape, begin, end, strides, attrs):
    b, e, s = ([int(v) for v in a] for a in (begin, end, strides))
    if not len(b) == len(e) == len(s):
        raise ValueError(f"Expected begin, end, and strides to be 1D equal size tensors, got {len(b)}, {len(e)}, {len(s)}")
    spec.output_shape(tuple(shape), b, e, s, attrs)
    return spec.strided_slice_index(b, e, s, attrs)


def _strided_slice_kernel(ctx, x, begin, end, strides):
    return np.asarray(x[_runtime_index(x.shape, begin, end, strides, ctx.attrs)])


def _mask_attrs(op):
    return {k: op.attrs.get(k, 0) for k in spec.MASK_ATTRS}


def _strided_slice_grad(op, dy):
    x, begin, end, strides = op.inputs
    grad = make_tensor("StridedSliceGrad", [shape_of(x, begin.dtype), begin, end, strides, dy], _mask_attrs(op),
                       name="StridedSliceGrad")
    return [grad, None, None, None]


define_op("StridedSlice", infer=_infer_strided_slice, kernel=_strided_slice_kernel, grad=_strided_slice_grad)


def _infer_strided_slice_grad(op):
    shape_t, dy = op.inputs[0], op.inputs[4]
    _spec_values(op, op.inputs[1:4])
    return [(constant_value_as_shape(shape_t).as_tuple(), dy.dtype)]


def _strided_slice_grad_kernel(ctx, shape, begin, end, strides, dy):
    """Scatter ``dy`` into zeros of the sliced input's shape."""
    out = np.zeros(tuple(int(d) for d in shape), dtype=dy.dtype)
    out[_runtime_index(out.shape, begin, end, strides, ctx.attrs)] = dy
    return out


define_op(
    "StridedSliceGrad",
    infer=_infer_strided_slice_grad,
    kernel=_strided_slice_grad_kernel,
    grad=lambda op, g: [None, None, None, None, strided_slice(g, *op.inputs[1:4], **_mask_attrs(op))],
)


def strided_slice(input_, begin, end, strides=None, begin_mask=0, end_mask=0, ellipsis_mask=0, new_axis_mask=0,
                  shrink_axis_mask=0, var=None, name=None):
    """``input_[begin:end:strides]`` per dim, with TF's bit masks (``Tensor.__getitem__`` is the friendly form).

    ``var`` is accepted for TF1 signature compatibility; sliced variable assignment is not provided.
    """
    x = convert_to_tensor(input_)
    begin_t, end_t = int_input(begin, "begin"), int_input(end, "end")
    if strides is None:
        strides_t = array_ops.ones_like(begin_t, name="strides")
    else:
        strides_t = int_input(strides, "strides")
    attrs = {"begin_mask": int(begin_mask), "end_mask": int(end_mask), "ellipsis_mask": int(ellipsis_mask),
             "new_axis_mask": int(new_axis_mask), "shrink_axis_mask": int(shrink_axis_mask)}
    return make_tensor("StridedSlice", [x, begin_t, end_t, strides_t], attrs, name=name or "StridedSlice")


def _pack(values, dtype, name):
    """A 1-D index vector of ``dtype`` from Python ints and scalar tensors."""
    if not any(is_tensor_like(v) for v in values):
        return constant_tensor(np.asarray(values, dtype=dtype.np).reshape(-1), name=name)
    from graphdl.ops.math_ops import cast

    items = [cast(convert_to_tensor(v), dtype) if is_tensor_like(v) else np.asarray(v, dtype.np) for v in values]
    return array_ops.stack(items, name=name)


def tensor_getitem(tensor, key):
    """``tensor[key]`` with NumPy basic indexing (ints, slices, ``...``, None, scalar int tensors), as TF1."""
    begin, end, strides, masks = spec.parse_getitem_key(key)
    x = convert_to_tensor(tensor)
    tensors = [v if not isinstance(v, tuple) else v[1] for v in begin + end + strides if not isinstance(v, int)]
    dtype = dtypes.int64 if any(convert_to_tensor(t).dtype == dtypes.int64 for t in tensors) else dtypes.int32
    with name_scope(None, "strided_slice", [x] + tensors) as scope:
        end = [v[1] + 1 if isinstance(v, tuple) else v for v in end]
        vectors = [_pack(v, dtype, nm) for v, nm in ((begin, "stack"), (end, "stack_1"), (strides, "stack_2"))]
        return strided_slice(x, *vectors, **masks, name=scope)


# -- GatherV2 ---------------------------------------------------------------------------------
def _batch_dims(batch_dims, indices_rank):
    b = batch_dims + indices_rank if batch_dims < 0 else batch_dims
    if not 0 <= b <= indices_rank:
        raise ValueError(f"batch_dims ({batch_dims}) must be in [{-indices_rank}, {indices_rank}] for indices of "
                         f"rank {indices_rank}")
    return b


def _infer_gather(op):
    params, indices, axis_t = op.inputs
    require_int(op, indices, "indices")
    require_int(op, axis_t, "axis")
    if axis_t.shape.ndims not in (None, 0):
        raise ValueError(f"axis must be a scalar, got shape {axis_t.shape}")
    pd, idd = params.shape.as_tuple(), indices.shape.as_tuple()
    if pd is None or idd is None:
        return [(None, params.dtype)]
    b = _batch_dims(op.attrs["batch_dims"], len(idd))
    a = constant_value(axis_t)
    if a is None:
        return [((None,) * (len(pd) + len(idd) - 1 - b), params.dtype)]
    a = int(a)
    if not -len(pd) <= a < len(pd):
        raise ValueError(f"Expected axis in the range [{-len(pd)}, {len(pd)}), but got {a}")
    a %= len(pd)
    if b > a:
        raise ValueError(f"batch_dims ({b}) must be less than or equal to axis ({a})")
    batch = [p if p is not None else i for p, i in zip(pd[:b], idd[:b])]
    for i, (p, q) in enumerate(zip(pd[:b], idd[:b])):
        if None not in (p, q) and p != q:
            raise ValueError(f"params.shape[{i}] ({p}) must equal indices.shape[{i}] ({q}) for batch_dims={b}")
    return [(tuple(batch) + pd[b:a] + idd[b:] + pd[a + 1:], params.dtype)]


def check_index_range(indices, limit, what="indices"):
    """Raise ValueError naming the first entry of ``indices`` outside ``[0, limit)``."""
    bad = np.argwhere((indices < 0) | (indices >= limit))
    if bad.size:
        pos = tuple(int(i) for i in bad[0])
        where = ",".join(str(i) for i in pos) if pos else ""
        raise ValueError(f"{what}[{where}] = {indices[pos]} is not in [0, {limit})")


def _gather_kernel(ctx, params, indices, axis):
    b = _batch_dims(ctx.attrs["batch_dims"], indices.ndim)
    a = int(axis) % params.ndim
    check_index_range(indices, params.shape[a])
    if b == 0:
        return np.take(params, indices, axis=a)
    out = np.empty(params.shape[:a] + indices.shape[b:] + params.shape[a + 1:], dtype=params.dtype)
    for idx in np.ndindex(*params.shape[:b]):
        out[idx] = np.take(params[idx], indices[idx], axis=a - b)
    return out


def _gather_grad(op, dy):
    params, indices, axis_t = op.inputs
    b, a = op.attrs["batch_dims"], constant_value(axis_t)
    rank = params.shape.ndims
    if b == 0 and a is not None and (int(a) == 0 or (rank is not None and int(a) == -rank)):
        num = params.shape.as_tuple()[0] if rank else None
        num = num if num is not None else shape_of(params, indices.dtype)[0]
        return [unsorted_segment_sum(dy, indices, num), None, None]
    grad = make_tensor("GatherGrad", [shape_of(params, indices.dtype), indices, axis_t, dy], {"batch_dims": b},
                       name="GatherGrad")
    return [grad, None, None]


define_op("GatherV2", infer=_infer_gather, kernel=_gather_kernel, grad=_gather_grad)


def _gather_grad_kernel(ctx, shape, indices, axis, dy):
    """Sum ``dy`` into zeros shaped like the gathered params (the dense gradient of GatherV2)."""
    out = np.zeros(tuple(int(d) for d in shape), dtype=dy.dtype)
    b = _batch_dims(ctx.attrs["batch_dims"], indices.ndim)
    a, ri = int(axis) % out.ndim - b, indices.ndim - b

    def scatter(o, i, g):
        np.add.at(np.moveaxis(o, a, 0), i, np.moveaxis(g, list(range(a, a + ri)), list(range(ri))))

    if b == 0:
        scatter(out, indices, dy)
    else:
        for idx in np.ndindex(*out.shape[:b]):
            scatter(out[idx], indices[idx], dy[idx])
    return out


define_op(
    "GatherGrad",
    infer=lambda op: [(constant_value_as_shape(op.inputs[0]).as_tuple(), op.inputs[3].dtype)],
    kernel=_gather_grad_kernel,
    grad=lambda op, g: [None, None, None, gather(g, op.inputs[1], axis=op.inputs[2], batch_dims=op.attrs["batch_dims"])],
)


def gather(params, indices, validate_indices=None, name=None, axis=None, batch_dims=0):
    """Entries of ``params`` along ``axis`` at ``indices`` (out-of-range indices are an error at run time)."""
    p, i = convert_to_tensor(params), _index_input(indices, "indices", "GatherV2")
    axis = batch_dims if axis is None else axis
    return make_tensor("GatherV2", [p, i, int_input(axis, "axis")], {"batch_dims": int(batch_dims)},
                       name=name or "GatherV2")


def batch_gather(params, indices, name=None):
    """Gather along the first non-batch dim: ``result[b..., j] = params[b..., indices[b..., j]]``."""
    i = convert_to_tensor(indices)
    if i.shape.ndims is None:
        raise ValueError("batch_gather does not allow indices with unknown rank.")
    r = i.shape.ndims - 1
    return gather(params, i, axis=r, batch_dims=r, name=name or "batch_gather")


# -- UnsortedSegmentSum / GatherDropNegatives ------------------------------------------------
def _infer_segment_sum(op):
    data, ids, num = op.inputs
    require_int(op, ids, "segment_ids")
    require_int(op, num, "num_segments")
    if num.shape.ndims not in (None, 0):
        raise ValueError(f"num_segments should be a scalar, got shape {num.shape}")
    dd, sd = data.shape.as_tuple(), ids.shape.as_tuple()
    if dd is None or sd is None:
        return [(None, data.dtype)]
    if len(sd) > len(dd) or not data.shape[:len(sd)].is_compatible_with(ids.shape):
        raise ValueError(f"segment_ids.shape = {ids.shape} does not match a prefix of data.shape = {data.shape}")
    n = constant_value(num)
    return [((None if n is None else int(n),) + dd[len(sd):], data.dtype)]


def _segment_sum_kernel(ctx, data, ids, num):
    n = int(num)
    if data.shape[:ids.ndim] != ids.shape:
        raise ValueError(f"data.shape = {list(data.shape)} does not start with segment_ids.shape = {list(ids.shape)}")
    flat_ids = ids.reshape(-1)
    too_big = np.flatnonzero(flat_ids >= n)
    if too_big.size:
        pos = np.unravel_index(too_big[0], ids.shape)
        raise ValueError(f"segment_ids[{','.join(map(str, pos))}] = {flat_ids[too_big[0]]} is out of range [0, {n})")
    flat = data.reshape((flat_ids.size,) + data.shape[ids.ndim:])
    out = np.zeros((n,) + data.shape[ids.ndim:], dtype=data.dtype)
    keep = flat_ids >= 0
    np.add.at(out, flat_ids[keep], flat[keep])
    return out


define_op(
    "UnsortedSegmentSum",
    infer=_infer_segment_sum,
    kernel=_segment_sum_kernel,
    grad=lambda op, dy: [make_tensor("GatherDropNegatives", [dy, op.inputs[1]], name="GatherDropNegatives"), None,
                         None],
)


def _infer_gather_drop_negatives(op):
    params, ids = op.inputs
    pd, sd = params.shape.as_tuple(), ids.shape.as_tuple()
    return [(None if pd is None or sd is None else sd + pd[1:], params.dtype)]


def _gather_drop_negatives_kernel(ctx, params, ids):
    """``params[ids]`` with zeros where an id is negative (the gradient of UnsortedSegmentSum)."""
    check_index_range(np.maximum(ids, 0), params.shape[0], "segment_ids")
    out = params[np.maximum(ids, 0)]
    out[ids < 0] = 0
    return out


define_op(
    "GatherDropNegatives",
    infer=_infer_gather_drop_negatives,
    kernel=_gather_drop_negatives_kernel,
    grad=lambda op, g: [unsorted_segment_sum(g, op.inputs[1], shape_of(op.inputs[0], op.inputs[1].dtype)[0]), None],
)


def unsorted_segment_sum(data, segment_ids, num_segments, name=None):
    """``out[k] = sum of data[i...] over i with segment_ids[i...] == k`` (negative ids are dropped)."""
    d = convert_to_tensor(data)
    return make_tensor("UnsortedSegmentSum", [d, _index_input(segment_ids, "segment_ids", "UnsortedSegmentSum"),
                                              int_input(num_segments, "num_segments")],
                       name=name or "UnsortedSegmentSum")


# -- GatherNd / ScatterNd ----------------------------------------------------------------------
def _check_nd_indices(indices, shape, what):
    k = indices.shape[-1]
    if k > len(shape):
        raise ValueError(f"indices.shape[-1] must be <= {what} rank, but saw indices shape: {list(indices.shape)} "
                         f"and {what} shape: {list(shape)}")
    flat = indices.reshape(-1, k)
    bad = np.flatnonzero(((flat < 0) | (flat >= np.asarray(shape[:k], dtype=np.int64))).any(axis=1))
    if bad.size:
        pos = np.unravel_index(bad[0], indices.shape[:-1])
        raise ValueError(f"indices[{','.join(map(str, pos))}] = {flat[bad[0]].tolist()} does not index into "
                         f"{what} shape {list(shape)}")
    return tuple(np.moveaxis(indices, -1, 0))


def _infer_gather_nd(op):
    params, indices = op.inputs
    require_int(op, indices, "indices")
    pd, idd = params.shape.as_tuple(), indices.shape.as_tuple()
    if idd is not None and len(idd) == 0:
        raise ValueError("indices must be at least a vector (its last dim indexes into params)")
    if pd is None or idd is None or idd[-1] is None:
        return [(None, params.dtype)]
    if idd[-1] > len(pd):
        raise ValueError(f"indices.shape[-1] must be <= params.rank, but saw indices shape: {indices.shape} "
                         f"and params shape: {params.shape}")
    return [(idd[:-1] + pd[idd[-1]:], params.dtype)]


def _gather_nd_kernel(ctx, params, indices):
    idx = _check_nd_indices(indices, params.shape, "param")
    if not idx:
        return np.broadcast_to(params, indices.shape[:-1] + params.shape).copy()
    return params[idx]


define_op(
    "GatherNd",
    infer=_infer_gather_nd,
    kernel=_gather_nd_kernel,
    grad=lambda op, dy: [scatter_nd(op.inputs[1], dy, shape_of(op.inputs[0], op.inputs[1].dtype)), None],
)


def gather_nd(params, indices, name=None, batch_dims=0):
    """Slices of ``params`` at the index tuples in the last dim of ``indices``."""
    p, i = convert_to_tensor(params), _index_input(indices, "indices", "GatherNd")
    if batch_dims == 0:
        return make_tensor("GatherNd", [p, i], name=name or "GatherNd")
    return _batch_gather_nd(p, i, int(batch_dims), name)


def _batch_gather_nd(params, indices, b, name):
    """gather_nd with ``b`` leading batch dims: prepend each entry's batch coordinates to its index tuple."""
    from graphdl.ops.layout_ops import concat
    from graphdl.ops.math_ops import cast
    from graphdl.ops.range_ops import range as range_

    with name_scope(name, "GatherNd", [params, indices]):
        if indices.shape.ndims is None:
            raise ValueError("gather_nd with batch_dims needs indices of known rank")
        ishape = shape_of(indices, indices.dtype)
        coords = []
        for d in range(b):
            size = ishape[d]
            dims = [1] * indices.shape.ndims
            dims[d] = -1
            coord = array_ops.reshape(cast(range_(0, size), indices.dtype), dims)
            coords.append(array_ops.broadcast_to(coord, concat([ishape[:-1], [1]], 0)))
        full = concat(coords + [indices], axis=-1)
        return make_tensor("GatherNd", [params, full], name="GatherNd")


def _infer_scatter_nd(op):
    indices, updates, shape_t = op.inputs
    require_int(op, indices, "indices")
    require_int(op, shape_t, "shape")
    out = constant_value_as_shape(shape_t)
    idd, ud, od = indices.shape.as_tuple(), updates.shape.as_tuple(), out.as_tuple()
    if None not in (idd, ud, od) and idd and idd[-1] is not None:
        k, outer = idd[-1], len(idd) - 1
        if k > len(od):
            raise ValueError(f"indices.shape[-1] must be <= the output rank, but saw indices shape {indices.shape} "
                             f"and shape {out}")
        want = TensorShape(idd[:-1] + od[k:])
        if not want.is_compatible_with(updates.shape):
            raise ValueError(f"updates.shape {updates.shape} must be indices.shape[:-1] + shape[indices.shape[-1]:] "
                             f"= {want} (the outer {outer} dims from indices {indices.shape}, the inner from shape {out})")
    return [(od, updates.dtype)]


def _scatter_nd_kernel(ctx, indices, updates, shape):
    shape = tuple(int(d) for d in shape)
    idx = _check_nd_indices(indices, shape, "output")
    k = indices.shape[-1]
    want = indices.shape[:-1] + shape[k:]
    if updates.shape != want:
        raise ValueError(f"updates must have shape {list(want)} (indices.shape[:-1] + shape[{k}:]), "
                         f"got {list(updates.shape)}")
    out = np.zeros(shape, dtype=updates.dtype)
    if not idx:
        return out + updates.reshape((-1,) + shape).sum(axis=0)
    np.add.at(out, idx, updates)
    return out


define_op(
    "ScatterNd",
    infer=_infer_scatter_nd,
    kernel=_scatter_nd_kernel,
    grad=lambda op, dy: [None, gather_nd(dy, op.inputs[0]), None],
)


def scatter_nd(indices, updates, shape, name=None):
    """Zeros of ``shape`` with ``updates`` summed in at ``indices`` (index tuples in the last dim)."""
    i = _index_input(indices, "indices", "ScatterNd")
    return make_tensor("ScatterNd", [i, convert_to_tensor(updates), int_input(shape, "shape")],
                       name=name or "ScatterNd")


# -- boolean_mask ---------------------------------------------------------------------------------
def boolean_mask(tensor, mask, name="boolean_mask", axis=None):
    """The entries of ``tensor`` where ``mask`` is True; ``mask`` covers dims ``axis..axis+mask.ndim`` (1-D result there)."""
    from graphdl.ops.layout_ops import concat, squeeze
    from graphdl.ops.math_ops import where

    with name_scope(name, "boolean_mask", [tensor, mask]):
        x, m = convert_to_tensor(tensor), convert_to_tensor(mask)
        if not m.dtype.is_bool:
            raise TypeError(f"boolean_mask: mask '{m.name}' must be bool, got {m.dtype.name}")
        k = m.shape.ndims
        if k is None:
            raise ValueError("Number of mask dimensions must be specified, even if some dimensions are None. "
                             "E.g. shape=[None] is ok, but shape=None is not.")
        if k == 0:
            raise ValueError("mask cannot be scalar.")
        axis = 0 if axis is None else int(axis)
        rank = x.shape.ndims
        if axis < 0:
            if rank is None:
                raise ValueError("boolean_mask with a negative axis needs a tensor of known rank")
            axis += rank
        dims = x.shape.as_tuple()
        if dims is not None and not x.shape[axis:axis + k].is_compatible_with(m.shape):
            raise ValueError(f"boolean_mask: mask shape {m.shape} is incompatible with dims {axis}..{axis + k - 1} "
                             f"of tensor shape {x.shape}")
        if dims is not None and all(d is not None for i, d in enumerate(dims) if not axis <= i < axis + k):
            new_shape = list(dims[:axis]) + [-1] + list(dims[axis + k:])
        else:
            full = array_ops.shape(x)
            new_shape = concat([full[:axis], [-1], full[axis + k:]], 0)
        flat = array_ops.reshape(x, new_shape)
        if dims is not None:
            leading = x.shape[axis:axis + k].num_elements()
            flat.set_shape(dims[:axis] + (leading,) + dims[axis + k:])
        indices = squeeze(where(array_ops.reshape(m, [-1])), axis=[1])
        return gather(flat, indices, axis=axis)
