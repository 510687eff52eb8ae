"""``_FusedConv2D`` on the Numba backend: every convolution path adds the bias and applies the activation."""

import numpy as np
import pytest
from graphdl.backends.numba_cpu.kernels import conv_channels, conv_direct

import graphdl as tf

RNG = np.random.default_rng(3)


def _run(x_shape, f_shape, data_format, dtype, relu, backend, disabled=()):
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(dtype, x_shape)
        w = tf.constant(RNG.standard_normal(f_shape).astype(dtype))
        b = tf.constant(RNG.standard_normal(f_shape[3]).astype(dtype))
        y = tf.nn.bias_add(tf.nn.conv2d(x, w, [1, 1, 1, 1], "SAME", data_format=data_format), b, data_format=data_format)
        y = tf.nn.relu(y) if relu else y
    value = RNG.standard_normal(x_shape).astype(dtype)
    with tf.Session(graph=graph, backend=backend, config=tf.ConfigProto(disabled_passes=list(disabled))) as sess:
        explanation = str(sess.explain(y, {x: value})) if backend == "numba" else ""
        return sess.run(y, {x: value}), explanation


@pytest.mark.parametrize("path, channels", [("direct", (3, 6)), ("channels", (6, 16)), ("im2col", (20, 24))])
@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("relu", [True, False])
def test_every_convolution_path_adds_the_bias_and_activation(monkeypatch, path, channels, data_format, dtype, relu):
    calls = []
    for module, name in ((conv_direct, "forward"), (conv_channels, "forward")):
        original = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _f=original, _m=module: calls.append(_m) or _f(*a))
    c, o = channels
    x_shape = (3, 9, 8, c) if data_format == "NHWC" else (3, c, 9, 8)
    f_shape = (3, 3, c, o)
    seed = RNG.bit_generator.state
    expected, _ = _run(x_shape, f_shape, data_format, dtype, relu, "reference")
    RNG.bit_generator.state = seed  # the same filter, bias and input
    got, explanation = _run(x_shape, f_shape, data_format, dtype, relu, "numba")
    assert "-> _FusedConv2D" in explanation
    assert calls == {"direct": [conv_direct], "channels": [conv_channels], "im2col": []}[path]
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, expected, rtol=tolerance, atol=tolerance)
    if relu:
        assert (got >= 0).all() and (got == 0).any()
