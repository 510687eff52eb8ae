"""Elementwise math: arithmetic, unary functions, comparisons/logic, where, casts, clipping, operators."""

import math
import warnings

import numpy as np
import pytest
import scipy.special

import graphdl
from graphdl.ops import math_ops
from harness import OpCase, make_op_tests, randn, uniform


def signed(*shape, seed=0, low=0.5, high=2.0):
    """Values with random signs and magnitudes in [low, high] (away from zero)."""
    v = uniform(low, high, *shape, seed=seed)
    s = np.where(randn(*shape, seed=seed + 50) > 0, 1, -1)
    return (v * s).astype(np.float32)


def ints(low, high, *shape, seed=0, dtype=np.int32):
    return np.random.default_rng(seed + 100 + sum(shape)).integers(low, high, shape).astype(dtype)


def nonzero_ints(*shape, seed=0, dtype=np.int32):
    v = ints(1, 5, *shape, seed=seed, dtype=dtype)
    return np.where(randn(*shape, seed=seed + 9) > 0, v, -v).astype(dtype)


def bools(*shape, seed=0):
    return randn(*shape, seed=seed + 33) > 0


def trunc_div(x, y):
    return np.trunc(x / y).astype(x.dtype)


ROUNDING = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.2, -0.7, 3.49], np.float32)
SPECIALS = np.array([0.0, 1.0, -np.inf, np.inf, np.nan, -2.0], np.float32)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


