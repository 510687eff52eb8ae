"""TF1's ``tf.train.MonitoredTrainingSession``, ``MonitoredSession``, ``SingularMonitoredSession`` and ``Scaffold``.

A monitored session creates and prepares a session (restores the latest checkpoint of
``checkpoint_dir`` if there is one, else runs the init op, then the local init op, as TF1's
``SessionManager.prepare_session`` does), finalizes the graph, starts the queue runners, and
calls its ``SessionRunHook``\\ s around every ``run``::

    with tf.train.MonitoredTrainingSession(checkpoint_dir=d, hooks=[tf.train.StopAtStepHook(last_step=1000)]) as sess:
        while not sess.should_stop():
            sess.run(train_op)

``OutOfRangeError`` (an exhausted input) ends the ``with`` block cleanly; hooks' ``end`` runs on a
normal close (not after an error). graphdl has no parameter servers: every process holds its own
variables, so a non-chief worker initializes its own (Horovod-style scripts broadcast rank 0's
with ``BroadcastGlobalVariablesHook``), and ``master`` is accepted and ignored.
"""

from __future__ import annotations

import logging

from graphdl import errors
from graphdl.framework.graph import GraphKeys, get_default_graph
from graphdl.train import basic_session_run_hooks as hooks_lib
from graphdl.train.coordinator import Coordinator
from graphdl.train.session_run_hook import SessionRunArgs, SessionRunContext, SessionRunValues

__all__ = [
    "ChiefSessionCreator", "MonitoredSession", "MonitoredTrainingSession", "Scaffold", "SessionCreator",
    "SingularMonitoredSession", "WorkerSessionCreator", "report_uninitialized_variables",
]

_log = logging.getLogger("graphdl")
USE_DEFAULT = object()


def report_uninitialized_variables(var_list=None, name="report_uninitialized_variables"):
    """A 1-D string tensor with the names of the variables of ``var_list`` (default: all global and local
    variables) that are not initialized in the session running it."""
    from graphdl.framework.ops import name_scope
    from graphdl.ops.array_ops import stack
    from graphdl.ops.compare_ops import logical_not
    from graphdl.ops.constant_op import constant
    from graphdl.ops.indexing_ops import boolean_mask
    from graphdl.variables import global_variables, is_variable_initialized, local_variables

    if var_list is None:
        var_list = global_variables() + local_variables()
    with name_scope(name):
        if not var_list:
            return constant([], dtype="string")
        names = constant([v.op.name for v in var_list])
        initialized = stack([is_variable_initialized(v) for v in var_list])
        return boolean_mask(names, logical_not(initialized), name=name)


