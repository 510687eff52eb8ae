"""On-disk cache of generated kernels, so that a new process compiles nothing it compiled before.

Generated source is written once to ``<cache dir>/kernels/k_<hash>.py`` (hash of the
source, the Numba version and the fast-math module) and imported from there; its
``@njit(cache=True)`` functions keep Numba's compiled machine code beside it. The
cache dir is ``GRAPHDL_CACHE_DIR`` or the user cache directory.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile
from pathlib import Path

import numba

_FASTMATH_SOURCE = Path(__file__).with_name("fastmath.py")
_modules: dict = {}


def cache_dir() -> Path:
    """Where compiled kernels are kept (``GRAPHDL_CACHE_DIR`` overrides)."""
    configured = os.environ.get("GRAPHDL_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "graphdl"


def cache_tag() -> str:
    """Distinguishes compiled code of different graphdl versions and fast-math sources."""
    from graphdl import __version__

    digest = hashlib.sha256(_FASTMATH_SOURCE.read_bytes()).hexdigest()[:8]
    return f"{__version__}-{numba.__version__}-{digest}"


def _source_key(source: str) -> str:
    digest = hashlib.sha256()
    digest.update(source.encode())
    digest.update(numba.__version__.encode())
    digest.update(_FASTMATH_SOURCE.read_bytes())
    return digest.hexdigest()[:24]


def _write_atomically(path: Path, text: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_generated_module(source: str):
    """Import generated kernel source (writing it to the cache the first time); returns the module."""
    key = _source_key(source)
    module = _modules.get(key)
    if module is not None:
        return module
    path = cache_dir() / "kernels" / f"k_{key}.py"
    if not path.exists() or path.read_text() != source:
        _write_atomically(path, source)
    name = f"graphdl_generated_k_{key}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    _modules[key] = module
    return module


def _dispatchers():
    for name, module in list(sys.modules.items()):
        if module is None or not (name.startswith("graphdl.backends.numba_cpu") or name.startswith("graphdl_generated_k_")):
            continue
        for value in vars(module).values():
            if isinstance(value, numba.core.registry.CPUDispatcher):
                yield value


def compile_stats() -> dict:
    """Kernel specializations of this process: compiled now (``compiled``) vs loaded from disk (``loaded``)."""
    compiled = loaded = 0
    for dispatcher in _dispatchers():
        compiled += sum(dispatcher.stats.cache_misses.values())
        loaded += sum(dispatcher.stats.cache_hits.values())
    return {"compiled": compiled, "loaded": loaded}
