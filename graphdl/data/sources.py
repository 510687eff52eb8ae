"""Dataset sources: slices and whole tensors, ``range``, Python generators, text files."""

from __future__ import annotations

import numpy as np

from graphdl import dtypes, errors
from graphdl.data import structure as st
from graphdl.data.dataset_ops import DatasetV1, int_arg
from graphdl.data.structure import Spec
from graphdl.framework.ops import convert_to_tensor
from graphdl.nest import flatten, map_structure, pack_sequence_as


class TensorSliceDataset(DatasetV1):
    def __init__(self, tensors):
        tensors = st.to_tensors(tensors, "from_tensor_slices")
        flat = flatten(tensors)
        if not flat:
            raise ValueError("from_tensor_slices: the element structure has no components")
        first = None
        for t in flat:
            if t.shape.ndims == 0:
                raise ValueError(f"from_tensor_slices: component '{t.name}' is a scalar; each needs at least one dimension")
            n = None if t.shape.ndims is None else t.shape.as_tuple()[0]
            if n is not None and first is not None and n != first:
                raise ValueError(
                    f"from_tensor_slices: dimension 0 of every component must be equal, got {first} and {n} "
                    f"('{t.name}')"
                )
            first = first if first is not None else n
        structure = map_structure(lambda t: Spec(t.dtype, None if t.shape.ndims is None else t.shape.as_tuple()[1:]),
                                  tensors)
        super().__init__(structure, (), flat)
        self._components = flat

    def _elements(self, env):
        values = [np.asarray(env.value(t)) for t in self._components]
        if any(v.ndim == 0 for v in values):
            raise errors.InvalidArgumentError(None, None, "from_tensor_slices: a component has no dimension to slice "
                                                          "(it is a scalar)")
        sizes = {v.shape[0] for v in values}
        if len(sizes) > 1:
            raise errors.InvalidArgumentError(
                None, None, f"from_tensor_slices: dimension 0 of the components differ: {[v.shape for v in values]}"
            )
        for i in range(values[0].shape[0]):
            yield [v[i] for v in values]


class TensorDataset(DatasetV1):
    def __init__(self, tensors):
        tensors = st.to_tensors(tensors, "from_tensors")
        super().__init__(st.specs_of(tensors), (), flatten(tensors))
        self._components = flatten(tensors)

    def _elements(self, env):
        yield [env.value(t) for t in self._components]


class RangeDataset(DatasetV1):
    def __init__(self, *args):
        if not 1 <= len(args) <= 3:
            raise ValueError(f"Dataset.range takes 1 to 3 arguments (start, stop, step), got {len(args)}")
        start, stop, step = (0, args[0], 1) if len(args) == 1 else (*args, 1)[:3]
        self._args = [int_arg(a, "Dataset.range argument") for a in (start, stop, step)]
        if self._args[2] == 0:
            raise errors.InvalidArgumentError(None, None, "Dataset.range: step must not be 0")
        super().__init__(Spec(dtypes.int64, ()), (), self._args)

    def _elements(self, env):
        for i in range(*[env.scalar(a) for a in self._args]):
            yield [np.array(i, np.int64)]


class GeneratorDataset(DatasetV1):
    def __init__(self, generator, output_types, output_shapes, args):
        if not callable(generator):
            raise TypeError("from_generator: `generator` must be callable.")
        types = map_structure(dtypes.as_dtype, output_types)
        flat_shapes = ([None] * len(flatten(types)) if output_shapes is None
                       else st.shape_leaves(types, output_shapes, "from_generator output_shapes"))
        structure = pack_sequence_as(types, [Spec(t, s) for t, s in zip(flatten(types), flat_shapes)])
        self._args = [convert_to_tensor(a) for a in (args or ())]
        self._generator = generator
        super().__init__(structure, (), self._args)

    def _elements(self, env):
        specs = flatten(self._structure)
        for element in self._generator(*[env.value(a) for a in self._args]):
            try:
                flat = st.flatten_as(self._structure, element, "from_generator")
                values = [np.asarray(v, dtype=s.dtype.np) for v, s in zip(flat, specs)]
            except (TypeError, ValueError) as e:
                raise errors.InvalidArgumentError(
                    None, None, f"from_generator: `generator` yielded an element that did not match the expected "
                    f"structure {st.structure_text(self._structure)}: {e}") from None
            yield [st.check_component(v, s, i, "from_generator") for i, (v, s) in enumerate(zip(values, specs))]


class TextLineDataset(DatasetV1):
    """The lines (bytes, without line endings) of one or more text files, as TF1's ``tf.data.TextLineDataset``."""

    def __init__(self, filenames, compression_type=None, buffer_size=None):
        if compression_type not in (None, ""):
            raise NotImplementedError("TextLineDataset: compressed files are not supported")
        self._filenames = convert_to_tensor(filenames, dtype=dtypes.string)
        if self._filenames.shape.ndims not in (None, 0, 1):
            raise ValueError(f"TextLineDataset: `filenames` must be a scalar or vector of strings, got {self._filenames}")
        super().__init__(Spec(dtypes.string, ()), (), [self._filenames])

    def _elements(self, env):
        import os

        for name in np.asarray(env.value(self._filenames)).ravel():
            path = os.fsdecode(name)
            try:
                with open(path, "rb") as f:
                    for line in f:
                        yield [np.array(line.rstrip(b"\r\n"), dtype=object)]
            except FileNotFoundError:
                raise errors.NotFoundError(None, None, f"TextLineDataset: {path}; No such file or directory") from None
