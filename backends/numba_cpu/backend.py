"""The Numba CPU backend: optimize the Program, fuse elementwise ops, lower every op to a kernel."""

from __future__ import annotations

import time

import numpy as np
from graphdl.backends.numba_cpu.executor import GeneratedExecutable, LoweredStep
from graphdl.backends.numba_cpu.kernel_registry import kernel_entry, lowering
from graphdl.backends.numba_cpu.scalar_ops import is_fusible
from graphdl.backends.numba_cpu.threads import (
    parallel_blas_calls,
    prefers_products_on_kernel_pool,
    set_products_on_kernel_pool,
    set_threads,
)

from graphdl.client.backend import Backend, CompileOptions
from graphdl.client.state import Uninitialized
from graphdl.framework.op_def import get_op_def
from graphdl.passes.elementwise_fusion import fuse_elementwise
from graphdl.passes.pipeline import PIPELINE_ORDER, PassReport, optimize
from graphdl.passes.conv_fusion import fuse_conv_bias_activation
from graphdl.passes.reduction_fusion import fuse_reductions


class NumbaExecutable(GeneratedExecutable):
    """A compiled Program plus what the compiler did to it (for ``Session.explain``)."""

    def __init__(self, program, state, steps, value_names, fetch_exprs, bindings, reports, source_program):
        super().__init__(program, state, steps, value_names, fetch_exprs, bindings, serial_kernels=False)
        self.calls_blas = any(step.implementation == "blas" for step in steps)
        self.products_on_kernel_pool = prefers_products_on_kernel_pool({step.op.type for step in steps})
        self.reports = reports
        self.source_program = source_program

    def run(self, feed_values):
        """Run once; from the first run in which a product used several BLAS threads on, kernels run unsplit
        (see ``threads``: those threads' spinning would slow a split kernel). A program with a kernel that
        prefers it runs every product on one BLAS thread, split across the kernel pool."""
        before = parallel_blas_calls()
        previous = set_products_on_kernel_pool(self.products_on_kernel_pool)
        try:
            values = super().run(feed_values)
        finally:
            set_products_on_kernel_pool(previous)
        if self.calls_blas and not self.serial_kernels and parallel_blas_calls() != before:
            self.serial_kernels = True
        return values


# Ops whose output is their input: the executor binds the value, no kernel runs.
PASS_THROUGH_OPS = frozenset({"Identity", "StopGradient", "PlaceholderWithDefault", "Snapshot"})


def _fetch_guard(variables, constant_ids):
    def guard(value):
        # Never hand out storage the session keeps: variables (updated in place), constants, views of them.
        if value.base is not None or id(value) in constant_ids or any(value is v for v in variables.values()):
            return value.copy()
        return value

    return guard


def lower(program, state, reports, source_program) -> NumbaExecutable:
    """Turn an optimized, fused Program into a NumbaExecutable."""
    names: dict = {}
    namespace_values: dict = {}
    for i, t in enumerate(program.feeds):
        names[t] = f"f{i}"
    fed = set(program.feeds)

    def expression(t, ref=False):
        if t in names:
            return names[t]
        if t.op.type == "VariableV2":
            var = t.op.name
            if ref:
                marker = f"u_{len(namespace_values)}"
                namespace_values[marker] = Uninitialized(var)
                return f"_vars.get({var!r}, {marker})"
            return f"_vars[{var!r}]"
        raise KeyError(t.name)

    steps = []
    constant_ids = set()
    with lowering(program):  # factories may ask which outputs the program reads
        for op in program.ops:
            if op.type == "VariableV2" or (op.type == "NoOp"):
                continue
            if op.type == "Const":
                name = f"c{len(namespace_values)}"
                value = np.asarray(op.attrs["value"])
                namespace_values[name] = value
                constant_ids.add(id(value))
                names[op.outputs[0]] = name
                continue
            if op.type in PASS_THROUGH_OPS and all(t not in fed for t in op.outputs):
                names[op.outputs[0]] = f"t{len(names)}"
                steps.append(LoweredStep(op, None, [expression(op.inputs[0])], [names[op.outputs[0]]], "executor"))
                continue
            entry = kernel_entry(op.type)
            ref_inputs = get_op_def(op.type).ref_inputs
            inputs = [expression(t, ref=i in ref_inputs) for i, t in enumerate(op.inputs)]
            outputs = []
            for t in op.outputs:
                if t not in fed:
                    names[t] = f"t{len(names)}"
                outputs.append(names[t] if t not in fed else "_")
            steps.append(LoweredStep(op, entry.factory(op, state), inputs, outputs, entry.implementation))
    fetch_exprs = []
    for t in program.fetches:
        fetch_exprs.append(f"_fetch({expression(t)})")
    bindings = dict(namespace_values, _fetch=_fetch_guard(state.variables, constant_ids))
    return NumbaExecutable(program, state, steps, names, fetch_exprs, bindings, reports, source_program)


def _run_pass(name, rewrite, program, reports, on_pass):
    """``rewrite(program)`` -> (program, changes), reported as the pass ``name``; the rewritten program."""
    start = time.perf_counter()
    rewritten, changes = rewrite(program)
    reports.append(PassReport(name, len(program.ops), len(rewritten.ops), changes, time.perf_counter() - start))
    if on_pass is not None:
        on_pass(reports[-1], rewritten)
    return rewritten


class NumbaBackend(Backend):
    """Compiles Programs to fused Numba kernels run by a generated executor (the default backend)."""

    name = "numba"

    def compile(self, program, state, options=CompileOptions()):
        set_threads(options.threads)
        disabled = set(options.disabled_passes)
        optimized, reports = optimize(program, disabled=disabled & set(PIPELINE_ORDER), on_pass=options.on_pass)
        fused = optimized
        for name, rewrite in (("conv_fusion", fuse_conv_bias_activation),
                              ("elementwise_fusion", lambda p: fuse_elementwise(p, is_fusible)),
                              ("reduction_fusion", fuse_reductions)):
            if name not in disabled:
                fused = _run_pass(name, rewrite, fused, reports, options.on_pass)
        return lower(fused, state, reports, program)


BACKEND = NumbaBackend()
