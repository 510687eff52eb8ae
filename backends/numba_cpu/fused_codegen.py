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

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from graphdl.backends.numba_cpu.kernel_cache import compile_kernel, load_generated_module, vector_width_comment
from graphdl.backends.numba_cpu.threads import kernel_threads
from graphdl.backends.numba_cpu.scalar_ops import SCALAR_OPS

_HEADER = """\
import math
import numpy as np
from numba import njit
from graphdl.backends.numba_cpu.fastmath import fexp, fexpm1, ferf, flog, flog1p, fpow, fsigmoid, fsoftplus, ftanh

_FLAGS = dict(nogil=True, cache=True, error_model="numpy", fastmath={"contract", "afn", "arcp"})
"""

# Below this many output elements a single thread does the whole loop.
PARALLEL_MIN_ELEMENTS = 1 << 17


def _threads() -> int:
    return kernel_threads()


_pool: list = []


def _thread_pool():
    if not _pool or _pool[0]._max_workers < _threads() - 1:
        _pool[:] = [ThreadPoolExecutor(max_workers=max(1, _threads() - 1), thread_name_prefix="graphdl-kernel")]
    return _pool[0]


def instruction_source(instructions, input_names) -> tuple[list[str], str]:
    """Lines computing every instruction (temps ``t0``, ``t1``...) and the name of each temp."""
    lines = []
    for j, ins in enumerate(instructions):
        args = [input_names[i] if kind == "input" else f"t{i}" for kind, i in ins.args]
        lines.append(f"t{j} = {SCALAR_OPS[ins.op_type](args, dict(ins.attrs), ins.dtype)}")
    return lines


_INIT = {"Sum": "0.0", "Mean": "0.0", "Max": "-np.inf", "Min": "np.inf"}


def _combine(op_type, acc, value):
    if op_type in ("Sum", "Mean"):
        return f"{acc} += {value}"
    return f"{acc} = {'max' if op_type == 'Max' else 'min'}({acc}, {value})"


def kernel_source(instructions, outputs, classes: str, reduction=None, layout=None) -> str:
    """Source of a module defining ``kernel`` for one input-class pattern (and reduction layout).

    Without a reduction, ``kernel(start, stop, inner, outs..., ins...)`` covers rows
    [start, stop). With one: "rows" writes ``red[o]`` per row, "cols" accumulates
    ``red[j]`` for columns [start, stop), "all" returns the partial reduction of its rows.
    Every innermost loop runs from zero over slices: LLVM does not vectorize Numba loops
    written ``range(start, stop)``.
    """
    n_in = len(classes)
    flat = all(c in "fs" for c in classes) and layout in (None, "all")
    params = [f"out{k}" for k in range(len(outputs))]
    if layout in ("rows", "cols"):
        params.append("red")
    params += [f"in{i}" for i in range(n_in)]
    element, hoisted, per_row, row_views = {}, [], [], []
    # Names of the views the innermost loop indexes with ``j``.
    for i, c in enumerate(classes):
        if c == "s":
            hoisted.append(f"x{i} = in{i}[0]")
            element[i] = f"x{i}"
        elif c == "c":
            per_row.append(f"x{i} = in{i}[o]")
            element[i] = f"x{i}"
        elif c == "r":
            if layout == "cols":
                hoisted.append(f"v{i} = in{i}[start:stop]")
                element[i] = f"v{i}[j]"
            else:
                element[i] = f"in{i}[j]"
        else:
            row_views.append(f"v{i} = in{i}[base:base + width]")
            element[i] = f"v{i}[j]"
    row_views += [f"w{k} = out{k}[base:base + width]" for k in range(len(outputs))]
    body = instruction_source(instructions, element) + [f"w{k}[j] = t{t}" for k, t in enumerate(outputs)]
    if reduction is not None:
        value = f"t{reduction.temp}"
        body.append(_combine(reduction.op_type, "acc[j]" if layout == "cols" else "acc", value))
    extra = "outer, " if layout == "cols" else ""
    lines = [vector_width_comment() + _HEADER, "", "@njit(**_FLAGS)", f"def kernel(start, stop, {extra}inner, {', '.join(params)}):"]
    lines += [f"    {h}" for h in hoisted]

    def loop(indent, views, first_line=()):
        pad = " " * indent
        out = [f"{pad}{line}" for line in first_line]
        out += [f"{pad}{v}" for v in views]
        out.append(f"{pad}for j in range(width):")
        out += [f"{pad}    {b}" for b in body]
        return out

    if layout == "cols":
        lines.append("    width = stop - start")
        lines.append("    acc = red[start:stop]")
        lines.append("    for j in range(width):")
        lines.append(f"        acc[j] = {_INIT[reduction.op_type]}")
        lines.append("    for o in range(outer):")
        lines += [f"        {p}" for p in per_row]
        lines += loop(8, row_views, ["base = o * inner + start"])
        if reduction.op_type == "Mean":
            lines.append("    for j in range(width):")
            lines.append("        acc[j] = acc[j] / outer")
        return "\n".join(lines) + "\n"
    if layout == "all":
        lines.append(f"    acc = {_INIT[reduction.op_type]}")
    if flat:
        lines += loop(4, row_views, ["base = start", "width = stop - start"])
    else:
        lines.append("    width = inner")
        lines.append("    for o in range(start, stop):")
        lines += [f"        {p}" for p in per_row]
        first = ["base = o * inner"] + ([f"acc = {_INIT[reduction.op_type]}"] if layout == "rows" else [])
        lines += loop(8, row_views, first)
        if layout == "rows":
            finish = "acc / inner" if reduction.op_type == "Mean" else "acc"
            lines.append(f"        red[o] = {finish}")
    if layout == "all":
        lines.append("    return acc")
    return "\n".join(lines) + "\n"


