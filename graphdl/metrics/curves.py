"""Threshold and class metrics of TF1's ``tf.metrics``: auc, counts/precision/recall at thresholds, mean_iou, and
``tf.confusion_matrix``."""

from __future__ import annotations

import logging

import numpy as np

from graphdl import dtypes
from graphdl.framework.constant_value import constant_value
from graphdl.framework.ops import constant_tensor, control_dependencies, convert_to_tensor, name_scope
from graphdl.metrics.core import broadcast_weights, metric_variable, publish, remove_squeezable_dimensions, tensors_of
from graphdl.ops import array_ops, layout_ops, math_ops, reduction_ops, state_ops
from graphdl.ops.check_ops import assert_greater_equal, assert_less, assert_less_equal, assert_non_negative
from graphdl.ops.compare_ops import greater, logical_and, logical_not, not_equal, where
from graphdl.ops.control_ops import identity
from graphdl.ops.indexing_ops import scatter_nd
from graphdl.ops.unary_math_ops import log
from graphdl.variable_scope import variable_scope

__all__ = [
    "auc", "confusion_matrix", "false_negatives_at_thresholds", "false_positives_at_thresholds", "mean_iou",
    "precision_at_thresholds", "recall_at_thresholds", "true_negatives_at_thresholds", "true_positives_at_thresholds",
]

_KINDS = ("tp", "fn", "tn", "fp")
_VARIABLE_NAMES = {"tp": "true_positives", "fn": "false_negatives", "tn": "true_negatives", "fp": "false_positives"}


def confusion_matrix_at_thresholds(labels, predictions, thresholds, weights=None, includes=_KINDS):
    """Per threshold, the (weighted) counts of tp/fn/tn/fp with ``prediction > threshold`` read as positive.

    Returns ``(values, update_ops)``, dicts keyed by the entries of ``includes``: the count
    variables (shape ``[len(thresholds)]``) and the ops adding a batch to them.
    """
    predictions = convert_to_tensor(predictions)
    checks = [assert_greater_equal(predictions, math_ops.cast(0.0, predictions.dtype),
                                   message="predictions must be in [0, 1]"),
              assert_less_equal(predictions, math_ops.cast(1.0, predictions.dtype),
                                message="predictions must be in [0, 1]")]
    with control_dependencies(checks):
        predictions, labels, weights = remove_squeezable_dimensions(
            math_ops.cast(predictions, dtypes.float32), math_ops.cast(convert_to_tensor(labels), dtypes.bool_),
            weights)
    n = len(thresholds)
    predictions_2d = array_ops.reshape(predictions, [-1, 1])
    labels_2d = array_ops.reshape(labels, [1, -1])
    count = predictions_2d.shape.as_tuple()[0]
    count = count if count is not None else array_ops.shape(predictions_2d)[0]
    thresholds_tiled = layout_ops.tile(constant_tensor(np.asarray(thresholds, np.float32).reshape(n, 1)),
                                       array_ops.stack([1, count]))
    pred_is_pos = greater(layout_ops.tile(layout_ops.transpose(predictions_2d), [n, 1]), thresholds_tiled)
    label_is_pos = layout_ops.tile(labels_2d, [n, 1])
    weights_tiled = None
    if weights is not None:
        weights = broadcast_weights(math_ops.cast(convert_to_tensor(weights), dtypes.float32), predictions)
        weights_tiled = layout_ops.tile(array_ops.reshape(weights, [1, -1]), [n, 1])
    conditions = {
        "tp": lambda: logical_and(label_is_pos, pred_is_pos),
        "fn": lambda: logical_and(label_is_pos, logical_not(pred_is_pos)),
        "tn": lambda: logical_and(logical_not(label_is_pos), logical_not(pred_is_pos)),
        "fp": lambda: logical_and(logical_not(label_is_pos), pred_is_pos),
    }
    values, update_ops = {}, {}
    for kind in _KINDS:
        if kind not in includes:
            continue
        variable = metric_variable([n], dtypes.float32, name=_VARIABLE_NAMES[kind])
        hits = math_ops.cast(conditions[kind](), dtypes.float32)
        if weights_tiled is not None:
            hits = hits * weights_tiled
        update_ops[kind] = state_ops.assign_add(variable, reduction_ops.reduce_sum(hits, 1))
        values[kind] = variable
    return values, update_ops


def _interpolate_pr_auc(tp, fp, fn, n):
    """PR-AUC by Davis & Goadrich's interpolation between thresholds (``summation_method='careful_interpolation'``)."""
    dtp = tp[:n - 1] - tp[1:]
    p = tp + fp
    prec_slope = math_ops.div_no_nan(dtp, math_ops.maximum(p[:n - 1] - p[1:], 0.0), name="prec_slope")
    intercept = tp[1:] - math_ops.multiply(prec_slope, p[1:])
    safe_p_ratio = where(logical_and(greater(p[:n - 1], 0.0), greater(p[1:], 0.0)),
                         math_ops.div_no_nan(p[:n - 1], math_ops.maximum(p[1:], 0.0), name="recall_relative_ratio"),
                         array_ops.ones_like(p[1:]))
    return reduction_ops.reduce_sum(
        math_ops.div_no_nan(prec_slope * (dtp + intercept * log(safe_p_ratio)),
                            math_ops.maximum(tp[1:] + fn[1:], 0.0), name="pr_auc_increment"),
        name="interpolate_pr_auc")


