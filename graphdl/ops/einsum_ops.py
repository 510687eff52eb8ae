"""``tf.einsum``: tensor contractions in Einstein notation (the ``Einsum`` op), with its gradient.

The equation names each operand's dims by letters (``"bij,bjk->bik"``); letters missing from
the output are summed, a letter repeated in one operand takes its diagonal, and ``...``
stands for broadcast batch dims. Without ``->`` the output is ``...`` then the letters used
once, sorted (NumPy's and TF's implicit mode). The reference kernel is ``np.einsum`` with
contraction-order optimization (BLAS for matmul-like contractions).
"""

from __future__ import annotations

import string
from collections import Counter

import numpy as np

from graphdl.framework.op_def import define_op
from graphdl.framework.ops import convert_to_tensor, make_tensor
from graphdl.ops.shape_inference import broadcast_dims

__all__ = ["einsum"]

ELLIPSIS = "..."


# -- the equation ---------------------------------------------------------------------------------------------
def _tokens(subscripts: str, equation: str) -> list:
    """A term's labels as a list of letters, with ``...`` as one token."""
    out, i = [], 0
    while i < len(subscripts):
        if subscripts.startswith(ELLIPSIS, i):
            out.append(ELLIPSIS)
            i += 3
        elif subscripts[i] in string.ascii_letters:
            out.append(subscripts[i])
            i += 1
        else:
            raise ValueError(f"einsum: invalid character {subscripts[i]!r} in equation '{equation}' (use letters, "
                             "',', '->' and '...')")
    if out.count(ELLIPSIS) > 1:
        raise ValueError(f"einsum: the term '{subscripts}' of equation '{equation}' has more than one '...'")
    return out


def parse_equation(equation: str, num_inputs: int | None = None):
    """The operands' label lists and the output's, for ``equation`` (implicit mode resolved)."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    inputs = [_tokens(term, equation) for term in lhs.split(",")]
    if num_inputs is not None and len(inputs) != num_inputs:
        raise ValueError(f"einsum: equation '{equation}' names {len(inputs)} operands, but {num_inputs} were given")
    if arrow:
        output = _tokens(rhs, equation)
        labels = {c for term in inputs for c in term}
        for c in output:
            if c != ELLIPSIS and c not in labels:
                raise ValueError(f"einsum: output label '{c}' of equation '{equation}' appears in no operand")
        letters = [c for c in output if c != ELLIPSIS]
        if len(set(letters)) != len(letters):
            raise ValueError(f"einsum: the output of equation '{equation}' repeats a label")
        if ELLIPSIS in output and not any(ELLIPSIS in term for term in inputs):
            raise ValueError(f"einsum: the output of equation '{equation}' has '...' but no operand does")
    else:
        counts = Counter(c for term in inputs for c in term if c != ELLIPSIS)
        output = ([ELLIPSIS] if any(ELLIPSIS in term for term in inputs) else []) + sorted(
            c for c, n in counts.items() if n == 1)
    return inputs, output


def _format(terms, output) -> str:
    return ",".join("".join(t) for t in terms) + "->" + "".join(output)


def _ellipsis_dims(term, dims, what):
    """The dims an operand's ``...`` covers (``()`` without one); ValueError when its rank is too small."""
    named = len([c for c in term if c != ELLIPSIS])
    if ELLIPSIS not in term:
        if len(dims) != named:
            raise ValueError(f"einsum: {what} has rank {len(dims)} but its subscripts '{''.join(term)}' name {named} "
                             "dims")
        return ()
    if len(dims) < named:
        raise ValueError(f"einsum: {what} has rank {len(dims)}, less than the {named} dims its subscripts "
                         f"'{''.join(term)}' name")
    start = term.index(ELLIPSIS)
    return tuple(dims[start:start + len(dims) - named])


def _label_dims(term, dims):
    """(label, dim) pairs of an operand's named dims."""
    if ELLIPSIS not in term:
        return list(zip(term, dims))
    start = term.index(ELLIPSIS)
    after = len(term) - start - 1
    return list(zip(term[:start], dims[:start])) + list(zip(term[start + 1:], dims[len(dims) - after:]))


# -- Einsum ---------------------------------------------------------------------------------------------------
def _infer_einsum(op):
    terms, output = parse_equation(op.attrs["equation"], len(op.inputs))
    dtype = op.inputs[0].dtype
    for x in op.inputs[1:]:
        if x.dtype != dtype:
            raise TypeError(f"einsum: all operands must have one dtype, got {dtype.name} and {x.dtype.name} "
                            f"('{x.name}')")
    shapes = [x.shape.as_tuple() for x in op.inputs]
    broadcast = op.attrs.get("broadcast_labels", False)
    sizes, ellipsis = {}, ()
    for k, (term, dims) in enumerate(zip(terms, shapes)):
        if dims is None:
            if ELLIPSIS in term:
                ellipsis = None
            continue
        what = f"operand {k} ('{op.inputs[k].name}', shape {op.inputs[k].shape})"
        if ellipsis is not None:
            ellipsis = broadcast_dims(ellipsis, _ellipsis_dims(term, dims, what))
        for c, d in _label_dims(term, dims):
            known = sizes.get(c)
            if known is None or (broadcast and known == 1):
                sizes[c] = d
            elif d is not None and d != known and not (broadcast and d == 1):
                raise ValueError(f"einsum: label '{c}' of equation '{op.attrs['equation']}' has size {known} in one "
                                 f"operand and {d} in {what}")
    if ELLIPSIS in output and ellipsis is None:
        return [(None, dtype)]
    out = []
    for c in output:
        out.extend(ellipsis if c == ELLIPSIS else (sizes.get(c),))
    return [(tuple(out), dtype)]


