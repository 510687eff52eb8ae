"""Elementwise unary math: abs, sqrt, exp, log, trigonometry, tanh, sigmoid, erf, lgamma, rounding, nan tests.

tanh, sigmoid, sqrt, rsqrt and reciprocal differentiate through dedicated gradient ops
(TanhGrad, SigmoidGrad...) that are themselves differentiable, as in TF, so higher
derivatives work.
"""

from __future__ import annotations

import math

import numpy as np

from graphdl import dtypes
from graphdl.framework.op_def import define_op
from graphdl.framework.ops import convert_n_to_tensors, convert_to_tensor, name_scope
from graphdl.ops.math_ops import (
    FLOAT, NUMERIC, SIGNED, _checked_infer, add, binary_grads, binary_op, check_dtype, multiply, multiply_no_nan,
    negative, np_kernel, subtract, unary_op, xdivy,
)
from graphdl.ops.shape_inference import broadcast_binary, same_as_input

__all__ = [
    "abs", "sign", "square", "sqrt", "rsqrt", "exp", "expm1", "log", "log1p", "reciprocal", "inv",
    "floor", "ceil", "round", "rint", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh",
    "asinh", "acosh", "atanh", "tanh", "sigmoid", "log_sigmoid", "erf", "erfc", "lgamma", "digamma",
    "polygamma", "is_nan", "is_inf", "is_finite",
]


def _define_unary(op_type, fn, allowed, grad=None, not_differentiable=False):
    define_op(
        op_type,
        infer=_checked_infer(allowed, same_as_input),
        kernel=np_kernel(fn),
        grad=grad,
        not_differentiable=not_differentiable,
    )


def _vectorized(scalar_fn):
    """An array function applying a Python float function to each element, keeping the input dtype."""

    def fn(x):
        out = np.vectorize(scalar_fn, otypes=[np.float64])(x.astype(np.float64)) if x.size else x.astype(np.float64)
        return out.astype(x.dtype)

    return fn


# -- gradient ops (each differentiable) --------------------------------------------------------------
def _grad_op(op_type, fn, grad):
    define_op(op_type, infer=_checked_infer(FLOAT, broadcast_binary), kernel=np_kernel(fn), grad=grad)


def _tanh_grad_grad(op, g):
    a, b = op.inputs
    return [multiply(multiply(multiply(g, -2.0), b), a), tanh_grad(a, g)]


def _sigmoid_grad_grad(op, g):
    a, b = op.inputs
    gb = multiply(g, b)
    return [subtract(gb, multiply(multiply(gb, 2.0), a)), sigmoid_grad(a, g)]


def _sqrt_grad_grad(op, g):
    a = op.inputs[0]
    y = op.outputs[0]
    ga = xdivy(g, a)
    return [negative(multiply_no_nan(y, ga)), multiply(ga, 0.5)]


def _rsqrt_grad_grad(op, g):
    a, b = op.inputs
    return [multiply(multiply(multiply(g, -1.5), b), square(a)), rsqrt_grad(a, g)]


def _reciprocal_grad_grad(op, g):
    a, b = op.inputs
    return [multiply(multiply(multiply(g, -2.0), b), a), reciprocal_grad(a, g)]


_grad_op("TanhGrad", lambda y, dy: dy * (1 - y * y), _tanh_grad_grad)
_grad_op("SigmoidGrad", lambda y, dy: dy * (y * (1 - y)), _sigmoid_grad_grad)
_grad_op("SqrtGrad", lambda y, dy: dy * 0.5 / y, _sqrt_grad_grad)
_grad_op("RsqrtGrad", lambda y, dy: dy * -0.5 * (y * y * y), _rsqrt_grad_grad)
_grad_op("ReciprocalGrad", lambda y, dy: -dy * (y * y), _reciprocal_grad_grad)


def tanh_grad(y, dy, name=None):
    """dy * (1 - y**2): the gradient of tanh given its output ``y``."""
    return binary_op("TanhGrad", y, dy, name or "TanhGrad")


