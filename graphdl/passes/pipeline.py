"""Running the optimization passes in order, each switchable, each reporting what it changed."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from graphdl.client.program import Program


@dataclass
class PassReport:
    """What one pass did to a Program."""

    name: str
    ops_before: int
    ops_after: int
    changes: list = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        detail = f": {len(self.changes)} rewrites" if self.changes else ""
        return f"{self.name}: {self.ops_before} -> {self.ops_after} ops{detail} ({self.seconds * 1e3:.1f} ms)"


@dataclass(frozen=True)
class GraphPass:
    """A named pass: ``run(program) -> (program, changes)``; pure (never mutates its input)."""

    name: str
    run: Callable
    description: str


# The default pipeline, in the order the passes run.
PIPELINE_ORDER = ("constant_folding", "algebraic_simplification", "common_subexpressions")

_PASSES: dict[str, GraphPass] = {}


def register_pass(name: str, description: str):
    """Decorator registering a pass under ``name`` (its place in the pipeline is PIPELINE_ORDER's)."""

    def decorate(fn):
        _PASSES[name] = GraphPass(name, fn, description)
        return fn

    return decorate


# Passes a backend runs after the pipeline (they lower towards its kernels).
BACKEND_PASSES = ("conv_fusion", "elementwise_fusion", "reduction_fusion")


def pass_names() -> list[str]:
    """Names of all passes a session config can switch off, in the order they run."""
    return list(PIPELINE_ORDER) + list(BACKEND_PASSES)


def get_pass(name: str) -> GraphPass:
    _load_passes()
    return _PASSES[name]


def _load_passes():
    # Importing the modules registers their passes.
    from graphdl.passes import algebraic_simplification, common_subexpressions, constant_folding  # noqa: F401


def optimize(program: Program, disabled=(), only=None, on_pass=None) -> tuple[Program, list[PassReport]]:
    """Run the default pipeline over ``program``; returns the new program and one report per pass run.

    ``disabled`` names passes to skip; ``only`` (if given) runs just those passes; ``on_pass`` (if
    given) is called as ``on_pass(report, program_after)`` after each pass.
    """
    _load_passes()
    disabled = (disabled,) if isinstance(disabled, str) else tuple(disabled or ())
    only = (only,) if isinstance(only, str) else (None if only is None else tuple(only))
    unknown = (set(disabled) | set(only or ())) - set(pass_names())
    if unknown:
        raise ValueError(f"Unknown pass name(s) {sorted(unknown)}; passes are: {', '.join(pass_names())}")
    reports = []
    for graph_pass in (_PASSES[name] for name in PIPELINE_ORDER):
        if graph_pass.name in disabled or (only is not None and graph_pass.name not in only):
            continue
        start = time.perf_counter()
        before = len(program.ops)
        program, changes = graph_pass.run(program)
        reports.append(PassReport(graph_pass.name, before, len(program.ops), list(changes), time.perf_counter() - start))
        if on_pass is not None:
            on_pass(reports[-1], program)
    return program, reports
