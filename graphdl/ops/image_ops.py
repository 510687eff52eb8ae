"""Image resizing ops: ResizeBilinear, ResizeNearestNeighbor, ResizeBicubic, ResizeArea and their gradients.

Both ops take a 4-D NHWC ``images`` and a 2-element int32 ``size`` (new height, width). An
output pixel ``i`` reads source coordinate ``i * scale`` (legacy) or ``(i + 0.5) * scale - 0.5``
(``half_pixel_centers``, bilinear) / ``(i + 0.5) * scale`` (nearest), with
``scale = (in - 1) / (out - 1)`` under ``align_corners`` (and out > 1), else ``in / out``, all
in float32 as TF computes them. Bilinear clamps the two neighbours into the image; nearest
floors (rounds under ``align_corners``) and clamps. ResizeBilinear returns float32 (float64
for float64 images, so gradients can be checked in double precision; TF1 returns float32).
Bicubic and area resizing are linear and separable: each is one [out, in] matrix per axis
(TF's 4-tap cubic table, or each output cell's overlap with the input cells), and the gradient
applies the transposed matrices. TF1 defines no gradient for ResizeArea; graphdl does.
"""

from __future__ import annotations

import numpy as np

from graphdl import dtypes
from graphdl.framework.constant_value import constant_value
from graphdl.framework.op_def import define_op
from graphdl.framework.ops import convert_to_tensor, make_tensor
from graphdl.ops import array_ops
from graphdl.ops.shape_inference import FLOAT, NUMERIC, require_dtype


# -- coordinates -----------------------------------------------------------------------------------------------
def resize_scale(in_size, out_size, align_corners):
    """TF's CalculateResizeScale, in float32."""
    if align_corners and out_size > 1:
        return np.float32(in_size - 1) / np.float32(out_size - 1)
    return np.float32(in_size) / np.float32(out_size)


def bilinear_weights(out_size, in_size, align_corners, half_pixel_centers):
    """(lower, upper, lerp) per output index of one axis."""
    scale = resize_scale(in_size, out_size, align_corners)
    i = np.arange(out_size, dtype=np.float32)
    src = (i + np.float32(0.5)) * scale - np.float32(0.5) if half_pixel_centers else i * scale
    floor = np.floor(src)
    lower = np.maximum(floor, 0).astype(np.int64)
    upper = np.minimum(np.ceil(src), in_size - 1).astype(np.int64)
    return lower, upper, (src - floor).astype(np.float32)


def nearest_indices(out_size, in_size, align_corners, half_pixel_centers):
    """The source index of each output index of one axis."""
    scale = resize_scale(in_size, out_size, align_corners)
    i = np.arange(out_size, dtype=np.float32)
    src = (i + np.float32(0.5)) * scale if half_pixel_centers else i * scale
    idx = np.floor(src + np.float32(0.5)) if align_corners else np.floor(src)  # roundf: src >= 0 here
    idx = np.minimum(idx.astype(np.int64), in_size - 1)
    return np.maximum(idx, 0) if half_pixel_centers else idx


_CUBIC_TABLE_SIZE = 1024


def _cubic_coefficients(a):
    """TF's bicubic coefficient table: Keys' kernel with parameter ``a`` sampled at 1/1024 steps, in float32."""
    x = np.arange(_CUBIC_TABLE_SIZE + 1, dtype=np.float64) / _CUBIC_TABLE_SIZE
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * (x + 1) - 5 * a) * (x + 1) + 8 * a) * (x + 1) - 4 * a
    return near.astype(np.float32), far.astype(np.float32)


