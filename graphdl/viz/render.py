"""``render``: DOT text (or anything ``to_dot`` draws) to an SVG/PNG/PDF file with Graphviz's ``dot``."""

from __future__ import annotations

import os
import shutil
import subprocess

from graphdl.io.atomic import write_atomically

FORMATS = ("svg", "png", "pdf", "dot", "json")
_MISSING_DOT = (
    "Graphviz's `dot` program was not found: install it (apt-get install graphviz / brew install graphviz / "
    "conda install graphviz), or write DOT with to_dot"
)


class GraphvizNotFoundError(RuntimeError):
    """Graphviz's ``dot`` program is not on PATH."""


def find_dot() -> str:
    """The path of Graphviz's ``dot`` program; GraphvizNotFoundError saying how to install it when absent."""
    path = shutil.which("dot")
    if path is None:
        raise GraphvizNotFoundError(_MISSING_DOT)
    return path


def run_dot(dot_text: str, fmt: str, timeout: float = 300) -> bytes:
    """Run ``dot -T<fmt>`` on ``dot_text`` and return its output; RuntimeError with dot's message on failure."""
    result = subprocess.run(
        [find_dot(), f"-T{fmt}"], check=False, input=dot_text.encode("utf-8"), capture_output=True, timeout=timeout
    )
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError(f"Graphviz `dot -T{fmt}` failed (exit status {result.returncode}): {message}")
    return result.stdout


def render(dot_text_or_graph, path, *, format: str | None = None, **to_dot_options) -> str:
    """Draw ``dot_text_or_graph`` (DOT text, or anything ``to_dot`` accepts) into the file ``path``.

    The format comes from the suffix (.svg, .png, .pdf) unless ``format`` is given; extra keyword
    options go to ``to_dot``. Writes atomically and returns ``path``. Raises GraphvizNotFoundError
    when ``dot`` is not installed, ValueError for a format Graphviz is not asked to write here.
    """
    path = os.fspath(path)
    fmt = (format or os.path.splitext(path)[1].lstrip(".")).lower()
    if fmt not in FORMATS:
        raise ValueError(
            f"Cannot render '{path}': format {fmt or '<none>'!r} is not one of {', '.join(FORMATS)}; "
            "name the file .svg, .png or .pdf, or pass format="
        )
    if isinstance(dot_text_or_graph, str):
        if to_dot_options:
            raise TypeError(f"render() got to_dot options {sorted(to_dot_options)} with DOT text: pass a graph instead")
        dot_text = dot_text_or_graph
    else:
        from graphdl.viz.dot import to_dot

        dot_text = to_dot(dot_text_or_graph, **to_dot_options)
    data = dot_text.encode("utf-8") if fmt == "dot" else run_dot(dot_text, fmt)
    write_atomically(path, data)
    return path
