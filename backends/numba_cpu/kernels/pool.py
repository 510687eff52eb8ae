"""Compiled kernels for MaxPool, MaxPoolGrad, AvgPool and AvgPoolGrad.

Every kernel walks a 4-D NHWC view (an NCHW tensor is passed as its transposed view, so one
compiled kernel per dtype and layout serves both formats) over batch rows ``start..stop``;
batches are split across the kernel thread pool when large. Each output window visits only its
valid (non-padded) input positions, so padding costs nothing and SAME averages divide by the
valid count. MaxPoolGrad recomputes the first maximum of each window from the input (ties go to
the first in row-major order, as TF), as the reference kernel does; when the windows tile the
input (LeNet's 2x2 stride-2 pools) each input element is written once instead (1.6 -> 0.9 ms for
64x28x28x6, best of 30, one thread). 2x2 stride-2 windows over contiguous NHWC arrays have their own
kernels that walk rows of channels (vectorized for 8 or more channels) and find the gradient's maximum
without branches (one thread, interleaved medians: MaxPool 64x28x28x6 325 -> 119 us, 64x10x10x16
50 -> 20 us; MaxPoolGrad 1.9 -> 0.8 ms and 441 -> 98 us).

Measured against the NumPy reference kernels (float32, 2x2 stride-2 VALID pools of LeNet's
layers, median ms per call on the shared 2-core dev machine; ``python bench/pool_bench.py``):

    op            64x28x28x6 numpy / numba    64x10x10x16 numpy / numba
    MaxPool       8.4 / 2.1  (4.1x)           1.41 / 0.08  (18x)
    MaxPoolGrad   7.4 / 2.8  (2.7x)           2.18 / 0.29  (7.6x)
    AvgPool       0.97 / 0.70 (1.4x)          0.21 / 0.08  (2.6x)
    AvgPoolGrad   1.57 / 0.73 (2.2x)          0.32 / 0.09  (3.6x)
"""

from __future__ import annotations

import numpy as np
from graphdl.backends.numba_cpu.fused_codegen import PARALLEL_MIN_ELEMENTS, _threads
from graphdl.backends.numba_cpu.kernel_registry import buffer_pool, numpy_kernel, register_kernel
from graphdl.backends.numba_cpu.kernels.reductions import run_split
from numba import njit

from graphdl import errors
from graphdl.ops.pool_ops import pool_geometry, spatial_params

_FLAGS = {"cache": True, "nogil": True, "error_model": "numpy"}
_FLOATS = frozenset((np.dtype(np.float32), np.dtype(np.float64)))


@njit(inline="always", **_FLAGS)
def _bounds(o, s, pad, k, size):
    lo = o * s - pad
    return max(lo, 0), min(lo + k, size)


@njit(**_FLAGS)
def _max_pool(start, stop, x, out, kh, kw, sh, sw, pt, pl):
    h, w, c = x.shape[1], x.shape[2], x.shape[3]
    for n in range(start, stop):
        for i in range(out.shape[1]):
            h0, h1 = _bounds(i, sh, pt, kh, h)
            for j in range(out.shape[2]):
                w0, w1 = _bounds(j, sw, pl, kw, w)
                o = out[n, i, j]
                for ch in range(c):
                    o[ch] = x[n, h0, w0, ch]
                for y in range(h0, h1):
                    for z in range(w0, w1):
                        row = x[n, y, z]
                        for ch in range(c):
                            o[ch] = max(o[ch], row[ch])


@njit(**_FLAGS)
def _max_pool_2x2(start, stop, x, out):
    """MaxPool of 2x2 windows with stride 2 over C-contiguous NHWC arrays: ``_max_pool``'s maxima in the same order,
    over contiguous rows of channels, which LLVM vectorizes."""
    h, w, c = x.shape[1], x.shape[2], x.shape[3]
    oh, ow = out.shape[1], out.shape[2]
    for n in range(start, stop):
        rows, pooled = x[n].reshape(h, w * c), out[n].reshape(oh, ow * c)
        for i in range(oh):
            top, bottom, o = rows[2 * i], rows[2 * i + 1], pooled[i]
            for j in range(ow):
                left, right = 2 * c * j, 2 * c * j + c
                xa, xb, xe, xf = top[left:right], top[right:right + c], bottom[left:right], bottom[right:right + c]
                oj = o[c * j:c * j + c]
                for ch in range(c):
                    oj[ch] = max(max(max(xa[ch], xb[ch]), xe[ch]), xf[ch])