def classify(input_shapes, out_shape, split=None):
    """Per-input class letters and the (outer, inner) split; "m" marks inputs to materialize.

    ``split`` forces where outer dims end (a reduction's layout needs it).
    """
    rank = len(out_shape)
    size = int(np.prod(out_shape, dtype=np.int64))
    padded = [(1,) * (rank - len(s)) + tuple(s) for s in input_shapes]
    candidates = []
    kinds = []
    for s in padded:
        n = int(np.prod(s, dtype=np.int64))
        if n == size and s == tuple(out_shape):
            kinds.append("f")
        elif n == 1:
            kinds.append("s")
        else:
            k_row = next((k for k in range(rank) if s[k] != 1), rank)
            k_col = max((k + 1 for k in range(rank) if s[k] != 1), default=0)
            fits = {}
            if all(s[k] == out_shape[k] for k in range(k_row, rank)):
                fits["r"] = k_row
            if all(s[k] == out_shape[k] for k in range(k_col)):
                fits["c"] = k_col
            kinds.append(fits)
            candidates.extend(fits.values())
    if split is None:
        split = min(set(candidates)) if len(set(candidates)) == 1 else (max(set(candidates), key=candidates.count) if candidates else rank)
    classes = []
    for kind in kinds:
        if isinstance(kind, dict):
            letter = next((c for c, k in kind.items() if k == split), "m")
            classes.append(letter)
        else:
            classes.append(kind)
    outer = int(np.prod(out_shape[:split], dtype=np.int64))
    inner = int(np.prod(out_shape[split:], dtype=np.int64))
    return "".join(classes), outer, inner


# Rows shorter than this are widened: (outer, inner) is read as (outer / k, k * inner) with the
# row-class inputs tiled k times, so the inner loop is long enough to vectorize. A column reduction
# then runs k partial reductions side by side, folded at the end (LeNet's bias gradient over 6
# channels: 2.0 -> ~0.3 ms; its bias + ReLU: 0.36 -> ~0.1 ms).
_MIN_REDUCED_COLUMNS = 128


