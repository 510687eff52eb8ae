"""Queue ops of TF1's input pipelines: FIFO, padding FIFO and random-shuffle queues living in the session.

Ops (all stateful host ops): ``FIFOQueueV2``/``PaddingFIFOQueueV2``/``RandomShuffleQueueV2``
give the queue's handle (its shared name); ``QueueEnqueueV2``, ``QueueEnqueueManyV2``,
``QueueDequeueV2``, ``QueueDequeueManyV2``, ``QueueDequeueUpToV2``, ``QueueCloseV2``,
``QueueSizeV2`` and ``QueueIsClosedV2`` take the handle first.

Filling: graphdl's Session does not run concurrently from several threads, so queue runners
do not enqueue from their threads. A dequeue that finds its queue short runs, on its own
thread, the enqueue ops of the QueueRunners started for that queue in the session
(``register_filler``), each as a nested ``Session.run``, until the queue holds enough or is
closed (a runner closes it when its enqueue ops raise OutOfRangeError, e.g. after
``num_epochs``). Without a started runner, a dequeue waits for another thread to enqueue or
close, and raises instead of hanging when no other thread is alive. An enqueue never blocks:
``capacity`` bounds how far the runners read ahead.
"""

from __future__ import annotations

import collections
import threading
import weakref

import numpy as np

from graphdl import dtypes, errors
from graphdl.framework.op_def import define_op
from graphdl.framework.tensor_shape import format_shape

# Runs of a runner's enqueue ops that add nothing before a dequeue gives up (a runner feeding another queue).
_MAX_IDLE_FILLS = 1000
_WAIT_SECONDS = 0.05
_PRODUCER_GRACE_SECONDS = 2.0


class QueueState:
    """One queue's elements (tuples of component arrays) in one session."""

    def __init__(self, op, key: str):
        attrs = op.attrs
        self.key = key
        self.kind = {"FIFOQueueV2": "FIFOQueue", "PaddingFIFOQueueV2": "PaddingFIFOQueue",
                     "RandomShuffleQueueV2": "RandomShuffleQueue"}[op.type]
        self.name = op.name
        self.types = attrs["component_types"]
        self.shapes = attrs["shapes"]
        self.capacity = attrs["capacity"]
        self.min_after_dequeue = attrs.get("min_after_dequeue", 0)
        self.items: collections.deque = collections.deque()
        self.closed = False
        self.condition = threading.Condition()
        self.producers: set = set()  # threads that enqueued into this queue (a dequeue may wait for them)
        seed, seed2 = attrs.get("seed", 0), attrs.get("seed2", 0)
        self.rng = (np.random.Generator(np.random.Philox(key=[seed, seed2])) if seed or seed2
                    else np.random.default_rng())

    def describe(self) -> str:
        return f"{self.kind} '{self.name}'"

    def close(self):
        with self.condition:
            self.closed = True
            self.condition.notify_all()


# Guards creating the session's queue tables and queues: a producer thread may run an enqueue while
# the main thread's dequeue runs, and both must find the same queue.
_CREATE_LOCK = threading.RLock()


def _table(state, attribute: str) -> dict:
    table = getattr(state, attribute, None)
    if table is None:
        with _CREATE_LOCK:
            table = getattr(state, attribute, None)
            if table is None:
                table = {}
                setattr(state, attribute, table)
    return table


def _queues(state) -> dict:
    return _table(state, "queues")


def _fillers(state) -> dict:
    return _table(state, "queue_fillers")


def register_filler(state, queue_key: str, filler):
    """Let dequeues of queue ``queue_key`` in the session owning ``state`` call ``filler.fill_step()``.

    A filler (a started QueueRunner) has ``active() -> bool`` and ``fill_step()``, which runs
    one of its enqueue ops (closing the queue when they are exhausted).
    """
    with _CREATE_LOCK:
        _fillers(state).setdefault(queue_key, []).append(filler)


