"""TF1's optimizers: gradient descent, momentum, Adagrad, Adadelta, RMSProp, Adam, proximal gradient descent.

Each creates its slots with TF1's names (``"W/Adam"``, ``"W/Adam_1"``...) and updates
every variable with one ``Apply*`` op; hyperparameters may be Python numbers, tensors
(e.g. placeholders or ``exponential_decay`` outputs) or callables returning either.
"""

from __future__ import annotations

from graphdl.framework.graph import get_default_graph
from graphdl.framework.ops import convert_to_tensor
from graphdl.ops import control_ops
from graphdl.ops.math_ops import cast
from graphdl.train import training_ops
from graphdl.train.optimizer import Optimizer

__all__ = [
    "AdadeltaOptimizer",
    "AdagradOptimizer",
    "AdamOptimizer",
    "GradientDescentOptimizer",
    "MomentumOptimizer",
    "ProximalGradientDescentOptimizer",
    "RMSPropOptimizer",
]


def _cast(t, var):
    return cast(t, var.dtype)


class GradientDescentOptimizer(Optimizer):
    """Plain gradient descent: ``var -= learning_rate * grad``."""

    def __init__(self, learning_rate, use_locking=False, name="GradientDescent"):
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._learning_rate_tensor = None

    def _prepare(self):
        lr = self._call_if_callable(self._learning_rate)
        self._learning_rate_tensor = convert_to_tensor(lr, name="learning_rate")

    def _apply_dense(self, grad, var):
        return training_ops.apply_gradient_descent(
            var, _cast(self._learning_rate_tensor, var), grad, use_locking=self._use_locking
        ).op


class ProximalGradientDescentOptimizer(Optimizer):
    """Gradient descent followed by the proximal step of L1 and L2 regularization."""

    def __init__(
        self, learning_rate, l1_regularization_strength=0.0, l2_regularization_strength=0.0, use_locking=False,
        name="ProximalGradientDescent",
    ):
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._l1_regularization_strength = l1_regularization_strength
        self._l2_regularization_strength = l2_regularization_strength
        self._learning_rate_tensor = None
        self._l1_regularization_strength_tensor = None
        self._l2_regularization_strength_tensor = None

    def _prepare(self):
        self._learning_rate_tensor = convert_to_tensor(
            self._call_if_callable(self._learning_rate), name="learning_rate"
        )
        self._l1_regularization_strength_tensor = convert_to_tensor(
            self._call_if_callable(self._l1_regularization_strength), name="l1_regularization_strength"
        )
        self._l2_regularization_strength_tensor = convert_to_tensor(
            self._call_if_callable(self._l2_regularization_strength), name="l2_regularization_strength"
        )

    def _apply_dense(self, grad, var):
        return training_ops.apply_proximal_gradient_descent(
            var,
            _cast(self._learning_rate_tensor, var),
            _cast(self._l1_regularization_strength_tensor, var),
            _cast(self._l2_regularization_strength_tensor, var),
            grad,
            use_locking=self._use_locking,
        ).op


class MomentumOptimizer(Optimizer):
    """Momentum: ``accum = momentum * accum + grad; var -= learning_rate * accum`` (optionally Nesterov)."""

    def __init__(self, learning_rate, momentum, use_locking=False, name="Momentum", use_nesterov=False):
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._momentum = momentum
        self._use_nesterov = use_nesterov
        self._learning_rate_tensor = None
        self._momentum_tensor = None

    def _create_slots(self, var_list):
        for v in var_list:
            self._zeros_slot(v, "momentum", self._name)

    def _prepare(self):
        self._learning_rate_tensor = convert_to_tensor(
            self._call_if_callable(self._learning_rate), name="learning_rate"
        )
        self._momentum_tensor = convert_to_tensor(self._call_if_callable(self._momentum), name="momentum")

    def _apply_dense(self, grad, var):
        mom = self.get_slot(var, "momentum")
        return training_ops.apply_momentum(
            var,
            mom,
            _cast(self._learning_rate_tensor, var),
            grad,
            _cast(self._momentum_tensor, var),
            use_locking=self._use_locking,
            use_nesterov=self._use_nesterov,
        ).op


class AdagradOptimizer(Optimizer):
    """Adagrad: ``accum += grad**2; var -= learning_rate * grad / sqrt(accum)``."""

    def __init__(self, learning_rate, initial_accumulator_value=0.1, use_locking=False, name="Adagrad"):
        if initial_accumulator_value <= 0.0:
            raise ValueError(f"initial_accumulator_value must be positive: {initial_accumulator_value}")
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._initial_accumulator_value = initial_accumulator_value
        self._learning_rate_tensor = None

    def _create_slots(self, var_list):
        for v in var_list:
            self._filled_slot(v, self._initial_accumulator_value, "accumulator", self._name)

    def _prepare(self):
        self._learning_rate_tensor = convert_to_tensor(
            self._call_if_callable(self._learning_rate), name="learning_rate"
        )

    def _apply_dense(self, grad, var):
        acc = self.get_slot(var, "accumulator")
        return training_ops.apply_adagrad(
            var, acc, _cast(self._learning_rate_tensor, var), grad, use_locking=self._use_locking
        ).op


