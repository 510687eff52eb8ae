"""tf.nn pooling: max_pool / avg_pool (MaxPool, AvgPool) and their gradient ops, against naive NumPy loops."""

import numpy as np
import pytest
from harness import OP_TEST_BACKENDS, OpCase, make_op_tests, randn

import graphdl
import graphdl as tf


def distinct(*shape, seed=0):
    """Values with no ties and gaps >= 0.01 (max-pool finite differences need a unique maximum per window)."""
    n = int(np.prod(shape))
    return (np.random.default_rng(seed + n).permutation(n).astype(np.float32) * 0.05 - n * 0.025).reshape(shape)


def naive_pool(x, k, s, padding, data_format="NHWC", kind="max"):
    """Direct loops over every output element (TF's SAME rule, valid-element averaging)."""
    if data_format == "NCHW":
        x = x.transpose(0, 2, 3, 1)
    n, h, w, c = x.shape
    (kh, kw), (sh, sw) = k, s
    if padding == "VALID":
        oh, ow, pt, pl = (h - kh) // sh + 1, (w - kw) // sw + 1, 0, 0
    else:
        oh, ow = -(-h // sh), -(-w // sw)
        pt = max((oh - 1) * sh + kh - h, 0) // 2
        pl = max((ow - 1) * sw + kw - w, 0) // 2
    out = np.zeros((n, oh, ow, c), x.dtype)
    for i in range(oh):
        for j in range(ow):
            h0, w0 = i * sh - pt, j * sw - pl
            win = x[:, max(h0, 0):min(h0 + kh, h), max(w0, 0):min(w0 + kw, w), :]
            out[:, i, j, :] = win.max(axis=(1, 2)) if kind == "max" else win.mean(axis=(1, 2))
    return out.transpose(0, 3, 1, 2) if data_format == "NCHW" else out


def naive_dilated_pool(x, k, d, padding, kind="max", data_format="NHWC"):
    """Direct loops for stride-1 pooling whose window taps are ``d`` apart (TF's SAME split of (k - 1) * d)."""
    if data_format == "NCHW":
        x = x.transpose(0, 2, 3, 1)
    n, h, w, c = x.shape
    (kh, kw), (dh, dw) = k, d
    if padding == "VALID":
        oh, ow, pt, pl = h - (kh - 1) * dh, w - (kw - 1) * dw, 0, 0
    else:
        oh, ow, pt, pl = h, w, (kh - 1) * dh // 2, (kw - 1) * dw // 2
    out = np.zeros((n, oh, ow, c), x.dtype)
    for i in range(oh):
        for j in range(ow):
            taps = [x[:, i - pt + p * dh, j - pl + q * dw, :] for p in range(kh) for q in range(kw)
                    if 0 <= i - pt + p * dh < h and 0 <= j - pl + q * dw < w]
            out[:, i, j, :] = np.max(taps, axis=0) if kind == "max" else np.mean(taps, axis=0)
    return out.transpose(0, 3, 1, 2) if data_format == "NCHW" else out


def max_case(cid, shape, k, s, padding, fmt="NHWC", seed=0):
    ksize = [1, *k, 1] if fmt == "NHWC" else [1, 1, *k]
    strides = [1, *s, 1] if fmt == "NHWC" else [1, 1, *s]
    return OpCase(cid, lambda x: tf.nn.max_pool(x, ksize, strides, padding, data_format=fmt),
                  [distinct(*shape, seed=seed)], lambda x: naive_pool(x, k, s, padding, fmt, "max"))


def avg_case(cid, shape, k, s, padding, fmt="NHWC"):
    ksize = [1, *k, 1] if fmt == "NHWC" else [1, 1, *k]
    strides = [1, *s, 1] if fmt == "NHWC" else [1, 1, *s]
    return OpCase(cid, lambda x: tf.nn.avg_pool(x, ksize, strides, padding, data_format=fmt),
                  [randn(*shape)], lambda x: naive_pool(x, k, s, padding, fmt, "avg"))


def max_pool_backprop(k, s, padding, fmt="NHWC"):
    """(x, dy) -> MaxPoolGrad(x, max_pool(x), dy): the harness then checks d/d(dy), i.e. MaxPoolGradGrad."""
    def build(x, dy):
        y = tf.nn.max_pool(x, k, s, padding, data_format=fmt)
        return tf.gradients(y, x, grad_ys=dy)[0]
    return build


def np_max_pool_backprop(x, dy, k, s, padding):
    """Route each dy to the first maximum of its window (NHWC)."""
    n, h, w, c = x.shape
    oh, ow = dy.shape[1:3]
    pt = max((oh - 1) * s + k - h, 0) // 2 if padding == "SAME" else 0
    pl = max((ow - 1) * s + k - w, 0) // 2 if padding == "SAME" else 0
    out = np.zeros_like(x)
    for b in range(n):
        for ch in range(c):
            for i in range(oh):
                for j in range(ow):
                    h0, w0 = max(i * s - pt, 0), max(j * s - pl, 0)
                    win = x[b, h0:min(i * s - pt + k, h), w0:min(j * s - pl + k, w), ch]
                    a, bb = np.unravel_index(np.argmax(win), win.shape)
                    out[b, h0 + a, w0 + bb, ch] += dy[b, i, j, ch]
    return out


def max_pool_backprop_of_backprop(k, s, padding):
    """(x, dy, g) -> the gradient of MaxPoolGrad(x, y, dy) w.r.t. dy for weights g: MaxPoolGradGrad(x, y, g)."""
    def build(x, dy, g):
        return tf.gradients(max_pool_backprop(k, s, padding)(x, dy), dy, grad_ys=g)[0]
    return build


def np_max_pool_gather(x, g, k, s, padding):
    """g (input-shaped) read at the first maximum of every window of x: the adjoint of np_max_pool_backprop."""
    y = naive_pool(x, (k, k), (s, s), padding)
    out = np.zeros(y.shape, g.dtype)
    for idx in np.ndindex(*y.shape):
        e = np.zeros(y.shape, x.dtype)
        e[idx] = 1
        out[idx] = np.sum(np_max_pool_backprop(x, e, k, s, padding) * g)
    return out


def avg_pool_backprop(k, s, padding, fmt="NHWC"):
    def build(x, dy):
        return tf.gradients(tf.nn.avg_pool(x, k, s, padding, data_format=fmt), x, grad_ys=dy)[0]
    return build


def np_avg_pool_backprop(x, dy, k, s, padding):
    """The transpose of naive average pooling, built column by column from naive_pool itself."""
    flat = np.zeros(x.size, np.float64)
    for idx in range(x.size):
        e = np.zeros(x.size)
        e[idx] = 1
        flat[idx] = np.sum(naive_pool(e.reshape(x.shape), (k, k), (s, s), padding, kind="avg") * dy)
    return flat.reshape(x.shape).astype(dy.dtype)


CASES = [
    # -- max_pool
    max_case("max_2x2_s2_valid", (2, 4, 6, 3), (2, 2), (2, 2), "VALID"),
    max_case("max_2x2_s2_same_odd", (2, 7, 5, 3), (2, 2), (2, 2), "SAME"),
    # Tiling windows with a last row and column no window covers (their gradient is zero).
    max_case("max_2x2_s2_valid_odd", (2, 5, 7, 3), (2, 2), (2, 2), "VALID"),
    max_case("max_3x3_s2_same_overlap", (2, 7, 5, 2), (3, 3), (2, 2), "SAME"),
    max_case("max_3x3_s2_valid_overlap", (1, 7, 5, 2), (3, 3), (2, 2), "VALID"),
    max_case("max_3x2_s1x2_same", (2, 5, 6, 1), (3, 2), (1, 2), "SAME"),
    max_case("max_nchw_3x3_s2_same", (2, 3, 7, 5), (3, 3), (2, 2), "SAME", fmt="NCHW"),
    max_case("max_nchw_2x2_valid", (1, 2, 4, 4), (2, 2), (2, 2), "VALID", fmt="NCHW"),
    max_case("max_window_larger_than_stride_same", (1, 4, 4, 1), (4, 4), (3, 3), "SAME"),
    OpCase("max_int_ksize_alias", lambda x: tf.nn.max_pool2d(x, 2, 2, "VALID"), [distinct(1, 4, 4, 2)],
           lambda x: naive_pool(x, (2, 2), (2, 2), "VALID")),
    OpCase("max_pool_int32", lambda x: tf.nn.max_pool(x, [1, 2, 2, 1], [1, 1, 1, 1], "SAME"),
           [np.arange(-8, 10, dtype=np.int32).reshape(1, 3, 3, 2)],
           lambda x: naive_pool(x, (2, 2), (1, 1), "SAME"), grad=False),
    OpCase("max_pool_ties_first_max",
           lambda x: tf.gradients(tf.nn.max_pool(x, [1, 2, 2, 1], [1, 2, 2, 1], "VALID"), x)[0],
           [np.array([[1, 3], [3, 2]], np.float32).reshape(1, 2, 2, 1)],
           lambda x: np.array([[0, 1], [0, 0]], np.float32).reshape(1, 2, 2, 1), grad=False),
    OpCase("max_pool_ties_all_zero_window",  # as after a ReLU: the first position of the window gets it all
           lambda x: tf.gradients(tf.nn.max_pool(x, [1, 2, 2, 1], [1, 2, 2, 1], "VALID"), x)[0],
           [np.array([[0, 0, 0, 5], [0, 0, 5, 1]], np.float32).reshape(1, 2, 4, 1)],
           lambda x: np.array([[1, 0, 0, 1], [0, 0, 0, 0]], np.float32).reshape(1, 2, 4, 1), grad=False),
    # MaxPoolGrad forward against an explicit first-argmax scatter; its gradient (MaxPoolGradGrad)
    # w.r.t. dy, whose own gradient (MaxPoolGrad again) the coverage table also exercises.
    OpCase("max_pool_grad_3x3_s2_same", max_pool_backprop(3, 2, "SAME"),
           [distinct(2, 7, 5, 2), randn(2, 4, 3, 2, seed=1)],
           lambda x, dy: np_max_pool_backprop(x, dy, 3, 2, "SAME")),
    OpCase("max_pool_grad_grad", max_pool_backprop_of_backprop(3, 2, "SAME"),
           [distinct(2, 7, 5, 2), randn(2, 4, 3, 2, seed=1), randn(2, 7, 5, 2, seed=2)],
           lambda x, dy, g: np_max_pool_gather(x, g, 3, 2, "SAME"), grad_inputs=(2,)),
    # -- avg_pool
    avg_case("avg_2x2_s2_valid", (2, 4, 6, 3), (2, 2), (2, 2), "VALID"),
    avg_case("avg_2x2_s2_same_odd", (2, 7, 5, 3), (2, 2), (2, 2), "SAME"),
    avg_case("avg_3x3_s2_same_overlap", (2, 7, 5, 2), (3, 3), (2, 2), "SAME"),
    avg_case("avg_3x3_s1_same", (1, 5, 4, 2), (3, 3), (1, 1), "SAME"),
    avg_case("avg_nchw_3x3_s2_same", (2, 3, 7, 5), (3, 3), (2, 2), "SAME", fmt="NCHW"),
    avg_case("avg_nchw_2x3_s1x2_valid", (1, 2, 5, 7), (2, 3), (1, 2), "VALID", fmt="NCHW"),
    OpCase("avg_pool2d_alias_float64", lambda x: tf.nn.avg_pool2d(x, [3, 3], [2, 2], "SAME"),
           [randn(1, 5, 5, 1, dtype=np.float64)], lambda x: naive_pool(x, (3, 3), (2, 2), "SAME", kind="avg")),
    OpCase("avg_pool_grad_3x3_s2_same", avg_pool_backprop(3, 2, "SAME"),
           [randn(1, 7, 5, 2), randn(1, 4, 3, 2, seed=1)],
           lambda x, dy: np_avg_pool_backprop(x, dy, 3, 2, "SAME"), grad_inputs=(1,)),
    OpCase("pool_generic_avg", lambda x: tf.nn.pool(x, [2, 2], "AVG", "SAME", strides=[2, 2]), [randn(1, 5, 5, 2)],
           lambda x: naive_pool(x, (2, 2), (2, 2), "SAME", kind="avg")),
    OpCase("pool_dilated_max_same", lambda x: tf.nn.pool(x, [2, 3], "MAX", "SAME", dilation_rate=[2, 2]),
           [distinct(2, 7, 6, 2)], lambda x: naive_dilated_pool(x, (2, 3), (2, 2), "SAME")),
    OpCase("pool_dilated_max_valid", lambda x: tf.nn.pool(x, [3, 2], "MAX", "VALID", dilation_rate=[2, 3]),
           [distinct(1, 8, 7, 3)], lambda x: naive_dilated_pool(x, (3, 2), (2, 3), "VALID")),
    OpCase("pool_dilated_avg_same", lambda x: tf.nn.pool(x, [3, 3], "AVG", "SAME", dilation_rate=[2, 2]),
           [randn(2, 5, 6, 2)], lambda x: naive_dilated_pool(x, (3, 3), (2, 2), "SAME", "avg")),
    OpCase("pool_dilated_avg_nchw", lambda x: tf.nn.pool(x, [2, 2], "AVG", "VALID", dilation_rate=[1, 2],
                                                          data_format="NCHW"),
           [randn(1, 2, 5, 6)], lambda x: naive_dilated_pool(x, (2, 2), (1, 2), "VALID", "avg", "NCHW")),
    OpCase("pool_1d_max_strided", lambda x: tf.nn.pool(x, [3], "MAX", "VALID", strides=[2]), [distinct(2, 9, 3)],
           lambda x: naive_pool(x[:, None], (1, 3), (1, 2), "VALID")[:, 0]),
    OpCase("pool_1d_avg_dilated", lambda x: tf.nn.pool(x, [2], "AVG", "SAME", dilation_rate=[3]), [randn(2, 8, 2)],
           lambda x: naive_dilated_pool(x[:, None], (1, 2), (1, 3), "SAME", "avg")[:, 0]),
]

test_forward, test_gradient = make_op_tests(CASES)


def test_static_and_unknown_shapes():
    x = tf.placeholder(tf.float32, [None, 7, 5, 3])
    assert tf.nn.max_pool(x, [1, 3, 3, 1], [1, 2, 2, 1], "SAME").shape.as_list() == [None, 4, 3, 3]
    assert tf.nn.avg_pool(x, [1, 3, 3, 1], [1, 2, 2, 1], "VALID").shape.as_list() == [None, 3, 2, 3]
    y = tf.placeholder(tf.float32, [2, 3, None, 8])
    assert tf.nn.max_pool(y, 2, 2, "SAME", data_format="NCHW").shape.as_list() == [2, 3, None, 4]
    assert tf.nn.max_pool(tf.placeholder(tf.float32), 2, 2, "SAME").shape.as_list() == [None] * 4


def test_pool_names():
    x = tf.placeholder(tf.float32, [1, 4, 4, 1])
    assert tf.nn.max_pool(x, 2, 2, "VALID", name="pool1").op.name == "pool1"
    assert tf.nn.avg_pool(x, 2, 2, "VALID").op.type == "AvgPool"


def test_pool_errors():
    x = tf.placeholder(tf.float32, [1, 4, 4, 1])
    with pytest.raises(ValueError, match="4-dimensional"):
        tf.nn.max_pool(tf.placeholder(tf.float32, [4, 4, 1]), 2, 2, "VALID")
    with pytest.raises(ValueError, match="padding must be 'SAME' or 'VALID'"):
        tf.nn.max_pool(x, 2, 2, "FULL")
    with pytest.raises(ValueError, match="data_format"):
        tf.nn.avg_pool(x, 2, 2, "SAME", data_format="NWHC")
    with pytest.raises(ValueError, match="batch or depth"):
        tf.nn.max_pool(x, [2, 2, 2, 1], [1, 1, 1, 1], "VALID")
    with pytest.raises(ValueError, match="length 1, 2 or 4"):
        tf.nn.max_pool(x, [2, 2, 2], 1, "VALID")
    with pytest.raises(ValueError, match="negative"):
        tf.nn.max_pool(x, 5, 1, "VALID")
    with pytest.raises((TypeError, ValueError), match="AvgPool.*int32"):
        tf.nn.avg_pool(tf.placeholder(tf.int32, [1, 4, 4, 1]), 2, 2, "VALID")
    with pytest.raises(ValueError, match="both"):
        tf.nn.max_pool(x, 2, 2, "VALID", input=x)
    with pytest.raises(ValueError, match="strides > 1 are not supported in conjunction with dilation_rate > 1"):
        tf.nn.pool(x, [2, 2], "MAX", "SAME", dilation_rate=[2, 2], strides=[2, 2])
    with pytest.raises(ValueError, match="pooling_type"):
        tf.nn.pool(x, [2, 2], "MIN", "SAME")
    with pytest.raises(ValueError, match="1 or 2 dimensions"):
        tf.nn.pool(x, [2, 2, 2], "MAX", "SAME")


def test_lenet_sized_pool_matches_reference():
    x = randn(64, 28, 28, 6)
    graph = graphdl.Graph()
    with graph.as_default():
        p = tf.placeholder(tf.float32, [None, 28, 28, 6])
        y = tf.nn.max_pool(p, [1, 2, 2, 1], [1, 2, 2, 1], "VALID")
        gx = tf.gradients(tf.reduce_sum(y * y), p)[0]
        results = {}
        for backend in OP_TEST_BACKENDS:
            with tf.Session(graph=graph, backend=backend) as sess:
                results[backend] = sess.run([y, gx], {p: x})
    np.testing.assert_array_equal(results["reference"][0], naive_pool(x, (2, 2), (2, 2), "VALID"))
    for a, b in zip(results["reference"], results["numba"]):
        np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(4, 28, 28, 6), (3, 10, 10, 16), (2, 7, 9, 5), (2, 4, 4, 1)])