# Queue names that some QueueRunner fills (whether or not started): a dequeue of such a queue with no started
# runner fails at once with the fix, rather than waiting for a thread that will never enqueue.
_RUNNER_OWNERS: dict = {}


def declare_runner(queue_key: str, runner):
    """Record that ``runner`` (kept weakly) enqueues into the queue named ``queue_key``."""
    with _CREATE_LOCK:
        _RUNNER_OWNERS.setdefault(queue_key, weakref.WeakSet()).add(runner)


def _has_runner(queue_key: str) -> bool:
    owners = _RUNNER_OWNERS.get(queue_key)
    return bool(owners) and len(owners) > 0


def unregister_filler(state, queue_key: str, filler):
    entries = _fillers(state).get(queue_key, [])
    if filler in entries:
        entries.remove(filler)


def _key(handle) -> str:
    value = handle.item() if isinstance(handle, np.ndarray) else handle
    return value.decode() if isinstance(value, bytes) else str(value)


def _queue(ctx, handle) -> QueueState:
    queue = _queues(ctx.state).get(_key(handle))
    if queue is None:
        raise errors.NotFoundError(None, ctx.op, f"{ctx.op.type} '{ctx.op.name}': no queue named {_key(handle)!r} "
                                                 "in this session")
    return queue


# -- queue handles --------------------------------------------------------------------------------


def _infer_handle(op):
    return [((), dtypes.string)]


def _handle_kernel(ctx):
    key = ctx.attrs["shared_name"]
    queues = _queues(ctx.state)
    if key not in queues:
        with _CREATE_LOCK:
            if key not in queues:
                queues[key] = QueueState(ctx.op, key)
    return np.array(key, dtype=object)


for _type in ("FIFOQueueV2", "PaddingFIFOQueueV2", "RandomShuffleQueueV2"):
    define_op(_type, infer=_infer_handle, kernel=_handle_kernel, stateful=True, not_differentiable=True)


# -- enqueue ----------------------------------------------------------------------------------------


def _check_components(ctx, queue: QueueState, components, many: bool) -> list:
    if len(components) != len(queue.types):
        raise errors.InvalidArgumentError(None, ctx.op, f"{queue.describe()} takes {len(queue.types)} components, "
                                                        f"got {len(components)}")
    out = []
    for i, (value, dtype, shape) in enumerate(zip(components, queue.types, queue.shapes)):
        value = np.asarray(value)
        if value.dtype != dtype.np:
            value = value.astype(dtype.np)
        element_shape = value.shape[1:] if many else value.shape
        if shape is not None and (len(shape) != len(element_shape) or any(
                d is not None and d != v for d, v in zip(shape, element_shape))):
            raise errors.InvalidArgumentError(
                None, ctx.op, f"Shape mismatch in tuple component {i} of {queue.describe()}. Expected "
                f"{format_shape(shape)}, got {format_shape(element_shape)}")
        out.append(np.array(value))  # the queue keeps its own copy
    return out


def _check_open(ctx, queue: QueueState):
    if queue.closed:
        raise errors.CancelledError(None, ctx.op, f"{queue.describe()} is closed.")


def _enqueue_kernel(ctx, handle, *components):
    queue = _queue(ctx, handle)
    values = _check_components(ctx, queue, components, many=False)
    with queue.condition:
        _check_open(ctx, queue)
        queue.items.append(tuple(values))
        queue.producers.add(threading.current_thread())
        queue.condition.notify_all()
    return ()


def _enqueue_many_kernel(ctx, handle, *components):
    queue = _queue(ctx, handle)
    values = _check_components(ctx, queue, components, many=True)
    sizes = {v.shape[0] if v.ndim else None for v in values}
    if len(sizes) != 1 or None in sizes:
        raise errors.InvalidArgumentError(
            None, ctx.op, f"EnqueueMany into {queue.describe()}: every component needs the same first dimension, got "
            f"shapes {[v.shape for v in values]}")
    with queue.condition:
        _check_open(ctx, queue)
        queue.items.extend(zip(*values))
        queue.producers.add(threading.current_thread())
        queue.condition.notify_all()
    return ()


