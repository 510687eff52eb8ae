"""``tf.data.Dataset``: a host-side input pipeline whose elements an iterator hands to the graph.

A Dataset is a Python description of the pipeline (sources, then transformations); the
tensors it uses (sliced arrays, placeholders, counts given as tensors, tensors a map
function captures) are inputs of the iterator's initializer op, whose kernel builds the
pipeline in the session from their values. ``get_next`` then pulls one element per run.
Map and filter functions are traced once into function graphs and run per element on
the session's backend (graphdl/data/structure.py).
"""

from __future__ import annotations

import numpy as np

from graphdl import dtypes, errors
from graphdl.data import structure as st
from graphdl.framework.constant_value import constant_value
from graphdl.framework.operation import Tensor
from graphdl.framework.ops import convert_to_tensor
from graphdl.framework.tensor_shape import format_shape
from graphdl.nest import map_structure

AUTOTUNE = -1


class PipelineEnv:
    """What a pipeline sees while an iterator runs: input values, the function runner, per-iterator state."""

    def __init__(self, values: dict, run_function, state):
        self._values = values
        self.run_function = run_function
        self._state = state
        self._node_state: dict = {}

    def value(self, tensor: Tensor):
        return self._values[tensor]

    def variable(self, name: str):
        """The session's current value of variable ``name``."""
        value = self._state.variables.get(name)
        if value is None:
            raise errors.FailedPreconditionError(
                None, None, f"Attempting to use uninitialized value {name} (read by a tf.data function). "
                "Run graphdl.global_variables_initializer() first.")
        return value

    def scalar(self, arg) -> int:
        """A count/size argument given as a Python int or a scalar tensor."""
        return int(self._values[arg]) if isinstance(arg, Tensor) else int(arg)

    def state_for(self, dataset) -> dict:
        """State one dataset keeps for the lifetime of the iterator (shuffle generator, cache)."""
        return self._node_state.setdefault(id(dataset), {})


