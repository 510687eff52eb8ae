"""Generated Numba kernels for ``FusedElementwise`` ops: one loop over the broadcast output.

At run time each input is classified against the output shape, collapsed to
``(outer, inner)``: ``f`` full size, ``s`` a single element, ``r`` varies along the
inner dims only (a bias row), ``c`` along the outer dims only (a per-row value).
Inputs that fit none of these are materialized by NumPy broadcasting. One kernel
source is generated per (instructions, classes); it is specialized by Numba on dtypes
only, never on sizes, and constants are arguments, so the on-disk cache is reused
across programs and processes. Large outputs are split across a thread pool (the
kernels release the GIL).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from graphdl.backends.numba_cpu.kernel_cache import load_generated_module
from graphdl.backends.numba_cpu.scalar_ops import SCALAR_OPS

_HEADER = """\
import math
import numpy as np
from numba import njit
from graphdl.backends.numba_cpu.fastmath import fexp, fexpm1, ferf, flog, flog1p, fsigmoid, fsoftplus, ftanh

_FLAGS = dict(nogil=True, cache=True, error_model="numpy", fastmath={"contract", "afn", "arcp"})
"""

# Below this many output elements a single thread does the whole loop.
PARALLEL_MIN_ELEMENTS = 1 << 17


def _threads() -> int:
    return max(1, int(os.environ.get("NUMBA_NUM_THREADS") or os.cpu_count() or 1))


_pool: list = []


def _thread_pool():
    if not _pool:
        _pool.append(ThreadPoolExecutor(max_workers=max(1, _threads() - 1), thread_name_prefix="graphdl-kernel"))
    return _pool[0]


def instruction_source(instructions, input_names) -> tuple[list[str], str]:
    """Lines computing every instruction (temps ``t0``, ``t1``...) and the name of each temp."""
    lines = []
    for j, ins in enumerate(instructions):
        args = [input_names[i] if kind == "input" else f"t{i}" for kind, i in ins.args]
        lines.append(f"t{j} = {SCALAR_OPS[ins.op_type](args, dict(ins.attrs), ins.dtype)}")
    return lines


def kernel_source(instructions, outputs, classes: str) -> str:
    """Source of a module defining ``kernel`` for one input-class pattern."""
    n_in = len(classes)
    params = [f"out{k}" for k in range(len(outputs))] + [f"in{i}" for i in range(n_in)]
    flat = all(c in "fs" for c in classes)
    element = {}
    hoisted, per_row = [], []
    for i, c in enumerate(classes):
        if c == "s":
            hoisted.append(f"x{i} = in{i}[0]")
            element[i] = f"x{i}"
        elif c == "c":
            per_row.append(f"x{i} = in{i}[o]")
            element[i] = f"x{i}"
        elif c == "r":
            element[i] = f"in{i}[j]"
        else:
            element[i] = f"in{i}[{'i' if flat else 'base + j'}]"
    body = instruction_source(instructions, element)
    stores = [f"out{k}[{'i' if flat else 'base + j'}] = t{j}" for k, j in enumerate(outputs)]
    lines = [_HEADER, "", "@njit(**_FLAGS)"]
    if flat:
        lines.append(f"def kernel(start, stop, inner, {', '.join(params)}):")
        lines += [f"    {h}" for h in hoisted]
        lines.append("    for i in range(start, stop):")
        lines += [f"        {b}" for b in body + stores]
    else:
        lines.append(f"def kernel(start, stop, inner, {', '.join(params)}):")
        lines += [f"    {h}" for h in hoisted]
        lines.append("    for o in range(start, stop):")
        lines += [f"        {p}" for p in per_row]
        lines.append("        base = o * inner")
        lines.append("        for j in range(inner):")
        lines += [f"            {b}" for b in body + stores]
    return "\n".join(lines) + "\n"


def classify(input_shapes, out_shape):
    """Per-input class letters and the (outer, inner) split, or None where an input needs materializing."""
    rank = len(out_shape)
    size = int(np.prod(out_shape, dtype=np.int64))
    padded = [(1,) * (rank - len(s)) + tuple(s) for s in input_shapes]
    splits = set()
    kinds = []
    for s in padded:
        n = int(np.prod(s, dtype=np.int64))
        if n == size and s == tuple(out_shape):
            kinds.append("f")
        elif n == 1:
            kinds.append("s")
        else:
            k_row = next((k for k in range(rank) if s[k] != 1), rank)
            if all(s[k] == out_shape[k] for k in range(k_row, rank)):
                kinds.append(("r", k_row))
                splits.add(k_row)
                continue
            k_col = max((k + 1 for k in range(rank) if s[k] != 1), default=0)
            if all(s[k] == out_shape[k] for k in range(k_col)):
                kinds.append(("c", k_col))
                splits.add(k_col)
                continue
            kinds.append("m")
    split = min(splits) if len(splits) == 1 else None
    classes = []
    for kind in kinds:
        if isinstance(kind, tuple):
            classes.append(kind[0] if kind[1] == split else "m")
        else:
            classes.append(kind)
    if split is None:
        split = rank
    outer = int(np.prod(out_shape[:split], dtype=np.int64))
    inner = int(np.prod(out_shape[split:], dtype=np.int64))
    return "".join(classes), outer, inner


class FusedKernel:
    """Callable running one FusedElementwise op with generated kernels, planned per input shapes."""

    def __init__(self, op, pool):
        self.op = op
        self._pool = pool
        self.instructions = op.attrs["instructions"]
        self.outputs = op.attrs["outputs"]
        self.out_dtypes = [self.instructions[j].dtype.np for j in self.outputs]
        self._plans: dict = {}
        self.sources: dict = {}

    def generic_sources(self) -> dict:
        """The source for all-full-size inputs (what runs before shapes are known)."""
        n = len(self.op.inputs)
        return {"f" * n: kernel_source(self.instructions, self.outputs, "f" * n)}

    def _plan(self, inputs):
        out_shape = np.broadcast_shapes(*[x.shape for x in inputs]) if inputs else ()
        classes, outer, inner = classify([x.shape for x in inputs], out_shape)
        classes = classes.replace("m", "f")
        source = kernel_source(self.instructions, self.outputs, classes)
        self.sources[classes] = source
        kernel = load_generated_module(source).kernel
        materialize = [c == "f" and x.shape != tuple(out_shape) for c, x in zip(classes, inputs)]
        flat = all(c in "fs" for c in classes)
        rows = int(np.prod(out_shape, dtype=np.int64)) if flat else outer
        return kernel, tuple(out_shape), materialize, rows, inner

    def __call__(self, *inputs):
        key = tuple((x.shape, x.flags.c_contiguous) for x in inputs)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = self._plan(inputs)
        kernel, out_shape, materialize, rows, inner = plan
        outs = [self._pool.take(out_shape, dtype) for dtype in self.out_dtypes]
        args = [o.reshape(-1) for o in outs]
        for x, full in zip(inputs, materialize):
            if full:
                x = np.broadcast_to(x, out_shape)
            args.append(np.ascontiguousarray(x).reshape(-1))
        size = rows * inner
        if size >= PARALLEL_MIN_ELEMENTS and rows > 1 and _threads() > 1:
            pieces = min(_threads(), rows)
            bounds = [rows * p // pieces for p in range(pieces + 1)]
            futures = [
                _thread_pool().submit(kernel, bounds[p], bounds[p + 1], inner, *args) for p in range(1, pieces)
            ]
            kernel(bounds[0], bounds[1], inner, *args)
            for f in futures:
                f.result()
        elif size:
            kernel(0, rows, inner, *args)
        return outs[0] if len(outs) == 1 else tuple(outs)
