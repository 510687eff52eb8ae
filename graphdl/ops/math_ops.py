"""Elementwise arithmetic with NumPy broadcasting: add/sub/mul/div families, pow, min/max, casts.

Unary functions (``exp``, ``sigmoid``...), comparisons/logic/``where`` and clipping live in
``unary_math_ops``, ``compare_ops`` and ``clip_ops``; their names are reachable from this
module too (``math_ops.less``), loaded on first use so any import order works.
"""

# ruff: noqa: F822 - names of sibling modules are exported lazily through __getattr__
from __future__ import annotations

import importlib

import numpy as np

from graphdl import dtypes, errors
from graphdl.framework.op_def import define_op
from graphdl.framework.ops import convert_n_to_tensors, convert_to_tensor, make_tensor, name_scope
from graphdl.ops.grad_utils import unbroadcast
from graphdl.ops.shape_inference import broadcast_binary, same_as_input

__all__ = [
    "add", "subtract", "multiply", "negative", "cast", "add_n", "accumulate_n",
    "to_float", "to_double", "to_int32", "to_int64", "saturate_cast",
    "divide", "truediv", "realdiv", "div", "floordiv", "floor_div", "floormod", "mod", "truncatediv", "truncatemod",
    "pow", "maximum", "minimum", "squared_difference", "div_no_nan", "multiply_no_nan", "xdivy", "xlogy",
    "scalar_mul", "atan2",
    # from unary_math_ops
    "abs", "sign", "square", "sqrt", "rsqrt", "exp", "expm1", "log", "log1p", "reciprocal", "inv",
    "floor", "ceil", "round", "rint", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh",
    "asinh", "acosh", "atanh", "tanh", "sigmoid", "log_sigmoid", "erf", "erfc", "lgamma", "digamma",
    "polygamma", "is_nan", "is_inf", "is_finite",
    # from compare_ops
    "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
    "logical_and", "logical_or", "logical_not", "logical_xor", "where", "where_v2",
    # from clip_ops
    "clip_by_value", "clip_by_norm", "clip_by_global_norm", "global_norm", "clip_by_average_norm",
]
# Where the names above that this module does not define live (resolved lazily by __getattr__ below).
_SIBLING_MODULES = ["graphdl.ops.unary_math_ops", "graphdl.ops.compare_ops", "graphdl.ops.clip_ops"]


def _sibling_of(name):
    for module in _SIBLING_MODULES:
        mod_ = importlib.import_module(module)
        if name in mod_.__all__:
            return mod_
    return None


def __getattr__(name):
    module = _sibling_of(name) if name in __all__ else None
    if module is None:
        raise AttributeError(f"module 'graphdl.ops.math_ops' has no attribute '{name}'")
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))


def _lazy(name):
    """A function from a sibling module (used inside gradient functions)."""
    return __getattr__(name) if name not in globals() else globals()[name]


# -- helpers shared by the elementwise modules ------------------------------------------------
FLOAT = dtypes.FLOATING_DTYPES
SIGNED = dtypes.FLOATING_DTYPES + (dtypes.int8, dtypes.int16, dtypes.int32, dtypes.int64)
NUMERIC = dtypes.FLOATING_DTYPES + dtypes.INTEGER_DTYPES


def check_dtype(tensor, allowed, op_type, arg="x"):
    """Raise TF's TypeError when ``tensor.dtype`` is not among ``allowed`` for ``op_type``."""
    if tensor.dtype not in allowed:
        names = ", ".join(d.name for d in allowed)
        raise TypeError(
            f"Value passed to parameter '{arg}' of op '{op_type}' (tensor '{tensor.name}') has DataType "
            f"{tensor.dtype.name} not in list of allowed values: {names}"
        )


def _checked_infer(allowed, infer=broadcast_binary):
    def rule(op):
        for i, t in enumerate(op.inputs):
            check_dtype(t, allowed, op.type, "xy"[i] if i < 2 else f"input {i}")
        return infer(op)

    return rule


