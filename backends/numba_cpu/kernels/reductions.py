"""Compiled reductions: Sum, Mean, Max, Min, Prod, Any, All, ArgMax and ArgMin.

A reduction is planned once per input shape (and axes, when they are not a constant):
dims of size 1 are dropped and neighbouring dims that are both reduced or both kept are
merged, leaving alternating kept/reduced groups. Each reduced group is one stage over an
``(outer, red, inner)`` view: ``inner == 1`` runs a row kernel (a contiguous, vectorized
reduction per row), otherwise a column kernel accumulates whole contiguous rows
(``for o: for r: for i: acc[o, i] += x[o, r, i]``). Contiguous axes sets (all axes,
leading, trailing, middle) take one stage; other sets (NCHW's N and HW for BiasAddGrad)
take one stage per reduced group, largest first, through a pooled intermediate, so no
axes set falls back to NumPy. Non-contiguous inputs are first copied into a pooled buffer.
Any/All are the uint8 Max/Min kernels run on the bool bytes.

Float sums add blocks of ``_BLOCK`` elements in the input dtype (as TF accumulates
float32 in float32) and join the block sums in float64, so a sum of a million float32
values is as accurate as a float64 one. Integer sums wrap in the integer dtype, as in TF.
Max/Min/ArgMax propagate NaN as NumPy does (checked in a separate vectorized pass).
Inputs of ``PARALLEL_MIN_ELEMENTS`` elements or more are split across the kernel thread
pool: by rows, by columns when there are fewer rows than threads, or, for one long row,
into per-thread partial results reduced again.
"""

from __future__ import annotations

import numpy as np
from graphdl.backends.numba_cpu.fused_codegen import PARALLEL_MIN_ELEMENTS, _thread_pool, _threads
from graphdl.backends.numba_cpu.kernel_registry import buffer_pool, numpy_kernel, register_kernel
from numba import njit, types
from numba.extending import overload

from graphdl.ops.reduction_ops import normalize_axes

_FLAGS = {"cache": True, "nogil": True, "error_model": "numpy"}
# reassoc lets LLVM vectorize the sum and product loops; no nnan/ninf, so NaN and inf propagate.
_SUM_FLAGS = {**_FLAGS, "fastmath": {"reassoc", "contract", "nsz", "arcp"}}
_BLOCK = 1024

NUMBA_DTYPES = frozenset(np.dtype(t) for t in (
    np.float32, np.float64, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64))


# -- dtype-generic helpers (resolved at compile time per dtype) --------------------------------------------
def _wide_zero(v):
    """Zero of the accumulator type for values like ``v``: float64, int64 or uint64."""


@overload(_wide_zero, inline="always")
def _wide_zero_impl(v):
    if isinstance(v, types.Float):
        return lambda v: 0.0
    if isinstance(v, types.Integer) and not v.signed:
        return lambda v: np.uint64(0)
    return lambda v: np.int64(0)


def _wide_zeros(n, x):
    """Zeroed accumulators (float64, int64 or uint64) for ``n`` values of ``x``'s dtype."""


@overload(_wide_zeros, inline="always")
def _wide_zeros_impl(n, x):
    if isinstance(x.dtype, types.Float):
        return lambda n, x: np.zeros(n, np.float64)
    if isinstance(x.dtype, types.Integer) and not x.dtype.signed:
        return lambda n, x: np.zeros(n, np.uint64)
    return lambda n, x: np.zeros(n, np.int64)


def _finish(total, divisor, out, k):
    """``out[k] = total``, divided by ``divisor`` when it is not 0 (Mean)."""


@overload(_finish)
def _finish_impl(total, divisor, out, k):
    if isinstance(out.dtype, types.Float):
        def finish_float(total, divisor, out, k):
            out[k] = total / divisor if divisor != 0 else total

        return finish_float

    def finish_int(total, divisor, out, k):
        out[k] = total  # wraps to the output dtype first, as the reference sums in it
        if divisor != 0:
            v = out[k]
            q = abs(v) // divisor  # C-style division: truncates toward zero, as TF's integer mean
            out[k] = q if v >= 0 else -q

    return finish_int


