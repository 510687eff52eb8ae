"""Linear regression with gradient descent: the classic first TF1 script (placeholders, Variables, feed_dict)."""
import graphdl.compat.v1 as tf

import numpy as np
from _data import report

tf.disable_v2_behavior()

rng = np.random.RandomState(1)
train_X = np.linspace(0.0, 10.0, 50).astype(np.float32)
train_Y = (0.7 * train_X + 2.0 + rng.randn(50) * 0.5).astype(np.float32)
learning_rate, training_epochs, display_step = 0.01, 200, 50

X = tf.placeholder("float")
Y = tf.placeholder("float")
W = tf.Variable(rng.randn(), name="weight")
b = tf.Variable(rng.randn(), name="bias")
pred = tf.add(tf.multiply(X, W), b)
cost = tf.reduce_sum(tf.pow(pred - Y, 2)) / (2 * len(train_X))
optimizer = tf.train.GradientDescentOptimizer(learning_rate).minimize(cost)

with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for epoch in range(training_epochs):
        sess.run(optimizer, feed_dict={X: train_X, Y: train_Y})
        if (epoch + 1) % display_step == 0:
            c = sess.run(cost, feed_dict={X: train_X, Y: train_Y})
            print(f"epoch {epoch + 1:4d}  cost={c:.6f}  W={sess.run(W):.4f}  b={sess.run(b):.4f}")
    final_cost = sess.run(cost, feed_dict={X: train_X, Y: train_Y})
    report(cost=final_cost, W=sess.run(W), b=sess.run(b))
