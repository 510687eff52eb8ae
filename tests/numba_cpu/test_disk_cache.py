"""A second process running the same model loads every kernel from the disk cache: it compiles nothing."""

import json
import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import json
    import numpy as np
    import graphdl as tf
    from graphdl.backends.numba_cpu.kernel_cache import compile_stats

    rs = np.random.RandomState(0)
    x = tf.placeholder(tf.float32, [None, 20])
    y = tf.placeholder(tf.int64, [None])
    w1 = tf.Variable(rs.uniform(-0.2, 0.2, (20, 16)).astype(np.float32))
    b1 = tf.Variable(np.zeros(16, np.float32))
    w2 = tf.Variable(rs.uniform(-0.2, 0.2, (16, 3)).astype(np.float32))
    logits = tf.matmul(tf.nn.relu(tf.matmul(x, w1) + b1), w2)
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
    train = tf.train.AdamOptimizer(0.01).minimize(loss)
    with tf.Session(backend="numba") as sess:
        sess.run(tf.global_variables_initializer())
        losses = [float(sess.run([train, loss], {x: rs.randn(8, 20), y: rs.randint(0, 3, 8)})[1]) for _ in range(3)]
    print(json.dumps({"stats": compile_stats(), "losses": losses}))
    """
)


def _run(env):
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_second_process_compiles_nothing(tmp_path):
    env = dict(os.environ, GRAPHDL_CACHE_DIR=str(tmp_path / "cache"))
    env.pop("NUMBA_CACHE_DIR", None)
    first = _run(env)
    second = _run(env)
    assert first["stats"]["compiled"] > 0, first
    assert second["stats"]["compiled"] == 0, second
    assert second["stats"]["loaded"] >= first["stats"]["compiled"]
    assert second["losses"] == first["losses"]
    assert any((tmp_path / "cache" / "kernels").glob("k_*.py"))
