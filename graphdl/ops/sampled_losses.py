"""Sampled losses for large output vocabularies: ``tf.nn.nce_loss`` and ``tf.nn.sampled_softmax_loss``.

Both score each example against its true classes and a shared set of sampled classes
(log-uniform by default), correcting every logit by the log of its expected sample count,
exactly as TF1's ``_compute_sampled_logits``.
"""

from __future__ import annotations

import numpy as np

from graphdl import dtypes
from graphdl.framework.ops import convert_to_tensor, name_scope
from graphdl.ops import array_ops, layout_ops, math_ops
from graphdl.ops.candidate_sampling_ops import compute_accidental_hits, log_uniform_candidate_sampler
from graphdl.ops.compare_ops import greater
from graphdl.ops.control_ops import stop_gradient
from graphdl.ops.embedding_ops import embedding_lookup
from graphdl.ops.indexing_ops import scatter_nd
from graphdl.ops.indexing_ops import slice as slice_
from graphdl.ops.matmul_ops import matmul
from graphdl.ops.nn_loss_ops import sigmoid_cross_entropy_with_logits, softmax_cross_entropy_with_logits_v2
from graphdl.ops.unary_math_ops import log

__all__ = ["nce_loss", "sampled_softmax_loss"]


def _sum_rows(x):
    """``reduce_sum(x, 1)`` of a matrix, as a matmul with ones (TF1's formulation)."""
    ones = array_ops.ones(array_ops.stack([array_ops.shape(x)[1], 1]), x.dtype)
    return array_ops.reshape(matmul(x, ones), [-1])


def _accidental_hit_mask(labels, sampled, num_true, num_sampled, dtype):
    """-FLT_MAX at ``[row, j]`` where sampled class j is one of the row's true classes, else 0."""
    indices, ids, _ = compute_accidental_hits(labels, sampled, num_true=num_true)
    positions = layout_ops.concat([array_ops.reshape(indices, [-1, 1]),
                                   array_ops.reshape(math_ops.cast(ids, dtypes.int32), [-1, 1])], 1,
                                  name="sparse_indices")
    shape = layout_ops.concat([array_ops.shape(labels)[:1], [num_sampled]], 0)
    # A row may repeat a true class: count the hits and mark each position once (TF's sparse_to_dense assigns).
    hits = scatter_nd(positions, array_ops.ones_like(ids, dtype=dtype), shape)
    return math_ops.cast(greater(hits, 0.0), dtype) * np.asarray(-np.finfo(np.float32).max, dtype.np)


