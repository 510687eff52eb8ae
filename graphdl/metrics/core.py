"""Streaming metrics of TF1's ``tf.metrics``: mean, accuracy, errors, counts, precision and recall.

Each metric returns ``(value, update_op)``: ``update_op`` adds a batch to the metric's
running totals (local variables in ``LOCAL_VARIABLES`` and ``METRIC_VARIABLES``, created
under a variable scope named like TF1's, e.g. ``accuracy/total``) and returns the metric
so far; ``value`` reads it without updating. Run ``tf.local_variables_initializer()`` to
(re)start the totals.
"""

from __future__ import annotations

from graphdl import dtypes
from graphdl.framework.graph import GraphKeys
from graphdl.framework.ops import add_to_collections, control_dependencies, convert_to_tensor, is_tensor_like
from graphdl.ops import array_ops, layout_ops, math_ops, reduction_ops, state_ops
from graphdl.ops.compare_ops import equal, greater, logical_and, logical_not, where
from graphdl.ops.control_ops import identity
from graphdl.ops.range_ops import size
from graphdl.variable_scope import variable_scope
from graphdl.variables import Variable

__all__ = [
    "accuracy", "false_negatives", "false_positives", "mean", "mean_absolute_error", "mean_squared_error", "precision",
    "recall", "root_mean_squared_error", "true_negatives", "true_positives",
]


def metric_variable(shape, dtype, validate_shape=True, name=None):
    """A zero-initialized, non-trainable variable in the LOCAL_VARIABLES and METRIC_VARIABLES collections."""
    return Variable(lambda: array_ops.zeros(shape, dtype), trainable=False,
                    collections=[GraphKeys.LOCAL_VARIABLES, GraphKeys.METRIC_VARIABLES],
                    validate_shape=validate_shape, name=name)


def tensors_of(*values) -> list:
    """The tensors among ``values`` (for scopes that pick their graph from them)."""
    return [v for v in values if is_tensor_like(v)]


def publish(value, update_op, metrics_collections, updates_collections):
    """Add the metric's value and update op to the requested collections; returns the pair."""
    if metrics_collections:
        add_to_collections(metrics_collections, value)
    if updates_collections:
        add_to_collections(updates_collections, update_op)
    return value, update_op


def _squeeze_last(x, other):
    """``x`` without its last dim when it has one more dim than ``other`` and that dim can be 1."""
    xr, orr = x.shape.ndims, other.shape.ndims
    if xr is not None and orr is not None and xr - orr == 1 and x.shape.as_tuple()[-1] in (None, 1):
        return layout_ops.squeeze(x, [-1])
    return x


def remove_squeezable_dimensions(predictions, labels, weights):
    """TF1's alignment of metric inputs: drop a trailing size-1 dim that predictions or labels has in excess, and
    squeeze or expand ``weights`` by one dim to match the predictions' rank."""
    predictions = convert_to_tensor(predictions)
    if labels is not None:
        labels = convert_to_tensor(labels)
        predictions, labels = _squeeze_last(predictions, labels), _squeeze_last(labels, predictions)
        if not predictions.shape.is_compatible_with(labels.shape):
            raise ValueError(f"Shapes {predictions.shape} and {labels.shape} are incompatible: predictions "
                             f"'{predictions.name}' and labels '{labels.name}' must have the same shape")
    if weights is None:
        return predictions, labels, None
    weights = convert_to_tensor(weights)
    wr, pr = weights.shape.ndims, predictions.shape.ndims
    if wr and pr is not None:
        if wr - pr == 1:
            weights = layout_ops.squeeze(weights, [-1])
        elif pr - wr == 1:
            weights = layout_ops.expand_dims(weights, -1)
    return predictions, labels, weights


def broadcast_weights(weights, values):
    """``weights`` broadcast to the shape of ``values`` (rank 0, or the same rank with dims 1 or equal)."""
    values = convert_to_tensor(values)
    weights = convert_to_tensor(weights, dtype=values.dtype)
    ws, vs = weights.shape, values.shape
    if ws.is_fully_defined() and vs.is_fully_defined() and ws.is_compatible_with(vs):
        return weights
    if ws.ndims is not None and vs.ndims is not None and ws.ndims != 0:
        wd, vd = ws.as_tuple(), vs.as_tuple()
        if len(wd) != len(vd) or any(None not in (w, v) and w not in (1, v) for w, v in zip(wd, vd)):
            raise ValueError(f"weights can not be broadcast to values. values.shape={vs}, weights.shape={ws} "
                             f"(weights '{weights.name}' must be a scalar or have the rank of values, each dim 1 "
                             "or equal)")
    return math_ops.multiply(weights, array_ops.ones_like(values), name="broadcast_weights")


# -- mean and the metrics built on it --------------------------------------------------------------------------
def mean(values, weights=None, metrics_collections=None, updates_collections=None, name=None):
    """The (weighted) mean of all ``values`` seen so far: ``sum(weights * values) / sum(weights)``."""
    with variable_scope(name, "mean", tensors_of(values, weights)):
        values = math_ops.cast(convert_to_tensor(values), dtypes.float32)
        total = metric_variable([], dtypes.float32, name="total")
        count = metric_variable([], dtypes.float32, name="count")
        if weights is None:
            num_values = math_ops.cast(size(values), dtypes.float32)
        else:
            values, _, weights = remove_squeezable_dimensions(values, None, weights)
            weights = broadcast_weights(math_ops.cast(weights, dtypes.float32), values)
            values = math_ops.multiply(values, weights)
            num_values = reduction_ops.reduce_sum(weights)
        update_total = state_ops.assign_add(total, reduction_ops.reduce_sum(values))
        with control_dependencies([values]):
            update_count = state_ops.assign_add(count, num_values)
        value = math_ops.div_no_nan(total, math_ops.maximum(count, 0.0), name="value")
        update_op = math_ops.div_no_nan(update_total, math_ops.maximum(update_count, 0.0), name="update_op")
        return publish(value, update_op, metrics_collections, updates_collections)