@njit(**_FLAGS)
def _max_pool_grad(start, stop, x, dy, dx, kh, kw, sh, sw, pt, pl):
    h, w, c = x.shape[1], x.shape[2], x.shape[3]
    best = np.empty(c, x.dtype)
    at_y = np.empty(c, np.int64)
    at_z = np.empty(c, np.int64)
    for n in range(start, stop):
        dx[n] = 0
        for i in range(dy.shape[1]):
            h0, h1 = _bounds(i, sh, pt, kh, h)
            for j in range(dy.shape[2]):
                w0, w1 = _bounds(j, sw, pl, kw, w)
                first = x[n, h0, w0]
                for ch in range(c):
                    best[ch] = first[ch]
                    at_y[ch] = h0
                    at_z[ch] = w0
                for y in range(h0, h1):
                    for z in range(w0, w1):
                        row = x[n, y, z]
                        for ch in range(c):
                            if row[ch] > best[ch]:  # strict: the first maximum wins ties
                                best[ch] = row[ch]
                                at_y[ch] = y
                                at_z[ch] = z
                g = dy[n, i, j]
                for ch in range(c):
                    dx[n, at_y[ch], at_z[ch], ch] += g[ch]


@njit(**_FLAGS)
def _max_pool_grad_tiled(start, stop, x, dy, dx, kh, kw):
    """MaxPoolGrad when the windows tile the input (stride == window, no padding): every input element is in at
    most one window, so each is written once, with no zeroing pass and no scattered adds."""
    h, w, c = x.shape[1], x.shape[2], x.shape[3]
    oh, ow = dy.shape[1], dy.shape[2]
    zero = dx.dtype.type(0)
    for n in range(start, stop):
        for y in range(oh * kh, h):
            dx[n, y] = 0
        for i in range(oh):
            for j in range(ow):
                g = dy[n, i, j]
                for ch in range(c):
                    best = x[n, i * kh, j * kw, ch]
                    at = 0
                    k = 0
                    for a in range(kh):
                        for b in range(kw):
                            v = x[n, i * kh + a, j * kw + b, ch]
                            if v > best:  # strict: the first maximum wins ties
                                best = v
                                at = k
                            k += 1
                    gv = g[ch]
                    k = 0
                    for a in range(kh):
                        for b in range(kw):
                            dx[n, i * kh + a, j * kw + b, ch] = gv if k == at else zero
                            k += 1
            for a in range(kh):
                for z in range(ow * kw, w):
                    dx[n, i * kh + a, z] = 0


@njit(inline="always", **_FLAGS)
def _finite(values):
    """Whether every element of the 1-D ``values`` is finite (``v * 0`` is NaN for inf and NaN)."""
    zero = values.dtype.type(0)
    finite = True
    for i in range(values.size):
        finite &= values[i] * zero == zero  # no early exit, no float sum: this loop vectorizes
    return finite


