"""Small bundled and synthetic data sets for examples, demos and tests (NumPy only).

- ``load_digits()``: UCI handwritten digits, 1797 8x8 images (CC BY 4.0, Alpaydin & Kaynak 1998).
- ``train_test_split(x, y, test_fraction=0.2, seed=0)``: deterministic shuffled split.
- ``make_linear_regression(...)``, ``make_xor()``: synthetic problems with known answers.
"""

from graphdl.datasets.digits import DIGITS_PATH, NUM_CLASSES, NUM_FEATURES, load_digits
from graphdl.datasets.synthetic import make_linear_regression, make_xor, train_test_split

__all__ = [
    "DIGITS_PATH", "NUM_CLASSES", "NUM_FEATURES", "load_digits", "make_linear_regression", "make_xor",
    "train_test_split",
]
