"""tf.train.MonitoredTrainingSession, MonitoredSession, SingularMonitoredSession, Scaffold and the standard hooks.

A TF1-style training loop (a linear regression whose exact solution is known) drives the hooks;
checkpoints are read back with tf.train.latest_checkpoint and a fresh graph, event files with
tensorboard's EventAccumulator.
"""

import importlib.util
import itertools
import logging
import os

import numpy as np
import pytest

import graphdl.compat.v1 as tf
from graphdl import errors

needs_tensorboard = pytest.mark.skipif(importlib.util.find_spec("tensorboard") is None,
                                       reason="pip install tensorboard")
TRUE_W = np.array([[1.0], [2.0], [-1.0]], np.float32)


def build_regression(learning_rate=0.1):
    """A least-squares model y = x @ w with w starting at zero; returns (w, loss, global_step, train_op)."""
    rng = np.random.RandomState(0)
    x_data = rng.randn(64, 3).astype(np.float32)
    x, y = tf.constant(x_data), tf.constant(x_data @ TRUE_W)
    w = tf.Variable(tf.zeros([3, 1]), name="w")
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - y))
    global_step = tf.train.get_or_create_global_step()
    train_op = tf.train.GradientDescentOptimizer(learning_rate).minimize(loss, global_step=global_step)
    return w, loss, global_step, train_op


class RecordingHook(tf.train.SessionRunHook):
    """Records every call it gets; fetches ``fetch`` (default: the global step) with each run."""

    def __init__(self, calls, name="hook", stop_after=None, fetch=None):
        self.calls, self.name, self.stop_after, self.seen_steps, self.fetch = calls, name, stop_after, [], fetch

    def begin(self):
        self.calls.append((self.name, "begin", tf.get_default_graph().finalized))
        self.step = self.fetch if self.fetch is not None else tf.train.get_global_step()

    def after_create_session(self, session, coord):
        self.calls.append((self.name, "after_create_session", tf.get_default_graph().finalized))

    def before_run(self, run_context):
        self.calls.append((self.name, "before_run"))
        return tf.train.SessionRunArgs(self.step)

    def after_run(self, run_context, run_values):
        self.calls.append((self.name, "after_run"))
        self.seen_steps.append(float(run_values.results))
        if self.stop_after is not None and len(self.seen_steps) >= self.stop_after:
            run_context.request_stop()

    def end(self, session):
        self.calls.append((self.name, "end"))


class StartHook(tf.train.SessionRunHook):
    """Reads ``tensor`` when the session has been created (restored or initialized)."""

    def __init__(self, tensor):
        self.tensor, self.step = tensor, None

    def after_create_session(self, session, coord):
        self.step = int(session.run(self.tensor))


def test_training_loop_stops_at_last_step_checkpoints_and_resumes(tmp_path, caplog):
    ckpt_dir = str(tmp_path / "ckpt")
    w, loss, global_step, train_op = build_regression()
    losses = []
    caplog.set_level(logging.INFO, logger="graphdl")
    hooks = [tf.train.StopAtStepHook(last_step=20), tf.train.LoggingTensorHook({"loss": loss}, every_n_iter=5)]
    with tf.train.MonitoredTrainingSession(checkpoint_dir=ckpt_dir, hooks=hooks) as sess:
        assert tf.get_default_graph().finalized
        while not sess.should_stop():
            _, value = sess.run([train_op, loss])
            losses.append(float(value))
    assert len(losses) == 20
    assert losses[-1] < 0.01 * losses[0]
    assert all(b < a for a, b in itertools.pairwise(losses))  # gradient descent on a convex quadratic
    # LoggingTensorHook logged at iterations 0, 5, 10, 15 the loss of that step.
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("loss = ")]
    assert len(logged) == 4
    for message, i in zip(logged, (0, 5, 10, 15)):
        assert float(message.split()[2]) == pytest.approx(losses[i], rel=1e-5)
    assert tf.train.latest_checkpoint(ckpt_dir) == os.path.join(ckpt_dir, "model.ckpt-20")

    # The saved weights are the trained ones: load them with a plain Saver into a fresh graph.
    tf.reset_default_graph()
    w, loss, global_step, train_op = build_regression()
    with tf.Session() as plain:
        tf.train.Saver().restore(plain, os.path.join(ckpt_dir, "model.ckpt-20"))
        assert int(plain.run(global_step)) == 20
        assert float(plain.run(loss)) < losses[-1]  # the weights after the 20th update
        saved_w = plain.run(w)

    # A second session resumes from step 20 and runs exactly 10 more steps.
    tf.reset_default_graph()
    w, loss, global_step, train_op = build_regression()
    final = tf.train.FinalOpsHook([w, global_step])
    start = StartHook(global_step)
    with tf.train.MonitoredTrainingSession(checkpoint_dir=ckpt_dir,
                                           hooks=[tf.train.StopAtStepHook(last_step=30), final, start]) as sess:
        resumed = []
        while not sess.should_stop():
            resumed.append(float(sess.run([train_op, loss])[1]))
    assert start.step == 20
    assert len(resumed) == 10
    assert resumed[0] < losses[-1]
    assert int(final.final_ops_values[1]) == 30
    assert not np.allclose(final.final_ops_values[0], saved_w)
    assert tf.train.latest_checkpoint(ckpt_dir) == os.path.join(ckpt_dir, "model.ckpt-30")


