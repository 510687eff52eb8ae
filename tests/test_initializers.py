"""Initializers: TF1 names and defaults, shapes, dtypes, statistics, seeds, errors."""

import math

import numpy as np
import pytest

import graphdl as tf
from graphdl import initializers

TRUNC_STD = 0.87962566103423978  # stddev of a unit normal truncated to [-2, 2]


def value_of(t, feed=None):
    with tf.Session() as sess:
        return sess.run(t, feed)


# -- constant initializers ------------------------------------------------------------------------------
def test_zeros_and_ones():
    z = tf.zeros_initializer()([2, 3])
    o = tf.ones_initializer(dtype=tf.int32)([4])
    assert z.shape.as_list() == [2, 3] and z.dtype == tf.float32
    np.testing.assert_array_equal(value_of(z), np.zeros((2, 3), np.float32))
    v = value_of(o)
    assert v.dtype == np.int32 and v.tolist() == [1, 1, 1, 1]
    assert value_of(tf.zeros_initializer()([3], dtype=tf.float64)).dtype == np.float64


def test_zeros_initializer_with_shape_tensor():
    x = tf.placeholder(tf.float32, [None, 2])
    z = initializers.zeros()(tf.shape(x))
    assert value_of(z, {x: np.ones((3, 2))}).shape == (3, 2)


def test_constant_initializer_scalar_list_and_array():
    np.testing.assert_array_equal(value_of(tf.constant_initializer(0.5)([2, 2])), np.full((2, 2), 0.5, np.float32))
    v = value_of(tf.constant_initializer([0, 1, 2, 3, 4, 5, 6, 7])([2, 4]))
    np.testing.assert_array_equal(v, np.arange(8, dtype=np.float32).reshape(2, 4))
    arr = np.arange(6, dtype=np.float64).reshape(3, 2)
    v = value_of(tf.constant_initializer(arr)([2, 3]))
    assert v.dtype == np.float32
    np.testing.assert_array_equal(v, arr.reshape(2, 3))
    v = value_of(tf.constant_initializer([1, 2])([2], dtype=tf.int64))
    assert v.dtype == np.int64 and v.tolist() == [1, 2]


def test_constant_initializer_pads_with_last_value():
    v = value_of(tf.constant_initializer([0, 1, 2, 3, 4, 5, 6, 7])([3, 4]))
    np.testing.assert_array_equal(v, [[0, 1, 2, 3], [4, 5, 6, 7], [7, 7, 7, 7]])


def test_constant_initializer_too_many_values_names_the_shapes():
    init = tf.constant_initializer([0, 1, 2, 3, 4, 5, 6, 7])
    with pytest.raises(ValueError, match=r"Needed at most 6, but received 8.*\(8,\).*\(2, 3\)"):
        init([2, 3])


def test_constant_initializer_verify_shape():
    init = tf.constant_initializer([0, 1, 2, 3, 4, 5, 6, 7], verify_shape=True)
    with pytest.raises(TypeError, match=r"Expected Tensor's shape: \(3, 4\), got \(8,\)"):
        init([3, 4])
    np.testing.assert_array_equal(value_of(init([8])), np.arange(8))


def test_constant_initializer_bad_value_type():
    with pytest.raises(TypeError, match="Invalid type for initial value"):
        tf.constant_initializer({"a": 1})


def test_identity_initializer():
    v = value_of(initializers.identity(gain=2.0)([3, 4]))
    np.testing.assert_array_equal(v, 2 * np.eye(3, 4, dtype=np.float32))
    with pytest.raises(ValueError, match="2D"):
        initializers.identity()([3, 3, 3])


# -- random initializers -----------------------------------------------------------------------------------
def test_random_normal_initializer_statistics():
    v = value_of(tf.random_normal_initializer(mean=1.0, stddev=0.5)([400, 250]))
    assert v.shape == (400, 250) and v.dtype == np.float32
    assert abs(v.mean() - 1.0) < 0.01 and abs(v.std() - 0.5) < 0.01