class Scaffold:
    """The ops a monitored session needs to prepare a session: init, ready checks, local init, summaries, saver.

    Each one left None is taken from its graph collection (INIT_OP, READY_OP, LOCAL_INIT_OP,
    SUMMARY_OP, SAVERS) or built by ``finalize()``, which also finalizes the graph.
    ``init_fn(scaffold, session)`` runs after ``init_op`` when the session is initialized from scratch.
    """

    def __init__(self, init_op=None, init_feed_dict=None, init_fn=None, ready_op=None,
                 ready_for_local_init_op=None, local_init_op=None, summary_op=None, saver=None,
                 copy_from_scaffold=None):
        if copy_from_scaffold is not None:
            if not isinstance(copy_from_scaffold, Scaffold):
                raise TypeError("copy_from_scaffold is not a Scaffold instance.")
            coalesce = lambda a, b: a if a is not None else b
            init_op = coalesce(init_op, copy_from_scaffold.init_op)
            init_feed_dict = coalesce(init_feed_dict, copy_from_scaffold.init_feed_dict)
            init_fn = coalesce(init_fn, copy_from_scaffold._user_init_fn)
            ready_op = coalesce(ready_op, copy_from_scaffold.ready_op)
            ready_for_local_init_op = coalesce(ready_for_local_init_op, copy_from_scaffold.ready_for_local_init_op)
            local_init_op = coalesce(local_init_op, copy_from_scaffold.local_init_op)
            summary_op = coalesce(summary_op, copy_from_scaffold.summary_op)
            saver = coalesce(saver, copy_from_scaffold.saver)
        self._user_init_fn = init_fn
        self._init_fn = (lambda sess: init_fn(self, sess)) if init_fn else None
        self._init_op = init_op
        self._init_feed_dict = init_feed_dict
        self._ready_op = ready_op
        self._ready_for_local_init_op = ready_for_local_init_op
        self._local_init_op = local_init_op
        self._summary_op = summary_op
        self._saver = saver

    def finalize(self):
        """Build the missing ops (from collections or defaults) and finalize the graph; returns self."""
        graph = get_default_graph()
        from graphdl.ops.control_ops import group
        from graphdl.variables import global_variables_initializer, local_variables_initializer

        if self._init_op is None:
            self._init_op = Scaffold.get_or_default("init_op", GraphKeys.INIT_OP, global_variables_initializer)
        if self._ready_op is None:
            self._ready_op = Scaffold.get_or_default("ready_op", GraphKeys.READY_OP, report_uninitialized_variables)
        if self._local_init_op is None:
            self._local_init_op = Scaffold.get_or_default(
                "local_init_op", GraphKeys.LOCAL_INIT_OP, lambda: group(local_variables_initializer()))
        if self._summary_op is None:
            from graphdl.summary import merge_all

            self._summary_op = Scaffold.get_or_default("summary_op", "summary_op", merge_all)
        if self._saver is None:
            self._saver = _saver_or_default()
        self._saver.build()
        if not graph.finalized:
            graph.finalize()
            _log.info("Graph was finalized.")
        return self

    @staticmethod
    def get_or_default(arg_name, collection_key, default_constructor):
        """The single op in collection ``collection_key``, else ``default_constructor()`` (added to it)."""
        elements = get_default_graph().get_collection(collection_key)
        if elements:
            if len(elements) > 1:
                raise RuntimeError(f"More than one item in the collection {collection_key}. Please indicate which "
                                   f"one to use by passing it to the tf.Scaffold constructor as: "
                                   f"tf.Scaffold({arg_name}=item to use)")
            return elements[0]
        op = default_constructor()
        if op is not None:
            get_default_graph().add_to_collection(collection_key, op)
        return op

    @staticmethod
    def default_local_init_op():
        """The default local init op: initializes the local variables."""
        from graphdl.ops.control_ops import group
        from graphdl.variables import local_variables_initializer

        return group(local_variables_initializer())

    init_op = property(lambda self: self._init_op, doc="Op initializing the variables of a fresh session.")
    init_feed_dict = property(lambda self: self._init_feed_dict, doc="Feeds for ``init_op``.")
    init_fn = property(lambda self: self._init_fn, doc="``fn(session)`` run after ``init_op``.")
    ready_op = property(lambda self: self._ready_op, doc="Names of uninitialized variables (empty when ready).")
    ready_for_local_init_op = property(lambda self: self._ready_for_local_init_op,
                                       doc="Readiness check before ``local_init_op`` (None: no check).")
    local_init_op = property(lambda self: self._local_init_op, doc="Op run in every new session.")
    summary_op = property(lambda self: self._summary_op, doc="The merged summaries (None when the graph has none).")
    saver = property(lambda self: self._saver, doc="The Saver that restores and writes checkpoints.")


def _saver_or_default():
    """The Saver in the SAVERS collection, else a new one over all variables (added to the collection)."""
    from graphdl.train.saver import Saver

    graph = get_default_graph()
    savers = graph.get_collection(GraphKeys.SAVERS)
    if savers:
        if len(savers) > 1:
            raise RuntimeError(f"More than one item in collection {GraphKeys.SAVERS}. Please indicate which one to "
                               "use by passing it to the tf.Scaffold constructor as: tf.Scaffold(saver=saver to use)")
        return savers[0]
    saver = Saver(sharded=True, allow_empty=True)
    graph.add_to_collection(GraphKeys.SAVERS, saver)
    return saver


