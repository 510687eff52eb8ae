"""Compiler dumps (GRAPHDL_DUMP_DIR / ConfigProto(dump_dir=...)): graphs around every pass, the plan, kernel sources."""

import importlib.util
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

import graphdl as gd
from graphdl.client.dumps import DUMP_DIR_ENV, safe_file_name
from graphdl.client.program import prune
from graphdl.passes.pipeline import pass_names


def _mlp_training_step():
    """A 3-layer MLP with softmax cross entropy and Adam, seeded so every session starts alike."""
    gd.set_random_seed(7)
    x = gd.placeholder(gd.float32, [None, 8], name="x")
    y = gd.placeholder(gd.int64, [None], name="y")
    h = gd.layers.dense(x, 16, activation=gd.nn.relu, name="dense1")
    h = gd.layers.dense(h, 16, activation=gd.nn.relu, name="dense2")
    logits = gd.layers.dense(h, 3, name="logits")
    loss = gd.reduce_mean(gd.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits), name="loss")
    train = gd.train.AdamOptimizer(0.01).minimize(loss, name="train")
    rng = np.random.default_rng(0)
    feed = {x: rng.standard_normal((5, 8)).astype(np.float32), y: np.array([0, 1, 2, 0, 1])}
    return loss, train, gd.global_variables_initializer(), feed


def _train_twice(config=None, backend=None):
    loss, train, init, feed = _mlp_training_step()
    sess = gd.Session(config=config, backend=backend)
    sess.run(init)
    losses = [sess.run([loss, train], feed)[0] for _ in range(2)]
    return sess, losses, (loss, train), feed


def _folders(root):
    return sorted(os.listdir(root)) if os.path.isdir(root) else []


def _index_files(folder) -> list:
    with open(os.path.join(folder, "index.md")) as f:
        return re.findall(r"^- `([^`]+)`", f.read(), flags=re.MULTILINE)


