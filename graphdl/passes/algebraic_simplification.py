"""Algebraic simplification: identities such as ``x*1``, ``x+0``, ``--x`` and transposes folded into matmul.

Each rule is a function ``rule(builder, op) -> list of new output tensors or None`` in a
table keyed by op type; the first rule that returns outputs replaces the op.
"""

from __future__ import annotations

import numpy as np

from graphdl import dtypes
from graphdl.passes.pipeline import register_pass
from graphdl.passes.purity import is_pure, reads_variable_directly
from graphdl.passes.rewrite import copy_program
from graphdl.passes.sum_batching import sum_of_products, sum_of_reductions


def _const_value(new_tensor):
    """The value of a new-graph Const that a rule may drop (one without control inputs), or None."""
    op = new_tensor.op
    return op.attrs["value"] if op.type == "Const" and not op.control_inputs else None


def _const(builder, old_tensor):
    return _const_value(builder.tensor(old_tensor))


def _is_constant(builder, old_tensor, value) -> bool:
    c = _const(builder, old_tensor)
    return c is not None and c.size > 0 and bool(np.all(c == value))


def _same_static_shape(a, b) -> bool:
    return a.shape.as_tuple() is not None and a.shape.as_tuple() == b.shape.as_tuple()


def _keep(builder, op, operand_index):
    """Use input ``operand_index`` in place of op when that changes neither shape nor dtype."""
    x = op.inputs[operand_index]
    out = op.outputs[0]
    if x.dtype == out.dtype and _same_static_shape(x, out) and None not in out.shape.as_tuple():
        return [builder.tensor(x)]
    return None


def _neutral_operand(neutral, commutative=True):
    def rule(builder, op):
        if _is_constant(builder, op.inputs[1], neutral):
            return _keep(builder, op, 0)
        if commutative and _is_constant(builder, op.inputs[0], neutral):
            return _keep(builder, op, 1)
        return None

    return rule


def _self_subtraction(builder, op):
    """x - x -> zeros, when x's shape is static and dropping x's computation loses no side effect."""
    x, y = op.inputs
    if builder.tensor(x) is not builder.tensor(y) or not x.shape.is_fully_defined():
        return None
    if not builder.side_effects.droppable(x):
        return None  # e.g. x computed from an Assign or a random op: those must still run
    zeros = np.zeros(x.shape.as_list(), dtype=x.dtype.np)
    return [builder.create("Const", [], {"value": zeros, "dtype": x.dtype}, op.name + "/zeros").outputs[0]]


def _producer(builder, old_tensor):
    return builder.tensor(old_tensor).op


def _bypassable(inner) -> bool:
    """Whether a rule may read through ``inner`` (a new-graph op) to its inputs.

    Not when ``inner`` has control inputs (skipping it would drop them) or reads a variable
    directly (the read would move to a later op, which may see an assigned value).
    """
    return is_pure(inner) and not reads_variable_directly(inner)


def _double_negation(builder, op):
    inner = _producer(builder, op.inputs[0])
    if inner.type == "Neg" and _bypassable(inner):
        return [inner.inputs[0]]
    return None


def _perm(builder, op):
    p = _const(builder, op.inputs[1])
    return None if p is None else [int(v) for v in p]


def _transpose_chain(builder, op):
    inner = _producer(builder, op.inputs[0])
    outer_perm = _perm(builder, op)
    inner_perm = _const_value(inner.inputs[1]) if inner.type == "Transpose" else None
    if inner_perm is None or outer_perm is None or not _bypassable(inner):
        return None
    inner_perm = [int(v) for v in inner_perm]
    combined = [inner_perm[i] for i in outer_perm]
    if combined == list(range(len(combined))):
        return [inner.inputs[0]]
    perm_attrs = {"value": np.asarray(combined, np.int32), "dtype": inner.inputs[1].dtype}
    perm = builder.create("Const", [], perm_attrs, op.name + "/perm")
    return [builder.create("Transpose", [inner.inputs[0], perm.outputs[0]], {}, op.name, exact=True).outputs[0]]


