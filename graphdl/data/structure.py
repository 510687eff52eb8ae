"""Element structures of ``tf.data``: nested tuples/dicts/namedtuples of (dtype, shape) specs, and traced functions.

An element is a tensor or a (nested) tuple, namedtuple or dict of tensors; a Python list
is not a structure but one tensor (``from_tensor_slices([1, 2, 3])`` slices one vector),
as in TF1. Inside the pipeline an element travels as the flat list of its components'
arrays, in ``graphdl.nest.flatten`` order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from graphdl import errors
from graphdl.framework.func_graph import FuncGraph
from graphdl.framework.operation import Tensor
from graphdl.framework.ops import convert_to_tensor, get_default_graph
from graphdl.framework.tensor_shape import TensorShape, as_shape, format_shape
from graphdl.nest import flatten, map_structure, pack_sequence_as


@dataclass(frozen=True)
class Spec:
    """The dtype and static shape (a tuple with None for unknown dims, or None) of one component."""

    dtype: object
    shape: tuple | None

    @property
    def tensor_shape(self) -> TensorShape:
        return TensorShape(self.shape)


def is_structure(value) -> bool:
    """Tuples, namedtuples and dicts nest; everything else (lists included) is one component."""
    return isinstance(value, (tuple, dict))


def to_tensors(value, what: str):
    """``value`` with every component converted to a Tensor (lists become one tensor each)."""
    if isinstance(value, dict):
        return type(value)((k, to_tensors(v, what)) for k, v in value.items())
    if isinstance(value, tuple):
        items = [to_tensors(v, what) for v in value]
        return type(value)(*items) if hasattr(type(value), "_fields") else tuple(items)
    if value is None:
        raise TypeError(f"{what}: None is not a valid element component")
    return convert_to_tensor(value)


def specs_of(tensors) -> object:
    """The structure of Specs describing a structure of tensors."""
    return map_structure(lambda t: Spec(t.dtype, t.shape.as_tuple()), tensors)


def flat_specs(structure) -> list[Spec]:
    return flatten(structure)


def output_types(structure):
    return map_structure(lambda s: s.dtype, structure)


def output_shapes(structure):
    return map_structure(lambda s: s.tensor_shape, structure)


def output_classes(structure):
    return map_structure(lambda s: Tensor, structure)


def structure_text(structure) -> str:
    """A readable description of a structure of Specs, e.g. ``(float32[?,3], int32[])``."""
    return repr(map_structure(lambda s: _SpecText(f"{s.dtype.name}{format_shape(s.shape)}"), structure))


class _SpecText(str):
    def __repr__(self):
        return str(self)


def check_component(value: np.ndarray, spec: Spec, index: int, where: str, op=None) -> np.ndarray:
    """``value`` as an array of ``spec``'s dtype; InvalidArgumentError when its shape does not fit ``spec``."""
    value = np.asarray(value)
    if value.dtype != spec.dtype.np:
        value = value.astype(spec.dtype.np)
    if spec.shape is not None and (
        value.ndim != len(spec.shape) or any(d is not None and d != v for d, v in zip(spec.shape, value.shape))
    ):
        raise errors.InvalidArgumentError(
            None, op,
            f"{where}: component {index} has shape {format_shape(value.shape)}, which is incompatible with the "
            f"expected shape {format_shape(spec.shape)}",
        )
    return value


def merge_shapes(a, b):
    """The most specific shape both shapes fit (for the specs of a union of datasets)."""
    if a is None or b is None or len(a) != len(b):
        return None
    return tuple(x if x == y else None for x, y in zip(a, b))


def batched(structure, batch_size):
    """Specs with a leading batch dimension ``batch_size`` (None: unknown)."""
    return map_structure(lambda s: Spec(s.dtype, None if s.shape is None else (batch_size, *s.shape)), structure)


# -- functions applied to elements (map, filter) ----------------------------------------------------


