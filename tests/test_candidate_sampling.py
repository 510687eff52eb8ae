"""Candidate samplers, compute_accidental_hits, nce_loss and sampled_softmax_loss against NumPy oracles."""

import numpy as np
import pytest
from harness import OpCase, make_op_tests, randn

import graphdl
import graphdl.compat.v1 as tf

FLT_MAX = np.finfo(np.float32).max


def run(fetches, feed=None, graph=None):
    with tf.Session(graph=graph) as sess:
        return sess.run(fetches, feed)


def log_uniform_p(ids, range_max):
    return np.log((ids + 2.0) / (ids + 1.0)) / np.log(range_max + 1.0)


# -- samplers ------------------------------------------------------------------------------------------------
def test_sampler_outputs_names_and_tf1_aliases():
    assert tf.random.log_uniform_candidate_sampler is tf.nn.log_uniform_candidate_sampler
    assert tf.random.uniform_candidate_sampler is tf.nn.uniform_candidate_sampler
    assert tf.random.fixed_unigram_candidate_sampler is tf.nn.fixed_unigram_candidate_sampler
    with tf.Graph().as_default():
        true = tf.placeholder(tf.int64, [None, 2])
        sampled, true_count, sampled_count = tf.nn.log_uniform_candidate_sampler(true, 2, 6, True, 50, seed=3)
        assert sampled.name == "LogUniformCandidateSampler:0" and sampled.dtype == tf.int64
        assert sampled.shape.as_list() == [6] and true_count.shape.as_list() == [None, 2]
        assert sampled_count.dtype == tf.float32
        with pytest.raises(TypeError, match="must be int64"):
            tf.nn.uniform_candidate_sampler(tf.placeholder(tf.int32, [None, 1]), 1, 2, True, 5)
        with pytest.raises(ValueError, match="num_true=3"):
            tf.nn.uniform_candidate_sampler(true, 3, 2, True, 5)
        s, t, c = run([sampled, true_count, sampled_count], {true: [[0, 7], [49, 3]]})
    assert len(set(s.tolist())) == 6 and s.min() >= 0 and s.max() < 50
    # unique=True: expected counts are 1 - (1 - p) ** tries, the same number of tries for every id.
    p = log_uniform_p(s, 50)
    tries = np.log1p(-c.astype(np.float64)) / np.log1p(-p)
    np.testing.assert_allclose(tries, np.round(tries[0]), rtol=1e-4)
    assert round(tries[0]) >= 6
    np.testing.assert_allclose(t, -np.expm1(round(tries[0]) * np.log1p(-log_uniform_p(np.array([[0, 7], [49, 3]]), 50))),
                               rtol=1e-5)


def test_log_uniform_and_uniform_distributions_with_replacement():
    with tf.Graph().as_default():
        true = tf.constant([[1]], tf.int64)
        log_s, log_t, log_c = tf.nn.log_uniform_candidate_sampler(true, 1, 40000, False, 10, seed=1)
        uni_s, _, uni_c = tf.nn.uniform_candidate_sampler(true, 1, 40000, False, 10, seed=2)
        ls, lt, lc, us, uc = run([log_s, log_t, log_c, uni_s, uni_c])
    p = log_uniform_p(np.arange(10), 10)
    np.testing.assert_allclose(np.bincount(ls, minlength=10) / 40000, p, atol=0.01)
    np.testing.assert_allclose(lc, 40000 * log_uniform_p(ls, 10), rtol=1e-5)  # p * num_sampled, with replacement
    np.testing.assert_allclose(lt, [[40000 * p[1]]], rtol=1e-5)
    np.testing.assert_allclose(np.bincount(us, minlength=10) / 40000, np.full(10, 0.1), atol=0.01)
    np.testing.assert_allclose(uc, 4000.0)


def test_seeds_follow_tf1_rules():
    def draws(graph_seed, op_seed, runs=2):
        with tf.Graph().as_default() as g:
            if graph_seed is not None:
                tf.set_random_seed(graph_seed)
            s, _, _ = tf.nn.uniform_candidate_sampler(tf.constant([[0]], tf.int64), 1, 8, True, 1000, seed=op_seed)
            with tf.Session(graph=g) as sess:
                return [sess.run(s).tolist() for _ in range(runs)]

    first = draws(None, 5)
    assert first == draws(None, 5)  # a seeded op restarts in every session
    assert first[0] != first[1]  # and advances within one
    assert draws(7, None) == draws(7, None)


