"""Composite ``tf.nn`` functions: dropout, l2_normalize, moments, batch_normalization, xw_plus_b, swish, crelu..."""

from __future__ import annotations

import numbers

import numpy as np

from graphdl.framework.constant_value import constant_value
from graphdl.framework.ops import convert_to_tensor, is_tensor_like, name_scope
from graphdl.framework.tensor_shape import as_shape
from graphdl.ops import array_ops
from graphdl.ops.control_ops import stop_gradient
from graphdl.ops.math_ops import add, cast, multiply, subtract
from graphdl.ops.nn_ops import bias_add, relu
from graphdl.ops.reduction_ops import reduce_sum

__all__ = [
    "batch_normalization", "crelu", "dropout", "l2_normalize", "moments", "relu_layer", "swish", "xw_plus_b",
    "zero_fraction",
]


def _math():
    from graphdl.ops import math_ops

    return math_ops


def _argument_lookup(new_name, new_value, old_name, old_value):
    if new_value is not None and old_value is not None:
        raise ValueError(f"Cannot specify both '{old_name}' and '{new_name}'")
    return new_value if new_value is not None else old_value


# -- dropout ---------------------------------------------------------------------------------------------
def _probability(value, what, dtype, low_open, high_open):
    """``value`` as a Python float (range-checked) or a scalar tensor of ``dtype``; a known constant is checked too."""
    def check(v):
        ok = (v > 0 if low_open else v >= 0) and (v < 1 if high_open else v <= 1)
        if not ok:
            rng = f"{'(' if low_open else '['}0, 1{')' if high_open else ']'}"
            raise ValueError(f"{what} must be a scalar tensor or a float in the range {rng}, got {v:g}")

    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        check(float(value))
        return float(value)
    try:
        t = convert_to_tensor(value, dtype=dtype, name=what)
    except TypeError as e:
        raise ValueError(f"{what} must be a floating point number or a {dtype.name} Tensor: {e}") from None
    if not t.shape.is_compatible_with(()):
        raise ValueError(f"{what} must be a scalar, got '{t.name}' of shape {t.shape}")
    known = constant_value(t)
    if known is not None:
        check(float(known))
        return float(known)
    return t


def _noise_shape(x, noise_shape):
    if noise_shape is None:
        return x.shape.as_list() if x.shape.is_fully_defined() else array_ops.shape(x)
    if is_tensor_like(noise_shape):
        return noise_shape
    try:
        dims = as_shape(noise_shape).as_list()
    except (TypeError, ValueError):
        return noise_shape
    x_dims = x.shape.as_tuple()
    if x_dims is not None and len(x_dims) == len(dims):
        dims = [xd if d is None else d for d, xd in zip(dims, x_dims)]
    if all(d is not None for d in dims):
        return dims
    if x_dims is None or len(x_dims) != len(dims):
        raise ValueError(f"noise_shape {noise_shape} has unknown dims that cannot be taken from x of shape {x.shape}")
    runtime = array_ops.unstack(array_ops.shape(x), num=len(dims))
    return array_ops.stack([runtime[i] if d is None else d for i, d in enumerate(dims)])


def dropout(x, keep_prob=None, noise_shape=None, seed=None, name=None, rate=None):
    """Randomly zero elements of ``x``, scaling the kept ones by ``1 / keep_prob`` so the expected sum is unchanged.

    Give exactly one of ``keep_prob`` (probability of keeping an element, in (0, 1]) or ``rate``
    (probability of dropping it, in [0, 1)); either may be a scalar tensor, e.g. a placeholder fed
    1.0 (keep_prob) at test time. ``noise_shape`` chooses which dims share one random decision.
    """
    if keep_prob is not None and rate is not None:
        raise ValueError("Cannot specify both 'rate' and 'keep_prob'")
    if keep_prob is None and rate is None:
        raise ValueError("You must provide a rate to dropout (or keep_prob).")
    with name_scope(name, "dropout", [x]) as scope:
        x = convert_to_tensor(x, name="x")
        if not x.dtype.is_floating:
            raise ValueError(
                f"x has to be a floating point tensor since it's going to be scaled. Got a {x.dtype.name} tensor instead."
            )
        if keep_prob is not None:
            keep = _probability(keep_prob, "keep_prob", x.dtype, low_open=True, high_open=False)
            if isinstance(keep, float) and keep == 1.0:
                return x
            rate = 1.0 - keep if isinstance(keep, float) else subtract(1.0, keep, name="rate")
        else:
            rate = _probability(rate, "rate", x.dtype, low_open=False, high_open=True)
            if isinstance(rate, float) and rate == 0.0:
                return x
            keep = 1.0 - rate if isinstance(rate, float) else subtract(1.0, rate, name="keep_prob")
        from graphdl.ops.random_ops import random_uniform

        random_tensor = random_uniform(_noise_shape(x, noise_shape), seed=seed, dtype=x.dtype)
        scale = 1.0 / keep
        keep_mask = _math().greater_equal(random_tensor, rate)
        ret = multiply(multiply(x, scale), cast(keep_mask, x.dtype), name=scope)
        ret.set_shape(x.shape)
        return ret


