"""tf.nn ops: activations, softmax, bias_add, l2_loss, cross-entropies, dropout, normalization helpers."""

import numpy as np
import pytest
from harness import OpCase, make_op_tests, randn, uniform

import graphdl
import graphdl as tf

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def away_from_zero(*shape, seed=0):
    """Values with |x| in [0.1, 1] and mixed signs (no kinks for finite differences)."""
    signs = np.where(randn(*shape, seed=seed + 100) > 0, 1, -1).astype(np.float32)
    return uniform(0.1, 1.0, *shape, seed=seed) * signs


def np_softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def np_log_softmax(x, axis=-1):
    s = x - x.max(axis=axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


def np_sigmoid_xent(x, z):
    return np.maximum(x, 0) - x * z + np.log1p(np.exp(-np.abs(x)))


def distribution(*shape, seed=0):
    p = uniform(0.1, 1.0, *shape, seed=seed)
    return p / p.sum(-1, keepdims=True)


RELU6_IN = np.array([[-2.0, -0.3, 0.4, 1.5], [3.0, 5.5, 6.5, 9.0]], np.float32)
LABELS_2D = np.array([2, 0, 1], np.int32)
LABELS_3D = np.array([[0, 3, 1], [2, 2, 0]], np.int64)
BN = [randn(3, 4), randn(4, seed=1), uniform(0.5, 2, 4), randn(4, seed=2), uniform(0.5, 2, 4, seed=3)]


def second_order(fn):
    """Build d(sum(fn(x)))/dx, so the harness's gradient check verifies second derivatives."""
    def build(x):
        return graphdl.gradients(graphdl.reduce_sum(fn(x)), x)[0]
    return build


def np_dropout_identity(x):
    return x


CASES = [
    # -- activations
    OpCase("relu", lambda x: tf.nn.relu(x), [away_from_zero(3, 4)], lambda x: np.maximum(x, 0)),
    OpCase("relu_int", lambda x: tf.nn.relu(x), [np.array([-3, 0, 4], np.int32)], lambda x: np.maximum(x, 0), grad=False),
    OpCase("relu6", lambda x: tf.nn.relu6(x), [RELU6_IN], lambda x: np.clip(x, 0, 6)),
    OpCase("leaky_relu_default", lambda x: tf.nn.leaky_relu(x), [away_from_zero(2, 5)], lambda x: np.where(x > 0, x, 0.2 * x)),
    OpCase("leaky_relu_alpha", lambda x: tf.nn.leaky_relu(x, alpha=0.01), [away_from_zero(6)],
           lambda x: np.where(x > 0, x, 0.01 * x)),
    OpCase("elu", lambda x: tf.nn.elu(x), [away_from_zero(3, 4) * 3], lambda x: np.where(x > 0, x, np.expm1(x))),
    OpCase("selu", lambda x: tf.nn.selu(x), [away_from_zero(3, 4) * 3],
           lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(x))),
    OpCase("softplus", lambda x: tf.nn.softplus(x), [randn(3, 4) * 3], lambda x: np.log1p(np.exp(x))),
    OpCase("softplus_extreme", lambda x: tf.nn.softplus(x), [np.array([-100.0, -30.0, 0.0, 30.0, 100.0], np.float32)],
           lambda x: np.logaddexp(0, x.astype(np.float64)).astype(np.float32), grad=False),
    OpCase("softsign", lambda x: tf.nn.softsign(x), [away_from_zero(3, 4) * 2], lambda x: x / (1 + np.abs(x))),
    OpCase("sigmoid_tanh_in_nn", lambda x: [tf.nn.sigmoid(x), tf.nn.tanh(x)], [randn(2, 3)],
           lambda x: [1 / (1 + np.exp(-x)), np.tanh(x)]),
    # -- second derivatives (the harness checks the gradient of these gradients)
    OpCase("relu_second_order", second_order(lambda x: tf.nn.relu(x) * x), [away_from_zero(2, 3)],
           lambda x: np.where(x > 0, 2 * x, 0)),
    OpCase("elu_second_order", second_order(lambda x: tf.nn.elu(x) * x), [away_from_zero(2, 3)],
           lambda x: np.where(x > 0, 2 * x, np.expm1(x) + x * np.exp(x))),
    OpCase("selu_second_order", second_order(lambda x: tf.nn.selu(x) * x), [away_from_zero(5)],
           lambda x: SELU_SCALE * np.where(x > 0, 2 * x, SELU_ALPHA * (np.expm1(x) + x * np.exp(x)))),
    OpCase("softplus_second_order", second_order(lambda x: tf.nn.softplus(x) * x), [randn(5)],
           lambda x: np.log1p(np.exp(x)) + x / (1 + np.exp(-x))),
    OpCase("softsign_second_order", second_order(lambda x: tf.nn.softsign(x) * x), [away_from_zero(5)],
           lambda x: x / (1 + np.abs(x)) + x / (1 + np.abs(x)) ** 2),
    OpCase("leaky_relu_second_order", second_order(lambda x: tf.nn.leaky_relu(x, 0.3) * x), [away_from_zero(5)],
           lambda x: np.where(x > 0, 2 * x, 0.6 * x)),
    OpCase("relu6_second_order", second_order(lambda x: tf.nn.relu6(x) * x), [RELU6_IN],
           lambda x: np.where((x > 0) & (x < 6), 2 * x, np.where(x >= 6, 6.0, 0.0))),
    # -- softmax / log_softmax
    OpCase("softmax_last", lambda x: tf.nn.softmax(x), [randn(3, 5)], np_softmax),
    OpCase("softmax_1d", lambda x: tf.nn.softmax(x), [randn(6)], np_softmax),
    OpCase("softmax_axis0", lambda x: tf.nn.softmax(x, axis=0), [randn(3, 4)], lambda x: np_softmax(x, 0)),
    OpCase("softmax_axis1_3d", lambda x: tf.nn.softmax(x, axis=1), [randn(2, 3, 4)], lambda x: np_softmax(x, 1)),
    OpCase("softmax_dim_negative", lambda x: tf.nn.softmax(x, dim=-2), [randn(2, 3, 2)], lambda x: np_softmax(x, -2)),
    OpCase("log_softmax_last", lambda x: tf.nn.log_softmax(x), [randn(4, 3)], np_log_softmax),
    OpCase("log_softmax_axis0", lambda x: tf.nn.log_softmax(x, axis=0), [randn(3, 4)], lambda x: np_log_softmax(x, 0)),
    OpCase("softmax_second_order", second_order(lambda x: tf.nn.softmax(x) * x), [randn(2, 3)],
           lambda x: np_softmax(x) + np_softmax(x) * (x - (np_softmax(x) * x).sum(-1, keepdims=True))),
    # -- bias_add
    OpCase("bias_add_2d", lambda x, b: tf.nn.bias_add(x, b), [randn(3, 4), randn(4, seed=1)], lambda x, b: x + b),
    OpCase("bias_add_nhwc_4d", lambda x, b: tf.nn.bias_add(x, b, data_format="NHWC"), [randn(2, 2, 2, 3), randn(3, seed=1)],
           lambda x, b: x + b),
    OpCase("bias_add_nchw_4d", lambda x, b: tf.nn.bias_add(x, b, data_format="NCHW"), [randn(2, 3, 2, 2), randn(3, seed=1)],
           lambda x, b: x + b.reshape(1, 3, 1, 1)),
    OpCase("bias_add_ncw_3d", lambda x, b: tf.nn.bias_add(x, b, data_format="NCW"), [randn(2, 3, 4), randn(3, seed=1)],
           lambda x, b: x + b.reshape(1, 3, 1)),
    OpCase("bias_add_grad_second_order",
           lambda x, b: graphdl.gradients(graphdl.reduce_sum(tf.nn.bias_add(x, b, data_format="NCHW") ** 2), b)[0],
           [randn(2, 3, 2), randn(3, seed=1)], lambda x, b: 2 * (x + b.reshape(1, 3, 1)).sum((0, 2))),
    # -- l2_loss
    OpCase("l2_loss", lambda x: tf.nn.l2_loss(x), [randn(3, 4)], lambda x: np.sum(x ** 2) / 2),
    # -- cross-entropy
    OpCase("softmax_xent_v2", lambda z, x: tf.nn.softmax_cross_entropy_with_logits_v2(labels=z, logits=x),
           [distribution(3, 4), randn(3, 4)], lambda z, x: -(z * np_log_softmax(x)).sum(-1)),
    OpCase("softmax_xent_v2_positional", lambda z, x: tf.nn.softmax_cross_entropy_with_logits_v2(z, x),
           [distribution(2, 3), randn(2, 3)], lambda z, x: -(z * np_log_softmax(x)).sum(-1)),
    OpCase("softmax_xent_v2_3d", lambda z, x: tf.nn.softmax_cross_entropy_with_logits_v2(labels=z, logits=x),
           [distribution(2, 2, 3), randn(2, 2, 3)], lambda z, x: -(z * np_log_softmax(x)).sum(-1)),
    OpCase("softmax_xent_v2_axis0", lambda z, x: tf.nn.softmax_cross_entropy_with_logits_v2(labels=z, logits=x, axis=0),
           [distribution(4, 3).T.copy(), randn(3, 4)], lambda z, x: -(z * np_log_softmax(x, 0)).sum(0)),
    OpCase("softmax_xent_v1_logits_grad", lambda z, x: tf.nn.softmax_cross_entropy_with_logits(labels=z, logits=x),
           [distribution(3, 4), randn(3, 4)], lambda z, x: -(z * np_log_softmax(x)).sum(-1), grad_inputs=(1,)),
    OpCase("softmax_xent_v1_dim0", lambda z, x: tf.nn.softmax_cross_entropy_with_logits(labels=z, logits=x, dim=0),
           [distribution(4, 3).T.copy(), randn(3, 4)], lambda z, x: -(z * np_log_softmax(x, 0)).sum(0), grad_inputs=(1,)),
    OpCase("softmax_xent_second_order",
           lambda z, x: graphdl.gradients(
               graphdl.reduce_sum(tf.nn.softmax_cross_entropy_with_logits_v2(labels=z, logits=x) ** 2), x)[0],
           [distribution(2, 3), randn(2, 3)],
           lambda z, x: 2 * (-(z * np_log_softmax(x)).sum(-1, keepdims=True)) * (np_softmax(x) - z)),
    OpCase("sparse_xent_2d", lambda x, y: tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=x),
           [randn(3, 4), LABELS_2D], lambda x, y: -np_log_softmax(x)[np.arange(3), y]),
    OpCase("sparse_xent_3d_int64", lambda x, y: tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=x),
           [randn(2, 3, 4), LABELS_3D],
           lambda x, y: -np.take_along_axis(np_log_softmax(x), y[..., None], -1)[..., 0]),
    OpCase("sparse_xent_second_order",
           lambda x, y: graphdl.gradients(
               graphdl.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=x) ** 2), x)[0],
           [randn(3, 4), LABELS_2D],
           lambda x, y: 2 * -np_log_softmax(x)[np.arange(3), y][:, None] * (np_softmax(x) - np.eye(4)[y])),
    OpCase("sigmoid_xent", lambda z, x: tf.nn.sigmoid_cross_entropy_with_logits(labels=z, logits=x),
           [uniform(0, 1, 3, 4), randn(3, 4) * 3], lambda z, x: np_sigmoid_xent(x, z)),
    OpCase("weighted_xent", lambda z, x: tf.nn.weighted_cross_entropy_with_logits(labels=z, logits=x, pos_weight=2.5),
           [uniform(0, 1, 3, 4), away_from_zero(3, 4) * 3],
           lambda z, x: (1 - z) * x + (1 + 1.5 * z) * np.log1p(np.exp(-x))),
    # -- composites
    OpCase("l2_normalize_axis1", lambda x: tf.nn.l2_normalize(x, axis=1), [randn(3, 4)],
           lambda x: x / np.sqrt((x ** 2).sum(1, keepdims=True))),
    OpCase("l2_normalize_all_dim0", lambda x: [tf.nn.l2_normalize(x), tf.nn.l2_normalize(x, dim=0)], [randn(3, 2)],
           lambda x: [x / np.sqrt((x ** 2).sum()), x / np.sqrt((x ** 2).sum(0, keepdims=True))]),
    OpCase("moments_axis0", lambda x: list(tf.nn.moments(x, axes=[0])), [randn(5, 3)], lambda x: [x.mean(0), x.var(0)]),
    OpCase("moments_keepdims", lambda x: list(tf.nn.moments(x, [0, 2], keep_dims=True)), [randn(2, 3, 2)],
           lambda x: [x.mean((0, 2), keepdims=True), x.var((0, 2), keepdims=True)]),
    OpCase("batch_normalization", lambda x, m, v, o, s: tf.nn.batch_normalization(x, m, v, o, s, 1e-3), BN,
           lambda x, m, v, o, s: (x - m) / np.sqrt(v + 1e-3) * s + o, grad_rtol=1e-3),
    OpCase("xw_plus_b", lambda x, w, b: tf.nn.xw_plus_b(x, w, b), [randn(2, 3), randn(3, 4, seed=1), randn(4, seed=2)],
           lambda x, w, b: x @ w + b),
    OpCase("relu_layer", lambda x, w, b: tf.nn.relu_layer(x, w, b),
           [randn(2, 3), randn(3, 4, seed=1), randn(4, seed=2)], lambda x, w, b: np.maximum(x @ w + b, 0)),
    OpCase("swish", lambda x: tf.nn.swish(x), [randn(3, 4)], lambda x: x / (1 + np.exp(-x))),
    OpCase("crelu", lambda x: tf.nn.crelu(x), [away_from_zero(2, 3)],
           lambda x: np.maximum(np.concatenate([x, -x], -1), 0)),
    OpCase("crelu_axis0", lambda x: tf.nn.crelu(x, axis=0), [away_from_zero(2, 3)],
           lambda x: np.maximum(np.concatenate([x, -x], 0), 0)),
    OpCase("zero_fraction", lambda x: tf.nn.zero_fraction(x), [np.array([[0.0, 1.0, 0.0], [2.0, 0.0, 3.0]], np.float32)],
           lambda x: np.float32(0.5), grad=False),
    OpCase("dropout_rate0_identity", lambda x: tf.nn.dropout(x, rate=0.0), [randn(3, 2)], np_dropout_identity),
    OpCase("dropout_keep1_identity", lambda x: tf.nn.dropout(x, keep_prob=1.0), [randn(3, 2)], np_dropout_identity),
]

