"""Benchmark graphdl side by side with the peer frameworks installed here, on workloads W1-W6.

    python -m bench.run                                  # everything installed, 5 rounds (minutes)
    python -m bench.run --quick --frameworks graphdl     # smoke run, seconds
    python -m bench.run --workloads W1,W4,W5,W6 --frameworks graphdl,numpy,torch --rounds 5 \\
        --markdown bench-results.md

Every (framework, workload) cell runs in a fresh Python process per round, with
OMP/OPENBLAS/MKL/NUMBA_NUM_THREADS set to ``--threads``; rounds alternate the framework
order. Per round a cell reports the median per-call time; the table shows the median over
rounds, graphdl's ratio to each peer, the W4 NumPy-copy bandwidth yardstick and the W5
plain-NumPy floor. W6 (cold start) runs after the steady-state rounds. See bench/README.md.
"""

import argparse
import ctypes.util
import datetime
import importlib.util
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tqdm import tqdm

from bench import report, timing
from bench.worker import DEFAULT_FRAMEWORKS, EXTRA_FRAMEWORKS, FRAMEWORKS, RESULT_PREFIX

ROOT = Path(__file__).resolve().parents[1]   # the directory holding the bench package
STEADY = ("W1", "W2", "W3", "W4", "W5")
NOT_INSTALLED = "not installed"


def parse_list(text, allowed, what):
    """Split a comma-separated list and check every item is in ``allowed``."""
    items = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in items if s not in allowed]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown {what} {', '.join(unknown)}; choose from {', '.join(allowed)}")
    return list(dict.fromkeys(items))


def installed(fw):
    """Whether the module framework ``fw`` needs can be imported (checked without importing it)."""
    try:
        return importlib.util.find_spec(FRAMEWORKS[fw].requires) is not None
    except (ImportError, ValueError):
        return False


def resolve_backend(requested):
    """The graphdl backend to run: the requested one (checked), else numba if available, else reference."""
    from graphdl.client.backend import available_backends
    available = available_backends()
    if requested is None:
        return "numba" if "numba" in available else "reference"
    if requested not in available:
        raise SystemExit(f"bench.run: graphdl has no backend '{requested}'; available: {', '.join(available)}")
    return requested


def cache_env(env, cache_dir):
    """Point every framework's on-disk compile cache into ``cache_dir``."""
    env = dict(env)
    env["NUMBA_CACHE_DIR"] = os.path.join(cache_dir, "numba")
    env["GRAPHDL_CACHE_DIR"] = os.path.join(cache_dir, "graphdl")
    env["TORCHINDUCTOR_CACHE_DIR"] = os.path.join(cache_dir, "inductor")
    env["BENCH_JAX_CACHE"] = os.path.join(cache_dir, "jax")
    flags = [f for f in env.get("PYTENSOR_FLAGS", "").split(",") if f and not f.startswith("base_compiledir=")]
    flags.append(f"base_compiledir={os.path.join(cache_dir, 'pytensor')}")
    if not any(f.startswith("blas__ldflags=") for f in flags) and ctypes.util.find_library("openblas"):
        flags.append("blas__ldflags=-lopenblas")  # PyTensor's pip wheel links no BLAS of its own
    env["PYTENSOR_FLAGS"] = ",".join(flags)
    return env


class Runner:
    """Starts worker processes and reads their results."""

    def __init__(self, threads, backend, quick, timeout):
        self.backend, self.quick, self.timeout = backend, quick, timeout
        env = timing.thread_env(threads)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in [env.get("PYTHONPATH")] if p])
        self.env = env

    def _command(self, fw, workload):
        cmd = [sys.executable, "-m", "bench.worker", "--fw", fw]
        cmd += ["--cold"] if workload == "W6" else ["--workload", workload]
        if fw == "graphdl":
            cmd += ["--backend", self.backend]
        if self.quick and workload != "W6":
            cmd.append("--quick")
        return cmd

    def run(self, fw, workload, cache_dir):
        """One cell in a fresh process; returns its result dict (``ok`` False with ``error`` on failure)."""
        env = cache_env(self.env, cache_dir)
        t_launch = time.time()
        env["BENCH_T0"] = repr(t_launch)
        try:
            proc = subprocess.run(self._command(fw, workload), check=False, cwd=ROOT, env=env, capture_output=True, text=True,
                                  timeout=self.timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return {"fw": fw, "workload": workload, "ok": False, "error": f"timed out after {self.timeout} s"}
        exit_s = time.time() - t_launch
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_PREFIX)]
        if not lines:
            tail = (proc.stderr or proc.stdout)[-1500:].strip()
            return {"fw": fw, "workload": workload, "ok": False,
                    "error": f"worker exited with status {proc.returncode} without a result: {tail}"}
        result = json.loads(lines[-1][len(RESULT_PREFIX):])
        if workload == "W6":
            result["exit_s"] = exit_s
        return result


def plan_cells(frameworks, workloads, available):
    """Steady-state cells to run, in framework order, plus the yardsticks W4 and W5 are compared with."""
    cells = {w: [fw for fw in frameworks if available[fw] and w in FRAMEWORKS[fw].workloads]
             for w in workloads if w in STEADY}
    if "W4" in cells:
        cells["W4"].append("numpy-copy")
    if "W5" in cells and "numpy" not in cells["W5"]:
        cells["W5"].append("numpy")  # the plain-NumPy floor
    return cells


