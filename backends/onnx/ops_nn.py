"""ONNX mappings of the NHWC/NCHW neural-network ops: conv, transposed conv, pooling, batch norm, LRN, resize.

ONNX convolutions and pools are NCHW. An NHWC op transposes its input to NCHW (unless the
input already has an NCHW twin), runs in NCHW, records its NCHW result as the twin of its
output and transposes back only if something needs the NHWC value, so a stack of convs,
activations and pools costs one transpose in and one out. Filters that are constants or
variables are transposed at export time (no Transpose node).
"""

from __future__ import annotations

import numpy as np
from graphdl.backends.onnx.ops_reduction import reduce
from graphdl.backends.onnx.registry import register


def _static_weight(ctx, tensor):
    """The NumPy value of a constant or variable tensor (following reads), else None."""
    t = tensor
    while t.op.type in ("Identity", "StopGradient") and t not in ctx.static._inputs:
        t = t.op.inputs[0]
    if t.op.type == "VariableV2" and t.op in ctx.variable_values:
        return ctx.variable_values[t.op]
    return ctx.static.value(tensor)


def onnx_filter(ctx, tensor, depthwise=False) -> str:
    """A TF [kh, kw, in, out] filter as ONNX [out, in, kh, kw] (depthwise: [in*mult, 1, kh, kw])."""
    value = _static_weight(ctx, tensor)
    if value is not None:
        if depthwise:
            kh, kw, cin, mult = value.shape
            value = value.reshape(kh, kw, 1, cin * mult)
        return ctx.const(np.ascontiguousarray(value.transpose(3, 2, 0, 1)), hint=tensor.op.name)
    w = ctx.get(tensor)
    if depthwise:
        shape = tensor.shape.as_tuple()
        if shape is None or None in shape:
            raise ctx.error("a non-constant depthwise filter needs a static shape")
        w = ctx.node("Reshape", [w, ctx.int64([shape[0], shape[1], 1, shape[2] * shape[3]])])
    return ctx.node("Transpose", [w], perm=[3, 2, 0, 1])


def _spatial(values, data_format):
    values = list(values)
    return values[1:3] if data_format == "NHWC" else values[2:4]


def _nchw_input(ctx, op, x):
    return ctx.nchw(x) if op.attrs.get("data_format", "NHWC") == "NHWC" else ctx.get(x)


def _nchw_output(ctx, op, y, index=0):
    if op.attrs.get("data_format", "NHWC") == "NHWC":
        ctx.set_nchw(op.outputs[index], y)
        return ctx.nhwc_of(y)
    return y


