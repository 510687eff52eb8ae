"""ONNX indexing and contraction ops (OneHot, GatherElements, TopK, Einsum) as compositions of graphdl ops."""

from __future__ import annotations

import string

import numpy as np

import graphdl

from .registry import converter, normalize_axis, rank_of


def _wrap_negative(indices, size):
    """ONNX's negative indices (counting from the end of a dim of ``size``) made non-negative."""
    size = graphdl.cast(size, indices.dtype)
    return graphdl.where_v2(graphdl.less(indices, graphdl.zeros_like(indices)), indices + size, indices)


@converter("OneHot", static_inputs=(1,))
def one_hot(node):
    """OneHot(indices, depth, values=[off, on]): graphdl's one_hot with ONNX's negative indices counted from depth."""
    indices = node.input(0)
    depth = int(np.asarray(node.require_const(1, "depth")).reshape(-1)[0])
    values = node.input(2)
    if indices.dtype not in (graphdl.int32, graphdl.int64):  # ONNX allows float indices (truncated)
        indices = graphdl.cast(indices, graphdl.int64)
    indices = _wrap_negative(indices, graphdl.constant(depth, dtype=indices.dtype))
    rank = rank_of(indices, node)
    axis = normalize_axis(node.attr("axis", -1), rank + 1, node)
    return graphdl.one_hot(indices, depth, on_value=values[1], off_value=values[0], axis=axis)


@converter("GatherElements")
def gather_elements(node):
    """GatherElements: ``out[i][j][k] = data[i][indices[i][j][k]][k]`` (for axis 1) via gather_nd with an index grid
    built from the shape of ``indices`` (static, or at run time)."""
    data, indices = node.input(0), node.input(1)
    rank = rank_of(data, node)
    axis = normalize_axis(node.attr("axis", 0), rank, node)
    shape = indices.shape.as_tuple()
    idx = graphdl.cast(_wrap_negative(indices, graphdl.shape(data)[axis]), graphdl.int64)
    if shape is not None and None not in shape:
        grid = np.indices(shape, dtype=np.int64)  # [rank, *shape]
        parts = [idx if d == axis else graphdl.constant(grid[d]) for d in range(rank)]
    else:  # the index grid from the run-time shape of indices
        dims = graphdl.shape(idx, out_type=graphdl.int64)
        parts = []
        for d in range(rank):
            if d == axis:
                parts.append(idx)
                continue
            line = [1] * rank
            line[d] = -1
            parts.append(graphdl.broadcast_to(graphdl.reshape(graphdl.range(dims[d]), line), dims))
    return graphdl.gather_nd(data, graphdl.stack(parts, axis=-1))


# TopK compares every pair along the axis (graphdl has no sort op), so it is limited to short axes.
_TOPK_MAX_AXIS = 4096


@converter("TopK", static_inputs=(1,))
def top_k(node):
    """TopK (k as an attribute before opset 10, else a constant input): the k largest (or smallest) values along
    ``axis`` and their int64 indices, ties broken by the lower index as ONNX specifies.

    Each element's rank is the number of elements that precede it in the sorted order (an O(n^2) pairwise
    comparison: graphdl has no sort op); output slot r picks the element of rank r."""
    x = node.input(0)
    rank = rank_of(x, node)
    axis = normalize_axis(node.attr("axis", -1), rank, node)
    k = int(node.attr("k")) if node.opset < 10 else int(np.asarray(node.require_const(1, "K")).reshape(-1)[0])
    n = x.shape.as_tuple()[axis]
    if n is None or n > _TOPK_MAX_AXIS:
        raise node.unsupported(f"TopK needs a static axis of at most {_TOPK_MAX_AXIS} elements (graphdl has no sort "
                               f"op), got {n}")
    if not 0 <= k <= n:
        raise ValueError(f"{node!r}: k={k} must be in [0, {n}]")
    largest = bool(node.attr("largest", 1))
    moved = [d for d in range(rank) if d != axis] + [axis]
    xt = graphdl.transpose(x, moved)  # [..., n]
    a, b = graphdl.expand_dims(xt, -1), graphdl.expand_dims(xt, -2)  # a: element i, b: element j
    before = graphdl.greater(b, a) if largest else graphdl.less(b, a)
    lower_index = np.tril(np.ones((n, n), bool), -1)  # [i, j]: j < i
    ties = graphdl.logical_and(graphdl.equal(b, a), graphdl.constant(lower_index))
    order = graphdl.reduce_sum(graphdl.cast(graphdl.logical_or(before, ties), graphdl.int64), axis=-1)  # [..., n]
    slots = graphdl.equal(graphdl.expand_dims(order, -1), graphdl.constant(np.arange(k, dtype=np.int64)))
    pick = graphdl.cast(slots, x.dtype)  # [..., n, k]: element i goes to slot r
    values = graphdl.reduce_sum(graphdl.expand_dims(xt, -1) * pick, axis=-2)
    positions = graphdl.constant(np.arange(n, dtype=np.int64).reshape(n, 1))
    indices = graphdl.reduce_sum(graphdl.cast(slots, graphdl.int64) * positions, axis=-2)
    back = list(np.argsort(moved))
    return [graphdl.transpose(values, back), graphdl.transpose(indices, back)]


