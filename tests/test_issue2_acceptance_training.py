"""Issue 2 acceptance: ``gradients()`` and the ``graphdl.train`` optimizers, TF1-style, checked against NumPy."""

import numpy as np
import pytest
from harness import OP_TEST_BACKENDS

import graphdl as tf


def _run(fetches, feed=None, backend=None):
    with tf.Session(backend=backend) as sess:
        return sess.run(fetches, feed)


# -- gradients ------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_gradients_multiple_paths_and_broadcast(backend):
    x = tf.placeholder(tf.float32, [2, 3])
    b = tf.constant([1.0, 2.0, 3.0])
    y = x * x + x * b + tf.sin(x)  # three paths to x, one broadcast to b
    gx, gb = tf.gradients(tf.reduce_sum(y), [x, b])
    assert gx.name.startswith("gradients/") and gb.shape.as_list() == [3]
    xv = np.arange(6, dtype=np.float32).reshape(2, 3) / 5
    gxv, gbv = _run([gx, gb], {x: xv}, backend)
    np.testing.assert_allclose(gxv, 2 * xv + np.array([1, 2, 3]) + np.cos(xv), rtol=1e-5)
    np.testing.assert_allclose(gbv, xv.sum(0), rtol=1e-5)


def test_gradients_stop_gradients_argument():
    a = tf.constant(0.0)
    b = 2 * a
    g = tf.gradients(a + b, [a, b], stop_gradients=[a, b])  # TF1 docs: [1.0, 1.0], the partial derivatives
    assert None not in g and _run(g) == [1.0, 1.0]


def test_gradients_unconnected_and_stop_gradient():
    x, z = tf.constant(2.0), tf.constant(3.0)
    y = x * x
    gx, gz = tf.gradients(y, [x, z])
    assert gz is None and _run(gx) == 4.0
    assert tf.gradients(y, z) == [None]
    y2 = x * tf.stop_gradient(x) + x
    assert _run(tf.gradients(y2, x)[0]) == 3.0  # d/dx (x * const + x)
    a = tf.constant(0.0)
    b = 2 * a
    assert _run(tf.gradients(a + b, [a, b])) == [3.0, 1.0]
    c = 3.0 * b
    assert tf.gradients(c, a, stop_gradients=[b]) == [None]


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_gradients_any_shape_grad_ys_and_second_order(backend):
    x = tf.placeholder(tf.float32, [3])
    y = x ** 3  # a vector: implicit ones
    (g,) = tf.gradients(y, x)
    (gw,) = tf.gradients(y, x, grad_ys=tf.constant([1.0, 0.0, 2.0]))
    (g2,) = tf.gradients(g, x)
    xv = np.array([1.0, 2.0, -1.0], np.float32)
    gv, gwv, g2v = _run([g, gw, g2], {x: xv}, backend)
    np.testing.assert_allclose(gv, 3 * xv ** 2)
    np.testing.assert_allclose(gwv, 3 * xv ** 2 * [1, 0, 2])
    np.testing.assert_allclose(g2v, 6 * xv)
    w = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    h = tf.gradients(tf.gradients(tf.reduce_sum(tf.tanh(tf.matmul(w, w))), w)[0], w)[0]
    assert h.shape.as_list() == [2, 2] and np.all(np.isfinite(_run(h)))


def test_gradient_of_op_without_gradient_names_op():
    x = tf.constant([1.0, 2.0])
    r = tf.random_shuffle(x)
    try:
        g = tf.gradients(tf.reduce_sum(r), x)
    except LookupError as e:
        assert "RandomShuffle" in str(e)
    else:
        assert g == [None]


# -- optimizers -----------------------------------------------------------------------------------
def _optimizer_run(make_opt, steps=3, backend=None):
    w0 = np.array([1.0, -2.0, 0.5], np.float32)
    w = tf.Variable(w0, name="w")
    other = tf.Variable(5.0, name="other")
    loss = tf.reduce_sum(w * w * np.array([1.0, 2.0, 3.0], np.float32)) + 0.0 * other
    step = tf.train.get_or_create_global_step()
    opt = make_opt()
    train = opt.minimize(loss, var_list=[w], global_step=step)
    with tf.Session(backend=backend) as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(steps):
            sess.run(train)
        return opt, w, sess.run([w, other, step])


