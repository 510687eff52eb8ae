"""``tf.contrib.layers``: initializers, regularizers, ``flatten`` and ``fully_connected`` as TF1 had them."""

from __future__ import annotations

from graphdl import dtypes
from graphdl.contrib.convolution import conv2d, convolution2d
from graphdl.ops.nn_ops import relu
from graphdl.regularizers import (
    apply_regularization,
    l1_l2_regularizer,
    l1_regularizer,
    l2_regularizer,
    sum_regularizer,
)

__all__ = [
    "apply_regularization",
    "conv2d",
    "convolution2d",
    "flatten",
    "fully_connected",
    "l1_l2_regularizer",
    "l1_regularizer",
    "l2_regularizer",
    "sum_regularizer",
    "variance_scaling_initializer",
    "xavier_initializer",
    "xavier_initializer_conv2d",
]


def variance_scaling_initializer(factor=2.0, mode="FAN_IN", uniform=False, seed=None, dtype=dtypes.float32):
    """He-style initializer: variance ``factor / n``, ``n`` the fan in, fan out or their average (``mode``)."""
    from graphdl.initializers import VarianceScaling

    if mode not in ("FAN_IN", "FAN_OUT", "FAN_AVG"):
        raise TypeError(f"variance_scaling_initializer: unknown mode {mode!r}; expected 'FAN_IN', 'FAN_OUT' or 'FAN_AVG'")
    return VarianceScaling(scale=float(factor), mode=mode.lower(),
                           distribution="uniform" if uniform else "truncated_normal", seed=seed, dtype=dtype)


def xavier_initializer(uniform=True, seed=None, dtype=dtypes.float32):
    """Glorot/Xavier initializer: variance ``1 / fan_avg``, uniform or truncated normal."""
    return variance_scaling_initializer(factor=1.0, mode="FAN_AVG", uniform=uniform, seed=seed, dtype=dtype)


xavier_initializer_conv2d = xavier_initializer


def flatten(inputs, outputs_collections=None, scope=None):
    """Reshape to (batch, everything else), keeping the batch dimension."""
    from graphdl.layers import flatten as flatten_layer

    outputs = flatten_layer(inputs, name=scope or "Flatten")
    _collect(outputs, outputs_collections)
    return outputs


def _collect(outputs, collections):
    if collections:
        from graphdl.framework.graph import get_default_graph

        for name in [collections] if isinstance(collections, str) else collections:
            get_default_graph().add_to_collection(name, outputs)


def fully_connected(inputs, num_outputs, activation_fn=relu, normalizer_fn=None, normalizer_params=None,
                    weights_initializer=None, weights_regularizer=None, biases_initializer=None,
                    biases_regularizer=None, reuse=None, variables_collections=None, outputs_collections=None,
                    trainable=True, scope=None):
    """``activation_fn(inputs @ weights + biases)`` with variables ``fully_connected/weights`` and ``/biases``.

    ``activation_fn`` defaults to ReLU, as in TF1; pass ``None`` for a linear layer.
    """
    from graphdl import initializers, nn
    from graphdl.framework.ops import convert_to_tensor
    from graphdl.ops.matmul_ops import matmul, tensordot
    from graphdl.variable_scope import get_variable, variable_scope

    inputs = convert_to_tensor(inputs)
    width = inputs.shape[-1].value if inputs.shape.ndims else None
    if width is None:
        raise ValueError(
            f"fully_connected: the last dimension of inputs '{inputs.name}' (shape {inputs.shape}) must be known"
        )
    with variable_scope(scope, default_name="fully_connected", values=[inputs], reuse=reuse):
        weights = get_variable("weights", [width, int(num_outputs)], dtype=inputs.dtype,
                               initializer=weights_initializer or xavier_initializer(),
                               regularizer=weights_regularizer, trainable=trainable)
        _collect(weights, variables_collections)
        outputs = matmul(inputs, weights) if inputs.shape.ndims == 2 else tensordot(
            inputs, weights, [[inputs.shape.ndims - 1], [0]])
        if normalizer_fn is not None:
            outputs = normalizer_fn(outputs, **(normalizer_params or {}))
        else:
            biases = get_variable("biases", [int(num_outputs)], dtype=inputs.dtype,
                                  initializer=biases_initializer or initializers.zeros_initializer(),
                                  regularizer=biases_regularizer, trainable=trainable)
            _collect(biases, variables_collections)
            outputs = nn.bias_add(outputs, biases)
        if activation_fn is not None:
            outputs = activation_fn(outputs)
        _collect(outputs, outputs_collections)
        return outputs
