"""Every name of ../shared/tf1_api_census.md used the way classic TF1 scripts use it, with real values.

One test per census row (``test_<symbol>``), then the attributes scripts call on graphdl
objects, then the "Also required" bullets. Every test runs on both backends (the
``GRAPHDL_BACKEND`` a plain ``tf.Session()`` picks).
"""

import numpy as np
import pytest
from harness import OP_TEST_BACKENDS

import graphdl.compat.v1 as tf


@pytest.fixture(autouse=True, params=OP_TEST_BACKENDS)
def backend(request, monkeypatch):
    monkeypatch.setenv("GRAPHDL_BACKEND", request.param)
    return request.param


def run(fetches, feed_dict=None):
    """Run ``fetches`` in a fresh session after initializing the variables."""
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        return sess.run(fetches, feed_dict)


RNG = np.random.default_rng(0)


def randn(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


# -- NumPy references ------------------------------------------------------------------------------------
def np_softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def np_sigmoid(z):
    return 1 / (1 + np.exp(-z))


def np_conv2d(x, k, stride=1, pads=(0, 0, 0, 0)):
    """NHWC x, HWIO k; pads = (top, bottom, left, right)."""
    x = np.pad(x, [(0, 0), pads[:2], pads[2:], (0, 0)])
    kh, kw = k.shape[:2]
    oh, ow = (x.shape[1] - kh) // stride + 1, (x.shape[2] - kw) // stride + 1
    out = np.zeros((x.shape[0], oh, ow, k.shape[3]), np.float64)
    for i in range(oh):
        for j in range(ow):
            patch = x[:, i * stride:i * stride + kh, j * stride:j * stride + kw, :]
            out[:, i, j, :] = np.tensordot(patch, k, axes=([1, 2, 3], [0, 1, 2]))
    return out


def np_pool(x, size, stride, reduce):
    oh, ow = (x.shape[1] - size) // stride + 1, (x.shape[2] - size) // stride + 1
    out = np.zeros((x.shape[0], oh, ow, x.shape[3]), x.dtype)
    for i in range(oh):
        for j in range(ow):
            out[:, i, j, :] = reduce(x[:, i * stride:i * stride + size, j * stride:j * stride + size, :], axis=(1, 2))
    return out


def np_lstm(xs, kernel, bias, units, forget_bias=1.0):
    """BasicLSTMCell over a list of [batch, in] inputs; returns the outputs and the final (c, h)."""
    c = np.zeros((xs[0].shape[0], units))
    h = np.zeros_like(c)
    outputs = []
    for x in xs:
        gates = np.concatenate([x, h], axis=1) @ kernel + bias
        i, j, f, o = np.split(gates, 4, axis=1)
        c = c * np_sigmoid(f + forget_bias) + np_sigmoid(i) * np.tanh(j)
        h = np.tanh(c) * np_sigmoid(o)
        outputs.append(h)
    return outputs, (c, h)


# -- the census rows ------------------------------------------------------------------------------------
def test_Session():
    with tf.Session(config=tf.ConfigProto(log_device_placement=True)) as sess:
        assert sess.run(tf.constant(2.0) * 3.0) == 6.0
    sess = tf.Session()
    assert sess.run(tf.constant([1, 2]) + 1).tolist() == [2, 3]
    sess.close()
    with pytest.raises(RuntimeError, match="closed"):
        sess.run(tf.constant(1))


def test_placeholder():
    x = tf.placeholder(tf.float32, shape=[None, 2], name="x")
    assert x.name == "x:0" and x.shape.as_list() == [None, 2]
    np.testing.assert_allclose(run(x * 2.0, {x: [[1, 2]]}), [[2, 4]])
    with pytest.raises(tf.errors.InvalidArgumentError, match="must feed a value for placeholder tensor 'x'"):
        run(x * 2.0)


def test_global_variables_initializer():
    v = tf.Variable(tf.ones([2]) * 5.0)
    with tf.Session() as sess:
        with pytest.raises(tf.errors.FailedPreconditionError):
            sess.run(v)
        sess.run(tf.global_variables_initializer())
        np.testing.assert_allclose(sess.run(v), [5.0, 5.0])


def test_reduce_mean():
    x = randn(3, 4)
    np.testing.assert_allclose(run(tf.reduce_mean(tf.constant(x))), x.mean(), rtol=1e-5)


def test_float32_int16_int32_int64_string():
    for dtype, np_dtype in ((tf.float32, np.float32), (tf.int16, np.int16), (tf.int32, np.int32),
                            (tf.int64, np.int64)):
        assert run(tf.cast(tf.constant([1.7, -2.2]), dtype)).dtype == np_dtype
    s = tf.constant("hello")
    assert s.dtype == tf.string and run(s) == b"hello"


def test_matmul():
    a, b = randn(2, 3), randn(4, 3)
    np.testing.assert_allclose(run(tf.matmul(a, b, transpose_b=True)), a @ b.T, rtol=1e-5, atol=1e-6)


def test_Variable():
    v = tf.Variable([1.0, 2.0], name="weights")
    assert v.name == "weights:0" and v.dtype == tf.float32
    np.testing.assert_allclose(run(v * 2.0), [2.0, 4.0])


def test_argmax_arg_min():
    x = np.array([[1, 5, 2], [7, 0, 3]], np.float32)
    assert run(tf.argmax(x, axis=1)).tolist() == [1, 0]
    assert run(tf.arg_min(x, 1)).tolist() == [0, 1]


def test_cast_equal():
    correct = tf.equal(tf.constant([1, 2, 3]), tf.constant([1, 0, 3]))
    assert run(tf.reduce_mean(tf.cast(correct, dtype=tf.float32))) == pytest.approx(2 / 3)


def test_random_normal():
    r = tf.random_normal(shape=[20000], mean=2.0, stddev=0.5, dtype=tf.float32, name="noise")
    assert r.op.name == "noise" and r.dtype == tf.float32
    value = run(r)
    assert value.shape == (20000,) and abs(value.mean() - 2.0) < 0.02 and abs(value.std() - 0.5) < 0.02


def test_nn_softmax_sigmoid_tanh_relu():
    x = randn(2, 5)
    got = run([tf.nn.softmax(x), tf.nn.sigmoid(x), tf.nn.tanh(x), tf.nn.relu(x)])
    for g, want in zip(got, [np_softmax(x), np_sigmoid(x), np.tanh(x), np.maximum(x, 0)]):
        np.testing.assert_allclose(g, want, rtol=1e-5, atol=1e-6)


def test_add_multiply_pow_sqrt_square_exp_log_abs_negative():
    x = np.array([1.0, 4.0, 9.0], np.float32)
    got = run([tf.add(x, 1.0), tf.multiply(x, 2.0), tf.pow(x, 2.0), tf.sqrt(x), tf.square(x), tf.exp(x / 9.0),
               tf.log(x), tf.abs(-x), tf.negative(x)])
    want = [x + 1, x * 2, x ** 2, np.sqrt(x), x ** 2, np.exp(x / 9), np.log(x), x, -x]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5)