def sigmoid_grad(y, dy, name=None):
    """dy * y * (1 - y): the gradient of sigmoid given its output ``y``."""
    return binary_op("SigmoidGrad", y, dy, name or "SigmoidGrad")


def sqrt_grad(y, dy, name=None):
    """dy * 0.5 / y: the gradient of sqrt given its output ``y``."""
    return binary_op("SqrtGrad", y, dy, name or "SqrtGrad")


def rsqrt_grad(y, dy, name=None):
    """dy * -0.5 * y**3: the gradient of rsqrt given its output ``y``."""
    return binary_op("RsqrtGrad", y, dy, name or "RsqrtGrad")


def reciprocal_grad(y, dy, name=None):
    """-dy * y**2: the gradient of reciprocal given its output ``y``."""
    return binary_op("ReciprocalGrad", y, dy, name or "ReciprocalGrad")


# -- sign, abs, square, roots, exp/log --------------------------------------------------------------
def _zeros_like(x):
    from graphdl.ops.array_ops import zeros_like

    return zeros_like(x)


_define_unary("Abs", np.abs, SIGNED, grad=lambda op, g: [multiply(g, sign(op.inputs[0]))])
_define_unary("Sign", np.sign, SIGNED, grad=lambda op, g: [_zeros_like(op.inputs[0])])
_define_unary("Square", np.square, NUMERIC, grad=lambda op, g: [multiply(g, multiply(op.inputs[0], 2.0))])
_define_unary("Sqrt", np.sqrt, FLOAT, grad=lambda op, g: [sqrt_grad(op.outputs[0], g)])
_define_unary("Rsqrt", lambda x: 1 / np.sqrt(x), FLOAT, grad=lambda op, g: [rsqrt_grad(op.outputs[0], g)])
_define_unary("Exp", np.exp, FLOAT, grad=lambda op, g: [multiply_no_nan(op.outputs[0], g)])
_define_unary("Expm1", np.expm1, FLOAT, grad=lambda op, g: [multiply_no_nan(exp(op.inputs[0]), g)])
_define_unary("Log", np.log, FLOAT, grad=lambda op, g: [xdivy(g, op.inputs[0])])
_define_unary("Log1p", np.log1p, FLOAT, grad=lambda op, g: [xdivy(g, add(op.inputs[0], 1))])
_define_unary(
    "Reciprocal", lambda x: np.reciprocal(x), SIGNED, grad=lambda op, g: [reciprocal_grad(op.outputs[0], g)]
)


def abs(x, name=None):  # noqa: A001 - TF1 name
    """|x| elementwise."""
    with name_scope(name, "Abs", [x]) as scope:
        return unary_op("Abs", x, scope, SIGNED)


def sign(x, name=None):
    """-1, 0 or 1 elementwise by the sign of x (its gradient is zero)."""
    return unary_op("Sign", x, name or "Sign", SIGNED)


def square(x, name=None):
    """x * x elementwise."""
    return unary_op("Square", x, name or "Square", NUMERIC)


def sqrt(x, name=None):
    """Square root elementwise (nan for negative x)."""
    return unary_op("Sqrt", x, name or "Sqrt", FLOAT)


def rsqrt(x, name=None):
    """1 / sqrt(x) elementwise."""
    return unary_op("Rsqrt", x, name or "Rsqrt", FLOAT)


def exp(x, name=None):
    """e ** x elementwise."""
    return unary_op("Exp", x, name or "Exp", FLOAT)


def expm1(x, name=None):
    """e ** x - 1 elementwise, accurate for small x."""
    return unary_op("Expm1", x, name or "Expm1", FLOAT)


def log(x, name=None):
    """Natural logarithm elementwise (-inf at 0, nan below)."""
    return unary_op("Log", x, name or "Log", FLOAT)


def log1p(x, name=None):
    """log(1 + x) elementwise, accurate for small x."""
    return unary_op("Log1p", x, name or "Log1p", FLOAT)