# -- Einsum ------------------------------------------------------------------------------------------------------------
def _parse_einsum(equation: str, ranks, node):
    """Operand and output subscripts as lists of letters, with ``...`` expanded to upper-case letters."""
    equation = equation.replace(" ", "")
    lhs, _, rhs = equation.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ranks):
        raise ValueError(f"{node!r}: equation '{equation}' has {len(terms)} operands, the node {len(ranks)}")
    ellipsis = max((r - len(t.replace("...", "")) for t, r in zip(terms, ranks) if "..." in t), default=0)
    spare = [c for c in string.ascii_uppercase if c not in equation][:ellipsis]
    operands = []
    for term, r in zip(terms, ranks):
        if "..." in term:
            head, tail = term.split("...")
            n = r - len(head) - len(tail)
            term = head + "".join(spare[ellipsis - n:]) + tail
        if len(term) != r:
            raise ValueError(f"{node!r}: subscripts '{term}' do not match an operand of rank {r}")
        operands.append(list(term))
    if "->" in equation:
        out = list(rhs.replace("...", "".join(spare)))
    else:
        counts = {c: sum(t.count(c) for t in operands) for t in operands for c in t}
        out = spare + sorted(c for c, n in counts.items() if n == 1 and c not in spare)
    return operands, out


def _diagonal(x, letters):
    """Take the diagonal over repeated subscripts (``ii`` -> ``i``) by masking with an identity and summing."""
    while len(set(letters)) < len(letters):
        c = next(c for c in letters if letters.count(c) > 1)
        i, j = [p for p, d in enumerate(letters) if d == c][:2]
        n = x.shape.as_tuple()[i]
        shape = [1] * len(letters)
        shape[i] = shape[j] = n
        x = graphdl.reduce_sum(x * graphdl.constant(np.eye(n, dtype=x.dtype.np).reshape(shape)), axis=j)
        letters = letters[:j] + letters[j + 1:]
    return x, letters


def _contract(a, la, b, lb, keep):
    """a (subscripts ``la``) times b (``lb``), summing the shared subscripts not in ``keep``, as one batched matmul;
    returns the product and its subscripts (batch, a-only, b-only)."""
    batch = [c for c in la if c in lb and c in keep]
    summed = [c for c in la if c in lb and c not in keep]
    only_a = [c for c in la if c not in lb]
    only_b = [c for c in lb if c not in la]
    dims = dict(zip(la, a.shape.as_tuple())) | dict(zip(lb, b.shape.as_tuple()))

    def size(cs):
        return int(np.prod([dims[c] for c in cs], dtype=np.int64))

    at = graphdl.transpose(a, [la.index(c) for c in batch + only_a + summed])
    bt = graphdl.transpose(b, [lb.index(c) for c in batch + summed + only_b])
    at = graphdl.reshape(at, [size(batch), size(only_a), size(summed)])
    bt = graphdl.reshape(bt, [size(batch), size(summed), size(only_b)])
    out = graphdl.reshape(graphdl.matmul(at, bt), [dims[c] for c in batch + only_a + only_b])
    return out, batch + only_a + only_b


