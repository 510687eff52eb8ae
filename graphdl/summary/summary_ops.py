"""TF1's summary ops: each outputs a scalar string tensor holding a serialized ``Summary`` protobuf.

``scalar``, ``histogram``, ``image``, ``audio``, ``text`` and ``tensor_summary`` build the op
types ScalarSummary, HistogramSummary, ImageSummary (PNG images), AudioSummaryV2 (WAV clips)
and TensorSummaryV2, as TF1 does: the tag is the op's name scope (``"train/loss"`` for
``scalar("loss", x)`` under ``name_scope("train")``), passed to the op as a string constant
input, and the result joins the ``GraphKeys.SUMMARIES`` collection. ``merge`` (MergeSummary)
concatenates summaries; ``merge_all`` merges a collection. The values of a session run go to a
``FileWriter``. The protobufs come from the ``tensorboard`` package, imported when an op runs.
"""

from __future__ import annotations

import contextlib
import logging
import re

import numpy as np

from graphdl import dtypes, errors
from graphdl.framework.graph import GraphKeys
from graphdl.framework.op_def import define_op
from graphdl.framework.ops import add_to_collection, constant_tensor, convert_to_tensor, get_collection, make_tensor
from graphdl.framework.ops import name_scope as _name_scope
from graphdl.ops.shape_inference import NUMERIC, require_dtype
from graphdl.summary._tensorboard import tensorboard
from graphdl.summary.encoding import as_bytes_array, encode_png, encode_wav, float_image_to_uint8
from graphdl.summary.histogram_buckets import histogram_fields

_INVALID_TAG_CHARACTERS = re.compile(r"[^-/\w\.]")
_IMAGE_DTYPES = (dtypes.uint8, dtypes.float16, dtypes.float32, dtypes.float64)
_DEFAULT_BAD_COLOR = (255, 0, 0, 255)  # opaque red, as TF's ImageSummary
_SCALAR_STRING = [((), dtypes.string)]


# -- tags and scopes -----------------------------------------------------------------------------------------
def clean_tag(name):
    """``name`` with characters TensorBoard tags cannot hold replaced by '_' and leading '/' removed (TF1 rule)."""
    if name is not None:
        new_name = _INVALID_TAG_CHARACTERS.sub("_", name).lstrip("/")
        if new_name != name:
            logging.getLogger("graphdl").info("Summary name %s is illegal; using %s instead.", name, new_name)
            name = new_name
    return name


@contextlib.contextmanager
def summary_scope(name, family=None, default_name=None, values=None):
    """Open the name scope of a summary op; yields ``(tag, scope)`` as TF1's summary_op_util.summary_scope.

    The tag is the scope without its trailing '/', prefixed by ``family`` when given, so the
    summary shows in TensorBoard under the enclosing name scopes.
    """
    name, family = clean_tag(name), clean_tag(family)
    base_name = name if family is None else f"{family}/{name}"
    with _name_scope(base_name, default_name, values) as scope:
        tag = scope.rstrip("/") if family is None else f"{family}/{scope.rstrip('/')}"
        yield tag, scope


def _collect(value, collections, default_collections):
    for key in default_collections if collections is None else collections:
        add_to_collection(key, value)


def _string_constant(text, name):
    return constant_tensor(np.array(text.encode() if isinstance(text, str) else text, dtype=object), name=name)


# -- shape rules ---------------------------------------------------------------------------------------------
def _require_string_scalar(op, tensor, what):
    require_dtype(op, tensor, (dtypes.string,), what)
    if tensor.shape.ndims not in (None, 0):
        raise ValueError(f"{op.type}: {what} must be a scalar string, got shape {tensor.shape}")


def _infer_scalar(op):
    tags, values = op.inputs
    require_dtype(op, tags, (dtypes.string,), "tags")
    require_dtype(op, values, NUMERIC, "values")
    t, v = tags.shape.as_tuple(), values.shape.as_tuple()
    if tags.shape.is_fully_defined() and values.shape.is_fully_defined() and t != v:
        raise ValueError(f"ScalarSummary: tags and values not the same shape: {_dims(t)} != {_dims(v)}")
    return _SCALAR_STRING


