"""The vectorizable float32 functions of generated kernels stay within their documented errors."""

import math

import numpy as np
import pytest
from numba import njit

from graphdl.backends.numba_cpu.fastmath import fexp, fexpm1, ferf, flog, flog1p, fsigmoid, fsoftplus, ftanh


def _apply(fn):
    @njit(fastmath={"contract", "afn", "arcp"})
    def run(x, y):
        for i in range(x.size):
            y[i] = fn(x[i])

    def call(x):
        y = np.empty_like(x)
        run(x, y)
        return y

    return call


def _grid(low, high, n=200_001):
    return np.linspace(low, high, n, dtype=np.float64).astype(np.float32)


@pytest.mark.parametrize(
    "fn, reference, low, high, abs_tol, rel_tol",
    [
        (fexp, np.exp, -87.0, 88.0, 0.0, 3e-7),
        (ftanh, np.tanh, -20.0, 20.0, 5e-7, 0.0),
        (ftanh, np.tanh, -0.1, 0.1, 0.0, 5e-7),
        (fsigmoid, lambda v: 1.0 / (1.0 + np.exp(-v)), -30.0, 30.0, 3e-7, 0.0),
        (ferf, np.vectorize(math.erf), -6.0, 6.0, 6e-7, 0.0),
        (fsoftplus, lambda v: np.logaddexp(0.0, v), -30.0, 30.0, 1e-6, 0.0),
        (fexpm1, np.expm1, -5.0, 5.0, 1e-6, 2e-7),
        (flog1p, np.log1p, -0.9, 100.0, 1e-8, 3e-7),
    ],
)
def test_max_error_within_documented_bound(fn, reference, low, high, abs_tol, rel_tol):
    x = _grid(low, high)
    got = _apply(fn)(x).astype(np.float64)
    want = reference(x.astype(np.float64))
    err = np.abs(got - want)
    bound = abs_tol + rel_tol * np.abs(want)
    worst = int(np.argmax(err - bound))
    assert np.all(err <= bound), f"x={x[worst]!r}: got {got[worst]!r}, want {want[worst]!r}"


def test_log_relative_error_over_the_float32_range():
    x = np.exp(np.linspace(-69.0, 69.0, 200_001)).astype(np.float32)
    got = _apply(flog)(x).astype(np.float64)
    want = np.log(x.astype(np.float64))
    assert np.max(np.abs(got - want)) <= 3e-7 * 69 + 1e-6


def test_special_values():
    x = np.array([0.0, -1.0, np.inf, -np.inf, np.nan, 1e-45, -100.0, 100.0], np.float32)
    with np.errstate(all="ignore"):
        logs = _apply(flog)(x[:5])
        exps = _apply(fexp)(x)
        tanhs = _apply(ftanh)(x)
    assert logs[0] == -np.inf and np.isnan(logs[1]) and logs[2] == np.inf
    assert exps[0] == 1.0 and 0.0 <= exps[3] <= 1.2e-38 and 0.0 <= exps[6] <= 1.2e-38
    assert tanhs[2] == 1.0 and tanhs[3] == -1.0 and tanhs[7] == 1.0 and tanhs[6] == -1.0
    assert np.isnan(tanhs[4]) and np.isnan(exps[4])


_POW_OF_CAST_INT = """
import numpy as np
import graphdl as tf
step = tf.placeholder(tf.int32, [None])
base = tf.placeholder(tf.float32, [None])
decayed = 0.5 * tf.pow(base, tf.cast(step, tf.float32))  # a fused Cast + Pow + Mul, as exponential_decay builds
with tf.Session() as sess:
    print(sess.run(decayed, {step: [0, 1, 3], base: [0.5, 2.0, -2.0]}).tolist())
"""


def test_pow_of_an_integer_cast_in_a_fused_kernel_runs():
    # With approximate-function fast math LLVM turned pow(x, float(n)) into a call Numba cannot resolve, and the
    # process crashed (in a subprocess here, so a regression fails this test instead of killing the run).
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", _POW_OF_CAST_INT], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[0.5, 1.0, -4.0]"
