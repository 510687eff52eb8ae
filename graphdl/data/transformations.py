"""Dataset transformations: zip, concatenate, repeat, shuffle, batch, map, filter, take, skip, prefetch, cache."""

from __future__ import annotations

import numpy as np

from graphdl import dtypes, errors
from graphdl.data import structure as st
from graphdl.data.dataset_ops import DatasetV1, int_arg
from graphdl.data.structure import Spec
from graphdl.framework.tensor_shape import format_shape
from graphdl.nest import flatten, pack_sequence_as


class ZipDataset(DatasetV1):
    def __init__(self, datasets):
        children = flatten(datasets)
        if not children or not all(isinstance(d, DatasetV1) for d in children):
            raise TypeError("Dataset.zip expects a (nested) tuple or dict of Datasets")
        super().__init__(pack_sequence_as(datasets, [d._structure for d in children]), children)

    def _elements(self, env):
        iterators = [d._elements(env) for d in self._inputs]
        while True:
            element = []
            for it in iterators:
                try:
                    element.extend(next(it))
                except StopIteration:
                    return
            yield element


def _same_types(a, b, what: str):
    from graphdl.nest import assert_same_structure

    try:
        assert_same_structure(a, b, check_types=False)
    except (TypeError, ValueError):
        raise TypeError(f"{what}: the datasets have different structures: {st.structure_text(a)} vs "
                        f"{st.structure_text(b)}") from None
    flat_a, flat_b = flatten(a), flatten(b)
    if len(flat_a) != len(flat_b) or any(x.dtype != y.dtype for x, y in zip(flat_a, flat_b)):
        raise TypeError(f"{what}: the datasets have different types: {st.structure_text(a)} vs {st.structure_text(b)}")


class ConcatenateDataset(DatasetV1):
    def __init__(self, first, second):
        _same_types(first._structure, second._structure, "Dataset.concatenate")
        merged = [Spec(x.dtype, st.merge_shapes(x.shape, y.shape))
                  for x, y in zip(flatten(first._structure), flatten(second._structure))]
        super().__init__(pack_sequence_as(first._structure, merged), (first, second))

    def _elements(self, env):
        for ds in self._inputs:
            yield from ds._elements(env)


class RepeatDataset(DatasetV1):
    def __init__(self, dataset, count):
        self._count = -1 if count is None else int_arg(count, "repeat count")
        super().__init__(dataset._structure, (dataset,), [self._count])

    def _elements(self, env):
        count, done = env.scalar(self._count), 0
        while count < 0 or done < count:
            empty = True
            for element in self._inputs[0]._elements(env):
                empty = False
                yield element
            if empty:  # repeating an empty dataset forever would never yield
                return
            done += 1


class ShuffleDataset(DatasetV1):
    def __init__(self, dataset, buffer_size, seed, reshuffle_each_iteration):
        from graphdl.ops.random_ops import get_seed

        self._buffer_size = int_arg(buffer_size, "shuffle buffer_size")
        self._reshuffle = True if reshuffle_each_iteration is None else bool(reshuffle_each_iteration)
        seed1, seed2 = get_seed(seed)
        if seed1 is None and seed2 is None and not self._reshuffle:
            # Without seeds, TF1 picks one at random when the dataset is built: every epoch repeats that order.
            seed1, seed2 = (int(x) for x in np.random.default_rng().integers(1, 2**31 - 1, size=2))
        self._seeds = None if seed1 is None and seed2 is None else (seed1 or 0, seed2 or 0)
        super().__init__(dataset._structure, (dataset,), [self._buffer_size])

    def _new_generator(self):
        if self._seeds is None:
            return np.random.default_rng()
        return np.random.Generator(np.random.Philox(key=[self._seeds[0], self._seeds[1]]))

    def _elements(self, env):
        size = env.scalar(self._buffer_size)
        if size <= 0:
            raise errors.InvalidArgumentError(None, None, f"shuffle: buffer_size must be greater than zero, got {size}")
        node = env.state_for(self)
        if self._reshuffle:
            rng = node.setdefault("rng", self._new_generator())  # one generator per iterator: epochs differ
        else:
            rng = self._new_generator()  # the same order every epoch
        source = self._inputs[0]._elements(env)
        buffer, exhausted = [], False
        while True:
            while not exhausted and len(buffer) < size:
                try:
                    buffer.append(next(source))
                except StopIteration:
                    exhausted = True
            if not buffer:
                return
            j = int(rng.integers(len(buffer)))
            element = buffer[j]
            buffer[j] = buffer[-1]
            buffer.pop()
            yield element


def _stack(batch: list, what: str) -> list:
    out = []
    for i, parts in enumerate(zip(*batch)):
        first = parts[0].shape
        for j, p in enumerate(parts):
            if p.shape != first:
                raise errors.InvalidArgumentError(
                    None, None,
                    f"{what}: Cannot batch tensors with different shapes in component {i}. First element had shape "
                    f"{list(first)} and element {j} had shape {list(p.shape)}.",
                )
        out.append(np.stack(parts))
    return out


class BatchDataset(DatasetV1):
    def __init__(self, dataset, batch_size, drop_remainder):
        self._batch_size = int_arg(batch_size, "batch_size")
        self._drop_remainder = bool(drop_remainder)
        static = self._batch_size if drop_remainder and isinstance(self._batch_size, int) else None
        super().__init__(st.batched(dataset._structure, static), (dataset,), [self._batch_size])

    def _batches(self, env):
        size = env.scalar(self._batch_size)
        if size <= 0:
            raise errors.InvalidArgumentError(None, None, f"batch: batch_size must be greater than zero, got {size}")
        batch = []
        for element in self._inputs[0]._elements(env):
            batch.append(element)
            if len(batch) == size:
                yield batch
                batch = []
        if batch and not self._drop_remainder:
            yield batch

    def _elements(self, env):
        for batch in self._batches(env):
            yield _stack(batch, "batch")


