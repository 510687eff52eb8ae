"""tf.summary ops and FileWriter: event files that TensorBoard's own reader loads, on both backends.

Summary values are checked against oracles written independently of graphdl.summary (TF's
histogram.cc bucket loop, hand-computed image scaling, NumPy), and the event files are read
back with tensorboard's EventAccumulator.
"""

import bisect
import importlib.util
import io
import sys
import wave

import numpy as np
import pytest
from harness import OP_TEST_BACKENDS, skip_on_cuda_simulator

import graphdl
import graphdl.compat.v1 as tf1
from graphdl import errors

HAS_TENSORBOARD = importlib.util.find_spec("tensorboard") is not None
needs_tensorboard = pytest.mark.skipif(not HAS_TENSORBOARD, reason="pip install tensorboard")
DBL_MAX = sys.float_info.max


def summary_of(serialized):
    from tensorboard.compat.proto import summary_pb2

    assert isinstance(serialized, bytes), f"a summary fetch must be bytes, got {type(serialized).__name__}"
    return summary_pb2.Summary.FromString(serialized)


def load_events(logdir):
    from tensorboard.backend.event_processing import event_accumulator as ea

    acc = ea.EventAccumulator(str(logdir), size_guidance={
        ea.SCALARS: 0, ea.HISTOGRAMS: 0, ea.IMAGES: 0, ea.TENSORS: 0, ea.AUDIO: 0, ea.GRAPH: 1})
    return acc.Reload()


def tf_histogram(values):
    """TF's Histogram::Add + EncodeToProto, written as the C++ loops (the oracle)."""
    limits, v = [], 1.0e-12
    while v < 1.0e20:
        limits.append(v)
        v *= 1.1
    limits.append(DBL_MAX)
    limits = [-x for x in reversed(limits)] + [0.0] + limits
    counts = [0.0] * len(limits)
    for x in np.asarray(values, dtype=np.float64).reshape(-1):
        counts[bisect.bisect_right(limits, x)] += 1
    bucket_limit, bucket, i = [], [], 0
    while i < len(counts):
        end, count = limits[i], counts[i]
        i += 1
        if count <= 0:
            while i < len(counts) and counts[i] <= 0:
                end, count = limits[i], counts[i]
                i += 1
        bucket_limit.append(end)
        bucket.append(count)
    return bucket_limit, bucket


def decode_png(data):
    image_module = pytest.importorskip("PIL.Image")
    return np.asarray(image_module.open(io.BytesIO(data)))


# -- ops and tags ---------------------------------------------------------------------------------------------
@needs_tensorboard
def test_tags_follow_name_scopes_and_collections():
    x = graphdl.placeholder(graphdl.float32, [])
    with graphdl.name_scope("train"):
        s = graphdl.summary.scalar("loss", x)
        fam = graphdl.summary.scalar("lr", x, family="optim")
    own = graphdl.summary.scalar("acc", x, collections=["mine"])
    h = graphdl.summary.histogram("layer/w:0", x)  # a Variable name: ':' is not allowed in tags
    assert s.op.name == "train/loss" and s.op.type == "ScalarSummary" and s.dtype == graphdl.string
    assert s.shape.as_list() == []
    assert fam.op.name == "train/optim/lr"
    assert h.op.name == "layer/w_0"
    assert graphdl.get_collection(graphdl.GraphKeys.SUMMARIES) == [s, fam, h]
    assert graphdl.get_collection("mine") == [own]
    merged = graphdl.summary.merge_all()
    assert merged.op.type == "MergeSummary" and merged.op.name == "Merge/MergeSummary"
    assert list(merged.op.inputs) == [s, fam, h]
    assert merged not in graphdl.get_collection(graphdl.GraphKeys.SUMMARIES)
    assert graphdl.summary.merge_all(scope="train").op.inputs == (s, fam)
    assert graphdl.summary.merge_all("empty") is None
    with graphdl.Session() as sess:
        got = summary_of(sess.run(merged, {x: 1.5}))
    assert [v.tag for v in got.value] == ["train/loss", "optim/train/optim/lr", "layer/w_0"]