def measure(args, frameworks, available):
    """Run every round of every cell; returns {(fw, workload): [round results]}."""
    runner = Runner(args.threads, args.backend, args.quick, args.cell_timeout)
    cells = plan_cells(frameworks, args.workloads, available)
    cold_fws = [fw for fw in frameworks if available[fw] and "W6" in FRAMEWORKS[fw].workloads]
    if "W6" not in args.workloads:
        cold_fws = []
    results = {}
    dropped = set()
    total = args.rounds * sum(len(v) for v in cells.values()) + args.cold_rounds * 2 * len(cold_fws)
    steady_cache = tempfile.mkdtemp(prefix="graphdl-bench-cache-")
    try:
        with tqdm(total=total, desc="bench", unit="cell", file=sys.stderr, dynamic_ncols=True) as bar:
            for r in range(args.rounds):
                for workload, fws in cells.items():
                    for fw in (fws if r % 2 == 0 else fws[::-1]):
                        if (fw, workload) in dropped:
                            continue
                        bar.set_postfix_str(f"round {r + 1}/{args.rounds} {workload} {fw}")
                        res = runner.run(fw, workload, steady_cache)
                        res["round"] = r
                        results.setdefault((fw, workload), []).append(res)
                        bar.update()
                        if not res.get("ok"):  # unsupported or broken: later rounds would say the same
                            dropped.add((fw, workload))
                            bar.total -= args.rounds - 1 - r
                            bar.refresh()
            for r in range(args.cold_rounds):
                for fw in (cold_fws if r % 2 == 0 else cold_fws[::-1]):
                    cache = tempfile.mkdtemp(prefix=f"graphdl-bench-cold-{fw}-")
                    try:
                        for phase in ("cold", "warm"):
                            bar.set_postfix_str(f"W6 round {r + 1}/{args.cold_rounds} {fw} {phase}")
                            res = runner.run(fw, "W6", cache)
                            res.update(round=r, phase=phase)
                            results.setdefault((fw, "W6-" + phase), []).append(res)
                            bar.update()
                    finally:
                        shutil.rmtree(cache, ignore_errors=True)
    finally:
        shutil.rmtree(steady_cache, ignore_errors=True)
    return results


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Frameworks: " + ", ".join(DEFAULT_FRAMEWORKS) + " (default: those installed); extras: "
               + ", ".join(EXTRA_FRAMEWORKS) + "; 'all' = both.")
    names = list(DEFAULT_FRAMEWORKS) + list(EXTRA_FRAMEWORKS)
    parser.add_argument("--workloads", default="W1,W2,W3,W4,W5,W6",
                        type=lambda s: parse_list(s, ["W1", "W2", "W3", "W4", "W5", "W6"], "workload"),
                        help="comma-separated subset of W1..W6 (default: all)")
    parser.add_argument("--frameworks", default=None,
                        type=lambda s: names if s == "all" else parse_list(s, names, "framework"),
                        help="comma-separated frameworks (default: graphdl and every installed default peer)")
    parser.add_argument("--rounds", type=int, default=None, help="steady-state rounds per cell (default 5; --quick 1)")
    parser.add_argument("--cold-rounds", type=int, default=None,
                        help="W6 rounds, each a cold and a warm process (default min(rounds, 3))")
    parser.add_argument("--backend", default=None, help="graphdl backend (default: numba if available, else reference)")
    parser.add_argument("--threads", type=int, default=2, help="threads for every framework (default 2)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 1 round, a few timed calls per cell (numbers are indicative only)")
    parser.add_argument("--cell-timeout", type=float, default=900, help="seconds before a cell process is killed")
    parser.add_argument("--markdown", metavar="PATH", help="also write the report to PATH")
    parser.add_argument("--json", metavar="PATH", help="write every raw result and the summary to PATH")
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    if args.rounds is None:
        args.rounds = 1 if args.quick else 5
    if args.cold_rounds is None:
        args.cold_rounds = min(args.rounds, 3)
    if args.rounds < 1 or args.cold_rounds < 0 or args.threads < 1:
        raise SystemExit("bench.run: --rounds and --threads must be >= 1, --cold-rounds >= 0")
    explicit = args.frameworks is not None
    frameworks = args.frameworks if explicit else list(DEFAULT_FRAMEWORKS)
    available = {fw: installed(fw) for fw in set(frameworks) | {"numpy", "numpy-copy"}}
    if not explicit:  # list peers that are not installed, but give them no column
        missing = [fw for fw in frameworks if not available[fw]]
        frameworks = [fw for fw in frameworks if available[fw]]
    else:
        missing = [fw for fw in frameworks if not available[fw]]
    args.backend = resolve_backend(args.backend) if available.get("graphdl") else args.backend

    started = datetime.datetime.now()
    results = measure(args, frameworks, available)
    finished = datetime.datetime.now()

    dists = ["numpy", "numba", "llvmlite", "graphdl", "tqdm"]
    for fw in frameworks:
        dists += [d for d in FRAMEWORKS[fw].dists if d not in dists]
    meta = {
        "started": started.isoformat(timespec="seconds"), "finished": finished.isoformat(timespec="seconds"),
        "cpu": timing.cpu_model(), "cores": os.cpu_count(), "threads": args.threads,
        "backend": args.backend, "rounds": args.rounds, "cold_rounds": args.cold_rounds, "quick": args.quick,
        "command": "python -m bench.run" + (" " + shlex.join(argv) if argv else ""),
        "versions": timing.versions(dists), "not_installed": missing,
    }
    summary = report.summarize(results)
    text = report.render(meta, frameworks, args.workloads, summary, NOT_INSTALLED)
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text + "\n", encoding="utf-8")
    if args.json:
        payload = {"meta": meta, "frameworks": frameworks, "workloads": args.workloads,
                   "summary": {f"{fw}|{w}": s for (fw, w), s in summary.items()},
                   "results": [r for rs in results.values() for r in rs]}
        Path(args.json).write_text(json.dumps(payload, indent=1), encoding="utf-8")
    failed = [key for key, s in summary.items() if s.get("error") or s.get("check_ok") is False]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
