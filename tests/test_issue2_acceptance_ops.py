"""Issue 2 acceptance: every op the issue lists, called exactly as TF 1.15's docs show, compared with NumPy."""

import math

import numpy as np
import pytest
from harness import OP_TEST_BACKENDS

import graphdl as tf


def run(fetches, feed=None, backend=None):
    with tf.Session(backend=backend) as sess:
        sess.run(tf.global_variables_initializer())
        return sess.run(fetches, feed)


X = np.array([[0.5, -1.5, 2.0], [3.0, 0.25, -0.75]], np.float32)
Y = np.array([1.5, 2.0, -0.5], np.float32)
P = np.array([[0.2, 0.7, 1.3], [2.2, 0.4, 0.9]], np.float32)


# -- constants and state --------------------------------------------------------------------------
def test_constant_forms():
    fetches = [tf.constant(0.0, shape=[2, 3]), tf.constant([1, 2, 3, 4], shape=[2, 2]),
               tf.constant([1.5, 2.5], dtype=tf.float64, name="c"), tf.constant(7, dtype=tf.float32)]
    a, b, c, d = run(fetches)
    np.testing.assert_array_equal(a, np.zeros((2, 3), np.float32))
    np.testing.assert_array_equal(b, [[1, 2], [3, 4]])
    assert c.dtype == np.float64 and fetches[2].name == "c:0" and d == 7.0 and d.dtype == np.float32


def test_placeholder_with_default():
    x = tf.placeholder_with_default([1.0, 2.0], shape=[None])
    y = x * 2
    assert run(y).tolist() == [2.0, 4.0] and run(y, {x: [3.0]}).tolist() == [6.0]
    assert x.shape.as_list() == [None]


def test_variable_api():
    v = tf.Variable([1.0, 2.0], name="v")
    w = tf.Variable(tf.zeros([2, 3]), trainable=False, dtype=tf.float32)
    i = tf.Variable(3, dtype=tf.int64)
    assert v.name == "v:0" and v.op.name == "v" and v.dtype == tf.float32 and v.shape.as_list() == [2]
    assert w not in tf.trainable_variables() and w in tf.global_variables() and i.dtype == tf.int64
    with tf.Session() as sess:
        sess.run(v.initializer)
        sess.run(tf.variables_initializer([w, i]))
        assert sess.run(v.assign([5.0, 6.0])).tolist() == [5.0, 6.0]
        assert sess.run(v.assign_add([1.0, 1.0])).tolist() == [6.0, 7.0]
        assert sess.run(v.assign_sub([2.0, 2.0])).tolist() == [4.0, 5.0]
        assert sess.run(tf.assign(v, [0.0, 1.0])).tolist() == [0.0, 1.0]
        assert sess.run(v.read_value()).tolist() == [0.0, 1.0]
        assert sess.run(v * 2).tolist() == [0.0, 2.0] and sess.run(v[1]) == 1.0
        assert sess.run(tf.assign_add(i, 2)) == 5 and sess.run(tf.assign_sub(i, 1)) == 4
        assert sess.run(w).shape == (2, 3)
        sess.run(tf.group(v.assign([9.0, 9.0]), i.assign(0)))
        assert sess.run(v).tolist() == [9.0, 9.0] and sess.run(i) == 0
    dep = tf.Variable(v.initialized_value() + 1.0)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(dep).tolist() == [2.0, 3.0]


