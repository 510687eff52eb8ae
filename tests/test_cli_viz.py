"""The `graphdl viz` and `graphdl summary` commands on a saved MLP training graph."""

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter

import pytest

import graphdl as gd
from graphdl.cli import main

# dense 8 -> 16 -> 16 -> 3: kernels and biases.
TRAINABLE = 8 * 16 + 16 + 16 * 16 + 16 + 16 * 3 + 3  # 467
NON_TRAINABLE = 2 * TRAINABLE + 2  # Adam's two slots per variable, beta1_power and beta2_power


@pytest.fixture
def saved_graph(tmp_path):
    """A saved MLP training graph (meta graph file) and the graph itself."""
    x = gd.placeholder(gd.float32, [None, 8], name="x")
    y = gd.placeholder(gd.int64, [None], name="y")
    h = gd.layers.dense(x, 16, activation=gd.nn.relu, name="dense1")
    h = gd.layers.dense(h, 16, activation=gd.nn.relu, name="dense2")
    logits = gd.layers.dense(h, 3, name="logits")
    loss = gd.reduce_mean(gd.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits), name="loss")
    gd.train.AdamOptimizer(0.01).minimize(loss, name="train")
    path = str(tmp_path / "mlp.meta")
    gd.save_graph(gd.get_default_graph(), path)
    return path, gd.get_default_graph()


def _node_ids(dot_text) -> set:
    return set(re.findall(r'^\s*"([^"]+)" \[', dot_text, flags=re.MULTILINE))


def test_summary_counts_ops_and_parameters_exactly(saved_graph, capsys):
    path, graph = saved_graph
    assert main(["summary", path]) == 0
    out = capsys.readouterr().out
    counts = Counter(op.type for op in graph.get_operations())
    assert f"{sum(counts.values())} ops of {len(counts)} types" in out
    table = dict(re.findall(r"^([A-Z]\w+) +(\d+)$", out, flags=re.MULTILINE))
    assert {k: int(v) for k, v in table.items()} == dict(counts)
    assert counts["ApplyAdam"] == 6 and counts["VariableV2"] == 20
    rows = re.findall(r"^(\S+) +(\(.*?\)) +(\w+) +([\d,]+) +(yes|no)$", out, flags=re.MULTILINE)
    assert len(rows) == 20
    by_name = {name: (shape, dtype, int(params.replace(",", "")), trainable) for name, shape, dtype, params, trainable in rows}
    assert by_name["dense1/kernel"] == ("(8, 16)", "float32", 128, "yes")
    assert by_name["logits/bias"] == ("(3,)", "float32", 3, "yes")
    assert by_name["dense2/kernel/Adam_1"] == ("(16, 16)", "float32", 256, "no")
    assert by_name["beta1_power"] == ("()", "float32", 1, "no")
    assert f"Total params: {TRAINABLE + NON_TRAINABLE:,}" in out  # 1,403
    assert f"Trainable params: {TRAINABLE:,}" in out
    assert f"Non-trainable params: {NON_TRAINABLE:,}" in out


def test_summary_of_a_graph_file_without_collections(tmp_path, capsys):
    v = gd.Variable(gd.zeros([4, 5]), name="w")
    gd.add(v, 1.0, name="out")
    gd.train.write_graph(gd.get_default_graph(), str(tmp_path), "g.json")
    assert main(["summary", str(tmp_path / "g.json")]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^w +\(4, 5\) +float32 +20 +\?$", out, flags=re.MULTILINE)
    assert "Total params: 20" in out and "unknown (the file holds no variable collections)" in out


def test_viz_writes_dot_with_fetches_and_collapsed_scopes(saved_graph, tmp_path, capsys):
    path, graph = saved_graph
    out = tmp_path / "all.dot"
    assert main(["viz", path, "-o", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    text = out.read_text()
    if shutil.which("nop"):  # Graphviz's parser, without layout
        done = subprocess.run(["nop", str(out)], capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
    else:
        pydot = pytest.importorskip("pydot")
        assert len(pydot.graph_from_dot_data(text)) == 1
    assert _node_ids(text) == {op.name for op in graph.get_operations()}

    forward = tmp_path / "forward.dot"
    assert main(["viz", path, "-o", str(forward), "--fetches", "loss"]) == 0
    ids = _node_ids(forward.read_text())
    assert "loss" in ids and "dense1/MatMul" in ids
    assert not any(name.startswith(("gradients", "train", "beta1_power")) for name in ids)

    collapsed = tmp_path / "collapsed.dot"
    assert main(["viz", path, "-o", str(collapsed), "--collapse", "gradients"]) == 0
    ids = _node_ids(collapsed.read_text())
    assert [name for name in ids if name.startswith("gradients")] == ["gradients/"]
    assert "dense1/MatMul" in ids


def test_viz_writes_html(saved_graph, tmp_path):
    path, _ = saved_graph
    out = tmp_path / "g.html"
    assert main(["viz", path, "-o", str(out)]) == 0
    text = out.read_text()
    assert text.lstrip().lower().startswith("<!doctype html")
    assert "dense1/MatMul" in text and "ApplyAdam" in text


@pytest.mark.skipif(shutil.which("dot") is None and os.environ.get("GRAPHDL_REQUIRE_SYSTEM_TOOLS") != "1",
                    reason="Graphviz's dot is not installed (apt-get install graphviz)")
def test_viz_renders_svg(saved_graph, tmp_path):
    path, _ = saved_graph
    out = tmp_path / "g.svg"
    assert main(["viz", path, "-o", str(out), "--collapse", "gradients,train"]) == 0
    root = ET.parse(out).getroot()
    assert root.tag.endswith("svg")
    titles = {el.text for el in root.iter() if el.tag.endswith("title")}
    assert {"dense1/MatMul", "gradients/", "loss"} <= titles


def test_bad_input_exits_with_status_2(saved_graph, tmp_path, capsys):
    path, _ = saved_graph
    assert main(["summary", str(tmp_path / "missing.meta")]) == 2
    assert "missing.meta' does not exist" in capsys.readouterr().err
    assert main(["viz", path, "-o", str(tmp_path / "g.txt")]) == 2
    assert "cannot tell the format of" in capsys.readouterr().err
    assert main(["viz", str(tmp_path / "missing.meta"), "-o", str(tmp_path / "g.dot")]) == 2
    assert main(["viz", path, "-o", str(tmp_path / "g.dot"), "--fetches", "no_such_op"]) == 2
    assert "no op or tensor named 'no_such_op'" in capsys.readouterr().err
    (tmp_path / "junk.meta").write_text("not a graph")
    assert main(["summary", str(tmp_path / "junk.meta")]) == 2
    assert "cannot read the graph file" in capsys.readouterr().err
    assert not (tmp_path / "g.txt").exists() and not (tmp_path / "g.dot").exists()


def test_python_dash_m_graphdl(saved_graph, tmp_path):
    path, _ = saved_graph
    done = subprocess.run([sys.executable, "-m", "graphdl", "summary", path],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert f"Trainable params: {TRAINABLE:,}" in done.stdout
    done = subprocess.run([sys.executable, "-m", "graphdl", "viz", path, "-o", str(tmp_path / "x.bmp")],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 2 and "cannot tell the format" in done.stderr