def _pads(ctx, op, in_sizes, kernel, strides, dilations):
    """(pads, auto_pad) for TF padding: explicit pads where the spatial input size is static."""
    padding = op.attrs["padding"]
    if padding == "VALID":
        return [0, 0, 0, 0], None
    if padding == "EXPLICIT":
        p = list(op.attrs["explicit_paddings"])
        pairs = [p[2:4], p[4:6]] if op.attrs.get("data_format", "NHWC") == "NHWC" else [p[4:6], p[6:8]]
        return [pairs[0][0], pairs[1][0], pairs[0][1], pairs[1][1]], None
    if any(s is None for s in in_sizes):
        return None, "SAME_UPPER"
    begins, ends = [], []
    for size, k, s, d in zip(in_sizes, kernel, strides, dilations):
        out = -(-size // s)
        total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
        begins.append(total // 2)
        ends.append(total - total // 2)
    return begins + ends, None


@register("Conv2D", "DepthwiseConv2dNative", "_FusedConv2D")
def conv2d(ctx, op):
    """Conv; a compiler-fused ``_FusedConv2D`` passes its bias as Conv's third input and adds a Relu node."""
    x, f = op.inputs[:2]
    fmt = op.attrs.get("data_format", "NHWC")
    fshape = f.shape.as_tuple()
    if fshape is None or None in fshape[:2]:
        raise ctx.error("the filter needs a static spatial shape")
    strides = _spatial(op.attrs["strides"], fmt)
    dilations = _spatial(op.attrs.get("dilations", [1, 1, 1, 1]), fmt)
    in_sizes = _spatial(x.shape.as_tuple() or [None] * 4, fmt)
    pads, auto_pad = _pads(ctx, op, in_sizes, fshape[:2], strides, dilations)
    depthwise = op.type == "DepthwiseConv2dNative"
    group = None
    if depthwise:
        if fshape[2] is None:
            raise ctx.error("the depthwise filter needs a static channel count")
        group = int(fshape[2])
    inputs = [_nchw_input(ctx, op, x), onnx_filter(ctx, f, depthwise)]
    if op.type == "_FusedConv2D":
        inputs.append(ctx.get(op.inputs[2]))
    y = ctx.node("Conv", inputs, kernel_shape=list(fshape[:2]), strides=strides, dilations=dilations, pads=pads,
                 auto_pad=auto_pad, group=group)
    for activation in tuple(op.attrs.get("fused_ops", ()))[1:]:
        y = ctx.node(activation, [y])  # the fused activations (Relu) have ONNX ops of the same name
    return _nchw_output(ctx, op, y)


@register("Conv2DBackpropInput")
def conv2d_transpose(ctx, op):
    """conv2d_transpose as ConvTranspose, cropping (pads) and growing (output_padding) as TF's output size asks."""
    _, f, dy = op.inputs
    fmt = op.attrs.get("data_format", "NHWC")
    fshape = f.shape.as_tuple()
    strides = _spatial(op.attrs["strides"], fmt)
    dilations = _spatial(op.attrs.get("dilations", [1, 1, 1, 1]), fmt)
    in_sizes = _spatial(dy.shape.as_tuple() or [None] * 4, fmt)
    out_sizes = _spatial(op.outputs[0].shape.as_tuple() or [None] * 4, fmt)
    if fshape is None or None in fshape[:2] or None in in_sizes or None in out_sizes:
        raise ctx.error("conv2d_transpose needs static spatial sizes and filter shape")
    if op.attrs["padding"] == "EXPLICIT":
        raise ctx.error("EXPLICIT padding is not supported for conv2d_transpose")
    begins, ends, extra = [], [], []
    for size, out, k, s, d in zip(in_sizes, out_sizes, fshape[:2], strides, dilations):
        total = (size - 1) * s + (k - 1) * d + 1 - out
        begin = 0 if total < 0 or op.attrs["padding"] == "VALID" else total // 2
        begins.append(begin)
        ends.append(max(total, 0) - begin)
        extra.append(max(-total, 0))
    y = ctx.node("ConvTranspose", [_nchw_input(ctx, op, dy), onnx_filter(ctx, f)], kernel_shape=list(fshape[:2]),
                 strides=strides, dilations=dilations, pads=begins + ends,
                 output_padding=extra if any(extra) else None)
    return _nchw_output(ctx, op, y)


@register("MaxPool", "AvgPool")
def pool(ctx, op):
    x = op.inputs[0]
    fmt = op.attrs.get("data_format", "NHWC")
    kernel, strides = _spatial(op.attrs["ksize"], fmt), _spatial(op.attrs["strides"], fmt)
    ksize = list(op.attrs["ksize"])
    if ksize[0] != 1 or ksize[3 if fmt == "NHWC" else 1] != 1:
        raise ctx.error("pooling over the batch or channel dim has no ONNX equivalent")
    in_sizes = _spatial(x.shape.as_tuple() or [None] * 4, fmt)
    pads, auto_pad = _pads(ctx, op, in_sizes, kernel, strides, [1, 1])
    onnx_op = "MaxPool" if op.type == "MaxPool" else "AveragePool"
    extra = {} if onnx_op == "MaxPool" else {"count_include_pad": 0}
    xv = _nchw_input(ctx, op, x)
    if x.dtype.is_integer:  # ONNX pools only floats (and 8-bit ints): int32 is exact in float64
        xv = ctx.cast(xv, np.float64)
    y = ctx.node(onnx_op, [xv], kernel_shape=kernel, strides=strides, pads=pads, auto_pad=auto_pad, **extra)
    if x.dtype.is_integer:
        y = ctx.cast(y, x.dtype)
    return _nchw_output(ctx, op, y)


def _channel_shape(ctx, name, rank):
    return ctx.node("Unsqueeze", [name, ctx.int64(list(range(1, rank - 1)))])


@register("FusedBatchNormV3")
def fused_batch_norm(ctx, op):
    """BatchNormalization with the moving statistics; with is_training, the batch statistics computed explicitly."""
    x, scale, offset, mean, variance = op.inputs
    eps = float(op.attrs.get("epsilon", 1e-3))
    xv = _nchw_input(ctx, op, x)
    if not op.attrs.get("is_training"):
        y = ctx.node("BatchNormalization", [xv, ctx.get(scale), ctx.get(offset), ctx.get(mean), ctx.get(variance)],
                     epsilon=eps)
        return [_nchw_output(ctx, op, y), ctx.get(mean), ctx.get(variance), ctx.get(mean), ctx.get(variance), None]
    if x.dtype != scale.dtype:
        raise ctx.error("training-mode batch norm export needs x and scale of one dtype")
    batch_mean = reduce(ctx, "ReduceMean", xv, [0, 2, 3], True)
    centered = ctx.node("Sub", [xv, batch_mean])
    batch_var = reduce(ctx, "ReduceMean", ctx.node("Mul", [centered, centered]), [0, 2, 3], True)
    eps_c = ctx.const(np.asarray(eps, scale.dtype.np))
    inv = ctx.node("Reciprocal", [ctx.node("Sqrt", [ctx.node("Add", [batch_var, eps_c])])])
    gain = ctx.node("Mul", [inv, _channel_shape(ctx, ctx.get(scale), 4)])
    y = ctx.node("Add", [ctx.node("Mul", [centered, gain]), _channel_shape(ctx, ctx.get(offset), 4)])
    return [_nchw_output(ctx, op, y), None, None, None, None, None]


@register("LRN")
def lrn(ctx, op):
    """ONNX LRN divides alpha by the window size; TF does not."""
    a = op.attrs
    size = 2 * int(a["depth_radius"]) + 1
    y = ctx.node("LRN", [ctx.nchw(op.inputs[0])], size=size, alpha=float(a["alpha"]) * size, beta=float(a["beta"]),
                 bias=float(a["bias"]))
    ctx.set_nchw(op.outputs[0], y)
    return ctx.nhwc_of(y)


_RESIZE_MODES = {"ResizeBilinear": "linear", "ResizeNearestNeighbor": "nearest"}


@register(*_RESIZE_MODES)
def resize(ctx, op):
    """Resize in NCHW with TF's coordinate conventions (align_corners, half_pixel_centers, legacy)."""
    images, size = op.inputs
    mode = _RESIZE_MODES[op.type]
    align, half = bool(op.attrs.get("align_corners")), bool(op.attrs.get("half_pixel_centers"))
    extra = {}
    if align:
        transform = "align_corners"
    elif half:
        transform = "tf_half_pixel_for_nn" if mode == "nearest" else "half_pixel"
    else:
        transform = "asymmetric"
    if mode == "nearest":
        extra["nearest_mode"] = "round_prefer_ceil" if align else "floor"
    if mode == "cubic":
        extra["cubic_coeff_a"] = -0.5 if half else -0.75
    x = ctx.nchw(images)
    if op.outputs[0].dtype != images.dtype:  # TF's bilinear and bicubic resizes return float32
        x = ctx.cast(x, op.outputs[0].dtype)
    leading = ctx.node("Slice", [ctx.node("Shape", [x]), ctx.int64([0]), ctx.int64([2])])
    sizes = ctx.node("Concat", [leading, ctx.int64(size)], axis=0)
    y = ctx.node("Resize", [x, "", "", sizes], mode=mode, coordinate_transformation_mode=transform, **extra)
    ctx.set_nchw(op.outputs[0], y)
    return ctx.nhwc_of(y)