def test_truncated_normal_initializer_statistics():
    v = value_of(tf.truncated_normal_initializer(stddev=0.1)([100_000], dtype=tf.float64))
    assert v.dtype == np.float64
    assert np.abs(v).max() <= 0.2 + 1e-9
    assert abs(v.std() - 0.1 * TRUNC_STD) < 0.002


def test_random_uniform_initializer_ranges():
    v = value_of(tf.random_uniform_initializer()([100_000]))
    assert v.min() >= 0 and v.max() < 1 and abs(v.mean() - 0.5) < 0.01
    v = value_of(tf.random_uniform_initializer(-0.1, 0.1)([100_000]))
    assert v.min() >= -0.1 and v.max() < 0.1 and v.max() > 0.099
    v = value_of(tf.random_uniform_initializer(0, 5, dtype=tf.int32)([1000]))
    assert v.dtype == np.int32 and set(np.unique(v)) == {0, 1, 2, 3, 4}


def _fans(shape):
    if len(shape) == 2:
        return shape
    rf = int(np.prod(shape[:-2]))
    return shape[-2] * rf, shape[-1] * rf


@pytest.mark.parametrize("shape", [[300, 500], [3, 3, 64, 128], [5, 40, 20]])
@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
def test_variance_scaling_modes_and_conv_fans(shape, mode):
    fan_in, fan_out = _fans(shape)
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    scale = 2.0
    target = math.sqrt(scale / n)
    t = tf.variance_scaling_initializer(scale=scale, mode=mode, seed=7)(shape)
    assert t.op.name.startswith("truncated_normal")
    v = value_of(t)
    assert v.shape == tuple(shape)
    # The truncated normal's stddev is corrected to sqrt(scale / n), and values stay within its bounds.
    # A sample std's relative standard error is about 1 / sqrt(2 N): allow 5 of them (at least 2%).
    assert abs(v.std() / target - 1) < max(0.02, 5 / math.sqrt(2 * v.size))
    assert np.abs(v).max() <= 2 * target / TRUNC_STD * (1 + 1e-6)


def test_variance_scaling_untruncated_and_uniform():
    shape = [200, 300]
    n = 200
    v = value_of(tf.variance_scaling_initializer(scale=3.0, distribution="untruncated_normal")(shape))
    assert abs(v.std() - math.sqrt(3.0 / n)) / math.sqrt(3.0 / n) < 0.02
    assert np.abs(v).max() > 2.5 * math.sqrt(3.0 / n)  # not truncated
    limit = math.sqrt(3 * 3.0 / n)
    v = value_of(tf.variance_scaling_initializer(scale=3.0, distribution="uniform")(shape))
    assert v.min() >= -limit and v.max() <= limit and v.max() > 0.99 * limit
    v = value_of(tf.variance_scaling_initializer(distribution="normal")([1000, 100]))
    assert abs(v.std() - math.sqrt(1 / 1000)) / math.sqrt(1 / 1000) < 0.02


def test_variance_scaling_uses_partition_full_shape():
    class Partition:
        full_shape = (800, 10)
        var_offset = (0, 0)

    v = value_of(tf.variance_scaling_initializer(distribution="uniform")([100, 10], partition_info=Partition()))
    assert v.shape == (100, 10) and np.abs(v).max() <= math.sqrt(3 / 800)


def test_glorot_uniform_limits():
    shape = [3, 3, 16, 32]
    fan_in, fan_out = 144, 288
    limit = math.sqrt(6 / (fan_in + fan_out))
    v = value_of(tf.glorot_uniform_initializer(seed=1)(shape))
    assert v.min() >= -limit and v.max() <= limit and v.max() > 0.98 * limit
    assert abs(v.std() - limit / math.sqrt(3)) / (limit / math.sqrt(3)) < 0.03
    v = value_of(initializers.glorot_uniform()([784, 256]))
    assert np.abs(v).max() <= math.sqrt(6 / (784 + 256))