def _prepare_session(scaffold, master, config, checkpoint_dir=None, checkpoint_filename_with_path=None,
                     restore=True):
    """A new session with the variables restored from the latest checkpoint, or initialized; then local init.

    Raises RuntimeError naming the variables that are still uninitialized (TF1's ``SessionManager``).
    """
    from graphdl.client.session import Session
    from graphdl.train.saver import get_checkpoint_state, latest_checkpoint

    sess = Session(master, graph=get_default_graph(), config=config)
    restored = False
    if restore and checkpoint_filename_with_path:
        scaffold.saver.restore(sess, checkpoint_filename_with_path)
        restored = True
    elif restore and checkpoint_dir:
        path = latest_checkpoint(checkpoint_dir)
        if path is not None:
            _log.info("Restoring parameters from %s", path)
            scaffold.saver.restore(sess, path)
            state = get_checkpoint_state(checkpoint_dir)
            scaffold.saver.recover_last_checkpoints(state.all_model_checkpoint_paths)
            restored = True
    if not restored:
        if scaffold.init_op is not None:
            sess.run(scaffold.init_op, feed_dict=scaffold.init_feed_dict)
        if scaffold.init_fn is not None:
            scaffold.init_fn(sess)
    if scaffold.local_init_op is not None:
        sess.run(scaffold.local_init_op)
    if scaffold.ready_op is not None:
        not_ready = sess.run(scaffold.ready_op)
        if getattr(not_ready, "size", 0):
            sess.close()
            names = ", ".join(n.decode() if isinstance(n, bytes) else str(n) for n in not_ready)
            raise RuntimeError(f"Init operations did not make model ready. Variables not initialized: {names}. "
                               "Fix: give them to the init_op (or init_fn) of the tf.train.Scaffold.")
    return sess


class SessionCreator:
    """Creates a ready-to-run session (TF1's ``tf.train.SessionCreator``)."""

    def create_session(self):
        """Return a new, prepared session."""
        raise NotImplementedError("create_session is not implemented for this SessionCreator.")


class ChiefSessionCreator(SessionCreator):
    """Creates a session for the chief: restores ``checkpoint_dir``'s latest checkpoint or initializes variables."""

    def __init__(self, scaffold=None, master="", config=None, checkpoint_dir=None,
                 checkpoint_filename_with_path=None):
        self._checkpoint_dir = checkpoint_dir
        self._checkpoint_filename_with_path = checkpoint_filename_with_path
        self._scaffold = scaffold or Scaffold()
        self._master = master
        self._config = config

    def create_session(self):
        """Finalize the scaffold (and graph) and return a prepared session."""
        self._scaffold.finalize()
        return _prepare_session(self._scaffold, self._master, self._config, self._checkpoint_dir,
                                self._checkpoint_filename_with_path)


class WorkerSessionCreator(SessionCreator):
    """Creates a session for a non-chief worker. graphdl has no parameter servers, so the worker initializes
    its own variables (it restores nothing: checkpoints are the chief's)."""

    def __init__(self, scaffold=None, master="", config=None, max_wait_secs=30 * 60):
        self._scaffold = scaffold or Scaffold()
        self._master = master
        self._config = config
        self._max_wait_secs = max_wait_secs

    def create_session(self):
        """Finalize the scaffold (and graph) and return an initialized session."""
        self._scaffold.finalize()
        return _prepare_session(self._scaffold, self._master, self._config, restore=False)


class StepContext:
    """What ``run_step_fn``'s function gets: the raw ``session``, ``run_with_hooks`` and ``request_stop``."""

    def __init__(self, session, run_with_hooks_fn):
        self._session = session
        self._run_with_hooks_fn = run_with_hooks_fn
        self._stop_requested = False

    @property
    def session(self):
        """The raw session (runs without hooks)."""
        return self._session

    def run_with_hooks(self, *args, **kwargs):
        """``MonitoredSession.run`` (with every hook)."""
        return self._run_with_hooks_fn(*args, **kwargs)

    def request_stop(self):
        """End the loop after this step function returns."""
        self._stop_requested = True