def test_nn_softmax_cross_entropy_with_logits():
    logits, labels = randn(3, 4), np_softmax(randn(3, 4))
    got = run(tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits))
    np.testing.assert_allclose(got, -(labels * np.log(np_softmax(logits))).sum(axis=1), rtol=1e-5)


def test_nn_sparse_softmax_cross_entropy_with_logits():
    logits, labels = randn(3, 4), np.array([0, 3, 1])
    got = run(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
    np.testing.assert_allclose(got, -np.log(np_softmax(logits))[np.arange(3), labels], rtol=1e-5)


def _one_step(optimizer, w0, grad_scale):
    w = tf.Variable(w0)
    loss = tf.reduce_sum(w * grad_scale)  # gradient = grad_scale
    step = optimizer.minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(step)
        return sess.run(w)


def test_train_GradientDescentOptimizer():
    g = np.array([1.0, -2.0], np.float32)
    w = _one_step(tf.train.GradientDescentOptimizer(learning_rate=0.1), [1.0, 1.0], g)
    np.testing.assert_allclose(w, [0.9, 1.2], rtol=1e-6)


def test_train_AdamOptimizer():
    g = np.array([3.0, -0.5], np.float32)
    w = _one_step(tf.train.AdamOptimizer(learning_rate=0.01), [1.0, 1.0], g)
    np.testing.assert_allclose(w, [0.99, 1.01], rtol=1e-5)  # Adam's first step is lr * sign(g)


def test_train_RMSPropOptimizer():
    g = np.array([2.0, -1.0], np.float32)
    w = _one_step(tf.train.RMSPropOptimizer(learning_rate=0.01), [1.0, 1.0], g)
    ms = 0.9 * 1.0 + 0.1 * g ** 2  # TF1 starts the mean square at 1
    np.testing.assert_allclose(w, 1.0 - 0.01 * g / np.sqrt(ms + 1e-10), rtol=1e-5)


def test_reduce_sum():
    x = randn(2, 3)
    np.testing.assert_allclose(run(tf.reduce_sum(x, reduction_indices=[1])), x.sum(axis=1), rtol=1e-5)
    assert run(tf.reduce_sum(x, 1, keepdims=True)).shape == (2, 1)


def test_reshape_transpose_expand_dims_stack_unstack_concat():
    x = np.arange(6, dtype=np.float32)
    got = run([tf.reshape(x, shape=[-1, 3]), tf.transpose(tf.reshape(x, [2, 3])), tf.expand_dims(x, 0),
               tf.stack([x, x]), tf.unstack(tf.reshape(x, [3, 2])), tf.concat([x, x], axis=0)])
    np.testing.assert_array_equal(got[0], x.reshape(2, 3))
    np.testing.assert_array_equal(got[1], x.reshape(2, 3).T)
    assert got[2].shape == (1, 6) and got[3].shape == (2, 6)
    np.testing.assert_array_equal(np.stack(got[4]), x.reshape(3, 2))
    np.testing.assert_array_equal(got[5], np.concatenate([x, x]))


def test_layers_dense():
    x = randn(4, 3)
    y = tf.layers.dense(tf.constant(x), units=2, activation=tf.nn.relu)
    kernel, bias = tf.trainable_variables()
    assert y.shape.as_list() == [4, 2] and kernel.shape.as_list() == [3, 2]
    out, k, b = run([y, kernel, bias])
    np.testing.assert_allclose(out, np.maximum(x @ k + b, 0), rtol=1e-5, atol=1e-6)


def test_layers_conv2d_and_pooling():
    x = randn(2, 6, 6, 3)
    conv = tf.layers.conv2d(tf.constant(x), 4, 3, activation=tf.nn.relu)
    maxp = tf.layers.max_pooling2d(conv, 2, 2)
    avgp = tf.layers.average_pooling2d(conv, 2, 2)
    kernel, bias = tf.trainable_variables()
    c, m, a, k, b = run([conv, maxp, avgp, kernel, bias])
    want = np.maximum(np_conv2d(x, k) + b, 0)
    np.testing.assert_allclose(c, want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(m, np_pool(want, 2, 2, np.max), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(a, np_pool(want, 2, 2, np.mean), rtol=1e-4, atol=1e-5)


def test_layers_conv2d_transpose():
    x = randn(1, 2, 2, 3)
    y = tf.layers.conv2d_transpose(tf.constant(x), 2, 3, strides=2, use_bias=False)
    (kernel,) = tf.trainable_variables()  # [kh, kw, out, in]
    out, k = run([y, kernel])
    want = np.zeros((1, 5, 5, 2))
    for i in range(2):
        for j in range(2):
            want[0, 2 * i:2 * i + 3, 2 * j:2 * j + 3, :] += np.einsum("c,hwoc->hwo", x[0, i, j], k)
    assert out.shape == (1, 5, 5, 2)
    np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-5)


def test_layers_dropout_and_nn_dropout():
    x = tf.ones([100, 100])
    kept = tf.layers.dropout(x, rate=0.25, training=True)
    off = tf.layers.dropout(x, rate=0.25, training=False)
    nn_kept = tf.nn.dropout(x, 0.5)  # keep_prob, positional
    a, b, c = run([kept, off, nn_kept])
    assert set(np.unique(a)) <= {0.0, np.float32(1 / 0.75)} and abs((a == 0).mean() - 0.25) < 0.03
    np.testing.assert_array_equal(b, np.ones((100, 100)))
    assert set(np.unique(c)) <= {0.0, 2.0} and abs((c == 0).mean() - 0.5) < 0.03


def test_variable_scope_and_get_collection():
    x = tf.constant(randn(2, 3))
    with tf.variable_scope("tower"):
        a = tf.layers.dense(x, 4, name="fc")
    with tf.variable_scope("tower", reuse=True):
        b = tf.layers.dense(x, 4, name="fc")
    with tf.variable_scope("other"):
        tf.layers.dense(x, 4, name="fc")
    tower_vars = tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES, scope="tower")
    assert [v.name for v in tower_vars] == ["tower/fc/kernel:0", "tower/fc/bias:0"]
    assert len(tf.trainable_variables()) == 4
    va, vb = run([a, b])
    np.testing.assert_array_equal(va, vb)


def test_contrib_layers_flatten():
    assert run(tf.contrib.layers.flatten(tf.zeros([2, 3, 4, 5]))).shape == (2, 60)


def test_contrib_rnn_BasicLSTMCell_static_rnn():
    xs = [randn(2, 3) for _ in range(4)]
    cell = tf.contrib.rnn.BasicLSTMCell(5, forget_bias=1.0)
    outputs, state = tf.contrib.rnn.static_rnn(cell, [tf.constant(x) for x in xs], dtype=tf.float32,
                                               sequence_length=tf.constant([4, 2]))
    kernel, bias = tf.trainable_variables()
    got, (_, h), k, b = run([outputs, state, kernel, bias])
    want, _ = np_lstm(xs, k, b, 5)
    np.testing.assert_allclose(np.stack(got)[:, 0], np.stack(want)[:, 0], rtol=1e-4, atol=1e-5)
    want2, (_, h2) = np_lstm([x[1:] for x in xs[:2]], k, b, 5)
    np.testing.assert_allclose(got[1][1], want2[1][0], rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(got[3][1], np.zeros(5))  # past its length: zeros
    np.testing.assert_allclose(h[1], h2[0], rtol=1e-4, atol=1e-5)  # the state at its length


def test_contrib_rnn_static_bidirectional_rnn():
    xs = [randn(2, 3) for _ in range(3)]
    fw, bw = tf.contrib.rnn.BasicLSTMCell(4), tf.contrib.rnn.BasicLSTMCell(4)
    outputs, _, _ = tf.contrib.rnn.static_bidirectional_rnn(fw, bw, [tf.constant(x) for x in xs], dtype=tf.float32)
    kf, bf, kb, bb = tf.trainable_variables()
    got, kf, bf, kb, bb = run([outputs, kf, bf, kb, bb])
    want_fw, _ = np_lstm(xs, kf, bf, 4)
    want_bw, _ = np_lstm(xs[::-1], kb, bb, 4)
    for t in range(3):
        np.testing.assert_allclose(got[t], np.concatenate([want_fw[t], want_bw[2 - t]], axis=1), rtol=1e-4, atol=1e-5)


def test_int32_zeros_constant_convert_to_tensor():
    assert run(tf.zeros([2, 3], tf.int32)).tolist() == [[0] * 3] * 2
    c = tf.constant([1, 2], dtype=tf.float32)
    t = tf.convert_to_tensor(np.array([1.5]), dtype=tf.float64)
    assert c.dtype == tf.float32 and t.dtype == tf.float64 and run(t).tolist() == [1.5]


def test_device():
    with tf.device("/cpu:0"):
        a = tf.constant([1.0, 2.0])
    with tf.device("/gpu:1"):  # no GPU here: runs on the CPU (soft placement)
        b = a * 2.0
    with tf.device("/gpu:0"):
        c = b + 1.0
    assert b.device == "/gpu:1" and c.device == "/gpu:0"
    config = tf.ConfigProto(allow_soft_placement=True, log_device_placement=True)
    with tf.Session(config=config) as sess:
        np.testing.assert_allclose(sess.run([b, c]), [[2.0, 4.0], [3.0, 5.0]])
    np.testing.assert_allclose(run(c), [3.0, 5.0])  # without soft placement in the config as well


def test_name_scope_get_default_graph_shape():
    with tf.name_scope("layer1"):
        y = tf.add(tf.constant(1.0), 2.0, name="sum")
    assert y.op.name == "layer1/sum" and tf.get_default_graph().get_operation_by_name("layer1/sum") is y.op
    x = tf.placeholder(tf.float32, [None, 3])
    assert run(tf.shape(x), {x: np.zeros((5, 3))}).tolist() == [5, 3]


def test_train_Saver(tmp_path):
    v = tf.Variable([1.0, 2.0], name="v")
    saver = tf.train.Saver()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(tf.assign(v, [3.0, 4.0]))
        path = saver.save(sess, str(tmp_path / "model.ckpt"))
    with tf.Session() as sess:
        saver.restore(sess, path)
        np.testing.assert_allclose(sess.run(v), [3.0, 4.0])


def test_trainable_variables_gradients_add_n():
    w = tf.Variable([1.0, 2.0])
    b = tf.Variable(0.5)
    loss = tf.add_n([tf.reduce_sum(w * w), b * 3.0])
    grads = tf.gradients(loss, tf.trainable_variables())
    pairs = list(zip(grads, tf.trainable_variables()))
    assert [v for _, v in pairs] == [w, b]
    gw, gb = run(grads)
    np.testing.assert_allclose(gw, [2.0, 4.0])
    assert gb == 3.0


def test_ConfigProto_GraphKeys_NodeDef():
    config = tf.ConfigProto(log_device_placement=True, allow_soft_placement=True)
    assert config.log_device_placement and config.allow_soft_placement
    v = tf.Variable(1.0)
    assert tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES) == [v]
    assert isinstance(v.op.node_def, tf.NodeDef) and v.op.node_def.op == "VariableV2"


def test_gather_range_bias_add():
    params = np.arange(12, dtype=np.float32).reshape(4, 3)
    got = run([tf.gather(params, [3, 0]), tf.range(2, 10, 3), tf.nn.bias_add(params, [1.0, 2.0, 3.0])])
    np.testing.assert_array_equal(got[0], params[[3, 0]])
    assert got[1].tolist() == [2, 5, 8]
    np.testing.assert_array_equal(got[2], params + [1, 2, 3])


def test_nn_conv2d_max_pool():
    x, k = randn(2, 7, 7, 2), randn(3, 3, 2, 4)
    conv = tf.nn.conv2d(x, k, strides=[1, 2, 2, 1], padding="SAME")
    pool = tf.nn.max_pool(x, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="VALID")
    c, p = run([conv, pool])
    np.testing.assert_allclose(c, np_conv2d(x, k, stride=2, pads=(1, 1, 1, 1)), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(p, np_pool(x, 2, 2, np.max))


def test_image_resize_images():
    img = np.array([[0, 1], [2, 3]], np.float32).reshape(1, 2, 2, 1)
    out = run(tf.image.resize_images(img, [4, 4]))[0, :, :, 0]
    steps = np.array([0, 0.5, 1, 1])
    np.testing.assert_allclose(out, 2 * steps[:, None] + steps[None, :])


# -- in progress elsewhere -------------------------------------------------------------------------------
def test_summary_scalar_histogram_merge_all_FileWriter(tmp_path):
    w = tf.Variable([1.0, 2.0], name="w")
    tf.summary.scalar("loss", tf.reduce_sum(w))
    tf.summary.histogram(w.name, w)  # a Variable's name (with ":0") as the summary name
    merged = tf.summary.merge_all()
    writer = tf.summary.FileWriter(str(tmp_path), graph=tf.get_default_graph())
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        writer.add_summary(sess.run(merged), 1)
    writer.close()
    assert any(p.name.startswith("events.out.tfevents") for p in tmp_path.iterdir())


def test_data_Dataset_from_tensor_slices_iterator():
    dataset = tf.data.Dataset.from_tensor_slices(np.arange(5, dtype=np.int64))
    dataset = dataset.repeat().batch(2).prefetch(2)
    iterator = dataset.make_initializable_iterator()
    batch = iterator.get_next()
    with tf.Session() as sess:
        sess.run(iterator.initializer)
        got = [sess.run(batch).tolist() for _ in range(3)]
    assert got == [[0, 1], [2, 3], [4, 0]]


def test_read_file_decode_jpeg_queue_pipeline(tmp_path):
    pil = pytest.importorskip("PIL.Image")
    paths = []
    for i in range(4):
        path = tmp_path / f"{i}.jpg"
        pil.fromarray(np.full((8, 8, 3), 40 * i, np.uint8)).save(path, quality=100)
        paths.append(str(path))
    image_path, label = tf.train.slice_input_producer([tf.constant(paths), tf.constant([0, 1, 2, 3])], shuffle=False)
    image = tf.image.decode_jpeg(tf.read_file(image_path), channels=3)
    image = tf.image.resize_images(image, [4, 4])
    images, labels = tf.train.batch([image, label], batch_size=2, capacity=8, num_threads=4)
    with tf.Session() as sess:
        tf.train.start_queue_runners()  # no arguments, as the census script
        x, y = sess.run([images, labels])
    assert x.shape == (2, 4, 4, 3) and y.tolist() == [0, 1]
    np.testing.assert_allclose(x[1], 40.0, atol=2.0)


def test_io_read_file(tmp_path):
    (tmp_path / "f.txt").write_bytes(b"abc")
    assert tf.io.read_file is tf.read_file
    assert run(tf.read_file(str(tmp_path / "f.txt"))) == b"abc"


# -- attributes scripts use on graphdl objects --------------------------------------------------------------
def test_eval_compute_apply_gradients_get_shape_name_node_def_op():
    x = tf.placeholder(tf.float32, [None, 2])
    weights = {"wd1": tf.Variable(tf.ones([2, 3]), name="wd1")}
    assert weights["wd1"].get_shape().as_list() == [2, 3] and weights["wd1"].name == "wd1:0"
    loss = tf.reduce_sum(tf.matmul(x, weights["wd1"]))
    optimizer = tf.train.GradientDescentOptimizer(0.1)
    grads_and_vars = optimizer.compute_gradients(loss)
    step = optimizer.apply_gradients(grads_and_vars)
    op = weights["wd1"].op
    assert op.node_def.op == "VariableV2" and loss.op.type == "Sum"
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert loss.eval({x: [[1.0, 1.0]]}) == 6.0
        step.run({x: [[1.0, 1.0]]})
        np.testing.assert_allclose(weights["wd1"].eval(), np.full((2, 3), 0.9))


# -- "Also required" --------------------------------------------------------------------------------------
def test_operator_overloads_with_python_and_numpy_scalars():
    pred = tf.constant([0.2, 0.8])
    d = tf.constant(0.25)
    img = tf.constant([0.0, 255.0])
    got = run([pred - np.array([0.0, 1.0]), 1.0 * tf.log(pred), 1.0 - d, d / 2, img * 1.0 / 127.5 - 1.0,
               tf.range(0, 4) * 3 + (tf.constant([1, 2, 3, 4]) - 1), tf.constant(2) + tf.constant(3)])
    np.testing.assert_allclose(got[0], [0.2, -0.2], rtol=1e-6)
    np.testing.assert_allclose(got[1], np.log([0.2, 0.8]), rtol=1e-6)
    assert got[2] == 0.75 and got[3] == 0.125
    np.testing.assert_allclose(got[4], [-1.0, 1.0])
    assert got[5].tolist() == [0, 4, 8, 12] and got[6] == 5


def test_slicing_and_shapes():
    data = np.arange(20, dtype=np.float32).reshape(10, 2)
    x = tf.placeholder(tf.float32, [None, 2])
    bs, i = 4, 1
    first = tf.shape(x)[0]
    v = tf.Variable(tf.zeros([3, 5]))
    assert v.get_shape().as_list() == [3, 5]
    n, rows = run([first, x[1:3]], {x: data[i * bs:(i + 1) * bs]})
    assert n == 4
    np.testing.assert_array_equal(rows, data[5:7])


def test_session_default_eval_and_fetch_lists_with_train_ops():
    w = tf.Variable(1.0)
    x = tf.placeholder(tf.float32)
    step = tf.train.GradientDescentOptimizer(0.5).minimize(w * w * x)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        nothing, value = sess.run([step, x * 10.0], {x: 2.0})  # feed_dict positional
        assert nothing is None and value == 20.0
        assert w.eval() == -1.0  # 1 - 0.5 * (2 * 1 * 2)


def test_feed_values_of_other_types():
    f = tf.placeholder("float", [None, 3])
    i = tf.placeholder(tf.int32, [None, 2])
    row = tf.placeholder(tf.float32, [784])
    free = tf.placeholder(tf.float32)
    out = run([f * 2.0, i + 1, tf.reduce_sum(row), free * 2.0],
              {f: np.ones((1, 3), np.float64), i: np.ones((2, 2), np.float64), row: np.ones(784), free: 3})
    assert out[0].dtype == np.float32 and out[0].tolist() == [[2.0] * 3]
    assert out[1].dtype == np.int32 and out[1].tolist() == [[2, 2], [2, 2]]
    assert out[2] == 784.0 and out[3] == 6.0
    assert run(f + 0.0, {f: [[1, 2, 3]]}).tolist() == [[1.0, 2.0, 3.0]]  # nested Python lists


def test_graph_grows_after_the_session_exists():
    x = tf.placeholder(tf.float32, [None, 1])
    y = tf.placeholder(tf.float32, [None, 1])
    w = tf.Variable(tf.zeros([1, 1]))
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - y))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        xs = np.linspace(-1, 1, 20, dtype=np.float32).reshape(-1, 1)
        step = tf.train.GradientDescentOptimizer(0.5).minimize(loss)  # built after the first run
        for _ in range(100):
            sess.run(step, feed_dict={x: xs, y: 3 * xs})
        test_x = tf.placeholder(tf.float32, [None, 1])  # added inside the with block
        prediction = tf.matmul(test_x, w)
        np.testing.assert_allclose(sess.run(prediction, {test_x: [[2.0]]}), [[6.0]], rtol=1e-3)


