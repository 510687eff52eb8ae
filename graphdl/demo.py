"""graphdl's main demo: a two-layer perceptron learns to read handwritten digits.

Trains a 64 -> 64 (ReLU) -> 10 MLP with Adam on minibatches of the bundled UCI digits
(1797 8x8 images, 80/20 train/test split), showing a progress bar, the loss per epoch and
the final test accuracy. Everything is plain TF1 API: placeholders, ``get_variable``,
``sparse_softmax_cross_entropy_with_logits``, ``AdamOptimizer.minimize`` and
``Session.run`` with ``feed_dict``.

    python -m graphdl.demo                 # 20 epochs, ~97% test accuracy
    python -m graphdl.demo --epochs 1      # quick run
    python -m graphdl.demo --check         # exit 1 below 95% test accuracy

The pieces (``build_mlp``, ``train``, ``evaluate``) are importable for other tools.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time

import numpy as np
from tqdm import tqdm

import graphdl as tf
from graphdl.datasets import load_digits, train_test_split

__all__ = ["MLP", "build_mlp", "evaluate", "iterate_minibatches", "main", "train"]

TARGET_ACCURACY = 0.95


@dataclasses.dataclass
class MLP:
    """The demo model's graph and the tensors/ops a training loop needs."""

    graph: tf.Graph
    images: tf.Tensor       # float32 [batch, 64] placeholder
    labels: tf.Tensor       # int64 [batch] placeholder
    logits: tf.Tensor       # float32 [batch, 10]
    predictions: tf.Tensor  # int64 [batch], argmax of the logits
    loss: tf.Tensor         # scalar mean cross-entropy
    accuracy: tf.Tensor     # scalar fraction of correct predictions
    train_op: tf.Operation  # one Adam step
    init_op: tf.Operation   # initializes every variable


def build_mlp(num_inputs: int = 64, num_hidden: int = 64, num_classes: int = 10, learning_rate: float = 0.01,
              seed: int = 0, graph: tf.Graph | None = None) -> MLP:
    """Build the MLP ``relu(x @ W1 + b1) @ W2 + b2`` with its loss, accuracy and Adam step in ``graph``.

    A new ``graphdl.Graph`` is created unless ``graph`` is given; ``seed`` is its graph-level
    random seed, so the initial weights are the same on every run.
    """
    graph = graph if graph is not None else tf.Graph()
    with graph.as_default():
        tf.set_random_seed(seed)
        images = tf.placeholder(tf.float32, [None, num_inputs], name="images")
        labels = tf.placeholder(tf.int64, [None], name="labels")
        with tf.variable_scope("hidden"):
            w1 = tf.get_variable("weights", [num_inputs, num_hidden], initializer=tf.glorot_uniform_initializer())
            b1 = tf.get_variable("biases", [num_hidden], initializer=tf.zeros_initializer())
            hidden = tf.nn.relu(tf.matmul(images, w1) + b1)
        with tf.variable_scope("output"):
            w2 = tf.get_variable("weights", [num_hidden, num_classes], initializer=tf.glorot_uniform_initializer())
            b2 = tf.get_variable("biases", [num_classes], initializer=tf.zeros_initializer())
            logits = tf.add(tf.matmul(hidden, w2), b2, name="logits")
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits),
                              name="loss")
        train_op = tf.train.AdamOptimizer(learning_rate).minimize(loss)
        predictions = tf.argmax(logits, 1, name="predictions")
        accuracy = tf.reduce_mean(tf.cast(tf.equal(predictions, labels), tf.float32), name="accuracy")
        init_op = tf.global_variables_initializer()
    return MLP(graph, images, labels, logits, predictions, loss, accuracy, train_op, init_op)


def iterate_minibatches(num_samples: int, batch_size: int, rng: np.random.Generator):
    """Yield index arrays covering ``range(num_samples)`` once, shuffled, ``batch_size`` at a time."""
    order = rng.permutation(num_samples)
    for start in range(0, num_samples, batch_size):
        yield order[start:start + batch_size]


def train(sess: tf.Session, model: MLP, x: np.ndarray, y: np.ndarray, epochs: int, batch_size: int = 128,
          seed: int = 0, progress: bool = True, log=tqdm.write) -> list[float]:
    """Run ``epochs`` passes of minibatch Adam over ``(x, y)``; return the mean loss of each epoch.

    Shows a tqdm progress bar over all steps (unless ``progress=False``) and calls
    ``log("epoch N/E  loss L")`` after each epoch.
    """
    rng = np.random.default_rng(seed)
    steps_per_epoch = -(-len(x) // batch_size)
    epoch_losses = []
    with tqdm(total=epochs * steps_per_epoch, desc="training", unit="step", disable=not progress) as bar:
        for epoch in range(1, epochs + 1):
            losses = []
            for batch in iterate_minibatches(len(x), batch_size, rng):
                _, loss_value = sess.run([model.train_op, model.loss],
                                         feed_dict={model.images: x[batch], model.labels: y[batch]})
                losses.append(float(loss_value))
                bar.update(1)
                bar.set_postfix(epoch=epoch, loss=f"{loss_value:.4f}", refresh=False)
            epoch_losses.append(float(np.mean(losses)))
            if log is not None:
                log(f"epoch {epoch:3d}/{epochs}  loss {epoch_losses[-1]:.6f}")
    return epoch_losses


def evaluate(sess: tf.Session, model: MLP, x: np.ndarray, y: np.ndarray) -> float:
    """Fraction of ``x`` whose predicted class equals ``y``."""
    return float(sess.run(model.accuracy, feed_dict={model.images: x, model.labels: y}))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m graphdl.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20, help="passes over the training set (default 20)")
    parser.add_argument("--batch-size", type=int, default=128, help="minibatch size (default 128)")
    parser.add_argument("--hidden", type=int, default=64, help="hidden ReLU units (default 64)")
    parser.add_argument("--learning-rate", type=float, default=0.01, help="Adam learning rate (default 0.01)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the weights and the batch order")
    parser.add_argument("--backend", default=None, help="Session backend (default: graphdl's default)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.add_argument("--check", action="store_true", help=f"exit 1 if test accuracy < {TARGET_ACCURACY}")
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1 or args.hidden < 1:
        parser.error("--epochs, --batch-size and --hidden must be positive")
    return args


def main(argv=None) -> int:
    """Train the digits MLP and print its test accuracy; returns the process exit status."""
    args = parse_args(argv)
    images, labels = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(images, labels, test_fraction=0.2, seed=args.seed)
    print(f"digits: {len(x_train)} training and {len(x_test)} test images of 8x8 pixels, 10 classes")

    model = build_mlp(num_hidden=args.hidden, learning_rate=args.learning_rate, seed=args.seed)
    with tf.Session(graph=model.graph, backend=args.backend) as sess:
        sess.run(model.init_op)
        start = time.perf_counter()
        epoch_losses = train(sess, model, x_train, y_train, args.epochs, args.batch_size, args.seed,
                             progress=not args.no_progress)
        seconds = time.perf_counter() - start
        train_accuracy = evaluate(sess, model, x_train, y_train)
        test_accuracy = evaluate(sess, model, x_test, y_test)

    print(f"trained {args.epochs} epochs in {seconds:.1f} s; final loss {epoch_losses[-1]:.6f}")
    print(f"train accuracy: {train_accuracy:.4f}")
    print(f"test accuracy: {test_accuracy:.4f}")
    if args.check and not test_accuracy >= TARGET_ACCURACY:
        print(f"FAILED: test accuracy {test_accuracy:.4f} < {TARGET_ACCURACY}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
