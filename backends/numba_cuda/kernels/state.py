"""``Assign``, ``AssignAdd`` and ``AssignSub`` on device-resident variables.

An assignment copies into the variable's device array when shape and dtype match (no
allocation per step) and stores a fresh device copy otherwise, with the reference
kernels' messages (``graphdl/ops/state_ops.py``).
"""

from __future__ import annotations

import numpy as np
from graphdl.backends.numba_cuda.device import empty, launch_size
from graphdl.backends.numba_cuda.kernel_registry import register_cuda_kernel
from numba import cuda

from graphdl import errors


@cuda.jit
def _copy(out, x):
    step = 1 if x.shape[0] > 1 else 0  # (read once: under the simulator each .shape costs microseconds)
    for i in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        out[i] = x[i * step]


@cuda.jit
def _add(out, x, sign):
    step = 1 if x.shape[0] > 1 else 0
    for i in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        out[i] += sign * x[i * step]


def copy_into(out, x):
    """Copy device array ``x`` (same size, or one element to broadcast) into ``out``."""
    if out.size:
        blocks, threads = launch_size(out.size)
        _copy[blocks, threads](out.reshape(-1), x.reshape(-1))
    return out


def device_copy(x, what="a tensor"):
    """A new device array holding ``x``'s values."""
    return copy_into(empty(x.shape, x.dtype, what), x)


@register_cuda_kernel("Assign")
def assign(op, ctx):
    name = op.inputs[0].op.name
    validate_shape = bool(op.attrs.get("validate_shape", True))
    variables = ctx.variables

    def run(ref, value):
        stored = variables.device_get_or_none(name)
        if stored is not None and stored.shape == value.shape and stored.dtype == value.dtype:
            copy_into(stored, value)
            variables.device_written(name)
            return stored
        if stored is not None and validate_shape and stored.shape != value.shape:
            raise errors.InvalidArgumentError(
                None, op, f"Assign '{op.name}': variable '{name}' has shape {stored.shape} but the value has shape "
                f"{value.shape}")
        fresh = device_copy(value, what=f"variable '{name}'")
        variables.device_set(name, fresh)
        return fresh

    return run


def _update(sign):
    def factory(op, ctx):
        name = op.inputs[0].op.name
        variables = ctx.variables

        def run(ref, value):
            stored = variables.device_get(name, op.name)
            if value.size not in (1, stored.size) or (value.size == stored.size and value.shape != stored.shape
                                                      and value.ndim and stored.ndim):
                raise errors.InvalidArgumentError(
                    None, op, f"{op.type} '{op.name}': value of shape {value.shape} does not match variable shape "
                    f"{stored.shape}")
            if stored.size:
                blocks, threads = launch_size(stored.size)
                _add[blocks, threads](stored.reshape(-1), value.reshape(-1), np.dtype(stored.dtype).type(sign))
            variables.device_written(name)
            return stored

        return run

    return factory


register_cuda_kernel("AssignAdd")(_update(1))
register_cuda_kernel("AssignSub")(_update(-1))
