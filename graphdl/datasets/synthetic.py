"""Small synthetic data sets with known answers, for examples and tests."""

from __future__ import annotations

import numpy as np

__all__ = ["make_linear_regression", "make_xor", "train_test_split"]


def make_linear_regression(num_samples: int = 256, weights=(2.0, -3.5, 0.5), bias: float = 1.25,
                           noise: float = 0.01, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Samples ``y = x @ weights + bias + noise * N(0, 1)`` with ``x ~ N(0, 1)``.

    Returns ``(x, y)``: float32 arrays of shapes (num_samples, len(weights)) and (num_samples, 1).
    Deterministic for a given ``seed``.
    """
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((num_samples, w.size))
    y = x @ w + bias + noise * rng.standard_normal(num_samples)
    return x.astype(np.float32), y.reshape(-1, 1).astype(np.float32)


def make_xor() -> tuple[np.ndarray, np.ndarray]:
    """The four XOR cases: ``x`` float32 (4, 2) in {0, 1}, ``y`` float32 (4, 1) = x0 xor x1."""
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.array([[0], [1], [1], [0]], dtype=np.float32)
    return x, y


def train_test_split(x, y, test_fraction: float = 0.2, seed: int = 0):
    """Shuffle ``(x, y)`` deterministically by ``seed`` and split off ``test_fraction`` of the rows.

    Returns ``(x_train, x_test, y_train, y_test)`` (scikit-learn's order). The test part has
    ``round(n * test_fraction)`` rows, at least one and at most ``n - 1``.
    """
    x, y = np.asarray(x), np.asarray(y)
    n = x.shape[0]
    if y.shape[0] != n:
        raise ValueError(f"train_test_split: x has {n} rows but y has {y.shape[0]}; they must match")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"train_test_split: test_fraction must be in (0, 1), got {test_fraction}")
    if n < 2:
        raise ValueError(f"train_test_split: need at least 2 rows to split, got {n}")
    num_test = min(max(round(n * test_fraction), 1), n - 1)
    order = np.random.default_rng(seed).permutation(n)
    test, train = order[:num_test], order[num_test:]
    return x[train], x[test], y[train], y[test]
