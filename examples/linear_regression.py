"""Linear regression with gradient descent, written exactly as in TensorFlow 1.

Draws 256 samples of ``y = x @ W + b + noise`` with known ``W = [2, -3.5, 0.5]``,
``b = 1.25`` and noise standard deviation 0.01, fits ``W`` and ``b`` by minimising the mean
squared error with ``GradientDescentOptimizer``, and prints the recovered parameters.

    python examples/linear_regression.py                # 200 steps
    python examples/linear_regression.py --steps 20     # quick run
    python examples/linear_regression.py --check        # exit 1 unless max |error| <= 1e-2
"""

import argparse
import sys

import numpy as np
from tqdm import tqdm

import graphdl as tf
from graphdl.datasets import make_linear_regression

TRUE_W = [2.0, -3.5, 0.5]
TRUE_B = 1.25
TOLERANCE = 1e-2


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="gradient-descent steps (default 200)")
    parser.add_argument("--learning-rate", type=float, default=0.1, help="step size (default 0.1)")
    parser.add_argument("--log-every", type=int, default=20, help="print the loss every N steps")
    parser.add_argument("--check", action="store_true", help=f"exit 1 unless max |error| <= {TOLERANCE}")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error("--steps must be positive")

    x_data, y_data = make_linear_regression(256, TRUE_W, TRUE_B, noise=0.01, seed=0)

    # The graph: a placeholder for each input, a Variable for each parameter.
    x = tf.placeholder(tf.float32, shape=[None, 3], name="x")
    y = tf.placeholder(tf.float32, shape=[None, 1], name="y")
    W = tf.Variable(tf.zeros([3, 1]), name="W")
    b = tf.Variable(tf.zeros([1]), name="b")
    y_pred = tf.matmul(x, W) + b
    loss = tf.reduce_mean(tf.square(y_pred - y))
    train_op = tf.train.GradientDescentOptimizer(args.learning_rate).minimize(loss)

    feed = {x: x_data, y: y_data}
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        progress = tqdm(range(args.steps), desc="linear regression", unit="step")
        for step in progress:
            _, loss_value = sess.run([train_op, loss], feed_dict=feed)
            progress.set_postfix(loss=f"{loss_value:.6f}", refresh=False)
            if step % args.log_every == 0 or step == args.steps - 1:
                tqdm.write(f"step {step:5d}  loss {loss_value:.6f}")
        w_value, b_value, final_loss = sess.run([W, b, loss], feed_dict=feed)

    error = max(np.max(np.abs(w_value.ravel() - TRUE_W)), abs(float(b_value[0]) - TRUE_B))
    print(f"final loss: {final_loss:.6f}")
    print(f"true W: {TRUE_W}  b: {TRUE_B}")
    print(f"learned W: {[round(float(v), 4) for v in w_value.ravel()]}  b: {float(b_value[0]):.4f}")
    print(f"max abs error: {error:.6f}")
    if args.check and not error <= TOLERANCE:
        print(f"FAILED: max abs error {error:.6f} > {TOLERANCE}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
