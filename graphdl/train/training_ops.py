"""The ``Apply*`` ops: one stateful op per variable update, with TF1's update formulas.

Each op takes the variable (and its optimizer slots) by reference, scalar
hyperparameters and the gradient, writes the new values into the session state and
returns the variable's new value. The formulas follow TF1's kernels
(``tensorflow/core/kernels/training_ops.cc``) term by term.
"""

from __future__ import annotations

import numpy as np

from graphdl import errors
from graphdl.framework.op_def import define_op
from graphdl.framework.ops import convert_to_tensor, make_tensor

__all__ = [
    "apply_adadelta",
    "apply_adagrad",
    "apply_adam",
    "apply_centered_rms_prop",
    "apply_gradient_descent",
    "apply_momentum",
    "apply_proximal_gradient_descent",
    "apply_rms_prop",
]

# Per op type: (names of the variable-like inputs, names of the scalar inputs). The
# gradient is always the last input.
_SIGNATURES = {
    "ApplyGradientDescent": (("var",), ("alpha",)),
    "ApplyProximalGradientDescent": (("var",), ("alpha", "l1", "l2")),
    "ApplyMomentum": (("var", "accum"), ("lr", "momentum")),
    "ApplyAdagrad": (("var", "accum"), ("lr",)),
    "ApplyAdadelta": (("var", "accum", "accum_update"), ("lr", "rho", "epsilon")),
    "ApplyRMSProp": (("var", "ms", "mom"), ("lr", "rho", "momentum", "epsilon")),
    "ApplyCenteredRMSProp": (("var", "mg", "ms", "mom"), ("lr", "rho", "momentum", "epsilon")),
    "ApplyAdam": (("var", "m", "v"), ("beta1_power", "beta2_power", "lr", "beta1", "beta2", "epsilon")),
}


def _input_names(op_type):
    refs, scalars = _SIGNATURES[op_type]
    # ApplyMomentum takes its momentum scalar after the gradient, as in TF.
    if op_type == "ApplyMomentum":
        return list(refs) + ["lr", "grad", "momentum"]
    return list(refs) + list(scalars) + ["grad"]


def _infer(op):
    refs, _ = _SIGNATURES[op.type]
    names = _input_names(op.type)
    var = op.inputs[0]
    shape = var.shape
    for i, (name, t) in enumerate(zip(names, op.inputs)):
        if i < len(refs) and t.op.type != "VariableV2":
            raise TypeError(
                f"{op.type} needs a variable for its '{name}' input, got '{t.name}' produced by a {t.op.type} op"
            )
        if t.dtype != var.dtype:
            raise TypeError(
                f"{op.type}: input '{name}' ('{t.name}') has dtype {t.dtype.name} but variable "
                f"'{var.op.name}' has dtype {var.dtype.name}; cast it to {var.dtype.name}"
            )
        if name in refs or name == "grad":
            if not shape.is_compatible_with(t.shape):
                raise ValueError(
                    f"{op.type}: '{name}' ('{t.name}') has shape {t.shape} but variable '{var.op.name}' has shape "
                    f"{var.shape}; they must be equal"
                )
            shape = shape.merge_with(t.shape)
        elif t.shape.ndims not in (None, 0):
            raise ValueError(f"{op.type}: '{name}' must be a scalar, got '{t.name}' of shape {t.shape}")
    return [(shape.as_tuple(), var.dtype)]


def _read_ref(ctx, index):
    """The current stored value of the variable feeding ref input ``index``."""
    name = ctx.op.inputs[index].op.name
    value = ctx.state.variables.get(name)
    if value is None:
        raise errors.FailedPreconditionError(
            None, ctx.op,
            f"Attempting to use uninitialized value {name} (in op '{ctx.op.name}', {ctx.op.type}). "
            "Run graphdl.global_variables_initializer() (or the variable's initializer) first.",
        )
    return value


