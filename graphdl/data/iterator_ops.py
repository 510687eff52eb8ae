"""TF1's dataset iterators and their ops; an iterator's position lives in the session.

Ops (all stateful host ops, never folded, merged or cached by the passes):

- ``IteratorV2``: the iterator's handle (its shared name, a string scalar).
- ``MakeIterator(handle, *dataset inputs)``: the initializer; (re)starts the pipeline in
  the session from the current values of the tensors the dataset uses.
- ``OneShotIterator(*dataset inputs)``: a handle that starts its pipeline on first use.
- ``IteratorGetNext(handle)``: the next element's components; ``OutOfRangeError`` at the end.

Each ``IteratorGetNext`` op yields one element per ``Session.run`` however many of its
outputs are fetched; two ``get_next()`` calls make two ops, which take two elements.
Sessions keep separate iterator states, so two sessions iterate independently.
"""

from __future__ import annotations

import numpy as np

from graphdl import dtypes, errors
from graphdl.data import structure as st
from graphdl.data.dataset_ops import DatasetV1, PipelineEnv
from graphdl.data.structure import Spec
from graphdl.framework.graph import get_default_graph
from graphdl.framework.op_def import define_op
from graphdl.framework.operation import Tensor
from graphdl.framework.ops import convert_to_tensor, make_op, make_tensor
from graphdl.nest import flatten, map_structure, pack_sequence_as

# -- session state -------------------------------------------------------------------------------


def _iterators(state) -> dict:
    iterators = getattr(state, "data_iterators", None)
    if iterators is None:
        iterators = state.data_iterators = {}
    return iterators


def _key(handle) -> str:
    value = handle.item() if isinstance(handle, np.ndarray) else handle
    return value.decode() if isinstance(value, bytes) else str(value)


def _start(ctx, dataset: DatasetV1, values) -> object:
    env = PipelineEnv(dict(zip(dataset._graph_inputs(), values)), ctx.run_function, ctx.state)
    return dataset._elements(env)


# -- ops ---------------------------------------------------------------------------------------------


def _infer_handle(op):
    return [((), dtypes.string)]


def _handle_kernel(ctx, *values):
    return np.array(ctx.attrs["shared_name"], dtype=object)


def _one_shot_kernel(ctx, *values):
    iterators = _iterators(ctx.state)
    name = ctx.attrs["shared_name"]
    if name not in iterators:
        iterators[name] = _start(ctx, ctx.attrs["dataset"], values)
    return np.array(name, dtype=object)


def _check_handle(op):
    handle = op.inputs[0]
    if handle.dtype != dtypes.string or handle.shape.ndims not in (None, 0):
        raise TypeError(f"{op.type} expects an iterator handle (a string scalar), got {handle.dtype.name} {handle.shape}")


def _infer_make_iterator(op):
    _check_handle(op)
    return []


def _make_iterator_kernel(ctx, handle, *values):
    _iterators(ctx.state)[_key(handle)] = _start(ctx, ctx.attrs["dataset"], values)
    return ()


def _infer_get_next(op):
    _check_handle(op)
    return list(zip(op.attrs["output_shapes"], op.attrs["output_types"]))


def _get_next_kernel(ctx, handle):
    iterator = _iterators(ctx.state).get(_key(handle))
    if iterator is None:
        raise errors.FailedPreconditionError(
            None, ctx.op,
            f"GetNext() failed because the iterator has not been initialized (op '{ctx.op.name}'). Ensure that you "
            "have run the initializer operation for this iterator before getting the next element.",
        )
    try:
        components = next(iterator)
    except StopIteration:
        raise errors.OutOfRangeError(None, ctx.op, f"End of sequence (op '{ctx.op.name}')") from None
    except errors.OpError as e:
        if e.op is not None:
            raise
        raise type(e)(None, ctx.op, f"{e.message} [in the input pipeline of op '{ctx.op.name}']") from e
    specs = [Spec(t, s) for t, s in zip(ctx.attrs["output_types"], ctx.attrs["output_shapes"])]
    where = f"IteratorGetNext '{ctx.op.name}'"
    # Copies: the pipeline may keep what it yields (cache, slices of a constant), the caller may modify what it gets.
    out = tuple(np.array(st.check_component(c, s, i, where, ctx.op)) for i, (c, s) in enumerate(zip(components, specs)))
    return out[0] if len(out) == 1 else out


