"""PyTorch eager (``torch``) and ``torch.compile`` cells.

NCHW layout for W2, ``nn.LSTM(batch_first=True)`` for W3, ``torch.optim.Adam`` / ``SGD``
with momentum and their default (foreach) implementations. The batch goes through
``torch.from_numpy`` inside every step, as the workloads prescribe.
"""

import os

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bench import workloads as W


def _tensor(a):
    return torch.from_numpy(np.ascontiguousarray(a))


def _load_dense(layer, weight_in_out, bias):
    """Copy an (in, out) weight and a bias into an nn.Linear (which stores (out, in))."""
    layer.weight.copy_(_tensor(weight_in_out.T))
    layer.bias.copy_(_tensor(bias))


class MLP(nn.Module):
    """784 -> 512 ReLU -> 10 from the W1 initial parameters."""

    def __init__(self, p):
        super().__init__()
        self.l1 = nn.Linear(W.W1_IN, W.W1_HIDDEN)
        self.l2 = nn.Linear(W.W1_HIDDEN, W.W1_OUT)
        with torch.no_grad():
            _load_dense(self.l1, p["W1"], p["b1"])
            _load_dense(self.l2, p["W2"], p["b2"])

    def forward(self, x):
        return self.l2(F.relu(self.l1(x)))


class LeNet(nn.Module):
    """The PyTorch CIFAR-10 tutorial network from the W2 initial parameters (OIHW conv weights)."""

    def __init__(self, p):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)
        with torch.no_grad():
            for conv, key in ((self.conv1, "c1"), (self.conv2, "c2")):
                conv.weight.copy_(_tensor(p[key + "w"]))
                conv.bias.copy_(_tensor(p[key + "b"]))
            for fc, key in ((self.fc1, "f1"), (self.fc2, "f2"), (self.fc3, "f3")):
                _load_dense(fc, p[key + "w"], p[key + "b"])

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class LSTMNet(nn.Module):
    """nn.LSTM (gate order i, f, g, o like the parameters) + a dense layer on the last h."""

    def __init__(self, p):
        super().__init__()
        self.lstm = nn.LSTM(W.W3_IN, W.W3_HIDDEN, batch_first=True)
        self.fc = nn.Linear(W.W3_HIDDEN, 10)
        with torch.no_grad():
            self.lstm.weight_ih_l0.copy_(_tensor(p["Wx"].T))
            self.lstm.weight_hh_l0.copy_(_tensor(p["Wh"].T))
            self.lstm.bias_ih_l0.copy_(_tensor(p["b"]))
            self.lstm.bias_hh_l0.zero_()
            _load_dense(self.fc, p["Wd"], p["bd"])

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.fc(out[:, -1, :])


def w4_expression(x):
    """``sigmoid(x*1.5 + 0.5) * tanh(x) + relu(x - 0.25)``."""
    return torch.sigmoid(x * 1.5 + 0.5) * torch.tanh(x) + torch.relu(x - 0.25)


class Impl:
    """PyTorch eager, or ``torch.compile`` of the loss / expression / module with ``compile=True``."""

    def __init__(self, compile=False):
        self.compile = compile
        self.name = "torch.compile" if compile else "torch"
        torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))

    def describe(self):
        """Facts the report prints next to the results."""
        return {"threads": torch.get_num_threads()}

    def _train(self, model, opt, x, y):
        def loss_fn(xb, yb):
            return F.cross_entropy(model(xb), yb)
        if self.compile:
            loss_fn = torch.compile(loss_fn)

        def step():
            xb, yb = torch.from_numpy(x), torch.from_numpy(y)
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(xb, yb)
            loss.backward()
            opt.step()
            return loss.item()
        return step

    def _adam(self, model):
        return torch.optim.Adam(model.parameters(), lr=W.ADAM["lr"], betas=(W.ADAM["beta1"], W.ADAM["beta2"]),
                                eps=W.ADAM["eps"])

    def w1(self):
        model = MLP(W.mlp_params())
        x, y = W.w1_data()
        return self._train(model, self._adam(model), x, y)

    def w2(self):
        model = LeNet(W.cnn_params())
        x, y = W.w2_data()
        opt = torch.optim.SGD(model.parameters(), lr=W.MOMENTUM["lr"], momentum=W.MOMENTUM["momentum"])
        return self._train(model, opt, x, y)

    def w3(self):
        model = LSTMNet(W.lstm_params())
        x, y = W.w3_data()
        return self._train(model, self._adam(model), x, y)

    def w4(self):
        x = torch.from_numpy(W.w4_input())
        f = torch.compile(w4_expression) if self.compile else w4_expression

        def call():
            with torch.no_grad():
                return f(x)
        return call

    def w5(self):
        model = MLP(W.mlp_params()).eval()
        if self.compile:
            model = torch.compile(model)
        x = W.w5_input()

        def call():
            with torch.no_grad():
                return model(torch.from_numpy(x)).numpy()
        return call
