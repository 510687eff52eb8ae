"""TF1's ``FileWriter``: writes summaries, the graph and session logs to TensorBoard event files.

Event files are TFRecord streams of ``Event`` protobufs, appended to as TF does, written by
the ``tensorboard`` package's EventFileWriter (a background thread flushes every
``flush_secs`` and whenever ``max_queue`` events wait). ``FileWriterCache`` shares one
writer per log directory.
"""

from __future__ import annotations

import threading
import time
from typing import ClassVar

import numpy as np

from graphdl.framework.graph import Graph, get_default_graph
from graphdl.summary._tensorboard import tensorboard
from graphdl.summary.graph_def import graph_to_graph_def


class FileWriter:
    """Writes ``Summary`` protocol buffers to event files in ``logdir`` (TF1's ``tf.summary.FileWriter``).

    ``graph`` (or ``graph_def``) is written for TensorBoard's graph tab. ``add_summary`` takes
    what ``sess.run`` returned for a summary op (serialized bytes) or a ``Summary`` proto.
    ``session`` is accepted for TF1 compatibility; the writer writes directly either way.
    Usable as a context manager (closed on exit).
    """

    def __init__(self, logdir, graph=None, max_queue=10, flush_secs=120, graph_def=None, filename_suffix=None,
                 session=None):
        self._logdir = str(logdir)
        self._max_queue = max_queue
        self._flush_secs = flush_secs
        self._filename_suffix = filename_suffix or ""
        self._closed = False
        self._lock = threading.Lock()
        self._event_writer = self._open()
        # Plugin metadata is written with the first value of each tag only (as TF1 does).
        self._seen_summary_tags: set = set()
        self._session_run_tags: dict = {}
        if graph is not None or graph_def is not None:
            self.add_graph(graph, graph_def=graph_def)

    def _open(self):
        return tensorboard().EventFileWriter(self._logdir, self._max_queue, self._flush_secs, self._filename_suffix)

    def get_logdir(self) -> str:
        """The directory event files are written to."""
        return self._logdir

    # -- events -----------------------------------------------------------------------------------------------
    def add_event(self, event):
        """Adds an ``Event`` protocol buffer to the event file (dropped once the writer is closed, as in TF1)."""
        with self._lock:
            if not self._closed:
                self._event_writer.add_event(event)

    def _add_event(self, event, step):
        event.wall_time = time.time()
        if step is not None:
            event.step = int(step)
        self.add_event(event)

    def add_summary(self, summary, global_step=None):
        """Adds a ``Summary`` to the event file, at training step ``global_step`` if given.

        ``summary`` is a ``Summary`` proto or its serialization: the bytes ``sess.run`` returns
        for a summary op (a scalar string).
        """
        summary = _as_summary(summary)
        for value in summary.value:
            if not value.HasField("metadata"):
                continue
            if value.tag in self._seen_summary_tags:
                value.ClearField("metadata")
                continue
            self._seen_summary_tags.add(value.tag)
        self._add_event(tensorboard().event_pb2.Event(summary=summary), global_step)

    def add_session_log(self, session_log, global_step=None):
        """Adds a ``SessionLog`` protocol buffer (START, STOP, CHECKPOINT) to the event file."""
        self._add_event(tensorboard().event_pb2.Event(session_log=session_log), global_step)

    def add_graph(self, graph, global_step=None, graph_def=None):
        """Adds a graph for TensorBoard's graph tab: a graphdl ``Graph`` or a ``GraphDef`` proto.

        Raises ValueError when both ``graph`` and ``graph_def`` are given, TypeError for other objects.
        """
        if graph is not None and graph_def is not None:
            raise ValueError("Please pass only graph or graph_def (deprecated), but not both.")
        graph_def = _as_graph_def(graph if graph is not None else graph_def)
        event = tensorboard().event_pb2.Event(graph_def=graph_def.SerializeToString())
        self._add_event(event, global_step)

    def add_run_metadata(self, run_metadata, tag, global_step=None):
        """Adds the metadata of one ``sess.run`` under ``tag`` (TensorBoard lists it on the graph tab).

        graphdl collects no step statistics, so a run_metadata that is not a TensorFlow
        ``RunMetadata`` proto is written empty. Raises ValueError when ``tag`` was used before.
        """
        tb = tensorboard()
        if tag in self._session_run_tags:
            raise ValueError("The provided tag was already used for this event type")
        self._session_run_tags[tag] = True
        if not isinstance(run_metadata, tb.config_pb2.RunMetadata):
            run_metadata = tb.config_pb2.RunMetadata()
        tagged = tb.event_pb2.TaggedRunMetadata(tag=tag, run_metadata=run_metadata.SerializeToString())
        self._add_event(tb.event_pb2.Event(tagged_run_metadata=tagged), global_step)

    # -- lifetime ---------------------------------------------------------------------------------------------
    def flush(self):
        """Writes the pending events to disk."""
        with self._lock:
            if not self._closed:
                self._event_writer.flush()

    def close(self):
        """Flushes the pending events and closes the event file; later events are dropped until ``reopen``."""
        with self._lock:
            if not self._closed:
                self._event_writer.flush()
                self._event_writer.close()
                self._closed = True

    def reopen(self):
        """Reopens a closed writer on a new event file in the same directory."""
        with self._lock:
            if self._closed:
                self._event_writer = self._open()
                self._closed = False

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()
        return False


