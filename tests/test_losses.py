"""tf.losses: values vs NumPy for every loss, weights, every reduction, and the LOSSES collection."""

import numpy as np
import pytest

import graphdl as tf

R = tf.losses.Reduction
rng = np.random.default_rng(0)
LABELS = rng.uniform(-1, 1, (3, 2)).astype(np.float32)
PREDS = rng.uniform(-1, 1, (3, 2)).astype(np.float32)
ROW_WEIGHTS = np.array([[1.0], [0.0], [2.0]], np.float32)
FULL_WEIGHTS = np.array([[0.5, 0.0], [1.0, 2.0], [0.0, 3.0]], np.float32)


def run(fetches, feed=None):
    with tf.Session() as sess:
        return sess.run(fetches, feed)


def reduce_np(losses, weights, reduction):
    """NumPy reference of compute_weighted_loss."""
    weights = np.broadcast_to(np.asarray(weights, np.float64), losses.shape)
    weighted = losses * weights
    if reduction == R.NONE:
        return weighted
    total = weighted.sum()
    denominator = {
        R.SUM: 1.0,
        R.MEAN: weights.sum(),
        R.SUM_BY_NONZERO_WEIGHTS: np.count_nonzero(weights),
        R.SUM_OVER_BATCH_SIZE: losses.size,
    }[reduction]
    return total / denominator if denominator else 0.0


ALL_REDUCTIONS = [R.NONE, R.SUM, R.MEAN, R.SUM_BY_NONZERO_WEIGHTS, R.SUM_OVER_BATCH_SIZE]


def test_reduction_keys():
    assert R.SUM_OVER_NONZERO_WEIGHTS == R.SUM_BY_NONZERO_WEIGHTS
    assert set(ALL_REDUCTIONS) <= set(R.all())
    R.validate(R.MEAN)
    with pytest.raises(ValueError, match="Invalid Reduction Key"):
        R.validate("average")
    with pytest.raises(ValueError, match="Invalid Reduction Key"):
        tf.losses.mean_squared_error(LABELS, PREDS, reduction="average")


@pytest.mark.parametrize("reduction", ALL_REDUCTIONS)
@pytest.mark.parametrize("weights", [1.0, 2.5, ROW_WEIGHTS, FULL_WEIGHTS], ids=["one", "scalar", "rows", "full"])
def test_mean_squared_error_weights_and_reductions(weights, reduction):
    loss = tf.losses.mean_squared_error(LABELS, PREDS, weights=weights, reduction=reduction)
    want = reduce_np((PREDS.astype(np.float64) - LABELS) ** 2, weights, reduction)
    np.testing.assert_allclose(run(loss), want, rtol=1e-5)
    assert loss.dtype == tf.float32


def test_default_reduction_is_mean_over_nonzero_weights():
    p = tf.placeholder(tf.float32, [None, 2])
    loss = tf.losses.mean_squared_error(LABELS, p)
    np.testing.assert_allclose(run(loss, {p: PREDS}), np.mean((PREDS - LABELS) ** 2), rtol=1e-5)
    assert loss.shape.ndims == 0


def test_weights_tensor_and_all_zero_weights():
    w = tf.placeholder(tf.float32, [3, 1])
    loss = tf.losses.absolute_difference(LABELS, PREDS, weights=w)
    np.testing.assert_allclose(run(loss, {w: ROW_WEIGHTS}),
                               reduce_np(np.abs(PREDS - LABELS), ROW_WEIGHTS, R.SUM_BY_NONZERO_WEIGHTS), rtol=1e-5)
    assert run(loss, {w: np.zeros((3, 1), np.float32)}) == 0.0


@pytest.mark.parametrize("reduction", ALL_REDUCTIONS)
def test_absolute_difference(reduction):
    loss = tf.losses.absolute_difference(LABELS, PREDS, weights=FULL_WEIGHTS, reduction=reduction)
    np.testing.assert_allclose(run(loss), reduce_np(np.abs(PREDS - LABELS.astype(np.float64)), FULL_WEIGHTS, reduction),
                               rtol=1e-5)


@pytest.mark.parametrize("delta", [1.0, 0.3])
def test_huber_loss(delta):
    err = np.abs(PREDS.astype(np.float64) - LABELS)
    want = np.where(err <= delta, 0.5 * err ** 2, delta * (err - 0.5 * delta))
    loss = tf.losses.huber_loss(LABELS, PREDS, weights=ROW_WEIGHTS, delta=delta)
    np.testing.assert_allclose(run(loss), reduce_np(want, ROW_WEIGHTS, R.SUM_BY_NONZERO_WEIGHTS), rtol=1e-5)


