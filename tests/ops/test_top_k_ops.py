"""tf.nn.top_k (TopKV2) and tf.nn.in_top_k (InTopKV2): values, tie order, gradients, TF1's names and errors."""

import numpy as np
import pytest
from harness import OpCase, make_op_tests, randn

import graphdl
import graphdl.compat.v1 as tf


def np_top_k(x, k):
    """Oracle: a Python sort per row by (-value, index)."""
    rows = x.reshape(-1, x.shape[-1])
    idx = np.array([sorted(range(len(r)), key=lambda j: (-r[j], j))[:k] for r in rows], dtype=np.int32)
    idx = idx.reshape(x.shape[:-1] + (k,))
    return [np.take_along_axis(x, idx, -1), idx]


def np_in_top_k(p, t, k):
    out = []
    for row, target in zip(p, t):
        if not 0 <= target < len(row) or not np.all(np.isfinite(row)):
            out.append(False)
        else:
            out.append(int(np.sum(row > row[target])) < k)
    return np.array(out)


TIES = np.array([[1, 3, 3, 2, 0], [5, 5, 5, 1, 9], [0, 0, 0, 0, 0]], np.float32)
SCORES = np.array([[1, 2, 2, 0], [1, 2, 3, 4], [np.nan, 1, 2, 3], [1, 1, 1, 1], [0, 5, np.inf, 1], [4, 3, 2, 1]],
                  np.float32)
TARGETS = np.array([1, 0, 3, 2, 1, 9], np.int32)

CASES = [
    OpCase("top_k_default_k", lambda x: list(graphdl.nn.top_k(x)), [randn(3, 5)], lambda x: np_top_k(x, 1)),
    OpCase("top_k_3", lambda x: list(graphdl.nn.top_k(x, 3)), [randn(4, 6)], lambda x: np_top_k(x, 3)),
    OpCase("top_k_vector", lambda x: list(graphdl.nn.top_k(x, k=4)), [randn(7)], lambda x: np_top_k(x, 4)),
    OpCase("top_k_rank3_all", lambda x: list(graphdl.math.top_k(x, 5, sorted=False)), [randn(2, 3, 5)],
           lambda x: np_top_k(x, 5)),
    OpCase("top_k_zero", lambda x: list(graphdl.nn.top_k(x, 0)), [randn(2, 3)], lambda x: np_top_k(x, 0)),
    OpCase("top_k_ties_lower_index_first", lambda x: list(graphdl.nn.top_k(x, 3)), [TIES], lambda x: np_top_k(x, 3),
           grad=False),
    OpCase("top_k_int32", lambda x: list(graphdl.nn.top_k(x, 2)), [np.array([[3, -1, 7, 7], [0, 2, 2, -5]], np.int32)],
           lambda x: np_top_k(x, 2), grad=False),
    OpCase("top_k_tensor_k", lambda x, k: list(graphdl.nn.top_k(x, k)), [randn(3, 4), np.array(2, np.int32)],
           lambda x, k: np_top_k(x, 2)),
    OpCase("in_top_k", lambda p, t: graphdl.nn.in_top_k(p, t, 2), [SCORES, TARGETS],
           lambda p, t: np_in_top_k(p, t, 2), grad=False),
    OpCase("in_top_k_1_int64", lambda p, t: graphdl.math.in_top_k(p, t, 1), [SCORES, TARGETS.astype(np.int64)],
           lambda p, t: np_in_top_k(p, t, 1), grad=False),
    OpCase("in_top_k_random", lambda p, t: graphdl.nn.in_top_k(p, t, 3), [randn(20, 10), np.arange(20, dtype=np.int32) % 10],
           lambda p, t: np_in_top_k(p, t, 3), grad=False),
]

test_forward, test_gradient = make_op_tests(CASES)


def test_tf1_names_and_result_type():
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [None, 10])
        result = tf.nn.top_k(x, k=3)
        assert type(result).__name__ == "TopKV2"
        assert result.values.name == "TopKV2:0" and result.indices.name == "TopKV2:1"
        assert result.values.shape.as_list() == [None, 3] and result.indices.dtype == tf.int32
        named = tf.nn.top_k(x, 2, name="best")
        assert named.indices.name == "best:1"
        hit = tf.nn.in_top_k(x, tf.placeholder(tf.int32, [None]), 5)
        assert hit.name == "in_top_k/InTopKV2:0" and hit.dtype == tf.bool and hit.shape.as_list() == [None]


def test_gradient_goes_to_the_selected_positions_with_ties():
    graph = tf.Graph()
    with graph.as_default():
        x = tf.constant(TIES)
        values, _ = tf.nn.top_k(x, 2)
        grad = tf.gradients(values * tf.constant([[1.0, 10.0]]), x)[0]
        with tf.Session() as sess:
            got = sess.run(grad)
    want = np.zeros_like(TIES)
    for row, idx in enumerate(np_top_k(TIES, 2)[1]):
        want[row, idx] = [1.0, 10.0]
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(want[0], [0, 1, 10, 0, 0])


def test_bad_k_is_an_error_naming_the_op():
    graph = tf.Graph()
    with graph.as_default():
        with pytest.raises(ValueError, match="at least k=4 columns"):
            tf.nn.top_k(tf.zeros([2, 3]), 4)
        with pytest.raises(ValueError, match="need k >= 0"):
            tf.nn.top_k(tf.zeros([2, 3]), -1)
        with pytest.raises(TypeError, match="int64"):
            tf.nn.top_k(tf.zeros([2, 3]), tf.constant(1, tf.int64))
        with pytest.raises(ValueError, match="must be at least 1-D"):
            tf.nn.top_k(tf.constant(1.0), 1)
        k = tf.placeholder(tf.int32, [])
        values, _ = tf.nn.top_k(tf.zeros([2, 3]), k)
        with tf.Session() as sess, pytest.raises(graphdl.errors.InvalidArgumentError, match="Had 3, needed 5"):
            sess.run(values, {k: 5})
