"""Printing tensors while a graph runs: ``tf.Print`` (op ``Print``) and ``tf.print`` (op ``PrintV2``).

Both ops are stateful, as in TF1: the compiler never folds, merges, fuses or caches
them, so they print each time a run needs them. ``Print`` passes its first input through
(use its output in place of the input); ``PrintV2`` has no output and runs when fetched
as a target or through ``tf.control_dependencies``.
"""

from __future__ import annotations

import logging
import os
import sys

import numpy as np

from graphdl import nest
from graphdl.framework.op_def import define_op
from graphdl.framework.ops import convert_to_tensor, is_tensor_like, make_op, make_tensor
from graphdl.ops.tensor_format import format_value_v2, summarize_value

__all__ = ["Print", "print_v2"]


# -- Print -------------------------------------------------------------------------------------------
def _infer_print(op):
    x = op.inputs[0]
    return [(x.shape.as_tuple(), x.dtype)]


def _print_counts(state) -> dict:
    """How many times each Print op printed in this session (for ``first_n``)."""
    counts = getattr(state, "print_counts", None)
    if counts is None:
        counts = state.print_counts = {}
    return counts


def _print_kernel(ctx, value, *data):
    first_n = ctx.attrs["first_n"]
    if first_n >= 0:
        counts = _print_counts(ctx.state)
        done = counts.get(ctx.op.name, 0)
        if done >= first_n:
            return value
        counts[ctx.op.name] = done + 1
    summarize = ctx.attrs["summarize"]
    text = ctx.attrs["message"] + "".join(f"[{summarize_value(d, summarize)}]" for d in data)
    stream = sys.stderr
    stream.write(text + "\n")
    stream.flush()
    return value


def _print_grad(op, dy):
    return [dy] + [None] * (len(op.inputs) - 1)


define_op("Print", infer=_infer_print, kernel=_print_kernel, grad=_print_grad, stateful=True)


def Print(input_, data, message=None, first_n=None, summarize=None, name=None):
    """An identity of ``input_`` that prints ``message`` and ``data`` to stderr each time it runs.

    Each tensor of ``data`` prints as its first ``summarize`` (default 3) elements in
    brackets; ``first_n`` limits how many times the op prints in a session. Use the
    returned tensor in place of ``input_`` so that the print happens.
    """
    input_ = convert_to_tensor(input_)
    data = [data] if is_tensor_like(data) else list(data or [])
    data = [convert_to_tensor(d) for d in data]
    attrs = {
        "message": "" if message is None else str(message),
        "first_n": -1 if first_n is None else int(first_n),
        "summarize": 3 if summarize is None else int(summarize),
    }
    return make_tensor("Print", [input_, *data], attrs, name or "Print")


# -- PrintV2 -----------------------------------------------------------------------------------------
_LOG_LEVELS = {"log(info)": logging.INFO, "log(warning)": logging.WARNING, "log(error)": logging.ERROR}


def _infer_print_v2(op):
    return []


def _write(stream_name: str, text: str, end: str):
    if stream_name == "stderr" or stream_name == "stdout":
        stream = sys.stderr if stream_name == "stderr" else sys.stdout
        stream.write(text + end)
        stream.flush()
    elif stream_name in _LOG_LEVELS:
        logging.getLogger("graphdl").log(_LOG_LEVELS[stream_name], text)
    else:  # file://path, appended to
        with open(stream_name[len("file://"):], "a", encoding="utf-8") as f:
            f.write(text + end)


def _print_v2_kernel(ctx, *values):
    attrs = ctx.attrs
    template = attrs["template"]
    if attrs["verbatim"]:
        item = np.asarray(values[0])[()]
        text = item.decode("utf-8", "backslashreplace") if isinstance(item, bytes) else str(item)
    else:
        pieces = [template[0]]
        for value, literal in zip(values, template[1:]):
            pieces.append(format_value_v2(value, attrs["summarize"]))
            pieces.append(literal)
        text = "".join(pieces)
    _write(attrs["output_stream"], text, attrs["end"])
    return ()


define_op("PrintV2", infer=_infer_print_v2, kernel=_print_v2_kernel, stateful=True, not_differentiable=True)


class _Slot:
    """Stands for a tensor inside a printed Python structure."""

    MARK = "\x00tensor\x00"

    def __repr__(self):
        return self.MARK


def _stream_name(output_stream) -> str:
    if output_stream is None or output_stream is sys.stderr or output_stream is sys.__stderr__:
        return "stderr"
    if output_stream is sys.stdout or output_stream is sys.__stdout__:
        return "stdout"
    if isinstance(output_stream, str) and output_stream.startswith("file://"):
        return output_stream
    level = getattr(output_stream, "__name__", None)
    if callable(output_stream) and level in ("info", "warning", "warn", "error"):
        return "log(warning)" if level == "warn" else f"log({level})"
    raise ValueError(
        f"tf.print: unsupported output_stream {output_stream!r}; use sys.stdout, sys.stderr, "
        "tf.logging.info / warning / error, or a 'file://<path>' string."
    )


def print_v2(*inputs, output_stream=None, summarize=3, sep=" ", end=os.linesep, name=None):
    """An op (``PrintV2``) that prints ``inputs`` when it runs, as ``tf.print``.

    ``output_stream`` is ``sys.stderr`` (the default, None), ``sys.stdout``, one of
    ``tf.logging.info``/``warning``/``error``, or ``"file://<path>"`` (appended to); the
    stream is looked up when the op runs.
    Tensors print NumPy-style with the first and last ``summarize`` entries of every
    dimension (all with ``summarize=-1``); other Python values print with ``str``,
    nested structures of tensors with their tensors filled in. Returns the op: fetch it,
    or create the ops that should print first under ``tf.control_dependencies([op])``.
    """
    stream = _stream_name(output_stream)
    tensors, texts = [], []
    for x in inputs:
        if is_tensor_like(x):
            tensors.append(convert_to_tensor(x))
            texts.append(_Slot.MARK)
        elif isinstance(x, (list, tuple, dict)) and any(is_tensor_like(v) for v in nest.flatten(x)):
            tensors.extend(convert_to_tensor(v) for v in nest.flatten(x) if is_tensor_like(v))
            texts.append(str(nest.map_structure(lambda v: _Slot() if is_tensor_like(v) else v, x)))
        else:
            texts.append(x.decode() if isinstance(x, bytes) else str(x))
    verbatim = len(inputs) == 1 and len(tensors) == 1 and tensors[0].dtype.name == "string" and tensors[0].shape.ndims == 0
    template = tuple(sep.join(texts).split(_Slot.MARK))
    attrs = {"template": template, "output_stream": stream, "summarize": int(summarize), "end": end,
             "verbatim": verbatim}
    return make_op("PrintV2", tensors, attrs, name or "PrintV2")