def _as_summary(summary):
    pb = tensorboard().summary_pb2
    if isinstance(summary, pb.Summary):
        return summary
    if isinstance(summary, np.ndarray) and summary.ndim == 0:
        summary = summary[()]
    if isinstance(summary, (bytes, np.bytes_)):
        parsed = pb.Summary()
        parsed.ParseFromString(bytes(summary))
        return parsed
    raise TypeError(
        f"FileWriter.add_summary takes a Summary proto or the serialized Summary a summary op returns "
        f"(bytes), got {type(summary).__name__}. Pass the value sess.run returned for tf.summary.merge_all().")


def _as_graph_def(graph):
    graph_pb2 = tensorboard().graph_pb2
    if isinstance(graph, Graph):
        return graph_to_graph_def(graph, add_shapes=True)
    if isinstance(graph, graph_pb2.GraphDef):
        return graph
    if _is_graphdl_graph_def(graph):  # graphdl's own format (graph.as_graph_def()): rebuild the graph to draw it
        from graphdl.framework.graph_io import import_graph_def

        rebuilt = Graph()
        with rebuilt.as_default():
            import_graph_def(graph, name="")
        return graph_to_graph_def(rebuilt, add_shapes=True)
    raise TypeError(f"FileWriter takes a graphdl Graph or GraphDef, or a TensorFlow GraphDef proto, as its graph; "
                    f"got {type(graph).__name__}")


def _is_graphdl_graph_def(graph) -> bool:
    try:
        from graphdl.framework.graph_io import GraphDef
    except ImportError:
        return False
    return isinstance(graph, GraphDef)


class FileWriterCache:
    """One shared ``FileWriter`` per log directory (TF1's ``tf.summary.FileWriterCache``)."""

    _cache: ClassVar[dict] = {}
    _lock = threading.Lock()

    @staticmethod
    def get(logdir) -> FileWriter:
        """The FileWriter of ``logdir``, created (with the default graph) on first use."""
        with FileWriterCache._lock:
            writer = FileWriterCache._cache.get(str(logdir))
            if writer is None:
                writer = FileWriterCache._cache[str(logdir)] = FileWriter(logdir, graph=get_default_graph())
            return writer

    @staticmethod
    def clear():
        """Closes and forgets every cached FileWriter."""
        with FileWriterCache._lock:
            for writer in FileWriterCache._cache.values():
                writer.close()
            FileWriterCache._cache.clear()
