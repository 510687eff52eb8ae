"""The fused GRU cell stages (GRUBlockCellGates, GRUBlockCellUpdate) and their gradient ops, against NumPy."""

import numpy as np
import pytest
from harness import OP_TEST_BACKENDS, OpCase, make_op_tests, randn

import graphdl as tf
from graphdl.ops.gru_ops import gru_block_cell_gates, gru_block_cell_update


def np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def np_gates(gates, bias, h):
    r, u = np.split(np_sigmoid(gates + bias), 2, axis=1)
    return [r * h, u]


def np_update(candidate, bias, u, h):
    return u * h + (1 - u) * np.tanh(candidate + bias)


def gates_grads(gates, bias, h):
    """d(sum(r * h * 0.5 + u)) / d(gates, h) through the gradient op."""
    rh, u = gru_block_cell_gates(gates, bias, h)
    return tf.gradients(tf.reduce_sum(rh * 0.5) + tf.reduce_sum(u), [gates, h])


def np_gates_grads(gates, bias, h):
    r, u = np.split(np_sigmoid(gates + bias), 2, axis=1)
    return [np.concatenate([0.5 * h * r * (1 - r), u * (1 - u)], axis=1), 0.5 * r]


def update_grads(candidate, bias, u, h):
    return tf.gradients(tf.reduce_sum(gru_block_cell_update(candidate, bias, u, h)), [candidate, u, h])


def np_update_grads(candidate, bias, u, h):
    c = np.tanh(candidate + bias)
    return [(1 - u) * (1 - c * c), h - c, u]


GATES, B_RU, H = randn(3, 8) * 2, randn(8, seed=1), randn(3, 4, seed=2)
CAND, B_C, U = randn(3, 4, seed=3) * 2, randn(4, seed=4), np_sigmoid(randn(3, 4, seed=5))

CASES = [
    OpCase("gru_block_cell_gates", lambda g, b, h: list(gru_block_cell_gates(g, b, h)), [GATES, B_RU, H], np_gates),
    OpCase("gru_block_cell_gates_odd", lambda g, b, h: list(gru_block_cell_gates(g, b, h)),
           [randn(5, 6, seed=6), randn(6, seed=7), randn(5, 3, seed=8)], np_gates),
    OpCase("gru_block_cell_update", gru_block_cell_update, [CAND, B_C, U, H], np_update),
    OpCase("gru_block_cell_gates_grad", gates_grads, [GATES, B_RU, H], np_gates_grads, grad=False),
    OpCase("gru_block_cell_update_grad", update_grads, [CAND, B_C, U, H], np_update_grads, grad=False),
]

test_forward, test_gradient = make_op_tests(CASES)


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_bad_shapes_are_named(backend):
    with pytest.raises(ValueError, match="units"):
        gru_block_cell_gates(tf.zeros([3, 8]), tf.zeros([8]), tf.zeros([3, 3]))
    gates = tf.placeholder(tf.float32, [None, None])
    h = tf.placeholder(tf.float32, [None, None])
    rh, _ = gru_block_cell_gates(gates, tf.zeros([8]), h)
    with tf.Session(backend=backend) as sess, pytest.raises(tf.errors.InvalidArgumentError, match="h_prev"):
        sess.run(rh, {gates: np.zeros((3, 8), np.float32), h: np.zeros((4, 4), np.float32)})


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_gru_cell_uses_the_fused_ops_and_matches_the_elementwise_graph(backend):
    x = tf.constant(randn(4, 3).astype(np.float32))
    h = tf.constant(randn(4, 5, seed=1).astype(np.float32))
    cell = tf.nn.rnn_cell.GRUCell(5)
    out, _ = cell(x, h)
    assert out.op.type == "GRUBlockCellUpdate"
    plain = tf.nn.rnn_cell.GRUCell(5, activation=lambda v: tf.tanh(v), name="plain")  # not fused
    out2, _ = plain(x, h)
    assert out2.op.type != "GRUBlockCellUpdate"
    loss, loss2 = tf.reduce_sum(out * out), tf.reduce_sum(out2 * out2)
    grads = tf.gradients(loss, cell.trainable_variables + [h])
    grads2 = tf.gradients(loss2, plain.trainable_variables + [h])
    with tf.Session(backend=backend) as sess:
        sess.run(tf.global_variables_initializer())
        sess.run([p.assign(c) for c, p in zip(cell.trainable_variables, plain.trainable_variables)])
        a, b = sess.run([[out] + grads, [out2] + grads2])
    assert len(a) == 6
    for got, want in zip(a, b):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
