"""``DistributedOptimizer``, ``allreduce`` and ``broadcast``: Horovod's graph-building calls for graphdl.

``DistributedOptimizer(opt)`` wraps any graphdl optimizer: its gradients are averaged over
all workers (``MPIAllreduce``) before ``opt`` applies them, so every worker makes the same
update and the variables stay identical. The gradients of a step travel in one fused
buffer (split into buckets of at most ``fusion_threshold_bytes`` for very large models),
optionally as float16 (``compression=Compression.fp16``).
"""

from __future__ import annotations

from graphdl.distributed.world import size
from graphdl.framework.ops import convert_to_tensor, name_scope
from graphdl.ops.collective_ops import mpi_allreduce, mpi_broadcast
from graphdl.ops.math_ops import cast
from graphdl.train.optimizer import Optimizer

__all__ = ["Average", "Compression", "DistributedOptimizer", "Sum", "allreduce", "broadcast"]

Average = "average"
Sum = "sum"

# Horovod's default fusion buffer (HOROVOD_FUSION_THRESHOLD): larger sets of gradients are split.
DEFAULT_FUSION_THRESHOLD_BYTES = 64 * 1024 * 1024


class NoneCompressor:
    """Sends tensors as they are."""

    @staticmethod
    def compress(tensor):
        """``(tensor, context)`` to send; ``context`` is what ``decompress`` needs."""
        return tensor, None

    @staticmethod
    def decompress(tensor, ctx):
        """The received ``tensor`` as the caller's tensor."""
        return tensor


class FP16Compressor:
    """Sends floating-point tensors as float16 (half the bytes) and casts them back after.

    Half the bytes cross the network, but MPICH sums float16 in software: on one machine
    (shared memory) it is far slower than float32, worst on tiny (subnormal) gradients
    (BENCHMARKS.md). Use it only where the network between machines is the bottleneck.
    """

    @staticmethod
    def compress(tensor):
        """``(float16 tensor, original dtype)`` for a floating tensor; other tensors pass unchanged."""
        tensor = convert_to_tensor(tensor)
        if tensor.dtype.is_floating and tensor.dtype.name != "float16":
            return cast(tensor, "float16"), tensor.dtype
        return tensor, None

    @staticmethod
    def decompress(tensor, ctx):
        """``tensor`` cast back to its original dtype."""
        return tensor if ctx is None else cast(tensor, ctx)


class Compression:
    """The wire formats of ``DistributedOptimizer`` and ``allreduce`` (Horovod's ``hvd.Compression``)."""

    none = NoneCompressor
    fp16 = FP16Compressor


def _check_op(op):
    if op not in (Average, Sum):
        raise ValueError(f"op must be graphdl.distributed.Average or graphdl.distributed.Sum, got {op!r}")


def _reduce(tensors, names, op, compression, fusion_threshold_bytes, name):
    """The allreduced ``tensors``: compressed, grouped into buckets of at most the threshold, one op per bucket."""
    _check_op(op)
    compressed = [compression.compress(t) for t in tensors]
    buckets, current, current_bytes = [], [], 0
    for i, (t, _) in enumerate(compressed):
        nbytes = t.dtype.size * (t.shape.num_elements() or 0) if t.shape.is_fully_defined() else 0
        if current and current_bytes + nbytes > fusion_threshold_bytes:
            buckets.append(current)
            current, current_bytes = [], 0
        current.append(i)
        current_bytes += nbytes
    buckets.append(current)
    reduced = [None] * len(tensors)
    with name_scope(name, "Allreduce"):
        for bucket in buckets:
            outputs = mpi_allreduce([compressed[i][0] for i in bucket], op, names=[names[i] for i in bucket])
            for i, y in zip(bucket, outputs):
                reduced[i] = compression.decompress(y, compressed[i][1])
    return reduced


def allreduce(tensor, average=None, device_dense="", device_sparse="", compression=Compression.none, op=None,
              name=None):
    """The mean (default) or sum of ``tensor`` over all workers, as a tensor (Horovod's ``hvd.allreduce``).

    ``average=True/False`` is Horovod's older spelling of ``op=Average/Sum``. The device
    arguments are accepted for compatibility and ignored.
    """
    if average is not None and op is not None:
        raise ValueError("allreduce: give either average= or op=, not both")
    op = op if op is not None else (Sum if average is False else Average)
    tensor = convert_to_tensor(tensor)
    return _reduce([tensor], [tensor.name], op, compression, DEFAULT_FUSION_THRESHOLD_BYTES, name)[0]


def broadcast(tensor, root_rank, name=None):
    """Worker ``root_rank``'s value of ``tensor`` on every worker (Horovod's ``hvd.broadcast``)."""
    return mpi_broadcast([tensor], root_rank, name=name)[0]


class DistributedOptimizer(Optimizer):
    """Wrap ``optimizer`` so its gradients are averaged over all workers before they are applied.

    Horovod's signature: ``compression`` (``Compression.none`` or ``Compression.fp16``),
    ``op`` (``Average`` or ``Sum``). ``device_dense``, ``device_sparse`` and
    ``sparse_as_dense`` are accepted for compatibility (graphdl's gradients are dense).
    With a single worker the gradients are used as computed. Scale the learning rate with
    ``size()`` when the global batch grows with the number of workers, as with Horovod.
    """

    def __init__(self, optimizer, name=None, use_locking=False, device_dense="", device_sparse="",
                 compression=Compression.none, sparse_as_dense=False, op=Average,
                 fusion_threshold_bytes=DEFAULT_FUSION_THRESHOLD_BYTES):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"DistributedOptimizer wraps a graphdl optimizer (graphdl.train.*Optimizer), "
                            f"got {type(optimizer).__name__}")
        _check_op(op)
        if not hasattr(compression, "compress") or not hasattr(compression, "decompress"):
            raise TypeError(f"compression must be Compression.none or Compression.fp16, got {compression!r}")
        if fusion_threshold_bytes <= 0:
            raise ValueError(f"fusion_threshold_bytes must be positive, got {fusion_threshold_bytes}")
        super().__init__(use_locking, name or f"Distributed{type(optimizer).__name__}")
        self._optimizer = optimizer
        self._compression = compression
        self._op = op
        self._fusion_threshold_bytes = fusion_threshold_bytes

    def compute_gradients(self, *args, **kwargs):
        """The wrapped optimizer's ``(gradient, variable)`` pairs with each gradient averaged over the workers."""
        grads_and_vars = self._optimizer.compute_gradients(*args, **kwargs)
        if size() == 1:
            return grads_and_vars
        present = [(g, v) for g, v in grads_and_vars if g is not None]
        if not present:
            return grads_and_vars
        reduced = _reduce([g for g, _ in present], [v.op.name for _, v in present], self._op, self._compression,
                          self._fusion_threshold_bytes, f"{self.get_name()}_Allreduce")
        by_variable = {id(v): r for (_, v), r in zip(present, reduced)}
        return [(by_variable[id(v)] if g is not None else None, v) for g, v in grads_and_vars]

    def apply_gradients(self, grads_and_vars, global_step=None, name=None):
        """Apply the (already averaged) gradients with the wrapped optimizer."""
        return self._optimizer.apply_gradients(grads_and_vars, global_step=global_step, name=name)

    def get_slot(self, var, name):
        """The wrapped optimizer's slot ``name`` of ``var``."""
        return self._optimizer.get_slot(var, name)

    def get_slot_names(self):
        """The wrapped optimizer's slot names."""
        return self._optimizer.get_slot_names()

    def variables(self):
        """The wrapped optimizer's variables."""
        return self._optimizer.variables()
