"""graphdl.viz.to_html: a self-contained page, checked in headless Chromium (loads cleanly, draws every op,
collapses and expands scopes, searches, and shows an op's details on a click)."""

import json
import re

import graphdl as tf
from graphdl.viz import describe, to_html


def page_data(text):
    """The graph JSON the page carries."""
    start = text.index('<script id="graph-data" type="application/json">') + len(
        '<script id="graph-data" type="application/json">'
    )
    return json.loads(text[start : text.index("</script>", start)])


def open_page(browser, path):
    """A loaded page of ``path`` and the list its console errors and page errors are collected into."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors = []
    page.on("console", lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    page.on("request", lambda r: errors.append(f"request: {r.url}") if not r.url.startswith(("file:", "data:")) else None)
    page.goto(path.as_uri())
    page.wait_for_selector("#viewport g.nodes", state="attached")
    return page, errors


def test_page_is_self_contained_and_carries_dagre_licence(mlp):
    text = to_html(mlp.graph)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", text, re.IGNORECASE)
    assert not re.search(r"""url\(\s*["']?(?:https?:)?//""", text, re.IGNORECASE)
    assert "@dagrejs/dagre 3.1.3" in text and "Copyright (c) 2012-2014 Chris Pettitt" in text
    data = page_data(text)
    assert [n["name"] for n in data["nodes"]] == [op.name for op in mlp.graph.get_operations()]
    assert data["collapsed"] == []
    assert data["scope_roles"]["gradients"] == "gradient" and data["scope_roles"]["GradientDescent"] == "optimizer"


def test_to_html_writes_the_file_atomically(mlp, tmp_path):
    path = tmp_path / "graph.html"
    text = to_html(mlp.loss, path, title="loss")
    assert path.read_text(encoding="utf-8") == text
    assert [p.name for p in tmp_path.iterdir()] == ["graph.html"]
    assert "<title>loss</title>" in text


def test_markup_in_the_title_stays_text(mlp, tmp_path):
    title = "</script><script>window.injected = 1</script><b>&"
    text = to_html(mlp.loss, title=title)
    assert text.count("</script>") == 3  # the JSON, dagre's and the viewer's <script> blocks, nothing else
    assert page_data(text)["title"] == title


def test_viewer_draws_every_op_and_shows_details_on_click(mlp, browser, tmp_path):
    path = tmp_path / "mlp.html"
    to_html(mlp.graph, path, title="MLP training graph")
    page, errors = open_page(browser, path)
    try:
        assert page.locator(".op-node").count() == len(mlp.graph.get_operations())
        assert page.locator(".scope-node").count() == 0
        assert page.locator(".cluster").count() == len(describe_scopes(mlp.graph))
        page.locator('.op-node[data-name="layer1/MatMul"]').click()
        details = page.locator("#details")
        assert details.locator("h2").inner_text() == "layer1/MatMul"
        general = details.locator("table.general").inner_text()
        assert "MatMul" in general and "layer1" in general
        assert details.locator("table.outputs").inner_text().split() == ["layer1/MatMul:0", "float32", "(?,", "8)"]
        assert details.locator("table.inputs").inner_text().split() == [
            "x:0", "float32", "(?,", "4)", "layer1/w/read:0", "float32", "(4,", "8)",
        ]
        assert details.locator("table.attrs").inner_text().split() == ["transpose_a", "False", "transpose_b", "False"]
        assert page.locator(".op-node.selected").get_attribute("data-name") == "layer1/MatMul"
        shot = tmp_path / "mlp.png"
        page.screenshot(path=str(shot))
        data = shot.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
        assert errors == []
    finally:
        page.close()


def describe_scopes(graph):
    view = describe(graph)
    return {"/".join(n.group.split("/")[: i + 1]) for n in view.nodes if n.group for i in range(n.group.count("/") + 1)}


def test_collapsed_scopes_expand_and_collapse_again(mlp, browser, tmp_path):
    path = tmp_path / "collapsed.html"
    to_html(mlp.graph, path, collapse_scopes=("gradients",))
    total = len(mlp.graph.get_operations())
    in_gradients = sum(op.name.startswith("gradients/") for op in mlp.graph.get_operations())
    page, errors = open_page(browser, path)
    try:
        assert page.locator(".op-node").count() == total - in_gradients
        scope = page.locator('.scope-node[data-scope="gradients"]')
        assert scope.count() == 1
        assert f"{in_gradients} ops" in scope.text_content()
        scope.click()
        assert page.locator(".op-node").count() == total
        assert page.locator(".scope-node").count() == 0
        page.locator('.cluster[data-scope="gradients/loss_grad"] .cluster-title').click()
        loss_grad = sum(op.name.startswith("gradients/loss_grad/") for op in mlp.graph.get_operations())
        assert page.locator(".op-node").count() == total - loss_grad
        assert page.locator('.scope-node[data-scope="gradients/loss_grad"]').count() == 1
        page.click("#collapse-all")
        top_level = {op.name for op in mlp.graph.get_operations() if "/" not in op.name and not any(
            other.name.startswith(op.name + "/") for other in mlp.graph.get_operations())}
        assert {page.locator(".op-node").nth(i).get_attribute("data-name")
                for i in range(page.locator(".op-node").count())} == top_level
        page.click("#expand-all")
        assert page.locator(".op-node").count() == total
        assert errors == []
    finally:
        page.close()


def test_search_highlights_and_goes_to_matches(mlp, browser, tmp_path):
    path = tmp_path / "search.html"
    to_html(mlp.graph, path, collapse_depth=0)
    expected = [op.name for op in mlp.graph.get_operations() if "matmul_grad" in op.name.lower()]
    page, errors = open_page(browser, path)
    try:
        page.fill("#search", "MatMul_grad")
        assert page.inner_text("#search-status") == f"{len(expected)} matches"
        assert page.locator('.scope-node.match[data-scope="gradients"]').count() == 1
        page.press("#search", "Enter")  # expands the scopes holding the first match and selects it
        assert page.locator("#details h2").inner_text() == expected[0]
        assert page.locator(".op-node.selected").get_attribute("data-name") == expected[0]
        assert page.locator(".op-node.match").count() == len(expected)
        assert page.inner_text("#search-status") == f"1 of {len(expected)}"
        assert errors == []
    finally:
        page.close()


def test_fused_program_page_lists_kernel_members(mlp, browser, tmp_path):
    explanation = mlp.explain()
    path = tmp_path / "program.html"
    to_html(explanation, path)
    relu = next(op for op in explanation.program.ops if op.type == "FusedElementwise" and "layer1/Relu" in op.attrs["members"])
    page, errors = open_page(browser, path)
    try:
        assert page.locator(".op-node").count() == len(describe(explanation).nodes)
        node = page.locator(f'.op-node[data-name="{relu.name}"]')
        assert "AddV2 + Relu" in node.text_content()
        node.click()
        assert page.locator("#details table.members").inner_text().split() == [
            "0", "layer1/add", "AddV2", "1", "layer1/Relu", "Relu",
        ]
        assert errors == []
    finally:
        page.close()


def test_large_graph_opens_with_deep_scopes_collapsed(browser, tmp_path):
    value = tf.placeholder(tf.float32, [None, 3], name="input")
    for block in range(12):
        with tf.name_scope(f"block{block}"):
            for unit in range(8):
                with tf.name_scope(f"unit{unit}"):
                    value = tf.tanh(value * 0.5 + 1.0)
    ops = tf.get_default_graph().get_operations()
    assert len(ops) > 400
    path = tmp_path / "large.html"
    data = page_data(to_html(tf.get_default_graph(), path))
    assert data["collapsed"] == sorted(f"block{b}/unit{u}" for b in range(12) for u in range(8))
    page, errors = open_page(browser, path)
    try:
        assert page.locator(".scope-node").count() == 96
        assert page.locator(".op-node").count() == 1
        assert errors == []
    finally:
        page.close()


def test_empty_graph_page_loads_cleanly(browser, tmp_path):
    path = tmp_path / "empty.html"
    to_html(tf.Graph(), path)
    page, errors = open_page(browser, path)
    try:
        assert page.locator(".op-node").count() == 0
        assert "no ops" in page.locator("#viewport").text_content()
        assert errors == []
    finally:
        page.close()