def np_kernel(fn):
    """A reference kernel calling ``fn(*inputs)`` with floating-point warnings silenced (inf/nan as TF)."""

    def kernel(ctx, *xs):
        with np.errstate(all="ignore"):
            return fn(*xs)

    return kernel


def binary_op(op_type: str, x, y, name=None, allowed=None):
    """Create a broadcasting binary op; Python scalars take the other operand's dtype."""
    x, y = convert_n_to_tensors([x, y])
    if x.dtype != y.dtype:
        raise TypeError(
            f"Input 'y' of '{op_type}' Op has type {y.dtype.name} that does not match type {x.dtype.name} "
            f"of argument 'x' ('{y.name}' vs '{x.name}'). Use graphdl.cast to make them agree."
        )
    if allowed is not None:
        check_dtype(x, allowed, op_type, "x")
    return make_tensor(op_type, [x, y], name=name or op_type)


def unary_op(op_type: str, x, name=None, allowed=None):
    x = convert_to_tensor(x)
    if allowed is not None:
        check_dtype(x, allowed, op_type)
    return make_tensor(op_type, [x], name=name or op_type)


def binary_grads(op, gx, gy):
    """[gx, gy] reduced from the broadcast shape back to the shapes of the op's two inputs."""
    x, y = op.inputs[0], op.inputs[1]
    return [unbroadcast(gx, x, y), unbroadcast(gy, y, x)]


def _raise_int_div_by_zero(ctx, y):
    if y.dtype.kind in "iu" and np.any(y == 0):
        raise errors.InvalidArgumentError(None, ctx.op, f"Integer division by zero in op '{ctx.op.name}' ({ctx.op.type})")


# -- add / sub / mul / neg ----------------------------------------------------------------------
define_op(
    "AddV2",
    infer=broadcast_binary,
    kernel=np_kernel(np.add),
    grad=lambda op, dz: binary_grads(op, dz, dz),
)
define_op(
    "Sub",
    infer=broadcast_binary,
    kernel=np_kernel(np.subtract),
    grad=lambda op, dz: binary_grads(op, dz, negative(dz)),
)
define_op(
    "Mul",
    infer=broadcast_binary,
    kernel=np_kernel(np.multiply),
    grad=lambda op, dz: binary_grads(op, multiply(dz, op.inputs[1]), multiply(op.inputs[0], dz)),
)
define_op("Neg", infer=same_as_input, kernel=lambda ctx, x: np.negative(x), grad=lambda op, dy: [negative(dy)])


def add(x, y, name=None):
    """x + y, elementwise with broadcasting."""
    return binary_op("AddV2", x, y, name or "Add")


def subtract(x, y, name=None):
    """x - y, elementwise with broadcasting."""
    return binary_op("Sub", x, y, name or "Sub")


def multiply(x, y, name=None):
    """x * y, elementwise with broadcasting."""
    return binary_op("Mul", x, y, name or "Mul")


def negative(x, name=None):
    """-x, elementwise."""
    return unary_op("Neg", x, name or "Neg")


# -- add_n ------------------------------------------------------------------------------------
def _infer_add_n(op):
    first = op.inputs[0]
    shape = first.shape
    for t in op.inputs[1:]:
        if t.dtype != first.dtype:
            raise TypeError(f"AddN inputs must share a dtype: '{t.name}' is {t.dtype.name}, '{first.name}' is {first.dtype.name}")
        if not shape.is_compatible_with(t.shape):
            raise ValueError(f"Shapes must be equal, but are {shape} and {t.shape}")
        shape = shape.merge_with(t.shape)
    return [(shape.as_tuple(), first.dtype)]


def _add_n_kernel(ctx, *xs):
    total = xs[0].copy()
    for x in xs[1:]:
        total += x
    return total


define_op("AddN", infer=_infer_add_n, kernel=_add_n_kernel, grad=lambda op, dy: [dy] * len(op.inputs))