test_forward, test_gradient = make_op_tests(CASES)


def run(fetches, feed=None, graph=None):
    with graphdl.Session(graph=graph) as sess:
        return sess.run(fetches, feed)


# -- op types and names ---------------------------------------------------------------------------------------------
def test_tf_op_type_names():
    x = tf.placeholder(tf.float32, [2, 3])
    b = tf.placeholder(tf.float32, [3])
    y = tf.placeholder(tf.int32, [2])
    outs = [tf.nn.relu(x), tf.nn.relu6(x), tf.nn.elu(x), tf.nn.selu(x), tf.nn.softplus(x), tf.nn.softsign(x),
            tf.nn.softmax(x), tf.nn.log_softmax(x), tf.nn.bias_add(x, b), tf.nn.l2_loss(x), tf.nn.leaky_relu(x),
            tf.nn.softmax_cross_entropy_with_logits_v2(labels=x, logits=x),
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=x)]
    assert [t.op.type for t in outs] == [
        "Relu", "Relu6", "Elu", "Selu", "Softplus", "Softsign", "Softmax", "LogSoftmax", "BiasAdd", "L2Loss",
        "LeakyRelu", "SoftmaxCrossEntropyWithLogits", "SparseSoftmaxCrossEntropyWithLogits",
    ]
    assert outs[-2].op.outputs[1].shape.as_list() == [2, 3]  # the backprop output
    assert outs[-1].shape.as_list() == [2]
    assert tf.nn.relu(x, name="act").op.name == "act"
    assert tf.nn.leaky_relu(x, name="lr").op.name == "lr"
    assert tf.nn.leaky_relu(x).op.get_attr("alpha") == pytest.approx(0.2)
    grad_types = {op.type for op in tf.gradients(tf.reduce_sum(tf.nn.relu(x)) + tf.nn.l2_loss(tf.nn.bias_add(x, b)),
                                                 [x, b])[1].graph.get_operations()}
    assert {"ReluGrad", "BiasAddGrad"} <= grad_types