def accuracy(labels, predictions, weights=None, metrics_collections=None, updates_collections=None, name=None):
    """The (weighted) fraction of ``predictions`` equal to ``labels``; totals under ``accuracy/``."""
    predictions, labels, weights = remove_squeezable_dimensions(predictions, labels, weights)
    if labels.dtype != predictions.dtype:
        predictions = math_ops.cast(predictions, labels.dtype)
    is_correct = math_ops.cast(equal(predictions, labels), dtypes.float32)
    return mean(is_correct, weights, metrics_collections, updates_collections, name or "accuracy")


def mean_squared_error(labels, predictions, weights=None, metrics_collections=None, updates_collections=None,
                       name=None):
    """The (weighted) mean of ``(labels - predictions)**2``."""
    predictions, labels, weights = remove_squeezable_dimensions(predictions, labels, weights)
    squared_error = math_ops.squared_difference(labels, predictions)
    return mean(squared_error, weights, metrics_collections, updates_collections, name or "mean_squared_error")


def mean_absolute_error(labels, predictions, weights=None, metrics_collections=None, updates_collections=None,
                        name=None):
    """The (weighted) mean of ``|predictions - labels|``."""
    from graphdl.ops.unary_math_ops import abs as abs_

    predictions, labels, weights = remove_squeezable_dimensions(predictions, labels, weights)
    absolute_errors = abs_(predictions - labels)
    return mean(absolute_errors, weights, metrics_collections, updates_collections, name or "mean_absolute_error")


def root_mean_squared_error(labels, predictions, weights=None, metrics_collections=None, updates_collections=None,
                            name=None):
    """The square root of the (weighted) mean squared error."""
    from graphdl.ops.unary_math_ops import sqrt

    predictions, labels, weights = remove_squeezable_dimensions(predictions, labels, weights)
    mse, update_mse = mean_squared_error(labels, predictions, weights, None, None, name or "root_mean_squared_error")
    return publish(sqrt(mse), sqrt(update_mse), metrics_collections, updates_collections)


# -- counts, precision, recall ------------------------------------------------------------------------------
def _count_condition(values, weights, metrics_collections, updates_collections):
    count = metric_variable([], dtypes.float32, name="count")
    values = math_ops.cast(values, dtypes.float32)
    if weights is not None:
        weights = math_ops.cast(convert_to_tensor(weights), dtypes.float32)
        if weights.shape.ndims not in (None, 0, values.shape.ndims):
            raise ValueError(f"weights '{weights.name}' of shape {weights.shape} must be a scalar or have the rank of "
                             f"the values ({values.shape})")
        values = math_ops.multiply(values, weights)
    value = identity(count)
    update_op = state_ops.assign_add(count, reduction_ops.reduce_sum(values))
    return publish(value, update_op, metrics_collections, updates_collections)


def _as_bools(labels, predictions, weights):
    return remove_squeezable_dimensions(math_ops.cast(convert_to_tensor(predictions), dtypes.bool_),
                                        math_ops.cast(convert_to_tensor(labels), dtypes.bool_), weights)


def _counter(default_name, label_value, prediction_value):
    def metric(labels, predictions, weights=None, metrics_collections=None, updates_collections=None, name=None):
        with variable_scope(name, default_name, tensors_of(predictions, labels, weights)):
            predictions, labels, weights = _as_bools(labels, predictions, weights)
            is_label = labels if label_value else logical_not(labels)
            is_prediction = predictions if prediction_value else logical_not(predictions)
            return _count_condition(logical_and(is_label, is_prediction), weights, metrics_collections,
                                    updates_collections)

    kind = {(True, True): "true positives", (False, True): "false positives", (True, False): "false negatives",
            (False, False): "true negatives"}[(label_value, prediction_value)]
    metric.__name__ = default_name
    metric.__doc__ = (f"The (weighted) number of {kind}: labels {label_value} where predictions are "
                      f"{prediction_value} (both cast to bool).")
    return metric


true_positives = _counter("true_positives", True, True)
false_positives = _counter("false_positives", False, True)
false_negatives = _counter("false_negatives", True, False)
true_negatives = _counter("true_negatives", False, False)


def _ratio(default_name, other):
    def metric(labels, predictions, weights=None, metrics_collections=None, updates_collections=None, name=None):
        with variable_scope(name, default_name, tensors_of(predictions, labels, weights)):
            predictions, labels, weights = _as_bools(labels, predictions, weights)
            tp, tp_update = true_positives(labels, predictions, weights)
            rest, rest_update = other(labels, predictions, weights)

            def ratio(t, r, op_name):
                return where(greater(t + r, 0.0), math_ops.divide(t, t + r), 0.0, name=op_name)

            return publish(ratio(tp, rest, "value"), ratio(tp_update, rest_update, "update_op"),
                           metrics_collections, updates_collections)

    metric.__name__ = default_name
    return metric


precision = _ratio("precision", false_positives)
precision.__doc__ = "``true_positives / (true_positives + false_positives)`` so far (0 when there are none)."
recall = _ratio("recall", false_negatives)
recall.__doc__ = "``true_positives / (true_positives + false_negatives)`` so far (0 when there are none)."
