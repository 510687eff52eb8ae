"""FusedElementwise ops, and elementwise ops the fusion pass left alone, as generated CUDA loops."""

from graphdl.backends.numba_cpu.scalar_ops import SCALAR_OPS, is_fusible
from graphdl.backends.numba_cuda.fused_codegen import CudaFusedKernel
from graphdl.backends.numba_cuda.kernel_registry import register_cuda_kernel

# BiasAdd in NCHW is not a NumPy broadcast: it has its own kernel (nn.py).
_SINGLE = sorted(set(SCALAR_OPS) - {"BiasAdd"})


def _has_device_form(op) -> bool:
    """FusedElementwise ops always do; a single op when its dtypes have device arithmetic."""
    return op.type == "FusedElementwise" or is_fusible(op)


@register_cuda_kernel("FusedElementwise", *_SINGLE, accepts=_has_device_form)
def fused_elementwise(op, ctx):
    return CudaFusedKernel(op, ctx)


@register_cuda_kernel("AddN", accepts=lambda op: op.outputs[0].dtype.is_floating or op.outputs[0].dtype.is_integer)
def add_n(op, ctx):
    """The sum of the inputs as one generated loop (a chain of additions)."""
    from graphdl.ops.fused_ops import Instruction

    dtype = op.outputs[0].dtype
    if len(op.inputs) == 1:
        return lambda x: x
    instructions = [Instruction("AddV2", (("input", 0), ("input", 1)), (), op.name, dtype)]
    for i in range(2, len(op.inputs)):
        instructions.append(Instruction("AddV2", (("temp", i - 2), ("input", i)), (), op.name, dtype))
    return CudaFusedKernel(op, ctx, (tuple(instructions), (len(instructions) - 1,)))
