"""tf.image crops, pads, flips and per_image_standardization against NumPy, with gradients where TF1 has them."""

import numpy as np
import pytest
from harness import OpCase, make_op_tests, randn

import graphdl.compat.v1 as tf

IMAGE = randn(4, 6, 3)
BATCH = randn(2, 5, 4, 2, seed=1)


def np_pad(img, top, left, height, width):
    batched = img if img.ndim == 4 else img[None]
    out = np.zeros((batched.shape[0], height, width, batched.shape[3]), img.dtype)
    out[:, top:top + batched.shape[1], left:left + batched.shape[2]] = batched
    return out if img.ndim == 4 else out[0]


def np_standardize(img):
    axes = (-1, -2, -3)
    mean = img.mean(axis=axes, keepdims=True)
    std = img.std(axis=axes, keepdims=True)
    return (img - mean) / np.maximum(std, 1 / np.sqrt(np.prod(img.shape[-3:])))


def np_crop_or_pad(img, height, width):
    """TF's rule: crop centrally (extra row/column at the end) or pad evenly (extra at the end)."""
    h, w = img.shape[-3], img.shape[-2]
    top, left = max((h - height) // 2, 0), max((w - width) // 2, 0)
    cropped = img[..., top:top + min(h, height), left:left + min(w, width), :]
    ch, cw = cropped.shape[-3], cropped.shape[-2]
    return np_pad(cropped, max((height - h) // 2, 0), max((width - w) // 2, 0), height, width) \
        if (ch, cw) != (height, width) else cropped


CASES = [
    OpCase("crop_to_bounding_box", lambda x: tf.image.crop_to_bounding_box(x, 1, 2, 2, 3), [IMAGE],
           lambda x: x[1:3, 2:5]),
    OpCase("crop_to_bounding_box_batch", lambda x: tf.image.crop_to_bounding_box(x, 0, 1, 4, 2), [BATCH],
           lambda x: x[:, 0:4, 1:3]),
    OpCase("crop_to_bounding_box_tensor_offsets", lambda x, o: tf.image.crop_to_bounding_box(x, o, o, 2, 2),
           [IMAGE, np.array(1, np.int32)], lambda x, o: x[1:3, 1:3]),
    OpCase("pad_to_bounding_box", lambda x: tf.image.pad_to_bounding_box(x, 1, 2, 7, 9), [IMAGE],
           lambda x: np_pad(x, 1, 2, 7, 9)),
    OpCase("pad_to_bounding_box_batch", lambda x: tf.image.pad_to_bounding_box(x, 0, 3, 6, 7), [BATCH],
           lambda x: np_pad(x, 0, 3, 6, 7)),
    OpCase("resize_image_with_crop_or_pad_crop", lambda x: tf.image.resize_image_with_crop_or_pad(x, 3, 3), [IMAGE],
           lambda x: np_crop_or_pad(x, 3, 3)),
    OpCase("resize_image_with_crop_or_pad_mixed", lambda x: tf.image.resize_image_with_crop_or_pad(x, 7, 3), [BATCH],
           lambda x: np_crop_or_pad(x, 7, 3)),
    OpCase("resize_with_crop_or_pad_pad", lambda x: tf.image.resize_with_crop_or_pad(x, 5, 9), [IMAGE],
           lambda x: np_crop_or_pad(x, 5, 9)),
    OpCase("central_crop", lambda x: tf.image.central_crop(x, 0.5), [randn(8, 6, 3)], lambda x: x[2:6, 1:5]),
    OpCase("central_crop_batch", lambda x: tf.image.central_crop(x, 0.6), [BATCH], lambda x: x[:, 1:4, 0:4]),
    # float32 results even for float64 images (TF 1.15 casts): the gradient is checked in its own test below.
    OpCase("per_image_standardization", lambda x: tf.image.per_image_standardization(x), [IMAGE], np_standardize,
           rtol=1e-4, atol=1e-5, grad=False),
    OpCase("per_image_standardization_batch", lambda x: tf.image.per_image_standardization(x), [BATCH],
           np_standardize, rtol=1e-4, atol=1e-5, grad=False),
    OpCase("per_image_standardization_uint8", lambda x: tf.image.per_image_standardization(x),
           [np.full((2, 2, 1), 7, np.uint8)], lambda x: np.zeros((2, 2, 1), np.float32), grad=False),
]

test_forward, test_gradient = make_op_tests(CASES)


def test_per_image_standardization_gradient_matches_numpy_finite_differences():
    weights = randn(*BATCH.shape, seed=9).astype(np.float64)
    with tf.Graph().as_default():
        x = tf.constant(BATCH)
        loss = tf.reduce_sum(tf.image.per_image_standardization(x) * weights.astype(np.float32))
        with tf.Session() as sess:
            symbolic = sess.run(tf.gradients(loss, x)[0])
    base = BATCH.astype(np.float64)
    numeric = np.zeros_like(base)
    for i in np.ndindex(base.shape):
        plus, minus = base.copy(), base.copy()
        plus[i] += 1e-6
        minus[i] -= 1e-6
        numeric[i] = (np.sum(np_standardize(plus) * weights) - np.sum(np_standardize(minus) * weights)) / 2e-6
    np.testing.assert_allclose(symbolic, numeric, rtol=1e-3, atol=1e-4)


def test_static_shapes_names_and_checks():
    with tf.Graph().as_default():
        image = tf.placeholder(tf.float32, [None, 10, 8, 3])
        assert tf.image.crop_to_bounding_box(image, 1, 1, 4, 5).shape.as_list() == [None, 4, 5, 3]
        assert tf.image.resize_image_with_crop_or_pad(image, 12, 4).shape.as_list() == [None, 12, 4, 3]
        assert tf.image.central_crop(image, 0.5).shape.as_list() == [None, 6, 4, 3]
        assert tf.image.per_image_standardization(image).name == "per_image_standardization:0"
        with pytest.raises(ValueError, match="width must be >= target \\+ offset"):
            tf.image.crop_to_bounding_box(image, 0, 4, 2, 5)
        with pytest.raises(ValueError, match="height must be <= target - offset"):
            tf.image.pad_to_bounding_box(image, 2, 0, 11, 8)
        with pytest.raises(ValueError, match="central_fraction must be within"):
            tf.image.central_crop(image, 1.5)
        with pytest.raises(ValueError, match="either 3 or 4 dimensions"):
            tf.image.random_flip_left_right(tf.zeros([2, 2]))


@pytest.mark.parametrize("flip,axis", [(tf.image.random_flip_left_right, 1), (tf.image.random_flip_up_down, 0)])
def test_random_flips(flip, axis):
    image = np.arange(2 * 3 * 1, dtype=np.float32).reshape(2, 3, 1)
    with tf.Graph().as_default():
        single = flip(tf.constant(image), seed=3)
        batch = flip(tf.constant(np.stack([image] * 64)), seed=4)
        with tf.Session() as sess:
            singles = [sess.run(single) for _ in range(40)]
            batched = sess.run(batch)
    flipped = np.flip(image, axis)
    assert all(np.array_equal(s, image) or np.array_equal(s, flipped) for s in singles)
    assert 5 < sum(np.array_equal(s, flipped) for s in singles) < 35
    per_image = [np.array_equal(b, flipped) for b in batched]
    assert all(p or np.array_equal(b, image) for p, b in zip(per_image, batched))
    assert 12 < sum(per_image) < 52  # each image of a batch is flipped on its own draw