def _parse_dot(path, pydot_fallback=True) -> str:
    """The DOT text of ``path``, checked with Graphviz's parser (``nop``) or else pydot (slow: some files only)."""
    with open(path) as f:
        text = f.read()
    assert text.startswith("digraph"), path
    if shutil.which("nop"):
        done = subprocess.run(["nop", str(path)], capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, f"{path} does not parse: {done.stderr}"
    elif pydot_fallback and importlib.util.find_spec("pydot"):
        import pydot

        graphs = pydot.graph_from_dot_data(text)
        assert graphs and len(graphs) == 1, f"{path} does not parse as one DOT graph"
    return text


def test_mlp_training_step_dump_has_every_pass_the_plan_and_the_kernels(tmp_path, monkeypatch):
    root = tmp_path / "dump"
    monkeypatch.setenv(DUMP_DIR_ENV, str(root))
    sess, losses, fetches, feed = _train_twice()
    assert _folders(root) == ["0001_init", "0002_loss+train"]
    folder = root / "0002_loss+train"
    explanation = sess.explain(list(fetches), feed)
    executable = sess._executable_for(sess._structure_for(list(fetches)), set(feed))[0]

    # Before/after graphs for every pass, in order, each listed in the index with its op counts.
    expected_dots = ["00_input.dot"] + [f"{i:02d}_after_{name}.dot" for i, name in enumerate(pass_names(), 1)]
    assert sorted(p.name for p in folder.glob("*.dot")) == expected_dots
    assert [r.name for r in explanation.reports] == pass_names()
    index_text = (folder / "index.md").read_text()
    indexed = _index_files(folder)
    assert indexed[: len(expected_dots)] == expected_dots
    for report in explanation.reports:
        assert f"after {report.name}: {report.ops_before} -> {report.ops_after} ops" in index_text
    assert f"input: the pruned program, {explanation.ops_before} ops" in index_text
    assert set(indexed) == {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}

    input_dot = _parse_dot(folder / "00_input.dot")
    for op in explanation.source_program.ops:
        assert f'"{op.name}"' in input_dot, f"op {op.name} missing from 00_input.dot"
    final_dot = _parse_dot(folder / expected_dots[-1])
    for path in expected_dots[1:-1]:
        _parse_dot(folder / path, pydot_fallback=False)
    assert explanation.fused_kernels, "the MLP step should have fused kernels"
    for kernel in explanation.fused_kernels:
        assert f'"{kernel["op"]}"' in final_dot
        assert f'"{kernel["op"]}"' not in input_dot

    # Every fused kernel: its compile-time source, plus every form specialized at run time.
    for kernel in explanation.fused_kernels:
        path = folder / "kernels" / f"{safe_file_name(kernel['op'])}.py"
        source = path.read_text()
        compile(source, str(path), "exec")
        assert "def kernel(" in source and " + ".join(kernel["fused_types"]) in source
    written = {p.name: p.read_text() for p in (folder / "kernels").glob("*.py")}
    for p, text in written.items():
        compile(text, p, "exec")
    assert explanation.kernel_sources  # the run-time specializations (the runs above made them)
    for key, source in explanation.kernel_sources.items():
        assert any(text.endswith(source) for text in written.values()), f"kernel {key} not dumped"
    assert any(name.endswith(".fr.py") for name in written), "a bias (row) input gives an 'fr' kernel"

    # The plan names every step with its implementation, and holds the generated executor.
    plan = (folder / "plan.txt").read_text()
    rows = {line.split()[1]: line.split()[3] for line in plan.splitlines() if re.match(r"^\d+\s", line)}
    assert rows == {step.op.name: step.implementation for step in executable.steps}
    assert executable.source.strip() in plan
    assert "passes.txt" in indexed

    # Dumping changes no result.
    gd.reset_default_graph()
    monkeypatch.delenv(DUMP_DIR_ENV)
    _, plain_losses, _, _ = _train_twice()
    np.testing.assert_allclose(losses, plain_losses, rtol=1e-6)
    assert _folders(root) == ["0001_init", "0002_loss+train"]


def test_no_dump_when_unset(tmp_path, monkeypatch):
    monkeypatch.delenv(DUMP_DIR_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    sess, _, fetches, feed = _train_twice()
    executable = sess._executable_for(sess._structure_for(list(fetches)), set(feed))[0]
    assert type(executable).__name__ == "NumbaExecutable"
    assert os.listdir(tmp_path) == []


def test_config_option_wins_over_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(DUMP_DIR_ENV, str(tmp_path / "from_env"))
    config = gd.ConfigProto(dump_dir=str(tmp_path / "from_config"), disabled_passes=("common_subexpressions",))
    _train_twice(config)
    assert not (tmp_path / "from_env").exists()
    folder = tmp_path / "from_config" / "0002_loss+train"
    ran = [name for name in pass_names() if name != "common_subexpressions"]
    expected = ["00_input.dot"] + [f"{i:02d}_after_{name}.dot" for i, name in enumerate(ran, 1)]
    assert sorted(p.name for p in folder.glob("*.dot")) == expected
    # A second session dumping to the same folder continues the numbering.
    gd.reset_default_graph()
    _train_twice(config)
    assert _folders(tmp_path / "from_config") == ["0001_init", "0002_loss+train", "0003_init", "0004_loss+train"]


def test_reference_backend_dumps_its_input_and_plan(tmp_path, monkeypatch):
    monkeypatch.setenv(DUMP_DIR_ENV, str(tmp_path))
    sess, _, fetches, feed = _train_twice(backend="reference")
    folder = tmp_path / "0002_loss+train"
    assert sorted(p.name for p in folder.iterdir()) == ["00_input.dot", "index.md", "plan.txt"]
    assert "No passes ran" in (folder / "index.md").read_text()
    plan = (folder / "plan.txt").read_text()
    loss, train = fetches
    program_ops = prune(sess.graph, (loss,), tuple(feed), (train,)).ops
    assert re.search(rf"reference, {len(program_ops)} steps", plan)
    named = [line.split()[1] for line in plan.splitlines() if re.match(r"^\d+\s", line)]
    assert named == [op.name for op in program_ops]
    _parse_dot(folder / "00_input.dot")


def test_a_dump_folder_that_cannot_be_made_is_named(tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    monkeypatch.setenv(DUMP_DIR_ENV, str(blocker / "dumps"))
    with pytest.raises(OSError, match="a_file/dumps"):
        _train_twice()
