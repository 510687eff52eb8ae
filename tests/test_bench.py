"""The benchmark harness (bench/): reproducible workload data, a quick end-to-end run, the report.

The quick run starts ``python -m bench.run`` exactly as a user would, for graphdl alone on
the reference backend, and checks what it measured: the initial losses of WORKLOADS.md for
every training workload graphdl supports now, W4/W5 outputs against float64 NumPy, W6 start
times, the NumPy yardsticks, and the Markdown table.
"""

import hashlib
import importlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # bench/ sits beside graphdl/ in the repository and is not installed
report = importlib.import_module("bench.report")
run = importlib.import_module("bench.run")
workloads = importlib.import_module("bench.workloads")
missing_ops = importlib.import_module("bench.fw_graphdl").missing_ops

# sha256 (first 16 hex digits) of the data and initial parameters, in generation order, as the
# peer-framework anchors made them: the bench reproduces them bit for bit.
ANCHOR_DIGESTS = {
    "W1": "86a2d7db829329ef",
    "W2": "e857281564afd68b",
    "W3": "6c3797db03368e44",
    "W4": "d39ef734d240df8c",
    "W5": "30ca6e4b56761679",
}


def digest(*arrays):
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def test_workload_data_is_bit_identical_to_the_anchors():
    made = {
        "W1": digest(*workloads.w1_data(), *workloads.mlp_params().values()),
        "W2": digest(*workloads.w2_data(), *workloads.cnn_params().values()),
        "W3": digest(*workloads.w3_data(), *workloads.lstm_params().values()),
        "W4": digest(workloads.w4_input()),
        "W5": digest(workloads.w5_input()),
    }
    assert made == ANCHOR_DIGESTS


def test_workload_shapes_dtypes_and_flops():
    x, y = workloads.w1_data()
    assert (x.shape, x.dtype, y.shape, y.dtype) == ((128, 784), np.float32, (128,), np.int64)
    assert 0 <= y.min() and y.max() < 10
    p = workloads.mlp_params()
    assert p["W1"].shape == (784, 512) and np.abs(p["W1"]).max() <= 1 / np.sqrt(784)
    assert not p["b1"].any() and not p["b2"].any()
    x2, _ = workloads.w2_data_nhwc()
    assert x2.shape == (64, 32, 32, 3)
    assert workloads.cnn_params_nhwc()["c1w"].shape == (5, 5, 3, 6)
    assert workloads.lstm_params_concat()["W"].shape == (28 + 128, 512)
    flops = workloads.training_flops()
    assert round(flops["W1"] / 1e9, 4) == 0.2095
    assert round(flops["W2"] / 1e9, 4) == 0.2051
    assert round(flops["W3"] / 1e9, 4) == 1.6158


def test_nhwc_flatten_order_matches_the_nchw_flatten():
    rng = np.random.default_rng(0)
    act = rng.standard_normal((2, 16, 5, 5))          # NCHW pool2 output
    w = rng.standard_normal((400, 3))
    perm = workloads.nchw_flatten_order_for_nhwc()
    nchw = act.reshape(2, 400) @ w
    nhwc = act.transpose(0, 2, 3, 1).reshape(2, 400) @ w[perm]
    np.testing.assert_allclose(nhwc, nchw, rtol=1e-12)


def test_loss_check_uses_four_decimals():
    assert workloads.loss_matches("W1", 2.378134)
    assert workloads.loss_matches("W1", 2.37809)
    assert not workloads.loss_matches("W1", 2.3780)
    assert not workloads.loss_matches("W3", 2.30685)


def test_unknown_workload_or_framework_is_rejected(capsys):
    parser = run.build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["--workloads", "W1,W9"])
    assert "unknown workload W9" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser.parse_args(["--frameworks", "graphdl,caffe"])
    assert "unknown framework caffe" in capsys.readouterr().err
    assert parser.parse_args(["--frameworks", "all"]).frameworks[0] == "graphdl"


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """One quick graphdl-only run of every workload on the reference backend."""
    out = tmp_path_factory.mktemp("bench")
    cmd = [sys.executable, "-m", "bench.run", "--quick", "--frameworks", "graphdl", "--backend", "reference",
           "--json", str(out / "r.json"), "--markdown", str(out / "r.md")]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-3000:]}"
    data = json.loads((out / "r.json").read_text())
    return proc, data, (out / "r.md").read_text()


def test_quick_run_initial_losses_match_workloads_md(quick_run):
    _, data, _ = quick_run
    summary = data["summary"]
    checked = []
    for w in workloads.TRAINING:
        s = summary[f"graphdl|{w}"]
        if missing_ops(w):
            assert s["skip"].startswith("not supported yet"), s
            continue
        assert abs(s["first_loss"] - workloads.EXPECTED_INITIAL_LOSS[w]) < 5e-5, (w, s["first_loss"])
        assert s["check_ok"] is True
        assert s["last_loss"] < s["first_loss"]  # it trains
        assert s["value_s"] > 0
        checked.append(w)
    assert "W1" in checked
    assert abs(summary["graphdl|W6-cold"]["first_loss"] - 2.37813) < 5e-5