def _identity_transpose(builder, op):
    perm = _perm(builder, op)
    if perm is not None and perm == list(range(len(perm))):
        return [builder.tensor(op.inputs[0])]
    return None


def _reshape_chain(builder, op):
    inner = _producer(builder, op.inputs[0])
    if inner.type == "Reshape" and _bypassable(inner):
        reshaped = builder.create("Reshape", [inner.inputs[0], builder.tensor(op.inputs[1])], {}, op.name, exact=True)
        return [reshaped.outputs[0]]
    source = builder.tensor(op.inputs[0])
    if source.shape.is_fully_defined() and _same_static_shape(source, op.outputs[0]):
        return [source]
    return None


def _passthrough(builder, op):
    return [builder.tensor(op.inputs[0])]


def _same_dtype_cast(builder, op):
    return [builder.tensor(op.inputs[0])] if op.inputs[0].dtype == op.outputs[0].dtype else None


def _matmul_transposes(builder, op):
    """MatMul(Transpose(a), b) -> MatMul(a, b, transpose_a=True) (rank 2, perm [1, 0])."""
    attrs = dict(op.attrs)
    inputs = [builder.tensor(t) for t in op.inputs]
    changed = False
    for i, flag in ((0, "transpose_a"), (1, "transpose_b")):
        producer = inputs[i].op
        perm = _const_value(producer.inputs[1]) if producer.type == "Transpose" else None
        if perm is not None and [int(v) for v in perm] == [1, 0] and _bypassable(producer):
            inputs[i] = producer.inputs[0]
            attrs[flag] = not attrs.get(flag, False)
            changed = True
    if not changed:
        return None
    return [builder.create("MatMul", inputs, attrs, op.name, exact=True).outputs[0]]


def _int_list(builder, old_tensor):
    value = _const(builder, old_tensor)
    return None if value is None else [int(v) for v in np.ravel(value)]


def _unused_split_of_matmul(builder, op):
    """SplitV(MatMul(a, b), sizes, axis) of which some parts are never read -> one MatMul per part on a slice of
    the operand that holds its rows or columns (the gradient of ``concat([x, h]) @ W`` when only h's part is
    needed, as in an RNN's backward pass: the unread rows are then never computed)."""
    x, sizes_t, axis_t = op.inputs
    producer = _producer(builder, x)
    sizes, axis = _int_list(builder, sizes_t), _int_list(builder, axis_t)
    if (producer.type != "MatMul" or not _bypassable(producer) or sizes is None or axis is None
            or builder.uses(x) != 1 or x.shape.ndims != 2 or all(builder.uses(t) for t in op.outputs)):
        return None
    dims = x.shape.as_tuple()
    axis = axis[0] % 2
    if dims[axis] is None or any(s < 0 for s in sizes) or sum(sizes) != dims[axis]:
        return None
    a, b = producer.inputs
    transpose_a, transpose_b = bool(producer.attrs.get("transpose_a")), bool(producer.attrs.get("transpose_b"))
    # Output rows are a's rows (its columns when transposed); output columns are b's columns (rows when transposed).
    operand, transposed = (a, transpose_a) if axis == 0 else (b, transpose_b)
    slice_axis = (1 if transposed else 0) if axis == 0 else (0 if transposed else 1)
    outputs, start = [], 0
    for k, size in enumerate(sizes):
        begin, extent = [0, 0], [-1, -1]
        begin[slice_axis], extent[slice_axis] = start, size
        start += size
        consts = [builder.create("Const", [], {"value": np.asarray(v, np.int32), "dtype": dtypes.int32},
                                 f"{op.name}/part{k}/{label}").outputs[0]
                  for v, label in ((begin, "begin"), (extent, "size"))]
        part = builder.create("Slice", [operand, *consts], {}, f"{op.name}/part{k}/operand").outputs[0]
        pair = [part, b] if axis == 0 else [a, part]
        product = builder.create("MatMul", pair, dict(producer.attrs), f"{op.name}/part{k}")
        outputs.append(product.outputs[0])
    return outputs


