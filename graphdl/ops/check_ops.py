"""Run-time checks: ``tf.Assert`` (op ``Assert``) and the ``tf.debugging.assert_*`` family.

As in TF1, an assertion whose operands are constants is decided while the graph is
built (a failing one raises at once); otherwise it becomes an ``Assert`` op that raises
``InvalidArgumentError: assertion failed: [...]`` when it runs with a false condition.
An Assert op has no output: it runs when fetched, or for the ops created under
``tf.control_dependencies([assert_op])``. The op is stateful, so the compiler never
drops, folds or merges it.
"""

from __future__ import annotations

import numpy as np

from graphdl import dtypes, errors
from graphdl.framework.constant_value import constant_value
from graphdl.framework.op_def import define_op
from graphdl.framework.operation import Tensor
from graphdl.framework.ops import convert_to_tensor, is_tensor_like, make_op, name_scope
from graphdl.ops import compare_ops
from graphdl.ops.control_ops import no_op
from graphdl.ops.tensor_format import summarize_value

__all__ = [
    "Assert",
    "assert_equal",
    "assert_greater",
    "assert_greater_equal",
    "assert_integer",
    "assert_less",
    "assert_less_equal",
    "assert_near",
    "assert_negative",
    "assert_non_negative",
    "assert_non_positive",
    "assert_none_equal",
    "assert_positive",
    "assert_proper_iterable",
    "assert_rank",
    "assert_rank_at_least",
    "assert_scalar",
    "assert_type",
    "is_non_decreasing",
    "is_numeric_tensor",
    "is_strictly_increasing",
]


# -- the Assert op -------------------------------------------------------------------------------------
def _infer_assert(op):
    condition = op.inputs[0]
    if condition.dtype != dtypes.bool_:
        raise TypeError(f"Assert: condition must be a bool tensor, got {condition.dtype.name}")
    if condition.shape.ndims not in (None, 0):
        raise ValueError(f"Assert: condition must be a scalar, got shape {condition.shape}")
    return []


def _assert_kernel(ctx, condition, *data):
    condition = np.asarray(condition)
    if condition.shape != ():
        raise errors.InvalidArgumentError(
            None, ctx.op, f"Assert '{ctx.op.name}': condition should be a scalar, got shape {condition.shape}"
        )
    if not condition:
        summarize = ctx.attrs["summarize"]
        shown = " ".join(f"[{summarize_value(d, summarize)}]" for d in data)
        raise errors.InvalidArgumentError(None, ctx.op, f"assertion failed: {shown}\n\t [[node {ctx.op.name}]]")
    return ()


define_op("Assert", infer=_infer_assert, kernel=_assert_kernel, stateful=True, not_differentiable=True)


def Assert(condition, data, summarize=None, name=None):
    """An op that raises InvalidArgumentError "assertion failed: [data...]" when it runs and ``condition`` is False.

    ``condition`` is a scalar bool tensor; ``data`` a list of tensors (or Python values)
    shown with their first ``summarize`` (default 3) elements. Returns the Operation.
    """
    data = [data] if is_tensor_like(data) else list(data)
    with name_scope(name, "Assert", [condition, *[d for d in data if is_tensor_like(d)]]):
        condition = convert_to_tensor(condition, dtype=dtypes.bool_, name="Condition")
        data = [convert_to_tensor(d) for d in data]
        return make_op("Assert", [condition, *data], {"summarize": 3 if summarize is None else int(summarize)}, "Assert")


# -- helpers -----------------------------------------------------------------------------------------
def _static_text(item) -> str:
    if isinstance(item, Tensor):
        value = constant_value(item)
        return item.name if value is None else str(value)
    return str(item)


def _assert_static(condition, data):
    """Raise the build-time failure of an assertion decided from constants."""
    if not condition:
        raise errors.InvalidArgumentError(None, None, "\n".join(_static_text(d) for d in data))


def _reduce_all(x):
    from graphdl.ops.reduction_ops import reduce_all

    return reduce_all(x)


def _binary_assert(symbol, default_name, compare, static_compare, x, y, data, summarize, message, name,
                   description="did not hold element-wise:"):
    with name_scope(name, default_name, [x, y]):
        x, y = _operands(x, y)
        if data is None:
            data = [f"Condition x {symbol} y {description}", f"x ({x.name}) = ", x, f"y ({y.name}) = ", y]
        if message is not None:
            data = [message, *data]
        condition = _reduce_all(compare(x, y))
        x_static, y_static = constant_value(x), constant_value(y)
        if x_static is not None and y_static is not None:
            _assert_static(bool(np.all(static_compare(x_static, y_static))), data)
        return Assert(condition, data, summarize=summarize)


def _operands(x, y):
    """``x`` and ``y`` as tensors; a Python value takes the dtype of the other operand's tensor."""
    if is_tensor_like(y) and not is_tensor_like(x):
        y = convert_to_tensor(y, name="y")
        return convert_to_tensor(x, dtype=y.dtype, name="x"), y
    x = convert_to_tensor(x, name="x")
    return x, convert_to_tensor(y, name="y", dtype=None if is_tensor_like(y) else x.dtype)