def test_get_variable_and_variable_scope():
    with tf.variable_scope("layer", initializer=tf.constant_initializer(0.5)):
        w = tf.get_variable("w", [2, 3])
        b = tf.get_variable("b", [3], initializer=tf.zeros_initializer())
    with tf.variable_scope("layer", reuse=True):
        w2 = tf.get_variable("w")
    with tf.variable_scope("layer") as scope:
        scope.reuse_variables()
        w3 = tf.get_variable("w", [2, 3])
    with tf.variable_scope("auto", reuse=tf.AUTO_REUSE):
        a1 = tf.get_variable("a", [1], dtype=tf.float64)
    with tf.variable_scope("auto", reuse=tf.AUTO_REUSE):
        a2 = tf.get_variable("a", [1], dtype=tf.float64)
    assert w.name == "layer/w:0" and w2 is w and w3 is w and a1 is a2 and a1.dtype == tf.float64
    with pytest.raises(ValueError, match="layer/w"):
        tf.get_variable("layer/w", [2, 3])
    with pytest.raises(ValueError, match="nope"), tf.variable_scope("layer", reuse=True):
        tf.get_variable("nope", [1])
    wv, bv = run([w, b])
    np.testing.assert_array_equal(wv, np.full((2, 3), 0.5))
    np.testing.assert_array_equal(bv, np.zeros(3))


def test_identity_stop_gradient_no_op_group():
    x = tf.constant([1.0, 2.0])
    i, s = tf.identity(x, name="id"), tf.stop_gradient(x)
    v = tf.Variable(0.0)
    g = tf.group(v.assign_add(1.0), v.assign_add(1.0), name="both")
    assert i.name == "id:0" and tf.no_op().type == "NoOp" and g.type == "NoOp" and g.name == "both"
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(g) is None and sess.run(v) == 2.0
        assert sess.run(i).tolist() == [1.0, 2.0] and sess.run(s).tolist() == [1.0, 2.0]


# -- math -----------------------------------------------------------------------------------------
UNARY = {
    "negative": np.negative, "abs": np.abs, "sign": np.sign, "square": np.square, "exp": np.exp,
    "floor": np.floor, "ceil": np.ceil, "round": np.round, "sin": np.sin, "cos": np.cos, "tanh": np.tanh,
    "sigmoid": lambda a: 1 / (1 + np.exp(-a)), "erf": np.vectorize(math.erf),
}
POSITIVE_UNARY = {"sqrt": np.sqrt, "rsqrt": lambda a: 1 / np.sqrt(a), "log": np.log, "log1p": np.log1p,
                  "reciprocal": np.reciprocal}


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_unary_math(backend):
    x = tf.placeholder(tf.float32, [None, 3])
    p = tf.placeholder(tf.float32, [None, 3])
    fetches = {k: getattr(tf, k)(x) for k in UNARY} | {k: getattr(tf, k)(p) for k in POSITIVE_UNARY}
    got = run(fetches, {x: X, p: P}, backend)
    for k, f in UNARY.items():
        np.testing.assert_allclose(got[k], f(X), rtol=1e-5, atol=1e-6, err_msg=k)
    for k, f in POSITIVE_UNARY.items():
        np.testing.assert_allclose(got[k], f(P), rtol=1e-5, err_msg=k)
    assert run(tf.round([0.5, 1.5, 2.5, -0.5])).tolist() == [0.0, 2.0, 2.0, -0.0]  # banker's rounding


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_binary_math_broadcasting(backend):
    x = tf.placeholder(tf.float32, [None, 3])
    y = tf.placeholder(tf.float32, [3])
    fetches = {
        "add": tf.add(x, y), "subtract": tf.subtract(x, y), "multiply": tf.multiply(x, y),
        "divide": tf.divide(x, y), "truediv": tf.truediv(x, y), "floordiv": tf.floordiv(x, y),
        "mod": tf.mod(x, y), "pow": tf.pow(tf.abs(x), y), "maximum": tf.maximum(x, y), "minimum": tf.minimum(x, y),
        "equal": tf.equal(x, 0.5), "not_equal": tf.not_equal(x, 0.5), "less": tf.less(x, y),
        "less_equal": tf.less_equal(x, y), "greater": tf.greater(x, y), "greater_equal": tf.greater_equal(x, y),
        "scalar": tf.add(x, 1), "scalar_first": tf.subtract(2.0, x),
    }
    want = {
        "add": X + Y, "subtract": X - Y, "multiply": X * Y, "divide": X / Y, "truediv": X / Y,
        "floordiv": np.floor_divide(X, Y), "mod": np.mod(X, Y), "pow": np.abs(X) ** Y, "maximum": np.maximum(X, Y),
        "minimum": np.minimum(X, Y), "equal": X == 0.5, "not_equal": X != 0.5, "less": X < Y, "less_equal": X <= Y,
        "greater": X > Y, "greater_equal": X >= Y, "scalar": X + 1, "scalar_first": 2 - X,
    }
    got = run(fetches, {x: X, y: Y}, backend)
    for k, w in want.items():
        assert got[k].shape == w.shape, k
        np.testing.assert_allclose(got[k], w, rtol=1e-5, err_msg=k)
    assert fetches["less"].dtype == tf.bool and fetches["less"].shape.as_list() == [None, 3]


