"""TF1's higher-order functions ``map_fn``, ``scan``, ``foldl`` and ``foldr``: loops over the first dim of tensors.

Each is a ``while_loop`` reading its elements from TensorArrays and, for ``map_fn`` and
``scan``, writing its results to TensorArrays, exactly as TF1 builds them; gradients flow
through the loop to the elements, the initializer and any tensor ``fn`` uses from outside.
"""

from __future__ import annotations

from graphdl import dtypes, nest
from graphdl.framework.ops import convert_to_tensor, is_tensor_like, name_scope
from graphdl.framework.tensor_shape import Dimension, TensorShape
from graphdl.ops.constant_op import constant
from graphdl.ops.control_flow_ops import while_loop
from graphdl.ops.tensor_array_ops import TensorArray

__all__ = ["foldl", "foldr", "map_fn", "scan"]


def _flattener(structure):
    """(flatten, pack) for ``structure``: a single tensor is packed as itself, not as a 1-list."""
    if nest.is_sequence(structure):
        return nest.flatten, lambda flat: nest.pack_sequence_as(structure, flat)
    return (lambda x: [x]), (lambda flat: flat[0])


def _elements(elems_flat, what):
    """The element tensors (at least 1-D) and their count ``n`` (a Python int when static, else a tensor)."""
    from graphdl.ops.array_ops import shape

    tensors = [convert_to_tensor(e, name="elem") for e in elems_flat]
    if not tensors:
        raise ValueError(f"{what}: elems must contain at least one tensor")
    for t in tensors:
        if t.shape.ndims is not None and t.shape.ndims < 1:
            raise ValueError(
                f"{what}: elems must be 1+ dimensional Tensors, not scalars; '{t.name}' has shape {t.shape}")
    first = tensors[0].shape
    n = first.as_tuple()[0] if first.ndims is not None else None
    return tensors, (n if n is not None else shape(tensors[0])[0])


def _unstacked(tensors, n):
    return [TensorArray(dtype=t.dtype, size=n, dynamic_size=False, infer_shape=True,
                        element_shape=t.shape[1:] if t.shape.ndims is not None else None).unstack(t) for t in tensors]


def _static_length(tensors) -> Dimension:
    length = Dimension(None)
    for t in tensors:
        if t.shape.ndims is not None:
            length = length.merge_with(Dimension(t.shape.as_tuple()[0]))
    return length


def _stacked(tas, tensors):
    """The stacked results, their first dim set to the elements' static length."""
    length = _static_length(tensors)
    results = []
    for ta in tas:
        r = ta.stack()
        if r.shape.ndims is not None:
            r.set_shape(TensorShape([length]).concatenate(r.shape[1:]))
        results.append(r)
    return results


def _check_fn(fn):
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {fn!r}")


def map_fn(fn, elems, dtype=None, parallel_iterations=None, back_prop=True, swap_memory=False, infer_shape=True,
           name=None):
    """``fn`` applied to each slice ``elems[i]`` along the first dim; the results stacked along a new first dim.

    ``elems`` is a tensor or a (nested) structure of tensors sharing their first dim, ``fn``
    receives one slice of each with the same structure. ``dtype`` gives the structure and
    dtypes of ``fn``'s result when they differ from ``elems``'s. ``infer_shape=False``
    lets the result's shape differ between elements (stacking then needs equal shapes at
    run time).
    """
    _check_fn(fn)
    parallel_iterations = parallel_iterations or 10
    in_flatten, in_pack = _flattener(elems)
    out_flatten, out_pack = (in_flatten, in_pack) if dtype is None else _flattener(dtype)
    with name_scope(name, "map", [e for e in in_flatten(elems) if is_tensor_like(e)]):
        tensors, n = _elements(in_flatten(elems), "map_fn")
        dtype = dtype if dtype is not None else in_pack([t.dtype for t in tensors])
        dtype_flat = [dtypes.as_dtype(d) for d in out_flatten(dtype)]
        elems_ta = _unstacked(tensors, n)
        accs_ta = [TensorArray(dtype=dt, size=n, dynamic_size=False, infer_shape=infer_shape) for dt in dtype_flat]

        def compute(i, tas):
            values = fn(in_pack([ta.read(i) for ta in elems_ta]))
            nest.assert_same_structure(dtype if dtype is not None else elems, values)
            flat = out_flatten(values)
            for value, dt in zip(flat, dtype_flat):
                value = convert_to_tensor(value)
                if value.dtype != dt:
                    raise TypeError(f"map_fn: fn returned a {value.dtype.name} tensor ('{value.name}') where dtype "
                                    f"says {dt.name}; pass dtype= matching fn's output")
            return i + 1, [ta.write(i, value) for ta, value in zip(tas, flat)]

        # The accumulators' element shape is only known once fn ran: let their shape change in the loop.
        invariants = (TensorShape([]), [TensorShape(None) for _ in accs_ta])
        _, results = while_loop(lambda i, _: i < n, compute, (constant(0, name="Const"), accs_ta),
                                shape_invariants=invariants, parallel_iterations=parallel_iterations,
                                back_prop=back_prop, swap_memory=swap_memory, maximum_iterations=n)
        return out_pack(_stacked(results, tensors))