def _infer_histogram(op):
    _require_string_scalar(op, op.inputs[0], "tag")
    require_dtype(op, op.inputs[1], NUMERIC, "values")
    return _SCALAR_STRING


def _infer_image(op):
    _require_string_scalar(op, op.inputs[0], "tag")
    tensor = op.inputs[1]
    require_dtype(op, tensor, _IMAGE_DTYPES, "tensor")
    dims = tensor.shape.as_tuple()
    if dims is not None and (len(dims) != 4 or dims[3] not in (None, 1, 3, 4)):
        raise ValueError(f"ImageSummary: tensor must be 4-D [batch, height, width, channels] with 1, 3 or 4 "
                         f"channels, got shape {tensor.shape}")
    return _SCALAR_STRING


def _infer_audio(op):
    _require_string_scalar(op, op.inputs[0], "tag")
    tensor, sample_rate = op.inputs[1], op.inputs[2]
    require_dtype(op, tensor, (dtypes.float32,), "tensor")
    require_dtype(op, sample_rate, (dtypes.float32,), "sample_rate")
    if tensor.shape.ndims not in (None, 2, 3):
        raise ValueError(f"AudioSummaryV2: tensor must be 3-D [batch, frames, channels] or 2-D [batch, frames], "
                         f"got shape {tensor.shape}")
    if sample_rate.shape.ndims not in (None, 0):
        raise ValueError(f"AudioSummaryV2: sample_rate must be a scalar, got shape {sample_rate.shape}")
    return _SCALAR_STRING


def _infer_tensor_summary(op):
    _require_string_scalar(op, op.inputs[0], "tag")
    _require_string_scalar(op, op.inputs[2], "serialized_summary_metadata")
    return _SCALAR_STRING


def _infer_merge(op):
    if not op.inputs:
        raise ValueError("MergeSummary needs at least one summary to merge")
    for i, t in enumerate(op.inputs):
        require_dtype(op, t, (dtypes.string,), f"inputs[{i}]")
    return _SCALAR_STRING


# -- kernels -----------------------------------------------------------------------------------------------------
def _dims(shape) -> str:
    return "[" + ",".join("?" if d is None else str(d) for d in shape) + "]"


def _text(op, value) -> str:
    if isinstance(value, str):
        return value
    try:
        return bytes(value).decode("utf-8")
    except (TypeError, UnicodeDecodeError) as e:
        raise errors.InvalidArgumentError(None, op, f"{op.type} '{op.name}': tag {value!r} is not UTF-8 text: {e}")


def _serialized(summary) -> np.ndarray:
    out = np.empty((), dtype=object)
    out[()] = summary.SerializeToString()
    return out


def _scalar_kernel(ctx, tags, values):
    pb = tensorboard().summary_pb2
    tags, values = np.asarray(tags), np.asarray(values)
    if tags.shape != values.shape:
        single = f" (tag '{_text(ctx.op, tags[()])}')" if tags.ndim == 0 else ""
        raise errors.InvalidArgumentError(
            None, ctx.op, f"tags and values not the same shape: {_dims(tags.shape)} != {_dims(values.shape)}{single} "
            f"in ScalarSummary '{ctx.op.name}'; tf.summary.scalar takes a single value, reduce it first")
    value = [pb.Summary.Value(tag=_text(ctx.op, t), simple_value=float(v))
             for t, v in zip(tags.reshape(-1), values.reshape(-1).astype(np.float32))]
    return _serialized(pb.Summary(value=value))


def _histogram_kernel(ctx, tag, values):
    pb = tensorboard().summary_pb2
    values = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        kind = "Nan" if np.isnan(values).any() else "Infinity"
        raise errors.InvalidArgumentError(None, ctx.op, f"{kind} in summary histogram for: {ctx.op.name}")
    histo = pb.HistogramProto(**histogram_fields(values))
    return _serialized(pb.Summary(value=[pb.Summary.Value(tag=_text(ctx.op, np.asarray(tag)[()]), histo=histo)]))