def _zero_like(x):
    return convert_to_tensor(np.zeros((), x.dtype.np), name="zero")


# -- comparisons ---------------------------------------------------------------------------------------
def assert_equal(x, y, data=None, summarize=None, message=None, name=None):
    """Assert ``x == y`` element-wise (with broadcasting); returns the Assert op (a NoOp when ``x is y``)."""
    if x is y:
        with name_scope(name, "assert_equal", [x]):
            return no_op()
    return _binary_assert("==", "assert_equal", compare_ops.equal, np.equal, x, y, data, summarize, message, name)


def assert_none_equal(x, y, data=None, summarize=None, message=None, name=None):
    """Assert ``x != y`` for every element; returns the Assert op."""
    return _binary_assert("!=", "assert_none_equal", compare_ops.not_equal, np.not_equal, x, y, data, summarize,
                          message, name, description="did not hold for every single element:")


def assert_less(x, y, data=None, summarize=None, message=None, name=None):
    """Assert ``x < y`` element-wise; returns the Assert op."""
    return _binary_assert("<", "assert_less", compare_ops.less, np.less, x, y, data, summarize, message, name)


def assert_less_equal(x, y, data=None, summarize=None, message=None, name=None):
    """Assert ``x <= y`` element-wise; returns the Assert op."""
    return _binary_assert("<=", "assert_less_equal", compare_ops.less_equal, np.less_equal, x, y, data, summarize,
                          message, name)


def assert_greater(x, y, data=None, summarize=None, message=None, name=None):
    """Assert ``x > y`` element-wise; returns the Assert op."""
    return _binary_assert(">", "assert_greater", compare_ops.greater, np.greater, x, y, data, summarize, message, name)


def assert_greater_equal(x, y, data=None, summarize=None, message=None, name=None):
    """Assert ``x >= y`` element-wise; returns the Assert op."""
    return _binary_assert(">=", "assert_greater_equal", compare_ops.greater_equal, np.greater_equal, x, y, data,
                          summarize, message, name)


def _sign_assert(default_name, condition_text, compare, zero_first, x, data, summarize, message, name):
    with name_scope(name, default_name, [x]):
        x = convert_to_tensor(x, name="x")
        if data is None:
            data = [f"Condition {condition_text} did not hold element-wise:", f"x ({x.name}) = ", x]
        if message is not None:
            data = [message, *data]
        zero = _zero_like(x)
        return compare(zero, x, data=data, summarize=summarize) if zero_first else compare(x, zero, data=data,
                                                                                           summarize=summarize)


def assert_positive(x, data=None, summarize=None, message=None, name=None):
    """Assert ``x > 0`` element-wise; returns the Assert op."""
    return _sign_assert("assert_positive", "x > 0", assert_less, True, x, data, summarize, message, name)


def assert_negative(x, data=None, summarize=None, message=None, name=None):
    """Assert ``x < 0`` element-wise; returns the Assert op."""
    return _sign_assert("assert_negative", "x < 0", assert_less, False, x, data, summarize, message, name)


def assert_non_negative(x, data=None, summarize=None, message=None, name=None):
    """Assert ``x >= 0`` element-wise; returns the Assert op."""
    return _sign_assert("assert_non_negative", "x >= 0", assert_less_equal, True, x, data, summarize, message, name)


def assert_non_positive(x, data=None, summarize=None, message=None, name=None):
    """Assert ``x <= 0`` element-wise; returns the Assert op."""
    return _sign_assert("assert_non_positive", "x <= 0", assert_less_equal, False, x, data, summarize, message, name)


def assert_near(x, y, rtol=None, atol=None, data=None, summarize=None, message=None, name=None):
    """Assert ``|x - y| <= atol + rtol * |y|`` element-wise (default tolerances 10 * eps of the dtype)."""
    from graphdl.ops.unary_math_ops import abs as abs_

    with name_scope(name, "assert_near", [x, y]):
        x = convert_to_tensor(x, name="x")
        y = convert_to_tensor(y, name="y", dtype=x.dtype)
        eps = np.finfo(x.dtype.np).eps if x.dtype.is_floating else 0
        rtol = 10 * eps if rtol is None else rtol
        atol = 10 * eps if atol is None else atol
        rtol_t = convert_to_tensor(rtol, dtype=x.dtype, name="rtol")
        atol_t = convert_to_tensor(atol, dtype=x.dtype, name="atol")
        if data is None:
            data = [f"x and y not equal to tolerance rtol = {rtol}, atol = {atol}",
                    f"x ({x.name}) = ", x, f"y ({y.name}) = ", y]
        if message is not None:
            data = [message, *data]
        condition = _reduce_all(compare_ops.less_equal(abs_(x - y), atol_t + rtol_t * abs_(y)))
        x_static, y_static = constant_value(x), constant_value(y)
        if x_static is not None and y_static is not None:
            _assert_static(bool(np.all(np.abs(x_static - y_static) <= atol + rtol * np.abs(y_static))), data)
        return Assert(condition, data, summarize=summarize)