def _np_grad(w):
    return 2 * w * np.array([1.0, 2.0, 3.0])


def test_gradient_descent_with_decayed_tensor_learning_rate():
    step = tf.train.get_or_create_global_step()
    assert step.dtype == tf.int64 and step.name == "global_step:0"
    assert tf.train.get_global_step() is step or tf.train.get_global_step() == step
    lr = tf.train.exponential_decay(0.1, step, decay_steps=1, decay_rate=0.5, staircase=True)
    _, _, (w, other, s) = _optimizer_run(lambda: tf.train.GradientDescentOptimizer(lr))
    want = np.array([1.0, -2.0, 0.5])
    for t in range(3):
        want = want - 0.1 * 0.5 ** t * _np_grad(want)
    np.testing.assert_allclose(w, want, rtol=1e-5)
    assert other == 5.0 and s == 3


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_momentum(nesterov, backend):
    opt, w, (got, _, _) = _optimizer_run(lambda: tf.train.MomentumOptimizer(0.1, 0.9, use_nesterov=nesterov),
                                         backend=backend)
    want, acc = np.array([1.0, -2.0, 0.5]), 0.0
    for _ in range(3):
        g = _np_grad(want)
        acc = 0.9 * acc + g
        want = want - (0.1 * g + 0.1 * 0.9 * acc if nesterov else 0.1 * acc)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert opt.get_slot_names() == ["momentum"] and opt.get_slot(w, "momentum") is not None


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_adagrad(backend):
    opt, w, (got, _, _) = _optimizer_run(lambda: tf.train.AdagradOptimizer(0.1), backend=backend)
    want, acc = np.array([1.0, -2.0, 0.5]), np.full(3, 0.1)
    for _ in range(3):
        g = _np_grad(want)
        acc = acc + g * g
        want = want - 0.1 * g / np.sqrt(acc)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert opt.get_slot(w, "accumulator") is not None


@pytest.mark.parametrize("centered", [False, True])
@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_rmsprop(centered, backend):
    opt, _, (got, _, _) = _optimizer_run(
        lambda: tf.train.RMSPropOptimizer(0.01, decay=0.9, momentum=0.5, epsilon=1e-10, centered=centered),
        backend=backend)
    want, ms, mg, mom = np.array([1.0, -2.0, 0.5]), np.ones(3), np.zeros(3), np.zeros(3)
    for _ in range(3):
        g = _np_grad(want)
        ms = 0.9 * ms + 0.1 * g * g
        mg = 0.9 * mg + 0.1 * g
        denom = ms - mg * mg if centered else ms
        mom = 0.5 * mom + 0.01 * g / np.sqrt(denom + 1e-10)
        want = want - mom
    np.testing.assert_allclose(got, want, rtol=1e-4)
    assert set(opt.get_slot_names()) >= {"rms", "momentum"}


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_adam_and_slots(backend):
    opt, w, (got, _, _) = _optimizer_run(lambda: tf.train.AdamOptimizer(learning_rate=0.1), backend=backend)
    want, m, v = np.array([1.0, -2.0, 0.5]), 0.0, 0.0
    for t in range(1, 4):
        g = _np_grad(want)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        lr = 0.1 * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
        want = want - lr * m / (np.sqrt(v) + 1e-8)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert sorted(opt.get_slot_names()) == ["m", "v"]
    assert opt.get_slot(w, "m").shape.as_list() == [3]


def test_compute_and_apply_gradients():
    w = tf.Variable([1.0, 2.0])
    b = tf.Variable(0.5)
    loss = tf.reduce_sum(tf.square(w)) + 3.0 * b
    opt = tf.train.GradientDescentOptimizer(0.5)
    gvs = opt.compute_gradients(loss)
    assert [v for _, v in gvs] == [w, b]
    clipped = [(tf.clip_by_value(g, -1.0, 1.0), v) for g, v in gvs]
    step = tf.Variable(0, trainable=False)
    train = opt.apply_gradients(clipped, global_step=step)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        gv = sess.run([g for g, _ in gvs])
        sess.run(train)
        np.testing.assert_allclose(gv[0], [2.0, 4.0])
        np.testing.assert_allclose(sess.run(w), [0.5, 1.5])
        assert sess.run(b) == 0.0 and sess.run(step) == 1
