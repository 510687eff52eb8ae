"""The fused LSTM cell update (LSTMBlockCellUpdate) and its gradient op, against NumPy."""

import numpy as np
import pytest
from harness import OP_TEST_BACKENDS, OpCase, make_op_tests, randn

import graphdl as tf
from graphdl.ops.rnn_ops import lstm_block_cell_update


def np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def np_cell(gates, bias, c, forget_bias=1.0):
    i, j, f, o = np.split(gates + bias, 4, axis=1)
    new_c = c * np_sigmoid(f + forget_bias) + np_sigmoid(i) * np.tanh(j)
    return [new_c, np.tanh(new_c) * np_sigmoid(o)]


def np_cell_grads(gates, bias, c, forget_bias=1.0):
    """d(sum(new_c * 0.5 + new_h)) / d(gates, c): the gradient op's outputs."""
    i, j, f, o = np.split(gates + bias, 4, axis=1)
    i, j, f, o = np_sigmoid(i), np.tanh(j), np_sigmoid(f + forget_bias), np_sigmoid(o)
    new_c = c * f + i * j
    tc = np.tanh(new_c)
    dc = 0.5 + o * (1 - tc * tc)
    d_gates = np.concatenate([dc * j * i * (1 - i), dc * i * (1 - j * j), dc * c * f * (1 - f), tc * o * (1 - o)], 1)
    return [d_gates, dc * f]


def cell_grads(gates, bias, c):
    new_c, new_h = lstm_block_cell_update(gates, bias, c)
    return tf.gradients(tf.reduce_sum(new_c * 0.5) + tf.reduce_sum(new_h), [gates, c])


GATES = randn(3, 8) * 2
BIAS = randn(8, seed=1)
C = randn(3, 2, seed=2)

CASES = [
    OpCase("lstm_block_cell_update", lambda g, b, c: list(lstm_block_cell_update(g, b, c)), [GATES, BIAS, C], np_cell),
    OpCase("lstm_block_cell_update_forget_bias_0", lambda g, b, c: list(lstm_block_cell_update(g, b, c, forget_bias=0.0)),
           [randn(5, 12, seed=3), randn(12, seed=4), randn(5, 3, seed=5)],
           lambda g, b, c: np_cell(g, b, c, 0.0)),
    OpCase("lstm_block_cell_update_grad", cell_grads, [GATES, BIAS, C], np_cell_grads, grad=False),
]

test_forward, test_gradient = make_op_tests(CASES)


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_bad_shapes_are_named(backend):
    with pytest.raises(ValueError, match="4 \\* units"):
        lstm_block_cell_update(tf.zeros([3, 7]), tf.zeros([7]), tf.zeros([3, 2]))
    gates = tf.placeholder(tf.float32, [None, None])
    c = tf.placeholder(tf.float32, [None, None])
    new_c, _ = lstm_block_cell_update(gates, tf.zeros([8]), c)
    with tf.Session(backend=backend) as sess, pytest.raises(tf.errors.InvalidArgumentError):
        sess.run(new_c, {gates: np.zeros((3, 8), np.float32), c: np.zeros((4, 2), np.float32)})


def test_basic_lstm_cell_uses_the_fused_update_and_matches_the_elementwise_graph():
    x = tf.constant(randn(4, 3))
    state = tf.nn.rnn_cell.LSTMStateTuple(tf.constant(randn(4, 5, seed=1)), tf.constant(randn(4, 5, seed=2)))
    cell = tf.nn.rnn_cell.BasicLSTMCell(5)
    out, new_state = cell(x, state)
    assert out.op.type == "LSTMBlockCellUpdate"
    gate_cell = tf.nn.rnn_cell.BasicLSTMCell(5, activation=lambda v: tf.tanh(v), name="gates")  # not fused
    out2, state2 = gate_cell(x, state)
    assert out2.op.type != "LSTMBlockCellUpdate"
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(gate_cell.variables[0].assign(cell.variables[0]))
        a, b = sess.run([[out, new_state.c], [out2, state2.c]])
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
