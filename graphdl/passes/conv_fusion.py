"""Conv2D + bias add (+ Relu) -> one ``_FusedConv2D`` (``graphdl/ops/fused_conv_ops.py``).

The pattern TF's grappler remapper fuses for its CPU kernels: ``Relu(BiasAdd(Conv2D(x, w), b))``,
and ``BiasAdd(Conv2D(x, w), b)`` without an activation. ``Add``/``AddV2`` of a vector of the output
channels counts as a bias add for NHWC (it broadcasts along the last axis); for NCHW only a
``BiasAdd`` with ``data_format="NCHW"`` does. The convolution's and the bias add's outputs must have
no other reader and not be fetched, fed or waited on through control dependencies: the fused op
produces only the last tensor of the chain. A backend pass: it runs after differentiation (the
gradient ops read the activation's output, which stays).
"""

from __future__ import annotations

from graphdl.passes.rewrite import ProgramBuilder

_BIAS_ADDS = ("BiasAdd", "BiasAddV1", "Add", "AddV2")


def _readers(program):
    readers: dict = {}
    for op in program.ops:
        for t in op.inputs:
            readers.setdefault(t, []).append(op)
    return readers


def _observed(program):
    """Tensors whose value leaves the chain anyway (fetched, fed) and ops something waits on."""
    tensors = set(program.fetches) | set(program.feeds)
    ops = set(program.targets) | {c for op in program.ops for c in op.control_inputs}
    return tensors, ops


def _sole_reader(tensor, readers, observed):
    tensors, ops = observed
    users = readers.get(tensor, [])
    if tensor in tensors or tensor.op in ops or len(users) != 1:
        return None
    return users[0]


def _bias_of(add, conv_out, channels, data_format):
    """The bias tensor when ``add`` adds a vector of the ``channels`` output channels to ``conv_out``, else None."""
    if add.type not in _BIAS_ADDS or len(add.inputs) != 2:
        return None
    if add.type.startswith("BiasAdd"):
        if add.inputs[0] is not conv_out or add.attrs.get("data_format", "NHWC") != data_format:
            return None
        bias = add.inputs[1]
    else:
        if data_format != "NHWC":
            return None
        bias = add.inputs[1] if add.inputs[0] is conv_out else add.inputs[0]
        if bias is conv_out:
            return None
    if bias.dtype != conv_out.dtype or bias.shape.as_tuple() != (channels,) or channels is None:
        return None
    return bias


def find_chains(program) -> dict:
    """``{last op of the chain: (conv, bias add, activation or None, bias tensor)}`` for every fusible chain."""
    readers, observed = _readers(program), _observed(program)
    chains = {}
    for conv in program.ops:
        if conv.type != "Conv2D" or conv.outputs[0].dtype.name not in ("float32", "float64"):
            continue
        out = conv.outputs[0]
        fmt = conv.attrs["data_format"]
        dims = out.shape.as_tuple()
        channels = None if dims is None else dims[1 if fmt == "NCHW" else 3]
        add = _sole_reader(out, readers, observed)
        bias = None if add is None or conv in observed[1] else _bias_of(add, out, channels, fmt)
        if bias is None or add in observed[1] or add.outputs[0] in program.feeds:
            continue
        activation = _sole_reader(add.outputs[0], readers, observed)
        if activation is not None and (activation.type != "Relu" or activation.outputs[0] in program.feeds):
            activation = None
        chains[activation or add] = (conv, add, activation, bias)
    return chains


def fuse_conv_bias_activation(program):
    """Replace each Conv2D + bias add (+ Relu) chain by one ``_FusedConv2D``; returns (program, changes)."""
    chains = find_chains(program)
    members = {op for conv, add, _, _ in chains.values() for op in (conv, add)}
    builder = ProgramBuilder(program)
    changes = []
    for op in program.ops:
        if op.outputs and all(builder.has(t) for t in op.outputs):
            builder.copy(op)
            continue
        if op in chains:
            conv, add, activation, bias = chains[op]
            chain = [m for m in (conv, add, activation) if m is not None]
            controls = []
            for member in chain:
                controls.extend(c for c in builder.control_inputs(member) if c not in controls)
            attrs = dict(conv.attrs)
            attrs["fused_ops"] = ("BiasAdd",) + ((activation.type,) if activation is not None else ())
            name = builder.graph.unique_name(f"fused/{op.name}")
            inputs = [builder.tensor(conv.inputs[0]), builder.tensor(conv.inputs[1]), builder.tensor(bias)]
            fused = builder.create("_FusedConv2D", inputs, attrs, name, controls, exact=True)
            fused.outputs[0].set_shape(op.outputs[0].shape)
            builder.replace(op, list(fused.outputs))
            changes.append(f"{op.name}: {' + '.join(m.type for m in chain)} -> _FusedConv2D")
        elif op not in members:
            builder.copy(op)
    return builder.finish(), changes
