"""TF1's candidate samplers (uniform, log-uniform, fixed unigram, all) and ``compute_accidental_hits``.

A sampler op draws ``num_sampled`` class ids from ``[0, range_max)`` and returns them with the
expected number of times each true class and each sampled class would be drawn, as TF's
``RangeSampler`` computes them: ``p * num_sampled`` when sampling with replacement, and
``1 - (1 - p) ** num_tries`` for ``unique=True`` (``num_tries``: draws it took to find
``num_sampled`` distinct ids). Draws follow TF1's seed rule (``set_random_seed`` and ``seed``)
but not TF's random stream.
"""

from __future__ import annotations

import numpy as np

from graphdl import dtypes, errors
from graphdl.framework.op_def import define_op
from graphdl.framework.ops import convert_to_tensor, make_op
from graphdl.ops.random_ops import get_seed

__all__ = [
    "all_candidate_sampler", "compute_accidental_hits", "fixed_unigram_candidate_sampler",
    "log_uniform_candidate_sampler", "uniform_candidate_sampler",
]


# -- the distributions ------------------------------------------------------------------------------------------
def _log_uniform(attrs):
    """Zipfian ids: P(id) = log((id + 2) / (id + 1)) / log(range_max + 1); returns (draw, probability)."""
    log_range = np.log(attrs["range_max"] + 1.0)

    def draw(rng, size):
        return (np.exp(rng.random(size) * log_range) - 1.0).astype(np.int64) % attrs["range_max"]

    return draw, lambda ids: np.log((ids + 2.0) / (ids + 1.0)) / log_range


def _uniform(attrs):
    n = attrs["range_max"]
    return (lambda rng, size: rng.integers(0, n, size, dtype=np.int64)), (lambda ids: np.full(np.shape(ids), 1.0 / n))


def unigram_weights(attrs) -> np.ndarray:
    """The fixed unigram sampler's weights: reserved ids weigh 0, then ``count ** distortion``, this shard's only."""
    counts = list(attrs["unigrams"])
    if attrs["vocab_file"]:
        with open(attrs["vocab_file"]) as f:
            counts = [float(line.rstrip("\n").split(",")[-1]) for line in f if line.strip()]
    ids = np.arange(attrs["num_reserved_ids"] + len(counts))
    weights = np.concatenate([np.zeros(attrs["num_reserved_ids"]),
                              np.power(np.asarray(counts, np.float64), attrs["distortion"])])
    return weights[ids % attrs["num_shards"] == attrs["shard"]]


def _fixed_unigram(attrs):
    weights = unigram_weights(attrs)
    total = weights.sum()
    cumulative = np.cumsum(weights) / total

    def draw(rng, size):
        return np.minimum(np.searchsorted(cumulative, rng.random(size), side="right"), len(weights) - 1).astype(np.int64)

    def probability(ids):
        ids = np.asarray(ids)
        inside = (ids >= 0) & (ids < len(weights))
        return np.where(inside, weights[np.clip(ids, 0, len(weights) - 1)] / total, 0.0)

    return draw, probability


_DISTRIBUTIONS = {
    "UniformCandidateSampler": _uniform,
    "LogUniformCandidateSampler": _log_uniform,
    "FixedUnigramCandidateSampler": _fixed_unigram,
}


def _draw_candidates(rng, draw, num_sampled, unique):
    """``num_sampled`` draws (distinct ones if ``unique``) and the number of draws it took."""
    if not unique:
        return draw(rng, num_sampled), num_sampled
    picked, used, tries = [], set(), 0
    while len(picked) < num_sampled:
        for value in draw(rng, max(2 * (num_sampled - len(picked)), 16)).tolist():
            tries += 1
            if value not in used:
                used.add(value)
                picked.append(value)
                if len(picked) == num_sampled:
                    break
    return np.asarray(picked, np.int64), tries


def _expected_count(p, num_sampled, num_tries):
    if num_tries == num_sampled:
        return p * num_sampled
    return -np.expm1(num_tries * np.log1p(-p))


