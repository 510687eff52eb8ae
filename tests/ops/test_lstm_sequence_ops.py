"""The fused LSTM recurrence (BlockLSTMRecurrence), its gradient, and static_rnn running plain LSTM cells through it."""

import numpy as np
import pytest
from harness import BACKENDS, OpCase, make_op_tests, randn

import graphdl as tf
from graphdl.ops.lstm_sequence_ops import lstm_block_recurrence


def np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def np_recurrence(x, h0, c0, w, bias, forget_bias=1.0):
    """h and c of every step, written out step by step from TF1's BasicLSTMCell equations."""
    h, c, hs, cs = h0, c0, [], []
    for x_t in x:
        i, j, f, o = np.split(np.concatenate([x_t, h], axis=1) @ w + bias, 4, axis=1)
        c = c * np_sigmoid(f + forget_bias) + np_sigmoid(i) * np.tanh(j)
        h = np.tanh(c) * np_sigmoid(o)
        hs.append(h)
        cs.append(c)
    return [np.stack(hs), np.stack(cs)]


def inputs(steps, batch, units, depth=3, seed=0):
    return [randn(steps, batch, depth, seed=seed), randn(batch, units, seed=seed + 1),
            randn(batch, units, seed=seed + 2), randn(depth + units, 4 * units, seed=seed + 3) * 0.5,
            randn(4 * units, seed=seed + 4)]


def last_state(xw, h0, c0, wh, bias):
    """Only the final c and h: the gradient op then gets zeros for every other step's c."""
    h, c = lstm_block_recurrence(xw, h0, c0, wh, bias, forget_bias=0.0)
    return [h[-1], c[-1]]


def final_state(x, h0, c0, w, bias):
    """The op's own final-state outputs: their gradients enter the last step, every other step's are absent."""
    h, _ = lstm_block_recurrence(x, h0, c0, w, bias, forget_bias=0.5)
    return list(h.op.outputs[3:5])


def outputs_and_final_c(x, h0, c0, w, bias):
    h, _ = lstm_block_recurrence(x, h0, c0, w, bias)
    return [h, h.op.outputs[4]]


CASES = [
    OpCase("lstm_block_recurrence", lambda *a: list(lstm_block_recurrence(*a)), inputs(3, 2, 2), np_recurrence),
    OpCase("lstm_block_recurrence_forget_bias", lambda *a: list(lstm_block_recurrence(*a, forget_bias=0.25)),
           inputs(4, 3, 3, seed=5), lambda *a: np_recurrence(*a, forget_bias=0.25)),
    OpCase("lstm_block_recurrence_one_step", lambda *a: list(lstm_block_recurrence(*a)), inputs(1, 2, 2, seed=9),
           np_recurrence),
    OpCase("lstm_block_recurrence_no_inputs", lambda *a: list(lstm_block_recurrence(*a)),
           inputs(3, 2, 2, depth=0, seed=13), np_recurrence),
    OpCase("lstm_block_recurrence_final_state", final_state, inputs(3, 2, 2, seed=17),
           lambda *a: [r[-1] for r in np_recurrence(*a, forget_bias=0.5)]),
    OpCase("lstm_block_recurrence_no_steps", final_state, inputs(0, 2, 2, seed=21), lambda x, h0, c0, w, b: [h0, c0]),
    OpCase("lstm_block_recurrence_outputs_and_final_c", outputs_and_final_c, inputs(4, 2, 3, seed=19),
           lambda *a: [np_recurrence(*a)[0], np_recurrence(*a)[1][-1]]),
    OpCase("lstm_block_recurrence_last_state", last_state, inputs(3, 2, 2, seed=11),
           lambda *a: [r[-1] for r in np_recurrence(*a, forget_bias=0.0)]),
]

test_forward, test_gradient = make_op_tests(CASES)


def test_shapes_are_checked_when_the_graph_is_built():
    x, h0, c0, w, bias = (tf.zeros(a.shape) for a in inputs(3, 2, 2))  # x [3, 2, 3], w [5, 8]
    with pytest.raises(ValueError, match="number of units"):
        lstm_block_recurrence(x, h0, c0, tf.zeros([3, 8]), bias)
    with pytest.raises(ValueError, match="number of units"):
        lstm_block_recurrence(tf.zeros([3, 2, 4]), h0, c0, w, bias)  # 4 input rows + 2 units != 5 kernel rows
    with pytest.raises(ValueError, match=r"x \(the inputs\) must be \[time, batch, input depth\]"):
        lstm_block_recurrence(tf.zeros([2, 8]), h0, c0, w, bias)
    with pytest.raises(ValueError, match="same batch size"):
        lstm_block_recurrence(x, tf.zeros([5, 2]), c0, w, bias)
    with pytest.raises(TypeError, match="requested dtype float32"):
        lstm_block_recurrence(x, h0, c0, w, tf.zeros([8], tf.float64))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("x_shape, h0_shape", [((3, 2, 3), (4, 2)), ((3, 2, 4), (2, 2))],
                         ids=["batch", "kernel rows"])
