"""TF1's ``tf.train.SessionRunHook`` protocol: code that a ``MonitoredSession`` calls around every step.

The order of calls (as in TF1)::

    hook.begin()                                   # graph not finalized yet: build ops here
    sess = <create, initialize or restore>
    hook.after_create_session(sess, coord)
    while not stop:
        args = hook.before_run(run_context)        # SessionRunArgs: extra fetches/feeds, or None
        results = sess.run(merged fetches, merged feeds)
        hook.after_run(run_context, run_values)    # run_values.results holds this hook's fetches
    hook.end(sess)                                 # not called when the loop ends with an error
"""

from __future__ import annotations

import collections

__all__ = ["SessionRunArgs", "SessionRunContext", "SessionRunHook", "SessionRunValues"]


class SessionRunHook:
    """Base class of hooks that extend ``MonitoredSession.run``; every method does nothing by default."""

    def begin(self):
        """Called once before the session is created; the graph may still be changed here."""

    def after_create_session(self, session, coord):
        """Called when the session is created and initialized (or restored); the graph is finalized."""

    def before_run(self, run_context):
        """Called before each ``run``; returns ``SessionRunArgs`` to add fetches/feeds to the step, or None."""
        return

    def after_run(self, run_context, run_values):
        """Called after each successful ``run``; ``run_values.results`` holds what ``before_run`` asked for."""

    def end(self, session):
        """Called once when the monitored session closes normally (not after an error)."""


class SessionRunArgs(collections.namedtuple("SessionRunArgs", ["fetches", "feed_dict", "options"])):
    """What a hook adds to a step: ``fetches`` (any fetch structure), ``feed_dict`` and ``options``."""

    def __new__(cls, fetches, feed_dict=None, options=None):
        return super().__new__(cls, fetches, feed_dict, options)


class SessionRunContext:
    """The step being run: the caller's ``original_args``, the ``session``, and a way to request a stop."""

    def __init__(self, original_args, session):
        self._original_args = original_args
        self._session = session
        self._stop_requested = False

    @property
    def original_args(self):
        """The ``SessionRunArgs`` of the caller's ``run`` (before the hooks added to them)."""
        return self._original_args

    @property
    def session(self):
        """The raw session running the step (hooks may run extra ops in it)."""
        return self._session

    @property
    def stop_requested(self) -> bool:
        """Whether a hook called ``request_stop`` during this step."""
        return self._stop_requested

    def request_stop(self):
        """Ask the monitored session to stop after this step (``should_stop()`` becomes True)."""
        self._stop_requested = True


class SessionRunValues(collections.namedtuple("SessionRunValues", ["results", "options", "run_metadata"])):
    """A hook's part of a step's outcome: ``results`` of its fetches, the ``options`` and ``run_metadata``."""
