"""tf.image resizing (ResizeBilinear, ResizeNearestNeighbor, ResizeBicubic, ResizeArea, their gradients) vs NumPy loops."""

import math

import numpy as np
import pytest
from harness import OP_TEST_BACKENDS, OpCase, make_op_tests, randn

import graphdl as tf


def _scale(i, o, align):
    return np.float32(i - 1) / np.float32(o - 1) if align and o > 1 else np.float32(i) / np.float32(o)


def naive_bilinear(x, size, align=False, half=False):
    """TF's CPU loop: per output pixel, the four clamped neighbours and their lerps (float32 coordinates)."""
    n, h, w, c = x.shape
    oh, ow = size
    sh, sw = _scale(h, oh, align), _scale(w, ow, align)
    out = np.zeros((n, oh, ow, c), np.float64 if x.dtype == np.float64 else np.float32)
    for i in range(oh):
        fy = np.float32((i + 0.5) * sh - 0.5) if half else np.float32(i * sh)
        y0, y1, ly = max(math.floor(fy), 0), min(math.ceil(fy), h - 1), fy - math.floor(fy)
        for j in range(ow):
            fx = np.float32((j + 0.5) * sw - 0.5) if half else np.float32(j * sw)
            x0, x1, lx = max(math.floor(fx), 0), min(math.ceil(fx), w - 1), fx - math.floor(fx)
            top = x[:, y0, x0] + (x[:, y0, x1] - x[:, y0, x0]) * lx
            bottom = x[:, y1, x0] + (x[:, y1, x1] - x[:, y1, x0]) * lx
            out[:, i, j] = top + (bottom - top) * ly
    return out


def naive_nearest(x, size, align=False, half=False):
    n, h, w, c = x.shape
    oh, ow = size
    sh, sw = _scale(h, oh, align), _scale(w, ow, align)

    def src(i, s, limit):
        f = np.float32((i + 0.5) * s) if half else np.float32(i * s)
        k = min(math.floor(f + 0.5) if align else math.floor(f), limit - 1)
        return max(k, 0) if half else k

    out = np.zeros((n, oh, ow, c), x.dtype)
    for i in range(oh):
        for j in range(ow):
            out[:, i, j] = x[:, src(i, sh, h), src(j, sw, w)]
    return out


def _cubic_weights(t_offset, a):
    """TF's four tap weights for table offset ``t_offset`` (of 1024), computed directly from Keys' kernel."""
    def near(x):
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    t, s = t_offset / 1024, (1024 - t_offset) / 1024
    return [far(t + 1), near(t), near(s), far(s + 1)]


def naive_bicubic(x, size, align=False, half=False):
    """TF's CPU loop: per output pixel, 4x4 taps around floor(source) with the cubic table's weights."""
    n, h, w, c = x.shape
    oh, ow = size

    def taps(i, scale, limit):
        f = np.float32((i + 0.5) * scale - 0.5) if half else np.float32(i * scale)
        base = math.floor(f)
        weights = _cubic_weights(int(np.rint(np.float32((f - base) * 1024))), -0.5 if half else -0.75)
        idx = [base - 1, base, base + 1, base + 2]
        clamped = [min(max(k, 0), limit - 1) for k in idx]
        if half:
            weights = [wt if k == kc else 0.0 for wt, k, kc in zip(weights, idx, clamped)]
            weights = [wt / sum(weights) for wt in weights]
        return clamped, weights

    sh, sw = _scale(h, oh, align), _scale(w, ow, align)
    out = np.zeros((n, oh, ow, c))
    for i in range(oh):
        ys, wy = taps(i, sh, h)
        for j in range(ow):
            xs, wx = taps(j, sw, w)
            out[:, i, j] = sum(wy[a] * wx[b] * x[:, ys[a], xs[b]] for a in range(4) for b in range(4))
    return out.astype(np.float64 if x.dtype == np.float64 else np.float32)


def naive_area(x, size, align=False, half=False):
    """TF's CPU loop: each output pixel averages the input cells it covers, weighted by the overlap."""
    n, h, w, c = x.shape
    oh, ow = size
    sh, sw = float(_scale(h, oh, align)), float(_scale(w, ow, align))
    out = np.zeros((n, oh, ow, c))
    for i in range(oh):
        y0, y1 = float(np.float32(i * sh)), float(np.float32((i + 1) * sh))
        for j in range(ow):
            x0, x1 = float(np.float32(j * sw)), float(np.float32((j + 1) * sw))
            total = 0
            for yy in range(math.floor(y0), math.ceil(y1)):
                for xx in range(math.floor(x0), math.ceil(x1)):
                    area = (min(yy + 1, y1) - max(yy, y0)) * (min(xx + 1, x1) - max(xx, x0))
                    total = total + area * x[:, min(yy, h - 1), min(xx, w - 1)]
            out[:, i, j] = total / (sh * sw)
    return out.astype(np.float64 if x.dtype == np.float64 else np.float32)


def resize_case(cid, fn, naive, shape, size, align=False, half=False, **kw):
    return OpCase(cid, lambda x: fn(x, size, align_corners=align, half_pixel_centers=half), [randn(*shape)],
                  lambda x: naive(x, size, align, half), **kw)