class _MonitoredSession:
    """Shared behaviour of MonitoredSession and SingularMonitoredSession."""

    def __init__(self, session_creator, hooks, stop_grace_period_secs=120):
        self._graph = get_default_graph()
        self._hooks = list(hooks or [])
        for hook in self._hooks:
            hook.begin()
        self._stop_grace_period_secs = stop_grace_period_secs
        self._should_stop = False
        self._closed = False
        self._sess = session_creator.create_session()
        self._coord = Coordinator(clean_stop_exception_types=[errors.OutOfRangeError])
        from graphdl.train.queue_runner import start_queue_runners

        self._threads = start_queue_runners(self._sess, coord=self._coord)
        for hook in self._hooks:
            hook.after_create_session(self._sess, self._coord)

    @property
    def graph(self):
        """The graph this session runs."""
        return self._graph

    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        """Run ``fetches`` as ``Session.run`` does, with every hook's ``before_run``/``after_run`` around it.

        The hooks' extra fetches and feeds are added to the same step; a hook may request a stop.
        """
        if self._closed:
            raise RuntimeError("Session is already closed.")
        if self.should_stop():
            raise RuntimeError("Run called even after should_stop requested.")
        run_context = SessionRunContext(SessionRunArgs(fetches, feed_dict, options), self._sess)
        hook_fetches, hook_feeds = [], {}
        requested = []
        for hook in self._hooks:
            request = hook.before_run(run_context)
            if request is None:
                continue
            if request.fetches is not None:
                requested.append((hook, len(hook_fetches)))
                hook_fetches.append(request.fetches)
            if request.feed_dict:
                _check_disjoint_feeds(hook_feeds, request.feed_dict, "Same tensor is fed by two hooks.")
                hook_feeds.update(request.feed_dict)
        feeds = dict(feed_dict or {})
        _check_disjoint_feeds(feeds, hook_feeds, "Same tensor is fed by a SessionRunHook and user.")
        feeds.update(hook_feeds)
        try:
            outputs = self._sess.run([fetches, hook_fetches], feed_dict=feeds or None, options=options,
                                     run_metadata=run_metadata)
        except Exception as e:
            self._coord.request_stop(e if not isinstance(e, errors.OutOfRangeError) else None)
            raise
        hook_results = {id(hook): outputs[1][i] for hook, i in requested}
        for hook in self._hooks:
            hook.after_run(run_context, SessionRunValues(hook_results.get(id(hook)), options, run_metadata))
        self._should_stop = self._should_stop or run_context.stop_requested
        return outputs[0]

    def run_step_fn(self, step_fn):
        """Call ``step_fn(step_context)`` (it may run with or without hooks); returns its result."""
        step_context = StepContext(self._sess, self.run)
        result = step_fn(step_context)
        if step_context._stop_requested:
            self._should_stop = True
        return result

    def should_stop(self) -> bool:
        """True once a hook requested a stop, the coordinator stopped, or the session closed."""
        return self._closed or self._should_stop or self._coord.should_stop()

    def close(self):
        """Call the hooks' ``end``, stop the queue runners and close the session."""
        self._close_internal()

    def _close_internal(self, exception_type=None):
        if self._closed:
            return
        try:
            if exception_type is None:
                for hook in self._hooks:
                    hook.end(self._sess)
        finally:
            self._closed = True
            try:
                self._coord.request_stop()
                self._coord.join(self._threads, stop_grace_period_secs=self._stop_grace_period_secs,
                                 ignore_live_threads=True)
            finally:
                self._sess.close()

    def __enter__(self):
        return self

    def __exit__(self, exception_type, exception_value, traceback):
        if exception_type in (errors.OutOfRangeError, StopIteration):
            exception_type = None
        self._close_internal(exception_type)
        # An exhausted input (OutOfRangeError, StopIteration) ends the block without an error, as in TF1.
        return exception_type is None

    def _tf_sess(self):
        return self._sess


def _check_disjoint_feeds(feeds, new_feeds, message):
    common = set(feeds).intersection(new_feeds)
    if common:
        names = ", ".join(sorted(getattr(k, "name", str(k)) for k in common))
        raise RuntimeError(f"{message} Conflict(s): {names}")


class MonitoredSession(_MonitoredSession):
    """A session that runs hooks around each step (TF1's ``tf.train.MonitoredSession``).

    ``session_creator`` defaults to a ``ChiefSessionCreator()``; see the module docstring.
    """

    def __init__(self, session_creator=None, hooks=None, stop_grace_period_secs=120):
        super().__init__(session_creator or ChiefSessionCreator(), hooks, stop_grace_period_secs)


