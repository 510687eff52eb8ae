"""Image decoding ops through Pillow: ``DecodeJpeg``, ``DecodePng`` and ``DecodeImage``.

Each takes an encoded image (a string scalar, e.g. from ``read_file``) and gives a uint8
``(height, width, channels)`` tensor whose height and width are known only at run time.
As in TF1, ``decode_jpeg`` and ``decode_png`` accept JPEG, PNG and non-animated GIF data
alike (the format is read from the data); ``decode_image`` also takes BMP and animated GIF.
``channels`` 0 keeps the file's own channel count; 1, 3 (and 2, 4 for PNG) convert to
grayscale, RGB, grayscale+alpha and RGBA.

Pillow is optional (``pip install 'graphdl[images]'``) and imported when a decode op is built.
"""

from __future__ import annotations

import io
import math

import numpy as np

from graphdl import dtypes, errors
from graphdl.framework.op_def import define_op
from graphdl.framework.ops import convert_to_tensor, make_tensor

__all__ = ["decode_image", "decode_jpeg", "decode_png"]

_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}


def pillow():
    """The ``PIL.Image`` module; ImportError saying how to install it when Pillow is missing."""
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(
            "Decoding images needs Pillow: pip install 'graphdl[images]' (or pip install Pillow)"
        ) from None
    return Image