def test_log_loss():
    labels = np.array([[0.0, 1.0], [1.0, 1.0], [0.0, 0.0]], np.float32)
    probs = np.array([[0.1, 0.8], [0.6, 0.99], [0.3, 0.0]], np.float32)
    eps = 1e-7
    want = -labels * np.log(probs + eps) - (1 - labels) * np.log(1 - probs + eps)
    loss = tf.losses.log_loss(labels, probs, reduction=R.NONE)
    np.testing.assert_allclose(run(loss), want, rtol=1e-4)
    np.testing.assert_allclose(run(tf.losses.log_loss(labels, probs, epsilon=0.01)),
                               np.mean(-labels * np.log(probs + 0.01) - (1 - labels) * np.log(1.01 - probs)), rtol=1e-5)


def test_hinge_loss():
    labels = np.array([[0.0, 1.0], [1.0, 0.0]], np.float32)
    logits = np.array([[-2.0, 0.5], [3.0, 0.2]], np.float32)
    want = np.maximum(0, 1 - (2 * labels - 1) * logits)
    np.testing.assert_allclose(run(tf.losses.hinge_loss(labels, logits, reduction=R.NONE)), want, rtol=1e-6)
    np.testing.assert_allclose(run(tf.losses.hinge_loss(labels, logits)), want.mean(), rtol=1e-6)


def test_cosine_distance():
    a = LABELS / np.linalg.norm(LABELS, axis=1, keepdims=True)
    b = PREDS / np.linalg.norm(PREDS, axis=1, keepdims=True)
    loss = tf.losses.cosine_distance(a, b, axis=1, reduction=R.NONE)
    np.testing.assert_allclose(run(loss), 1 - (a * b).sum(1, keepdims=True), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="axis"):
        tf.losses.cosine_distance(a, b)


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_sigmoid_cross_entropy(smoothing):
    labels = np.array([[0, 1], [1, 1], [0, 0]], np.int32)
    logits = PREDS * 3
    z = labels * (1 - smoothing) + 0.5 * smoothing
    want = np.maximum(logits, 0) - logits * z + np.log1p(np.exp(-np.abs(logits)))
    loss = tf.losses.sigmoid_cross_entropy(labels, logits, weights=ROW_WEIGHTS, label_smoothing=smoothing)
    np.testing.assert_allclose(run(loss), reduce_np(want, ROW_WEIGHTS, R.SUM_BY_NONZERO_WEIGHTS), rtol=1e-5)


def np_log_softmax(x):
    s = x - x.max(-1, keepdims=True)
    return s - np.log(np.exp(s).sum(-1, keepdims=True))


@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_softmax_cross_entropy(smoothing):
    onehot = np.eye(4, dtype=np.float32)[[1, 3, 0]]
    logits = rng.normal(size=(3, 4)).astype(np.float32)
    z = onehot * (1 - smoothing) + smoothing / 4
    want = -(z * np_log_softmax(logits)).sum(-1)
    weights = np.array([1.0, 0.0, 3.0], np.float32)
    loss = tf.losses.softmax_cross_entropy(onehot, logits, weights=weights, label_smoothing=smoothing)
    np.testing.assert_allclose(run(loss), reduce_np(want, weights, R.SUM_BY_NONZERO_WEIGHTS), rtol=1e-5)


def test_softmax_cross_entropy_smoothing_with_unknown_classes():
    onehot = tf.placeholder(tf.float32, [None, None])
    logits = tf.placeholder(tf.float32, [None, None])
    lv = rng.normal(size=(2, 5)).astype(np.float32)
    ov = np.eye(5, dtype=np.float32)[[4, 2]]
    loss = tf.losses.softmax_cross_entropy(onehot, logits, label_smoothing=0.5)
    want = -((ov * 0.5 + 0.1) * np_log_softmax(lv)).sum(-1).mean()
    np.testing.assert_allclose(run(loss, {onehot: ov, logits: lv}), want, rtol=1e-5)


def test_softmax_cross_entropy_no_gradient_into_labels():
    onehot = tf.placeholder(tf.float32, [2, 3])
    logits = tf.placeholder(tf.float32, [2, 3])
    loss = tf.losses.softmax_cross_entropy(onehot, logits)
    g_labels, g_logits = tf.gradients(loss, [onehot, logits])
    assert g_labels is None
    lv = rng.normal(size=(2, 3)).astype(np.float32)
    ov = np.eye(3, dtype=np.float32)[[0, 2]]
    sm = np.exp(np_log_softmax(lv))
    np.testing.assert_allclose(run(g_logits, {onehot: ov, logits: lv}), (sm - ov) / 2, rtol=1e-5)