def test_logical_where_cast_clip_add_n():
    a, b = np.array([True, False, True]), np.array([True, True, False])
    cond = tf.constant([[True, False, True], [False, True, False]])
    got = run({
        "and": tf.logical_and(a, b), "or": tf.logical_or(a, b), "not": tf.logical_not(a),
        "where": tf.where(cond, X, P), "where_rows": tf.where([True, False], X, P),
        "where_idx": tf.where(cond), "cast": tf.cast(tf.constant([1.7, -1.7, 2.5]), tf.int32),
        "cast_bool": tf.cast(tf.constant([0.0, 2.0]), tf.bool), "clip": tf.clip_by_value(X, 0.0, 1.0),
        "clip_kw": tf.clip_by_value(X, clip_value_min=-1.0, clip_value_max=1.0),
        "add_n": tf.add_n([X, P, X]),
    })
    np.testing.assert_array_equal(got["and"], a & b)
    np.testing.assert_array_equal(got["or"], a | b)
    np.testing.assert_array_equal(got["not"], ~a)
    np.testing.assert_array_equal(got["where"], np.where(run(cond), X, P))
    np.testing.assert_array_equal(got["where_rows"], np.stack([X[0], P[1]]))
    np.testing.assert_array_equal(got["where_idx"], np.argwhere(run(cond)))
    assert got["where_idx"].dtype == np.int64
    np.testing.assert_array_equal(got["cast"], [1, -1, 2])
    np.testing.assert_array_equal(got["cast_bool"], [False, True])
    np.testing.assert_allclose(got["clip"], np.clip(X, 0, 1))
    np.testing.assert_allclose(got["clip_kw"], np.clip(X, -1, 1))
    np.testing.assert_allclose(got["add_n"], 2 * X + P)


def test_matmul_and_tensordot():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.arange(12, dtype=np.float32).reshape(3, 4)
    batch_a = np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 10
    batch_b = np.arange(40, dtype=np.float32).reshape(2, 4, 5) / 10
    got = run({
        "mm": tf.matmul(a, b), "ta": tf.matmul(a.T.copy(), b, transpose_a=True),
        "tb": tf.matmul(a, b.T.copy(), transpose_b=True), "batched": tf.matmul(batch_a, batch_b),
        "td": tf.tensordot(batch_a, batch_b, axes=[[2], [1]]), "td_int": tf.tensordot(a, b, axes=1),
        "td0": tf.tensordot(a, Y, axes=0),
    })
    np.testing.assert_allclose(got["mm"], a @ b)
    np.testing.assert_allclose(got["ta"], a @ b)
    np.testing.assert_allclose(got["tb"], a @ b)
    np.testing.assert_allclose(got["batched"], batch_a @ batch_b, rtol=1e-5)
    np.testing.assert_allclose(got["td"], np.tensordot(batch_a, batch_b, axes=[[2], [1]]), rtol=1e-5)
    np.testing.assert_allclose(got["td_int"], np.tensordot(a, b, axes=1))
    np.testing.assert_allclose(got["td0"], np.tensordot(a, Y, axes=0))


