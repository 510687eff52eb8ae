"""Python operators on Tensors and Variables (``+ - * / // % ** @``, comparisons, indexing)."""

from __future__ import annotations

from graphdl.framework.operation import Tensor


def _math():
    from graphdl.ops import math_ops

    return math_ops


# The op names TF1 gives operator-built ops ("x % y" is named "mod", not "FloorMod"; "x + y" is "add" while
# tf.add(x, y) is "Add").
_OPERATOR_OP_NAMES = {
    "add": "add", "subtract": "sub", "multiply": "mul", "floormod": "mod", "pow": "pow", "truediv": "truediv",
    "floordiv": "floordiv",
}


def _binary(fn_name):
    name = _OPERATOR_OP_NAMES.get(fn_name)

    def forward(self, other):
        if name:
            return getattr(_math(), fn_name)(self, other, name=name)
        return getattr(_math(), fn_name)(self, other)

    def reflected(self, other):
        if name:
            return getattr(_math(), fn_name)(other, self, name=name)
        return getattr(_math(), fn_name)(other, self)

    return forward, reflected


def _matmul(a, b):
    from graphdl.ops import matmul_ops

    return matmul_ops.matmul(a, b)


def _getitem(self, key):
    from graphdl.ops import indexing_ops

    return indexing_ops.tensor_getitem(self, key)


def install(cls):
    """Give ``cls`` TF1's operator overloads."""
    for dunder, fn_name in [
        ("add", "add"), ("sub", "subtract"), ("mul", "multiply"), ("truediv", "truediv"),
        ("floordiv", "floordiv"), ("mod", "floormod"), ("pow", "pow"),
    ]:
        forward, reflected = _binary(fn_name)
        setattr(cls, f"__{dunder}__", forward)
        setattr(cls, f"__r{dunder}__", reflected)
    for dunder, fn_name in [("lt", "less"), ("le", "less_equal"), ("gt", "greater"), ("ge", "greater_equal")]:
        setattr(cls, f"__{dunder}__", _binary(fn_name)[0])
    for dunder, fn_name in [("and", "logical_and"), ("or", "logical_or"), ("xor", "logical_xor")]:
        forward, reflected = _binary(fn_name)
        setattr(cls, f"__{dunder}__", forward)
        setattr(cls, f"__r{dunder}__", reflected)
    cls.__neg__ = lambda self: _math().negative(self)
    cls.__abs__ = lambda self: _math().abs(self)
    cls.__invert__ = lambda self: _math().logical_not(self)
    cls.__pos__ = lambda self: self
    cls.__matmul__ = lambda self, other: _matmul(self, other)
    cls.__rmatmul__ = lambda self, other: _matmul(other, self)
    cls.__getitem__ = _getitem
    cls.__div__ = cls.__truediv__
    cls.__rdiv__ = cls.__rtruediv__


install(Tensor)
