"""``tf.train.Coordinator``: lets threads ask each other to stop and waits for them to finish."""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time

from graphdl import errors

_log = logging.getLogger("graphdl")


class Coordinator:
    """TF1's thread coordinator.

    ``request_stop(ex)`` asks every thread to stop (an exception other than
    ``clean_stop_exception_types``, default OutOfRangeError, is re-raised by ``join``);
    ``should_stop()`` tells a thread whether to stop; ``join(threads)`` waits for them.
    """

    def __init__(self, clean_stop_exception_types=None):
        if clean_stop_exception_types is None:
            clean_stop_exception_types = (errors.OutOfRangeError,)
        self._clean_stop_exception_types = tuple(clean_stop_exception_types)
        self._lock = threading.Lock()
        self._stop_event = threading.Event()
        self._exc_info_to_raise = None
        self._joined = False
        self._registered_threads: set = set()

    def _filter_exception(self, ex):
        if isinstance(ex, tuple):
            ex2 = ex[1]
        else:
            ex2 = ex
        if isinstance(ex2, self._clean_stop_exception_types):
            return None
        return ex

    def request_stop(self, ex=None):
        """Ask the threads to stop; ``ex`` (an exception or ``sys.exc_info()``) is reported by ``join``."""
        with self._lock:
            ex = self._filter_exception(ex)
            if self._joined:
                if isinstance(ex, tuple):
                    _, value, tb = ex
                    raise value.with_traceback(tb)
                if ex is not None:
                    raise ex
                return
            if not self._stop_event.is_set():
                if ex and self._exc_info_to_raise is None:
                    if isinstance(ex, tuple):
                        self._exc_info_to_raise = ex
                    else:
                        self._exc_info_to_raise = (type(ex), ex, getattr(ex, "__traceback__", None))
                    _log.info("Error reported to Coordinator: %s", ex)
                self._stop_event.set()

    def clear_stop(self):
        """Clear the stop request (and any reported exception) so the coordinator can be reused."""
        with self._lock:
            self._joined = False
            self._exc_info_to_raise = None
            if self._stop_event.is_set():
                self._stop_event.clear()

    def should_stop(self) -> bool:
        """True once a stop has been requested."""
        return self._stop_event.is_set()

    @contextlib.contextmanager
    def stop_on_exception(self):
        """Inside, an exception requests a stop (and is reported by ``join``) instead of propagating."""
        try:
            yield
        except:  # noqa: E722 - TF1 reports every exception, including KeyboardInterrupt, to the coordinator
            self.request_stop(ex=sys.exc_info())

    def wait_for_stop(self, timeout=None) -> bool:
        """Wait until a stop is requested (at most ``timeout`` seconds); True if it was."""
        return self._stop_event.wait(timeout)

    def register_thread(self, thread):
        """Make ``join()`` (without arguments) wait for ``thread`` too."""
        with self._lock:
            self._registered_threads.add(thread)

    def join(self, threads=None, stop_grace_period_secs=120, ignore_live_threads=False):
        """Wait for ``threads`` (and registered ones) to end; re-raise an exception passed to ``request_stop``.

        Waits until every thread has ended or a stop is requested, then gives the threads
        ``stop_grace_period_secs`` to end; RuntimeError names those still running after that
        (a logged warning with ``ignore_live_threads``).
        """
        threads = set(self._registered_threads) | set(threads or [])
        threads = list(threads)
        while any(t.is_alive() for t in threads) and not self.wait_for_stop(1.0):
            pass
        for t in threads:
            # graphdl's queue-runner threads do no work (dequeues run the enqueue ops); ones started without
            # this coordinator would otherwise outlive the grace period and make join raise.
            release = getattr(t, "release", None)
            if getattr(t, "graphdl_idle_runner", False) and callable(release):
                release()
        wait = 0.001
        while any(t.is_alive() for t in threads) and stop_grace_period_secs >= 0.0:
            time.sleep(wait)
            stop_grace_period_secs -= wait
            wait = max(min(2 * wait, stop_grace_period_secs), 0.001)
        stragglers = [t.name for t in threads if t.is_alive()]
        with self._lock:
            self._joined = True
            self._registered_threads = set()
            if self._exc_info_to_raise:
                _, value, tb = self._exc_info_to_raise
                raise value.with_traceback(tb)
            if stragglers:
                if ignore_live_threads:
                    _log.info("Coordinator stopped with threads still running: %s", " ".join(stragglers))
                else:
                    raise RuntimeError(f"Coordinator stopped with threads still running: {' '.join(stragglers)}")

    @property
    def joined(self) -> bool:
        return self._joined

    def raise_requested_exception(self):
        """Re-raise the exception passed to ``request_stop``, if any."""
        with self._lock:
            if self._exc_info_to_raise:
                _, value, tb = self._exc_info_to_raise
                raise value.with_traceback(tb)


class LooperThread(threading.Thread):
    """A thread calling ``target(*args)`` every ``timer_interval_secs`` until the coordinator stops (TF1's)."""

    def __init__(self, coord, timer_interval_secs, target=None, args=None, kwargs=None):
        if not isinstance(coord, Coordinator):
            raise ValueError(f"'coord' argument must be a Coordinator: {coord}")  # noqa: TRY004 - TF1's error
        super().__init__()
        self.daemon = True
        self._coord = coord
        self._timer_interval_secs = timer_interval_secs
        self._target = target
        self._args = args or ()
        self._kwargs = kwargs or {}
        coord.register_thread(self)

    @staticmethod
    def loop(coord, timer_interval_secs, target, args=None, kwargs=None):
        """Start and return a LooperThread."""
        looper = LooperThread(coord, timer_interval_secs, target=target, args=args, kwargs=kwargs)
        looper.start()
        return looper

    def run(self):
        with self._coord.stop_on_exception():
            self.start_loop()
            if self._timer_interval_secs is None:
                while not self._coord.should_stop():
                    self.run_loop()
            else:
                next_timer_time = time.time()
                while not self._coord.wait_for_stop(next_timer_time - time.time()):
                    next_timer_time += self._timer_interval_secs
                    self.run_loop()
            self.stop_loop()

    def start_loop(self):
        """Called once before the loop."""

    def stop_loop(self):
        """Called once after the loop."""

    def run_loop(self):
        """One iteration: calls ``target``."""
        if self._target:
            self._target(*self._args, **self._kwargs)
