"""An MLP whose layers, loss and optimizer sit in name scopes, with histograms of activations, weights and gradients.

View with ``tensorboard --logdir <logs_path>``: the graph tab groups the ops by scope, the
histograms tab shows each variable and gradient over training.
"""
import graphdl.compat.v1 as tf

import sys
import tempfile

import numpy as np
from _data import batches, digits, one_hot, report

tf.disable_v2_behavior()

x_train, y_train, x_test, y_test = digits()
learning_rate, training_epochs, batch_size = 0.01, 8, 64
logs_path = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="tf1_tensorboard_advanced_")
rng = np.random.RandomState(0)

x = tf.placeholder(tf.float32, [None, 64], name="InputData")
y = tf.placeholder(tf.float32, [None, 10], name="LabelData")
weights = {"w1": tf.Variable(rng.randn(64, 64).astype(np.float32) * 0.1, name="W1"),
           "w2": tf.Variable(rng.randn(64, 32).astype(np.float32) * 0.1, name="W2"),
           "w3": tf.Variable(rng.randn(32, 10).astype(np.float32) * 0.1, name="W3")}
biases = {"b1": tf.Variable(np.zeros(64, np.float32), name="b1"),
          "b2": tf.Variable(np.zeros(32, np.float32), name="b2"),
          "b3": tf.Variable(np.zeros(10, np.float32), name="b3")}


def multilayer_perceptron(x, weights, biases):
    layer_1 = tf.nn.relu(tf.add(tf.matmul(x, weights["w1"]), biases["b1"]))
    tf.summary.histogram("relu1", layer_1)
    layer_2 = tf.nn.relu(tf.add(tf.matmul(layer_1, weights["w2"]), biases["b2"]))
    tf.summary.histogram("relu2", layer_2)
    return tf.add(tf.matmul(layer_2, weights["w3"]), biases["b3"])


with tf.name_scope("Model"):
    pred = multilayer_perceptron(x, weights, biases)
with tf.name_scope("Loss"):
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(logits=pred, labels=y))
with tf.name_scope("SGD"):
    optimizer = tf.train.GradientDescentOptimizer(learning_rate * 20)
    grads = tf.gradients(loss, tf.trainable_variables())
    grads = list(zip(grads, tf.trainable_variables()))
    apply_grads = optimizer.apply_gradients(grads_and_vars=grads)
with tf.name_scope("Accuracy"):
    acc = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(pred, 1), tf.argmax(y, 1)), tf.float32))

tf.summary.scalar("loss", loss)
tf.summary.scalar("accuracy", acc)
for var in tf.trainable_variables():
    tf.summary.histogram(var.name, var)
for grad, var in grads:
    tf.summary.histogram(var.name + "/gradient", grad)
merged_summary_op = tf.summary.merge_all()

with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    summary_writer = tf.summary.FileWriter(logs_path, graph=tf.get_default_graph())
    for step, idx in enumerate(batches(len(x_train), batch_size, training_epochs), 1):
        _, c, summary = sess.run([apply_grads, loss, merged_summary_op],
                                 feed_dict={x: x_train[idx], y: one_hot(y_train[idx])})
        summary_writer.add_summary(summary, step)
        if step % 50 == 0:
            print(f"step {step:4d}  loss={c:.4f}")
    summary_writer.close()
    accuracy = acc.eval({x: x_test, y: one_hot(y_test)})
    print(f"test accuracy {accuracy:.4f}")
    print(f"Run the command line:\n--> tensorboard --logdir={logs_path}\nThen open http://0.0.0.0:6006/")
    report(accuracy=accuracy, loss=sess.run(loss, {x: x_train, y: one_hot(y_train)}))
