"""Variable initializers with TF1's names, arguments and semantics.

An initializer is a callable ``init(shape, dtype=None, partition_info=None)`` that builds
the initial-value tensor in the default graph::

    W = graphdl.Variable(graphdl.glorot_uniform_initializer()([784, 256]))
    b = graphdl.get_variable("b", [256], initializer=graphdl.zeros_initializer())

Random initializers take their seeds through ``get_seed`` like the random ops, so a
seeded initializer gives the same values in every new session. The module also has
the ``tf.initializers.*`` names (``graphdl.initializers.he_normal()``, ``.zeros()`` ...).
"""

from __future__ import annotations

import abc
import math

import numpy as np

from graphdl import dtypes
from graphdl.framework.ops import constant_tensor, is_tensor_like, python_value_to_numpy
from graphdl.framework.tensor_shape import TensorShape, as_shape
from graphdl.ops import array_ops, random_ops
from graphdl.ops.linalg_ops import qr
from graphdl.variables import global_variables_initializer, local_variables_initializer, variables_initializer

__all__ = [
    "constant_initializer",
    "glorot_normal_initializer",
    "glorot_uniform_initializer",
    "ones_initializer",
    "orthogonal_initializer",
    "random_normal_initializer",
    "random_uniform_initializer",
    "truncated_normal_initializer",
    "uniform_unit_scaling_initializer",
    "variance_scaling_initializer",
    "zeros_initializer",
]


def _assert_float_dtype(dtype):
    dtype = dtypes.as_dtype(dtype)
    if not dtype.is_floating:
        raise ValueError(f"Expected floating point type, got {dtype.name}.")
    return dtype


def _static_shape(shape, who):
    """``shape`` as a list of ints; initializers that need sizes (fans, matrices) require a static shape."""
    if is_tensor_like(shape):
        raise TypeError(f"{who} needs a static shape (list, tuple or TensorShape), got the tensor {shape!r}")
    shape = as_shape(shape)
    if not shape.is_fully_defined():
        raise ValueError(f"{who} needs a fully defined shape, got {shape}")
    return shape.as_list()


def _shape_arg(shape):
    """Shapes are passed to ops as given; a TensorShape becomes a list."""
    return shape.as_list() if isinstance(shape, TensorShape) else shape


class Initializer(abc.ABC):
    """Base class: ``__call__(shape, dtype=None, partition_info=None)`` returns the initial-value tensor."""

    @abc.abstractmethod
    def __call__(self, shape, dtype=None, partition_info=None):
        """The initial-value tensor of ``shape`` and ``dtype`` (default: the initializer's dtype)."""

    def get_config(self):
        """The constructor arguments, so that ``cls.from_config(init.get_config())`` makes an equal initializer."""
        return {}

    @classmethod
    def from_config(cls, config):
        """An initializer built from the dict ``get_config`` returned."""
        return cls(**config)


class Zeros(Initializer):
    """Initializes to 0 (``tf.zeros_initializer``)."""

    def __init__(self, dtype=dtypes.float32):
        self.dtype = dtypes.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        return array_ops.zeros(_shape_arg(shape), dtype or self.dtype)

    def get_config(self):
        return {"dtype": self.dtype.name}


class Ones(Initializer):
    """Initializes to 1 (``tf.ones_initializer``)."""

    def __init__(self, dtype=dtypes.float32):
        self.dtype = dtypes.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        return array_ops.ones(_shape_arg(shape), dtype or self.dtype)

    def get_config(self):
        return {"dtype": self.dtype.name}


