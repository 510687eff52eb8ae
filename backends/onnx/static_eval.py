"""What the exporter knows about a tensor's value without running the graph.

* ``value``: the NumPy value of tensors computable from constants, pinned feeds
  (``feed_dict=``) and unfed ``placeholder_with_default`` defaults, folded with the ops'
  NumPy reference kernels. Graph inputs and variables are never folded.
* ``bounds``: an interval holding every element (``random_uniform`` lies in [min, max)),
  so ``random >= rate`` with ``rate`` pinned to 0 (dropout at ``keep_prob=1``) is known true.
* ``fill_value``: a tensor known to be one value everywhere, and ``shape_source``: a tensor
  holding its shape, so it can be exported as ``ConstantOfShape`` instead of its random inputs.
"""

from __future__ import annotations

import numpy as np

from graphdl.framework.op_def import get_op_def

_MAX_FOLD_ELEMENTS = 1 << 22
_NOT_FOLDED = ("Placeholder", "VariableV2")
_COMPARISONS = {
    "GreaterEqual": lambda a, b: (a[0] >= b[1], a[1] < b[0]),
    "Greater": lambda a, b: (a[0] > b[1], a[1] <= b[0]),
    "LessEqual": lambda a, b: (a[1] <= b[0], a[0] > b[1]),
    "Less": lambda a, b: (a[1] < b[0], a[0] >= b[1]),
}


class _FoldContext:
    __slots__ = ("attrs", "op", "state")

    def __init__(self, op):
        self.op, self.attrs, self.state = op, op.attrs, None


class StaticEvaluator:
    """Static values, bounds and fill values of the tensors of one export (memoized)."""

    def __init__(self, graph_inputs: dict, pinned: dict):
        self._inputs = set(graph_inputs)
        self._pinned = pinned
        self._values: dict = {}

    def value(self, tensor):
        """The NumPy value of ``tensor`` if it is known statically, else None."""
        if tensor in self._values:
            return self._values[tensor]
        self._values[tensor] = None  # guards cycles (none expected) and failed folds
        result = self._fold(tensor)
        if result is not None:
            result = np.asarray(result)
            shape = tensor.shape.as_tuple()
            if shape is not None and None not in shape and result.shape != shape and result.size == np.prod(shape):
                result = result.reshape(shape)  # a Const may hold [n] for a scalar-shaped tensor
        self._values[tensor] = result
        return result

    def _fold(self, tensor):
        if tensor in self._pinned:
            return self._pinned[tensor]
        if tensor in self._inputs:
            return None
        op = tensor.op
        if op.type == "Const":
            return np.asarray(op.attrs["value"])
        if op.type == "PlaceholderWithDefault":
            return self.value(op.inputs[0])
        if op.type in ("Shape", "Size", "Rank"):
            from graphdl.framework.constant_value import constant_value

            return constant_value(tensor)
        op_def = get_op_def(op.type)
        if op_def.stateful or op_def.kernel is None or op.type in _NOT_FOLDED or op.attrs.get("body_graph") is not None:
            return None
        args = [self.value(t) for t in op.inputs]
        if any(a is None for a in args):
            return None
        try:
            result = op_def.kernel(_FoldContext(op), *args)
        except Exception:  # noqa: BLE001 - a kernel that needs the session simply is not folded
            return None
        results = result if isinstance(result, (list, tuple)) else [result]
        out = np.asarray(results[tensor.value_index], dtype=tensor.dtype.np)
        return out if out.size <= _MAX_FOLD_ELEMENTS else None

    def bounds(self, tensor):
        """``(low, high)`` enclosing every element of ``tensor``, or None when unknown."""
        value = self.value(tensor)
        if value is not None:
            return (float(np.min(value)), float(np.max(value))) if value.size and value.dtype != bool else None
        op = tensor.op
        if op.type == "RandomUniform":
            return (0.0, 1.0)
        if op.type in ("AddV2", "Sub", "Mul"):
            a, b = self.bounds(op.inputs[0]), self.bounds(op.inputs[1])
            if a is None or b is None:
                return None
            if op.type == "AddV2":
                return (a[0] + b[0], a[1] + b[1])
            if op.type == "Sub":
                return (a[0] - b[1], a[1] - b[0])
            products = [x * y for x in a for y in b]
            return (min(products), max(products))
        if op.type in ("Identity", "PlaceholderWithDefault"):
            return self.bounds(op.inputs[0])
        return None

    def fill_value(self, tensor):
        """The single value every element of ``tensor`` is known to have (not statically folded), else None."""
        op = tensor.op
        if tensor in self._inputs or tensor in self._pinned:
            return None
        if op.type in _COMPARISONS:
            a, b = self.bounds(op.inputs[0]), self.bounds(op.inputs[1])
            if a is not None and b is not None:
                always, never = _COMPARISONS[op.type](a, b)
                if always or never:
                    return bool(always)
            return None
        if op.type == "Cast":
            inner = self.fill_value(op.inputs[0])
            return None if inner is None else np.asarray(inner).astype(tensor.dtype.np).item()
        return None

    def shape_source(self, tensor):
        """A tensor holding ``tensor``'s shape, found through elementwise ops down to a random op's shape input."""
        op = tensor.op
        if op.type in ("RandomUniform", "RandomStandardNormal", "TruncatedNormal"):
            return op.inputs[0]
        if op.type == "Cast" or op.type == "Identity":
            return self.shape_source(op.inputs[0])
        if op.type in _COMPARISONS or op.type in ("AddV2", "Sub", "Mul"):
            for i, other in ((0, 1), (1, 0)):
                static = self.value(op.inputs[other])
                if static is not None and static.ndim == 0:
                    return self.shape_source(op.inputs[i])
        return None
