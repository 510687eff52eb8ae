"""The ``tf.random`` namespace: ``graphdl.random.normal``, ``uniform``, ``categorical``, ``set_random_seed`` ...

The same functions as the top-level TF1 names (``random_normal``, ``random_uniform`` ...),
with TF1's seed rule (see :func:`graphdl.ops.random_ops.get_seed`).
"""

from __future__ import annotations

from graphdl.ops.candidate_sampling_ops import (
    all_candidate_sampler,
    fixed_unigram_candidate_sampler,
    log_uniform_candidate_sampler,
    uniform_candidate_sampler,
)
from graphdl.ops.random_ops import (
    DEFAULT_GRAPH_SEED,
    categorical,
    get_seed,
    multinomial,
    random_gamma,
    random_normal,
    random_poisson,
    random_shuffle,
    random_uniform,
    set_random_seed,
    truncated_normal,
)

__all__ = [
    "DEFAULT_GRAPH_SEED",
    "all_candidate_sampler",
    "categorical",
    "fixed_unigram_candidate_sampler",
    "gamma",
    "get_seed",
    "log_uniform_candidate_sampler",
    "multinomial",
    "normal",
    "poisson",
    "set_random_seed",
    "set_seed",
    "shuffle",
    "truncated_normal",
    "uniform",
    "uniform_candidate_sampler",
]

normal = random_normal
uniform = random_uniform
shuffle = random_shuffle
gamma = random_gamma
poisson = random_poisson


def set_seed(seed):
    """TF2's name for :func:`set_random_seed`: sets the default graph's random seed."""
    set_random_seed(seed)
