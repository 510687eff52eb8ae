"""TF1's queues: ``tf.FIFOQueue``, ``tf.PaddingFIFOQueue``, ``tf.RandomShuffleQueue`` (ops in graphdl/ops/queue_ops.py).

A queue holds elements (tuples of tensors with fixed dtypes, optionally fixed shapes) in
the session. ``enqueue``/``enqueue_many``/``dequeue``/``dequeue_many``/``dequeue_up_to``/
``close``/``size`` build ops; ``dequeue_many`` on a closed queue with too few elements
raises ``OutOfRangeError``, as TF1's does. See queue_ops.py for how queue runners fill a
queue without concurrent session runs.
"""

from __future__ import annotations

from graphdl import dtypes as dtypes_lib
from graphdl.framework.graph import get_default_graph
from graphdl.framework.ops import convert_to_tensor, make_op, name_scope
from graphdl.framework.tensor_shape import TensorShape, as_shape
from graphdl.ops import queue_ops  # noqa: F401  (registers the queue op types)

__all__ = ["FIFOQueue", "PaddingFIFOQueue", "QueueBase", "RandomShuffleQueue"]


def _as_type_list(dtypes):
    if isinstance(dtypes, (list, tuple)):
        return [dtypes_lib.as_dtype(d) for d in dtypes]
    return [dtypes_lib.as_dtype(dtypes)]


def _as_shape_list(shapes, count: int, unknown_dim_allowed=False):
    """Queue shapes: None (unknown), or one shape per component (fully defined unless ``unknown_dim_allowed``)."""
    if shapes is None:
        return [None] * count
    if isinstance(shapes, TensorShape):
        shapes = [shapes]
    shapes = [as_shape(s).as_tuple() for s in shapes]
    if len(shapes) != count:
        raise ValueError(f"Queue shapes must have the same length as dtypes: {count} dtypes, {len(shapes)} shapes")
    for s in shapes:
        if s is None or (not unknown_dim_allowed and any(d is None for d in s)):
            raise ValueError(f"All shapes must be fully defined: {[TensorShape(x) for x in shapes]}")
    return shapes


class QueueBase:
    """A queue of tuples of tensors (TF1's ``tf.QueueBase``); build one with FIFOQueue & co."""

    def __init__(self, dtypes, shapes, names, queue_ref):
        self._dtypes = list(dtypes)
        self._shapes = list(shapes)
        self._names = list(names) if names is not None else None
        if self._names is not None and len(self._names) != len(self._dtypes):
            raise ValueError("Queue names must have the same length as dtypes")
        self._queue_ref = queue_ref
        self._name = queue_ref.op.name.split("/")[-1]

    @property
    def queue_ref(self):
        """The queue's handle tensor."""
        return self._queue_ref

    @property
    def name(self) -> str:
        return self._queue_ref.op.name

    @property
    def dtypes(self) -> list:
        return list(self._dtypes)

    @property
    def shapes(self) -> list:
        return [TensorShape(s) for s in self._shapes]

    @property
    def names(self):
        return None if self._names is None else list(self._names)

    @property
    def _key(self) -> str:
        return self._queue_ref.op.attrs["shared_name"]

    def _component_attrs(self) -> dict:
        return {"component_types": tuple(self._dtypes), "shapes": tuple(self._shapes)}

    def _components(self, vals, what: str) -> list:
        if isinstance(vals, dict):
            if self._names is None:
                raise ValueError(f"{what}: the queue has no names; pass a list of tensors, not a dict")
            if set(vals) != set(self._names):
                raise ValueError(f"{what}: keys {sorted(vals)} do not match the queue's names {sorted(self._names)}")
            vals = [vals[k] for k in self._names]
        elif self._names is not None:
            raise ValueError(f"{what}: the queue has names {self._names}; pass a dict of tensors")
        if not isinstance(vals, (list, tuple)):
            vals = [vals]
        if len(vals) != len(self._dtypes):
            raise ValueError(f"{what}: the queue takes {len(self._dtypes)} components, got {len(vals)}")
        return [convert_to_tensor(v, dtype=d, name=f"component_{i}") for i, (v, d) in enumerate(zip(vals, self._dtypes))]

    def _check_shapes(self, tensors, many: bool, what: str):
        for i, (t, shape) in enumerate(zip(tensors, self._shapes)):
            given = t.shape
            if many:
                if given.ndims == 0:
                    raise ValueError(f"{what}: component {i} ('{t.name}') must have a batch dimension")
                given = TensorShape(None if given.ndims is None else given.as_tuple()[1:])
            if shape is not None and not given.is_compatible_with(TensorShape(shape)):
                raise ValueError(f"{what}: component {i} ('{t.name}') has shape {given}, which is incompatible "
                                 f"with the queue's shape {TensorShape(shape)}")

    def enqueue(self, vals, name=None):
        """An op adding one element (a tensor, list/tuple of tensors, or dict when the queue has names)."""
        with name_scope(name, f"{self._name}_enqueue", [self._queue_ref]):
            tensors = self._components(vals, "enqueue")
            self._check_shapes(tensors, False, "enqueue")
            return make_op("QueueEnqueueV2", [self._queue_ref, *tensors], {}, name or f"{self._name}_enqueue")

    def enqueue_many(self, vals, name=None):
        """An op adding the slices along dimension 0 of each component as separate elements."""
        with name_scope(name, f"{self._name}_EnqueueMany", [self._queue_ref]):
            tensors = self._components(vals, "enqueue_many")
            self._check_shapes(tensors, True, "enqueue_many")
            return make_op("QueueEnqueueManyV2", [self._queue_ref, *tensors], {},
                           name or f"{self._name}_EnqueueMany")

    def _result(self, tensors):
        tensors = list(tensors)
        if self._names is not None:
            return dict(zip(self._names, tensors))
        return tensors[0] if len(tensors) == 1 else tensors

    def dequeue(self, name=None):
        """One element: a tensor, a list of tensors, or a dict when the queue has names."""
        op = make_op("QueueDequeueV2", [self._queue_ref], self._component_attrs(), name or f"{self._name}_Dequeue")
        return self._result(op.outputs)

    def dequeue_many(self, n, name=None):
        """``n`` elements stacked along a new first dimension; OutOfRangeError if the queue closes with fewer."""
        n = convert_to_tensor(n, dtype=dtypes_lib.int32, name="n")
        op = make_op("QueueDequeueManyV2", [self._queue_ref, n], self._component_attrs(),
                     name or f"{self._name}_DequeueMany")
        return self._result(op.outputs)

    def dequeue_up_to(self, n, name=None):
        """Like ``dequeue_many``, but a closed queue gives its remaining (fewer than ``n``) elements."""
        n = convert_to_tensor(n, dtype=dtypes_lib.int32, name="n")
        op = make_op("QueueDequeueUpToV2", [self._queue_ref, n], self._component_attrs(),
                     name or f"{self._name}_DequeueUpTo")
        return self._result(op.outputs)

    def close(self, cancel_pending_enqueues=False, name=None):
        """An op closing the queue: later enqueues fail, dequeues drain what is left then raise OutOfRangeError."""
        return make_op("QueueCloseV2", [self._queue_ref], {"cancel_pending_enqueues": bool(cancel_pending_enqueues)},
                       name or f"{self._name}_Close")

    def is_closed(self, name=None):
        """A bool scalar: has the queue been closed?"""
        return make_op("QueueIsClosedV2", [self._queue_ref], {}, name or f"{self._name}_IsClosed").outputs[0]

    def size(self, name=None):
        """An int32 scalar: the number of elements in the queue."""
        return make_op("QueueSizeV2", [self._queue_ref], {}, name or f"{self._name}_Size").outputs[0]