def add_n(inputs, name=None):
    """Sum of a list of tensors of the same shape and dtype."""
    inputs = convert_n_to_tensors(list(inputs))
    if not inputs:
        raise ValueError("add_n needs at least one input tensor")
    if len(inputs) == 1 and name is None:
        return inputs[0]
    return make_tensor("AddN", inputs, name=name or "AddN")


def accumulate_n(inputs, shape=None, tensor_dtype=None, name=None):
    """Sum of a list of tensors of the same shape and dtype (TF1's ``accumulate_n``; same result as add_n)."""
    inputs = convert_n_to_tensors(list(inputs))
    if not inputs:
        raise ValueError("accumulate_n needs at least one input tensor")
    if tensor_dtype is not None and any(t.dtype != dtypes.as_dtype(tensor_dtype) for t in inputs):
        raise TypeError(f"accumulate_n: tensor_dtype {dtypes.as_dtype(tensor_dtype).name} does not match the inputs' dtype")
    result = make_tensor("AddN", inputs, name=name or "AccumulateN") if len(inputs) > 1 or name else inputs[0]
    if shape is not None:
        result.set_shape(shape)
    return result


# -- cast -------------------------------------------------------------------------------------
def _cast_grad(op, dy):
    x = op.inputs[0]
    if x.dtype.is_floating and op.outputs[0].dtype.is_floating:
        return [cast(dy, x.dtype)]
    return [None]


define_op(
    "Cast",
    infer=lambda op: [(op.inputs[0].shape.as_tuple(), op.attrs["DstT"])],
    kernel=lambda ctx, x: _cast_kernel(x, ctx.attrs["DstT"]),
    grad=_cast_grad,
)


def _cast_kernel(x, dtype):
    with np.errstate(all="ignore"):
        return x.astype(dtype.np)


def cast(x, dtype, name=None):
    """``x`` converted to ``dtype`` (floats to ints truncate toward zero)."""
    x = convert_to_tensor(x)
    dtype = dtypes.as_dtype(dtype)
    if x.dtype == dtype and name is None:
        return x
    return make_tensor("Cast", [x], {"SrcT": x.dtype, "DstT": dtype}, name or "Cast")


def to_float(x, name="ToFloat"):
    """``x`` cast to float32."""
    return cast(x, dtypes.float32, name=name)


def to_double(x, name="ToDouble"):
    """``x`` cast to float64."""
    return cast(x, dtypes.float64, name=name)


def to_int32(x, name="ToInt32"):
    """``x`` cast to int32."""
    return cast(x, dtypes.int32, name=name)


def to_int64(x, name="ToInt64"):
    """``x`` cast to int64."""
    return cast(x, dtypes.int64, name=name)


def _bound(value, src, dst, toward):
    """``value`` (a limit of ``dst``) as a ``src`` scalar that does not overshoot when cast back to ``dst``."""
    b = np.array(value, dtype=src.np)
    if src.is_floating and dst.is_integer and float(b) != value:
        b = np.nextafter(b, np.array(toward, dtype=src.np))
    return b


def saturate_cast(value, dtype, name=None):
    """``value`` cast to ``dtype``, clamping to the range of ``dtype`` first instead of overflowing."""
    with name_scope(name, "saturate_cast", [value]) as scope:
        x = convert_to_tensor(value, name="value")
        dtype = dtypes.as_dtype(dtype)
        if x.dtype.is_numeric and dtype.is_numeric:
            if x.dtype.min < dtype.min:
                x = maximum(x, _bound(dtype.min, x.dtype, dtype, 0), name="Maximum")
            if x.dtype.max > dtype.max:
                x = minimum(x, _bound(dtype.max, x.dtype, dtype, 0), name="Minimum")
        if x.dtype == dtype:
            return make_tensor("Identity", [x], None, scope)
        return make_tensor("Cast", [x], {"SrcT": x.dtype, "DstT": dtype}, scope)


# -- division ---------------------------------------------------------------------------------
def _truncate_div(x, y):
    if x.dtype.kind in "iu":
        q = np.floor_divide(x, y)
        fix = (np.remainder(x, y) != 0) & ((x < 0) != (y < 0))
        return q + fix.astype(q.dtype)
    return np.trunc(x / y)