BINARY = [
    OpCase("divide_broadcast", lambda x, y: graphdl.divide(x, y), [randn(3, 4), signed(4, seed=1)], np.divide),
    OpCase("truediv_operator_scalar", lambda x: x / 2.0, [randn(2, 3)], lambda x: x / 2),
    OpCase("rtruediv", lambda x: 1.0 / x, [signed(2, 3)], lambda x: 1 / x),
    OpCase("truediv_int32_to_float64", lambda x, y: x / y, [ints(-9, 9, 2, 3), nonzero_ints(2, 3, seed=1)],
           np.true_divide, grad=False),
    OpCase("truediv_int8_to_float32", lambda x, y: graphdl.truediv(x, y),
           [ints(-9, 9, 5, dtype=np.int8), nonzero_ints(5, dtype=np.int8)],
           lambda x, y: (x / y).astype(np.float32), grad=False),
    OpCase("realdiv", lambda x, y: graphdl.realdiv(x, y), [randn(3, 1), signed(1, 4, seed=2)], np.divide),
    OpCase("div_float", lambda x, y: graphdl.div(x, y), [randn(2, 3), signed(3, seed=3)], np.divide),
    OpCase("div_int_floors", lambda x, y: graphdl.div(x, y), [ints(-9, 9, 2, 4), nonzero_ints(4, seed=2)],
           np.floor_divide, grad=False),
    OpCase("floordiv_float", lambda x, y: x // y, [randn(3, 4) * 3, signed(4, seed=4)], np.floor_divide, grad=False),
    OpCase("floordiv_int", lambda x, y: graphdl.floordiv(x, y), [ints(-9, 9, 3, 4), nonzero_ints(3, 4, seed=5)],
           np.floor_divide, grad=False),
    OpCase("floor_div_int64", lambda x, y: graphdl.floor_div(x, y),
           [ints(-9, 9, 6, dtype=np.int64), nonzero_ints(6, seed=6, dtype=np.int64)], np.floor_divide, grad=False),
    OpCase("floormod_float", lambda x, y: x % y, [randn(3, 4) * 3, uniform(0.7, 2.0, 4, seed=5)], np.mod),
    OpCase("floormod_negative_divisor", lambda x, y: graphdl.floormod(x, y), [randn(2, 3) * 3, -uniform(0.7, 2, 3)],
           np.mod),
    OpCase("mod_int", lambda x, y: graphdl.mod(x, y), [ints(-9, 9, 3, 4), nonzero_ints(4, seed=7)], np.mod, grad=False),
    OpCase("truncatediv_int", lambda x, y: graphdl.truncatediv(x, y), [ints(-9, 9, 3, 4), nonzero_ints(3, 4, seed=8)],
           trunc_div, grad=False),
    OpCase("truncatemod_int", lambda x, y: graphdl.truncatemod(x, y), [ints(-9, 9, 3, 4), nonzero_ints(3, 4, seed=9)],
           np.fmod, grad=False),
    OpCase("pow_broadcast", lambda x, y: graphdl.pow(x, y), [uniform(0.5, 2, 3, 4), randn(4, seed=10)], np.power),
    OpCase("pow_operator_square", lambda x: x ** 2, [randn(2, 3)], lambda x: x ** 2),
    OpCase("rpow", lambda x: 2.0 ** x, [randn(5)], lambda x: 2.0 ** x),
    OpCase("pow_int", lambda x, y: x ** y, [ints(-4, 4, 2, 3), ints(0, 4, 2, 3, seed=1)], np.power, grad=False),
    OpCase("maximum_broadcast", lambda x, y: graphdl.maximum(x, y), [randn(3, 4), randn(4, seed=11)], np.maximum),
    OpCase("minimum_scalar", lambda x: graphdl.minimum(x, 0.3), [randn(3, 4)], lambda x: np.minimum(x, 0.3)),
    OpCase("maximum_scalar_tensor", lambda s, x: graphdl.maximum(s, x), [np.float32(0.1), randn(2, 3)], np.maximum),
    OpCase("maximum_int", lambda x, y: graphdl.maximum(x, y), [ints(-5, 5, 6), ints(-5, 5, 6, seed=3)], np.maximum,
           grad=False),
    OpCase("minimum_int64", lambda x, y: graphdl.minimum(x, y),
           [ints(-5, 5, 6, dtype=np.int64), ints(-5, 5, 6, seed=3, dtype=np.int64)], np.minimum, grad=False),
    OpCase("squared_difference", lambda x, y: graphdl.squared_difference(x, y), [randn(3, 4), randn(3, 1, seed=12)],
           lambda x, y: (x - y) ** 2),
    OpCase("squared_difference_int", lambda x, y: graphdl.squared_difference(x, y), [ints(-5, 5, 4), ints(-5, 5, 4, seed=2)],
           lambda x, y: (x - y) ** 2, grad=False),
    OpCase("div_no_nan_zeros", lambda x, y: graphdl.div_no_nan(x, y),
           [randn(2, 4), np.array([1.5, 0.0, -2.0, 0.0], np.float32)],
           lambda x, y: np.where(y == 0, 0, x / np.where(y == 0, 1, y)), grad=False),
    OpCase("div_no_nan_grad", lambda x, y: graphdl.div_no_nan(x, y), [randn(2, 4), signed(4, seed=13)], np.divide),
    OpCase("multiply_no_nan_zeros", lambda x, y: graphdl.math.multiply_no_nan(x, y),
           [np.array([np.inf, np.nan, 2.0, 3.0], np.float32), np.array([0.0, 0.0, 2.0, -1.0], np.float32)],
           lambda x, y: np.array([0.0, 0.0, 4.0, -3.0], np.float32), grad=False),
    OpCase("multiply_no_nan_grad", lambda x, y: graphdl.math.multiply_no_nan(x, y), [randn(3, 2), signed(2, seed=14)],
           np.multiply),
    OpCase("xdivy_zeros", lambda x, y: graphdl.math.xdivy(x, y),
           [np.array([0.0, 0.0, 3.0], np.float32), np.array([0.0, 2.0, 4.0], np.float32)],
           lambda x, y: np.array([0.0, 0.0, 0.75], np.float32), grad=False),
    OpCase("xdivy_grad", lambda x, y: graphdl.math.xdivy(x, y), [signed(2, 3), signed(2, 3, seed=15)], np.divide),
    OpCase("xlogy_zeros", lambda x, y: graphdl.math.xlogy(x, y),
           [np.array([0.0, 0.0, 3.0], np.float32), np.array([0.0, 2.0, 4.0], np.float32)],
           lambda x, y: np.array([0.0, 0.0, 3 * np.log(4.0)], np.float32), grad=False),
    OpCase("xlogy_grad", lambda x, y: graphdl.math.xlogy(x, y), [signed(2, 3), uniform(0.5, 2, 2, 3)],
           lambda x, y: x * np.log(y)),
    OpCase("xlogy_zero_y", lambda x, y: graphdl.math.xlogy(x, y),
           [np.array([3.0, 0.0, -1.0], np.float32), np.array([0.0, 0.0, 0.0], np.float32)],
           lambda x, y: np.array([-np.inf, 0.0, np.inf], np.float32), grad=False),
    OpCase("pow_negative_base", lambda x, y: graphdl.pow(x, y),
           [np.array([-2.0, -8.0, -3.0, 0.0], np.float32), np.array([0.5, 2.0, 3.0, -1.0], np.float32)],
           lambda x, y: np.array([np.nan, 64.0, -27.0, np.inf], np.float32), grad=False),
    OpCase("scalar_mul", lambda x: graphdl.scalar_mul(2.5, x), [randn(2, 3)], lambda x: 2.5 * x),
    OpCase("atan2", lambda y, x: graphdl.atan2(y, x), [randn(3, 4), signed(4, seed=16)], np.arctan2),
    OpCase("accumulate_n", lambda x, y: graphdl.accumulate_n([x, y, x]), [randn(2, 3), randn(2, 3, seed=17)],
           lambda x, y: 2 * x + y),
    OpCase("add_int_scalar", lambda x: x + 1, [ints(-5, 5, 4)], lambda x: x + 1, grad=False),
    OpCase("rsub_scalar", lambda x: 1.0 - x, [randn(4)], lambda x: 1 - x),
    # Unknown rank: gradients reduce broadcast dims with runtime shapes (BroadcastGradientArgs).
    OpCase("mul_unknown_rank_broadcast", lambda x, y: graphdl.placeholder_with_default(x, None) * y,
           [randn(3, 4), randn(4, seed=18)], np.multiply),
    OpCase("maximum_unknown_rank_broadcast", lambda x, y: graphdl.maximum(x, graphdl.placeholder_with_default(y, None)),
           [randn(2, 3), randn(2, 1, seed=19)], np.maximum),
]

UNARY = [
    OpCase("abs", lambda x: graphdl.abs(x), [signed(3, 4)], np.abs),
    OpCase("abs_operator_int", lambda x: abs(x), [ints(-5, 5, 6)], np.abs, grad=False),
    OpCase("negative_int", lambda x: -x, [ints(-5, 5, 6)], np.negative, grad=False),
    OpCase("sign", lambda x: graphdl.sign(x), [signed(3, 4)], np.sign),
    OpCase("sign_zero_int", lambda x: graphdl.sign(x), [ints(-3, 3, 7)], np.sign, grad=False),
    OpCase("square", lambda x: graphdl.square(x), [randn(3, 4)], np.square),
    OpCase("square_int", lambda x: graphdl.square(x), [ints(-5, 5, 6)], np.square, grad=False),
    OpCase("sqrt", lambda x: graphdl.sqrt(x), [uniform(0.5, 3, 3, 4)], np.sqrt),
    OpCase("rsqrt", lambda x: graphdl.rsqrt(x), [uniform(0.5, 3, 3, 4)], lambda x: 1 / np.sqrt(x)),
    OpCase("exp", lambda x: graphdl.exp(x), [randn(3, 4)], np.exp),
    OpCase("expm1", lambda x: graphdl.expm1(x), [randn(3, 4) * 0.1], np.expm1),
    OpCase("log", lambda x: graphdl.log(x), [uniform(0.5, 3, 3, 4)], np.log),
    OpCase("log1p", lambda x: graphdl.log1p(x), [uniform(-0.5, 2, 3, 4)], np.log1p),
    OpCase("reciprocal", lambda x: graphdl.reciprocal(x), [signed(3, 4)], np.reciprocal),
    OpCase("inv_alias", lambda x: math_ops.inv(x), [signed(5)], lambda x: 1 / x),
    OpCase("floor", lambda x: graphdl.floor(x), [ROUNDING], np.floor, grad=False),
    OpCase("ceil", lambda x: graphdl.ceil(x), [ROUNDING], np.ceil, grad=False),
    OpCase("round_half_to_even", lambda x: graphdl.round(x), [ROUNDING],
           lambda x: np.array([-2, -2, -0, 0, 2, 2, 0, -1, 3], np.float32), grad=False),
    OpCase("round_int_passthrough", lambda x: graphdl.round(x), [ints(-5, 5, 4)], lambda x: x, grad=False),
    OpCase("rint", lambda x: graphdl.rint(x), [ROUNDING], np.rint, grad=False),
    OpCase("sin", lambda x: graphdl.sin(x), [randn(3, 4)], np.sin),
    OpCase("cos", lambda x: graphdl.cos(x), [randn(3, 4)], np.cos),
    OpCase("tan", lambda x: graphdl.tan(x), [uniform(-1, 1, 3, 4)], np.tan),
    OpCase("asin", lambda x: graphdl.asin(x), [uniform(-0.8, 0.8, 3, 4)], np.arcsin),
    OpCase("acos", lambda x: graphdl.acos(x), [uniform(-0.8, 0.8, 3, 4)], np.arccos),
    OpCase("atan", lambda x: graphdl.atan(x), [randn(3, 4)], np.arctan),
    OpCase("sinh", lambda x: graphdl.sinh(x), [randn(3, 4)], np.sinh),
    OpCase("cosh", lambda x: graphdl.cosh(x), [randn(3, 4)], np.cosh),
    OpCase("asinh", lambda x: graphdl.asinh(x), [randn(3, 4)], np.arcsinh),
    OpCase("acosh", lambda x: graphdl.acosh(x), [uniform(1.5, 3, 3, 4)], np.arccosh),
    OpCase("atanh", lambda x: graphdl.atanh(x), [uniform(-0.8, 0.8, 3, 4)], np.arctanh),
    OpCase("tanh", lambda x: graphdl.tanh(x), [randn(3, 4)], np.tanh),
    OpCase("sigmoid", lambda x: graphdl.sigmoid(x), [randn(3, 4) * 3], _sigmoid),
    OpCase("sigmoid_extremes", lambda x: graphdl.sigmoid(x), [np.array([-1000, -50, 0, 50, 1000], np.float32)],
           lambda x: np.array([0, _sigmoid(-50.0), 0.5, 1, 1], np.float32), grad=False),
    OpCase("log_sigmoid", lambda x: graphdl.log_sigmoid(x), [randn(3, 4) * 3], lambda x: -np.logaddexp(0, -x)),
    OpCase("erf", lambda x: graphdl.erf(x), [randn(3, 4)], scipy.special.erf),
    OpCase("erfc", lambda x: graphdl.erfc(x), [randn(3, 4)], scipy.special.erfc),
    OpCase("lgamma", lambda x: graphdl.lgamma(x), [uniform(0.5, 5, 3, 4)], scipy.special.gammaln),
    OpCase("lgamma_negative", lambda x: graphdl.lgamma(x), [np.array([-0.5, -1.5, -2.3, 0.1], np.float64)],
           scipy.special.gammaln, grad=False),
    OpCase("digamma", lambda x: graphdl.digamma(x), [uniform(0.3, 5, 3, 4)], scipy.special.digamma),
    OpCase("digamma_negative", lambda x: graphdl.digamma(x), [np.array([-0.5, -1.5, -2.3, 30.0, 0.01], np.float64)],
           scipy.special.digamma, grad=False, rtol=1e-9),
    OpCase("polygamma_1", lambda x: graphdl.polygamma(1.0, x), [uniform(0.3, 5, 3, 4)],
           lambda x: scipy.special.polygamma(1, x).astype(np.float32)),
    OpCase("polygamma_orders", lambda a, x: graphdl.polygamma(a, x),
           [np.array([0.0, 1.0, 2.0, 3.0], np.float64), np.array([0.7, 2.5, 11.0, 25.0], np.float64)],
           lambda a, x: scipy.special.polygamma(a.astype(int), x), grad_inputs=(1,), rtol=1e-9),
    OpCase("asin_acos_outside_domain", lambda x: [graphdl.asin(x), graphdl.acos(x), graphdl.atanh(x)],
           [np.array([2.0, -2.0, 0.5, 1.0], np.float32)],
           lambda x: [np.array([np.nan, np.nan, np.arcsin(0.5), np.pi / 2], np.float32),
                      np.array([np.nan, np.nan, np.arccos(0.5), 0.0], np.float32),
                      np.array([np.nan, np.nan, np.arctanh(0.5), np.inf], np.float32)], grad=False),
    OpCase("sinh_cosh_overflow", lambda x: [graphdl.sinh(x), graphdl.cosh(x)], [np.array([100.0, -100.0], np.float32)],
           lambda x: [np.array([np.inf, -np.inf], np.float32), np.array([np.inf, np.inf], np.float32)], grad=False),
    OpCase("lgamma_poles", lambda x: graphdl.lgamma(x), [np.array([0.0, -1.0, -2.0, 1.0], np.float32)],
           lambda x: np.array([np.inf, np.inf, np.inf, 0.0], np.float32), grad=False),
    OpCase("is_nan", lambda x: graphdl.is_nan(x), [SPECIALS], np.isnan, grad=False),
    OpCase("is_inf", lambda x: graphdl.is_inf(x), [SPECIALS], np.isinf, grad=False),
    OpCase("is_finite", lambda x: graphdl.is_finite(x), [SPECIALS], np.isfinite, grad=False),
]

def _grad_of(f, weighted=False):
    def build(x):
        return graphdl.gradients(f(x), x, grad_ys=graphdl.square(x) if weighted else None)[0]

    return build


def _times_square(d):
    return lambda x: x ** 2 * d(x)


# Gradients of gradients: the build returns a first derivative; the harness checks its derivative.
SECOND_ORDER = [
    OpCase(f"second_derivative_{name}", _grad_of(fn), [inp], first)
    for name, fn, inp, first in [
        ("tanh", graphdl.tanh, randn(3, 4), lambda x: 1 - np.tanh(x) ** 2),
        ("sigmoid", graphdl.sigmoid, randn(3, 4), lambda x: _sigmoid(x) * (1 - _sigmoid(x))),
        ("exp", graphdl.exp, randn(3, 4), np.exp),
        ("sqrt", graphdl.sqrt, uniform(0.5, 3, 3, 4), lambda x: 0.5 / np.sqrt(x)),
        ("rsqrt", graphdl.rsqrt, uniform(0.5, 3, 3, 4), lambda x: -0.5 * x ** -1.5),
        ("reciprocal", graphdl.reciprocal, signed(3, 4), lambda x: -1 / x ** 2),
        ("log", graphdl.log, uniform(0.5, 3, 3, 4), lambda x: 1 / x),
        ("erf", graphdl.erf, randn(3, 4), lambda x: 2 / np.sqrt(np.pi) * np.exp(-x ** 2)),
        ("lgamma", graphdl.lgamma, uniform(0.5, 4, 3, 4), scipy.special.digamma),
        ("square", graphdl.square, randn(3, 4), lambda x: 2 * x),
    ]
] + [
    # grad_ys depending on x exercises the gradient of the grad ops with respect to their second input too.
    OpCase(f"second_derivative_weighted_{name}",
           _grad_of(fn, weighted=True), [inp], _times_square(first))
    for name, fn, inp, first in [
        ("tanh", graphdl.tanh, randn(3, 4), lambda x: 1 - np.tanh(x) ** 2),
        ("sigmoid", graphdl.sigmoid, randn(3, 4), lambda x: _sigmoid(x) * (1 - _sigmoid(x))),
        ("sqrt", graphdl.sqrt, uniform(0.5, 3, 3, 4), lambda x: 0.5 / np.sqrt(x)),
        ("rsqrt", graphdl.rsqrt, uniform(0.5, 3, 3, 4), lambda x: -0.5 * x ** -1.5),
        ("reciprocal", graphdl.reciprocal, signed(3, 4), lambda x: -1 / x ** 2),
    ]
] + [
    OpCase("second_derivative_div", lambda x, y: graphdl.gradients(x / y, [x, y]), [randn(2, 3), signed(3, seed=3)],
           lambda x, y: [np.broadcast_to(1 / y, x.shape), (-x / y ** 2).sum(0)]),
    OpCase("second_derivative_pow", lambda x, y: graphdl.gradients(graphdl.pow(x, y), [x, y]),
           [uniform(0.5, 2, 2, 3), randn(2, 3, seed=4)], lambda x, y: [y * x ** (y - 1), x ** y * np.log(x)]),
]

COMPARE = [
    OpCase("equal", lambda x, y: graphdl.equal(x, y), [ints(0, 3, 3, 4), ints(0, 3, 4, seed=1)], np.equal, grad=False),
    OpCase("not_equal_float", lambda x, y: graphdl.not_equal(x, y), [ROUNDING, np.float32(0.5)], np.not_equal,
           grad=False),
    OpCase("equal_bool", lambda x, y: graphdl.equal(x, y), [bools(6), bools(6, seed=1)], np.equal, grad=False),
    OpCase("less_operator_scalar", lambda x: x < 0.5, [randn(3, 4)], lambda x: x < 0.5, grad=False),
    OpCase("less_equal", lambda x, y: x <= y, [ints(0, 3, 3, 4), ints(0, 3, 3, 1, seed=2)], np.less_equal, grad=False),
    OpCase("greater", lambda x, y: graphdl.greater(x, y), [randn(3, 4), randn(4, seed=3)], np.greater, grad=False),
    OpCase("greater_equal_operator", lambda x, y: x >= y, [ints(0, 3, 6), ints(0, 3, 6, seed=3)], np.greater_equal,
           grad=False),
    OpCase("logical_and", lambda x, y: graphdl.logical_and(x, y), [bools(3, 4), bools(4, seed=1)], np.logical_and,
           grad=False),
    OpCase("logical_or_operator", lambda x, y: x | y, [bools(3, 4), bools(3, 4, seed=2)], np.logical_or, grad=False),
    OpCase("logical_xor", lambda x, y: graphdl.logical_xor(x, y), [bools(3, 4), bools(3, 4, seed=3)], np.logical_xor,
           grad=False),
    OpCase("logical_xor_operator", lambda x, y: x ^ y, [bools(5), bools(5, seed=4)], np.logical_xor, grad=False),
    OpCase("logical_not", lambda x: graphdl.logical_not(x), [bools(3, 4)], np.logical_not, grad=False),
    OpCase("invert_operator", lambda x: ~x, [bools(5)], np.logical_not, grad=False),
    OpCase("and_with_comparisons", lambda x: (x > -0.5) & (x < 0.5), [randn(3, 4)], lambda x: (x > -0.5) & (x < 0.5),
           grad=False),
]

WHERE = [
    OpCase("where_same_shape", lambda c, x, y: graphdl.where(c, x, y), [bools(3, 4), randn(3, 4), randn(3, 4, seed=1)],
           np.where),
    OpCase("where_vector_condition_selects_rows", lambda c, x, y: graphdl.where(c, x, y),
           [bools(3), randn(3, 4), randn(3, 4, seed=1)], lambda c, x, y: np.where(c[:, None], x, y)),
    OpCase("where_scalar_condition", lambda c, x, y: graphdl.where(c, x, y), [np.bool_(False), randn(2, 3),
                                                                            randn(2, 3, seed=2)], lambda c, x, y: y),
    OpCase("where_leaky", lambda x: graphdl.where(x > 0, x, 0.1 * x), [randn(3, 4)], lambda x: np.where(x > 0, x, 0.1 * x)),
    OpCase("where_v2_broadcast", lambda c, x, y: graphdl.where_v2(c, x, y), [bools(3, 1), randn(4), np.float32(0.5)],
           np.where),
    OpCase("where_v2_broadcast_condition", lambda c, x, y: graphdl.where_v2(c, x, y),
           [bools(4), randn(3, 4), randn(3, 1, seed=3)], np.where),
    OpCase("where_coordinates", lambda c: graphdl.where(c), [bools(3, 4)], lambda c: np.argwhere(c).astype(np.int64),
           grad=False),
    OpCase("where_coordinates_numeric", lambda x: graphdl.where(x > 0), [randn(2, 3, 2)],
           lambda x: np.argwhere(x > 0).astype(np.int64), grad=False),
    OpCase("where_v2_coordinates", lambda c: graphdl.where_v2(c), [bools(5)], lambda c: np.argwhere(c).astype(np.int64),
           grad=False),
]

CASTS = [
    OpCase("to_float", lambda x: graphdl.to_float(x), [ints(-5, 5, 4)], lambda x: x.astype(np.float32), grad=False),
    OpCase("to_double", lambda x: graphdl.to_double(x), [randn(4)], lambda x: x.astype(np.float64)),
    OpCase("to_int32_truncates", lambda x: graphdl.to_int32(x), [ROUNDING], lambda x: x.astype(np.int32), grad=False),
    OpCase("to_int64", lambda x: graphdl.to_int64(x), [ints(-5, 5, 4)], lambda x: x.astype(np.int64), grad=False),
    OpCase("cast_bool", lambda x: graphdl.cast(x, graphdl.bool), [np.array([0.0, 2.0, -1.0], np.float32)],
           lambda x: x != 0, grad=False),
    OpCase("saturate_cast_uint8", lambda x: graphdl.saturate_cast(x, graphdl.uint8),
           [np.array([-20.0, 3.7, 300.0, 255.0], np.float32)], lambda x: np.array([0, 3, 255, 255], np.uint8), grad=False),
    OpCase("saturate_cast_int32_to_int8", lambda x: graphdl.saturate_cast(x, graphdl.int8),
           [np.array([-1000, -5, 100, 1000], np.int32)], lambda x: np.array([-128, -5, 100, 127], np.int8), grad=False),
    OpCase("saturate_cast_float64_to_int32", lambda x: graphdl.saturate_cast(x, graphdl.int32),
           [np.array([-3e9, 1.5, 3e9], np.float64)], lambda x: np.array([-2**31, 1, 2**31 - 1], np.int32), grad=False),
]


def _clip_by_norm(x, c, axes=None):
    norm = np.sqrt((x * x).sum(axis=axes, keepdims=True))
    return x * c / np.maximum(norm, c)


def _flat_clip_by_global_norm(ts, c):
    clipped, norm = graphdl.clip_by_global_norm(ts, c)
    return [*clipped, norm]


CLIP = [
    OpCase("clip_by_value", lambda x: graphdl.clip_by_value(x, -0.5, 0.5), [randn(3, 4)], lambda x: np.clip(x, -0.5, 0.5)),
    OpCase("clip_by_value_tensor_bounds", lambda x, lo, hi: graphdl.clip_by_value(x, lo, hi),
           [randn(3, 4), -uniform(0.1, 1, 4), uniform(0.1, 1, 4, seed=1)], np.clip),
    OpCase("clip_by_value_int", lambda x: graphdl.clip_by_value(x, 0, 3), [ints(-5, 5, 6)], lambda x: np.clip(x, 0, 3),
           grad=False),
    OpCase("clip_by_norm", lambda x: graphdl.clip_by_norm(x, 1.0), [randn(3, 4)], lambda x: _clip_by_norm(x, 1.0)),
    OpCase("clip_by_norm_axes", lambda x: graphdl.clip_by_norm(x, 1.2, axes=[1]), [randn(3, 4)],
           lambda x: _clip_by_norm(x, 1.2, axes=1)),
    OpCase("clip_by_norm_unclipped", lambda x: graphdl.clip_by_norm(x, 100.0), [randn(3, 4)], lambda x: x),
    OpCase("global_norm", lambda x, y: graphdl.global_norm([x, None, y]), [randn(3, 4), randn(5, seed=1)],
           lambda x, y: np.sqrt((x ** 2).sum() + (y ** 2).sum())),
    OpCase("clip_by_global_norm", lambda x, y: _flat_clip_by_global_norm([x, y], 2.0),
           [randn(3, 4), randn(5, seed=1)],
           lambda x, y: [x * 2 / np.sqrt((x ** 2).sum() + (y ** 2).sum()), y * 2 / np.sqrt((x ** 2).sum() + (y ** 2).sum()),
                         np.sqrt((x ** 2).sum() + (y ** 2).sum())]),
    OpCase("clip_by_average_norm", lambda x: graphdl.clip_by_average_norm(x, 0.1), [randn(3, 4)],
           lambda x: x * 0.1 / max(np.sqrt((x ** 2).sum()) / x.size, 0.1)),
]

CASES = BINARY + UNARY + SECOND_ORDER + COMPARE + WHERE + CASTS + CLIP
test_forward, test_gradient = make_op_tests(CASES)


def run(fetches, feed=None):
    with graphdl.Session() as sess:
        return sess.run(fetches, feed)


# -- dtypes, names, TF1 semantics ------------------------------------------------------------------
def test_truediv_integer_result_dtypes():
    assert (graphdl.constant([1, 2]) / graphdl.constant([2, 2])).dtype == graphdl.float64
    assert (graphdl.constant([1, 2], graphdl.int64) / 2).dtype == graphdl.float64
    assert (graphdl.constant([1, 2], graphdl.int8) / 2).dtype == graphdl.float32
    assert (graphdl.constant([1, 2], graphdl.int16) / 2).dtype == graphdl.float32
    assert (graphdl.constant([1.0], graphdl.float16) / 2).dtype == graphdl.float16
    assert (graphdl.constant([7, -7]) // 2).dtype == graphdl.int32
    np.testing.assert_array_equal(run(graphdl.constant([7, -7]) // 2), [3, -4])
    np.testing.assert_array_equal(run(graphdl.constant([7, -7]) % 3), [1, 2])
    np.testing.assert_allclose(run(graphdl.constant([7, -7]) / 2), [3.5, -3.5])


def test_default_op_names_follow_tf1():
    x = graphdl.placeholder(graphdl.float32, [2])
    assert (x / 2.0).op.name == "truediv"
    assert graphdl.divide(x, 2.0).op.name == "truediv_1"
    assert graphdl.maximum(x, 1.0).op.name == "Maximum"
    assert graphdl.sigmoid(x).op.name == "Sigmoid"
    assert graphdl.clip_by_value(x, 0.0, 1.0).op.name == "clip_by_value"
    assert graphdl.where(x > 0, x, x).op.type == "Select"
    assert graphdl.where_v2(x > 0, x, 0.0).op.type == "SelectV2"
    assert graphdl.to_float(graphdl.constant([1])).op.name == "ToFloat"
    assert graphdl.sqrt(x, name="root").op.name == "root"


def test_float_division_by_zero_gives_inf_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = run(graphdl.constant([1.0, -1.0, 0.0]) / 0.0)
        logs = run(graphdl.log(graphdl.constant([0.0, -1.0])))
    assert got[0] == np.inf and got[1] == -np.inf and np.isnan(got[2])
    assert logs[0] == -np.inf and np.isnan(logs[1])


def test_integer_division_by_zero_raises():
    x = graphdl.constant([4, 2])
    for t in [x // graphdl.constant([2, 0]), x % graphdl.constant([0, 1]), graphdl.truncatediv(x, graphdl.constant([0, 1]))]:
        with pytest.raises(graphdl.errors.InvalidArgumentError, match="Integer division by zero"):
            run(t)


def test_integer_negative_power_raises():
    with pytest.raises(graphdl.errors.InvalidArgumentError, match="negative integer powers"):
        run(graphdl.constant([2, 3]) ** graphdl.constant([1, -1]))


def test_where_vector_condition_keeps_static_shape():
    c = graphdl.placeholder(graphdl.bool, [None])
    x = graphdl.placeholder(graphdl.float32, [5, 3])
    assert graphdl.where(c, x, x).shape.as_list() == [5, 3]
    assert graphdl.where(c).shape.as_list() == [None, 1]
    assert graphdl.where(graphdl.placeholder(graphdl.bool, None)).shape.as_list() == [None, None]


def test_where_v2_static_broadcast_shape():
    c = graphdl.placeholder(graphdl.bool, [None, 1])
    x = graphdl.placeholder(graphdl.float32, [4])
    assert graphdl.where_v2(c, x, 0.0).shape.as_list() == [None, 4]


def test_where_runtime_shape_mismatch_raises():
    c = graphdl.placeholder(graphdl.bool, [None])
    x = graphdl.placeholder(graphdl.float32, [None, 2])
    with pytest.raises(graphdl.errors.InvalidArgumentError, match="must match size of 'cond'"):
        run(graphdl.where(c, x, x), {c: [True, False, True], x: np.ones((2, 2))})


def test_maximum_minimum_ties_send_gradient_to_first_input():
    x = graphdl.constant([1.0, 2.0, 3.0])
    y = graphdl.constant([1.0, 0.0, 3.0])
    gmax = graphdl.gradients(graphdl.maximum(x, y), [x, y])
    gmin = graphdl.gradients(graphdl.minimum(x, y), [x, y])
    (gx, gy), (hx, hy) = run([gmax, gmin])
    np.testing.assert_array_equal(gx, [1, 1, 1])
    np.testing.assert_array_equal(gy, [0, 0, 0])
    np.testing.assert_array_equal(hx, [1, 0, 1])
    np.testing.assert_array_equal(hy, [0, 1, 0])


def test_pow_gradient_is_finite_at_zero_and_negative_base():
    x = graphdl.constant([0.0, -2.0, 2.0])
    y = graphdl.constant([2.0, 2.0, 2.0])
    gx, gy = run(graphdl.gradients(graphdl.pow(x, y), [x, y]))
    np.testing.assert_allclose(gx, [0.0, -4.0, 4.0])
    np.testing.assert_allclose(gy, [0.0, 0.0, 4 * math.log(2.0)])


def test_log_gradient_is_zero_where_upstream_gradient_is_zero():
    x = graphdl.constant([0.0, 2.0])
    y = graphdl.where(x > 0, graphdl.log(graphdl.where(x > 0, x, graphdl.ones_like(x))), graphdl.zeros_like(x))
    np.testing.assert_allclose(run(graphdl.gradients(y, x)[0]), [0.0, 0.5])


def test_div_no_nan_gradient_zero_where_divisor_zero():
    x = graphdl.constant([1.0, 2.0])
    y = graphdl.constant([0.0, 4.0])
    gx, gy = run(graphdl.gradients(graphdl.div_no_nan(x, y), [x, y]))
    np.testing.assert_allclose(gx, [0.0, 0.25])
    np.testing.assert_allclose(gy, [0.0, -2.0 / 16])


def test_comparison_and_rounding_ops_have_no_gradient():
    x = graphdl.placeholder(graphdl.float32, [3])
    for y in [graphdl.floor(x), graphdl.ceil(x), graphdl.round(x), graphdl.rint(x), x // 2.0]:
        assert graphdl.gradients(y, x) == [None]
    assert graphdl.gradients(graphdl.cast(x < 0, graphdl.float32), x) == [None]
    np.testing.assert_array_equal(run(graphdl.gradients(graphdl.sign(x), x)[0], {x: [1, -2, 3]}), [0, 0, 0])


def test_clip_by_value_gradient_passes_inside_range_only():
    x = graphdl.constant([-2.0, -0.5, 0.0, 0.5, 2.0])
    g = graphdl.gradients(graphdl.clip_by_value(x, -1.0, 1.0), x)[0]
    np.testing.assert_array_equal(run(g), [0, 1, 1, 1, 0])


def test_clip_by_global_norm_returns_list_and_norm_and_keeps_none():
    a, b = graphdl.constant([3.0, 0.0]), graphdl.constant([[4.0]])
    clipped, norm = graphdl.clip_by_global_norm([a, None, b], 1.0)
    assert clipped[1] is None and len(clipped) == 3
    va, vb, n = run([clipped[0], clipped[2], norm])
    assert n == pytest.approx(5.0)
    np.testing.assert_allclose(va, [0.6, 0.0], rtol=1e-6)
    np.testing.assert_allclose(vb, [[0.8]], rtol=1e-6)
    same, _ = graphdl.clip_by_global_norm([a], 10.0)
    np.testing.assert_allclose(run(same[0]), [3.0, 0.0])
    nan_list, _ = graphdl.clip_by_global_norm([graphdl.constant([np.inf, 1.0])], 1.0)
    assert np.all(np.isnan(run(nan_list[0])))
    with pytest.raises(TypeError, match="sequence"):
        graphdl.clip_by_global_norm(a, 1.0)


def test_clip_by_norm_zero_tensor_has_finite_gradient():
    x = graphdl.constant([0.0, 0.0])
    y = graphdl.clip_by_norm(x, 1.0)
    v, g = run([y, graphdl.gradients(y, x)[0]])
    np.testing.assert_array_equal(v, [0, 0])
    assert np.all(np.isfinite(g))


# -- Python operators -----------------------------------------------------------------------------
def test_operator_overloads():
    x = graphdl.placeholder(graphdl.float32, [3])
    a = graphdl.placeholder(graphdl.float32, [2, 3])
    b = graphdl.placeholder(graphdl.float32, [3, 2])
    exprs = {
        "x + 1": x + 1, "2 * x": 2 * x, "1. - x": 1. - x, "x / 2": x / 2, "x ** 2": x ** 2, "-x": -x,
        "x < 0.5": x < 0.5, "np.ones(3) + x": np.ones(3) + x, "abs(x)": abs(x), "x // 1": x // 1, "x % 1": x % 1,
        "a @ b": a @ b, "x > 0": x > 0, "x <= 0.5": x <= 0.5, "x >= 0.5": x >= 0.5, "2 / x": 2 / x,
    }
    for text, t in exprs.items():
        assert isinstance(t, graphdl.Tensor), text
    xv = np.array([0.25, 0.5, 1.5], np.float32)
    av, bv = np.arange(6, dtype=np.float32).reshape(2, 3), np.arange(6, dtype=np.float32).reshape(3, 2)
    got = dict(zip(exprs, run(list(exprs.values()), {x: xv, a: av, b: bv})))
    want = {
        "x + 1": xv + 1, "2 * x": 2 * xv, "1. - x": 1 - xv, "x / 2": xv / 2, "x ** 2": xv ** 2, "-x": -xv,
        "x < 0.5": xv < 0.5, "np.ones(3) + x": 1 + xv, "abs(x)": xv, "x // 1": xv // 1, "x % 1": xv % 1,
        "a @ b": av @ bv, "x > 0": xv > 0, "x <= 0.5": xv <= 0.5, "x >= 0.5": xv >= 0.5, "2 / x": 2 / xv,
    }
    for text in exprs:
        np.testing.assert_allclose(got[text], want[text], rtol=1e-6, err_msg=text)
    assert (np.ones(3) + x).dtype == graphdl.float32
    assert (x < 0.5).dtype == graphdl.bool


def test_variable_operators():
    v = graphdl.Variable([1.0, 2.0])
    y = v * 2 + 1 - v / 2
    with graphdl.Session() as sess:
        sess.run(graphdl.global_variables_initializer())
        np.testing.assert_allclose(sess.run(y), [2.5, 4.0])


# -- errors -----------------------------------------------------------------------------------------
def test_dtype_mismatch_raises_type_error_naming_both_dtypes():
    a = graphdl.constant([1.0], graphdl.float32)
    b = graphdl.constant([1.0], graphdl.float64)
    for fn in [lambda: a + b, lambda: graphdl.maximum(a, b), lambda: graphdl.pow(a, b), lambda: a < b,
               lambda: graphdl.where(a > 0, a, b)]:
        with pytest.raises(TypeError) as info:
            fn()
        assert "float32" in str(info.value) and "float64" in str(info.value)


def test_python_float_with_int_tensor_raises():
    with pytest.raises(TypeError, match="int32"):
        graphdl.constant([1, 2]) + 0.5


def test_unsupported_dtypes_raise_type_error():
    with pytest.raises(TypeError, match="Sqrt.*int32"):
        graphdl.sqrt(graphdl.constant([4]))
    with pytest.raises(TypeError, match="LogicalAnd"):
        graphdl.logical_and(graphdl.constant([1.0]), graphdl.constant([0.0]))
    with pytest.raises(TypeError, match="bool"):
        graphdl.constant([True]) / graphdl.constant([False])
    with pytest.raises(TypeError, match="bool"):
        graphdl.where(graphdl.constant([1.0]), [1.0], [2.0])


def test_broadcast_mismatch_names_op_and_shapes():
    with pytest.raises(ValueError, match=r"Dimensions must be equal, but are 3 and 4 for 'Maximum'.*\[2,3\], \[4\]"):
        graphdl.maximum(graphdl.zeros([2, 3]), graphdl.zeros([4]))


def test_where_errors():
    x = graphdl.zeros([2, 3])
    with pytest.raises(ValueError, match="both be non-None"):
        graphdl.where(x > 0, x)
    with pytest.raises(ValueError, match="where_v2"):
        graphdl.where(x > 0, x, graphdl.zeros([3]))
    with pytest.raises(ValueError, match="vector condition"):
        graphdl.where(graphdl.constant([True, False, True]), x, x)


def test_clip_by_value_rejects_bounds_that_broadcast_t():
    with pytest.raises(ValueError, match="broadcast"):
        graphdl.clip_by_value(graphdl.zeros([3]), graphdl.zeros([2, 3]), 1.0)


def test_scalar_mul_requires_scalar():
    with pytest.raises(ValueError, match="Only scalar multiply"):
        graphdl.scalar_mul([1.0, 2.0], graphdl.zeros([2]))


# -- namespaces -----------------------------------------------------------------------------------------
def test_math_namespace_reexports():
    m = graphdl.math
    assert m.log is graphdl.log and m.exp is graphdl.exp and m.sigmoid is graphdl.sigmoid
    assert m.reduce_sum is graphdl.reduce_sum
    assert m.divide_no_nan is graphdl.div_no_nan
    assert m.squared_difference is graphdl.squared_difference
    assert m.equal is graphdl.equal and m.floormod is graphdl.floormod
    for name in m.__all__:
        assert callable(getattr(m, name)), name
    assert m.argmax is graphdl.argmax and m.reduce_mean is graphdl.reduce_mean
    assert m.softplus is graphdl.nn.softplus and m.l2_normalize is graphdl.nn.l2_normalize
    with pytest.raises(AttributeError):
        m.no_such_function  # noqa: B018


def test_math_ops_exports_every_listed_name():
    for name in math_ops.__all__:
        assert callable(getattr(math_ops, name)), name
        assert getattr(graphdl, name) is getattr(math_ops, name), name
    for name in ["truediv", "floordiv", "floormod", "pow", "less", "less_equal", "greater", "greater_equal",
                 "logical_and", "logical_or", "logical_xor", "logical_not", "negative", "abs"]:
        assert hasattr(math_ops, name)
