"""The MPI world of this process: ``init``, ``rank``, ``size``, ``local_rank``, ``local_size``.

``init()`` imports ``mpi4py`` (which starts MPI) and records this process's place among
the workers that ``mpiexec`` started. Without ``mpi4py`` a process started on its own is a
world of one worker, so a script written for several workers also runs alone; started by
a launcher with several workers, it raises instead (each worker would otherwise train alone).

With more than one worker, ``init()`` also makes failures end the whole job instead of
leaving the other workers waiting: an exception nobody catches, or a collective that timed
out, aborts every worker (``MPI_Abort``) after printing the error with this worker's rank.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
import time
import traceback
import warnings

from graphdl import errors

DEFAULT_TIMEOUT_SECONDS = 60.0
TIMEOUT_ENV = "GRAPHDL_MPI_TIMEOUT"
# Environment variables a launcher sets for each process: MPICH/Hydra and Intel MPI, Open MPI, MVAPICH.
_LAUNCHER_SIZE_ENV = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")
_LOCAL_RANK_ENV = ("MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK", "MV2_COMM_WORLD_LOCAL_RANK")
_OUTPUT_GRACE_SECONDS = 0.3
_INSTALL_HINT = "pip install 'graphdl[mpi]' (or: pip install mpi4py mpich)"


class World:
    """This process's communicator, rank and size, and the collective timeout."""

    def __init__(self, comm, local_comm, timeout: float):
        self.comm = comm  # an mpi4py communicator, or None for a world of one without mpi4py
        self.local_comm = local_comm
        self.rank = comm.Get_rank() if comm is not None else 0
        self.size = comm.Get_size() if comm is not None else 1
        self.local_rank = local_comm.Get_rank() if local_comm is not None else 0
        self.local_size = local_comm.Get_size() if local_comm is not None else 1
        self.timeout = timeout
        self.broken = None  # the message of a collective that failed: the communicator is no longer usable

    def where(self) -> str:
        """``rank R of N`` for messages."""
        return f"rank {self.rank} of {self.size}"

    def abort(self, code: int = 1):
        """End every worker of the job (MPI_Abort); exits this process when there is no MPI."""
        sys.stderr.flush()
        sys.stdout.flush()
        time.sleep(_OUTPUT_GRACE_SECONDS)  # let the launcher forward what this worker printed
        if self.comm is not None:
            self.comm.Abort(code)
        os._exit(code)


_lock = threading.Lock()
_world: World | None = None


def _timeout_from_env() -> float:
    raw = os.environ.get(TIMEOUT_ENV)
    if raw is None or raw.strip() == "":
        return DEFAULT_TIMEOUT_SECONDS
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{TIMEOUT_ENV}={raw!r} is not a number of seconds (e.g. {TIMEOUT_ENV}=120)") from None
    if value < 0:
        raise ValueError(f"{TIMEOUT_ENV}={raw!r} must be >= 0 seconds (0 waits forever)")
    return value


def _launcher_size() -> int:
    for name in _LAUNCHER_SIZE_ENV:
        value = os.environ.get(name, "")
        if value.isdigit():
            return int(value)
    return 1


def init(comm=None, timeout_seconds: float | None = None) -> None:
    """Start MPI (through mpi4py) and join the workers of this job; calling it again does nothing.

    ``comm`` is an mpi4py communicator to use instead of ``MPI.COMM_WORLD``.
    ``timeout_seconds`` bounds every collective call (default: the environment variable
    GRAPHDL_MPI_TIMEOUT, else 60 s; 0 waits forever). Raises ImportError when mpi4py is
    missing but the process was started by ``mpiexec`` with several workers.
    """
    global _world
    with _lock:
        if _world is not None:
            return
        timeout = _timeout_from_env() if timeout_seconds is None else float(timeout_seconds)
        if timeout < 0:
            raise ValueError(f"timeout_seconds must be >= 0 (0 waits forever), got {timeout_seconds}")
        try:
            from mpi4py import MPI
        except ImportError as e:
            launched = _launcher_size()
            if launched > 1 or comm is not None:
                raise ImportError(
                    f"graphdl.distributed needs mpi4py: this process was started by an MPI launcher with "
                    f"{launched} workers, but 'import mpi4py' failed ({e}). Install it: {_INSTALL_HINT}."
                ) from e
            warnings.warn(f"graphdl.distributed: mpi4py is not installed, running as a single worker ({_INSTALL_HINT} "
                          "to train on several)", stacklevel=2)
            _world = World(None, None, timeout)
            return
        comm = MPI.COMM_WORLD if comm is None else comm
        local_comm = comm.Split_type(MPI.COMM_TYPE_SHARED, key=comm.Get_rank())
        _world = World(comm, local_comm, timeout)
        if _world.size > 1:
            _install_failure_handlers(_world)