@needs_tensorboard
@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
@pytest.mark.parametrize("unknown_dims", [False, True])
def test_summary_values_match_oracles(backend, unknown_dims):
    rng = np.random.default_rng(0)
    weights = (rng.standard_normal((5, 7)) * 3).astype(np.float32)
    weights[0, :3] = [0.0, 1e-13, -2e-12]
    images = np.stack([np.full((3, 2, 3), 40, np.uint8), rng.integers(0, 256, (3, 2, 3)).astype(np.uint8)])
    shape = lambda a: [None] * a.ndim if unknown_dims else list(a.shape)
    w = graphdl.placeholder(graphdl.float32, shape(weights))
    img = graphdl.placeholder(graphdl.uint8, shape(images))
    loss = graphdl.reduce_mean(graphdl.square(w))
    summaries = [
        graphdl.summary.scalar("loss", loss),
        graphdl.summary.histogram("weights", w),
        graphdl.summary.image("inputs", img, max_outputs=5),
        graphdl.summary.text("note", graphdl.constant([["a", "bc"]])),
    ]
    with graphdl.Session(backend=backend) as sess:
        values = sess.run(summaries + [graphdl.summary.merge_all(), loss], {w: weights, img: images})
    scalar, histo, image, text = (summary_of(v) for v in values[:4])
    assert [(v.tag, v.simple_value) for v in scalar.value] == [("loss", float(values[5]))]
    assert values[5] == pytest.approx(np.mean(weights.astype(np.float64) ** 2), rel=1e-6)

    (h,) = histo.value
    assert h.tag == "weights"
    w64 = weights.astype(np.float64)
    assert (h.histo.num, h.histo.min, h.histo.max) == (35, w64.min(), w64.max())
    assert h.histo.sum == pytest.approx(w64.sum(), rel=1e-12)
    assert h.histo.sum_squares == pytest.approx((w64 ** 2).sum(), rel=1e-12)
    assert (list(h.histo.bucket_limit), list(h.histo.bucket)) == tf_histogram(weights)

    assert [v.tag for v in image.value] == ["inputs/image/0", "inputs/image/1"]  # batch 2 < max_outputs 5
    for v, expected in zip(image.value, images):
        assert (v.image.height, v.image.width, v.image.colorspace) == (3, 2, 3)
        np.testing.assert_array_equal(decode_png(v.image.encoded_image_string), expected)

    (t,) = text.value
    assert t.tag == "note" and t.metadata.plugin_data.plugin_name == "text"
    assert list(t.tensor.string_val) == [b"a", b"bc"] and [d.size for d in t.tensor.tensor_shape.dim] == [1, 2]

    merged = summary_of(values[4])
    assert [v.tag for v in merged.value] == ["loss", "weights", "inputs/image/0", "inputs/image/1", "note"]


@needs_tensorboard
@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_float_images_are_scaled_as_tf1(backend):
    nonnegative = np.array([[[0.0], [0.5]], [[1.0], [0.2]]], np.float32)[None]       # scale 255 / max
    signed = np.array([[[-1.0, 0.0, 0.5], [np.nan, 0.0, 0.0]]], np.float32)[None]    # 127 / max|v| around 128
    a = graphdl.summary.image("gray", graphdl.constant(nonnegative), max_outputs=1)
    b = graphdl.summary.image("rgb", graphdl.constant(signed))
    with graphdl.Session(backend=backend) as sess:
        gray, rgb = (summary_of(v).value for v in sess.run([a, b]))
    assert [v.tag for v in gray] == ["gray/image"] and [v.tag for v in rgb] == ["rgb/image/0"]
    assert (gray[0].image.width, gray[0].image.height, gray[0].image.colorspace) == (2, 2, 1)
    np.testing.assert_array_equal(decode_png(gray[0].image.encoded_image_string), [[0, 127], [255, 51]])
    # -1 -> 1, 0 -> 128, 0.5 -> 191 (truncated); the pixel with a NaN is red.
    np.testing.assert_array_equal(decode_png(rgb[0].image.encoded_image_string), [[[1, 128, 191], [255, 0, 0]]])