def _column_widening(outer: int, inner: int) -> int:
    """The largest k <= _MIN_REDUCED_COLUMNS / inner dividing ``outer`` (1 if the columns are wide enough)."""
    if inner >= _MIN_REDUCED_COLUMNS or inner == 0:
        return 1
    for k in range(min(_MIN_REDUCED_COLUMNS // inner, outer), 1, -1):
        if outer % k == 0:
            return k
    return 1


class FusedKernel:
    """Callable running one FusedElementwise op with generated kernels, planned per input shapes."""

    def __init__(self, op, pool):
        self.op = op
        self._pool = pool
        self.instructions = op.attrs["instructions"]
        self.outputs = op.attrs["outputs"]
        self.reduction = op.attrs.get("reduction")
        self.out_dtypes = [self.instructions[j].dtype.np for j in self.outputs]
        self._plans: dict = {}
        self.sources: dict = {}

    def _shape_error(self, inputs):
        """The error the member ops themselves give for these inputs (e.g. BiasAdd's), naming them."""
        from graphdl import errors
        from graphdl.ops.fused_ops import run_instructions

        members = ", ".join(f"'{ins.name}' ({ins.op_type})" for ins in self.instructions)
        try:
            run_instructions(self.instructions, self.outputs, inputs, self.op)
        except (ValueError, IndexError) as e:
            return errors.InvalidArgumentError(None, self.op, f"{e} (in the fused ops {members})")
        described = ", ".join(f"'{t.name}' {tuple(x.shape)}" for t, x in zip(self.op.inputs, inputs))
        return errors.InvalidArgumentError(
            None, self.op, f"Incompatible shapes: {described} cannot be broadcast together in the ops {members}."
        )

    def generic_sources(self) -> dict:
        """The source for all-full-size inputs (what runs before shapes are known)."""
        n = len(self.op.inputs)
        layout = None
        if self.reduction is not None:
            from graphdl.passes.reduction_fusion import reduction_layout

            layout = reduction_layout(self.reduction.axes, len(self.reduction.axes))
        return {"f" * n: kernel_source(self.instructions, self.outputs, "f" * n, self.reduction, layout)}

    def _plan(self, inputs):
        """A closure running this kernel for inputs of these shapes, with all decisions made once."""
        try:
            out_shape = tuple(np.broadcast_shapes(*[x.shape for x in inputs])) if inputs else ()
        except ValueError:
            raise self._shape_error(inputs) from None
        total = int(np.prod(out_shape, dtype=np.int64))
        layout, split, red_shape, red_dtype = None, None, None, None
        if self.reduction is not None:
            from graphdl.ops.fused_ops import reduced_dims
            from graphdl.passes.reduction_fusion import reduction_layout

            axes = self.reduction.axes
            layout = reduction_layout(axes, len(out_shape))
            split = {"rows": len(out_shape) - len(axes), "cols": len(axes), "all": None}[layout]
            red_shape = reduced_dims(out_shape, self.reduction)
            red_dtype = self.instructions[self.reduction.temp].dtype.np
        classes, outer, inner = classify([x.shape for x in inputs], out_shape, split)
        classes = classes.replace("m", "f")
        source = kernel_source(self.instructions, self.outputs, classes, self.reduction, layout)
        self.sources[classes + (f"/{layout}" if layout else "")] = source
        kernel = load_generated_module(source).kernel
        # Only inputs smaller than the output that fit no class are broadcast into a full copy.
        expand = tuple(i for i, (c, x) in enumerate(zip(classes, inputs)) if c == "f" and x.size != total)
        # Short rows are widened: a bias row of 6 channels tiled k times, so the inner loop is long enough to vectorize.
        widen = _column_widening(outer, inner) if layout in ("cols", None) and "c" not in classes else 1
        tile = tuple(i for i, c in enumerate(classes) if c == "r") if widen > 1 else ()
        outer, inner = outer // widen, inner * widen
        flat = all(c in "fs" for c in classes) and layout in (None, "all")
        rows = total if flat else outer
        take, dtypes = self._pool.take, self.out_dtypes
        single = len(dtypes) == 1 and layout is None
        parallel = total >= PARALLEL_MIN_ELEMENTS and _threads() > 1

        def prepare(inputs):
            if expand:
                inputs = [np.broadcast_to(x, out_shape) if i in expand else x for i, x in enumerate(inputs)]
            if tile:
                inputs = [np.tile(x.ravel(), widen) if i in tile else x for i, x in enumerate(inputs)]
            return [x.ravel() for x in inputs]

        bounds = [0] * (4 if layout == "cols" else 3)
        outs = [np.empty(0, dtype) for dtype in dtypes] + ([np.empty(0, red_dtype)] if layout in ("rows", "cols") else [])
        compile_kernel(kernel, bounds + outs + prepare(inputs))

        if single and not parallel:
            dtype = dtypes[0]

            def run_simple(inputs):
                out = take(out_shape, dtype)
                kernel(0, rows, inner, out.reshape(-1), *prepare(inputs))
                return out

            return run_simple

        def run(inputs):
            outs = [take(out_shape, dtype) for dtype in dtypes]
            args = [o.reshape(-1) for o in outs]
            red = None
            if layout in ("rows", "cols"):
                red = take(red_shape, red_dtype)
                args.append(None if widen > 1 else red.reshape(-1))  # widened: partials per piece of rows
            args += prepare(inputs)
            if layout == "cols" and widen > 1:
                self._run_row_split(kernel, outer, inner, total, args, classes, widen, red)
            elif layout == "cols":
                self._run_split(kernel, inner, total, (outer, inner), args)
            elif layout == "all":
                red = self._finish_all(self._run_split(kernel, rows, total, (inner,), args), total, red_shape, red_dtype)
            else:
                self._run_split(kernel, rows, total, (inner,), args)
            results = outs + ([red] if red is not None else [])
            return results[0] if len(results) == 1 else tuple(results)

        return run

    def __call__(self, *inputs):
        key = tuple([x.shape for x in inputs])
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = self._plan(inputs)
        return plan(inputs)

    @staticmethod
    def _run_split(kernel, count, size, extra, args):
        """Run ``kernel`` over [0, count), split across threads when the work is large."""
        if size >= PARALLEL_MIN_ELEMENTS and count > 1 and _threads() > 1:
            pieces = min(_threads(), count)
            bounds = [count * p // pieces for p in range(pieces + 1)]
            futures = [
                _thread_pool().submit(kernel, bounds[p], bounds[p + 1], *extra, *args) for p in range(1, pieces)
            ]
            first = kernel(bounds[0], bounds[1], *extra, *args)
            return [first] + [f.result() for f in futures]
        return [kernel(0, count, *extra, *args)]

    def _run_row_split(self, kernel, outer, inner, size, args, classes, widen, red):
        """A widened column reduction: each thread takes a run of rows with its own ``widen`` partial sums
        (short rows split by columns would leave each thread too few columns to vectorize); all are folded last."""
        pieces = min(_threads(), outer) if size >= PARALLEL_MIN_ELEMENTS and _threads() > 1 else 1
        n_out = len(self.out_dtypes)
        partials = self._pool.take((pieces, inner), red.dtype)
        bounds = [outer * p // pieces for p in range(pieces + 1)]

        def piece_args(p):
            lo, hi = bounds[p] * inner, bounds[p + 1] * inner
            outs = [a[lo:hi] for a in args[:n_out]]
            ins = [a[lo:hi] if c == "f" else a for c, a in zip(classes, args[n_out + 1:])]
            return (0, inner, bounds[p + 1] - bounds[p], inner, *outs, partials[p], *ins)

        futures = [_thread_pool().submit(kernel, *piece_args(p)) for p in range(1, pieces)]
        kernel(*piece_args(0))
        for f in futures:
            f.result()
        if self.reduction.op_type == "Mean" and outer % pieces:  # pieces of unequal rows: weight their means
            partials *= (np.diff(bounds) * (pieces / outer)).astype(partials.dtype)[:, None]
        self._fold_columns(partials.reshape(pieces * widen, -1), red.reshape(-1))

    def _fold_columns(self, partial, red):
        """Combine the ``widen`` partial column reductions (rows of ``partial``) into ``red``."""
        op_type = self.reduction.op_type
        if op_type == "Max":
            np.max(partial, axis=0, out=red)
        elif op_type == "Min":
            np.min(partial, axis=0, out=red)
        else:
            np.sum(partial, axis=0, out=red)
            if op_type == "Mean":  # each partial is a mean over the same number of rows
                red /= partial.shape[0]

    def _finish_all(self, partials, size, red_shape, red_dtype):
        op_type = self.reduction.op_type
        if op_type in ("Sum", "Mean"):
            value = sum(partials)
            if op_type == "Mean":
                value = value / size if size else np.nan
        elif op_type == "Max":
            value = max(partials)
        else:
            value = min(partials)
        return np.full(red_shape, value, dtype=red_dtype)
