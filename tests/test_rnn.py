"""static_rnn, static_bidirectional_rnn, dynamic_rnn and bidirectional_dynamic_rnn vs NumPy unrolls, on both backends."""

import numpy as np
import pytest
from harness import OP_TEST_BACKENDS, OpCase, make_op_tests, randn, skip_on_cuda_simulator
from test_rnn_cells import np_basic_lstm, np_gru, with_weights

import graphdl as tf
from graphdl.nn import rnn_cell

B, T, D, N = 3, 4, 3, 5
LENGTHS = np.array([4, 2, 0], np.int32)  # a full, a short and an empty sequence


def np_unroll(step, xs, state, lengths=None):
    """Outputs per step and the final state, zeroing outputs and carrying the state past each length (TF1)."""
    outs = []
    for t, x in enumerate(xs):
        out, new_state = step(x, state)
        if lengths is not None:
            done = (t >= lengths)[:, None]
            out = np.where(done, 0.0, out)
            new_state = tuple(np.where(done, s, n) for s, n in zip(state, new_state))
        outs.append(out)
        state = new_state
    return outs, state


def lstm_step(kernel, bias):
    return lambda x, s: np_basic_lstm(x, s[0], s[1], kernel, bias)


def gru_step(gk, gb, ck, cb):
    def step(x, s):
        out, h = np_gru(x, s[0], gk, gb, ck, cb)
        return out, (h,)
    return step


def reverse_rows(xs, lengths):
    """[T, B, ...] reversed over each row's first ``lengths[b]`` steps (reverse_sequence)."""
    xs = np.array(xs)
    out = xs.copy()
    for b, n in enumerate(lengths):
        out[:n, b] = xs[:n, b][::-1]
    return out


# -- harness cases: weights as inputs, so gradients through the masking are checked too --------------------------
def build_static_lstm_masked(x, kernel, bias):
    cell = rnn_cell.BasicLSTMCell(N)
    outs, state = with_weights({"kernel": kernel, "bias": bias}, lambda: tf.nn.static_rnn(
        cell, tf.unstack(x, num=T, axis=1), dtype=x.dtype, sequence_length=LENGTHS))
    return [tf.stack(outs, 1), state.c, state.h]


def expect_static_lstm_masked(x, kernel, bias):
    zero = np.zeros((B, N), x.dtype)
    outs, (c, h) = np_unroll(lstm_step(kernel, bias), list(x.transpose(1, 0, 2)), (zero, zero), LENGTHS)
    return [np.stack(outs, 1), c, h]


def build_bidirectional(x, k_fw, b_fw, gk, gb, ck, cb):
    weights = {"fw/basic_lstm_cell/kernel": k_fw, "fw/basic_lstm_cell/bias": b_fw, "bw/gru_cell/gates/kernel": gk,
               "bw/gru_cell/gates/bias": gb, "bw/gru_cell/candidate/kernel": ck, "bw/gru_cell/candidate/bias": cb}
    outs, st_fw, st_bw = with_weights(weights, lambda: tf.nn.static_bidirectional_rnn(
        rnn_cell.BasicLSTMCell(N), rnn_cell.GRUCell(2), tf.unstack(x, num=T, axis=1), dtype=x.dtype,
        sequence_length=LENGTHS))
    return [tf.stack(outs, 1), st_fw.c, st_fw.h, st_bw]


def expect_bidirectional(x, k_fw, b_fw, gk, gb, ck, cb):
    xs = x.transpose(1, 0, 2)
    zero = np.zeros((B, N), x.dtype)
    out_fw, (c, h) = np_unroll(lstm_step(k_fw, b_fw), list(xs), (zero, zero), LENGTHS)
    out_bw, (h_bw,) = np_unroll(gru_step(gk, gb, ck, cb), list(reverse_rows(xs, LENGTHS)),
                                (np.zeros((B, 2), x.dtype),), LENGTHS)
    out_bw = reverse_rows(out_bw, LENGTHS)
    outs = np.concatenate([np.stack(out_fw), out_bw], -1).transpose(1, 0, 2)
    return [outs, c, h, h_bw]


def build_dynamic(time_major):
    def build(x, kernel, bias):
        cell = rnn_cell.BasicLSTMCell(N)
        inputs = tf.transpose(x, [1, 0, 2]) if time_major else x
        outs, state = with_weights({"kernel": kernel, "bias": bias}, lambda: tf.nn.dynamic_rnn(
            cell, inputs, sequence_length=LENGTHS, dtype=x.dtype, time_major=time_major))
        return [tf.transpose(outs, [1, 0, 2]) if time_major else outs, state.c, state.h]
    return build


