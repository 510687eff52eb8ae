"""The Numba CPU backend: fused, generated kernels run by a generated executor."""

import os as _os

import numba as _numba

from graphdl.backends.numba_cpu.kernel_cache import cache_dir as _cache_dir
from graphdl.backends.numba_cpu.kernel_cache import cache_tag as _cache_tag

# Keep Numba's compiled code with graphdl's kernel cache (GRAPHDL_CACHE_DIR) unless the user
# chose a place for it; must happen before any @njit(cache=True) function is defined.
# Numba's cache index does not notice changes in functions inlined from another file (the
# fast-math functions), so the directory is per graphdl version and fast-math source.
if not _os.environ.get("NUMBA_CACHE_DIR"):
    _numba.config.CACHE_DIR = str(_cache_dir() / f"numba-{_cache_tag()}")

from graphdl.backends.numba_cpu.backend import BACKEND, NumbaBackend  # noqa: E402

__all__ = ["BACKEND", "NumbaBackend"]