def _area(counts, curve, summation_method, n, name):
    tp, fn, tn, fp = (counts[k] for k in _KINDS)
    if curve == "PR" and summation_method == "careful_interpolation":
        return _interpolate_pr_auc(tp, fp, fn, n)
    epsilon = 1.0e-6
    rec = math_ops.divide(tp + epsilon, tp + fn + epsilon)
    if curve == "ROC":
        x, y = math_ops.divide(fp, fp + tn + epsilon), rec
    else:
        x, y = rec, math_ops.divide(tp + epsilon, tp + fp + epsilon)
    if summation_method in ("trapezoidal", "careful_interpolation"):
        heights = (y[:n - 1] + y[1:]) / 2.0
    elif summation_method == "minoring":
        heights = math_ops.minimum(y[:n - 1], y[1:])
    else:
        heights = math_ops.maximum(y[:n - 1], y[1:])
    return reduction_ops.reduce_sum(math_ops.multiply(x[:n - 1] - x[1:], heights), name=name)


def auc(labels, predictions, weights=None, num_thresholds=200, metrics_collections=None, updates_collections=None,
        curve="ROC", name=None, summation_method="trapezoidal", thresholds=None):
    """The area under the ROC (or PR) curve of ``predictions`` in [0, 1] against bool ``labels``, as TF1 computes it.

    Counts tp/fn/tn/fp at ``num_thresholds`` thresholds evenly spaced over [0, 1] (or at
    ``thresholds`` plus the two end points) and sums the areas by ``summation_method``:
    'trapezoidal' (default), 'careful_interpolation' (PR only differs), 'minoring' or 'majoring'.
    """
    if curve not in ("ROC", "PR"):
        raise ValueError(f"curve must be either ROC or PR, {curve} unknown")
    if summation_method not in ("trapezoidal", "careful_interpolation", "minoring", "majoring"):
        raise ValueError(f"Invalid summation_method: {summation_method}")
    with variable_scope(name, "auc", tensors_of(labels, predictions, weights)):
        kepsilon = 1e-7  # the end points sit just outside [0, 1] so every prediction falls between them
        if thresholds is not None:
            inner = sorted(float(t) for t in thresholds)
            num_thresholds = len(inner) + 2
        else:
            if num_thresholds < 2:
                raise ValueError(f"auc: num_thresholds must be at least 2, got {num_thresholds}")
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        all_thresholds = [0.0 - kepsilon] + inner + [1.0 + kepsilon]
        values, update_ops = confusion_matrix_at_thresholds(labels, predictions, all_thresholds, weights)
        if curve == "PR" and summation_method == "trapezoidal":
            logging.getLogger("graphdl").warning(
                'Trapezoidal rule is known to produce incorrect PR-AUCs; please switch to "careful_interpolation" '
                "instead.")
        value = _area(values, curve, summation_method, num_thresholds, "value")
        update_op = _area(update_ops, curve, summation_method, num_thresholds, "update_op")
        return publish(value, update_op, metrics_collections, updates_collections)


def _at_thresholds(default_name, kind):
    def metric(labels, predictions, thresholds, weights=None, metrics_collections=None, updates_collections=None,
               name=None):
        with variable_scope(name, default_name, tensors_of(predictions, labels, weights)):
            values, update_ops = confusion_matrix_at_thresholds(labels, predictions, thresholds, weights, (kind,))
            return publish(identity(values[kind]), update_ops[kind], metrics_collections, updates_collections)

    metric.__name__ = f"{_VARIABLE_NAMES[kind]}_at_thresholds"
    metric.__doc__ = f"The (weighted) {_VARIABLE_NAMES[kind].replace('_', ' ')} at each of ``thresholds``."
    return metric


true_positives_at_thresholds = _at_thresholds("true_positives", "tp")
false_positives_at_thresholds = _at_thresholds("false_positives", "fp")
true_negatives_at_thresholds = _at_thresholds("true_negatives", "tn")
false_negatives_at_thresholds = _at_thresholds("false_negatives", "fn")


def _ratio_at_thresholds(default_name, other):
    def metric(labels, predictions, thresholds, weights=None, metrics_collections=None, updates_collections=None,
               name=None):
        with variable_scope(name, default_name, tensors_of(predictions, labels, weights)):
            values, update_ops = confusion_matrix_at_thresholds(labels, predictions, thresholds, weights,
                                                                ("tp", other))
            stem = default_name.split("_")[0]

            def ratio(tp, rest, suffix):
                return math_ops.divide(tp, 1e-7 + tp + rest, name=f"{stem}_{suffix}")

            return publish(ratio(values["tp"], values[other], "value"),
                           ratio(update_ops["tp"], update_ops[other], "update_op"),
                           metrics_collections, updates_collections)

    metric.__name__ = default_name
    return metric


