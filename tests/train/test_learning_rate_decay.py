"""Learning-rate schedules vs NumPy, and the global step helpers."""

import math

import numpy as np
import pytest

import graphdl as tf


def _values(lr_tensor, step_var, steps):
    """The schedule's value at each global step in ``steps`` (set via ``load``)."""
    out = []
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for s in steps:
            step_var.load(s, sess)
            out.append(sess.run(lr_tensor))
    return np.array(out)


STEPS = [0, 1, 5, 9, 10, 11, 25, 100]


@pytest.mark.parametrize("staircase", [False, True])
def test_exponential_decay(staircase):
    gs = tf.train.get_or_create_global_step()
    lr = tf.train.exponential_decay(0.1, gs, 10, 0.5, staircase=staircase)
    assert lr.dtype == tf.float32 and lr.shape.as_list() == []
    assert lr.op.name == "ExponentialDecay"
    p = np.array(STEPS, np.float64) / 10
    if staircase:
        p = np.floor(p)
    np.testing.assert_allclose(_values(lr, gs, STEPS), 0.1 * 0.5**p, rtol=1e-6)


def test_exponential_decay_float64_and_tensor_step():
    step = tf.placeholder(tf.int32, [])
    lr = tf.train.exponential_decay(tf.constant(0.2, tf.float64), step, 4, 0.9, name="my_decay")
    assert lr.dtype == tf.float64 and lr.op.name == "my_decay"
    with tf.Session() as sess:
        for s in [0, 3, 7]:
            np.testing.assert_allclose(sess.run(lr, {step: s}), 0.2 * np.float64(np.float32(0.9)) ** (s / 4), rtol=1e-12)


@pytest.mark.parametrize("staircase", [False, True])
def test_natural_exp_and_inverse_time_decay(staircase):
    gs = tf.train.get_or_create_global_step()
    nat = tf.train.natural_exp_decay(0.1, gs, 10, 0.5, staircase=staircase)
    inv = tf.train.inverse_time_decay(0.1, gs, 10, 0.5, staircase=staircase)
    p = np.array(STEPS, np.float64) / 10
    if staircase:
        p = np.floor(p)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        got = []
        for s in STEPS:
            gs.load(s, sess)
            got.append(sess.run([nat, inv]))
    got = np.array(got)
    np.testing.assert_allclose(got[:, 0], 0.1 * np.exp(-0.5 * p), rtol=1e-6)
    np.testing.assert_allclose(got[:, 1], 0.1 / (1 + 0.5 * p), rtol=1e-6)


@pytest.mark.parametrize("cycle", [False, True])
def test_polynomial_decay(cycle):
    gs = tf.train.get_or_create_global_step()
    lr = tf.train.polynomial_decay(0.1, gs, 10, end_learning_rate=0.01, power=2.0, cycle=cycle)
    want = []
    for s in STEPS:
        decay_steps = 10.0
        if cycle:
            decay_steps *= 1.0 if s == 0 else math.ceil(s / 10)
            step = s
        else:
            step = min(s, 10)
        want.append((0.1 - 0.01) * (1 - step / decay_steps) ** 2 + 0.01)
    np.testing.assert_allclose(_values(lr, gs, STEPS), want, rtol=1e-5)


def test_piecewise_constant():
    gs = tf.train.get_or_create_global_step()
    lr = tf.train.piecewise_constant(gs, [10, 20], [1.0, 0.5, 0.1])
    got = _values(lr, gs, [0, 10, 11, 20, 21, 100])
    np.testing.assert_allclose(got, [1.0, 1.0, 0.5, 0.5, 0.1, 0.1], rtol=1e-7)
    x = tf.placeholder(tf.float32, [])
    lr2 = tf.train.piecewise_constant(x, [0.5], [3, 4])
    assert lr2.dtype == tf.int32
    with tf.Session() as sess:
        assert sess.run(lr2, {x: 0.25}) == 3 and sess.run(lr2, {x: 0.75}) == 4
    with pytest.raises(ValueError, match="1 less than the length of values"):
        tf.train.piecewise_constant(gs, [10, 20], [1.0, 0.5])
    with pytest.raises(ValueError, match="same dtype"):
        tf.train.piecewise_constant(gs, [10], [1.0, 2])