def _infer_enqueue(op):
    handle = op.inputs[0]
    if handle.dtype != dtypes.string:
        raise TypeError(f"{op.type}: the first input must be a queue handle, got {handle.dtype.name}")
    return []


define_op("QueueEnqueueV2", infer=_infer_enqueue, kernel=_enqueue_kernel, stateful=True, not_differentiable=True)
define_op("QueueEnqueueManyV2", infer=_infer_enqueue, kernel=_enqueue_many_kernel, stateful=True,
          not_differentiable=True)


# -- dequeue ----------------------------------------------------------------------------------------


def _producers_alive(queue: QueueState) -> bool:
    """True when a thread other than this one has enqueued into ``queue`` and is still running."""
    current = threading.current_thread()
    return any(t is not current and t.is_alive() for t in queue.producers)


def _fill(ctx, queue: QueueState, wanted: int):
    """Run the queue's started runners (or wait for other threads) until it holds ``wanted`` elements or is closed."""
    idle, waited = 0, 0.0
    while len(queue.items) < wanted and not queue.closed:
        active = [f for f in _fillers(ctx.state).get(queue.key, []) if f.active()]
        if active:
            before = len(queue.items)
            for filler in active:
                filler.fill_step()
                if len(queue.items) >= wanted or queue.closed:
                    break
            idle = idle + 1 if len(queue.items) == before else 0
            if idle > _MAX_IDLE_FILLS:
                raise errors.InternalError(
                    None, ctx.op, f"{queue.describe()}: its QueueRunner ran its enqueue ops {_MAX_IDLE_FILLS} times "
                    "without adding an element; do they enqueue into this queue?")
            continue
        with queue.condition:
            if len(queue.items) >= wanted or queue.closed:
                break
            runner_waiting = _has_runner(queue.key)
            producing = _producers_alive(queue)
            # Without a runner, wait for a thread that enqueues into this queue: a known producer as long as it
            # lives, an unknown one for a grace period; then fail rather than wait forever.
            if runner_waiting or (not producing and waited >= _PRODUCER_GRACE_SECONDS):
                reason = ("its QueueRunner was not started in this session" if runner_waiting else
                          "no QueueRunner was started for it in this session and no other thread enqueued into it "
                          f"within {_PRODUCER_GRACE_SECONDS:g} s")
                raise errors.FailedPreconditionError(
                    None, ctx.op,
                    f"{queue.describe()} holds {len(queue.items)} elements and the dequeue '{ctx.op.name}' needs "
                    f"{wanted}, but {reason}: it would wait forever. Call tf.train.start_queue_runners(sess=sess) "
                    "after building the input pipeline.",
                )
            queue.condition.wait(_WAIT_SECONDS)
            waited = 0.0 if producing else waited + _WAIT_SECONDS


def _take(ctx, queue: QueueState, n: int, up_to: bool) -> list:
    """Remove ``n`` elements (fewer with ``up_to`` once the queue is closed); returns them."""
    shuffling = queue.kind == "RandomShuffleQueue"
    needed = n + (queue.min_after_dequeue if shuffling else 0)
    # Runner threads of TF1 keep a shuffling queue near capacity; ours fill it that far when asked.
    target = max(needed, queue.capacity) if shuffling and _fillers(ctx.state).get(queue.key) else needed
    while True:
        _fill(ctx, queue, target)
        with queue.condition:
            size = len(queue.items)
            if size >= needed or queue.closed:
                break
        target = needed  # another thread took elements in between: fill again
    with queue.condition:
        size = len(queue.items)
        if size < n:
            if not (up_to and size > 0 and queue.closed):
                raise errors.OutOfRangeError(
                    None, ctx.op, f"{queue.describe()} is closed and has insufficient elements (requested {n}, current "
                    f"size {size}) [op '{ctx.op.name}']")
            n = size
        if shuffling:
            taken = []
            for _ in range(n):
                j = int(queue.rng.integers(len(queue.items)))
                queue.items[j], queue.items[-1] = queue.items[-1], queue.items[j]
                taken.append(queue.items.pop())
        else:
            taken = [queue.items.popleft() for _ in range(n)]
    return taken


