"""Learning-rate schedules of the global step (TF1's ``tf.train.exponential_decay`` and friends).

Each returns a scalar tensor computed from ``cast(global_step)`` with ordinary graph
ops, so it changes as the global step advances and can be passed to any optimizer.
"""

from __future__ import annotations

import math

from graphdl.framework.ops import convert_to_tensor, name_scope

__all__ = [
    "cosine_decay",
    "cosine_decay_restarts",
    "exponential_decay",
    "inverse_time_decay",
    "natural_exp_decay",
    "piecewise_constant",
    "polynomial_decay",
]


def _math():
    from graphdl.ops import math_ops

    return math_ops


def _require_step(global_step, fn_name):
    if global_step is None:
        raise ValueError(f"global_step is required for {fn_name}.")


def _exponential(learning_rate, global_step, decay_steps, decay_rate, staircase, name, decay_rate_fn=None):
    m = _math()
    with name_scope(name, "ExponentialDecay", [learning_rate, global_step, decay_steps, decay_rate]) as scope:
        lr = convert_to_tensor(learning_rate, name="learning_rate")
        dtype = lr.dtype
        decay_steps = m.cast(decay_steps, dtype)
        decay_rate = m.cast(decay_rate, dtype)
        if decay_rate_fn is not None:
            decay_rate = decay_rate_fn(decay_rate)
        p = m.cast(global_step, dtype) / decay_steps
        if staircase:
            p = m.floor(p)
        return m.multiply(lr, m.pow(decay_rate, p), name=scope)


def exponential_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False, name=None):
    """``learning_rate * decay_rate ** (global_step / decay_steps)`` (integer division when ``staircase``)."""
    _require_step(global_step, "exponential_decay")
    return _exponential(learning_rate, global_step, decay_steps, decay_rate, staircase, name)


def natural_exp_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False, name=None):
    """``learning_rate * exp(-decay_rate * global_step / decay_steps)`` (integer division when ``staircase``)."""
    _require_step(global_step, "natural_exp_decay")
    return _exponential(
        learning_rate, global_step, decay_steps, decay_rate, staircase, name,
        decay_rate_fn=lambda rate: _math().exp(_math().negative(rate)),
    )


def inverse_time_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False, name=None):
    """``learning_rate / (1 + decay_rate * global_step / decay_steps)`` (integer division when ``staircase``)."""
    _require_step(global_step, "inverse_time_decay")
    m = _math()
    with name_scope(name, "InverseTimeDecay", [learning_rate, global_step, decay_rate]) as scope:
        lr = convert_to_tensor(learning_rate, name="learning_rate")
        dtype = lr.dtype
        decay_steps = m.cast(decay_steps, dtype)
        decay_rate = m.cast(decay_rate, dtype)
        p = m.cast(global_step, dtype) / decay_steps
        if staircase:
            p = m.floor(p)
        denom = m.add(convert_to_tensor(1, dtype=dtype), m.multiply(decay_rate, p))
        return m.truediv(lr, denom, name=scope)


def polynomial_decay(
    learning_rate, global_step, decay_steps, end_learning_rate=0.0001, power=1.0, cycle=False, name=None
):
    """Decay from ``learning_rate`` to ``end_learning_rate`` over ``decay_steps`` as ``(1 - step/decay_steps)**power``.

    After ``decay_steps`` the rate stays at ``end_learning_rate``, or with ``cycle`` the
    decay restarts over the next multiple of ``decay_steps``.
    """
    _require_step(global_step, "polynomial_decay")
    m = _math()
    with name_scope(
        name, "PolynomialDecay", [learning_rate, global_step, decay_steps, end_learning_rate, power]
    ) as scope:
        lr = convert_to_tensor(learning_rate, name="learning_rate")
        dtype = lr.dtype
        end_lr = m.cast(end_learning_rate, dtype)
        power = m.cast(power, dtype)
        step = m.cast(global_step, dtype)
        decay_steps_t = m.cast(decay_steps, dtype)
        if cycle:
            # The first multiple of decay_steps above the step (1 at step 0).
            multiplier = m.where(
                m.equal(step, convert_to_tensor(0, dtype=dtype)),
                convert_to_tensor(1, dtype=dtype),
                m.ceil(step / decay_steps_t),
            )
            decay_steps_t = m.multiply(decay_steps_t, multiplier)
        else:
            step = m.minimum(step, decay_steps_t)
        p = m.truediv(step, decay_steps_t)
        one = convert_to_tensor(1, dtype=dtype)
        return m.add(m.multiply(lr - end_lr, m.pow(one - p, power)), end_lr, name=scope)


