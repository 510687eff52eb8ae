"""Every model of the example zoo exports to ONNX, passes the full checker and matches graphdl in onnxruntime.

Each model is built the way its example builds it (small sizes, weights initialized and
perturbed so biases are not zero), exported once with a symbolic batch dim, and run in
onnxruntime at two batch sizes; outputs must be within 1e-4 of graphdl's (float32).
"""

import numpy as np
import pytest
from graphdl.backends.onnx import default_opset, export

import graphdl as tf

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

ROWS = COLUMNS = 8


def mlp():
    x = tf.placeholder(tf.float32, [None, 64], name="x")
    w1 = tf.Variable(tf.truncated_normal([64, 32], stddev=0.1), name="W1")
    b1 = tf.Variable(tf.random_normal([32], stddev=0.1), name="b1")
    hidden = tf.nn.relu(tf.matmul(x, w1) + b1)
    w2 = tf.Variable(tf.truncated_normal([32, 10], stddev=0.1), name="W2")
    logits = tf.matmul(hidden, w2) + tf.Variable(tf.zeros([10]), name="b2")
    return {"x": x}, {"logits": logits, "classes": tf.argmax(logits, 1)}, {}


def lenet():
    images = tf.placeholder(tf.float32, [None, 8, 8, 1], name="images")
    net = tf.image.resize_images(images, [16, 16])

    def weight(shape, name):
        return tf.Variable(tf.truncated_normal(shape, stddev=0.3), name=name)

    conv1 = tf.nn.relu(tf.nn.conv2d(net, weight([5, 5, 1, 6], "c1"), [1, 1, 1, 1], "SAME")
                       + tf.Variable(tf.random_normal([6]), name="b1"))
    pool1 = tf.nn.max_pool(conv1, [1, 2, 2, 1], [1, 2, 2, 1], "VALID")
    conv2 = tf.nn.relu(tf.nn.conv2d(pool1, weight([5, 5, 6, 16], "c2"), [1, 1, 1, 1], "SAME"))
    pool2 = tf.nn.avg_pool(conv2, [1, 2, 2, 1], [1, 2, 2, 1], "VALID")
    flat = tf.reshape(pool2, [-1, 4 * 4 * 16])
    logits = tf.matmul(flat, weight([256, 10], "fc"))
    return {"images": images}, {"logits": logits}, {}


def alexnet():
    images = tf.placeholder(tf.float32, [None, 8, 8, 1], name="images")
    training = tf.placeholder_with_default(False, [], name="training")
    net = tf.image.resize_images(images, [16, 16])
    net = tf.layers.conv2d(net, 8, 5, strides=2, padding="same", activation=tf.nn.relu, name="conv1")
    net = tf.layers.max_pooling2d(tf.nn.lrn(net, 2, 1.0, 1e-4, 0.75), 3, 2, padding="same", name="pool1")
    net = tf.layers.conv2d(net, 12, 3, padding="same", activation=tf.nn.relu, name="conv2")
    net = tf.layers.max_pooling2d(net, 3, 2, padding="same", name="pool2")
    net = tf.layers.flatten(net)
    net = tf.layers.dropout(tf.layers.dense(net, 32, activation=tf.nn.relu, name="fc6"), 0.5, training=training)
    return {"images": images}, {"logits": tf.layers.dense(net, 10, name="logits")}, {}


def _rnn_input():
    return tf.placeholder(tf.float32, [None, ROWS, COLUMNS], name="x")


def rnn():
    x = _rnn_input()
    outputs, _ = tf.nn.static_rnn(tf.nn.rnn_cell.BasicRNNCell(16), tf.unstack(x, ROWS, 1), dtype=tf.float32)
    return {"x": x}, {"logits": tf.layers.dense(outputs[-1], 10, name="logits")}, {}


def lstm():
    x = _rnn_input()
    outputs, _ = tf.nn.dynamic_rnn(tf.nn.rnn_cell.LSTMCell(16), x, dtype=tf.float32)
    return {"x": x}, {"logits": tf.layers.dense(outputs[:, -1], 10, name="logits")}, {}


def gru():
    x = _rnn_input()
    keep_prob = tf.placeholder_with_default(1.0, [], name="keep_prob")
    cell = tf.nn.rnn_cell.MultiRNNCell([
        tf.nn.rnn_cell.DropoutWrapper(tf.nn.rnn_cell.GRUCell(16), output_keep_prob=keep_prob) for _ in range(2)])
    outputs, _ = tf.nn.static_rnn(cell, tf.unstack(x, ROWS, 1), dtype=tf.float32)
    return {"x": x}, {"logits": tf.layers.dense(outputs[-1], 10, name="logits")}, {}


def bidirectional():
    x = _rnn_input()
    _, forward, backward = tf.contrib.rnn.static_bidirectional_rnn(
        tf.contrib.rnn.BasicLSTMCell(12), tf.contrib.rnn.BasicLSTMCell(12), tf.unstack(x, ROWS, 1), dtype=tf.float32)
    last = tf.concat([forward.h, backward.h], axis=1)
    return {"x": x}, {"logits": tf.layers.dense(last, 10, name="logits")}, {}


