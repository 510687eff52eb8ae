"""Per-op timings of one ``Session.run``, in the shape of TF1's ``RunMetadata.step_stats``.

``Session.run(..., options=RunOptions(trace_level=RunOptions.FULL_TRACE), run_metadata=md)``
fills ``md.step_stats``: one ``DeviceStepStats`` per device with a ``NodeExecStats`` per
executed kernel (a fused kernel is one node; its ``timeline_label`` lists the ops it contains).
``graphdl.client.timeline.Timeline`` turns it into a Chrome trace.
"""

from __future__ import annotations

import time

from graphdl.client.config import _Message

CPU_DEVICE = "/job:localhost/replica:0/task:0/device:CPU:0"
GPU_DEVICE = "/job:localhost/replica:0/task:0/device:GPU:0"


class NodeExecStats(_Message):
    """One kernel's execution: TF1's field names, times in microseconds."""

    _defaults = {
        "node_name": "",
        "op": "",  # graphdl addition: the op type (TF1 puts it in timeline_label only)
        "all_start_micros": 0,
        "op_start_rel_micros": 0,
        "op_end_rel_micros": 0,
        "all_end_rel_micros": 0,
        "timeline_label": "",
        "thread_id": 0,
    }


class DeviceStepStats(_Message):
    _defaults = {"device": "", "node_stats": list}


class StepStats(_Message):
    _defaults = {"dev_stats": list}


class StepTimer:
    """Collects (op, device, start, end) for the kernels of one run; ``step_stats()`` builds the result."""

    def __init__(self):
        self._wall_origin_us = time.time_ns() // 1000
        self._clock_origin = time.perf_counter_ns()
        self._records = []

    def now(self) -> int:
        """Nanoseconds on the timer's clock."""
        return time.perf_counter_ns()

    def record(self, op, start_ns: int, end_ns: int, device: str = CPU_DEVICE, label: str | None = None,
               op_type: str | None = None):
        """Note that ``op``'s kernel ran from ``start_ns`` to ``end_ns`` (values of ``now()``).

        ``op_type`` overrides ``op.type`` for work that is not the op's own kernel (a transfer of its output).
        """
        self._records.append((op, device, start_ns, end_ns, label, op_type or op.type))

    def step_stats(self) -> StepStats:
        """The collected records grouped by device, in execution order."""
        by_device: dict[str, DeviceStepStats] = {}
        for op, device, start, end, label, op_type in self._records:
            stats = by_device.setdefault(device, DeviceStepStats(device=device))
            duration = max(0, (end - start) // 1000)
            stats.node_stats.append(NodeExecStats(
                node_name=op.name,
                op=op_type,
                all_start_micros=self._wall_origin_us + (start - self._clock_origin) // 1000,
                op_start_rel_micros=0,
                op_end_rel_micros=duration,
                all_end_rel_micros=duration,
                timeline_label=label or f"{op.name} = {op_type}({', '.join(t.op.name for t in op.inputs)})",
            ))
        return StepStats(dev_stats=list(by_device.values()))


def wants_trace(options, run_metadata) -> bool:
    """Whether a run with these ``RunOptions`` and ``RunMetadata`` should record per-op timings."""
    return run_metadata is not None and options is not None and getattr(options, "trace_level", 0) > 0
