"""ONNX import: models built with onnx.helper per converter family, compared with onnxruntime and NumPy on every
backend; gradients through imported models against finite differences; variables; errors."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from graphdl.frontends.onnx import UnsupportedOnnxError, import_model
from harness import OP_TEST_BACKENDS
from onnx import TensorProto, helper, numpy_helper

import graphdl

F = TensorProto.FLOAT


def make_model(nodes, inputs, outputs, initializers=(), opset=17):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=[numpy_helper.from_array(v, k) for k, v in
                                                                         initializers])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    if all(o.type.tensor_type.HasField("shape") for o in outputs):
        onnx.checker.check_model(model, full_check=True)
    return model


def vi(name, shape, elem=F):
    return helper.make_tensor_value_info(name, elem, shape)


def rng():
    return np.random.default_rng(0)


def mlp_model():
    r = rng()
    w1, b1 = r.standard_normal((4, 8)).astype(np.float32), r.standard_normal(8).astype(np.float32)
    w2, b2 = r.standard_normal((8, 3)).astype(np.float32), r.standard_normal(3).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h"]), helper.make_node("Add", ["h", "b1"], ["hb"]),
             helper.make_node("Tanh", ["hb"], ["a"]), helper.make_node("Gemm", ["a", "w2", "b2"], ["z"], alpha=0.5),
             helper.make_node("Softmax", ["z"], ["y"], axis=-1)]
    return make_model(nodes, [vi("x", ["batch", 4])], [vi("y", ["batch", 3])],
                      [("w1", w1), ("b1", b1), ("w2", w2), ("b2", b2)]), {"x": r.standard_normal((5, 4))}


def conv_model():
    r = rng()
    w = (r.standard_normal((4, 3, 3, 3)) * 0.3).astype(np.float32)
    b = r.standard_normal(4).astype(np.float32)
    scale, bias = r.uniform(0.5, 1.5, 4).astype(np.float32), r.standard_normal(4).astype(np.float32)
    mean, var = r.standard_normal(4).astype(np.float32), r.uniform(0.5, 2, 4).astype(np.float32)
    wt = (r.standard_normal((4, 2, 2, 2)) * 0.3).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 0, 1, 2], strides=[1, 2]),
        helper.make_node("BatchNormalization", ["c", "scale", "bias", "mean", "var"], ["bn"], epsilon=1e-3),
        helper.make_node("Relu", ["bn"], ["r"]),
        helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 1, 1]),
        helper.make_node("ConvTranspose", ["p", "wt"], ["t"], strides=[2, 2]),
        helper.make_node("AveragePool", ["t"], ["ap"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("LRN", ["ap"], ["l"], size=3, alpha=1e-3),
        helper.make_node("GlobalAveragePool", ["l"], ["g"]),
        helper.make_node("Flatten", ["g"], ["y"]),
    ]
    inits = [("w", w), ("b", b), ("scale", scale), ("bias", bias), ("mean", mean), ("var", var), ("wt", wt)]
    return make_model(nodes, [vi("x", ["N", 3, 9, 11])], [vi("y", ["N", 2])], inits), \
        {"x": r.standard_normal((2, 3, 9, 11))}


def tensor_model():
    r = rng()
    nodes = [
        helper.make_node("Constant", [], ["shape"], value=numpy_helper.from_array(np.array([0, 3, -1], np.int64))),
        helper.make_node("Reshape", ["x", "shape"], ["r"]),
        helper.make_node("Transpose", ["r"], ["t"], perm=[0, 2, 1]),
        helper.make_node("Constant", [], ["starts"], value=numpy_helper.from_array(np.array([1, -1], np.int64))),
        helper.make_node("Constant", [], ["ends"], value=numpy_helper.from_array(np.array([10**9, -10**9], np.int64))),
        helper.make_node("Constant", [], ["axes"], value=numpy_helper.from_array(np.array([1, 2], np.int64))),
        helper.make_node("Constant", [], ["steps"], value=numpy_helper.from_array(np.array([1, -2], np.int64))),
        helper.make_node("Slice", ["t", "starts", "ends", "axes", "steps"], ["s"]),
        helper.make_node("Constant", [], ["pads"], value=numpy_helper.from_array(np.array([0, 1, 0, 0, 2, 1], np.int64))),
        helper.make_node("Pad", ["s", "pads"], ["p"], mode="reflect"),
        helper.make_node("Split", ["p"], ["a", "b"], axis=1, num_outputs=2),
        helper.make_node("Concat", ["b", "a"], ["c"], axis=2),
        helper.make_node("Constant", [], ["idx"], value=numpy_helper.from_array(np.array([2, -1, 0], np.int64))),
        helper.make_node("Gather", ["c", "idx"], ["g"], axis=1),
        helper.make_node("Constant", [], ["uax"], value=numpy_helper.from_array(np.array([1], np.int64))),
        helper.make_node("Unsqueeze", ["g", "uax"], ["u"]),
        helper.make_node("Constant", [], ["rax"], value=numpy_helper.from_array(np.array([-1], np.int64))),
        helper.make_node("ReduceSum", ["u", "rax"], ["rs"], keepdims=0),
        helper.make_node("Squeeze", ["rs", "uax"], ["y"]),
    ]
    return make_model(nodes, [vi("x", ["N", 4, 6])], [vi("y", None)], opset=18), {"x": r.standard_normal((2, 4, 6))}


def elementwise_model():
    r = rng()
    nodes = [
        helper.make_node("Sigmoid", ["x"], ["s"]), helper.make_node("Mul", ["s", "y"], ["m"]),
        helper.make_node("LeakyRelu", ["m"], ["l"], alpha=0.1), helper.make_node("Clip", ["l", "lo", "hi"], ["c"]),
        helper.make_node("Max", ["c", "x", "y"], ["mx"]), helper.make_node("Erf", ["mx"], ["e"]),
        helper.make_node("Less", ["x", "y"], ["lt"]), helper.make_node("Where", ["lt", "e", "x"], ["w"]),
        helper.make_node("Pow", ["w", "two"], ["p"]), helper.make_node("ArgMax", ["p"], ["am"], axis=1),
        helper.make_node("Elu", ["p"], ["out"], alpha=0.7),
    ]
    inits = [("lo", np.float32(-0.2)), ("hi", np.float32(0.3)), ("two", np.float32(2.0))]
    return make_model(nodes, [vi("x", [3, 5]), vi("y", [1, 5])], [vi("out", [3, 5]), vi("am", None, TensorProto.INT64)],
                      [(k, np.asarray(v)) for k, v in inits]), \
        {"x": r.standard_normal((3, 5)), "y": r.standard_normal((1, 5))}


def resize_model():
    r = rng()
    scales = np.array([1, 1, 2, 1.5], np.float32)
    nodes = [helper.make_node("Resize", ["x", "", "scales"], ["a"], mode="linear"),
             helper.make_node("Resize", ["a", "", "scales2"], ["y"], mode="nearest")]
    return make_model(nodes, [vi("x", [1, 2, 3, 4])], [vi("y", None)],
                      [("scales", scales), ("scales2", np.array([1, 1, 0.5, 2], np.float32))], opset=13), \
        {"x": r.standard_normal((1, 2, 3, 4))}


def lstm_model():
    """A bidirectional LSTM with biases, sequence lengths, initial states, peepholes and clip."""
    r = rng()
    hidden, inputs, dirs = 3, 4, 2
    inits = [("W", r.standard_normal((dirs, 4 * hidden, inputs)) * 0.5), ("R", r.standard_normal((dirs, 4 * hidden,
                                                                                                    hidden)) * 0.5),
             ("B", r.standard_normal((dirs, 8 * hidden)) * 0.3), ("h0", r.standard_normal((dirs, 3, hidden)) * 0.5),
             ("c0", r.standard_normal((dirs, 3, hidden)) * 0.5), ("P", r.standard_normal((dirs, 3 * hidden)) * 0.3)]
    inits = [(k, v.astype(np.float32)) for k, v in inits] + [("lens", np.array([5, 3, 1], np.int32))]
    node = helper.make_node("LSTM", ["x", "W", "R", "B", "lens", "h0", "c0", "P"], ["Y", "Y_h", "Y_c"],
                            hidden_size=hidden, direction="bidirectional", clip=2.5)
    outs = [vi("Y", [5, dirs, 3, hidden]), vi("Y_h", [dirs, 3, hidden]), vi("Y_c", [dirs, 3, hidden])]
    return make_model([node], [vi("x", [5, 3, inputs])], outs, inits), {"x": r.standard_normal((5, 3, inputs))}


def gru_model():
    """A reverse GRU with linear_before_reset, sequence lengths and custom activations, followed by a leaky-relu RNN
    over its output sequence; the sequence length and batch are unknown (so both run as while_loops); onnxruntime
    has no layout 1 (the node tests cover it)."""
    r = rng()
    hidden, inputs = 4, 3
    inits = [("W", r.standard_normal((1, 3 * hidden, inputs)) * 0.5),
             ("R", r.standard_normal((1, 3 * hidden, hidden)) * 0.5), ("B", r.standard_normal((1, 6 * hidden)) * 0.3),
             ("Wr", r.standard_normal((1, 2, hidden)) * 0.5), ("Rr", r.standard_normal((1, 2, 2)) * 0.5)]
    inits = [(k, v.astype(np.float32)) for k, v in inits] + [("lens", np.array([2, 4], np.int32))]
    nodes = [helper.make_node("GRU", ["x", "W", "R", "B", "lens"], ["Y", "Y_h"], hidden_size=hidden,
                              direction="reverse", linear_before_reset=1, activations=["HardSigmoid", "Softsign"],
                              activation_alpha=[0.3], activation_beta=[0.4]),
             helper.make_node("Constant", [], ["ax"], value=numpy_helper.from_array(np.array([1], np.int64))),
             helper.make_node("Squeeze", ["Y", "ax"], ["ys"]),
             helper.make_node("RNN", ["ys", "Wr", "Rr"], ["", "Z_h"], hidden_size=2,
                              activations=["LeakyRelu"], activation_alpha=[0.2])]
    outs = [vi("Y_h", [1, "N", hidden]), vi("Z_h", [1, "N", 2])]
    return make_model(nodes, [vi("x", ["T", "N", inputs])], outs, inits), {"x": r.standard_normal((4, 2, inputs))}


def index_model():
    """TopK, GatherElements on its indices, a three-operand Einsum and OneHot."""
    r = rng()
    nodes = [helper.make_node("TopK", ["x", "k"], ["vals", "idx"], axis=1, largest=1),
             helper.make_node("GatherElements", ["x", "idx"], ["g"], axis=1),
             helper.make_node("Einsum", ["g", "w", "v"], ["e"], equation="ij,jk,k->ik"),
             helper.make_node("OneHot", ["idx", "depth", "onoff"], ["oh"], axis=-2)]
    inits = [("w", r.standard_normal((3, 4)).astype(np.float32)), ("v", r.standard_normal(4).astype(np.float32)),
             ("onoff", np.array([-1, 2], np.float32)), ("k", np.array([3], np.int64)),
             ("depth", np.array(6, np.int64))]
    outs = [vi("e", [5, 4]), vi("vals", [5, 3]), vi("oh", [5, 6, 3])]
    return make_model(nodes, [vi("x", [5, 6])], outs, inits), {"x": r.standard_normal((5, 6))}


MODELS = {"mlp": mlp_model, "conv": conv_model, "tensor": tensor_model, "elementwise": elementwise_model,
          "resize": resize_model, "lstm": lstm_model, "gru": gru_model,
          "index": index_model}


def _feeds(feeds):
    return {k: np.asarray(v, np.float32) for k, v in feeds.items()}


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
@pytest.mark.parametrize("name", sorted(MODELS))
def test_matches_onnxruntime(name, backend):
    ort = pytest.importorskip("onnxruntime")
    model, feeds = MODELS[name]()
    feeds = _feeds(feeds)
    want = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)
    imported = import_model(model)
    with imported.session(backend=backend) as sess:
        got = imported.run(feeds, session=sess)
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_mlp_matches_numpy_for_two_batch_sizes(backend):
    model, _ = mlp_model()
    init = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    imported = import_model(model)
    assert imported.inputs["x"].shape.as_tuple() == (None, 4)
    sess = imported.session(backend=backend)
    for batch in (1, 7):
        x = rng().standard_normal((batch, 4)).astype(np.float32)
        z = 0.5 * (np.tanh(x @ init["w1"] + init["b1"]) @ init["w2"]) + init["b2"]
        e = np.exp(z - z.max(1, keepdims=True))
        (y,) = imported.run({"x": x}, session=sess)
        np.testing.assert_allclose(y, e / e.sum(1, keepdims=True), rtol=1e-5, atol=1e-6)


def _as_float64(model):
    """The model with float32 initializers and value infos turned to float64, for finite differences."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    for init in model.graph.initializer:
        if init.data_type == F:
            init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float64), init.name))
    for v in list(model.graph.input) + list(model.graph.output):
        if v.type.tensor_type.elem_type == F:
            v.type.tensor_type.elem_type = TensorProto.DOUBLE
    return model


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
@pytest.mark.parametrize("name", ["mlp", "conv", "lstm", "gru", "index"])
def test_gradient_through_imported_model(name, backend):
    """d sum(w * y) / dx and / d(first weight) from tf.gradients match central finite differences (float64)."""
    model, feeds = MODELS[name]()
    imported = import_model(_as_float64(model), trainable_initializers=True)
    x = imported.inputs["x"]
    y = next(iter(imported.outputs.values()))
    var = imported.variables[0]
    xv = np.asarray(feeds["x"], np.float64)
    sess = imported.session(backend=backend)
    wy = rng().standard_normal(sess.run(y, {x: xv}).shape)
    with imported.graph.as_default():
        loss = graphdl.reduce_sum(y * wy)
        gx, gv = graphdl.gradients(loss, [x, var])
    got_x, got_v = sess.run([gx, gv], {x: xv})
    eps = 1e-6
    for flat_index in rng().choice(xv.size, 5, replace=False):
        d = np.zeros_like(xv)
        d.flat[flat_index] = eps
        fd = (sess.run(loss, {x: xv + d}) - sess.run(loss, {x: xv - d})) / (2 * eps)
        np.testing.assert_allclose(got_x.flat[flat_index], fd, rtol=1e-4, atol=1e-6)
    v0 = sess.run(var)
    idx = int(rng().integers(v0.size))
    vals = []
    with imported.graph.as_default():
        value = graphdl.placeholder(graphdl.float64, v0.shape)
        assign = var.assign(value)
    for sign in (1, -1):
        v = v0.copy()
        v.flat[idx] += sign * eps
        sess.run(assign, {value: v})
        vals.append(sess.run(loss, {x: xv}))
    np.testing.assert_allclose(got_v.flat[idx], (vals[0] - vals[1]) / (2 * eps), rtol=1e-4, atol=1e-6)


