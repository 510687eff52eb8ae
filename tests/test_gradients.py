"""The reverse-mode engine: paths, broadcasting, unconnected inputs, stop_gradient, higher order."""

import numpy as np
import pytest

import graphdl as tf


def run(fetches, feed=None):
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        return sess.run(fetches, feed)


def test_gradient_ops_live_under_gradients_scope():
    x = tf.placeholder(tf.float32, [3], name="x")
    y = tf.reduce_sum(x * x)
    (g,) = tf.gradients(y, [x])
    assert g.name.startswith("gradients/")
    new_ops = [op.name for op in tf.get_default_graph().get_operations() if op.name.startswith("gradients/")]
    assert any("mul_grad" in name for name in new_ops)


def test_multiple_paths_are_summed():
    x = tf.placeholder(tf.float32, [])
    y = x * x + 3.0 * x + x  # dy/dx = 2x + 4
    (g,) = tf.gradients(y, x)
    assert run(g, {x: 2.0}) == pytest.approx(8.0)


def test_broadcast_gradients_are_reduced_static_and_dynamic():
    for shape in ([4, 3], [None, 3], None):
        tf.reset_default_graph()
        x = tf.placeholder(tf.float32, shape)
        b = tf.placeholder(tf.float32, [3])
        s = tf.placeholder(tf.float32, [])
        y = tf.reduce_sum((x + b) * s)
        gx, gb, gs = tf.gradients(y, [x, b, s])
        xv = np.arange(12, dtype=np.float32).reshape(4, 3)
        out = run([gx, gb, gs], {x: xv, b: [1, 2, 3], s: 2.0})
        np.testing.assert_allclose(out[0], np.full((4, 3), 2.0))
        np.testing.assert_allclose(out[1], [8.0, 8.0, 8.0])
        np.testing.assert_allclose(out[2], (xv + [1, 2, 3]).sum())
        assert gb.shape.as_list() == [3]


def test_size_one_dim_broadcast_against_unknown_dim():
    x = tf.placeholder(tf.float32, [None, 1])
    y = tf.placeholder(tf.float32, [None, 5])
    (gx,) = tf.gradients(tf.reduce_sum(x * y), [x])
    out = run(gx, {x: np.ones((2, 1)), y: np.arange(10).reshape(2, 5)})
    np.testing.assert_allclose(out, [[10.0], [35.0]])


def test_unconnected_inputs_get_none():
    x = tf.placeholder(tf.float32, [])
    z = tf.placeholder(tf.float32, [])
    y = x * 2.0
    gx, gz = tf.gradients(y, [x, z])
    assert gz is None and run(gx, {x: 1.0}) == 2.0


def test_stop_gradient_and_stop_gradients_argument():
    x = tf.placeholder(tf.float32, [])
    a = x * x
    y = tf.stop_gradient(a) + x  # only the direct path counts
    (g,) = tf.gradients(y, x)
    assert run(g, {x: 3.0}) == 1.0
    b = 2.0 * x
    c = b * x  # dc/dx = 4x; with b held constant: b
    (g2,) = tf.gradients(c, x, stop_gradients=[b])
    assert run(g2, {x: 3.0}) == 6.0


def test_grad_ys_weight_each_output_and_non_scalar_ys():
    x = tf.placeholder(tf.float32, [3])
    y = x * 2.0
    (g,) = tf.gradients(y, x)  # implicit ones
    np.testing.assert_allclose(run(g, {x: [1, 2, 3]}), [2, 2, 2])
    (gw,) = tf.gradients(y, x, grad_ys=tf.constant([1.0, 0.0, -1.0]))
    np.testing.assert_allclose(run(gw, {x: [1, 2, 3]}), [2, 0, -2])
    g1, g2 = tf.gradients([y, x * x], [x, x])
    np.testing.assert_allclose(run(g1, {x: [1, 2, 3]}), [4, 6, 8])


def test_second_order_gradient():
    x = tf.placeholder(tf.float64, [])
    y = x * x * x
    (dy,) = tf.gradients(y, x)
    (d2y,) = tf.gradients(dy, x)
    assert run([dy, d2y], {x: 2.0}) == [pytest.approx(12.0), pytest.approx(12.0)]


def test_gradient_with_respect_to_variables():
    w = tf.Variable([1.0, 2.0])
    loss = tf.reduce_sum(w * w)
    (g,) = tf.gradients(loss, [w])
    np.testing.assert_allclose(run(g), [2.0, 4.0])


def test_integer_paths_contribute_nothing():
    x = tf.placeholder(tf.float32, [2, 3])
    y = tf.reshape(x, tf.shape(x)) * 3.0
    (g,) = tf.gradients(tf.reduce_sum(y), x)
    np.testing.assert_allclose(run(g, {x: np.ones((2, 3))}), np.full((2, 3), 3.0))