@pytest.mark.parametrize("label_shape", ["flat", "column"])
def test_sparse_softmax_cross_entropy(label_shape):
    labels = np.array([2, 0, 1], np.int64)
    logits = rng.normal(size=(3, 3)).astype(np.float32)
    fed = labels if label_shape == "flat" else labels[:, None]
    weights = np.array([[1.0], [2.0], [0.0]], np.float32) if label_shape == "column" else np.array([1.0, 2.0, 0.0])
    want = -np_log_softmax(logits)[np.arange(3), labels]
    loss = tf.losses.sparse_softmax_cross_entropy(fed, logits, weights=weights.astype(np.float32))
    np.testing.assert_allclose(run(loss), reduce_np(want, weights.reshape(-1), R.SUM_BY_NONZERO_WEIGHTS), rtol=1e-5)
    assert loss.shape.ndims == 0


def test_mse_gradient():
    p = tf.placeholder(tf.float32, [3, 2])
    loss = tf.losses.mean_squared_error(LABELS, p)
    g = tf.gradients(loss, p)[0]
    np.testing.assert_allclose(run(g, {p: PREDS}), 2 * (PREDS - LABELS) / 6, rtol=1e-5)


def test_float64_inputs_keep_their_dtype_through_compute_weighted_loss():
    losses = tf.constant(np.array([1.0, 2.0, 3.0]))
    out = tf.losses.compute_weighted_loss(losses, weights=[1.0, 1.0, 0.0])
    assert out.dtype == tf.float64
    np.testing.assert_allclose(run(out), 1.5)


# -- argument checking --------------------------------------------------------------------------------------------------------
def test_weights_must_broadcast_with_same_rank():
    with pytest.raises(ValueError, match="weights can not be broadcast to values"):
        tf.losses.mean_squared_error(LABELS, PREDS, weights=np.ones(2, np.float32))
    with pytest.raises(ValueError, match="Mismatch at dim 0"):
        tf.losses.mean_squared_error(LABELS, PREDS, weights=np.ones((2, 1), np.float32))


def test_none_and_mismatched_inputs():
    with pytest.raises(ValueError, match="labels must not be None"):
        tf.losses.mean_squared_error(None, PREDS)
    with pytest.raises(ValueError, match="predictions must not be None"):
        tf.losses.absolute_difference(LABELS, None)
    with pytest.raises(ValueError, match="incompatible"):
        tf.losses.mean_squared_error(LABELS, PREDS[:2])


# -- collections ------------------------------------------------------------------------------------------------------------------
def test_losses_are_added_to_the_losses_collection():
    a = tf.losses.mean_squared_error(LABELS, PREDS)
    b = tf.losses.absolute_difference(LABELS, PREDS)
    c = tf.losses.hinge_loss(LABELS, PREDS, loss_collection=None)
    d = tf.losses.huber_loss(LABELS, PREDS, loss_collection="my_losses")
    assert tf.losses.get_losses() == [a, b]
    assert tf.get_collection(tf.GraphKeys.LOSSES) == [a, b]
    assert tf.losses.get_losses(loss_collection="my_losses") == [d]
    assert c not in tf.losses.get_losses()
    total = tf.losses.get_total_loss()
    np.testing.assert_allclose(run(total), np.mean((PREDS - LABELS) ** 2) + np.mean(np.abs(PREDS - LABELS)), rtol=1e-5)


def test_get_losses_filters_by_scope():
    with tf.name_scope("tower0"):
        a = tf.losses.mean_squared_error(LABELS, PREDS)
    with tf.name_scope("tower1"):
        b = tf.losses.mean_squared_error(LABELS, PREDS)
    assert tf.losses.get_losses(scope="tower0") == [a]
    assert tf.losses.get_losses(scope="tower1") == [b]


def test_add_loss_and_regularization_losses():
    assert run(tf.losses.get_regularization_loss()) == 0.0
    assert tf.losses.get_regularization_losses() == []
    custom = tf.constant(1.5)
    tf.losses.add_loss(custom)
    assert tf.losses.get_losses() == [custom]
    r1, r2 = tf.constant(0.25), tf.constant(0.5)
    tf.add_to_collection(tf.GraphKeys.REGULARIZATION_LOSSES, r1)
    tf.add_to_collection(tf.GraphKeys.REGULARIZATION_LOSSES, r2)
    assert tf.losses.get_regularization_losses() == [r1, r2]
    reg = tf.losses.get_regularization_loss()
    assert reg.op.name == "total_regularization_loss"
    np.testing.assert_allclose(run(reg), 0.75)
    total = tf.losses.get_total_loss()
    assert total.op.name == "total_loss"
    np.testing.assert_allclose(run(total), 2.25)
    np.testing.assert_allclose(run(tf.losses.get_total_loss(add_regularization_losses=False, name="data_loss")), 1.5)


def test_get_total_loss_without_losses_raises():
    with pytest.raises(ValueError, match="No losses"):
        tf.losses.get_total_loss()


def test_compute_weighted_loss_adds_to_collection():
    out = tf.losses.compute_weighted_loss(tf.constant([1.0, 3.0]), reduction=R.SUM)
    assert tf.losses.get_losses() == [out]
    assert run(out) == 4.0
