"""cond, case, switch_case and while_loop: values vs NumPy, lazy branches, gradients vs finite differences."""

import collections

import numpy as np
import pytest
from harness import OP_TEST_BACKENDS, OpCase, make_op_tests, randn

import graphdl as tf
from graphdl import errors


def _np_while(x, c, n):
    for _ in range(n):
        x = np.tanh(x * 1.5 + c)
    return x


def _loop(x, c, n=3, **kwargs):
    def body(i, v):
        return i + 1, tf.tanh(v * 1.5 + c)

    return tf.while_loop(lambda i, v: i < n, body, (tf.constant(0), x), **kwargs)[1]


def _nested_cond_in_while(x):
    def body(i, v):
        v = tf.cond(tf.equal(i % 2, 0), lambda: v * 2.0, lambda: tf.sin(v))
        return i + 1, v

    return tf.while_loop(lambda i, v: i < 4, body, [tf.constant(0), x])[1]


def _np_nested_cond_in_while(x):
    for i in range(4):
        x = x * 2.0 if i % 2 == 0 else np.sin(x)
    return x


def _nested_while(x, w):
    def outer(i, v):
        inner = tf.while_loop(lambda j, u: j < 2, lambda j, u: (j + 1, tf.sin(u) * w), (tf.constant(0), v))[1]
        return i + 1, inner + v

    return tf.while_loop(lambda i, v: i < 3, outer, (tf.constant(0), x))[1]


def _np_nested_while(x, w):
    for _ in range(3):
        u = x
        for _ in range(2):
            u = np.sin(u) * w
        x = u + x
    return x


def _growing(x):
    def body(i, v):
        return i + 1, tf.concat([v, v[:1] * 2.0], 0)

    return tf.while_loop(
        lambda i, v: i < 3, body, (tf.constant(0), x), shape_invariants=(tf.TensorShape([]), tf.TensorShape([None, 2]))
    )[1]


def _np_growing(x):
    for _ in range(3):
        x = np.concatenate([x, x[:1] * 2.0], 0)
    return x


def _scalar(t):
    # check_gradient's np.ascontiguousarray turns 0-d inputs into shape (1,): reshape them back.
    return tf.reshape(t, [])


def _switch(x, k):
    return tf.switch_case(_scalar(k), [lambda: x * 2.0, lambda: tf.exp(x), lambda: x - 1.0])


def _case(x, y):
    return tf.case([(tf.reduce_sum(x) > 100.0, lambda: x * 0.0), (tf.reduce_sum(x) > 0.0, lambda: x * y)],
                   default=lambda: x + y)


def _np_case(x, y):
    return x * 0.0 if x.sum() > 100 else (x * y if x.sum() > 0 else x + y)


X, C = randn(2, 3), randn(3, seed=1)
CASES = [
    OpCase("cond_true", lambda x, p: tf.cond(_scalar(p), lambda: x * x, lambda: tf.sin(x)), [X, np.array(True)],
           lambda x, p: x * x),
    OpCase("cond_false", lambda x, p: tf.cond(_scalar(p), lambda: x * x, lambda: tf.sin(x)), [X, np.array(False)],
           lambda x, p: np.sin(x)),
    OpCase("cond_nested_outputs",
           lambda x, y, p: list(tf.cond(_scalar(p), lambda: {"a": x + y, "b": (x, y * 2.0)}, lambda: {"a": x, "b": (y, x)})
                                .values()).__getitem__(1)[1],
           [X, randn(2, 3, seed=3), np.array(True)], lambda x, y, p: y * 2.0),
    OpCase("while_captured", lambda x, c: _loop(x, c), [X, C], lambda x, c: _np_while(x, c, 3)),
    OpCase("while_maximum_iterations", lambda x, c: _loop(x, c, n=100, maximum_iterations=2), [X, C],
           lambda x, c: _np_while(x, c, 2)),
    OpCase("while_nested_cond", _nested_cond_in_while, [X], _np_nested_cond_in_while),
    OpCase("while_nested_while", _nested_while, [randn(3, seed=4), randn(3, seed=5)], _np_nested_while),
    OpCase("while_shape_invariants", _growing, [randn(2, 2, seed=6)], _np_growing),
    OpCase("switch_case_1", _switch, [X, np.array(1, np.int32)], lambda x, k: np.exp(x)),
    OpCase("switch_case_out_of_range", _switch, [X, np.array(7, np.int32)], lambda x, k: x - 1.0),
    OpCase("case_first_true", _case, [np.abs(X) + 0.1, randn(2, 3, seed=8)], _np_case),
    OpCase("case_default", _case, [-np.abs(X) - 0.1, randn(2, 3, seed=8)], _np_case),
]
test_forward, test_gradient = make_op_tests(CASES)


