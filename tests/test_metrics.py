"""tf.metrics: streaming values against NumPy oracles (and the exact rank AUC), TF1's variable names and collections."""

import numpy as np
import pytest

import graphdl
import graphdl.compat.v1 as tf

RNG = np.random.default_rng(0)
LABELS = [RNG.integers(0, 2, 20), RNG.integers(0, 2, 13)]
SCORES = [RNG.random(20).astype(np.float32), RNG.random(13).astype(np.float32)]
WEIGHTS = [RNG.random(20).astype(np.float32), RNG.random(13).astype(np.float32)]
ESTIMATES = [2 * RNG.random(20).astype(np.float32), 2 * RNG.random(13).astype(np.float32)]


def stream(build, batches, feeds_of):
    """Run ``update_op`` once per batch; return the update results and the final value."""
    with tf.Graph().as_default():
        placeholders, (value, update_op) = build()
        with tf.Session() as sess:
            sess.run(tf.local_variables_initializer())
            updates = [sess.run(update_op, dict(zip(placeholders, feeds_of(b)))) for b in batches]
            return updates, sess.run(value)


def test_variables_names_and_collections_as_tf1():
    with tf.Graph().as_default():
        labels = tf.placeholder(tf.int64, [None])
        predictions = tf.placeholder(tf.int64, [None])
        acc, update = tf.metrics.accuracy(labels, predictions, metrics_collections=["m"], updates_collections=["u"])
        assert (acc.name, update.name) == ("accuracy/value:0", "accuracy/update_op:0")
        assert tf.get_collection("m") == [acc] and tf.get_collection("u") == [update]
        tf.metrics.accuracy(labels, predictions)
        tf.metrics.precision(labels, predictions)
        tf.metrics.auc(labels, tf.placeholder(tf.float32, [None]))
        tf.metrics.mean_iou(labels, predictions, 4)
        names = [v.name for v in tf.local_variables()]
        assert names == [
            "accuracy/total:0", "accuracy/count:0", "accuracy_1/total:0", "accuracy_1/count:0",
            "precision/true_positives/count:0", "precision/false_positives/count:0", "auc/true_positives:0",
            "auc/false_negatives:0", "auc/true_negatives:0", "auc/false_positives:0",
            "mean_iou/total_confusion_matrix:0",
        ]
        assert tf.get_collection(tf.GraphKeys.METRIC_VARIABLES) == tf.local_variables()
        assert not tf.global_variables() and not tf.trainable_variables()
        assert tf.local_variables()[6].shape.as_list() == [200]


def test_accuracy_streams_with_weights_and_squeezes_labels():
    def build():
        labels, predictions = tf.placeholder(tf.int32, [None, 1]), tf.placeholder(tf.int64, [None])
        weights = tf.placeholder(tf.float32, [None])
        return (labels, predictions, weights), tf.metrics.accuracy(labels, predictions, weights)

    preds = [RNG.integers(0, 2, 20), RNG.integers(0, 2, 13)]
    updates, value = stream(build, range(2), lambda b: (LABELS[b][:, None], preds[b], WEIGHTS[b]))
    correct = [(p == t).astype(np.float64) for p, t in zip(preds, LABELS)]
    after_first = np.sum(correct[0] * WEIGHTS[0]) / np.sum(WEIGHTS[0])
    overall = sum(np.sum(c * w) for c, w in zip(correct, WEIGHTS)) / sum(np.sum(w) for w in WEIGHTS)
    np.testing.assert_allclose(updates, [after_first, overall], rtol=1e-5)
    np.testing.assert_allclose(value, overall, rtol=1e-5)


def test_mean_broadcasts_weights_and_errors():
    def build():
        values, weights = tf.placeholder(tf.float32, [4, 3]), tf.placeholder(tf.float32, [4, 1])
        return (values, weights), tf.metrics.mean(values, weights)

    values, weights = RNG.random((4, 3)).astype(np.float32), RNG.random((4, 1)).astype(np.float32)
    _, value = stream(build, [0], lambda b: (values, weights))
    np.testing.assert_allclose(value, np.sum(values * weights) / np.sum(np.broadcast_to(weights, (4, 3))), rtol=1e-5)
    _, empty = stream(lambda: ((), tf.metrics.mean(tf.zeros([0]))), [0], lambda b: ())
    assert empty == 0.0
    with tf.Graph().as_default(), pytest.raises(ValueError, match="weights can not be broadcast"):
        tf.metrics.mean(tf.zeros([4, 3]), tf.zeros([2, 3]))


