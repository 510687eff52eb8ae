"""The op registry: each op type defined once with its shape/dtype rule, gradient and reference kernel.

An op type is registered with :func:`define_op`::

    define_op(
        "Relu",
        infer=same_as_input,                        # (op) -> [(shape, dtype), ...]
        kernel=lambda ctx, x: np.maximum(x, 0),     # NumPy reference kernel
        grad=lambda op, dy: [relu_grad(dy, op.outputs[0])],
    )

Backends register their own kernels against the same type name in their packages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from graphdl import errors


@dataclass(frozen=True)
class OpDef:
    """Everything the framework knows about one op type.

    ``infer(op)`` returns one ``(shape, dtype)`` pair per output, ``shape`` being a
    tuple with None for unknown dims (or None for unknown rank). ``kernel(ctx, *inputs)``
    is the NumPy reference implementation, returning an array or a tuple of arrays.
    ``grad(op, *output_grads)`` builds the gradient ops and returns one gradient (or
    None) per input. ``not_differentiable`` ops contribute no gradient (argmax,
    comparisons); ops with neither ``grad`` nor that flag raise LookupError when
    differentiated. ``stateful`` ops (random, variables, assignments) are never
    folded, deduplicated or cached. ``ref_inputs`` lists inputs that take a variable
    itself (its VariableV2 output) rather than its value.
    """

    type: str
    infer: Callable
    kernel: Callable | None
    grad: Callable | None = None
    not_differentiable: bool = False
    stateful: bool = False
    ref_inputs: tuple = ()
    attrs: dict = field(default_factory=dict)


_REGISTRY: dict[str, OpDef] = {}


def define_op(
    op_type: str,
    *,
    infer: Callable,
    kernel: Callable | None,
    grad: Callable | None = None,
    not_differentiable: bool = False,
    stateful: bool = False,
    ref_inputs: tuple = (),
) -> OpDef:
    """Register an op type and return its definition (one definition per type)."""
    if op_type in _REGISTRY:
        raise ValueError(f"Op type '{op_type}' is already defined")
    op_def = OpDef(op_type, infer, kernel, grad, not_differentiable, stateful, tuple(ref_inputs))
    _REGISTRY[op_type] = op_def
    return op_def


def get_op_def(op_type: str) -> OpDef:
    """The definition of ``op_type``; NotFoundError when no such op type is registered."""
    try:
        return _REGISTRY[op_type]
    except KeyError:
        raise errors.NotFoundError(
            None, None, f"Op type '{op_type}' is not registered. Known op types: {', '.join(sorted(_REGISTRY))}"
        ) from None


def registered_op_types() -> list[str]:
    """All registered op type names, sorted."""
    return sorted(_REGISTRY)


_GRADIENT_OVERRIDES: dict[str, Callable] = {}


class RegisterGradient:
    """Decorator registering a gradient function under a name, as TF1's ``tf.RegisterGradient``.

    A registered name replaces an op type's gradient inside
    ``graph.gradient_override_map({"OpType": "Name"})``, or defines the gradient of an
    op type that has none.
    """

    def __init__(self, op_type: str):
        if not isinstance(op_type, str):
            raise TypeError("RegisterGradient takes the gradient's name as a string")
        self._op_type = op_type

    def __call__(self, fn: Callable) -> Callable:
        if self._op_type in _GRADIENT_OVERRIDES:
            raise KeyError(f"Gradient '{self._op_type}' is already registered")
        _GRADIENT_OVERRIDES[self._op_type] = fn
        return fn


def NotDifferentiable(op_type: str):  # noqa: N802 - TF1 name
    """Declare an op type as having no gradient (its inputs get None), as ``tf.NotDifferentiable``."""
    _GRADIENT_OVERRIDES[op_type] = None


def gradient_function(op):
    """The gradient function for ``op`` (respecting overrides), None if not differentiable.

    Raises LookupError naming the op when the op type has no gradient at all.
    """
    override = op.attrs.get("_gradient_op_type")
    if override is not None:
        if override not in _GRADIENT_OVERRIDES:
            raise LookupError(f"No gradient registered under the name '{override}' (for op '{op.name}')")
        return _GRADIENT_OVERRIDES[override]
    if op.type in _GRADIENT_OVERRIDES:
        return _GRADIENT_OVERRIDES[op.type]
    op_def = get_op_def(op.type)
    if op_def.not_differentiable:
        return None
    if op_def.grad is None:
        raise LookupError(
            f"No gradient defined for operation '{op.name}' (op type: {op.type}). "
            "Wrap its input in graphdl.stop_gradient, or register one with graphdl.RegisterGradient."
        )
    return op_def.grad


def blocks_gradient(op) -> bool:
    """True when no gradient flows through ``op`` (StopGradient, comparisons, ...)."""
    override = op.attrs.get("_gradient_op_type")
    if override is not None:
        return _GRADIENT_OVERRIDES.get(override, True) is None
    if op.type in _GRADIENT_OVERRIDES:
        return _GRADIENT_OVERRIDES[op.type] is None
    return get_op_def(op.type).not_differentiable
