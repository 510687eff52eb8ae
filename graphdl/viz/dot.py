"""``to_dot``: a graph, the ops some fetches need, or a compiled Program as Graphviz DOT text.

Name scopes become clusters (or one node each, when collapsed); ops are labelled with
their type and output dtype/shape, data edges with the tensor's shape, control
dependencies are dashed; variables, placeholders and constants have their own shapes,
gradient and optimizer ops their own colours, and a fused kernel is one node listing
the ops it contains.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from graphdl.viz.model import (
    GraphView,
    Node,
    collapsed_scope_of,
    describe,
    fused_summary,
    scope_prefixes,
    scope_role,
)

# Fill colours by role and by kind; kept in one place so the HTML viewer's legend can match.
ROLE_FILL = {"forward": "#ffffff", "gradient": "#f9dbe1", "optimizer": "#e1d8f3"}
CLUSTER_FILL = {"forward": "#f3f5f7", "gradient": "#fdf0f2", "optimizer": "#f4f0fb"}
KIND_STYLE = {
    "op": {"shape": "box", "style": "rounded,filled"},
    "variable": {"shape": "cylinder", "style": "filled", "fillcolor": "#ffe6a8", "color": "#b07d00"},
    "placeholder": {"shape": "invhouse", "style": "filled", "fillcolor": "#d3edd9", "color": "#2e7d46"},
    "const": {"shape": "box", "style": "filled", "fillcolor": "#eeeeee", "color": "#aaaaaa", "fontsize": "8"},
    "fused": {"shape": "box", "style": "rounded,filled,bold", "peripheries": "2", "color": "#1f6fb2"},
    "scope": {"shape": "box3d", "style": "filled"},
}
DEFAULT_MAX_LABEL_LEN = 48


def to_dot(
    graph_or_fetches,
    *,
    collapse_scopes=(),
    max_label_len: int = DEFAULT_MAX_LABEL_LEN,
    title=None,
    collapse_depth: int | None = None,
    clusters: bool = True,
    edge_labels: bool = True,
    rankdir: str = "TB",
) -> str:
    """DOT text drawing ``graph_or_fetches``: a Graph, a Tensor/Operation/Variable or list of them
    (only what they depend on is drawn), or a ``Program`` after passes (or an object with a
    ``.program``, such as ``Session.explain(...)``'s result).

    ``collapse_scopes`` names scopes drawn as one node each (e.g. ``("gradients",)``);
    ``collapse_depth`` collapses every scope nested deeper than it (0: all top-level scopes);
    ``max_label_len`` shortens each label line; ``clusters=False`` draws no scope boxes;
    ``edge_labels=False`` leaves shapes off edges; ``rankdir`` is Graphviz's ("TB", "LR").
    """
    view = graph_or_fetches if isinstance(graph_or_fetches, GraphView) else describe(graph_or_fetches, title)
    collapse_scopes = (collapse_scopes,) if isinstance(collapse_scopes, str) else tuple(collapse_scopes or ())
    writer = _DotWriter(view, set(collapse_scopes), collapse_depth, max_label_len, clusters, edge_labels)
    return writer.write(title if title is not None else view.title, rankdir)


class _DotWriter:
    def __init__(self, view: GraphView, collapse_scopes, collapse_depth, max_label_len, clusters, edge_labels):
        self.view = view
        self.max_len = max(8, int(max_label_len))
        self.clusters = clusters
        self.edge_labels = edge_labels
        self.rep = {}  # node id -> the id drawn for it (itself, or its collapsed scope's node)
        self.collapsed = defaultdict(list)  # collapsed scope -> its nodes
        for node in view.nodes:
            scope = collapsed_scope_of(node, collapse_scopes, collapse_depth)
            if scope is None:
                self.rep[node.id] = node.id
            else:
                self.rep[node.id] = scope + "/"
                self.collapsed[scope].append(node)

    def write(self, title, rankdir) -> str:
        lines = [
            "digraph graphdl {",
            f"  graph [rankdir={_quote(rankdir)}, compound=true, fontname=Helvetica, fontsize=11, "
            "nodesep=0.25, ranksep=0.35, newrank=true"
            + (f", label={_quote(title)}, labelloc=t" if title else "")
            + "];",
            "  node [fontname=Helvetica, fontsize=10, color=\"#555555\", margin=\"0.08,0.03\"];",
            "  edge [fontname=Helvetica, fontsize=8, color=\"#777777\", fontcolor=\"#555555\", arrowsize=0.6];",
        ]
        tree = self._scope_tree()
        self._write_scope("", tree, lines, indent=1)
        lines.extend(self._edges())
        lines.append("}")
        return "\n".join(lines) + "\n"

    # -- nodes and clusters ----------------------------------------------------------------
    def _scope_tree(self):
        """scope -> (child scopes, node statements), for the scopes drawn as clusters."""
        children = defaultdict(list)
        members = defaultdict(list)
        for node in self.view.nodes:
            if self.rep[node.id] == node.id:
                members[self._cluster_of(node.group)].append(self._node_statement(node))
        for scope, nodes in self.collapsed.items():
            members[self._cluster_of(_parent(scope))].append(self._scope_statement(scope, nodes))
        for scope in list(members):
            chain = scope_prefixes(scope)
            for parent, child in zip([""] + chain, chain):
                if child not in children[parent]:
                    children[parent].append(child)
        return children, members

    def _cluster_of(self, scope: str) -> str:
        return scope if self.clusters else ""

    def _write_scope(self, scope, tree, lines, indent):
        children, members = tree
        pad = "  " * indent
        for statement in members.get(scope, []):
            lines.append(pad + statement)
        for child in children.get(scope, []):
            role = scope_role(child, self.view.optimizer_scopes)
            lines.append(f"{pad}subgraph {_quote('cluster_' + child)} {{")
            lines.append(
                f"{pad}  graph [label={_quote(self._short(child.rsplit('/', 1)[-1]))}, tooltip={_quote(child)}, "
                f"style=\"rounded,filled\", fillcolor=\"{CLUSTER_FILL[role]}\", color=\"#b8c0c8\", "
                "fontsize=10, labeljust=l];"
            )
            self._write_scope(child, tree, lines, indent + 1)
            lines.append(f"{pad}}}")

    def _node_statement(self, node: Node) -> str:
        style = dict(KIND_STYLE[node.kind])
        style.setdefault("fillcolor", ROLE_FILL[node.role])
        label = [self._short(node.name.rsplit("/", 1)[-1])]
        if node.kind == "fused":
            types = " + ".join(t for _, t in node.members) or node.type
            count = f"{len(node.members)} op" + ("s" if len(node.members) != 1 else "")
            label.append(self._short(f"{node.type} [{count}]: {types}"))
            label.extend(self._short("  " + line) for line in fused_summary(node))
        elif node.type != label[0]:
            label.append(self._short(node.type))
        label.extend(self._short(_output_text(i, dtype, shape, len(node.outputs))) for i, (dtype, shape) in
                     enumerate(node.outputs))
        style["label"] = "\n".join(label)
        style["tooltip"] = f"{node.name} ({node.type})"
        return f"{_quote(node.id)} [{_attrs(style)}];"

    def _scope_statement(self, scope: str, nodes) -> str:
        counts = Counter(n.type for n in nodes)
        common = ", ".join(f"{t} ×{c}" if c > 1 else t for t, c in counts.most_common(3))
        more = ", …" if len(counts) > 3 else ""
        roles = Counter(n.role for n in nodes)
        style = dict(KIND_STYLE["scope"])
        style["fillcolor"] = ROLE_FILL[roles.most_common(1)[0][0]]
        style["label"] = "\n".join(
            [self._short(scope.rsplit("/", 1)[-1] + "/"), f"{len(nodes)} ops", self._short(common + more)]
        )
        style["tooltip"] = f"{scope} (collapsed: {len(nodes)} ops)"
        return f"{_quote(scope + '/')} [{_attrs(style)}];"

    # -- edges ---------------------------------------------------------------------------
    def _edges(self) -> list:
        data = defaultdict(list)
        control = set()
        for edge in self.view.edges:
            src, dst = self.rep[edge.src], self.rep[edge.dst]
            if src == dst:
                continue
            if edge.control:
                control.add((src, dst))
            elif edge.tensor not in data[(src, dst)]:
                data[(src, dst)].append(edge)
        lines = []
        for (src, dst), edges in data.items():
            attrs = {"tooltip": ", ".join(f"{e.tensor} {e.dtype} {e.shape}" for e in edges[:4])}
            if self.edge_labels:
                attrs["label"] = edges[0].shape if len(edges) == 1 else f"{len(edges)} tensors"
            lines.append(f"  {_quote(src)} -> {_quote(dst)} [{_attrs(attrs)}];")
        for src, dst in control:
            if (src, dst) in data and (src.endswith("/") or dst.endswith("/")):
                continue  # a collapsed scope already has a data edge there
            lines.append(
                f"  {_quote(src)} -> {_quote(dst)} [style=dashed, color=\"#999999\", arrowhead=odot, "
                f"tooltip={_quote('control dependency: ' + src + ' before ' + dst)}];"
            )
        return lines

    def _short(self, text: str) -> str:
        return text if len(text) <= self.max_len else text[: self.max_len - 1] + "…"


def _output_text(index, dtype, shape, count) -> str:
    return f"{dtype} {shape}" if count == 1 else f"{index}: {dtype} {shape}"


def _parent(scope: str) -> str:
    return scope.rsplit("/", 1)[0] if "/" in scope else ""


def _quote(text) -> str:
    """A DOT double-quoted string: backslashes and quotes escaped, newlines as DOT's centred line breaks."""
    text = str(text).replace("\\", "\\\\").replace('"', '\\"')
    return '"' + text.replace("\r", "").replace("\n", "\\n") + '"'


def _attrs(attrs: dict) -> str:
    return ", ".join(f"{k}={_quote(v)}" for k, v in attrs.items())