define_op("IteratorV2", infer=_infer_handle, kernel=_handle_kernel, stateful=True, not_differentiable=True)
define_op("OneShotIterator", infer=_infer_handle, kernel=_one_shot_kernel, stateful=True, not_differentiable=True)
define_op("MakeIterator", infer=_infer_make_iterator, kernel=_make_iterator_kernel, stateful=True,
          not_differentiable=True)
define_op("IteratorGetNext", infer=_infer_get_next, kernel=_get_next_kernel, stateful=True, not_differentiable=True)


# -- Python API --------------------------------------------------------------------------------------


def _flat_attrs(structure) -> dict:
    """TF1's ``output_types``/``output_shapes`` attrs (flat tuples) of iterator ops."""
    specs = flatten(structure)
    return {"output_types": tuple(s.dtype for s in specs), "output_shapes": tuple(s.shape for s in specs)}


def _structure_from(output_types, output_shapes):
    """Specs from TF1's nested ``output_types`` and ``output_shapes`` (None: unknown shapes)."""
    types = map_structure(dtypes.as_dtype, output_types)
    flat_shapes = ([None] * len(flatten(types)) if output_shapes is None
                   else st.shape_leaves(types, output_shapes, "Iterator output_shapes"))
    return pack_sequence_as(types, [Spec(t, s) for t, s in zip(flatten(types), flat_shapes)])


def _check_compatible(iterator_structure, dataset: DatasetV1):
    a, b = flatten(iterator_structure), flatten(dataset._structure)
    same_nesting = True
    try:
        from graphdl.nest import assert_same_structure

        assert_same_structure(iterator_structure, dataset._structure, check_types=False)
    except (TypeError, ValueError):
        same_nesting = False
    if not same_nesting or any(x.dtype != y.dtype for x, y in zip(a, b)):
        raise TypeError(
            f"Expected output types {st.structure_text(iterator_structure)} but got dataset with output types "
            f"{st.structure_text(dataset._structure)}."
        )
    for x, y in zip(a, b):
        if not x.tensor_shape.is_compatible_with(y.tensor_shape):
            raise TypeError(
                f"Expected output shapes compatible with {st.structure_text(iterator_structure)} but got dataset with "
                f"output shapes {st.structure_text(dataset._structure)}."
            )


class Iterator:
    """TF1's ``tf.data.Iterator``: ``get_next()`` gives the next element as a nested structure of tensors."""

    def __init__(self, iterator_resource: Tensor, initializer, structure):
        self._iterator_resource = iterator_resource
        self._initializer = initializer
        self._structure = structure

    @staticmethod
    def from_structure(output_types, output_shapes=None, shared_name=None, output_classes=None):
        """A reinitializable iterator: initialize it from any dataset of this structure with ``make_initializer``."""
        structure = _structure_from(output_types, output_shapes)
        graph = get_default_graph()
        name = shared_name or graph.unique_name("Iterator", mark_as_used=False)
        handle = make_tensor("IteratorV2", [], {"shared_name": name, **_flat_attrs(structure)}, "Iterator")
        return Iterator(handle, None, structure)

    @staticmethod
    def from_string_handle(string_handle, output_types, output_shapes=None, output_classes=None):
        """A feedable iterator: ``get_next`` reads from the iterator whose ``string_handle()`` value is fed."""
        handle = convert_to_tensor(string_handle, dtype=dtypes.string)
        return Iterator(handle, None, _structure_from(output_types, output_shapes))

    @property
    def initializer(self):
        """The op (re)starting this iterator; run it before ``get_next`` (ValueError for one-shot iterators)."""
        if self._initializer is None:
            raise ValueError("Iterator does not have an initializer.")
        return self._initializer

    def make_initializer(self, dataset: DatasetV1, name=None):
        """An op that starts this iterator over ``dataset`` (same structure and types)."""
        if not isinstance(dataset, DatasetV1):
            raise TypeError(f"make_initializer expects a Dataset, got {type(dataset).__name__}")
        _check_compatible(self._structure, dataset)
        return make_op("MakeIterator", [self._iterator_resource, *dataset._graph_inputs()], {"dataset": dataset},
                       name or "MakeIterator")

    def get_next(self, name=None):
        """The next element: a nested structure of tensors; fetching any of them advances the iterator once per run."""
        op = make_op("IteratorGetNext", [self._iterator_resource], _flat_attrs(self._structure), name or "IteratorGetNext")
        return pack_sequence_as(self._structure, list(op.outputs))

    def string_handle(self, name=None):
        """A string tensor naming this iterator, to feed into ``Iterator.from_string_handle``'s placeholder."""
        from graphdl.ops.control_ops import identity

        return identity(self._iterator_resource, name=name)

    @property
    def output_types(self):
        return st.output_types(self._structure)

    @property
    def output_shapes(self):
        return st.output_shapes(self._structure)

    @property
    def output_classes(self):
        return st.output_classes(self._structure)