def test_fed_shapes_that_disagree_raise_invalid_argument(backend, x_shape, h0_shape):
    x = tf.placeholder(tf.float32, [None, None, None])
    h0 = tf.placeholder(tf.float32, [None, None])
    h, _ = lstm_block_recurrence(x, h0, tf.zeros([2, 2]), tf.zeros([5, 8]), tf.zeros([8]))
    with tf.Session(backend=backend) as sess, pytest.raises(tf.errors.InvalidArgumentError):
        sess.run(h, {x: np.zeros(x_shape, np.float32), h0: np.zeros(h0_shape, np.float32)})


def _static_lstm(cell_class, fused, state_is_tuple=True, steps=5, batch=3, depth=4, units=6):
    """Outputs, final state and gradients of static_rnn over random inputs, with or without the fused path."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [None, steps, depth])
        cell = cell_class(units, forget_bias=0.5, state_is_tuple=state_is_tuple)
        # A sequence_length makes static_rnn step through the cell one call at a time (full lengths: same result).
        lengths = None if fused else tf.fill([tf.shape(x)[0]], steps)
        outputs, state = tf.nn.static_rnn(cell, tf.unstack(x, axis=1), dtype=tf.float32, sequence_length=lengths)
        final_c = state.c if state_is_tuple else state
        loss = tf.reduce_sum(tf.stack(outputs) ** 2) + tf.reduce_sum(final_c * 0.5)
        variables = cell.trainable_variables
        grads = tf.gradients(loss, [*variables, x])
        types = {op.type for op in graph.get_operations()}
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for k, v in enumerate(variables):
                sess.run(v.assign(randn(*v.shape.as_list(), seed=20 + k) * 0.5))
            values = sess.run([outputs, state, grads], {x: randn(batch, steps, depth, seed=7)})
    return values, [v.name for v in variables], types


@pytest.mark.parametrize("cell_class", [tf.nn.rnn_cell.BasicLSTMCell, tf.nn.rnn_cell.LSTMCell])
@pytest.mark.parametrize("state_is_tuple", [True, False])
def test_static_rnn_runs_a_plain_lstm_as_one_recurrence_with_the_same_results(cell_class, state_is_tuple):
    fused, names, types = _static_lstm(cell_class, True, state_is_tuple)
    stepped, step_names, step_types = _static_lstm(cell_class, False, state_is_tuple)
    assert "BlockLSTMRecurrence" in types and "BlockLSTMRecurrenceGrad" in types
    assert "BlockLSTMRecurrence" not in step_types
    scope = "basic_lstm_cell" if cell_class is tf.nn.rnn_cell.BasicLSTMCell else "lstm_cell"
    assert names == step_names == [f"rnn/{scope}/kernel:0", f"rnn/{scope}/bias:0"]
    for got, want in zip(tf.nest.flatten(fused), tf.nest.flatten(stepped)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_cells_with_peepholes_projection_or_their_own_step_are_not_fused():
    class Doubled(tf.nn.rnn_cell.BasicLSTMCell):
        def call(self, inputs, state):
            output, new_state = super().call(inputs, state)
            return output * 2.0, new_state

    for cell in (tf.nn.rnn_cell.LSTMCell(4, use_peepholes=True), tf.nn.rnn_cell.LSTMCell(4, num_proj=3),
                 Doubled(4)):
        graph = tf.Graph()
        with graph.as_default():
            tf.nn.static_rnn(cell, [tf.zeros([2, 3])] * 3, dtype=tf.float32)
            assert "BlockLSTMRecurrence" not in {op.type for op in graph.get_operations()}, type(cell).__name__


@pytest.mark.parametrize("wrt", ["all", "weights"])  # "weights": no input gradient reads the gate gradients
@pytest.mark.parametrize("products", ["compiled", "numpy"])
def test_a_large_layer_split_across_kernel_threads_matches_the_reference(monkeypatch, products, wrt):
    """Enough work to run half the batch per kernel thread (and split the recurrent kernel's gradient
    product); a nonzero initial state adds its own term to that gradient. The steps' products go through
    BLAS from the compiled loops, or through np.matmul where NumPy's BLAS cannot be called from them."""
    from graphdl.backends.numba_cpu import threads
    from graphdl.backends.numba_cpu.kernels import lstm_sequence

    monkeypatch.setattr(threads, "_state", {"threads": 2, "limiter": None})
    if products == "numpy":
        monkeypatch.setattr(lstm_sequence, "gemm_address", lambda dtype: 0)
    elif not lstm_sequence.gemm_address(np.float32):
        pytest.skip("NumPy's BLAS is not an OpenBLAS with the 64-bit cblas interface")
    steps, batch, units = 16, 64, 32
    values = inputs(steps, batch, units, seed=30)
    values[3] *= 0.5
    results = {}
    for backend in ("reference", "numba"):
        graph = tf.Graph()
        with graph.as_default():
            tensors = [tf.placeholder(tf.float32, v.shape) for v in values]  # fed: nothing is constant-folded
            h, c = lstm_block_recurrence(*tensors, forget_bias=0.5)
            loss = tf.reduce_sum(h * tf.constant(randn(steps, batch, units, seed=40))) + tf.reduce_sum(c[-1] ** 2)
            grads = tf.gradients(loss, tensors if wrt == "all" else tensors[1:])  # x first: its gradient reads d_z
            with tf.Session(backend=backend) as sess:
                results[backend] = sess.run([h, c, grads], dict(zip(tensors, values)))
    for got, want in zip(tf.nest.flatten(results["numba"]), tf.nest.flatten(results["reference"])):
        np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-4)


