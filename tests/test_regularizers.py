"""Weight regularizers: penalties vs NumPy, REGULARIZATION_LOSSES via get_variable/dense/apply_regularization."""

import numpy as np
import pytest
from harness import OP_TEST_BACKENDS

import graphdl as tf
from graphdl import regularizers

W = np.array([[1.0, -2.0], [3.0, -0.5]], np.float32)


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_penalties_match_numpy(backend):
    w = tf.constant(W)
    cases = {
        "l1": (regularizers.l1_regularizer(0.3)(w), 0.3 * np.abs(W).sum()),
        "l2": (regularizers.l2_regularizer(0.5)(w), 0.5 * (W**2).sum() / 2),
        "l1_l2": (regularizers.l1_l2_regularizer(0.1, 0.2)(w), 0.1 * np.abs(W).sum() + 0.2 * (W**2).sum() / 2),
        "l1_l2_no_l1": (regularizers.l1_l2_regularizer(0.0, 0.2)(w), 0.2 * (W**2).sum() / 2),
        "sum": (regularizers.sum_regularizer([regularizers.l1_regularizer(1.0), None])(w), np.abs(W).sum()),
    }
    with tf.Session(backend=backend) as sess:
        got = sess.run({k: v[0] for k, v in cases.items()})
    for k, (_, want) in cases.items():
        np.testing.assert_allclose(got[k], want, rtol=1e-6, err_msg=k)
    assert cases["l2"][0].op.name == "l2_regularizer" and cases["l1_l2"][0].op.name == "l1_l2_regularizer"


def test_scale_checks_and_zero_scale():
    with pytest.raises(ValueError, match="cannot be an integer"):
        regularizers.l2_regularizer(1)
    with pytest.raises(ValueError, match="less than 0"):
        regularizers.l1_regularizer(-0.1)
    with pytest.raises(ValueError, match="scale_l2 cannot be an integer"):
        regularizers.l1_l2_regularizer(0.1, 2)
    assert regularizers.l2_regularizer(0.0)(tf.constant(W)) is None
    assert regularizers.sum_regularizer([None]) is None


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_get_variable_dense_and_scope_regularizers_fill_the_collection(backend):
    v = tf.get_variable("v", initializer=W, regularizer=regularizers.l2_regularizer(0.5))
    with tf.variable_scope("net", regularizer=regularizers.l1_regularizer(0.1)):
        u = tf.get_variable("u", initializer=np.ones(3, np.float32))
        tf.get_variable("free", initializer=np.ones(3, np.float32), regularizer=tf.no_regularizer)
    x = tf.placeholder(tf.float32, [None, 2])
    y = tf.layers.dense(x, 3, kernel_regularizer=regularizers.l2_regularizer(0.01),
                        bias_initializer=tf.constant_initializer(1.0), bias_regularizer=regularizers.l1_regularizer(0.2))
    losses = tf.losses.get_regularization_losses()
    assert [t.op.name for t in losses] == ["v/Regularizer/l2_regularizer", "net/u/Regularizer/l1_regularizer",
                                           "dense/kernel/Regularizer/l2_regularizer",
                                           "dense/bias/Regularizer/l1_regularizer"]
    assert [t.op.name for t in tf.losses.get_regularization_losses(scope="net")] == [
        "net/u/Regularizer/l1_regularizer"]
    total = tf.losses.get_regularization_loss()
    assert total.op.name == "total_regularization_loss"
    kernel = next(t for t in tf.trainable_variables() if t.op.name == "dense/kernel")
    with tf.Session(backend=backend) as sess:
        sess.run(tf.global_variables_initializer())
        k = sess.run(kernel)
        got = sess.run(total)
        sess.run(y, {x: np.ones((1, 2), np.float32)})
    want = 0.5 * (W**2).sum() / 2 + 0.1 * 3 + 0.01 * (k**2).sum() / 2 + 0.2 * 3
    np.testing.assert_allclose(got, want, rtol=1e-6)
    del v, u


def test_apply_regularization_and_empty_loss():
    with tf.Session() as sess:
        np.testing.assert_equal(sess.run(tf.losses.get_regularization_loss()), 0.0)
    a = tf.get_variable("a", initializer=W)
    b = tf.get_variable("b", initializer=np.array([2.0, -1.0], np.float32))
    penalty = regularizers.apply_regularization(regularizers.l1_regularizer(0.5), [a, b])
    assert penalty.op.name == "get_regularization_penalty"
    assert tf.losses.get_regularization_losses() == [penalty]
    tf.add_to_collection(tf.GraphKeys.WEIGHTS, a)
    default = regularizers.apply_regularization(regularizers.l2_regularizer(1.0))
    zero = regularizers.apply_regularization(regularizers.l2_regularizer(0.0), [a])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        got = sess.run([penalty, default, zero, tf.losses.get_regularization_loss()])
    want = [0.5 * (np.abs(W).sum() + 3), (W**2).sum() / 2, 0.0]
    np.testing.assert_allclose(got, want + [sum(want)], rtol=1e-6)
    tf.reset_default_graph()
    with pytest.raises(ValueError, match="No weights to regularize"):
        regularizers.apply_regularization(regularizers.l2_regularizer(1.0))


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_regularization_shrinks_weights_in_training(backend):
    w = tf.get_variable("w", initializer=W, regularizer=regularizers.l2_regularizer(1.0))
    train = tf.train.GradientDescentOptimizer(0.1).minimize(tf.losses.get_regularization_loss())
    with tf.Session(backend=backend) as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(train)
        np.testing.assert_allclose(sess.run(w), W * 0.9, rtol=1e-6)  # d/dw (w^2/2) = w