def test_glorot_normal_std():
    v = value_of(tf.glorot_normal_initializer()([500, 300]))
    target = math.sqrt(2 / 800)
    assert abs(v.std() - target) / target < 0.02


@pytest.mark.parametrize("fn,scale,dist", [
    (initializers.he_normal, 2.0, "normal"), (initializers.he_uniform, 2.0, "uniform"),
    (initializers.lecun_normal, 1.0, "normal"), (initializers.lecun_uniform, 1.0, "uniform"),
])
def test_he_and_lecun(fn, scale, dist):
    init = fn(seed=3)
    assert isinstance(init, initializers.VarianceScaling) and init.mode == "fan_in" and init.scale == scale
    v = value_of(init([400, 200]))
    target = math.sqrt(scale / 400)
    assert abs(v.std() - target) / target < 0.03
    if dist == "uniform":
        assert np.abs(v).max() <= math.sqrt(3 * scale / 400)


def test_uniform_unit_scaling():
    v = value_of(tf.uniform_unit_scaling_initializer(factor=2.0)([3, 3, 8, 4]))
    limit = 2.0 * math.sqrt(3 / (3 * 3 * 8))
    assert np.abs(v).max() <= limit and np.abs(v).max() > 0.95 * limit


@pytest.mark.parametrize("shape", [[10, 10], [50, 20], [20, 50], [3, 3, 4, 16], [2, 3, 4]])
def test_orthogonal(shape):
    q = value_of(tf.orthogonal_initializer(gain=1.0, seed=2)(shape))
    assert q.shape == tuple(shape) and q.dtype == np.float32
    m = q.reshape(-1, shape[-1])
    rows, cols = m.shape
    if rows >= cols:
        np.testing.assert_allclose(m.T @ m, np.eye(cols), atol=1e-5)
    else:
        np.testing.assert_allclose(m @ m.T, np.eye(rows), atol=1e-5)


def test_orthogonal_gain_and_errors():
    q = value_of(initializers.orthogonal(gain=3.0)([6, 6], dtype=tf.float64))
    assert q.dtype == np.float64
    np.testing.assert_allclose(q.T @ q, 9 * np.eye(6), atol=1e-10)
    with pytest.raises(ValueError, match="at least two-dimensional"):
        tf.orthogonal_initializer()([5])


def test_orthogonal_is_not_biased_in_sign():
    # With the sign correction, Q is Haar-distributed: its entries have mean ~0.
    with tf.Session() as sess:
        t = tf.orthogonal_initializer()([4, 4])
        first = np.array([sess.run(t)[0, 0] for _ in range(400)])
    assert abs(first.mean()) < 0.1 and (first > 0).mean() > 0.35


# -- seeds, variables, config -------------------------------------------------------------------------------
def test_seeded_initializer_same_values_in_new_sessions():
    init = tf.glorot_uniform_initializer(seed=11)
    w = tf.Variable(init([5, 4]))
    vals = []
    for _ in range(2):
        with tf.Session() as sess:
            sess.run(w.initializer)
            vals.append(sess.run(w))
    np.testing.assert_array_equal(vals[0], vals[1])
    # The same seed on another call builds an op with the same seeds: the same values.
    np.testing.assert_array_equal(value_of(init([5, 4])), vals[0])


def test_graph_seed_makes_unseeded_initializers_reproducible():
    def build():
        g = tf.Graph()
        with g.as_default():
            tf.set_random_seed(5)
            a = tf.truncated_normal_initializer()([3, 3])
            b = tf.orthogonal_initializer()([3, 3])
        with tf.Session(graph=g) as sess:
            return sess.run([a, b])

    (a1, b1), (a2, b2) = build(), build()
    np.testing.assert_array_equal(a1, a2)
    np.testing.assert_array_equal(b1, b2)