def test_leaky_relu_casts_integers():
    out = tf.nn.leaky_relu(tf.constant([-10, 5]), alpha=0.5)
    assert out.dtype == tf.float32
    np.testing.assert_allclose(run(out), [-5.0, 5.0])


def test_relu_gradient_is_zero_for_negative_inputs():
    x = tf.constant([-1.0, 2.0, -3.0, 4.0])
    g = tf.gradients(tf.nn.relu(x), x)[0]
    np.testing.assert_array_equal(run(g), [0, 1, 0, 1])


def test_relu6_gradient_masks_both_ends():
    x = tf.constant([-1.0, 3.0, 7.0])
    np.testing.assert_array_equal(run(tf.gradients(tf.nn.relu6(x), x)[0]), [0, 1, 0])


# -- numerical stability --------------------------------------------------------------------------------------------
def test_softmax_and_log_softmax_stable_for_large_logits():
    x = tf.constant([[1000.0, 0.0, -1000.0], [1000.0, 1000.0, 1000.0]])
    sm, lsm = run([tf.nn.softmax(x), tf.nn.log_softmax(x)])
    assert np.all(np.isfinite(sm)) and np.all(np.isfinite(lsm))
    np.testing.assert_allclose(sm, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]], atol=1e-6)
    np.testing.assert_allclose(lsm, [[0, -1000, -2000], [-np.log(3)] * 3], rtol=1e-6)