def test_initializers_are_constants_by_default():
    model, _ = mlp_model()
    imported = import_model(model)
    assert imported.variables == []
    assert imported.outputs["y"].shape.as_tuple() == (None, 3)


def test_import_from_path_and_bytes(tmp_path):
    model, feeds = mlp_model()
    path = tmp_path / "mlp.onnx"
    onnx.save(model, str(path))
    a = import_model(str(path)).run(_feeds(feeds))
    b = import_model(model.SerializeToString()).run(_feeds(feeds))
    np.testing.assert_array_equal(a[0], b[0])


def test_unsupported_op_names_op_type_and_node():
    model = make_model([helper.make_node("Det", ["x"], ["y"], name="my_det")], [vi("x", [2, 2])], [vi("y", [])])
    with pytest.raises(UnsupportedOnnxError, match="'Det'.*my_det"):
        import_model(model)


def test_softmax_opset11_flattens_from_axis():
    x = rng().standard_normal((2, 3, 4)).astype(np.float32)
    model = make_model([helper.make_node("Softmax", ["x"], ["y"], axis=1)], [vi("x", [2, 3, 4])], [vi("y", [2, 3, 4])],
                       opset=11)
    (y,) = import_model(model).run({"x": x})
    flat = x.reshape(2, 12)
    e = np.exp(flat - flat.max(1, keepdims=True))
    np.testing.assert_allclose(y, (e / e.sum(1, keepdims=True)).reshape(2, 3, 4), rtol=1e-5)