def world() -> World:
    """The initialized world; ValueError telling to call ``init()`` first otherwise."""
    if _world is None:
        raise ValueError("graphdl.distributed has not been initialized: call graphdl.distributed.init() first "
                         "(before building the graph).")
    return _world


def is_initialized() -> bool:
    """True once ``init()`` has run in this process."""
    return _world is not None


def rank() -> int:
    """This worker's index among all workers, 0 .. size() - 1."""
    return world().rank


def size() -> int:
    """The number of workers."""
    return world().size


def local_rank() -> int:
    """This worker's index among the workers on this machine."""
    return world().local_rank


def local_size() -> int:
    """The number of workers on this machine."""
    return world().local_size


def mpi_threads_supported() -> bool:
    """True when the MPI library allows calls from several threads at once (Horovod's name)."""
    comm = world().comm
    if comm is None:
        return True
    from mpi4py import MPI

    return MPI.Query_thread() == MPI.THREAD_MULTIPLE


def _install_failure_handlers(w: World):
    """Make an uncaught exception, a broken collective or a failed peer end the job rather than hang it."""
    previous_hook = sys.excepthook

    def excepthook(kind, value, tb):
        # The error first: the launcher may drop what is still in the pipe when the job is aborted.
        sys.stderr.write(f"graphdl.distributed: {w.where()} stopped on an uncaught {kind.__name__}; aborting every "
                         f"worker of the job.\n{kind.__name__}: {value}\n")
        sys.stderr.flush()
        previous_hook(kind, value, tb)
        # Errors every worker raises at once (mismatched graphs): let every worker print its own first.
        if getattr(value, "raised_on_every_rank", False):
            _barrier(w, seconds=5.0)
        w.abort(1)

    sys.excepthook = excepthook

    def abort_if_broken():
        # A worker that caught a collective's timeout and then ended normally would hang in MPI_Finalize.
        if w.broken is not None:
            sys.stderr.write(f"graphdl.distributed: {w.where()} exits after a failed collective ({w.broken}); "
                             "aborting every worker of the job.\n")
            w.abort(1)

    atexit.register(abort_if_broken)
    # Hydra (MPICH's mpiexec) run with -disable-auto-cleanup signals SIGUSR1 to the workers left
    # when one dies; its default action kills silently. Report it (unless the program handles it).
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL:

        def peer_failed(signum, frame):
            where = "".join(traceback.format_stack(frame, limit=3)) if frame is not None else ""
            sys.stderr.write(f"graphdl.distributed: {w.where()}: the MPI launcher reports that another worker "
                             f"process failed (SIGUSR1); aborting every worker of the job.\n{where}")
            w.abort(1)

        signal.signal(signal.SIGUSR1, peer_failed)


def _barrier(w: World, seconds: float):
    """Wait until every worker got here, or ``seconds`` passed (never raises)."""
    from mpi4py import MPI

    try:
        request = w.comm.Ibarrier()
        deadline = time.monotonic() + seconds
        while not request.Test() and time.monotonic() < deadline:
            time.sleep(0.001)
    except MPI.Exception as e:  # on the way out: report and go on aborting
        sys.stderr.write(f"graphdl.distributed: {w.where()}: barrier before abort failed: {e}\n")


def _reset_for_tests():
    """Forget the world (tests in one process); MPI itself stays initialized."""
    global _world
    _world = None


def require_world(op) -> World:
    """The world, for a kernel of ``op``; FailedPreconditionError naming the op when ``init()`` was not called."""
    if _world is None:
        raise errors.FailedPreconditionError(
            None, op, f"{op.type} '{op.name}' needs graphdl.distributed.init(), which has not been called in this "
            "process: call it at the start of the script, before building the graph.")
    return _world