class Constant(Initializer):
    """Initializes to ``value``: a scalar fills the shape; a list or array fills it in row-major order.

    A list with fewer elements than the shape has is padded with its last element (TF1's
    rule); more elements than the shape has is an error, as is any other shape with
    ``verify_shape=True``.
    """

    def __init__(self, value=0, dtype=dtypes.float32, verify_shape=False):
        if not (np.isscalar(value) or isinstance(value, (list, tuple, np.ndarray))):
            raise TypeError(
                f"Invalid type for initial value: {type(value).__name__} "
                "(expected Python scalar, list or tuple of values, or numpy.ndarray)."
            )
        self.value = value
        self.dtype = dtypes.as_dtype(dtype)
        self._verify_shape = verify_shape

    def __call__(self, shape, dtype=None, partition_info=None, verify_shape=None):
        dtype = dtypes.as_dtype(dtype or self.dtype)
        verify_shape = self._verify_shape if verify_shape is None else verify_shape
        shape = tuple(_static_shape(shape, "constant_initializer"))
        value = python_value_to_numpy(self.value, dtype)
        needed = int(np.prod(shape, dtype=np.int64))
        if verify_shape and value.shape != shape:
            raise TypeError(f"Expected Tensor's shape: {shape}, got {value.shape}.")
        if value.size > needed:
            raise ValueError(
                f"Too many elements provided. Needed at most {needed}, but received {value.size}: "
                f"constant_initializer value of shape {value.shape} does not fit the variable shape {shape}."
            )
        flat = value.reshape(-1)
        if value.size == 0 and needed:
            raise ValueError(f"constant_initializer: an empty value cannot fill the shape {shape}.")
        if value.size < needed:
            flat = np.concatenate([flat, np.repeat(flat[-1:], needed - value.size)])
        return constant_tensor(flat.astype(dtype.np, copy=False).reshape(shape), name="Const")

    def get_config(self):
        return {"value": self.value, "dtype": self.dtype.name}


class RandomNormal(Initializer):
    """Initializes with normal values (``tf.random_normal_initializer``)."""

    def __init__(self, mean=0.0, stddev=1.0, seed=None, dtype=dtypes.float32):
        self.mean = mean
        self.stddev = stddev
        self.seed = seed
        self.dtype = _assert_float_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        return random_ops.random_normal(_shape_arg(shape), self.mean, self.stddev, dtype or self.dtype, seed=self.seed)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed, "dtype": self.dtype.name}


class TruncatedNormal(Initializer):
    """Initializes with normal values, those beyond 2 stddev redrawn (``tf.truncated_normal_initializer``)."""

    def __init__(self, mean=0.0, stddev=1.0, seed=None, dtype=dtypes.float32):
        self.mean = mean
        self.stddev = stddev
        self.seed = seed
        self.dtype = _assert_float_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        return random_ops.truncated_normal(
            _shape_arg(shape), self.mean, self.stddev, dtype or self.dtype, seed=self.seed
        )

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed, "dtype": self.dtype.name}


class RandomUniform(Initializer):
    """Initializes with values uniform in ``[minval, maxval)`` (maxval defaults to 1 for floats)."""

    def __init__(self, minval=0, maxval=None, seed=None, dtype=dtypes.float32):
        self.minval = minval
        self.maxval = maxval
        self.seed = seed
        self.dtype = dtypes.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        return random_ops.random_uniform(
            _shape_arg(shape), self.minval, self.maxval, dtype or self.dtype, seed=self.seed
        )

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed, "dtype": self.dtype.name}


class UniformUnitScaling(Initializer):
    """Uniform in ``[-m, m)``, ``m = factor * sqrt(3 / input_size)`` (deprecated in TF1 for variance_scaling)."""

    def __init__(self, factor=1.0, seed=None, dtype=dtypes.float32):
        self.factor = factor
        self.seed = seed
        self.dtype = _assert_float_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        scale_shape = partition_info.full_shape if partition_info is not None else shape
        input_size = 1.0
        for dim in _static_shape(scale_shape, "uniform_unit_scaling_initializer")[:-1]:
            input_size *= float(dim)
        max_val = math.sqrt(3 / max(input_size, 1.0)) * self.factor
        return random_ops.random_uniform(_shape_arg(shape), -max_val, max_val, dtype or self.dtype, seed=self.seed)

    def get_config(self):
        return {"factor": self.factor, "seed": self.seed, "dtype": self.dtype.name}


def _compute_fans(shape):
    """(fan_in, fan_out): dense ``[in, out]``; conv kernels ``[..., in_depth, out_depth]`` times the receptive field."""
    if len(shape) < 1:
        fan_in = fan_out = 1
    elif len(shape) == 1:
        fan_in = fan_out = shape[0]
    elif len(shape) == 2:
        fan_in, fan_out = shape
    else:
        receptive_field_size = 1
        for dim in shape[:-2]:
            receptive_field_size *= dim
        fan_in = shape[-2] * receptive_field_size
        fan_out = shape[-1] * receptive_field_size
    return int(fan_in), int(fan_out)


