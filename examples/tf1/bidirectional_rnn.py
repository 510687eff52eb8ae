"""A bidirectional LSTM (tf.nn.bidirectional_dynamic_rnn) classifying the 8x8 digits row by row."""
import graphdl.compat.v1 as tf

import numpy as np
from _data import batches, digits, report

tf.disable_v2_behavior()

x_train, y_train, x_test, y_test = digits()
num_hidden, training_epochs, batch_size = 16, 5, 32

rng = np.random.RandomState(0)
X = tf.placeholder(tf.float32, [None, 8, 8])
Y = tf.placeholder(tf.int64, [None])
with tf.variable_scope("birnn"):
    fw, bw = tf.nn.rnn_cell.LSTMCell(num_hidden), tf.nn.rnn_cell.LSTMCell(num_hidden)
    (out_fw, out_bw), _ = tf.nn.bidirectional_dynamic_rnn(fw, bw, X, dtype=tf.float32)
features = tf.concat([out_fw[:, -1], out_bw[:, 0]], axis=1)
w = tf.Variable(rng.randn(2 * num_hidden, 10).astype(np.float32) * 0.1)
b = tf.Variable(np.zeros(10, np.float32))
logits = tf.matmul(features, w) + b
loss_op = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=Y, logits=logits))
train_op = tf.train.AdamOptimizer(0.01).minimize(loss_op)
accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), Y), tf.float32))

with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step, idx in enumerate(batches(len(x_train), batch_size, training_epochs), 1):
        _, l = sess.run([train_op, loss_op], {X: x_train[idx].reshape(-1, 8, 8), Y: y_train[idx]})
        if step % 50 == 0:
            print(f"step {step:4d}  loss={l:.4f}")
    train_loss = sess.run(loss_op, {X: x_train.reshape(-1, 8, 8), Y: y_train})
    acc = sess.run(accuracy, {X: x_test.reshape(-1, 8, 8), Y: y_test})
    print(f"test accuracy {acc:.4f}")
    report(loss=train_loss, accuracy=acc)
