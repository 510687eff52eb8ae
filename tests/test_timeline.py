"""RunOptions(trace_level=FULL_TRACE) fills RunMetadata.step_stats; Timeline makes a Chrome trace of it."""

import json
import time

import numpy as np
import pytest
from harness import OP_TEST_BACKENDS

import graphdl as tf
from graphdl.client.timeline import Timeline, op_time_summary


def _training_step():
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [None, 3], name="x")
        w = tf.Variable(np.arange(6, dtype=np.float32).reshape(3, 2) / 6, name="w")
        loss = tf.reduce_mean(tf.square(tf.matmul(x, w, name="logits") - 1.0), name="loss")
        train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
        init = tf.global_variables_initializer()
    return graph, x, loss, train, init


def _full_trace():
    return tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE)


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_full_trace_times_every_kernel(backend):
    graph, x, loss, train, init = _training_step()
    feed = {x: np.ones((4, 3), np.float32)}
    with tf.Session(graph=graph, backend=backend) as sess:
        sess.run(init)
        sess.run([train, loss], feed)  # compile first: the traced run then times kernels, not the compiler
        untraced = tf.RunMetadata()
        sess.run(loss, feed, run_metadata=untraced)
        assert untraced.step_stats is None
        metadata = tf.RunMetadata()
        before_us = time.time_ns() // 1000
        _, value = sess.run([train, loss], feed, options=_full_trace(), run_metadata=metadata)
        after_us = time.time_ns() // 1000
        # The traced run computes the same step as an untraced one (w moved once more in between).
        w = sess.run(graph.get_tensor_by_name("w:0"))
    expected_w = np.arange(6, dtype=np.float32).reshape(3, 2) / 6
    for _ in range(2):
        expected_w -= 0.1 * 2 * np.ones((3, 4)) @ (np.ones((4, 3)) @ expected_w - 1) / 8
    np.testing.assert_allclose(w, expected_w, rtol=1e-5, atol=1e-6)
    nodes = [n for dev in metadata.step_stats.dev_stats for n in dev.node_stats]
    op_types = {n.op for n in nodes}
    assert "MatMul" in op_types and "ApplyGradientDescent" in op_types
    assert any(n.node_name == "logits" for n in nodes)
    for node in nodes:
        assert before_us <= node.all_start_micros <= after_us
        assert 0 <= node.all_end_rel_micros <= after_us - before_us
    starts = [n.all_start_micros for dev in metadata.step_stats.dev_stats for n in dev.node_stats]
    assert starts == sorted(starts) or len(metadata.step_stats.dev_stats) > 1
    assert float(value) > 0


def test_chrome_trace_has_one_event_per_kernel():
    graph, x, _, train, init = _training_step()
    with tf.Session(graph=graph) as sess:
        sess.run(init)
        metadata = tf.RunMetadata()
        sess.run(train, {x: np.ones((2, 3), np.float32)}, options=_full_trace(), run_metadata=metadata)
    trace = json.loads(Timeline(metadata.step_stats).generate_chrome_trace_format())
    kernels = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    nodes = [n for dev in metadata.step_stats.dev_stats for n in dev.node_stats]
    assert len(kernels) == len(nodes) > 3
    assert {e["args"]["name"] for e in kernels} == {n.node_name for n in nodes}
    names = [e["args"]["name"] for e in trace["traceEvents"] if e["name"] == "process_name"]
    assert names == ["/job:localhost/replica:0/task:0/device:CPU:0 Compute"]
    summary = op_time_summary(metadata.step_stats)
    assert summary.splitlines()[0].split() == ["op", "type", "count", "ms", "share"]
    assert "MatMul" in summary and summary.splitlines()[-1].startswith("total")


def test_fused_kernel_label_lists_its_ops():
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [8])
        y = tf.nn.relu(x * 2.0 + 1.0)
    with tf.Session(graph=graph, backend="numba") as sess:
        metadata = tf.RunMetadata()
        sess.run(y, {x: np.ones(8, np.float32)}, options=_full_trace(), run_metadata=metadata)
    (fused,) = [n for n in metadata.step_stats.dev_stats[0].node_stats if n.op == "FusedElementwise"]
    assert "Relu" in fused.timeline_label or "relu" in fused.timeline_label.lower()


def test_callable_accepts_options_only_when_asked():
    graph, x, loss, _, init = _training_step()
    with tf.Session(graph=graph) as sess:
        sess.run(init)
        traced = sess.make_callable(loss, [x], accept_options=True)
        metadata = tf.RunMetadata()
        value = traced(np.ones((2, 3), np.float32), options=_full_trace(), run_metadata=metadata)
        assert np.isfinite(value) and metadata.step_stats.dev_stats[0].node_stats
        plain = sess.make_callable(loss, [x])
        with pytest.raises(TypeError, match="accept_options=True"):
            plain(np.ones((2, 3), np.float32), options=_full_trace(), run_metadata=tf.RunMetadata())


def test_timeline_without_step_stats_says_how_to_trace():
    with pytest.raises(ValueError, match="FULL_TRACE"):
        Timeline(tf.RunMetadata().step_stats)
