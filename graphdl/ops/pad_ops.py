"""Padding and reversal ops: pad (CONSTANT, REFLECT, SYMMETRIC), reverse and reverse_sequence."""

from __future__ import annotations

import numpy as np

from graphdl.framework.constant_value import constant_value
from graphdl.framework.op_def import define_op
from graphdl.framework.ops import constant_tensor, convert_to_tensor, make_tensor
from graphdl.ops.layout_ops import int_input, require_int, shape_of

__all__ = ["pad", "reverse", "reverse_sequence", "reverse_v2"]


# -- Pad / PadV2 / MirrorPad ----------------------------------------------------------------------
def _check_paddings(pads, dims, mode):
    """Validate a [rank, 2] padding array (and its fit against ``dims`` for the mirror modes)."""
    for i, (b, a) in enumerate(pads):
        if b < 0 or a < 0:
            raise ValueError(f"Paddings must be non-negative: paddings[{i}] = [{b}, {a}]")
        d = dims[i]
        if d is None:
            continue
        if mode == "REFLECT" and (b >= d or a >= d):
            raise ValueError(f"paddings must be less than the dimension size: {b}, {a} not less than {d} "
                             f"(dim {i}, REFLECT mode)")
        if mode == "SYMMETRIC" and (b > d or a > d):
            raise ValueError(f"paddings must be no greater than the dimension size: {b}, {a} greater than {d} "
                             f"(dim {i}, SYMMETRIC mode)")


def _infer_pad(op):
    x, paddings = op.inputs[0], op.inputs[1]
    require_int(op, paddings, "paddings")
    pdims = paddings.shape.as_tuple()
    if pdims is not None and (len(pdims) != 2 or pdims[1] not in (None, 2)):
        raise ValueError(f"paddings must be a matrix of shape [rank, 2], got shape {paddings.shape}")
    if op.type == "PadV2" and op.inputs[2].shape.ndims not in (None, 0):
        raise ValueError(f"constant_values must be a scalar, got shape {op.inputs[2].shape}")
    dims = x.shape.as_tuple()
    rows = pdims[0] if pdims is not None else None
    if dims is not None and rows is not None and rows != len(dims):
        raise ValueError(f"The first dimension of paddings must be the rank of inputs: paddings has shape "
                         f"{paddings.shape} but the input has rank {len(dims)}")
    rank = len(dims) if dims is not None else rows
    if rank is None:
        return [(None, x.dtype)]
    dims = dims if dims is not None else (None,) * rank
    pads = constant_value(paddings)
    if pads is None:
        return [((None,) * rank, x.dtype)]
    pads = np.asarray(pads).reshape(rank, 2).tolist()
    _check_paddings(pads, dims, op.attrs.get("mode", "CONSTANT"))
    return [(tuple(None if d is None else d + b + a for d, (b, a) in zip(dims, pads)), x.dtype)]


def _pad_kernel(ctx, x, paddings, constant_values=0):
    pads = np.asarray(paddings).reshape(-1, 2).tolist()
    if len(pads) != x.ndim:
        raise ValueError(f"The first dimension of paddings must be the rank of inputs: {len(pads)} vs rank {x.ndim}")
    mode = ctx.attrs.get("mode", "CONSTANT")
    _check_paddings(pads, x.shape, mode)
    if mode == "CONSTANT":
        return np.pad(x, pads, mode="constant", constant_values=constant_values)
    return np.pad(x, pads, mode=mode.lower())


def _pad_grad(op, dy):
    from graphdl.ops.indexing_ops import slice as slice_
    from graphdl.ops.indexing_ops import tensor_getitem

    x, paddings = op.inputs[0], op.inputs[1]
    pads = constant_value(paddings)
    if pads is not None:
        begin = constant_tensor(np.asarray(pads).reshape(-1, 2)[:, 0].astype(paddings.dtype.np), name="begin")
    else:
        begin = tensor_getitem(paddings, (slice(None), 0))
    grad = slice_(dy, begin, shape_of(x, paddings.dtype))
    return [grad] + [None] * (len(op.inputs) - 1)


define_op("Pad", infer=_infer_pad, kernel=_pad_kernel, grad=_pad_grad)
define_op("PadV2", infer=_infer_pad, kernel=_pad_kernel, grad=_pad_grad)
define_op("MirrorPad", infer=_infer_pad, kernel=_pad_kernel,
          grad=lambda op, dy: [make_tensor("MirrorPadGrad", [dy, op.inputs[1]], {"mode": op.attrs["mode"]},
                                           name="MirrorPadGrad"), None])


def _infer_mirror_pad_grad(op):
    dy, paddings = op.inputs
    dims, pads = dy.shape.as_tuple(), constant_value(paddings)
    if dims is None:
        return [(None, dy.dtype)]
    if pads is None:
        return [((None,) * len(dims), dy.dtype)]
    pads = np.asarray(pads).reshape(-1, 2).tolist()
    return [(tuple(None if d is None else d - b - a for d, (b, a) in zip(dims, pads)), dy.dtype)]


def _mirror_pad_grad_kernel(ctx, dy, paddings):
    """Fold the mirrored borders of ``dy`` back onto the positions they were copied from."""
    mode = ctx.attrs["mode"].lower()
    out = dy
    for axis, (b, a) in enumerate(np.asarray(paddings).reshape(-1, 2).tolist()):
        n = out.shape[axis] - b - a
        source = np.pad(np.arange(n), (b, a), mode=mode)
        acc = np.zeros(out.shape[:axis] + (n,) + out.shape[axis + 1:], dtype=out.dtype)
        np.add.at(np.moveaxis(acc, axis, 0), source, np.moveaxis(out, axis, 0))
        out = acc
    return out


