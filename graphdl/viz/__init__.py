"""Pictures of graphs: ``to_dot`` (Graphviz DOT text), ``render`` (SVG/PNG/PDF through Graphviz's ``dot``)
and ``to_html`` (one self-contained interactive page)."""

from graphdl.viz.dot import to_dot
from graphdl.viz.html import to_html
from graphdl.viz.model import GraphView, describe
from graphdl.viz.render import GraphvizNotFoundError, render

__all__ = ["GraphView", "GraphvizNotFoundError", "describe", "render", "to_dot", "to_html"]