def test_cross_entropies_stable_for_large_logits():
    logits = tf.constant([[1000.0, -1000.0], [-1000.0, 1000.0]])
    labels = tf.constant([[1.0, 0.0], [1.0, 0.0]])
    dense = tf.nn.softmax_cross_entropy_with_logits_v2(labels=labels, logits=logits)
    sparse = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.constant([0, 0]), logits=logits)
    sig = tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)
    grads = tf.gradients(tf.reduce_sum(dense) + tf.reduce_sum(sparse) + tf.reduce_sum(sig), logits)[0]
    d, s, g, gr = run([dense, sparse, sig, grads])
    np.testing.assert_allclose(d, [0, 2000], rtol=1e-6)
    np.testing.assert_allclose(s, [0, 2000], rtol=1e-6)
    np.testing.assert_allclose(g, [[0, 0], [1000, 1000]], rtol=1e-6)
    assert np.all(np.isfinite(gr))


def test_sigmoid_xent_gradient_at_zero_logits():
    # sigmoid(0) - z at x == 0, which a relu/abs formulation would get wrong.
    x = tf.zeros([3])
    z = tf.constant([0.0, 0.3, 1.0])
    g = tf.gradients(tf.nn.sigmoid_cross_entropy_with_logits(labels=z, logits=x), x)[0]
    np.testing.assert_allclose(run(g), [0.5, 0.2, -0.5], atol=1e-6)


