# ruff: noqa: I001 - numpy_ops must be imported last (it claims every op type left over)
"""Kernel modules of the Numba CPU backend; importing this package registers them all.

Modules with compiled kernels register first; ``numpy_ops`` then gives every other
op type its NumPy implementation explicitly.
"""

from graphdl.backends.numba_cpu.kernels import fused
from graphdl.backends.numba_cpu.kernels import training
from graphdl.backends.numba_cpu.kernels import state
from graphdl.backends.numba_cpu.kernels import matmul, nn, reductions
from graphdl.backends.numba_cpu.kernels import rnn, lstm_sequence
from graphdl.backends.numba_cpu.kernels import conv
from graphdl.backends.numba_cpu.kernels import pool
from graphdl.backends.numba_cpu.kernels import image_nn
from graphdl.backends.numba_cpu.kernels import scatter_state
from graphdl.backends.numba_cpu.kernels import numeric_extras
from graphdl.backends.numba_cpu.kernels import strings
from graphdl.backends.numba_cpu.kernels import sparse
from graphdl.backends.numba_cpu.kernels import data_movement
from graphdl.backends.numba_cpu.kernels import numpy_ops