@njit(**_FLAGS)
def _max_pool_grad_2x2(start, stop, x, dy, dx):
    """MaxPoolGrad of 2x2 windows with stride 2 over C-contiguous NHWC arrays. Each window's first maximum is
    found without branches (a data-dependent branch per window mispredicts on half of them) and each input
    element's gradient is written once as ``dy * (is the maximum)``, which LLVM vectorizes along the channels
    (a zero beside a negative ``dy`` is -0.0, equal to the scan's 0.0).
    An image whose input or gradient holds inf or NaN takes ``_max_pool_grad_tiled``'s scan instead: the product
    would turn ``inf * 0`` into NaN, and NaN inputs compare differently."""
    h, w, c = x.shape[1], x.shape[2], x.shape[3]
    oh, ow = dy.shape[1], dy.shape[2]
    for n in range(start, stop):
        if not (_finite(x[n].reshape(h * w * c)) and _finite(dy[n].reshape(oh * ow * c))):
            _max_pool_grad_tiled(n, n + 1, x, dy, dx, 2, 2)
            continue
        rows, grads, out = x[n].reshape(h, w * c), dy[n].reshape(oh, ow * c), dx[n].reshape(h, w * c)
        for i in range(oh):
            top, bottom, g = rows[2 * i], rows[2 * i + 1], grads[i]
            out_top, out_bottom = out[2 * i], out[2 * i + 1]
            for j in range(ow):
                left, right = 2 * c * j, 2 * c * j + c
                xa, xb, xe, xf = top[left:right], top[right:right + c], bottom[left:right], bottom[right:right + c]
                da, db, de, df = (out_top[left:right], out_top[right:right + c], out_bottom[left:right],
                                  out_bottom[right:right + c])
                gj = g[c * j:c * j + c]
                for ch in range(c):
                    a, b, e, f = xa[ch], xb[ch], xe[ch], xf[ch]
                    # k: which of a, b, e, f (row-major) is the first maximum; strict > keeps the first of ties
                    after_a = np.int32(b > a)
                    m = max(a, b)
                    third = np.int32(e > m)
                    m = max(m, e)
                    fourth = np.int32(f > m)
                    k = fourth * 3 + (1 - fourth) * (third * 2 + (1 - third) * after_a)
                    gv = gj[ch]
                    da[ch] = gv * (k == 0)
                    db[ch] = gv * (k == 1)
                    de[ch] = gv * (k == 2)
                    df[ch] = gv * (k == 3)
            out_top[2 * ow * c:] = 0  # an odd width's last column
            out_bottom[2 * ow * c:] = 0
        for y in range(2 * oh, h):
            out[y] = 0


@njit(**_FLAGS)
def _avg_pool(start, stop, x, out, kh, kw, sh, sw, pt, pl):
    h, w, c = x.shape[1], x.shape[2], x.shape[3]
    for n in range(start, stop):
        for i in range(out.shape[1]):
            h0, h1 = _bounds(i, sh, pt, kh, h)
            for j in range(out.shape[2]):
                w0, w1 = _bounds(j, sw, pl, kw, w)
                o = out[n, i, j]
                o[:] = 0
                for y in range(h0, h1):
                    for z in range(w0, w1):
                        row = x[n, y, z]
                        for ch in range(c):
                            o[ch] += row[ch]
                inv = 1.0 / ((h1 - h0) * (w1 - w0))
                for ch in range(c):
                    o[ch] *= inv


@njit(**_FLAGS)
def _avg_pool_grad(start, stop, dy, dx, kh, kw, sh, sw, pt, pl):
    h, w, c = dx.shape[1], dx.shape[2], dx.shape[3]
    for n in range(start, stop):
        dx[n] = 0
        for i in range(dy.shape[1]):
            h0, h1 = _bounds(i, sh, pt, kh, h)
            for j in range(dy.shape[2]):
                w0, w1 = _bounds(j, sw, pl, kw, w)
                inv = 1.0 / ((h1 - h0) * (w1 - w0))
                g = dy[n, i, j]
                for y in range(h0, h1):
                    for z in range(w0, w1):
                        row = dx[n, y, z]
                        for ch in range(c):
                            row[ch] += g[ch] * inv


# -- registration -----------------------------------------------------------------------------------------------
def _run(kernel, batch, size, *args):
    if batch > 1 and size >= PARALLEL_MIN_ELEMENTS and _threads() > 1:
        run_split(kernel, batch, *args)
    else:
        kernel(0, batch, *args)


