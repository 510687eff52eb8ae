"""Variables resident on the device, kept coherent with the session's host dictionary.

A CUDA session keeps each variable's value in device memory; training steps read and
update it there, and nothing crosses to the host unless something on the host asks.
The session's ``state.variables`` becomes a :class:`CoherentVariables`: a ``dict`` whose
reads fetch a value the device changed since, and whose writes mark the device copy
stale. Host code may also update a value it read in place (the CPU kernels of ops
without a CUDA kernel do), so a host read conservatively marks the device copy stale too.
"""

from __future__ import annotations

import numpy as np
from graphdl.backends.numba_cuda import device

from graphdl import errors


class CoherentVariables(dict):
    """Host values by variable name (``dict``), plus each variable's device array."""

    def __init__(self, host_values=()):
        super().__init__(host_values)
        self.device_arrays: dict = {}
        self._device_newer: set = set()  # the host value is stale
        self._host_newer: set = set(self.keys())  # the device array is stale or missing

    # -- host side (what kernels on the CPU and the rest of graphdl see) --------------
    def _sync_to_host(self, name):
        if name in self._device_newer:
            self._device_newer.discard(name)
            dict.__setitem__(self, name, self.device_arrays[name].copy_to_host())

    def __getitem__(self, name):
        self._sync_to_host(name)
        value = dict.__getitem__(self, name)
        self._host_newer.add(name)  # the reader may update it in place
        return value

    def get(self, name, default=None):
        return self[name] if dict.__contains__(self, name) else default

    def __setitem__(self, name, value):
        dict.__setitem__(self, name, value)
        self._device_newer.discard(name)
        self._host_newer.add(name)

    def __delitem__(self, name):
        dict.__delitem__(self, name)
        self.device_arrays.pop(name, None)
        self._device_newer.discard(name)
        self._host_newer.discard(name)

    def pop(self, name, *default):
        if dict.__contains__(self, name):
            value = self[name]
            del self[name]
            return value
        if default:
            return default[0]
        raise KeyError(name)

    def values(self):
        return [self[name] for name in list(self.keys())]

    def items(self):
        return [(name, self[name]) for name in list(self.keys())]

    def copy(self):
        return {name: value for name, value in self.items()}

    def clear(self):
        dict.clear(self)
        self.device_arrays.clear()
        self._device_newer.clear()
        self._host_newer.clear()

    # -- device side (what CUDA kernels see) -------------------------------------------
    def device_get(self, name, op_name="?"):
        """The variable's device array, uploaded first if the host holds a newer value."""
        if name in self._host_newer or name not in self.device_arrays:
            if not dict.__contains__(self, name):
                raise errors.FailedPreconditionError(
                    None, None,
                    f"Attempting to use uninitialized value {name} (needed by op '{op_name}'). "
                    "Run graphdl.global_variables_initializer() (or the variable's initializer) first.",
                )
            self._upload(name)
        return self.device_arrays[name]

    def device_get_or_none(self, name):
        """Like :meth:`device_get`, but None for an uninitialized variable (what ``Assign`` needs)."""
        if not dict.__contains__(self, name):
            return None
        return self.device_get(name)

    def _upload(self, name):
        value = np.asarray(dict.__getitem__(self, name))
        current = self.device_arrays.get(name)
        if current is not None and current.shape == value.shape and current.dtype == value.dtype:
            current.copy_to_device(value)
        else:
            self.device_arrays[name] = device.to_device(value, what=f"variable '{name}'")
        self._host_newer.discard(name)

    def device_set(self, name, array):
        """Make ``array`` the variable's device value (a new variable gets its host value once)."""
        self.device_arrays[name] = array
        self._host_newer.discard(name)
        if dict.__contains__(self, name):
            self._device_newer.add(name)
        else:
            dict.__setitem__(self, name, array.copy_to_host())

    def device_written(self, name):
        """Note that a kernel updated the variable's device array in place."""
        self._device_newer.add(name)


def coherent_variables(state) -> CoherentVariables:
    """The session's variables as a :class:`CoherentVariables` (converted on first use)."""
    if not isinstance(state.variables, CoherentVariables):
        state.variables = CoherentVariables(state.variables)
    return state.variables
