"""The ``tf.debugging`` namespace: TF1's assertions (``Assert``, ``assert_*``) and NaN/Inf checks."""

from __future__ import annotations

from graphdl.ops.check_ops import (
    Assert,
    assert_equal,
    assert_greater,
    assert_greater_equal,
    assert_integer,
    assert_less,
    assert_less_equal,
    assert_near,
    assert_negative,
    assert_non_negative,
    assert_non_positive,
    assert_none_equal,
    assert_positive,
    assert_proper_iterable,
    assert_rank,
    assert_rank_at_least,
    assert_scalar,
    assert_type,
    is_non_decreasing,
    is_numeric_tensor,
    is_strictly_increasing,
)
from graphdl.ops.numerics import check_numerics, verify_tensor_all_finite
from graphdl.ops.unary_math_ops import is_finite, is_inf, is_nan

assert_all_finite = verify_tensor_all_finite

_log_device_placement = [False]


def set_log_device_placement(enabled: bool):
    """Accepted for TF1 scripts; graphdl runs every op on the host CPU, so there is no placement to log."""
    _log_device_placement[0] = bool(enabled)


def get_log_device_placement() -> bool:
    return _log_device_placement[0]


__all__ = [
    "Assert", "assert_all_finite", "assert_equal", "assert_greater", "assert_greater_equal", "assert_integer",
    "assert_less", "assert_less_equal", "assert_near", "assert_negative", "assert_non_negative", "assert_non_positive",
    "assert_none_equal", "assert_positive", "assert_proper_iterable", "assert_rank", "assert_rank_at_least",
    "assert_scalar", "assert_type", "check_numerics", "get_log_device_placement", "is_finite", "is_inf", "is_nan",
    "is_non_decreasing", "is_numeric_tensor", "is_strictly_increasing", "set_log_device_placement",
    "verify_tensor_all_finite",
]