# -- reductions -----------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_reductions(backend):
    x = tf.placeholder(tf.float32, [None, 3])
    got = run({
        "sum_all": tf.reduce_sum(x), "sum_kd": tf.reduce_sum(x, axis=1, keepdims=True),
        "sum_ri": tf.reduce_sum(x, reduction_indices=[1]), "sum_pos": tf.reduce_sum(x, 0),
        "sum_kd_old": tf.reduce_sum(x, 1, keep_dims=True), "sum_neg": tf.reduce_sum(x, axis=-1),
        "mean": tf.reduce_mean(x), "mean0": tf.reduce_mean(x, 0), "max": tf.reduce_max(x, axis=1),
        "min": tf.reduce_min(x, axis=[0, 1]), "prod": tf.reduce_prod(x, 1),
        "lse": tf.reduce_logsumexp(x, axis=1), "argmax": tf.argmax(x, 1), "argmin": tf.argmin(x, axis=0),
        "argmax_dim": tf.argmax(x, dimension=1), "argmax_i32": tf.argmax(x, 1, output_type=tf.int32),
    }, {x: X}, backend)
    np.testing.assert_allclose(got["sum_all"], X.sum(), rtol=1e-6)
    np.testing.assert_allclose(got["sum_kd"], X.sum(1, keepdims=True), rtol=1e-6)
    np.testing.assert_allclose(got["sum_ri"], X.sum(1), rtol=1e-6)
    np.testing.assert_allclose(got["sum_pos"], X.sum(0), rtol=1e-6)
    np.testing.assert_allclose(got["sum_kd_old"], X.sum(1, keepdims=True), rtol=1e-6)
    np.testing.assert_allclose(got["sum_neg"], X.sum(-1), rtol=1e-6)
    np.testing.assert_allclose(got["mean"], X.mean(), rtol=1e-6)
    np.testing.assert_allclose(got["mean0"], X.mean(0), rtol=1e-6)
    np.testing.assert_allclose(got["max"], X.max(1))
    np.testing.assert_allclose(got["min"], X.min())
    np.testing.assert_allclose(got["prod"], X.prod(1), rtol=1e-6)
    np.testing.assert_allclose(got["lse"], np.log(np.exp(X).sum(1)), rtol=1e-5)
    np.testing.assert_array_equal(got["argmax"], X.argmax(1))
    np.testing.assert_array_equal(got["argmin"], X.argmin(0))
    np.testing.assert_array_equal(got["argmax_dim"], X.argmax(1))
    assert got["argmax"].dtype == np.int64 and got["argmax_i32"].dtype == np.int32
    assert run(tf.reduce_mean(tf.constant([1, 2]))) == 1  # integer mean stays integer, as in TF


