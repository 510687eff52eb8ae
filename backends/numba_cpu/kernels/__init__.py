"""Kernel modules of the Numba CPU backend; importing this package registers them all."""

from graphdl.backends.numba_cpu.kernels import fused, numpy_ops  # noqa: F401