def test_fixed_unigram_sampler(tmp_path):
    counts = [0.0, 10.0, 30.0, 60.0]
    with tf.Graph().as_default():
        true = tf.constant([[2]], tf.int64)
        s, t, c = tf.nn.fixed_unigram_candidate_sampler(true, 1, 30000, False, 6, num_reserved_ids=2,
                                                        unigrams=counts[1:] + [0.0], distortion=0.5, seed=4)
        vocab = tmp_path / "vocab.csv"
        vocab.write_text("the,60\nof,30\nand,10\n")
        fs, _, fc = tf.nn.fixed_unigram_candidate_sampler(true, 1, 20000, False, 3, vocab_file=str(vocab), seed=5)
        shard, _, _ = tf.nn.fixed_unigram_candidate_sampler(true, 1, 5000, False, 2, unigrams=[1.0, 2.0, 3.0, 4.0],
                                                            num_shards=2, shard=1, seed=6)
        with pytest.raises(ValueError, match="range_max=5 must equal"):
            tf.nn.fixed_unigram_candidate_sampler(true, 1, 2, False, 5, unigrams=[1.0, 2.0])
        s, t, c, fs, fc, shard = run([s, t, c, fs, fc, shard])
    weights = np.array([0, 0, 10, 30, 60, 0]) ** 0.5  # two reserved ids (never drawn), then counts ** distortion
    p = weights / weights.sum()
    np.testing.assert_allclose(np.bincount(s, minlength=6) / 30000, p, atol=0.01)
    assert set(s.tolist()) <= {2, 3, 4}
    np.testing.assert_allclose(t, [[30000 * p[2]]], rtol=1e-5)
    np.testing.assert_allclose(c, 30000 * p[s], rtol=1e-5)
    np.testing.assert_allclose(np.bincount(fs, minlength=3) / 20000, [0.6, 0.3, 0.1], atol=0.015)
    np.testing.assert_allclose(fc, 20000 * np.array([0.6, 0.3, 0.1])[fs], rtol=1e-5)
    # Shard 1 of 2 holds ids 1 and 3 (weights 2 and 4), sampled as its local indices 0 and 1.
    np.testing.assert_allclose(np.bincount(shard, minlength=2) / 5000, [1 / 3, 2 / 3], atol=0.03)


def test_all_candidate_sampler_and_range_too_small():
    with tf.Graph().as_default():
        s, t, c = tf.nn.all_candidate_sampler(tf.constant([[3], [1]], tf.int64), 1, 4, True)
        bad, _, _ = tf.nn.uniform_candidate_sampler(tf.constant([[0]], tf.int64), 1, 6, True, 5)
        np.testing.assert_array_equal(run(s), [0, 1, 2, 3])
        np.testing.assert_array_equal(run(t), [[1], [1]])
        np.testing.assert_array_equal(run(c), [1, 1, 1, 1])
        with pytest.raises(graphdl.errors.InvalidArgumentError, match="range is too small"):
            run(bad)


def test_compute_accidental_hits():
    true = np.array([[1, 4], [2, 2], [7, 0]], np.int64)
    sampled = np.array([4, 2, 9, 1, 2], np.int64)
    with tf.Graph().as_default():
        indices, ids, weights = tf.nn.compute_accidental_hits(true, sampled, num_true=2)
        indices, ids, weights = run([indices, ids, weights])
    # A repeated candidate (2) is reported at its last position, as TF's kernel does.
    np.testing.assert_array_equal(indices, [0, 0, 1, 1])
    np.testing.assert_array_equal(ids, [3, 0, 4, 4])
    assert indices.dtype == np.int32 and ids.dtype == np.int64
    np.testing.assert_array_equal(weights, np.full(4, -FLT_MAX, np.float32))


# -- sampled losses ------------------------------------------------------------------------------------------
SAMPLED = np.array([3, 0, 6, 5], np.int64)
TRUE_COUNT = np.array([[0.5, 0.25], [0.75, 0.5], [0.125, 0.25]], np.float32)
SAMPLED_COUNT = np.array([0.5, 0.9, 0.2, 0.4], np.float32)
LABELS = np.array([[1, 3], [2, 2], [6, 4]], np.int32)


