"""Tensor element types with TF1's names (``graphdl.float32`` and friends)."""

from __future__ import annotations

import numpy as np


class DType:
    """The element type of a tensor, e.g. ``graphdl.float32``."""

    __slots__ = ("name", "_np")

    def __init__(self, name: str, numpy_dtype):
        self.name = name
        self._np = np.dtype(numpy_dtype)

    @property
    def as_numpy_dtype(self):
        """The NumPy scalar type (``numpy.float32`` for ``float32``)."""
        return self._np.type

    @property
    def np(self) -> np.dtype:
        """The ``numpy.dtype`` instance."""
        return self._np

    @property
    def base_dtype(self) -> "DType":
        return self

    @property
    def real_dtype(self) -> "DType":
        return self

    @property
    def is_floating(self) -> bool:
        return self._np.kind == "f"

    @property
    def is_integer(self) -> bool:
        return self._np.kind in "iu"

    @property
    def is_unsigned(self) -> bool:
        return self._np.kind == "u"

    @property
    def is_bool(self) -> bool:
        return self._np.kind == "b"

    @property
    def is_complex(self) -> bool:
        return False

    @property
    def is_numeric(self) -> bool:
        return self._np.kind in "fiu"

    @property
    def size(self) -> int:
        return self._np.itemsize

    @property
    def min(self):
        """The smallest representable value."""
        if self.is_floating:
            return float(np.finfo(self._np).min)
        if self.is_bool:
            return False
        return int(np.iinfo(self._np).min)

    @property
    def max(self):
        """The largest representable value."""
        if self.is_floating:
            return float(np.finfo(self._np).max)
        if self.is_bool:
            return True
        return int(np.iinfo(self._np).max)

    def is_compatible_with(self, other) -> bool:
        return self == as_dtype(other)

    def __eq__(self, other):
        if isinstance(other, DType):
            return self.name == other.name
        try:
            return self.name == as_dtype(other).name
        except TypeError:
            return NotImplemented

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self):
        return hash(self.name)

    def __repr__(self):
        return f"graphdl.{self.name}"

    def __str__(self):
        return f"<dtype: '{self.name}'>"

    def __reduce__(self):
        return (as_dtype, (self.name,))


float16 = DType("float16", np.float16)
float32 = DType("float32", np.float32)
float64 = DType("float64", np.float64)
int8 = DType("int8", np.int8)
int16 = DType("int16", np.int16)
int32 = DType("int32", np.int32)
int64 = DType("int64", np.int64)
uint8 = DType("uint8", np.uint8)
bool_ = DType("bool", np.bool_)
string = DType("string", np.object_)

half = float16
double = float64

ALL_DTYPES = (float16, float32, float64, int8, int16, int32, int64, uint8, bool_, string)
FLOATING_DTYPES = (float16, float32, float64)
INTEGER_DTYPES = (int8, int16, int32, int64, uint8)

_BY_NAME = {d.name: d for d in ALL_DTYPES}
_BY_NAME.update({"float": float32, "double": float64, "half": float16, "int": int32, "long": int64})
_BY_NUMPY = {d.np: d for d in ALL_DTYPES}


def as_dtype(type_value) -> DType:
    """Convert a DType, NumPy dtype/type or name (``"float"``, ``"float32"``) to a DType."""
    if isinstance(type_value, DType):
        return type_value
    if isinstance(type_value, str):
        if type_value in _BY_NAME:
            return _BY_NAME[type_value]
        raise TypeError(f"Cannot convert {type_value!r} to a graphdl DType; known names: {sorted(_BY_NAME)}")
    if type_value is float:
        return float32
    if type_value is int:
        return int32
    if type_value is bool:
        return bool_
    if type_value is str or type_value is bytes:
        return string
    try:
        np_dtype = np.dtype(type_value)
    except TypeError:
        raise TypeError(f"Cannot convert {type_value!r} to a graphdl DType") from None
    if np_dtype.kind in "SU":
        return string
    if np_dtype in _BY_NUMPY:
        return _BY_NUMPY[np_dtype]
    raise TypeError(f"NumPy dtype {np_dtype} has no graphdl DType; supported: {[d.name for d in ALL_DTYPES]}")
