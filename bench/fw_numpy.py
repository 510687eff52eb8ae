"""Plain NumPy, the "no framework" floor, and the hand-written Numba W4 kernel.

``numpy``: W1 with a hand-written backward pass and Adam, W4 as the natural NumPy
expression, W5 as the plain matmuls (the floor a framework's dispatch overhead adds to).
``numba``: W4 as one ``@njit(parallel=True, fastmath=True)`` prange loop, allocating its
output per call: the ceiling a Numba code generator should aim at for this expression.
``numpy-copy``: ``np.copyto`` of the W4 array into a preallocated one, the same 128 MiB of
memory traffic as W4; the bandwidth W4 is measured against.
"""

import numpy as np

from bench import workloads as W


class Adam:
    """Adam on a dict of float32 arrays, updated in place (bias correction folded into the step size)."""

    def __init__(self, params, lr, beta1, beta2, eps):
        self.params = params
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m = {k: np.zeros_like(p) for k, p in params.items()}
        self.v = {k: np.zeros_like(p) for k, p in params.items()}
        self.t = 0

    def update(self, grads):
        """Apply one Adam step with ``grads`` (same keys as the parameters)."""
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        lr_t = self.lr * np.sqrt(1 - b2 ** self.t) / (1 - b1 ** self.t)
        for k, g in grads.items():
            m, v = self.m[k], self.v[k]
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * (g * g)
            self.params[k] -= (lr_t * m / (np.sqrt(v) + self.eps)).astype(np.float32)


class Impl:
    """Plain NumPy (W1, W4, W5)."""

    name = "numpy"

    def describe(self):
        """Facts the report prints next to the results."""
        return {}

    def w1(self):
        p = W.mlp_params()
        x, y = W.w1_data()
        opt = Adam(p, **W.ADAM)
        rows = np.arange(x.shape[0])
        batch = x.shape[0]

        def step():
            pre = x @ p["W1"] + p["b1"]
            act = np.maximum(pre, 0)
            logits = act @ p["W2"] + p["b2"]
            z = logits - logits.max(axis=1, keepdims=True)
            e = np.exp(z)
            s = e.sum(axis=1, keepdims=True)
            loss = float(np.mean(np.log(s[:, 0]) - z[rows, y]))
            d_logits = e / s
            d_logits[rows, y] -= 1
            d_logits /= batch
            grads = {"W2": act.T @ d_logits, "b2": d_logits.sum(axis=0)}
            d_act = d_logits @ p["W2"].T
            d_act[pre <= 0] = 0
            grads["W1"] = x.T @ d_act
            grads["b1"] = d_act.sum(axis=0)
            opt.update(grads)
            return loss
        return step

    def w4(self):
        x = W.w4_input()
        one, a, b, shift, zero = (np.float32(v) for v in (1.0, 1.5, 0.5, 0.25, 0.0))

        def call():
            return one / (one + np.exp(-(x * a + b))) * np.tanh(x) + np.maximum(x - shift, zero)
        return call

    def w5(self):
        p = W.mlp_params()
        x = W.w5_input()
        w1, b1, w2, b2 = p["W1"], p["b1"], p["W2"], p["b2"]

        def call():
            return np.maximum(x @ w1 + b1, 0) @ w2 + b2
        return call


class CopyImpl:
    """The W4 bandwidth yardstick: ``np.copyto`` of the 16 Mi float32 array into a preallocated one."""

    name = "numpy-copy"

    def describe(self):
        """Facts the report prints next to the results."""
        return {}

    def w4(self):
        x = W.w4_input()
        y = np.empty_like(x)

        def call():
            np.copyto(y, x)
            return y
        return call


class NumbaImpl:
    """Hand-written fused W4 kernel: one parallel fastmath loop, output allocated per call."""

    name = "numba"

    def __init__(self):
        import numba

        @numba.njit(parallel=True, fastmath=True, cache=True)
        def fused(x):
            y = np.empty_like(x)
            for i in numba.prange(x.size):
                v = x[i]
                s = np.float32(1) / (np.float32(1) + np.exp(-(v * np.float32(1.5) + np.float32(0.5))))
                r = v - np.float32(0.25)
                y[i] = s * np.tanh(v) + (r if r > 0 else np.float32(0))
            return y
        self._fused = fused

    def describe(self):
        """Facts the report prints next to the results."""
        import numba
        return {"threads": numba.config.NUMBA_NUM_THREADS}

    def w4(self):
        x = W.w4_input()
        fused = self._fused
        return lambda: fused(x)
