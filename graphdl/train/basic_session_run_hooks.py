"""TF1's standard session hooks (``tf.train.StopAtStepHook``, ``LoggingTensorHook``, ``CheckpointSaverHook``...).

They follow TF1's ``basic_session_run_hooks.py``: the same arguments, the same trigger rules
(``SecondOrStepTimer``) and the same log lines, written to the ``graphdl`` logger that
``tf.logging`` also writes to. Summaries go through graphdl's ``tf.summary.FileWriterCache``
(the optional ``tensorboard`` package writes the event files).
"""

from __future__ import annotations

import logging
import os
import time

import numpy as np

from graphdl.framework.graph import GraphKeys, get_default_graph
from graphdl.train.session_run_hook import SessionRunArgs, SessionRunHook
from graphdl.train.training_util import get_global_step

__all__ = [
    "CheckpointSaverHook", "CheckpointSaverListener", "FeedFnHook", "FinalOpsHook", "GlobalStepWaiterHook",
    "LoggingTensorHook", "NanLossDuringTrainingError", "NanTensorHook", "SecondOrStepTimer", "StepCounterHook",
    "StopAtStepHook", "SummarySaverHook",
]

_log = logging.getLogger("graphdl")


class SecondOrStepTimer:
    """Triggers at most once every ``every_secs`` seconds or every ``every_steps`` steps (exactly one is set)."""

    def __init__(self, every_secs=None, every_steps=None):
        self.reset()
        self._every_secs = every_secs
        self._every_steps = every_steps
        if self._every_secs is None and self._every_steps is None:
            raise ValueError("Either every_secs or every_steps should be provided.")
        if self._every_secs is not None and self._every_steps is not None:
            raise ValueError("Can not provide both every_secs and every_steps.")

    def reset(self):
        """Forget the last trigger: the next ``should_trigger_for_step`` is True."""
        self._last_triggered_step = None
        self._last_triggered_time = None

    def should_trigger_for_step(self, step) -> bool:
        """Whether ``step`` is due: never triggered yet, or enough seconds/steps since the last trigger."""
        if self._last_triggered_step is None:
            return True
        if self._last_triggered_step == step:
            return False
        if self._every_secs is not None and time.time() >= self._last_triggered_time + self._every_secs:
            return True
        return bool(self._every_steps is not None and step >= self._last_triggered_step + self._every_steps)

    def update_last_triggered_step(self, step):
        """Record a trigger at ``step``; returns (seconds, steps) since the previous one, or (None, None)."""
        current_time = time.time()
        if self._last_triggered_time is None:
            elapsed_secs = elapsed_steps = None
        else:
            elapsed_secs = current_time - self._last_triggered_time
            elapsed_steps = step - self._last_triggered_step
        self._last_triggered_time = current_time
        self._last_triggered_step = step
        return elapsed_secs, elapsed_steps

    def last_triggered_step(self):
        """The step of the last trigger, or None."""
        return self._last_triggered_step


def _require_global_step(hook_name):
    step = get_global_step()
    if step is None:
        raise RuntimeError(f"Global step should be created to use {hook_name}: call "
                           "tf.train.get_or_create_global_step() before building the training op.")
    return step


def _as_fetch(tensor):
    """A tensor, or a tensor name resolved in the default graph."""
    if isinstance(tensor, str):
        return get_default_graph().as_graph_element(tensor)
    return tensor


class StopAtStepHook(SessionRunHook):
    """Requests a stop once the global step reaches ``last_step`` (or ``num_steps`` after the session starts)."""

    def __init__(self, num_steps=None, last_step=None):
        if num_steps is None and last_step is None:
            raise ValueError("One of num_steps or last_step must be specified.")
        if num_steps is not None and last_step is not None:
            raise ValueError("Only one of num_steps or last_step can be specified.")
        self._num_steps = num_steps
        self._last_step = last_step

    def begin(self):
        self._global_step_tensor = _require_global_step("StopAtStepHook")

    def after_create_session(self, session, coord):
        global_step = int(session.run(self._global_step_tensor))
        if self._last_step is None:
            self._last_step = global_step + self._num_steps

    def before_run(self, run_context):
        return SessionRunArgs(self._global_step_tensor)

    def after_run(self, run_context, run_values):
        global_step = int(run_values.results) + 1
        if global_step >= self._last_step:
            # The fetched value is from before the step; read it again to be sure the last step is reached.
            step = int(run_context.session.run(self._global_step_tensor))
            if step >= self._last_step:
                run_context.request_stop()


