"""A small convolutional network with raw weights (conv2d, max_pool, dropout), on the 8x8 digits."""
import graphdl.compat.v1 as tf

import numpy as np
from _data import batches, digits, report

tf.disable_v2_behavior()

x_train, y_train, x_test, y_test = digits()
learning_rate, training_epochs, batch_size, dropout = 0.002, 8, 32, 0.75

rng = np.random.RandomState(0)
X = tf.placeholder(tf.float32, [None, 64])
Y = tf.placeholder(tf.int64, [None])
keep_prob = tf.placeholder(tf.float32)


def init(*shape):
    return tf.Variable((rng.randn(*shape) * np.sqrt(2.0 / np.prod(shape[:-1]))).astype(np.float32))


weights = {"wc1": init(3, 3, 1, 16), "wc2": init(3, 3, 16, 32), "wd1": init(2 * 2 * 32, 64), "out": init(64, 10)}
biases = {"bc1": tf.Variable(tf.zeros([16])), "bc2": tf.Variable(tf.zeros([32])),
          "bd1": tf.Variable(tf.zeros([64])), "out": tf.Variable(tf.zeros([10]))}


def conv2d(x, W, b, strides=1):
    x = tf.nn.conv2d(x, W, strides=[1, strides, strides, 1], padding="SAME")
    return tf.nn.relu(tf.nn.bias_add(x, b))


def maxpool2d(x, k=2):
    return tf.nn.max_pool(x, ksize=[1, k, k, 1], strides=[1, k, k, 1], padding="SAME")


def conv_net(x, weights, biases, dropout):
    x = tf.reshape(x, shape=[-1, 8, 8, 1])
    conv1 = maxpool2d(conv2d(x, weights["wc1"], biases["bc1"]))
    conv2 = maxpool2d(conv2d(conv1, weights["wc2"], biases["bc2"]))
    fc1 = tf.reshape(conv2, [-1, weights["wd1"].get_shape().as_list()[0]])
    fc1 = tf.nn.relu(tf.add(tf.matmul(fc1, weights["wd1"]), biases["bd1"]))
    fc1 = tf.nn.dropout(fc1, dropout)
    return tf.add(tf.matmul(fc1, weights["out"]), biases["out"])


logits = conv_net(X, weights, biases, keep_prob)
loss_op = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(logits=logits, labels=Y))
train_op = tf.train.AdamOptimizer(learning_rate=learning_rate).minimize(loss_op)
accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), Y), tf.float32))

with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step, idx in enumerate(batches(len(x_train), batch_size, training_epochs), 1):
        sess.run(train_op, feed_dict={X: x_train[idx], Y: y_train[idx], keep_prob: dropout})
        if step % 100 == 0:
            loss, acc = sess.run([loss_op, accuracy], feed_dict={X: x_train[idx], Y: y_train[idx], keep_prob: 1.0})
            print(f"step {step:4d}  minibatch loss={loss:.4f}  accuracy={acc:.3f}")
    train_loss = sess.run(loss_op, feed_dict={X: x_train, Y: y_train, keep_prob: 1.0})
    acc = sess.run(accuracy, feed_dict={X: x_test, Y: y_test, keep_prob: 1.0})
    print(f"test accuracy {acc:.4f}")
    report(loss=train_loss, accuracy=acc)
