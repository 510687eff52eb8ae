"""The ONNX mapping table: one function per graphdl op type, plus the op types that are never exported.

A mapping module registers its functions with :func:`register`::

    @register("Relu")
    def relu(ctx, op):
        return ctx.node("Relu", [ctx.get(op.inputs[0])])

A mapping receives the export context and the graphdl ``Operation`` and returns the ONNX
value name of each output (one name, or a list with one entry per output; ``None`` for an
output it cannot produce). Op types that only appear in training graphs, or that have no
ONNX equivalent, are listed with :func:`not_exported` and the reason, so a graph that needs
one fails with that reason rather than a missing entry.
"""

from __future__ import annotations

from collections.abc import Callable

from graphdl import errors

MAPPINGS: dict[str, Callable] = {}
NOT_EXPORTED: dict[str, str] = {}


def register(*op_types: str):
    """Decorator registering ``fn(ctx, op)`` as the ONNX mapping of each of ``op_types``."""

    def decorate(fn):
        for op_type in op_types:
            if op_type in MAPPINGS:
                raise ValueError(f"ONNX mapping for op type '{op_type}' is already registered")
            MAPPINGS[op_type] = fn
        return fn

    return decorate


def not_exported(reason: str, *op_types: str):
    """Declare ``op_types`` as training-only or unexportable, for ``reason``."""
    for op_type in op_types:
        NOT_EXPORTED[op_type] = reason


def mapping_for(op) -> Callable:
    """The mapping function of ``op``'s type; UnimplementedError naming the op type and node otherwise."""
    fn = MAPPINGS.get(op.type)
    if fn is not None:
        return fn
    reason = NOT_EXPORTED.get(op.type, "no ONNX mapping is registered for this op type")
    raise errors.UnimplementedError(
        None, op, f"Cannot export operation '{op.name}' (op type: {op.type}) to ONNX: {reason}."
    )