def _einsum_kernel(ctx, *operands):
    equation = ctx.attrs["equation"]
    if ELLIPSIS in equation:  # NumPy cannot sum '...' dims away: name them
        terms, output, _ = explicit_equation(*parse_equation(equation), [x.ndim for x in operands])
        equation = _format(terms, output)
    result = np.asarray(np.einsum(equation, *operands, optimize=len(operands) > 1))
    return result if result.flags.owndata else result.copy()  # einsum can return a view of an operand


def _eye(n, dtype):
    from graphdl.ops.compare_ops import equal
    from graphdl.ops.layout_ops import expand_dims
    from graphdl.ops.math_ops import cast
    from graphdl.ops.range_ops import range as range_

    i = range_(n)
    return cast(equal(expand_dims(i, 1), expand_dims(i, 0)), dtype)


def _dim(x, axis):
    from graphdl.ops.array_ops import shape

    d = x.shape.as_tuple()[axis]
    return d if d is not None else shape(x)[axis]


def explicit_equation(terms, output, ranks):
    """The labels with every ``...`` replaced by letters (right-aligned, as broadcasting aligns dims), for operands
    of the given ranks; also whether more than one operand had a ``...`` (whose dims may then broadcast)."""
    counts = [r - (len(t) - 1) if ELLIPSIS in t else 0 for t, r in zip(terms, ranks)]
    used = {c for t in terms for c in t}
    block = [c for c in string.ascii_letters if c not in used][:max(counts, default=0)]

    def expand(term, n):
        if ELLIPSIS not in term:
            return list(term)
        i = term.index(ELLIPSIS)
        return term[:i] + block[len(block) - n:] + term[i + 1:]

    expanded = [expand(t, n) for t, n in zip(terms, counts)]
    return expanded, expand(output, len(block)), sum(ELLIPSIS in t for t in terms) > 1


def _explicit_terms(op):
    terms, output = parse_equation(op.attrs["equation"], len(op.inputs))
    ranks = [x.shape.ndims for x in op.inputs]
    if any(ELLIPSIS in t and r is None for t, r in zip(terms, ranks)):
        raise ValueError(f"The gradient of einsum '{op.name}' needs operands of known rank where the equation has "
                         "'...'")
    return explicit_equation(terms, output, ranks)


def _operand_grad(op, dy, k, terms, output, spare):
    """The gradient of operand ``k``: an einsum of ``dy`` with the other operands, spreading it over summed labels
    (ones) and onto diagonals (identity matrices) where operand ``k`` repeats a label."""
    x = op.inputs[k]
    target, extra_terms, extra_values, seen = [], [], [], {}
    for axis, c in enumerate(terms[k]):
        if c in seen:
            fresh = next(spare)
            target.append(fresh)
            extra_terms.append([c, fresh])
            extra_values.append(_eye(_dim(x, axis), x.dtype))
        else:
            seen[c] = axis
            target.append(c)
    elsewhere = set(output).union(*(terms[j] for j in range(len(terms)) if j != k), *extra_terms)
    for c, axis in seen.items():
        if c not in elsewhere:
            from graphdl.ops.array_ops import ones

            extra_terms.append([c])
            extra_values.append(ones([_dim(x, axis)], dtype=x.dtype))
    others = [j for j in range(len(terms)) if j != k]
    equation = _format([output] + [terms[j] for j in others] + extra_terms, target)
    inputs = [dy] + [op.inputs[j] for j in others] + extra_values
    return make_tensor("Einsum", inputs, {"equation": equation, "broadcast_labels": True}, name="Einsum")


def _einsum_grad(op, dy):
    from graphdl.ops.grad_utils import unbroadcast

    terms, output, broadcasting = _explicit_terms(op)
    used = {c for t in terms for c in t}
    spare = iter([c for c in string.ascii_letters if c not in used])
    grads = []
    for k, x in enumerate(op.inputs):
        if not x.dtype.is_floating:
            grads.append(None)
            continue
        grad = _operand_grad(op, dy, k, terms, output, spare)
        # Where operands' '...' dims broadcast against each other, sum the gradient back over the broadcast dims.
        grads.append(unbroadcast(grad, x, grad) if broadcasting else grad)
    return grads


define_op("Einsum", infer=_infer_einsum, kernel=_einsum_kernel, grad=_einsum_grad)


def einsum(equation, *inputs, **kwargs):
    """The contraction of ``inputs`` that ``equation`` describes, e.g. ``einsum("ij,jk->ik", a, b)`` (matmul),
    ``"bij,bkj->bik"`` (batched matmul with a transpose), ``"ii->"`` (trace), ``"...ij->...ji"``.

    ``name`` is the only keyword argument, as in TF1.
    """
    name = kwargs.pop("name", None)
    if kwargs:
        raise TypeError(f"einsum: invalid keyword arguments {sorted(kwargs)} (only 'name' is accepted)")
    if not inputs:
        raise ValueError("einsum: at least one operand is required")
    tensors = [convert_to_tensor(x, name="input") for x in inputs]
    terms, output = parse_equation(equation, len(tensors))
    return make_tensor("Einsum", tensors, {"equation": _format(terms, output)}, name=name or "Einsum")
