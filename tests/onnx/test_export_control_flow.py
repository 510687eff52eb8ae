"""ONNX export of control flow: cond/case as If, while_loop as Loop, TensorArrays (dynamic_rnn) as Loop scan outputs.

Every case of the control-flow and TensorArray op tables (tests/test_control_flow.py,
tests/test_tensor_array.py) is exported with static and with unknown input dims, run in
onnxruntime and compared with graphdl; a dynamic_rnn GRU model with unknown batch and time
is exported once to a file and run for two batch sizes and two sequence lengths.
"""

import pathlib
import sys

import numpy as np
import onnx
import pytest
from graphdl.backends.onnx import MAPPINGS, NOT_EXPORTED, export

import graphdl as tf
from graphdl import errors

ort = pytest.importorskip("onnxruntime")

sys.path.insert(0, str(pathlib.Path(__file__).parent.parent))

import test_control_flow
import test_tensor_array

CASES = test_control_flow.CASES + test_tensor_array.CASES
CONTROL_FLOW = ("If", "Case", "While", "TensorArray", "TensorArrayScatter")


def _ort_run(model, feeds):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    used = {i.name for i in session.get_inputs()}
    return session.run(None, {k: v for k, v in feeds.items() if k in used})


def _op_types(model) -> set:
    """Every node type of the model, subgraphs included."""
    found = set()

    def walk(graph):
        for node in graph.node:
            found.add(node.op_type)
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.GRAPH:
                    walk(attr.g)

    walk(model.graph)
    return found


def _compare(got, want, what):
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want)):
        w = np.asarray(w)
        assert g.shape == w.shape, f"{what} output {i}: {g.shape} vs {w.shape}"
        if w.dtype.kind == "f":
            tol = 1e-4 if w.dtype == np.float32 else 1e-9
            np.testing.assert_allclose(g, w, rtol=tol, atol=tol, err_msg=f"{what} output {i}")
        else:
            np.testing.assert_array_equal(g, w, err_msg=f"{what} output {i}")


def test_control_flow_op_types_are_mapped():
    for op_type in CONTROL_FLOW:
        assert op_type in MAPPINGS and op_type not in NOT_EXPORTED