@needs_tensorboard
@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_audio_is_16_bit_wav(backend):
    clip = np.array([[0.0, 0.5, -1.0, 1.0, 0.25]], np.float32)
    s = graphdl.summary.audio("sound", graphdl.constant(clip), 8000, max_outputs=1)
    with graphdl.Session(backend=backend) as sess:
        (value,) = summary_of(sess.run(s)).value
    assert value.tag == "sound/audio"
    a = value.audio
    assert (a.sample_rate, a.num_channels, a.length_frames, a.content_type) == (8000, 1, 5, "audio/wav")
    with wave.open(io.BytesIO(a.encoded_audio_string)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
        samples = np.frombuffer(wav.readframes(5), "<i2")
    np.testing.assert_array_equal(samples, [0, 16384, -32768, 32767, 8192])


@needs_tensorboard
@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_run_time_errors_name_the_op(backend):
    x = graphdl.placeholder(graphdl.float32, None)
    s = graphdl.summary.scalar("loss", x)
    h = graphdl.summary.histogram("weights", x)
    dup = graphdl.summary.merge([graphdl.summary.scalar("a", 1.0, collections=[]), s, s])
    with graphdl.Session(backend=backend) as sess:
        with pytest.raises(errors.InvalidArgumentError, match=r"tags and values not the same shape: \[\] != \[2\]"):
            sess.run(s, {x: [1.0, 2.0]})
        with pytest.raises(errors.InvalidArgumentError, match="Nan in summary histogram for: weights"):
            sess.run(h, {x: [1.0, np.nan]})
        with pytest.raises(errors.InvalidArgumentError, match="Infinity in summary histogram for: weights"):
            sess.run(h, {x: [np.inf]})
        with pytest.raises(errors.InvalidArgumentError, match="Duplicate tag loss found in summary inputs"):
            sess.run(dup, {x: 1.0})


@needs_tensorboard
def test_build_time_errors():
    with pytest.raises(errors.InvalidArgumentError, match="tags and values not the same shape"):
        graphdl.summary.scalar("loss", graphdl.zeros([3]))
    with pytest.raises(errors.InvalidArgumentError, match="1, 3 or 4 channels"):
        graphdl.summary.image("img", graphdl.zeros([1, 4, 4, 2]))
    with pytest.raises(errors.InvalidArgumentError, match="4-D"):
        graphdl.summary.image("img", graphdl.zeros([4, 4, 3]))
    with pytest.raises(errors.InvalidArgumentError, match="has dtype bool"):
        graphdl.summary.histogram("h", graphdl.constant([True]))
    with pytest.raises(ValueError, match="to have dtype string, got float32"):
        graphdl.summary.text("t", graphdl.zeros([2]))
    with pytest.raises(ValueError, match="max_outputs must be a positive int"):
        graphdl.summary.image("img", graphdl.zeros([1, 4, 4, 3]), max_outputs=0)


@needs_tensorboard
def test_passes_keep_summaries_right_on_numba():
    # Summaries of constants are folded at compile time; identical inputs are deduplicated.
    c = graphdl.constant([1.0, 2.0, 3.0])
    a = graphdl.summary.histogram("a", c * 2.0)
    b = graphdl.summary.histogram("b", c * 2.0)
    merged = graphdl.summary.merge_all()
    for backend in OP_TEST_BACKENDS:
        with graphdl.Session(backend=backend) as sess:
            got = summary_of(sess.run(merged))
            assert [(v.tag, v.histo.sum, v.histo.max) for v in got.value] == [("a", 12.0, 6.0), ("b", 12.0, 6.0)]
            assert sess.run(a) == sess.run(a) and summary_of(sess.run(b)).value[0].tag == "b"


# -- FileWriter and event files -----------------------------------------------------------------------------------
@needs_tensorboard
@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_file_writer_events_load_in_tensorboard(tmp_path, backend):
    rng = np.random.default_rng(1)
    data = rng.standard_normal((16, 4)).astype(np.float32)
    target = data @ np.array([[1.0], [-2.0], [0.5], [3.0]], np.float32)
    x = graphdl.placeholder(graphdl.float32, [None, 4], name="x")
    y = graphdl.placeholder(graphdl.float32, [None, 1], name="y")
    with graphdl.name_scope("model"):
        w = graphdl.Variable(graphdl.zeros([4, 1]), name="w")
        pred = graphdl.matmul(x, w)
    with graphdl.name_scope("train"):
        loss = graphdl.reduce_mean(graphdl.square(pred - y))
        train_op = graphdl.train.GradientDescentOptimizer(0.1).minimize(loss)
        graphdl.summary.scalar("loss", loss)
        graphdl.summary.histogram("w", w)
    graphdl.summary.image("inputs", graphdl.reshape(x[:2], [2, 2, 2, 1]), max_outputs=2)
    graphdl.summary.text("run", graphdl.constant("linear model"))
    merged = graphdl.summary.merge_all()

    expected_loss, expected_w = [], []
    with graphdl.Session(backend=backend) as sess:
        sess.run(graphdl.global_variables_initializer())
        with graphdl.summary.FileWriter(tmp_path, graph=sess.graph, flush_secs=1) as writer:
            assert writer.get_logdir() == str(tmp_path)
            for step in range(4):
                summary, loss_value, w_value = sess.run([merged, loss, w], {x: data, y: target})
                assert isinstance(summary, bytes)
                writer.add_summary(summary, global_step=10 * step)
                expected_loss.append(float(loss_value))
                expected_w.append(w_value)
                sess.run(train_op, {x: data, y: target})
    assert len(list(tmp_path.glob("events.out.tfevents.*"))) == 1

    acc = load_events(tmp_path)
    tags = acc.Tags()
    assert tags["scalars"] == ["train/loss"] and tags["histograms"] == ["train/w"]
    assert tags["images"] == ["inputs/image/0", "inputs/image/1"] and tags["tensors"] == ["run"]
    scalars = acc.Scalars("train/loss")
    assert [(e.step, e.value) for e in scalars] == [(10 * i, v) for i, v in enumerate(expected_loss)]
    assert expected_loss[-1] < expected_loss[0]
    for event, w_value in zip(acc.Histograms("train/w"), expected_w):
        h = event.histogram_value
        assert (h.num, h.min, h.max) == (4, float(w_value.min()), float(w_value.max()))
        assert h.sum == pytest.approx(float(w_value.astype(np.float64).sum()), abs=1e-12)
        assert (list(h.bucket_limit), list(h.bucket)) == tf_histogram(w_value)
    images = acc.Images("inputs/image/1")
    assert [(e.step, e.width, e.height) for e in images] == [(0, 2, 2), (10, 2, 2), (20, 2, 2), (30, 2, 2)]
    assert decode_png(images[0].encoded_image_string).shape == (2, 2)
    text_events = acc.Tensors("run")
    assert [list(e.tensor_proto.string_val) for e in text_events] == [[b"linear model"]] * 4
    assert acc.SummaryMetadata("run").plugin_data.plugin_name == "text"

    graph_def = acc.Graph()
    nodes = {n.name: n for n in graph_def.node}
    assert {"x", "y", "model/w", "model/w/read", "model/MatMul", "train/Mean", "train/loss", "train/w",
            "Merge/MergeSummary"} <= set(nodes)
    assert nodes["model/MatMul"].op == "MatMul" and list(nodes["model/MatMul"].input) == ["x", "model/w/read"]
    assert nodes["train/loss"].op == "ScalarSummary"
    assert list(nodes["train/loss"].input) == ["train/loss/tags", "train/Mean"]


@needs_tensorboard
def test_graph_def_nodes_inputs_and_attrs():
    from tensorboard.compat.proto import types_pb2

    from graphdl.summary.graph_def import graph_to_graph_def

    g = graphdl.Graph()
    with g.as_default():
        x = graphdl.placeholder(graphdl.float32, [None, 4], name="x")
        with graphdl.name_scope("layer"), graphdl.device("/cpu:0"):
            first, second = graphdl.split(x, 2, axis=1)
        with graphdl.control_dependencies([first]):
            out = graphdl.identity(graphdl.cast(second, graphdl.int32), name="out")
        graphdl.cond(graphdl.reduce_sum(x) > 0.0, lambda: x * 2.0, lambda: x)
    nodes = {n.name: n for n in graph_to_graph_def(g).node}
    assert nodes["x"].op == "Placeholder" and nodes["x"].attr["dtype"].type == types_pb2.DT_FLOAT
    assert [d.size for d in nodes["x"].attr["shape"].shape.dim] == [-1, 4]
    split = first.op
    assert nodes[split.name].device == "/cpu:0" and split.name.startswith("layer/")
    assert [[d.size for d in s.dim] for s in nodes[split.name].attr["_output_shapes"].list.shape] == [[-1, 2]] * 2
    cast = nodes[out.op.inputs[0].op.name]
    assert list(cast.input) == [f"{split.name}:1"]
    assert cast.attr["DstT"].type == types_pb2.DT_INT32 and cast.attr["SrcT"].type == types_pb2.DT_FLOAT
    assert list(nodes["out"].input) == [cast.name, f"^{split.name}"]
    assert nodes["out"].attr["T"].type == types_pb2.DT_INT32
    const = next(n for n in nodes.values() if n.op == "Const")
    assert const.attr["value"].tensor.dtype == const.attr["dtype"].type
    assert any(n.op in ("If", "StatelessIf") for n in nodes.values())


@needs_tensorboard
def test_file_writer_api(tmp_path):
    from tensorboard.compat.proto import event_pb2, summary_pb2

    s = graphdl.summary.text("t", graphdl.constant("x"))
    with graphdl.Session() as sess:
        serialized = sess.run(s)
    writer = graphdl.summary.FileWriter(tmp_path / "run", filename_suffix=".v1")
    writer.add_summary(serialized, 1)
    writer.add_summary(serialized, 2)  # plugin metadata is kept on the first value of a tag only
    writer.add_summary(summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="manual", simple_value=3.0)]), 3)
    writer.add_session_log(graphdl.summary.SessionLog(status=event_pb2.SessionLog.START), 4)
    writer.add_graph(graphdl.get_default_graph())
    writer.add_run_metadata(graphdl.RunMetadata(), "step1", 5)
    with pytest.raises(ValueError, match="already used"):
        writer.add_run_metadata(None, "step1")
    with pytest.raises(TypeError, match="serialized Summary"):
        writer.add_summary("not a summary")
    with pytest.raises(TypeError, match="graphdl Graph or GraphDef"):
        writer.add_graph(object())
    writer.close()
    writer.add_summary(serialized, 6)  # dropped after close, as in TF1
    writer.flush()
    files = list((tmp_path / "run").glob("events.out.tfevents.*.v1"))
    assert len(files) == 1

    from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader

    events = [event_pb2.Event.FromString(record) for record in RawEventFileLoader(str(files[0])).Load()]
    assert events[0].file_version == "brain.Event:2"
    summaries = [e for e in events if e.HasField("summary")]
    assert [e.step for e in summaries] == [1, 2, 3]
    assert [v.HasField("metadata") for e in summaries[:2] for v in e.summary.value] == [True, False]
    assert [e.session_log.status for e in events if e.HasField("session_log")] == [event_pb2.SessionLog.START]
    assert sum(e.HasField("graph_def") for e in events) == 1
    assert [e.tagged_run_metadata.tag for e in events if e.HasField("tagged_run_metadata")] == ["step1"]

    writer.reopen()
    writer.add_summary(serialized, 7)
    writer.close()
    assert len(list((tmp_path / "run").glob("events.out.tfevents.*"))) == 2

    cached = graphdl.summary.FileWriterCache.get(tmp_path / "cache")
    assert graphdl.summary.FileWriterCache.get(tmp_path / "cache") is cached
    graphdl.summary.FileWriterCache.clear()
    assert graphdl.summary.FileWriterCache.get(tmp_path / "cache") is not cached
    graphdl.summary.FileWriterCache.clear()


