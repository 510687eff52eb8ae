"""``tf.train.QueueRunner``, ``add_queue_runner`` and ``start_queue_runners``.

A QueueRunner holds a queue's enqueue ops. ``create_threads(sess)`` starts it in a
session: from then on, a dequeue that finds the queue short runs those enqueue ops itself
(as nested ``sess.run`` calls on the dequeuing thread; see graphdl/ops/queue_ops.py), and
closes the queue once they all raise OutOfRangeError (e.g. after ``num_epochs``), as TF1's
runner threads do. graphdl's Session does not run graphs concurrently, so the threads
returned here do no graph work: each waits until the coordinator stops, the session closes
or its runner is exhausted, which is what ``coord.join(threads)`` and ``t.join()`` wait for.
An error of an enqueue op reaches the caller of the dequeuing ``sess.run`` (and the
coordinator, which re-raises it from ``join``).
"""

from __future__ import annotations

import logging
import threading
import weakref

from graphdl import errors
from graphdl.framework.graph import GraphKeys
from graphdl.framework.ops import add_to_collection, get_collection
from graphdl.ops.queue_ops import declare_runner, register_filler

_POLL_SECONDS = 0.05
_log = logging.getLogger("graphdl")


class _SessionRun:
    """A QueueRunner started in one session: what the queue's dequeues call to fill it."""

    def __init__(self, runner: QueueRunner, sess, coord):
        self.runner = runner
        self.coord = coord
        self._session = weakref.ref(sess)
        self._done = [False] * len(runner.enqueue_ops)
        self._next = 0
        self.finished = threading.Event()

    def _live_session(self):
        sess = self._session()
        return None if sess is None or getattr(sess, "_closed", False) else sess

    def thread_should_exit(self) -> bool:
        return self.finished.is_set() or self._live_session() is None or (
            self.coord is not None and self.coord.should_stop())

    def active(self) -> bool:
        """True while the enqueue ops may still add elements; a stopped coordinator cancels the queue."""
        if self.finished.is_set():
            return False
        sess = self._live_session()
        if sess is None:
            self.finished.set()
            return False
        if self.coord is not None and self.coord.should_stop():
            self._finish(sess, self.runner.cancel_op)
            return False
        return True

    def _finish(self, sess, close_op):
        self.finished.set()
        try:
            sess.run(close_op)
        except Exception as e:  # noqa: BLE001 - TF1 ignores errors of the close op too
            _log.debug("QueueRunner %s: ignored an error of its close op: %s", self.runner.name, e)

    def fill_step(self):
        """Run the next enqueue op once; when every one has reported a closed input, close the queue."""
        sess = self._live_session()
        if sess is None:
            self.finished.set()
            return
        ops = self.runner.enqueue_ops
        while self._done[self._next]:
            self._next = (self._next + 1) % len(ops)
        index = self._next
        self._next = (self._next + 1) % len(ops)
        try:
            sess.run(ops[index])
        except self.runner.queue_closed_exception_types + (errors.CancelledError,):
            self._done[index] = True
            if all(self._done):
                self._finish(sess, self.runner.close_op)
        except Exception as e:
            self.runner._exceptions_raised.append(e)
            if self.coord is not None:
                self.coord.request_stop(e)
            raise


class _RunnerThread(threading.Thread):
    """Stands for one enqueue op's thread: waits until the runner is done, the session closed or the coordinator stopped."""

    graphdl_idle_runner = True  # queue_ops: not a thread that could enqueue

    def __init__(self, run: _SessionRun, name: str):
        super().__init__(name=name)
        self._run = run
        self._released = threading.Event()

    def release(self):
        """End the thread (a Coordinator joining it after a stop request does this); the runner keeps filling."""
        self._released.set()

    def run(self):
        while not self._released.is_set() and not self._run.thread_should_exit():
            self._run.finished.wait(_POLL_SECONDS)


