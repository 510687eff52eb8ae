"""The Numba CPU backend: fused, generated kernels run by a generated executor."""

from graphdl.backends.numba_cpu.backend import BACKEND, NumbaBackend

__all__ = ["BACKEND", "NumbaBackend"]
