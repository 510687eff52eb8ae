"""The ``Apply*`` optimizer updates as CUDA kernels updating variables and slots in place.

The per-element formulas are the CPU kernels' (``numba_cpu/kernels/training.py``), term
by term. Hyperparameters stay on the device (Adam's ``beta1_power`` is itself a
variable): each thread reads them and derives the step size, so an update never waits
for the host.
"""

from __future__ import annotations

import math

from graphdl.backends.numba_cuda.device import launch_size
from graphdl.backends.numba_cuda.kernel_registry import register_cuda_kernel
from numba import cuda

from graphdl import errors
from graphdl.train.training_ops import _SIGNATURES, _input_names


@cuda.jit
def _gradient_descent(var, alpha, grad):  # arguments in the op's input order
    a = alpha[0]
    for i in range(cuda.grid(1), var.shape[0], cuda.gridsize(1)):
        var[i] = var[i] - grad[i] * a


@cuda.jit
def _proximal_gradient_descent(var, alpha, l1, l2, grad):
    a, zero = alpha[0], alpha[0] - alpha[0]
    one = zero + 1
    denom = one + l2[0] * a
    for i in range(cuda.grid(1), var.shape[0], cuda.gridsize(1)):
        prox = var[i] - grad[i] * a
        if l1[0] > zero:
            shrunk = abs(prox) - a * l1[0]
            shrunk = shrunk if not shrunk < zero else zero
            sign = one if prox > zero else (-one if prox < zero else (zero if prox == zero else prox))
            var[i] = sign * shrunk / denom
        else:
            var[i] = prox / denom


@cuda.jit
def _momentum(var, accum, lr, grad, momentum, nesterov):
    r, mu = lr[0], momentum[0]
    for i in range(cuda.grid(1), var.shape[0], cuda.gridsize(1)):
        g = grad[i]
        a = accum[i] * mu + g
        if nesterov:
            var[i] = var[i] - (g * r + a * mu * r)
        else:
            var[i] = var[i] - a * r
        accum[i] = a


@cuda.jit
def _adagrad(var, accum, lr, grad, update_slots):
    r = lr[0]
    for i in range(cuda.grid(1), var.shape[0], cuda.gridsize(1)):
        g = grad[i]
        a = accum[i]
        if update_slots:
            a = a + g * g
        var[i] = var[i] - g * r / math.sqrt(a)
        accum[i] = a


@cuda.jit
def _adadelta(var, accum, accum_update, lr, rho, epsilon, grad):
    r, p, eps = lr[0], rho[0], epsilon[0]
    q = (p - p + 1) - p
    for i in range(cuda.grid(1), var.shape[0], cuda.gridsize(1)):
        g = grad[i]
        u = accum_update[i]
        a = accum[i] * p + g * g * q
        update = math.sqrt(u + eps) / math.sqrt(a + eps) * g
        var[i] = var[i] - update * r
        accum[i] = a
        accum_update[i] = u * p + update * update * q


@cuda.jit
def _rms_prop(var, ms, mom, lr, rho, momentum, epsilon, grad):
    r, mu, eps = lr[0], momentum[0], epsilon[0]
    q = (rho[0] - rho[0] + 1) - rho[0]
    for i in range(cuda.grid(1), var.shape[0], cuda.gridsize(1)):
        g = grad[i]
        s = ms[i]
        s = s + (g * g - s) * q
        m = mom[i] * mu + g * r / math.sqrt(s + eps)
        var[i] = var[i] - m
        ms[i] = s
        mom[i] = m


@cuda.jit
def _centered_rms_prop(var, mg, ms, mom, lr, rho, momentum, epsilon, grad):
    r, mu, eps = lr[0], momentum[0], epsilon[0]
    q = (rho[0] - rho[0] + 1) - rho[0]
    for i in range(cuda.grid(1), var.shape[0], cuda.gridsize(1)):
        g = grad[i]
        s = ms[i]
        a = mg[i]
        s = s + (g * g - s) * q
        a = a + (g - a) * q
        m = mom[i] * mu + g * r / math.sqrt((s - a * a) + eps)
        var[i] = var[i] - m
        mg[i] = a
        ms[i] = s
        mom[i] = m


@cuda.jit
def _adam(var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad, nesterov):
    one = lr[0] - lr[0] + 1
    alpha = lr[0] * math.sqrt(one - beta2_power[0]) / (one - beta1_power[0])
    b1, eps = beta1[0], epsilon[0]
    q1, q2 = one - b1, one - beta2[0]
    for i in range(cuda.grid(1), var.shape[0], cuda.gridsize(1)):
        g = grad[i]
        m_i = m[i] + (g - m[i]) * q1
        v_i = v[i] + (g * g - v[i]) * q2
        if nesterov:
            var[i] = var[i] - (g * q1 + b1 * m_i) * alpha / (math.sqrt(v_i) + eps)
        else:
            var[i] = var[i] - m_i * alpha / (math.sqrt(v_i) + eps)
        m[i] = m_i
        v[i] = v_i


_UPDATES = {
    "ApplyGradientDescent": (_gradient_descent, lambda attrs: ()),
    "ApplyProximalGradientDescent": (_proximal_gradient_descent, lambda attrs: ()),
    "ApplyMomentum": (_momentum, lambda attrs: (bool(attrs.get("use_nesterov", False)),)),
    "ApplyAdagrad": (_adagrad, lambda attrs: (bool(attrs.get("update_slots", True)),)),
    "ApplyAdadelta": (_adadelta, lambda attrs: ()),
    "ApplyRMSProp": (_rms_prop, lambda attrs: ()),
    "ApplyCenteredRMSProp": (_centered_rms_prop, lambda attrs: ()),
    "ApplyAdam": (_adam, lambda attrs: (bool(attrs.get("use_nesterov", False)),)),
}


@register_cuda_kernel(*_UPDATES)
def apply_update(op, ctx):
    """Update the variable and its slots on the device; returns the variable's device array."""
    kernel, flags = _UPDATES[op.type]
    flags = flags(op.attrs)
    refs, _ = _SIGNATURES[op.type]
    names = _input_names(op.type)
    ref_names = [op.inputs[i].op.name for i in range(len(refs))]
    variables = ctx.variables
    dtype = op.inputs[0].dtype.np

    def run(*args):
        stored = [variables.device_get(name, op.name) for name in ref_names]
        values = list(args)
        grad = values[names.index("grad")]
        for label, name, array in zip(refs, ref_names, stored):
            if array.shape != grad.shape:
                raise errors.InvalidArgumentError(
                    None, op, f"{op.type} '{op.name}': {label} ('{name}') and grad do not have the same shape: "
                    f"{list(array.shape)} vs {list(grad.shape)}")
        flat = []
        for i, value in enumerate(values):
            if i < len(refs):
                flat.append(stored[i].reshape(-1))
            elif names[i] == "grad":
                flat.append(value.reshape(-1) if value.dtype == dtype else value.copy_to_host().astype(dtype).reshape(-1))
            else:
                if value.size != 1:
                    raise errors.InvalidArgumentError(
                        None, op, f"{op.type} '{op.name}': hyperparameters must be scalars, got a value of shape "
                        f"{list(value.shape)}")
                flat.append(value.reshape(1))
        blocks, threads = launch_size(grad.size)
        if grad.size:
            kernel[blocks, threads](*flat, *flags)
        for name in ref_names:
            variables.device_written(name)
        return stored[0]

    return run