def grads_of(fn, size, **flags):
    """(x, dy) -> the gradient of fn(x, size) for output weights dy; the harness checks its gradient w.r.t. dy."""
    def build(x, dy):
        return tf.gradients(fn(x, size, **flags), x, grad_ys=dy)[0]
    return build


def np_adjoint(naive, x, dy, size, **flags):
    """The exact transpose of a linear resize, column by column."""
    out = np.zeros(x.size)
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = 1
        out[k] = np.sum(naive(e.reshape(x.shape), size, **flags) * dy)
    return out.reshape(x.shape).astype(dy.dtype)


B, NN = tf.image.resize_bilinear, tf.image.resize_nearest_neighbor
BC = tf.image.resize_bicubic


def AR(x, size, align_corners=False, half_pixel_centers=False):
    return tf.image.resize_area(x, size, align_corners=align_corners)


CASES = [
    resize_case("bilinear_up_legacy", B, naive_bilinear, (2, 3, 4, 2), [5, 7]),
    resize_case("bilinear_down_legacy", B, naive_bilinear, (1, 7, 5, 3), [3, 2]),
    resize_case("bilinear_align_corners", B, naive_bilinear, (2, 3, 4, 1), [5, 7], align=True),
    resize_case("bilinear_half_pixel", B, naive_bilinear, (2, 3, 4, 2), [5, 7], half=True),
    resize_case("bilinear_half_pixel_down", B, naive_bilinear, (1, 7, 5, 1), [3, 4], half=True),
    resize_case("bilinear_to_1x1_align", B, naive_bilinear, (1, 3, 3, 1), [1, 1], align=True),
    resize_case("nearest_up_legacy", NN, naive_nearest, (2, 3, 4, 2), [5, 7]),
    resize_case("nearest_down_legacy", NN, naive_nearest, (1, 7, 5, 2), [3, 2]),
    resize_case("nearest_align_corners", NN, naive_nearest, (1, 3, 4, 1), [5, 7], align=True),
    resize_case("nearest_half_pixel", NN, naive_nearest, (2, 3, 4, 1), [5, 7], half=True),
    resize_case("nearest_half_pixel_down", NN, naive_nearest, (1, 7, 5, 1), [3, 2], half=True),
    OpCase("bilinear_grad_op", grads_of(B, [5, 7]), [randn(1, 3, 4, 2), randn(1, 5, 7, 2, seed=1)],
           lambda x, dy: np_adjoint(naive_bilinear, x, dy, [5, 7]), grad_inputs=(1,), rtol=1e-4, atol=1e-5),
    OpCase("bilinear_grad_op_half_pixel", grads_of(B, [2, 3], half_pixel_centers=True),
           [randn(1, 5, 4, 1), randn(1, 2, 3, 1, seed=1)],
           lambda x, dy: np_adjoint(naive_bilinear, x, dy, [2, 3], half=True), grad_inputs=(1,), rtol=1e-4, atol=1e-5),
    OpCase("nearest_grad_op", grads_of(NN, [2, 3]), [randn(1, 5, 4, 2), randn(1, 2, 3, 2, seed=1)],
           lambda x, dy: np_adjoint(naive_nearest, x, dy, [2, 3]), grad_inputs=(1,)),
    OpCase("nearest_grad_op_align", grads_of(NN, [6, 5], align_corners=True), [randn(1, 3, 4, 1), randn(1, 6, 5, 1)],
           lambda x, dy: np_adjoint(naive_nearest, x, dy, [6, 5], align=True), grad_inputs=(1,)),
    resize_case("bicubic_up_legacy", BC, naive_bicubic, (2, 3, 4, 2), [5, 7], rtol=1e-4, atol=1e-5),
    resize_case("bicubic_down_legacy", BC, naive_bicubic, (1, 7, 5, 1), [3, 2], rtol=1e-4, atol=1e-5),
    resize_case("bicubic_align_corners", BC, naive_bicubic, (1, 3, 4, 1), [5, 7], align=True, rtol=1e-4, atol=1e-5),
    resize_case("bicubic_half_pixel", BC, naive_bicubic, (2, 4, 3, 1), [7, 5], half=True, rtol=1e-4, atol=1e-5),
    resize_case("area_down", AR, naive_area, (2, 7, 5, 2), [3, 2], rtol=1e-4, atol=1e-5),
    resize_case("area_up", AR, naive_area, (1, 3, 4, 1), [5, 7], rtol=1e-4, atol=1e-5),
    resize_case("area_align_corners", AR, naive_area, (1, 6, 5, 1), [4, 3], align=True, rtol=1e-4, atol=1e-5),
    OpCase("bicubic_grad_op", grads_of(BC, [5, 7]), [randn(1, 3, 4, 2), randn(1, 5, 7, 2, seed=1)],
           lambda x, dy: np_adjoint(naive_bicubic, x, dy, [5, 7]), grad_inputs=(1,), rtol=1e-4, atol=1e-5),
    OpCase("area_grad_op", grads_of(AR, [2, 3]), [randn(1, 5, 4, 1), randn(1, 2, 3, 1, seed=1)],
           lambda x, dy: np_adjoint(naive_area, x, dy, [2, 3]), grad_inputs=(1,), rtol=1e-4, atol=1e-5),
    OpCase("resize_images_bicubic_by_name", lambda x: tf.image.resize_images(x, [6, 5], method="bicubic"),
           [randn(1, 3, 4, 1)], lambda x: naive_bicubic(x, [6, 5]), rtol=1e-4, atol=1e-5),
    OpCase("resize_images_area_enum", lambda x: tf.image.resize_images(x, [2, 2], method=tf.image.ResizeMethod.AREA),
           [randn(2, 4, 6, 1)], lambda x: naive_area(x, [2, 2]), rtol=1e-4, atol=1e-5),
    # resize_images: 3-D and 4-D, method by enum and name, dtype rules
    OpCase("resize_images_3d_bilinear", lambda x: tf.image.resize_images(x, [5, 3]), [randn(3, 4, 2)],
           lambda x: naive_bilinear(x[None], [5, 3])[0]),
    OpCase("resize_images_4d_nearest_enum",
           lambda x: tf.image.resize_images(x, [2, 6], method=tf.image.ResizeMethod.NEAREST_NEIGHBOR),
           [randn(2, 3, 4, 1)], lambda x: naive_nearest(x, [2, 6])),
    OpCase("resize_nearest_int_keeps_dtype", lambda x: tf.image.resize(x, [4, 4], method="nearest"),
           [np.arange(12, dtype=np.int32).reshape(1, 3, 4, 1)], lambda x: naive_nearest(x, [4, 4]), grad=False),
    OpCase("resize_bilinear_uint8_gives_float32", lambda x: tf.image.resize_images(x, [3, 5], align_corners=True),
           [np.arange(24, dtype=np.uint8).reshape(1, 4, 6, 1)],
           lambda x: naive_bilinear(x.astype(np.float32), [3, 5], align=True), grad=False),
]