class PaddedBatchDataset(BatchDataset):
    def __init__(self, dataset, batch_size, padded_shapes, padding_values, drop_remainder):
        specs = flatten(dataset._structure)
        shapes = st.shape_leaves(dataset._structure, padded_shapes, "padded_batch padded_shapes")
        for spec, shape in zip(specs, shapes):
            if spec.shape is not None and (shape is None or len(shape) != len(spec.shape)):
                raise ValueError(f"padded_batch: padded shape {format_shape(shape)} must have the rank of the "
                                 f"component shape {format_shape(spec.shape)}")
        if padding_values is None:
            values = [b"" if s.dtype == dtypes.string else 0 for s in specs]
        else:
            values = flatten(padding_values) if isinstance(dataset._structure, (tuple, dict)) else [padding_values]
        super().__init__(dataset, batch_size, drop_remainder)
        padded = [Spec(s.dtype, shape) for s, shape in zip(specs, shapes)]
        self._structure = st.batched(pack_sequence_as(dataset._structure, padded),
                                     self._batch_size if drop_remainder and isinstance(self._batch_size, int) else None)
        self._padded_shapes = shapes
        self._padding_values = values

    def _elements(self, env):
        for batch in self._batches(env):
            out = []
            for i, (parts, shape, pad) in enumerate(zip(zip(*batch), self._padded_shapes, self._padding_values)):
                biggest = np.max([p.shape for p in parts], axis=0) if parts[0].ndim else ()
                target = tuple(int(b) if d is None else d for d, b in zip(shape, biggest))
                if any(p.shape[k] > target[k] for p in parts for k in range(len(target))):
                    raise errors.InvalidArgumentError(
                        None, None, f"padded_batch: component {i} has an element larger than its padded shape "
                        f"{format_shape(target)}")
                stacked = np.full((len(parts), *target), pad, dtype=parts[0].dtype)
                for j, p in enumerate(parts):
                    stacked[(j, *tuple(slice(0, n) for n in p.shape))] = p
                out.append(stacked)
            yield out


class MapDataset(DatasetV1):
    def __init__(self, dataset, map_func):
        self._fn = st.TracedFunction(map_func, dataset._structure, "Dataset_map")
        super().__init__(self._fn.structure, (dataset,), self._fn.captured)

    def _elements(self, env):
        for element in self._inputs[0]._elements(env):
            yield self._fn(env, element)


class FilterDataset(DatasetV1):
    def __init__(self, dataset, predicate):
        self._fn = st.TracedFunction(predicate, dataset._structure, "Dataset_filter")
        specs = flatten(self._fn.structure)
        if len(specs) != 1 or specs[0].dtype != dtypes.bool_ or specs[0].shape not in (None, ()):
            raise ValueError(f"filter: `predicate` must return a scalar bool tensor, got {st.structure_text(specs)}")
        super().__init__(dataset._structure, (dataset,), self._fn.captured)

    def _elements(self, env):
        for element in self._inputs[0]._elements(env):
            if bool(np.asarray(self._fn(env, element)[0])):
                yield element


class TakeDataset(DatasetV1):
    def __init__(self, dataset, count):
        self._count = int_arg(count, "take count")
        super().__init__(dataset._structure, (dataset,), [self._count])

    def _elements(self, env):
        count = env.scalar(self._count)
        if count == 0:
            return
        for i, element in enumerate(self._inputs[0]._elements(env)):
            yield element
            if i + 1 == count:
                return


class SkipDataset(DatasetV1):
    def __init__(self, dataset, count):
        self._count = int_arg(count, "skip count")
        super().__init__(dataset._structure, (dataset,), [self._count])

    def _elements(self, env):
        count = env.scalar(self._count)
        for i, element in enumerate(self._inputs[0]._elements(env)):
            if count >= 0 and i >= count:
                yield element


class ShardDataset(DatasetV1):
    def __init__(self, dataset, num_shards, index):
        self._num_shards = int_arg(num_shards, "shard num_shards")
        self._index = int_arg(index, "shard index")
        super().__init__(dataset._structure, (dataset,), [self._num_shards, self._index])

    def _elements(self, env):
        num_shards, index = env.scalar(self._num_shards), env.scalar(self._index)
        if num_shards < 1 or not 0 <= index < num_shards:
            raise errors.InvalidArgumentError(
                None, None, f"Dataset.shard: index must be in [0, num_shards) and num_shards >= 1, got "
                f"num_shards={num_shards}, index={index}")
        for i, element in enumerate(self._inputs[0]._elements(env)):
            if i % num_shards == index:
                yield element


class PrefetchDataset(DatasetV1):
    def __init__(self, dataset):
        super().__init__(dataset._structure, (dataset,))

    def _elements(self, env):
        return self._inputs[0]._elements(env)


class CacheDataset(DatasetV1):
    def __init__(self, dataset):
        super().__init__(dataset._structure, (dataset,))

    def _elements(self, env):
        node = env.state_for(self)
        if node.get("complete"):
            yield from node["elements"]
            return
        elements = []
        for element in self._inputs[0]._elements(env):
            elements.append(element)
            yield element
        node["elements"], node["complete"] = elements, True
