"""``Optimizer``: TF1's base class computing gradients and applying them with per-variable update ops.

A subclass implements ``_create_slots(var_list)``, ``_prepare()``, ``_apply_dense(grad,
var)`` and optionally ``_finish(update_ops, name_scope)``, exactly as with
``tf.train.Optimizer``; slots are extra per-variable variables (``"W/Adam"``) made by
``_zeros_slot`` / ``_get_or_make_slot*``.
"""

from __future__ import annotations

from graphdl import dtypes
from graphdl.framework.graph import GraphKeys, get_default_graph
from graphdl.framework.operation import Operation, Tensor
from graphdl.framework.ops import convert_to_tensor, name_scope
from graphdl.ops import control_ops, state_ops

__all__ = ["Optimizer"]

# TF1's collection of trainable resource variables, searched by compute_gradients too.
TRAINABLE_RESOURCE_VARIABLES = "trainable_resource_variables"

_VALID_DTYPES = (dtypes.float16, dtypes.float32, dtypes.float64)


def _var_key(var):
    return (var.op.graph, var.op.name)


def _is_variable(v) -> bool:
    return hasattr(v, "_ref") and hasattr(v, "initializer")


def _flatten(values):
    if isinstance(values, (list, tuple, set)):
        out = []
        for v in values:
            out.extend(_flatten(v))
        return out
    if isinstance(values, dict):
        return _flatten([values[k] for k in sorted(values)])
    return [values]


def _create_slot_variable(primary, make_value, slot_name_scope, dtype):
    """A non-trainable global Variable named ``<primary op name>/<slot_name_scope>`` (uniquified).

    ``make_value()`` builds the initial value (under ``.../Initializer``); slot names are
    absolute, whatever name scope the optimizer is called in, as TF1's slot_creator does.
    """
    from graphdl.variables import Variable

    graph = primary.op.graph
    shape = primary.shape
    with graph.as_default(), graph.control_dependencies(None), graph.name_scope(None):
        return Variable(
            make_value,
            trainable=False,
            name=f"{primary.op.name}/{slot_name_scope}",
            dtype=dtype,
            validate_shape=shape.is_fully_defined(),
            shape=None if shape.is_fully_defined() else shape,
        )


def create_slot_with_initializer(primary, initializer, shape, dtype, name):
    """A slot for ``primary`` initialized by ``initializer(shape, dtype=dtype)`` (or a tensor/value)."""
    from graphdl.framework.tensor_shape import as_shape

    shape = as_shape(shape)

    def make_value():
        if callable(initializer):
            if shape.is_fully_defined():
                return initializer(shape.as_list(), dtype=dtype)
            from graphdl.ops.array_ops import shape as shape_of

            return initializer(shape_of(primary.initialized_value()), dtype=dtype)
        return convert_to_tensor(initializer, dtype=dtype)

    return _create_slot_variable(primary, make_value, name, dtypes.as_dtype(dtype))


def create_slot(primary, val, name):
    """A slot for ``primary`` whose initial value is the tensor (or value) ``val``."""
    val = convert_to_tensor(val)
    return _create_slot_variable(primary, lambda: val, name, val.dtype)


def create_filled_slot(primary, value, name, dtype=None):
    """A slot shaped like ``primary`` filled with the scalar ``value`` (zeros, ones, a constant)."""
    from graphdl.ops.array_ops import fill
    from graphdl.ops.array_ops import shape as shape_of

    dtype = dtypes.as_dtype(dtype or primary.dtype)
    op_name = {0: "zeros", 1: "ones"}.get(value, "Const")

    def make_value():
        if primary.shape.is_fully_defined():
            return fill(primary.shape.as_list(), convert_to_tensor(value, dtype=dtype), name=op_name)
        return fill(shape_of(primary.initialized_value()), convert_to_tensor(value, dtype=dtype), name=op_name)

    return _create_slot_variable(primary, make_value, name, dtype)