def test_two_by_two_max_pool_and_gradient_match(shape, dtype):
    """The 2x2 stride-2 kernels (pooling; its gradient without branches): ties (ReLU zeros, repeated values) go to the first maximum, odd sizes
    leave their last row and column at zero, inf and NaN in the input or the gradient give what the scan gives."""
    rng = np.random.default_rng(11)
    x = np.maximum(np.round(rng.normal(size=shape) * 2), 0).astype(dtype)  # many ties, zeros among them
    dy = rng.normal(size=(shape[0], shape[1] // 2, shape[2] // 2, shape[3])).astype(dtype)
    cases = [(x, dy)]
    x_nan, dy_inf = x.copy(), dy.copy()
    x_nan[0, 1, 1, 0], x_nan[-1, 0, 0, -1] = np.nan, np.inf
    dy_inf[0, 0, 0, 0], dy_inf[-1, -1, -1, -1] = np.inf, np.nan
    cases += [(x_nan, dy), (x, dy_inf)]
    graph = graphdl.Graph()
    with graph.as_default():
        p = tf.placeholder(dtype, [None, *shape[1:]])
        g = tf.placeholder(dtype, [None, shape[1] // 2, shape[2] // 2, shape[3]])
        y = tf.nn.max_pool(p, 2, 2, "VALID")
        gx = tf.gradients(y, p, grad_ys=g)[0]
        with tf.Session(graph=graph, backend="numba") as sess:
            for xv, dyv in cases:
                pooled, got = sess.run([y, gx], {p: xv, g: dyv})
                if np.isfinite(xv).all():
                    np.testing.assert_array_equal(pooled, naive_pool(xv, (2, 2), (2, 2), "VALID"))
                    np.testing.assert_array_equal(got, np_max_pool_backprop(xv, dyv, 2, 2, "VALID"))
                with tf.Session(graph=graph, backend="reference") as ref:
                    want_pooled, want = ref.run([y, gx], {p: xv, g: dyv})
                np.testing.assert_array_equal(pooled, want_pooled)
                np.testing.assert_array_equal(got, want)