def test_num_steps_counts_from_the_restored_step(tmp_path):
    _w, _loss, global_step, train_op = build_regression()
    with tf.train.MonitoredTrainingSession(checkpoint_dir=str(tmp_path),
                                           hooks=[tf.train.StopAtStepHook(num_steps=4)]) as sess:
        runs = 0
        while not sess.should_stop():
            sess.run(train_op)
            runs += 1
    assert runs == 4
    tf.reset_default_graph()
    _w, _loss, global_step, train_op = build_regression()
    final = tf.train.FinalOpsHook(global_step)
    with tf.train.MonitoredTrainingSession(checkpoint_dir=str(tmp_path),
                                           hooks=[tf.train.StopAtStepHook(num_steps=3), final]) as sess:
        while not sess.should_stop():
            sess.run(train_op)
    assert int(final.final_ops_values) == 7


def test_save_checkpoint_steps_keeps_the_scheduled_checkpoints(tmp_path):
    _w, _loss, _global_step, train_op = build_regression()
    with tf.train.MonitoredTrainingSession(checkpoint_dir=str(tmp_path), save_checkpoint_steps=4,
                                           save_summaries_steps=None, save_summaries_secs=None,
                                           log_step_count_steps=None,
                                           hooks=[tf.train.StopAtStepHook(last_step=10)]) as sess:
        while not sess.should_stop():
            sess.run(train_op)
    state = tf.train.get_checkpoint_state(str(tmp_path))
    # At the start (0), every 4 steps, and the final one at 10; the Saver keeps the newest 5.
    assert [os.path.basename(p) for p in state.all_model_checkpoint_paths] == [
        "model.ckpt-0", "model.ckpt-4", "model.ckpt-8", "model.ckpt-10"]


def nan_at_run(n):
    """(loss scaled by a fed factor, a FeedFnHook feeding 1.0 and NaN from the ``n``-th run on)."""
    _w, loss, _global_step, train_op = build_regression()
    scale = tf.placeholder(tf.float32, [], name="scale")
    runs = iter(range(1, 1000))
    feeder = tf.train.FeedFnHook(lambda: {scale: np.float32("nan") if next(runs) >= n else np.float32(1.0)})
    return loss * scale, train_op, feeder


def test_nan_tensor_hook_raises_and_skips_end_hooks(tmp_path):
    nan_loss, train_op, feeder = nan_at_run(3)
    calls = []
    hooks = [feeder, tf.train.NanTensorHook(nan_loss), RecordingHook(calls)]
    with (pytest.raises(tf.train.NanLossDuringTrainingError, match="NaN loss during training"),
          tf.train.MonitoredTrainingSession(checkpoint_dir=str(tmp_path), hooks=hooks) as sess):
        while not sess.should_stop():
            sess.run(train_op)
    assert ("hook", "end") not in calls  # TF1 calls end() only when the loop ends normally
    assert calls.count(("hook", "after_run")) == 2  # the 3rd run raised in NanTensorHook.after_run
    # No final checkpoint after an error: only the one written when the session started.
    assert tf.train.latest_checkpoint(str(tmp_path)).endswith("model.ckpt-0")


def test_nan_tensor_hook_without_failing_requests_a_stop():
    nan_loss, train_op, feeder = nan_at_run(4)
    hooks = [feeder, tf.train.NanTensorHook(nan_loss, fail_on_nan_loss=False)]
    with tf.train.MonitoredTrainingSession(hooks=hooks) as sess:
        runs = 0
        while not sess.should_stop():
            sess.run(train_op)
            runs += 1
    assert runs == 4