def test_static_input_fed_at_run_time_is_a_clear_error():
    model = make_model([helper.make_node("Unsqueeze", ["x", "axes"], ["y"])],
                       [vi("x", [2]), vi("axes", [1], TensorProto.INT64)], [vi("y", None)], opset=13)
    with pytest.raises(UnsupportedOnnxError, match="Unsqueeze.*axes.*constant"):
        import_model(model)
    (y,) = import_model(model, constant_inputs={"axes": np.array([0], np.int64)}).run({"x": np.ones(2, np.float32)})
    assert y.shape == (1, 2)


def test_unsupported_rnn_activation_and_long_topk_are_clear_errors():
    node = helper.make_node("RNN", ["x", "W", "R"], ["", "h"], hidden_size=2, activations=["Gelu"], name="my_rnn")
    model = make_model([node], [vi("x", [3, 1, 2]), vi("W", [1, 2, 2]), vi("R", [1, 2, 2])], [vi("h", [1, 1, 2])])
    with pytest.raises(UnsupportedOnnxError, match="RNN node 'my_rnn'.*activation 'Gelu'"):
        import_model(model)
    topk = helper.make_node("TopK", ["x", "k"], ["v", "i"], name="big_topk")
    model = make_model([topk], [vi("x", [2, 5000])], [vi("v", [2, 3]), vi("i", [2, 3], TensorProto.INT64)],
                       [("k", np.array([3], np.int64))])
    with pytest.raises(UnsupportedOnnxError, match="TopK node 'big_topk'.*at most 4096.*5000"):
        import_model(model)


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_resize_with_run_time_leading_sizes(backend):
    """sizes = concat(Shape(x)[:2], [6, 4]), as exporters write it for a dynamic batch: imports, and a run-time
    check rejects sizes that would change the batch or channel dims."""
    nodes = [
        helper.make_node("Shape", ["x"], ["x_shape"]),
        helper.make_node("Shape", ["other"], ["other_shape"]),
        helper.make_node("Slice", ["x_shape", "zero", "two"], ["lead"]),
        helper.make_node("Slice", ["other_shape", "zero", "two"], ["other_lead"]),
        helper.make_node("Concat", ["lead", "hw"], ["sizes"], axis=0),
        helper.make_node("Concat", ["other_lead", "hw"], ["bad_sizes"], axis=0),
        helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], mode="nearest"),
        helper.make_node("Resize", ["x", "", "", "bad_sizes"], ["bad"], mode="nearest"),
    ]
    inits = [numpy_helper.from_array(np.array(v, np.int64), n) for n, v in
             (("zero", [0]), ("two", [2]), ("hw", [6, 4]))]
    graph = helper.make_graph(
        nodes, "resize", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 2, 3, 2]),
                          helper.make_tensor_value_info("other", TensorProto.FLOAT, ["n", 2, 1, 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None),
         helper.make_tensor_value_info("bad", TensorProto.FLOAT, None)], inits)
    imported = import_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))
    x = np.arange(24, dtype=np.float32).reshape(2, 2, 3, 2)
    with imported.session(backend=backend) as sess:
        y = sess.run(imported.outputs["y"], {imported.inputs["x"]: x})
        np.testing.assert_array_equal(y, x[:, :, [0, 0, 1, 1, 2, 2]][:, :, :, [0, 0, 1, 1]])
        with pytest.raises(graphdl.errors.InvalidArgumentError, match="unchanged"):
            sess.run(imported.outputs["bad"], {imported.inputs["x"]: x,
                                               imported.inputs["other"]: np.zeros((3, 2, 1, 1), np.float32)})
