"""tf.nn convolutions: conv2d (+ both backprops, explicit calls and second order), conv2d_transpose, depthwise, conv1d.

The oracle is a direct tap-by-tap sum (one strided slice of the padded input per filter
tap), independent of the im2col used by the kernels.
"""

import numpy as np
import pytest
from harness import OP_TEST_BACKENDS, OpCase, make_op_tests, randn

import graphdl
import graphdl as tf
from graphdl.ops.fused_conv_ops import fused_conv2d


# -- NumPy oracle ----------------------------------------------------------------------------------------------------
def _pads(size, k, stride, dilation, padding):
    span = (k - 1) * dilation + 1
    if padding == "VALID":
        return (size - span) // stride + 1, 0, 0
    if padding == "SAME":
        out = (size + stride - 1) // stride
        total = max((out - 1) * stride + span - size, 0)
        return out, total // 2, total - total // 2
    before, after = padding
    return (size + before + after - span) // stride + 1, before, after


def np_conv2d(x, w, strides=(1, 1), padding="VALID", dilations=(1, 1), data_format="NHWC", depthwise=False):
    """Direct convolution of ``x`` by HWIO ``w``; ``padding`` "SAME", "VALID" or ((top, bottom), (left, right))."""
    if data_format == "NCHW":
        x = x.transpose(0, 2, 3, 1)
    n, h, wd, c = x.shape
    kh, kw, _, m = w.shape
    pad_h = padding if isinstance(padding, str) else padding[0]
    pad_w = padding if isinstance(padding, str) else padding[1]
    oh, pt, pb = _pads(h, kh, strides[0], dilations[0], pad_h)
    ow, pl, pr = _pads(wd, kw, strides[1], dilations[1], pad_w)
    xp = np.pad(x.astype(np.float64), ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    out = np.zeros((n, oh, ow, c * m if depthwise else m))
    for i in range(kh):
        for j in range(kw):
            r0, c0 = i * dilations[0], j * dilations[1]
            patch = xp[:, r0: r0 + (oh - 1) * strides[0] + 1: strides[0], c0: c0 + (ow - 1) * strides[1] + 1: strides[1]]
            if depthwise:
                out += (patch[..., :, None] * w[i, j]).reshape(n, oh, ow, c * m)
            else:
                out += patch @ w[i, j]
    out = out.astype(x.dtype)
    return out.transpose(0, 3, 1, 2) if data_format == "NCHW" else out


def nchw(x):
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def second_order(fn):
    """d(sum(fn(x, w)^2))/dx and /dw, so the gradient check differentiates the backprop ops too."""
    def build(x, w):
        y = fn(x, w)
        return graphdl.gradients(graphdl.reduce_sum(y * y), [x, w])
    return build


def np_second_order(fn_np):
    """Finite-difference-free expected values for ``second_order``: d(sum(y^2)) via the adjoint identities."""
    def expected(x, w):
        return _adjoint_grads(fn_np, x, w)
    return expected


def _adjoint_grads(fn_np, x, w):
    # For a bilinear y = conv(x, w): d sum(y^2)/dx = conv^T(2y, w), computed via unit-vector probing of a linear map.
    y = fn_np(x, w).astype(np.float64)
    gx = np.zeros(x.size)
    gw = np.zeros(w.size)
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = 1
        gx[k] = np.sum(2 * y * fn_np(e.reshape(x.shape), w.astype(np.float64)))
    for k in range(w.size):
        e = np.zeros(w.size)
        e[k] = 1
        gw[k] = np.sum(2 * y * fn_np(x.astype(np.float64), e.reshape(w.shape)))
    return [gx.reshape(x.shape).astype(x.dtype), gw.reshape(w.shape).astype(w.dtype)]


X = randn(2, 7, 5, 3)
W33 = randn(3, 3, 3, 4, seed=1)
W32 = randn(3, 2, 3, 2, seed=2)
EXPLICIT = [[0, 0], [1, 2], [0, 1], [0, 0]]
DY_SAME_S2 = randn(2, 4, 3, 4, seed=3)  # output of conv2d(X, W33, stride 2, SAME)

B4 = randn(4, seed=5)


def _relu(v):
    return np.maximum(v, 0)


CASES = [
    # -- _FusedConv2D (the conv fusion pass's op, built directly): not differentiable
    OpCase("fused_conv2d_relu", lambda x, w, b: fused_conv2d(x, w, b, [1, 1, 1, 1], "SAME"), [X, W33, B4],
           lambda x, w, b: _relu(np_conv2d(x, w, padding="SAME") + b), grad=False, atol=1e-5),
    OpCase("fused_conv2d_bias_stride2",
           lambda x, w, b: fused_conv2d(x, w, b, [1, 2, 2, 1], "VALID", fused_ops=["BiasAdd"]), [X, W33, B4],
           lambda x, w, b: np_conv2d(x, w, (2, 2)) + b, grad=False, atol=1e-5),
    OpCase("fused_conv2d_relu_nchw",
           lambda x, w, b: fused_conv2d(x, w, b, [1, 1, 1, 1], "VALID", data_format="NCHW"), [nchw(X), W33, B4],
           lambda x, w, b: _relu(np_conv2d(x, w, data_format="NCHW") + b[:, None, None]), grad=False, atol=1e-5),
    # -- Conv2D, NHWC
    OpCase("conv2d_valid", lambda x, w: tf.nn.conv2d(x, w, [1, 1, 1, 1], "VALID"), [X, W33],
           lambda x, w: np_conv2d(x, w), atol=1e-5),
    OpCase("conv2d_same", lambda x, w: tf.nn.conv2d(x, w, [1, 1, 1, 1], "SAME"), [X, W33],
           lambda x, w: np_conv2d(x, w, padding="SAME"), atol=1e-5),
    OpCase("conv2d_same_stride2", lambda x, w: tf.nn.conv2d(x, w, [1, 2, 2, 1], "SAME"), [X, W33],
           lambda x, w: np_conv2d(x, w, (2, 2), "SAME"), atol=1e-5),
    OpCase("conv2d_valid_stride2_1", lambda x, w: tf.nn.conv2d(x, w, [1, 2, 1, 1], "VALID"), [X, W32],
           lambda x, w: np_conv2d(x, w, (2, 1)), atol=1e-5),
    OpCase("conv2d_explicit", lambda x, w: tf.nn.conv2d(x, w, 1, EXPLICIT), [X, W32],
           lambda x, w: np_conv2d(x, w, padding=((1, 2), (0, 1))), atol=1e-5),
    OpCase("conv2d_dilated_same", lambda x, w: tf.nn.conv2d(x, w, 1, "SAME", dilations=[1, 2, 2, 1]), [X, W32],
           lambda x, w: np_conv2d(x, w, padding="SAME", dilations=(2, 2)), atol=1e-5),
    OpCase("conv2d_dilated_valid", lambda x, w: tf.nn.conv2d(x, w, 1, "VALID", dilations=2), [X, W32],
           lambda x, w: np_conv2d(x, w, dilations=(2, 2)), atol=1e-5),
    OpCase("conv2d_filters_kwarg", lambda x, w: tf.nn.conv2d(x, filters=w, strides=[1, 1], padding="SAME"),
           [randn(1, 4, 4, 2, seed=4), randn(1, 1, 2, 3, seed=5)],
           lambda x, w: np_conv2d(x, w, padding="SAME"), atol=1e-5),
    OpCase("conv2d_float64", lambda x, w: tf.nn.conv2d(x, w, [1, 1, 1, 1], "SAME"),
           [X.astype(np.float64), W33.astype(np.float64)],
           lambda x, w: np_conv2d(x, w, padding="SAME"), grad=False),
    # -- Conv2D, NCHW
    OpCase("conv2d_nchw_same_stride2", lambda x, w: tf.nn.conv2d(x, w, [1, 1, 2, 2], "SAME", data_format="NCHW"),
           [nchw(X), W33], lambda x, w: np_conv2d(x, w, (2, 2), "SAME", data_format="NCHW"), atol=1e-5),
    OpCase("conv2d_nchw_explicit_dilated",
           lambda x, w: tf.nn.conv2d(x, w, 1, [[0, 0], [0, 0], [1, 2], [0, 1]], data_format="NCHW",
                                     dilations=[1, 1, 2, 1]),
           [nchw(X), W32], lambda x, w: np_conv2d(x, w, padding=((1, 2), (0, 1)), dilations=(2, 1), data_format="NCHW"),
           atol=1e-5),
    # -- the backprop ops called directly (TF1's public functions), and their own gradients
    OpCase("conv2d_backprop_input",
           lambda w, dy: tf.nn.conv2d_backprop_input([2, 7, 5, 3], w, dy, [1, 2, 2, 1], "SAME"),
           [W33, DY_SAME_S2],
           lambda w, dy: _adjoint_input(w, dy, (2, 7, 5, 3), lambda x, w: np_conv2d(x, w, (2, 2), "SAME")), atol=1e-4),
    OpCase("conv2d_backprop_filter",
           lambda x, dy: tf.nn.conv2d_backprop_filter(x, [3, 3, 3, 4], dy, [1, 2, 2, 1], "SAME"),
           [X, DY_SAME_S2],
           lambda x, dy: _adjoint_filter(x, dy, (3, 3, 3, 4), lambda x, w: np_conv2d(x, w, (2, 2), "SAME")), atol=1e-4),
    OpCase("conv2d_second_order_nchw",
           second_order(lambda x, w: tf.nn.conv2d(x, w, [1, 1, 2, 1], "SAME", data_format="NCHW")),
           [randn(1, 2, 5, 4, seed=6), randn(2, 3, 2, 2, seed=7)],
           np_second_order(lambda x, w: np_conv2d(x, w, (2, 1), "SAME", data_format="NCHW")), atol=1e-4),
    # -- conv2d_transpose (Conv2DBackpropInput), atrous, conv1d, convolution
    OpCase("conv2d_transpose_same_stride2",
           lambda v, w: tf.nn.conv2d_transpose(v, w, [2, 7, 5, 3], [1, 2, 2, 1], "SAME"),
           [DY_SAME_S2, W33],
           lambda v, w: _adjoint_input(w, v, (2, 7, 5, 3), lambda x, w: np_conv2d(x, w, (2, 2), "SAME")), atol=1e-4),
    OpCase("conv2d_transpose_valid_nchw_dynamic_batch",
           lambda v, w: tf.nn.conv2d_transpose(v, w, tf.stack([tf.shape(v)[0], 3, 6, 5]), [1, 1, 1, 2], "VALID",
                                               data_format="NCHW"),
           [randn(2, 4, 4, 2, seed=8), randn(3, 3, 3, 4, seed=9)],
           lambda v, w: _adjoint_input(w, v, (2, 3, 6, 5),
                                       lambda x, w: np_conv2d(x, w, (1, 2), "VALID", data_format="NCHW")), atol=1e-4),
    OpCase("atrous_conv2d", lambda x, w: tf.nn.atrous_conv2d(x, w, 2, "SAME"), [X, W32],
           lambda x, w: np_conv2d(x, w, padding="SAME", dilations=(2, 2)), atol=1e-5),
    OpCase("conv1d_nwc_stride2_same", lambda x, w: tf.nn.conv1d(x, w, 2, "SAME"),
           [randn(2, 9, 3, seed=10), randn(3, 3, 2, seed=11)],
           lambda x, w: np_conv2d(x[:, None], w[None], (1, 2), "SAME")[:, 0], atol=1e-5),
    OpCase("conv1d_ncw_valid_dilated", lambda x, w: tf.nn.conv1d(x, w, 1, "VALID", data_format="NCW", dilations=2),
           [randn(2, 3, 8, seed=12), randn(2, 3, 4, seed=13)],
           lambda x, w: np_conv2d(x[:, :, None], w[None], (1, 1), "VALID", (1, 2), "NCHW")[:, :, 0], atol=1e-5),
    OpCase("convolution_2d", lambda x, w: tf.nn.convolution(x, w, "SAME", strides=[2, 1], dilation_rate=None),
           [X, W32], lambda x, w: np_conv2d(x, w, (2, 1), "SAME"), atol=1e-5),
    # -- depthwise
    OpCase("depthwise_same_stride2", lambda x, w: tf.nn.depthwise_conv2d(x, w, [1, 2, 2, 1], "SAME"),
           [X, randn(3, 2, 3, 2, seed=14)], lambda x, w: np_conv2d(x, w, (2, 2), "SAME", depthwise=True), atol=1e-5),
    OpCase("depthwise_valid_rate2_nchw",
           lambda x, w: tf.nn.depthwise_conv2d(x, w, [1, 1, 1, 1], "VALID", rate=[2, 1], data_format="NCHW"),
           [nchw(X), randn(2, 2, 3, 1, seed=15)],
           lambda x, w: np_conv2d(x, w, (1, 1), "VALID", (2, 1), "NCHW", depthwise=True), atol=1e-5),
    OpCase("depthwise_second_order",
           second_order(lambda x, w: tf.nn.depthwise_conv2d(x, w, [1, 1, 2, 1], "SAME")),
           [randn(1, 4, 5, 2, seed=16), randn(2, 2, 2, 2, seed=17)],
           np_second_order(lambda x, w: np_conv2d(x, w, (1, 2), "SAME", depthwise=True)), atol=1e-4),
]


def _adjoint_input(w, dy, in_shape, fn_np):
    """The input gradient of a conv with output gradient ``dy``: sum(dy * conv(e_k, w)) for each unit input e_k."""
    size = int(np.prod(in_shape))
    out = np.zeros(size)
    for k in range(size):
        e = np.zeros(size)
        e[k] = 1
        out[k] = np.sum(dy * fn_np(e.reshape(in_shape), w.astype(np.float64)))
    return out.reshape(in_shape).astype(w.dtype)


def _adjoint_filter(x, dy, f_shape, fn_np):
    size = int(np.prod(f_shape))
    out = np.zeros(size)
    for k in range(size):
        e = np.zeros(size)
        e[k] = 1
        out[k] = np.sum(dy * fn_np(x.astype(np.float64), e.reshape(f_shape)))
    return out.reshape(f_shape).astype(x.dtype)


test_forward, test_gradient = make_op_tests(CASES)


# -- errors ----------------------------------------------------------------------------------------------------------
def _ph(*shape, dtype=None):
    return tf.placeholder(dtype or tf.float32, list(shape))


@pytest.mark.parametrize("build, match", [
    (lambda: tf.nn.conv2d(_ph(2, 5, 5), _ph(3, 3, 3, 4), 1, "SAME"), r"Conv2D.*input must be rank 4.*\(2, 5, 5\)"),
    (lambda: tf.nn.conv2d(_ph(2, 5, 5, 2), _ph(3, 3, 3, 4), 1, "SAME"),
     r"Conv2D.*input depth 2 must equal the filter's in_channels.*\[3, 3, 3, 4\]"),
    (lambda: tf.nn.conv2d(_ph(2, 5, 5, 3), _ph(3, 3, 3, 4), 1, "FULL"), r"Conv2D: padding must be 'SAME', 'VALID'"),
    (lambda: tf.nn.conv2d(_ph(2, 5, 5, 3), _ph(3, 3, 3, 4), [1, 1, 1], "SAME"), r"strides should be of length 1, 2 or 4"),
    (lambda: tf.nn.conv2d(_ph(2, 5, 5, 3), _ph(3, 3, 3, 4), [2, 1, 1, 1], "SAME"),
     r"Conv2D.*strides in the batch and depth dimensions must be 1"),
    (lambda: tf.nn.conv2d(_ph(2, 5, 5, 3), _ph(3, 3, 3, 4), 1, "SAME", data_format="HWCN"), r"data_format"),
    (lambda: tf.nn.conv2d(_ph(2, 2, 2, 3), _ph(3, 3, 3, 4), 1, "VALID"), r"Conv2D.*negative.*input size 2"),
    (lambda: tf.nn.conv2d(_ph(2, 5, 5, 3), _ph(3, 3, 3, 4), 1, [[0, 0], [1, 1], [1, 1]]), r"explicit padding"),
    (lambda: tf.nn.conv2d(_ph(2, 5, 5, 3, dtype=tf.int32), _ph(3, 3, 3, 4, dtype=tf.int32), 1, "SAME"),
     r"input.*Conv2D.*int32"),
    (lambda: tf.nn.conv2d_transpose(_ph(2, 3, 3, 5), _ph(3, 3, 2, 4), [2, 6, 6, 2], [1, 2, 2, 1]),
     r"conv2d_transpose: input channels 5"),
    (lambda: tf.nn.depthwise_conv2d(_ph(2, 8, 8, 3), _ph(3, 3, 3, 1), [1, 2, 2, 1], "SAME", rate=2), r"rate > 1"),
])
def test_build_errors(build, match):
    with tf.Graph().as_default(), pytest.raises((ValueError, TypeError), match=match):
        build()


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_runtime_channel_mismatch_names_the_op(backend):
    with tf.Graph().as_default() as g:
        x, w = _ph(None, None, None, None), _ph(None, None, None, None)
        y = tf.nn.conv2d(x, w, 1, "SAME", name="my_conv")
        with tf.Session(graph=g, backend=backend) as sess, \
                pytest.raises(tf.errors.InvalidArgumentError, match=r"Conv2D 'my_conv'.*input depth 2.*in_channels 3"):
            sess.run(y, {x: np.zeros((1, 4, 4, 2), np.float32), w: np.zeros((3, 3, 3, 4), np.float32)})


def test_static_shapes():
    with tf.Graph().as_default():
        y = tf.nn.conv2d(_ph(None, 7, 5, 3), _ph(3, 3, 3, 4), [1, 2, 2, 1], "SAME")
        assert y.shape.as_list() == [None, 4, 3, 4]
        y = tf.nn.conv2d(_ph(8, 3, 7, 5), _ph(3, 2, 3, 4), 1, "VALID", data_format="NCHW", dilations=[1, 1, 2, 2])
        assert y.shape.as_list() == [8, 4, 3, 3]
        t = tf.nn.conv2d_transpose(_ph(None, 4, 3, 4), _ph(3, 3, 3, 4), [5, 7, 5, 3], [1, 2, 2, 1])
        assert t.shape.as_list() == [5, 7, 5, 3]
        d = tf.nn.depthwise_conv2d(_ph(2, 8, 8, 3), _ph(3, 3, 3, 2), [1, 1, 1, 1], "SAME")
        assert d.shape.as_list() == [2, 8, 8, 6]
        c = tf.nn.conv1d(_ph(2, 10, 3), _ph(3, 3, 5), 2, "VALID")
        assert c.shape.as_list() == [2, 4, 5]


@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
def test_numba_matches_reference_over_many_row_blocks(data_format):
    """Shapes large enough that the Numba kernels gather and multiply the windows in several blocks."""
    x = randn(3, 23, 21, 8, seed=20)
    w = randn(3, 3, 8, 5, seed=21)
    if data_format == "NCHW":
        x = nchw(x)
    results = []
    for backend in OP_TEST_BACKENDS:
        with tf.Graph().as_default() as g:
            xp, wp = tf.placeholder(tf.float32, x.shape), tf.placeholder(tf.float32, w.shape)
            y = tf.nn.conv2d(xp, wp, [1, 1, 1, 1], [[0, 0], [2, 1], [1, 0], [0, 0]] if data_format == "NHWC"
                             else [[0, 0], [0, 0], [2, 1], [1, 0]], data_format=data_format)
            grads = tf.gradients(tf.reduce_sum(y * y), [xp, wp])
            with tf.Session(graph=g, backend=backend) as sess:
                results.append(sess.run([y] + grads, {xp: x, wp: w}))
    want_y = np_conv2d(x, w, padding=((2, 1), (1, 0)), data_format=data_format)
    np.testing.assert_allclose(results[0][0], want_y, rtol=1e-4, atol=1e-4)
    for got, want in zip(results[1], results[0]):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)
