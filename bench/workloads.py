"""The standard workloads W1-W6: sizes, data, initial parameters, references, FLOP counts.

Everything is plain NumPy and deterministic: each generator draws from its own
``np.random.RandomState(seed)`` in a fixed order, so every framework trains on bit-identical
data and starts from bit-identical parameters. The same seeds and drawing order are used by
the peer-framework anchors the project measured once (``shared/bench/anchors/common.py``),
which makes the initial loss a cross-framework correctness check (``EXPECTED_INITIAL_LOSS``).
"""

import math

import numpy as np

# W1 / W5: MLP 784 -> 512 ReLU -> 10, batch 128 (W5: batch 1)
W1_BATCH, W1_IN, W1_HIDDEN, W1_OUT = 128, 784, 512, 10
# W2: LeNet on 3x32x32, batch 64
W2_BATCH = 64
# W3: LSTM, batch 128, 28 steps of 28 features, hidden 128
W3_BATCH, W3_STEPS, W3_IN, W3_HIDDEN = 128, 28, 28, 128
# W4: fused elementwise expression on 16 Mi float32 elements
W4_N = 16 * 1024 * 1024
W4_BYTES = 2 * 4 * W4_N  # useful traffic: read x + write y = 128 MiB

ADAM = {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
MOMENTUM = {"lr": 1e-3, "momentum": 0.9}

# Initial training loss of W1-W3 with the parameters and data below (WORKLOADS.md).
EXPECTED_INITIAL_LOSS = {"W1": 2.37813, "W2": 2.30685, "W3": 2.29605}
LOSS_DECIMALS = 4          # initial losses must agree to this many decimals
MAX_ABS_ERROR = 1e-5       # W4 / W5 outputs vs float64 NumPy

TITLES = {
    "W1": "W1 MLP train, steps/s",
    "W2": "W2 LeNet train, steps/s",
    "W3": "W3 LSTM train, steps/s",
    "W4": "W4 fused elementwise 16Mi, ms / GB/s",
    "W5": "W5 MLP infer batch 1, µs/call",
    "W6": "W6 cold start to 1st W1 step, s",
}
TRAINING = ("W1", "W2", "W3")
ALL_WORKLOADS = ("W1", "W2", "W3", "W4", "W5", "W6")


class NotSupported(Exception):
    """Raised by a framework cell that cannot run a workload (an op it lacks, for instance)."""


def _uniform_fan_in(rs, shape, fan_in):
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)) drawn from ``rs`` as float32."""
    bound = 1.0 / math.sqrt(fan_in)
    return rs.uniform(-bound, bound, size=shape).astype(np.float32)


# ------------------------------------------------------------------ W1 / W5
def mlp_params(seed=1):
    """MLP parameters: W1 (784, 512), b1 (512,), W2 (512, 10), b2 (10,); weights (in, out), biases zero."""
    rs = np.random.RandomState(seed)
    w1 = _uniform_fan_in(rs, (W1_IN, W1_HIDDEN), W1_IN)
    w2 = _uniform_fan_in(rs, (W1_HIDDEN, W1_OUT), W1_HIDDEN)
    return {"W1": w1, "b1": np.zeros(W1_HIDDEN, np.float32), "W2": w2, "b2": np.zeros(W1_OUT, np.float32)}


def w1_data(seed=0):
    """The fixed W1 batch: X float32 (128, 784) standard normal, y int64 (128,) labels in [0, 10)."""
    rs = np.random.RandomState(seed)
    x = rs.standard_normal((W1_BATCH, W1_IN)).astype(np.float32)
    y = rs.randint(0, 10, W1_BATCH).astype(np.int64)
    return x, y


def w5_input(seed=2):
    """The W5 input: one float32 row (1, 784)."""
    return np.random.RandomState(seed).standard_normal((1, W1_IN)).astype(np.float32)


def w5_reference():
    """W5 logits (1, 10) computed in float64 NumPy from the W1 initial parameters."""
    p = {k: v.astype(np.float64) for k, v in mlp_params().items()}
    x = w5_input().astype(np.float64)
    return np.maximum(x @ p["W1"] + p["b1"], 0) @ p["W2"] + p["b2"]


# ------------------------------------------------------------------ W2
def cnn_params(seed=3):
    """LeNet parameters: conv weights OIHW (PyTorch layout), dense weights (in, out), biases zero."""
    rs = np.random.RandomState(seed)
    params = {}
    for name, shape, fan_in in (("c1w", (6, 3, 5, 5), 3 * 25), ("c2w", (16, 6, 5, 5), 6 * 25),
                                ("f1w", (400, 120), 400), ("f2w", (120, 84), 120), ("f3w", (84, 10), 84)):
        params[name] = _uniform_fan_in(rs, shape, fan_in)
        params[name[:-1] + "b"] = np.zeros(shape[0] if name[0] == "c" else shape[1], np.float32)
    return params


def w2_data(seed=4):
    """The fixed W2 batch: X float32 (64, 3, 32, 32) NCHW, y int64 (64,)."""
    rs = np.random.RandomState(seed)
    x = rs.standard_normal((W2_BATCH, 3, 32, 32)).astype(np.float32)
    y = rs.randint(0, 10, W2_BATCH).astype(np.int64)
    return x, y


def nchw_flatten_order_for_nhwc():
    """Row permutation of f1w for NHWC frameworks.

    The flatten after pool2 is defined in PyTorch's (C, H, W) order over (16, 5, 5). An NHWC
    framework flattens (H, W, C); ``f1w[perm]`` makes its first dense layer compute the same
    function: ``perm[k]`` is the (C, H, W) index of the k-th (H, W, C) element.
    """
    chw_index = np.arange(400).reshape(16, 5, 5)
    return chw_index.transpose(1, 2, 0).reshape(-1)


def cnn_params_nhwc():
    """``cnn_params`` for NHWC frameworks: conv weights HWIO, f1w rows permuted to (H, W, C) order."""
    p = cnn_params()
    p["c1w"] = np.ascontiguousarray(p["c1w"].transpose(2, 3, 1, 0))
    p["c2w"] = np.ascontiguousarray(p["c2w"].transpose(2, 3, 1, 0))
    p["f1w"] = np.ascontiguousarray(p["f1w"][nchw_flatten_order_for_nhwc()])
    return p


def w2_data_nhwc():
    """``w2_data`` with X transposed to NHWC (64, 32, 32, 3)."""
    x, y = w2_data()
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1)), y


# ------------------------------------------------------------------ W3
def lstm_params(seed=5):
    """LSTM parameters, gate order i, f, g, o: Wx (28, 512), Wh (128, 512), b (512,), Wd (128, 10), bd (10,)."""
    rs = np.random.RandomState(seed)
    h = W3_HIDDEN
    wx = _uniform_fan_in(rs, (W3_IN, 4 * h), h)
    wh = _uniform_fan_in(rs, (h, 4 * h), h)
    wd = _uniform_fan_in(rs, (h, 10), h)
    return {"Wx": wx, "Wh": wh, "b": np.zeros(4 * h, np.float32), "Wd": wd, "bd": np.zeros(10, np.float32)}


def lstm_params_concat():
    """``lstm_params`` with Wx and Wh stacked into one W (156, 512) for a matmul on concat([x_t, h])."""
    p = lstm_params()
    return {"W": np.vstack([p["Wx"], p["Wh"]]), "b": p["b"], "Wd": p["Wd"], "bd": p["bd"]}


def w3_data(seed=6):
    """The fixed W3 batch: X float32 (128, 28, 28) batch-major, y int64 (128,)."""
    rs = np.random.RandomState(seed)
    x = rs.standard_normal((W3_BATCH, W3_STEPS, W3_IN)).astype(np.float32)
    y = rs.randint(0, 10, W3_BATCH).astype(np.int64)
    return x, y


# ------------------------------------------------------------------ W4
def w4_input(seed=7):
    """The W4 input: 16 Mi float32 standard-normal values."""
    return np.random.RandomState(seed).standard_normal(W4_N).astype(np.float32)


def w4_reference(x):
    """``sigmoid(x*1.5 + 0.5) * tanh(x) + relu(x - 0.25)`` in float64."""
    x = np.asarray(x, np.float64)
    return 1.0 / (1.0 + np.exp(-(x * 1.5 + 0.5))) * np.tanh(x) + np.maximum(x - 0.25, 0.0)


# ------------------------------------------------------------------ FLOPs
def training_flops():
    """Matmul/conv FLOPs of one training step of W1-W3 (2 per multiply-add).

    Forward, plus weight gradients of every layer, plus input gradients of every layer but
    the first. Elementwise, softmax, pooling and optimizer work are not counted.
    """
    mlp = W1_IN * W1_HIDDEN + W1_HIDDEN * W1_OUT
    w1 = 2 * W1_BATCH * (2 * mlp + W1_HIDDEN * W1_OUT)
    conv1 = 28 * 28 * 6 * (3 * 25)
    conv2 = 10 * 10 * 16 * (6 * 25)
    dense = 400 * 120 + 120 * 84 + 84 * 10
    w2 = 2 * W2_BATCH * (2 * (conv1 + conv2 + dense) + conv2 + dense)
    gates = (W3_IN + W3_HIDDEN) * 4 * W3_HIDDEN
    into_h = W3_HIDDEN * 4 * W3_HIDDEN
    w3 = 2 * W3_BATCH * (W3_STEPS * (2 * gates + into_h) + 3 * W3_HIDDEN * 10)
    return {"W1": w1, "W2": w2, "W3": w3}


def loss_matches(workload, loss):
    """Whether an initial training loss equals the expected one to ``LOSS_DECIMALS`` decimals."""
    return abs(float(loss) - EXPECTED_INITIAL_LOSS[workload]) < 0.5 * 10.0 ** -LOSS_DECIMALS
