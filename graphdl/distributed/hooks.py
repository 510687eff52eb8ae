"""Starting every worker from the same weights: ``broadcast_global_variables`` and its session hook.

Run the broadcast once, after the variables are initialized (or restored from a
checkpoint on rank 0) and before the first training step::

    sess.run(tf.global_variables_initializer())
    sess.run(hvd.broadcast_global_variables(0))

``BroadcastGlobalVariablesHook`` does the same in the ``SessionRunHook`` protocol that
TF1's ``MonitoredTrainingSession`` drives (``begin`` builds the op, ``after_create_session``
runs it).
"""

from __future__ import annotations

from graphdl.framework.ops import name_scope
from graphdl.ops.collective_ops import mpi_broadcast
from graphdl.ops.control_ops import group
from graphdl.train.session_run_hook import SessionRunHook

__all__ = ["BroadcastGlobalVariablesHook", "broadcast_global_variables", "broadcast_variables"]


def broadcast_variables(variables, root_rank=0, name=None):
    """An op setting each of ``variables`` to worker ``root_rank``'s value (one fused broadcast).

    String variables cannot be broadcast and raise TypeError naming them.
    """
    variables = list(variables)
    if not variables:
        from graphdl.ops.control_ops import no_op

        return no_op(name=name or "broadcast_variables")
    bad = [v.op.name for v in variables if not (v.dtype.is_numeric or v.dtype.is_bool)]
    if bad:
        raise TypeError(f"broadcast_variables: only numeric and bool variables can be broadcast, not {bad}")
    with name_scope(name, "broadcast_variables"):
        values = mpi_broadcast([v.value() for v in variables], root_rank, names=[v.op.name for v in variables])
        return group(*[v.assign(value) for v, value in zip(variables, values)])


def broadcast_global_variables(root_rank=0):
    """An op setting every numeric global variable to worker ``root_rank``'s value (Horovod's call)."""
    from graphdl.variables import global_variables

    variables = [v for v in global_variables() if v.dtype.is_numeric or v.dtype.is_bool]
    return broadcast_variables(variables, root_rank, name="broadcast_global_variables")


class BroadcastGlobalVariablesHook(SessionRunHook):
    """A ``SessionRunHook`` that broadcasts worker ``root_rank``'s global variables when a session starts."""

    def __init__(self, root_rank=0, device=""):
        self.root_rank = root_rank
        self.device = device  # accepted for Horovod compatibility; the broadcast runs on the host
        self.bcast_op = None

    def begin(self):
        """Build the broadcast op in the default graph (before it is finalized)."""
        from graphdl.framework.graph import get_default_graph

        if self.bcast_op is None or self.bcast_op.graph is not get_default_graph():
            self.bcast_op = broadcast_global_variables(self.root_rank)

    def after_create_session(self, session, coord=None):
        """Run the broadcast in the new (initialized or restored) session."""
        if self.bcast_op is None:
            self.begin()
        session.run(self.bcast_op)