def compute_sampled_logits(weights, biases, labels, inputs, num_sampled, num_classes, num_true=1, sampled_values=None,
                           subtract_log_q=True, remove_accidental_hits=False, partition_strategy="mod", name=None,
                           seed=None):
    """Logits ``[batch, num_true + num_sampled]`` of each example's true and sampled classes, and their labels
    (``1 / num_true`` for the true columns, 0 for the sampled ones)."""
    weights = list(weights) if isinstance(weights, (list, tuple)) else [weights]
    with name_scope(name, "compute_sampled_logits", weights + [biases, inputs, labels]):
        labels = convert_to_tensor(labels)
        inputs = convert_to_tensor(inputs)
        if labels.dtype != dtypes.int64:
            labels = math_ops.cast(labels, dtypes.int64)
        labels_flat = array_ops.reshape(labels, [-1])
        if sampled_values is None:
            sampled_values = log_uniform_candidate_sampler(labels, num_true=num_true, num_sampled=num_sampled,
                                                           unique=True, range_max=num_classes, seed=seed)
        sampled, true_expected_count, sampled_expected_count = (stop_gradient(s) for s in sampled_values)
        sampled = math_ops.cast(sampled, dtypes.int64)
        all_ids = layout_ops.concat([labels_flat, sampled], 0)
        all_w = embedding_lookup(weights, all_ids, partition_strategy=partition_strategy)
        if all_w.dtype != inputs.dtype:
            all_w = math_ops.cast(all_w, inputs.dtype)
        num_labels = array_ops.shape(labels_flat)[0]
        true_w = slice_(all_w, [0, 0], array_ops.stack([num_labels, -1]))
        sampled_w = slice_(all_w, array_ops.stack([num_labels, 0]), [-1, -1])
        sampled_logits = matmul(inputs, sampled_w, transpose_b=True)
        all_b = embedding_lookup(biases, all_ids, partition_strategy=partition_strategy)
        if all_b.dtype != inputs.dtype:
            all_b = math_ops.cast(all_b, inputs.dtype)
        true_b = slice_(all_b, [0], array_ops.shape(labels_flat))
        sampled_b = slice_(all_b, array_ops.shape(labels_flat), [-1])
        dim = array_ops.shape(true_w)[1:2]
        row_wise_dots = math_ops.multiply(layout_ops.expand_dims(inputs, 1),
                                          array_ops.reshape(true_w, layout_ops.concat([[-1, num_true], dim], 0)))
        dots_as_matrix = array_ops.reshape(row_wise_dots, layout_ops.concat([[-1], dim], 0))
        true_logits = array_ops.reshape(_sum_rows(dots_as_matrix), [-1, num_true])
        true_logits += array_ops.reshape(true_b, [-1, num_true])
        sampled_logits += sampled_b
        if remove_accidental_hits:
            sampled_logits += _accidental_hit_mask(labels, sampled, num_true, num_sampled, sampled_logits.dtype)
        if subtract_log_q:
            true_logits -= log(math_ops.cast(true_expected_count, true_logits.dtype))
            sampled_logits -= log(math_ops.cast(sampled_expected_count, sampled_logits.dtype))
        out_logits = layout_ops.concat([true_logits, sampled_logits], 1)
        out_labels = layout_ops.concat([array_ops.ones_like(true_logits) / num_true,
                                        array_ops.zeros_like(sampled_logits)], 1)
        return out_logits, out_labels


def nce_loss(weights, biases, labels, inputs, num_sampled, num_classes, num_true=1, sampled_values=None,
             remove_accidental_hits=False, partition_strategy="mod", name="nce_loss"):
    """The noise-contrastive estimation loss of each example: ``[batch_size]``.

    ``weights`` ``[num_classes, dim]`` (or a list of shards split by ``partition_strategy``),
    ``biases`` ``[num_classes]``, ``labels`` int ``[batch_size, num_true]``, ``inputs``
    ``[batch_size, dim]``. A logistic loss per true and sampled class, summed per example;
    ``sampled_values`` overrides the default log-uniform sampler (a sampler's result triple).
    """
    logits, labels = compute_sampled_logits(
        weights=weights, biases=biases, labels=labels, inputs=inputs, num_sampled=num_sampled,
        num_classes=num_classes, num_true=num_true, sampled_values=sampled_values, subtract_log_q=True,
        remove_accidental_hits=remove_accidental_hits, partition_strategy=partition_strategy, name=name)
    sampled_losses = sigmoid_cross_entropy_with_logits(labels=labels, logits=logits, name="sampled_losses")
    return _sum_rows(sampled_losses)


def sampled_softmax_loss(weights, biases, labels, inputs, num_sampled, num_classes, num_true=1, sampled_values=None,
                         remove_accidental_hits=True, partition_strategy="mod", name="sampled_softmax_loss",
                         seed=None):
    """The softmax cross-entropy of each example over its true classes and the sampled ones: ``[batch_size]``.

    Arguments as :func:`nce_loss`; a sampled class equal to a true one is masked out unless
    ``remove_accidental_hits=False``. For training only; evaluate with the full softmax.
    """
    logits, labels = compute_sampled_logits(
        weights=weights, biases=biases, labels=labels, inputs=inputs, num_sampled=num_sampled,
        num_classes=num_classes, num_true=num_true, sampled_values=sampled_values, subtract_log_q=True,
        remove_accidental_hits=remove_accidental_hits, partition_strategy=partition_strategy, name=name, seed=seed)
    labels = stop_gradient(labels, name="labels_stop_gradient")
    return softmax_cross_entropy_with_logits_v2(labels=labels, logits=logits)