def _placeholder_inputs(tensors) -> list:
    """Placeholders among ``tensors`` and everything they are computed from."""
    found, seen, stack = [], set(), [t.op for t in tensors]
    while stack:
        op = stack.pop()
        if op in seen:
            continue
        seen.add(op)
        if op.type in ("Placeholder", "PlaceholderWithDefault"):
            found.append(op)
        stack.extend(t.op for t in op.inputs)
    return found


def make_one_shot_iterator(dataset: DatasetV1) -> Iterator:
    """An iterator over ``dataset`` that starts on first use and cannot be re-initialized (``tf.data.make_one_shot_iterator``)."""
    if not isinstance(dataset, DatasetV1):
        raise TypeError(f"make_one_shot_iterator expects a Dataset, got {type(dataset).__name__}")
    inputs = dataset._graph_inputs()
    placeholders = _placeholder_inputs(inputs)
    if placeholders:
        raise ValueError(
            f"Cannot capture a placeholder (name:{placeholders[0].name}, type:{placeholders[0].type}) by value: a "
            "one-shot iterator cannot use placeholders. Use dataset.make_initializable_iterator() and feed the "
            "placeholder when running iterator.initializer."
        )
    name = get_default_graph().unique_name("OneShotIterator", mark_as_used=False)
    handle = make_tensor("OneShotIterator", inputs, {"shared_name": name, "dataset": dataset}, "OneShotIterator")
    return Iterator(handle, None, dataset._structure)


def make_initializable_iterator(dataset: DatasetV1, shared_name=None) -> Iterator:
    """An iterator over ``dataset`` with an ``initializer`` op (``tf.data.make_initializable_iterator``)."""
    if not isinstance(dataset, DatasetV1):
        raise TypeError(f"make_initializable_iterator expects a Dataset, got {type(dataset).__name__}")
    name = shared_name or get_default_graph().unique_name("Iterator", mark_as_used=False)
    handle = make_tensor("IteratorV2", [], {"shared_name": name, **_flat_attrs(dataset._structure)}, "Iterator")
    iterator = Iterator(handle, None, dataset._structure)
    iterator._initializer = iterator.make_initializer(dataset)
    return iterator


def get_output_types(dataset_or_iterator):
    """``dataset_or_iterator.output_types`` (``tf.data.get_output_types``)."""
    return dataset_or_iterator.output_types


def get_output_shapes(dataset_or_iterator):
    """``dataset_or_iterator.output_shapes`` (``tf.data.get_output_shapes``)."""
    return dataset_or_iterator.output_shapes


def get_output_classes(dataset_or_iterator):
    """``dataset_or_iterator.output_classes`` (``tf.data.get_output_classes``)."""
    return dataset_or_iterator.output_classes
