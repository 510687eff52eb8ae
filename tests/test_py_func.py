"""tf.py_func / tf.numpy_function: host NumPy calls inside a graph, on both backends."""

import numpy as np
import pytest
from harness import OP_TEST_BACKENDS

import graphdl.compat.v1 as tf


@pytest.fixture(params=OP_TEST_BACKENDS)
def backend(request):
    return request.param


def test_single_output_converted_to_tout_with_unknown_shape(backend):
    x = tf.placeholder(tf.float32, [None, 2])
    y = tf.py_func(lambda a: a.astype(np.float64) * 2, [x], tf.float32)  # float64 result -> float32
    assert isinstance(y, tf.Tensor) and y.dtype == tf.float32 and y.shape.ndims is None
    z = tf.py_func(lambda a: a.shape[0], [x], tf.int32)  # a Python int
    with tf.Session(backend=backend) as sess:
        out, n = sess.run([y, z], {x: [[1.0, 2.0], [3.0, 4.0]]})
    assert out.dtype == np.float32 and n.dtype == np.int32
    np.testing.assert_allclose(out, [[2.0, 4.0], [6.0, 8.0]])
    assert n == 2


def test_list_tout_returns_a_list_and_strings_round_trip(backend):
    words = tf.placeholder(tf.string, [None])
    outs = tf.py_func(lambda w: ([s.upper() for s in w], np.array([len(s) for s in w])), [words],
                      [tf.string, tf.int64])
    single = tf.py_func(lambda w: w[:1], [words], [tf.string])
    assert isinstance(outs, list) and len(outs) == 2 and isinstance(single, list) and len(single) == 1
    with tf.Session(backend=backend) as sess:
        upper, lengths, first = sess.run(outs + single, {words: ["ab", "cde"]})
    assert list(upper) == [b"AB", b"CDE"] and list(first) == [b"ab"]
    np.testing.assert_array_equal(lengths, [2, 3])


def test_stateful_py_func_runs_every_time_and_is_not_merged(backend):
    calls = []

    def count(a):
        calls.append(a.copy())
        return np.float32(len(calls))

    c = tf.constant([1.0])
    a = tf.py_func(count, [c], tf.float32)
    b = tf.numpy_function(count, [c], tf.float32)
    assert a.op.type == b.op.type == "PyFunc"
    with tf.Session(backend=backend) as sess:
        first = sess.run([a, b])
        second = sess.run(a + b)
    assert sorted(first) == [1.0, 2.0] and second == 7.0 and len(calls) == 4


def test_stateless_py_func_op_type():
    y = tf.py_func(np.negative, [tf.constant(1.0)], tf.float32, stateful=False)
    assert y.op.type == "PyFuncStateless"
    with tf.Session() as sess:
        assert sess.run(y) == -1.0


def test_errors_name_the_op_and_the_python_exception(backend):
    x = tf.placeholder(tf.float32, [2])
    fails = tf.py_func(lambda a: 1 / 0, [x], tf.float32, name="divide")
    too_many = tf.py_func(lambda a: (a, a), [x], tf.float32, name="pair")
    wrong_dtype = tf.py_func(lambda a: a + 0.5, [x], tf.int32, name="to_int")
    wrong_kind = tf.py_func(lambda a: "text", [x], tf.float32, name="to_text")
    feed = {x: [1.0, 2.0]}
    with tf.Session(backend=backend) as sess:
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"PyFunc 'divide': ZeroDivisionError: division by zero"):
            sess.run(fails, feed)
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"'pair'.*returned 2 values, but Tout expects 1"):
            sess.run(too_many, feed)
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"'to_int'.*is float32, but Tout expects int32"):
            sess.run(wrong_dtype, feed)
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"'to_text'.*but Tout expects float32"):
            sess.run(wrong_kind, feed)


def test_stop_iteration_is_out_of_range(backend):
    def exhausted(a):
        raise StopIteration

    y = tf.py_func(exhausted, [tf.constant(1)], tf.int32)
    with tf.Session(backend=backend) as sess, pytest.raises(tf.errors.OutOfRangeError):
        sess.run(y)


def test_no_outputs_returns_the_op(backend):
    seen = []
    op = tf.py_func(lambda a: seen.append(int(a)), [tf.constant(5)], [])
    assert isinstance(op, tf.Operation)
    with tf.Session(backend=backend) as sess:
        sess.run(op)
    assert seen == [5]


@tf.RegisterGradient("test_py_func_square_grad")
def _square_grad(op, dy):
    return [2.0 * op.inputs[0] * dy]


def test_no_gradient_unless_overridden(backend):
    x = tf.placeholder(tf.float32, [3])
    y = tf.py_func(np.square, [x], tf.float32)
    y.set_shape([3])
    assert tf.gradients(tf.reduce_sum(y), [x]) == [None]
    with tf.get_default_graph().gradient_override_map({"PyFunc": "test_py_func_square_grad"}):
        z = tf.py_func(np.square, [x], tf.float32)
    z.set_shape([3])
    (g,) = tf.gradients(tf.reduce_sum(z), [x])
    with tf.Session(backend=backend) as sess:
        np.testing.assert_allclose(sess.run(g, {x: [1.0, 2.0, -3.0]}), [2.0, 4.0, -6.0])


def test_func_must_be_callable():
    with pytest.raises(TypeError, match="callable"):
        tf.py_func(3, [tf.constant(1.0)], tf.float32)
