"""ONNX mappings of the random ops that can appear in an inference path (a VAE's or GAN's sampled codes).

ONNX's RandomNormalLike/RandomUniformLike draw from onnxruntime's generator, so values
differ from graphdl's; only the distribution matches.
"""

from __future__ import annotations

import numpy as np
from graphdl.backends.onnx.context import onnx_type
from graphdl.backends.onnx.registry import register
from onnx import numpy_helper


@register("RandomStandardNormal", "RandomUniform")
def random(ctx, op):
    dtype = op.outputs[0].dtype
    zeros = ctx.node("ConstantOfShape", [ctx.int64(op.inputs[0])],
                     value=numpy_helper.from_array(np.zeros([1], dtype.np)))
    onnx_op = "RandomNormalLike" if op.type == "RandomStandardNormal" else "RandomUniformLike"
    return ctx.node(onnx_op, [zeros], dtype=onnx_type(dtype))
