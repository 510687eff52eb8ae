"""graphdl.datasets: the bundled digits, the deterministic split and the synthetic problems."""

import numpy as np
import pytest

from graphdl.datasets import load_digits, make_linear_regression, make_xor, train_test_split


def test_load_digits_shapes_dtypes_and_range():
    images, labels = load_digits()
    assert images.shape == (1797, 64) and images.dtype == np.float32
    assert labels.shape == (1797,) and labels.dtype == np.int64
    assert images.min() == 0.0 and images.max() == 1.0
    # pixel counts 0..16 scaled by 1/16
    np.testing.assert_array_equal(np.unique(images * 16), np.arange(17, dtype=np.float32))
    np.testing.assert_array_equal(np.bincount(labels), [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])
    np.testing.assert_array_equal(labels[:10], np.arange(10))
    # the first image is a zero: a ring of ink around an empty centre
    first = (images[0] * 16).reshape(8, 8)
    np.testing.assert_array_equal(first[0], [0, 0, 5, 13, 9, 1, 0, 0])
    assert first[3:5, 3:5].sum() == 0


def test_load_digits_one_hot_and_fresh_copies():
    images, one_hot = load_digits(one_hot=True)
    _, labels = load_digits()
    assert one_hot.shape == (1797, 10) and one_hot.dtype == np.float32
    np.testing.assert_array_equal(one_hot.argmax(axis=1), labels)
    np.testing.assert_array_equal(one_hot.sum(axis=1), np.ones(1797))
    images[:] = -1
    labels[:] = -1
    again_images, again_labels = load_digits()
    assert again_images.min() == 0.0 and again_labels.min() == 0


def test_train_test_split_is_deterministic_partition():
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_fraction=0.3, seed=7)
    assert x_train.shape == (7, 2) and x_test.shape == (3, 2)
    assert sorted(np.concatenate([y_train, y_test]).tolist()) == list(range(10))
    np.testing.assert_array_equal(x_train[:, 0], 2 * y_train)
    np.testing.assert_array_equal(x_test[:, 0], 2 * y_test)
    again = train_test_split(x, y, test_fraction=0.3, seed=7)
    for a, b in zip((x_train, x_test, y_train, y_test), again):
        np.testing.assert_array_equal(a, b)
    other = train_test_split(x, y, test_fraction=0.3, seed=8)
    assert not np.array_equal(other[3], y_test)


def test_train_test_split_digits_default_sizes():
    images, labels = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(images, labels)
    assert len(x_train) == 1438 and len(x_test) == 359
    assert len(y_train) == 1438 and len(y_test) == 359
    assert set(np.unique(y_test)) == set(range(10))


@pytest.mark.parametrize("kwargs, message", [
    ({"test_fraction": 0.0}, "test_fraction must be in"),
    ({"test_fraction": 1.0}, "test_fraction must be in"),
])
def test_train_test_split_rejects_bad_fraction(kwargs, message):
    with pytest.raises(ValueError, match=message):
        train_test_split(np.zeros((4, 1)), np.zeros(4), **kwargs)


def test_train_test_split_rejects_mismatched_rows():
    with pytest.raises(ValueError, match="x has 4 rows but y has 3"):
        train_test_split(np.zeros((4, 1)), np.zeros(3))


def test_make_linear_regression_follows_the_weights():
    x, y = make_linear_regression(500, weights=[1.0, -2.0], bias=0.5, noise=0.0, seed=3)
    assert x.shape == (500, 2) and y.shape == (500, 1)
    assert x.dtype == np.float32 and y.dtype == np.float32
    np.testing.assert_allclose(y[:, 0], x @ np.array([1.0, -2.0], np.float32) + 0.5, rtol=1e-5, atol=1e-5)
    x_noisy, y_noisy = make_linear_regression(500, weights=[1.0, -2.0], bias=0.5, noise=0.1, seed=3)
    residual = y_noisy[:, 0] - (x_noisy @ np.array([1.0, -2.0], np.float32) + 0.5)
    assert 0.08 < residual.std() < 0.12
    np.testing.assert_array_equal(make_linear_regression(seed=1)[0], make_linear_regression(seed=1)[0])


def test_make_xor_truth_table():
    x, y = make_xor()
    np.testing.assert_array_equal(y[:, 0], np.logical_xor(x[:, 0], x[:, 1]).astype(np.float32))
    assert x.shape == (4, 2) and y.shape == (4, 1)
