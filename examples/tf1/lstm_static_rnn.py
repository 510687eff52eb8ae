"""An LSTM sequence classifier with tf.contrib.rnn.static_rnn: each 8x8 digit read as 8 rows of 8 pixels."""
import graphdl.compat.v1 as tf
from graphdl.compat.v1.contrib import rnn

import numpy as np
from _data import batches, digits, report

tf.disable_v2_behavior()

x_train, y_train, x_test, y_test = digits()
learning_rate, training_epochs, batch_size = 0.01, 6, 32
timesteps, num_input, num_hidden, num_classes = 8, 8, 32, 10

rng = np.random.RandomState(0)
X = tf.placeholder("float", [None, timesteps, num_input])
Y = tf.placeholder(tf.int64, [None])
weights = {"out": tf.Variable(rng.randn(num_hidden, num_classes).astype(np.float32) * 0.1)}
biases = {"out": tf.Variable(np.zeros(num_classes, np.float32))}


def RNN(x, weights, biases):
    x = tf.unstack(x, timesteps, 1)
    lstm_cell = rnn.BasicLSTMCell(num_hidden, forget_bias=1.0)
    outputs, _ = rnn.static_rnn(lstm_cell, x, dtype=tf.float32)
    return tf.matmul(outputs[-1], weights["out"]) + biases["out"]


logits = RNN(X, weights, biases)
loss_op = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(logits=logits, labels=Y))
train_op = tf.train.AdamOptimizer(learning_rate=learning_rate).minimize(loss_op)
accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), Y), tf.float32))

with tf.Session() as sess:
    tf.set_random_seed(0)
    sess.run(tf.global_variables_initializer())
    for step, idx in enumerate(batches(len(x_train), batch_size, training_epochs), 1):
        batch_x = x_train[idx].reshape((-1, timesteps, num_input))
        _, loss = sess.run([train_op, loss_op], feed_dict={X: batch_x, Y: y_train[idx]})
        if step % 50 == 0:
            print(f"step {step:4d}  minibatch loss={loss:.4f}")
    train_loss = sess.run(loss_op, feed_dict={X: x_train.reshape(-1, timesteps, num_input), Y: y_train})
    acc = sess.run(accuracy, feed_dict={X: x_test.reshape(-1, timesteps, num_input), Y: y_test})
    print(f"test accuracy {acc:.4f}")
    report(loss=train_loss, accuracy=acc)
