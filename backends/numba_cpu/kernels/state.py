"""``Assign``, ``AssignAdd`` and ``AssignSub`` writing into the variable's stored array in place.

A variable keeps one array for its lifetime in the session (as long as its shape and
dtype do not change), so assignments and increments allocate nothing and kernels that
cached the array's flat views stay valid. The work is a single NumPy ``copyto`` or
ufunc with ``out=``, which already runs at memory speed and handles a value that is,
or overlaps, the stored array. Semantics and messages follow the reference kernels
(``graphdl/ops/state_ops.py``); fetched values never alias the storage because the
executor copies them.
"""

from __future__ import annotations

import numpy as np
from graphdl.backends.numba_cpu.kernel_registry import register_kernel
from graphdl.backends.numba_cpu.kernels.training import owns_writable_c_array

from graphdl import errors


class _StoredVariable:
    """Looks up a variable's stored array and remembers the last one checked to be updatable in place."""

    def __init__(self, op, state):
        self.op = op
        self.name = op.inputs[0].op.name
        self.variables = state.variables
        self.checked = None

    def updatable(self, stored) -> bool:
        if stored is self.checked:
            return True
        if owns_writable_c_array(stored, stored.dtype):
            self.checked = stored
            return True
        return False

    def replace(self, value):
        """Store a fresh C-contiguous copy of ``value`` as the variable's array; returns it."""
        stored = np.array(value, copy=True, order="C")
        self.variables[self.name] = stored
        self.checked = stored
        return stored


@register_kernel("Assign", implementation="numpy")
def assign(op, state):
    """Copy the value into the stored array when shape and dtype match; otherwise store a new copy."""
    variable = _StoredVariable(op, state)
    validate_shape = bool(op.attrs.get("validate_shape", True))
    variables, name = state.variables, variable.name

    def run(ref, value):
        stored = variables.get(name)
        if type(value) is not np.ndarray:
            value = np.asarray(value)
        if stored is None:
            return variable.replace(value)
        if stored.shape == value.shape and stored.dtype == value.dtype and variable.updatable(stored):
            np.copyto(stored, value)  # copies through a temporary when value overlaps stored
            return stored
        if validate_shape and stored.shape != value.shape:
            raise errors.InvalidArgumentError(
                None, op,
                f"Assign '{op.name}': variable '{name}' has shape {stored.shape} but the value has shape {value.shape}",
            )
        return variable.replace(value)

    return run


def _update(ufunc):
    def factory(op, state):
        variable = _StoredVariable(op, state)
        variables, name = state.variables, variable.name

        def run(ref, value):
            stored = variables.get(name)
            if stored is None:
                raise errors.FailedPreconditionError(
                    None, op, f"Attempting to use uninitialized value {name} (in op '{op.name}')"
                )
            if not variable.updatable(stored):
                stored = variable.replace(stored)
            try:
                ufunc(stored, value, out=stored)
            except ValueError:
                raise errors.InvalidArgumentError(
                    None, op,
                    f"{op.type} '{op.name}': value of shape {np.shape(value)} does not match variable shape {stored.shape}",
                ) from None
            return stored

        return run

    factory.__doc__ = f"``{ufunc.__name__}`` the value into the stored array in place (broadcasting the value)."
    return factory


register_kernel("AssignAdd", implementation="numpy")(_update(np.add))
register_kernel("AssignSub", implementation="numpy")(_update(np.subtract))
