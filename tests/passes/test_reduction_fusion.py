"""Reductions at the tail of fused elementwise kernels: one kernel, same values as unfused."""

import numpy as np
import pytest

import graphdl as tf


def _compare(fetches, feed):
    with tf.Session(backend="reference") as sess:
        expected = sess.run(fetches, feed)
    with tf.Session(backend="numba") as sess:
        got = sess.run(fetches, feed)
        explanation = sess.explain(fetches, {k: 0 for k in feed})
    return expected, got, explanation


def _reduction_changes(explanation):
    return next(r for r in explanation.reports if r.name == "reduction_fusion").changes


@pytest.mark.parametrize(
    "build, layout",
    [
        (lambda x, y, b: tf.reduce_sum(tf.square(x - y)), "all"),
        (lambda x, y, b: tf.reduce_mean(tf.abs(x)), "all"),
        (lambda x, y, b: tf.reduce_mean(tf.exp(x) * 2.0, axis=1), "rows"),
        (lambda x, y, b: tf.reduce_max(x * b, axis=-1, keepdims=True), "rows"),
        (lambda x, y, b: tf.reduce_min(tf.tanh(x) - y, axis=1), "rows"),
        (lambda x, y, b: tf.reduce_sum(tf.nn.relu(x + b), axis=0), "cols"),
        (lambda x, y, b: tf.reduce_mean(tf.sigmoid(x) * y, axis=0, keepdims=True), "cols"),
    ],
)
def test_reduction_joins_the_kernel_and_values_match(build, layout):
    rs = np.random.RandomState(3)
    x = tf.placeholder(tf.float32, [None, 7])
    y = tf.placeholder(tf.float32, [None, 7])
    b = tf.placeholder(tf.float32, [7])
    out = build(x, y, b)
    feed = {x: rs.randn(300, 7).astype(np.float32), y: rs.randn(300, 7).astype(np.float32), b: rs.randn(7).astype(np.float32)}
    expected, got, explanation = _compare(out, feed)
    np.testing.assert_allclose(got, expected, rtol=2e-5, atol=2e-5)
    assert got.shape == expected.shape
    assert len(_reduction_changes(explanation)) == 1
    fused = explanation.fused_kernels
    assert len(fused) == 1, explanation
    assert any(f"/{layout}" in name for name in explanation.kernel_sources) or layout == "all"


def test_bias_gradient_is_computed_in_the_relu_gradient_kernel():
    rs = np.random.RandomState(0)
    x = tf.placeholder(tf.float32, [None, 5])
    w = tf.Variable(rs.randn(5, 4).astype(np.float32))
    b = tf.Variable(rs.randn(4).astype(np.float32))
    h = tf.nn.relu(tf.matmul(x, w) + b)
    loss = tf.reduce_sum(h * h)
    gw, gb = tf.gradients(loss, [w, b])
    feed = {x: rs.randn(9, 5).astype(np.float32)}
    with tf.Session(backend="reference") as sess:
        sess.run(tf.global_variables_initializer())
        expected = sess.run([gw, gb], feed)
    with tf.Session(backend="numba") as sess:
        sess.run(tf.global_variables_initializer())
        got = sess.run([gw, gb], feed)
        changes = _reduction_changes(sess.explain([gw, gb], {x: 0}))
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got[1], expected[1], rtol=1e-5, atol=1e-5)
    assert any("Sum over axes [0]" in c and "elementwise output kept" in c for c in changes), changes


def test_large_all_reduction_is_accurate_and_split_across_threads():
    x = tf.placeholder(tf.float32, [None])
    total = tf.reduce_sum(x * 1.0 + 0.0)
    mean_sq = tf.reduce_mean(tf.square(x))
    values = np.ones(1 << 20, np.float32)
    with tf.Session(backend="numba") as sess:
        got_total, got_mean = sess.run([total, mean_sq], {x: values})
    assert got_total == 1 << 20
    assert got_mean == pytest.approx(1.0)


def test_non_contiguous_axes_are_left_to_the_reduction_kernel():
    x = tf.placeholder(tf.float32, [2, 3, 4])
    out = tf.reduce_sum(tf.exp(x), axis=[0, 2])
    feed = {x: np.random.RandomState(1).randn(2, 3, 4).astype(np.float32)}
    expected, got, explanation = _compare(out, feed)
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    assert _reduction_changes(explanation) == []


@pytest.mark.parametrize("reduce", [tf.reduce_sum, tf.reduce_mean, tf.reduce_max])
def test_short_column_reductions_split_by_rows_across_threads_match(monkeypatch, reduce):
    # 3 x 50001 rows of 6 columns: widened 9 times (16667 rows of 54), two pieces of unequal rows.
    from graphdl.backends.numba_cpu import threads

    monkeypatch.setattr(threads, "_state", {"threads": 2, "limiter": None})
    x = tf.placeholder(tf.float32, [3, 50001, 6])
    b = tf.placeholder(tf.float32, [6])
    out = reduce(tf.nn.relu(x + b) * 2.0, axis=[0, 1])
    rs = np.random.RandomState(4)
    feed = {x: rs.randn(3, 50001, 6).astype(np.float32), b: rs.randn(6).astype(np.float32)}
    expected, got, explanation = _compare(out, feed)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    assert len(_reduction_changes(explanation)) == 1


def test_bias_relu_over_few_channels_matches_when_rows_are_widened():
    x = tf.placeholder(tf.float32, [None, 28, 28, 6])
    b = tf.placeholder(tf.float32, [6])
    out = tf.nn.relu(x + b)
    rs = np.random.RandomState(5)
    feed = {x: rs.randn(64, 28, 28, 6).astype(np.float32), b: rs.randn(6).astype(np.float32)}
    expected, got, _ = _compare(out, feed)
    np.testing.assert_array_equal(got, expected)