# -- ranks and types ----------------------------------------------------------------------------------
def _rank_assert(default_name, x, rank, data, summarize, message, name, at_least):
    from graphdl.ops.array_ops import shape as shape_of
    from graphdl.ops.range_ops import rank as rank_of

    relation = "at least" if at_least else ""
    with name_scope(name, default_name, [x]):
        x = convert_to_tensor(x, name="x")
        rank_t = convert_to_tensor(rank, name="rank")
        message = message or ""
        static_rank, wanted = x.shape.ndims, constant_value(rank_t)
        if static_rank is not None and wanted is not None:
            wanted = int(wanted)
            if (static_rank >= wanted) if at_least else (static_rank == wanted):
                return no_op(name="static_checks_determined_all_ok")
            raise ValueError(
                f"{message}.  Tensor {x.name} must have rank{' ' + relation if relation else ''} {wanted}.  "
                f"Received rank {static_rank}, shape {x.shape}"
            )
        if data is None:
            data = [message, f"Tensor {x.name} must have rank{' ' + relation if relation else ''}", rank_t,
                    "Received shape: ", shape_of(x)]
        actual = rank_of(x)
        condition = compare_ops.greater_equal(actual, rank_t) if at_least else compare_ops.equal(actual, rank_t)
        return Assert(condition, data, summarize=summarize)


def assert_rank(x, rank, data=None, summarize=None, message=None, name=None):
    """Assert that ``x`` has rank ``rank``: ValueError at build time when known, else an Assert op."""
    return _rank_assert("assert_rank", x, rank, data, summarize, message, name, at_least=False)


def assert_rank_at_least(x, rank, data=None, summarize=None, message=None, name=None):
    """Assert that ``x`` has rank ``rank`` or more: ValueError at build time when known, else an Assert op."""
    return _rank_assert("assert_rank_at_least", x, rank, data, summarize, message, name, at_least=True)


def assert_scalar(tensor, name=None, message=None):
    """Raise ValueError unless ``tensor`` is statically a scalar; returns the tensor."""
    with name_scope(name, "assert_scalar", [tensor]):
        tensor = convert_to_tensor(tensor, name="tensor")
        if tensor.shape.ndims != 0:
            raise ValueError(f"{message or ''}Expected scalar shape for {tensor.name}, saw shape: {tensor.shape}.")
        return tensor


def assert_type(tensor, tf_type, message=None, name=None):
    """Raise TypeError unless ``tensor`` has dtype ``tf_type`` (a static check); returns a NoOp."""
    tf_type = dtypes.as_dtype(tf_type)
    with name_scope(name, "assert_type", [tensor]):
        tensor = convert_to_tensor(tensor, name="tensor")
        if tensor.dtype != tf_type:
            raise TypeError(f"{message or ''}{tensor.name} must be of type {tf_type.name}; it is {tensor.dtype.name}")
        return no_op(name="statically_determined_correct_type")


def assert_integer(x, message=None, name=None):
    """Raise TypeError unless ``x`` has an integer dtype (a static check); returns a NoOp."""
    with name_scope(name, "assert_integer", [x]):
        x = convert_to_tensor(x, name="x")
        if not x.dtype.is_integer:
            raise TypeError(f'{message or ""}Expected "x" to be integer type.  Found: {x.name} of dtype {x.dtype.name}')
        return no_op(name="statically_determined_was_integer")


def assert_proper_iterable(values):
    """Raise TypeError when ``values`` is a tensor, array or string rather than a list/tuple/set of them."""
    if is_tensor_like(values) or isinstance(values, (np.ndarray, np.generic, str, bytes)):
        raise TypeError(f"Expected argument 'values' to be a \"proper\" iterable.  Found: {type(values).__name__}")
    if not hasattr(values, "__iter__"):
        raise TypeError(f"Expected argument 'values' to be iterable.  Found: {type(values).__name__}")


def is_numeric_tensor(tensor) -> bool:
    """True for a Tensor of a numeric (integer or floating) dtype."""
    return isinstance(tensor, Tensor) and tensor.dtype.is_numeric


def _monotonic(default_name, compare, x, name):
    from graphdl.ops.array_ops import reshape

    with name_scope(name, default_name, [x]):
        x = convert_to_tensor(x, name="x")
        if not x.dtype.is_numeric:
            raise TypeError(f"Expected x to be numeric, got {x.dtype.name}")
        flat = reshape(x, [-1])
        return _reduce_all(compare(flat[:-1], flat[1:]))


def is_non_decreasing(x, name=None):
    """A bool scalar: True when the elements of ``x`` (flattened, row-major) never decrease."""
    return _monotonic("is_non_decreasing", compare_ops.less_equal, x, name)


def is_strictly_increasing(x, name=None):
    """A bool scalar: True when the elements of ``x`` (flattened, row-major) strictly increase."""
    return _monotonic("is_strictly_increasing", compare_ops.less, x, name)