# -- arrays ---------------------------------------------------------------------------------------
def test_array_ops():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    t = tf.constant(a)
    got = run({
        "reshape": tf.reshape(t, [-1, 6]), "reshape_flat": tf.reshape(t, [-1]),
        "transpose": tf.transpose(t), "transpose_perm": tf.transpose(tf.reshape(t, [3, 2, 2]), perm=[2, 0, 1]),
        "expand0": tf.expand_dims(t, 0), "expand_neg": tf.expand_dims(t, axis=-1),
        "squeeze": tf.squeeze(tf.reshape(t, [1, 3, 1, 4])), "squeeze_ax": tf.squeeze(tf.reshape(t, [1, 3, 1, 4]), [0]),
        "squeeze_kw": tf.squeeze(tf.reshape(t, [1, 3, 1, 4]), axis=[2]),
        "concat": tf.concat([t, t], 1), "concat0": tf.concat([t, t], axis=0),
        "stack": tf.stack([t, t], axis=1), "slice": tf.slice(t, [1, 0], [2, -1]),
        "strided": tf.strided_slice(t, [0, 1], [3, 4], [2, 2]), "gather": tf.gather(t, [2, 0]),
        "gather_ax": tf.gather(t, [3, 1], axis=1), "tile": tf.tile(t, [2, 1]),
        "pad": tf.pad(t, [[1, 0], [0, 2]]), "pad_reflect": tf.pad(t, [[1, 1], [2, 2]], "REFLECT"),
        "fill": tf.fill([2, 3], 9), "zeros": tf.zeros([2, 3]), "zeros_i": tf.zeros([2], dtype=tf.int32),
        "ones": tf.ones([2, 2], tf.float64), "zeros_like": tf.zeros_like(t), "ones_like": tf.ones_like(t),
        "range": tf.range(5), "range3": tf.range(1, 10, 2), "range_f": tf.range(0.0, 1.0, 0.25),
        "range_kw": tf.range(start=3, limit=0, delta=-1), "shape": tf.shape(t), "size": tf.size(t),
        "rank": tf.rank(t), "linspace": tf.linspace(0.0, 1.0, 5),
        "one_hot": tf.one_hot([0, 2, -1], depth=3), "one_hot_kw": tf.one_hot([1, 0], 3, on_value=5.0, off_value=-1.0),
        "one_hot_ax": tf.one_hot([1, 0], depth=3, axis=0),
    })
    np.testing.assert_array_equal(got["reshape"], a.reshape(-1, 6))
    np.testing.assert_array_equal(got["reshape_flat"], a.ravel())
    np.testing.assert_array_equal(got["transpose"], a.T)
    np.testing.assert_array_equal(got["transpose_perm"], a.reshape(3, 2, 2).transpose(2, 0, 1))
    np.testing.assert_array_equal(got["expand0"], a[None])
    np.testing.assert_array_equal(got["expand_neg"], a[..., None])
    np.testing.assert_array_equal(got["squeeze"], a)
    np.testing.assert_array_equal(got["squeeze_ax"], a.reshape(3, 1, 4))
    np.testing.assert_array_equal(got["squeeze_kw"], a.reshape(1, 3, 4))
    np.testing.assert_array_equal(got["concat"], np.concatenate([a, a], 1))
    np.testing.assert_array_equal(got["concat0"], np.concatenate([a, a], 0))
    np.testing.assert_array_equal(got["stack"], np.stack([a, a], 1))
    np.testing.assert_array_equal(got["slice"], a[1:3, :])
    np.testing.assert_array_equal(got["strided"], a[0:3:2, 1:4:2])
    np.testing.assert_array_equal(got["gather"], a[[2, 0]])
    np.testing.assert_array_equal(got["gather_ax"], a[:, [3, 1]])
    np.testing.assert_array_equal(got["tile"], np.tile(a, [2, 1]))
    np.testing.assert_array_equal(got["pad"], np.pad(a, [[1, 0], [0, 2]]))
    np.testing.assert_array_equal(got["pad_reflect"], np.pad(a, [[1, 1], [2, 2]], mode="reflect"))
    np.testing.assert_array_equal(got["fill"], np.full((2, 3), 9))
    assert got["fill"].dtype == np.int32 and got["zeros"].dtype == np.float32 and got["zeros_i"].dtype == np.int32
    assert got["ones"].dtype == np.float64 and got["ones"].tolist() == [[1, 1], [1, 1]]
    np.testing.assert_array_equal(got["zeros_like"], np.zeros_like(a))
    np.testing.assert_array_equal(got["ones_like"], np.ones_like(a))
    np.testing.assert_array_equal(got["range"], np.arange(5))
    assert got["range"].dtype == np.int32 and got["range_f"].dtype == np.float32
    np.testing.assert_array_equal(got["range3"], np.arange(1, 10, 2))
    np.testing.assert_array_equal(got["range_f"], np.arange(0, 1, 0.25))
    np.testing.assert_array_equal(got["range_kw"], [3, 2, 1])
    assert got["shape"].tolist() == [3, 4] and got["shape"].dtype == np.int32
    assert got["size"] == 12 and got["rank"] == 2
    np.testing.assert_allclose(got["linspace"], np.linspace(0, 1, 5))
    np.testing.assert_array_equal(got["one_hot"], [[1, 0, 0], [0, 0, 1], [0, 0, 0]])
    assert got["one_hot"].dtype == np.float32
    np.testing.assert_array_equal(got["one_hot_kw"], [[-1, 5, -1], [5, -1, -1]])
    np.testing.assert_array_equal(got["one_hot_ax"], np.eye(3)[[1, 0]].T)