@pytest.mark.parametrize("dims", ["static", "unknown"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_op_table_case_exports_and_matches(case, dims):
    graph = tf.Graph()
    with graph.as_default():
        inputs = [np.asarray(a) for a in case.inputs]
        phs = [tf.placeholder(tf.as_dtype(a.dtype), list(a.shape) if dims == "static" else [None] * a.ndim,
                              name=f"input{i}") for i, a in enumerate(inputs)]
        built = case.build(*phs)
        outs = list(built) if isinstance(built, (list, tuple)) else [built]
        with tf.Session(graph=graph, backend="reference") as sess:
            want = sess.run(outs, dict(zip(phs, inputs)))
            model = export(sess, phs, {f"output{i}": t for i, t in enumerate(outs)})
    types = _op_types(model)
    assert types & {"If", "Loop", "ScatterND"}, f"{case.id}: no control flow or TensorArray node in {types}"
    got = _ort_run(model, {f"input{i}": a for i, a in enumerate(inputs)})
    _compare(got, want, case.id)


def _gru_graph(hidden=16, layers=2):
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(3)
        x = tf.placeholder(tf.float32, [None, None, 8], name="x")
        lengths = tf.placeholder(tf.int32, [None], name="sequence_length")
        keep_prob = tf.placeholder_with_default(1.0, [], name="keep_prob")
        cell = tf.nn.rnn_cell.MultiRNNCell([
            tf.nn.rnn_cell.DropoutWrapper(tf.nn.rnn_cell.GRUCell(hidden), output_keep_prob=keep_prob)
            for _ in range(layers)
        ])
        outputs, final_state = tf.nn.dynamic_rnn(cell, x, sequence_length=lengths, dtype=tf.float32)
        logits = tf.layers.dense(final_state[-1], 10, name="logits")
    return graph, x, lengths, outputs, logits


@pytest.mark.parametrize("opset", [13, None], ids=["opset13", "default_opset"])
def test_dynamic_rnn_gru_with_sequence_length_exports_as_loop(tmp_path, opset):
    graph, x, lengths, outputs, logits = _gru_graph()
    path = tmp_path / "gru.onnx"
    with graph.as_default(), tf.Session(graph=graph) as sess:
        sess.run(tf.global_variables_initializer())
        export(sess, {"x": x, "sequence_length": lengths}, {"logits": logits, "outputs": outputs}, path=path,
               opset=opset)
        model = onnx.load(str(path))
        onnx.checker.check_model(model, full_check=True)
        assert "Loop" in _op_types(model)
        loop = next(n for n in model.graph.node if n.op_type == "Loop")
        assert len(loop.output) > len(loop.input) - 2, "the outputs TensorArray should be a Loop scan output"
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        rng = np.random.default_rng(0)
        for batch in (1, 5):
            for time in (3, 11):
                xv = rng.standard_normal((batch, time, 8)).astype(np.float32)
                lv = rng.integers(1, time + 1, batch).astype(np.int32)
                lv[0] = time
                want = sess.run([logits, outputs], {x: xv, lengths: lv})
                got = session.run(None, {"x": xv, "sequence_length": lv})
                _compare(got, want, f"gru batch {batch} time {time}")
                assert np.all(got[1][np.arange(time)[None, :] >= lv[:, None]] == 0)  # zero past each length


@pytest.mark.parametrize("time_major", [False, True], ids=["batch_major", "time_major"])
def test_dynamic_rnn_lstm_with_unknown_time_exports_as_onnx_lstm(tmp_path, time_major):
    """A plain LSTM without sequence_length is one BlockLSTMRecurrence: with the number of steps unknown, ONNX's LSTM."""
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(5)
        x = tf.placeholder(tf.float32, [None, None, 6], name="x")
        cell = tf.nn.rnn_cell.BasicLSTMCell(7, forget_bias=0.5)
        outputs, state = tf.nn.dynamic_rnn(cell, x, dtype=tf.float32, time_major=time_major)
        logits = tf.layers.dense(state.h, 3, name="logits")
        path = tmp_path / "lstm.onnx"
        with tf.Session(graph=graph) as sess:
            sess.run(tf.global_variables_initializer())
            export(sess, {"x": x}, {"logits": logits, "outputs": outputs, "c": state.c}, path=path)
            model = onnx.load(str(path))
            onnx.checker.check_model(model, full_check=True)
            assert "LSTM" in _op_types(model)
            session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            rng = np.random.default_rng(1)
            for batch, time in ((1, 3), (4, 9)):
                xv = rng.standard_normal((time, batch, 6) if time_major else (batch, time, 6)).astype(np.float32)
                want = sess.run([logits, outputs, state.c], {x: xv})
                _compare(session.run(None, {"x": xv}), want, f"lstm batch {batch} time {time}")


def test_while_loop_maximum_iterations_and_cond_with_captures():
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [None, 3], name="x")
        w = tf.Variable(np.array([0.5, -1.0, 2.0], np.float32), name="w")
        limit = tf.placeholder(tf.int32, [], name="limit")

        def body(i, v, total):
            v = tf.tanh(v * w + 0.1)
            return i + 1, v, total + tf.reduce_sum(v)

        i, v, total = tf.while_loop(lambda i, v, total: i < limit, body,
                                    (tf.constant(0), x, tf.constant(0.0)), maximum_iterations=4)
        picked = tf.cond(total > 0.0, lambda: v * w, lambda: v - x, name="pick")
        with tf.Session(graph=graph) as sess:
            sess.run(tf.global_variables_initializer())
            model = export(sess, {"x": x, "limit": limit}, {"i": i, "picked": picked, "total": total})
            assert {"Loop", "If"} <= _op_types(model)
            rng = np.random.default_rng(1)
            signs = set()
            for rows, n in ((2, 2), (4, 7), (3, 0)):
                for scale in (1.0, -1.0):
                    xv = (scale * np.abs(rng.standard_normal((rows, 3)))).astype(np.float32)
                    want = sess.run([i, picked, total], {x: xv, limit: n})
                    got = _ort_run(model, {"x": xv, "limit": np.asarray(n, np.int32)})
                    _compare(got, want, f"rows {rows} limit {n}")
                    assert int(got[0]) == min(n, 4)
                    signs.add(bool(want[2] > 0))
            assert signs == {True, False}, "both branches of the cond should have been taken"


def test_cond_on_a_pinned_predicate_exports_the_taken_branch_only():
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [None, 3], name="x")
        training = tf.placeholder_with_default(False, [], name="training")
        y = tf.cond(training, lambda: tf.nn.dropout(x, 0.5), lambda: x * 2.0)
        model = export(graph, {"x": x}, {"y": y})
    assert "If" not in _op_types(model) and "RandomUniform" not in _op_types(model)
    xv = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_allclose(_ort_run(model, {"x": xv})[0], xv * 2.0)


def test_tensor_array_of_unknown_element_shape_carried_by_a_loop_is_a_clear_error():
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [None, 3], name="x")
        n = tf.shape(x)[0]
        ta = tf.TensorArray(tf.float32, size=n)

        def body(t, ta):  # writes in reverse: not a scan output
            return t + 1, ta.write(n - 1 - t, tf.gather(x, t) * 2.0)

        _, ta = tf.while_loop(lambda t, ta: t < n, body, (tf.constant(0), ta))
        y = ta.stack()
        with pytest.raises(errors.UnimplementedError, match=r"op type: TensorArray.*element shape"):
            export(graph, {"x": x}, {"y": y})


def test_tensor_array_with_known_element_shape_carried_by_a_loop_exports_as_scatter():
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [None, 3], name="x")
        n = tf.shape(x)[0]
        ta = tf.TensorArray(tf.float32, size=n, element_shape=[3])

        def body(t, ta):
            return t + 1, ta.write(n - 1 - t, tf.gather(x, t) * 2.0)

        _, ta = tf.while_loop(lambda t, ta: t < n, body, (tf.constant(0), ta))
        y = ta.stack()
        model = export(graph, {"x": x}, {"y": y})
    assert {"Loop", "ScatterND"} <= _op_types(model)
    xv = np.arange(12, dtype=np.float32).reshape(4, 3)
    np.testing.assert_allclose(_ort_run(model, {"x": xv})[0], xv[::-1] * 2.0)


def test_every_control_flow_op_type_is_exercised_by_a_table_case():
    exercised = set()
    for case in CASES:
        graph = tf.Graph()
        with graph.as_default():
            case.build(*[tf.placeholder(tf.as_dtype(np.asarray(a).dtype), list(np.asarray(a).shape))
                         for a in case.inputs])
        exercised |= {op.type for op in graph.get_operations()}
    assert set(CONTROL_FLOW) <= exercised, sorted(set(CONTROL_FLOW) - exercised)
