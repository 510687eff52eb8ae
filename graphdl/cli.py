"""The ``graphdl`` command line: ``graphdl export GRAPH_FILE --checkpoint CKPT -o model.onnx --inputs x --outputs y``.

Each subcommand is a ``(name, add_arguments, run)`` entry in ``SUBCOMMANDS``; later ones
(``viz``, ``summary``) add themselves there.
"""

from __future__ import annotations

import argparse
import sys

from graphdl import cli_graph


def _names(values) -> list:
    """Names from repeated and/or comma-separated arguments: ``--inputs x,y`` or ``--inputs x --inputs y``."""
    out = []
    for value in values or []:
        out.extend(v for v in value.split(",") if v)
    return out


def _add_export_arguments(parser):
    parser.add_argument("graph_file", help="a meta graph file (model.ckpt.meta, graphdl.save_graph) or graph file")
    parser.add_argument("--checkpoint", help="checkpoint prefix holding the variables' values (omit for a graph "
                        "whose variables have constant initial values)")
    parser.add_argument("-o", "--output", required=True, help="path of the .onnx file to write")
    parser.add_argument("--inputs", action="append", required=True, help="input tensor names (comma-separated)")
    parser.add_argument("--outputs", action="append", required=True, help="output tensor names (comma-separated)")
    parser.add_argument("--opset", type=int, default=None, help="ONNX opset (default: newest onnx and onnxruntime "
                        "both support)")
    parser.add_argument("--feed", action="append", default=[], metavar="NAME=VALUE",
                        help="pin a tensor to a constant, e.g. --feed keep_prob=1.0 or --feed training=false")


def _parse_feed(items, graph) -> dict:
    import numpy as np

    feeds = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep:
            raise SystemExit(f"graphdl export: --feed expects NAME=VALUE, got {item!r}")
        lowered = text.strip().lower()
        value = {"true": True, "false": False}.get(lowered)
        if value is None:
            value = float(text) if any(c in lowered for c in ".en") else int(text)
        tensor = graph.get_tensor_by_name(name if ":" in name else name + ":0")
        feeds[tensor] = np.asarray(value, dtype=tensor.dtype.np)
    return feeds


def _run_export(args) -> int:
    from graphdl.backends.onnx import export
    from graphdl.train.meta_graph import load_graph, load_session

    if args.checkpoint:
        sess_or_graph = load_session(args.graph_file, args.checkpoint)
        graph = sess_or_graph.graph
    else:
        sess_or_graph = graph = load_graph(args.graph_file)
    model = export(sess_or_graph, _names(args.inputs), _names(args.outputs), path=args.output, opset=args.opset,
                   feed_dict=_parse_feed(args.feed, graph))
    print(f"wrote {args.output}: opset {model.opset_import[0].version}, {len(model.graph.node)} nodes, "
          f"{len(model.graph.initializer)} initializers")
    return 0


SUBCOMMANDS = [
    ("export", "export a saved graph and checkpoint as an ONNX model", _add_export_arguments, _run_export),
    ("viz", "draw a saved graph as SVG, PNG, PDF, HTML or DOT", cli_graph.add_viz_arguments, cli_graph.run_viz),
    ("summary", "op counts by type and parameter counts by variable of a saved graph", cli_graph.add_summary_arguments,
     cli_graph.run_summary),
]


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser with one subparser per entry of ``SUBCOMMANDS``."""
    parser = argparse.ArgumentParser(prog="graphdl", description="graphdl command line tools")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text, add_arguments, run in SUBCOMMANDS:
        p = sub.add_parser(name, help=help_text, description=help_text)
        add_arguments(p)
        p.set_defaults(run=run)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``graphdl`` console script and ``python -m graphdl``."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, OSError, NotImplementedError, KeyError) as e:
        print(f"graphdl {args.command}: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
