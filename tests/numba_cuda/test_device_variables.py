"""Device-resident variables stay coherent with the host across runs (backends/numba_cuda/variables.py).

Each test alternates writes and reads between device kernels, CPU-placed kernels, feeds and the
host-side API (``Variable.load``, ``Saver``), and checks every value read. On the simulator when
there is no GPU.
"""

import numpy as np
import pytest

import graphdl as tf


def test_assignments_fed_between_runs_are_seen_by_every_later_run():
    """The pattern of a finite-difference check: assign v + eps, evaluate, assign v - eps, evaluate."""
    w = tf.Variable(np.arange(6, dtype=np.float64).reshape(2, 3), name="w")
    x = tf.placeholder(tf.float64, [None, 2])
    loss = tf.reduce_sum(tf.tanh(tf.matmul(x, w)))
    value = tf.placeholder(tf.float64, [2, 3])
    assign = w.assign(value)
    xv = np.array([[0.1, -0.2], [0.3, 0.05]])
    with tf.Session(backend="cuda") as sess:
        sess.run(tf.global_variables_initializer())
        base = sess.run(w)
        assert sess.run(loss, {x: xv}) == pytest.approx(np.tanh(xv @ base).sum())
        for sign in (1, -1, 1):
            moved = base.copy()
            moved[1, 2] += sign * 1e-3
            sess.run(assign, {value: moved})
            assert sess.run(loss, {x: xv}) == pytest.approx(np.tanh(xv @ moved).sum(), rel=1e-12)
            np.testing.assert_array_equal(sess.run(w), moved)


def test_updates_on_the_cpu_and_on_the_device_interleave():
    w = tf.Variable(np.ones(3, np.float32), name="w")
    with tf.device("/cpu:0"):
        on_cpu = tf.assign_add(w, np.full(3, 10, np.float32))
    on_device = tf.assign_add(w, np.ones(3, np.float32))
    doubled = w * 2.0
    with tf.Session(backend="cuda") as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(on_device)
        np.testing.assert_array_equal(sess.run(doubled), [4, 4, 4])
        sess.run(on_cpu)
        np.testing.assert_array_equal(sess.run(doubled), [24, 24, 24])
        sess.run(on_device)
        sess.run(on_cpu)
        np.testing.assert_array_equal(sess.run(w), [23, 23, 23])
        np.testing.assert_array_equal(sess.run(doubled), [46, 46, 46])


def test_load_and_a_saver_restore_replace_the_device_value(tmp_path):
    w = tf.Variable(np.zeros((2, 2), np.float32), name="w")
    step = tf.assign_add(w, np.ones((2, 2), np.float32))
    total = tf.reduce_sum(w)
    saver = tf.train.Saver()
    with tf.Session(backend="cuda") as sess:
        sess.run(tf.global_variables_initializer())
        w.load(np.full((2, 2), 3, np.float32), sess)
        sess.run(step)
        assert sess.run(total) == 16
        path = saver.save(sess, str(tmp_path / "model"))
        sess.run(step)
        assert sess.run(total) == 20
        saver.restore(sess, path)
        assert sess.run(total) == 16
        sess.run(step)
        np.testing.assert_array_equal(sess.run(w), np.full((2, 2), 5, np.float32))


def test_training_steps_match_the_cpu_backend_step_by_step():
    x = tf.placeholder(tf.float32, [None, 3])
    w = tf.Variable(np.array([[0.5], [-1.0], [0.25]], np.float32), name="w")
    b = tf.Variable(np.float32(0.1), name="b")
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w) + b - 1.0))
    train = tf.train.AdamOptimizer(0.1).minimize(loss)
    xv = np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32)
    trace = {}
    for backend in ("numba", "cuda"):
        with tf.Session(backend=backend) as sess:
            sess.run(tf.global_variables_initializer())
            trace[backend] = [sess.run([loss, train], {x: xv})[0] for _ in range(5)] + [sess.run(w)]
    for got, want in zip(trace["cuda"], trace["numba"]):
        np.testing.assert_allclose(got, want, rtol=1e-5)
    assert trace["cuda"][4] < trace["cuda"][0]