def _output(values):
    return values[0] if len(values) == 1 else tuple(values)


def _batch(ctx, queue: QueueState, elements) -> list:
    """Stack dequeued elements per component (a PaddingFIFOQueue pads to the batch's largest shape)."""
    if not elements:
        return [np.zeros((0, *(d or 0 for d in shape)) if shape is not None else (0,), dtype.np)
                for dtype, shape in zip(queue.types, queue.shapes)]
    out = []
    for i, parts in enumerate(zip(*elements)):
        shapes = {p.shape for p in parts}
        if len(shapes) == 1:
            out.append(np.stack(parts))
            continue
        if queue.kind != "PaddingFIFOQueue":
            raise errors.InvalidArgumentError(
                None, ctx.op, f"{queue.describe()}: cannot dequeue a batch of component {i}: its elements have "
                f"different shapes {sorted(shapes)}; use a PaddingFIFOQueue (train.batch(dynamic_pad=True))")
        biggest = tuple(np.max([p.shape for p in parts], axis=0))
        dtype = parts[0].dtype
        stacked = np.full((len(parts), *biggest), b"" if dtype == object else 0, dtype=dtype)
        for j, p in enumerate(parts):
            stacked[(j, *tuple(slice(0, d) for d in p.shape))] = p
        out.append(stacked)
    return out


def _dequeue_kernel(ctx, handle):
    queue = _queue(ctx, handle)
    (element,) = _take(ctx, queue, 1, up_to=False)
    return _output(list(element))


def _dequeue_many_kernel(up_to: bool):
    def kernel(ctx, handle, n):
        n = int(n)
        if n < 0:
            raise errors.InvalidArgumentError(None, ctx.op, f"{ctx.op.type}: requested {n} elements; must be >= 0")
        queue = _queue(ctx, handle)
        return _output(_batch(ctx, queue, _take(ctx, queue, n, up_to)))

    return kernel


def _infer_dequeue(op):
    specs = zip(op.attrs["component_types"], op.attrs["shapes"])
    if op.type == "QueueDequeueV2":
        return [(shape, dtype) for dtype, shape in specs]
    from graphdl.framework.constant_value import constant_value

    n = op.inputs[1]
    if not n.dtype.is_integer or n.shape.ndims not in (None, 0):
        raise TypeError(f"{op.type}: n must be an integer scalar, got {n.dtype.name} {n.shape}")
    known = constant_value(n) if op.type == "QueueDequeueManyV2" else None
    first = None if known is None else int(known)
    return [(None if shape is None else (first, *shape), dtype) for dtype, shape in specs]


define_op("QueueDequeueV2", infer=_infer_dequeue, kernel=_dequeue_kernel, stateful=True, not_differentiable=True)
define_op("QueueDequeueManyV2", infer=_infer_dequeue, kernel=_dequeue_many_kernel(False), stateful=True,
          not_differentiable=True)
define_op("QueueDequeueUpToV2", infer=_infer_dequeue, kernel=_dequeue_many_kernel(True), stateful=True,
          not_differentiable=True)


# -- close, size ------------------------------------------------------------------------------------


def _close_kernel(ctx, handle):
    _queue(ctx, handle).close()  # nothing pends here: enqueues never block, so there is nothing to cancel
    return ()


define_op("QueueCloseV2", infer=_infer_enqueue, kernel=_close_kernel, stateful=True, not_differentiable=True)
define_op("QueueSizeV2", infer=lambda op: [((), dtypes.int32)],
          kernel=lambda ctx, handle: np.array(len(_queue(ctx, handle).items), np.int32),
          stateful=True, not_differentiable=True)
define_op("QueueIsClosedV2", infer=lambda op: [((), dtypes.bool_)],
          kernel=lambda ctx, handle: np.array(_queue(ctx, handle).closed),
          stateful=True, not_differentiable=True)
