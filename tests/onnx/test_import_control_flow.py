"""ONNX import of control flow (If, Loop, Scan): models built with onnx.helper whose subgraphs read outer-scope
values, compared with onnxruntime on every backend; gradients through an imported Loop against finite
differences; imported models re-exported and run in onnxruntime; the exported dynamic_rnn LSTM round trip."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from graphdl.frontends.onnx import UnsupportedOnnxError, import_model
from harness import OP_TEST_BACKENDS
from onnx import TensorProto, helper, numpy_helper
from test_import import make_model, vi

import graphdl

BOOL, INT64 = TensorProto.BOOL, TensorProto.INT64


def const(name, value):
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.asarray(value), name))


def loop_model(elem=TensorProto.FLOAT, dtype=np.float32):
    """Loop(M, true, acc=x, hist=[]): acc = 0.9 acc + tanh(acc @ W) +/- b (an If on the iteration's parity),
    hist grows by one row (sum of acc over the batch) per iteration, the loop stops once sum(acc) reaches
    ``limit``; scan outputs: mean(acc) and the iteration number. W, b and limit are outer-scope names."""
    r = np.random.default_rng(1)
    w = np.abs(r.standard_normal((3, 3)) * 0.5).astype(dtype)
    b = np.full(3, 0.1, dtype)
    then_branch = helper.make_graph([helper.make_node("Add", ["acc1", "b"], ["plus"])], "even", [],
                                    [vi("plus", None, elem)])
    else_branch = helper.make_graph([helper.make_node("Sub", ["acc1", "b"], ["minus"])], "odd", [],
                                    [vi("minus", None, elem)])
    body_nodes = [
        helper.make_node("MatMul", ["acc_in", "W"], ["mm"]), helper.make_node("Tanh", ["mm"], ["th"]),
        const("decay", np.asarray(0.9, dtype)), helper.make_node("Mul", ["acc_in", "decay"], ["scaled"]),
        helper.make_node("Add", ["scaled", "th"], ["acc1"]),
        const("two", np.int64(2)), const("zero", np.int64(0)), helper.make_node("Mod", ["i", "two"], ["parity"]),
        helper.make_node("Equal", ["parity", "zero"], ["even"]),
        helper.make_node("If", ["even"], ["acc_out"], then_branch=then_branch, else_branch=else_branch),
        const("axis0", np.asarray([0], np.int64)),
        helper.make_node("ReduceSum", ["acc_out", "axis0"], ["row"], keepdims=1),
        helper.make_node("Concat", ["hist_in", "row"], ["hist_out"], axis=0),
        helper.make_node("ReduceSum", ["acc_out"], ["total"], keepdims=0),
        helper.make_node("Less", ["total", "limit"], ["cond_out"]),
        helper.make_node("ReduceMean", ["acc_out"], ["mean"], keepdims=0),
        helper.make_node("Cast", ["i"], ["iteration"], to=elem),
    ]
    body = helper.make_graph(
        body_nodes, "body",
        [vi("i", [], INT64), vi("cond_in", [], BOOL), vi("acc_in", None, elem), vi("hist_in", None, elem)],
        [vi("cond_out", [], BOOL), vi("acc_out", None, elem), vi("hist_out", None, elem), vi("mean", [], elem),
         vi("iteration", [], elem)])
    nodes = [const("true", np.asarray(True)), const("hist0", np.zeros((0, 3), dtype)),
             helper.make_node("Loop", ["M", "true", "x", "hist0"], ["acc", "hist", "means", "iterations"], body=body)]
    return make_model(nodes, [vi("x", ["N", 3], elem), vi("M", [], INT64), vi("limit", [], elem)],
                      [vi("acc", ["N", 3], elem), vi("hist", ["K", 3], elem), vi("means", ["K"], elem),
                       vi("iterations", ["K"], elem)], [("W", w), ("b", b)])


def loop_feeds(limit, dtype=np.float32):
    x = np.random.default_rng(2).random((4, 3)).astype(dtype)
    return {"x": x, "M": np.asarray(6, np.int64), "limit": np.asarray(limit, dtype)}


def scan_model():
    """Scan over a's axis 1 forwards and b's axis 0 backwards; state s += a_t * b_t; scan outputs tanh(s) along
    output axis 1 and a_t - b_t in reverse order."""
    body = helper.make_graph(
        [helper.make_node("Mul", ["a_t", "b_t"], ["ab"]), helper.make_node("Add", ["s_in", "ab"], ["s_out"]),
         helper.make_node("Tanh", ["s_out"], ["y"]), helper.make_node("Sub", ["a_t", "b_t"], ["d"])],
        "scan_body", [vi("s_in", [2]), vi("a_t", [2]), vi("b_t", [2])], [vi("s_out", [2]), vi("y", [2]), vi("d", [2])])
    node = helper.make_node("Scan", ["s0", "a", "b"], ["s", "ys", "ds"], body=body, num_scan_inputs=2,
                            scan_input_axes=[1, 0], scan_input_directions=[0, 1], scan_output_axes=[1, 0],
                            scan_output_directions=[0, 1])
    model = make_model([node], [vi("s0", [2]), vi("a", [2, 5]), vi("b", [5, 2])],
                       [vi("s", [2]), vi("ys", [2, 5]), vi("ds", [5, 2])])
    r = np.random.default_rng(3)
    return model, {"s0": r.standard_normal(2), "a": r.standard_normal((2, 5)), "b": r.standard_normal((5, 2))}


def if_model():
    """y = x * w if sum(x) > 0 else concat-free x - 1 (w an outer initializer read inside the then branch)."""
    then_branch = helper.make_graph([helper.make_node("Mul", ["x", "w"], ["t"])], "then", [], [vi("t", ["N", 3])])
    else_branch = helper.make_graph([const("one", np.float32(1)), helper.make_node("Sub", ["x", "one"], ["e"])],
                                    "else", [], [vi("e", ["N", 3])])
    nodes = [helper.make_node("ReduceSum", ["x"], ["total"], keepdims=0), const("zero", np.float32(0)),
             helper.make_node("Greater", ["total", "zero"], ["positive"]),
             helper.make_node("If", ["positive"], ["y"], then_branch=then_branch, else_branch=else_branch)]
    return make_model(nodes, [vi("x", ["N", 3])], [vi("y", ["N", 3])], [("w", np.asarray([1, -2, 3], np.float32))])


def small_loop(trip: bool, cond: bool):
    """v = 2 v + 1 while v < 100 (when ``cond``), at most M times (when ``trip``); without a cond input the body's
    cond output is the constant false, which ends the loop after one iteration in onnxruntime."""
    body = helper.make_graph(
        [const("two", np.float32(2)), const("one", np.float32(1)), const("hundred", np.float32(100)),
         helper.make_node("Mul", ["v_in", "two"], ["v2"]), helper.make_node("Add", ["v2", "one"], ["v_out"]),
         *([helper.make_node("Less", ["v_out", "hundred"], ["c_out"])] if cond else
           [const("c_out", np.asarray(False))])],
        "body", [vi("i", [], INT64), vi("c_in", [], BOOL), vi("v_in", [])], [vi("c_out", [], BOOL), vi("v_out", [])])
    nodes = [const("start", np.asarray(True)),
             helper.make_node("Loop", ["M" if trip else "", "start" if cond else "", "v0"], ["v"], body=body)]
    inputs = [vi("v0", [])] + ([vi("M", [], INT64)] if trip else [])
    return make_model(nodes, inputs, [vi("v", [])])


def ort_run(model, feeds):
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)


def assert_matches(got, want, rtol=1e-5, atol=1e-6):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype, (g.shape, w.shape, g.dtype, w.dtype)
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_loop_with_nested_if_growing_state_and_scan_outputs_matches_onnxruntime(backend):
    model = loop_model()
    full = ort_run(model, loop_feeds(1e9))
    totals = full[1].sum(axis=1)
    assert len(totals) == 6 and np.all(np.diff(totals) > 0)
    limit = (totals[1] + totals[2]) / 2  # sum(acc) passes it in iteration 2: three iterations
    imported = import_model(model)
    with imported.session(backend=backend) as sess:
        for feeds in (loop_feeds(1e9), loop_feeds(limit)):
            want = ort_run(model, feeds)
            assert_matches(imported.run(feeds, session=sess), want)
        assert want[2].shape == (3,)
        zero_trips = loop_feeds(1e9) | {"M": np.asarray(0, np.int64)}
        acc, hist, means, iterations = imported.run(zero_trips, session=sess)
        np.testing.assert_array_equal(acc, zero_trips["x"])
        assert hist.shape == (0, 3) and means.shape == (0,) and iterations.shape == (0,)


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_scan_with_axes_and_directions_matches_onnxruntime(backend):
    model, feeds = scan_model()
    feeds = {k: v.astype(np.float32) for k, v in feeds.items()}
    imported = import_model(model)
    assert imported.outputs["ys"].shape.as_tuple() == (2, 5)
    with imported.session(backend=backend) as sess:
        assert_matches(imported.run(feeds, session=sess), ort_run(model, feeds))


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_if_on_a_run_time_predicate_matches_onnxruntime(backend):
    model = if_model()
    imported = import_model(model)
    assert {op.type for op in imported.graph.get_operations()} >= {"If"}
    with imported.session(backend=backend) as sess:
        for sign in (1, -1):
            feeds = {"x": sign * np.random.default_rng(4).random((2, 3)).astype(np.float32)}
            assert_matches(imported.run(feeds, session=sess), ort_run(model, feeds))


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
@pytest.mark.parametrize("trip,cond", [(True, True), (False, True), (True, False)],
                         ids=["trip_and_cond", "cond_only", "trip_only"])
def test_loop_trip_count_and_condition_forms(trip, cond, backend):
    model = small_loop(trip, cond)
    imported = import_model(model)
    with imported.session(backend=backend) as sess:
        for v0, m in ((0.0, 3), (0.0, 10), (200.0, 2)):
            feeds = {"v0": np.asarray(v0, np.float32)} | ({"M": np.asarray(m, np.int64)} if trip else {})
            want = ort_run(model, feeds)
            assert_matches(imported.run(feeds, session=sess), want)


def test_loop_without_trip_count_or_condition_is_a_clear_error():
    model = small_loop(True, True)
    loop = model.graph.node[-1]
    del loop.input[:]
    loop.input.extend(["", "", "v0"])
    with pytest.raises(UnsupportedOnnxError, match="Loop node .* neither a trip count nor a condition"):
        import_model(model)


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_gradient_through_imported_loop(backend):
    """d sum(r * acc) / dx and / dW through the Loop (and its nested If) match central finite differences."""
    imported = import_model(loop_model(TensorProto.DOUBLE, np.float64), trainable_initializers=True)
    feeds = loop_feeds(1e9, np.float64)
    x = imported.inputs["x"]
    acc = imported.outputs["acc"]
    (weights,) = [v for v in imported.variables if v.shape.as_tuple() == (3, 3)]
    fixed = {imported.inputs["M"]: feeds["M"], imported.inputs["limit"]: feeds["limit"]}
    sess = imported.session(backend=backend)
    r = np.random.default_rng(5).standard_normal((4, 3))
    with imported.graph.as_default():
        loss = graphdl.reduce_sum(acc * r)
        gx, gw = graphdl.gradients(loss, [x, weights])
    got_x, got_w = sess.run([gx, gw], {x: feeds["x"]} | fixed)
    eps = 1e-6
    for i in range(feeds["x"].size):
        d = np.zeros_like(feeds["x"])
        d.flat[i] = eps
        fd = (sess.run(loss, {x: feeds["x"] + d} | fixed) - sess.run(loss, {x: feeds["x"] - d} | fixed)) / (2 * eps)
        np.testing.assert_allclose(got_x.flat[i], fd, rtol=1e-5, atol=1e-7)
    w0 = sess.run(weights)
    with imported.graph.as_default():
        value = graphdl.placeholder(graphdl.float64, [3, 3])
        assign = weights.assign(value)
    for i in (0, 4, 7):
        losses = []
        for sign in (1, -1):
            w = w0.copy()
            w.flat[i] += sign * eps
            sess.run(assign, {value: w})
            losses.append(sess.run(loss, {x: feeds["x"]} | fixed))
        np.testing.assert_allclose(got_w.flat[i], (losses[0] - losses[1]) / (2 * eps), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("build", [loop_model, scan_model, if_model], ids=["loop", "scan", "if"])
def test_imported_control_flow_re_exports_and_runs_in_onnxruntime(build, tmp_path):
    model = build()
    model, feeds = model if isinstance(model, tuple) else (model, None)
    feeds = feeds or (loop_feeds(1e9) if build is loop_model else {"x": np.ones((2, 3), np.float32)})
    feeds = {k: v.astype(np.float32) if v.dtype == np.float64 else v for k, v in feeds.items()}
    imported = import_model(model)
    with imported.session() as sess:
        again = graphdl.onnx.export(sess, imported.inputs, imported.outputs, path=tmp_path / "again.onnx")
    onnx.checker.check_model(again, full_check=True)
    assert {"Loop", "If"} & {n.op_type for n in again.graph.node}
    assert_matches(ort_run(again, feeds), ort_run(model, feeds), rtol=1e-5, atol=1e-5)


def test_exported_dynamic_rnn_imports_and_re_exports(tmp_path):
    """dynamic_rnn over a run-time number of steps with sequence_length (exported as a Loop): export, import,
    export again; graphdl, the imported graph and onnxruntime on the re-exported file agree."""
    rng = np.random.default_rng(0)
    with graphdl.Graph().as_default():
        graphdl.set_random_seed(1)
        x = graphdl.placeholder(graphdl.float32, [None, None, 8], name="x")
        lengths = graphdl.placeholder(graphdl.int32, [None], name="lengths")
        outputs, state = graphdl.nn.dynamic_rnn(graphdl.nn.rnn_cell.LSTMCell(16), x, sequence_length=lengths,
                                                dtype=graphdl.float32)
        logits = graphdl.layers.dense(state.h, 10, name="logits")
        inputs, fetches = {"x": x, "lengths": lengths}, {"logits": logits, "outputs": outputs}
        feed = {"x": rng.random((3, 5, 8)).astype(np.float32), "lengths": np.asarray([5, 2, 4], np.int32)}
        with graphdl.Session() as sess:
            sess.run(graphdl.global_variables_initializer())
            first = graphdl.onnx.export(sess, inputs, fetches)
            want = sess.run(list(fetches.values()), {x: feed["x"], lengths: feed["lengths"]})
    assert "Loop" in {n.op_type for n in first.graph.node}
    imported = import_model(first)
    assert "While" in {op.type for op in imported.graph.get_operations()}
    with imported.session() as sess:
        assert_matches(imported.run(feed, session=sess), want, rtol=0, atol=1e-5)
        second = graphdl.onnx.export(sess, imported.inputs, imported.outputs, path=tmp_path / "second.onnx")
    onnx.checker.check_model(second, full_check=True)
    assert_matches(ort_run(second, feed), want, rtol=0, atol=1e-5)
