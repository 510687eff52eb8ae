"""``tf.image`` crops, pads, flips and per-image standardization, built from slices, pads and conds as in TF 1.15.

Images are 3-D ``[height, width, channels]`` or 4-D ``[batch, height, width, channels]``.
Sizes and offsets may be Python ints (checked when the graph is built, as TF1 does) or
int32 scalar tensors.
"""

from __future__ import annotations

from graphdl import dtypes
from graphdl.framework.constant_value import constant_value
from graphdl.framework.ops import convert_to_tensor, is_tensor_like, name_scope
from graphdl.ops import array_ops, layout_ops, math_ops, reduction_ops

__all__ = [
    "central_crop", "crop_to_bounding_box", "pad_to_bounding_box", "per_image_standardization",
    "random_flip_left_right", "random_flip_up_down", "resize_image_with_crop_or_pad", "resize_with_crop_or_pad",
]


def _image(image, what):
    """``image`` as a tensor of rank 3 or 4 (ValueError naming ``what`` otherwise)."""
    image = convert_to_tensor(image, name="image")
    rank = image.shape.ndims
    if rank is None:
        raise ValueError(f"{what}: 'image' must have a known rank (3 or 4), got '{image.name}' of unknown shape")
    if rank not in (3, 4):
        raise ValueError(f"{what}: 'image' must have either 3 or 4 dimensions, got '{image.name}' of shape "
                         f"{image.shape}")
    return image


def _static(value):
    """A Python int for an int or a constant tensor, None for a tensor known only at run time."""
    if not is_tensor_like(value):
        return int(value)
    v = constant_value(convert_to_tensor(value))
    return None if v is None else int(v)


def _dims(image):
    """(batch, height, width, channels) of a 4-D image: static ints where known, else scalar tensors."""
    static = image.shape.as_tuple()
    shape = None
    out = []
    for i, d in enumerate(static):
        if d is None:
            shape = array_ops.shape(image) if shape is None else shape
            d = shape[i]
        out.append(d)
    return out


def _check(condition, message):
    if condition is False:
        raise ValueError(message)


def _batched(image, what):
    image = _image(image, what)
    is_batch = image.shape.ndims == 4
    return (image if is_batch else layout_ops.expand_dims(image, 0)), is_batch


def _unbatched(image, is_batch):
    return image if is_batch else layout_ops.squeeze(image, [0])


def _known_le(a, b):
    """``a <= b`` for static values, None when either is a tensor."""
    a, b = _static(a), _static(b)
    return None if a is None or b is None else a <= b


# -- flips ----------------------------------------------------------------------------------------------------
def _random_flip(image, flip_index, seed, scope_name):
    from graphdl.ops.control_flow_ops import cond
    from graphdl.ops.pad_ops import reverse
    from graphdl.ops.random_ops import random_uniform

    with name_scope(None, scope_name, [image]) as scope:
        image = _image(image, scope_name)
        if image.shape.ndims == 3:
            mirror = random_uniform([], 0, 1.0, seed=seed) < 0.5
            result = cond(mirror, lambda: reverse(image, [flip_index]), lambda: image, name=scope)
            result.set_shape(image.shape)
            return result
        batch_size = array_ops.shape(image)[0]
        draws = random_uniform(array_ops.stack([batch_size]), 0, 1.0, seed=seed)
        flips = math_ops.cast(math_ops.round(array_ops.reshape(draws, array_ops.stack([batch_size, 1, 1, 1]))),
                              image.dtype)
        return flips * reverse(image, [flip_index + 1]) + (1 - flips) * image


def random_flip_left_right(image, seed=None):
    """Mirror the image horizontally with probability 1/2 (each image of a 4-D batch independently)."""
    return _random_flip(image, 1, seed, "random_flip_left_right")


def random_flip_up_down(image, seed=None):
    """Flip the image vertically with probability 1/2 (each image of a 4-D batch independently)."""
    return _random_flip(image, 0, seed, "random_flip_up_down")


# -- standardization ------------------------------------------------------------------------------------------
def per_image_standardization(image):
    """``(image - mean) / max(stddev, 1 / sqrt(num_pixels))`` over each image's pixels and channels, in float32."""
    from graphdl.ops.nn_ops import relu
    from graphdl.ops.unary_math_ops import rsqrt, sqrt, square

    with name_scope(None, "per_image_standardization", [image]) as scope:
        image = _image(image, "per_image_standardization")
        num_pixels = reduction_ops.reduce_prod(array_ops.shape(image)[-3:])
        image = math_ops.cast(image, dtypes.float32)
        axes = [-1, -2, -3]
        mean = reduction_ops.reduce_mean(image, axis=axes, keepdims=True)
        variance = relu(reduction_ops.reduce_mean(square(image), axis=axes, keepdims=True) - square(mean))
        scale = math_ops.maximum(sqrt(variance), rsqrt(math_ops.cast(num_pixels, dtypes.float32)))
        return math_ops.divide(math_ops.subtract(image, mean), scale, name=scope)