def _training_kernel(update):
    """Wrap ``update(attrs, refs, scalars, grad) -> new ref values`` as a kernel of a training op."""

    def kernel(ctx, *args):
        op_type = ctx.op.type
        names = _input_names(op_type)
        refs_names, scalar_names = _SIGNATURES[op_type]
        refs = [_read_ref(ctx, i) for i in range(len(refs_names))]
        values = dict(zip(names, args))
        grad = np.asarray(values["grad"])
        dtype = refs[0].dtype
        for name, value in zip(refs_names, refs):
            if value.shape != grad.shape:
                raise errors.InvalidArgumentError(
                    None, ctx.op,
                    f"{op_type} '{ctx.op.name}': {name} ('{ctx.op.inputs[names.index(name)].op.name}') and grad "
                    f"do not have the same shape: {list(value.shape)} vs {list(grad.shape)}",
                )
        scalars = [np.asarray(values[n], dtype=dtype) for n in scalar_names]
        new_values = update(ctx.attrs, refs, scalars, grad)
        stored = []
        for i, value in enumerate(new_values):
            value = np.asarray(value, dtype=dtype)
            ctx.state.variables[ctx.op.inputs[i].op.name] = value
            stored.append(value)
        return stored[0]

    return kernel


def _gradient_descent(attrs, refs, scalars, grad):
    (var,), (alpha,) = refs, scalars
    return [var - grad * alpha]


def _proximal_gradient_descent(attrs, refs, scalars, grad):
    (var,), (alpha, l1, l2) = refs, scalars
    prox_var = var - grad * alpha
    if l1 > 0:
        new_var = np.sign(prox_var) * np.maximum(np.abs(prox_var) - alpha * l1, 0) / (1 + l2 * alpha)
    else:
        new_var = prox_var / (1 + l2 * alpha)
    return [new_var]


def _momentum(attrs, refs, scalars, grad):
    (var, accum), (lr, momentum) = refs, scalars
    accum = accum * momentum + grad
    if attrs.get("use_nesterov", False):
        var = var - (grad * lr + accum * momentum * lr)
    else:
        var = var - accum * lr
    return [var, accum]


def _adagrad(attrs, refs, scalars, grad):
    (var, accum), (lr,) = refs, scalars
    if attrs.get("update_slots", True):
        accum = accum + grad * grad
    return [var - grad * lr / np.sqrt(accum), accum]


def _adadelta(attrs, refs, scalars, grad):
    (var, accum, accum_update), (lr, rho, epsilon) = refs, scalars
    one = np.ones((), dtype=var.dtype)
    accum = accum * rho + grad * grad * (one - rho)
    update = np.sqrt(accum_update + epsilon) / np.sqrt(accum + epsilon) * grad
    var = var - update * lr
    accum_update = accum_update * rho + update * update * (one - rho)
    return [var, accum, accum_update]


def _rms_prop(attrs, refs, scalars, grad):
    (var, ms, mom), (lr, rho, momentum, epsilon) = refs, scalars
    one = np.ones((), dtype=var.dtype)
    ms = ms + (grad * grad - ms) * (one - rho)
    mom = mom * momentum + grad * lr / np.sqrt(ms + epsilon)
    return [var - mom, ms, mom]


def _centered_rms_prop(attrs, refs, scalars, grad):
    (var, mg, ms, mom), (lr, rho, momentum, epsilon) = refs, scalars
    one_minus_rho = np.ones((), dtype=var.dtype) - rho
    ms = ms + (grad * grad - ms) * one_minus_rho
    mg = mg + (grad - mg) * one_minus_rho
    denom = (ms - mg * mg) + epsilon
    mom = mom * momentum + grad * lr / np.sqrt(denom)
    return [var - mom, mg, ms, mom]


def _adam(attrs, refs, scalars, grad):
    (var, m, v), (beta1_power, beta2_power, lr, beta1, beta2, epsilon) = refs, scalars
    one = np.ones((), dtype=var.dtype)
    alpha = lr * np.sqrt(one - beta2_power) / (one - beta1_power)
    m = m + (grad - m) * (one - beta1)
    v = v + (grad * grad - v) * (one - beta2)
    if attrs.get("use_nesterov", False):
        var = var - (grad * (one - beta1) + beta1 * m) * alpha / (np.sqrt(v) + epsilon)
    else:
        var = var - m * alpha / (np.sqrt(v) + epsilon)
    return [var, m, v]