def test_cosine_decay_and_restarts():
    gs = tf.train.get_or_create_global_step()
    cos = tf.train.cosine_decay(0.1, gs, 20, alpha=0.1)
    restart = tf.train.cosine_decay_restarts(0.1, gs, 10, t_mul=2.0, m_mul=0.5)
    restart_flat = tf.train.cosine_decay_restarts(0.1, gs, 10, t_mul=1.0)
    steps = [0, 5, 10, 15, 20, 30, 45]
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        got = []
        for s in steps:
            gs.load(s, sess)
            got.append(sess.run([cos, restart, restart_flat]))
    got = np.array(got)
    frac = np.minimum(steps, 20) / 20
    np.testing.assert_allclose(got[:, 0], 0.1 * (0.9 * 0.5 * (1 + np.cos(np.pi * frac)) + 0.1), rtol=1e-5, atol=1e-7)

    def sgdr(s, t_mul, m_mul):
        period, start, i = 10.0, 0.0, 0
        while s >= start + period:
            start += period
            period *= t_mul
            i += 1
        return 0.1 * m_mul**i * 0.5 * (1 + np.cos(np.pi * (s - start) / period))

    np.testing.assert_allclose(got[:, 1], [sgdr(s, 2.0, 0.5) for s in steps], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(got[:, 2], [sgdr(s, 1.0, 1.0) for s in steps], rtol=1e-4, atol=1e-6)


def test_decay_requires_global_step():
    for fn in [tf.train.exponential_decay, tf.train.natural_exp_decay, tf.train.inverse_time_decay]:
        with pytest.raises(ValueError, match="global_step is required"):
            fn(0.1, None, 10, 0.5)
    with pytest.raises(ValueError, match="global_step is required"):
        tf.train.polynomial_decay(0.1, None, 10)
    with pytest.raises(ValueError, match="requires global_step"):
        tf.train.cosine_decay(0.1, None, 10)


def test_decayed_learning_rate_drives_optimizer():
    w = tf.Variable(np.array([1.0, -2.0]), name="w")
    loss = tf.reduce_sum(w * w)
    gs = tf.train.get_or_create_global_step()
    lr = tf.train.exponential_decay(0.1, gs, 2, 0.5, staircase=True)
    train_op = tf.train.GradientDescentOptimizer(lr).minimize(loss, global_step=gs)
    want = np.array([1.0, -2.0])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for step in range(5):
            assert sess.run(lr) == pytest.approx(0.1 * 0.5 ** (step // 2), rel=1e-6)
            sess.run(train_op)
            rate = np.float64(np.float32(0.1) * np.float32(0.5) ** np.float32(step // 2))
            want = want - rate * 2 * want
            np.testing.assert_allclose(sess.run(w), want, rtol=1e-6)
        assert tf.train.global_step(sess, gs) == 5


# -- global step -------------------------------------------------------------------------
def test_get_or_create_global_step():
    assert tf.train.get_global_step() is None
    with tf.name_scope("inside"):
        gs = tf.train.get_or_create_global_step()
    assert gs.op.name == "global_step" and gs.name == "global_step:0"
    assert gs.dtype == tf.int64 and gs.shape.as_list() == [] and not gs.trainable
    assert tf.get_collection(tf.GraphKeys.GLOBAL_STEP) == [gs]
    assert gs in tf.global_variables() and gs not in tf.trainable_variables()
    assert tf.train.get_or_create_global_step() is gs
    assert tf.train.get_global_step() is gs
    with pytest.raises(ValueError, match='"global_step" already exists'):
        tf.train.create_global_step()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert tf.train.global_step(sess, gs) == 0
        assert isinstance(tf.train.global_step(sess, gs), int)


def test_global_step_in_other_graph_and_by_name():
    g = tf.Graph()
    gs = tf.train.create_global_step(g)
    assert gs.graph is g and tf.train.get_global_step(g) is gs
    assert tf.train.get_global_step() is None
    h = tf.Graph()
    with h.as_default():
        v = tf.Variable(np.int64(7), name="global_step", trainable=False)
        found = tf.train.get_global_step()
        assert found is v._ref()
    with h.as_default():
        tf.Variable(1.5, name="x")
        with pytest.raises(TypeError, match="integer type"):
            tf.train.assert_global_step(tf.constant(1.5))
        with pytest.raises(TypeError, match="not scalar"):
            tf.train.assert_global_step(tf.constant([1, 2]))
