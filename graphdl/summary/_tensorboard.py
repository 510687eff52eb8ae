"""Lazy access to the ``tensorboard`` package's protobufs and event-file writer (an optional dependency)."""

from __future__ import annotations

import functools
from types import SimpleNamespace

INSTALL_HINT = "pip install tensorboard  (or: pip install 'graphdl[tensorboard]')"


@functools.cache
def tensorboard():
    """The tensorboard modules graphdl.summary uses; ImportError saying how to install them if missing."""
    try:
        from tensorboard.compat.proto import (
            attr_value_pb2,
            config_pb2,
            event_pb2,
            graph_pb2,
            node_def_pb2,
            summary_pb2,
            tensor_pb2,
            tensor_shape_pb2,
            types_pb2,
        )
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
        from tensorboard.util import tensor_util
    except ImportError as e:
        raise ImportError(
            f"graphdl.summary writes TensorBoard protobufs with the tensorboard package, which is not installed "
            f"({e}). Fix: {INSTALL_HINT}"
        ) from e
    return SimpleNamespace(
        attr_value_pb2=attr_value_pb2, config_pb2=config_pb2, event_pb2=event_pb2, graph_pb2=graph_pb2,
        node_def_pb2=node_def_pb2, summary_pb2=summary_pb2, tensor_pb2=tensor_pb2, tensor_shape_pb2=tensor_shape_pb2,
        types_pb2=types_pb2,
        EventFileWriter=EventFileWriter, make_tensor_proto=tensor_util.make_tensor_proto,
    )
