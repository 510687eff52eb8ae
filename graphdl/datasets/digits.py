"""The UCI handwritten-digits data set (8x8 images, 10 classes), bundled with graphdl.

Source: E. Alpaydin and C. Kaynak (1998), "Optical Recognition of Handwritten Digits",
UCI Machine Learning Repository, https://archive.ics.uci.edu/dataset/80
(doi:10.24432/C50P49). Licence: CC BY 4.0. The bundled file ``data/digits.csv.gz`` is the
1797-sample copy that scikit-learn redistributes; see ``graphdl/datasets/README.md``.
"""

from __future__ import annotations

import functools
import gzip
import os

import numpy as np

__all__ = ["DIGITS_PATH", "NUM_CLASSES", "NUM_FEATURES", "load_digits"]

DIGITS_PATH = os.path.join(os.path.dirname(__file__), "data", "digits.csv.gz")
NUM_FEATURES = 64
NUM_CLASSES = 10


@functools.lru_cache(maxsize=1)
def _read_digits_csv() -> tuple[np.ndarray, np.ndarray]:
    with gzip.open(DIGITS_PATH, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    if table.shape != (1797, NUM_FEATURES + 1):
        raise ValueError(f"{DIGITS_PATH}: expected a 1797x65 table, got shape {table.shape}")
    return table[:, :NUM_FEATURES], table[:, NUM_FEATURES]


def load_digits(one_hot: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Load the 1797 handwritten 8x8 digit images.

    Returns ``(images, labels)``: ``images`` is float32 of shape (1797, 64) with the 0..16
    pixel counts scaled to [0, 1] (row-major 8x8), ``labels`` is int64 of shape (1797,) with
    values 0..9, or float32 of shape (1797, 10) when ``one_hot=True``. Fresh arrays each call.
    """
    pixels, labels = _read_digits_csv()
    images = pixels.astype(np.float32) / np.float32(16.0)
    if one_hot:
        return images, np.eye(NUM_CLASSES, dtype=np.float32)[labels]
    return images, labels.copy()