class QueueRunner:
    """Holds a queue's enqueue ops and runs them for the queue's dequeues in each session it is started in."""

    def __init__(self, queue=None, enqueue_ops=None, close_op=None, cancel_op=None,
                 queue_closed_exception_types=None, queue_runner_def=None, import_scope=None):
        if queue_runner_def is not None:
            raise NotImplementedError("QueueRunner: queue_runner_def (protocol buffers) is not supported")
        if queue is None or not enqueue_ops:
            raise ValueError("Must provide queue and enqueue_ops.")
        self._queue = queue
        self._enqueue_ops = list(enqueue_ops)
        self._close_op = close_op if close_op is not None else queue.close()
        self._cancel_op = cancel_op if cancel_op is not None else queue.close(cancel_pending_enqueues=True)
        types = queue_closed_exception_types or (errors.OutOfRangeError,)
        if not isinstance(types, tuple) or not all(isinstance(t, type) and issubclass(t, errors.OpError)
                                                   for t in types):
            raise TypeError("queue_closed_exception_types, when provided, must be a tuple of tf.error types, "
                            f"but saw: {queue_closed_exception_types}")
        self._queue_closed_exception_types = types
        self._runs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._exceptions_raised: list = []
        declare_runner(queue._key, self)

    @property
    def queue(self):
        return self._queue

    @property
    def enqueue_ops(self) -> list:
        return self._enqueue_ops

    @property
    def close_op(self):
        return self._close_op

    @property
    def cancel_op(self):
        return self._cancel_op

    @property
    def queue_closed_exception_types(self) -> tuple:
        return self._queue_closed_exception_types

    @property
    def exceptions_raised(self) -> list:
        """Exceptions the enqueue ops raised (other than the queue-closed ones)."""
        return list(self._exceptions_raised)

    @property
    def name(self) -> str:
        return self._queue.name

    def create_threads(self, sess, coord=None, daemon=False, start=False) -> list:
        """Start the runner in ``sess``; returns one thread per enqueue op (none if it is already running there).

        The threads are registered with ``coord`` and end when it stops, when ``sess`` closes or
        when the enqueue ops are exhausted (the queue then closed).
        """
        previous = self._runs.get(sess)
        if previous is not None and not previous.thread_should_exit():
            return []
        run = _SessionRun(self, sess, coord)
        self._runs[sess] = run
        self._exceptions_raised = []
        register_filler(sess._state, self._queue._key, run)
        threads = [_RunnerThread(run, f"QueueRunnerThread-{self.name}-{op.name}") for op in self._enqueue_ops]
        for t in threads:
            if coord is not None:
                coord.register_thread(t)
            if daemon:
                t.daemon = True
            if start:
                t.start()
        return threads


def add_queue_runner(qr: QueueRunner, collection=GraphKeys.QUEUE_RUNNERS):
    """Add ``qr`` to the graph collection ``collection`` (which ``start_queue_runners`` starts)."""
    add_to_collection(collection, qr)


def start_queue_runners(sess=None, coord=None, daemon=True, start=True, collection=GraphKeys.QUEUE_RUNNERS) -> list:
    """Start every QueueRunner of ``collection`` in ``sess`` (default: the default session); returns their threads."""
    from graphdl.client.session import BaseSession, get_default_session

    if sess is None:
        sess = get_default_session()
        if sess is None:
            raise ValueError("Cannot start queue runners: No default session is registered. Use `with "
                             "sess.as_default()` or pass an explicit session to tf.start_queue_runners(sess=sess)")
    if not isinstance(sess, BaseSession):
        raise TypeError(f"sess must be a `tf.Session` object. Given class: {type(sess)}")
    threads = []
    with sess.graph.as_default():
        for qr in get_collection(collection):
            threads.extend(qr.create_threads(sess, coord=coord, daemon=daemon, start=start))
    return threads


# -- meta graph files: queue runners in collections survive export_meta_graph/import_meta_graph ------------


def _runner_to_json(runner: QueueRunner, name_of) -> dict:
    return {
        "queue": name_of(runner.queue.queue_ref),
        "enqueue_ops": [name_of(op) for op in runner.enqueue_ops],
        "close_op": name_of(runner.close_op),
        "cancel_op": name_of(runner.cancel_op),
        "queue_closed_exception_types": [t.__name__ for t in runner.queue_closed_exception_types],
    }


def _runner_from_json(data: dict, element) -> QueueRunner:
    from graphdl.ops.data_flow_ops import QueueBase

    handle = element(data["queue"])
    attrs = handle.op.attrs
    queue = QueueBase(attrs["component_types"], attrs["shapes"], None, handle)
    types = tuple(getattr(errors, name) for name in data["queue_closed_exception_types"]
                  if isinstance(getattr(errors, name, None), type))
    return QueueRunner(queue, [element(name) for name in data["enqueue_ops"]], close_op=element(data["close_op"]),
                       cancel_op=element(data["cancel_op"]), queue_closed_exception_types=types or None)


def _register_meta_graph_codec():
    from graphdl.train.meta_graph import register_collection_codec

    register_collection_codec("queue_runner", QueueRunner, _runner_to_json, _runner_from_json)


_register_meta_graph_codec()
