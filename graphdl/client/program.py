"""Pruning a graph to what one ``Session.run`` signature needs, as a ``Program``."""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from graphdl import errors
from graphdl.framework.graph import Graph
from graphdl.framework.operation import Operation, Tensor


@dataclass(frozen=True)
class Program:
    """The ops one run executes, in dependency order, with its feeds and fetches.

    ``feeds`` are the tensors whose values are given (in the order a backend's
    executable takes them); ``fetches`` the tensors to return; ``targets`` ops run
    only for their effects. ``ops`` excludes ops whose every needed output is fed.
    """

    graph: Graph
    ops: tuple[Operation, ...]
    feeds: tuple[Tensor, ...]
    fetches: tuple[Tensor, ...]
    targets: tuple[Operation, ...]


def prune(graph: Graph, fetches, feeds, targets=()) -> Program:
    """The Program that computes ``fetches`` and runs ``targets`` given ``feeds``.

    Raises InvalidArgumentError naming the placeholder when one it needs is not fed.
    """
    fed = {t.name for t in feeds}
    view = nx.subgraph_view(graph._as_networkx(), filter_edge=lambda u, v, key: key not in fed)
    roots = [t.op for t in fetches if t.name not in fed] + list(targets)
    needed: set[Operation] = set()
    for root in roots:
        if root not in needed:
            needed.add(root)
            needed |= nx.ancestors(view, root)
    ordered = tuple(nx.lexicographical_topological_sort(view.subgraph(needed), key=lambda op: op._id))
    # A fed placeholder reached through a control edge has nothing left to do.
    ordered = tuple(op for op in ordered if not (op.type == "Placeholder" and op.outputs[0].name in fed))
    for op in ordered:
        if op.type == "Placeholder":
            _raise_unfed_placeholder(op)
    return Program(graph, ordered, tuple(feeds), tuple(fetches), tuple(targets))


def _raise_unfed_placeholder(op: Operation):
    out = op.outputs[0]
    dims = out.shape.as_tuple()
    shape = "<unknown>" if dims is None else "[" + ",".join("?" if d is None else str(d) for d in dims) + "]"
    raise errors.InvalidArgumentError(
        None, op,
        f"You must feed a value for placeholder tensor '{op.name}' with dtype {out.dtype.name} and shape {shape}: "
        f"add it to feed_dict, e.g. sess.run(..., feed_dict={{{op.name}: value}}).",
    )