def test_variables_from_initializers():
    w = tf.Variable(tf.random_normal([784, 256], stddev=0.01))
    b = tf.Variable(tf.zeros_initializer()([256]))
    c = tf.Variable(lambda: tf.ones_initializer()([3]), name="c")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        wv, bv, cv = sess.run([w, b, c])
    assert wv.shape == (784, 256) and abs(wv.std() - 0.01) < 0.001
    assert bv.tolist() == [0.0] * 256 and cv.tolist() == [1.0, 1.0, 1.0]


def test_get_variable_with_initializer():
    w = tf.get_variable("w", [20, 10], initializer=tf.glorot_uniform_initializer())
    b = tf.get_variable("b", [10], initializer=tf.constant_initializer(0.1))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        wv, bv = sess.run([w, b])
    assert np.abs(wv).max() <= math.sqrt(6 / 30)
    np.testing.assert_allclose(bv, 0.1)


@pytest.mark.parametrize("init", [
    initializers.Zeros(), initializers.Ones(dtype=tf.int32), initializers.Constant([1, 2]),
    initializers.RandomNormal(0.5, 2.0, seed=1), initializers.TruncatedNormal(stddev=0.3),
    initializers.RandomUniform(-1, 1, seed=4), initializers.VarianceScaling(2.0, "fan_avg", "uniform", seed=3),
    initializers.GlorotUniform(seed=2), initializers.GlorotNormal(), initializers.Orthogonal(gain=2.0),
    initializers.Identity(gain=0.5), initializers.UniformUnitScaling(1.5),
])
def test_get_config_round_trip(init):
    config = init.get_config()
    clone = type(init).from_config(config)
    assert clone.get_config() == config
    assert config["dtype"] == init.dtype.name


def test_tf1_defaults_in_config():
    assert tf.random_normal_initializer().get_config() == {"mean": 0.0, "stddev": 1.0, "seed": None, "dtype": "float32"}
    assert tf.random_uniform_initializer().get_config() == {
        "minval": 0, "maxval": None, "seed": None, "dtype": "float32",
    }
    assert tf.variance_scaling_initializer().get_config() == {
        "scale": 1.0, "mode": "fan_in", "distribution": "truncated_normal", "seed": None, "dtype": "float32",
    }
    assert tf.constant_initializer().get_config() == {"value": 0, "dtype": "float32"}
    assert tf.glorot_uniform_initializer().get_config() == {"seed": None, "dtype": "float32"}


def test_names_exposed_like_tf1():
    assert tf.zeros_initializer is initializers.Zeros is initializers.zeros
    assert tf.glorot_uniform_initializer is initializers.glorot_uniform
    assert tf.orthogonal_initializer is initializers.orthogonal
    for name in ["he_normal", "he_uniform", "lecun_normal", "lecun_uniform", "variance_scaling", "truncated_normal",
                 "random_normal", "random_uniform", "constant", "ones", "identity", "glorot_normal"]:
        assert callable(getattr(initializers, name))
    assert initializers.global_variables is tf.global_variables_initializer
    # tf.zeros stays the array op, not the initializer.
    assert tf.zeros is not initializers.zeros


def test_initializer_argument_errors():
    with pytest.raises(ValueError, match="Expected floating point type, got int32"):
        tf.random_normal_initializer(dtype=tf.int32)
    with pytest.raises(ValueError, match="mode"):
        tf.variance_scaling_initializer(mode="fan_sideways")
    with pytest.raises(ValueError, match="distribution"):
        tf.variance_scaling_initializer(distribution="cauchy")
    with pytest.raises(ValueError, match="positive"):
        tf.variance_scaling_initializer(scale=0.0)
    with pytest.raises(ValueError, match="fully defined"):
        tf.glorot_uniform_initializer()([None, 3])
    with pytest.raises(TypeError):
        initializers.Initializer()
