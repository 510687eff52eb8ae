"""TF1's ``timeline.Timeline``: a run's ``step_stats`` as a Chrome trace (chrome://tracing, Perfetto).

    run_metadata = graphdl.RunMetadata()
    sess.run(train_op, options=graphdl.RunOptions(trace_level=graphdl.RunOptions.FULL_TRACE),
             run_metadata=run_metadata)
    trace = Timeline(run_metadata.step_stats).generate_chrome_trace_format()

``op_time_summary`` prints where the time went, by op type.
"""

from __future__ import annotations

import json
from collections import defaultdict


class Timeline:
    """A Chrome trace of one run's ``StepStats`` (one process per device, one event per kernel)."""

    def __init__(self, step_stats, graph=None):
        if step_stats is None or not hasattr(step_stats, "dev_stats"):
            raise ValueError(
                "Timeline needs RunMetadata.step_stats from a traced run: pass "
                "options=RunOptions(trace_level=RunOptions.FULL_TRACE) and run_metadata=RunMetadata() to Session.run."
            )
        self._step_stats = step_stats
        self._graph = graph

    def generate_chrome_trace_format(self, show_dataflow=True, show_memory=False) -> str:
        """The trace as a JSON string in the Trace Event Format (``{"traceEvents": [...]}``)."""
        events = []
        for pid, dev in enumerate(self._step_stats.dev_stats):
            events.append({"name": "process_name", "ph": "M", "pid": pid, "args": {"name": f"{dev.device} Compute"}})
            events.append({"name": "process_sort_index", "ph": "M", "pid": pid, "args": {"sort_index": pid}})
            for node in dev.node_stats:
                events.append({
                    "name": node.op or node.node_name,
                    "cat": "Op",
                    "ph": "X",
                    "pid": pid,
                    "tid": node.thread_id,
                    "ts": node.all_start_micros,
                    "dur": node.all_end_rel_micros,
                    "args": {"name": node.node_name, "op": node.op, "label": node.timeline_label},
                })
        return json.dumps({"traceEvents": events}, separators=(",", ":"))


def op_time_summary(step_stats, top: int = 20) -> str:
    """A table of total kernel time by op type, largest first (count, total ms, share)."""
    totals: dict[str, list] = defaultdict(lambda: [0, 0])
    for dev in step_stats.dev_stats:
        for node in dev.node_stats:
            entry = totals[node.op or node.node_name]
            entry[0] += 1
            entry[1] += node.all_end_rel_micros
    grand = sum(us for _, us in totals.values()) or 1
    rows = sorted(totals.items(), key=lambda kv: -kv[1][1])[:top]
    width = max([len("op type")] + [len(k) for k, _ in rows])
    lines = [f"{'op type':<{width}}  {'count':>5}  {'ms':>9}  {'share':>6}"]
    for op_type, (count, us) in rows:
        lines.append(f"{op_type:<{width}}  {count:>5}  {us / 1000:>9.3f}  {100 * us / grand:>5.1f}%")
    lines.append(f"{'total':<{width}}  {sum(c for c, _ in totals.values()):>5}  {grand / 1000:>9.3f}")
    return "\n".join(lines)