# -- row kernels: x is (outer, red), one output per row ---------------------------------------------------------
# Loops run over row slices (x[o], x[o, r, i0:i1]): with flat ``x[base + i]`` indexing LLVM does not
# vectorize them (a 128 x 512 column sum took 50 us instead of 7 us).
@njit(**_SUM_FLAGS)
def _sum_rows(start, stop, x, out, divisor):
    red = x.shape[1]
    for o in range(start, stop):
        row = x[o]
        total = _wide_zero(row[0])
        for b0 in range(0, red, _BLOCK):
            block = row[b0:b0 + _BLOCK]
            acc = block[0]
            for r in range(1, block.size):
                acc += block[r]
            total += acc
        _finish(total, divisor, out, o)


@njit(**_SUM_FLAGS)
def _prod_rows(start, stop, x, out, divisor):
    for o in range(start, stop):
        row = x[o]
        acc = row[0]
        for r in range(1, row.size):
            acc *= row[r]
        out[o] = acc


@njit(inline="always", **_FLAGS)
def _is_nan(v):
    return v != v  # noqa: PLR0124 - only NaN is unequal to itself (always False for integers)


@njit(inline="always", **_FLAGS)
def _first_nan(row):
    for r in range(row.size):
        if _is_nan(row[r]):
            return row[r]
    return row[0]


@njit(inline="always", **_FLAGS)
def _pick(a, b, is_max):
    return max(a, b) if is_max else min(a, b)


@njit(inline="always", **_FLAGS)
def row_extremum(row, is_max):
    """max (or min) of ``row``; a NaN in it may or may not win (see ``_has_nan``).

    Eight independent accumulators: a single one makes a latency-bound loop (LLVM does not
    vectorize float max/min reductions without function-wide no-NaNs), ~4x slower.
    """
    n = row.size
    m = row[0]
    j = 1
    if n >= 16:
        m0, m1, m2, m3, m4, m5, m6, m7 = row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7]
        j = 8
        while j + 8 <= n:
            m0, m1 = _pick(m0, row[j], is_max), _pick(m1, row[j + 1], is_max)
            m2, m3 = _pick(m2, row[j + 2], is_max), _pick(m3, row[j + 3], is_max)
            m4, m5 = _pick(m4, row[j + 4], is_max), _pick(m5, row[j + 5], is_max)
            m6, m7 = _pick(m6, row[j + 6], is_max), _pick(m7, row[j + 7], is_max)
            j += 8
        m = _pick(_pick(_pick(m0, m1, is_max), _pick(m2, m3, is_max), is_max),
                  _pick(_pick(m4, m5, is_max), _pick(m6, m7, is_max), is_max), is_max)
    for k in range(j, n):
        m = _pick(m, row[k], is_max)
    return m


@njit(inline="always", **_FLAGS)
def _has_nan(row):
    nan = False
    for r in range(row.size):
        nan |= _is_nan(row[r])  # no early exit: this loop vectorizes
    return nan


@njit(**_FLAGS)
def _max_rows(start, stop, x, out, divisor):
    for o in range(start, stop):
        row = x[o]
        out[o] = _first_nan(row) if _has_nan(row) else row_extremum(row, True)


@njit(**_FLAGS)
def _min_rows(start, stop, x, out, divisor):
    for o in range(start, stop):
        row = x[o]
        out[o] = _first_nan(row) if _has_nan(row) else row_extremum(row, False)


# -- column kernels: x is (outer, red, inner), out is (outer, inner); columns i0..i1 -------------------------------
@njit(**_SUM_FLAGS)
def _sum_cols(o0, o1, i0, i1, x, out, divisor):
    red = x.shape[1]
    n = i1 - i0
    wide = red > _BLOCK
    acc = _wide_zeros(n if wide else 0, x)
    for o in range(o0, o1):
        orow = out[o, i0:i1]
        for b0 in range(0, red, _BLOCK):
            first = x[o, b0, i0:i1]
            for i in range(n):
                orow[i] = first[i]
            for r in range(b0 + 1, min(b0 + _BLOCK, red)):
                xr = x[o, r, i0:i1]
                for i in range(n):
                    orow[i] += xr[i]
            if wide and b0 == 0:
                for i in range(n):
                    acc[i] = orow[i]
            elif wide:
                for i in range(n):
                    acc[i] += orow[i]
        if wide:
            for i in range(n):
                _finish(acc[i], divisor, orow, i)
        elif divisor != 0:
            for i in range(n):
                _finish(orow[i], divisor, orow, i)


