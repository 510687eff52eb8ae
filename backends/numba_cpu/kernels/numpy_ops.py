"""Ops whose best CPU implementation is NumPy's own: views, copies, shape queries, bookkeeping.

These move or reinterpret data (reshape is a view, gather/concat are memcpy-bound),
draw random numbers with NumPy's Philox generator, or manage variables; a compiled loop
would not beat them.
"""

from graphdl.backends.numba_cpu.kernel_registry import register_numpy_kernels
from graphdl.framework.op_def import registered_op_types

# Every op type without a dedicated Numba kernel; tests check that this list and the
# Numba kernels together cover every registered op type.
NUMPY_OP_TYPES = sorted(set(registered_op_types()) - {"FusedElementwise", "Const", "VariableV2", "NoOp"})

register_numpy_kernels(*NUMPY_OP_TYPES)
