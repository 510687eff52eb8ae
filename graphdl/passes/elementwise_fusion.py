"""Elementwise fusion: chains and trees of elementwise ops become one ``FusedElementwise`` op.

An op joins the group of its consumers when all its consumers are in that one group
and its static shape equals the group's output shape (so nothing is recomputed per
element and no intermediate is materialized). Broadcast operands stay group inputs.
Ops that are fetched, run as targets, fed, or that other ops wait on through control
dependencies stay the outputs of their groups: their values (or their running) are
observable outside the group.
"""

from __future__ import annotations

from graphdl.ops.fused_ops import Instruction
from graphdl.passes.purity import is_pure
from graphdl.passes.rewrite import ProgramBuilder


def _fusible(op, is_fusible) -> bool:
    return (
        is_fusible(op)
        and is_pure(op)
        and len(op.outputs) == 1
        and op.outputs[0].shape.ndims is not None
    )


def find_groups(program, is_fusible) -> dict:
    """Map each fusible op to its group's root op (the op whose output the group produces)."""
    in_program = set(program.ops)
    fed = set(program.feeds)
    observed = {t.op for t in program.fetches} | set(program.targets)
    observed.update(c for op in program.ops for c in op.control_inputs)
    root_of = {}
    for op in reversed(program.ops):
        if not _fusible(op, is_fusible) or op.outputs[0] in fed:
            continue
        consumers = {c for c in op.outputs[0].consumers() if c in in_program}
        roots = {root_of.get(c) for c in consumers}
        root = next(iter(roots)) if len(roots) == 1 else None
        if (
            root is not None
            and op not in observed
            and op.outputs[0].shape.as_tuple() == root.outputs[0].shape.as_tuple()
            and not any(c.type in ("Placeholder",) for c in consumers)
        ):
            root_of[op] = root
        else:
            root_of[op] = op
    return root_of


def fuse_elementwise(program, is_fusible, min_group_size=1):
    """Replace each group of ops accepted by ``is_fusible(op)`` by one FusedElementwise op.

    Returns (program, changes).
    """
    root_of = find_groups(program, is_fusible)
    members: dict = {}
    for op in program.ops:
        if op in root_of:
            members.setdefault(root_of[op], []).append(op)
    builder = ProgramBuilder(program)
    changes = []
    emitted = set()
    for op in program.ops:
        if op.outputs and all(builder.has(t) for t in op.outputs):
            builder.copy(op)  # fed, in the program only as a control input or a target
            continue
        root = root_of.get(op)
        if root is None or len(members[root]) < min_group_size:
            builder.copy(op)
            continue
        if root in emitted:
            continue
        if op is not root:
            continue  # members are emitted together with their root, which comes last
        group = members[root]
        emitted.add(root)
        fused = _emit_group(builder, group, root)
        builder.replace(root, list(fused.outputs))
        changes.append(f"{fused.name}: {' + '.join(m.type for m in group)} <- {', '.join(m.name for m in group)}")
    return builder.finish(), changes


def _emit_group(builder: ProgramBuilder, group, root):
    in_group = set(group)
    inputs, input_index = [], {}
    instructions, temp_index = [], {}
    for op in group:
        args = []
        for t in op.inputs:
            if t.op in in_group:
                args.append(("temp", temp_index[t.op]))
            else:
                new_t = builder.tensor(t)
                if new_t not in input_index:
                    input_index[new_t] = len(inputs)
                    inputs.append(new_t)
                args.append(("input", input_index[new_t]))
        attrs = tuple(sorted((k, v) for k, v in op.attrs.items() if not k.startswith("_")))
        temp_index[op] = len(instructions)
        instructions.append(Instruction(op.type, tuple(args), attrs, op.name, op.outputs[0].dtype))
    controls = []
    for op in group:
        controls.extend(c for c in builder.control_inputs(op) if c not in controls)
    attrs = {
        "instructions": tuple(instructions),
        "outputs": (temp_index[root],),
        "output_shape": root.outputs[0].shape.as_tuple(),
        "members": tuple(m.name for m in group),
    }
    name = builder.graph.unique_name(f"fused/{root.name}")
    return builder.create("FusedElementwise", inputs, attrs, name, controls, exact=True)