def int_arg(value, what: str):
    """A Python int, or an int64 scalar tensor whose value the initializer reads."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    t = convert_to_tensor(value, dtype=dtypes.int64) if not isinstance(value, Tensor) else value
    if not t.dtype.is_integer or t.shape.ndims not in (None, 0):
        raise TypeError(f"{what} must be a scalar integer, got {t}")
    known = constant_value(t)
    return int(known) if known is not None else t


class DatasetV1:
    """TF1's ``tf.data.Dataset``: build with ``from_tensor_slices`` & co., transform, then make an iterator."""

    def __init__(self, structure, inputs=(), tensors=()):
        self._structure = structure
        self._inputs = tuple(inputs)
        self._tensors = [t for t in tensors if isinstance(t, Tensor)]

    # -- what the iterator needs --------------------------------------------------------------
    def _graph_inputs(self) -> list[Tensor]:
        """Every tensor the pipeline reads, in a fixed order (inputs of the iterator's initializer)."""
        seen, out = set(), []

        def visit(ds):
            for child in ds._inputs:
                visit(child)
            for t in ds._tensors:
                if t not in seen:
                    seen.add(t)
                    out.append(t)

        visit(self)
        return out

    def _elements(self, env: PipelineEnv):
        """A generator of elements (flat lists of component arrays); each Dataset subclass defines it."""
        raise NotImplementedError(f"{type(self).__name__} must define _elements")

    # -- TF1 properties ---------------------------------------------------------------------------
    @property
    def output_types(self):
        """The nested structure of each element component's DType."""
        return st.output_types(self._structure)

    @property
    def output_shapes(self):
        """The nested structure of each element component's static TensorShape."""
        return st.output_shapes(self._structure)

    @property
    def output_classes(self):
        return st.output_classes(self._structure)

    def __repr__(self):
        shapes = map_structure(lambda s: st._SpecText(format_shape(s.shape)), self._structure)
        types = map_structure(lambda s: st._SpecText(f"tf.{s.dtype.name}"), self._structure)
        return f"<{type(self).__name__} shapes: {shapes!r}, types: {types!r}>"

    def __iter__(self):
        raise RuntimeError(
            "Iterating over a Dataset in Python is only possible in eager mode; graphdl runs graphs. "
            "Use dataset.make_one_shot_iterator().get_next() and sess.run it."
        )

    # -- sources ------------------------------------------------------------------------------------
    @staticmethod
    def from_tensor_slices(tensors):
        """A dataset of the slices of ``tensors`` along their first dimension (a nested tuple/dict of arrays or tensors)."""
        return TensorSliceDataset(tensors)

    @staticmethod
    def from_tensors(tensors):
        """A dataset with ``tensors`` as its single element."""
        return TensorDataset(tensors)

    @staticmethod
    def range(*args):
        """int64 elements ``start, start + step, ... < stop`` like Python's ``range``."""
        return RangeDataset(*args)

    @staticmethod
    def zip(datasets):
        """Elements that are tuples (or dicts) of the elements of ``datasets``, until the shortest ends."""
        return ZipDataset(datasets)

    @staticmethod
    def from_generator(generator, output_types, output_shapes=None, args=None):
        """Elements yielded by the Python callable ``generator(*args)`` (run in the session, per iterator)."""
        return GeneratorDataset(generator, output_types, output_shapes, args)

    # -- transformations ----------------------------------------------------------------------------
    def concatenate(self, dataset):
        """This dataset's elements followed by ``dataset``'s (same structure and types)."""
        return ConcatenateDataset(self, dataset)

    def repeat(self, count=None):
        """Repeat the dataset ``count`` times (None or -1: forever)."""
        return RepeatDataset(self, count)

    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=None):
        """Elements in random order, drawn from a buffer of ``buffer_size`` elements.

        With a seed (or a graph-level seed) the order is reproducible: every new iterator
        restarts the same sequence; ``reshuffle_each_iteration`` (default True) gives each
        repetition (``.repeat()`` after the shuffle) a different order.
        """
        return ShuffleDataset(self, buffer_size, seed, reshuffle_each_iteration)

    def batch(self, batch_size, drop_remainder=False):
        """Stack ``batch_size`` consecutive elements; the last batch may be smaller unless ``drop_remainder``."""
        return BatchDataset(self, batch_size, drop_remainder)

    def padded_batch(self, batch_size, padded_shapes, padding_values=None, drop_remainder=False):
        """Batch elements of different shapes, padding each component to ``padded_shapes`` (None/-1: the batch's max)."""
        return PaddedBatchDataset(self, batch_size, padded_shapes, padding_values, drop_remainder)

    def map(self, map_func, num_parallel_calls=None):
        """Apply ``map_func`` to each element (traced once into a function graph; tuples are unpacked as arguments)."""
        return MapDataset(self, map_func)

    def filter(self, predicate):
        """The elements for which ``predicate`` (traced; returns a scalar bool tensor) is true."""
        return FilterDataset(self, predicate)

    def take(self, count):
        """At most the first ``count`` elements (-1: all)."""
        return TakeDataset(self, count)

    def skip(self, count):
        """All but the first ``count`` elements (-1: skip all)."""
        return SkipDataset(self, count)

    def shard(self, num_shards, index):
        """Every ``num_shards``-th element starting at element ``index`` (worker ``index`` of ``num_shards``)."""
        return ShardDataset(self, num_shards, index)

    def prefetch(self, buffer_size):
        """The same elements (graphdl runs the pipeline when an element is asked for; nothing to overlap)."""
        return PrefetchDataset(self)

    def cache(self, filename=""):
        """Keep the elements of the first full pass in memory and replay them on later passes (per iterator).

        A ``filename`` is accepted but the cache is kept in memory, not written to disk.
        """
        return CacheDataset(self)

    def apply(self, transformation_func):
        """``transformation_func(self)``, which must return a Dataset."""
        result = transformation_func(self)
        if not isinstance(result, DatasetV1):
            raise TypeError("`transformation_func` must return a Dataset.")
        return result

    # -- iterators ------------------------------------------------------------------------------------
    def make_one_shot_iterator(self):
        """An iterator that needs no initialization (the dataset may not use placeholders)."""
        from graphdl.data.iterator_ops import make_one_shot_iterator

        return make_one_shot_iterator(self)

    def make_initializable_iterator(self, shared_name=None):
        """An iterator whose ``initializer`` op (re)starts it, reading fed placeholders at that run."""
        from graphdl.data.iterator_ops import make_initializable_iterator

        return make_initializable_iterator(self, shared_name)


Dataset = DatasetV1


# The concrete datasets (they subclass DatasetV1, so they are imported after it).
from graphdl.data.sources import (
    GeneratorDataset,
    RangeDataset,
    TensorDataset,
    TensorSliceDataset,
    TextLineDataset,
)
from graphdl.data.transformations import (
    BatchDataset,
    CacheDataset,
    ConcatenateDataset,
    FilterDataset,
    MapDataset,
    PaddedBatchDataset,
    PrefetchDataset,
    RepeatDataset,
    ShardDataset,
    ShuffleDataset,
    SkipDataset,
    TakeDataset,
    ZipDataset,
)

__all__ = [
    "AUTOTUNE", "BatchDataset", "CacheDataset", "ConcatenateDataset", "Dataset", "DatasetV1", "FilterDataset",
    "GeneratorDataset", "MapDataset", "PaddedBatchDataset", "PipelineEnv", "PrefetchDataset", "RangeDataset",
    "RepeatDataset", "ShuffleDataset", "SkipDataset", "TakeDataset", "TensorDataset", "TensorSliceDataset",
    "TextLineDataset", "ZipDataset",
]
