"""Run every TF1-style script here under graphdl and under TensorFlow, and compare their final metrics.

Each script imports ``graphdl.compat.v1 as tf``; for TensorFlow the copy run differs only in that
line (``import tensorflow.compat.v1 as tf``). Usage::

    python examples/tf1/compare_with_tensorflow.py --tf-python /path/to/venv-with-tensorflow/bin/python \
        [--write examples/tf1/tensorflow_results.json] [scripts...]

The recorded TensorFlow figures are what tests/test_tf1_scripts.py compares graphdl against.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
GRAPHDL_IMPORT = "import graphdl.compat.v1 as tf"
TENSORFLOW_IMPORT = "import tensorflow.compat.v1 as tf"
# TensorFlow 2.x has no tf.contrib: scripts that use it run under graphdl only.
NEEDS_TF1_CONTRIB = {"lstm_static_rnn.py"}


def scripts():
    """The TF1-style scripts of this directory, by file name."""
    return sorted(f for f in os.listdir(HERE) if f.endswith(".py") and not f.startswith("_")
                  and f != os.path.basename(__file__))


def parse_result(output):
    """The metrics of a script's ``RESULT k=v ...`` line."""
    lines = [line for line in output.splitlines() if line.startswith("RESULT ")]
    if not lines:
        raise RuntimeError("the script printed no RESULT line:\n" + output[-2000:])
    return {k: float(v) for k, v in re.findall(r"(\w+)=(\S+)", lines[-1])}


def run_script(python, name, import_line=GRAPHDL_IMPORT, timeout=900):
    """Run one script with ``python`` (its import line replaced by ``import_line``); return (metrics, seconds)."""
    with open(os.path.join(HERE, name)) as f:
        source = f.read()
    if GRAPHDL_IMPORT not in source:
        raise ValueError(f"{name} does not import graphdl.compat.v1 as tf")
    source = source.replace(GRAPHDL_IMPORT, import_line, 1)
    if import_line != GRAPHDL_IMPORT:
        source = source.replace("from graphdl.compat.v1.", "from tensorflow.compat.v1.")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TF_USE_LEGACY_KERAS="1", PYTHONPATH=HERE)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            f.write(source)
        start = time.perf_counter()
        proc = subprocess.run([python, path], cwd=HERE, env=env, capture_output=True, text=True, timeout=timeout, check=False)
        seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{name} failed under {python}:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return parse_result(proc.stdout), seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tf-python", required=True, help="a Python interpreter with tensorflow installed")
    parser.add_argument("--write", help="write TensorFlow's metrics to this JSON file")
    parser.add_argument("names", nargs="*", help="scripts to run (default: all)")
    args = parser.parse_args(argv)
    version = subprocess.run([args.tf_python, "-c", "import tensorflow as tf; print(tf.__version__)"],
                             capture_output=True, text=True, check=False, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
                             ).stdout.strip()
    recorded = {"tensorflow_version": version, "scripts": {}}
    if args.write and os.path.exists(args.write):  # update the figures of the scripts run, keep the others
        with open(args.write) as f:
            recorded["scripts"] = json.load(f)["scripts"]
    print(f"{'script':24s} {'metric':16s} {'graphdl':>10s} {'tensorflow':>10s} {'diff':>8s}   time gd/tf")
    for name in args.names or scripts():
        if name in NEEDS_TF1_CONTRIB:
            print(f"{name:24s} (uses tf.contrib, absent from TensorFlow {version}: graphdl only)")
            continue
        ours, t_ours = run_script(sys.executable, name)
        theirs, t_theirs = run_script(args.tf_python, name, TENSORFLOW_IMPORT)
        recorded["scripts"][name] = theirs
        for key, value in theirs.items():
            mine = ours.get(key, float("nan"))
            rel = abs(mine - value) / max(abs(value), 1e-12)
            print(f"{name:24s} {key:16s} {mine:10.5g} {value:10.5g} {rel:7.1%}   {t_ours:.1f}s/{t_theirs:.1f}s")
    if args.write:
        tmp = args.write + ".tmp"
        with open(tmp, "w") as f:
            json.dump(recorded, f, indent=1, sort_keys=True)
            f.write("\n")
        os.replace(tmp, args.write)


if __name__ == "__main__":
    main()
