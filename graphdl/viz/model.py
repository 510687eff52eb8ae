"""What a picture of a graph shows: the ops to draw, their edges, and how each op is styled.

``describe(graph_or_fetches)`` turns a Graph, fetches (tensors/ops, drawn with what they
depend on) or a compiled ``Program`` into a ``GraphView``: plain records that the DOT
writer and the HTML viewer both draw, so the two pictures always agree.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from graphdl.client.program import Program
from graphdl.framework.graph import Graph
from graphdl.framework.operation import Operation, Tensor
from graphdl.framework.tensor_shape import format_shape

VARIABLE_TYPES = frozenset({"VariableV2", "Variable", "VarHandleOp"})
PLACEHOLDER_TYPES = frozenset({"Placeholder", "PlaceholderWithDefault"})
_TRAINING_OP = re.compile(r"^(Resource)?(Sparse)?Apply[A-Z]")
_GRADIENT_SCOPE = re.compile(r"^gradients(_\d+)?$")
_MAX_MEMBERS_LISTED = 12


@dataclass
class Node:
    """One op as drawn. ``kind`` picks the shape (op/variable/placeholder/const/fused); ``role`` the colour
    (forward/gradient/optimizer); ``scope`` is the name scope the op sits in ("" at the top)."""

    id: str
    name: str
    type: str
    kind: str
    role: str
    scope: str
    outputs: list  # [(dtype name, shape text)]
    attrs: dict  # attr name -> display text
    inputs: list  # input tensor names
    control_inputs: list  # op names
    device: str = ""
    group: str = ""  # the scope it is drawn in: its name scope, or its own name when that names a scope too
    members: list = field(default_factory=list)  # fused ops: [(name, type)] in execution order
    reduction: str = ""  # fused ops with a reduction at the tail: "Sum over axes (0,)"


@dataclass
class Edge:
    """A data edge (one tensor from ``src`` to ``dst``) or a control dependency (``control=True``)."""

    src: str
    dst: str
    tensor: str = ""
    dtype: str = ""
    shape: str = ""
    control: bool = False


@dataclass
class GraphView:
    """The nodes and edges to draw, in dependency order, with the optimizer scopes found."""

    nodes: list
    edges: list
    optimizer_scopes: frozenset = frozenset()
    title: str = ""

    def node(self, node_id: str) -> Node:
        """The node with id ``node_id``; KeyError naming it when absent."""
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(f"No node named '{node_id}' in this view")


def describe(graph_or_fetches, title=None) -> GraphView:
    """The GraphView of a Graph, a Program (or anything with a ``.program``), or fetches.

    Fetches (a Tensor, Operation, Variable, or a list/tuple/dict of them) draw only the
    ops they depend on, through data and control edges.
    """
    program = _as_program(graph_or_fetches)
    if program is not None:
        ops = _program_ops(program)
    elif isinstance(graph_or_fetches, Graph):
        ops = graph_or_fetches.get_operations()
    else:
        ops = _ops_needed_by(graph_or_fetches)
    return _build_view(ops, title or "")


def _as_program(obj):
    if isinstance(obj, Program):
        return obj
    program = getattr(obj, "program", None)  # Session.explain's Explanation, a backend's Executable
    return program if isinstance(program, Program) else None


def _program_ops(program: Program) -> list:
    ops = list(program.ops)
    in_program = set(ops)
    # Fed tensors' producers (placeholders) are not in the op list, but the picture shows where values enter.
    extra = []
    for op in ops:
        for t in op.inputs:
            if t.op not in in_program:
                in_program.add(t.op)
                extra.append(t.op)
    return extra + ops


def _fetch_ops(fetches) -> list:
    if isinstance(fetches, dict):
        fetches = list(fetches.values())
    if isinstance(fetches, (Tensor, Operation)) or hasattr(fetches, "_as_graph_element"):
        fetches = [fetches]
    if not isinstance(fetches, Iterable) or isinstance(fetches, (str, bytes)):
        raise TypeError(
            f"graphdl.viz expects a Graph, a Program, or fetches (Tensors/Operations/Variables), "
            f"got {type(fetches).__name__}"
        )
    ops = []
    for f in fetches:
        if isinstance(f, (list, tuple, dict)):
            ops.extend(_fetch_ops(f))
            continue
        element = f._as_graph_element() if hasattr(f, "_as_graph_element") else f
        if isinstance(element, Tensor):
            ops.append(element.op)
        elif isinstance(element, Operation):
            ops.append(element)
        else:
            raise TypeError(f"graphdl.viz cannot draw a fetch of type {type(f).__name__}: pass Tensors or Operations")
    return ops


def _ops_needed_by(fetches) -> list:
    import networkx as nx

    roots = _fetch_ops(fetches)
    if not roots:
        raise ValueError("graphdl.viz was given no fetches to draw")
    graph = roots[0].graph
    needed = set(roots)
    for root in roots:
        needed |= nx.ancestors(graph._as_networkx(), root)
    return [op for op in graph.get_operations() if op in needed]


def _scope_of(name: str) -> str:
    return name.rsplit("/", 1)[0] if "/" in name else ""


def _role(name: str, op_type: str, optimizer_scopes) -> str:
    parts = name.split("/")
    if any(_GRADIENT_SCOPE.match(p) for p in parts[:-1]):
        return "gradient"
    if _TRAINING_OP.match(op_type) or parts[0] in optimizer_scopes:
        return "optimizer"
    return "forward"


def scope_role(scope: str, optimizer_scopes) -> str:
    """The role ("forward", "gradient", "optimizer") of the ops a name scope holds."""
    return _role(scope + "/_", "", optimizer_scopes)


def _kind(op: Operation) -> str:
    if op.type in VARIABLE_TYPES:
        return "variable"
    if op.type in PLACEHOLDER_TYPES:
        return "placeholder"
    if op.type == "Const":
        return "const"
    if op.type == "FusedElementwise":
        return "fused"
    return "op"


def _build_view(ops, title: str) -> GraphView:
    # An optimizer's scope is the top-level scope of its training ops (e.g. "GradientDescent", "Adam").
    optimizer_scopes = frozenset(op.name.split("/")[0] for op in ops if _TRAINING_OP.match(op.type) and "/" in op.name)
    names = {op.name for op in ops}
    nodes, edges = [], []
    for op in ops:
        nodes.append(_node(op, optimizer_scopes))
        for t in op.inputs:
            if t.op.name in names:
                edges.append(Edge(t.op.name, op.name, t.name, t.dtype.name, _shape_text(t)))
        for c in op.control_inputs:
            if c.name in names:
                edges.append(Edge(c.name, op.name, control=True))
    scopes = {s for n in nodes for s in scope_prefixes(n.scope)}
    for n in nodes:
        # TF1 names a scope's result after the scope ("dense/random_normal" holds ".../mul" and is the add):
        # draw such an op inside its scope, as TensorBoard does.
        placed_as = n.members[-1][0] if n.members else n.name
        n.group = placed_as if placed_as in scopes else n.scope
    return GraphView(nodes, edges, optimizer_scopes, title)


def _node(op: Operation, optimizer_scopes) -> Node:
    members, reduction = [], ""
    placed_as = op.name
    if op.type == "FusedElementwise":
        members = [(ins.name, ins.op_type) for ins in op.attrs.get("instructions", ())]
        if members:
            placed_as = members[-1][0]  # the group's root: where the fused op's value was computed unfused
        r = op.attrs.get("reduction")
        if r is not None:
            reduction = f"{r.op_type} over axes {tuple(r.axes)}" + (" (keep_dims)" if r.keep_dims else "")
    return Node(
        id=op.name,
        name=op.name,
        type=op.type,
        kind=_kind(op),
        role=_role(placed_as, op.type, optimizer_scopes),
        scope=_scope_of(placed_as),
        outputs=[(t.dtype.name, _shape_text(t)) for t in op.outputs],
        attrs={k: format_attr(v) for k, v in sorted(op.attrs.items()) if not k.startswith("_") and k != "instructions"},
        inputs=[t.name for t in op.inputs],
        control_inputs=[c.name for c in op.control_inputs],
        device=op.device,
        members=members,
        reduction=reduction,
    )


def _shape_text(t: Tensor) -> str:
    return format_shape(t.shape.as_tuple())


def format_attr(value, limit: int = 200) -> str:
    """Short display text for an attr value: dtype names, small arrays in full, large ones by shape."""
    text = _attr_text(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _attr_text(value) -> str:
    if hasattr(value, "name") and hasattr(value, "as_numpy_dtype"):  # a graphdl DType
        return value.name
    if isinstance(value, np.ndarray):
        if value.size <= 16:
            return np.array2string(value, separator=", ", threshold=16)
        return f"<{value.dtype} array of shape {format_shape(value.shape)}>"
    if isinstance(value, (bool, int, float, str, np.generic)) or value is None:
        return repr(value.item() if isinstance(value, np.generic) else value)
    if isinstance(value, (list, tuple)):
        text = ", ".join(_attr_text(v) for v in value[:16]) + (", …" if len(value) > 16 else "")
        if isinstance(value, list):
            return f"[{text}]"
        return f"({text},)" if len(value) == 1 else f"({text})"
    if hasattr(value, "get_operations"):  # a function body (cond branches, while_loop cond/body)
        return f"<{type(value).__name__} of {len(value.get_operations())} ops>"
    if dataclasses.is_dataclass(value):
        return repr(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_attr_text(v)}" for k, v in list(value.items())[:16]) + "}"
    return f"<{type(value).__name__}>"


def fused_summary(node: Node, limit: int = _MAX_MEMBERS_LISTED) -> list:
    """Lines listing a fused kernel's member ops ("name: Type"), at most ``limit`` of them, then its reduction."""
    lines = [f"{name}: {op_type}" for name, op_type in node.members[:limit]]
    if len(node.members) > limit:
        lines.append(f"… {len(node.members) - limit} more")
    if node.reduction:
        lines.append(f"then {node.reduction}")
    return lines


def scope_prefixes(scope: str) -> list:
    """Every enclosing scope of ``scope``, outermost first: "a/b/c" -> ["a", "a/b", "a/b/c"]."""
    if not scope:
        return []
    parts = scope.split("/")
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def collapsed_scope_of(node: Node, collapse_scopes, collapse_depth=None) -> str | None:
    """The outermost collapsed scope that holds ``node`` (None when it is drawn on its own).

    ``collapse_scopes`` names scopes to collapse; ``collapse_depth`` (if given) collapses every scope
    nested deeper than it (0: every top-level scope). An op named like a scope (TF1's ``minimize`` NoOp
    named "GradientDescent") is drawn in that scope (``node.group``), so it collapses with it.
    """
    for depth, scope in enumerate(scope_prefixes(node.group), start=1):
        if scope in collapse_scopes or (collapse_depth is not None and depth > collapse_depth):
            return scope
    return None