def test_a_classifier_on_the_last_output_writes_no_zero_gradients_for_the_sequence():
    """Only outputs[-1] is used: the recurrence's gradient gets scalar zeros for h and c, not [T, B, H] arrays."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [4, 6, 3])
        outputs, state = tf.nn.static_rnn(tf.nn.rnn_cell.BasicLSTMCell(5), tf.unstack(x, axis=1), dtype=tf.float32)
        assert outputs[-1] is state.h
        loss = tf.reduce_sum(tf.layers.dense(outputs[-1], 2))
        tf.gradients(loss, tf.trainable_variables())
        grad_op = next(op for op in graph.get_operations() if op.type == "BlockLSTMRecurrenceGrad")
        d_h, d_c, d_h_last = grad_op.inputs[7:10]
        assert d_h.shape.as_list() == [] and d_c.shape.as_list() == []
        assert d_h_last.shape.as_list() == [4, 5]
        # The unstacked steps are not stacked again: the op reads x transposed to time-major.
        sequence = grad_op.inputs[0]
        assert sequence.op.type == "Transpose" and sequence.op.inputs[0] is x


class SteppedLSTMCell(tf.nn.rnn_cell.BasicLSTMCell):
    """The same cell with its own ``call``: never fused, so dynamic_rnn steps it (unrolled or while_loop)."""

    def call(self, inputs, state):
        return super().call(inputs, state)


def _dynamic_lstm(cell_class, known_steps, time_major, steps=5, batch=3, depth=4, units=6):
    graph = tf.Graph()
    with graph.as_default():
        shape = [steps if known_steps else None, batch, depth] if time_major else \
            [batch, steps if known_steps else None, depth]
        x = tf.placeholder(tf.float32, shape)
        cell = cell_class(units, forget_bias=0.5, name="basic_lstm_cell")
        outputs, state = tf.nn.dynamic_rnn(cell, x, dtype=tf.float32,
                                           time_major=time_major)
        loss = tf.reduce_sum(outputs ** 2) + tf.reduce_sum(state.c * 0.5) + tf.reduce_sum(state.h)
        variables = tf.trainable_variables()
        grads = tf.gradients(loss, [*variables, x])
        types = {op.type for op in graph.get_operations()}
        value = randn(steps, batch, depth, seed=8) if time_major else randn(batch, steps, depth, seed=8)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for k, v in enumerate(variables):
                sess.run(v.assign(randn(*v.shape.as_list(), seed=30 + k) * 0.5))
            values = sess.run([outputs, state, grads], {x: value})
    return values, [v.name for v in variables], types


@pytest.mark.parametrize("known_steps", [True, False], ids=["static steps", "steps known at run time"])
@pytest.mark.parametrize("time_major", [False, True], ids=["batch major", "time major"])
def test_dynamic_rnn_runs_a_plain_lstm_as_one_recurrence_with_the_same_results(known_steps, time_major):
    fused, names, types = _dynamic_lstm(tf.nn.rnn_cell.BasicLSTMCell, known_steps, time_major)
    stepped, step_names, step_types = _dynamic_lstm(SteppedLSTMCell, known_steps, time_major)
    assert "BlockLSTMRecurrence" in types and "BlockLSTMRecurrenceGrad" in types and "While" not in types
    assert "BlockLSTMRecurrence" not in step_types
    assert names == step_names == ["rnn/basic_lstm_cell/kernel:0", "rnn/basic_lstm_cell/bias:0"]
    for got, want in zip(tf.nest.flatten(fused), tf.nest.flatten(stepped)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
