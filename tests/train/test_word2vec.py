"""TF's word2vec_basic.py graph (skip-gram with tf.nn.nce_loss) trains on a tiny corpus with graphdl.

The graph-building lines are those of the TF tutorial; the corpus is synthetic: 5 topics of
10 words, each "sentence" drawn from one topic, so words of a topic share contexts.
"""

import collections
import math
import random

import numpy as np

import graphdl.compat.v1 as tf

VOCABULARY_SIZE, TOPICS = 50, 5


def corpus(seed=0):
    rng = random.Random(seed)
    words = []
    for _ in range(400):
        topic = rng.randrange(TOPICS)
        words += [topic * 10 + rng.randrange(10) for _ in range(8)]
    return words


def skip_gram_batches(data, batch_size, num_skips, skip_window, seed=0):
    """The tutorial's generate_batch: (center word, context word) pairs from a sliding window."""
    rng = random.Random(seed)
    span = 2 * skip_window + 1
    index = 0
    while True:
        batch = np.ndarray(shape=(batch_size,), dtype=np.int32)
        labels = np.ndarray(shape=(batch_size, 1), dtype=np.int32)
        buffer = collections.deque(maxlen=span)
        if index + span > len(data):
            index = 0
        buffer.extend(data[index:index + span])
        index += span
        for i in range(batch_size // num_skips):
            context_words = [w for w in range(span) if w != skip_window]
            for j, context_word in enumerate(rng.sample(context_words, num_skips)):
                batch[i * num_skips + j] = buffer[skip_window]
                labels[i * num_skips + j, 0] = buffer[context_word]
            if index == len(data):
                buffer.extend(data[0:span])
                index = span
            else:
                buffer.append(data[index])
                index += 1
        index = (index + len(data) - span) % len(data)
        yield batch, labels


def test_skip_gram_with_nce_loss_learns_topics():
    batch_size, embedding_size, skip_window, num_skips, num_sampled = 32, 16, 1, 2, 8
    valid_examples = np.arange(0, VOCABULARY_SIZE, 10)
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(1)
        with tf.name_scope("inputs"):
            train_inputs = tf.placeholder(tf.int32, shape=[batch_size])
            train_labels = tf.placeholder(tf.int32, shape=[batch_size, 1])
            valid_dataset = tf.constant(valid_examples, dtype=tf.int32)
        with tf.device("/cpu:0"):
            with tf.name_scope("embeddings"):
                embeddings = tf.Variable(tf.random_uniform([VOCABULARY_SIZE, embedding_size], -1.0, 1.0))
                embed = tf.nn.embedding_lookup(embeddings, train_inputs)
            with tf.name_scope("weights"):
                nce_weights = tf.Variable(tf.truncated_normal([VOCABULARY_SIZE, embedding_size],
                                                              stddev=1.0 / math.sqrt(embedding_size)))
            with tf.name_scope("biases"):
                nce_biases = tf.Variable(tf.zeros([VOCABULARY_SIZE]))
        with tf.name_scope("loss"):
            loss = tf.reduce_mean(tf.nn.nce_loss(weights=nce_weights, biases=nce_biases, labels=train_labels,
                                                 inputs=embed, num_sampled=num_sampled,
                                                 num_classes=VOCABULARY_SIZE))
        tf.summary.scalar("loss", loss)
        with tf.name_scope("optimizer"):
            optimizer = tf.train.GradientDescentOptimizer(1.0).minimize(loss)
        norm = tf.sqrt(tf.reduce_sum(tf.square(embeddings), 1, keepdims=True))
        normalized_embeddings = embeddings / norm
        valid_embeddings = tf.nn.embedding_lookup(normalized_embeddings, valid_dataset)
        similarity = tf.matmul(valid_embeddings, normalized_embeddings, transpose_b=True)
        init = tf.global_variables_initializer()

    batches = skip_gram_batches(corpus(), batch_size, num_skips, skip_window)
    losses = []
    with tf.Session(graph=graph) as session:
        init.run()
        for _ in range(600):
            batch_inputs, batch_labels = next(batches)
            _, loss_val = session.run([optimizer, loss], {train_inputs: batch_inputs, train_labels: batch_labels})
            losses.append(loss_val)
        sim = similarity.eval()
    first, last = np.mean(losses[:50]), np.mean(losses[-50:])
    assert np.all(np.isfinite(losses)) and last < 0.6 * first, (first, last)
    # Each probe word (the first of its topic) is now closer to its own topic's words than to the others.
    topic_of = np.arange(VOCABULARY_SIZE) // 10
    for row, word in enumerate(valid_examples):
        same = topic_of == topic_of[word]
        same[word] = False
        assert sim[row, same].mean() > sim[row, topic_of != topic_of[word]].mean() + 0.2
