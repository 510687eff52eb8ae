"""tf.unique, tf.unique_with_counts, tf.dynamic_partition, tf.dynamic_stitch: NumPy oracles and TF1's gradients."""

import numpy as np
import pytest
from harness import OpCase, make_op_tests, randn

import graphdl
import graphdl.compat.v1 as tf

I32 = np.int32


def np_unique(x, out_idx=np.int32):
    order, seen = [], {}
    idx = []
    for v in x.tolist():
        if v not in seen:
            seen[v] = len(order)
            order.append(v)
        idx.append(seen[v])
    counts = np.bincount(idx, minlength=len(order))
    return np.array(order, x.dtype), np.array(idx, out_idx), counts.astype(out_idx)


def np_partition(data, parts, n):
    flat = data.reshape((parts.size,) + data.shape[parts.ndim:])
    return [flat[parts.reshape(-1) == i] for i in range(n)]


def np_stitch(indices, data):
    rows = max(int(np.max(i)) for i in indices) + 1
    inner = data[0].shape[indices[0].ndim:]
    out = np.zeros((rows,) + inner, data[0].dtype)
    for idx, d in zip(indices, data):
        for pos, row in zip(idx.reshape(-1), d.reshape((-1,) + inner)):
            out[pos] = row
    return out


PARTS = np.array([[0, 2], [1, 0], [2, 2]], I32)
X = np.array([4, 1, 4, 7, 1, 1, 9], np.int64)

CASES = [
    OpCase("unique", lambda x: list(tf.unique(x)), [X], lambda x: list(np_unique(x)[:2]), grad=False),
    OpCase("unique_float_int64_idx", lambda x: list(tf.unique(x, out_idx=tf.int64)),
           [np.array([0.5, -1.0, 0.5, 3.0], np.float32)], lambda x: list(np_unique(x, np.int64)[:2]), grad=False),
    OpCase("unique_with_counts", lambda x: list(tf.unique_with_counts(x)), [X], lambda x: list(np_unique(x)),
           grad=False),
    OpCase("dynamic_partition_vector", lambda x, p: tf.dynamic_partition(x, p, 3),
           [randn(6), np.array([2, 0, 0, 1, 2, 2], I32)], lambda x, p: np_partition(x, p, 3)),
    OpCase("dynamic_partition_rows", lambda x, p: tf.dynamic_partition(x, p, 3), [randn(3, 2, 4), PARTS],
           lambda x, p: np_partition(x, p, 3)),
    OpCase("dynamic_partition_empty_part", lambda x, p: tf.dynamic_partition(x, p, 4),
           [randn(4, 2), np.array([0, 3, 0, 3], I32)], lambda x, p: np_partition(x, p, 4)),
    OpCase("dynamic_stitch", lambda a, b, i, j: tf.dynamic_stitch([i, j], [a, b]),
           [randn(3, 2), randn(2, 2, seed=1), np.array([0, 4, 2], I32), np.array([1, 3], I32)],
           lambda a, b, i, j: np_stitch([i, j], [a, b])),
    OpCase("dynamic_stitch_2d_indices", lambda a, b, i, j: tf.dynamic_stitch([i, j], [a, b]),
           [randn(2, 2, 3), randn(1, 3, seed=1), np.array([[5, 1], [0, 3]], I32), np.array([2], I32)],
           lambda a, b, i, j: np_stitch([i, j], [a, b])),
    OpCase("dynamic_stitch_later_wins_and_gaps", lambda a, b, i, j: tf.dynamic_stitch([i, j], [a, b]),
           [randn(3), randn(2, seed=1), np.array([0, 4, 2], I32), np.array([4, 6], I32)],
           lambda a, b, i, j: np_stitch([i, j], [a, b]), grad=False),
    OpCase("partition_then_stitch_roundtrip",
           lambda x, p: tf.dynamic_stitch(tf.dynamic_partition(tf.range(tf.size(p)), p, 2),
                                          tf.dynamic_partition(x, p, 2)),
           [randn(5, 3), np.array([1, 0, 1, 1, 0], I32)], lambda x, p: x),
]

test_forward, test_gradient = make_op_tests(CASES)


def test_static_shapes_and_names():
    with tf.Graph().as_default():
        y, idx = tf.unique(tf.placeholder(tf.int32, [7]))
        assert (y.name, idx.name) == ("Unique:0", "Unique:1")
        assert y.shape.as_list() == [None] and idx.shape.as_list() == [7]
        parts = tf.dynamic_partition(tf.placeholder(tf.float32, [None, 2, 5]), tf.placeholder(tf.int32, [None, 2]), 2)
        assert [p.shape.as_list() for p in parts] == [[None, 5], [None, 5]]
        merged = tf.dynamic_stitch([[0, 2], [1]], [tf.zeros([2, 3]), tf.ones([1, 3])])
        assert merged.shape.as_list() == [3, 3]


def test_dynamic_stitch_gradient_follows_tf_for_overwritten_slices():
    with tf.Graph().as_default():
        a, b = tf.constant([1.0, 2.0]), tf.constant([3.0])
        merged = tf.dynamic_stitch([[0, 1], [1]], [a, b])
        grads = tf.gradients(merged * tf.constant([10.0, 20.0]), [a, b])
        with tf.Session() as sess:
            got_merged, (ga, gb) = sess.run([merged, grads])
    np.testing.assert_array_equal(got_merged, [1.0, 3.0])
    # TF's gradient is a gather at each slice's index, so the overwritten a[1] also receives 20.
    np.testing.assert_array_equal(ga, [10.0, 20.0])
    np.testing.assert_array_equal(gb, [20.0])


def test_errors_name_the_bad_entry():
    with tf.Graph().as_default():
        p = tf.placeholder(tf.int32, [None])
        parts = tf.dynamic_partition(tf.zeros([3]), p, 2)
        with pytest.raises(TypeError, match="int64 not in list of allowed values: int32"):
            tf.dynamic_partition(tf.zeros([3]), tf.constant([0, 1, 1], tf.int64), 2)
        with pytest.raises(ValueError, match="must be a vector"):
            tf.unique(tf.zeros([2, 2]))
        x = tf.placeholder(tf.float32, [3])
        with pytest.raises(LookupError, match="No gradient defined"):  # as in TF1, Unique has no gradient
            tf.gradients(tf.unique(x)[0], x)
        with tf.Session() as sess, pytest.raises(graphdl.errors.InvalidArgumentError,
                                                 match=r"partitions\[1\] = 5 is not in \[0, 2\)"):
            sess.run(parts, {p: [0, 5, 1]})
