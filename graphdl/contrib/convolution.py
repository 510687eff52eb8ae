"""``tf.contrib.layers.conv2d`` (``convolution2d``): TF1's contrib convolution with ``Conv/weights`` and
``Conv/biases``, ReLU by default and an optional ``normalizer_fn`` in place of the biases."""

from __future__ import annotations

from graphdl import initializers
from graphdl.framework.graph import GraphKeys, get_default_graph
from graphdl.framework.ops import convert_to_tensor
from graphdl.ops.nn_ops import relu

__all__ = ["conv2d", "convolution2d"]

_ZEROS = initializers.zeros_initializer()


def _pair(value, what):
    if isinstance(value, int):
        return value, value
    value = tuple(int(v) for v in value)
    if len(value) != 2:
        raise ValueError(f"contrib.layers.conv2d: {what} must be an int or a pair of ints, got {value}")
    return value


def _add_to_collections(variable, collections, kind):
    """TF1's variables_collections: a list for every variable, or a dict keyed 'weights' / 'biases'."""
    names = collections.get(kind) if isinstance(collections, dict) else collections
    graph = get_default_graph()
    for name in [names] if isinstance(names, str) else (names or []):
        if variable not in graph.get_collection(name):
            graph.add_to_collection(name, variable)


def convolution2d(inputs, num_outputs, kernel_size, stride=1, padding="SAME", data_format=None, rate=1,
                  activation_fn=relu, normalizer_fn=None, normalizer_params=None, weights_initializer=None,
                  weights_regularizer=None, biases_initializer=_ZEROS,
                  biases_regularizer=None, reuse=None, variables_collections=None, outputs_collections=None,
                  trainable=True, scope=None):
    """``activation_fn(conv2d(inputs, weights) + biases)`` over 4-D NHWC (or NCHW) ``inputs``.

    ``weights`` (kh, kw, in, num_outputs; Xavier-initialized by default) and ``biases`` live in
    the variable scope ``scope`` (default ``Conv``, ``Conv_1``, ...) and in MODEL_VARIABLES.
    With ``normalizer_fn`` (or ``biases_initializer=None``) there are no biases;
    ``rate`` dilates the kernel.
    """
    from graphdl import nn
    from graphdl.contrib.layers import xavier_initializer
    from graphdl.variable_scope import get_variable, variable_scope

    if data_format not in (None, "NHWC", "NCHW"):
        raise ValueError(f"data_format has to be either NCHW or NHWC, got {data_format!r}.")
    padding = str(padding).upper()
    if padding not in ("SAME", "VALID"):
        raise ValueError(f"contrib.layers.conv2d: padding must be 'SAME' or 'VALID', got {padding!r}")
    first = data_format == "NCHW"
    (kh, kw), (sh, sw), (dh, dw) = _pair(kernel_size, "kernel_size"), _pair(stride, "stride"), _pair(rate, "rate")
    inputs = convert_to_tensor(inputs)
    if inputs.shape.ndims != 4:
        raise ValueError(f"contrib.layers.conv2d: inputs '{inputs.name}' must be 4-D, got shape {inputs.shape}")
    channels = inputs.shape[1 if first else 3].value
    if channels is None:
        raise ValueError(f"contrib.layers.conv2d: the channel dimension of inputs '{inputs.name}' (shape "
                         f"{inputs.shape}) must be known")
    collections = [GraphKeys.GLOBAL_VARIABLES, GraphKeys.MODEL_VARIABLES]
    with variable_scope(scope, default_name="Conv", values=[inputs], reuse=reuse):
        weights = get_variable("weights", [kh, kw, channels, int(num_outputs)], dtype=inputs.dtype,
                               initializer=weights_initializer or xavier_initializer(),
                               regularizer=weights_regularizer, trainable=trainable, collections=collections)
        _add_to_collections(weights, variables_collections, "weights")
        outputs = nn.conv2d(inputs, weights, strides=[1, 1, sh, sw] if first else [1, sh, sw, 1], padding=padding,
                            data_format="NCHW" if first else "NHWC",
                            dilations=[1, 1, dh, dw] if first else [1, dh, dw, 1])
        if normalizer_fn is None and biases_initializer is not None:
            biases = get_variable("biases", [int(num_outputs)], dtype=inputs.dtype, initializer=biases_initializer,
                                  regularizer=biases_regularizer, trainable=trainable, collections=collections)
            _add_to_collections(biases, variables_collections, "biases")
            outputs = nn.bias_add(outputs, biases, data_format="NCHW" if first else "NHWC")
        if normalizer_fn is not None:
            outputs = normalizer_fn(outputs, **(normalizer_params or {}))
        if activation_fn is not None:
            outputs = activation_fn(outputs)
        for name in [outputs_collections] if isinstance(outputs_collections, str) else (outputs_collections or []):
            get_default_graph().add_to_collection(name, outputs)
        return outputs


conv2d = convolution2d