def test_split_unstack():
    x = tf.placeholder(tf.float32, [None, 6])
    a = np.arange(12, dtype=np.float32).reshape(2, 6)
    parts = tf.split(x, 3, axis=1)
    sized = tf.split(x, [1, 2, 3], 1)
    rows = tf.unstack(tf.constant(a))
    cols = tf.unstack(tf.constant(a), axis=1)
    assert len(parts) == 3 and parts[0].shape.as_list() == [None, 2] and sized[2].shape.as_list() == [None, 3]
    got = run([parts, sized, rows, cols], {x: a})
    for g, w in zip(got[0], np.split(a, 3, axis=1)):
        np.testing.assert_array_equal(g, w)
    for g, w in zip(got[1], np.split(a, [1, 3], axis=1)):
        np.testing.assert_array_equal(g, w)
    assert len(got[2]) == 2 and len(got[3]) == 6
    np.testing.assert_array_equal(got[3][4], a[:, 4])
    assert len(tf.split(tf.constant(a), num_or_size_splits=2, axis=0)) == 2


# -- nn -------------------------------------------------------------------------------------------
def _softmax(z, axis=-1):
    e = np.exp(z - z.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_nn_activations(backend):
    x = tf.placeholder(tf.float32, [None, 3])
    got = run({
        "relu": tf.nn.relu(x), "relu6": tf.nn.relu6(x * 4), "leaky": tf.nn.leaky_relu(x),
        "leaky_a": tf.nn.leaky_relu(x, alpha=0.1), "elu": tf.nn.elu(x), "selu": tf.nn.selu(x),
        "softplus": tf.nn.softplus(x), "softsign": tf.nn.softsign(x), "sigmoid": tf.nn.sigmoid(x),
        "tanh": tf.nn.tanh(x), "softmax": tf.nn.softmax(x), "softmax0": tf.nn.softmax(x, axis=0),
        "log_softmax": tf.nn.log_softmax(x), "bias_add": tf.nn.bias_add(x, Y), "l2_loss": tf.nn.l2_loss(x),
        "l2n": tf.nn.l2_normalize(x, axis=1), "l2n_all": tf.nn.l2_normalize(x),
    }, {x: X}, backend)
    sa, sl = 1.0507009873554805, 1.6732632423543772
    want = {
        "relu": np.maximum(X, 0), "relu6": np.clip(X * 4, 0, 6), "leaky": np.where(X > 0, X, 0.2 * X),
        "leaky_a": np.where(X > 0, X, 0.1 * X), "elu": np.where(X > 0, X, np.exp(X) - 1),
        "selu": sa * np.where(X > 0, X, sl * (np.exp(X) - 1)), "softplus": np.log1p(np.exp(X)),
        "softsign": X / (1 + np.abs(X)), "sigmoid": 1 / (1 + np.exp(-X)), "tanh": np.tanh(X),
        "softmax": _softmax(X), "softmax0": _softmax(X, 0), "log_softmax": np.log(_softmax(X)),
        "bias_add": X + Y, "l2_loss": (X ** 2).sum() / 2, "l2n": X / np.linalg.norm(X, axis=1, keepdims=True),
        "l2n_all": X / np.linalg.norm(X),
    }
    for k, w in want.items():
        np.testing.assert_allclose(got[k], w, rtol=1e-5, atol=1e-6, err_msg=k)


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_cross_entropies(backend):
    logits = tf.placeholder(tf.float32, [None, 3])
    labels = _softmax(P)
    ids = np.array([2, 0])
    mlab = (P > 0.5).astype(np.float32)
    got = run({
        "sce": tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits),
        "sce2": tf.nn.softmax_cross_entropy_with_logits_v2(labels=labels, logits=logits),
        "sparse": tf.nn.sparse_softmax_cross_entropy_with_logits(labels=ids, logits=logits),
        "sig": tf.nn.sigmoid_cross_entropy_with_logits(labels=mlab, logits=logits),
    }, {logits: X}, backend)
    logp = np.log(_softmax(X))
    np.testing.assert_allclose(got["sce"], -(labels * logp).sum(1), rtol=1e-5)
    np.testing.assert_allclose(got["sce2"], -(labels * logp).sum(1), rtol=1e-5)
    np.testing.assert_allclose(got["sparse"], -logp[[0, 1], ids], rtol=1e-5)
    s = 1 / (1 + np.exp(-X))
    np.testing.assert_allclose(got["sig"], -(mlab * np.log(s) + (1 - mlab) * np.log(1 - s)), rtol=1e-5)


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_dropout(backend):
    x = tf.ones([200, 50])
    kp = tf.placeholder(tf.float32, [])
    outs = [tf.nn.dropout(x, keep_prob=0.5), tf.nn.dropout(x, rate=0.75), tf.nn.dropout(x, 0.8),
            tf.nn.dropout(x, keep_prob=kp)]
    with tf.Session(backend=backend) as sess:
        d1, d2, d3, d4 = sess.run(outs, {kp: 1.0})
        again = sess.run(outs[0])
    assert set(np.unique(d1)) <= {0.0, 2.0} and abs((d1 > 0).mean() - 0.5) < 0.03
    assert set(np.unique(d2)) <= {0.0, 4.0} and abs((d2 > 0).mean() - 0.25) < 0.03
    assert set(np.round(np.unique(d3), 5)) <= {0.0, 1.25} and abs((d3 > 0).mean() - 0.8) < 0.03  # keep_prob
    np.testing.assert_array_equal(d4, np.ones((200, 50)))
    assert not np.array_equal(d1, again)  # a new mask on each run


