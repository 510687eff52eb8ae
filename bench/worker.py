"""Runs one benchmark cell (one framework, one workload) in this process and prints its result.

    python -m bench.worker --fw graphdl --workload W1 [--backend reference] [--quick]
    python -m bench.worker --fw graphdl --cold      # W6: import, build W1, one step, exit

The driver (``bench.run``) starts a fresh process per cell and round, with the thread
variables set, and reads the single ``@@R {json}`` line this prints. The module imports
only the standard library at the top, so that W6 measures the framework's own start-up.
"""

import argparse
import importlib
import json
import os
import sys
import time
from dataclasses import dataclass, field

RESULT_PREFIX = "@@R "


@dataclass(frozen=True)
class FrameworkSpec:
    """Where a framework's cells live and which workloads it implements."""

    module: str                  # bench module defining the implementation class
    cls: str = "Impl"
    kwargs: dict = field(default_factory=dict)
    requires: str = "numpy"      # top-level module that must be importable
    dists: tuple = ()            # distributions whose versions the report lists
    workloads: tuple = ("W1", "W2", "W3", "W4", "W5", "W6")


FRAMEWORKS = {
    "graphdl": FrameworkSpec("bench.fw_graphdl", requires="graphdl", dists=("graphdl",)),
    "numpy": FrameworkSpec("bench.fw_numpy", dists=("numpy",), workloads=("W1", "W4", "W5", "W6")),
    "numba": FrameworkSpec("bench.fw_numpy", "NumbaImpl", requires="numba", dists=("numba", "llvmlite"),
                           workloads=("W4",)),
    "torch": FrameworkSpec("bench.fw_torch", requires="torch", dists=("torch",)),
    "torch.compile": FrameworkSpec("bench.fw_torch", kwargs={"compile": True}, requires="torch", dists=("torch",)),
    "jax": FrameworkSpec("bench.fw_jax", requires="jax", dists=("jax", "jaxlib")),
    "tf1": FrameworkSpec("bench.fw_tf", requires="tensorflow", dists=("tensorflow", "tensorflow-cpu")),
    "pytensor": FrameworkSpec("bench.fw_pytensor", kwargs={"mode": "C"}, requires="pytensor", dists=("pytensor",)),
    "pytensor-numba": FrameworkSpec("bench.fw_pytensor", kwargs={"mode": "NUMBA"}, requires="pytensor",
                                    dists=("pytensor", "numba")),
    # Yardstick for W4, always measured with it: np.copyto moving the same 128 MiB.
    "numpy-copy": FrameworkSpec("bench.fw_numpy", "CopyImpl", dists=("numpy",), workloads=("W4",)),
}
DEFAULT_FRAMEWORKS = ("graphdl", "numpy", "numba", "torch", "jax", "tf1", "pytensor")
EXTRA_FRAMEWORKS = ("torch.compile", "pytensor-numba")


def emit(result):
    """Print ``result`` as the one line the driver reads."""
    sys.stdout.write(RESULT_PREFIX + json.dumps(result) + "\n")
    sys.stdout.flush()


def make_impl(fw, backend=None):
    """Import framework ``fw``'s bench module and build its implementation object."""
    spec = FRAMEWORKS[fw]
    module = importlib.import_module(spec.module)
    kwargs = dict(spec.kwargs)
    if fw == "graphdl":
        kwargs["backend"] = backend
    return getattr(module, spec.cls)(**kwargs)


def _max_abs_error(out, ref):
    import numpy as np
    out = np.asarray(out)
    if out.shape != ref.shape:
        raise ValueError(f"output shape {out.shape} differs from the reference shape {ref.shape}")
    return float(np.max(np.abs(out.astype(np.float64) - ref)))


def check_first_output(fw, workload, first):
    """Correctness facts about the first call's result: initial loss or max abs error, and ok."""
    from bench import workloads as W
    if workload in W.TRAINING:
        return {"first_loss": float(first), "expected_loss": W.EXPECTED_INITIAL_LOSS[workload],
                "check_ok": W.loss_matches(workload, first)}
    if workload == "W4":
        x = W.w4_input()
        ref = x.astype("float64") if fw == "numpy-copy" else W.w4_reference(x)
        err = _max_abs_error(first, ref)
    else:
        err = _max_abs_error(first, W.w5_reference())
    return {"max_abs_err": err, "check_ok": err <= W.MAX_ABS_ERROR}


def run_cell(fw, workload, backend=None, quick=False):
    """Build the cell, make the first call, then warm up and time it per WORKLOADS.md; returns a result dict."""
    from bench import timing
    from bench import workloads as W

    result = {"fw": fw, "workload": workload}
    t0 = time.perf_counter()
    impl = make_impl(fw, backend)
    t1 = time.perf_counter()
    result["import_s"] = t1 - t0
    result["describe"] = impl.describe()
    build = getattr(impl, workload.lower(), None)
    if build is None:
        raise W.NotSupported(f"{fw} does not implement {workload}")
    fn = build()
    t2 = time.perf_counter()
    first = fn()
    t3 = time.perf_counter()
    result.update(build_s=t2 - t1, first_call_s=t3 - t2)
    result.update(check_first_output(fw, workload, first))
    del first
    plan = timing.TimingPlan.quick(workload) if quick else timing.TimingPlan.standard(workload)
    meter = timing.LoadMeter().start()
    times = timing.time_fast_calls(fn, plan) if workload == "W5" else timing.time_calls(fn, plan)
    result["load_cores"] = meter.stop()
    result.update(timing.summarize(times))
    if workload in W.TRAINING:
        result["last_loss"] = float(fn())
    return result


def run_cold(fw, backend=None):
    """W6: seconds since the driver launched this process (BENCH_T0) at import, build and first step end."""
    t_launch = float(os.environ.get("BENCH_T0", time.time()))
    marks = {"fw": fw, "workload": "W6", "start_s": time.time() - t_launch}
    impl = make_impl(fw, backend)
    marks["import_s"] = time.time() - t_launch
    step = impl.w1()
    marks["built_s"] = time.time() - t_launch
    loss = step()
    marks["first_step_s"] = time.time() - t_launch
    marks["first_loss"] = float(loss)
    marks["describe"] = impl.describe()
    return marks


def main(argv=None):
    parser = argparse.ArgumentParser(description="Run one benchmark cell and print its '@@R {json}' result line.")
    parser.add_argument("--fw", required=True, choices=sorted(FRAMEWORKS))
    parser.add_argument("--workload", choices=["W1", "W2", "W3", "W4", "W5"], help="steady-state cell to time")
    parser.add_argument("--cold", action="store_true", help="W6: build W1, run one step, report timestamps")
    parser.add_argument("--backend", default=None, help="graphdl backend (default: numba if available, else reference)")
    parser.add_argument("--quick", action="store_true", help="a few timed calls only (smoke test)")
    args = parser.parse_args(argv)
    if not args.cold and not args.workload:
        parser.error("give --workload or --cold")
    try:
        if args.cold:
            result = run_cold(args.fw, args.backend)
        else:
            result = run_cell(args.fw, args.workload, args.backend, args.quick)
        result["ok"] = True
    except Exception as e:  # noqa: BLE001 - any failure is reported to the driver, which shows it
        from bench.workloads import NotSupported
        result = {"fw": args.fw, "workload": "W6" if args.cold else args.workload, "ok": False}
        if isinstance(e, NotSupported):
            result["skip"] = str(e)
        else:
            import traceback
            result["error"] = f"{type(e).__name__}: {e}"[:2000]
            result["traceback"] = traceback.format_exc()[-3000:]
    emit(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