class VarianceScaling(Initializer):
    """Scale-aware initializer: variance ``scale / n`` with ``n`` the fan_in, fan_out or their average.

    ``distribution``: "truncated_normal" (or "normal"): truncated normal with stddev
    ``sqrt(scale / n) / 0.87962566103423978`` (the stddev of a unit normal truncated at 2);
    "untruncated_normal": normal with stddev ``sqrt(scale / n)``; "uniform": uniform in
    ``[-limit, limit)`` with ``limit = sqrt(3 * scale / n)``.
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None, dtype=dtypes.float32):
        if scale <= 0.0:
            raise ValueError(f"`scale` must be a positive float, got {scale}.")
        if mode not in {"fan_in", "fan_out", "fan_avg"}:
            raise ValueError(f"Invalid `mode` argument: {mode!r}; expected 'fan_in', 'fan_out' or 'fan_avg'.")
        distribution = distribution.lower()
        if distribution not in {"normal", "uniform", "truncated_normal", "untruncated_normal"}:
            raise ValueError(
                f"Invalid `distribution` argument: {distribution!r}; expected 'truncated_normal', 'normal', "
                "'untruncated_normal' or 'uniform'."
            )
        self.scale = scale
        self.mode = mode
        self.distribution = distribution
        self.seed = seed
        self.dtype = _assert_float_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        dtype = dtype or self.dtype
        scale_shape = partition_info.full_shape if partition_info is not None else shape
        fan_in, fan_out = _compute_fans(_static_shape(scale_shape, type(self).__name__))
        scale = self.scale
        if self.mode == "fan_in":
            scale /= max(1.0, fan_in)
        elif self.mode == "fan_out":
            scale /= max(1.0, fan_out)
        else:
            scale /= max(1.0, (fan_in + fan_out) / 2.0)
        shape = _shape_arg(shape)
        if self.distribution in ("normal", "truncated_normal"):
            # 0.8796... is the stddev of a unit normal truncated to [-2, 2] (scipy.stats.truncnorm.std(-2, 2)).
            stddev = math.sqrt(scale) / 0.87962566103423978
            return random_ops.truncated_normal(shape, 0.0, stddev, dtype, seed=self.seed)
        if self.distribution == "untruncated_normal":
            return random_ops.random_normal(shape, 0.0, math.sqrt(scale), dtype, seed=self.seed)
        limit = math.sqrt(3.0 * scale)
        return random_ops.random_uniform(shape, -limit, limit, dtype, seed=self.seed)

    def get_config(self):
        return {
            "scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed,
            "dtype": self.dtype.name,
        }


class GlorotUniform(VarianceScaling):
    """Glorot/Xavier uniform: uniform in ``[-limit, limit)``, ``limit = sqrt(6 / (fan_in + fan_out))``."""

    def __init__(self, seed=None, dtype=dtypes.float32):
        super().__init__(scale=1.0, mode="fan_avg", distribution="uniform", seed=seed, dtype=dtype)

    def get_config(self):
        return {"seed": self.seed, "dtype": self.dtype.name}


class GlorotNormal(VarianceScaling):
    """Glorot/Xavier normal: truncated normal with stddev ``sqrt(2 / (fan_in + fan_out))`` (before truncation)."""

    def __init__(self, seed=None, dtype=dtypes.float32):
        super().__init__(scale=1.0, mode="fan_avg", distribution="truncated_normal", seed=seed, dtype=dtype)

    def get_config(self):
        return {"seed": self.seed, "dtype": self.dtype.name}


def lecun_normal(seed=None):
    """LeCun normal: truncated normal with stddev ``sqrt(1 / fan_in)``."""
    return VarianceScaling(scale=1.0, mode="fan_in", distribution="truncated_normal", seed=seed)


def lecun_uniform(seed=None):
    """LeCun uniform: uniform in ``[-limit, limit)``, ``limit = sqrt(3 / fan_in)``."""
    return VarianceScaling(scale=1.0, mode="fan_in", distribution="uniform", seed=seed)


def he_normal(seed=None):
    """He normal: truncated normal with stddev ``sqrt(2 / fan_in)``."""
    return VarianceScaling(scale=2.0, mode="fan_in", distribution="truncated_normal", seed=seed)


def he_uniform(seed=None):
    """He uniform: uniform in ``[-limit, limit)``, ``limit = sqrt(6 / fan_in)``."""
    return VarianceScaling(scale=2.0, mode="fan_in", distribution="uniform", seed=seed)


class Orthogonal(Initializer):
    """An orthogonal matrix (times ``gain``): rows or columns orthonormal, whichever are fewer.

    The shape is flattened to 2-D as ``[prod(shape[:-1]), shape[-1]]`` (so conv kernels
    work). The matrix is the Q factor of the QR decomposition of a random normal matrix;
    the ``Qr`` op makes R's diagonal non-negative, which gives TF1's sign correction and
    makes Q uniformly (Haar) distributed.
    """

    def __init__(self, gain=1.0, seed=None, dtype=dtypes.float32):
        self.gain = gain
        self.seed = seed
        self.dtype = _assert_float_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        dtype = dtype or self.dtype
        shape = _static_shape(shape, "orthogonal_initializer")
        if len(shape) < 2:
            raise ValueError(f"The tensor to initialize must be at least two-dimensional, got shape {shape}")
        num_rows = int(np.prod(shape[:-1]))
        num_cols = int(shape[-1])
        flat_shape = (num_cols, num_rows) if num_rows < num_cols else (num_rows, num_cols)
        a = random_ops.random_normal(flat_shape, dtype=dtype, seed=self.seed)
        q, _ = qr(a, full_matrices=False)
        if num_rows < num_cols:
            from graphdl.ops.layout_ops import transpose

            q = transpose(q)
        return self.gain * array_ops.reshape(q, shape)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed, "dtype": self.dtype.name}


class Identity(Initializer):
    """The identity matrix times ``gain``; only for 2-D shapes (non-square: ones on the main diagonal)."""

    def __init__(self, gain=1.0, dtype=dtypes.float32):
        self.gain = gain
        self.dtype = _assert_float_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        full_shape = _static_shape(partition_info.full_shape if partition_info is not None else shape, "identity")
        if len(full_shape) != 2:
            raise ValueError(f"Identity matrix initializer can only be used for 2D matrices, got shape {full_shape}.")
        dtype = dtypes.as_dtype(dtype or self.dtype)
        matrix = np.eye(*full_shape, dtype=dtype.np) * np.asarray(self.gain, dtype=dtype.np)
        if partition_info is not None:
            part = _static_shape(shape, "identity")
            offset = list(partition_info.var_offset)
            matrix = matrix[tuple(slice(o, o + n) for o, n in zip(offset, part))]
        return constant_tensor(np.ascontiguousarray(matrix), name="Const")

    def get_config(self):
        return {"gain": self.gain, "dtype": self.dtype.name}


# TF1's top-level names (``tf.zeros_initializer()`` ...).
zeros_initializer = Zeros
ones_initializer = Ones
constant_initializer = Constant
random_normal_initializer = RandomNormal
truncated_normal_initializer = TruncatedNormal
random_uniform_initializer = RandomUniform
uniform_unit_scaling_initializer = UniformUnitScaling
variance_scaling_initializer = VarianceScaling
glorot_uniform_initializer = GlorotUniform
glorot_normal_initializer = GlorotNormal
orthogonal_initializer = Orthogonal

# ``tf.initializers.*`` names.
zeros = Zeros
ones = Ones
constant = Constant
random_normal = RandomNormal
truncated_normal = TruncatedNormal
random_uniform = RandomUniform
uniform_unit_scaling = UniformUnitScaling
variance_scaling = VarianceScaling
glorot_uniform = GlorotUniform
glorot_normal = GlorotNormal
orthogonal = Orthogonal
identity = Identity
global_variables = global_variables_initializer
local_variables = local_variables_initializer
variables = variables_initializer