class AdadeltaOptimizer(Optimizer):
    """Adadelta: step sizes from running averages of squared gradients and squared updates."""

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-8, use_locking=False, name="Adadelta"):
        super().__init__(use_locking, name)
        self._lr = learning_rate
        self._rho = rho
        self._epsilon = epsilon
        self._lr_t = None
        self._rho_t = None
        self._epsilon_t = None

    def _create_slots(self, var_list):
        for v in var_list:
            self._zeros_slot(v, "accum", self._name)
            self._zeros_slot(v, "accum_update", self._name)

    def _prepare(self):
        self._lr_t = convert_to_tensor(self._call_if_callable(self._lr), name="lr")
        self._rho_t = convert_to_tensor(self._call_if_callable(self._rho), name="rho")
        self._epsilon_t = convert_to_tensor(self._call_if_callable(self._epsilon), name="epsilon")

    def _apply_dense(self, grad, var):
        accum = self.get_slot(var, "accum")
        accum_update = self.get_slot(var, "accum_update")
        return training_ops.apply_adadelta(
            var, accum, accum_update, _cast(self._lr_t, var), _cast(self._rho_t, var), _cast(self._epsilon_t, var),
            grad, use_locking=self._use_locking,
        ).op


class RMSPropOptimizer(Optimizer):
    """RMSProp: divide the gradient by a running root-mean-square of recent gradients (``centered``: by their std)."""

    def __init__(
        self, learning_rate, decay=0.9, momentum=0.0, epsilon=1e-10, use_locking=False, centered=False,
        name="RMSProp",
    ):
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._decay = decay
        self._momentum = momentum
        self._epsilon = epsilon
        self._centered = centered
        self._learning_rate_tensor = None
        self._decay_tensor = None
        self._momentum_tensor = None
        self._epsilon_tensor = None

    def _create_slots(self, var_list):
        for v in var_list:
            # TF1 starts the mean square at ones, not zeros.
            self._filled_slot(v, 1, "rms", self._name)
            if self._centered:
                self._zeros_slot(v, "mg", self._name)
            self._zeros_slot(v, "momentum", self._name)

    def _prepare(self):
        self._learning_rate_tensor = convert_to_tensor(
            self._call_if_callable(self._learning_rate), name="learning_rate"
        )
        self._decay_tensor = convert_to_tensor(self._call_if_callable(self._decay), name="decay")
        self._momentum_tensor = convert_to_tensor(self._call_if_callable(self._momentum), name="momentum")
        self._epsilon_tensor = convert_to_tensor(self._call_if_callable(self._epsilon), name="epsilon")

    def _apply_dense(self, grad, var):
        rms = self.get_slot(var, "rms")
        mom = self.get_slot(var, "momentum")
        hyper = [
            _cast(self._learning_rate_tensor, var), _cast(self._decay_tensor, var),
            _cast(self._momentum_tensor, var), _cast(self._epsilon_tensor, var),
        ]
        if self._centered:
            mg = self.get_slot(var, "mg")
            return training_ops.apply_centered_rms_prop(
                var, mg, rms, mom, *hyper, grad, use_locking=self._use_locking
            ).op
        return training_ops.apply_rms_prop(var, rms, mom, *hyper, grad, use_locking=self._use_locking).op


class AdamOptimizer(Optimizer):
    """Adam (Kingma & Ba), with TF1's bias correction folded into the step size.

    Slots ``m`` and ``v`` (``"W/Adam"``, ``"W/Adam_1"``) and the shared variables
    ``beta1_power``/``beta2_power``, multiplied by ``beta1``/``beta2`` after every step.
    """

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-08, use_locking=False, name="Adam"):
        super().__init__(use_locking, name)
        self._lr = learning_rate
        self._beta1 = beta1
        self._beta2 = beta2
        self._epsilon = epsilon
        self._lr_t = None
        self._beta1_t = None
        self._beta2_t = None
        self._epsilon_t = None

    def _get_beta_accumulators(self):
        graph = get_default_graph()
        return self._get_non_slot_variable("beta1_power", graph=graph), self._get_non_slot_variable(
            "beta2_power", graph=graph
        )

    def _create_slots(self, var_list):
        first_var = min(var_list, key=lambda x: x.name)
        self._create_non_slot_variable(initial_value=self._beta1, name="beta1_power", colocate_with=first_var)
        self._create_non_slot_variable(initial_value=self._beta2, name="beta2_power", colocate_with=first_var)
        for v in var_list:
            self._zeros_slot(v, "m", self._name)
            self._zeros_slot(v, "v", self._name)

    def _prepare(self):
        self._lr_t = convert_to_tensor(self._call_if_callable(self._lr), name="learning_rate")
        self._beta1_t = convert_to_tensor(self._call_if_callable(self._beta1), name="beta1")
        self._beta2_t = convert_to_tensor(self._call_if_callable(self._beta2), name="beta2")
        self._epsilon_t = convert_to_tensor(self._call_if_callable(self._epsilon), name="epsilon")

    def _apply_dense(self, grad, var):
        m = self.get_slot(var, "m")
        v = self.get_slot(var, "v")
        beta1_power, beta2_power = self._get_beta_accumulators()
        return training_ops.apply_adam(
            var, m, v,
            _cast(beta1_power, var), _cast(beta2_power, var),
            _cast(self._lr_t, var), _cast(self._beta1_t, var), _cast(self._beta2_t, var), _cast(self._epsilon_t, var),
            grad, use_locking=self._use_locking,
        ).op

    def _finish(self, update_ops, name_scope):
        # The bias-correction powers advance only after every variable's update has read them.
        with get_default_graph().control_dependencies(update_ops):
            beta1_power, beta2_power = self._get_beta_accumulators()
            update_beta1 = beta1_power.assign(
                beta1_power * cast(self._beta1_t, beta1_power.dtype), use_locking=self._use_locking
            )
            update_beta2 = beta2_power.assign(
                beta2_power * cast(self._beta2_t, beta2_power.dtype), use_locking=self._use_locking
            )
        return control_ops.group(*update_ops, update_beta1, update_beta2, name=name_scope)
