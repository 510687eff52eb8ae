"""tf.map_fn, tf.scan, tf.foldl, tf.foldr: values against NumPy loops, gradients against finite differences."""

import collections

import numpy as np
import pytest
from harness import OpCase, make_op_tests, randn

import graphdl.compat.v1 as tf


def np_scan(fn, xs, init=None, reverse=False):
    order = list(range(len(xs)))[::-1] if reverse else list(range(len(xs)))
    out = [None] * len(xs)
    a = init
    for k, i in enumerate(order):
        a = xs[i] if (init is None and k == 0) else fn(a, xs[i])
        out[i] = a
    return np.stack(out)


def np_fold(fn, xs, init=None, right=False):
    items = list(xs[::-1] if right else xs)
    a, rest = (items[0], items[1:]) if init is None else (init, items)
    for x in rest:
        a = fn(a, x)
    return a


W = randn(3, 2, seed=5)
Pair = collections.namedtuple("Pair", ["first", "second"])

CASES = [
    OpCase("map_fn_square", lambda x: tf.map_fn(lambda r: r * r, x), [randn(4, 3)], lambda x: x * x),
    OpCase("map_fn_captured_weight", lambda x, w: tf.map_fn(lambda r: tf.tanh(tf.matmul(r[None], w))[0], x),
           [randn(5, 3), W], lambda x, w: np.tanh(x @ w)),
    OpCase("map_fn_nested_elems", lambda x, y: tf.map_fn(lambda p: p[0] * p[1]["y"], (x, {"y": y}), dtype=x.dtype),
           [randn(4, 2), randn(4, 2, seed=1)], lambda x, y: x * y),
    OpCase("map_fn_dtype_structure",
           lambda x: list(tf.map_fn(lambda r: (tf.reduce_sum(r), tf.cast(tf.argmax(r), tf.int32)), x,
                                    dtype=(x.dtype, tf.int32))),
           [randn(5, 4)], lambda x: [x.sum(1), x.argmax(1).astype(np.int32)], rtol=1e-5),
    OpCase("map_fn_namedtuple", lambda x: list(tf.map_fn(lambda p: Pair(p.second, p.first * 2.0), Pair(x, x + 1.0))),
           [randn(3, 2)], lambda x: [x + 1, 2 * x]),
    OpCase("map_fn_matrix_elements", lambda x: tf.map_fn(lambda m: tf.matmul(m, m, transpose_b=True), x),
           [randn(3, 2, 4)], lambda x: np.einsum("bij,bkj->bik", x, x)),
    OpCase("scan_cumsum", lambda x: tf.scan(lambda a, r: a + r, x), [randn(5, 3)], lambda x: np.cumsum(x, 0)),
    OpCase("scan_initializer_reverse",
           lambda x: tf.scan(lambda a, r: a * 0.5 + r * r, x, initializer=tf.zeros([3], x.dtype), reverse=True),
           [randn(4, 3)], lambda x: np_scan(lambda a, r: a * 0.5 + r * r, x, np.zeros(3, x.dtype), reverse=True)),
    OpCase("scan_reverse_no_initializer", lambda x: tf.scan(lambda a, r: a * r, x, reverse=True), [randn(4, 2)],
           lambda x: np_scan(lambda a, r: a * r, x, reverse=True)),
    OpCase("scan_rnn_with_weight",
           lambda x, w: tf.scan(lambda h, r: tf.tanh(tf.matmul(r[None], w)[0] + h), x, initializer=tf.zeros([2], x.dtype)),
           [randn(4, 3), W], lambda x, w: np_scan(lambda h, r: np.tanh(r @ w + h), x, np.zeros(2, x.dtype))),
    OpCase("scan_nested_initializer",
           lambda x: list(tf.scan(lambda a, r: (a[0] + r, a[1] * r), x, initializer=(tf.zeros([2], x.dtype),
                                                                                     tf.ones([2], x.dtype)))),
           [randn(3, 2)], lambda x: [np.cumsum(x, 0), np.cumprod(x, 0)]),
    OpCase("foldl_sum_of_squares", lambda x: tf.foldl(lambda a, r: a + tf.reduce_sum(r * r), x,
                                                      initializer=tf.constant(0.0, x.dtype)),
           [randn(4, 3)], lambda x: np.sum(x * x)),
    OpCase("foldl_no_initializer", lambda x: tf.foldl(lambda a, r: a * 0.5 + r, x), [randn(4, 3)],
           lambda x: np_fold(lambda a, r: a * 0.5 + r, x)),
    OpCase("foldr_no_initializer", lambda x: tf.foldr(lambda a, r: a * 0.5 + r, x), [randn(4, 3)],
           lambda x: np_fold(lambda a, r: a * 0.5 + r, x, right=True)),
    OpCase("foldr_initializer", lambda x: tf.foldr(lambda a, r: a * r - 1.0, x, initializer=tf.ones([3], x.dtype)),
           [randn(3, 3)], lambda x: np_fold(lambda a, r: a * r - 1, x, np.ones(3, x.dtype), right=True)),
]

test_forward, test_gradient = make_op_tests(CASES)


def test_static_shapes_and_names():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [7, 3])
        y = tf.map_fn(lambda r: tf.reduce_sum(r), x)
        assert y.shape.as_list() == [7] and y.name.startswith("map/")
        s = tf.scan(lambda a, r: a + r, x, name="running")
        assert s.shape.as_list() == [7, 3] and s.name.startswith("running/")
        assert tf.foldl(lambda a, r: a + r, x).shape.as_list() == [3]


def test_infer_shape_false_allows_results_of_any_shape():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.int32, [None])
        y = tf.map_fn(lambda n: tf.range(n, n + 2), x, infer_shape=False)
        with tf.Session() as sess:
            np.testing.assert_array_equal(sess.run(y, {x: [1, 5, 9]}), [[1, 2], [5, 6], [9, 10]])


def test_back_prop_false_gives_no_gradient():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [3, 2])
        y = tf.map_fn(lambda r: r * r, x, back_prop=False)
        assert tf.gradients(tf.reduce_sum(y), x) == [None]


def test_map_fn_trains_a_captured_variable():
    data = randn(8, 3)
    with tf.Graph().as_default():
        w = tf.Variable(tf.zeros([3]))
        loss = tf.reduce_mean(tf.map_fn(lambda r: tf.square(tf.reduce_sum(r * w) - 1.0), tf.constant(data)))
        step = tf.train.GradientDescentOptimizer(0.2).minimize(loss)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(step)
            # d/dw mean((x.w - 1)^2) at w = 0 is -2/8 * X^T 1.
            np.testing.assert_allclose(sess.run(w), 0.2 * 2 / 8 * data.sum(0), rtol=1e-5)
            for _ in range(300):
                sess.run(step)
            best = np.linalg.lstsq(data, np.ones(8), rcond=None)[0]
            np.testing.assert_allclose(sess.run(w), best, atol=1e-3)


def test_errors_name_the_problem():
    with tf.Graph().as_default():
        with pytest.raises(TypeError, match="fn must be callable"):
            tf.map_fn(3, tf.zeros([2]))
        with pytest.raises(ValueError, match="not scalars"):
            tf.map_fn(lambda r: r, tf.constant(1.0))
        with pytest.raises(ValueError, match="same nested structure"):
            tf.map_fn(lambda r: (r, r), tf.zeros([2, 3]))
        with pytest.raises(TypeError, match="pass dtype="):
            tf.map_fn(lambda r: tf.cast(r, tf.int32), tf.zeros([2, 3]))
