"""The ``Apply*`` optimizer updates as single in-place Numba kernels.

Each op updates its variable and slots inside the arrays the session stores
(``state.variables``) in one pass over the flattened variable, so a training step
allocates nothing for its updates. The per-element formulas are those of the NumPy
reference kernels (``graphdl/train/training_ops.py``), term by term and in the same
evaluation order, with every scalar hyperparameter converted to the variable's dtype
first, so float32 results match the reference to the last bit or so. One compiled
function per op type serves every variable of a dtype (the kernels see 1-D arrays);
variables of ``PARALLEL_MIN_ELEMENTS`` elements or more are split across the kernel
thread pool.

In-place updates are safe because the executor copies every fetched value that is,
or views, a variable's storage; nothing else the session hands out aliases it.
"""

from __future__ import annotations

import itertools
import operator

import numpy as np
from graphdl.backends.numba_cpu.fused_codegen import PARALLEL_MIN_ELEMENTS, _thread_pool, _threads
from graphdl.backends.numba_cpu.kernel_registry import numpy_kernel, register_kernel
from numba import njit

from graphdl import errors
from graphdl.train.training_ops import _SIGNATURES, _input_names

_FLAGS = {"cache": True, "nogil": True, "error_model": "numpy"}
_SUPPORTED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
# Thread pieces start at multiples of this many elements (whole cache lines).
_ALIGN = 64

# Every kernel reads all its inputs at index i before writing, and writes the variable
# first and the slots after it, so a gradient that is (index for index) one of the
# updated arrays gives the reference kernel's result. The loops run over range(n) from
# 0 (thread pieces get sliced arrays): with a start offset, Numba's negative-index
# wraparound stays in the loop and LLVM does not vectorize it (Adam: ~3.5x slower).


@njit(**_FLAGS)
def _gradient_descent(var, grad, alpha):
    for i in range(var.shape[0]):
        var[i] = var[i] - grad[i] * alpha


@njit(**_FLAGS)
def _proximal_gradient_descent(var, grad, alpha, alpha_l1, denom, use_l1, zero, one):
    for i in range(var.shape[0]):
        prox = var[i] - grad[i] * alpha
        if use_l1:
            shrunk = abs(prox) - alpha_l1
            shrunk = shrunk if not shrunk < zero else zero  # np.maximum(shrunk, 0), NaN passing through
            # np.sign: +-1, 0 for +-0, NaN for NaN
            sign = one if prox > zero else (-one if prox < zero else (zero if prox == zero else prox))
            var[i] = sign * shrunk / denom
        else:
            var[i] = prox / denom


@njit(**_FLAGS)
def _momentum(var, accum, grad, lr, momentum, nesterov):
    for i in range(var.shape[0]):
        g = grad[i]
        w = var[i]
        a = accum[i] * momentum + g
        if nesterov:
            var[i] = w - (g * lr + a * momentum * lr)
        else:
            var[i] = w - a * lr
        accum[i] = a


@njit(**_FLAGS)
def _adagrad(var, accum, grad, lr, update_slots):
    for i in range(var.shape[0]):
        g = grad[i]
        w = var[i]
        a = accum[i]
        if update_slots:
            a = a + g * g
        var[i] = w - g * lr / np.sqrt(a)
        accum[i] = a


@njit(**_FLAGS)
def _adadelta(var, accum, accum_update, grad, lr, rho, one_minus_rho, epsilon):
    for i in range(var.shape[0]):
        g = grad[i]
        w = var[i]
        u = accum_update[i]
        a = accum[i] * rho + g * g * one_minus_rho
        update = np.sqrt(u + epsilon) / np.sqrt(a + epsilon) * g
        var[i] = w - update * lr
        accum[i] = a
        accum_update[i] = u * rho + update * update * one_minus_rho


@njit(**_FLAGS)
def _rms_prop(var, ms, mom, grad, lr, one_minus_rho, momentum, epsilon):
    for i in range(var.shape[0]):
        g = grad[i]
        w = var[i]
        s = ms[i]
        s = s + (g * g - s) * one_minus_rho
        m = mom[i] * momentum + g * lr / np.sqrt(s + epsilon)
        var[i] = w - m
        ms[i] = s
        mom[i] = m


@njit(**_FLAGS)
def _centered_rms_prop(var, mg, ms, mom, grad, lr, one_minus_rho, momentum, epsilon):
    for i in range(var.shape[0]):
        g = grad[i]
        w = var[i]
        s = ms[i]
        a = mg[i]
        s = s + (g * g - s) * one_minus_rho
        a = a + (g - a) * one_minus_rho
        denom = (s - a * a) + epsilon
        m = mom[i] * momentum + g * lr / np.sqrt(denom)
        var[i] = w - m
        mg[i] = a
        ms[i] = s
        mom[i] = m