def w(*shape, seed):
    return randn(*shape, seed=seed) * np.float32(0.5)


X = randn(B, T, D, seed=1)
X64 = X.astype(np.float64)
TOL = {"rtol": 1e-4, "atol": 1e-5, "unknown_dims": False}
CASES = [
    OpCase("static_rnn_lstm_sequence_length", build_static_lstm_masked, [X, w(D + N, 4 * N, seed=2), w(4 * N, seed=3)],
           expect_static_lstm_masked, **TOL),
    OpCase("static_bidirectional_lstm_gru", build_bidirectional,
           [X, w(D + N, 4 * N, seed=2), w(4 * N, seed=3), w(D + 2, 4, seed=4), w(4, seed=5), w(D + 2, 2, seed=6),
            w(2, seed=7)], expect_bidirectional, **TOL),
    OpCase("dynamic_rnn_lstm_sequence_length", build_dynamic(False), [X, w(D + N, 4 * N, seed=2), w(4 * N, seed=3)],
           expect_static_lstm_masked, **TOL),
    OpCase("dynamic_rnn_time_major", build_dynamic(True), [X, w(D + N, 4 * N, seed=2), w(4 * N, seed=3)],
           expect_static_lstm_masked, **TOL),
]
test_forward, test_gradient = make_op_tests(CASES)


