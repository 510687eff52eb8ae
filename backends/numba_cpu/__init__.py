"""The Numba CPU backend: fused, generated kernels run by a generated executor."""

import os as _os

import numba as _numba

from graphdl.backends.numba_cpu.kernel_cache import cache_dir as _cache_dir

# Keep Numba's compiled code with graphdl's kernel cache (GRAPHDL_CACHE_DIR) unless the user
# chose a place for it; must happen before any @njit(cache=True) function is defined.
if not _os.environ.get("NUMBA_CACHE_DIR"):
    _numba.config.CACHE_DIR = str(_cache_dir() / "numba")

from graphdl.backends.numba_cpu.backend import BACKEND, NumbaBackend  # noqa: E402

__all__ = ["BACKEND", "NumbaBackend"]