@needs_tensorboard
def test_file_writer_draws_graphdls_own_graph_def(tmp_path):
    pytest.importorskip("graphdl.framework.graph_io")
    x = graphdl.placeholder(graphdl.float32, [None, 2], name="x")
    with graphdl.name_scope("model"):
        graphdl.nn.relu(graphdl.matmul(x, graphdl.ones([2, 3])))
    with graphdl.summary.FileWriter(tmp_path, graph_def=graphdl.get_default_graph().as_graph_def()):
        pass
    nodes = {n.name: n for n in load_events(tmp_path).Graph().node}
    assert {"x", "model/ones", "model/MatMul", "model/Relu"} <= set(nodes)
    assert list(nodes["model/Relu"].input) == ["model/MatMul"]


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_missing_tensorboard_says_how_to_install(monkeypatch, backend):
    from graphdl.summary import _tensorboard

    _tensorboard.tensorboard.cache_clear()
    for name in [m for m in sys.modules if m == "tensorboard" or m.startswith("tensorboard.")] + ["tensorboard"]:
        monkeypatch.setitem(sys.modules, name, None)  # None in sys.modules makes the import fail
    try:
        with pytest.raises(ImportError, match="pip install tensorboard"):
            graphdl.summary.FileWriter("/nonexistent/never-created")
        s = graphdl.summary.scalar("loss", 1.0)  # building needs no tensorboard; running does
        with graphdl.Session(backend=backend) as sess, pytest.raises(ImportError, match="pip install tensorboard"):
            sess.run(s)
    finally:
        monkeypatch.undo()
        _tensorboard.tensorboard.cache_clear()