class TracedFunction:
    """A Python function traced once into a FuncGraph taking one element's components.

    ``graph.outputs`` are its flat results, ``structure`` their Specs; ``captured`` the
    tensors of enclosing graphs it uses (their values are taken when the iterator is
    initialized, as TF1 does; variables are read at each call).
    """

    def __init__(self, fn, input_structure, what: str):
        if not callable(fn):
            raise TypeError(f"{what}: the function must be callable, got {fn!r}")
        outer = get_default_graph()
        name = f"{what}_{getattr(fn, '__name__', 'fn')}".replace("<", "").replace(">", "")
        graph = FuncGraph(name, outer, name_scope=outer.get_name_scope())
        with graph.as_default():
            inputs = [graph.add_input(s.dtype, s.shape, "arg") for s in flatten(input_structure)]
            args = pack_sequence_as(input_structure, inputs)
            # TF1 unpacks a plain tuple element into positional arguments; dicts and namedtuples come whole.
            result = fn(*args) if type(args) is tuple else fn(args)
            if isinstance(result, list):
                result = tuple(result)
            result = to_tensors(result, what)
            outputs = []
            for t in flatten(result):
                if t.graph is not graph:  # an outer tensor returned as is: capture it
                    from graphdl.ops.control_ops import identity

                    t = identity(t)
                outputs.append(t)
            graph.outputs = outputs
        self.graph = graph
        self.structure = pack_sequence_as(result, [Spec(t.dtype, t.shape.as_tuple()) for t in outputs])
        self.captured = list(graph.captured_inputs)

    def __call__(self, env, components) -> list:
        captured = [env.variable(variable) if variable else env.value(t) for t, variable in self._captured_reads]
        return env.run_function(self.graph, list(components) + captured)

    @property
    def _captured_reads(self):
        # A captured variable read (its ``read`` snapshot) is read again at each call, as a resource variable is.
        return [(t, t.op.inputs[0].op.name if t.op.type == "Identity" and t.op.inputs[0].op.type == "VariableV2"
                 else None) for t in self.captured]


def shape_arg(value, what: str) -> tuple | None:
    """A static shape argument (list, TensorShape, or -1 for "any") as a tuple with None."""
    if isinstance(value, TensorShape):
        return value.as_tuple()
    if isinstance(value, (list, tuple)):
        return tuple(None if d is None or (isinstance(d, int) and d < 0) else int(d) for d in value)
    try:
        return as_shape(value).as_tuple()
    except (TypeError, ValueError):
        raise TypeError(f"{what}: expected a shape (list of ints or None), got {value!r}") from None


def shape_leaves(structure, shapes, what: str) -> list:
    """``shapes`` (nested like ``structure``, each leaf a shape: list of dims, TensorShape or None) as flat tuples."""
    if isinstance(structure, dict):
        if not isinstance(shapes, dict) or set(shapes) != set(structure):
            raise ValueError(f"{what}: {shapes!r} does not match the element structure {structure!r}")
        return [s for k in sorted(structure) for s in shape_leaves(structure[k], shapes[k], what)]
    if isinstance(structure, tuple):
        if not isinstance(shapes, (tuple, list)) or len(shapes) != len(structure):
            raise ValueError(f"{what}: {shapes!r} does not match the element structure {structure!r}")
        return [s for a, b in zip(structure, shapes) for s in shape_leaves(a, b, what)]
    return [None if shapes is None else shape_arg(shapes, what)]


def flatten_as(structure, value, what: str) -> list:
    """The components of ``value``, nested like ``structure`` (lists inside a component stay whole)."""
    if isinstance(structure, dict):
        if not isinstance(value, dict) or set(value) != set(structure):
            raise ValueError(f"{what}: expected a dict with keys {sorted(structure)}, got {value!r:.80}")
        return [c for k in sorted(structure) for c in flatten_as(structure[k], value[k], what)]
    if isinstance(structure, tuple):
        if not isinstance(value, (tuple, list)) or len(value) != len(structure):
            raise ValueError(f"{what}: expected a tuple of {len(structure)} components, got {value!r:.80}")
        return [c for s, v in zip(structure, value) for c in flatten_as(s, v, what)]
    return [value]