def np_sampled_logits(w, b, labels, x, remove_hits, num_true=2):
    true_logits = np.einsum("bd,btd->bt", x, w[labels]) + b[labels] - np.log(TRUE_COUNT[:, :num_true])
    sampled_logits = x @ w[SAMPLED].T + b[SAMPLED]
    if remove_hits:
        for i, row in enumerate(labels):
            for j, c in enumerate(SAMPLED):
                if c in row:
                    sampled_logits[i, j] += -FLT_MAX
    sampled_logits -= np.log(SAMPLED_COUNT)
    out_labels = np.concatenate([np.full(true_logits.shape, 1.0 / num_true), np.zeros(sampled_logits.shape)], 1)
    return np.concatenate([true_logits, sampled_logits], 1), out_labels


def np_nce(w, b, labels, x, remove_hits=False):
    logits, z = np_sampled_logits(w, b, labels, x, remove_hits)
    return np.sum(np.maximum(logits, 0) - logits * z + np.log1p(np.exp(-np.abs(logits))), 1)


def np_sampled_softmax(w, b, labels, x, remove_hits=True):
    logits, z = np_sampled_logits(w, b, labels, x, remove_hits)
    shifted = logits - logits.max(1, keepdims=True)
    return -np.sum(z * (shifted - np.log(np.sum(np.exp(shifted), 1, keepdims=True))), 1)


def fixed_values(x):
    return (tf.constant(SAMPLED), tf.constant(TRUE_COUNT), tf.constant(SAMPLED_COUNT))


def nce(w, b, labels, x, **kwargs):
    return tf.nn.nce_loss(w, b, labels, x, num_sampled=4, num_classes=7, num_true=2, sampled_values=fixed_values(x),
                          **kwargs)


def sampled_softmax(w, b, labels, x, **kwargs):
    return tf.nn.sampled_softmax_loss(w, b, labels, x, num_sampled=4, num_classes=7, num_true=2,
                                      sampled_values=fixed_values(x), **kwargs)


W, B, X = randn(7, 5), randn(7, seed=1), randn(3, 5, seed=2)

CASES = [
    OpCase("nce_loss", lambda w, b, labels, x: nce(w, b, labels, x), [W, B, LABELS, X], np_nce, rtol=1e-4),
    OpCase("nce_loss_remove_accidental_hits", lambda w, b, labels, x: nce(w, b, labels, x, remove_accidental_hits=True),
           [W, B, LABELS, X], lambda *a: np_nce(*a, remove_hits=True), rtol=1e-4),
    OpCase("sampled_softmax_loss", lambda w, b, labels, x: sampled_softmax(w, b, labels, x), [W, B, LABELS, X],
           np_sampled_softmax, rtol=1e-4),
    OpCase("sampled_softmax_loss_keep_hits",
           lambda w, b, labels, x: sampled_softmax(w, b, labels, x, remove_accidental_hits=False),
           [W, B, LABELS, X], lambda *a: np_sampled_softmax(*a, remove_hits=False), rtol=1e-4),
    OpCase("nce_loss_mod_sharded_weights",
           lambda w0, w1, b, labels, x: nce([w0, w1], b, labels, x, partition_strategy="mod"),
           [W[0::2], W[1::2], B, LABELS, X], lambda w0, w1, b, labels, x: np_nce(W, b, labels, x), rtol=1e-4),
    OpCase("sampled_softmax_div_sharded_weights",
           lambda w0, w1, b, labels, x: sampled_softmax([w0, w1], b, labels, x, partition_strategy="div"),
           [W[:4], W[4:], B, LABELS, X], lambda w0, w1, b, labels, x: np_sampled_softmax(W, b, labels, x), rtol=1e-4),
]

test_forward, test_gradient = make_op_tests(CASES)


def test_default_sampler_trains_through_sampled_softmax():
    with tf.Graph().as_default():
        tf.set_random_seed(0)
        w = tf.Variable(tf.zeros([50, 4]))
        b = tf.Variable(tf.zeros([50]))
        x = tf.constant(randn(16, 4))
        labels = tf.constant((np.arange(16) % 5)[:, None], tf.int64)
        loss = tf.reduce_mean(tf.nn.sampled_softmax_loss(w, b, labels, x, num_sampled=10, num_classes=50))
        step = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            first = np.mean([sess.run(loss) for _ in range(5)])
            for _ in range(100):
                sess.run(step)
            last = np.mean([sess.run(loss) for _ in range(5)])
    assert np.isfinite(last) and last < 0.5 * first