@needs_tensorboard
def test_summary_and_step_counter_hooks_write_event_files(tmp_path):
    from tensorboard.backend.event_processing import event_accumulator as ea

    _w, loss, _global_step, train_op = build_regression()
    tf.summary.scalar("loss", loss)
    losses = []
    with tf.train.MonitoredTrainingSession(checkpoint_dir=str(tmp_path), save_summaries_steps=5,
                                           log_step_count_steps=5,
                                           hooks=[tf.train.StopAtStepHook(last_step=20)]) as sess:
        while not sess.should_stop():
            losses.append(float(sess.run([train_op, loss])[1]))
    acc = ea.EventAccumulator(str(tmp_path), size_guidance={ea.SCALARS: 0}).Reload()
    # The first step, then every 5 steps; each labelled with the global step after that run, and holding
    # the loss that run computed.
    scalars = acc.Scalars("loss")
    assert [e.step for e in scalars] == [1, 6, 11, 16]
    np.testing.assert_allclose([e.value for e in scalars], [losses[i] for i in (0, 5, 10, 15)], rtol=1e-6)
    # Steps/sec needs two measurements: the first at step 1, then every 5 steps.
    rates = acc.Scalars("global_step/sec")
    assert [e.step for e in rates] == [6, 11, 16]
    assert all(e.value > 0 for e in rates)


def test_hooks_are_called_in_tf1_order_with_their_fetches():
    _w, loss, _global_step, train_op = build_regression()
    calls = []
    first, second = RecordingHook(calls, "first", fetch=loss), RecordingHook(calls, "second", stop_after=2)
    caller_losses = []
    with tf.train.MonitoredSession(hooks=[first, second]) as sess:
        while not sess.should_stop():
            caller_losses.append(float(sess.run([train_op, loss])[1]))
    assert calls == [
        ("first", "begin", False), ("second", "begin", False),
        ("first", "after_create_session", True), ("second", "after_create_session", True),
        ("first", "before_run"), ("second", "before_run"), ("first", "after_run"), ("second", "after_run"),
        ("first", "before_run"), ("second", "before_run"), ("first", "after_run"), ("second", "after_run"),
        ("first", "end"), ("second", "end"),
    ]
    # Each hook's fetch ran in the caller's step: the same loss the caller got, decreasing.
    assert first.seen_steps == caller_losses and caller_losses[1] < caller_losses[0]
    assert len(second.seen_steps) == 2


def test_a_hook_requesting_a_stop_ends_the_loop_and_run_after_stop_raises():
    _w, _loss, _global_step, train_op = build_regression()
    sess = tf.train.MonitoredSession(hooks=[RecordingHook([], stop_after=3)])
    runs = 0
    while not sess.should_stop():
        sess.run(train_op)
        runs += 1
    assert runs == 3
    with pytest.raises(RuntimeError, match="should_stop"):
        sess.run(train_op)
    sess.close()
    assert sess.should_stop()


def test_feed_fn_hook_feeds_and_a_conflicting_feed_is_refused():
    x = tf.placeholder(tf.float32, [], name="x")
    doubled = x * 2.0
    tf.train.get_or_create_global_step()
    counter = iter(range(100))
    with tf.train.MonitoredSession(hooks=[tf.train.FeedFnHook(lambda: {x: float(next(counter))})]) as sess:
        assert [float(sess.run(doubled)) for _ in range(3)] == [0.0, 2.0, 4.0]
        with pytest.raises(RuntimeError, match="fed by a SessionRunHook and user"):
            sess.run(doubled, feed_dict={x: 1.0})


