"""tf.layers conv/pooling/batch_normalization: TF1 variable names and shapes, values against NumPy, training."""

import numpy as np
import pytest
from harness import OP_TEST_BACKENDS

import graphdl as tf


def np_conv2d_nhwc(x, w, stride=1, padding="VALID"):
    """Direct NHWC convolution (cross-correlation, as TF) with HWIO weights."""
    kh, kw = w.shape[:2]
    if padding == "SAME":
        out_h, out_w = -(-x.shape[1] // stride), -(-x.shape[2] // stride)
        pad_h = max((out_h - 1) * stride + kh - x.shape[1], 0)
        pad_w = max((out_w - 1) * stride + kw - x.shape[2], 0)
        x = np.pad(x, [(0, 0), (pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2), (0, 0)])
    out_h = (x.shape[1] - kh) // stride + 1
    out_w = (x.shape[2] - kw) // stride + 1
    out = np.zeros((x.shape[0], out_h, out_w, w.shape[3]), np.float64)
    for i in range(out_h):
        for j in range(out_w):
            patch = x[:, i * stride:i * stride + kh, j * stride:j * stride + kw, :]
            out[:, i, j, :] = np.tensordot(patch, w, axes=([1, 2, 3], [0, 1, 2]))
    return out


@pytest.fixture(params=OP_TEST_BACKENDS)
def backend(request):
    return request.param


def test_conv2d_layer_variables_and_values(backend):
    rng = np.random.default_rng(0)
    x = tf.placeholder(tf.float32, [None, 7, 6, 3])
    y = tf.layers.conv2d(x, 4, 3, strides=2, padding="same", activation=tf.nn.relu)
    y2 = tf.layers.conv2d(y, 2, (2, 2))
    names = [v.name for v in tf.trainable_variables()]
    assert names == ["conv2d/kernel:0", "conv2d/bias:0", "conv2d_1/kernel:0", "conv2d_1/bias:0"]
    assert tf.trainable_variables()[0].shape.as_list() == [3, 3, 3, 4]
    assert y.shape.as_list() == [None, 4, 3, 4] and y2.shape.as_list() == [None, 3, 2, 2]
    data = rng.standard_normal((2, 7, 6, 3)).astype(np.float32)
    with tf.Session(backend=backend) as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(tf.trainable_variables()[1].assign([0.1, -0.2, 0.3, 0.0]))
        kernel, bias, out = sess.run([tf.trainable_variables()[0], tf.trainable_variables()[1], y], {x: data})
    expected = np.maximum(np_conv2d_nhwc(data, kernel, 2, "SAME") + bias, 0)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)


def test_conv2d_layer_channels_first_matches_channels_last(backend):
    rng = np.random.default_rng(1)
    data = rng.standard_normal((2, 3, 5, 5)).astype(np.float32)
    x = tf.placeholder(tf.float32, [None, 3, 5, 5])
    y = tf.layers.conv2d(x, 2, 3, data_format="channels_first", kernel_initializer=tf.ones_initializer(),
                         bias_initializer=tf.constant_initializer(0.5))
    assert y.shape.as_list() == [None, 2, 3, 3]
    with tf.Session(backend=backend) as sess:
        sess.run(tf.global_variables_initializer())
        out = sess.run(y, {x: data})
    expected = np_conv2d_nhwc(data.transpose(0, 2, 3, 1), np.ones((3, 3, 3, 2)), 1).transpose(0, 3, 1, 2) + 0.5
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)


def test_conv2d_transpose_layer_shapes(backend):
    x = tf.placeholder(tf.float32, [None, 4, 4, 3])
    same = tf.layers.conv2d_transpose(x, 5, 3, strides=2, padding="same")
    valid = tf.layers.conv2d_transpose(x, 2, 3, strides=2, padding="valid")
    assert same.shape.as_list()[1:] == [8, 8, 5] and valid.shape.as_list()[1:] == [9, 9, 2]
    assert tf.trainable_variables()[0].shape.as_list() == [3, 3, 5, 3]
    with tf.Session(backend=backend) as sess:
        sess.run(tf.global_variables_initializer())
        a, b = sess.run([same, valid], {x: np.ones((2, 4, 4, 3), np.float32)})
    assert a.shape == (2, 8, 8, 5) and b.shape == (2, 9, 9, 2)
    assert np.all(np.isfinite(a)) and np.abs(a).max() > 0


def test_pooling_layers(backend):
    data = np.arange(2 * 4 * 6 * 1, dtype=np.float32).reshape(2, 4, 6, 1)
    x = tf.placeholder(tf.float32, [None, 4, 6, 1])
    mx = tf.layers.max_pooling2d(x, 2, 2)
    av = tf.layers.average_pooling2d(x, (2, 3), (2, 3))
    with tf.Session(backend=backend) as sess:
        got_max, got_avg = sess.run([mx, av], {x: data})
    np.testing.assert_allclose(got_max, data.reshape(2, 2, 2, 3, 2, 1).max(axis=(2, 4)))
    np.testing.assert_allclose(got_avg, data.reshape(2, 2, 2, 2, 3, 1).mean(axis=(2, 4)))


