"""Kernel modules of the Numba CPU backend; importing this package registers them all.

Modules with compiled kernels register first; ``numpy_ops`` then gives every other
op type its NumPy implementation explicitly.
"""

from graphdl.backends.numba_cpu.kernels import fused  # noqa: F401
from graphdl.backends.numba_cpu.kernels import training  # noqa: F401
from graphdl.backends.numba_cpu.kernels import state  # noqa: F401
from graphdl.backends.numba_cpu.kernels import matmul, nn, reductions  # noqa: F401
from graphdl.backends.numba_cpu.kernels import numpy_ops  # noqa: F401  (must stay last)
