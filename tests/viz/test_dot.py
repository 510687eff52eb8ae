"""graphdl.viz.to_dot and render: DOT that real parsers accept, with the styling the picture promises."""

import functools
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import graphdl as tf
from graphdl.viz import GraphvizNotFoundError, describe, render, to_dot
from graphdl.viz.dot import CLUSTER_FILL, ROLE_FILL
from graphdl.viz.model import format_attr

pydot = pytest.importorskip("pydot", reason="pydot is in the test extra: pip install -e '.[test]'")
# pydot's parser calls pyparsing names that pyparsing 3.3 deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:.*deprecated.*:DeprecationWarning")


@functools.lru_cache(maxsize=8)
def parse(text):
    """The pydot graph of DOT ``text`` (cached: pydot's parser takes seconds, and tests share the MLP's DOT)."""
    graphs = pydot.graph_from_dot_data(text)
    assert graphs is not None and len(graphs) == 1, "pydot could not parse the DOT text"
    return graphs[0]


def unquote(text):
    return text[1:-1].replace('\\"', '"').replace("\\\\", "\\") if text.startswith('"') else text


def all_nodes(graph):
    """name -> attrs of every node, clusters included."""
    found = {unquote(n.get_name()): {k: unquote(v) for k, v in n.get_attributes().items()} for n in graph.get_nodes()}
    for sub in graph.get_subgraphs():
        found.update(all_nodes(sub))
    found.pop("graph", None)
    found.pop("node", None)
    found.pop("edge", None)
    return found


def all_edges(graph):
    found = [
        (unquote(e.get_source()), unquote(e.get_destination()), {k: unquote(v) for k, v in e.get_attributes().items()})
        for e in graph.get_edges()
    ]
    for sub in graph.get_subgraphs():
        found.extend(all_edges(sub))
    return found


def clusters(graph, path=()):
    """cluster name -> (names of the nodes directly in it, its parent cluster's name)."""
    found = {}
    for sub in graph.get_subgraphs():
        name = unquote(sub.get_name())
        found[name] = ({unquote(n.get_name()) for n in sub.get_nodes()} - {"graph", "node", "edge"}, path[-1] if path else None)
        found.update(clusters(sub, path + (name,)))
    return found


def test_graph_parses_and_every_op_and_edge_is_drawn(mlp):
    graph = parse(to_dot(mlp.graph))
    nodes = all_nodes(graph)
    op_names = {op.name for op in mlp.graph.get_operations()}
    assert set(nodes) == op_names
    data = {(t.op.name, op.name, t.name) for op in mlp.graph.get_operations() for t in op.inputs}
    control = {(c.name, op.name) for op in mlp.graph.get_operations() for c in op.control_inputs}
    edges = all_edges(graph)
    assert len(edges) == len({(s, d) for s, d, _ in data}) + len(control)
    assert {(s, d) for s, d, a in edges if a.get("style") == "dashed"} == control
    assert len(control) == 3  # minimize's NoOp waits on the three ApplyGradientDescent ops


def test_labels_show_type_shape_and_dtype(mlp):
    graph = parse(to_dot(mlp.graph))
    nodes = all_nodes(graph)
    assert nodes["layer1/MatMul"]["label"].split("\\n") == ["MatMul", "float32 (?, 8)"]
    assert nodes["layer1/add"]["label"].split("\\n") == ["add", "AddV2", "float32 (?, 8)"]
    assert nodes["loss"]["label"].split("\\n") == ["loss", "Mean", "float32 ()"]
    shape_ops = [n for n, a in nodes.items() if n.startswith("gradients/sub_grad/BroadcastGradientArgs")]
    assert nodes[shape_ops[0]]["label"].split("\\n")[-2:] == ["0: int32 (?,)", "1: int32 (?,)"]
    labels = {(s, d): a.get("label") for s, d, a in all_edges(graph)}
    assert labels[("layer1/MatMul", "layer1/add")] == "(?, 8)"
    assert labels[("x", "layer1/MatMul")] == "(?, 4)"
    assert labels[("layer1/w/read", "layer1/MatMul")] == "(4, 8)"


def test_each_name_scope_is_a_cluster_nested_in_its_parent(mlp):
    found = clusters(parse(to_dot(mlp.graph)))
    assert "layer1/MatMul" in found["cluster_layer1"][0]
    assert found["cluster_layer1/random_normal"][1] == "cluster_layer1"
    assert found["cluster_gradients/loss_grad"][1] == "cluster_gradients"
    # An op named like a scope sits inside it (TF1 names a scope's result after the scope).
    assert "layer1/random_normal" in found["cluster_layer1/random_normal"][0]
    assert "GradientDescent" in found["cluster_GradientDescent"][0]
    assert {"x", "y", "loss", "sub", "Square"} <= set(all_nodes(parse(to_dot(mlp.graph))))
    assert not any(name == "cluster_x" for name in found)
    flat = parse(to_dot(mlp.graph, clusters=False))
    assert flat.get_subgraphs() == []
    assert set(all_nodes(flat)) == {op.name for op in mlp.graph.get_operations()}


