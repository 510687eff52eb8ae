"""CUDA kernel modules; importing this package registers them all."""

from graphdl.backends.numba_cuda.kernels import (
    control_flow,
    conv,
    data,
    depthwise,
    elementwise,
    image,
    layout,
    lstm_sequence,
    matmul,
    nn,
    norm,
    pool,
    random,
    reductions,
    rnn,
    scatter,
    state,
    tensor_array,
    training,
)
