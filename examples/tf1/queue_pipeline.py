"""The TF1 queue input pipeline on image files: slice_input_producer -> read_file -> decode_png -> train.batch.

The digits are first written out as PNG files (a folder of images, as real data sets come); queue
runner threads feed the batches, a Coordinator stops them.
"""
import graphdl.compat.v1 as tf

import os
import sys
import tempfile
import zlib

import numpy as np
from _data import digits, report

tf.disable_v2_behavior()


def write_png(path, image):
    """A grey-scale 8-bit PNG, written with zlib only."""
    height, width = image.shape
    raw = b"".join(b"\x00" + row.tobytes() for row in image)

    def chunk(kind, data):
        return (len(data).to_bytes(4, "big") + kind + data
                + (zlib.crc32(kind + data) & 0xFFFFFFFF).to_bytes(4, "big"))

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


x_train, y_train, x_test, y_test = digits()
image_dir = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="tf1_queue_pipeline_")
paths = []
for i, image in enumerate(x_train):
    paths.append(os.path.join(image_dir, f"digit_{i:04d}.png"))
    write_png(paths[-1], (image.reshape(8, 8) * 255).astype(np.uint8))

batch_size, num_epochs, learning_rate = 32, 5, 0.3
image_path, label = tf.train.slice_input_producer([tf.constant(paths), tf.constant(y_train)], shuffle=True,
                                                  num_epochs=num_epochs, seed=0)
image = tf.image.decode_png(tf.read_file(image_path), channels=1)
image = tf.image.resize_images(image, [8, 8])  # float32, as the classic pipelines resize to the model's size
image = tf.reshape(image, [64]) / 255.0
X, Y = tf.train.batch([image, label], batch_size=batch_size, capacity=128, num_threads=2,
                      allow_smaller_final_batch=True)

W = tf.Variable(tf.zeros([64, 10]))
b = tf.Variable(tf.zeros([10]))
logits = tf.matmul(X, W) + b
loss_op = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=Y, logits=logits))
train_op = tf.train.GradientDescentOptimizer(learning_rate).minimize(loss_op)
test_x = tf.placeholder(tf.float32, [None, 64])
accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(tf.matmul(test_x, W) + b, 1), y_test), tf.float32))

with tf.Session() as sess:
    sess.run([tf.global_variables_initializer(), tf.local_variables_initializer()])
    coord = tf.train.Coordinator()
    threads = tf.train.start_queue_runners(sess=sess, coord=coord)
    step, seen = 0, 0
    try:
        while not coord.should_stop():
            _, loss, labels = sess.run([train_op, loss_op, Y])
            step, seen = step + 1, seen + len(labels)
            if step % 50 == 0:
                print(f"step {step:4d}  minibatch loss={loss:.4f}")
    except tf.errors.OutOfRangeError:
        print(f"done: {num_epochs} epochs, {seen} images in {step} batches")
    finally:
        coord.request_stop()
    coord.join(threads)
    acc = sess.run(accuracy, {test_x: x_test})
    print(f"test accuracy {acc:.4f}")
    report(accuracy=acc, images=seen)
