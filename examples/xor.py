"""A two-layer perceptron learns XOR, TF1 style.

XOR is the classic function a single linear layer cannot represent. A hidden layer of 8
tanh units followed by one sigmoid output, trained with Adam on sigmoid cross-entropy,
classifies all four cases.

    python examples/xor.py               # 500 steps
    python examples/xor.py --steps 50    # quick run
    python examples/xor.py --check       # exit 1 unless all 4 cases are classified correctly
"""

import argparse
import sys

import numpy as np
from tqdm import tqdm

import graphdl as tf
from graphdl.datasets import make_xor


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500, help="Adam steps (default 500)")
    parser.add_argument("--hidden", type=int, default=8, help="hidden tanh units (default 8)")
    parser.add_argument("--learning-rate", type=float, default=0.05, help="Adam learning rate (default 0.05)")
    parser.add_argument("--seed", type=int, default=0, help="graph-level random seed")
    parser.add_argument("--log-every", type=int, default=50, help="print the loss every N steps")
    parser.add_argument("--check", action="store_true", help="exit 1 unless all 4 XOR cases are correct")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error("--steps must be positive")

    tf.set_random_seed(args.seed)
    x_data, y_data = make_xor()

    x = tf.placeholder(tf.float32, [None, 2], name="x")
    y = tf.placeholder(tf.float32, [None, 1], name="y")
    W1 = tf.Variable(tf.random_normal([2, args.hidden], stddev=1.0), name="W1")
    b1 = tf.Variable(tf.zeros([args.hidden]), name="b1")
    hidden = tf.tanh(tf.matmul(x, W1) + b1)
    W2 = tf.Variable(tf.random_normal([args.hidden, 1], stddev=1.0), name="W2")
    b2 = tf.Variable(tf.zeros([1]), name="b2")
    logits = tf.matmul(hidden, W2) + b2
    probability = tf.sigmoid(logits)
    loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits))
    train_op = tf.train.AdamOptimizer(args.learning_rate).minimize(loss)

    feed = {x: x_data, y: y_data}
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        progress = tqdm(range(args.steps), desc="xor", unit="step")
        for step in progress:
            _, loss_value = sess.run([train_op, loss], feed_dict=feed)
            progress.set_postfix(loss=f"{loss_value:.4f}", refresh=False)
            if step % args.log_every == 0 or step == args.steps - 1:
                tqdm.write(f"step {step:5d}  loss {loss_value:.6f}")
        p = sess.run(probability, feed_dict={x: x_data})

    predicted = (p > 0.5).astype(np.float32)
    for inputs, target, prob, pred in zip(x_data, y_data[:, 0], p[:, 0], predicted[:, 0]):
        mark = "ok" if pred == target else "WRONG"
        print(f"xor({int(inputs[0])}, {int(inputs[1])}) = {int(target)}  p={prob:.4f}  predicted {int(pred)}  {mark}")
    num_correct = int(np.sum(predicted == y_data))
    print(f"xor correct: {num_correct}/4")
    if args.check and num_correct != 4:
        print(f"FAILED: only {num_correct}/4 XOR cases classified correctly", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