def test_variables_placeholders_gradient_and_optimizer_ops_are_styled_apart(mlp):
    text = to_dot(mlp.graph)
    nodes = all_nodes(parse(text))
    assert nodes["layer1/w"]["shape"] == "cylinder"
    assert nodes["x"]["shape"] == "invhouse"
    assert nodes["layer1/zeros"]["shape"] == "box" and nodes["layer1/zeros"]["fillcolor"] == "#eeeeee"
    assert nodes["layer1/MatMul"]["fillcolor"] == ROLE_FILL["forward"]
    assert nodes["gradients/layer1/MatMul_grad/MatMul"]["fillcolor"] == ROLE_FILL["gradient"]
    assert nodes["GradientDescent/update_layer1/w/ApplyGradientDescent"]["fillcolor"] == ROLE_FILL["optimizer"]
    assert nodes["GradientDescent/learning_rate"]["fillcolor"] != ROLE_FILL["optimizer"]  # a Const keeps its grey
    assert len({ROLE_FILL["forward"], ROLE_FILL["gradient"], ROLE_FILL["optimizer"]}) == 3
    cluster_graphs = {unquote(s.get_name()): s for s in parse(text).get_subgraphs()}
    fill = {name: unquote(s.get_graph_defaults()[0]["fillcolor"]) for name, s in cluster_graphs.items()}
    assert fill["cluster_gradients"] == CLUSTER_FILL["gradient"]
    assert fill["cluster_GradientDescent"] == CLUSTER_FILL["optimizer"]
    assert fill["cluster_layer1"] == CLUSTER_FILL["forward"]


def test_explicit_control_dependency_is_dashed():
    a = tf.constant(1.0, name="a")
    b = tf.constant(2.0, name="b")
    with tf.control_dependencies([a]):
        c = tf.identity(b, name="c")
    edges = {(s, d): attrs for s, d, attrs in all_edges(parse(to_dot(c)))}
    assert edges[("a", "c")]["style"] == "dashed"
    assert "style" not in edges[("b", "c")]


def test_fetches_draw_only_what_they_depend_on(mlp):
    nodes = set(all_nodes(parse(to_dot(mlp.loss))))
    assert {"x", "y", "layer1/MatMul", "out/MatMul", "loss", "layer1/w"} <= nodes
    assert not any(n.startswith(("gradients", "GradientDescent")) for n in nodes)
    assert "layer1/w/Assign" not in nodes  # the initializer is not needed to compute the loss
    both = set(all_nodes(parse(to_dot([mlp.hidden, mlp.loss]))))
    assert both == nodes
    only_hidden = set(all_nodes(parse(to_dot(mlp.hidden))))
    assert "y" not in only_hidden and "layer1/Relu" in only_hidden


def test_collapsed_scope_is_one_node_with_its_edges(mlp):
    text = to_dot(mlp.graph, collapse_scopes=("gradients",))
    graph = parse(text)
    nodes = all_nodes(graph)
    gradient_ops = [op for op in mlp.graph.get_operations() if op.name.startswith("gradients/")]
    assert not any(n.startswith("gradients/") and n != "gradients/" for n in nodes)
    assert nodes["gradients/"]["shape"] == "box3d"
    assert nodes["gradients/"]["label"].split("\\n")[:2] == ["gradients/", f"{len(gradient_ops)} ops"]
    edges = all_edges(graph)
    assert not any(s == d for s, d, _ in edges)
    assert ("layer1/MatMul", "gradients/") not in {(s, d) for s, d, _ in edges}  # ReluGrad reads the Relu, not MatMul
    assert ("layer1/Relu", "gradients/") in {(s, d) for s, d, _ in edges}
    assert ("gradients/", "GradientDescent/update_layer1/w/ApplyGradientDescent") in {(s, d) for s, d, _ in edges}
    shallow = all_nodes(parse(to_dot(mlp.graph, collapse_depth=0)))
    assert {"layer1/", "out/", "gradients/", "GradientDescent/", "x", "y", "loss"} <= set(shallow)
    assert not any("/" in n.rstrip("/") for n in shallow)


