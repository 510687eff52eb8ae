"""CUDA kernel modules; importing this package registers them all."""

from graphdl.backends.numba_cuda.kernels import (
    conv,
    data,
    elementwise,
    matmul,
    nn,
    pool,
    random,
    reductions,
    state,
    training,
)
