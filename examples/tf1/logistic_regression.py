"""Softmax (logistic) regression on the bundled 8x8 digits, mini-batch gradient descent."""
import graphdl.compat.v1 as tf

from _data import batches, digits, one_hot, report

tf.disable_v2_behavior()

x_train, y_train, x_test, y_test = digits()
learning_rate, training_epochs, batch_size = 0.5, 15, 64

x = tf.placeholder(tf.float32, [None, 64])
y = tf.placeholder(tf.float32, [None, 10])
W = tf.Variable(tf.zeros([64, 10]))
b = tf.Variable(tf.zeros([10]))
pred = tf.nn.softmax(tf.matmul(x, W) + b)
cost = tf.reduce_mean(-tf.reduce_sum(y * tf.log(pred + 1e-10), reduction_indices=1))
optimizer = tf.train.GradientDescentOptimizer(learning_rate).minimize(cost)
correct = tf.equal(tf.argmax(pred, 1), tf.argmax(y, 1))
accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))

with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step, idx in enumerate(batches(len(x_train), batch_size, training_epochs), 1):
        _, c = sess.run([optimizer, cost], feed_dict={x: x_train[idx], y: one_hot(y_train[idx])})
        if step % 50 == 0:
            print(f"step {step:4d}  cost={c:.4f}")
    train_cost = sess.run(cost, feed_dict={x: x_train, y: one_hot(y_train)})
    acc = accuracy.eval({x: x_test, y: one_hot(y_test)})
    print(f"test accuracy {acc:.4f}")
    report(cost=train_cost, accuracy=acc)