def test_conv1d_and_pooling1d(backend):
    rng = np.random.default_rng(2)
    data = rng.standard_normal((2, 9, 3)).astype(np.float32)
    x = tf.placeholder(tf.float32, [None, 9, 3])
    y = tf.layers.conv1d(x, 4, 3, kernel_initializer=tf.ones_initializer())
    pooled = tf.layers.max_pooling1d(y, 2, 2)
    assert tf.trainable_variables()[0].shape.as_list() == [3, 3, 4]
    with tf.Session(backend=backend) as sess:
        sess.run(tf.global_variables_initializer())
        out, p = sess.run([y, pooled], {x: data})
    window_sums = np.stack([data[:, i:i + 3].sum(axis=(1, 2)) for i in range(7)], axis=1)
    np.testing.assert_allclose(out, np.repeat(window_sums[:, :, None], 4, axis=2), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(p, np.maximum(out[:, 0:6:2], out[:, 1:7:2]), rtol=1e-6)


def test_batch_normalization_training_and_inference(backend):
    rng = np.random.default_rng(3)
    data = (rng.standard_normal((16, 3)) * 2 + 1).astype(np.float32)
    x = tf.placeholder(tf.float32, [None, 3])
    training = tf.placeholder(tf.bool, [])
    y = tf.layers.batch_normalization(x, momentum=0.5, training=training)
    names = [v.name for v in tf.global_variables()]
    assert names == ["batch_normalization/gamma:0", "batch_normalization/beta:0",
                     "batch_normalization/moving_mean:0", "batch_normalization/moving_variance:0"]
    assert [v.name for v in tf.trainable_variables()] == names[:2]
    updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    assert len(updates) == 2
    moving_mean, moving_var = tf.global_variables()[2:]
    with tf.Session(backend=backend) as sess:
        sess.run(tf.global_variables_initializer())
        out, _ = sess.run([y, updates], {x: data, training: True})
        np.testing.assert_allclose(out, (data - data.mean(0)) / np.sqrt(data.var(0) + 1e-3), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(sess.run(moving_mean), 0.5 * data.mean(0), rtol=1e-5)
        np.testing.assert_allclose(sess.run(moving_var), 0.5 + 0.5 * data.var(0), rtol=1e-5)
        # Inference uses the moving statistics, and running the updates with training=False changes nothing.
        mm, mv = sess.run([moving_mean, moving_var])
        out, _ = sess.run([y, updates], {x: data, training: False})
        np.testing.assert_allclose(out, (data - mm) / np.sqrt(mv + 1e-3), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(sess.run(moving_mean), mm)


def test_batch_normalization_4d_channels_first_uses_corrected_variance(backend):
    rng = np.random.default_rng(4)
    data = rng.standard_normal((4, 2, 3, 3)).astype(np.float32)
    x = tf.constant(data)
    y = tf.layers.batch_normalization(x, axis=1, momentum=0.0, training=True)
    updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    with tf.Session(backend=backend) as sess:
        sess.run(tf.global_variables_initializer())
        out, _ = sess.run([y, updates])
        moving_var = sess.run(tf.global_variables()[3])
    mean = data.mean(axis=(0, 2, 3), keepdims=True)
    var = data.var(axis=(0, 2, 3), keepdims=True)
    np.testing.assert_allclose(out, (data - mean) / np.sqrt(var + 1e-3), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(moving_var, data.var(axis=(0, 2, 3), ddof=1), rtol=1e-5)


def test_batch_normalization_trains_with_update_ops(backend):
    tf.set_random_seed(5)
    rng = np.random.default_rng(5)
    data = rng.standard_normal((32, 4)).astype(np.float32) * 3 + 2
    target = data @ rng.standard_normal((4, 1)).astype(np.float32)
    x = tf.placeholder(tf.float32, [None, 4])
    h = tf.layers.batch_normalization(x, training=True)
    pred = tf.layers.dense(h, 1)
    loss = tf.reduce_mean(tf.square(pred - target))
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
        train = tf.train.AdamOptimizer(0.05).minimize(loss)
    with tf.Session(backend=backend) as sess:
        sess.run(tf.global_variables_initializer())
        first = sess.run(loss, {x: data})
        for _ in range(100):
            sess.run(train, {x: data})
        assert sess.run(loss, {x: data}) < first / 10
        moving_mean = sess.run(tf.global_variables()[2])
    np.testing.assert_allclose(moving_mean, data.mean(0) * (1 - 0.99 ** 100), rtol=1e-3)


def test_layer_argument_errors():
    x = tf.placeholder(tf.float32, [None, 5, 5, 3])
    with pytest.raises(ValueError, match="padding"):
        tf.layers.conv2d(x, 2, 3, padding="full")
    with pytest.raises(ValueError, match="data_format"):
        tf.layers.conv2d(x, 2, 3, data_format="NHWC")
    with pytest.raises(ValueError, match="channel dimension"):
        tf.layers.conv2d(tf.placeholder(tf.float32, [None, 5, 5, None]), 2, 3)
    with pytest.raises(ValueError, match="known size"):
        tf.layers.batch_normalization(tf.placeholder(tf.float32, [None, None]))
