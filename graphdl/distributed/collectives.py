"""Collective calls on NumPy arrays, each with a deadline: allreduce, broadcast, and the graph check.

The kernels of the ``MPIAllreduce`` and ``MPIBroadcast`` ops call these. Every call packs
its arrays into one contiguous buffer per dtype and makes one non-blocking MPI call on it
(``Iallreduce`` / ``Ibcast``), then polls ``Test()`` until it completes or the world's
timeout passes; a timeout raises DeadlineExceededError on this worker and marks the
communicator broken (see ``world.py`` for how the job then ends on every worker).

The first time an op runs in a session, the workers first exchange a description of what
it reduces (tensor names, dtypes, shapes): different graphs raise an error naming the
difference on every worker, instead of mixing unrelated buffers or waiting forever.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass

import numpy as np

from graphdl import errors
from graphdl.distributed.world import World, require_world

# MPI makes progress on a non-blocking call only inside Test(), so a large allreduce (sent in many
# pieces) needs Test() called often: spin (yielding the core) for a millisecond, then poll every
# 100 us, and every millisecond once the wait is long (a slow or dead worker). Sleeping rather than
# spinning leaves the core to the other workers when there are more processes than cores.
_SPIN_SECONDS = 0.001
_SHORT_SLEEP_UNTIL_SECONDS = 2.0
_SHORT_SLEEP_SECONDS = 1e-4
_LONG_SLEEP_SECONDS = 1e-3


@dataclass
class CollectiveStats:
    """Calls, seconds spent and bytes moved by one kind of collective in this process."""

    calls: int = 0
    seconds: float = 0.0
    bytes: int = 0


_STATS = {"allreduce": CollectiveStats(), "broadcast": CollectiveStats()}


def collective_stats() -> dict:
    """A copy of this process's collective counters: ``{"allreduce": CollectiveStats, "broadcast": ...}``.

    ``seconds`` is the time from the start of each MPI call to its completion on this worker,
    which includes waiting for slower workers to arrive.
    """
    return {kind: CollectiveStats(s.calls, s.seconds, s.bytes) for kind, s in _STATS.items()}


def reset_collective_stats() -> None:
    """Zero the counters ``collective_stats()`` reports."""
    for kind in _STATS:
        _STATS[kind] = CollectiveStats()


class WorkerMismatchError(errors.InvalidArgumentError):
    """The workers ran a collective op on different tensors: their graphs differ."""

    raised_on_every_rank = True


def _check_usable(w: World, op):
    if w.broken is not None:
        raise errors.AbortedError(
            None, op, f"{op.type} '{op.name}' cannot run: an earlier collective on {w.where()} failed ({w.broken}), "
            "which leaves the workers out of step. Restart the job.")


def wait(w: World, request, op, what: str) -> None:
    """Wait for the MPI request ``request`` of ``op``; DeadlineExceededError after the world's timeout."""
    from mpi4py import MPI

    try:
        _poll(w, request, op, what)
    except MPI.Exception as e:
        w.broken = f"{what} in {op.type} '{op.name}' failed: {e.Get_error_string()}"
        raise errors.InternalError(None, op, f"{op.type} '{op.name}' on {w.where()}: MPI failed in {what}: "
                                             f"{e.Get_error_string()}") from None


def _poll(w: World, request, op, what: str) -> None:
    if request.Test():
        return
    start = time.monotonic()
    deadline = start + w.timeout if w.timeout > 0 else None
    while not request.Test():
        now = time.monotonic()
        if deadline is not None and now > deadline:
            w.broken = f"{what} in {op.type} '{op.name}' timed out"
            raise errors.DeadlineExceededError(
                None, op,
                f"{op.type} '{op.name}': {w.where()} waited {w.timeout:g} s for the other workers to join {what}. "
                "A worker died or hangs, or the workers run different graphs or a different sequence of "
                "Session.run calls (e.g. different numbers of steps per epoch). Every worker must run the same "
                "training steps; if a step can legitimately take longer, raise GRAPHDL_MPI_TIMEOUT (seconds, "
                "0 waits forever). Uncaught, this error aborts the job on every worker.")
        waited = now - start
        if waited < _SPIN_SECONDS:
            os.sched_yield()  # let a process that shares this core (another worker, perhaps) run
        else:
            time.sleep(_SHORT_SLEEP_SECONDS if waited < _SHORT_SLEEP_UNTIL_SECONDS else _LONG_SLEEP_SECONDS)


def _mpi_call(w: World, op, what: str, start):
    """Start a non-blocking MPI call with ``start()``, turning MPI's errors into a graphdl error naming the op."""
    from mpi4py import MPI

    try:
        return start()
    except MPI.Exception as e:
        w.broken = f"{what} in {op.type} '{op.name}' failed: {e.Get_error_string()}"
        raise errors.InternalError(None, op, f"{op.type} '{op.name}' on {w.where()}: MPI {what} failed: "
                                             f"{e.Get_error_string()}") from None


def _describe(arrays, names) -> list[str]:
    return [f"'{name}' {np.asarray(a).dtype.name} {tuple(np.shape(a))}" for name, a in zip(names, arrays)]


def _allgather_bytes(w: World, op, payload: bytes) -> list[bytes]:
    """Every worker's ``payload``, in rank order (two timed collectives: the lengths, then the bytes)."""
    from mpi4py import MPI

    lengths = np.empty(w.size, np.int64)
    own = np.array([len(payload)], np.int64)
    wait(w, _mpi_call(w, op, "Iallgather", lambda: w.comm.Iallgather(own, lengths)), op, "the graph check")
    received = np.empty(int(lengths.sum()), np.uint8)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    sent = np.frombuffer(payload, np.uint8)
    request = _mpi_call(w, op, "Iallgatherv", lambda: w.comm.Iallgatherv(
        [sent, MPI.BYTE], [received, lengths.tolist(), offsets.tolist(), MPI.BYTE]))
    wait(w, request, op, "the graph check")
    return [received[o:o + n].tobytes() for o, n in zip(offsets, lengths)]