def bicubic_matrix(out_size, in_size, align_corners, half_pixel_centers):
    """The [out, in] interpolation matrix of one axis under TF's ResizeBicubic (4 taps, clamped at the edges).

    Legacy coordinates use a = -0.75 and clamp the taps; ``half_pixel_centers`` uses Keys' a = -0.5,
    drops taps outside the image and renormalizes the rest, as TF does.
    """
    scale = resize_scale(in_size, out_size, align_corners)
    i = np.arange(out_size, dtype=np.float32)
    src = (i + np.float32(0.5)) * scale - np.float32(0.5) if half_pixel_centers else i * scale
    base = np.floor(src).astype(np.int64)
    offset = np.rint((src - base) * np.float32(_CUBIC_TABLE_SIZE)).astype(np.int64)
    near, far = _cubic_coefficients(-0.5 if half_pixel_centers else -0.75)
    taps = np.stack([base - 1, base, base + 1, base + 2], axis=1)
    weights = np.stack([far[offset], near[offset], near[_CUBIC_TABLE_SIZE - offset],
                        far[_CUBIC_TABLE_SIZE - offset]], axis=1)
    clamped = np.clip(taps, 0, in_size - 1)
    if half_pixel_centers:
        weights = np.where(clamped == taps, weights, np.float32(0))
        total = weights.sum(axis=1, keepdims=True)
        weights = np.where(np.abs(total) >= 1000 * np.finfo(np.float32).tiny, weights / total, weights)
    matrix = np.zeros((out_size, in_size), np.float64)
    np.add.at(matrix, (np.repeat(np.arange(out_size), 4), clamped.ravel()), weights.ravel())
    return matrix


def area_matrix(out_size, in_size, align_corners):
    """The [out, in] averaging matrix of one axis under TF's ResizeArea (each output cell's overlap with the input)."""
    scale = float(resize_scale(in_size, out_size, align_corners))
    matrix = np.zeros((out_size, in_size), np.float64)
    for y in range(out_size):
        start, end = np.float32(y * scale), np.float32((y + 1) * scale)
        for i in range(int(np.floor(start)), int(np.ceil(end))):
            matrix[y, min(i, in_size - 1)] += (min(i + 1, end) - max(i, start)) / scale
    return matrix


# -- shape rules -------------------------------------------------------------------------------------------------
def _static_size(op, size):
    value = constant_value(size)
    if size.shape.ndims not in (None, 1) or (size.shape.ndims == 1 and size.shape.as_tuple()[0] not in (None, 2)):
        raise ValueError(f"{op.type}: size must be a 1-D int32 tensor of 2 elements (new_height, new_width), "
                         f"got shape {size.shape}")
    if size.dtype != dtypes.int32:
        raise TypeError(f"{op.type}: size must be int32, got {size.dtype.name}")
    if value is None:
        return None, None
    h, w = (int(v) for v in np.ravel(value))
    if h <= 0 or w <= 0:
        raise ValueError(f"{op.type}: size must be positive, got [{h}, {w}]")
    return h, w


def _check_attrs(op):
    if op.attrs["align_corners"] and op.attrs["half_pixel_centers"]:
        raise ValueError(f"{op.type}: if half_pixel_centers is True, align_corners must be False")


def _images_dims(op, images, what="images"):
    dims = images.shape.as_tuple()
    if dims is None:
        return (None,) * 4
    if len(dims) != 4:
        raise ValueError(f"{op.type}: {what} must be 4-dimensional (NHWC), got shape {images.shape}")
    return dims


def _out_dtype(dtype):
    return dtypes.float64 if dtype == dtypes.float64 else dtypes.float32


def _infer_resize(op, out_dtype):
    images, size = op.inputs
    _check_attrs(op)
    require_dtype(op, images, NUMERIC, "images")
    n, _, _, c = _images_dims(op, images)
    h, w = _static_size(op, size)
    return [((n, h, w, c), out_dtype(images.dtype))]


def _infer_bilinear_grad(op):
    grads, original = op.inputs
    _check_attrs(op)
    require_dtype(op, original, FLOAT, "original_image")
    _images_dims(op, grads, "grads")
    return [(_images_dims(op, original, "original_image"), original.dtype)]


def _infer_nearest_grad(op):
    grads, size = op.inputs
    _check_attrs(op)
    n, _, _, c = _images_dims(op, grads, "grads")
    h, w = _static_size(op, size)
    return [((n, h, w, c), grads.dtype)]


# -- reference kernels -----------------------------------------------------------------------------------------------
def _flags(ctx):
    return ctx.attrs["align_corners"], ctx.attrs["half_pixel_centers"]