def _pooler(op, state, kernel, two_by_two=None):
    """The pooling kernel of ``op``: ``kernel`` over any windows, ``two_by_two`` (if given) for 2x2 stride-2 windows
    that tile contiguous NHWC arrays."""
    if op.inputs[0].dtype.np not in _FLOATS:
        return numpy_kernel(op, state)
    take = buffer_pool(state).take
    attrs = op.attrs
    nchw = attrs["data_format"] == "NCHW"
    (kh, kw), (sh, sw) = spatial_params(attrs)

    def pool(x):
        if x.ndim != 4:
            raise errors.InvalidArgumentError(None, op, f"{op.type} input must be 4-D, got shape {list(x.shape)} "
                                                        f"(op '{op.name}')")
        xv = x.transpose(0, 2, 3, 1) if nchw else x
        n, h, w, c = xv.shape
        oh, ow, pt, pl = pool_geometry(attrs, h, w)
        if oh <= 0 or ow <= 0:
            raise errors.InvalidArgumentError(None, op, f"{op.type}: input {h}x{w} is smaller than the {kh}x{kw} "
                                                        f"VALID window (op '{op.name}')")
        out = take((n, c, oh, ow) if nchw else (n, oh, ow, c), x.dtype)
        ov = out.transpose(0, 2, 3, 1) if nchw else out
        if (two_by_two is not None and (kh, kw, sh, sw, pt, pl) == (2, 2, 2, 2, 0, 0) and 2 * oh <= h
                and 2 * ow <= w and xv.flags.c_contiguous and ov.flags.c_contiguous):
            _run(two_by_two, n, x.size, xv, ov)
        else:
            _run(kernel, n, x.size, xv, ov, kh, kw, sh, sw, pt, pl)
        return out

    return pool


@register_kernel("MaxPool")
def max_pool_kernel(op, state):
    return _pooler(op, state, _max_pool, _max_pool_2x2)


@register_kernel("AvgPool")
def avg_pool_kernel(op, state):
    return _pooler(op, state, _avg_pool)


def _check_grad_shape(op, dy_shape, want):
    if tuple(dy_shape) != tuple(want):
        raise errors.InvalidArgumentError(None, op, f"{op.type}: grad shape {list(dy_shape)} does not match the "
                                                    f"pooled shape {list(want)} (op '{op.name}')")


@register_kernel("MaxPoolGrad")
def max_pool_grad_kernel(op, state):
    if op.inputs[0].dtype.np not in _FLOATS:
        return numpy_kernel(op, state)
    take = buffer_pool(state).take
    attrs = op.attrs
    nchw = attrs["data_format"] == "NCHW"
    (kh, kw), (sh, sw) = spatial_params(attrs)

    def max_pool_grad(x, y, dy):
        xv = x.transpose(0, 2, 3, 1) if nchw else x
        dyv = dy.transpose(0, 2, 3, 1) if nchw else dy
        n, h, w, c = xv.shape
        oh, ow, pt, pl = pool_geometry(attrs, h, w)
        _check_grad_shape(op, dyv.shape, (n, oh, ow, c))
        dx = take(x.shape, x.dtype)
        dxv = dx.transpose(0, 2, 3, 1) if nchw else dx
        tiled = (sh, sw) == (kh, kw) and pt == pl == 0 and oh * kh <= h and ow * kw <= w
        if tiled and (kh, kw) == (2, 2) and all(a.flags.c_contiguous for a in (xv, dyv, dxv)):
            _run(_max_pool_grad_2x2, n, x.size, xv, dyv, dxv)
        elif tiled:
            _run(_max_pool_grad_tiled, n, x.size, xv, dyv, dxv, kh, kw)
        else:
            _run(_max_pool_grad, n, x.size, xv, dyv, dxv, kh, kw, sh, sw, pt, pl)
        return dx

    return max_pool_grad


@register_kernel("AvgPoolGrad")
def avg_pool_grad_kernel(op, state):
    if op.inputs[1].dtype.np not in _FLOATS:
        return numpy_kernel(op, state)
    take = buffer_pool(state).take
    attrs = op.attrs
    nchw = attrs["data_format"] == "NCHW"
    (kh, kw), (sh, sw) = spatial_params(attrs)

    def avg_pool_grad(shape, dy):
        shape = tuple(int(d) for d in shape)
        dx = take(shape, dy.dtype)
        dxv = dx.transpose(0, 2, 3, 1) if nchw else dx
        dyv = dy.transpose(0, 2, 3, 1) if nchw else dy
        n, h, w, c = dxv.shape
        oh, ow, pt, pl = pool_geometry(attrs, h, w)
        _check_grad_shape(op, dyv.shape, (n, oh, ow, c))
        _run(_avg_pool_grad, n, dx.size, dyv, dxv, kh, kw, sh, sw, pt, pl)
        return dx

    return avg_pool_grad
