"""Data-parallel training on MPI (``mpi4py``), with Horovod's calls: ``import graphdl.distributed as hvd``.

Every worker process runs the same graph on its own shard of the data; the gradients of
each step are averaged over the workers before they are applied, so the variables stay
identical everywhere. A TF1 script needs these additions::

    import graphdl as tf
    import graphdl.distributed as hvd

    hvd.init()
    ...                                                   # build the model as before
    opt = tf.train.AdamOptimizer(1e-3 * hvd.size())
    opt = hvd.DistributedOptimizer(opt)
    train_op = opt.minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(hvd.broadcast_global_variables(0))       # everyone starts from rank 0's weights
        for epoch in range(epochs):
            for batch in batches(hvd.shard_indices(len(x), epoch)):   # a disjoint part per worker
                sess.run(train_op, {...})
        if hvd.rank() == 0:
            saver.save(sess, path)                        # checkpoints from rank 0 only

and is launched with ``mpiexec -n 4 python train.py`` (install: ``pip install 'graphdl[mpi]'``).
Collective calls time out after GRAPHDL_MPI_TIMEOUT seconds (default 60) instead of
hanging, and abort the whole job with an error naming the op.

This package imports MPI only when ``init()`` is called; ``import graphdl`` never does.
"""

from graphdl.distributed.collectives import (
    CollectiveStats,
    WorkerMismatchError,
    collective_stats,
    reset_collective_stats,
)
from graphdl.distributed.hooks import BroadcastGlobalVariablesHook, broadcast_global_variables, broadcast_variables
from graphdl.distributed.optimizer import Average, Compression, DistributedOptimizer, Sum, allreduce, broadcast
from graphdl.distributed.sharding import shard, shard_indices
from graphdl.distributed.world import init, is_initialized, local_rank, local_size, mpi_threads_supported, rank, size

__all__ = [
    "Average", "BroadcastGlobalVariablesHook", "CollectiveStats", "Compression", "DistributedOptimizer", "Sum",
    "WorkerMismatchError", "allreduce", "broadcast", "broadcast_global_variables", "broadcast_variables",
    "collective_stats", "init", "is_initialized", "local_rank", "local_size", "mpi_threads_supported", "rank",
    "reset_collective_stats", "shard", "shard_indices", "size",
]
