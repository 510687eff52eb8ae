"""Concatenation, stacking, unstacking and zero/one fills without a fresh array per run.

The NumPy reference kernels allocate a new array every run; for megabyte outputs (the
gradient of a stacked sequence, the weight-gradient operands of an unrolled RNN) the
page faults of that fresh memory cost more than the copy itself. These kernels write
the same results into reused buffers (``buffer_pool``), and ``Unpack`` returns views of
its input (nothing in the executor writes into a kernel's output after it is made).
Inputs the reference kernel would reject go to it, so errors read the same on every backend.
"""

from __future__ import annotations

import numpy as np
from graphdl.backends.numba_cpu.kernel_registry import buffer_pool, numpy_kernel, register_kernel

_NUMERIC_KINDS = "biufc"


@register_kernel("ConcatV2")
def concat_kernel(op, state):
    take = buffer_pool(state).take
    reference = numpy_kernel(op, state)

    def concat(*args):
        values, axis = args[:-1], args[-1]
        first = values[0]
        rank = first.ndim
        if first.dtype.kind not in _NUMERIC_KINDS or not -rank <= int(axis) < rank:
            return reference(*args)
        axis = int(axis) % rank
        rest = first.shape[:axis] + first.shape[axis + 1:]
        if any(v.ndim != rank or v.shape[:axis] + v.shape[axis + 1:] != rest or v.dtype != first.dtype
               for v in values[1:]):
            return reference(*args)
        shape = first.shape[:axis] + (sum(v.shape[axis] for v in values),) + first.shape[axis + 1:]
        return np.concatenate(values, axis=axis, out=take(shape, first.dtype))

    return concat


@register_kernel("Pack")
def pack_kernel(op, state):
    take = buffer_pool(state).take
    reference = numpy_kernel(op, state)
    axis = op.attrs["axis"]

    def pack(*values):
        first = values[0]
        if (first.dtype.kind not in _NUMERIC_KINDS or not -first.ndim - 1 <= axis <= first.ndim
                or any(v.shape != first.shape or v.dtype != first.dtype for v in values[1:])):
            return reference(*values)
        at = axis % (first.ndim + 1)
        shape = first.shape[:at] + (len(values),) + first.shape[at:]
        return np.stack(values, axis=at, out=take(shape, first.dtype))

    return pack


def _fill_like(value):
    def factory(op, state):
        take = buffer_pool(state).take
        reference = numpy_kernel(op, state)

        def fill(x):
            if x.dtype.kind not in _NUMERIC_KINDS:
                return reference(x)
            out = take(x.shape, x.dtype)
            out.fill(value)
            return out

        return fill

    return factory


register_kernel("ZerosLike")(_fill_like(0))
register_kernel("OnesLike")(_fill_like(1))


@register_kernel("Unpack")
def unpack_kernel(op, state):
    reference = numpy_kernel(op, state)
    axis, num = op.attrs["axis"], op.attrs["num"]

    def unpack(x):
        if x.ndim == 0 or not -x.ndim <= axis < x.ndim or x.shape[axis] != num:
            return reference(x)
        lead = (slice(None),) * (axis % x.ndim)
        parts = tuple(x[(*lead, i)] for i in range(num))
        return parts[0] if num == 1 else parts

    return unpack
