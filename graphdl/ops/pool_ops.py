"""2-D pooling ops: MaxPool, AvgPool and their gradient ops (TF1 op types and semantics).

``MaxPool`` takes the maximum of each window; its gradient ``MaxPoolGrad(orig_input, orig_output,
grad)`` routes each output gradient to the first maximum of its window (row-major scan, as TF's
CPU kernel), and ``MaxPoolGradGrad`` gathers from those same positions (so second derivatives
work). ``AvgPool`` averages each window; with SAME padding it divides by the number of valid
(non-padded) elements, as TF does. ``AvgPoolGrad(orig_input_shape, grad)`` spreads each
gradient evenly over its window, and its own gradient is AvgPool again.

Every op carries ``ksize``/``strides`` (4-tuples in the order of ``data_format``), ``padding``
("SAME"/"VALID") and ``data_format`` ("NHWC"/"NCHW"). The reference kernels work in NHWC and
loop only over the window offsets (kh, kw), each step a strided NumPy slice of the whole batch.
"""

from __future__ import annotations

import numpy as np

from graphdl.framework.constant_value import constant_value_as_shape
from graphdl.framework.op_def import define_op
from graphdl.framework.ops import convert_to_tensor, make_tensor, name_scope
from graphdl.ops import array_ops
from graphdl.ops.shape_inference import FLOAT, NUMERIC, require_dtype

__all__ = ["avg_pool", "avg_pool2d", "max_pool", "max_pool2d", "pool"]

_PADDINGS = ("SAME", "VALID")
_FORMATS = ("NHWC", "NCHW")


