"""A worker that tests/test_distributed.py starts under ``mpiexec -n N``: ``python mpi_worker.py MODE OUT_DIR``.

Modes:
- ``train``: a small MLP trained with DistributedOptimizer(Adam) for STEPS steps; every
  rank starts from different weights, rank 0's are broadcast. Each rank saves its final
  variables, losses and an allreduce-gradient check to OUT_DIR/rank<R>.npz. Then the
  same training with ``compression=Compression.fp16``, saved to OUT_DIR/fp16_rank<R>.npz.
- ``stall``: rank 1 stops taking part (sleeps) after the first step; the others must time out.
- ``crash``: rank 1 raises an exception in its second step.
- ``die``: rank 1 exits abruptly (``os._exit(3)``) in its second step.
- ``mismatch``: rank 1 builds a hidden layer of a different width.
"""

import os
import sys
import time

import numpy as np

import graphdl as tf
import graphdl.distributed as hvd

STEPS = 5
BATCH_PER_WORKER = 4
IN, HIDDEN, OUT = 8, 6, 3
LEARNING_RATE = 0.05


def initial_params(hidden=HIDDEN):
    """The reference initial weights (what rank 0 starts from and a single process uses)."""
    rs = np.random.RandomState(0)
    return {
        "W1": rs.uniform(-0.5, 0.5, (IN, hidden)).astype(np.float32),
        "b1": rs.uniform(-0.1, 0.1, hidden).astype(np.float32),
        "W2": rs.uniform(-0.5, 0.5, (hidden, OUT)).astype(np.float32),
        "b2": np.zeros(OUT, np.float32),
    }


def dataset(num_workers, steps=STEPS):
    """Enough examples for ``steps`` global batches of ``BATCH_PER_WORKER * num_workers``."""
    rs = np.random.RandomState(42)
    n = steps * BATCH_PER_WORKER * num_workers
    return rs.standard_normal((n, IN)).astype(np.float32), rs.randint(0, OUT, n).astype(np.int64)


def global_batch(x, y, step, num_workers):
    """The examples of step ``step`` for all workers together."""
    size = BATCH_PER_WORKER * num_workers
    return x[step * size:(step + 1) * size], y[step * size:(step + 1) * size]


def worker_batch(x, y, step, num_workers, worker):
    """Worker ``worker``'s consecutive block of the global batch of step ``step``."""
    gx, gy = global_batch(x, y, step, num_workers)
    part = slice(worker * BATCH_PER_WORKER, (worker + 1) * BATCH_PER_WORKER)
    return gx[part], gy[part]


def build_model(params, distributed=True, compression=None):
    """Placeholders, variables (initialized to ``params``), loss and train op of the MLP, as a dict."""
    x = tf.placeholder(tf.float32, [None, IN], name="x")
    y = tf.placeholder(tf.int64, [None], name="y")
    v = {k: tf.Variable(p, name=k) for k, p in params.items()}
    logits = tf.matmul(tf.tanh(tf.matmul(x, v["W1"]) + v["b1"]), v["W2"]) + v["b2"]
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
    opt = tf.train.AdamOptimizer(LEARNING_RATE)
    if distributed:
        opt = hvd.DistributedOptimizer(opt, compression=compression or hvd.Compression.none)
    return {"x": x, "y": y, "vars": v, "loss": loss, "train_op": opt.minimize(loss)}


def train_single_process(num_workers, steps=STEPS):
    """Variables and losses after ``steps`` steps in one process on the concatenated batches."""
    with tf.Graph().as_default():
        m = build_model(initial_params(), distributed=False)
        x, y = dataset(num_workers, steps)
        losses = []
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for step in range(steps):
                gx, gy = global_batch(x, y, step, num_workers)
                _, loss = sess.run([m["train_op"], m["loss"]], {m["x"]: gx, m["y"]: gy})
                losses.append(loss)
            return {k: sess.run(var) for k, var in m["vars"].items()}, np.array(losses)


def _gradient_check(rank):
    """d/dx of sum(allreduce_sum(x) * c_rank) is allreduce_sum(c) = sum over ranks of c_rank."""
    with tf.Graph().as_default():
        x = tf.constant(np.arange(3, dtype=np.float32) + rank)
        c = tf.constant(np.full(3, rank + 1.0, np.float32))
        reduced = hvd.allreduce(x, op=hvd.Sum)
        grad = tf.gradients(tf.reduce_sum(reduced * c), x)[0]
        with tf.Session() as sess:
            return sess.run([reduced, grad])


def train(out_dir, compression=None, prefix=""):
    rank, size = hvd.rank(), hvd.size()
    params = initial_params()
    if rank != 0:  # different starting points: the broadcast must replace them with rank 0's
        params = {k: p + np.float32(rank) for k, p in params.items()}
    graph = tf.Graph()
    with graph.as_default():
        m = build_model(params, compression=compression)
        bcast = hvd.broadcast_global_variables(0)
    x, y = dataset(size)
    losses = []
    hvd.reset_collective_stats()
    with tf.Session(graph=graph) as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(bcast)
        start = {k: sess.run(var) for k, var in m["vars"].items()}
        for step in range(STEPS):
            bx, by = worker_batch(x, y, step, size, rank)
            _, loss = sess.run([m["train_op"], m["loss"]], {m["x"]: bx, m["y"]: by})
            losses.append(loss)
        final = {k: sess.run(var) for k, var in m["vars"].items()}
    reduced, grad = _gradient_check(rank)
    stats = hvd.collective_stats()
    np.savez(os.path.join(out_dir, f"{prefix}rank{rank}.npz"), losses=np.array(losses), reduced=reduced, grad=grad,
             allreduce_calls=stats["allreduce"].calls, broadcast_calls=stats["broadcast"].calls,
             local_rank=hvd.local_rank(), local_size=hvd.local_size(), size=size,
             **{f"start_{k}": v for k, v in start.items()}, **{f"final_{k}": v for k, v in final.items()})


def failing(mode):
    rank = hvd.rank()
    hidden = HIDDEN + 2 if (mode == "mismatch" and rank == 1) else HIDDEN
    m = build_model(initial_params(hidden))
    x, y = dataset(hvd.size())
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for step in range(STEPS):
            if step == 1 and rank == 1 and mode == "stall":
                time.sleep(60)
            if step == 1 and rank == 1 and mode == "crash":
                raise RuntimeError("worker 1 crashed on purpose")
            if step == 1 and rank == 1 and mode == "die":
                os._exit(3)  # no Python exception, no MPI_Finalize: as if killed
            bx, by = worker_batch(x, y, step, hvd.size(), rank)
            sess.run(m["train_op"], {m["x"]: bx, m["y"]: by})
    print(f"rank {rank}: finished all steps (unexpected in mode {mode})", flush=True)


def main():
    mode, out_dir = sys.argv[1], sys.argv[2]
    hvd.init()
    if mode == "train":
        train(out_dir)
        train(out_dir, compression=hvd.Compression.fp16, prefix="fp16_")
    else:
        failing(mode)


if __name__ == "__main__":
    main()
