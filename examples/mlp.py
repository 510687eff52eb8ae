"""A two-layer perceptron classifies the bundled 8x8 handwritten digits, TF1 style.

64 pixels -> 64 ReLU units -> 10 logits, sparse softmax cross-entropy, Adam on shuffled
minibatches of 128. 80% of the 1797 images train the model; the other 20% measure it.
(``python -m graphdl.demo`` is the packaged version of this model.)

    python examples/mlp.py               # 20 epochs, about 97% test accuracy
    python examples/mlp.py --epochs 1    # quick run
    python examples/mlp.py --check       # exit 1 below 95% test accuracy
"""

import argparse
import sys

import numpy as np
from tqdm import tqdm

import graphdl as tf
from graphdl.datasets import load_digits, train_test_split

TARGET_ACCURACY = 0.95


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20, help="passes over the training set (default 20)")
    parser.add_argument("--batch-size", type=int, default=128, help="minibatch size (default 128)")
    parser.add_argument("--hidden", type=int, default=64, help="hidden ReLU units (default 64)")
    parser.add_argument("--learning-rate", type=float, default=0.01, help="Adam learning rate (default 0.01)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the weights and the batch order")
    parser.add_argument("--check", action="store_true", help=f"exit 1 if test accuracy < {TARGET_ACCURACY}")
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1 or args.hidden < 1:
        parser.error("--epochs, --batch-size and --hidden must be positive")

    tf.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    images, labels = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(images, labels, test_fraction=0.2, seed=args.seed)

    x = tf.placeholder(tf.float32, [None, 64], name="x")
    y = tf.placeholder(tf.int64, [None], name="y")
    W1 = tf.Variable(tf.truncated_normal([64, args.hidden], stddev=0.1), name="W1")
    b1 = tf.Variable(tf.zeros([args.hidden]), name="b1")
    hidden = tf.nn.relu(tf.matmul(x, W1) + b1)
    W2 = tf.Variable(tf.truncated_normal([args.hidden, 10], stddev=0.1), name="W2")
    b2 = tf.Variable(tf.zeros([10]), name="b2")
    logits = tf.matmul(hidden, W2) + b2
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
    train_op = tf.train.AdamOptimizer(args.learning_rate).minimize(loss)
    accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), y), tf.float32))

    num_batches = -(-len(x_train) // args.batch_size)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        progress = tqdm(total=args.epochs * num_batches, desc="mlp", unit="step")
        for epoch in range(1, args.epochs + 1):
            order = rng.permutation(len(x_train))
            epoch_loss = 0.0
            for start in range(0, len(x_train), args.batch_size):
                batch = order[start:start + args.batch_size]
                _, loss_value = sess.run([train_op, loss], feed_dict={x: x_train[batch], y: y_train[batch]})
                epoch_loss += loss_value / num_batches
                progress.update(1)
                progress.set_postfix(epoch=epoch, loss=f"{loss_value:.4f}", refresh=False)
            tqdm.write(f"epoch {epoch:3d}/{args.epochs}  loss {epoch_loss:.6f}")
        progress.close()
        train_accuracy = sess.run(accuracy, feed_dict={x: x_train, y: y_train})
        test_accuracy = sess.run(accuracy, feed_dict={x: x_test, y: y_test})

    print(f"train accuracy: {train_accuracy:.4f}")
    print(f"test accuracy: {test_accuracy:.4f}")
    if args.check and not test_accuracy >= TARGET_ACCURACY:
        print(f"FAILED: test accuracy {test_accuracy:.4f} < {TARGET_ACCURACY}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