class LoggingTensorHook(SessionRunHook):
    """Logs the values of ``tensors`` (a dict tag -> tensor, or a list of tensors/names) every N steps or secs.

    Each line is ``"tag1 = value1, tag2 = value2 (0.123 sec)"`` at INFO level on the ``graphdl``
    logger (``tf.logging``), or ``formatter(dict of values)``; ``at_end`` also logs after the last step.
    """

    def __init__(self, tensors, every_n_iter=None, every_n_secs=None, at_end=False, formatter=None):
        only_log_at_end = at_end and every_n_iter is None and every_n_secs is None
        if not only_log_at_end and (every_n_iter is None) == (every_n_secs is None):
            raise ValueError("either at_end and/or exactly one of every_n_iter and every_n_secs must be provided.")
        if every_n_iter is not None and every_n_iter <= 0:
            raise ValueError(f"invalid every_n_iter={every_n_iter}.")
        if not isinstance(tensors, dict):
            self._tag_order = list(tensors)
            tensors = {item if isinstance(item, str) else item.name: item for item in tensors}
        else:
            self._tag_order = sorted(tensors.keys())
        self._tensors = tensors
        self._formatter = formatter
        self._timer = SecondOrStepTimer(every_secs=every_n_secs, every_steps=every_n_iter) if not only_log_at_end \
            else _NeverTriggerTimer()
        self._log_at_end = at_end

    def begin(self):
        self._timer.reset()
        self._iter_count = 0
        self._current_tensors = {tag: _as_fetch(tensor) for tag, tensor in self._tensors.items()}

    def before_run(self, run_context):
        self._should_trigger = self._timer.should_trigger_for_step(self._iter_count)
        if self._should_trigger:
            return SessionRunArgs(self._current_tensors)
        return None

    def _log_tensors(self, tensor_values):
        original = np.get_printoptions()
        np.set_printoptions(suppress=True)
        try:
            elapsed_secs, _ = self._timer.update_last_triggered_step(self._iter_count)
            if self._formatter:
                _log.info(self._formatter(tensor_values))
            else:
                stats = ", ".join(f"{tag} = {tensor_values[tag]}" for tag in self._tag_order)
                if elapsed_secs is not None:
                    _log.info("%s (%.3f sec)", stats, elapsed_secs)
                else:
                    _log.info("%s", stats)
        finally:
            np.set_printoptions(**original)

    def after_run(self, run_context, run_values):
        if self._should_trigger:
            self._log_tensors(run_values.results)
        self._iter_count += 1

    def end(self, session):
        if self._log_at_end:
            self._log_tensors(session.run(self._current_tensors))


class _NeverTriggerTimer(SecondOrStepTimer):
    def __init__(self):
        self.reset()

    def should_trigger_for_step(self, step):
        return False


class CheckpointSaverListener:
    """Called around each checkpoint a ``CheckpointSaverHook`` writes; ``after_save`` returning True stops training."""

    def begin(self):
        """Called once, from the hook's ``begin``."""

    def before_save(self, session, global_step_value):
        """Called before each checkpoint."""

    def after_save(self, session, global_step_value):
        """Called after each checkpoint; a True result requests a stop."""

    def end(self, session, global_step_value):
        """Called after the final checkpoint."""