@njit(**_SUM_FLAGS)
def _prod_cols(o0, o1, i0, i1, x, out, divisor):
    for o in range(o0, o1):
        orow = out[o, i0:i1]
        first = x[o, 0, i0:i1]
        for i in range(orow.size):
            orow[i] = first[i]
        for r in range(1, x.shape[1]):
            xr = x[o, r, i0:i1]
            for i in range(orow.size):
                orow[i] *= xr[i]


@njit(**_FLAGS)
def _max_cols(o0, o1, i0, i1, x, out, divisor):
    for o in range(o0, o1):
        orow = out[o, i0:i1]
        first = x[o, 0, i0:i1]
        for i in range(orow.size):
            orow[i] = first[i]
        for r in range(1, x.shape[1]):
            xr = x[o, r, i0:i1]
            for i in range(orow.size):
                v = xr[i]
                a = orow[i]
                # once a column holds NaN it keeps it, as np.max propagates NaN
                orow[i] = v if (v > a or _is_nan(v)) and not _is_nan(a) else a


@njit(**_FLAGS)
def _min_cols(o0, o1, i0, i1, x, out, divisor):
    for o in range(o0, o1):
        orow = out[o, i0:i1]
        first = x[o, 0, i0:i1]
        for i in range(orow.size):
            orow[i] = first[i]
        for r in range(1, x.shape[1]):
            xr = x[o, r, i0:i1]
            for i in range(orow.size):
                v = xr[i]
                a = orow[i]
                orow[i] = v if (v < a or _is_nan(v)) and not _is_nan(a) else a


# -- argmax / argmin: the first extremum; the first NaN wins, as np.argmax ----------------------------------------
@njit(**_FLAGS)
def _arg_rows(start, stop, x, out, is_max):
    for o in range(start, stop):
        row = x[o]
        k = 0
        if _has_nan(row):
            while not _is_nan(row[k]):
                k += 1
        else:
            # the extremum first, then its first position: two vectorized passes beat one branchy one
            m = row_extremum(row, is_max)
            while row[k] != m:
                k += 1
        out[o] = k


@njit(**_FLAGS)
def _arg_cols(x, out, is_max):
    best = np.empty(x.shape[2], x.dtype)
    for o in range(x.shape[0]):
        orow = out[o]
        best[:] = x[o, 0]
        orow[:] = 0
        for r in range(1, x.shape[1]):
            xr = x[o, r]
            for i in range(best.size):
                v = xr[i]
                b = best[i]
                better = v > b if is_max else v < b
                if (better or _is_nan(v)) and not _is_nan(b):
                    best[i] = v
                    orow[i] = r


