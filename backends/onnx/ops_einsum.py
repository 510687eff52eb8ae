"""ONNX mapping of ``Einsum``: ONNX has the operator itself (opset 12+)."""

from __future__ import annotations

from graphdl.backends.onnx.registry import register

from graphdl.ops.einsum_ops import ELLIPSIS, parse_equation


@register("Einsum")
def einsum(ctx, op):
    """ONNX Einsum. ONNX wants every '...' to cover the same number of dims and to appear in the output: operands
    with fewer are unsqueezed (size-1 dims broadcast), and '...' dims the equation sums are summed by ReduceSum."""
    terms, output = parse_equation(op.attrs["equation"], len(op.inputs))
    values = [ctx.get(x) for x in op.inputs]
    if not any(ELLIPSIS in t for t in terms):
        return ctx.node("Einsum", values, equation=op.attrs["equation"])
    ranks = [x.shape.ndims for x in op.inputs]
    if any(ELLIPSIS in t and r is None for t, r in zip(terms, ranks)):
        raise ctx.error("an operand covered by '...' needs a known rank")
    counts = [r - (len(t) - 1) if ELLIPSIS in t else 0 for t, r in zip(terms, ranks)]
    widest = max(counts)
    for k, (term, n) in enumerate(zip(terms, counts)):
        if ELLIPSIS in term and n < widest:
            start = term.index(ELLIPSIS)
            values[k] = ctx.node("Unsqueeze", [values[k], ctx.int64(list(range(start, start + widest - n)))])
    summed = ELLIPSIS not in output
    out_terms = [ELLIPSIS] + output if summed else output
    equation = ",".join("".join(t) for t in terms) + "->" + "".join(out_terms)
    result = ctx.node("Einsum", values, equation=equation)
    if summed and widest:
        result = ctx.node("ReduceSum", [result, ctx.int64(list(range(widest)))], keepdims=0)
    return result