@converter("Einsum")
def einsum(node):
    """Einsum over operands of static shape: diagonals of repeated subscripts, sums of subscripts used once, then
    pairwise contractions as batched matmuls, and a final transpose into the output's order."""
    xs = node.inputs()
    for x in xs:
        if not x.shape.is_fully_defined():
            raise node.unsupported("Einsum needs operands of static shape")
    operands, out = _parse_einsum(node.attr("equation"), [rank_of(x, node) for x in xs], node)
    terms = []
    for k, (x, letters) in enumerate(zip(xs, operands)):
        x, letters = _diagonal(x, letters)
        elsewhere = set(out).union(*(operands[m] for m in range(len(xs)) if m != k))
        axes = [p for p, c in enumerate(letters) if c not in elsewhere]
        if axes:
            x = graphdl.reduce_sum(x, axis=axes)
            letters = [c for c in letters if c in elsewhere]
        terms.append((x, letters))
    x, letters = terms[0]
    for m, (y, ly) in enumerate(terms[1:], start=2):
        keep = set(out).union(*(t[1] for t in terms[m:]))
        x, letters = _contract(x, letters, y, ly, keep)
    perm = [letters.index(c) for c in out]
    return graphdl.transpose(x, perm) if perm != list(range(len(perm))) else graphdl.identity(x)


# -- ScatterND ---------------------------------------------------------------------------------------------------------
_COMBINE = {"mul": (graphdl.multiply, graphdl.reduce_prod), "max": (graphdl.maximum, graphdl.reduce_max),
            "min": (graphdl.minimum, graphdl.reduce_min)}


def _reduction_identity(op: str, dtype):
    if op == "mul":
        return np.ones((), dtype.np)
    info = np.finfo(dtype.np) if dtype.is_floating else np.iinfo(dtype.np)
    value = (-np.inf if op == "max" else np.inf) if dtype.is_floating else (info.min if op == "max" else info.max)
    return np.asarray(value, dtype.np)


@converter("ScatterND")
def scatter_nd(node):
    """ScatterND: ``data`` with the slices ``updates`` written (``none``), added, multiplied, or max/min-combined
    at the index tuples in the last dim of ``indices`` (negative indices count from the end).

    Each output position takes the update whose 1-based number a ``scatter_nd`` of update numbers leaves there
    (0: untouched). For mul/max/min, updates sharing an index tuple are first combined with each other (an
    N x N comparison of their positions, N the number of updates) and the first of each group is scattered."""
    data, indices, updates = node.input(0), node.input(1), node.input(2)
    reduction = node.attr("reduction", "none")
    if reduction not in ("none", "add", *_COMBINE):
        raise node.unsupported(f"ScatterND reduction '{reduction}'")
    k = indices.shape.as_tuple()[-1] if indices.shape.ndims else None
    rank = rank_of(data, node)
    if k is None:
        raise node.unsupported("ScatterND needs indices whose last dim (the index tuple length) is static")
    shape = graphdl.shape(data, out_type=graphdl.int64)
    index = graphdl.reshape(graphdl.cast(indices, graphdl.int64), [-1, k])
    index = _wrap_negative(index, shape[:k])
    rows = graphdl.reshape(updates, graphdl.concat([[-1], shape[k:]], 0))
    if reduction == "add":
        return data + graphdl.scatter_nd(index, rows, shape)
    count = graphdl.shape(index, out_type=graphdl.int64)[0]
    number = graphdl.range(graphdl.constant(1, graphdl.int64), count + 1, dtype=graphdl.int64)
    if reduction != "none":
        position = index[:, 0]
        for d in range(1, k):
            position = position * shape[d] + index[:, d]
        same = graphdl.equal(graphdl.expand_dims(position, 1), graphdl.expand_dims(position, 0))  # [N, N]
        order = graphdl.range(count)
        earlier = graphdl.less(graphdl.expand_dims(order, 0), graphdl.expand_dims(order, 1))  # [i, j]: j < i
        first = graphdl.logical_not(graphdl.reduce_any(graphdl.logical_and(same, earlier), axis=1))
        number = graphdl.where_v2(first, number, graphdl.zeros_like(number))
        combine, reduce = _COMBINE[reduction]
        slice_ones = graphdl.ones([rank - k], graphdl.int64)
        same = graphdl.reshape(same, graphdl.concat([graphdl.shape(same, out_type=graphdl.int64), slice_ones], 0))
        identity = graphdl.constant(_reduction_identity(reduction, data.dtype))
        rows = reduce(graphdl.where_v2(same, graphdl.expand_dims(rows, 0), identity), axis=1)  # each group combined
    taken = graphdl.scatter_nd(index, number, shape[:k])  # 1-based update number per position, 0: untouched
    written = graphdl.gather(rows, graphdl.maximum(taken - 1, 0))
    mask = graphdl.reshape(taken > 0, graphdl.concat([shape[:k], graphdl.ones([rank - k], graphdl.int64)], 0))
    if reduction != "none":
        written = combine(data, written)
    return graphdl.where_v2(mask, written, data)