def test_xent_backprop_output():
    logits = np.array([[1.0, 2.0, 3.0]], np.float32)
    labels = np.array([[0.0, 0.0, 1.0]], np.float32)
    loss = tf.nn.softmax_cross_entropy_with_logits_v2(labels=labels, logits=logits)
    np.testing.assert_allclose(run(loss.op.outputs[1]), np_softmax(logits) - labels, rtol=1e-6)


# -- gradients into labels ---------------------------------------------------------------------------------------------
def test_v1_xent_stops_gradient_into_labels_v2_does_not():
    z = tf.placeholder(tf.float32, [2, 3])
    x = tf.placeholder(tf.float32, [2, 3])
    v1 = tf.nn.softmax_cross_entropy_with_logits(labels=z, logits=x)
    v2 = tf.nn.softmax_cross_entropy_with_logits_v2(labels=z, logits=x)
    assert tf.gradients(v1, z)[0] is None
    g2 = tf.gradients(v2, z)[0]
    xv = randn(2, 3)
    np.testing.assert_allclose(run(g2, {z: distribution(2, 3), x: xv}), -np_log_softmax(xv), rtol=1e-5)


def test_sparse_xent_has_no_label_gradient():
    x = tf.placeholder(tf.float32, [2, 3])
    y = tf.placeholder(tf.int32, [2])
    loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=x)
    assert tf.gradients(loss, [x, y])[1] is None