class CheckpointSaverHook(SessionRunHook):
    """Saves ``checkpoint_dir/<checkpoint_basename>-<global step>`` every ``save_secs`` or ``save_steps``.

    Saves when the session starts, on schedule, and at the end (unless the last step was just saved).
    The saver is ``saver``, else ``scaffold.saver``, else the one in the SAVERS collection.
    """

    def __init__(self, checkpoint_dir, save_secs=None, save_steps=None, saver=None,
                 checkpoint_basename="model.ckpt", scaffold=None, listeners=None, save_graph_def=True):
        if saver is not None and scaffold is not None:
            raise ValueError("You cannot provide both saver and scaffold.")
        self._saver = saver
        self._checkpoint_dir = os.fspath(checkpoint_dir)
        self._save_path = os.path.join(self._checkpoint_dir, checkpoint_basename)
        self._scaffold = scaffold
        self._timer = SecondOrStepTimer(every_secs=save_secs, every_steps=save_steps)
        self._listeners = listeners or []
        self._steps_per_run = 1
        self._save_graph_def = save_graph_def

    def _set_steps_per_run(self, steps_per_run):
        self._steps_per_run = steps_per_run

    def begin(self):
        os.makedirs(self._checkpoint_dir, exist_ok=True)
        self._summary_writer = _summary_writer_or_none(self._checkpoint_dir)
        self._global_step_tensor = _require_global_step("CheckpointSaverHook")
        for listener in self._listeners:
            listener.begin()

    def after_create_session(self, session, coord):
        global_step = int(session.run(self._global_step_tensor))
        self._save(session, global_step, write_meta_graph=self._save_graph_def)
        self._timer.update_last_triggered_step(global_step)

    def before_run(self, run_context):
        return SessionRunArgs(self._global_step_tensor)

    def after_run(self, run_context, run_values):
        stale_global_step = int(run_values.results)
        if self._timer.should_trigger_for_step(stale_global_step + self._steps_per_run):
            global_step = int(run_context.session.run(self._global_step_tensor))
            if self._timer.should_trigger_for_step(global_step):
                self._timer.update_last_triggered_step(global_step)
                if self._save(run_context.session, global_step):
                    run_context.request_stop()

    def end(self, session):
        last_step = int(session.run(self._global_step_tensor))
        if last_step != self._timer.last_triggered_step():
            self._save(session, last_step)
        for listener in self._listeners:
            listener.end(session, last_step)

    def _save(self, session, step, write_meta_graph=False):
        """Write a checkpoint for ``step``; returns True when a listener asks to stop training."""
        _log.info("Saving checkpoints for %d into %s.", step, self._save_path)
        for listener in self._listeners:
            listener.before_save(session, step)
        saver = self._get_saver()
        path = saver.save(session, self._save_path, global_step=step, write_meta_graph=False)
        if write_meta_graph:
            self._write_meta_graph(saver, session.graph, f"{path}.meta")
        if self._summary_writer is not None:
            from graphdl.summary import SessionLog

            self._summary_writer.add_session_log(
                SessionLog(status=SessionLog.CHECKPOINT, checkpoint_path=path), step)
        should_stop = False
        for listener in self._listeners:
            if listener.after_save(session, step):
                _log.info("A CheckpointSaverListener requested that training be stopped. listener: %s", listener)
                should_stop = True
        return should_stop

    @staticmethod
    def _write_meta_graph(saver, graph, path):
        from graphdl.framework.attr_codec import UnserializableAttrError

        # The Saver objects of the SAVERS collection are not graph elements: the meta graph holds the
        # saver's own description instead.
        keys = [k for k in graph.get_all_collection_keys() if k != GraphKeys.SAVERS]
        try:
            saver.export_meta_graph(path, collection_list=keys, graph=graph)
        except UnserializableAttrError as e:
            _log.warning("CheckpointSaverHook wrote no meta graph %s: %s", path, e)

    def _get_saver(self):
        if self._saver is not None:
            return self._saver
        if self._scaffold is not None:
            return self._scaffold.saver
        savers = get_default_graph().get_collection(GraphKeys.SAVERS)
        if not savers:
            raise RuntimeError(f"No items in collection {GraphKeys.SAVERS}. Please add a saver to the collection "
                               "or provide a saver or scaffold.")
        if len(savers) > 1:
            raise RuntimeError(f"More than one item in collection {GraphKeys.SAVERS}. Please indicate which one to "
                               "use by passing it to the constructor.")
        self._saver = savers[0]
        return savers[0]


