"""Softmax (multinomial logistic) regression on the bundled 8x8 handwritten digits, TF1 style.

The classic "MNIST for beginners" model on the UCI digits: ``logits = x @ W + b`` with
64 pixel inputs and 10 classes, one-hot labels, softmax cross-entropy, full-batch
gradient descent. 80% of the 1797 images train the model; the other 20% measure it.

    python examples/logistic_regression.py              # 300 steps, about 95% test accuracy
    python examples/logistic_regression.py --steps 20   # quick run
    python examples/logistic_regression.py --check      # exit 1 below 90% test accuracy
"""

import argparse
import sys

from tqdm import tqdm

import graphdl as tf
from graphdl.datasets import load_digits, train_test_split

TARGET_ACCURACY = 0.90


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="full-batch gradient-descent steps (default 300)")
    parser.add_argument("--learning-rate", type=float, default=0.5, help="step size (default 0.5)")
    parser.add_argument("--log-every", type=int, default=25, help="print the loss every N steps")
    parser.add_argument("--check", action="store_true", help=f"exit 1 if test accuracy < {TARGET_ACCURACY}")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error("--steps must be positive")

    images, labels = load_digits(one_hot=True)
    x_train, x_test, y_train, y_test = train_test_split(images, labels, test_fraction=0.2, seed=0)

    x = tf.placeholder(tf.float32, [None, 64], name="x")
    y_ = tf.placeholder(tf.float32, [None, 10], name="labels")
    W = tf.Variable(tf.zeros([64, 10]), name="W")
    b = tf.Variable(tf.zeros([10]), name="b")
    logits = tf.matmul(x, W) + b
    cross_entropy = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=y_, logits=logits))
    train_step = tf.train.GradientDescentOptimizer(args.learning_rate).minimize(cross_entropy)
    correct_prediction = tf.equal(tf.argmax(logits, 1), tf.argmax(y_, 1))
    accuracy = tf.reduce_mean(tf.cast(correct_prediction, tf.float32))

    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        progress = tqdm(range(args.steps), desc="softmax regression", unit="step")
        for step in progress:
            _, loss_value = sess.run([train_step, cross_entropy], feed_dict={x: x_train, y_: y_train})
            progress.set_postfix(loss=f"{loss_value:.4f}", refresh=False)
            if step % args.log_every == 0 or step == args.steps - 1:
                tqdm.write(f"step {step:5d}  loss {loss_value:.6f}")
        train_accuracy = sess.run(accuracy, feed_dict={x: x_train, y_: y_train})
        test_accuracy = sess.run(accuracy, feed_dict={x: x_test, y_: y_test})

    print(f"train accuracy: {train_accuracy:.4f}")
    print(f"test accuracy: {test_accuracy:.4f}")
    if args.check and not test_accuracy >= TARGET_ACCURACY:
        print(f"FAILED: test accuracy {test_accuracy:.4f} < {TARGET_ACCURACY}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
