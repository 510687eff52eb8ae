"""Random ops: distributions, shapes, dtypes, TF1's seed rule and session semantics."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import graphdl as tf
from graphdl.ops import random_ops

N = 100_000


def run(fetches, feed=None):
    with tf.Session() as sess:
        return sess.run(fetches, feed)


# -- distributions -------------------------------------------------------------------------------
def test_random_normal_moments():
    x = tf.random_normal([N], mean=2.0, stddev=3.0)
    v = run(x)
    assert v.shape == (N,) and v.dtype == np.float32
    assert abs(v.mean() - 2.0) < 0.05
    assert abs(v.std() - 3.0) < 0.05


def test_random_normal_float64_and_float16():
    a, b = run([tf.random_normal([N], dtype=tf.float64), tf.random_normal([1000], dtype=tf.float16)])
    assert a.dtype == np.float64 and b.dtype == np.float16
    assert abs(a.mean()) < 0.02 and abs(a.std() - 1) < 0.02


def test_truncated_normal_bounded_by_two_std():
    x = tf.truncated_normal([N], mean=-1.0, stddev=0.5)
    v = run(x)
    assert v.min() >= -1.0 - 2 * 0.5 - 1e-6 and v.max() <= -1.0 + 2 * 0.5 + 1e-6
    assert abs(v.mean() + 1.0) < 0.01
    # The stddev of a unit normal truncated at +-2 is 0.8796.
    assert abs(v.std() - 0.5 * 0.87962566) < 0.01
    # Both tails are actually reached (values near the bounds exist).
    assert v.min() < -1.9 and v.max() > -0.1


def test_random_uniform_float_range_and_moments():
    x = tf.random_uniform([N], minval=-2.0, maxval=3.0)
    v = run(x)
    assert v.dtype == np.float32
    assert v.min() >= -2.0 and v.max() < 3.0
    assert abs(v.mean() - 0.5) < 0.03
    assert abs(v.var() - 25 / 12) < 0.05


def test_random_uniform_default_maxval_is_one():
    v = run(tf.random_uniform([1000, 10]))
    assert v.shape == (1000, 10) and v.min() >= 0 and v.max() < 1 and v.max() > 0.99


def test_random_uniform_float16_stays_below_one():
    v = run(tf.random_uniform([N], dtype=tf.float16))
    assert v.dtype == np.float16 and v.min() >= 0 and v.max() < 1


@pytest.mark.parametrize("dtype", [tf.int32, tf.int64])
def test_random_uniform_int(dtype):
    x = tf.random_uniform([N], minval=-3, maxval=4, dtype=dtype)
    assert x.op.type == "RandomUniformInt" and x.dtype == dtype
    v = run(x)
    assert v.dtype == dtype.np
    assert set(np.unique(v)) == set(range(-3, 4))
    counts = np.bincount(v + 3) / N
    np.testing.assert_allclose(counts, 1 / 7, atol=0.01)


def test_random_uniform_int_requires_maxval():
    with pytest.raises(ValueError, match="maxval"):
        tf.random_uniform([3], dtype=tf.int32)


def test_random_uniform_int_minval_not_below_maxval_fails_at_run_time():
    x = tf.random_uniform([3], minval=5, maxval=3, dtype=tf.int32)
    with pytest.raises(tf.errors.InvalidArgumentError, match="minval=5 >= maxval=3"):
        run(x)


def test_random_uniform_tensor_bounds():
    lo = tf.placeholder(tf.float32, [])
    x = tf.random_uniform([1000], minval=lo, maxval=lo + 1.0)
    v = run(x, {lo: 10.0})
    assert v.min() >= 10.0 and v.max() < 11.0


def test_random_shuffle_is_permutation_of_first_dim():
    data = np.arange(24, dtype=np.float32).reshape(12, 2)
    x = tf.random_shuffle(data)
    assert x.shape.as_list() == [12, 2] and x.op.type == "RandomShuffle"
    with tf.Session() as sess:
        outs = [sess.run(x) for _ in range(5)]
    for v in outs:
        assert v.shape == (12, 2)
        np.testing.assert_array_equal(np.sort(v[:, 0]), data[:, 0])
        np.testing.assert_array_equal(v[:, 1], v[:, 0] + 1)  # rows move as a whole
    assert any(not np.array_equal(v, data) for v in outs)


def test_random_shuffle_scalar_and_unknown_shape():
    p = tf.placeholder(tf.int32, None)
    y = tf.random_shuffle(p)
    assert y.shape.ndims is None
    np.testing.assert_array_equal(np.sort(run(y, {p: np.arange(7)})), np.arange(7))
    assert run(tf.random_shuffle(5)) == 5


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_multinomial_frequencies_match_softmax():
    logits = np.array([[0.0, 1.0, 2.0, -1.0], [3.0, 0.0, 0.0, 0.0]], dtype=np.float32)
    s = tf.multinomial(logits, 50_000, seed=3)
    assert s.dtype == tf.int64 and s.shape.as_list() == [2, 50_000]
    assert s.op.name == "multinomial/Multinomial"
    v = run(s)
    for b in range(2):
        freq = np.bincount(v[b], minlength=4) / v.shape[1]
        np.testing.assert_allclose(freq, _softmax(logits[b]), atol=0.01)


def test_multinomial_negative_infinity_logit_is_never_drawn_and_int32_output():
    logits = tf.constant([[0.0, -np.inf, 0.0]])
    s = tf.multinomial(logits, 1000, output_dtype=tf.int32)
    v = run(s)
    assert v.dtype == np.int32 and set(np.unique(v)) == {0, 2}


def test_categorical_unknown_batch_and_samples():
    logits = tf.placeholder(tf.float32, [None, 3])
    n = tf.placeholder(tf.int32, [])
    s = tf.random.categorical(logits, n, dtype=tf.int32)
    assert s.shape.as_list() == [None, None] and s.dtype == tf.int32
    v = run(s, {logits: np.log([[0.2, 0.3, 0.5]] * 4), n: 20000})
    assert v.shape == (4, 20000)
    np.testing.assert_allclose(np.bincount(v.ravel(), minlength=3) / v.size, [0.2, 0.3, 0.5], atol=0.01)


def test_multinomial_rejects_vector_logits():
    with pytest.raises(ValueError, match=r"logits should be a matrix.*\(3,\)"):
        tf.multinomial([1.0, 2.0, 3.0], 2)


def test_random_gamma_moments_and_shape():
    alpha = np.array([0.5, 2.0, 9.0], dtype=np.float32)
    g = tf.random_gamma([N], alpha, beta=2.0, seed=5)
    assert g.shape.as_list() == [N, 3]
    v = run(g)
    np.testing.assert_allclose(v.mean(0), alpha / 2.0, rtol=0.03)
    np.testing.assert_allclose(v.var(0), alpha / 4.0, rtol=0.05)
    assert v.min() > 0


def test_random_gamma_gradient_matches_implicit_derivative():
    special = pytest.importorskip("scipy.special")
    alpha = tf.placeholder(tf.float64, [3])
    g = tf.random_gamma([4], alpha, dtype=tf.float64, seed=7)
    (da,) = tf.gradients(tf.reduce_sum(g), [alpha])
    a = np.array([0.3, 1.5, 20.0])
    with tf.Session() as sess:
        sample, grad = sess.run([g, da], {alpha: a})
    # d sample / d alpha at fixed CDF: -(dP/dalpha) / pdf, checked with scipy's gammainc.
    h = 1e-6
    dcdf = (special.gammainc(a + h, sample) - special.gammainc(a - h, sample)) / (2 * h)
    pdf = np.exp((a - 1) * np.log(sample) - sample - special.gammaln(a))
    np.testing.assert_allclose(grad, (-dcdf / pdf).sum(0), rtol=1e-4)


def test_random_poisson_moments():
    p = tf.random_poisson([1.0, 5.0], [N], seed=1)
    assert p.shape.as_list() == [N, 2] and p.dtype == tf.float32
    v = run(p)
    np.testing.assert_allclose(v.mean(0), [1.0, 5.0], rtol=0.03)
    assert np.all(v == np.round(v))
    assert run(tf.random.poisson(3.0, [10], dtype=tf.int64)).dtype == np.int64


def test_random_crop_takes_a_random_block():
    img = np.arange(6 * 7 * 3, dtype=np.float32).reshape(6, 7, 3)
    c = tf.random_crop(img, [4, 5, 3], seed=2)
    assert c.shape.as_list() == [4, 5, 3] and c.op.name == "random_crop"
    offsets = set()
    with tf.Session() as sess:
        for _ in range(60):
            v = sess.run(c)
            i, j = divmod(int(v[0, 0, 0]) // 3, 7)
            np.testing.assert_array_equal(v, img[i:i + 4, j:j + 5])
            offsets.add((i, j))
    assert offsets == {(i, j) for i in range(3) for j in range(3)}


def test_random_crop_size_errors():
    with pytest.raises(ValueError, match=r"need value.shape >= size.*\(2, 5\).*\[3, 3\]"):
        tf.random_crop(np.zeros((2, 5), np.float32), [3, 3])
    p = tf.placeholder(tf.float32, [None, None])
    c = tf.random_crop(p, [3, 3])
    with pytest.raises(tf.errors.InvalidArgumentError, match="random_crop"):
        run(c, {p: np.zeros((2, 5))})


def test_qr_op():
    from graphdl.ops.linalg_ops import qr

    a = np.random.default_rng(0).standard_normal((2, 5, 3))
    q, r = qr(tf.constant(a))
    assert q.shape.as_list() == [2, 5, 3] and r.shape.as_list() == [2, 3, 3]
    qv, rv = run([q, r])
    np.testing.assert_allclose(qv @ rv, a, atol=1e-12)
    np.testing.assert_allclose(np.swapaxes(qv, 1, 2) @ qv, np.broadcast_to(np.eye(3), (2, 3, 3)), atol=1e-12)
    assert np.all(np.diagonal(rv, axis1=1, axis2=2) >= 0) and np.allclose(np.tril(rv, -1), 0)
    qf, rf = qr(tf.constant(a[0]), full_matrices=True)
    assert qf.shape.as_list() == [5, 5] and rf.shape.as_list() == [5, 3]
    qfv, rfv = run([qf, rf])
    np.testing.assert_allclose(qfv @ rfv, a[0], atol=1e-12)
    with pytest.raises(ValueError, match="rank >= 2"):
        qr(tf.constant([1.0, 2.0]))


# -- shapes, names, gradients ------------------------------------------------------------------------
def test_random_normal_is_named_by_its_scope():
    x = tf.random_normal([2, 3], seed=1)
    assert x.op.name == "random_normal" and x.op.type == "AddV2"
    types = {op.type for op in tf.get_default_graph().get_operations()}
    assert "RandomStandardNormal" in types
    y = tf.random_normal([2], name="noise")
    assert y.op.name == "noise"
    z = tf.truncated_normal([2])
    assert z.op.name == "truncated_normal"
    u = tf.random_uniform([2])
    assert u.op.name == "random_uniform"
    assert tf.random_uniform([2], maxval=3, dtype=tf.int32).op.name == "random_uniform_1"


def test_shape_from_tensor_and_tensorshape():
    x = tf.placeholder(tf.float32, [None, 4])
    noise = tf.random_normal(tf.shape(x))
    assert noise.shape.as_list() == [None, 4]
    assert run(noise, {x: np.zeros((5, 4))}).shape == (5, 4)
    t = tf.random_uniform(tf.TensorShape([2, 3]))
    assert t.shape.as_list() == [2, 3]
    k = tf.random_normal((2, x.shape[1]))
    assert k.shape.as_list() == [2, 4]
    assert run(tf.random_normal([])).shape == ()


def test_shape_errors():
    with pytest.raises(ValueError, match="rank 1"):
        tf.random_normal(tf.constant(3))
    with pytest.raises(ValueError, match="unknown"):
        tf.random_normal([None, 3])
    with pytest.raises(TypeError, match="int32"):
        tf.random_normal([2], dtype=tf.int32)


def test_gradient_flows_to_mean_and_stddev_not_shape():
    mean = tf.constant(1.0)
    std = tf.constant(2.0)
    x = tf.random_normal([1000], mean=mean, stddev=std, seed=4)
    dmean, dstd = tf.gradients(tf.reduce_sum(x), [mean, std])
    xv, dm, ds = run([x, dmean, dstd])
    assert dm == pytest.approx(1000.0)
    assert ds == pytest.approx(((xv - 1.0) / 2.0).sum(), rel=1e-3, abs=1e-2)


# -- seeds ---------------------------------------------------------------------------------------------
def test_get_seed_rule():
    g = tf.get_default_graph()
    assert tf.get_seed(None) == (None, None)
    assert tf.get_seed(5) == (random_ops.DEFAULT_GRAPH_SEED, 5)
    assert random_ops.DEFAULT_GRAPH_SEED == 87654321
    tf.set_random_seed(42)
    assert g.seed == 42
    tf.constant(1.0)
    assert tf.get_seed(None) == (42, g._last_id) == (42, 1)
    assert tf.get_seed(7) == (42, 7)
    tf.set_random_seed(0)
    assert tf.get_seed(0) == (0, 2**31 - 1)
    assert tf.random.get_seed is tf.get_seed


def test_seed_attrs_stored_on_ops():
    x = tf.random_uniform([2], seed=3)
    rnd = x.op.inputs[0].op.inputs[0].op
    assert rnd.type == "RandomUniform"
    assert (rnd.get_attr("seed"), rnd.get_attr("seed2")) == (87654321, 3)
    y = tf.random_shuffle([1, 2, 3])
    assert (y.op.get_attr("seed"), y.op.get_attr("seed2")) == (0, 0)


def test_seeded_op_repeats_in_every_new_session_and_advances_within_one():
    x = tf.random_normal([5], seed=1)
    with tf.Session() as sess:
        a1, a2 = sess.run(x), sess.run(x)
    with tf.Session() as sess:
        b1, b2 = sess.run(x), sess.run(x)
    np.testing.assert_array_equal(a1, b1)
    np.testing.assert_array_equal(a2, b2)
    assert not np.array_equal(a1, a2)


def test_ops_with_the_same_op_seed_match_and_different_seeds_differ():
    a = tf.random_uniform([5], seed=1)
    b = tf.random_uniform([5], seed=1)
    c = tf.random_uniform([5], seed=2)
    va, vb, vc = run([a, b, c])
    np.testing.assert_array_equal(va, vb)
    assert not np.array_equal(va, vc)


def test_graph_seed_alone_gives_different_ops_different_reproducible_sequences():
    def build():
        g = tf.Graph()
        with g.as_default():
            tf.set_random_seed(1234)
            a = tf.random_normal([4])
            b = tf.random_normal([4])
            c = tf.random_uniform([4], maxval=100, dtype=tf.int64)
        return g, [a, b, c]

    g1, t1 = build()
    g2, t2 = build()
    with tf.Session(graph=g1) as s:
        v1 = s.run(t1)
    with tf.Session(graph=g2) as s:
        v2 = s.run(t2)
    for x, y in zip(v1, v2):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(v1[0], v1[1])


def test_unseeded_op_differs_across_sessions():
    x = tf.random_normal([8])
    assert not np.array_equal(run(x), run(x))


def test_seeded_variable_initializer_is_reproducible():
    w = tf.Variable(tf.random_normal([3, 4], seed=9))
    values = []
    for _ in range(2):
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            values.append(sess.run(w))
    np.testing.assert_array_equal(values[0], values[1])


def test_graph_seed_reproducible_in_a_fresh_process():
    script = textwrap.dedent(
        """
        import graphdl as tf
        tf.set_random_seed(7)
        a = tf.random_normal([3])
        b = tf.random_uniform([2], maxval=10, dtype=tf.int32)
        c = tf.random.shuffle([1, 2, 3, 4, 5])
        d = tf.multinomial([[0.0, 0.0, 0.0]], 4)
        with tf.Session() as sess:
            print(repr([v.tolist() for v in sess.run([a, b, c, d])]))
        """
    )
    env = dict(os.environ)
    outs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True).stdout
            for _ in range(2)]
    assert outs[0] == outs[1] and outs[0].startswith("[[")


def test_random_namespace():
    assert tf.random.normal is tf.random_normal
    assert tf.random.uniform is tf.random_uniform
    assert tf.random.truncated_normal is tf.truncated_normal
    assert tf.random.shuffle is tf.random_shuffle
    assert tf.random.multinomial is tf.multinomial
    tf.random.set_random_seed(3)
    assert tf.get_default_graph().seed == 3
    tf.random.set_seed(4)
    assert tf.get_default_graph().seed == 4