def _numbered_tags(tag, kind, count, max_outputs):
    # The tag depends on the number requested, not the number produced (TF1).
    return [f"{tag}/{kind}/{i}" if max_outputs > 1 else f"{tag}/{kind}" for i in range(count)]


def _image_kernel(ctx, tag, tensor):
    pb = tensorboard().summary_pb2
    tensor = np.asarray(tensor)
    if tensor.ndim != 4 or tensor.shape[3] not in (1, 3, 4):
        raise errors.InvalidArgumentError(
            None, ctx.op, f"ImageSummary '{ctx.op.name}': tensor must be 4-D with last dim 1, 3, or 4, "
            f"not {_dims(tensor.shape)}")
    max_images = ctx.attrs["max_images"]
    batch, height, width, depth = tensor.shape
    bad_color = np.asarray(ctx.attrs["bad_color"], dtype=np.uint8)
    values = []
    for i, name in enumerate(_numbered_tags(_text(ctx.op, np.asarray(tag)[()]), "image", min(max_images, batch),
                                            max_images)):
        image = tensor[i] if tensor.dtype == np.uint8 else float_image_to_uint8(tensor[i], bad_color)
        encoded = pb.Summary.Image(height=height, width=width, colorspace=depth, encoded_image_string=encode_png(image))
        values.append(pb.Summary.Value(tag=name, image=encoded))
    return _serialized(pb.Summary(value=values))


def _audio_kernel(ctx, tag, tensor, sample_rate):
    pb = tensorboard().summary_pb2
    tensor = np.asarray(tensor, dtype=np.float32)
    if tensor.ndim not in (2, 3):
        raise errors.InvalidArgumentError(
            None, ctx.op, f"AudioSummaryV2 '{ctx.op.name}': tensor must be 3-D or 2-D, got: {_dims(tensor.shape)}")
    rate = float(np.float32(sample_rate))
    if not rate > 0:
        raise errors.InvalidArgumentError(None, ctx.op, f"AudioSummaryV2 '{ctx.op.name}': sample_rate must be > 0, "
                                                        f"got {rate}")
    if tensor.ndim == 2:
        tensor = tensor[:, :, None]
    max_outputs = ctx.attrs["max_outputs"]
    batch, frames, channels = tensor.shape
    wav_rate = max(round(rate), 1)  # lrintf, at least 1 Hz
    values = []
    for i, name in enumerate(_numbered_tags(_text(ctx.op, np.asarray(tag)[()]), "audio", min(max_outputs, batch),
                                            max_outputs)):
        audio = pb.Summary.Audio(sample_rate=rate, num_channels=channels, length_frames=frames,
                                 content_type="audio/wav", encoded_audio_string=encode_wav(tensor[i], wav_rate))
        values.append(pb.Summary.Value(tag=name, audio=audio))
    return _serialized(pb.Summary(value=values))


def _tensor_summary_kernel(ctx, tag, tensor, serialized_summary_metadata):
    tb = tensorboard()
    pb = tb.summary_pb2
    metadata = pb.SummaryMetadata.FromString(bytes(np.asarray(serialized_summary_metadata)[()]))
    tensor = np.asarray(tensor)
    if tensor.dtype == object:  # TensorProto string_val holds bytes
        tensor = as_bytes_array(tensor)
    proto = tb.make_tensor_proto(tensor)
    return _serialized(pb.Summary(value=[pb.Summary.Value(tag=_text(ctx.op, np.asarray(tag)[()]), metadata=metadata,
                                                          tensor=proto)]))