class Optimizer:
    """Base class for optimizers (TF1's ``tf.train.Optimizer``).

    Use a subclass such as ``GradientDescentOptimizer``: ``train_op = opt.minimize(loss)``,
    or ``compute_gradients`` / ``apply_gradients`` to process gradients in between.
    """

    GATE_NONE = 0
    GATE_OP = 1
    GATE_GRAPH = 2

    def __init__(self, use_locking, name):
        if not name:
            raise ValueError("Must specify the optimizer name")
        self._use_locking = use_locking
        self._name = name
        # slot name -> {(graph, var op name): slot Variable}
        self._slots: dict = {}
        # (name, graph) -> Variable
        self._non_slot_dict: dict = {}

    def get_name(self):
        """The optimizer's name (also its default name scope and slot suffix)."""
        return self._name

    # -- the public API ------------------------------------------------------------------
    def minimize(
        self,
        loss,
        global_step=None,
        var_list=None,
        gate_gradients=GATE_OP,
        aggregation_method=None,
        colocate_gradients_with_ops=False,
        name=None,
        grad_loss=None,
    ):
        """Add ops that update ``var_list`` (default: trainable variables) to minimize ``loss``.

        Returns the training op; it also increments ``global_step`` when given.
        """
        grads_and_vars = self.compute_gradients(
            loss,
            var_list=var_list,
            gate_gradients=gate_gradients,
            aggregation_method=aggregation_method,
            colocate_gradients_with_ops=colocate_gradients_with_ops,
            grad_loss=grad_loss,
        )
        vars_with_grad = [v for g, v in grads_and_vars if g is not None]
        if not vars_with_grad:
            raise ValueError(
                "No gradients provided for any variable, check your graph for ops that do not support gradients, "
                f"between variables {[str(v) for _, v in grads_and_vars]} and loss {loss}."
            )
        return self.apply_gradients(grads_and_vars, global_step=global_step, name=name)

    def compute_gradients(
        self,
        loss,
        var_list=None,
        gate_gradients=GATE_OP,
        aggregation_method=None,
        colocate_gradients_with_ops=False,
        grad_loss=None,
    ):
        """Gradients of ``loss`` for the variables in ``var_list``: a list of ``(gradient, variable)``.

        The gradient is None for a variable ``loss`` does not depend on.
        """
        if callable(loss):
            loss = loss()
        if gate_gradients not in (Optimizer.GATE_NONE, Optimizer.GATE_OP, Optimizer.GATE_GRAPH):
            raise ValueError(
                "gate_gradients must be one of: Optimizer.GATE_NONE, Optimizer.GATE_OP, Optimizer.GATE_GRAPH. "
                f"Not {gate_gradients}"
            )
        loss = convert_to_tensor(loss)
        self._assert_valid_dtypes([loss])
        if grad_loss is not None:
            grad_loss = convert_to_tensor(grad_loss)
            self._assert_valid_dtypes([grad_loss])
        if var_list is None:
            graph = loss.graph
            var_list = graph.get_collection(GraphKeys.TRAINABLE_VARIABLES) + graph.get_collection(
                TRAINABLE_RESOURCE_VARIABLES
            )
        else:
            var_list = _flatten(var_list)
        for v in var_list:
            if not _is_variable(v):
                raise TypeError(
                    f"Trying to optimize unsupported type {v!r}: var_list must contain graphdl Variables."
                )
        if not var_list:
            raise ValueError("No variables to optimize.")
        from graphdl.gradients import gradients

        grads = gradients(
            loss,
            var_list,
            grad_ys=grad_loss,
            gate_gradients=(gate_gradients == Optimizer.GATE_OP),
            aggregation_method=aggregation_method,
            colocate_gradients_with_ops=colocate_gradients_with_ops,
        )
        if gate_gradients == Optimizer.GATE_GRAPH:
            grads = control_ops.tuple(grads)
        grads_and_vars = list(zip(grads, var_list))
        self._assert_valid_dtypes([v for g, v in grads_and_vars if g is not None])
        return grads_and_vars

    def apply_gradients(self, grads_and_vars, global_step=None, name=None):
        """Add the ops applying ``grads_and_vars`` (from ``compute_gradients``) to their variables.

        Pairs with a None gradient are skipped. Returns the training op (the ``global_step``
        increment when given, which runs after every update).
        """
        grads_and_vars = tuple(grads_and_vars)
        if not grads_and_vars:
            raise ValueError("No variables provided.")
        converted = []
        for g, v in grads_and_vars:
            if g is not None:
                try:
                    g = convert_to_tensor(g)
                except (TypeError, ValueError):
                    raise TypeError(f"Gradient must be convertible to a Tensor or None: {g!r}") from None
            if not _is_variable(v):
                raise TypeError(f"Trying to optimize unsupported type {v!r}: expected a graphdl Variable.")
            converted.append((g, v))
        var_list = [v for g, v in converted if g is not None]
        if not var_list:
            raise ValueError(f"No gradients provided for any variable: {[str(v) for _, v in converted]}.")
        graph = var_list[0].op.graph
        with graph.as_default():
            with graph.control_dependencies(None):
                self._create_slots(var_list)
            update_ops = []
            with name_scope(name, self._name) as scope:
                self._prepare()
                for grad, var in converted:
                    if grad is None:
                        continue
                    with graph.name_scope("update_" + var.op.name):
                        update_ops.append(self._update_op(grad, var))
                if global_step is None:
                    apply_updates = self._finish(update_ops, scope)
                else:
                    with graph.control_dependencies([self._finish(update_ops, "update")]):
                        apply_updates = state_ops.assign_add(
                            global_step, convert_to_tensor(1, dtype=global_step.dtype), name=scope
                        )
            if isinstance(apply_updates, Tensor):
                apply_updates = apply_updates.op
            train_ops = graph.get_collection_ref(GraphKeys.TRAIN_OP)
            if apply_updates not in train_ops:
                train_ops.append(apply_updates)
        return apply_updates

    def _update_op(self, grad, var):
        update = self._apply_dense(grad, var)
        if var.constraint is None:
            return update
        op = update if isinstance(update, Operation) else update.op
        # The update op's output is the variable's new value (a read of the variable in the
        # same run would see the value from before the update).
        updated = op.outputs[0] if op.outputs and op.inputs and op.inputs[0] is var._ref() else None
        with get_default_graph().control_dependencies([update]):
            if updated is None:
                updated = var.read_value()
            return var.assign(var.constraint(updated))

    def get_slot(self, var, name):
        """The slot variable ``name`` ("m", "momentum"...) created for ``var``, or None."""
        named_slots = self._slots.get(name)
        if not named_slots:
            return None
        return named_slots.get(_var_key(var))

    def get_slot_names(self):
        """The names of the slots this optimizer creates, sorted."""
        return sorted(self._slots)

    def variables(self):
        """The optimizer's variables in the default graph (slots and e.g. Adam's beta powers), sorted by name."""
        graph = get_default_graph()
        found = [v for v in self._non_slot_variables() if v.op.graph is graph]
        for slots in self._slots.values():
            found.extend(v for v in slots.values() if v.op.graph is graph)
        return sorted(found, key=lambda v: v.name)

    # -- for subclasses --------------------------------------------------------------
    def _create_slots(self, var_list):
        """Create the slots the update of each variable in ``var_list`` needs (default: none)."""

    def _prepare(self):
        """Convert hyperparameters to tensors, once per ``apply_gradients`` (default: nothing)."""

    def _apply_dense(self, grad, var):
        raise NotImplementedError(f"{type(self).__name__} must implement _apply_dense(grad, var)")

    def _finish(self, update_ops, name_scope):
        """One op running every update (subclasses may add e.g. accumulator updates)."""
        return control_ops.group(*update_ops, name=name_scope)

    def _call_if_callable(self, param):
        return param() if callable(param) else param

    def _assert_valid_dtypes(self, tensors):
        for t in tensors:
            dtype = t.dtype
            if dtype not in _VALID_DTYPES:
                raise ValueError(
                    f"Invalid type {dtype.name} for {t.name}, expected: {[d.name for d in _VALID_DTYPES]}."
                )

    def _slot_dict(self, slot_name):
        return self._slots.setdefault(slot_name, {})

    def _get_or_make_slot(self, var, val, slot_name, op_name):
        """The slot ``slot_name`` of ``var``, created from the initial value ``val`` if new."""
        named_slots = self._slot_dict(slot_name)
        if _var_key(var) not in named_slots:
            named_slots[_var_key(var)] = create_slot(var, val, op_name)
        return named_slots[_var_key(var)]

    def _get_or_make_slot_with_initializer(self, var, initializer, shape, dtype, slot_name, op_name):
        """The slot ``slot_name`` of ``var``, created with ``initializer`` if new."""
        named_slots = self._slot_dict(slot_name)
        if _var_key(var) not in named_slots:
            named_slots[_var_key(var)] = create_slot_with_initializer(var, initializer, shape, dtype, op_name)
        return named_slots[_var_key(var)]

    def _zeros_slot(self, var, slot_name, op_name):
        """The slot ``slot_name`` of ``var``, created filled with zeros if new."""
        return self._filled_slot(var, 0, slot_name, op_name)

    def _filled_slot(self, var, value, slot_name, op_name):
        named_slots = self._slot_dict(slot_name)
        if _var_key(var) not in named_slots:
            named_slots[_var_key(var)] = create_filled_slot(var, value, op_name)
        return named_slots[_var_key(var)]

    def _create_non_slot_variable(self, initial_value, name, colocate_with):
        """A variable shared by all updates (e.g. Adam's ``beta1_power``), created once per graph."""
        from graphdl.variables import Variable

        graph = colocate_with.op.graph
        key = (name, graph)
        v = self._non_slot_dict.get(key)
        if v is None:
            with graph.as_default(), graph.control_dependencies(None):
                v = Variable(initial_value, name=name, trainable=False)
            self._non_slot_dict[key] = v
        return v

    def _get_non_slot_variable(self, name, graph=None):
        return self._non_slot_dict.get((name, graph or get_default_graph()))

    def _non_slot_variables(self):
        return list(self._non_slot_dict.values())

    def __repr__(self):
        return f"<graphdl.train.{type(self).__name__} '{self._name}'>"