test_forward, test_gradient = make_op_tests(CASES)


def test_resize_static_shapes_and_identity_skip():
    x = tf.placeholder(tf.float32, [None, 8, 6, 3])
    assert tf.image.resize_bilinear(x, [4, 5]).shape.as_list() == [None, 4, 5, 3]
    assert tf.image.resize_images(x, [4, 5]).dtype == tf.float32
    assert tf.image.resize_images(x, [8, 6]) is x
    single = tf.placeholder(tf.float32, [8, 6, 3])
    assert tf.image.resize_images(single, [3, 3]).shape.as_list() == [3, 3, 3]
    assert tf.image.resize_images(x, [4, 4], preserve_aspect_ratio=True).shape.as_list() == [None, 4, 3, 3]
    assert tf.image.resize_nearest_neighbor(tf.placeholder(tf.int32, [1, 2, 2, 1]), [4, 4]).dtype == tf.int32
    assert tf.image.ResizeMethod.BILINEAR == 0 and tf.image.ResizeMethod.NEAREST_NEIGHBOR == 1


def test_resize_errors():
    x = tf.placeholder(tf.float32, [1, 4, 4, 1])
    with pytest.raises(ValueError, match="half_pixel_centers is True, align_corners must be False"):
        tf.image.resize_bilinear(x, [2, 2], align_corners=True, half_pixel_centers=True)
    with pytest.raises(ValueError, match="4-dimensional"):
        tf.image.resize_bilinear(tf.placeholder(tf.float32, [4, 4, 1]), [2, 2])
    with pytest.raises(ValueError, match="3 or 4 dimensions"):
        tf.image.resize_images(tf.placeholder(tf.float32, [4, 4]), [2, 2])
    with pytest.raises(ValueError, match="2 elements"):
        tf.image.resize_images(x, [2, 2, 2])
    with pytest.raises(ValueError, match="unknown resize method 7"):
        tf.image.resize_images(x, [2, 2], method=7)
    with pytest.raises(ValueError, match="positive"):
        tf.image.resize_nearest_neighbor(x, [0, 2])


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_area_and_bicubic_known_values(backend):
    image = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    flat = np.full((1, 3, 5, 2), 2.5, np.float32)
    x = tf.placeholder(tf.float32, [1, None, None, None])
    area = tf.image.resize_area(x, [2, 2])
    cubic_aligned = tf.image.resize_bicubic(x, [7, 7], align_corners=True)
    cubic = tf.image.resize_images(x, [6, 9], method=tf.image.ResizeMethod.BICUBIC)
    with tf.Session(backend=backend) as sess:
        blocks = sess.run(area, {x: image})
        aligned = sess.run(cubic_aligned, {x: image})
        constant = sess.run(cubic, {x: flat})
    np.testing.assert_allclose(blocks[0, :, :, 0], [[2.5, 4.5], [10.5, 12.5]], rtol=1e-6)  # 2x2 block means
    np.testing.assert_allclose(aligned[0, ::2, ::2, 0], image[0, :, :, 0], atol=1e-5)  # samples kept at the nodes
    np.testing.assert_allclose(constant, 2.5, rtol=1e-5)  # the weights sum to one