class SingularMonitoredSession(_MonitoredSession):
    """A ``MonitoredSession`` for a single process, with direct access to the session (``raw_session()``)."""

    def __init__(self, hooks=None, scaffold=None, master="", config=None, checkpoint_dir=None,
                 stop_grace_period_secs=120, checkpoint_filename_with_path=None):
        creator = ChiefSessionCreator(scaffold=scaffold or Scaffold(), master=master, config=config,
                                      checkpoint_dir=checkpoint_dir,
                                      checkpoint_filename_with_path=checkpoint_filename_with_path)
        super().__init__(creator, hooks, stop_grace_period_secs)

    def raw_session(self):
        """The underlying Session (runs without hooks)."""
        return self._tf_sess()


def MonitoredTrainingSession(master="", is_chief=True, checkpoint_dir=None, scaffold=None, hooks=None,
                             chief_only_hooks=None, save_checkpoint_secs=USE_DEFAULT,
                             save_summaries_steps=USE_DEFAULT, save_summaries_secs=USE_DEFAULT, config=None,
                             stop_grace_period_secs=120, log_step_count_steps=100, max_wait_secs=7200,
                             save_checkpoint_steps=USE_DEFAULT, summary_dir=None):
    """A ``MonitoredSession`` for training with TF1's default hooks; returns it.

    On the chief (``is_chief``): restores from / checkpoints to ``checkpoint_dir`` (every 600 seconds
    by default, or ``save_checkpoint_steps``; and at the end), writes summaries to ``summary_dir``
    (default ``checkpoint_dir``) every 100 steps by default, and logs ``global_step/sec`` every
    ``log_step_count_steps``. ``chief_only_hooks`` run on the chief only, ``hooks`` everywhere. The
    step-based hooks need a global step (``tf.train.get_or_create_global_step()``).
    """
    if save_summaries_steps is USE_DEFAULT and save_summaries_secs is USE_DEFAULT:
        save_summaries_steps, save_summaries_secs = 100, None
    elif save_summaries_secs is USE_DEFAULT:
        save_summaries_secs = None
    elif save_summaries_steps is USE_DEFAULT:
        save_summaries_steps = None
    if save_checkpoint_steps is USE_DEFAULT and save_checkpoint_secs is USE_DEFAULT:
        save_checkpoint_steps, save_checkpoint_secs = None, 600
    elif save_checkpoint_secs is USE_DEFAULT:
        save_checkpoint_secs = None
    elif save_checkpoint_steps is USE_DEFAULT:
        save_checkpoint_steps = None

    scaffold = scaffold or Scaffold()
    if not is_chief:
        creator = WorkerSessionCreator(scaffold=scaffold, master=master, config=config, max_wait_secs=max_wait_secs)
        return MonitoredSession(session_creator=creator, hooks=hooks or [],
                                stop_grace_period_secs=stop_grace_period_secs)

    all_hooks = list(chief_only_hooks or [])
    creator = ChiefSessionCreator(scaffold=scaffold, checkpoint_dir=checkpoint_dir, master=master, config=config)
    summary_dir = summary_dir or checkpoint_dir
    if summary_dir:
        if log_step_count_steps and log_step_count_steps > 0:
            all_hooks.append(hooks_lib.StepCounterHook(output_dir=summary_dir, every_n_steps=log_step_count_steps))
        if (save_summaries_steps and save_summaries_steps > 0) or (save_summaries_secs and save_summaries_secs > 0):
            all_hooks.append(hooks_lib.SummarySaverHook(scaffold=scaffold, save_steps=save_summaries_steps,
                                                        save_secs=save_summaries_secs, output_dir=summary_dir))
    saves_checkpoints = (save_checkpoint_secs and save_checkpoint_secs > 0) or (
        save_checkpoint_steps and save_checkpoint_steps > 0)
    if checkpoint_dir and saves_checkpoints:
        all_hooks.append(hooks_lib.CheckpointSaverHook(checkpoint_dir, save_steps=save_checkpoint_steps,
                                                       save_secs=save_checkpoint_secs, scaffold=scaffold))
    all_hooks.extend(hooks or [])
    return MonitoredSession(session_creator=creator, hooks=all_hooks, stop_grace_period_secs=stop_grace_period_secs)
