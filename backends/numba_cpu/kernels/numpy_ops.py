"""Ops whose best CPU implementation is NumPy's own: views, copies, shape queries, bookkeeping.

These move or reinterpret data (reshape is a view, gather/concat are memcpy-bound),
draw random numbers with NumPy's Philox generator, or manage variables; a compiled loop
would not beat them. This module registers every op type that no compiled kernel
module claimed, so ``explain`` shows which ops run as NumPy.
"""

from graphdl.backends.numba_cpu.kernel_registry import _KERNELS, register_numpy_kernels
from graphdl.framework.op_def import registered_op_types

# Handled by the executor itself: constants are bound values, variables are read inline.
_EXECUTOR_HANDLED = {"Const", "VariableV2", "NoOp"}

NUMPY_OP_TYPES = sorted(set(registered_op_types()) - set(_KERNELS) - _EXECUTOR_HANDLED)

register_numpy_kernels(*NUMPY_OP_TYPES)