def image_format(data: bytes) -> str:
    """'jpeg', 'png', 'gif', 'bmp' from the data's magic bytes, or 'unknown'."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:2] == b"BM":
        return "bmp"
    return "unknown"


def _native_channels(img) -> int:
    mode = img.mode
    if mode in ("1", "L", "I", "F") or mode.startswith("I;16"):
        return 1
    if mode == "LA":
        return 2
    if mode in ("RGBA", "PA") or (mode == "P" and "transparency" in img.info):
        return 4
    return 3


def _frame_array(img, channels: int) -> np.ndarray:
    """One frame as a uint8 (H, W, C) array with ``channels`` channels (0: the image's own)."""
    channels = channels or _native_channels(img)
    if img.mode in ("I", "F") or img.mode.startswith("I;16"):
        # 16-bit grayscale: keep the high byte, as TF1 does when decoding to uint8.
        gray = (np.asarray(img, dtype=np.uint32) >> 8).clip(0, 255).astype(np.uint8)
        img = pillow().fromarray(gray, "L")
    if img.mode != _MODES[channels]:
        img = img.convert(_MODES[channels])
    array = np.asarray(img, dtype=np.uint8)
    return array.reshape(array.shape[0], array.shape[1], channels)


def _decode(ctx, contents, allowed: tuple, animations: bool):
    data = contents.item() if isinstance(contents, np.ndarray) else contents
    if isinstance(data, str):
        data = data.encode("latin-1")
    kind = image_format(data)
    if kind not in allowed:
        raise errors.InvalidArgumentError(
            None, ctx.op,
            f"{ctx.op.type} '{ctx.op.name}': expected image ({', '.join(a.upper() for a in allowed)}), got "
            f"{'unknown format' if kind == 'unknown' else kind.upper()} data of {len(data)} bytes",
        )
    Image = pillow()
    try:
        img = Image.open(io.BytesIO(data))
        ratio = ctx.attrs.get("ratio", 1)
        if kind == "jpeg" and ratio != 1:
            img.draft(img.mode, (math.ceil(img.width / ratio), math.ceil(img.height / ratio)))
        frames = getattr(img, "n_frames", 1)
        if kind == "gif" and frames > 1 and not animations and ctx.op.type != "DecodeImage":
            raise errors.InvalidArgumentError(
                None, ctx.op, f"{ctx.op.type} '{ctx.op.name}': got an animated GIF of {frames} frames; "
                "use decode_image for animated GIFs")
        channels = ctx.attrs["channels"] or (3 if kind == "gif" else 0)  # TF1 decodes GIFs to RGB
        if kind == "gif" and animations:
            out = []
            for i in range(frames):
                img.seek(i)
                out.append(_frame_array(img.convert("RGB"), channels))
            return np.stack(out)
        img.load()
        return _frame_array(img, channels)
    except errors.OpError:
        raise
    except Exception as e:  # noqa: BLE001 - Pillow raises many kinds of errors for corrupt data
        raise errors.InvalidArgumentError(
            None, ctx.op, f"{ctx.op.type} '{ctx.op.name}': could not decode the {kind.upper()} data: {e}"
        ) from None


def _infer_decode(op):
    contents = op.inputs[0]
    if contents.dtype != dtypes.string or contents.shape.ndims not in (None, 0):
        raise TypeError(f"{op.type}: contents must be a string scalar (the encoded image), got "
                        f"{contents.dtype.name} {contents.shape}")
    channels = op.attrs["channels"] or None
    if op.type == "DecodeImage" and op.attrs["expand_animations"]:
        return [(None, op.attrs["dtype"])]  # a GIF gives (frames, H, W, 3): the rank is known only at run time
    return [((None, None, channels), op.attrs.get("dtype", dtypes.uint8))]


def _decode_jpeg_kernel(ctx, contents):
    return _decode(ctx, contents, ("jpeg", "png", "gif"), animations=False)


def _decode_image_kernel(ctx, contents):
    image = _decode(ctx, contents, ("jpeg", "png", "gif", "bmp"), animations=ctx.attrs["expand_animations"])
    dtype = ctx.attrs["dtype"]
    if dtype.is_floating:  # convert_image_dtype: [0, 255] -> [0, 1]
        return (image * (1.0 / 255.0)).astype(dtype.np)
    return image


define_op("DecodeJpeg", infer=_infer_decode, kernel=_decode_jpeg_kernel, not_differentiable=True)
define_op("DecodePng", infer=_infer_decode, kernel=_decode_jpeg_kernel, not_differentiable=True)
define_op("DecodeImage", infer=_infer_decode, kernel=_decode_image_kernel, not_differentiable=True)


def _contents(contents):
    pillow()  # fail where the graph is built, with the install hint, rather than at run time
    return convert_to_tensor(contents, dtype=dtypes.string, name="contents")


def _check_channels(op_name, channels, allowed):
    if channels not in allowed:
        raise ValueError(f"{op_name}: channels must be one of {list(allowed)}, got {channels!r}")


def decode_jpeg(contents, channels=0, ratio=1, fancy_upscaling=True, try_recover_truncated=False,
                acceptable_fraction=1, dct_method="", name=None):
    """Decode a JPEG (or PNG, non-animated GIF) image to a uint8 ``(height, width, channels)`` tensor.

    ``channels``: 0 (the file's), 1 (grayscale) or 3 (RGB). ``ratio`` (1, 2, 4, 8) downscales while
    decoding. The other arguments are accepted for TF1 compatibility.
    """
    _check_channels("decode_jpeg", channels, (0, 1, 3))
    if ratio not in (1, 2, 4, 8):
        raise ValueError(f"decode_jpeg: ratio must be 1, 2, 4 or 8, got {ratio!r}")
    return make_tensor("DecodeJpeg", [_contents(contents)], {"channels": int(channels), "ratio": int(ratio)},
                       name or "DecodeJpeg")


def decode_png(contents, channels=0, dtype=dtypes.uint8, name=None):
    """Decode a PNG (or JPEG, non-animated GIF) image to a uint8 ``(height, width, channels)`` tensor.

    ``channels``: 0 (the file's), 1 (grayscale), 2 (grayscale + alpha), 3 (RGB) or 4 (RGBA).
    """
    _check_channels("decode_png", channels, (0, 1, 2, 3, 4))
    if dtypes.as_dtype(dtype) != dtypes.uint8:
        raise TypeError(f"decode_png: dtype must be uint8 (graphdl has no uint16 dtype), got "
                        f"{dtypes.as_dtype(dtype).name}")
    return make_tensor("DecodePng", [_contents(contents)], {"channels": int(channels)}, name or "DecodePng")


def decode_image(contents, channels=None, dtype=dtypes.uint8, name=None, expand_animations=True):
    """Decode a BMP, GIF, JPEG or PNG image; uint8 values, or floats in [0, 1] for a float ``dtype``.

    An animated GIF gives ``(frames, height, width, 3)`` when ``expand_animations`` (so the
    static rank is unknown, as in TF1); with ``expand_animations=False`` every image gives
    ``(height, width, channels)`` (a GIF its first frame).
    """
    channels = 0 if channels is None else channels
    _check_channels("decode_image", channels, (0, 1, 3, 4))
    dtype = dtypes.as_dtype(dtype)
    if dtype != dtypes.uint8 and not dtype.is_floating:
        raise ValueError(f"decode_image: dtype must be uint8 or a float type, got {dtype.name}")
    attrs = {"channels": int(channels), "dtype": dtype, "expand_animations": bool(expand_animations)}
    return make_tensor("DecodeImage", [_contents(contents)], attrs, name or "decode_image")
