"""``to_html``: one self-contained HTML page that draws a graph with pan/zoom, collapsible scopes,
search and a details panel.

The page inlines the graph as JSON, the viewer script and the dagre layout library
(assets/, with its MIT licence), so it opens offline and loads nothing over the network.
"""

from __future__ import annotations

import html
import json
import os
from importlib import resources

from graphdl.viz.dot import CLUSTER_FILL, DEFAULT_MAX_LABEL_LEN, KIND_STYLE, ROLE_FILL
from graphdl.viz.model import GraphView, collapsed_scope_of, describe, fused_summary, scope_prefixes, scope_role
from graphdl.viz.render import write_atomically

# Above this many ops, an unspecified collapse hides deeper scopes until the page draws at most this many boxes
# (dagre lays out a few hundred nodes in well under a second; thousands take many seconds).
AUTO_COLLAPSE_ABOVE = 400
DAGRE_VERSION = "3.1.3"  # assets/dagre.min.js; see assets/README.md


def to_html(
    graph_or_fetches,
    path=None,
    *,
    collapse_scopes=(),
    collapse_depth: int | None = None,
    max_label_len: int = DEFAULT_MAX_LABEL_LEN,
    title=None,
    rankdir: str = "TB",
) -> str:
    """The HTML text of an interactive, self-contained page drawing ``graph_or_fetches`` (whatever
    ``to_dot`` accepts); written atomically to ``path`` too when given.

    ``collapse_scopes``/``collapse_depth`` choose the scopes shown collapsed when the page opens (as in
    ``to_dot``); with neither, a graph of more than 400 ops opens with its deeper scopes collapsed.
    In the page: drag to pan, wheel to zoom, click a collapsed scope to expand it and a scope's title
    to collapse it, search ops by name, and click an op to see its attributes, shapes and dtypes.
    """
    view = graph_or_fetches if isinstance(graph_or_fetches, GraphView) else describe(graph_or_fetches, title)
    collapse_scopes = (collapse_scopes,) if isinstance(collapse_scopes, str) else tuple(collapse_scopes or ())
    if not collapse_scopes and collapse_depth is None:
        collapse_depth = _auto_collapse_depth(view)
    scopes = sorted({s for n in view.nodes for s in scope_prefixes(n.group)})
    initially_collapsed = sorted(
        {s for n in view.nodes if (s := collapsed_scope_of(n, collapse_scopes, collapse_depth)) is not None}
    )
    title = title if title is not None else (view.title or "graphdl graph")
    payload = {
        "title": title,
        "nodes": [_node_json(n) for n in view.nodes],
        "edges": [
            {"src": e.src, "dst": e.dst, "tensor": e.tensor, "dtype": e.dtype, "shape": e.shape, "control": e.control}
            for e in view.edges
        ],
        "collapsed": initially_collapsed,
        "scope_roles": {s: scope_role(s, view.optimizer_scopes) for s in scopes},
        "max_label_len": max(8, int(max_label_len)),
        "rankdir": rankdir,
        "role_fill": ROLE_FILL,
        "cluster_fill": CLUSTER_FILL,
        "kind_style": KIND_STYLE,
    }
    text = _page(title, payload)
    if path is not None:
        write_atomically(os.fspath(path), text.encode("utf-8"))
    return text


def _node_json(n) -> dict:
    return {
        "id": n.id,
        "name": n.name,
        "type": n.type,
        "kind": n.kind,
        "role": n.role,
        "scope": n.scope,
        "group": n.group,
        "outputs": n.outputs,
        "attrs": n.attrs,
        "inputs": n.inputs,
        "control_inputs": n.control_inputs,
        "device": n.device,
        "members": n.members,
        "reduction": n.reduction,
        "fused_summary": fused_summary(n) if n.members else [],
    }


def _auto_collapse_depth(view: GraphView):
    if len(view.nodes) <= AUTO_COLLAPSE_ABOVE:
        return None
    for depth in range(16):
        drawn = {collapsed_scope_of(n, (), depth) or n.id for n in view.nodes}
        if len(drawn) > AUTO_COLLAPSE_ABOVE:
            return max(depth - 1, 0)
    return None


def _asset(name: str) -> str:
    return resources.files("graphdl.viz").joinpath("assets", name).read_text(encoding="utf-8")


def _inline_script(text: str, name: str) -> str:
    if "</script" in text.lower():
        raise ValueError(f"Cannot inline {name}: it contains '</script', which would end the page's <script> early")
    return text


def _dagre_script() -> str:
    # The MIT licence asks that its notice travel with every copy: the page carries it above the code.
    notice = _asset("dagre.LICENSE.txt").replace("*/", "* /")
    header = f"/*! @dagrejs/dagre {DAGRE_VERSION} (graph layout), vendored in graphdl/viz/assets. @license MIT\n{notice}*/\n"
    return _inline_script(header + _asset("dagre.min.js"), "dagre.min.js")


def _page(title: str, payload: dict) -> str:
    # "<", ">" and "&" as \u escapes: names and attr text can never close the <script> that holds the JSON.
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    replacements = {
        "%%TITLE%%": html.escape(title),
        "%%CSS%%": _asset("viewer.css"),
        "%%DAGRE%%": _dagre_script(),
        "%%VIEWER%%": _inline_script(_asset("viewer.js"), "viewer.js"),
        "%%DATA%%": data,
    }
    page = _asset("viewer.html")
    # One pass over the template, so text substituted in (the graph's JSON) is never searched for markers.
    pieces = []
    rest = page
    while "%%" in rest:
        start = rest.index("%%")
        end = rest.find("%%", start + 2)
        key = rest[start : end + 2] if end >= 0 else ""
        if key in replacements:
            pieces.append(rest[:start] + replacements[key])
            rest = rest[end + 2 :]
        else:
            pieces.append(rest[: start + 2])
            rest = rest[start + 2 :]
    pieces.append(rest)
    return "".join(pieces)
