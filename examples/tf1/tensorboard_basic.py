"""Logistic regression with name scopes and scalar summaries written for TensorBoard (graph and loss curves).

View with ``tensorboard --logdir <logs_path>`` (the path is printed at the end).
"""
import graphdl.compat.v1 as tf

import sys
import tempfile

from _data import batches, digits, one_hot, report

tf.disable_v2_behavior()

x_train, y_train, x_test, y_test = digits()
learning_rate, training_epochs, batch_size = 0.5, 10, 64
logs_path = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="tf1_tensorboard_basic_")

x = tf.placeholder(tf.float32, [None, 64], name="InputData")
y = tf.placeholder(tf.float32, [None, 10], name="LabelData")
W = tf.Variable(tf.zeros([64, 10]), name="Weights")
b = tf.Variable(tf.zeros([10]), name="Bias")
with tf.name_scope("Model"):
    pred = tf.nn.softmax(tf.matmul(x, W) + b)
with tf.name_scope("Loss"):
    cost = tf.reduce_mean(-tf.reduce_sum(y * tf.log(pred + 1e-10), reduction_indices=1))
with tf.name_scope("SGD"):
    optimizer = tf.train.GradientDescentOptimizer(learning_rate).minimize(cost)
with tf.name_scope("Accuracy"):
    acc = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(pred, 1), tf.argmax(y, 1)), tf.float32))

tf.summary.scalar("loss", cost)
tf.summary.scalar("accuracy", acc)
merged_summary_op = tf.summary.merge_all()

with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    summary_writer = tf.summary.FileWriter(logs_path, graph=tf.get_default_graph())
    for step, idx in enumerate(batches(len(x_train), batch_size, training_epochs), 1):
        _, c, summary = sess.run([optimizer, cost, merged_summary_op],
                                 feed_dict={x: x_train[idx], y: one_hot(y_train[idx])})
        summary_writer.add_summary(summary, step)
        if step % 50 == 0:
            print(f"step {step:4d}  cost={c:.4f}")
    summary_writer.close()
    accuracy = acc.eval({x: x_test, y: one_hot(y_test)})
    print(f"test accuracy {accuracy:.4f}")
    print(f"Run the command line:\n--> tensorboard --logdir={logs_path}\nThen open http://0.0.0.0:6006/")
    report(accuracy=accuracy, cost=sess.run(cost, {x: x_train, y: one_hot(y_train)}))