def _check_runtime(ctx, images, size):
    if images.ndim != 4 or len(size) != 2 or min(size) <= 0 or min(images.shape[1:3]) <= 0:
        from graphdl import errors

        raise errors.InvalidArgumentError(
            None, ctx.op, f"{ctx.op.type}: need 4-D images with non-empty height and width and a positive 2-element "
                          f"size, got images {list(images.shape)} and size {list(size)} (op '{ctx.op.name}')")


def _resize_bilinear_kernel(ctx, images, size):
    _check_runtime(ctx, images, size)
    dtype = np.float64 if images.dtype == np.float64 else np.float32
    x = images.astype(dtype)
    ylo, yhi, yl = bilinear_weights(int(size[0]), x.shape[1], *_flags(ctx))
    xlo, xhi, xl = bilinear_weights(int(size[1]), x.shape[2], *_flags(ctx))
    yl, xl = yl.astype(dtype)[None, :, None, None], xl.astype(dtype)[None, None, :, None]
    top_left, top_right = x[:, ylo][:, :, xlo], x[:, ylo][:, :, xhi]
    bottom_left, bottom_right = x[:, yhi][:, :, xlo], x[:, yhi][:, :, xhi]
    top = top_left + (top_right - top_left) * xl
    bottom = bottom_left + (bottom_right - bottom_left) * xl
    return top + (bottom - top) * yl


def _resize_bilinear_grad_kernel(ctx, grads, original):
    n, h, w, c = original.shape
    dtype = np.float64 if original.dtype == np.float64 else np.float32
    g = grads.astype(dtype)
    ylo, yhi, yl = bilinear_weights(g.shape[1], h, *_flags(ctx))
    xlo, xhi, xl = bilinear_weights(g.shape[2], w, *_flags(ctx))
    # Bilinear weights are separable: scatter along width, then along height.
    xl = xl.astype(dtype)[None, None, :, None]
    rows = np.zeros((n, g.shape[1], w, c), dtype)
    np.add.at(rows, (slice(None), slice(None), xlo), g * (1 - xl))
    np.add.at(rows, (slice(None), slice(None), xhi), g * xl)
    yl = yl.astype(dtype)[None, :, None, None]
    out = np.zeros((n, h, w, c), dtype)
    np.add.at(out, (slice(None), ylo), rows * (1 - yl))
    np.add.at(out, (slice(None), yhi), rows * yl)
    return out.astype(original.dtype)


def _resize_nearest_kernel(ctx, images, size):
    _check_runtime(ctx, images, size)
    ys = nearest_indices(int(size[0]), images.shape[1], *_flags(ctx))
    xs = nearest_indices(int(size[1]), images.shape[2], *_flags(ctx))
    return images[:, ys][:, :, xs]


def _resize_nearest_grad_kernel(ctx, grads, size):
    h, w = int(size[0]), int(size[1])
    ys = nearest_indices(grads.shape[1], h, *_flags(ctx))
    xs = nearest_indices(grads.shape[2], w, *_flags(ctx))
    rows = np.zeros((grads.shape[0], grads.shape[1], w, grads.shape[3]), grads.dtype)
    np.add.at(rows, (slice(None), slice(None), xs), grads)
    out = np.zeros((grads.shape[0], h, w, grads.shape[3]), grads.dtype)
    np.add.at(out, (slice(None), ys), rows)
    return out


def _resize_with_matrices(images, height_matrix, width_matrix):
    """out[n, y, x, c] = sum over (h, w) of H[y, h] * images[n, h, w, c] * W[x, w]."""
    dtype = np.float64 if images.dtype == np.float64 else np.float32
    rows = np.einsum("yh,nhwc->nywc", height_matrix, images.astype(np.float64))
    return np.einsum("xw,nywc->nyxc", width_matrix, rows).astype(dtype)


def _bicubic_matrices(ctx, out_hw, in_hw):
    return [bicubic_matrix(o, i, *_flags(ctx)) for o, i in zip(out_hw, in_hw)]


def _area_matrices(ctx, out_hw, in_hw):
    return [area_matrix(o, i, ctx.attrs["align_corners"]) for o, i in zip(out_hw, in_hw)]


def _matrix_resize_kernel(matrices):
    def kernel(ctx, images, size):
        _check_runtime(ctx, images, size)
        return _resize_with_matrices(images, *matrices(ctx, [int(v) for v in size], images.shape[1:3]))
    return kernel