def check_same_on_every_worker(w: World, op, description: list[str]) -> None:
    """Raise WorkerMismatchError on every worker when ``description`` (what ``op`` reduces) differs among them."""
    payload = json.dumps(description).encode()
    gathered = [json.loads(p.decode()) for p in _allgather_bytes(w, op, payload)]
    if all(d == gathered[0] for d in gathered):
        return
    other = next(r for r, d in enumerate(gathered) if d != gathered[0])
    first, second = gathered[0], gathered[other]
    if len(first) != len(second):
        difference = f"rank 0 has {len(first)} entries, rank {other} has {len(second)}"
    else:
        i = next(i for i, (a, b) in enumerate(zip(first, second)) if a != b)
        difference = f"entry {i}: rank 0 has {first[i]}, rank {other} has {second[i]}"

    def listing(d):
        shown = "; ".join(d[:8]) + (f"; ... ({len(d) - 8} more)" if len(d) > 8 else "")
        return shown

    raise WorkerMismatchError(
        None, op,
        f"{op.type} '{op.name}': the workers run different graphs ({difference}). rank 0: [{listing(first)}]; "
        f"rank {other}: [{listing(second)}]. Every worker must build the same model (same variables, shapes "
        f"and dtypes) and wrap the same optimizer in DistributedOptimizer. (Seen on {w.where()}.)")


def _checked_once(w: World, op, state, description: list[str]):
    """Run the graph check the first time ``op`` runs in the session with ``state``."""
    checked = getattr(state, "collective_ops_checked", None)
    if checked is None:
        checked = state.collective_ops_checked = set()
    if op.name not in checked:
        check_same_on_every_worker(w, op, description)
        checked.add(op.name)


def _groups_by_dtype(arrays):
    groups: dict = {}
    for i, a in enumerate(arrays):
        groups.setdefault(a.dtype, []).append(i)
    return groups.items()


def allreduce_arrays(arrays, op, state, reduce_op: str, names) -> tuple:
    """The element-wise sum (``reduce_op="sum"``) or mean (``"average"``) of ``arrays`` over all workers.

    One ``Iallreduce`` per dtype on a fused buffer; returns arrays shaped like the inputs.
    """
    w = require_world(op)
    arrays = [np.asarray(a) for a in arrays]
    if w.size == 1:
        return tuple(np.array(a, copy=True) for a in arrays)
    _check_usable(w, op)
    from mpi4py import MPI

    _checked_once(w, op, state, [f"{op.type} {reduce_op}"] + _describe(arrays, names))
    outputs = [None] * len(arrays)
    start = time.perf_counter()
    moved = 0
    for dtype, indices in _groups_by_dtype(arrays):
        buffer = np.empty(sum(arrays[i].size for i in indices), dtype)
        offset = 0
        for i in indices:
            a = arrays[i]
            buffer[offset:offset + a.size].reshape(a.shape)[...] = a
            offset += a.size
        what = f"an allreduce of {buffer.size} {dtype.name} values"
        wait(w, _mpi_call(w, op, "Iallreduce", lambda b=buffer: w.comm.Iallreduce(MPI.IN_PLACE, b, op=MPI.SUM)),
             op, what)
        if reduce_op == "average":
            np.true_divide(buffer, w.size, out=buffer)
        offset = 0
        for i in indices:
            outputs[i] = buffer[offset:offset + arrays[i].size].reshape(arrays[i].shape)
            offset += arrays[i].size
        moved += buffer.nbytes
    stats = _STATS["allreduce"]
    stats.calls += 1
    stats.seconds += time.perf_counter() - start
    stats.bytes += moved
    return tuple(outputs)


def _aligned(n: int, alignment: int = 64) -> int:
    return -(-n // alignment) * alignment


def broadcast_arrays(arrays, op, state, root_rank: int, names) -> tuple:
    """Worker ``root_rank``'s values of ``arrays`` on every worker (one ``Ibcast`` of all their bytes)."""
    w = require_world(op)
    arrays = [np.asarray(a) for a in arrays]
    if not 0 <= root_rank < w.size:
        raise errors.InvalidArgumentError(
            None, op, f"{op.type} '{op.name}': root_rank {root_rank} is not a worker (ranks 0 .. {w.size - 1}).")
    if w.size == 1:
        return tuple(np.array(a, copy=True) for a in arrays)
    _check_usable(w, op)
    from mpi4py import MPI

    _checked_once(w, op, state, [f"{op.type} root {root_rank}"] + _describe(arrays, names))
    offsets, total = [], 0
    for a in arrays:
        offsets.append(total)
        total = _aligned(total + a.nbytes)
    buffer = np.zeros(total, np.uint8)
    for a, o in zip(arrays, offsets):
        buffer[o:o + a.nbytes] = np.ascontiguousarray(a).reshape(-1).view(np.uint8)
    start = time.perf_counter()
    request = _mpi_call(w, op, "Ibcast", lambda: w.comm.Ibcast([buffer, MPI.BYTE], root=root_rank))
    wait(w, request, op, f"a broadcast of {total} bytes from rank {root_rank}")
    stats = _STATS["broadcast"]
    stats.calls += 1
    stats.seconds += time.perf_counter() - start
    stats.bytes += total
    return tuple(buffer[o:o + a.nbytes].view(a.dtype).reshape(a.shape).copy() for a, o in zip(arrays, offsets))