for _type, _update in [
    ("ApplyGradientDescent", _gradient_descent),
    ("ApplyProximalGradientDescent", _proximal_gradient_descent),
    ("ApplyMomentum", _momentum),
    ("ApplyAdagrad", _adagrad),
    ("ApplyAdadelta", _adadelta),
    ("ApplyRMSProp", _rms_prop),
    ("ApplyCenteredRMSProp", _centered_rms_prop),
    ("ApplyAdam", _adam),
]:
    define_op(
        _type,
        infer=_infer,
        kernel=_training_kernel(_update),
        stateful=True,
        not_differentiable=True,
        ref_inputs=tuple(range(len(_SIGNATURES[_type][0]))),
    )


def _ref(var, op_type, input_name):
    """The VariableV2 tensor of a Variable (or the tensor itself); TypeError for anything else."""
    ref = var._ref() if hasattr(var, "_ref") else convert_to_tensor(var)
    if ref.op.type != "VariableV2":
        raise TypeError(
            f"Input '{input_name}' of '{op_type}' Op requires l-value input (a Variable), got '{ref.name}' "
            f"produced by a {ref.op.type} op"
        )
    return ref


def _make(op_type, refs, values, attrs, use_locking, name):
    refs = [_ref(r, op_type, n) for r, n in zip(refs, _SIGNATURES[op_type][0])]
    dtype = refs[0].dtype
    inputs = refs + [convert_to_tensor(v, dtype=dtype) for v in values]
    return make_tensor(op_type, inputs, dict(attrs, use_locking=bool(use_locking)), name or op_type)


def apply_gradient_descent(var, alpha, delta, use_locking=False, name=None):
    """``var -= alpha * delta``; returns the new value of ``var``."""
    return _make("ApplyGradientDescent", [var], [alpha, delta], {}, use_locking, name)


def apply_proximal_gradient_descent(var, alpha, l1, l2, delta, use_locking=False, name=None):
    """Proximal gradient step with L1 (soft threshold) and L2 shrinkage, as TF's kernel."""
    return _make("ApplyProximalGradientDescent", [var], [alpha, l1, l2, delta], {}, use_locking, name)


def apply_momentum(var, accum, lr, grad, momentum, use_locking=False, use_nesterov=False, name=None):
    """``accum = accum * momentum + grad; var -= lr * accum`` (Nesterov: ``var -= lr * (grad + momentum * accum)``)."""
    return _make("ApplyMomentum", [var, accum], [lr, grad, momentum], {"use_nesterov": bool(use_nesterov)}, use_locking, name)


def apply_adagrad(var, accum, lr, grad, use_locking=False, update_slots=True, name=None):
    """``accum += grad**2; var -= lr * grad / sqrt(accum)``."""
    return _make("ApplyAdagrad", [var, accum], [lr, grad], {"update_slots": bool(update_slots)}, use_locking, name)


def apply_adadelta(var, accum, accum_update, lr, rho, epsilon, grad, use_locking=False, name=None):
    """The Adadelta update of ``var`` and its two accumulators."""
    return _make("ApplyAdadelta", [var, accum, accum_update], [lr, rho, epsilon, grad], {}, use_locking, name)


def apply_rms_prop(var, ms, mom, lr, rho, momentum, epsilon, grad, use_locking=False, name=None):
    """``ms += (grad**2 - ms)(1 - rho); mom = mom * momentum + lr * grad / sqrt(ms + epsilon); var -= mom``."""
    return _make("ApplyRMSProp", [var, ms, mom], [lr, rho, momentum, epsilon, grad], {}, use_locking, name)


def apply_centered_rms_prop(var, mg, ms, mom, lr, rho, momentum, epsilon, grad, use_locking=False, name=None):
    """Centered RMSProp: like ``apply_rms_prop`` but normalizing by the variance estimate ``ms - mg**2``."""
    return _make("ApplyCenteredRMSProp", [var, mg, ms, mom], [lr, rho, momentum, epsilon, grad], {}, use_locking, name)


def apply_adam(
    var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad, use_locking=False, use_nesterov=False,
    name=None,
):
    """The Adam update: ``lr_t = lr * sqrt(1 - beta2_power) / (1 - beta1_power)``, then m, v and var."""
    return _make(
        "ApplyAdam", [var, m, v], [beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad],
        {"use_nesterov": bool(use_nesterov)}, use_locking, name,
    )