def _matrix_resize_grad_kernel(matrices):
    def kernel(ctx, grads, original):
        height, width = matrices(ctx, grads.shape[1:3], original.shape[1:3])
        return _resize_with_matrices(grads, height.T, width.T).astype(original.dtype)
    return kernel


# -- op definitions ---------------------------------------------------------------------------------------------------
def _attrs_of(op):
    return {"align_corners": op.attrs["align_corners"], "half_pixel_centers": op.attrs["half_pixel_centers"]}


def _spatial_shape(t):
    return array_ops.shape(t)[1:3]


define_op(
    "ResizeBilinear",
    infer=lambda op: _infer_resize(op, _out_dtype),
    kernel=_resize_bilinear_kernel,
    grad=lambda op, dy: [make_tensor("ResizeBilinearGrad", [dy, op.inputs[0]], _attrs_of(op), "ResizeBilinearGrad")
                         if op.inputs[0].dtype.is_floating else None, None],
)
define_op(
    "ResizeBilinearGrad",
    infer=_infer_bilinear_grad,
    kernel=_resize_bilinear_grad_kernel,
    grad=lambda op, g: [make_tensor("ResizeBilinear", [g, _spatial_shape(op.inputs[0])], _attrs_of(op),
                                    "ResizeBilinear"), None],
)
define_op(
    "ResizeNearestNeighbor",
    infer=lambda op: _infer_resize(op, lambda dtype: dtype),
    kernel=_resize_nearest_kernel,
    grad=lambda op, dy: [make_tensor("ResizeNearestNeighborGrad", [dy, _spatial_shape(op.inputs[0])], _attrs_of(op),
                                     "ResizeNearestNeighborGrad"), None],
)
define_op(
    "ResizeNearestNeighborGrad",
    infer=_infer_nearest_grad,
    kernel=_resize_nearest_grad_kernel,
    grad=lambda op, g: [make_tensor("ResizeNearestNeighbor", [g, _spatial_shape(op.inputs[0])], _attrs_of(op),
                                    "ResizeNearestNeighbor"), None],
)

define_op(
    "ResizeBicubic",
    infer=lambda op: _infer_resize(op, _out_dtype),
    kernel=_matrix_resize_kernel(_bicubic_matrices),
    grad=lambda op, dy: [make_tensor("ResizeBicubicGrad", [dy, op.inputs[0]], _attrs_of(op), "ResizeBicubicGrad")
                         if op.inputs[0].dtype.is_floating else None, None],
)
define_op(
    "ResizeBicubicGrad",
    infer=_infer_bilinear_grad,
    kernel=_matrix_resize_grad_kernel(_bicubic_matrices),
    grad=lambda op, g: [make_tensor("ResizeBicubic", [g, _spatial_shape(op.inputs[0])], _attrs_of(op), "ResizeBicubic"), None],
)
define_op(
    "ResizeArea",
    infer=lambda op: _infer_resize(op, _out_dtype),
    kernel=_matrix_resize_kernel(_area_matrices),
    grad=lambda op, dy: [make_tensor("ResizeAreaGrad", [dy, op.inputs[0]], _attrs_of(op), "ResizeAreaGrad")
                         if op.inputs[0].dtype.is_floating else None, None],
)
define_op(
    "ResizeAreaGrad",
    infer=_infer_bilinear_grad,
    kernel=_matrix_resize_grad_kernel(_area_matrices),
    grad=lambda op, g: [make_tensor("ResizeArea", [g, _spatial_shape(op.inputs[0])], _attrs_of(op), "ResizeArea"), None],
)


def resize_op(op_type, images, size, align_corners, half_pixel_centers, name):
    """Create a ResizeBilinear / ResizeNearestNeighbor / ResizeBicubic / ResizeArea op on 4-D NHWC ``images``."""
    images = convert_to_tensor(images, name="images")
    size = convert_to_tensor(size, dtype=dtypes.int32, name="size")
    attrs = {"align_corners": bool(align_corners), "half_pixel_centers": bool(half_pixel_centers)}
    return make_tensor(op_type, [images, size], attrs, name=name or op_type)
