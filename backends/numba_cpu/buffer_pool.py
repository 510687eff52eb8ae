"""Memory planning for the Numba backend: output buffers are reused across runs.

Every kernel output comes from ``BufferPool.take``. The pool keeps the arrays it hands
out and gives one out again only when nothing else refers to it (its reference count
is the pool's own), so intermediates that died with the previous run, and fetched
results the caller has dropped, are reused without page faults, while anything still
held (by the caller, a view, a variable) is never overwritten. After the first run
of a training step, its kernels allocate nothing.
"""

from __future__ import annotations

import sys

import numpy as np

# References an idle pooled array has while take() scans it: the bucket, the loop
# variable and getrefcount's own argument.
_IDLE_REFCOUNT = 3
_MAX_PER_SHAPE = 8


class BufferPool:
    """Reusable arrays per (shape, dtype)."""

    def __init__(self):
        self._buckets: dict = {}
        self.allocations = 0
        self.reuses = 0

    def take(self, shape, dtype) -> np.ndarray:
        """An uninitialized array of ``shape`` and ``dtype``, reused when one is idle."""
        key = (shape, dtype)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = []
        for array in bucket:
            if sys.getrefcount(array) == _IDLE_REFCOUNT:
                self.reuses += 1
                return array
        array = np.empty(shape, dtype)
        self.allocations += 1
        if len(bucket) < _MAX_PER_SHAPE:
            bucket.append(array)
        return array

    def clear(self):
        self._buckets.clear()

    def nbytes(self) -> int:
        return sum(a.nbytes for bucket in self._buckets.values() for a in bucket)