# -- geometry ---------------------------------------------------------------------------------------------
def output_size(in_size, k, s, padding):
    """(output size, padding before) of one spatial dim, TF's rule; output size None when ``in_size`` is."""
    if in_size is None:
        return None, None
    if padding == "VALID":
        out = (in_size - k) // s + 1 if in_size >= k else 0
        return out, 0
    out = -(-in_size // s)
    pad_total = max((out - 1) * s + k - in_size, 0)
    return out, pad_total // 2


def spatial_params(attrs):
    """((kh, kw), (sh, sw)) from an op's 4-element ksize/strides and its data_format."""
    hw = (1, 2) if attrs["data_format"] == "NHWC" else (2, 3)
    ksize, strides = attrs["ksize"], attrs["strides"]
    return (ksize[hw[0]], ksize[hw[1]]), (strides[hw[0]], strides[hw[1]])


def pool_geometry(attrs, height, width):
    """(out_h, out_w, pad_top, pad_left) for an input of ``height`` x ``width``."""
    (kh, kw), (sh, sw) = spatial_params(attrs)
    oh, pt = output_size(height, kh, sh, attrs["padding"])
    ow, pl = output_size(width, kw, sw, attrs["padding"])
    return oh, ow, pt, pl


def _to_nhwc(x, data_format):
    return x if data_format == "NHWC" else x.transpose(0, 2, 3, 1)


def _from_nhwc(x, data_format):
    return x if data_format == "NHWC" else np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def _normalize_window(value, what, data_format):
    """TF1's ksize/strides: an int, or a list of 1, 2 or 4 ints -> a list of 4 in ``data_format`` order."""
    if isinstance(value, (int, np.integer)):
        value = [int(value)]
    value = [int(v) for v in value]
    if len(value) == 1:
        value = value * 2
    if len(value) == 2:
        value = [1, *value, 1] if data_format == "NHWC" else [1, 1, *value]
    if len(value) != 4:
        raise ValueError(f"{what} should be of length 1, 2 or 4 but was {len(value)}")
    if any(v <= 0 for v in value):
        raise ValueError(f"{what} must be positive, got {value}")
    channel = 3 if data_format == "NHWC" else 1
    if value[0] != 1 or value[channel] != 1:
        raise ValueError(f"Pooling over the batch or depth dimension is not supported: {what} {value} "
                         f"(data_format {data_format}); the batch and channel entries must be 1")
    return value


def _pool_attrs(ksize, strides, padding, data_format):
    if data_format not in _FORMATS:
        raise ValueError(f"data_format must be 'NHWC' or 'NCHW', got {data_format!r}")
    padding = padding.upper() if isinstance(padding, str) else padding
    if padding not in _PADDINGS:
        raise ValueError(f"padding must be 'SAME' or 'VALID', got {padding!r}")
    return {
        "ksize": tuple(_normalize_window(ksize, "ksize", data_format)),
        "strides": tuple(_normalize_window(strides, "strides", data_format)),
        "padding": padding,
        "data_format": data_format,
    }


# -- shape rules -------------------------------------------------------------------------------------------
def _pooled_shape(op, dims):
    """The output shape of pooling an input of static shape ``dims`` (tuple with None, or None)."""
    if dims is None:
        return (None,) * 4
    if len(dims) != 4:
        raise ValueError(f"{op.type} input must be 4-dimensional ({op.attrs['data_format']}), got shape {dims}")
    nhwc = op.attrs["data_format"] == "NHWC"
    n, h, w, c = dims if nhwc else (dims[0], dims[2], dims[3], dims[1])
    oh, ow, _, _ = pool_geometry(op.attrs, h, w)
    (kh, kw), _ = spatial_params(op.attrs)
    if op.attrs["padding"] == "VALID" and ((h is not None and h < kh) or (w is not None and w < kw)):
        raise ValueError(f"{op.type}: computed output size would be negative: input {h}x{w} is smaller than the "
                         f"{kh}x{kw} window with VALID padding (op '{op.name}')")
    return (n, oh, ow, c) if nhwc else (n, c, oh, ow)


def _infer_pool(allowed):
    def infer(op):
        x = op.inputs[0]
        require_dtype(op, x, allowed, "value")
        return [(_pooled_shape(op, x.shape.as_tuple()), x.dtype)]

    return infer


def _check_same(op, a, b, what_a, what_b):
    if a.dtype != b.dtype:
        raise TypeError(f"{op.type}: {what_a} ({a.dtype.name}) and {what_b} ({b.dtype.name}) must share a dtype")
    if not a.shape.is_compatible_with(b.shape):
        raise ValueError(f"{op.type}: {what_a} shape {a.shape} and {what_b} shape {b.shape} must be equal")


def _infer_max_pool_grad(op):
    x, y, dy = op.inputs
    require_dtype(op, x, NUMERIC, "orig_input")
    _check_same(op, y, dy, "orig_output", "grad")
    if x.dtype != dy.dtype:
        raise TypeError(f"{op.type}: orig_input ({x.dtype.name}) and grad ({dy.dtype.name}) must share a dtype")
    return [(x.shape.as_tuple(), x.dtype)]


def _infer_max_pool_grad_grad(op):
    x, y, g = op.inputs
    require_dtype(op, x, NUMERIC, "orig_input")
    _check_same(op, x, g, "orig_input", "grad")
    return [(y.shape.as_tuple(), x.dtype)]


def _infer_avg_pool_grad(op):
    shape_t, dy = op.inputs
    require_dtype(op, dy, FLOAT, "grad")
    shape = constant_value_as_shape(shape_t)
    return [(shape.as_tuple() if shape.ndims is not None else (None,) * 4, dy.dtype)]


# -- reference kernels (NHWC inside) -------------------------------------------------------------------------
def _offset_slices(oh, ow, sh, sw, kh, kw):
    """(i, j, slice of the padded input seen by window offset (i, j)) for every offset, row-major."""
    for i in range(kh):
        for j in range(kw):
            yield i, j, (slice(None), slice(i, i + sh * (oh - 1) + 1, sh), slice(j, j + sw * (ow - 1) + 1, sw))


def _padded(x, attrs, fill):
    """``x`` (NHWC) padded to cover every window, the geometry and the crop back to ``x``."""
    n, h, w, c = x.shape
    oh, ow, pt, pl = pool_geometry(attrs, h, w)
    (kh, kw), (sh, sw) = spatial_params(attrs)
    ph = max((oh - 1) * sh + kh, h + pt) if oh else h + pt
    pw = max((ow - 1) * sw + kw, w + pl) if ow else w + pl
    out = np.full((n, ph, pw, c), fill, dtype=x.dtype)
    crop = (slice(None), slice(pt, pt + h), slice(pl, pl + w))
    out[crop] = x
    return out, (oh, ow, sh, sw, kh, kw), crop


def _lowest(dtype):
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def _argmax_windows(x, attrs):
    """(max per window, index kh*KW+kw of its first maximum, padded input, geometry, crop) of NHWC ``x``."""
    padded, geo, crop = _padded(x, attrs, _lowest(x.dtype))
    oh, ow, _sh, _sw, _kh, kw = geo
    best = np.full((x.shape[0], oh, ow, x.shape[3]), _lowest(x.dtype), dtype=x.dtype)
    where = np.zeros(best.shape, dtype=np.int32)
    for i, j, sl in _offset_slices(*geo):
        v = padded[sl]
        better = v > best  # strict: ties keep the first maximum, as TF
        best = np.where(better, v, best)
        where[better] = i * kw + j
    return best, where, padded, geo, crop


def _max_pool_kernel(ctx, x):
    fmt = ctx.attrs["data_format"]
    return _from_nhwc(_argmax_windows(_to_nhwc(x, fmt), ctx.attrs)[0], fmt)


def _max_pool_grad_kernel(ctx, x, y, dy):
    fmt = ctx.attrs["data_format"]
    _, where, padded, geo, crop = _argmax_windows(_to_nhwc(x, fmt), ctx.attrs)
    dy = _to_nhwc(dy, fmt)
    out = np.zeros(padded.shape, dtype=dy.dtype)
    kw = geo[5]
    for i, j, sl in _offset_slices(*geo):
        out[sl] += np.where(where == i * kw + j, dy, 0)  # one offset's windows never overlap each other
    return _from_nhwc(np.ascontiguousarray(out[crop]), fmt)


def _max_pool_grad_grad_kernel(ctx, x, y, g):
    fmt = ctx.attrs["data_format"]
    x = _to_nhwc(x, fmt)
    _, where, _, geo, crop = _argmax_windows(x, ctx.attrs)
    padded_g = np.zeros(_padded(x, ctx.attrs, 0)[0].shape, dtype=g.dtype)
    padded_g[crop] = _to_nhwc(g, fmt)
    out = np.zeros(where.shape, dtype=g.dtype)
    kw = geo[5]
    for i, j, sl in _offset_slices(*geo):
        out += np.where(where == i * kw + j, padded_g[sl], 0)
    return _from_nhwc(out, fmt)


def _window_counts(attrs, h, w, dtype):
    """How many valid (non-padded) input elements each output window covers, shaped (1, OH, OW, 1)."""
    oh, ow, pt, pl = pool_geometry(attrs, h, w)
    (kh, kw), (sh, sw) = spatial_params(attrs)

    def per_axis(out, pad, k, s, size):
        start = np.arange(out) * s - pad
        return np.minimum(start + k, size) - np.maximum(start, 0)

    counts = np.outer(per_axis(oh, pt, kh, sh, h), per_axis(ow, pl, kw, sw, w))
    return counts.astype(dtype)[None, :, :, None]


def _avg_pool_kernel(ctx, x):
    fmt = ctx.attrs["data_format"]
    x = _to_nhwc(x, fmt)
    padded, geo, _ = _padded(x, ctx.attrs, 0)
    total = np.zeros((x.shape[0], geo[0], geo[1], x.shape[3]), dtype=x.dtype)
    for _, _, sl in _offset_slices(*geo):
        total += padded[sl]
    return _from_nhwc(total / _window_counts(ctx.attrs, x.shape[1], x.shape[2], x.dtype), fmt)


def _avg_pool_grad_kernel(ctx, shape, dy):
    fmt = ctx.attrs["data_format"]
    shape = tuple(int(d) for d in shape)
    n, h, w, c = shape if fmt == "NHWC" else (shape[0], shape[2], shape[3], shape[1])
    dy = _to_nhwc(dy, fmt)
    out, geo, crop = _padded(np.zeros((n, h, w, c), dy.dtype), ctx.attrs, 0)
    if dy.shape[1:3] != geo[:2] or dy.shape[0] != n or dy.shape[3] != c:
        from graphdl import errors

        raise errors.InvalidArgumentError(
            None, ctx.op, f"AvgPoolGrad: grad shape {list(dy.shape)} (NHWC) does not match the pooled shape "
                          f"{[n, geo[0], geo[1], c]} of orig_input_shape {list(shape)} (op '{ctx.op.name}')")
    share = dy / _window_counts(ctx.attrs, h, w, dy.dtype)
    for _, _, sl in _offset_slices(*geo):
        out[sl] += share
    return _from_nhwc(np.ascontiguousarray(out[crop]), fmt)


# -- op definitions ---------------------------------------------------------------------------------------------
def _attrs_of(op):
    return {k: op.attrs[k] for k in ("ksize", "strides", "padding", "data_format")}


def _max_pool_grad(op, dy):
    return [max_pool_grad(op.inputs[0], op.outputs[0], dy, **_attrs_of(op))]


def _max_pool_grad_grad(op, g):
    x, y, _ = op.inputs
    return [array_ops.zeros_like(x), array_ops.zeros_like(y), max_pool_grad_grad(x, y, g, **_attrs_of(op))]


def _max_pool_grad_grad_grad(op, g):
    x, y, _ = op.inputs
    return [array_ops.zeros_like(x), array_ops.zeros_like(y), max_pool_grad(x, y, g, **_attrs_of(op))]


define_op("MaxPool", infer=_infer_pool(NUMERIC), kernel=_max_pool_kernel, grad=_max_pool_grad)
define_op("MaxPoolGrad", infer=_infer_max_pool_grad, kernel=_max_pool_grad_kernel, grad=_max_pool_grad_grad)
define_op("MaxPoolGradGrad", infer=_infer_max_pool_grad_grad, kernel=_max_pool_grad_grad_kernel,
          grad=_max_pool_grad_grad_grad)
define_op(
    "AvgPool",
    infer=_infer_pool(FLOAT),
    kernel=_avg_pool_kernel,
    grad=lambda op, dy: [avg_pool_grad(array_ops.shape(op.inputs[0]), dy, **_attrs_of(op))],
)
define_op(
    "AvgPoolGrad",
    infer=_infer_avg_pool_grad,
    kernel=_avg_pool_grad_kernel,
    grad=lambda op, g: [None, make_tensor("AvgPool", [g], _attrs_of(op), name="AvgPool")],
)


# -- public functions --------------------------------------------------------------------------------------------
def _value_arg(value, input, fn):
    if input is not None:
        if value is not None:
            raise ValueError(f"{fn}: cannot specify both 'value' and 'input'")
        value = input
    if value is None:
        raise ValueError(f"{fn}: 'value' (or 'input') is required")
    return value


def max_pool(value, ksize, strides, padding, data_format="NHWC", name=None, input=None):
    """Max pooling of a 4-D ``value``: the maximum of each ``ksize`` window, moved by ``strides``.

    ``ksize``/``strides`` are ints or lists of 1, 2 or 4 ints (4 in ``data_format`` order);
    ``padding`` is "SAME" or "VALID". Returns a tensor of ``value``'s dtype.
    """
    value = _value_arg(value, input, "max_pool")
    with name_scope(name, "MaxPool", [value]) as scope:
        value = convert_to_tensor(value, name="input")
        return make_tensor("MaxPool", [value], _pool_attrs(ksize, strides, padding, data_format), name=scope)


def avg_pool(value, ksize, strides, padding, data_format="NHWC", name=None, input=None):
    """Average pooling of a 4-D ``value``: the mean of each window's valid (non-padded) elements.

    Arguments as :func:`max_pool`. Returns a tensor of ``value``'s (floating) dtype.
    """
    value = _value_arg(value, input, "avg_pool")
    with name_scope(name, "AvgPool", [value]) as scope:
        value = convert_to_tensor(value, name="input")
        return make_tensor("AvgPool", [value], _pool_attrs(ksize, strides, padding, data_format), name=scope)


def max_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):
    """``max_pool`` under its TF 1.15 / TF2 name."""
    return max_pool(input, ksize, strides, padding, data_format=data_format, name=name)