# -- crops and pads -------------------------------------------------------------------------------------------
def crop_to_bounding_box(image, offset_height, offset_width, target_height, target_width):
    """The ``target_height x target_width`` window of ``image`` whose top-left corner is at the offsets."""
    from graphdl.ops.indexing_ops import slice as slice_

    with name_scope(None, "crop_to_bounding_box", [image]):
        image, is_batch = _batched(image, "crop_to_bounding_box")
        _, height, width, _ = _dims(image)
        _check(_known_le(0, offset_width), "offset_width must be >= 0.")
        _check(_known_le(0, offset_height), "offset_height must be >= 0.")
        _check(_known_le(1, target_width), "target_width must be > 0.")
        _check(_known_le(1, target_height), "target_height must be > 0.")
        if None not in (_static(width), _static(target_width), _static(offset_width)):
            _check(_static(width) >= _static(target_width) + _static(offset_width),
                   "width must be >= target + offset.")
        if None not in (_static(height), _static(target_height), _static(offset_height)):
            _check(_static(height) >= _static(target_height) + _static(offset_height),
                   "height must be >= target + offset.")
        begin = array_ops.stack([0, offset_height, offset_width, 0])
        size = array_ops.stack([-1, target_height, target_width, -1])
        cropped = slice_(image, begin, size)
        cropped.set_shape([image.shape.as_tuple()[0], _static(target_height), _static(target_width),
                           image.shape.as_tuple()[3]])
        return _unbatched(cropped, is_batch)


def pad_to_bounding_box(image, offset_height, offset_width, target_height, target_width):
    """``image`` placed at the offsets on zeros of ``target_height x target_width``."""
    from graphdl.ops.pad_ops import pad

    with name_scope(None, "pad_to_bounding_box", [image]):
        image, is_batch = _batched(image, "pad_to_bounding_box")
        _, height, width, _ = _dims(image)
        after_width = target_width - offset_width - width
        after_height = target_height - offset_height - height
        _check(_known_le(0, offset_height), "offset_height must be >= 0")
        _check(_known_le(0, offset_width), "offset_width must be >= 0")
        _check(_known_le(0, after_width), "width must be <= target - offset")
        _check(_known_le(0, after_height), "height must be <= target - offset")
        paddings = array_ops.reshape(array_ops.stack([0, 0, offset_height, after_height, offset_width, after_width,
                                                      0, 0]), [4, 2])
        padded = pad(image, paddings)
        padded.set_shape([image.shape.as_tuple()[0], _static(target_height), _static(target_width),
                          image.shape.as_tuple()[3]])
        return _unbatched(padded, is_batch)


def _max(x, y):
    return math_ops.maximum(x, y) if is_tensor_like(x) or is_tensor_like(y) else max(x, y)


def _min(x, y):
    return math_ops.minimum(x, y) if is_tensor_like(x) or is_tensor_like(y) else min(x, y)


def resize_image_with_crop_or_pad(image, target_height, target_width):
    """Crop (centrally) or zero-pad (evenly) ``image`` to ``target_height x target_width``."""
    with name_scope(None, "resize_image_with_crop_or_pad", [image]):
        image, is_batch = _batched(image, "resize_image_with_crop_or_pad")
        _check(_known_le(1, target_width), "target_width must be > 0.")
        _check(_known_le(1, target_height), "target_height must be > 0.")
        _, height, width, _ = _dims(image)
        width_diff = target_width - width
        height_diff = target_height - height
        cropped = crop_to_bounding_box(image, _max(-height_diff // 2, 0), _max(-width_diff // 2, 0),
                                       _min(target_height, height), _min(target_width, width))
        resized = pad_to_bounding_box(cropped, _max(height_diff // 2, 0), _max(width_diff // 2, 0), target_height,
                                      target_width)
        return _unbatched(resized, is_batch)


resize_with_crop_or_pad = resize_image_with_crop_or_pad


def central_crop(image, central_fraction):
    """The centre ``central_fraction`` (in (0, 1]) of each image's height and width."""
    from graphdl.ops.indexing_ops import slice as slice_

    with name_scope(None, "central_crop", [image]):
        image = convert_to_tensor(image, name="image")
        if central_fraction <= 0.0 or central_fraction > 1.0:
            raise ValueError("central_fraction must be within (0, 1]")
        if central_fraction == 1.0:
            return image
        image = _image(image, "central_crop")
        rank = image.shape.ndims
        static = image.shape.as_tuple()
        h_axis = rank - 3
        starts, sizes, dynamic = [], [], []
        for axis in (h_axis, h_axis + 1):
            dim = static[axis]
            if dim is None:
                full = array_ops.shape(image)[axis]
                exact = math_ops.cast(full, dtypes.float64)
                start = math_ops.cast((exact - exact * central_fraction) / 2, dtypes.int32)
            else:
                full, start = dim, int((float(dim) - float(dim) * central_fraction) / 2)
            starts.append(start)
            sizes.append(full - start * 2)
            dynamic.append(dim is None)
        lead = [0] if rank == 4 else []
        cropped = slice_(image, array_ops.stack(lead + starts + [0]), array_ops.stack([-1] * len(lead) + sizes + [-1]))
        cropped.set_shape(static[:h_axis] + tuple(None if d else s for d, s in zip(dynamic, sizes)) + static[-1:])
        return cropped