def test_fused_kernel_is_one_node_listing_its_ops(mlp):
    explanation = mlp.explain()
    program = explanation.program
    fused = [op for op in program.ops if op.type == "FusedElementwise"]
    assert fused, "the numba backend fused nothing in an MLP training step"
    nodes = all_nodes(parse(to_dot(explanation)))
    assert nodes == all_nodes(parse(to_dot(program)))
    fed = {t.op.name for t in program.feeds}
    assert set(nodes) == {op.name for op in program.ops} | fed
    relu = next(op for op in fused if "layer1/Relu" in op.attrs["members"])
    label = nodes[relu.name]["label"].split("\\n")
    assert label[1] == "FusedElementwise [2 ops]: AddV2 + Relu"
    assert label[2:4] == ["  layer1/add: AddV2", "  layer1/Relu: Relu"]
    assert nodes[relu.name]["peripheries"] == "2"
    assert not any(name in nodes for name in relu.attrs["members"])  # drawn only inside the kernel
    with_sum = [op for op in fused if op.attrs.get("reduction") is not None]
    assert with_sum, "reduction fusion did not put the bias gradient's Sum into a kernel"
    assert "  then Sum over axes (0,)" in nodes[with_sum[0].name]["label"].split("\\n")
    assert nodes[with_sum[0].name]["fillcolor"] == ROLE_FILL["gradient"]


def test_render_writes_valid_svg_png_and_pdf(mlp, dot_program, tmp_path):
    svg = render(mlp.graph, tmp_path / "g.svg", collapse_scopes=("gradients",))
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    titles = {el.text for el in root.iter() if el.tag.endswith("title")}
    assert {"layer1/MatMul", "loss", "gradients/", "x"} <= titles
    png = render(to_dot(mlp.loss), tmp_path / "loss.png")
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    pdf = render(mlp.loss, str(tmp_path / "loss.pdf"))
    with open(pdf, "rb") as f:
        assert f.read(5) == b"%PDF-"
    assert sorted(os.listdir(tmp_path)) == ["g.svg", "loss.pdf", "loss.png"]  # no temporary files left


def test_render_fused_program_and_awkward_text(mlp, dot_program, tmp_path):
    out = render(mlp.explain(), tmp_path / "program.svg", title='step "1" \\ fused', max_label_len=12)
    text = Path(out).read_text(encoding="utf-8")
    titles = [el.text for el in ET.fromstring(text).iter() if el.tag.endswith("text")]
    assert 'step "1" \\ fused' in titles  # quotes and the backslash survive DOT's escaping
    assert "FusedElemen…" in text  # labels cut at max_label_len


def test_render_without_dot_says_how_to_install_it(mlp, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(GraphvizNotFoundError) as info:
        render(mlp.graph, tmp_path / "g.svg")
    message = str(info.value)
    assert "`dot` program was not found" in message
    assert "apt-get install graphviz" in message and "brew install graphviz" in message and "to_dot" in message
    assert not (tmp_path / "g.svg").exists()
    render(mlp.graph, tmp_path / "g.dot")  # DOT itself needs no Graphviz
    assert (tmp_path / "g.dot").read_text().startswith("digraph graphdl {")


def test_render_rejects_unknown_format(mlp, tmp_path):
    with pytest.raises(ValueError, match=r"g\.txt': format 'txt' is not one of svg"):
        render(mlp.graph, tmp_path / "g.txt")


def test_bad_input_is_named():
    with pytest.raises(TypeError, match="got int"):
        to_dot(3)
    with pytest.raises(ValueError, match="no fetches"):
        to_dot([])


def test_attr_text():
    assert format_attr(tf.float32) == "float32"
    assert format_attr(np.array([1, 2], np.int32)) == "[1, 2]"
    assert format_attr(np.zeros((100, 3), np.float32)) == "<float32 array of shape (100, 3)>"
    assert format_attr((1,)) == "(1,)"
    assert format_attr((None, 8)) == "(None, 8)"
    assert format_attr(True) == "True"
    assert len(format_attr("x" * 500)) == 200


def test_describe_and_lazy_import(mlp):
    view = describe(mlp.graph)
    assert [n.name for n in view.nodes] == [op.name for op in mlp.graph.get_operations()]
    assert view.optimizer_scopes == frozenset({"GradientDescent"})
    assert view.node("layer1/MatMul").attrs == {"transpose_a": "False", "transpose_b": "False"}
    assert tf.viz.to_dot is to_dot


def test_control_flow_bodies_are_summarized_in_attrs():
    x = tf.placeholder(tf.float32, [], name="x")
    result = tf.cond(x > 0, lambda: x * 2, lambda: x - 1)
    node = next(n for n in describe(result).nodes if n.type == "If")
    assert node.attrs["branches"] == "[<FuncGraph of 3 ops>, <FuncGraph of 3 ops>]"
    parse(to_dot(result))


def test_readme_picture_is_a_small_svg_of_an_mlp():
    path = Path(__file__).resolve().parents[2] / "docs" / "images" / "viz_mlp.svg"
    assert path.stat().st_size < 200_000
    titles = {el.text for el in ET.parse(path).getroot().iter() if el.tag.endswith("title")}
    assert {"hidden/MatMul", "logits/BiasAdd", "gradients/", "Adam/", "x", "labels"} <= titles
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert "](docs/images/viz_mlp.svg)" in readme
