"""Image and audio encodings of summary ops: TF's float-to-uint8 image scaling, PNG and 16-bit WAV."""

from __future__ import annotations

import io
import struct
import wave
import zlib

import numpy as np

# PNG colour type per channel count: gray, gray+alpha, RGB, RGBA.
_PNG_COLOR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}


def as_bytes_array(strings: np.ndarray) -> np.ndarray:
    """An object array of the same shape holding bytes (str elements UTF-8 encoded)."""
    out = np.empty(strings.shape, dtype=object)
    out.reshape(-1)[:] = [s.encode() if isinstance(s, str) else bytes(s) for s in strings.reshape(-1)]
    return out


def float_image_to_uint8(image: np.ndarray, bad_color: np.ndarray) -> np.ndarray:
    """Scale a float [h, w, c] image to uint8 as TF1's ImageSummary does.

    Non-negative images are scaled so their max maps to 255; images with negative values are
    scaled by 127 / max|v| and shifted by 128. Pixels with a non-finite channel are ``bad_color``.
    """
    compute = np.float64 if image.dtype == np.float64 else np.float32  # half: float32 here, half in TF
    pixels = image.astype(compute, copy=False)
    finite = np.all(np.isfinite(pixels), axis=-1)
    good = pixels[finite]
    # TF finds the range and the scale in float32 whatever the image dtype.
    low = np.float32(good.min()) if good.size else np.float32(np.inf)
    high = np.float32(good.max()) if good.size else np.float32(-np.inf)
    zero_threshold = np.float32(1e-6)
    if low < 0:
        max_val = max(abs(low), abs(high))
        scale, offset = (np.float32(0) if max_val < zero_threshold else np.float32(127) / max_val), 128.0
    else:
        scale, offset = (np.float32(0) if high < zero_threshold else np.float32(255) / high), 0.0
    with np.errstate(invalid="ignore", over="ignore"):  # non-finite pixels are replaced below
        scaled = pixels * compute(scale) + compute(offset)
    # C++'s float -> uint8 conversion truncates; clipping guards against rounding just past 255.
    out = np.clip(np.where(finite[..., None], scaled, 0), 0, 255).astype(np.uint8)
    out[~finite] = bad_color[: image.shape[-1]]
    return out


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of a uint8 [h, w, c] image, c in 1..4 (8 bits per channel, no filtering)."""
    height, width, channels = image.shape
    rows = np.zeros((height, 1 + width * channels), dtype=np.uint8)  # each row starts with filter type 0
    rows[:, 1:] = np.ascontiguousarray(image, dtype=np.uint8).reshape(height, width * channels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, _PNG_COLOR_TYPE[channels], 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows.tobytes()))
            + chunk(b"IEND", b""))


def float_to_int16_samples(audio: np.ndarray) -> np.ndarray:
    """TF's FloatToInt16Sample: round(x * 32768) clamped to the int16 range."""
    return np.clip(np.round(audio.astype(np.float32) * np.float32(32768.0)), -32768, 32767).astype("<i2")


def encode_wav(audio: np.ndarray, sample_rate: int) -> bytes:
    """16-bit little-endian PCM WAV bytes of float [frames, channels] audio in [-1, 1]."""
    channels = audio.shape[1]
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(float_to_int16_samples(audio).tobytes())
    return buffer.getvalue()
