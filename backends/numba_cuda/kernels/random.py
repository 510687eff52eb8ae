"""Random ops on the device from a counter-based generator (Philox4x32-10).

Element ``i`` of a draw is a pure function of the op's key (its ``seed``/``seed2``, or
fresh entropy for an unseeded op), a per-op counter that advances by the draw's size
on every run, and ``i``: no generator state lives on the device, draws need no
synchronization, and a seeded op gives the same sequence in every session, as TF1's
seeded ops do (the numbers differ from the CPU backend's, as TF's GPU kernels differ
from its CPU kernels).
"""

from __future__ import annotations

import math
import os

import numpy as np
from graphdl.backends.numba_cuda.device import launch_size
from graphdl.backends.numba_cuda.kernel_registry import register_cuda_kernel
from numba import cuda

_M = 0xFFFFFFFF


@cuda.jit(device=True, inline=True)
def _philox(c0, c1, c2, c3, k0, k1):
    """Philox4x32-10 on 32-bit words held in int64 (products wrap; masks keep the low 32 bits)."""
    for _ in range(10):
        p0 = 0xD2511F53 * c0
        p1 = 0xCD9E8D57 * c2
        hi0, lo0 = (p0 >> 32) & _M, p0 & _M
        hi1, lo1 = (p1 >> 32) & _M, p1 & _M
        c0, c1, c2, c3 = (hi1 ^ c1 ^ k0) & _M, lo1, (hi0 ^ c3 ^ k1) & _M, lo0
        k0 = (k0 + 0x9E3779B9) & _M
        k1 = (k1 + 0xBB67AE85) & _M
    return c0, c1, c2, c3


@cuda.jit(device=True, inline=True)
def _uniform_pair(counter, attempt, k0, k1):
    """Two float64 uniforms in [0, 1) with 53 random bits each."""
    w0, w1, w2, w3 = _philox(counter & _M, (counter >> 32) & _M, attempt, 0, k0, k1)
    u = ((w0 >> 5) * 67108864.0 + (w1 >> 6)) * (1.0 / 9007199254740992.0)
    v = ((w2 >> 5) * 67108864.0 + (w3 >> 6)) * (1.0 / 9007199254740992.0)
    return u, v


UNIFORM, NORMAL, TRUNCATED = 0, 1, 2


@cuda.jit
def _draw(out, offset, k0, k1, kind):
    for i in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        attempt = 0
        while True:
            u, v = _uniform_pair(offset + i, attempt, k0, k1)
            if kind == UNIFORM:
                value = u
                break
            value = math.sqrt(-2.0 * math.log(1.0 - u)) * math.cos(2.0 * math.pi * v)
            if kind == NORMAL or abs(value) <= 2.0:
                break
            attempt += 1
        out[i] = value
        if kind == UNIFORM and out[i] >= 1.0:  # float32 rounding may reach 1.0; keep [0, 1)
            out[i] = 0.9999999403953552


class RandomDraw:
    """One random op's draws: its Philox key and the session's counter of its elements drawn so far."""

    def __init__(self, op, ctx, kind):
        self.op, self.ctx, self.kind = op, ctx, kind
        seed, seed2 = int(op.attrs.get("seed", 0) or 0), int(op.attrs.get("seed2", 0) or 0)
        if not (seed or seed2):
            seed, seed2 = (int.from_bytes(os.urandom(4), "little") for _ in range(2))
        self.key = (seed & _M, (seed2 ^ (seed >> 32)) & _M)
        # The counter belongs to the session (like the CPU backend's generators), not to one compiled signature.
        offsets = getattr(ctx.state, "cuda_random_offsets", None)
        if offsets is None:
            offsets = ctx.state.cuda_random_offsets = {}
        self.offsets = offsets
        self.dtype = op.attrs["dtype"].np

    def __call__(self, shape):
        dims = tuple(int(d) for d in np.ravel(shape))
        if any(d < 0 for d in dims):
            from graphdl import errors

            raise errors.InvalidArgumentError(None, self.op, f"{self.op.type} '{self.op.name}': shape {list(dims)} "
                                              "has a negative dimension")
        out = self.ctx.empty(dims, self.dtype, self.op)
        if out.size:
            blocks, threads = launch_size(out.size)
            offset = self.offsets.get(self.op.name, 0)
            _draw[blocks, threads](out.reshape(-1), offset, self.key[0], self.key[1], self.kind)
            self.offsets[self.op.name] = offset + out.size
        return out


def _float_output(op) -> bool:
    return np.dtype(op.attrs["dtype"].np) in (np.dtype(np.float32), np.dtype(np.float64))


for _op_type, _kind in (("RandomUniform", UNIFORM), ("RandomStandardNormal", NORMAL), ("TruncatedNormal", TRUNCATED)):
    register_cuda_kernel(_op_type, host_inputs=(0,), accepts=_float_output)(
        lambda op, ctx, kind=_kind: RandomDraw(op, ctx, kind))