def piecewise_constant(x, boundaries, values, name=None):
    """``values[0]`` while ``x <= boundaries[0]``, ``values[i]`` for ``boundaries[i-1] < x <= boundaries[i]``,
    ``values[-1]`` after the last boundary."""
    boundaries = list(boundaries)
    values = list(values)
    if len(boundaries) != len(values) - 1:
        raise ValueError("The length of boundaries should be 1 less than the length of values")
    m = _math()
    with name_scope(name, "PiecewiseConstant", [x, boundaries, values]) as scope:
        x = convert_to_tensor(x)
        value_tensors = [convert_to_tensor(v) for v in values]
        dtype = value_tensors[0].dtype
        for v in value_tensors[1:]:
            if v.dtype != dtype:
                raise ValueError(
                    f"Values must have elements all with the same dtype ({dtype.name} vs {v.dtype.name})."
                )
        bounds = []
        for b in boundaries:
            b = convert_to_tensor(b)
            if b.dtype != x.dtype:
                b = m.cast(b, x.dtype)
            bounds.append(b)
        if not bounds:
            from graphdl.ops.control_ops import identity

            return identity(value_tensors[0], name=scope)
        result = value_tensors[-1]
        for i in range(len(bounds) - 1, -1, -1):
            result = m.where(m.less_equal(x, bounds[i]), value_tensors[i], result, name=scope if i == 0 else None)
        return result


def cosine_decay(learning_rate, global_step, decay_steps, alpha=0.0, name=None):
    """``learning_rate * ((1 - alpha) * 0.5 * (1 + cos(pi * min(step, decay_steps) / decay_steps)) + alpha)``."""
    if global_step is None:
        raise ValueError("cosine decay requires global_step")
    m = _math()
    with name_scope(name, "CosineDecay", [learning_rate, global_step]) as scope:
        lr = convert_to_tensor(learning_rate, name="learning_rate")
        dtype = lr.dtype
        decay_steps = m.cast(decay_steps, dtype)
        step = m.minimum(m.cast(global_step, dtype), decay_steps)
        completed_fraction = step / decay_steps
        pi = convert_to_tensor(math.pi, dtype=dtype)
        cosine_decayed = 0.5 * (1.0 + m.cos(pi * completed_fraction))
        alpha = m.cast(alpha, dtype)
        decayed = (1.0 - alpha) * cosine_decayed + alpha
        return m.multiply(lr, decayed, name=scope)


def cosine_decay_restarts(learning_rate, global_step, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0, name=None):
    """Cosine decay with warm restarts (SGDR): periods grow by ``t_mul``, restart peaks scale by ``m_mul``."""
    if global_step is None:
        raise ValueError("cosine decay restarts requires global_step")
    m = _math()
    with name_scope(name, "SGDRDecay", [learning_rate, global_step]) as scope:
        lr = convert_to_tensor(learning_rate, name="initial_learning_rate")
        dtype = lr.dtype
        first_decay_steps = m.cast(first_decay_steps, dtype)
        alpha_t = m.cast(alpha, dtype)
        t_mul_t = m.cast(t_mul, dtype)
        m_mul_t = m.cast(m_mul, dtype)
        completed_fraction = m.cast(global_step, dtype) / first_decay_steps
        if t_mul == 1.0:
            i_restart = m.floor(completed_fraction)
            completed_fraction = completed_fraction - i_restart
        else:
            i_restart = m.floor(m.log(1.0 - completed_fraction * (1.0 - t_mul_t)) / m.log(t_mul_t))
            sum_r = (1.0 - m.pow(t_mul_t, i_restart)) / (1.0 - t_mul_t)
            completed_fraction = (completed_fraction - sum_r) / m.pow(t_mul_t, i_restart)
        m_fac = m.pow(m_mul_t, i_restart)
        pi = convert_to_tensor(math.pi, dtype=dtype)
        cosine_decayed = 0.5 * m_fac * (1.0 + m.cos(pi * completed_fraction))
        decayed = (1.0 - alpha_t) * cosine_decayed + alpha_t
        return m.multiply(lr, decayed, name=scope)