def autoencoder():
    x = tf.placeholder(tf.float32, [None, 64], name="x")
    with tf.variable_scope("encoder"):
        code = tf.layers.dense(tf.layers.dense(x, 32, activation=tf.nn.relu, name="hidden"), 16,
                               activation=tf.nn.relu, name="code")
    with tf.variable_scope("decoder"):
        out = tf.layers.dense(tf.layers.dense(code, 32, activation=tf.nn.relu, name="hidden"), 64,
                              activation=tf.nn.sigmoid, name="pixels")
    return {"x": x}, {"reconstruction": out, "code": code}, {}


def vae_decoder():
    z = tf.placeholder(tf.float32, [None, 4], name="z")
    with tf.variable_scope("decoder"):
        hidden = tf.layers.dense(z, 32, activation=tf.nn.relu, name="hidden")
        logits = tf.layers.dense(hidden, 64, name="logits")
    return {"z": z}, {"pixels": tf.nn.sigmoid(logits)}, {}


def gan_generator():
    z = tf.placeholder(tf.float32, [None, 16], name="z")
    with tf.variable_scope("generator"):
        hidden = tf.layers.dense(z, 64, activation=tf.nn.relu, name="hidden")
        pixels = tf.layers.dense(hidden, 64, activation=tf.nn.sigmoid, name="pixels")
    return {"z": z}, {"pixels": pixels}, {}


def dcgan_generator():
    z = tf.placeholder(tf.float32, [None, 8], name="z")
    training = tf.placeholder(tf.bool, [], name="training")
    with tf.variable_scope("generator"):
        net = tf.layers.dense(z, 2 * 2 * 16, use_bias=False, name="project")
        net = tf.nn.relu(tf.layers.batch_normalization(net, training=training, name="project_bn"))
        net = tf.reshape(net, [-1, 2, 2, 16])
        net = tf.layers.conv2d_transpose(net, 8, 5, strides=2, padding="same", use_bias=False, name="deconv1")
        net = tf.nn.relu(tf.layers.batch_normalization(net, training=training, name="deconv1_bn"))
        net = tf.layers.conv2d_transpose(net, 1, 5, strides=2, padding="same", name="deconv2")
    return {"z": z}, {"images": tf.nn.sigmoid(net)}, {training: False}


ZOO = [mlp, lenet, alexnet, rnn, lstm, gru, bidirectional, autoencoder, vae_decoder, gan_generator, dcgan_generator]


def _perturb_variables(sess, rng):
    """Give every variable (biases, batch-norm statistics too) non-trivial values."""
    for v in tf.global_variables():
        value = sess.run(v)
        noise = rng.normal(0, 0.1, value.shape).astype(value.dtype)
        if "moving_variance" in v.op.name:
            noise = np.abs(noise) + 0.5
        v.load(value + noise, sess)


def _feed_for(inputs, batch, rng):
    return {name: rng.random([batch] + t.shape.as_list()[1:]).astype(t.dtype.np) for name, t in inputs.items()}


@pytest.mark.parametrize("opset", [13, None], ids=["opset13", "default_opset"])
@pytest.mark.parametrize("build", ZOO, ids=[f.__name__ for f in ZOO])
def test_zoo_model_exports_and_matches_graphdl(build, opset, tmp_path):
    rng = np.random.default_rng(0)
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(1)
        inputs, outputs, pins = build()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            _perturb_variables(sess, rng)
            path = tmp_path / "model.onnx"
            model = export(sess, inputs, outputs, path=path, opset=opset, feed_dict=pins)
            onnx.checker.check_model(onnx.load(str(path)), full_check=True)
            assert model.opset_import[0].version == (opset or default_opset())
            first_dim = model.graph.input[0].type.tensor_type.shape.dim[0]
            assert first_dim.dim_param == "batch"
            ort_sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            for batch in (1, 5):
                feed = _feed_for(inputs, batch, rng)
                want = sess.run(list(outputs.values()), {inputs[k]: v for k, v in feed.items()} | pins)
                got = ort_sess.run(list(outputs), feed)
                for name, g, w in zip(outputs, got, want):
                    assert g.shape == w.shape, f"{name}: {g.shape} vs {w.shape}"
                    if w.dtype.kind == "f":
                        np.testing.assert_allclose(g, w, rtol=0, atol=1e-4, err_msg=f"{name} batch {batch}")
                    else:
                        np.testing.assert_array_equal(g, w, err_msg=f"{name} batch {batch}")


def test_training_ops_are_left_out_and_dropout_folds_away():
    graph = tf.Graph()
    with graph.as_default():
        inputs, outputs, _ = alexnet()
        labels = tf.placeholder(tf.int64, [None], name="labels")
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=outputs["logits"]))
        tf.train.AdamOptimizer(0.01).minimize(loss)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            model = export(sess, inputs, outputs)
    types = {n.op_type for n in model.graph.node}
    assert not types & {"RandomUniformLike", "RandomUniform"}, types
    transposes = sum(n.op_type == "Transpose" for n in model.graph.node)
    assert transposes == 2, f"expected one transpose into NCHW and one out, got {transposes}"
