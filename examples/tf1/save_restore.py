"""Train, save a checkpoint with tf.train.Saver, restore it into a fresh session and continue training."""
import graphdl.compat.v1 as tf

import os
import sys
import tempfile

import numpy as np
from _data import batches, digits, one_hot, report

tf.disable_v2_behavior()

x_train, y_train, x_test, y_test = digits()
model_dir = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="tf1_save_restore_")
model_path = os.path.join(model_dir, "model.ckpt")

rng = np.random.RandomState(0)
x = tf.placeholder(tf.float32, [None, 64])
y = tf.placeholder(tf.float32, [None, 10])
h = tf.layers.dense(x, 32, activation=tf.nn.relu, kernel_initializer=tf.constant_initializer(rng.randn(64, 32) * 0.1))
logits = tf.layers.dense(h, 10, kernel_initializer=tf.constant_initializer(rng.randn(32, 10) * 0.1))
cost = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(logits=logits, labels=y))
optimizer = tf.train.AdamOptimizer(learning_rate=0.005).minimize(cost)
accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), tf.argmax(y, 1)), tf.float32))
saver = tf.train.Saver()

print("Starting 1st session...")
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for idx in batches(len(x_train), 64, 3):
        sess.run(optimizer, feed_dict={x: x_train[idx], y: one_hot(y_train[idx])})
    first_acc = accuracy.eval({x: x_test, y: one_hot(y_test)})
    save_path = saver.save(sess, model_path)
    print(f"accuracy after 3 epochs {first_acc:.4f}; model saved in file: {save_path}")

print("Starting 2nd session...")
with tf.Session() as sess:
    saver.restore(sess, model_path)
    restored_acc = accuracy.eval({x: x_test, y: one_hot(y_test)})
    print(f"restored model accuracy {restored_acc:.4f} (same as saved: {restored_acc == first_acc})")
    for idx in batches(len(x_train), 64, 4, seed=1):
        sess.run(optimizer, feed_dict={x: x_train[idx], y: one_hot(y_train[idx])})
    final_acc = accuracy.eval({x: x_test, y: one_hot(y_test)})
    print(f"accuracy after 4 more epochs {final_acc:.4f}")
    report(saved_accuracy=first_acc, restored_accuracy=restored_acc, accuracy=final_acc)