def reciprocal(x, name=None):
    """1 / x elementwise."""
    return unary_op("Reciprocal", x, name or "Reciprocal", SIGNED)


inv = reciprocal


# -- rounding (no gradient, as TF) -------------------------------------------------------------------
_define_unary("Floor", np.floor, FLOAT, not_differentiable=True)
_define_unary("Ceil", np.ceil, FLOAT, not_differentiable=True)
_define_unary("Round", np.round, SIGNED, not_differentiable=True)  # half to even, like TF
_define_unary("Rint", np.rint, FLOAT, not_differentiable=True)


def floor(x, name=None):
    """Largest integer not greater than x, elementwise."""
    return unary_op("Floor", x, name or "Floor", FLOAT)


def ceil(x, name=None):
    """Smallest integer not less than x, elementwise."""
    return unary_op("Ceil", x, name or "Ceil", FLOAT)


def round(x, name=None):  # noqa: A001 - TF1 name
    """x rounded to the nearest integer, halves to even (banker's rounding); integer tensors are returned as is."""
    x = convert_to_tensor(x)
    if x.dtype.is_integer:
        return x
    return unary_op("Round", x, name or "Round", SIGNED)


def rint(x, name=None):
    """x rounded to the nearest integer, halves to even."""
    return unary_op("Rint", x, name or "Rint", FLOAT)


# -- trigonometric and hyperbolic ----------------------------------------------------------------------
def _one_minus_square(x):
    return subtract(1.0, square(x))


_define_unary("Sin", np.sin, FLOAT, grad=lambda op, g: [multiply(g, cos(op.inputs[0]))])
_define_unary("Cos", np.cos, FLOAT, grad=lambda op, g: [multiply(negative(g), sin(op.inputs[0]))])
_define_unary("Tan", np.tan, FLOAT, grad=lambda op, g: [multiply_no_nan(square(reciprocal(cos(op.inputs[0]))), g)])
_define_unary("Asin", np.arcsin, FLOAT, grad=lambda op, g: [xdivy(g, sqrt(_one_minus_square(op.inputs[0])))])
_define_unary("Acos", np.arccos, FLOAT, grad=lambda op, g: [negative(xdivy(g, sqrt(_one_minus_square(op.inputs[0]))))])
_define_unary("Atan", np.arctan, FLOAT, grad=lambda op, g: [multiply(g, reciprocal(add(square(op.inputs[0]), 1.0)))])
_define_unary("Sinh", np.sinh, FLOAT, grad=lambda op, g: [multiply(g, cosh(op.inputs[0]))])
_define_unary("Cosh", np.cosh, FLOAT, grad=lambda op, g: [multiply(g, sinh(op.inputs[0]))])
_define_unary("Asinh", np.arcsinh, FLOAT, grad=lambda op, g: [multiply(g, reciprocal(cosh(op.outputs[0])))])
_define_unary("Acosh", np.arccosh, FLOAT, grad=lambda op, g: [xdivy(g, sinh(op.outputs[0]))])
_define_unary("Atanh", np.arctanh, FLOAT, grad=lambda op, g: [multiply(g, reciprocal(_one_minus_square(op.inputs[0])))])


def sin(x, name=None):
    """Sine elementwise (radians)."""
    return unary_op("Sin", x, name or "Sin", FLOAT)


def cos(x, name=None):
    """Cosine elementwise (radians)."""
    return unary_op("Cos", x, name or "Cos", FLOAT)


def tan(x, name=None):
    """Tangent elementwise (radians)."""
    return unary_op("Tan", x, name or "Tan", FLOAT)


def asin(x, name=None):
    """Inverse sine elementwise."""
    return unary_op("Asin", x, name or "Asin", FLOAT)


def acos(x, name=None):
    """Inverse cosine elementwise."""
    return unary_op("Acos", x, name or "Acos", FLOAT)


def atan(x, name=None):
    """Inverse tangent elementwise."""
    return unary_op("Atan", x, name or "Atan", FLOAT)


