"""Dilated pooling for ``tf.nn.pool(..., dilation_rate=...)``, composed from slices of the (padded) input.

With dilation ``d`` and stride 1 (TF requires stride 1 when dilating), window offset ``(p, q)`` of
every output pixel reads the input shifted by ``(d * p, d * q)``: the pooled result is the
maximum (or the sum over the count of valid elements) of ``k_h * k_w`` shifted slices. SAME
padding pads ``(k - 1) * d`` per axis, split as TF splits it, with the lowest value of the dtype
for MAX so padding never wins, and AVG counts only non-padded elements as TF does. The
gradient follows from the slices, pads and reductions it is built from.
"""

from __future__ import annotations

import numpy as np

from graphdl.framework.ops import convert_to_tensor, name_scope


def _lowest(dtype):
    return -np.inf if dtype.is_floating else np.iinfo(dtype.np).min


def _shifted_windows(padded, window, dilation):
    """The k_h * k_w slices of NHWC ``padded``: slice (p, q) holds offset (p, q) of every output pixel's window."""
    (kh, kw), (dh, dw) = window, dilation
    slices = []
    for p in range(kh):
        for q in range(kw):
            rows = slice(p * dh, -(kh - 1 - p) * dh or None)
            cols = slice(q * dw, -(kw - 1 - q) * dw or None)
            slices.append(padded[:, rows, cols, :])
    return slices


def dilated_pool(input, window_shape, pooling_type, padding, dilation_rate, data_format="NHWC", name=None):
    """"MAX" or "AVG" pooling of 4-D ``input`` with a 2-D window dilated by ``dilation_rate``, stride 1."""
    from graphdl.ops.array_ops import ones_like, stack
    from graphdl.ops.layout_ops import transpose
    from graphdl.ops.pad_ops import pad
    from graphdl.ops.reduction_ops import reduce_max, reduce_sum

    with name_scope(name, f"{pooling_type.title()}PoolDilated", [input]):
        x = convert_to_tensor(input, name="input")
        if x.shape.ndims not in (None, 4):
            raise ValueError(f"pool: input must be 4-D for a 2-D window, got shape {x.shape}")
        if data_format == "NCHW":
            x = transpose(x, [0, 2, 3, 1])
        window, dilation = [int(k) for k in window_shape], [int(d) for d in dilation_rate]
        if padding == "SAME":
            total = [(k - 1) * d for k, d in zip(window, dilation)]
            paddings = [[0, 0]] + [[t // 2, t - t // 2] for t in total] + [[0, 0]]
        else:
            paddings = [[0, 0]] * 4
        if pooling_type == "MAX":
            padded = pad(x, paddings, constant_values=_lowest(x.dtype))
            out = reduce_max(stack(_shifted_windows(padded, window, dilation)), axis=0)
        else:
            total = reduce_sum(stack(_shifted_windows(pad(x, paddings), window, dilation)), axis=0)
            valid = pad(ones_like(x[:, :, :, :1]), paddings)
            count = reduce_sum(stack(_shifted_windows(valid, window, dilation)), axis=0)
            out = total / count
        return transpose(out, [0, 3, 1, 2]) if data_format == "NCHW" else out