def _summary_writer_or_none(logdir):
    """The cached FileWriter of ``logdir``, or None (with a warning) when tensorboard is not installed."""
    from graphdl.summary import FileWriterCache

    try:
        return FileWriterCache.get(logdir)
    except ImportError as e:
        _log.warning("No event file is written to %s: %s", logdir, e)
        return None


class StepCounterHook(SessionRunHook):
    """Logs ``global_step/sec`` every N steps or secs and writes it as a summary to ``output_dir``."""

    def __init__(self, every_n_steps=100, every_n_secs=None, output_dir=None, summary_writer=None):
        if (every_n_steps is None) == (every_n_secs is None):
            raise ValueError("exactly one of every_n_steps and every_n_secs should be provided.")
        self._timer = SecondOrStepTimer(every_steps=every_n_steps, every_secs=every_n_secs)
        self._summary_writer = summary_writer
        self._output_dir = output_dir
        self._last_global_step = None
        self._steps_per_run = 1

    def _set_steps_per_run(self, steps_per_run):
        self._steps_per_run = steps_per_run

    def begin(self):
        if self._summary_writer is None and self._output_dir:
            self._summary_writer = _summary_writer_or_none(self._output_dir)
        self._global_step_tensor = _require_global_step("StepCounterHook")
        self._summary_tag = self._global_step_tensor.op.name + "/sec"

    def before_run(self, run_context):
        return SessionRunArgs(self._global_step_tensor)

    def _log_and_record(self, elapsed_steps, elapsed_time, global_step):
        steps_per_sec = elapsed_steps / elapsed_time
        if self._summary_writer is not None:
            from graphdl.summary import Summary

            summary = Summary(value=[Summary.Value(tag=self._summary_tag, simple_value=steps_per_sec)])
            self._summary_writer.add_summary(summary, global_step)
        _log.info("%s: %g", self._summary_tag, steps_per_sec)

    def after_run(self, run_context, run_values):
        stale_global_step = int(run_values.results)
        if self._timer.should_trigger_for_step(stale_global_step + self._steps_per_run):
            global_step = int(run_context.session.run(self._global_step_tensor))
            if self._timer.should_trigger_for_step(global_step):
                elapsed_time, elapsed_steps = self._timer.update_last_triggered_step(global_step)
                if elapsed_time is not None and elapsed_time > 0:
                    self._log_and_record(elapsed_steps, elapsed_time, global_step)
        if stale_global_step == self._last_global_step:
            _log.debug("It seems that global step (tf.train.get_global_step) has not been increased. Current value "
                       "(could be stable): %s vs previous value: %s.", stale_global_step, self._last_global_step)
        self._last_global_step = stale_global_step


class NanLossDuringTrainingError(RuntimeError):
    """Raised by ``NanTensorHook`` when the loss becomes NaN."""

    def __str__(self):
        return "NaN loss during training."


class NanTensorHook(SessionRunHook):
    """Stops training when ``loss_tensor`` is NaN: raises ``NanLossDuringTrainingError``, or (with
    ``fail_on_nan_loss=False``) logs a warning and requests a stop."""

    def __init__(self, loss_tensor, fail_on_nan_loss=True):
        self._loss_tensor = loss_tensor
        self._fail_on_nan_loss = fail_on_nan_loss

    def before_run(self, run_context):
        return SessionRunArgs(_as_fetch(self._loss_tensor))

    def after_run(self, run_context, run_values):
        if np.isnan(run_values.results).any():
            failure_message = "Model diverged with loss = NaN."
            if self._fail_on_nan_loss:
                _log.error(failure_message)
                raise NanLossDuringTrainingError
            _log.warning(failure_message)
            run_context.request_stop()