def sinh(x, name=None):
    """Hyperbolic sine elementwise."""
    return unary_op("Sinh", x, name or "Sinh", FLOAT)


def cosh(x, name=None):
    """Hyperbolic cosine elementwise."""
    return unary_op("Cosh", x, name or "Cosh", FLOAT)


def asinh(x, name=None):
    """Inverse hyperbolic sine elementwise."""
    return unary_op("Asinh", x, name or "Asinh", FLOAT)


def acosh(x, name=None):
    """Inverse hyperbolic cosine elementwise (x >= 1)."""
    return unary_op("Acosh", x, name or "Acosh", FLOAT)


def atanh(x, name=None):
    """Inverse hyperbolic tangent elementwise (|x| < 1)."""
    return unary_op("Atanh", x, name or "Atanh", FLOAT)


# -- tanh, sigmoid -------------------------------------------------------------------------------------
def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)


_define_unary("Tanh", np.tanh, FLOAT, grad=lambda op, g: [tanh_grad(op.outputs[0], g)])
_define_unary("Sigmoid", _sigmoid, FLOAT, grad=lambda op, g: [sigmoid_grad(op.outputs[0], g)])


def tanh(x, name=None):
    """Hyperbolic tangent elementwise."""
    with name_scope(name, "Tanh", [x]) as scope:
        return unary_op("Tanh", x, scope, FLOAT)


def sigmoid(x, name=None):
    """1 / (1 + exp(-x)) elementwise (computed without overflow)."""
    with name_scope(name, "Sigmoid", [x]) as scope:
        return unary_op("Sigmoid", x, scope, FLOAT)


def log_sigmoid(x, name=None):
    """log(sigmoid(x)) = -softplus(-x), computed stably."""
    from graphdl.ops.nn_ops import softplus

    with name_scope(name, "LogSigmoid", [x]) as scope:
        x = convert_to_tensor(x, name="x")
        check_dtype(x, FLOAT, "LogSigmoid")
        return negative(softplus(negative(x)), name=scope)


# -- special functions ----------------------------------------------------------------------------------
_TWO_OVER_ROOT_PI = 2 / np.sqrt(np.pi)


def _erf_grad(op, g, scale):
    x = op.inputs[0]
    return [multiply(multiply(g, scale), exp(negative(square(x))))]


def _lgamma(v):
    try:
        return math.lgamma(v)
    except ValueError:  # poles at non-positive integers
        return math.inf


_define_unary("Erf", _vectorized(math.erf), FLOAT, grad=lambda op, g: _erf_grad(op, g, _TWO_OVER_ROOT_PI))
_define_unary("Erfc", _vectorized(math.erfc), FLOAT, grad=lambda op, g: _erf_grad(op, g, -_TWO_OVER_ROOT_PI))
_define_unary("Lgamma", _vectorized(_lgamma), FLOAT, grad=lambda op, g: [multiply_no_nan(digamma(op.inputs[0]), g)])


def erf(x, name=None):
    """The Gauss error function elementwise."""
    return unary_op("Erf", x, name or "Erf", FLOAT)


def erfc(x, name=None):
    """The complementary error function 1 - erf(x) elementwise."""
    return unary_op("Erfc", x, name or "Erfc", FLOAT)


def lgamma(x, name=None):
    """log(|Gamma(x)|) elementwise."""
    return unary_op("Lgamma", x, name or "Lgamma", FLOAT)


# Even Bernoulli numbers B2..B20 for the asymptotic series of the polygamma functions.
_BERNOULLI = [1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510, 43867 / 798, -174611 / 330]