def avg_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):
    """``avg_pool`` under its TF 1.15 / TF2 name."""
    return avg_pool(input, ksize, strides, padding, data_format=data_format, name=name)


def pool(input, window_shape, pooling_type, padding, dilation_rate=None, strides=None, name=None, data_format=None):
    """``tf.nn.pool``: "MAX" or "AVG" pooling of ``input`` with a 1-D or 2-D window, optionally dilated.

    ``input`` is [batch, width, channels] ("NWC"/"NCW") for a 1-D window and 4-D ("NHWC"/"NCHW") for
    a 2-D one. ``dilation_rate`` spaces the window's elements apart (then ``strides`` must be 1, as in TF).
    """
    from graphdl.ops.dilated_pool import dilated_pool
    from graphdl.ops.layout_ops import expand_dims, squeeze

    n = len(window_shape)
    if n not in (1, 2):
        raise ValueError(f"pool: window_shape must have 1 or 2 dimensions, got {list(window_shape)}")
    dilation_rate = [1] * n if dilation_rate is None else [int(d) for d in dilation_rate]
    strides = [1] * n if strides is None else [int(s) for s in strides]
    if len(dilation_rate) != n or len(strides) != n:
        raise ValueError(f"pool: dilation_rate {dilation_rate} and strides {strides} must have one entry per window "
                         f"dimension ({n})")
    if any(d < 1 for d in dilation_rate):
        raise ValueError(f"pool: dilation_rate must be positive, got {dilation_rate}")
    if any(d > 1 for d in dilation_rate) and any(s > 1 for s in strides):
        raise ValueError(f"pool: strides > 1 are not supported in conjunction with dilation_rate > 1 (strides "
                         f"{strides}, dilation_rate {dilation_rate})")
    if pooling_type not in ("MAX", "AVG"):
        raise ValueError(f"pool: pooling_type must be 'MAX' or 'AVG', got {pooling_type!r}")
    padding = padding.upper() if isinstance(padding, str) else padding
    channels_first = data_format is not None and data_format.startswith("NC")
    fmt = "NCHW" if channels_first else "NHWC"
    with name_scope(name, f"{pooling_type.title()}Pool", [input]) as scope:
        x = convert_to_tensor(input, name="input")
        if n == 1:  # a 1-D window pools a [batch, 1, width, channels] image
            x = expand_dims(x, 2 if channels_first else 1)
            window_shape, strides, dilation_rate = [1, *window_shape], [1, *strides], [1, *dilation_rate]
        if any(d > 1 for d in dilation_rate):
            if padding not in _PADDINGS:
                raise ValueError(f"padding must be 'SAME' or 'VALID', got {padding!r}")
            out = dilated_pool(x, window_shape, pooling_type, padding, dilation_rate, fmt)
        else:
            fn = max_pool if pooling_type == "MAX" else avg_pool
            out = fn(x, list(window_shape), strides, padding, data_format=fmt, name=scope if n == 2 else None)
        return squeeze(out, [2 if channels_first else 1]) if n == 1 else out