def _merge_kernel(ctx, *inputs):
    pb = tensorboard().summary_pb2
    merged = pb.Summary()
    seen = set()
    for summaries in inputs:
        for serialized in np.asarray(summaries, dtype=object).reshape(-1):
            summary = pb.Summary()
            try:
                summary.ParseFromString(bytes(serialized))
            except Exception as e:  # noqa: BLE001 - protobuf's DecodeError has no stable import path
                raise errors.InvalidArgumentError(
                    None, ctx.op, f"MergeSummary '{ctx.op.name}': could not parse one of the summary inputs: {e}")
            for value in summary.value:
                # TensorSummary values may leave the tag empty: no duplicate check for those.
                if value.tag and value.tag in seen:
                    raise errors.InvalidArgumentError(
                        None, ctx.op, f"Duplicate tag {value.tag} found in summary inputs of MergeSummary "
                        f"'{ctx.op.name}'")
                seen.add(value.tag)
                merged.value.add().CopyFrom(value)
    return _serialized(merged)


define_op("ScalarSummary", infer=_infer_scalar, kernel=_scalar_kernel, not_differentiable=True)
define_op("HistogramSummary", infer=_infer_histogram, kernel=_histogram_kernel, not_differentiable=True)
define_op("ImageSummary", infer=_infer_image, kernel=_image_kernel, not_differentiable=True)
define_op("AudioSummaryV2", infer=_infer_audio, kernel=_audio_kernel, not_differentiable=True)
define_op("TensorSummaryV2", infer=_infer_tensor_summary, kernel=_tensor_summary_kernel, not_differentiable=True)
define_op("MergeSummary", infer=_infer_merge, kernel=_merge_kernel, not_differentiable=True)


# -- public builders -----------------------------------------------------------------------------------------------
def scalar(name, tensor, collections=None, family=None):
    """Outputs a ``Summary`` protocol buffer containing a single scalar value (TF1's ``tf.summary.scalar``).

    ``tensor`` is a real numeric tensor holding one value. Returns a scalar string tensor (the
    serialized Summary), added to ``collections`` (default ``[GraphKeys.SUMMARIES]``).
    """
    with summary_scope(name, family, values=[tensor]) as (tag, scope):
        tensor = convert_to_tensor(tensor, name="values")
        val = make_tensor("ScalarSummary", [_string_constant(tag, "tags"), tensor], name=scope)
        _collect(val, collections, [GraphKeys.SUMMARIES])
    return val


def histogram(name, values, collections=None, family=None):
    """Outputs a ``Summary`` protocol buffer with a histogram of ``values`` (TF1's ``tf.summary.histogram``).

    Uses TF's default exponential buckets; a NaN or infinite value makes the run fail with
    InvalidArgumentError. Returns a scalar string tensor added to ``collections`` (default
    ``[GraphKeys.SUMMARIES]``).
    """
    with summary_scope(name, family, values=[values], default_name="HistogramSummary") as (tag, scope):
        values = convert_to_tensor(values, name="values")
        val = make_tensor("HistogramSummary", [_string_constant(tag, "tag"), values], name=scope)
        _collect(val, collections, [GraphKeys.SUMMARIES])
    return val


def image(name, tensor, max_outputs=3, collections=None, family=None):
    """Outputs a ``Summary`` protocol buffer with PNG images (TF1's ``tf.summary.image``).

    ``tensor`` is 4-D ``[batch_size, height, width, channels]`` with 1 (grayscale), 3 (RGB) or 4
    (RGBA) channels, uint8 or float. Float images are scaled to [0, 255]: by 255 / max when
    all values are non-negative, else by 127 / max|v| around 128. The first ``max_outputs``
    images are written, tagged ``<tag>/image/<i>`` (``<tag>/image`` when ``max_outputs`` is 1).
    Returns a scalar string tensor added to ``collections`` (default ``[GraphKeys.SUMMARIES]``).
    """
    with summary_scope(name, family, values=[tensor]) as (tag, scope):
        tensor = convert_to_tensor(tensor, name="tensor")
        attrs = {"max_images": _positive_int(max_outputs, "max_outputs"), "bad_color": _DEFAULT_BAD_COLOR}
        val = make_tensor("ImageSummary", [_string_constant(tag, "tag"), tensor], attrs, name=scope)
        _collect(val, collections, [GraphKeys.SUMMARIES])
    return val


