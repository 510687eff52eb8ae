"""NumPy's own BLAS ``gemm``, callable from compiled kernels.

A kernel that alternates many small matrix products with its own loops (an LSTM layer's
recurrence: a (64, 128) x (128, 512) product and a cell update per step, per thread) would
otherwise return to Python for every product, and with two such loops on two threads, each
waits for the other's Python code to give up the GIL. ``gemm`` is an intrinsic that calls the
``cblas_?gemm`` of the OpenBLAS NumPy was built with (found through threadpoolctl, which NumPy's
wheels make reachable: the ``scipy_openblas64_`` library, 64-bit integers) at an address passed
in at run time, so kernels calling it stay cacheable on disk. Where NumPy's BLAS is another
library, ``gemm_address`` returns 0 and kernels keep their NumPy path.
"""

from __future__ import annotations

import ctypes
import os

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112
_SYMBOLS = {np.dtype(np.float32): "cblas_sgemm", np.dtype(np.float64): "cblas_dgemm"}
_addresses: dict = {}


def _openblas_paths():
    """The files of the OpenBLAS libraries loaded in this process, NumPy's first (SciPy may have loaded its own)."""
    from threadpoolctl import ThreadpoolController

    np.ones((2, 2)) @ np.ones((2, 2))  # make sure NumPy's BLAS is loaded
    paths = [c.filepath for c in ThreadpoolController().lib_controllers if c.internal_api == "openblas"]
    numpy_dir = os.path.dirname(os.path.dirname(np.__file__))
    return sorted(paths, key=lambda path: not (path.startswith(numpy_dir) and "numpy" in path))


def gemm_address(dtype) -> int:
    """The address of NumPy's BLAS ``cblas_sgemm``/``cblas_dgemm`` (64-bit integers) for ``dtype``, or 0."""
    dtype = np.dtype(dtype)
    if dtype not in _addresses:
        _addresses[dtype] = 0
        for path in _openblas_paths() if dtype in _SYMBOLS else []:
            library = ctypes.CDLL(path)
            # Only the 64-bit-integer interface (the ``64_`` suffix): the intrinsic passes 64-bit integers.
            for name in (f"scipy_{_SYMBOLS[dtype]}64_", f"{_SYMBOLS[dtype]}64_"):
                function = getattr(library, name, None)
                if function is not None:
                    _addresses[dtype] = ctypes.cast(function, ctypes.c_void_p).value or 0
                    return _addresses[dtype]
    return _addresses[dtype]


@intrinsic
def gemm(typingctx, address, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
    """``c = alpha * op(a) @ op(b) + beta * c`` through the ``cblas_?gemm`` at ``address`` (row-major;
    ``trans_*`` is ``NO_TRANS`` or ``TRANS``; ``a``, ``b``, ``c`` are arrays whose first element starts
    the matrix, ``ld*`` their row strides in elements)."""
    if not (isinstance(a, types.Array) and isinstance(b, types.Array) and isinstance(c, types.Array)):
        return None
    if not (a.dtype == b.dtype == c.dtype and a.dtype in (types.float32, types.float64)):
        return None
    element = a.dtype
    sig = types.void(types.intp, types.intp, types.intp, types.intp, types.intp, types.intp, element, a, types.intp,
                     b, types.intp, element, c, types.intp)

    def codegen(context, builder, signature, args):
        addr, ta, tb, m_, n_, k_, alpha_, a_, lda_, b_, ldb_, beta_, c_, ldc_ = args
        i32, i64 = ir.IntType(32), ir.IntType(64)
        real = context.get_value_type(element)
        pointer = real.as_pointer()
        function_type = ir.FunctionType(ir.VoidType(), [i32, i32, i32, i64, i64, i64, real, pointer, i64, pointer,
                                                        i64, real, pointer, i64])
        function = builder.inttoptr(addr, function_type.as_pointer())

        def data(array_type, value):
            return context.make_array(array_type)(context, builder, value).data

        def as_i64(value):
            return builder.sext(value, i64) if value.type.width < 64 else value

        builder.call(function, [ir.Constant(i32, 101), builder.trunc(ta, i32), builder.trunc(tb, i32), as_i64(m_),
                                as_i64(n_), as_i64(k_), alpha_, data(signature.args[7], a_), as_i64(lda_),
                                data(signature.args[9], b_), as_i64(ldb_), beta_, data(signature.args[12], c_),
                                as_i64(ldc_)])
        return context.get_dummy_value()

    return sig, codegen