# -- laziness and side effects ------------------------------------------------------------------


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_only_the_taken_branch_runs(backend):
    with tf.Graph().as_default():
        v = tf.Variable(0.0, name="v")
        p = tf.placeholder(tf.bool, [])
        bad = tf.placeholder(tf.int32, [])
        params = tf.constant([1.0, 2.0])
        out = tf.cond(p, lambda: tf.assign(v, 5.0), lambda: tf.gather(params, bad) + tf.assign_add(v, 1.0))
        with tf.Session(backend=backend) as sess:
            sess.run(v.initializer)
            assert sess.run(out, {p: True, bad: 99}) == 5.0  # the false branch's bad gather does not run
            assert sess.run(v) == 5.0
            assert sess.run(out, {p: False, bad: 1}) == 8.0
            assert sess.run(v) == 6.0
            with pytest.raises(errors.InvalidArgumentError):
                sess.run(out, {p: False, bad: 99})


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_while_loop_python_semantics(backend):
    with tf.Graph().as_default():
        n = tf.placeholder(tf.int32, [])
        Pair = collections.namedtuple("Pair", "a b")
        i, pair = tf.while_loop(
            lambda i, p: i < n, lambda i, p: (i + 1, Pair(p.a + p.b, p.a)), (tf.constant(0), Pair(tf.constant(1), tf.constant(0)))
        )
        assert isinstance(pair, Pair)
        single = tf.while_loop(lambda x: x < 100, lambda x: x * 3, tf.constant(1))
        with tf.Session(backend=backend) as sess:
            for k in (0, 1, 10):
                a, b = 1, 0
                for _ in range(k):
                    a, b = a + b, a
                assert sess.run([i, pair.a, pair.b], {n: k}) == [k, a, b]
            assert sess.run(single) == 243


# -- variables and training through a loop ---------------------------------------------------------


def _rnn(xs, W, T):
    in_ta = tf.TensorArray(tf.float64, size=T).unstack(xs)
    out_ta = tf.TensorArray(tf.float64, size=T)

    def body(t, h, ta):
        h = tf.tanh(tf.matmul(h, W) + in_ta.read(t))
        return t + 1, h, ta.write(t, h)

    h0 = tf.zeros([2, 3], tf.float64)
    _, h, out_ta = tf.while_loop(lambda t, h, ta: t < T, body, (tf.constant(0), h0, out_ta))
    return h, out_ta.stack()


