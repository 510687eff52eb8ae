"""Giving each worker its own part of every epoch: ``shard_indices`` (feed_dict loops) and ``shard`` (tf.data).

Every worker must run the same number of steps (each step's allreduce waits for all of
them), so ``shard_indices`` drops the few examples left over when the data set does not
divide evenly among the workers. All workers draw the same permutation of an epoch (same
``seed`` and ``epoch``) and take every ``size()``-th example of it starting at their rank:
step k's batches of all workers together are exactly the examples a single process with
the global batch (``batch_size * size()``) would use at step k.
"""

from __future__ import annotations

import numpy as np

from graphdl.distributed.world import rank, size

__all__ = ["shard", "shard_indices"]


def shard_indices(num_examples: int, epoch: int = 0, seed: int = 0, shuffle: bool = True,
                  num_workers: int | None = None, worker: int | None = None) -> np.ndarray:
    """This worker's example indices for ``epoch``: disjoint from every other worker's, all of equal length.

    ``num_workers`` and ``worker`` default to ``size()`` and ``rank()``. Returns an int64
    array of ``num_examples // num_workers`` indices into the data set.
    """
    num_workers = size() if num_workers is None else int(num_workers)
    worker = rank() if worker is None else int(worker)
    if num_examples < 0:
        raise ValueError(f"shard_indices: num_examples must be >= 0, got {num_examples}")
    if num_workers < 1 or not 0 <= worker < num_workers:
        raise ValueError(f"shard_indices: worker must be in [0, num_workers), got worker={worker}, "
                         f"num_workers={num_workers}")
    if shuffle:
        order = np.random.default_rng([int(seed), int(epoch)]).permutation(num_examples)
    else:
        order = np.arange(num_examples)
    usable = num_examples - num_examples % num_workers
    return order[:usable][worker::num_workers].astype(np.int64)


def shard(dataset):
    """``dataset.shard(size(), rank())``: every ``size()``-th element, starting at this worker's rank.

    Shard before shuffling and batching, and make every worker's number of steps equal
    (e.g. ``.take()`` the same count, or ``batch(..., drop_remainder=True)`` on a data set
    that divides evenly).
    """
    return dataset.shard(size(), rank())