def _real_div_kernel(ctx, x, y):
    _raise_int_div_by_zero(ctx, y)
    with np.errstate(all="ignore"):
        return _truncate_div(x, y) if x.dtype.kind in "iu" else np.true_divide(x, y)


def _int_safe_kernel(fn):
    def kernel(ctx, x, y):
        _raise_int_div_by_zero(ctx, y)
        with np.errstate(all="ignore"):
            return fn(x, y)

    return kernel


def _real_div_grad(op, dz):
    x, y = op.inputs
    return binary_grads(op, xdivy(dz, y), multiply_no_nan(realdiv(realdiv(negative(x), y), y), dz))


def _floor_mod_grad(op, dz):
    x, y = op.inputs
    return binary_grads(op, dz, multiply(dz, negative(floor_div(x, y))))


define_op("RealDiv", infer=_checked_infer(NUMERIC), kernel=_real_div_kernel, grad=_real_div_grad)
define_op("FloorDiv", infer=_checked_infer(NUMERIC), kernel=_int_safe_kernel(np.floor_divide), not_differentiable=True)
define_op("FloorMod", infer=_checked_infer(NUMERIC), kernel=_int_safe_kernel(np.mod), grad=_floor_mod_grad)
define_op("TruncateDiv", infer=_checked_infer(NUMERIC), kernel=_int_safe_kernel(_truncate_div), not_differentiable=True)
define_op("TruncateMod", infer=_checked_infer(NUMERIC), kernel=_int_safe_kernel(np.fmod), not_differentiable=True)

# What TF1's ``/`` converts integer operands to before dividing.
_TRUEDIV_TABLE = {
    dtypes.uint8: dtypes.float32, dtypes.int8: dtypes.float32, dtypes.int16: dtypes.float32,
    dtypes.int32: dtypes.float64, dtypes.int64: dtypes.float64,
    dtypes.float16: None, dtypes.float32: None, dtypes.float64: None,
}


def truediv(x, y, name=None):
    """x / y with Python 3 semantics: integer operands are cast to float first (int8/16 to float32, int32/64 to float64)."""
    with name_scope(name, "truediv", [x, y]) as scope:
        x, y = convert_n_to_tensors([x, y])
        if x.dtype != y.dtype:
            raise TypeError(f"x and y must have the same dtype, got {x.dtype.name} != {y.dtype.name}")
        if x.dtype not in _TRUEDIV_TABLE:
            raise TypeError(f"Invalid dtype {x.dtype.name} in __truediv__ (tensor '{x.name}')")
        target = _TRUEDIV_TABLE[x.dtype]
        if target is not None:
            x, y = cast(x, target), cast(y, target)
        return make_tensor("RealDiv", [x, y], name=scope)


def divide(x, y, name=None):
    """x / y elementwise (true division, as ``truediv``)."""
    return truediv(x, y, name=name)


def realdiv(x, y, name=None):
    """x / y for real types (the RealDiv op; integer inputs divide truncating toward zero)."""
    return binary_op("RealDiv", x, y, name or "RealDiv", NUMERIC)


def div(x, y, name=None):
    """x / y with Python 2 semantics: floor division for integers, true division for floats."""
    with name_scope(name, "div", [x, y]) as scope:
        x, y = convert_n_to_tensors([x, y])
        return binary_op("FloorDiv" if x.dtype.is_integer else "RealDiv", x, y, scope, NUMERIC)


def floordiv(x, y, name=None):
    """floor(x / y) elementwise (the ``//`` operator); integer results for integer inputs."""
    with name_scope(name, "floordiv", [x, y]) as scope:
        return binary_op("FloorDiv", x, y, scope, NUMERIC)


def floor_div(x, y, name=None):
    """floor(x / y) elementwise (the FloorDiv op)."""
    return binary_op("FloorDiv", x, y, name or "FloorDiv", NUMERIC)