def _polygamma(n, x):
    """psi^(n)(x) for integer n >= 0 (n = 0: digamma), float64 arrays; recurrence up to x >= 20 then asymptotics."""
    n = np.asarray(n, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    n, x = np.broadcast_arrays(n, x)
    out = np.full(x.shape, np.nan)
    valid = (n >= 0) & (n == np.floor(n)) & np.isfinite(x)
    for order in np.unique(n[valid]).astype(int):
        sel = valid & (n == order)
        out[sel] = _polygamma_order(order, x[sel])
    return out


def _polygamma_order(n, x):
    if n == 0:
        # Reflection psi(x) = psi(1 - x) - pi / tan(pi x) for x < 0.5; poles at non-positive integers.
        neg = x < 0.5
        pole = neg & (x == np.floor(x))
        reflected = np.where(neg, 1 - x, x)
        result = _psi_positive(0, reflected)
        result = np.where(neg, result - np.pi / np.tan(np.pi * x), result)
        return np.where(pole, np.nan, result)
    # For n >= 1 only x > 0 is supported (as Eigen's zeta-based polygamma); elsewhere nan.
    return np.where(x > 0, _psi_positive(n, np.where(x > 0, x, 1.0)), np.nan)


def _psi_positive(n, x):
    """psi^(n)(x) for x > 0 (x >= 0.5 when n == 0)."""
    fact = math.factorial(n)
    sign = -1.0 if n % 2 == 0 else 1.0  # (-1)^(n+1)
    acc = np.zeros_like(x)
    x = x.copy()
    small = x < 20
    while np.any(small):
        if n == 0:
            acc = acc - np.where(small, 1 / x, 0)
        else:
            acc = acc + np.where(small, sign * fact / x ** (n + 1), 0)
        x = np.where(small, x + 1, x)
        small = x < 20
    if n == 0:
        series = np.log(x) - 0.5 / x
        for k, b in enumerate(_BERNOULLI, start=1):
            series = series - b / (2 * k * x ** (2 * k))
        return acc + series
    series = math.factorial(n - 1) / x ** n + fact / (2 * x ** (n + 1))
    for k, b in enumerate(_BERNOULLI, start=1):
        series = series + b * math.factorial(2 * k + n - 1) / (math.factorial(2 * k) * x ** (2 * k + n))
    return acc + sign * series


def _polygamma_grad(op, g):
    a, x = op.inputs
    return binary_grads(op, None, multiply_no_nan(polygamma(add(a, 1.0), x), g))


_define_unary(
    "Digamma", lambda x: _polygamma(0, x).astype(x.dtype), FLOAT,
    grad=lambda op, g: [multiply_no_nan(polygamma(1.0, op.inputs[0]), g)],
)
define_op(
    "Polygamma",
    infer=_checked_infer(FLOAT, broadcast_binary),
    kernel=np_kernel(lambda a, x: _polygamma(a, x).astype(x.dtype)),
    grad=_polygamma_grad,
)


def digamma(x, name=None):
    """psi(x) = d/dx lgamma(x) elementwise."""
    return unary_op("Digamma", x, name or "Digamma", FLOAT)


def polygamma(a, x, name=None):
    """The ``a``-th derivative of digamma at ``x`` (``a`` a non-negative integer-valued float)."""
    a, x = convert_n_to_tensors([a, x])
    return binary_op("Polygamma", a, x, name or "Polygamma", FLOAT)


# -- nan / inf tests ------------------------------------------------------------------------------------
for _type, _fn in [("IsNan", np.isnan), ("IsInf", np.isinf), ("IsFinite", np.isfinite)]:
    define_op(
        _type,
        infer=_checked_infer(FLOAT, lambda op: [(op.inputs[0].shape.as_tuple(), dtypes.bool_)]),
        kernel=np_kernel(_fn),
        not_differentiable=True,
    )


def is_nan(x, name=None):
    """True where x is nan."""
    return unary_op("IsNan", x, name or "IsNan", FLOAT)


def is_inf(x, name=None):
    """True where x is +inf or -inf."""
    return unary_op("IsInf", x, name or "IsInf", FLOAT)


def is_finite(x, name=None):
    """True where x is neither nan nor infinite."""
    return unary_op("IsFinite", x, name or "IsFinite", FLOAT)
