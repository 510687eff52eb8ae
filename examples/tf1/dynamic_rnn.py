"""A GRU over variable-length sequences with tf.nn.dynamic_rnn and sequence_length: sum-parity of random bits."""
import graphdl.compat.v1 as tf

import numpy as np
from _data import report

tf.disable_v2_behavior()

rng = np.random.RandomState(0)
max_len, n_hidden, batch_size, training_steps = 12, 24, 64, 300


def make_batch(n):
    """Sequences of 0/1 bits of random length 2..max_len (zero-padded); label = more ones than zeros."""
    lengths = rng.randint(2, max_len + 1, n)
    bits = (rng.rand(n, max_len) < 0.5).astype(np.float32) * (np.arange(max_len) < lengths[:, None])
    labels = (bits.sum(1) * 2 > lengths).astype(np.int64)
    return bits[:, :, None], lengths, labels


x = tf.placeholder(tf.float32, [None, max_len, 1])
seqlen = tf.placeholder(tf.int32, [None])
y = tf.placeholder(tf.int64, [None])
cell = tf.nn.rnn_cell.GRUCell(n_hidden)
outputs, last_state = tf.nn.dynamic_rnn(cell, x, sequence_length=seqlen, dtype=tf.float32)
w = tf.Variable(rng.randn(n_hidden, 2).astype(np.float32) * 0.1)
b = tf.Variable(np.zeros(2, np.float32))
logits = tf.matmul(last_state, w) + b
loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
train_op = tf.train.AdamOptimizer(0.01).minimize(loss)
accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), y), tf.float32))

test_x, test_len, test_y = make_batch(1000)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(1, training_steps + 1):
        bx, bl, by = make_batch(batch_size)
        _, l = sess.run([train_op, loss], {x: bx, seqlen: bl, y: by})
        if step % 100 == 0:
            print(f"step {step:4d}  loss={l:.4f}")
    test_loss, acc = sess.run([loss, accuracy], {x: test_x, seqlen: test_len, y: test_y})
    print(f"test accuracy {acc:.4f}")
    report(loss=test_loss, accuracy=acc)
