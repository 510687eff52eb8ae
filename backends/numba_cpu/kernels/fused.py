"""FusedElementwise ops run as generated Numba loops."""

from graphdl.backends.numba_cpu.fused_codegen import FusedKernel
from graphdl.backends.numba_cpu.kernel_registry import buffer_pool, register_kernel


@register_kernel("FusedElementwise")
def fused_elementwise(op, state):
    return FusedKernel(op, buffer_pool(state))