def max_pool_grad(orig_input, orig_output, grad, ksize, strides, padding, data_format="NHWC", name=None):
    """The gradient of MaxPool: ``grad`` routed to the first maximum of each window of ``orig_input``."""
    attrs = _pool_attrs(ksize, strides, padding, data_format)
    return make_tensor("MaxPoolGrad", [orig_input, orig_output, grad], attrs, name=name or "MaxPoolGrad")


def max_pool_grad_grad(orig_input, orig_output, grad, ksize, strides, padding, data_format="NHWC", name=None):
    """The gradient of MaxPoolGrad w.r.t. its ``grad``: ``grad`` (input-shaped) read at each window's maximum."""
    attrs = _pool_attrs(ksize, strides, padding, data_format)
    return make_tensor("MaxPoolGradGrad", [orig_input, orig_output, grad], attrs, name=name or "MaxPoolGradGrad")


def avg_pool_grad(orig_input_shape, grad, ksize, strides, padding, data_format="NHWC", name=None):
    """The gradient of AvgPool: each ``grad`` value spread evenly over the valid elements of its window."""
    attrs = _pool_attrs(ksize, strides, padding, data_format)
    shape = convert_to_tensor(orig_input_shape)
    return make_tensor("AvgPoolGrad", [shape, grad], attrs, name=name or "AvgPoolGrad")
