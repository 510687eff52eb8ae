"""Linear-algebra ops: ``qr`` (used by the orthogonal initializer)."""

from __future__ import annotations

import numpy as np

from graphdl.framework.op_def import define_op
from graphdl.framework.ops import convert_to_tensor, make_op

__all__ = ["qr"]


def _infer_qr(op):
    x = op.inputs[0]
    if not x.dtype.is_floating:
        raise TypeError(f"qr needs a float tensor, got '{x.name}' of dtype {x.dtype.name}")
    dims = x.shape.as_tuple()
    if dims is None:
        return [(None, x.dtype), (None, x.dtype)]
    if len(dims) < 2:
        raise ValueError(f"qr needs a tensor of rank >= 2 ([..., M, N]), got shape {x.shape}")
    *batch, m, n = dims
    k = None if m is None or n is None else min(m, n)
    if op.attrs["full_matrices"]:
        return [((*batch, m, m), x.dtype), ((*batch, m, n), x.dtype)]
    return [((*batch, m, k), x.dtype), ((*batch, k, n), x.dtype)]


def _qr_kernel(ctx, x):
    q, r = np.linalg.qr(x.astype(np.float64), mode="complete" if ctx.attrs["full_matrices"] else "reduced")
    # Make the decomposition unique: flip signs so that R's diagonal is non-negative.
    k = min(x.shape[-2], x.shape[-1])
    signs = np.sign(np.diagonal(r, axis1=-2, axis2=-1)[..., :k])
    signs[signs == 0] = 1
    q[..., :, :k] *= signs[..., None, :]
    r[..., :k, :] *= signs[..., :, None]
    return q.astype(x.dtype), r.astype(x.dtype)


# No gradient is defined: differentiating through Qr raises LookupError naming the op.
define_op("Qr", infer=_infer_qr, kernel=_qr_kernel)


def qr(input, full_matrices=False, name=None):
    """The QR decompositions ``input = q @ r`` of the inner-most matrices of ``input``.

    ``q`` has orthonormal columns and ``r`` is upper triangular with a non-negative
    diagonal. Returns ``(q, r)``: ``[..., M, K]`` and ``[..., K, N]`` (``K = min(M, N)``), or
    ``[..., M, M]`` and ``[..., M, N]`` with ``full_matrices=True``.
    """
    op = make_op("Qr", [convert_to_tensor(input)], {"full_matrices": bool(full_matrices)}, name=name or "Qr")
    return op.outputs[0], op.outputs[1]
