"""Kernels of the Numba CPU backend, registered against op type names.

A kernel factory receives the op (with its attrs and static shapes) and the session
state at compile time and returns the function the executor calls with the input
arrays. ``implementation`` says what does the work: "numba" (a compiled kernel),
"blas" (NumPy's BLAS-backed matmul) or "numpy" (data movement and shape ops, where a
NumPy view or copy is already optimal). ``explain`` reports it per op. While a program is
lowered, ``output_is_read`` tells a factory whether the program reads one of its op's outputs, so
a kernel may skip writing one that nothing reads.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Callable

from graphdl.framework.op_def import get_op_def


@dataclass(frozen=True)
class KernelEntry:
    factory: Callable
    implementation: str


_KERNELS: dict[str, KernelEntry] = {}
_read_tensors: ContextVar = ContextVar("graphdl_numba_read_tensors", default=None)


@contextmanager
def lowering(program):
    """While kernels of ``program`` are built: ``output_is_read`` answers for its ops."""
    read = {t for op in program.ops for t in op.inputs} | set(program.fetches)
    token = _read_tensors.set(read)
    try:
        yield
    finally:
        _read_tensors.reset(token)


def output_is_read(op, index: int) -> bool:
    """Whether the program being lowered reads output ``index`` of ``op`` (as an input or a fetch); True outside
    lowering."""
    read = _read_tensors.get()
    return read is None or op.outputs[index] in read


def register_kernel(*op_types: str, implementation: str = "numba"):
    """Decorator registering ``factory(op, state) -> callable`` for the given op types."""

    def decorate(factory):
        for op_type in op_types:
            if op_type in _KERNELS:
                raise ValueError(f"Numba CPU kernel for '{op_type}' is registered twice")
            _KERNELS[op_type] = KernelEntry(factory, implementation)
        return factory

    return decorate


class _Context:
    __slots__ = ("op", "attrs", "state")

    def __init__(self, op, state):
        self.op = op
        self.attrs = op.attrs
        self.state = state

    def run_function(self, func_graph, args, extra_fetches=()):
        """Run a function graph (cond branch, loop body) with this backend and session state."""
        from graphdl.backends.numba_cpu.backend import BACKEND

        from graphdl.client.function_runner import run_function

        return run_function(BACKEND, self.state, func_graph, args, extra_fetches)


def numpy_kernel(op, state):
    """The op's NumPy reference kernel, for ops where NumPy is the right implementation."""
    kernel = get_op_def(op.type).kernel
    ctx = _Context(op, state)
    if len(op.outputs) == 1:  # a variable-output op such as Unpack(num=1) returns a 1-tuple: unwrap it

        def single_output(*inputs):
            result = kernel(ctx, *inputs)
            return result[0] if isinstance(result, tuple) and len(result) == 1 else result

        return single_output
    return lambda *inputs: kernel(ctx, *inputs)


def register_numpy_kernels(*op_types: str):
    """Use the NumPy reference kernel for these op types (shape, data movement, bookkeeping ops)."""
    register_kernel(*op_types, implementation="numpy")(numpy_kernel)


def buffer_pool(state):
    """The session's pool of reusable kernel output buffers (created on first use)."""
    pool = getattr(state, "buffer_pool", None)
    if pool is None:
        from graphdl.backends.numba_cpu.buffer_pool import BufferPool

        pool = state.buffer_pool = BufferPool()
    return pool


def kernel_entry(op_type: str) -> KernelEntry:
    _load_kernels()
    entry = _KERNELS.get(op_type)
    if entry is None:
        get_op_def(op_type)  # raises NotFoundError for unknown op types
        # An op type defined after the kernels were loaded runs its NumPy kernel (explain() says so).
        entry = _KERNELS[op_type] = KernelEntry(numpy_kernel, "numpy")
    return entry


def registered_kernel_types() -> set:
    _load_kernels()
    return set(_KERNELS)


def _load_kernels():
    from graphdl.backends.numba_cpu import kernels  # noqa: F401  (registers on import)
