"""Vectorizable float32 transcendental functions for generated kernels.

Without Intel SVML, ``np.exp``/``np.tanh`` inside ``@njit`` loops are scalar libm calls
and the loop does not vectorize (16 Mi tanh: ~440 ms vs 16 ms in NumPy). These
branch-free polynomial forms let LLVM vectorize the whole fused loop. They are used
for float32 only; float64 kernels call NumPy's functions.

Maximum errors, measured against float64 NumPy (tests/numba_cpu/test_fastmath.py):

=========  ===========================  ==============================================
function   method                       max error (float32)
=========  ===========================  ==============================================
fexp       Cody-Waite reduction +        <= 3e-7 relative on [-87, 88]; the input is
           degree-6 polynomial           clamped to [-87.34, 88.72], so exp(-inf) gives
                                         1.2e-38 (the smallest normal), not 0
flog       exponent/mantissa split +     <= 3e-7 relative for x in [1e-30, 1e30];
           degree-8 polynomial (Cephes)  log(0) = -inf, log(x < 0) = nan
ftanh      rational function on [-9, 9]  <= 5e-7 absolute; <= 5e-7 relative near 0
           (Eigen's float tanh)
fsigmoid   1/(1+exp(-x))                 <= 3e-7 absolute
ferf       Abramowitz-Stegun 7.1.26      <= 6e-7 absolute
           with fexp
flog1p     log(u) * x / (u - 1)          <= 3e-7 relative for x > -0.9
=========  ===========================  ==============================================
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

_F = np.float32


@intrinsic
def _int_bits_as_float32(typingctx, bits):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return types.float32(types.int32), codegen


@intrinsic
def _float32_bits_as_int(typingctx, value):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(32))

    return types.int32(types.float32), codegen


@njit(inline="always", fastmath=True, cache=True)
def fexp(x):
    """exp(x) for float32 x, vectorizable."""
    x = min(max(x, _F(-87.33654)), _F(88.72283))
    t = x * _F(1.44269504088896341) + _F(0.5)
    n = _F(np.floor(t))
    r = x - n * _F(0.693359375) - n * _F(-2.12194440e-4)
    p = _F(1.9875691500e-4)
    p = p * r + _F(1.3981999507e-3)
    p = p * r + _F(8.3334519073e-3)
    p = p * r + _F(4.1665795894e-2)
    p = p * r + _F(1.6666665459e-1)
    p = p * r + _F(5.0000001201e-1)
    p = p * r * r + r + _F(1.0)
    # 2**n built from its exponent bits; n in [-126, 127] after the clamp above.
    return p * _int_bits_as_float32((np.int32(n) + np.int32(127)) << np.int32(23))


@njit(inline="always", fastmath=True, cache=True)
def flog(x):
    """log(x) for float32 x > 0, vectorizable (log(0) = -inf, log(x<0) = nan)."""
    bits = _float32_bits_as_int(x)
    e = _F((bits >> np.int32(23)) - np.int32(127))
    m = _int_bits_as_float32((bits & np.int32(0x007FFFFF)) | np.int32(0x3F800000))  # in [1, 2)
    big = m > _F(1.41421356)
    m = m * _F(0.5) if big else m
    e = e + _F(1.0) if big else e
    f = m - _F(1.0)
    z = f * f
    p = _F(7.0376836292e-2)
    p = p * f + _F(-1.1514610310e-1)
    p = p * f + _F(1.1676998740e-1)
    p = p * f + _F(-1.2420140846e-1)
    p = p * f + _F(1.4249322787e-1)
    p = p * f + _F(-1.6668057665e-1)
    p = p * f + _F(2.0000714765e-1)
    p = p * f + _F(-2.4999993993e-1)
    p = p * f + _F(3.3333331174e-1)
    y = f * z * p + e * _F(-2.12194440e-4) - _F(0.5) * z + f + e * _F(0.693359375)
    if x <= _F(0.0):
        y = _F(-np.inf) if x == _F(0.0) else _F(np.nan)
    if x == _F(np.inf):
        y = x
    return y


@njit(inline="always", fastmath=True, cache=True)
def ftanh(x):
    """tanh(x) for float32 x, vectorizable."""
    # Eigen's float tanh: an odd degree-13 / even degree-6 rational function on [-9, 9] (tanh(9) rounds to 1).
    c = min(max(x, _F(-9.0)), _F(9.0))
    c2 = c * c
    p = c2 * _F(-2.76076847742355e-16) + _F(2.00018790482477e-13)
    p = c2 * p + _F(-8.60467152213735e-11)
    p = c2 * p + _F(5.12229709037114e-08)
    p = c2 * p + _F(1.48572235717979e-05)
    p = c2 * p + _F(6.37261928875436e-04)
    p = c2 * p + _F(4.89352455891786e-03)
    q = c2 * _F(1.19825839466702e-06) + _F(1.18534705686654e-04)
    q = c2 * q + _F(2.26843463243900e-03)
    q = c2 * q + _F(4.89352518554385e-03)
    return c * p / q if x == x else x


@njit(inline="always", fastmath=True, cache=True)
def fsigmoid(x):
    """1 / (1 + exp(-x)) for float32 x, vectorizable."""
    return _F(1.0) / (_F(1.0) + fexp(-x))


@njit(inline="always", fastmath=True, cache=True)
def ferf(x):
    """erf(x) for float32 x (Abramowitz and Stegun 7.1.26), vectorizable."""
    a = abs(x)
    t = _F(1.0) / (_F(1.0) + _F(0.3275911) * a)
    poly = t * (_F(0.254829592) + t * (_F(-0.284496736) + t * (_F(1.421413741) + t * (_F(-1.453152027) + t * _F(1.061405429)))))
    y = _F(1.0) - poly * fexp(-a * a)
    return y if x >= _F(0.0) else -y


@njit(inline="always", fastmath=True, cache=True)
def flog1p(x):
    """log(1 + x) for float32 x > -1, accurate for small x."""
    u = _F(1.0) + x
    d = u - _F(1.0)
    return x if d == _F(0.0) else flog(u) * (x / d)


@njit(inline="always", fastmath=True, cache=True)
def fexpm1(x):
    """exp(x) - 1 for float32 x, accurate for small x."""
    if abs(x) < _F(1e-5):
        return x + _F(0.5) * x * x
    return fexp(x) - _F(1.0)


# Not inlined and without approximate-function fast math: with ``afn`` LLVM rewrites pow(x, float(n)) for an
# integer n (``0.5 ** float(global_step)`` in an exponential decay) into compiler-rt's __powisf2/__powidf2, which
# Numba's JIT does not provide, and the kernel crashes. The call's own flags survive LLVM's inlining.
@njit(fastmath={"contract", "arcp"}, error_model="numpy", cache=True)
def fpow(x, y):
    """x ** y, safe inside kernels compiled with approximate-function fast math."""
    return x ** y


@njit(inline="always", fastmath=True, cache=True)
def fsoftplus(x):
    """log(1 + exp(x)) for float32 x, stable for large |x|."""
    return max(x, _F(0.0)) + flog1p(fexp(-abs(x)))
