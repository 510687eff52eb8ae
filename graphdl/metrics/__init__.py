"""TF1's ``tf.metrics``: streaming metrics returning ``(value, update_op)`` over local variables.

Run ``tf.local_variables_initializer()`` before the first update; each run of ``update_op``
adds a batch, ``value`` reads the metric so far.
"""

from graphdl.metrics.core import (
    accuracy,
    false_negatives,
    false_positives,
    mean,
    mean_absolute_error,
    mean_squared_error,
    precision,
    recall,
    root_mean_squared_error,
    true_negatives,
    true_positives,
)
from graphdl.metrics.curves import (
    auc,
    false_negatives_at_thresholds,
    false_positives_at_thresholds,
    mean_iou,
    precision_at_thresholds,
    recall_at_thresholds,
    true_negatives_at_thresholds,
    true_positives_at_thresholds,
)

__all__ = [
    "accuracy", "auc", "false_negatives", "false_negatives_at_thresholds", "false_positives",
    "false_positives_at_thresholds", "mean", "mean_absolute_error", "mean_iou", "mean_squared_error", "precision",
    "precision_at_thresholds", "recall", "recall_at_thresholds", "root_mean_squared_error", "true_negatives",
    "true_negatives_at_thresholds", "true_positives", "true_positives_at_thresholds",
]
