"""TensorArray: writes, reads, stack/unstack, gather/scatter, concat, dynamic size; gradients vs finite differences."""

import numpy as np
import pytest
from harness import OP_TEST_BACKENDS, OpCase, make_op_tests, randn

import graphdl as tf
from graphdl import errors


def _write_loop(x, dynamic_size=False, element_shape=None):
    """out[t] = x[t] * (t + 1) written inside a while_loop, then stacked."""
    n = tf.shape(x)[0]
    in_ta = tf.TensorArray(x.dtype, size=n).unstack(x)
    out = tf.TensorArray(x.dtype, size=0 if dynamic_size else n, dynamic_size=dynamic_size, element_shape=element_shape)

    def body(t, ta):
        return t + 1, ta.write(t, in_ta.read(t) * tf.cast(t + 1, x.dtype))

    _, out = tf.while_loop(lambda t, ta: t < n, body, (tf.constant(0), out))
    return out.stack()


def _np_write_loop(x):
    return x * np.arange(1, len(x) + 1, dtype=x.dtype).reshape((-1,) + (1,) * (x.ndim - 1))


def _python_writes(x):
    ta = tf.TensorArray(x.dtype, size=3)
    ta = ta.write(2, x[0] * 2.0).write(0, tf.sin(x[1]))
    return ta.stack()


def _np_python_writes(x):
    out = np.zeros((3,) + x.shape[1:], x.dtype)
    out[2], out[0] = x[0] * 2.0, np.sin(x[1])
    return out


def _scatter_gather(x, y):
    ta = tf.TensorArray(x.dtype, size=4, element_shape=[3]).scatter([3, 1], x)
    ta = ta.write(0, y)
    return [ta.gather([1, 0, 1]), ta.read(3), ta.stack()]


def _np_scatter_gather(x, y):
    full = np.zeros((4, 3), x.dtype)
    full[[3, 1]] = x
    full[0] = y
    return [full[[1, 0, 1]], full[3], full]


def _concat(x):
    return tf.TensorArray(x.dtype, size=2).unstack(x).concat()


def _overwrite(x, y):
    """A write over an element: the overwritten value gets no gradient, the new one does."""
    ta = tf.TensorArray(x.dtype, size=2).unstack(x)
    return ta.write(1, y * 3.0).stack()


def _np_overwrite(x, y):
    out = x.copy()
    out[1] = y * 3.0
    return out


X = randn(4, 2, 3)
CASES = [
    OpCase("write_in_while", _write_loop, [X], _np_write_loop),
    OpCase("write_in_while_dynamic_size", lambda x: _write_loop(x, dynamic_size=True), [X], _np_write_loop),
    OpCase("write_in_while_element_shape", lambda x: _write_loop(x, element_shape=[2, 3]), [X], _np_write_loop,
           unknown_dims=False),
    OpCase("write_scalars_in_while", _write_loop, [randn(5, seed=1)], _np_write_loop),
    OpCase("python_writes", _python_writes, [randn(2, 3, seed=2)], _np_python_writes),
    OpCase("scatter_gather_read", _scatter_gather, [randn(2, 3, seed=3), randn(3, seed=4)], _np_scatter_gather),
    OpCase("concat", _concat, [randn(2, 3, 2, seed=5)], lambda x: x.reshape(6, 2)),
    OpCase("overwrite", _overwrite, [randn(2, 3, seed=6), randn(3, seed=7)], _np_overwrite),
]
test_forward, test_gradient = make_op_tests(CASES)


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_size_and_static_shapes(backend):
    with tf.Graph().as_default():
        ta = tf.TensorArray(tf.float32, size=3, element_shape=[2])
        assert ta.stack().shape.as_list() == [3, 2]
        ta2 = tf.TensorArray(tf.float32, size=3).write(0, tf.zeros([4, 5]))
        assert ta2.element_shape.as_list() == [4, 5]
        assert ta2.read(1).shape.as_list() == [4, 5]
        grown = tf.TensorArray(tf.float32, size=1, dynamic_size=True).write(4, tf.ones([2]))
        with tf.Session(backend=backend) as sess:
            assert sess.run(ta.size()) == 3
            size, stacked = sess.run([grown.size(), grown.stack()])
            assert size == 5
            np.testing.assert_array_equal(stacked, np.vstack([np.zeros((4, 2)), np.ones((1, 2))]))


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_errors(backend):
    with tf.Graph().as_default():
        ta = tf.TensorArray(tf.float32, size=2, element_shape=[3])
        with pytest.raises(ValueError, match="element shape"):
            ta.write(0, tf.zeros([4]))
        with pytest.raises(TypeError):
            ta.write(0, tf.zeros([3], tf.int32))
        i = tf.placeholder(tf.int32, [])
        out = ta.write(i, tf.ones([3])).stack()
        with tf.Session(backend=backend) as sess:
            assert sess.run(out, {i: 1})[1].tolist() == [1, 1, 1]
            with pytest.raises(errors.InvalidArgumentError, match="not resizeable"):
                sess.run(out, {i: 2})
