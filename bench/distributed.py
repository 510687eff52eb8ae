"""W1 data-parallel on MPI: steps/s with 1 and 2 worker processes, and the allreduce time per step.

    python -m bench.distributed                     # 3 rounds, about a minute
    python -m bench.distributed --rounds 5 --steps 600 --markdown distributed.md

Configurations (every process count splits the machine's cores evenly: ``--cores`` threads in all):

- ``1 process``: the W1 step as ``bench.run`` measures it (batch 128, all cores), and the same on
  one thread (what each of the two workers below has).
- ``2 processes, batch 128 each``: weak scaling, the global batch is 256; Horovod's usual setting.
- ``2 processes, batch 64 each``: strong scaling, the global batch stays 128 (each worker takes half
  of W1's fixed batch); the first loss averaged over the workers equals W1's 2.37813.
- ``2 processes, batch 128 each, float16 gradients``: weak scaling with ``Compression.fp16``.

Each configuration runs in fresh processes (``mpiexec -n P python -m bench.distributed --worker ...``),
rounds alternate the order, and a figure is the median over rounds of rank 0's median step time. A run
during which other processes kept more than ``--max-load`` cores busy is repeated (up to ``--retries``
times) and left out of the figures (unless no run was quiet); the table says how many runs it kept
and the highest load among them. The
allreduce time is what ``DistributedOptimizer``'s fused allreduce took per step on rank 0 (from the
start of the MPI call to its end, so it includes waiting for the slower worker), and "isolated" is
the same allreduce (W1's 407,050 float32 gradients, 1.6 MB) timed alone after a barrier.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench import timing
from bench import workloads as W

RESULT_PREFIX = "@@D "
REPO = Path(__file__).resolve().parents[1]
CONFIGS = {
    "1x128": {"processes": 1, "batch": 128, "label": "1 process, batch 128"},
    "1x128-1core": {"processes": 1, "batch": 128, "threads": 1, "label": "1 process, batch 128, one core"},
    "2x128": {"processes": 2, "batch": 128, "label": "2 processes, batch 128 each (global 256)"},
    "2x64": {"processes": 2, "batch": 64, "label": "2 processes, batch 64 each (global 128)"},
    "2x128-fp16": {"processes": 2, "batch": 128, "fp16": True,
                   "label": "2 processes, batch 128 each, float16 gradients (`Compression.fp16`)"},
}
# MPICH sums float16 in software, slowly (about 10x float32, 100x on subnormal gradients): measured on request.
DEFAULT_CONFIGS = ("1x128", "1x128-1core", "2x128", "2x64")


def _time_isolated_allreduce(comm, num_values, dtype, calls=50):
    """Median seconds of one Iallreduce (through graphdl's timed wait) of ``num_values`` values, after a barrier."""
    import numpy as np

    from graphdl.distributed.collectives import wait
    from graphdl.distributed.world import world

    if comm is None:
        return None
    from mpi4py import MPI

    class _Op:  # what wait() names in its timeout message
        type, name = "bench", "isolated allreduce"

    buffer = np.ones(num_values, dtype)
    times = []
    for _ in range(calls):
        comm.Barrier()
        t0 = time.perf_counter()
        wait(world(), comm.Iallreduce(MPI.IN_PLACE, buffer, op=MPI.SUM), _Op, "an allreduce")
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def worker(batch, steps, warmup, fp16=False):
    """One worker of a configuration: build W1 with DistributedOptimizer, time ``steps`` steps, print a result."""
    import numpy as np

    import graphdl as tf
    import graphdl.distributed as hvd
    from bench.fw_graphdl import mlp_forward
    from graphdl.distributed.world import world

    hvd.init()
    rank, size = hvd.rank(), hvd.size()
    x_all, y_all = W.w1_data()
    # Strong scaling splits W1's fixed batch; weak scaling gives every worker the whole of it.
    part = slice(rank * batch, (rank + 1) * batch) if batch * size <= W.W1_BATCH else slice(0, batch)
    x, y = x_all[part], y_all[part]
    threads = int(os.environ.get("BENCH_THREADS", "1"))
    config = tf.ConfigProto(intra_op_parallelism_threads=threads, inter_op_parallelism_threads=threads)
    graph = tf.Graph()
    with graph.as_default():
        x_ph = tf.placeholder(tf.float32, x.shape, name="x")
        y_ph = tf.placeholder(tf.int64, y.shape, name="y")
        v = {k: tf.Variable(p, name=k) for k, p in W.mlp_params().items()}
        logits = mlp_forward(v, x_ph)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y_ph, logits=logits))
        compression = hvd.Compression.fp16 if fp16 else hvd.Compression.none
        train_op = hvd.DistributedOptimizer(tf.train.AdamOptimizer(W.ADAM["lr"]), compression=compression).minimize(loss)
        mean_loss = hvd.allreduce(loss) if size > 1 else loss
        init = tf.global_variables_initializer()
    sess = tf.Session(graph=graph, config=config)
    sess.run(init)
    feed = {x_ph: x, y_ph: y}
    first_loss = float(sess.run(mean_loss, feed))
    for _ in range(warmup):
        sess.run([train_op, loss], feed)
    hvd.reset_collective_stats()
    comm = world().comm if size > 1 else None
    start, busy, own = time.perf_counter(), timing._busy_ticks(), timing._own_ticks()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        sess.run([train_op, loss], feed)
        times.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - start
    busy, own = timing._busy_ticks() - busy, timing._own_ticks() - own
    # Cores kept busy by processes other than this configuration's workers (every worker's ticks are its own).
    workers_ticks = comm.allreduce(own) if comm is not None else own
    load = max((busy - workers_ticks) / os.sysconf("SC_CLK_TCK") / elapsed, 0.0)
    stats = hvd.collective_stats()["allreduce"]
    isolated = _time_isolated_allreduce(comm, sum(int(np.prod(p.shape)) for p in W.mlp_params().values()),
                                        np.float16 if fp16 else np.float32)
    if rank == 0:
        result = {"median_s": statistics.median(times), "first_loss": first_loss, "size": size, "batch": batch,
                  "allreduce_s": stats.seconds / stats.calls if stats.calls else 0.0,
                  "allreduce_calls_per_step": stats.calls / steps, "isolated_allreduce_s": isolated, "load": load}
        sys.stdout.write(RESULT_PREFIX + json.dumps(result) + "\n")
        sys.stdout.flush()