# -- argument checking ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fn", [
    tf.nn.softmax_cross_entropy_with_logits, tf.nn.sparse_softmax_cross_entropy_with_logits,
    tf.nn.sigmoid_cross_entropy_with_logits,
])
def test_xent_requires_named_arguments(fn):
    with pytest.raises(ValueError, match="named arguments"):
        fn(tf.constant([[0.0, 1.0]]), tf.constant([[1.0, 2.0]]))
    with pytest.raises(ValueError, match="Both labels and logits"):
        fn(logits=tf.constant([[1.0, 2.0]]))


def test_sparse_xent_rank_and_shape_errors():
    logits = tf.placeholder(tf.float32, [4, 3])
    with pytest.raises(ValueError, match=r"Rank mismatch: Rank of labels \(received 2\).*minus 1 \(received 2\)"):
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.placeholder(tf.int32, [4, 1]), logits=logits)
    with pytest.raises(ValueError, match=r"Shape mismatch.*\(5,\)"):
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.placeholder(tf.int32, [5]), logits=logits)
    with pytest.raises(TypeError, match="int32 or int64"):
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.placeholder(tf.float32, [4]), logits=logits)
    with pytest.raises(ValueError, match="scalars"):
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.constant(1), logits=tf.constant(1.0))


@pytest.mark.parametrize("bad", [3, -1, 7])
def test_sparse_xent_label_out_of_range_at_run_time(bad):
    logits = tf.placeholder(tf.float32, [None, 3])
    labels = tf.placeholder(tf.int32, [None])
    loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    with pytest.raises(tf.errors.InvalidArgumentError, match=rf"label value of {bad} .*\[0, 3\)"):
        run(loss, {logits: randn(2, 3), labels: np.array([0, bad], np.int32)})


def test_sparse_xent_runtime_shape_mismatch():
    logits = tf.placeholder(tf.float32, [None, 3])
    labels = tf.placeholder(tf.int32, [None])
    loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    with pytest.raises(tf.errors.InvalidArgumentError, match="labels shape"):
        run(loss, {logits: randn(2, 3), labels: np.array([0, 1, 2], np.int32)})


def test_softmax_xent_shape_mismatch():
    with pytest.raises(ValueError, match="same shape"):
        tf.nn.softmax_cross_entropy_with_logits_v2(labels=tf.zeros([2, 4]), logits=tf.zeros([2, 3]))
    with pytest.raises(ValueError, match="same shape"):
        tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.zeros([2, 4]), logits=tf.zeros([2, 3]))