@pytest.mark.parametrize("name,oracle", [
    ("mean_squared_error", lambda t, p: (t - p) ** 2),
    ("mean_absolute_error", lambda t, p: np.abs(t - p)),
    ("root_mean_squared_error", lambda t, p: (t - p) ** 2),
])
def test_regression_errors(name, oracle):
    def build():
        labels, predictions = tf.placeholder(tf.float32, [None]), tf.placeholder(tf.float32, [None])
        weights = tf.placeholder(tf.float32, [None])
        return (labels, predictions, weights), getattr(tf.metrics, name)(labels, predictions, weights)

    updates, value = stream(build, range(2), lambda b: (SCORES[b], ESTIMATES[b], WEIGHTS[b]))
    errors = [oracle(SCORES[b], ESTIMATES[b]) for b in range(2)]
    want = sum(np.sum(e * w) for e, w in zip(errors, WEIGHTS)) / sum(np.sum(w) for w in WEIGHTS)
    want = np.sqrt(want) if name.startswith("root") else want
    np.testing.assert_allclose([updates[1], value], [want, want], rtol=1e-5)


def test_counts_precision_recall():
    predictions = [s > 0.5 for s in SCORES]

    def build():
        labels, scores, weights = tf.placeholder(tf.int64, [None]), tf.placeholder(tf.float32, [None]), \
            tf.placeholder(tf.float32, [None])
        # Float predictions are cast to bool (nonzero is positive), as TF1 does.
        hard = tf.cast(scores > 0.5, tf.float32)
        pairs = [getattr(tf.metrics, m)(labels, hard, weights) for m in
                 ("true_positives", "false_positives", "false_negatives", "true_negatives", "precision", "recall")]
        return (labels, scores, weights), (tf.stack([v for v, _ in pairs]), tf.stack([u for _, u in pairs]))

    updates, value = stream(build, range(2), lambda b: (LABELS[b], SCORES[b], WEIGHTS[b]))

    def counts(batches):
        out = []
        for lab, pred in ((True, True), (False, True), (True, False), (False, False)):
            out.append(sum(np.sum(WEIGHTS[b] * ((LABELS[b] == 1) == lab) * (predictions[b] == pred)) for b in batches))
        tp, fp, fn, _ = out
        return out + [tp / (tp + fp), tp / (tp + fn)]

    np.testing.assert_allclose(updates[0], counts([0]), rtol=1e-5)
    np.testing.assert_allclose(value, counts([0, 1]), rtol=1e-5)
    _, nothing = stream(lambda: ((), tf.metrics.precision(tf.zeros([3], tf.bool), tf.zeros([3], tf.bool))), [0],
                        lambda b: ())
    assert nothing == 0.0


def tf_auc_oracle(labels, scores, weights, num_thresholds, curve, method):
    """TF1's AUC recomputed in NumPy (counts at evenly spaced thresholds, then the chosen summation)."""
    inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
    thresholds = np.array([-1e-7] + inner + [1 + 1e-7], np.float32)
    pos = scores[None, :] > thresholds[:, None]
    lab = labels[None, :].astype(bool)
    w = weights[None, :]
    tp, fp = np.sum(w * (pos & lab), 1), np.sum(w * (pos & ~lab), 1)
    fn, tn = np.sum(w * (~pos & lab), 1), np.sum(w * (~pos & ~lab), 1)
    if curve == "PR" and method == "careful_interpolation":
        total = 0.0
        for i in range(num_thresholds - 1):
            dtp, dp = tp[i] - tp[i + 1], (tp[i] + fp[i]) - (tp[i + 1] + fp[i + 1])
            slope = dtp / dp if dp > 0 else 0.0
            p0, p1 = tp[i] + fp[i], tp[i + 1] + fp[i + 1]
            intercept = tp[i + 1] - slope * p1
            ratio = p0 / p1 if p0 > 0 and p1 > 0 else 1.0
            if tp[i + 1] + fn[i + 1] > 0:
                total += slope * (dtp + intercept * np.log(ratio)) / (tp[i + 1] + fn[i + 1])
        return total
    eps = 1e-6
    rec = (tp + eps) / (tp + fn + eps)
    x, y = (fp / (fp + tn + eps), rec) if curve == "ROC" else (rec, (tp + eps) / (tp + fp + eps))
    return np.sum((x[:-1] - x[1:]) * (y[:-1] + y[1:]) / 2)


@pytest.mark.parametrize("curve,method", [("ROC", "trapezoidal"), ("PR", "trapezoidal"),
                                          ("PR", "careful_interpolation")])
def test_auc_matches_tf1_formula(curve, method):
    def build():
        labels, scores, weights = tf.placeholder(tf.int64, [None]), tf.placeholder(tf.float32, [None]), \
            tf.placeholder(tf.float32, [None])
        return (labels, scores, weights), tf.metrics.auc(labels, scores, weights, num_thresholds=50, curve=curve,
                                                         summation_method=method)

    _, value = stream(build, range(2), lambda b: (LABELS[b], SCORES[b], WEIGHTS[b]))
    want = tf_auc_oracle(np.concatenate(LABELS), np.concatenate(SCORES), np.concatenate(WEIGHTS), 50, curve, method)
    np.testing.assert_allclose(value, want, rtol=1e-5)


def rank_auc(labels, scores):
    """The exact ROC AUC: the chance that a positive outscores a negative, ties counting one half."""
    pos, neg = scores[labels == 1][:, None], scores[labels == 0][None, :]
    return np.mean((pos > neg) + 0.5 * (pos == neg))