def _sampler_kernel(ctx, true_classes):
    attrs = ctx.attrs
    _check_true_classes(ctx, true_classes)
    num_sampled = attrs["num_sampled"]
    if attrs["unique"] and num_sampled > attrs["range_max"]:
        raise errors.InvalidArgumentError(
            None, ctx.op, f"{ctx.op.type} '{ctx.op.name}': Sampler's range is too small: {num_sampled} unique "
                          f"candidates requested from range_max={attrs['range_max']}")
    draw, probability = _DISTRIBUTIONS[ctx.op.type](attrs)
    sampled, tries = _draw_candidates(ctx.state.rng_for(ctx.op), draw, num_sampled, attrs["unique"])
    true_expected = _expected_count(probability(true_classes), num_sampled, tries)
    sampled_expected = _expected_count(probability(sampled), num_sampled, tries)
    return sampled, true_expected.astype(np.float32), sampled_expected.astype(np.float32)


def _all_kernel(ctx, true_classes):
    _check_true_classes(ctx, true_classes)
    n = ctx.attrs["num_sampled"]
    return (np.arange(n, dtype=np.int64), np.ones(true_classes.shape, np.float32), np.ones(n, np.float32))


def _check_true_classes(ctx, true_classes):
    if true_classes.ndim != 2 or true_classes.shape[1] != ctx.attrs["num_true"]:
        raise errors.InvalidArgumentError(
            None, ctx.op, f"{ctx.op.type} '{ctx.op.name}': true_classes must be a matrix with num_true="
                          f"{ctx.attrs['num_true']} columns, got shape {list(true_classes.shape)}")


def _infer_sampler(op):
    true_classes = op.inputs[0]
    if true_classes.dtype != dtypes.int64:
        raise TypeError(f"{op.type}: true_classes '{true_classes.name}' must be int64, got {true_classes.dtype.name}; "
                        "cast it with graphdl.cast(..., graphdl.int64)")
    dims = true_classes.shape.as_tuple()
    num_true = op.attrs["num_true"]
    if dims is not None and (len(dims) != 2 or dims[1] not in (None, num_true)):
        raise ValueError(f"{op.type} '{op.name}': true_classes must be a matrix [batch_size, num_true={num_true}], "
                         f"got shape {true_classes.shape}")
    n = op.attrs["num_sampled"]
    return [((n,), dtypes.int64), ((dims[0] if dims else None, num_true), dtypes.float32), ((n,), dtypes.float32)]


for _op_type in _DISTRIBUTIONS:
    define_op(_op_type, infer=_infer_sampler, kernel=_sampler_kernel, not_differentiable=True, stateful=True)
define_op("AllCandidateSampler", infer=_infer_sampler, kernel=_all_kernel, not_differentiable=True, stateful=True)


def _int64_input(value, what, op_type):
    """``value`` as an int64 tensor; TypeError (as TF1 raises) for a tensor of another dtype."""
    t = convert_to_tensor(value, dtype_hint=dtypes.int64, name=what)
    if t.dtype != dtypes.int64:
        raise TypeError(f"{op_type}: {what} '{t.name}' must be int64, got {t.dtype.name}; cast it with "
                        "graphdl.cast(..., graphdl.int64)")
    return t


def _sampler(op_type, true_classes, num_true, num_sampled, unique, range_max, seed, name, **extra):
    if int(num_sampled) < 1 or int(range_max) < 1 or int(num_true) < 1:
        raise ValueError(f"{op_type}: num_true, num_sampled and range_max must be at least 1, got {num_true}, "
                         f"{num_sampled}, {range_max}")
    seed1, seed2 = get_seed(seed)
    attrs = {"num_true": int(num_true), "num_sampled": int(num_sampled), "unique": bool(unique),
             "range_max": int(range_max), "seed": seed1 or 0, "seed2": seed2 or 0, **extra}
    op = make_op(op_type, [_int64_input(true_classes, "true_classes", op_type)], attrs, name=name or op_type)
    return tuple(op.outputs)


def uniform_candidate_sampler(true_classes, num_true, num_sampled, unique, range_max, seed=None, name=None):
    """Sample ``num_sampled`` ids uniformly from ``[0, range_max)``.

    Returns ``(sampled_candidates [num_sampled] int64, true_expected_count [batch, num_true],
    sampled_expected_count [num_sampled])``; ``true_classes`` is an int64 ``[batch, num_true]`` matrix.
    """
    return _sampler("UniformCandidateSampler", true_classes, num_true, num_sampled, unique, range_max, seed, name)


