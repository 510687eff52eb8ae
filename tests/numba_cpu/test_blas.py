"""NumPy's BLAS gemm called from compiled kernels (backends/numba_cpu/blas.py)."""

import numpy as np
import pytest
from graphdl.backends.numba_cpu.blas import NO_TRANS, TRANS, gemm, gemm_address
from numba import njit


@njit(cache=True)
def _product(address, a, b, c, trans_a, trans_b, alpha, beta):
    m = a.shape[1] if trans_a == TRANS else a.shape[0]
    k = a.shape[0] if trans_a == TRANS else a.shape[1]
    n = b.shape[0] if trans_b == TRANS else b.shape[1]
    gemm(address, trans_a, trans_b, m, n, k, alpha, a, a.shape[1], b, b.shape[1], beta, c, c.shape[1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
def test_gemm_matches_numpy(dtype, trans_a, trans_b):
    address = gemm_address(dtype)
    if not address:
        pytest.skip("NumPy's BLAS is not an OpenBLAS with the 64-bit cblas interface")
    rng = np.random.default_rng(0)
    a = rng.standard_normal((7, 5) if trans_a else (5, 7)).astype(dtype)
    b = rng.standard_normal((3, 7) if trans_b else (7, 3)).astype(dtype)
    c = rng.standard_normal((5, 3)).astype(dtype)
    want = 2.0 * (a.T if trans_a else a) @ (b.T if trans_b else b) + 0.5 * c
    _product(address, a, b, c, TRANS if trans_a else NO_TRANS, TRANS if trans_b else NO_TRANS, dtype(2.0), dtype(0.5))
    np.testing.assert_allclose(c, want, rtol=1e-5 if dtype == np.float32 else 1e-12)


def test_gemm_writes_only_the_rows_of_a_slice():
    address = gemm_address(np.float32)
    if not address:
        pytest.skip("NumPy's BLAS is not an OpenBLAS with the 64-bit cblas interface")
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((4, 6)).astype(np.float32), rng.standard_normal((6, 8)).astype(np.float32)
    out = np.full((10, 8), 7.0, np.float32)
    _product(address, a, b, out[3:7], NO_TRANS, NO_TRANS, np.float32(1), np.float32(0))
    np.testing.assert_allclose(out[3:7], a @ b, rtol=1e-5)
    assert (out[:3] == 7).all() and (out[7:] == 7).all()


def test_no_address_for_other_dtypes():
    assert gemm_address(np.int32) == 0