def np_confusion(labels, predictions, n):
    out = np.zeros((n, n), np.int64)
    np.add.at(out, (labels, predictions), 1)
    return out


def test_roc_auc_agrees_with_the_exact_auc_on_binned_scores():
    labels = RNG.integers(0, 2, 300)
    # Scores halfway between TF's 200 thresholds: counting at those thresholds is then exact, ties included.
    scores = ((RNG.integers(0, 199, 300) + 0.5) / 199).astype(np.float32)

    def build():
        l_, s_ = tf.placeholder(tf.int64, [None]), tf.placeholder(tf.float32, [None])
        return (l_, s_), tf.metrics.auc(l_, s_)

    _, value = stream(build, [0], lambda b: (labels, scores))
    np.testing.assert_allclose(value, rank_auc(labels, scores), atol=1e-5)


def test_auc_rejects_predictions_outside_0_1_and_bad_curve():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="curve must be either ROC or PR"):
            tf.metrics.auc(tf.zeros([2]), tf.zeros([2]), curve="XY")
        with pytest.raises(graphdl.errors.InvalidArgumentError, match=r"predictions must be in \[0, 1\]"):
            tf.metrics.auc(tf.constant([1, 0]), tf.constant([0.5, 1.5]))  # decided when built, as in TF1
        scores = tf.placeholder(tf.float32, [None])
        _, update = tf.metrics.auc(tf.constant([1, 0]), scores)
        with tf.Session() as sess:
            sess.run(tf.local_variables_initializer())
            with pytest.raises(graphdl.errors.InvalidArgumentError, match=r"predictions must be in \[0, 1\]"):
                sess.run(update, {scores: [0.5, 1.5]})


def test_thresholded_precision_and_recall():
    thresholds = [0.25, 0.5, 0.75]

    def build():
        labels, scores = tf.placeholder(tf.int64, [None]), tf.placeholder(tf.float32, [None])
        pairs = [tf.metrics.precision_at_thresholds(labels, scores, thresholds),
                 tf.metrics.recall_at_thresholds(labels, scores, thresholds),
                 tf.metrics.true_positives_at_thresholds(labels, scores, thresholds)]
        return (labels, scores), (tf.stack([v for v, _ in pairs]), tf.stack([u for _, u in pairs]))

    _, value = stream(build, range(2), lambda b: (LABELS[b], SCORES[b]))
    labels, scores = np.concatenate(LABELS) == 1, np.concatenate(SCORES)
    pos = scores[None, :] > np.array(thresholds)[:, None]
    tp, fp, fn = np.sum(pos & labels, 1), np.sum(pos & ~labels, 1), np.sum(~pos & labels, 1)
    np.testing.assert_allclose(value, [tp / (tp + fp + 1e-7), tp / (tp + fn + 1e-7), tp], rtol=1e-5)


def test_mean_iou_and_confusion_matrix():
    labels = [RNG.integers(0, 3, (4, 5)), RNG.integers(0, 3, (4, 5))]
    preds = [RNG.integers(0, 3, (4, 5)), RNG.integers(0, 3, (4, 5))]

    def build():
        l_, p_ = tf.placeholder(tf.int32, [None, 5]), tf.placeholder(tf.int32, [None, 5])
        return (l_, p_), tf.metrics.mean_iou(l_, p_, num_classes=4)

    updates, value = stream(build, range(2), lambda b: (labels[b], preds[b]))
    cm = np_confusion(np.concatenate(labels).ravel(), np.concatenate(preds).ravel(), 4)
    # As in TF1, update_op returns the running confusion matrix.
    np.testing.assert_array_equal(updates[1], cm)
    assert updates[1].dtype == np.float64
    iou = np.diag(cm)[:3] / (cm.sum(0) + cm.sum(1) - np.diag(cm))[:3]  # class 3 never occurs: left out
    np.testing.assert_allclose(value, iou.mean(), rtol=1e-5)

    with tf.Graph().as_default():
        matrix = tf.confusion_matrix([1, 2, 4], [2, 2, 4])
        weighted = tf.math.confusion_matrix([0, 1, 1], [1, 1, 1], num_classes=3, weights=[0.5, 2.0, 1.0],
                                            dtype=tf.float32)
        with tf.Session() as sess:
            got, got_weighted = sess.run([matrix, weighted])
    np.testing.assert_array_equal(got, np_confusion([1, 2, 4], [2, 2, 4], 5))
    assert got.dtype == np.int32
    np.testing.assert_allclose(got_weighted, [[0, 0.5, 0], [0, 3.0, 0], [0, 0, 0]])


def test_local_variables_initializer_restarts_the_totals():
    with tf.Graph().as_default():
        values = tf.placeholder(tf.float32, [None])
        value, update = tf.metrics.mean(values)
        with tf.Session() as sess:
            sess.run(tf.local_variables_initializer())
            sess.run(update, {values: [1.0, 2.0]})
            assert sess.run(update, {values: [6.0]}) == 3.0
            sess.run(tf.local_variables_initializer())
            assert sess.run(value) == 0.0
            assert sess.run(update, {values: [5.0]}) == 5.0
