"""CUDA kernel modules; importing this package registers them all."""

from graphdl.backends.numba_cuda.kernels import (
    conv,
    data,
    depthwise,
    elementwise,
    image,
    layout,
    matmul,
    nn,
    norm,
    pool,
    random,
    reductions,
    rnn,
    scatter,
    state,
    training,
)
