"""The ``graphdl viz`` and ``graphdl summary`` subcommands: draw a saved graph, or tabulate its ops and parameters.

``graphdl viz GRAPH_FILE -o out.svg|out.png|out.pdf|out.html|out.dot [--fetches NAMES] [--collapse SCOPE]``
``graphdl summary GRAPH_FILE``
Both read a meta graph file (``graphdl.save_graph``, ``Saver``'s ``.meta``) or a ``write_graph`` file.
Bad input (a missing file, an unknown suffix or tensor name) exits with status 2 and a message.
"""

from __future__ import annotations

import math
import os
import sys
from collections import Counter

VIZ_SUFFIXES = (".svg", ".png", ".pdf", ".html", ".dot")
_USAGE_ERROR = 2


class UsageError(Exception):
    """A command-line mistake (missing file, unknown suffix or name): exit status 2."""


def _load(path):
    from graphdl.train.meta_graph import load_graph

    if not os.path.isfile(path):
        raise UsageError(f"graph file {path!r} does not exist: pass a file written by graphdl.save_graph, "
                         "Saver.save (the .meta file) or write_graph")
    try:
        return load_graph(path)
    except (ValueError, KeyError, OSError) as e:
        raise UsageError(f"cannot read the graph file {path!r}: {e}") from e


def _fetches(graph, names):
    """The Tensors/Operations named by ``names`` ("loss", "loss:0", "train_op")."""
    fetches = []
    for name in names:
        try:
            fetches.append(graph.get_tensor_by_name(name) if ":" in name else graph.get_operation_by_name(name))
        except (KeyError, ValueError) as e:
            raise UsageError(f"--fetches: the graph has no op or tensor named {name!r} ({e})") from e
    return fetches


def add_viz_arguments(parser):
    """The arguments of ``graphdl viz``."""
    parser.add_argument("graph_file", help="a meta graph file (model.ckpt.meta, graphdl.save_graph) or graph file")
    parser.add_argument("-o", "--output", required=True,
                        help="the picture to write; its suffix picks the format: " + ", ".join(VIZ_SUFFIXES))
    parser.add_argument("--fetches", action="append", help="draw only what these ops/tensors need (comma-separated)")
    parser.add_argument("--collapse", action="append", metavar="SCOPE",
                        help="draw this name scope as one node (repeatable, comma-separated)")


def run_viz(args) -> int:
    """``graphdl viz``: write the picture; returns the exit status."""
    from graphdl.cli import _names
    from graphdl.viz import GraphvizNotFoundError

    try:
        suffix = os.path.splitext(args.output)[1].lower()
        if suffix not in VIZ_SUFFIXES:
            raise UsageError(f"cannot tell the format of {args.output!r} from its suffix "
                             f"{suffix or '(none)'!r}: name it {' / '.join('out' + s for s in VIZ_SUFFIXES)}")
        graph = _load(args.graph_file)
        fetch_names = _names(args.fetches)
        subject = _fetches(graph, fetch_names) if fetch_names else graph
        collapse = tuple(_names(args.collapse))
        title = os.path.basename(args.graph_file)
        if suffix == ".html":
            from graphdl.viz import to_html

            to_html(subject, args.output, collapse_scopes=collapse, title=title)
        else:
            from graphdl.viz import render

            render(subject, args.output, collapse_scopes=collapse, title=title)
    except UsageError as e:
        print(f"graphdl viz: error: {e}", file=sys.stderr)
        return _USAGE_ERROR
    except GraphvizNotFoundError as e:
        print(f"graphdl viz: error: {e} (writing a .dot file needs no Graphviz)", file=sys.stderr)
        return 1
    print(f"wrote {args.output}")
    return 0


def add_summary_arguments(parser):
    """The arguments of ``graphdl summary``."""
    parser.add_argument("graph_file", help="a meta graph file (model.ckpt.meta, graphdl.save_graph) or graph file")


def _table(header, rows, right=()) -> list:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def line(row):
        cells = [str(c).rjust(w) if i in right else str(c).ljust(w) for i, (c, w) in enumerate(zip(row, widths))]
        return "  ".join(cells).rstrip()

    return [line(header), "  ".join("-" * w for w in widths), *(line(row) for row in rows)]


def _parameter_count(shape) -> int | None:
    dims = shape.as_tuple()
    if dims is None or any(d is None for d in dims):
        return None
    return math.prod(dims)


def graph_summary(graph, title: str = "") -> str:
    """A Keras-summary-like table of ``graph``: op counts by type, then each variable's shape, dtype and
    parameter count, with total, trainable and non-trainable parameter counts."""
    from graphdl.framework.graph import GraphKeys

    ops = graph.get_operations()
    counts = Counter(op.type for op in ops)
    lines = [f"Graph: {title}" if title else "Graph", f"{len(ops)} ops of {len(counts)} types", ""]
    lines += _table(("Op type", "Count"), sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])), right=(1,))
    variables = graph.get_collection(GraphKeys.GLOBAL_VARIABLES)
    trainable_names = {v.op.name for v in graph.get_collection(GraphKeys.TRAINABLE_VARIABLES)}
    known = bool(variables)
    if known:
        entries = [(v.op.name, v.shape, v.dtype.base_dtype.name) for v in variables]
    else:  # a graph file without collections: the variable ops, trainability unknown
        entries = [(op.name, op.outputs[0].shape, op.outputs[0].dtype.base_dtype.name)
                   for op in ops if op.type in ("VariableV2", "Variable", "VarHandleOp")]
    rows, totals = [], Counter()
    for name, shape, dtype in entries:
        count = _parameter_count(shape)
        trainable = ("yes" if name in trainable_names else "no") if known else "?"
        rows.append((name, str(shape), dtype, "?" if count is None else f"{count:,}", trainable))
        totals[trainable] += count or 0
    lines.append("")
    if not rows:
        lines.append("No variables.")
    else:
        lines += _table(("Variable", "Shape", "Dtype", "Params", "Trainable"), rows, right=(3,))
    lines += ["", f"Total params: {sum(totals.values()):,}"]
    if known:
        lines += [f"Trainable params: {totals['yes']:,}", f"Non-trainable params: {totals['no']:,}"]
    else:
        lines.append("Trainable / non-trainable: unknown (the file holds no variable collections)")
    if any(row[3] == "?" for row in rows):
        lines.append("(variables of partly unknown shape are left out of the totals)")
    return "\n".join(lines)


def run_summary(args) -> int:
    """``graphdl summary``: print the table; returns the exit status."""
    try:
        graph = _load(args.graph_file)
    except UsageError as e:
        print(f"graphdl summary: error: {e}", file=sys.stderr)
        return _USAGE_ERROR
    print(graph_summary(graph, os.path.basename(args.graph_file)))
    return 0