def log_uniform_candidate_sampler(true_classes, num_true, num_sampled, unique, range_max, seed=None, name=None):
    """Sample ids from the log-uniform (Zipfian) distribution over ``[0, range_max)``: small ids are frequent.

    For vocabularies sorted by decreasing frequency. Returns the same triple as
    :func:`uniform_candidate_sampler`.
    """
    return _sampler("LogUniformCandidateSampler", true_classes, num_true, num_sampled, unique, range_max, seed, name)


def fixed_unigram_candidate_sampler(true_classes, num_true, num_sampled, unique, range_max, vocab_file="",
                                    distortion=1.0, num_reserved_ids=0, num_shards=1, shard=0, unigrams=(),
                                    seed=None, name=None):
    """Sample ids in proportion to ``unigrams[id] ** distortion`` (or the counts in the last CSV column of
    ``vocab_file``); the first ``num_reserved_ids`` ids are never drawn. With ``num_shards`` > 1 only ids with
    ``id % num_shards == shard`` are kept, and the result indexes that shard's ids.
    """
    if not 0 <= shard < num_shards:
        raise ValueError(f"fixed_unigram_candidate_sampler: shard must be in [0, {num_shards}), got {shard}")
    attrs = {"vocab_file": vocab_file, "distortion": float(distortion), "num_reserved_ids": int(num_reserved_ids),
             "num_shards": int(num_shards), "shard": int(shard), "unigrams": tuple(float(u) for u in unigrams)}
    if bool(vocab_file) == bool(attrs["unigrams"]):
        raise ValueError("fixed_unigram_candidate_sampler: pass exactly one of vocab_file and unigrams")
    size = len(unigram_weights(attrs))
    if size != int(range_max):
        raise ValueError(f"fixed_unigram_candidate_sampler: range_max={range_max} must equal the number of ids in "
                         f"this shard ({size}: num_reserved_ids plus the unigram counts)")
    return _sampler("FixedUnigramCandidateSampler", true_classes, num_true, num_sampled, unique, range_max, seed,
                    name, **attrs)


def all_candidate_sampler(true_classes, num_true, num_sampled, unique, seed=None, name=None):
    """The ids ``0 .. num_sampled - 1``, each with expected count 1 (for testing full softmax against samplers)."""
    return _sampler("AllCandidateSampler", true_classes, num_true, num_sampled, unique, num_sampled, seed, name)


# -- ComputeAccidentalHits ------------------------------------------------------------------------------------
def _accidental_hits_kernel(ctx, true_classes, sampled):
    _check_true_classes(ctx, true_classes)
    position = {int(c): i for i, c in enumerate(sampled.tolist())}  # a repeated candidate: its last position
    rows, ids = [], []
    for i, row in enumerate(true_classes.tolist()):
        for c in row:
            if c in position:
                rows.append(i)
                ids.append(position[c])
    weights = np.full(len(rows), -np.finfo(np.float32).max, np.float32)
    return np.asarray(rows, np.int32), np.asarray(ids, np.int64), weights


def _infer_accidental_hits(op):
    true_classes, sampled = op.inputs
    for t, what in ((true_classes, "true_classes"), (sampled, "sampled_candidates")):
        if t.dtype != dtypes.int64:
            raise TypeError(f"ComputeAccidentalHits: {what} '{t.name}' must be int64, got {t.dtype.name}")
    return [((None,), dtypes.int32), ((None,), dtypes.int64), ((None,), dtypes.float32)]


define_op("ComputeAccidentalHits", infer=_infer_accidental_hits, kernel=_accidental_hits_kernel,
          not_differentiable=True)


def compute_accidental_hits(true_classes, sampled_candidates, num_true, seed=None, name=None):
    """Where a sampled candidate equals one of a row's true classes: ``(indices, ids, weights)``.

    ``indices`` (int32) are rows of ``true_classes``, ``ids`` (int64) positions in
    ``sampled_candidates``, ``weights`` -FLT_MAX, to add to those sampled logits.
    """
    seed1, seed2 = get_seed(seed)
    attrs = {"num_true": int(num_true), "seed": seed1 or 0, "seed2": seed2 or 0}
    inputs = [_int64_input(true_classes, "true_classes", "ComputeAccidentalHits"),
              _int64_input(sampled_candidates, "sampled_candidates", "ComputeAccidentalHits")]
    op = make_op("ComputeAccidentalHits", inputs, attrs, name=name or "ComputeAccidentalHits")
    return tuple(op.outputs)