# -- real variables -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_static_rnn_with_variables_matches_numpy_unknown_batch(backend):
    xs = [tf.placeholder(tf.float32, [None, D]) for _ in range(T)]
    cell = rnn_cell.BasicLSTMCell(N)
    outs, state = tf.nn.static_rnn(cell, xs, dtype=tf.float32)
    assert [v.op.name for v in tf.global_variables()] == ["rnn/basic_lstm_cell/kernel", "rnn/basic_lstm_cell/bias"]
    assert outs[0].shape.as_list() == [None, N]
    feed = {p: randn(2, D, seed=i) for i, p in enumerate(xs)}
    with tf.Session(backend=backend) as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(tf.assign(cell.variables[1], randn(4 * N, seed=9) * 0.3))
        kernel, bias = sess.run(cell.variables)
        got_outs, got_state = sess.run([outs, state], feed)
    zero = np.zeros((2, N), np.float32)
    want_outs, (c, h) = np_unroll(lstm_step(kernel, bias), [feed[p] for p in xs], (zero, zero))
    np.testing.assert_allclose(got_outs, want_outs, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_state.c, c, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_state.h, h, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_sequence_length_masks_outputs_and_carries_state(backend):
    x = tf.placeholder(tf.float32, [None, T, D])
    seq = tf.placeholder(tf.int32, [None])
    outs, state = tf.nn.static_rnn(rnn_cell.GRUCell(N), tf.unstack(x, axis=1), dtype=tf.float32, sequence_length=seq)
    full, _ = tf.nn.static_rnn(rnn_cell.GRUCell(N, reuse=True), tf.unstack(x, axis=1), dtype=tf.float32)
    assert len(tf.global_variables()) == 4  # the second call reused rnn/gru_cell/*
    with tf.Session(backend=backend) as sess:
        sess.run(tf.global_variables_initializer())
        o, s, f = sess.run([tf.stack(outs, 1), state, tf.stack(full, 1)], {x: X, seq: LENGTHS})
    for b, n in enumerate(LENGTHS):
        assert not o[b, n:].any()
        np.testing.assert_allclose(o[b, :n], f[b, :n], rtol=1e-6)
        np.testing.assert_allclose(s[b], f[b, n - 1] if n else np.zeros(N), rtol=1e-6)


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_dynamic_rnn_equals_static_rnn_and_bidirectional_dynamic(backend):
    x = tf.placeholder(tf.float32, [None, T, D])
    cell = rnn_cell.MultiRNNCell([rnn_cell.GRUCell(N), rnn_cell.BasicLSTMCell(2)])
    dyn_out, dyn_state = tf.nn.dynamic_rnn(cell, x, sequence_length=LENGTHS, dtype=tf.float32)
    with tf.variable_scope("rnn", reuse=True):
        st_out, st_state = tf.nn.static_rnn(cell, tf.unstack(x, axis=1), sequence_length=LENGTHS, dtype=tf.float32,
                                            scope=tf.get_variable_scope())
    assert dyn_out.shape.as_list()[1:] == [T, 2]
    (bo_fw, bo_bw), (_bs_fw, bs_bw) = tf.nn.bidirectional_dynamic_rnn(
        rnn_cell.GRUCell(N), rnn_cell.GRUCell(N), x, sequence_length=LENGTHS, dtype=tf.float32)
    names = sorted(v.op.name for v in tf.global_variables())
    assert "rnn/multi_rnn_cell/cell_1/basic_lstm_cell/kernel" in names
    assert "bidirectional_rnn/bw/gru_cell/gates/kernel" in names and len(names) == 6 + 2 * 4
    with tf.Session(backend=backend) as sess:
        sess.run(tf.global_variables_initializer())
        d, s, ds, ss, fw, bw, sbw = sess.run([dyn_out, tf.stack(st_out, 1), dyn_state, st_state, bo_fw, bo_bw, bs_bw],
                                             {x: X})
    np.testing.assert_allclose(d, s, rtol=1e-6)
    for a, b in zip(_flat(ds), _flat(ss)):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert fw.shape == bw.shape == (B, T, N)
    assert not bw[1, 2:].any() and not bw[2].any()
    np.testing.assert_allclose(sbw[0], bw[0, 0], rtol=1e-6)  # the backward final state is its output at t=0


def _flat(s):
    from graphdl import nest

    return nest.flatten(s)


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_dynamic_rnn_with_unknown_time_steps_runs_a_while_loop(backend):
    x = tf.placeholder(tf.float64, [None, None, D])  # float64: exact finite differences
    cell = rnn_cell.BasicLSTMCell(N)
    outs, state = tf.nn.dynamic_rnn(cell, x, sequence_length=LENGTHS, dtype=tf.float64)
    assert "While" in {op.type for op in tf.get_default_graph().get_operations()}
    assert [v.op.name for v in tf.global_variables()] == ["rnn/basic_lstm_cell/kernel", "rnn/basic_lstm_cell/bias"]
    loss = tf.reduce_sum(outs * outs) + tf.reduce_sum(state.c)
    grads = tf.gradients(loss, cell.variables)
    with tf.Session(backend=backend) as sess:
        sess.run(tf.global_variables_initializer())
        kernel, bias = sess.run(cell.variables)
        got_outs, got_state, got_grads = sess.run([outs, state, grads], {x: X64})
        # finite differences of the loss w.r.t. three kernel entries
        for idx in [(0, 0), (D + 1, 7), (D + N - 1, 4 * N - 1)]:
            values = []
            for delta in (1e-6, -1e-6):
                k = kernel.copy()
                k[idx] += delta
                cell.variables[0].load(k, sess)
                values.append(sess.run(loss, {x: X64}))
            np.testing.assert_allclose(got_grads[0][idx], (values[0] - values[1]) / 2e-6, rtol=1e-5, atol=1e-7)
    zero = np.zeros((B, N))
    want, (c, h) = np_unroll(lstm_step(kernel, bias), list(X64.transpose(1, 0, 2)), (zero, zero), LENGTHS)
    np.testing.assert_allclose(got_outs, np.stack(want, 1), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got_state.c, c, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got_state.h, h, rtol=1e-10, atol=1e-12)


def test_rnn_argument_errors():
    xs = [tf.placeholder(tf.float32, [2, D])]
    with pytest.raises(ValueError, match="dtype must be specified"):
        tf.nn.static_rnn(rnn_cell.GRUCell(N), xs)
    with pytest.raises(TypeError, match="inputs must be a sequence"):
        tf.nn.static_rnn(rnn_cell.GRUCell(N), xs[0], dtype=tf.float32)
    with pytest.raises(ValueError, match="must not be empty"):
        tf.nn.static_rnn(rnn_cell.GRUCell(N), [], dtype=tf.float32)
    with pytest.raises(ValueError, match="sequence_length must be a vector"):
        tf.nn.static_rnn(rnn_cell.GRUCell(N), xs, dtype=tf.float32, sequence_length=[[1, 1]])
    with pytest.raises(TypeError, match="is not an RNNCell"):
        tf.nn.static_rnn(object(), xs, dtype=tf.float32)
    with pytest.raises(ValueError, match="already exists"):
        tf.nn.static_rnn(rnn_cell.GRUCell(N), xs, dtype=tf.float32)
        tf.nn.static_rnn(rnn_cell.GRUCell(N), xs, dtype=tf.float32)  # TF1: a new cell in the same "rnn" scope


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_training_an_lstm_reduces_the_loss(backend):
    skip_on_cuda_simulator(backend, "training an LSTM")
    rng = np.random.default_rng(0)
    data = rng.standard_normal((16, T, 2)).astype(np.float32)
    target = data[:, :, 0].sum(1, keepdims=True)  # regress the running sum of a channel
    x = tf.placeholder(tf.float32, [None, T, 2])
    y = tf.placeholder(tf.float32, [None, 1])
    outs, _ = tf.nn.static_rnn(rnn_cell.LSTMCell(8, num_proj=4), tf.unstack(x, axis=1), dtype=tf.float32)
    pred = tf.layers.dense(outs[-1], 1)
    loss = tf.reduce_mean(tf.square(pred - y))
    train = tf.train.AdamOptimizer(0.05).minimize(loss)
    with tf.Session(backend=backend) as sess:
        sess.run(tf.global_variables_initializer())
        first = sess.run(loss, {x: data, y: target})
        for _ in range(60):
            sess.run(train, {x: data, y: target})
        last = sess.run(loss, {x: data, y: target})
    assert last < 0.25 * first, (first, last)


# -- DropoutWrapper -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_dropout_wrapper_drops_outputs_and_h_not_c(backend):
    x = tf.placeholder(tf.float32, [64, D])
    base = rnn_cell.BasicLSTMCell(N)
    cell = rnn_cell.DropoutWrapper(base, output_keep_prob=0.5, state_keep_prob=0.5, seed=3)
    state0 = base.zero_state(64, tf.float32)
    out, state = cell(x, state0)
    with tf.variable_scope("", reuse=True):
        plain_out, plain_state = base(x, state0)
    with tf.Session(backend=backend) as sess:
        sess.run(tf.global_variables_initializer())
        o, s, po, ps = sess.run([out, state, plain_out, plain_state], {x: randn(64, D, seed=1)})
    np.testing.assert_allclose(s.c, ps.c, rtol=1e-6)  # the memory state is never dropped
    for got, plain in [(o, po), (s.h, ps.h)]:
        kept = got != 0
        np.testing.assert_allclose(got[kept], 2 * plain[kept], rtol=1e-5)
        assert 0.3 < kept.mean() < 0.7


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_variational_dropout_uses_one_mask_for_all_steps(backend):
    xs = [tf.placeholder(tf.float32, [8, D]) for _ in range(T)]
    cell = rnn_cell.DropoutWrapper(rnn_cell.BasicRNNCell(N), input_keep_prob=0.5, output_keep_prob=0.5,
                                   variational_recurrent=True, input_size=D, dtype=tf.float32, seed=1)
    outs, _ = tf.nn.static_rnn(cell, xs, dtype=tf.float32)
    with tf.Session(backend=backend) as sess:
        sess.run(tf.global_variables_initializer())
        got = sess.run(outs, {p: np.abs(randn(8, D, seed=i)) + 1 for i, p in enumerate(xs)})
    masks = [g != 0 for g in got]
    for m in masks[1:]:
        np.testing.assert_array_equal(m, masks[0])  # same dropped units at every step
    assert (masks[0] == masks[0][:1]).all()  # and for every batch row
    with pytest.raises(ValueError, match="dtype must be provided"):
        rnn_cell.DropoutWrapper(rnn_cell.GRUCell(N), variational_recurrent=True)
    with pytest.raises(ValueError, match="input_size must be provided"):
        rnn_cell.DropoutWrapper(rnn_cell.GRUCell(N), input_keep_prob=0.5, variational_recurrent=True, dtype=tf.float32)


def test_dropout_wrapper_keep_prob_one_is_identity_and_tensor_keep_prob():
    x = tf.placeholder(tf.float32, [4, D])
    keep = tf.placeholder_with_default(1.0, [])
    base = rnn_cell.GRUCell(N)
    same = rnn_cell.DropoutWrapper(base)
    fed = rnn_cell.DropoutWrapper(base, output_keep_prob=keep)
    state = base.zero_state(4, tf.float32)
    a, _ = same(x, state)
    b, _ = fed(x, state)
    assert len(tf.global_variables()) == 4
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        va, vb = sess.run([a, b], {x: randn(4, D)})
        vd = sess.run(b, {x: randn(4, D), keep: 0.25})
    np.testing.assert_allclose(va, vb, rtol=1e-6)
    assert ((vd == 0) | np.isclose(vd, 4 * va, rtol=1e-5)).all() and (vd == 0).any()
