"""PyTensor cells: ``pytensor`` = the default FAST_RUN mode (C / CVM linker), ``pytensor-numba``
= ``mode="NUMBA"``. Adam and momentum are written as ``updates=``.

PyTensor 3.x has no NN conv / pooling ops, so W2 uses im2col (25 strided slices stacked, one
GEMM per conv layer) and 2x2 max pooling as reshape + max, in NCHW like PyTorch; W3 uses
``pytensor.scan``.
"""

import numpy as np
import pytensor
import pytensor.tensor as pt

from bench import workloads as W

FLOAT = "float32"
pytensor.config.floatX = FLOAT


def _shared(params):
    return {k: pytensor.shared(v, name=k) for k, v in params.items()}


def _cross_entropy(logits, y):
    logp = pt.special.log_softmax(logits, axis=-1)
    return -pt.mean(logp[pt.arange(y.shape[0]), y])


def adam_updates(loss, params, lr=W.ADAM["lr"], b1=W.ADAM["beta1"], b2=W.ADAM["beta2"], eps=W.ADAM["eps"]):
    """``updates=`` pairs for one Adam step on ``params`` (shared variables)."""
    grads = pytensor.grad(loss, params)
    t = pytensor.shared(np.float32(0), name="t")
    t1 = t + 1
    lr_t = lr * pt.sqrt(1 - b2 ** t1) / (1 - b1 ** t1)
    updates = [(t, t1)]
    for p, g in zip(params, grads):
        m = pytensor.shared(np.zeros_like(p.get_value()))
        v = pytensor.shared(np.zeros_like(p.get_value()))
        m1 = b1 * m + (1 - b1) * g
        v1 = b2 * v + (1 - b2) * g * g
        updates += [(m, m1), (v, v1), (p, (p - lr_t * m1 / (pt.sqrt(v1) + eps)).astype(FLOAT))]
    return updates


def momentum_updates(loss, params, lr=W.MOMENTUM["lr"], mom=W.MOMENTUM["momentum"]):
    """``updates=`` pairs for one SGD-momentum step."""
    grads = pytensor.grad(loss, params)
    updates = []
    for p, g in zip(params, grads):
        buf = pytensor.shared(np.zeros_like(p.get_value()))
        buf1 = mom * buf + g
        updates += [(buf, buf1), (p, (p - lr * buf1).astype(FLOAT))]
    return updates


def mlp_forward(v, x):
    return pt.maximum(x @ v["W1"] + v["b1"], 0) @ v["W2"] + v["b2"]


def conv2d_valid(x, w, b, batch, c_in, size, c_out, k=5):
    """VALID 2-D convolution (NCHW input, OIHW weights) as im2col + one GEMM."""
    out = size - k + 1
    cols = pt.stack([x[:, :, i:i + out, j:j + out] for i in range(k) for j in range(k)], axis=2)
    cols = cols.transpose(1, 2, 0, 3, 4).reshape((c_in * k * k, batch * out * out))
    y = pt.dot(w.reshape((c_out, c_in * k * k)), cols)
    return y.reshape((c_out, batch, out, out)).transpose(1, 0, 2, 3) + b.dimshuffle("x", 0, "x", "x")


def max_pool2(x, batch, channels, size):
    """2x2 / stride 2 max pooling of NCHW ``x`` via reshape + max."""
    return x.reshape((batch, channels, size // 2, 2, size // 2, 2)).max(axis=(3, 5))


def lenet_forward(v, x):
    n = W.W2_BATCH
    h = max_pool2(pt.maximum(conv2d_valid(x, v["c1w"], v["c1b"], n, 3, 32, 6), 0), n, 6, 28)
    h = max_pool2(pt.maximum(conv2d_valid(h, v["c2w"], v["c2b"], n, 6, 14, 16), 0), n, 16, 10)
    h = h.reshape((n, 400))
    h = pt.maximum(h @ v["f1w"] + v["f1b"], 0)
    h = pt.maximum(h @ v["f2w"] + v["f2b"], 0)
    return h @ v["f3w"] + v["f3b"]


def lstm_forward(v, x):
    hidden = W.W3_HIDDEN

    def cell(x_t, h, c, wx, wh, b):
        g = x_t @ wx + h @ wh + b
        i = pt.sigmoid(g[:, :hidden])
        f = pt.sigmoid(g[:, hidden:2 * hidden])
        gg = pt.tanh(g[:, 2 * hidden:3 * hidden])
        o = pt.sigmoid(g[:, 3 * hidden:])
        c1 = f * c + i * gg
        return o * pt.tanh(c1), c1
    zeros = pt.zeros((W.W3_BATCH, hidden), dtype=FLOAT)
    hs, _ = pytensor.scan(cell, sequences=[x.dimshuffle(1, 0, 2)], outputs_info=[zeros, zeros],
                          non_sequences=[v["Wx"], v["Wh"], v["b"]], return_updates=False)
    return hs[-1] @ v["Wd"] + v["bd"]


class Impl:
    """PyTensor compiled functions in ``mode`` ("C" = FAST_RUN, "NUMBA")."""

    def __init__(self, mode="C"):
        self.name = "pytensor" if mode == "C" else "pytensor-numba"
        self.mode = "NUMBA" if mode == "NUMBA" else "FAST_RUN"

    def describe(self):
        """Facts the report prints next to the results."""
        return {"mode": self.mode, "blas__ldflags": pytensor.config.blas__ldflags}

    def _train(self, forward, params, x, y, make_updates):
        v = _shared(params)
        x_in = pt.tensor("x", shape=x.shape, dtype=FLOAT)
        y_in = pt.tensor("y", shape=y.shape, dtype="int64")
        loss = _cross_entropy(forward(v, x_in), y_in)
        f = pytensor.function([x_in, y_in], loss, updates=make_updates(loss, list(v.values())), mode=self.mode)
        return lambda: float(f(x, y))

    def w1(self):
        x, y = W.w1_data()
        return self._train(mlp_forward, W.mlp_params(), x, y, adam_updates)

    def w2(self):
        x, y = W.w2_data()
        return self._train(lenet_forward, W.cnn_params(), x, y, momentum_updates)

    def w3(self):
        x, y = W.w3_data()
        return self._train(lstm_forward, W.lstm_params(), x, y, adam_updates)

    def w4(self):
        x = W.w4_input()
        x_in = pt.vector("x", dtype=FLOAT)
        out = pt.sigmoid(x_in * 1.5 + 0.5) * pt.tanh(x_in) + pt.maximum(x_in - 0.25, 0)
        f = pytensor.function([x_in], out, mode=self.mode)
        return lambda: f(x)

    def w5(self):
        x = W.w5_input()
        v = _shared(W.mlp_params())
        x_in = pt.tensor("x", shape=x.shape, dtype=FLOAT)
        f = pytensor.function([x_in], mlp_forward(v, x_in), mode=self.mode)
        return lambda: f(x)