_POOL_ATTRS = ("ksize", "strides", "padding", "data_format")


def _mask_before_max_pool_grad(builder, op):
    """ReluGrad(MaxPoolGrad(r, y, dy), r) -> MaxPoolGrad(r, y, ReluGrad(dy, y)) where y = MaxPool(r) (Relu6Grad
    alike; the mask's features may also be the pre-activation z of r = Relu(z)): the pool gradient puts each dy at
    its window's maximum r[p] = y, where the mask of r (or of z) equals that of y; so the mask is read from the
    pooled tensor, a quarter of the elements for 2x2 pools (exact: the mask is 0 or 1)."""
    grad, features = op.inputs
    pool_grad = _producer(builder, grad)
    if pool_grad.type != "MaxPoolGrad" or not _bypassable(pool_grad) or builder.uses(grad) != 1:
        return None
    x, y, dy = pool_grad.inputs
    pool, features = y.op, builder.tensor(features)
    activation = {"ReluGrad": "Relu", "Relu6Grad": "Relu6"}[op.type]
    masks_x = features is x or (x.op.type == activation and x.op.inputs[0] is features)
    if (not masks_x or pool.type != "MaxPool" or pool.inputs[0] is not x
            or any(pool.attrs.get(k) != pool_grad.attrs.get(k) for k in _POOL_ATTRS)):
        return None
    masked = builder.create(op.type, [dy, y], dict(op.attrs), op.name + "/pooled").outputs[0]
    return [builder.create("MaxPoolGrad", [x, y, masked], dict(pool_grad.attrs), op.name).outputs[0]]


RULES = {
    "Mul": [_neutral_operand(1)],
    "AddV2": [_neutral_operand(0)],
    "Sub": [_neutral_operand(0, commutative=False), _self_subtraction],
    "RealDiv": [_neutral_operand(1, commutative=False)],
    "Neg": [_double_negation],
    "Transpose": [_identity_transpose, _transpose_chain],
    "Reshape": [_reshape_chain],
    "Identity": [_passthrough],
    "StopGradient": [_passthrough],
    "PlaceholderWithDefault": [_passthrough],
    "Cast": [_same_dtype_cast],
    "MatMul": [_matmul_transposes],
    "SplitV": [_unused_split_of_matmul],
    "ReluGrad": [_mask_before_max_pool_grad],
    "Relu6Grad": [_mask_before_max_pool_grad],
    "AddN": [lambda builder, op: sum_of_products(builder, op, _bypassable),
             lambda builder, op: sum_of_reductions(builder, op, _bypassable)],
}


@register_pass("algebraic_simplification", "x*1, x+0, x-x, --x, transpose/reshape chains, identities, transposes into "
               "matmul, sums of per-step products, ReLU masks before max-pool gradients")
def simplify_algebra(program):
    """Apply the rewrite rules of ``RULES`` to every pure op (one sweep, in dependency order)."""
    changes = []

    def substitute(builder, op):
        if not is_pure(op):
            return False
        for rule in RULES.get(op.type, ()):
            outputs = rule(builder, op)
            if outputs is not None and not any(t.op.type == "VariableV2" for t in outputs):
                # (A variable itself never stands for a read of it: the read would move to
                # each consumer, after assignments the original read came before.)
                for old_t, new_t in zip(op.outputs, outputs):
                    new_t.set_shape(old_t.shape)
                builder.replace(op, outputs)
                changes.append(f"{op.name} ({op.type}) -> {outputs[0].op.name} ({outputs[0].op.type})")
                return True
        return False

    return copy_program(program, substitute), changes