def _mpiexec():
    beside_python = Path(sys.executable).with_name("mpiexec")
    found = str(beside_python) if beside_python.exists() else shutil.which("mpiexec")
    if found is None:
        raise SystemExit("mpiexec not found: pip install 'graphdl[mpi]' (mpi4py and mpich)")
    return found


def run_config(name, cores, steps, warmup):
    """Run configuration ``name`` once in fresh processes; returns rank 0's result dict."""
    spec = CONFIGS[name]
    threads = spec.get("threads", max(1, cores // spec["processes"]))
    env = timing.thread_env(threads)
    command = [sys.executable, "-m", "bench.distributed", "--worker", "--batch", str(spec["batch"]),
               "--steps", str(steps), "--warmup", str(warmup)] + (["--fp16"] if spec.get("fp16") else [])
    if spec["processes"] > 1:
        command = [_mpiexec(), "-n", str(spec["processes"]), *command]
    proc = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
    lines = [line for line in proc.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"{spec['label']} failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    result = json.loads(lines[-1][len(RESULT_PREFIX):])
    result["threads"] = threads
    expected = W.EXPECTED_INITIAL_LOSS["W1"]
    if round(result["first_loss"], W.LOSS_DECIMALS) != round(expected, W.LOSS_DECIMALS):
        raise SystemExit(f"{spec['label']}: first loss {result['first_loss']:.6f}, expected W1's {expected}")
    return result


def _kept(runs):
    """The runs no other process disturbed, or all of them when none was quiet."""
    quiet = [r for r in runs if r["quiet"]]
    return quiet or runs


def report(results, cores, steps):
    """A Markdown table of medians over the quiet runs, with ratios against the single process."""
    single = statistics.median(r["median_s"] for r in _kept(results["1x128"]))
    lines = [
        ("| configuration | threads / process | steps/s | examples/s | vs 1 process (examples/s) | first loss | "
         "allreduce per step, in the step | isolated allreduce | runs kept, other processes' load |"),
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, runs in results.items():
        spec = CONFIGS[name]
        rounds = _kept(runs)
        step = statistics.median(r["median_s"] for r in rounds)
        examples = spec["batch"] * spec["processes"] / step
        if spec["processes"] > 1:
            allreduce = statistics.median(r["allreduce_s"] * r["allreduce_calls_per_step"] for r in rounds)
            isolated = statistics.median(r["isolated_allreduce_s"] for r in rounds)
            allreduce_cells = f"{allreduce * 1e3:.3f} ms | {isolated * 1e3:.3f} ms"
        else:
            allreduce_cells = "— | —"
        load = max(r["load"] for r in rounds)
        lines.append(f"| {spec['label']} | {rounds[0]['threads']} | {1 / step:.0f} | {examples:.0f} | "
                     f"{examples / (W.W1_BATCH / single):.2f}x | {rounds[0]['first_loss']:.5f} | {allreduce_cells} | "
                     f"{len(rounds)} of {len(runs)}, {load:.2f} |")
    header = (f"W1 (MLP 784-512-10, Adam), {cores} cores in all, {steps} timed steps per run; figures are medians "
              f"over the runs no other process disturbed; CPU: {timing.cpu_model()}")
    return header + "\n\n" + "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=400, help="timed steps per run (every worker runs as many)")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--cores", type=int, default=2, help="threads in all, split among the processes")
    parser.add_argument("--configs", default=",".join(DEFAULT_CONFIGS),
                        help=f"comma-separated configurations among {', '.join(CONFIGS)} (default: all but fp16)")
    parser.add_argument("--markdown", default=None, help="also write the table to this file")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=W.W1_BATCH, help=argparse.SUPPRESS)
    parser.add_argument("--fp16", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--max-load", type=float, default=0.1,
                        help="repeat a run while other processes kept more than this many cores busy (default 0.1)")
    parser.add_argument("--retries", type=int, default=6, help="repeats of a run over --max-load (default 6)")
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.batch, args.steps, args.warmup, args.fp16)
        return 0
    order = [name.strip() for name in args.configs.split(",") if name.strip()]
    unknown = [name for name in order if name not in CONFIGS]
    if unknown or "1x128" not in order:
        parser.error(f"--configs: unknown {unknown} (choose among {', '.join(CONFIGS)}; 1x128 is the baseline)")
    results = {name: [] for name in order}
    for round_index in range(args.rounds):
        for name in order if round_index % 2 == 0 else reversed(order):
            for attempt in range(args.retries + 1):
                if attempt:
                    time.sleep(10)
                result = run_config(name, args.cores, args.steps, args.warmup)
                result["quiet"] = result["load"] <= args.max_load
                results[name].append(result)
                print(f"round {round_index + 1}: {CONFIGS[name]['label']}: {1 / result['median_s']:.0f} steps/s, "
                      f"allreduce {result['allreduce_s'] * 1e3:.3f} ms/call, other processes kept "
                      f"{result['load']:.2f} cores busy{'' if result['quiet'] else ' (run again)'}", flush=True)
                if result["quiet"]:
                    break
    table = report(results, args.cores, args.steps)
    print(table)
    if args.markdown:
        path = Path(args.markdown)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(table + "\n")
        os.replace(tmp, path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