@njit(**_FLAGS)
def _adam(var, m, v, grad, alpha, beta1, one_minus_beta1, one_minus_beta2, epsilon, nesterov):
    for i in range(var.shape[0]):
        g = grad[i]
        w = var[i]
        m_i = m[i]
        v_i = v[i]
        m_i = m_i + (g - m_i) * one_minus_beta1
        v_i = v_i + (g * g - v_i) * one_minus_beta2
        if nesterov:
            var[i] = w - (g * one_minus_beta1 + beta1 * m_i) * alpha / (np.sqrt(v_i) + epsilon)
        else:
            var[i] = w - m_i * alpha / (np.sqrt(v_i) + epsilon)
        m[i] = m_i
        v[i] = v_i


# Per op type: the kernel, and ``prepare(attrs) -> f(one, *scalars) -> kernel scalar arguments``,
# computing the derived scalars exactly as the reference kernel does (in the variable's dtype).
def _prepare_gradient_descent(attrs):
    return lambda one, alpha: (alpha,)


def _prepare_proximal(attrs):
    def prepare(one, alpha, l1, l2):
        zero = one - one
        return alpha, alpha * l1, one + l2 * alpha, bool(l1 > zero), zero, one

    return prepare


def _prepare_momentum(attrs):
    nesterov = bool(attrs.get("use_nesterov", False))
    return lambda one, lr, momentum: (lr, momentum, nesterov)


def _prepare_adagrad(attrs):
    update_slots = bool(attrs.get("update_slots", True))
    return lambda one, lr: (lr, update_slots)


def _prepare_adadelta(attrs):
    return lambda one, lr, rho, epsilon: (lr, rho, one - rho, epsilon)


def _prepare_rms_prop(attrs):
    return lambda one, lr, rho, momentum, epsilon: (lr, one - rho, momentum, epsilon)


def _prepare_adam(attrs):
    nesterov = bool(attrs.get("use_nesterov", False))

    def prepare(one, beta1_power, beta2_power, lr, beta1, beta2, epsilon):
        alpha = lr * np.sqrt(one - beta2_power) / (one - beta1_power)
        return alpha, beta1, one - beta1, one - beta2, epsilon, nesterov

    return prepare


UPDATES = {
    "ApplyGradientDescent": (_gradient_descent, _prepare_gradient_descent),
    "ApplyProximalGradientDescent": (_proximal_gradient_descent, _prepare_proximal),
    "ApplyMomentum": (_momentum, _prepare_momentum),
    "ApplyAdagrad": (_adagrad, _prepare_adagrad),
    "ApplyAdadelta": (_adadelta, _prepare_adadelta),
    "ApplyRMSProp": (_rms_prop, _prepare_rms_prop),
    "ApplyCenteredRMSProp": (_centered_rms_prop, _prepare_rms_prop),
    "ApplyAdam": (_adam, _prepare_adam),
}