def test_xent_int_labels_are_cast_to_logits_dtype():
    loss = tf.nn.softmax_cross_entropy_with_logits_v2(labels=[[0, 1]], logits=tf.constant([[0.0, 0.0]]))
    np.testing.assert_allclose(run(loss), [np.log(2)], rtol=1e-6)


def test_bias_add_errors():
    with pytest.raises(ValueError, match="Dimensions must be equal, but are 3 and 4"):
        tf.nn.bias_add(tf.zeros([2, 3]), tf.zeros([4]))
    with pytest.raises(ValueError, match="rank 1"):
        tf.nn.bias_add(tf.zeros([2, 3]), tf.zeros([1, 3]))
    with pytest.raises(ValueError, match="at least rank 2"):
        tf.nn.bias_add(tf.zeros([3]), tf.zeros([3]))
    with pytest.raises(ValueError, match="data_format"):
        tf.nn.bias_add(tf.zeros([2, 3]), tf.zeros([3]), data_format="CHW")
    x = tf.placeholder(tf.float32, [None, None])
    out = tf.nn.bias_add(x, tf.zeros([3]))
    assert out.shape.as_list() == [None, 3]
    with pytest.raises(tf.errors.InvalidArgumentError, match="biases"):
        run(out, {x: np.zeros((2, 4), np.float32)})


def test_activation_dtype_errors():
    with pytest.raises((TypeError, ValueError), match="float"):
        tf.nn.elu(tf.constant([1, 2]))
    with pytest.raises((TypeError, ValueError), match="float"):
        tf.nn.softmax(tf.constant([1, 2]))


def test_softmax_axis_out_of_range():
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"Dimension \(2\) must be in the range \[-2, 2\)"):
        tf.nn.softmax(tf.zeros([2, 3]), axis=2)
    with pytest.raises(ValueError, match="both"):
        tf.nn.softmax(tf.zeros([2, 3]), axis=0, dim=0)


def test_softmax_non_last_axis_keeps_static_shape_and_name():
    x = tf.placeholder(tf.float32, [2, None, 4])
    y = tf.nn.softmax(x, axis=1, name="probs")
    assert y.shape.as_list() == [2, None, 4]
    assert y.op.name == "probs"


# -- dropout ----------------------------------------------------------------------------------------------------------------
def test_dropout_statistics_keep_prob():
    x = tf.ones([100, 100])
    out = run(tf.nn.dropout(x, keep_prob=0.7))
    assert set(np.unique(out)).issubset({0.0, np.float32(1 / 0.7)})
    assert abs((out == 0).mean() - 0.3) < 0.02
    assert abs(out.mean() - 1.0) < 0.03


def test_dropout_statistics_rate():
    out = run(tf.nn.dropout(tf.ones([10000]), rate=0.25))
    assert abs((out == 0).mean() - 0.25) < 0.02
    assert abs(out.mean() - 1.0) < 0.03
    np.testing.assert_allclose(out[out != 0], 1 / 0.75, rtol=1e-6)


def test_dropout_keep_prob_placeholder():
    keep_prob = tf.placeholder(tf.float32)
    x = tf.placeholder(tf.float32, [None, 50])
    y = tf.nn.dropout(x, keep_prob)
    assert y.shape.as_list() == [None, 50]
    xv = uniform(1, 2, 40, 50)
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(y, {x: xv, keep_prob: 1.0}), xv)
        half = sess.run(y, {x: xv, keep_prob: 0.5})
    kept = half != 0
    np.testing.assert_allclose(half[kept], 2 * xv[kept], rtol=1e-6)
    assert 0.4 < kept.mean() < 0.6


def test_dropout_seeded_reproducible_across_sessions():
    def masks():
        graph = tf.Graph()
        with graph.as_default():
            tf.set_random_seed(42)
            y = tf.nn.dropout(tf.ones([200]), keep_prob=0.5, seed=7)
            with tf.Session(graph=graph) as sess:
                return sess.run(y), sess.run(y)

    a1, a2 = masks()
    b1, b2 = masks()
    np.testing.assert_array_equal(a1, b1)
    np.testing.assert_array_equal(a2, b2)
    assert not np.array_equal(a1, a2)  # each run draws a new mask