# -- a TF1 script, unchanged but for its import line ----------------------------------------------------------------
@needs_tensorboard
@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_tf1_tensorboard_advanced_script(tmp_path, backend, monkeypatch):
    """The classic "TensorBoard advanced" tutorial: name scopes, gradient and activation histograms."""
    skip_on_cuda_simulator(backend, "the tutorial's training")
    monkeypatch.setenv("GRAPHDL_BACKEND", backend)  # the script itself says tf.Session()
    tf = tf1
    from graphdl.datasets import load_digits

    images, labels = load_digits(one_hot=True)  # 8x8 digits scaled to [0, 1]
    learning_rate, training_epochs, batch_size = 0.5, 3, 100
    logs_path = str(tmp_path)

    x = tf.placeholder(tf.float32, [None, 64], name="InputData")
    y = tf.placeholder(tf.float32, [None, 10], name="LabelData")

    def multilayer_perceptron(x, weights, biases):
        layer_1 = tf.add(tf.matmul(x, weights["w1"]), biases["b1"])
        layer_1 = tf.nn.relu(layer_1)
        tf.summary.histogram("relu1", layer_1)
        out_layer = tf.add(tf.matmul(layer_1, weights["w2"]), biases["b2"])
        return out_layer

    tf.set_random_seed(1)
    weights = {"w1": tf.Variable(tf.random_normal([64, 32], stddev=0.1), name="W1"),
               "w2": tf.Variable(tf.random_normal([32, 10], stddev=0.1), name="W2")}
    biases = {"b1": tf.Variable(tf.zeros([32]), name="b1"), "b2": tf.Variable(tf.zeros([10]), name="b2")}
    with tf.name_scope("Model"):
        pred = multilayer_perceptron(x, weights, biases)
    with tf.name_scope("Loss"):
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(logits=pred, labels=y))
    with tf.name_scope("SGD"):
        optimizer = tf.train.GradientDescentOptimizer(learning_rate)
        grads = tf.gradients(loss, tf.trainable_variables())
        grads = list(zip(grads, tf.trainable_variables()))
        apply_grads = optimizer.apply_gradients(grads_and_vars=grads)
    with tf.name_scope("Accuracy"):
        acc = tf.equal(tf.argmax(pred, 1), tf.argmax(y, 1))
        acc = tf.reduce_mean(tf.cast(acc, tf.float32))
    init = tf.global_variables_initializer()
    tf.summary.scalar("loss", loss)
    tf.summary.scalar("accuracy", acc)
    for var in tf.trainable_variables():
        tf.summary.histogram(var.name, var)
    for grad, var in grads:
        tf.summary.histogram(var.name + "/gradient", grad)
    merged_summary_op = tf.summary.merge_all()

    losses = []
    with tf.Session() as sess:
        assert sess.backend.name == backend
        sess.run(init)
        summary_writer = tf.summary.FileWriter(logs_path, graph=tf.get_default_graph())
        total_batch = len(images) // batch_size
        for epoch in range(training_epochs):
            for i in range(total_batch):
                batch_xs = images[i * batch_size:(i + 1) * batch_size]
                batch_ys = labels[i * batch_size:(i + 1) * batch_size]
                _, c, summary = sess.run([apply_grads, loss, merged_summary_op], feed_dict={x: batch_xs, y: batch_ys})
                summary_writer.add_summary(summary, epoch * total_batch + i)
                losses.append(c)
        summary_writer.close()

    events = load_events(logs_path)
    tags = events.Tags()
    # "loss" and "accuracy" collide (case-insensitively, as in TF1) with the "Loss" and "Accuracy" scopes.
    assert sorted(tags["scalars"]) == ["accuracy_1", "loss_1"]
    assert sorted(tags["histograms"]) == sorted(
        ["Model/relu1"] + [f"{v}_0{suffix}" for v in ("W1", "W2", "b1", "b2") for suffix in ("", "/gradient")])
    loss_events = events.Scalars("loss_1")
    assert [e.step for e in loss_events] == list(range(len(losses)))
    assert [e.value for e in loss_events] == [float(c) for c in losses]
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])
    relu = events.Histograms("Model/relu1")[0].histogram_value
    assert relu.num == batch_size * 32 and relu.min == 0.0 and relu.max > 0
    assert events.Histograms("W1_0")[0].histogram_value.num == 64 * 32
    node_names = {n.name for n in events.Graph().node}
    assert {"InputData", "Model/MatMul", "Model/Relu", "Loss/Mean", "SGD/gradients/Model/MatMul_grad/MatMul",
            "Accuracy/Mean", "W1", "loss_1", "Model/relu1"} <= node_names
