"""Logistic regression fed by a tf.data pipeline: from_tensor_slices -> shuffle -> repeat -> batch -> prefetch.

The training arrays are fed once, through placeholders, when the initializable iterator starts;
the test set goes through a second iterator that runs until OutOfRangeError.
"""
import graphdl.compat.v1 as tf

import numpy as np
from _data import digits, report

tf.disable_v2_behavior()

x_train, y_train, x_test, y_test = digits()
batch_size, num_steps, learning_rate = 64, 300, 0.5

features = tf.placeholder(tf.float32, [None, 64])
labels = tf.placeholder(tf.int64, [None])
dataset = tf.data.Dataset.from_tensor_slices((features, labels))
dataset = dataset.shuffle(buffer_size=2000, seed=0).repeat().batch(batch_size).prefetch(1)
iterator = dataset.make_initializable_iterator()
X, Y = iterator.get_next()

W = tf.Variable(tf.zeros([64, 10]))
b = tf.Variable(tf.zeros([10]))
logits = tf.matmul(X, W) + b
loss_op = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=Y, logits=logits))
train_op = tf.train.GradientDescentOptimizer(learning_rate).minimize(loss_op)
correct = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(logits, 1), Y), tf.float32))

test_iterator = tf.data.Dataset.from_tensor_slices((x_test, y_test)).batch(100).make_one_shot_iterator()
test_x, test_y = test_iterator.get_next()
test_correct = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(tf.matmul(test_x, W) + b, 1), test_y), tf.float32))

with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    sess.run(iterator.initializer, feed_dict={features: x_train, labels: y_train})
    for step in range(1, num_steps + 1):
        _, loss = sess.run([train_op, loss_op])
        if step % 100 == 0:
            print(f"step {step:4d}  minibatch loss={loss:.4f}")
    right, seen = 0.0, 0
    while True:
        try:
            right += sess.run(test_correct)
            seen += 100
        except tf.errors.OutOfRangeError:
            break
    accuracy = right / len(y_test)
    print(f"test accuracy {accuracy:.4f} over {len(y_test)} images in {int(np.ceil(len(y_test) / 100))} batches")
    report(accuracy=accuracy, loss=loss)
