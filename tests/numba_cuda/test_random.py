"""The cuda backend's counter-based (Philox) random ops: distributions and TF1's seed semantics.

Small draws (the simulator runs each element's Philox rounds in Python), so the moment checks
allow several standard errors.
"""

import numpy as np
import pytest

import graphdl as tf

N = 4000


def run(fetches, sessions=1):
    """Run ``fetches`` once in each of ``sessions`` fresh cuda sessions; a list of the results."""
    results = []
    for _ in range(sessions):
        with tf.Session(backend="cuda") as sess:
            results.append(sess.run(fetches))
    return results


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
def test_normal_truncated_and_uniform_draws_have_their_distributions(dtype):
    normal = tf.random_normal([N], mean=2.0, stddev=3.0, dtype=dtype)
    truncated = tf.truncated_normal([N], mean=-1.0, stddev=0.5, dtype=dtype)
    uniform = tf.random_uniform([N], dtype=dtype)
    [(n, t, u)] = run([normal, truncated, uniform])
    assert n.dtype == t.dtype == u.dtype == dtype.np
    assert abs(n.mean() - 2.0) < 0.3 and abs(n.std() - 3.0) < 0.3
    assert t.min() >= -2.0 - 1e-6 and t.max() <= 1e-6
    assert abs(t.mean() + 1.0) < 0.05 and 0.35 < t.std() < 0.5  # N(0, 1) cut at +-2 has std 0.88
    assert u.min() >= 0.0 and u.max() < 1.0 and abs(u.mean() - 0.5) < 0.03
    assert len(np.unique(u)) > N * 0.99


def test_a_seeded_op_repeats_in_every_session_and_advances_within_one():
    x = tf.random_uniform([50], seed=7)
    first, second = run(x, sessions=2)
    np.testing.assert_array_equal(first, second)
    with tf.Session(backend="cuda") as sess:
        a, b = sess.run(x), sess.run(x)
    np.testing.assert_array_equal(a, first)
    assert not np.array_equal(a, b)


def test_different_seeds_and_unseeded_ops_differ():
    a, b = tf.random_normal([50], seed=1), tf.random_normal([50], seed=2)
    unseeded = tf.random_normal([50])
    (va, vb, u1), (_, _, u2) = run([a, b, unseeded], sessions=2)
    assert not np.array_equal(va, vb)
    assert not np.array_equal(u1, u2)