def audio(name, tensor, sample_rate, max_outputs=3, collections=None, family=None):
    """Outputs a ``Summary`` protocol buffer with WAV audio (TF1's ``tf.summary.audio``).

    ``tensor`` is float32 ``[batch_size, frames, channels]`` or ``[batch_size, frames]`` with
    values in [-1, 1]; ``sample_rate`` is in Hz. The first ``max_outputs`` clips are written,
    tagged ``<tag>/audio/<i>``. Returns a scalar string tensor added to ``collections``.
    """
    with summary_scope(name, family, values=[tensor]) as (tag, scope):
        sample_rate = convert_to_tensor(sample_rate, dtype=dtypes.float32, name="sample_rate")
        tensor = convert_to_tensor(tensor, name="tensor")
        attrs = {"max_outputs": _positive_int(max_outputs, "max_outputs")}
        val = make_tensor("AudioSummaryV2", [_string_constant(tag, "tag"), tensor, sample_rate], attrs, name=scope)
        _collect(val, collections, [GraphKeys.SUMMARIES])
    return val


def tensor_summary(name, tensor, summary_description=None, collections=None, summary_metadata=None, family=None,
                   display_name=None):
    """Outputs a ``Summary`` protocol buffer holding ``tensor`` itself (TF1's ``tf.summary.tensor_summary``).

    ``summary_metadata`` is a ``SummaryMetadata`` proto (it names the TensorBoard plugin that
    displays the tensor). Returns a scalar string tensor added to ``collections``.
    """
    pb = tensorboard().summary_pb2
    metadata = pb.SummaryMetadata() if summary_metadata is None else summary_metadata
    if summary_description is not None:
        metadata.summary_description = summary_description
    if display_name is not None:
        metadata.display_name = display_name
    with summary_scope(name, family, values=[tensor]) as (tag, scope):
        tensor = convert_to_tensor(tensor, name="tensor")
        inputs = [_string_constant(tag, "tag"), tensor,
                  _string_constant(metadata.SerializeToString(), "serialized_summary_metadata")]
        val = make_tensor("TensorSummaryV2", inputs, name=scope)
        _collect(val, collections, [GraphKeys.SUMMARIES])
    return val


def text(name, tensor, collections=None):
    """Outputs a ``Summary`` protocol buffer with string ``tensor`` for TensorBoard's text tab (``tf.summary.text``).

    ``tensor`` is a string tensor of any shape (a Python string converts). Raises ValueError for
    other dtypes. Returns a scalar string tensor added to ``collections``.
    """
    tensor = convert_to_tensor(tensor)
    if tensor.dtype != dtypes.string:
        raise ValueError(f"Expected tensor {tensor.name} to have dtype string, got {tensor.dtype.name}")
    pb = tensorboard().summary_pb2
    metadata = pb.SummaryMetadata(plugin_data=pb.SummaryMetadata.PluginData(plugin_name="text"))
    return tensor_summary(name, tensor, summary_metadata=metadata, collections=collections)


def merge(inputs, collections=None, name=None):
    """Merges summaries into one ``Summary`` (TF1's ``tf.summary.merge``).

    ``inputs`` is a list of string tensors holding serialized Summary protos. A tag found twice
    fails the run with InvalidArgumentError. Returns a scalar string tensor, added to
    ``collections`` (default: none).
    """
    inputs = [convert_to_tensor(t) for t in inputs]
    with _name_scope(name, "Merge", inputs):
        val = make_tensor("MergeSummary", inputs, name=name)
        _collect(val, collections, [])
    return val


def merge_all(key=GraphKeys.SUMMARIES, scope=None, name=None):
    """Merges all summaries of collection ``key`` (TF1's ``tf.summary.merge_all``).

    With ``scope``, only summaries whose name matches it (``re.match``). Returns the merged
    scalar string tensor, or None when the collection is empty.
    """
    summary_ops = get_collection(key, scope=scope)
    if not summary_ops:
        return None
    return merge(summary_ops, name=name)


def _positive_int(value, what):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{what} must be a positive int, got {value!r}")
    return int(value)