# -- planning and running -----------------------------------------------------------------------------------------
def run_split(kernel, n, *args):
    """``kernel(start, stop, *args)`` over ``[0, n)``, in one piece per thread of the kernel pool; the results."""
    pieces = min(_threads(), n)
    bounds = [n * p // pieces for p in range(pieces + 1)]
    futures = [_thread_pool().submit(kernel, bounds[p], bounds[p + 1], *args) for p in range(1, pieces)]
    first = kernel(bounds[0], bounds[1], *args)
    return [first] + [f.result() for f in futures]


def split_piece(start, n, pieces):
    """Which of ``run_split``'s ``pieces`` over ``[0, n)`` starts at ``start``."""
    return next(p for p in range(pieces) if n * p // pieces == start)


def _parallel(size: int) -> bool:
    return size >= PARALLEL_MIN_ELEMENTS and _threads() > 1


def reduction_stages(shape, axes):
    """``[(outer, red, inner)]``: one stage per reduced group of ``shape``, largest first (see the module doc)."""
    groups = []
    for d, n in enumerate(shape):
        if n == 1:
            continue
        red = d in axes
        if groups and groups[-1][1] == red:
            groups[-1][0] *= n
        else:
            groups.append([n, red])
    stages = []
    while any(red for _, red in groups):
        j = max((k for k, g in enumerate(groups) if g[1]), key=lambda k: groups[k][0])
        sizes = [n for n, _ in groups]
        stages.append((int(np.prod(sizes[:j], dtype=np.int64)), sizes[j], int(np.prod(sizes[j + 1:], dtype=np.int64))))
        del groups[j]
        if 0 < j < len(groups):
            groups[j - 1][0] *= groups[j][0]
            del groups[j]
    return stages


# Column reductions split their columns across threads from this size: below it the hand-off costs more than the
# second thread gains (a column sum of 1.6 M floats, 2-core machine: 0.49 ms on one thread, 0.50 ms on two).
_COLUMN_SPLIT_MIN_ELEMENTS = 1 << 22
# A column reduction whose rows are shorter than this many elements first sums groups of whole rows side by side.
_NARROW_ROW = 256


def widened_columns(stages):
    """``stages`` with each narrow column stage ``(outer, red, inner)`` (``inner`` < ``_NARROW_ROW``) split in two:
    ``(outer, red / k, k * inner)`` then ``(outer, k, inner)``, ``k`` the smallest divisor of ``red`` that makes rows
    of ``_NARROW_ROW`` elements. A per-channel sum over ``[N, H, W, 6]`` (a bias gradient) otherwise runs loops of 6
    that do not vectorize (64x28x28x6 over N, H, W, interleaved in one process: 290-520 us before, 47-106 us after)."""
    widened = []
    for outer, red, inner in stages:
        k = _row_group(red, inner)
        widened += [(outer, red // k, k * inner), (outer, k, inner)] if k else [(outer, red, inner)]
    return widened


def _row_group(red, inner):
    """How many rows of ``inner`` elements ``widened_columns`` sums side by side (None: leave the stage as it is,
    its rows are wide enough, or no divisor of ``red`` leaves at least 4 grouped rows)."""
    if not 1 < inner < _NARROW_ROW:
        return None
    return next((k for k in range(-(-_NARROW_ROW // inner), red // 4 + 1) if red % k == 0), None)


class _Family:
    """The row and column kernels of one reduction, its identity (result of an empty reduction)."""

    def __init__(self, rows, cols, identity):
        self.rows, self.cols, self.identity = rows, cols, identity


def _identity(op_type, dtype):
    if op_type in ("Sum", "Any"):
        return 0
    if op_type in ("Prod", "All"):
        return 1
    if op_type == "Mean":
        return np.nan if dtype.kind == "f" else 0
    if dtype.kind == "f":
        return -np.inf if op_type == "Max" else np.inf
    info = np.iinfo(dtype)
    return info.min if op_type == "Max" else info.max


_FAMILIES = {
    "Sum": (_sum_rows, _sum_cols),
    "Mean": (_sum_rows, _sum_cols),
    "Prod": (_prod_rows, _prod_cols),
    "Max": (_max_rows, _max_cols),
    "Min": (_min_rows, _min_cols),
    "Any": (_max_rows, _max_cols),
    "All": (_min_rows, _min_cols),
}


class Reducer:
    """Runs one reduction op type over given axes, planning once per input shape; outputs from the pool."""

    def __init__(self, op_type, dtype, keep_dims, pool):
        self.op_type = op_type
        self.dtype = np.dtype(dtype)
        self.keep_dims = keep_dims
        self.take = pool.take
        rows, cols = _FAMILIES[op_type]
        self.family = _Family(rows, cols, _identity(op_type, self.dtype))
        self.mean = op_type == "Mean"
        # Any/All run the uint8 max/min kernels on bool data viewed as bytes.
        self.view = np.dtype(np.uint8) if self.dtype == np.bool_ else None
        self._plans: dict = {}

    def plan(self, shape, axes):
        """A function ``run(x) -> out`` for C-contiguous inputs of ``shape`` reduced over ``axes``."""
        key = (shape, axes)
        run = self._plans.get(key)
        if run is None:
            run = self._plans[key] = self._make_plan(shape, axes)
        return run

    def __call__(self, x, axes):
        """Reduce ``x`` over ``axes`` (any ints, negative allowed)."""
        if not isinstance(x, np.ndarray):
            x = np.asarray(x)
        axes = tuple(normalize_axes(axes, x.ndim)) if x.ndim else ()
        return self.plan(x.shape, axes)(x)

    def _make_plan(self, shape, axes):
        fam, take, dtype, view = self.family, self.take, self.dtype, self.view
        out_shape = tuple(1 if d in axes else n for d, n in enumerate(shape)) if self.keep_dims else tuple(
            n for d, n in enumerate(shape) if d not in axes)
        count = int(np.prod([shape[a] for a in axes], dtype=np.int64))
        divisor = (float(count) if dtype.kind == "f" else count) if self.mean else (0.0 if dtype.kind == "f" else 0)
        size = int(np.prod(shape, dtype=np.int64))
        stages = widened_columns(reduction_stages(shape, axes))

        def contiguous(x):
            if x.flags.c_contiguous:
                return x
            copy = take(x.shape, x.dtype)
            np.copyto(copy, x)
            return copy

        if size == 0 or not stages:
            def run_trivial(x):
                out = take(out_shape, dtype)
                if size == 0:
                    out.fill(fam.identity)
                else:  # every reduced dim has size 1: a copy (Mean divides by 1)
                    np.copyto(out, x.reshape(out_shape))
                return out

            return run_trivial
        if len(stages) == 1 and not _parallel(size) and view is None:
            outer, red, inner = stages[0]
            rows, cols = fam.rows, fam.cols
            src_shape = (outer, red) if inner == 1 else (outer, red, inner)
            dst_shape = (outer,) if inner == 1 else (outer, inner)
            if inner == 1:
                def run_rows(x):
                    out = take(out_shape, dtype)
                    src = x if x.flags.c_contiguous else contiguous(x)
                    rows(0, outer, src.reshape(src_shape), out.reshape(dst_shape), divisor)
                    return out

                return run_rows

            def run_cols(x):
                out = take(out_shape, dtype)
                src = x if x.flags.c_contiguous else contiguous(x)
                cols(0, outer, 0, inner, src.reshape(src_shape), out.reshape(dst_shape), divisor)
                return out

            return run_cols

        def run_stages(x):
            out = take(out_shape, dtype)
            src = contiguous(x).reshape(-1)
            for k, (outer, red, inner) in enumerate(stages):
                last = k == len(stages) - 1
                dst = out.reshape(-1) if last else take((outer * inner,), dtype)
                a, b = (src, dst) if view is None else (src.view(view), dst.view(view))
                self._stage(a, b, outer, red, inner, divisor if last else divisor * 0)
                src = dst
            return out

        return run_stages

    def _stage(self, src, dst, outer, red, inner, divisor):
        """One stage over flat arrays: ``src`` (outer, red, inner) reduced into ``dst`` (outer, inner)."""
        rows, cols = self.family.rows, self.family.cols
        pieces = _threads()
        if inner == 1:
            x, out = src.reshape(outer, red), dst
            if not _parallel(src.size) or (1 < outer < pieces):
                rows(0, outer, x, out, divisor)
            elif outer >= pieces:
                run_split(rows, outer, x, out, divisor)
            else:
                # One long row: a partial result per piece, then the same kernel over the partials.
                partial = self.take((1, pieces), src.dtype)

                def piece(start, stop):
                    lo, hi = red * start // pieces, red * stop // pieces
                    rows(0, 1, src[lo:hi].reshape(1, hi - lo), partial[0, start:stop], divisor * 0)

                run_split(piece, pieces)
                rows(0, 1, partial, out, divisor)
            return
        x, out = src.reshape(outer, red, inner), dst.reshape(outer, inner)
        if not _parallel(src.size) or (outer < pieces and src.size < _COLUMN_SPLIT_MIN_ELEMENTS):
            cols(0, outer, 0, inner, x, out, divisor)
        elif outer >= pieces:
            run_split(lambda s, e: cols(s, e, 0, inner, x, out, divisor), outer)
        else:
            # Each piece writes its columns into its own scratch rows and copies them out once: written straight
            # into ``out``, the two pieces' columns share a cache line at the split, updated for every input row
            # (a column sum of (3584, 84) floats: 130 us split vs 37 us on one thread).
            def columns(s, e):
                scratch = np.empty((outer, inner), out.dtype)
                cols(0, outer, s, e, x, scratch, divisor)
                out[:, s:e] = scratch[:, s:e]

            run_split(columns, inner)


# -- registration -------------------------------------------------------------------------------------------------
def const_input(op, index):
    """The value of input ``index`` when it is produced by a Const op (known when compiling), else None."""
    t = op.inputs[index]
    return np.asarray(t.op.attrs["value"]) if t.op.type == "Const" else None


@register_kernel("Sum", "Mean", "Max", "Min", "Prod", "Any", "All")
def reduction_kernel(op, state):
    x = op.inputs[0]
    dtype = x.dtype.np
    allowed = (np.dtype(np.bool_),) if op.type in ("Any", "All") else NUMBA_DTYPES
    if dtype not in allowed:
        return numpy_kernel(op, state)  # float16: Numba has no half-precision arithmetic
    reducer = Reducer(op.type, dtype, bool(op.attrs["keep_dims"]), buffer_pool(state))
    static_axes = const_input(op, 1)
    if static_axes is None:
        return reducer
    plans: dict = {}

    def static_reduction(x, _axes):
        if type(x) is not np.ndarray:
            x = np.asarray(x)
        run = plans.get(x.shape)
        if run is None:
            axes = tuple(normalize_axes(static_axes, x.ndim)) if x.ndim else ()
            run = plans[x.shape] = reducer.plan(x.shape, axes)
        return run(x)

    return static_reduction


def _arg_kernel(op, state, is_max):
    dtype = op.inputs[0].dtype.np
    if dtype not in NUMBA_DTYPES:
        return numpy_kernel(op, state)
    out_dtype = op.attrs["output_type"].np
    take = buffer_pool(state).take
    plans: dict = {}

    def make_plan(shape, axis):
        outer = int(np.prod(shape[:axis], dtype=np.int64))
        red = shape[axis]
        inner = int(np.prod(shape[axis + 1:], dtype=np.int64))
        out_shape = shape[:axis] + shape[axis + 1:]
        return out_shape, outer, red, inner

    def arg_reduce(x, dim):
        if not isinstance(x, np.ndarray):
            x = np.asarray(x)
        axis = int(dim)
        key = (x.shape, axis)
        plan = plans.get(key)
        if plan is None:
            if not -x.ndim <= axis < x.ndim:
                raise ValueError(f"Expected dimension in the range [{-x.ndim}, {x.ndim}), but got {axis}")
            if x.shape[axis] == 0:
                raise ValueError(f"Reduction axis {axis % x.ndim} is empty in shape {list(x.shape)}")
            plan = plans[key] = make_plan(x.shape, axis % x.ndim)
        out_shape, outer, red, inner = plan
        out = take(out_shape, out_dtype)
        if out.size == 0:
            return out
        if inner == 1:
            src = np.ascontiguousarray(x).reshape(outer, red)
            if _parallel(x.size) and outer > 1:
                run_split(_arg_rows, outer, src, out.reshape(outer), is_max)
            else:
                _arg_rows(0, outer, src, out.reshape(outer), is_max)
        else:
            _arg_cols(np.ascontiguousarray(x).reshape(outer, red, inner), out.reshape(outer, inner), is_max)
        return out

    return arg_reduce


@register_kernel("ArgMax")
def argmax_kernel(op, state):
    return _arg_kernel(op, state, True)


@register_kernel("ArgMin")
def argmin_kernel(op, state):
    return _arg_kernel(op, state, False)