def test_quick_run_outputs_and_yardsticks(quick_run):
    _, data, _ = quick_run
    s = data["summary"]
    assert s["graphdl|W4"]["max_abs_err"] <= 1e-5 and s["graphdl|W4"]["check_ok"]
    assert s["graphdl|W5"]["max_abs_err"] <= 1e-5 and s["graphdl|W5"]["check_ok"]
    assert s["numpy-copy|W4"]["max_abs_err"] == 0 and s["numpy-copy|W4"]["value_s"] > 0
    assert s["numpy|W5"]["value_s"] > 0          # the plain-NumPy floor, measured in the same run
    for phase in ("W6-cold", "W6-warm"):
        w6 = s[f"graphdl|{phase}"]
        assert 0 < w6["import_s"] <= w6["built_s"] <= w6["first_step_s"] <= w6["exit_s"]
    assert data["meta"]["backend"] == "reference" and data["meta"]["threads"] == 2
    rounds = [r for r in data["results"] if r["fw"] == "graphdl" and r["workload"] == "W1"]
    assert len(rounds) == 1 and rounds[0]["describe"]["backend"] == "reference"


def test_quick_run_prints_the_markdown_table(quick_run):
    proc, data, markdown = quick_run
    assert markdown.strip() == proc.stdout.strip()
    assert "| workload | graphdl (reference) |" in markdown
    for title in ("W1 MLP train, steps/s", "W4 fused elementwise 16Mi, ms / GB/s", "W5 MLP infer batch 1, µs/call",
                  "W6 cold start to 1st W1 step, s"):
        assert f"| {title}" in markdown
    assert "Command: `python -m bench.run --quick --frameworks graphdl --backend reference" in markdown
    assert "numpy " + np.__version__ in markdown and data["meta"]["cpu"] in markdown
    assert "graphdl / copy" in markdown and "NumPy floor" in markdown
    assert "bench: 100%" in proc.stderr          # tqdm progress over the cells


def _fake_summary():
    cell = {"rounds": 3, "spread": 1.1, "load_cores": 0.1, "build_s": 0.1, "first_call_s": 0.2, "check_ok": True}
    return {
        ("graphdl", "W1"): dict(cell, value_s=0.01, first_loss=2.37813, last_loss=2.0),
        ("numpy", "W1"): dict(cell, value_s=0.02, first_loss=2.37813, last_loss=2.0),
        ("graphdl", "W4"): dict(cell, value_s=0.1, max_abs_err=1e-7),
        ("numpy", "W4"): dict(cell, value_s=0.05, max_abs_err=1e-7),
        ("numpy-copy", "W4"): dict(cell, value_s=0.01, max_abs_err=0.0),
        ("graphdl", "W2"): {"rounds": 0, "skip": "not supported yet (graphdl lacks tf.nn.conv2d)", "error": None},
    }


def test_report_ratios_yardsticks_and_missing_peers():
    meta = {"started": "2026-01-02T03:04:05", "finished": "2026-01-02T03:05:05", "cpu": "Test CPU", "cores": 2,
            "threads": 2, "backend": "reference", "rounds": 3, "cold_rounds": 1, "quick": False,
            "command": "python -m bench.run", "versions": {"python": "3.11", "numpy": "2.0"},
            "not_installed": ["jax"]}
    text = report.render(meta, ["graphdl", "numpy", "jax"], ["W1", "W2", "W4"], _fake_summary())
    assert "| workload | graphdl (reference) | numpy | jax |" in text
    assert "| W1 MLP train, steps/s | 100 | 50 | not installed |" in text
    assert "| W2 LeNet train, steps/s | not supported yet | — | not installed |" in text
    assert "| W1 MLP train | 2× |" in text                 # graphdl is twice as fast as numpy on W1
    assert "| W4 fused elementwise | 0.5× |" in text
    assert "1.34 GB/s | 10.0% | ≥ 70%: not met |" in text   # 128 MiB / 0.1 s against the copy's 0.01 s
    assert "Peers not installed (skipped): jax." in text
    assert "initial loss 2.37813 ✓" in text
    assert "Warning: other processes" not in text
    busy = {k: dict(v, load_cores=1.5) for k, v in _fake_summary().items()}
    assert "Warning: other processes kept 1.5 cores busy" in report.render(meta, ["graphdl"], ["W1"], busy)


def test_summarize_takes_the_median_over_rounds():
    rounds = [{"ok": True, "median_s": t, "build_s": 0.1, "first_call_s": 0.2, "import_s": 0.3, "check_ok": True,
               "load_cores": 0.0, "n": 7, "max_abs_err": 1e-7} for t in (0.3, 0.1, 0.2)]
    s = report.summarize({("graphdl", "W4"): rounds})[("graphdl", "W4")]
    assert s["value_s"] == 0.2 and s["rounds"] == 3 and s["calls"] == 21
    assert s["spread"] == pytest.approx(3.0)
    failed = report.summarize({("graphdl", "W4"): rounds + [{"ok": False, "error": "boom"}]})[("graphdl", "W4")]
    assert failed["value_s"] == 0.2 and "1 of 4 rounds failed: boom" in failed["error"]