def floormod(x, y, name=None):
    """Remainder of floor division: ``x - floor(x / y) * y``, with the sign of ``y`` (the ``%`` operator)."""
    return binary_op("FloorMod", x, y, name or "FloorMod", NUMERIC)


mod = floormod


def truncatediv(x, y, name=None):
    """x / y rounded toward zero (C-style integer division)."""
    return binary_op("TruncateDiv", x, y, name or "TruncateDiv", NUMERIC)


def truncatemod(x, y, name=None):
    """Remainder of truncating division, with the sign of ``x`` (C's ``fmod``)."""
    return binary_op("TruncateMod", x, y, name or "TruncateMod", NUMERIC)


# -- NaN-safe products and quotients -------------------------------------------------------------
def _where_zero(cond, value):
    return np.where(cond, np.zeros((), dtype=value.dtype), value)


def _div_no_nan(x, y):
    return _where_zero(y == 0, x / np.where(y == 0, np.ones((), y.dtype), y))


define_op(
    "DivNoNan",
    infer=_checked_infer(FLOAT),
    kernel=np_kernel(_div_no_nan),
    grad=lambda op, dz: binary_grads(
        op,
        div_no_nan(dz, op.inputs[1]),
        multiply_no_nan(div_no_nan(div_no_nan(negative(op.inputs[0]), op.inputs[1]), op.inputs[1]), dz),
    ),
)
define_op(
    "MulNoNan",
    infer=_checked_infer(FLOAT),
    kernel=np_kernel(lambda x, y: _where_zero(y == 0, x * y)),
    grad=lambda op, dz: binary_grads(op, multiply_no_nan(dz, op.inputs[1]), multiply_no_nan(op.inputs[0], dz)),
)


def _xdivy_grad(op, dz):
    x, y = op.inputs
    not_zero_x = cast(_lazy("not_equal")(x, 0.0), x.dtype)
    return binary_grads(op, multiply(xdivy(not_zero_x, y), dz), multiply(xdivy(negative(x), _lazy("square")(y)), dz))


def _xlogy_grad(op, dz):
    x, y = op.inputs
    not_zero_x = cast(_lazy("not_equal")(x, 0.0), x.dtype)
    return binary_grads(op, multiply(xlogy(not_zero_x, y), dz), multiply(xdivy(x, y), dz))


define_op("Xdivy", infer=_checked_infer(FLOAT), kernel=np_kernel(lambda x, y: _where_zero(x == 0, x / y)), grad=_xdivy_grad)
define_op(
    "Xlogy", infer=_checked_infer(FLOAT), kernel=np_kernel(lambda x, y: _where_zero(x == 0, x * np.log(y))), grad=_xlogy_grad
)


def div_no_nan(x, y, name=None):
    """x / y, but 0 wherever y is 0 (even when x is 0, inf or nan)."""
    with name_scope(name, "div_no_nan", [x, y]) as scope:
        return binary_op("DivNoNan", x, y, scope, FLOAT)


def multiply_no_nan(x, y, name=None):
    """x * y, but 0 wherever y is 0 (even when x is inf or nan)."""
    with name_scope(name, "multiply_no_nan", [x, y]) as scope:
        return binary_op("MulNoNan", x, y, scope, FLOAT)


def xdivy(x, y, name=None):
    """x / y, but 0 wherever x is 0."""
    return binary_op("Xdivy", x, y, name or "Xdivy", FLOAT)


def xlogy(x, y, name=None):
    """x * log(y), but 0 wherever x is 0."""
    return binary_op("Xlogy", x, y, name or "Xlogy", FLOAT)


# -- pow ----------------------------------------------------------------------------------------
def _pow_kernel(ctx, x, y):
    if x.dtype.kind in "iu" and np.any(y < 0):
        raise errors.InvalidArgumentError(None, ctx.op, f"Integers to negative integer powers are not allowed (op '{ctx.op.name}')")
    with np.errstate(all="ignore"):
        return np.power(x, y)