def _queue_handle(op_type, name, shared_name, attrs):
    if shared_name:
        key = shared_name
    elif name.endswith("/"):  # an exact name (a name scope's)
        key = name[:-1]
    else:
        key = get_default_graph().unique_name(name, mark_as_used=False)
    return make_op(op_type, [], {"shared_name": key, **attrs}, name).outputs[0]


def _capacity(capacity) -> int:
    capacity = int(capacity)
    return capacity if capacity > 0 else 2**31 - 1


class FIFOQueue(QueueBase):
    """A queue handing out elements in first-in first-out order (``tf.FIFOQueue``)."""

    def __init__(self, capacity, dtypes, shapes=None, names=None, shared_name=None, name="fifo_queue"):
        types = _as_type_list(dtypes)
        shapes = _as_shape_list(shapes, len(types))
        ref = _queue_handle("FIFOQueueV2", name, shared_name, {
            "component_types": tuple(types), "shapes": tuple(shapes), "capacity": _capacity(capacity)})
        super().__init__(types, shapes, names, ref)


class PaddingFIFOQueue(QueueBase):
    """A FIFO queue whose ``dequeue_many`` pads components to the largest shape in the batch (``tf.PaddingFIFOQueue``).

    ``shapes`` is required; dims given as None may differ between elements.
    """

    def __init__(self, capacity, dtypes, shapes, names=None, shared_name=None, name="padding_fifo_queue"):
        types = _as_type_list(dtypes)
        if shapes is None:
            raise ValueError("PaddingFIFOQueue needs shapes (use None for the dims that vary)")
        shapes = _as_shape_list(shapes, len(types), unknown_dim_allowed=True)
        ref = _queue_handle("PaddingFIFOQueueV2", name, shared_name, {
            "component_types": tuple(types), "shapes": tuple(shapes), "capacity": _capacity(capacity)})
        super().__init__(types, shapes, names, ref)


class RandomShuffleQueue(QueueBase):
    """A queue handing out elements in random order, keeping ``min_after_dequeue`` behind (``tf.RandomShuffleQueue``).

    Until the queue is closed, a dequeue leaves at least ``min_after_dequeue`` elements to
    mix with later ones. ``seed`` follows TF1's graph/op seed rule: seeded queues give the
    same order in every new session.
    """

    def __init__(self, capacity, min_after_dequeue, dtypes, shapes=None, names=None, seed=None, shared_name=None,
                 name="random_shuffle_queue"):
        from graphdl.ops.random_ops import get_seed

        types = _as_type_list(dtypes)
        shapes = _as_shape_list(shapes, len(types))
        seed1, seed2 = get_seed(seed)
        capacity = _capacity(capacity)
        if int(min_after_dequeue) >= capacity:
            raise ValueError(f"RandomShuffleQueue: min_after_dequeue ({min_after_dequeue}) must be smaller than "
                             f"capacity ({capacity})")
        ref = _queue_handle("RandomShuffleQueueV2", name, shared_name, {
            "component_types": tuple(types), "shapes": tuple(shapes), "capacity": capacity,
            "min_after_dequeue": int(min_after_dequeue), "seed": seed1 or 0, "seed2": seed2 or 0})
        super().__init__(types, shapes, names, ref)
