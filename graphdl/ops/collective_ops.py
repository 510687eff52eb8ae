"""Collective ops across the worker processes of an MPI job: ``MPIAllreduce`` and ``MPIBroadcast``.

``graphdl.distributed`` builds them (``DistributedOptimizer``, ``broadcast_global_variables``).
Each takes any number of tensors and returns one output per input; its kernel packs the
inputs into one contiguous buffer and makes a single MPI call on it, so a training step
sends its gradients in one message rather than one per variable. The ops are stateful:
the compiler never folds, merges, reorders past their dependencies or drops them, since
every worker must make the same calls in the same order. MPI itself is imported only
when a kernel runs (``graphdl.distributed.init()`` must have been called).

``MPIAllreduce``'s gradient is the same allreduce of the output gradients (the sum or
mean over workers of a per-worker loss has that gradient). ``MPIBroadcast`` has none: it
starts every worker from the same values and is not part of a loss.
"""

from __future__ import annotations

from graphdl.framework.op_def import define_op
from graphdl.framework.ops import convert_to_tensor, make_op

__all__ = ["REDUCE_OPS", "mpi_allreduce", "mpi_broadcast"]

REDUCE_OPS = ("average", "sum")


def _check_inputs(op, allowed, what):
    if not op.inputs:
        raise ValueError("needs at least one input tensor")
    for t in op.inputs:
        if not allowed(t.dtype):
            raise TypeError(f"input '{t.name}' is {t.dtype.name}, but {what}")


def _infer_allreduce(op):
    reduce_op = op.attrs["reduce_op"]
    if reduce_op not in REDUCE_OPS:
        raise ValueError(f"reduce_op must be one of {REDUCE_OPS}, got {reduce_op!r}")
    if reduce_op == "average":
        _check_inputs(op, lambda d: d.is_floating, "averaging needs floating-point tensors (use op=Sum for integers)")
    else:
        _check_inputs(op, lambda d: d.is_floating or d.is_integer, "allreduce sums numeric tensors only")
    return [(t.shape.as_tuple(), t.dtype) for t in op.inputs]


def _allreduce_kernel(ctx, *arrays):
    from graphdl.distributed.collectives import allreduce_arrays

    return allreduce_arrays(arrays, ctx.op, ctx.state, ctx.attrs["reduce_op"], ctx.attrs["tensor_names"])


def _allreduce_grad(op, *output_grads):
    from graphdl.ops.array_ops import zeros_like

    grads = [zeros_like(y) if dy is None else dy for y, dy in zip(op.outputs, output_grads)]
    return list(mpi_allreduce(grads, op.attrs["reduce_op"], names=[f"{n}/grad" for n in op.attrs["tensor_names"]]))


def _infer_broadcast(op):
    _check_inputs(op, lambda d: d.is_numeric or d.is_bool, "only numeric and bool tensors can be broadcast")
    return [(t.shape.as_tuple(), t.dtype) for t in op.inputs]


def _broadcast_kernel(ctx, *arrays):
    from graphdl.distributed.collectives import broadcast_arrays

    return broadcast_arrays(arrays, ctx.op, ctx.state, ctx.attrs["root_rank"], ctx.attrs["tensor_names"])


define_op("MPIAllreduce", infer=_infer_allreduce, kernel=_allreduce_kernel, grad=_allreduce_grad, stateful=True)
define_op("MPIBroadcast", infer=_infer_broadcast, kernel=_broadcast_kernel, stateful=True, not_differentiable=True)


def _tensors_and_names(tensors, names, what):
    tensors = [convert_to_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError(f"{what} needs at least one tensor")
    names = [t.name for t in tensors] if names is None else [str(n) for n in names]
    if len(names) != len(tensors):
        raise ValueError(f"{what}: {len(names)} names for {len(tensors)} tensors")
    return tensors, names


def mpi_allreduce(tensors, reduce_op="average", names=None, name=None) -> list:
    """One ``MPIAllreduce`` op over ``tensors``: their sum or mean over all workers, one output per tensor.

    ``names`` label the tensors in error messages and in the check that every worker
    reduces the same tensors (default: the tensors' names).
    """
    tensors, names = _tensors_and_names(tensors, names, "mpi_allreduce")
    op = make_op("MPIAllreduce", tensors, {"reduce_op": reduce_op, "tensor_names": tuple(names)}, name or "MPIAllreduce")
    return list(op.outputs)


def mpi_broadcast(tensors, root_rank=0, names=None, name=None) -> list:
    """One ``MPIBroadcast`` op: worker ``root_rank``'s values of ``tensors`` on every worker."""
    tensors, names = _tensors_and_names(tensors, names, "mpi_broadcast")
    if not isinstance(root_rank, int) or root_rank < 0:
        raise ValueError(f"mpi_broadcast: root_rank must be a worker's rank (an int >= 0), got {root_rank!r}")
    op = make_op("MPIBroadcast", tensors, {"root_rank": root_rank, "tensor_names": tuple(names)}, name or "MPIBroadcast")
    return list(op.outputs)