def test_moments_and_losses():
    x = tf.placeholder(tf.float32, [None, 3])
    mean, var = tf.nn.moments(x, axes=[0])
    m1, v1 = tf.nn.moments(x, [0, 1], keep_dims=True)
    pred = tf.sigmoid(x)
    labels = (X > 0).astype(np.float32)
    mse = tf.losses.mean_squared_error(labels, pred)
    mse_kw = tf.losses.mean_squared_error(labels=labels, predictions=pred, weights=2.0)
    ll = tf.losses.log_loss(labels, pred)
    got = run([mean, var, m1, v1, mse, mse_kw, ll], {x: X})
    s = 1 / (1 + np.exp(-X))
    np.testing.assert_allclose(got[0], X.mean(0), rtol=1e-6)
    np.testing.assert_allclose(got[1], X.var(0), rtol=1e-5)
    assert got[2].shape == (1, 1) and got[3].shape == (1, 1)
    np.testing.assert_allclose(got[3], [[X.var()]], rtol=1e-5)
    np.testing.assert_allclose(got[4], ((labels - s) ** 2).mean(), rtol=1e-5)
    np.testing.assert_allclose(got[5], 2 * ((labels - s) ** 2).mean(), rtol=1e-5)
    eps = 1e-7
    np.testing.assert_allclose(got[6], (-labels * np.log(s + eps) - (1 - labels) * np.log(1 - s + eps)).mean(),
                               rtol=1e-5)
    assert mse in tf.get_collection(tf.GraphKeys.LOSSES) and ll in tf.get_collection(tf.GraphKeys.LOSSES)
    assert mse.shape.as_list() == []


