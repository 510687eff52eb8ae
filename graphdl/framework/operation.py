"""Symbolic graph nodes: ``Operation`` and the ``Tensor`` values it produces."""

from __future__ import annotations

from types import SimpleNamespace

from graphdl.framework.tensor_shape import TensorShape, as_shape, format_shape


class Tensor:
    """A symbolic output of an Operation, e.g. ``dense/MatMul:0``.

    Holds no value: a Session computes it. Arithmetic operators, comparisons
    (``<``, ``<=``, ``>``, ``>=``; ``==`` is identity as in TF1) and indexing build new ops.
    """

    # Makes NumPy defer to our reflected operators in ``ndarray + tensor``.
    __array_priority__ = 100

    def __init__(self, op: "Operation", value_index: int, dtype, shape):
        self._op = op
        self._value_index = value_index
        self._dtype = dtype
        self._shape = as_shape(shape)
        self._consumers: list[Operation] = []

    @property
    def op(self) -> "Operation":
        return self._op

    @property
    def value_index(self) -> int:
        return self._value_index

    @property
    def graph(self):
        return self._op.graph

    @property
    def name(self) -> str:
        return f"{self._op.name}:{self._value_index}"

    @property
    def dtype(self):
        return self._dtype

    @property
    def shape(self) -> TensorShape:
        return self._shape

    @property
    def device(self) -> str:
        return self._op.device

    def get_shape(self) -> TensorShape:
        return self._shape

    def set_shape(self, shape):
        """Refine the static shape; raises ValueError when incompatible."""
        try:
            self._shape = self._shape.merge_with(as_shape(shape))
        except ValueError:
            raise ValueError(
                f"Tensor '{self.name}' has shape {format_shape(self._shape.as_tuple())}, "
                f"which is incompatible with {format_shape(as_shape(shape).as_tuple())}"
            ) from None

    def consumers(self) -> list["Operation"]:
        """The operations that take this tensor as an input."""
        return list(self._consumers)

    def eval(self, feed_dict=None, session=None):
        """Compute this tensor with ``session`` (default: the default session)."""
        from graphdl.client.session import _session_for

        return _session_for(session, self).run(self, feed_dict)

    def __repr__(self):
        return f"<graphdl.Tensor '{self.name}' shape={format_shape(self._shape.as_tuple())} dtype={self._dtype.name}>"

    __str__ = __repr__

    # TF1 graph-mode semantics: identity equality and hashing, so tensors are dict keys.
    __hash__ = object.__hash__

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return self is not other

    def __bool__(self):
        raise TypeError(
            f"Using a graphdl Tensor ('{self.name}') as a Python bool is not allowed: its value is "
            "only known when a Session runs it. Use graphdl.cond or compute it with sess.run first."
        )

    def __iter__(self):
        raise TypeError(
            f"Tensor '{self.name}' is not iterable in graph mode. Use graphdl.unstack(t) to split it."
        )

    def __len__(self):
        raise TypeError(
            f"len() is not supported for Tensor '{self.name}'; use t.shape[0] or graphdl.shape(t)[0]."
        )

    def __index__(self):
        raise TypeError(f"Tensor '{self.name}' cannot be used as a Python index; it has no value yet.")


class Operation:
    """A node of the graph: an op type, its input tensors, attributes and outputs."""

    def __init__(self, graph, op_type: str, name: str, inputs, attrs, control_inputs, device=""):
        self._graph = graph
        self._type = op_type
        self._name = name
        self._inputs = tuple(inputs)
        self._attrs = dict(attrs or {})
        self._control_inputs = list(control_inputs)
        self._outputs: tuple[Tensor, ...] = ()
        self._device = device or ""
        self._id = -1

    @property
    def graph(self):
        return self._graph

    @property
    def type(self) -> str:
        return self._type

    @property
    def name(self) -> str:
        return self._name

    @property
    def inputs(self) -> tuple[Tensor, ...]:
        return self._inputs

    @property
    def outputs(self) -> tuple[Tensor, ...]:
        return self._outputs

    @property
    def control_inputs(self) -> list["Operation"]:
        return list(self._control_inputs)

    @property
    def attrs(self) -> dict:
        return self._attrs

    @property
    def device(self) -> str:
        return self._device

    @property
    def node_def(self):
        """A light description with TF1's NodeDef fields (``op``, ``name``, ``attr``, ``device``, ``input``)."""
        inputs = [t.name[:-2] if t.name.endswith(":0") else t.name for t in self._inputs]
        inputs += ["^" + c.name for c in self._control_inputs]
        return SimpleNamespace(op=self._type, name=self._name, attr=dict(self._attrs), device=self._device, input=inputs)

    @property
    def op_def(self):
        from graphdl.framework.op_def import get_op_def

        return get_op_def(self._type)

    def get_attr(self, name: str):
        if name not in self._attrs:
            raise ValueError(f"Operation '{self._name}' ({self._type}) has no attr named '{name}'")
        return self._attrs[name]

    def values(self) -> tuple[Tensor, ...]:
        return self._outputs

    def _add_control_input(self, op: "Operation"):
        if op not in self._control_inputs:
            self._control_inputs.append(op)
            self._graph._version += 1

    def _set_device(self, device: str):
        self._device = device or ""

    def run(self, feed_dict=None, session=None):
        """Run this operation with ``session`` (default: the default session)."""
        from graphdl.client.session import _session_for

        _session_for(session, self).run(self, feed_dict)

    def __repr__(self):
        return f"<graphdl.Operation '{self._name}' type={self._type}>"

    __hash__ = object.__hash__
