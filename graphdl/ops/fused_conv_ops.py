"""``_FusedConv2D``: a Conv2D with its bias add and activation, an op the compiler creates.

As TF's grappler remapper does, ``passes/conv_fusion.py`` turns ``Relu(BiasAdd(Conv2D(x, w), b))``
(and ``Conv2D`` + bias alone) into one op when nothing else reads the intermediate tensors, so a
backend adds the bias and applies the activation while the convolution's output is still in cache
instead of in separate passes over it. The pass runs after differentiation: the gradient ops read
the activation's output, which the fused op still produces, and the op itself is not
differentiable. Attrs are Conv2D's plus ``fused_ops``: ``("BiasAdd",)`` or ``("BiasAdd", "Relu")``.
"""

from __future__ import annotations

import numpy as np

from graphdl.framework.op_def import define_op
from graphdl.framework.ops import convert_to_tensor, make_tensor
from graphdl.ops import conv_ops

# The activations the fused op applies after its bias add, by op type.
ACTIVATIONS = {"Relu": lambda v: np.maximum(v, np.zeros((), v.dtype))}


def _infer(op):
    x, w, bias = op.inputs
    conv_ops._check_attrs(op)
    conv_ops.require_dtype(op, x, conv_ops.FLOAT, "input")
    if w.dtype != x.dtype or bias.dtype != x.dtype:
        raise TypeError(f"{op.type} '{op.name}': filter ({w.dtype.name}) and bias ({bias.dtype.name}) must have the "
                        f"input's dtype {x.dtype.name}")
    fused = tuple(op.attrs["fused_ops"])
    if fused[:1] != ("BiasAdd",) or any(name not in ACTIVATIONS for name in fused[1:]) or len(fused) > 2:
        raise ValueError(f"{op.type} '{op.name}': fused_ops must be ('BiasAdd',) or ('BiasAdd', activation) with an "
                         f"activation in {sorted(ACTIVATIONS)}, got {fused}")
    fmt = op.attrs["data_format"]
    out = conv_ops.forward_dims(op, conv_ops._to_nhwc_dims(conv_ops._dims4(op, x, "input"), fmt),
                                conv_ops._dims4(op, w, "filter"), False)
    bias_dims = bias.shape.as_tuple()
    if bias_dims is not None and (len(bias_dims) != 1 or None not in (bias_dims[0], out[3]) and bias_dims[0] != out[3]):
        raise ValueError(f"{op.type} '{op.name}': bias must be a vector of the {out[3]} output channels, got shape "
                         f"{list(bias_dims)}")
    return [(conv_ops._from_nhwc_dims(out, fmt), x.dtype)]


def epilogue(out, bias, fused_ops, data_format):
    """``out`` (the convolution's output) plus ``bias`` on the channel axis, then the activation, in place."""
    shape = (1, -1, 1, 1) if data_format == "NCHW" else (1, 1, 1, -1)
    out += bias.reshape(shape)
    for name in fused_ops[1:]:
        np.copyto(out, ACTIVATIONS[name](out))
    return out


def _kernel(ctx, x, w, bias):
    out = conv_ops._forward_kernel(False)(ctx, x, w)
    if bias.shape != (out.shape[1 if ctx.attrs["data_format"] == "NCHW" else 3],):
        conv_ops._fail(ctx, f"bias must be a vector of the {out.shape[3]} output channels, got shape {list(bias.shape)}")
    return epilogue(out, bias, tuple(ctx.attrs["fused_ops"]), ctx.attrs["data_format"])


define_op("_FusedConv2D", infer=_infer, kernel=_kernel, not_differentiable=True)


def fused_conv2d(input, filter, bias, strides, padding, fused_ops=("BiasAdd", "Relu"), data_format="NHWC",
                 dilations=(1, 1, 1, 1), name=None):
    """``activation(conv2d(input, filter) + bias)`` as one ``_FusedConv2D`` op, the op the conv fusion pass
    creates (built directly for tests and for exporting a graph that holds one); arguments as ``tf.nn.conv2d``'s
    plus ``bias`` (a vector of the output channels) and ``fused_ops``."""
    attrs = conv_ops.conv_attrs("_FusedConv2D", strides, padding, data_format, list(dilations))
    attrs["fused_ops"] = tuple(fused_ops)
    x = convert_to_tensor(input)
    inputs = [x, convert_to_tensor(filter, dtype=x.dtype), convert_to_tensor(bias, dtype=x.dtype)]
    return make_tensor("_FusedConv2D", inputs, attrs, name=name or "FusedConv2D")
