"""Data for the TF1-style scripts, with NumPy only (so the same scripts run under TensorFlow for comparison).

``digits()`` reads the UCI handwritten digits bundled with graphdl (1797 8x8 images, CC BY 4.0)
straight from the CSV file; ``one_hot`` and ``batches`` are the usual tutorial helpers.
"""

import gzip
import os

import numpy as np

DIGITS_CSV = os.path.join(os.path.dirname(__file__), "..", "..", "graphdl", "datasets", "data", "digits.csv.gz")


def digits(test_fraction=0.2, seed=0):
    """(x_train, y_train, x_test, y_test): images scaled to [0, 1] as [N, 64] float32, labels int64."""
    with gzip.open(DIGITS_CSV, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float32)
    x, y = table[:, :64] / 16.0, table[:, 64].astype(np.int64)
    order = np.random.RandomState(seed).permutation(len(x))
    x, y = x[order], y[order]
    n_test = int(len(x) * test_fraction)
    return x[n_test:], y[n_test:], x[:n_test], y[:n_test]


def one_hot(labels, depth=10):
    """[N] integer labels -> [N, depth] float32 one-hot rows."""
    out = np.zeros((len(labels), depth), np.float32)
    out[np.arange(len(labels)), labels] = 1
    return out


def batches(n, batch_size, epochs, seed=0):
    """Index arrays of shuffled mini-batches, ``epochs`` passes over ``n`` examples."""
    rng = np.random.RandomState(seed)
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n - batch_size + 1, batch_size):
            yield order[start:start + batch_size]


def report(**metrics):
    """Print the final metrics as one machine-readable line (compare_with_tensorflow.py reads it)."""
    print("RESULT " + " ".join(f"{k}={float(v):.6g}" for k, v in metrics.items()))