class SummarySaverHook(SessionRunHook):
    """Writes the summaries of ``summary_op`` (or ``scaffold.summary_op``) to ``output_dir`` every N steps or secs."""

    def __init__(self, save_steps=None, save_secs=None, output_dir=None, summary_writer=None, scaffold=None,
                 summary_op=None):
        if (scaffold is None) == (summary_op is None):
            raise ValueError("Exactly one of scaffold or summary_op must be provided.")
        self._summary_op = summary_op
        self._summary_writer = summary_writer
        self._output_dir = output_dir
        self._scaffold = scaffold
        self._timer = SecondOrStepTimer(every_secs=save_secs, every_steps=save_steps)

    def begin(self):
        if self._summary_writer is None and self._output_dir:
            self._summary_writer = _summary_writer_or_none(self._output_dir)
        self._next_step = None
        self._global_step_tensor = _require_global_step("SummarySaverHook")

    def before_run(self, run_context):
        self._request_summary = self._next_step is None or self._timer.should_trigger_for_step(self._next_step)
        requests = {}
        summary_ops = self._get_summary_op()
        if self._request_summary and summary_ops is not None:
            requests["summary"] = summary_ops
        return SessionRunArgs(requests)

    def after_run(self, run_context, run_values):
        # A global step fetched in the same run as the train op may hold the value before or after its
        # increment (no dependency orders them), so the step is read after the run: summaries then come
        # exactly every save_steps steps.
        global_step = int(run_context.session.run(self._global_step_tensor))
        writer = self._summary_writer
        if self._next_step is None and writer is not None:
            from graphdl.summary import SessionLog

            writer.add_session_log(SessionLog(status=SessionLog.START), global_step)
        if self._request_summary:
            self._timer.update_last_triggered_step(global_step)
            if writer is not None:
                for summary in run_values.results.get("summary", ()):
                    writer.add_summary(summary, global_step)
        self._next_step = global_step + 1

    def end(self, session=None):
        if self._summary_writer is not None:
            self._summary_writer.flush()

    def _get_summary_op(self):
        summary_op = self._scaffold.summary_op if self._scaffold is not None else self._summary_op
        if summary_op is None:
            return None
        return summary_op if isinstance(summary_op, list) else [summary_op]


class GlobalStepWaiterHook(SessionRunHook):
    """Delays the first step until the global step reaches ``wait_until_step`` (for workers started early)."""

    def __init__(self, wait_until_step):
        self._wait_until_step = wait_until_step

    def begin(self):
        self._worker_is_started = False
        self._global_step_tensor = _require_global_step("GlobalStepWaiterHook")

    def before_run(self, run_context):
        if self._worker_is_started:
            return
        if self._wait_until_step <= 0:
            self._worker_is_started = True
            return
        _log.info("Waiting for global step %d before starting training.", self._wait_until_step)
        last_logged_step = 0
        while True:
            current_step = int(run_context.session.run(self._global_step_tensor))
            if current_step >= self._wait_until_step:
                self._worker_is_started = True
                return
            if current_step - last_logged_step > 1000:
                _log.info("Waiting for global step %d before starting training. Current step is %d.",
                          self._wait_until_step, current_step)
                last_logged_step = current_step
            time.sleep(0.5)


class FinalOpsHook(SessionRunHook):
    """Runs ``final_ops`` (with ``final_ops_feed_dict``) when the session ends; see ``final_ops_values``."""

    def __init__(self, final_ops, final_ops_feed_dict=None):
        self._final_ops = final_ops
        self._final_ops_feed_dict = final_ops_feed_dict
        self._final_ops_values = None

    @property
    def final_ops_values(self):
        """What ``final_ops`` evaluated to at the end (None before)."""
        return self._final_ops_values

    def end(self, session):
        if self._final_ops is not None:
            self._final_ops_values = session.run(self._final_ops, feed_dict=self._final_ops_feed_dict)


class FeedFnHook(SessionRunHook):
    """Adds ``feed_fn()`` (a feed dict) to every step's feeds."""

    def __init__(self, feed_fn):
        self.feed_fn = feed_fn

    def before_run(self, run_context):
        return SessionRunArgs(fetches=None, feed_dict=self.feed_fn())
