"""The global step: an int64 scalar variable counting training steps (TF1's ``tf.train.*global_step``)."""

from __future__ import annotations

import logging

from graphdl import dtypes
from graphdl.framework.graph import GraphKeys, get_default_graph
from graphdl.framework.operation import Tensor

__all__ = ["assert_global_step", "create_global_step", "get_global_step", "get_or_create_global_step", "global_step"]

_log = logging.getLogger(__name__)


def global_step(sess, global_step_tensor):
    """The value of ``global_step_tensor`` in session ``sess``, as a Python int."""
    return int(sess.run(global_step_tensor))


def assert_global_step(global_step_tensor):
    """Raise TypeError unless ``global_step_tensor`` is an integer scalar Variable or Tensor."""
    if not (isinstance(global_step_tensor, Tensor) or hasattr(global_step_tensor, "_ref")):
        raise TypeError(f'Existing "global_step" must be a Variable or Tensor: {global_step_tensor}.')
    if not global_step_tensor.dtype.is_integer:
        raise TypeError(f'Existing "global_step" does not have integer type: {global_step_tensor.dtype.name}')
    shape = global_step_tensor.get_shape()
    if shape.ndims != 0 and shape.is_fully_defined():
        raise TypeError(f'Existing "global_step" is not scalar: {shape}')


def get_global_step(graph=None):
    """The global step of ``graph`` (default graph): the GLOBAL_STEP collection's variable, else the
    tensor ``global_step:0``, else None."""
    graph = graph or get_default_graph()
    tensors = graph.get_collection(GraphKeys.GLOBAL_STEP)
    if len(tensors) == 1:
        step = tensors[0]
    elif not tensors:
        try:
            step = graph.get_tensor_by_name("global_step:0")
        except KeyError:
            return None
    else:
        _log.error("Multiple tensors in global_step collection.")
        return None
    assert_global_step(step)
    return step


def create_global_step(graph=None):
    """Create the global step of ``graph``: an int64 scalar named ``global_step``, zero-initialized.

    It is in the GLOBAL_VARIABLES and GLOBAL_STEP collections and not trainable. Raises
    ValueError when the graph already has one.
    """
    from graphdl.ops.array_ops import zeros
    from graphdl.variables import Variable

    graph = graph or get_default_graph()
    if get_global_step(graph) is not None:
        raise ValueError('"global_step" already exists.')
    with graph.as_default(), graph.control_dependencies(None), graph.name_scope(None):
        return Variable(
            lambda: zeros([], dtype=dtypes.int64, name="zeros"),
            trainable=False,
            collections=[GraphKeys.GLOBAL_VARIABLES, GraphKeys.GLOBAL_STEP],
            name=GraphKeys.GLOBAL_STEP,
            dtype=dtypes.int64,
        )


def get_or_create_global_step(graph=None):
    """The global step of ``graph`` (default graph), created if it has none."""
    graph = graph or get_default_graph()
    step = get_global_step(graph)
    if step is None:
        step = create_global_step(graph)
    return step
