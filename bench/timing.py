"""Timing rules of WORKLOADS.md, the thread environment, and machine / version facts for reports."""

import importlib.metadata
import os
import platform
import sys
import time
from dataclasses import dataclass

import numpy as np

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


@dataclass(frozen=True)
class TimingPlan:
    """How many calls to warm up and time for one cell (WORKLOADS.md "Timing")."""

    warmup: int = 3          # untimed calls after the first call (W4: 2)
    min_calls: int = 7       # timed calls, at least ...
    min_seconds: float = 2.0  # ... and at least this long
    max_calls: int = 400
    fast_warmup: int = 200   # W5: untimed calls
    fast_batch: int = 50     # W5: calls per timed batch
    fast_min_batches: int = 15
    fast_min_seconds: float = 1.5

    @classmethod
    def standard(cls, workload):
        """The plan WORKLOADS.md prescribes for ``workload``."""
        return cls(warmup=2) if workload == "W4" else cls()

    @classmethod
    def quick(cls, workload):
        """A plan for smoke runs (tests, a first look): a few calls, a fraction of a second."""
        return cls(warmup=1, min_calls=3, min_seconds=0.1, fast_warmup=20, fast_min_batches=3, fast_min_seconds=0.1)


def time_calls(fn, plan):
    """Warm up, then time calls of ``fn()`` one by one; returns the per-call seconds."""
    for _ in range(plan.warmup):
        fn()
    times = []
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        fn()
        t1 = time.perf_counter()
        times.append(t1 - t0)
        if len(times) >= plan.max_calls or (len(times) >= plan.min_calls and t1 - start >= plan.min_seconds):
            return times


def time_fast_calls(fn, plan):
    """For microsecond calls (W5): time batches of calls; returns per-call seconds, one value per batch."""
    for _ in range(plan.fast_warmup):
        fn()
    times = []
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        for _ in range(plan.fast_batch):
            fn()
        t1 = time.perf_counter()
        times.append((t1 - t0) / plan.fast_batch)
        if len(times) >= plan.fast_min_batches and t1 - start >= plan.fast_min_seconds:
            return times


def summarize(times):
    """Median, min, max and count of a list of per-call seconds."""
    a = np.asarray(times, dtype=np.float64)
    return {"n": int(a.size), "median_s": float(np.median(a)), "min_s": float(a.min()), "max_s": float(a.max())}


def _busy_ticks():
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:8]]
    user, nice, system, _idle, _iowait, irq, softirq = fields
    return user + nice + system + irq + softirq


def _own_ticks():
    with open("/proc/self/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime of all threads


class LoadMeter:
    """Average number of cores other processes kept busy between ``start()`` and ``stop()``.

    A benchmark on a shared 2-core machine is only as good as the quiet it ran in; the
    report shows this next to every cell. Returns None where /proc is unavailable.
    """

    def start(self):
        self._t = time.perf_counter()
        try:
            self._busy, self._own = _busy_ticks(), _own_ticks()
        except (OSError, ValueError, IndexError):
            self._busy = None
        return self

    def stop(self):
        if self._busy is None:
            return None
        dt = max(time.perf_counter() - self._t, 1e-9)
        try:
            busy, own = _busy_ticks(), _own_ticks()
        except (OSError, ValueError, IndexError):
            return None
        hz = os.sysconf("SC_CLK_TCK")
        return max(((busy - self._busy) - (own - self._own)) / hz / dt, 0.0)


def thread_env(threads, base=None):
    """A copy of ``base`` (default: os.environ) with every BLAS/OpenMP/Numba thread count set to ``threads``."""
    env = dict(os.environ if base is None else base)
    for var in THREAD_VARS:
        env[var] = str(threads)
    env["BENCH_THREADS"] = str(threads)
    return env


def cpu_model():
    """The CPU model name from /proc/cpuinfo (platform.processor() elsewhere)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def package_version(dist):
    """The installed version of distribution ``dist``, or None."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def versions(dists):
    """``{"python": ..., dist: version}`` for the installed ones among ``dists``."""
    out = {"python": sys.version.split()[0]}
    for dist in dists:
        v = package_version(dist)
        if v is not None:
            out[dist] = v
    return out
