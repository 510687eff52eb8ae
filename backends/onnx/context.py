"""The state of one export: ONNX nodes and initializers emitted so far, and graphdl tensor -> ONNX value names.

Ops are exported on demand: :meth:`ExportContext.get` of a tensor maps its producer (and,
recursively, what that needs), so parts of the graph that static evaluation folds away
(a dropout mask fed ``keep_prob=1``, the training branch of a ``where``) are never emitted.
"""

from __future__ import annotations

import numpy as np
from graphdl.backends.onnx import static_eval
from graphdl.backends.onnx.registry import mapping_for
from onnx import TensorProto, helper, numpy_helper

from graphdl import errors


def onnx_type(dtype) -> int:
    """The ONNX element type of a graphdl (or NumPy) dtype."""
    np_dtype = np.dtype(getattr(dtype, "np", dtype))
    return helper.np_dtype_to_tensor_dtype(np_dtype)


class Lazy:
    """An output whose ONNX value is built only if something uses it (the NHWC side of an NCHW result)."""

    def __init__(self, build):
        self.build = build


class ExportContext:
    """Collects the ONNX graph for one export; mappings call its helpers."""

    def __init__(self, opset: int, graph_inputs: dict, pinned: dict, variable_values: dict):
        self.opset = opset
        self.nodes: list = []
        self.initializers: list = []
        self._values: dict = {}  # Tensor -> ONNX name or Lazy
        self._nchw: dict = {}  # Tensor -> ONNX name of the same value in NCHW layout
        self._names: set = set()
        self._const_cache: dict = {}
        self._mapped: set = set()
        self._op_stack: list = []
        self.static = static_eval.StaticEvaluator(graph_inputs, pinned)
        self.variable_values = variable_values
        for tensor, name in graph_inputs.items():
            self._names.add(name)
            self._values[tensor] = name

    # -- names --------------------------------------------------------------------------------------------------
    def fresh(self, hint: str) -> str:
        """A value or node name not used yet, based on ``hint``."""
        name, k = hint, 1
        while name in self._names:
            name = f"{hint}_{k}"
            k += 1
        self._names.add(name)
        return name

    @property
    def op(self):
        """The graphdl op being mapped now (for names and error messages)."""
        return self._op_stack[-1] if self._op_stack else None

    def error(self, message: str, op=None):
        """An UnimplementedError naming the op being exported."""
        op = op or self.op
        return errors.UnimplementedError(None, op, f"Cannot export operation '{op.name}' (op type: {op.type}) to ONNX: "
                                         f"{message}")

    # -- emitting -----------------------------------------------------------------------------------------------
    def node(self, op_type: str, inputs, outputs: int = 1, **attrs):
        """Emit one ONNX node; returns its output name (or list of names when ``outputs`` > 1)."""
        base = self.op.name if self.op is not None else op_type
        names = [self.fresh(f"{base}/{op_type}" if i == 0 else f"{base}/{op_type}:{i}") for i in range(outputs)]
        inputs = ["" if i is None else i for i in inputs]
        self.nodes.append(helper.make_node(op_type, inputs, names, name=self.fresh(f"{base}/{op_type}_node"),
                                           **{k: v for k, v in attrs.items() if v is not None}))
        return names[0] if outputs == 1 else names

    def const(self, value, dtype=None, hint: str = "const") -> str:
        """An initializer holding ``value`` (deduplicated for small constants); returns its name."""
        array = np.asarray(value, dtype=dtype)
        key = None
        if array.size <= 16 and array.dtype != object:
            key = (array.dtype.str, array.shape, array.tobytes())
            if key in self._const_cache:
                return self._const_cache[key]
        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(np.array(array, order="C"), name))
        if key is not None:
            self._const_cache[key] = name
        return name

    def int64(self, tensor_or_value, hint="shape") -> str:
        """An int64 ONNX value for a shape-like input (a graphdl tensor or a Python/NumPy value)."""
        if not hasattr(tensor_or_value, "op"):
            return self.const(np.asarray(tensor_or_value, dtype=np.int64), hint=hint)
        value = self.static.value(tensor_or_value)
        if value is not None:
            return self.const(np.asarray(value, dtype=np.int64), hint=hint)
        name = self.get(tensor_or_value)
        if tensor_or_value.dtype.np == np.int64:
            return name
        return self.node("Cast", [name], to=TensorProto.INT64)

    def cast(self, name: str, dtype) -> str:
        """``name`` cast to the graphdl/NumPy ``dtype``."""
        return self.node("Cast", [name], to=onnx_type(dtype))

    # -- values -------------------------------------------------------------------------------------------------
    def require_value(self, tensor, what: str):
        """The static NumPy value of ``tensor``; an error naming the op and ``what`` when it is not constant."""
        value = self.static.value(tensor)
        if value is None:
            raise self.error(f"its {what} ('{tensor.name}') must be a constant (or fed through feed_dict=)")
        return value

    def get(self, tensor) -> str:
        """The ONNX value name of ``tensor``, exporting its producer first if needed."""
        value = self._values.get(tensor)
        if value is None:
            folded = self.static.value(tensor)
            if folded is not None:
                value = self.const(folded, hint=_value_hint(tensor))
            else:
                value = self._emit_fact(tensor)
            if value is None:
                self.ensure(tensor.op)
                value = self._values.get(tensor)
                if value is None:
                    raise self.error(f"output {tensor.value_index} cannot be exported", tensor.op)
            self._values[tensor] = value
        if isinstance(value, Lazy):
            self._op_stack.append(tensor.op)
            try:
                value = value.build()
            finally:
                self._op_stack.pop()
            self._values[tensor] = value
        return value

    def ensure(self, op):
        """Map ``op`` (once)."""
        if op in self._mapped:
            return
        self._mapped.add(op)
        if op.type == "VariableV2":
            self._values[op.outputs[0]] = self.const(self.variable_values[op], hint=op.name)
            return
        fn = mapping_for(op)
        self._op_stack.append(op)
        try:
            result = fn(self, op)
        finally:
            self._op_stack.pop()
        results = result if isinstance(result, (list, tuple)) else [result]
        for tensor, name in zip(op.outputs, results):
            if name is not None:
                self._values[tensor] = name

    def _emit_fact(self, tensor):
        """A tensor known to be filled with one value (a dropout mask at keep_prob 1) as ConstantOfShape."""
        fill = self.static.fill_value(tensor)
        if fill is None:
            return None
        shape_tensor = self.static.shape_source(tensor)
        if shape_tensor is None:
            return None
        self._op_stack.append(tensor.op)
        try:
            value = np.asarray([fill], dtype=tensor.dtype.np)
            return self.node("ConstantOfShape", [self.int64(shape_tensor)], value=numpy_helper.from_array(value))
        finally:
            self._op_stack.pop()

    # -- layout -------------------------------------------------------------------------------------------------
    def set_nchw(self, tensor, name: str):
        """Record that ONNX value ``name`` is NHWC ``tensor`` in NCHW layout."""
        self._nchw[tensor] = name

    def nchw(self, tensor) -> str:
        """``tensor`` (rank 4, NHWC) in NCHW layout, reusing an NCHW twin instead of transposing where one exists."""
        self.ensure_producer(tensor)
        if tensor in self._nchw:
            return self._nchw[tensor]
        name = self.node("Transpose", [self.get(tensor)], perm=[0, 3, 1, 2])
        self._nchw[tensor] = name
        return name

    def has_nchw(self, tensor) -> bool:
        """True when an NCHW twin of ``tensor`` exists (mapping its producer first)."""
        self.ensure_producer(tensor)
        return tensor in self._nchw

    def ensure_producer(self, tensor):
        """Map ``tensor``'s producer unless the tensor is an input, a constant or already known."""
        if tensor in self._values or self.static.value(tensor) is not None or self.static.fill_value(tensor) is not None:
            return
        self.ensure(tensor.op)

    def nhwc_of(self, nchw_name: str):
        """A Lazy NHWC view of an NCHW value: the Transpose back is emitted only if something uses it."""
        return Lazy(lambda: self.node("Transpose", [nchw_name], perm=[0, 2, 3, 1]))


def _value_hint(tensor) -> str:
    return tensor.op.name if tensor.value_index == 0 else f"{tensor.op.name}:{tensor.value_index}"
