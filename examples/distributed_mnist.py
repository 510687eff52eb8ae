"""Data-parallel training of a digit classifier on several processes with MPI, Horovod style.

The bundled 8x8 handwritten digits (the small MNIST the other examples use) train a
64 -> 128 ReLU -> 10 perceptron with Adam. Each worker process trains on its own shard of
every epoch (``hvd.shard_indices``); ``hvd.DistributedOptimizer`` averages the gradients of
each step over the workers, so all workers hold the same weights, which start as rank 0's
(``hvd.broadcast_global_variables``). The global batch is ``--batch-size`` times the number
of workers, and the learning rate is scaled by it, as with Horovod. Only rank 0 shows
progress, prints metrics and writes the checkpoint.

    mpiexec -n 2 python examples/distributed_mnist.py            # 2 workers on this machine
    python examples/distributed_mnist.py                         # 1 worker, no mpiexec needed
    mpiexec -n 2 python examples/distributed_mnist.py --steps 20  # quick run
    mpiexec -f hosts -n 8 python examples/distributed_mnist.py    # 8 workers on the machines in ./hosts (MPICH)

Needs ``pip install 'graphdl[mpi]'`` (mpi4py and MPICH, which provides ``mpiexec``).
"""

import argparse
import os
import sys

from tqdm import tqdm

import graphdl as tf
import graphdl.distributed as hvd
from graphdl.datasets import load_digits, train_test_split

TARGET_ACCURACY = 0.95


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15, help="passes over the training set (default 15)")
    parser.add_argument("--steps", type=int, default=None, help="stop after this many steps (default: all epochs)")
    parser.add_argument("--batch-size", type=int, default=32, help="minibatch size per worker (default 32)")
    parser.add_argument("--hidden", type=int, default=128, help="hidden ReLU units (default 128)")
    parser.add_argument("--learning-rate", type=float, default=0.005,
                        help="Adam learning rate for one worker, multiplied by the number of workers (default 0.005)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the weights, the split and the batch order")
    parser.add_argument("--checkpoint", default=None, help="checkpoint path prefix rank 0 saves the model to")
    parser.add_argument("--check", action="store_true", help=f"exit 1 if test accuracy < {TARGET_ACCURACY}")
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1 or args.hidden < 1 or (args.steps is not None and args.steps < 1):
        parser.error("--epochs, --steps, --batch-size and --hidden must be positive")

    hvd.init()
    is_root = hvd.rank() == 0
    # Every worker draws different initial weights here; the broadcast below makes them rank 0's.
    tf.set_random_seed(args.seed + hvd.rank())
    images, labels = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(images, labels, test_fraction=0.2, seed=args.seed)

    x = tf.placeholder(tf.float32, [None, 64], name="x")
    y = tf.placeholder(tf.int64, [None], name="y")
    hidden = tf.layers.dense(x, args.hidden, activation=tf.nn.relu, name="hidden")
    logits = tf.layers.dense(hidden, 10, name="logits")
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
    global_step = tf.train.get_or_create_global_step()
    optimizer = hvd.DistributedOptimizer(tf.train.AdamOptimizer(args.learning_rate * hvd.size()))
    train_op = optimizer.minimize(loss, global_step=global_step)
    mean_loss = hvd.allreduce(loss)  # the step's loss over the global batch, for the log
    accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), y), tf.float32))
    broadcast = hvd.broadcast_global_variables(0)
    saver = tf.train.Saver() if args.checkpoint else None

    shard_size = len(x_train) // hvd.size()
    steps_per_epoch = -(-shard_size // args.batch_size)
    total_steps = args.epochs * steps_per_epoch if args.steps is None else min(args.steps, args.epochs * steps_per_epoch)
    if is_root:
        print(f"{hvd.size()} worker(s), {shard_size} training examples each per epoch, global batch "
              f"{args.batch_size * hvd.size()}, {total_steps} steps")
    step = 0
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(broadcast)
        progress = tqdm(total=total_steps, desc="distributed_mnist", unit="step", disable=not is_root)
        for epoch in range(1, args.epochs + 1):
            order = hvd.shard_indices(len(x_train), epoch=epoch, seed=args.seed)
            epoch_loss, epoch_steps = 0.0, 0
            for start in range(0, len(order), args.batch_size):
                batch = order[start:start + args.batch_size]
                _, loss_value = sess.run([train_op, mean_loss], feed_dict={x: x_train[batch], y: y_train[batch]})
                epoch_loss += loss_value
                epoch_steps += 1
                step += 1
                progress.update(1)
                progress.set_postfix(epoch=epoch, loss=f"{loss_value:.4f}", refresh=False)
                if step == total_steps:
                    break
            if is_root:
                tqdm.write(f"epoch {epoch:3d}/{args.epochs}  loss {epoch_loss / epoch_steps:.6f}")
            if step == total_steps:
                break
        progress.close()
        # The weights are the same on every worker: each evaluates the whole set, rank 0 reports.
        train_accuracy = sess.run(accuracy, feed_dict={x: x_train, y: y_train})
        test_accuracy = sess.run(accuracy, feed_dict={x: x_test, y: y_test})
        if saver is not None and is_root:
            os.makedirs(os.path.dirname(os.path.abspath(args.checkpoint)), exist_ok=True)
            print(f"checkpoint: {saver.save(sess, args.checkpoint, global_step=global_step)}")

    if is_root:
        print(f"steps: {step}")
        print(f"train accuracy: {train_accuracy:.4f}")
        print(f"test accuracy: {test_accuracy:.4f}")
    if args.check and not test_accuracy >= TARGET_ACCURACY:
        if is_root:
            print(f"FAILED: test accuracy {test_accuracy:.4f} < {TARGET_ACCURACY}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
