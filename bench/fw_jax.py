"""JAX cells: each training step is one ``jax.jit`` function (forward, grad, optimizer) with the
state donated; Adam and SGD-momentum written out (optax's math). NHWC / HWIO for W2,
``lax.scan`` for W3. ``BENCH_JAX_CACHE`` enables the persistent compilation cache (W6 warm).
"""

import os

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from bench import workloads as W


def _cross_entropy(logits, y):
    logp = jax.nn.log_softmax(logits)
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))


def adam_init(params):
    """Adam state (m, v, t) for a parameter pytree."""
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    return zeros, jax.tree_util.tree_map(jnp.zeros_like, params), jnp.zeros((), jnp.float32)


def adam_update(params, grads, state, lr=W.ADAM["lr"], b1=W.ADAM["beta1"], b2=W.ADAM["beta2"], eps=W.ADAM["eps"]):
    """One Adam step; returns (params, state)."""
    m, v, t = state
    t = t + 1
    m = jax.tree_util.tree_map(lambda m_, g: b1 * m_ + (1 - b1) * g, m, grads)
    v = jax.tree_util.tree_map(lambda v_, g: b2 * v_ + (1 - b2) * g * g, v, grads)
    lr_t = lr * jnp.sqrt(1 - b2 ** t) / (1 - b1 ** t)
    params = jax.tree_util.tree_map(lambda p, m_, v_: p - lr_t * m_ / (jnp.sqrt(v_) + eps), params, m, v)
    return params, (m, v, t)


def momentum_init(params):
    """SGD-momentum buffers for a parameter pytree."""
    return jax.tree_util.tree_map(jnp.zeros_like, params)


def momentum_update(params, grads, buf, lr=W.MOMENTUM["lr"], mom=W.MOMENTUM["momentum"]):
    """``buf = mom*buf + g; p -= lr*buf``; returns (params, buf)."""
    buf = jax.tree_util.tree_map(lambda b, g: mom * b + g, buf, grads)
    params = jax.tree_util.tree_map(lambda p, b: p - lr * b, params, buf)
    return params, buf


def mlp_forward(p, x):
    return jnp.maximum(x @ p["W1"] + p["b1"], 0) @ p["W2"] + p["b2"]


def _pool2(h):
    return lax.reduce_window(h, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")


def lenet_forward(p, x):
    dims = ("NHWC", "HWIO", "NHWC")
    h = lax.conv_general_dilated(x, p["c1w"], (1, 1), "VALID", dimension_numbers=dims) + p["c1b"]
    h = _pool2(jnp.maximum(h, 0))
    h = lax.conv_general_dilated(h, p["c2w"], (1, 1), "VALID", dimension_numbers=dims) + p["c2b"]
    h = _pool2(jnp.maximum(h, 0))
    h = h.reshape(h.shape[0], -1)
    h = jnp.maximum(h @ p["f1w"] + p["f1b"], 0)
    h = jnp.maximum(h @ p["f2w"] + p["f2b"], 0)
    return h @ p["f3w"] + p["f3b"]


def lstm_forward(p, x):
    hidden = W.W3_HIDDEN

    def cell(carry, x_t):
        h, c = carry
        g = x_t @ p["Wx"] + h @ p["Wh"] + p["b"]
        i = jax.nn.sigmoid(g[:, :hidden])
        f = jax.nn.sigmoid(g[:, hidden:2 * hidden])
        gg = jnp.tanh(g[:, 2 * hidden:3 * hidden])
        o = jax.nn.sigmoid(g[:, 3 * hidden:])
        c = f * c + i * gg
        return (o * jnp.tanh(c), c), None
    zeros = jnp.zeros((x.shape[0], hidden), x.dtype)
    (h, _), _ = lax.scan(cell, (zeros, zeros), jnp.swapaxes(x, 0, 1))
    return h @ p["Wd"] + p["bd"]


def w4_expression(x):
    return jax.nn.sigmoid(x * 1.5 + 0.5) * jnp.tanh(x) + jax.nn.relu(x - 0.25)


class Impl:
    """JAX with jit; labels passed as int32 (JAX's default integer width)."""

    name = "jax"

    def __init__(self):
        cache = os.environ.get("BENCH_JAX_CACHE")
        if cache:
            jax.config.update("jax_compilation_cache_dir", cache)
            jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
            jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)

    def describe(self):
        """Facts the report prints next to the results."""
        return {"devices": str(jax.devices())}

    def _train(self, forward, params, init, update, x, y):
        def loss_fn(p, xb, yb):
            return _cross_entropy(forward(p, xb), yb)

        def train_step(state, xb, yb):
            p, opt_state = state
            loss, grads = jax.value_and_grad(loss_fn)(p, xb, yb)
            return update(p, grads, opt_state), loss
        train_step = jax.jit(train_step, donate_argnums=(0,))
        params = jax.tree_util.tree_map(jnp.asarray, params)
        box = [(params, init(params))]
        y = y.astype(np.int32)

        def step():
            box[0], loss = train_step(box[0], x, y)
            return float(loss)
        return step

    def w1(self):
        x, y = W.w1_data()
        return self._train(mlp_forward, W.mlp_params(), adam_init, adam_update, x, y)

    def w2(self):
        x, y = W.w2_data_nhwc()
        return self._train(lenet_forward, W.cnn_params_nhwc(), momentum_init, momentum_update, x, y)

    def w3(self):
        x, y = W.w3_data()
        return self._train(lstm_forward, W.lstm_params(), adam_init, adam_update, x, y)

    def w4(self):
        x = jax.device_put(W.w4_input())
        f = jax.jit(w4_expression)
        return lambda: f(x).block_until_ready()

    def w5(self):
        p = jax.tree_util.tree_map(jnp.asarray, W.mlp_params())
        x = W.w5_input()
        f = jax.jit(mlp_forward)
        return lambda: np.asarray(f(p, x))
