"""``graphdl export`` end to end: save a meta graph and checkpoint, export with the CLI in a subprocess, run in ORT."""

import subprocess
import sys

import numpy as np
import pytest

import graphdl as tf

ort = pytest.importorskip("onnxruntime")


def test_cli_exports_a_saved_model(tmp_path):
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(0)
        x = tf.placeholder(tf.float32, [None, 6], name="x")
        keep_prob = tf.placeholder(tf.float32, [], name="keep_prob")
        hidden = tf.nn.dropout(tf.layers.dense(x, 8, activation=tf.nn.tanh, name="hidden"), keep_prob=keep_prob)
        logits = tf.layers.dense(hidden, 3, name="logits")
        tf.identity(logits, name="output")
        saver = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            prefix = saver.save(sess, str(tmp_path / "model.ckpt"))
            xv = np.random.default_rng(0).random((4, 6)).astype(np.float32)
            want = sess.run(logits, {x: xv, keep_prob: 1.0})
    out = tmp_path / "model.onnx"
    result = subprocess.run(
        [sys.executable, "-m", "graphdl.cli", "export", prefix + ".meta", "--checkpoint", prefix, "-o", str(out),
         "--inputs", "x", "--outputs", "output", "--feed", "keep_prob=1.0", "--opset", "17"],
        capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert "opset 17" in result.stdout
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    (got,) = session.run(["output"], {"x": xv})
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_cli_reports_a_missing_input(tmp_path):
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [None, 2], name="x")
        tf.identity(x * 2.0, name="y")
        tf.save_graph(graph, str(tmp_path / "g.meta"))
    result = subprocess.run(
        [sys.executable, "-m", "graphdl", "export", str(tmp_path / "g.meta"), "-o", str(tmp_path / "m.onnx"),
         "--inputs", "nope", "--outputs", "y"], capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 1
    assert "nope" in result.stderr
