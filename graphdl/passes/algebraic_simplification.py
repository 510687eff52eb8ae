"""Algebraic simplification: identities such as ``x*1``, ``x+0``, ``--x`` and transposes folded into matmul.

Each rule is a function ``rule(builder, op) -> list of new output tensors or None`` in a
table keyed by op type; the first rule that returns outputs replaces the op.
"""

from __future__ import annotations

import numpy as np

from graphdl.passes.pipeline import register_pass
from graphdl.passes.purity import is_pure
from graphdl.passes.rewrite import copy_program


def _const(builder, old_tensor):
    new = builder.tensor(old_tensor)
    return new.op.attrs["value"] if new.op.type == "Const" else None


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
    x, y = op.inputs
    if builder.tensor(x) is builder.tensor(y) and is_pure(x.op) and None not in (x.shape.as_tuple() or (None,)):
        zeros = np.zeros(x.shape.as_list(), dtype=x.dtype.np)
        return [builder.create("Const", [], {"value": zeros, "dtype": x.dtype}, op.name + "/zeros").outputs[0]]
    return None


def _producer(builder, old_tensor):
    return builder.tensor(old_tensor).op


def _double_negation(builder, op):
    inner = _producer(builder, op.inputs[0])
    if inner.type == "Neg":
        return [inner.inputs[0]]
    return None


def _perm(builder, op):
    p = _const(builder, op.inputs[1])
    return None if p is None else [int(v) for v in p]


def _transpose_chain(builder, op):
    inner = _producer(builder, op.inputs[0])
    outer_perm = _perm(builder, op)
    if inner.type != "Transpose" or outer_perm is None or inner.inputs[1].op.type != "Const":
        return None
    inner_perm = [int(v) for v in inner.inputs[1].op.attrs["value"]]
    combined = [inner_perm[i] for i in outer_perm]
    if combined == list(range(len(combined))):
        return [inner.inputs[0]]
    perm = builder.create("Const", [], {"value": np.asarray(combined, np.int32), "dtype": inner.inputs[1].dtype}, op.name + "/perm")
    return [builder.create("Transpose", [inner.inputs[0], perm.outputs[0]], {}, op.name).outputs[0]]


def _identity_transpose(builder, op):
    perm = _perm(builder, op)
    if perm is not None and perm == list(range(len(perm))):
        return [builder.tensor(op.inputs[0])]
    return None


def _reshape_chain(builder, op):
    inner = _producer(builder, op.inputs[0])
    if inner.type == "Reshape":
        return [builder.create("Reshape", [inner.inputs[0], builder.tensor(op.inputs[1])], {}, op.name).outputs[0]]
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
        if producer.type == "Transpose" and producer.inputs[1].op.type == "Const":
            if [int(v) for v in producer.inputs[1].op.attrs["value"]] == [1, 0]:
                inputs[i] = producer.inputs[0]
                attrs[flag] = not attrs[flag]
                changed = True
    if not changed:
        return None
    return [builder.create("MatMul", inputs, attrs, op.name).outputs[0]]


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
}


@register_pass("algebraic_simplification", "x*1, x+0, x-x, --x, transpose/reshape chains, identities, transposes into matmul")
def simplify_algebra(program):
    """Apply the rewrite rules of ``RULES`` to every pure op (one sweep, in dependency order)."""
    changes = []

    def substitute(builder, op):
        if not is_pure(op):
            return False
        for rule in RULES.get(op.type, ()):
            outputs = rule(builder, op)
            if outputs is not None:
                for old_t, new_t in zip(op.outputs, outputs):
                    new_t.set_shape(old_t.shape)
                builder.replace(op, outputs)
                changes.append(f"{op.name} ({op.type}) -> {outputs[0].op.name} ({outputs[0].op.type})")
                return True
        return False

    return copy_program(program, substitute), changes
