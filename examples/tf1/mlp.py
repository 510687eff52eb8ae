"""A two-hidden-layer perceptron with raw weight dicts and Adam, on the bundled digits."""
import graphdl.compat.v1 as tf

import numpy as np
from _data import batches, digits, one_hot, report

tf.disable_v2_behavior()

x_train, y_train, x_test, y_test = digits()
learning_rate, training_epochs, batch_size = 0.001, 10, 32
n_hidden_1, n_hidden_2, n_input, n_classes = 128, 64, 64, 10

rng = np.random.RandomState(0)
X = tf.placeholder("float", [None, n_input])
Y = tf.placeholder("float", [None, n_classes])
weights = {
    "h1": tf.Variable(rng.randn(n_input, n_hidden_1).astype(np.float32) * 0.1),
    "h2": tf.Variable(rng.randn(n_hidden_1, n_hidden_2).astype(np.float32) * 0.1),
    "out": tf.Variable(rng.randn(n_hidden_2, n_classes).astype(np.float32) * 0.1),
}
biases = {
    "b1": tf.Variable(np.zeros(n_hidden_1, np.float32)),
    "b2": tf.Variable(np.zeros(n_hidden_2, np.float32)),
    "out": tf.Variable(np.zeros(n_classes, np.float32)),
}


def multilayer_perceptron(x):
    layer_1 = tf.nn.relu(tf.add(tf.matmul(x, weights["h1"]), biases["b1"]))
    layer_2 = tf.nn.relu(tf.add(tf.matmul(layer_1, weights["h2"]), biases["b2"]))
    return tf.matmul(layer_2, weights["out"]) + biases["out"]


logits = multilayer_perceptron(X)
loss_op = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(logits=logits, labels=Y))
train_op = tf.train.AdamOptimizer(learning_rate=learning_rate).minimize(loss_op)
pred = tf.nn.softmax(logits)
accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(pred, 1), tf.argmax(Y, 1)), "float"))

with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step, idx in enumerate(batches(len(x_train), batch_size, training_epochs), 1):
        _, c = sess.run([train_op, loss_op], feed_dict={X: x_train[idx], Y: one_hot(y_train[idx])})
        if step % 100 == 0:
            print(f"step {step:4d}  loss={c:.4f}")
    train_loss = sess.run(loss_op, feed_dict={X: x_train, Y: one_hot(y_train)})
    acc = sess.run(accuracy, feed_dict={X: x_test, Y: one_hot(y_test)})
    print(f"test accuracy {acc:.4f}")
    report(loss=train_loss, accuracy=acc)