def test_out_of_range_from_a_dataset_ends_the_loop_cleanly(tmp_path):
    values = tf.data.Dataset.from_tensor_slices(np.arange(7, dtype=np.float32)).batch(2)
    batch = values.make_one_shot_iterator().get_next()
    global_step = tf.train.get_or_create_global_step()
    total = tf.Variable(0.0, name="total")
    train_op = tf.group(total.assign_add(tf.reduce_sum(batch)), global_step.assign_add(1))
    seen = []
    calls = []
    with tf.train.MonitoredTrainingSession(checkpoint_dir=str(tmp_path), hooks=[RecordingHook(calls)]) as sess:
        while not sess.should_stop():
            sess.run(train_op)
            seen.append(1)
    assert len(seen) == 4  # batches [0,1] [2,3] [4,5] [6]; the 5th run raised OutOfRangeError
    assert ("hook", "end") in calls  # a clean end: hooks' end() ran, and the final checkpoint was written
    assert tf.train.latest_checkpoint(str(tmp_path)).endswith("model.ckpt-4")
    tf.reset_default_graph()
    total = tf.Variable(0.0, name="total")
    step = tf.train.get_or_create_global_step()
    with tf.Session() as plain:
        tf.train.Saver().restore(plain, tf.train.latest_checkpoint(str(tmp_path)))
        assert float(plain.run(total)) == 21.0
        assert int(plain.run(step)) == 4


def test_other_errors_propagate_out_of_the_with_block():
    tf.train.get_or_create_global_step()
    x = tf.placeholder(tf.float32, [2])
    doubled = x * 2.0
    with pytest.raises(errors.InvalidArgumentError), tf.train.MonitoredSession() as sess:
        sess.run(doubled)  # x is not fed


def test_singular_monitored_session_scaffold_init_fn_and_raw_session():
    v = tf.Variable(1.0, name="v")
    doubled = v * 2.0
    tf.train.get_or_create_global_step()
    assigned = []

    def init_fn(scaffold, session):
        assigned.append(scaffold)
        v.load(5.0, session)

    scaffold = tf.train.Scaffold(init_fn=init_fn)
    with tf.train.SingularMonitoredSession(scaffold=scaffold) as sess:
        assert float(sess.raw_session().run(v)) == 5.0
        assert float(sess.run(doubled)) == 10.0
        assert isinstance(sess.raw_session(), tf.Session)
    assert assigned == [scaffold]
    assert scaffold.saver is tf.get_collection(tf.GraphKeys.SAVERS)[0]


def test_an_init_op_that_leaves_variables_uninitialized_is_reported():
    a = tf.Variable(1.0, name="a")
    tf.Variable(2.0, name="forgotten")
    scaffold = tf.train.Scaffold(init_op=a.initializer)
    with pytest.raises(RuntimeError, match="Variables not initialized: forgotten"):
        tf.train.MonitoredSession(session_creator=tf.train.ChiefSessionCreator(scaffold=scaffold))


def test_step_based_hooks_need_a_global_step():
    tf.Variable(1.0)
    with pytest.raises(RuntimeError, match="Global step should be created to use StopAtStepHook"):
        tf.train.MonitoredSession(hooks=[tf.train.StopAtStepHook(last_step=3)])


def test_hook_argument_errors_match_tf1():
    with pytest.raises(ValueError, match="One of num_steps or last_step"):
        tf.train.StopAtStepHook()
    with pytest.raises(ValueError, match="Exactly one of scaffold or summary_op"):
        tf.train.SummarySaverHook(save_steps=1)
    with pytest.raises(ValueError, match="exactly one of every_n_iter"):
        tf.train.LoggingTensorHook({"a": "a:0"}, every_n_iter=1, every_n_secs=1)
    with pytest.raises(ValueError, match="Either every_secs or every_steps"):
        tf.train.SecondOrStepTimer()


def test_second_or_step_timer_triggers_every_n_steps():
    timer = tf.train.SecondOrStepTimer(every_steps=3)
    assert timer.should_trigger_for_step(0)
    assert timer.update_last_triggered_step(0) == (None, None)
    assert [s for s in range(1, 10) if timer.should_trigger_for_step(s)] == [3, 4, 5, 6, 7, 8, 9]
    _, steps = timer.update_last_triggered_step(4)
    assert steps == 4 and timer.last_triggered_step() == 4
    assert not timer.should_trigger_for_step(6) and timer.should_trigger_for_step(7)


def test_run_step_fn_runs_with_and_without_hooks():
    _w, loss, _global_step, train_op = build_regression()
    calls = []
    with tf.train.MonitoredSession(hooks=[RecordingHook(calls)]) as sess:
        before = sess.run_step_fn(lambda ctx: float(ctx.session.run(loss)))
        after = sess.run_step_fn(lambda ctx: ctx.run_with_hooks([train_op, loss])[1])
        sess.run_step_fn(lambda ctx: ctx.request_stop())
        assert sess.should_stop()
    assert float(after) == pytest.approx(before)
    assert calls.count(("hook", "before_run")) == 1