def test_variables_from_numpy_scalars_in_dicts():
    rng = np.random.RandomState(0)
    params = {"W": tf.Variable(rng.randn(), name="weight"), "b": tf.Variable(rng.randn(), name="bias")}
    x = tf.placeholder("float")
    pred = tf.add(tf.multiply(x, params["W"]), params["b"])
    w, b, p = run([params["W"], params["b"], pred], {x: 2.0})
    assert p == pytest.approx(2 * w + b, rel=1e-6) and params["W"].name == "weight:0"


def test_device_functions_and_gpu_strings():
    def assign_to_device(device, ps_device="/cpu:0"):
        def _assign(op):
            node_def = op if isinstance(op, tf.NodeDef) else op.node_def
            return ps_device if node_def.op == "VariableV2" else device
        return _assign

    towers = []
    for gpu in range(2):
        with tf.device(assign_to_device(f"/gpu:{gpu}")), tf.variable_scope("model", reuse=gpu > 0):
            x = tf.constant([[1.0, 2.0]])
            towers.append(tf.layers.dense(x, 3, name="fc"))
    kernel = tf.trainable_variables()[0]
    assert kernel.op.device == "/cpu:0" and towers[1].op.device == "/gpu:1" and len(tf.trainable_variables()) == 2
    with tf.device("/device:GPU:1"):
        mean = tf.reduce_mean(tf.stack(towers), axis=0)
    a, b, m = run(towers + [mean])
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(m, a)