def _np_rnn(xs, W):
    h = np.zeros((2, 3))
    for x in xs:
        h = np.tanh(h @ W + x)
    return h


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_rnn_gradient_wrt_captured_variable(backend):
    rng = np.random.default_rng(0)
    W0, xs_value = rng.standard_normal((3, 3)) * 0.5, rng.standard_normal((4, 2, 3))
    with tf.Graph().as_default():
        xs = tf.placeholder(tf.float64, [4, 2, 3])
        W = tf.Variable(W0, name="W")
        h, stacked = _rnn(xs, W, 4)
        loss = tf.reduce_sum(h)
        (dW,) = tf.gradients(loss, [W])
        with tf.Session(backend=backend) as sess:
            sess.run(W.initializer)
            h_value, stacked_value, dW_value = sess.run([h, stacked, dW], {xs: xs_value})
    np.testing.assert_allclose(h_value, _np_rnn(xs_value, W0), rtol=1e-12)
    np.testing.assert_allclose(stacked_value[-1], h_value, rtol=1e-12)
    numeric = np.zeros_like(W0)
    for idx in np.ndindex(*W0.shape):
        e = np.zeros_like(W0)
        e[idx] = 1e-6
        numeric[idx] = (_np_rnn(xs_value, W0 + e).sum() - _np_rnn(xs_value, W0 - e).sum()) / 2e-6
    np.testing.assert_allclose(dW_value, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_training_step_through_while_loop(backend):
    rng = np.random.default_rng(1)
    W0, xs_value = rng.standard_normal((3, 3)) * 0.5, rng.standard_normal((4, 2, 3))
    with tf.Graph().as_default():
        xs = tf.placeholder(tf.float64, [4, 2, 3])
        W = tf.Variable(W0, name="W")
        h, _ = _rnn(xs, W, 4)
        loss = tf.reduce_sum(tf.square(h - 0.5))
        train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
        (dW,) = tf.gradients(loss, [W])
        with tf.Session(backend=backend) as sess:
            sess.run(W.initializer)
            grad0, loss0 = sess.run([dW, loss], {xs: xs_value})
            sess.run(train, {xs: xs_value})
            np.testing.assert_allclose(sess.run(W), W0 - np.float32(0.1) * grad0, rtol=1e-12)  # lr is a float32 constant
            for _ in range(20):
                sess.run(train, {xs: xs_value})
            assert sess.run(loss, {xs: xs_value}) < 0.5 * loss0


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_get_variable_inside_body_lives_in_outer_graph(backend):
    graph = tf.Graph()
    with graph.as_default():
        x = tf.constant(np.ones((2, 3)))

        def body(i, h):
            with tf.variable_scope("cell", reuse=tf.AUTO_REUSE):
                w = tf.get_variable("kernel", [3, 3], tf.float64, initializer=tf.constant_initializer(0.5))
            return i + 1, tf.matmul(h, w)

        _, h = tf.while_loop(lambda i, h: i < 2, body, (tf.constant(0), x))
        names = [v.name for v in tf.global_variables()]
        assert names == ["cell/kernel:0"]
        assert graph.get_operation_by_name("cell/kernel").graph is graph
        loss = tf.reduce_sum(h)
        (dw,) = tf.gradients(loss, tf.trainable_variables())
        with tf.Session(backend=backend) as sess:
            sess.run(tf.global_variables_initializer())
            np.testing.assert_allclose(sess.run(h), np.ones((2, 3)) @ np.full((3, 3), 0.5) @ np.full((3, 3), 0.5))
            # d sum(x W W) / dW = x^T 1 W^T + (x W)^T 1
            ones = np.ones((2, 3))
            w = np.full((3, 3), 0.5)
            np.testing.assert_allclose(sess.run(dw), ones.T @ ones @ w.T + (ones @ w).T @ ones)


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_dropout_in_body_uses_the_same_mask_backwards(backend):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, [50])

        def body(i, v):
            return i + 1, tf.nn.dropout(v, keep_prob=0.5, seed=3) * 1.0

        _, y = tf.while_loop(lambda i, v: i < 2, body, (tf.constant(0), x))
        (dx,) = tf.gradients(tf.reduce_sum(y), [x])
        with tf.Session(backend=backend) as sess:
            y_value, dx_value = sess.run([y, dx], {x: np.ones(50)})
    # y = x * m1 * m2 * 4 elementwise, so dy/dx equals y where x == 1.
    np.testing.assert_allclose(dx_value, y_value)
    assert 0 < np.count_nonzero(y_value) < 50


# -- errors ---------------------------------------------------------------------------------------


def test_body_structure_dtype_and_shape_errors():
    with tf.Graph().as_default():
        x = tf.zeros([2])
        with pytest.raises(ValueError, match="same nested structure"):
            tf.while_loop(lambda a, b: a < 3, lambda a, b: (a + 1,), (tf.constant(0), x))
        with pytest.raises(ValueError, match="dtype float32.*int32|enters the loop with dtype"):
            tf.while_loop(lambda a, b: a < 3, lambda a, b: (a + 1, tf.cast(b, tf.int32)), (tf.constant(0), x))
        with pytest.raises(ValueError, match=r"enters the loop with shape \(2,\), but has shape \(3,\)"):
            tf.while_loop(lambda a, b: a < 3, lambda a, b: (a + 1, tf.concat([b, b[:1]], 0)), (tf.constant(0), x))
        with pytest.raises(ValueError, match="dtype"):
            tf.cond(tf.constant(True), lambda: tf.constant(1.0), lambda: tf.constant(1))
        with pytest.raises(ValueError, match="same nested structure"):
            tf.cond(tf.constant(True), lambda: (x, x), lambda: x)
        with pytest.raises(TypeError, match="scalar bool"):
            tf.cond(tf.constant([True, False]), lambda: x, lambda: x)


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_runtime_shape_invariant_and_exclusive_case_errors(backend):
    with tf.Graph().as_default():
        n = tf.placeholder(tf.int32, [])
        grow = tf.while_loop(
            lambda v: tf.size(v) < 5, lambda v: tf.concat([v, tf.zeros([n])], 0), tf.zeros([1]),
            shape_invariants=tf.TensorShape([None]),
        )
        p = tf.placeholder(tf.bool, [])
        exclusive = tf.case([(p, lambda: tf.constant(1)), (tf.logical_not(p), lambda: tf.constant(2)),
                             (p, lambda: tf.constant(3))], exclusive=True)
        with tf.Session(backend=backend) as sess:
            assert sess.run(grow, {n: 2}).shape == (5,)
            assert sess.run(exclusive, {p: False}) == 2
            with pytest.raises(errors.InvalidArgumentError, match="exclusive"):
                sess.run(exclusive, {p: True})
