"""TF's default histogram layout (tensorflow/core/lib/histogram/histogram.cc), so TensorBoard draws histograms right.

Bucket limits grow by 10% from 1e-12 to 1e20, mirrored for negative values, with 0 in the
middle and +-DBL_MAX at the ends. A value ``v`` falls in the first bucket whose limit is
greater than ``v`` (``upper_bound``). When encoded, each run of empty buckets collapses into
one entry holding the run's last limit.
"""

from __future__ import annotations

import functools
import sys

import numpy as np

DBL_MAX = sys.float_info.max


@functools.cache
def default_bucket_limits() -> np.ndarray:
    """TF's default bucket limits, float64, increasing (-DBL_MAX ... 0 ... DBL_MAX)."""
    positive = []
    v = 1.0e-12
    while v < 1.0e20:  # the same float64 products as histogram.cc's loop
        positive.append(v)
        v *= 1.1
    positive.append(DBL_MAX)
    limits = np.array([-x for x in reversed(positive)] + [0.0] + positive, dtype=np.float64)
    limits.setflags(write=False)
    return limits


def histogram_fields(values: np.ndarray) -> dict:
    """The HistogramProto fields of ``values`` (any shape, finite), as TF's Histogram::EncodeToProto writes them.

    Returns a dict with ``min``, ``max``, ``num``, ``sum``, ``sum_squares``, ``bucket_limit``, ``bucket``.
    """
    limits = default_bucket_limits()
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    index = np.minimum(np.searchsorted(limits, v, side="right"), len(limits) - 1)
    counts = np.bincount(index, minlength=len(limits)).astype(np.float64)
    # Keep non-empty buckets and the last bucket of each run of empty ones.
    empty = counts == 0
    next_empty = np.append(empty[1:], False)
    keep = ~empty | ~next_empty
    return {
        "min": float(v.min()) if v.size else DBL_MAX,
        "max": float(v.max()) if v.size else -DBL_MAX,
        "num": float(v.size),
        "sum": float(v.sum()),
        "sum_squares": float(np.dot(v, v)),
        "bucket_limit": limits[keep].tolist(),
        "bucket": counts[keep].tolist(),
    }