def test_dropout_gradient_flows_through_mask():
    x = tf.placeholder(tf.float32, [1000])
    y = tf.nn.dropout(x, rate=0.5)
    g = tf.gradients(tf.reduce_sum(y), x)[0]
    xv = uniform(1, 2, 1000)
    yv, gv = run([y, g], {x: xv})
    np.testing.assert_allclose(gv, yv / xv, rtol=1e-6)
    assert set(np.unique(gv)) == {0.0, 2.0}


def test_dropout_noise_shape_shares_decisions():
    out = run(tf.nn.dropout(tf.ones([50, 8]), keep_prob=0.5, noise_shape=[50, 1]))
    assert np.all(out == out[:, :1])
    x = tf.placeholder(tf.float32, [None, 8])
    y = tf.nn.dropout(x, keep_prob=0.5, noise_shape=[None, 1])
    out = run(y, {x: np.ones((30, 8), np.float32)})
    assert np.all(out == out[:, :1]) and out.shape == (30, 8)


def test_dropout_argument_errors():
    x = tf.ones([3])
    with pytest.raises(ValueError, match="both"):
        tf.nn.dropout(x, keep_prob=0.5, rate=0.5)
    with pytest.raises(ValueError, match="rate"):
        tf.nn.dropout(x)
    for bad in (0.0, 1.5, -0.1):
        with pytest.raises(ValueError, match=r"keep_prob.*\(0, 1\]"):
            tf.nn.dropout(x, keep_prob=bad)
    with pytest.raises(ValueError, match=r"rate.*\[0, 1\)"):
        tf.nn.dropout(x, rate=1.0)
    with pytest.raises(ValueError, match="floating point"):
        tf.nn.dropout(tf.constant([1, 2]), keep_prob=0.5)
    with pytest.raises(ValueError, match="scalar"):
        tf.nn.dropout(x, keep_prob=tf.placeholder(tf.float32, [2]))
    with pytest.raises(ValueError, match=r"keep_prob.*\(0, 1\]"):
        tf.nn.dropout(x, keep_prob=tf.constant(0.0))


def test_dropout_name_scope():
    y = tf.nn.dropout(tf.ones([3]), keep_prob=0.5, name="drop")
    assert y.op.name == "drop"


# -- composites ----------------------------------------------------------------------------------------------------------------
def test_moments_shapes_and_values():
    x = tf.placeholder(tf.float32, [None, 4])
    mean, var = tf.nn.moments(x, axes=[0])
    assert mean.shape.as_list() == [4] and var.shape.as_list() == [4]
    xv = randn(6, 4)
    m, v = run([mean, var], {x: xv})
    np.testing.assert_allclose(m, xv.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(v, xv.var(0), rtol=1e-5, atol=1e-6)


def test_l2_normalize_epsilon_guards_zero_vectors():
    out = run(tf.nn.l2_normalize(tf.zeros([2, 3]), axis=1))
    np.testing.assert_array_equal(out, np.zeros((2, 3)))


def test_nn_namespace_exports():
    for name in ["relu", "relu6", "leaky_relu", "elu", "selu", "softplus", "softsign", "sigmoid", "tanh", "softmax",
                 "log_softmax", "bias_add", "l2_loss", "softmax_cross_entropy_with_logits",
                 "softmax_cross_entropy_with_logits_v2", "sparse_softmax_cross_entropy_with_logits",
                 "sigmoid_cross_entropy_with_logits", "dropout", "l2_normalize", "moments", "xw_plus_b",
                 "weighted_cross_entropy_with_logits", "batch_normalization", "relu_layer", "swish", "crelu",
                 "zero_fraction", "log_sigmoid"]:
        assert callable(getattr(tf.nn, name)), name
        assert name in tf.nn.__all__
    assert tf.nn.sigmoid is tf.sigmoid and tf.nn.tanh is tf.tanh
