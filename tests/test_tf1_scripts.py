"""The TF1-style scripts of examples/tf1 run unchanged on graphdl and learn as they do under TensorFlow.

``examples/tf1/tensorflow_results.json`` holds each script's final metrics under TensorFlow (recorded
with ``compare_with_tensorflow.py``). Scripts whose randomness is all NumPy's (weights, noise, batch
order) match TensorFlow to rounding; scripts that draw from the framework's own generator (cell
initializers, dropout masks) or amplify rounding (GAN training) are compared with a tolerance
that TensorFlow's own run-to-run spread needs too.
"""

import importlib.util
import json
import math
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TF1_DIR = os.path.join(ROOT, "examples", "tf1")
_spec = importlib.util.spec_from_file_location("compare_with_tensorflow", os.path.join(TF1_DIR,
                                                                                     "compare_with_tensorflow.py"))
compare = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compare)

with open(os.path.join(TF1_DIR, "tensorflow_results.json")) as _f:
    TENSORFLOW = json.load(_f)["scripts"]

# Every randomness is NumPy's: the final metrics agree with TensorFlow's to float32 rounding.
SAME_AS_TENSORFLOW = {"linear_regression.py", "logistic_regression.py", "mlp.py", "autoencoder.py", "vae.py",
                      "save_restore.py", "tensorboard_basic.py", "tensorboard_advanced.py"}


def _close(metric, ours, theirs, script):
    if script in SAME_AS_TENSORFLOW:
        return math.isclose(ours, theirs, rel_tol=5e-3, abs_tol=1e-5)
    if metric == "images":  # how many examples the input pipeline delivered over its epochs
        return ours == theirs
    if metric == "accuracy":
        # Weights drawn without a seed (TF1's default) vary run to run in both frameworks (this script's test
        # accuracy spreads over 0.88-0.94 between graphdl runs): learning at least as well as TensorFlow's
        # recorded run, within 0.06, is the check.
        return ours >= theirs - 0.06
    if metric == "sample_mean":
        return math.isclose(ours, theirs, rel_tol=0.05)
    # losses after training from differently drawn initial weights / dropout masks: same magnitude
    return ours <= 2.5 * theirs + 0.05 and theirs <= 2.5 * ours + 0.05


# Scripts added while no TensorFlow was at hand: they check what they learned only, until
# `compare_with_tensorflow.py --tf-python ...` records their TensorFlow figures.
AWAITING_TENSORFLOW_FIGURES = {"monitored_training.py"}


def test_every_script_has_tensorflow_figures_or_a_reason():
    for name in compare.scripts():
        assert name in TENSORFLOW or name in compare.NEEDS_TF1_CONTRIB or name in AWAITING_TENSORFLOW_FIGURES, name


# What each script's own output shows, independent of TensorFlow's figures.
LEARNED = {
    "linear_regression.py": lambda m: m["cost"] < 0.5,
    "autoencoder.py": lambda m: m["initial"] / m["loss"] > 3,
    "vae.py": lambda m: m["loss"] < 0.6 * m["initial"],
    "save_restore.py": lambda m: m["restored_accuracy"] == m["saved_accuracy"] and m["accuracy"] > 0.9,
    "gan.py": lambda m: 0.2 < m["disc_loss"] < 2.0 and abs(m["sample_mean"] - 0.306) < 0.1,
    # 10 digit classes after 5 epochs from unseeded LSTM weights (TF1's default): 0.84-0.94 over 25 graphdl runs,
    # TensorFlow's recorded run 0.877; 0.80 is learned, not the default 0.85 that the low tail misses.
    "bidirectional_rnn.py": lambda m: m["accuracy"] >= 0.80,
    # Stops at step 300, resumes from its checkpoint for exactly 300 more steps, and learns.
    "monitored_training.py": lambda m: m["resumed_steps"] == 300 and m["first_accuracy"] > 0.9
    and m["accuracy"] > 0.9 and m["loss"] < 0.2 * m["initial"],
}


@pytest.mark.parametrize("script", compare.scripts())
def test_script_runs_unchanged_and_learns_like_tensorflow(script):
    ours, _ = compare.run_script(sys.executable, script)
    learned = LEARNED.get(script, lambda m: m["accuracy"] >= 0.85)
    assert learned(ours), f"{script}: {ours}"
    if script in compare.NEEDS_TF1_CONTRIB or (script in AWAITING_TENSORFLOW_FIGURES and script not in TENSORFLOW):
        return
    theirs = TENSORFLOW[script]
    assert set(ours) == set(theirs)
    off = {k: (ours[k], theirs[k]) for k in theirs if not _close(k, ours[k], theirs[k], script)}
    assert not off, f"{script}: graphdl vs TensorFlow differ: {off}"