def _split(size):
    """Start/stop bounds of the thread pieces for a variable of ``size`` elements (one piece if small)."""
    threads = _threads()
    if size < PARALLEL_MIN_ELEMENTS or threads < 2:
        return None
    bounds = [(size * p // threads) // _ALIGN * _ALIGN for p in range(threads)] + [size]
    return tuple(itertools.pairwise(bounds))


def owns_writable_c_array(array, dtype) -> bool:
    """Can ``array`` be updated in place as a variable's storage (its own C-contiguous, writeable memory)?"""
    if type(array) is not np.ndarray or array.base is not None or array.dtype != dtype:
        return False
    flags = array.flags
    return flags.c_contiguous and flags.writeable


class InPlaceUpdate:
    """The run-time callable of one ``Apply*`` op: validate, convert scalars, run the kernel in place.

    The stored arrays last validated are remembered (with their flat views), so a step
    whose variables are unchanged objects goes straight to the kernel.
    """

    def __init__(self, op, state, kernel, prepare):
        self.op = op
        self._variables = state.variables
        self._kernel = kernel
        self._prepare = prepare(op.attrs)
        names = _input_names(op.type)
        refs, scalars = _SIGNATURES[op.type]
        self._ref_labels = refs
        self._ref_names = tuple(t.op.name for t in op.inputs[: len(refs)])
        self._grad_index = names.index("grad")
        self._scalar_indices = tuple(names.index(s) for s in scalars)
        # The executor passes a constant's own attr array (np.asarray of it) unless the tensor is fed, so
        # when every hyperparameter is that very object, the kernel scalars computed the first time hold.
        producers = [op.inputs[i].op for i in self._scalar_indices]
        constants = [p.attrs.get("value") if p.type == "Const" else None for p in producers]
        self._constants = constants if all(type(c) is np.ndarray for c in constants) else None
        self._constant_scalars = None
        self._dtype = np.dtype(op.inputs[0].dtype.np)
        self._scalar_type = self._dtype.type
        self._one = self._scalar_type(1)
        self._stored = None  # the validated stored arrays (kept alive so their ids stay theirs)
        self._ids = None
        self._flats = ()
        self._shape = None
        self._pieces = None
        self._piece_refs = ()

    def __call__(self, *args):
        stored = tuple(map(self._variables.get, self._ref_names))
        grad = args[self._grad_index]
        if type(grad) is not np.ndarray:
            grad = np.asarray(grad)
        if tuple(map(id, stored)) != self._ids or grad.shape != self._shape:
            stored = self._validate(stored, grad)
        if grad.dtype != self._dtype:
            grad = grad.astype(self._dtype)
        if grad.base is not None and any(np.may_share_memory(grad, s) for s in stored):
            grad = grad.copy()  # e.g. a reshaped view of the variable itself: may not line up element for element
        values = [args[i] for i in self._scalar_indices]
        if self._constants is not None and all(map(operator.is_, values, self._constants)):
            scalars = self._constant_scalars
            if scalars is None:
                scalars = self._constant_scalars = self._prepare(self._one, *map(self._type_scalar, values))
        else:
            scalars = self._prepare(self._one, *map(self._type_scalar, values))
        flat_grad = grad.reshape(-1)
        if self._pieces is None:
            self._kernel(*self._flats, flat_grad, *scalars)
        else:
            kernel = self._kernel
            pieces = [(refs, flat_grad[start:stop]) for refs, (start, stop) in zip(self._piece_refs, self._pieces)]
            pool = _thread_pool()
            futures = [pool.submit(kernel, *refs, g, *scalars) for refs, g in pieces[1:]]
            kernel(*pieces[0][0], pieces[0][1], *scalars)
            for future in futures:
                future.result()
        return stored[0]

    def _type_scalar(self, value):
        """``value`` (a 0-d array or NumPy scalar) as a scalar of the variable's dtype."""
        if type(value) is np.ndarray:
            if value.ndim != 0:
                if value.size != 1:
                    raise errors.InvalidArgumentError(
                        None, self.op, f"{self.op.type} '{self.op.name}': hyperparameters must be scalars, got a "
                        f"value of shape {list(value.shape)}",
                    )
                value = value.reshape(())
            value = value[()]  # much cheaper than dtype.type(array)
        return value if type(value) is self._scalar_type else self._scalar_type(value)

    def _validate(self, stored, grad):
        """Check every input before anything is written; make each stored array updatable in place."""
        op = self.op
        for name, value in zip(self._ref_names, stored):
            if value is None:
                raise errors.FailedPreconditionError(
                    None, op,
                    f"Attempting to use uninitialized value {name} (in op '{op.name}', {op.type}). "
                    "Run graphdl.global_variables_initializer() (or the variable's initializer) first.",
                )
        for label, name, value in zip(self._ref_labels, self._ref_names, stored):
            if value.shape != grad.shape:
                raise errors.InvalidArgumentError(
                    None, op,
                    f"{op.type} '{op.name}': {label} ('{name}') and grad do not have the same shape: "
                    f"{list(value.shape)} vs {list(grad.shape)}",
                )
        fixed = []
        for name, value in zip(self._ref_names, stored):
            if not owns_writable_c_array(value, self._dtype):
                # A view, read-only or foreign-dtype value (fed or loaded): give the variable its own storage.
                value = np.array(value, dtype=self._dtype, order="C", copy=True)
                self._variables[name] = value
            fixed.append(value)
        stored = tuple(fixed)
        self._stored = stored
        self._ids = tuple(map(id, stored))
        self._flats = tuple(s.reshape(-1) for s in stored)
        self._shape = grad.shape
        self._pieces = _split(grad.size)
        if self._pieces is not None:
            self._piece_refs = [tuple(f[start:stop] for f in self._flats) for start, stop in self._pieces]
        return stored


@register_kernel(*UPDATES)
def apply_update(op, state):
    """An ``InPlaceUpdate`` for float32/float64 variables; other dtypes run the NumPy reference kernel."""
    if np.dtype(op.inputs[0].dtype.np) not in _SUPPORTED_DTYPES:
        return numpy_kernel(op, state)
    kernel, prepare = UPDATES[op.type]
    return InPlaceUpdate(op, state, kernel, prepare)