define_op(
    "MirrorPadGrad",
    infer=_infer_mirror_pad_grad,
    kernel=_mirror_pad_grad_kernel,
    grad=lambda op, g: [make_tensor("MirrorPad", [g, op.inputs[1]], {"mode": op.attrs["mode"]}, name="MirrorPad"),
                        None],
)


def pad(tensor, paddings, mode="CONSTANT", name=None, constant_values=0):
    """Pad ``tensor``: ``paddings[i] = [before, after]`` for dim i; mode CONSTANT, REFLECT or SYMMETRIC."""
    x = convert_to_tensor(tensor)
    pads = int_input(paddings, "paddings")
    mode = str(mode).upper()
    if mode == "CONSTANT":
        if not hasattr(constant_values, "op") and not hasattr(constant_values, "_as_tensor") and \
                np.all(np.asarray(constant_values) == 0):
            return make_tensor("Pad", [x, pads], name=name or "Pad")
        value = convert_to_tensor(constant_values, dtype=x.dtype)
        return make_tensor("PadV2", [x, pads, value], name=name or "PadV2")
    if mode in ("REFLECT", "SYMMETRIC"):
        return make_tensor("MirrorPad", [x, pads], {"mode": mode}, name=name or "MirrorPad")
    raise ValueError(f"Unknown padding mode: {mode} (expected CONSTANT, REFLECT or SYMMETRIC)")


# -- ReverseV2 / ReverseSequence ----------------------------------------------------------------
def _reverse_axes(axes, rank):
    out = []
    for i, a in enumerate(axes):
        if not -rank <= a < rank:
            raise ValueError(f"'axis'[{i}] = {a} is out of valid range [{-rank}, {rank - 1}]")
        if a % rank in out:
            raise ValueError(f"axis {a % rank} specified more than once in reverse axes {list(axes)}")
        out.append(a % rank)
    return tuple(out)


def _infer_reverse(op):
    x, axis = op.inputs
    require_int(op, axis, "axis")
    if axis.shape.ndims not in (None, 1):
        raise ValueError(f"'axis' must be a vector, got shape {axis.shape}")
    value = constant_value(axis)
    if value is not None and x.shape.ndims is not None:
        _reverse_axes([int(a) for a in np.ravel(value)], x.shape.ndims)
    return [(x.shape.as_tuple(), x.dtype)]


define_op(
    "ReverseV2",
    infer=_infer_reverse,
    kernel=lambda ctx, x, axis: np.flip(x, _reverse_axes([int(a) for a in axis], x.ndim)) if axis.size else x,
    grad=lambda op, dy: [reverse(dy, op.inputs[1]), None],
)


def reverse(tensor, axis, name=None):
    """``tensor`` with the order of elements reversed along each dim in ``axis``."""
    return make_tensor("ReverseV2", [convert_to_tensor(tensor), int_input(axis, "axis")], name=name or "ReverseV2")


reverse_v2 = reverse


def _infer_reverse_sequence(op):
    x, lengths = op.inputs
    require_int(op, lengths, "seq_lengths")
    dims = x.shape.as_tuple()
    if dims is not None:
        seq, batch = op.attrs["seq_dim"], op.attrs["batch_dim"]
        for what, a in (("seq_dim", seq), ("batch_dim", batch)):
            if not 0 <= a < len(dims):
                raise ValueError(f"{what} {a} is out of range for an input of rank {len(dims)}")
        if seq == batch:
            raise ValueError(f"seq_dim and batch_dim must differ, both are {seq}")
        n = lengths.shape.as_tuple()
        if n is not None and len(n) == 1 and None not in (n[0], dims[batch]) and n[0] != dims[batch]:
            raise ValueError(f"Length of seq_lengths ({n[0]}) != input.dims({batch}) ({dims[batch]})")
    return [(dims, x.dtype)]


def _reverse_sequence_kernel(ctx, x, lengths):
    seq, batch = ctx.attrs["seq_dim"], ctx.attrs["batch_dim"]
    if lengths.shape != (x.shape[batch],):
        raise ValueError(f"seq_lengths must have shape [{x.shape[batch]}], got {list(lengths.shape)}")
    out = x.copy()
    src, dst = np.moveaxis(x, (batch, seq), (0, 1)), np.moveaxis(out, (batch, seq), (0, 1))
    for b, n in enumerate(int(n) for n in lengths):
        if not 0 <= n <= x.shape[seq]:
            raise ValueError(f"seq_lengths[{b}] = {n} is not in [0, {x.shape[seq]}] (input.dims({seq}))")
        dst[b, :n] = src[b, :n][::-1]
    return out


define_op(
    "ReverseSequence",
    infer=_infer_reverse_sequence,
    kernel=_reverse_sequence_kernel,
    grad=lambda op, dy: [make_tensor("ReverseSequence", [dy, op.inputs[1]], dict(op.attrs), name="ReverseSequence"),
                         None],
)


def reverse_sequence(input, seq_lengths, seq_axis=None, batch_axis=None, name=None,
                     seq_dim=None, batch_dim=None):
    """Reverse the first ``seq_lengths[b]`` entries along ``seq_axis`` of each batch entry b."""
    seq_axis = seq_dim if seq_axis is None else seq_axis
    batch_axis = (0 if batch_dim is None else batch_dim) if batch_axis is None else batch_axis
    if seq_axis is None:
        raise ValueError("reverse_sequence needs seq_axis")
    x = convert_to_tensor(input)
    rank = x.shape.ndims or 0
    attrs = {"seq_dim": int(seq_axis) + (rank if seq_axis < 0 else 0),
             "batch_dim": int(batch_axis) + (rank if batch_axis < 0 else 0)}
    return make_tensor("ReverseSequence", [x, int_input(seq_lengths, "seq_lengths")], attrs, name or "ReverseSequence")
