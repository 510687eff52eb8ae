"""On-disk cache of generated kernels, so that a new process compiles nothing it compiled before.

Generated source is written once to ``<cache dir>/kernels/k_<hash>.py`` (hash of the
source, the Numba version and the modules whose code it inlines: the fast-math functions and
``fma_tile``) and imported from there; its ``@njit(cache=True)`` functions keep Numba's compiled
machine code beside it. The cache dir is ``GRAPHDL_CACHE_DIR`` or the user cache directory.

On hosts with AVX-512, generated loops are compiled for 512-bit vectors: LLVM's default
tuning for these CPUs stops at 256 bits, which leaves about a fifth of the speed of
transcendental-heavy fused kernels unused (W4: 13-15 ms vs 11 ms). The wider setting is
an LLVM option, applied only while our own kernels compile, under Numba's compiler lock,
so other Numba code in the process is unaffected.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numba
import numpy as np
from llvmlite import binding as llvm
from numba.core.compiler_lock import global_compiler_lock

from graphdl.io.atomic import write_atomically

_FASTMATH_SOURCE = Path(__file__).with_name("fastmath.py")
# IR that generated kernels inline from outside their own source: a change to it must miss the cache too.
_INLINED_SOURCES = (_FASTMATH_SOURCE, Path(__file__).parent / "kernels" / "fma_tile.py")
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


_WIDE_VECTOR_WIDTH = 16  # float32 lanes of a 512-bit vector
_host_wide: list = []


def wide_vectors() -> bool:
    """Whether generated kernels are compiled for 512-bit vectors on this host (it has AVX-512)."""
    if not _host_wide:
        features = llvm.get_host_cpu_features()
        _host_wide.append(bool(features.get("avx512f")) and not os.environ.get("NUMBA_CPU_NAME"))
    return _host_wide[0]


def vector_width_comment() -> str:
    """A line for generated source that keeps wide and default compilations apart in the disk cache."""
    return f"# vector width: {_WIDE_VECTOR_WIDTH if wide_vectors() else 'default'}\n"


def compile_kernel(dispatcher, args, widen=True):
    """Compile ``dispatcher`` for the types of ``args`` (or load it from the disk cache), loops vectorized as wide as
    the host allows unless ``widen`` is False (kernels whose vectors are explicit, ``kernels/fma_tile.py``: LLVM
    would print a remark for each loop around them that the forced width cannot vectorize)."""
    signature = tuple(numba.typeof(a) for a in args)
    if not (widen and wide_vectors()):
        dispatcher.compile(signature)
        return
    with global_compiler_lock, _without_llvm_remarks():
        llvm.set_option("graphdl", f"-force-vector-width={_WIDE_VECTOR_WIDTH}")
        try:
            dispatcher.compile(signature)
        finally:
            llvm.set_option("graphdl", "-force-vector-width=0")


@contextmanager
def _without_llvm_remarks():
    """Drops the ``remark: ... loop not vectorized`` lines LLVM writes to the process's stderr while a kernel
    compiles with a forced vector width: they name loops around the vectorized ones (a step loop, a loop over
    images) that no width could vectorize, and are not errors. Anything else written to stderr meanwhile is
    passed on when the compilation ends."""
    stderr = 2  # LLVM writes to the C stderr, whatever sys.stderr is
    try:
        sys.stderr.flush()
        saved = os.dup(stderr)
    except (OSError, ValueError):
        yield
        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), stderr)
        try:
            yield
        finally:
            try:
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            os.dup2(saved, stderr)
            os.close(saved)
            captured.seek(0)
            kept = [line for line in captured.read().splitlines(keepends=True) if not line.startswith(b"remark: ")]
            if kept:
                os.write(stderr, b"".join(kept))


_compiled_signatures: set = set()


def compiled_for(dispatcher, args, widen=True):
    """``dispatcher``, compiled by ``compile_kernel`` for the types of ``args`` the first time they are seen."""
    signature = (dispatcher, tuple(a.dtype if isinstance(a, np.ndarray) else type(a) for a in args))
    if signature not in _compiled_signatures:
        compile_kernel(dispatcher, args, widen)
        _compiled_signatures.add(signature)
    return dispatcher


def _source_key(source: str) -> str:
    digest = hashlib.sha256()
    digest.update(source.encode())
    digest.update(numba.__version__.encode())
    for inlined in _INLINED_SOURCES:
        digest.update(inlined.read_bytes())
    return digest.hexdigest()[:24]


def load_generated_module(source: str):
    """Import generated kernel source (writing it to the cache the first time); returns the module."""
    key = _source_key(source)
    module = _modules.get(key)
    if module is not None:
        return module
    path = cache_dir() / "kernels" / f"k_{key}.py"
    if not path.exists() or path.read_text() != source:
        write_atomically(path, source)
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