# -- normalization -------------------------------------------------------------------------------------------
def l2_normalize(x, axis=None, epsilon=1e-12, name=None, dim=None):
    """``x / sqrt(max(sum(x**2, axis), epsilon))`` (all axes when ``axis`` is None)."""
    axis = _argument_lookup("axis", axis, "dim", dim)
    m = _math()
    with name_scope(name, "l2_normalize", [x]) as scope:
        x = convert_to_tensor(x, name="x")
        square_sum = reduce_sum(m.square(x), axis, keepdims=True)
        x_inv_norm = m.rsqrt(m.maximum(square_sum, epsilon))
        return multiply(x, x_inv_norm, name=scope)


def moments(x, axes, shift=None, name=None, keep_dims=None, keepdims=None):
    """Mean and variance of ``x`` over ``axes``, returned as ``(mean, variance)``.

    ``shift`` is accepted for TF1 compatibility and unused (as in TF1).
    """
    keep = _argument_lookup("keepdims", keepdims, "keep_dims", keep_dims)
    keep = bool(keep) if keep is not None else False
    from graphdl import dtypes
    from graphdl.ops.reduction_ops import reduce_mean

    m = _math()
    with name_scope(name, "moments", [x, axes]):
        x = convert_to_tensor(x)
        y = cast(x, dtypes.float32) if x.dtype == dtypes.float16 else x
        mean = reduce_mean(y, axes, keepdims=True, name="mean")
        variance = reduce_mean(m.squared_difference(y, stop_gradient(mean)), axes, keepdims=True, name="variance")
        if not keep:
            from graphdl.ops.layout_ops import squeeze

            squeeze_axes = [int(a) for a in np.ravel(axes)] if not is_tensor_like(axes) else axes
            mean = squeeze(mean, squeeze_axes)
            variance = squeeze(variance, squeeze_axes)
        if x.dtype == dtypes.float16:
            return cast(mean, dtypes.float16), cast(variance, dtypes.float16)
        return mean, variance


def batch_normalization(x, mean, variance, offset, scale, variance_epsilon, name=None):
    """``scale * (x - mean) / sqrt(variance + variance_epsilon) + offset`` (``offset``/``scale`` may be None)."""
    m = _math()
    with name_scope(name, "batchnorm", [x, mean, variance, scale, offset]):
        x = convert_to_tensor(x)
        inv = m.rsqrt(add(convert_to_tensor(variance), variance_epsilon))
        if scale is not None:
            inv = multiply(inv, scale)
        inv = cast(inv, x.dtype)
        shift = subtract(offset, multiply(mean, inv)) if offset is not None else m.negative(multiply(mean, inv))
        return add(multiply(x, inv), cast(shift, x.dtype))


# -- dense layers -----------------------------------------------------------------------------------------------
def xw_plus_b(x, weights, biases, name=None):
    """``matmul(x, weights) + biases`` for a 2-D ``x``."""
    from graphdl.ops.matmul_ops import matmul

    with name_scope(name, "xw_plus_b", [x, weights, biases]) as scope:
        x = convert_to_tensor(x, name="x")
        weights = convert_to_tensor(weights, name="weights")
        biases = convert_to_tensor(biases, name="biases")
        return bias_add(matmul(x, weights), biases, name=scope)


def relu_layer(x, weights, biases, name=None):
    """``relu(matmul(x, weights) + biases)``."""
    from graphdl.ops.matmul_ops import matmul

    with name_scope(name, "relu_layer", [x, weights, biases]) as scope:
        x = convert_to_tensor(x, name="x")
        weights = convert_to_tensor(weights, name="weights")
        biases = convert_to_tensor(biases, name="biases")
        return relu(bias_add(matmul(x, weights), biases), name=scope)


# -- small activations and statistics ---------------------------------------------------------------------------
def swish(features):
    """``features * sigmoid(features)`` (a.k.a. SiLU)."""
    features = convert_to_tensor(features, name="features")
    return multiply(features, _math().sigmoid(features))


def crelu(features, name=None, axis=-1):
    """``relu(concat([features, -features], axis))``: doubles the size of ``axis``."""
    from graphdl.ops.layout_ops import concat

    with name_scope(name, "CRelu", [features]) as scope:
        features = convert_to_tensor(features, name="features")
        c = concat([features, _math().negative(features)], axis, name=scope)
        return relu(c)


def zero_fraction(value, name=None):
    """The fraction of elements of ``value`` equal to zero, as a float32 scalar."""
    from graphdl import dtypes
    from graphdl.ops.reduction_ops import reduce_mean

    with name_scope(name, "zero_fraction", [value]):
        value = convert_to_tensor(value, name="value")
        zero = convert_to_tensor(np.zeros((), value.dtype.np))
        return reduce_mean(cast(_math().equal(value, zero), dtypes.float32))