# -- random ---------------------------------------------------------------------------------------
def test_random_ops_distributions():
    logits = tf.log([[0.1, 0.9], [0.9, 0.1]])
    fetches = {
        "normal": tf.random_normal([2000], mean=1.0, stddev=2.0, seed=1),
        "normal_pos": tf.random_normal([2, 3], seed=1),
        "trunc": tf.truncated_normal([2000], stddev=0.5, seed=2), "unif": tf.random_uniform([2000], -1, 3, seed=3),
        "unif_int": tf.random_uniform([500], minval=0, maxval=5, dtype=tf.int32, seed=4),
        "shuffle": tf.random_shuffle(tf.range(10), seed=5), "multi": tf.multinomial(logits, 5),
        "multi_many": tf.multinomial(logits, 2000, seed=6), "cat": tf.random.categorical(logits, 7),
    }
    got = run(fetches)
    assert got["normal_pos"].shape == (2, 3) and got["normal"].dtype == np.float32
    assert abs(got["normal"].mean() - 1.0) < 0.15 and abs(got["normal"].std() - 2.0) < 0.15
    assert np.all(np.abs(got["trunc"]) <= 1.0) and abs(got["trunc"].std() - 0.5 * 0.8796) < 0.03
    assert got["unif"].min() >= -1 and got["unif"].max() < 3 and abs(got["unif"].mean() - 1) < 0.1
    assert got["unif_int"].dtype == np.int32 and set(np.unique(got["unif_int"])) == {0, 1, 2, 3, 4}
    assert sorted(got["shuffle"].tolist()) == list(range(10))
    assert got["multi"].shape == (2, 5) and got["multi"].dtype == np.int64 and got["cat"].shape == (2, 7)
    frac = (got["multi_many"] == 1).mean(1)
    assert abs(frac[0] - 0.9) < 0.04 and abs(frac[1] - 0.1) < 0.04
    assert tf.random.normal is not None and tf.random.uniform is not None


# -- initializers ---------------------------------------------------------------------------------
def test_initializers_called_with_shape_and_dtype():
    shape = [40, 60]
    inits = {
        "zeros": tf.zeros_initializer(), "ones": tf.ones_initializer(), "const": tf.constant_initializer(0.3),
        "normal": tf.random_normal_initializer(mean=0.0, stddev=0.1, seed=1),
        "trunc": tf.truncated_normal_initializer(stddev=0.1, seed=1),
        "unif": tf.random_uniform_initializer(-0.2, 0.2, seed=1), "gu": tf.glorot_uniform_initializer(seed=1),
        "gn": tf.glorot_normal_initializer(seed=1), "hn": tf.initializers.he_normal(seed=1),
        "hu": tf.initializers.he_uniform(seed=1), "vs": tf.variance_scaling_initializer(scale=2.0, mode="fan_in"),
        "orth": tf.orthogonal_initializer(gain=1.0, seed=1),
    }
    tensors = {k: init(shape, tf.float32) for k, init in inits.items()}
    tensors["f64"] = tf.zeros_initializer()(shape, dtype=tf.float64)
    tensors["const_list"] = tf.constant_initializer([1, 2, 3])([3])
    got = run(tensors)
    assert all(v.shape == tuple(shape) for k, v in got.items() if k != "const_list")
    assert got["zeros"].sum() == 0 and np.all(got["ones"] == 1) and np.allclose(got["const"], 0.3)
    assert got["f64"].dtype == np.float64 and got["zeros"].dtype == np.float32
    assert got["const_list"].tolist() == [1, 2, 3]
    assert abs(got["normal"].std() - 0.1) < 0.01 and np.abs(got["trunc"]).max() <= 0.2
    assert np.abs(got["unif"]).max() <= 0.2
    limit = np.sqrt(6 / (40 + 60))
    assert np.abs(got["gu"]).max() <= limit and got["gu"].std() > limit / 2
    assert abs(got["gn"].std() - np.sqrt(2 / 100)) < 0.01
    assert abs(got["hn"].std() - np.sqrt(2 / 40)) < 0.03 and np.abs(got["hu"]).max() <= np.sqrt(6 / 40)
    assert abs(got["vs"].std() - np.sqrt(2 / 40)) < 0.03
    o = got["orth"]
    np.testing.assert_allclose(o @ o.T, np.eye(40), atol=1e-5)
    w = tf.get_variable("w", [3, 4], initializer=tf.glorot_uniform_initializer())
    v = tf.Variable(tf.truncated_normal_initializer(stddev=0.01)([5]))
    assert run(w).shape == (3, 4) and run(v).shape == (5,)