def _pow_grad(op, dz):
    x, y = op.inputs
    z = op.outputs[0]
    where, ones_like, zeros_like = _lazy("where"), _array("ones_like"), _array("zeros_like")
    gx = multiply_no_nan(multiply(y, pow(x, subtract(y, 1))), dz)
    # log(x) only where x > 0: there is no sensible real value elsewhere, and 0 avoids a false nan.
    mask = _lazy("greater")(x, 0)
    safe_x = where(mask, x, ones_like(x))
    log_x = where(mask, _lazy("log")(safe_x), zeros_like(x))
    gy = multiply_no_nan(multiply(z, log_x), dz)
    return binary_grads(op, gx, gy)


def _array(name):
    from graphdl.ops import array_ops

    return getattr(array_ops, name)


define_op("Pow", infer=_checked_infer(NUMERIC), kernel=_pow_kernel, grad=_pow_grad)


def pow(x, y, name=None):  # noqa: A001 - TF1 name
    """x ** y elementwise, with broadcasting."""
    with name_scope(name, "Pow", [x]) as scope:
        return binary_op("Pow", x, y, scope, NUMERIC)


# -- maximum / minimum / squared difference --------------------------------------------------------
def _max_min_grad(selector):
    def grad(op, dz):
        x, y = op.inputs
        zeros = _array("zeros_like")(dz)
        xmask = _lazy(selector)(x, y)  # ties send the gradient to x, as TF
        where = _lazy("where")
        return binary_grads(op, where(xmask, dz, zeros), where(xmask, zeros, dz))

    return grad


define_op("Maximum", infer=_checked_infer(NUMERIC), kernel=np_kernel(np.maximum), grad=_max_min_grad("greater_equal"))
define_op("Minimum", infer=_checked_infer(NUMERIC), kernel=np_kernel(np.minimum), grad=_max_min_grad("less_equal"))


def _squared_difference_grad(op, dz):
    x, y = op.inputs
    x_grad = multiply(scalar_mul(2.0, dz), subtract(x, y))
    return [unbroadcast(x_grad, x, y), negative(unbroadcast(x_grad, y, x))]


define_op(
    "SquaredDifference",
    infer=_checked_infer(NUMERIC),
    kernel=np_kernel(lambda x, y: np.square(x - y)),
    grad=_squared_difference_grad,
)


def maximum(x, y, name=None):
    """max(x, y) elementwise, with broadcasting."""
    return binary_op("Maximum", x, y, name or "Maximum", NUMERIC)


def minimum(x, y, name=None):
    """min(x, y) elementwise, with broadcasting."""
    return binary_op("Minimum", x, y, name or "Minimum", NUMERIC)


def squared_difference(x, y, name=None):
    """(x - y) ** 2 elementwise, with broadcasting."""
    return binary_op("SquaredDifference", x, y, name or "SquaredDifference", NUMERIC)


def scalar_mul(scalar, x, name=None):
    """``scalar * x`` where ``scalar`` is a 0-d value (ValueError otherwise)."""
    x = convert_to_tensor(x)
    scalar = convert_to_tensor(scalar, dtype=x.dtype, name="scalar")
    if scalar.shape.ndims != 0:
        raise ValueError(f"Only scalar multiply works, got shape {scalar.shape}")
    with name_scope(name, "scalar_mul", [scalar, x]) as scope:
        return make_tensor("Mul", [scalar, x], name=scope)


# -- atan2 ------------------------------------------------------------------------------------------
def _atan2_grad(op, dz):
    y, x = op.inputs
    square = _lazy("square")
    grad_inv = xdivy(dz, add(square(x), square(y)))
    return binary_grads(op, multiply(x, grad_inv), multiply(negative(y), grad_inv))


define_op("Atan2", infer=_checked_infer(FLOAT), kernel=np_kernel(np.arctan2), grad=_atan2_grad)


def atan2(y, x, name=None):
    """The angle of the point (x, y): arctan(y / x) using the signs of both to pick the quadrant."""
    return binary_op("Atan2", y, x, name or "Atan2", FLOAT)
