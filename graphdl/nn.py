"""The ``tf.nn`` namespace: activations, softmax, cross-entropy losses, dropout, normalization helpers."""

from graphdl.ops.math_ops import log_sigmoid, sigmoid, tanh
from graphdl.ops.nn_impl import (
    batch_normalization,
    crelu,
    dropout,
    l2_normalize,
    moments,
    relu_layer,
    swish,
    xw_plus_b,
    zero_fraction,
)
from graphdl.ops.nn_loss_ops import (
    sigmoid_cross_entropy_with_logits,
    softmax_cross_entropy_with_logits,
    softmax_cross_entropy_with_logits_v2,
    sparse_softmax_cross_entropy_with_logits,
    weighted_cross_entropy_with_logits,
)
from graphdl.ops.nn_ops import (
    bias_add,
    elu,
    l2_loss,
    leaky_relu,
    log_softmax,
    relu,
    relu6,
    selu,
    softmax,
    softplus,
    softsign,
)

__all__ = [
    "batch_normalization",
    "bias_add",
    "crelu",
    "dropout",
    "elu",
    "l2_loss",
    "l2_normalize",
    "leaky_relu",
    "log_sigmoid",
    "log_softmax",
    "moments",
    "relu",
    "relu6",
    "relu_layer",
    "selu",
    "sigmoid",
    "sigmoid_cross_entropy_with_logits",
    "softmax",
    "softmax_cross_entropy_with_logits",
    "softmax_cross_entropy_with_logits_v2",
    "softplus",
    "softsign",
    "sparse_softmax_cross_entropy_with_logits",
    "swish",
    "tanh",
    "weighted_cross_entropy_with_logits",
    "xw_plus_b",
    "zero_fraction",
]