precision_at_thresholds = _ratio_at_thresholds("precision_at_thresholds", "fp")
precision_at_thresholds.__doc__ = "``tp / (tp + fp)`` at each of ``thresholds`` (predictions above one are positive)."
recall_at_thresholds = _ratio_at_thresholds("recall_at_thresholds", "fn")
recall_at_thresholds.__doc__ = "``tp / (tp + fn)`` at each of ``thresholds`` (predictions above one are positive)."


# -- confusion matrix and mean IoU ----------------------------------------------------------------------------
def confusion_matrix(labels, predictions, num_classes=None, dtype=dtypes.int32, name=None, weights=None):
    """The ``[num_classes, num_classes]`` matrix counting (weighted) ``(labels[i], predictions[i])`` pairs.

    Rows are labels, columns predictions; ``num_classes`` defaults to one more than the
    largest label or prediction. Negative or out-of-range entries fail at run time.
    """
    with name_scope(name, "confusion_matrix", tensors_of(predictions, labels, num_classes, weights)):
        labels = convert_to_tensor(labels, name="labels")
        predictions = convert_to_tensor(predictions, name="predictions")
        predictions, labels, _ = remove_squeezable_dimensions(predictions, labels, None)
        labels, predictions = math_ops.cast(labels, dtypes.int64), math_ops.cast(predictions, dtypes.int64)
        checks = [assert_non_negative(labels, message="`labels` contains negative values"),
                  assert_non_negative(predictions, message="`predictions` contains negative values")]
        if num_classes is None:
            num_classes = math_ops.maximum(reduction_ops.reduce_max(predictions), reduction_ops.reduce_max(labels)) + 1
        else:
            bound = math_ops.cast(convert_to_tensor(num_classes), dtypes.int64)
            checks += [assert_less(labels, bound, message="`labels` out of bound"),
                       assert_less(predictions, bound, message="`predictions` out of bound")]
            num_classes = bound
        dtype = dtypes.as_dtype(dtype)
        if weights is None:
            values = array_ops.ones_like(predictions, dtype=dtype)
        else:
            weights = convert_to_tensor(weights, name="weights")
            if not predictions.shape.is_compatible_with(weights.shape):
                raise ValueError(f"confusion_matrix: weights shape {weights.shape} must match predictions shape "
                                 f"{predictions.shape}")
            values = math_ops.cast(weights, dtype)
        with control_dependencies(checks):
            indices = array_ops.stack([labels, predictions], axis=1)
        return scatter_nd(indices, values, array_ops.stack([num_classes, num_classes]))


def _flat(t):
    """``t`` as a vector (None stays None), as TF1 flattens the inputs of mean_iou."""
    if t is None:
        return None
    t = convert_to_tensor(t)
    return array_ops.reshape(t, [-1]) if t.shape.ndims is None or t.shape.ndims > 1 else t


def mean_iou(labels, predictions, num_classes, weights=None, metrics_collections=None, updates_collections=None,
             name=None):
    """The mean over classes of intersection-over-union, from a running confusion matrix.

    As in TF1, classes absent from both labels and predictions are left out of the mean,
    and ``update_op`` returns the updated confusion matrix (float64), not the IoU.
    """
    with variable_scope(name, "mean_iou", tensors_of(predictions, labels, weights)):
        predictions, labels = convert_to_tensor(predictions), convert_to_tensor(labels)
        if not predictions.shape.is_compatible_with(labels.shape):
            raise ValueError(f"Shapes {predictions.shape} and {labels.shape} are incompatible (predictions and labels "
                             "of mean_iou)")
        n = constant_value(num_classes) if hasattr(num_classes, "op") else num_classes
        if n is None:
            raise ValueError("mean_iou needs num_classes as a Python int or a constant")
        n = int(n)
        total_cm = metric_variable([n, n], dtypes.float64, name="total_confusion_matrix")
        current_cm = confusion_matrix(_flat(labels), _flat(predictions), n, weights=_flat(weights), dtype=dtypes.float64)
        update_op = state_ops.assign_add(total_cm, current_cm)

        sum_over_row = math_ops.cast(reduction_ops.reduce_sum(total_cm, 0), dtypes.float32)
        sum_over_col = math_ops.cast(reduction_ops.reduce_sum(total_cm, 1), dtypes.float32)
        diag = math_ops.cast(reduction_ops.reduce_sum(total_cm * np.eye(n), 1), dtypes.float32)
        denominator = sum_over_row + sum_over_col - diag
        num_valid = reduction_ops.reduce_sum(math_ops.cast(not_equal(denominator, 0.0), dtypes.float32))
        denominator = where(greater(denominator, 0.0), denominator, array_ops.ones_like(denominator))
        iou = math_ops.divide(diag, denominator)
        value = where(greater(num_valid, 0.0), reduction_ops.reduce_sum(iou, name="mean_iou") / num_valid, 0.0)
        return publish(value, update_op, metrics_collections, updates_collections)