def scan(fn, elems, initializer=None, parallel_iterations=10, back_prop=True, swap_memory=False, infer_shape=True,
         reverse=False, name=None):
    """The running results ``a = fn(a, elems[i])`` for i along the first dim, stacked (in order, or backwards).

    ``initializer`` (a tensor or structure) is the first ``a``; without one the first
    element is, and it is also the first result. ``fn``'s result has ``initializer``'s
    structure (``elems``'s without one).
    """
    _check_fn(fn)
    in_flatten, in_pack = _flattener(elems)
    out_flatten, out_pack = (in_flatten, in_pack) if initializer is None else _flattener(initializer)
    with name_scope(name, "scan", [e for e in in_flatten(elems) if is_tensor_like(e)]):
        tensors, n = _elements(in_flatten(elems), "scan")
        elems_ta = _unstacked(tensors, n)
        last = n - 1
        if initializer is None:
            a_flat = [ta.read(last if reverse else 0) for ta in elems_ta]
            start = 1
        else:
            a_flat = [convert_to_tensor(v) for v in out_flatten(initializer)]
            start = 0
        accs_ta = [TensorArray(dtype=a.dtype, size=n, dynamic_size=False, infer_shape=infer_shape,
                               element_shape=a.shape if infer_shape else None) for a in a_flat]
        if initializer is None:
            accs_ta = [ta.write(last if reverse else 0, a) for ta, a in zip(accs_ta, a_flat)]

        def compute(i, a, tas):
            a_out = fn(out_pack(list(a)), in_pack([ta.read(i) for ta in elems_ta]))
            nest.assert_same_structure(elems if initializer is None else initializer, a_out)
            flat = [convert_to_tensor(v) for v in out_flatten(a_out)]
            tas = [ta.write(i, value) for ta, value in zip(tas, flat)]
            return (i - 1 if reverse else i + 1), flat, tas

        if reverse:
            initial_i = n - 1 - start
            condition = lambda i, _a, _tas: i >= 0
        else:
            initial_i = start
            condition = lambda i, _a, _tas: i < n
        initial_i = convert_to_tensor(initial_i, dtype=dtypes.int32)
        invariants = (TensorShape([]), [a.shape for a in a_flat],
                      [TensorShape(None) if not infer_shape else ta.flow.shape for ta in accs_ta])
        _, _, results = while_loop(condition, compute, (initial_i, a_flat, accs_ta), shape_invariants=invariants,
                                   parallel_iterations=parallel_iterations, back_prop=back_prop,
                                   swap_memory=swap_memory, maximum_iterations=n)
        return out_pack(_stacked(results, tensors))


def _fold(kind, fn, elems, initializer, parallel_iterations, back_prop, swap_memory, name):
    _check_fn(fn)
    with name_scope(name, kind, [e for e in nest.flatten(elems) if is_tensor_like(e)]):
        tensors, n = _elements(nest.flatten(elems), kind)
        elems_ta = nest.pack_sequence_as(elems, _unstacked(tensors, n)) if nest.is_sequence(elems) else \
            _unstacked(tensors, n)[0]
        left = kind == "foldl"
        if initializer is None:
            a = nest.map_structure(lambda ta: ta.read(0 if left else n - 1), elems_ta)
            start = 1 if left else n - 1
        else:
            a = initializer
            start = 0 if left else n
        i = convert_to_tensor(start, dtype=dtypes.int32)

        def compute(i, a):
            if not left:
                i = i - 1
            a = fn(a, nest.map_structure(lambda ta: ta.read(i), elems_ta))
            return [i + 1 if left else i, a]

        condition = (lambda i, a: i < n) if left else (lambda i, a: i > 0)
        _, result = while_loop(condition, compute, [i, a], parallel_iterations=parallel_iterations,
                               back_prop=back_prop, swap_memory=swap_memory, maximum_iterations=n)
        return result


def foldl(fn, elems, initializer=None, parallel_iterations=10, back_prop=True, swap_memory=False, name=None):
    """``fn(...fn(fn(initializer, elems[0]), elems[1])..., elems[n-1])``; without ``initializer`` from elems[0]."""
    return _fold("foldl", fn, elems, initializer, parallel_iterations, back_prop, swap_memory, name)


def foldr(fn, elems, initializer=None, parallel_iterations=10, back_prop=True, swap_memory=False, name=None):
    """``fn(...fn(fn(initializer, elems[n-1]), elems[n-2])..., elems[0])``; without ``initializer`` from elems[-1]."""
    return _fold("foldr", fn, elems, initializer, parallel_iterations, back_prop, swap_memory, name)
