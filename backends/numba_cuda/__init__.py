"""The Numba CUDA backend (``Session(backend="cuda")``): device-resident variables, generated kernels."""

from graphdl.backends.numba_cuda.backend import BACKEND, CudaBackend

__all__ = ["BACKEND", "CudaBackend"]
