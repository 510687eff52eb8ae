"""ONNX recurrent layers (RNN, GRU, LSTM) as graphdl ops: unrolled over a statically known sequence length, else a
while_loop over TensorArrays (as dynamic_rnn builds it).

Every attribute of the ONNX spec is handled: direction (forward, reverse, bidirectional), activations with
activation_alpha/activation_beta, clip, layout 0/1, GRU's linear_before_reset, LSTM's input_forget and peepholes,
and the optional inputs B, sequence_lens, initial_h (and initial_c). Each direction projects the whole input
sequence through W with one tensordot, then runs the recurrence step by step; with ``sequence_lens`` the state stops
updating (and Y is zero) past each batch entry's length, and the reverse direction reverses each entry's own prefix.
"""

from __future__ import annotations

import functools

import numpy as np

import graphdl

from .registry import converter


def _unstack(t, n):
    """``t`` split along dim 0 into ``n`` tensors by indexing (numba_cpu mishandles an Unpack with num=1)."""
    return [t[i] for i in range(n)]


def _stack(values, axis):
    """``graphdl.stack``, but expand_dims for one tensor (Stack's gradient is an Unpack, see ``_unstack``)."""
    return graphdl.expand_dims(values[0], axis) if len(values) == 1 else graphdl.stack(values, axis=axis)


def _const(value, like):
    return np.asarray(value, dtype=like.dtype.np)


def _activation(name: str, alpha, beta):
    """The graphdl function of an ONNX RNN activation name (case-insensitive, as onnxruntime reads them)."""
    key = name.lower()
    if key == "sigmoid":
        return graphdl.sigmoid
    if key == "tanh":
        return graphdl.tanh
    if key == "relu":
        return graphdl.nn.relu
    if key == "softsign":
        return graphdl.nn.softsign
    if key == "softplus":
        return graphdl.nn.softplus
    if key == "affine":
        return lambda x: _const(alpha, x) * x + _const(beta, x)
    if key == "leakyrelu":
        return lambda x: graphdl.nn.leaky_relu(x, alpha=alpha)
    if key == "thresholdedrelu":
        return lambda x: graphdl.where(graphdl.greater(x, _const(alpha, x)), x, graphdl.zeros_like(x))
    if key == "scaledtanh":
        return lambda x: _const(alpha, x) * graphdl.tanh(_const(beta, x) * x)
    if key == "hardsigmoid":
        return lambda x: graphdl.clip_by_value(_const(alpha, x) * x + _const(beta, x), _const(0, x), _const(1, x))
    if key == "elu":
        return lambda x: graphdl.where(graphdl.greater(x, _const(0, x)), x, _const(alpha, x) * (graphdl.exp(x) - 1))
    return None


# (alpha, beta) defaults of the activations that take them; the others consume no alpha/beta value.
_DEFAULT_ALPHA_BETA = {"affine": (1.0, 0.0), "leakyrelu": (0.01, None), "thresholdedrelu": (1.0, None),
                       "scaledtanh": (1.0, 1.0), "hardsigmoid": (0.2, 0.5), "elu": (1.0, None)}


def _activations(node, defaults: list[str], num_directions: int):
    """One list of activation functions per direction, from the node's ``activations``/``activation_alpha``/
    ``activation_beta`` (alpha and beta values are consumed in order by the activations that take them)."""
    names = node.attr("activations")
    names = [n.decode() if isinstance(n, bytes) else n for n in names] if names else defaults * num_directions
    if len(names) == len(defaults) and num_directions == 2:
        names = names * 2
    if len(names) != len(defaults) * num_directions:
        raise ValueError(f"{node!r}: expects {len(defaults) * num_directions} activations, got {names}")
    alphas, betas = list(node.attr("activation_alpha") or []), list(node.attr("activation_beta") or [])
    funcs = []
    for name in names:
        alpha, beta = _DEFAULT_ALPHA_BETA.get(name.lower(), (None, None))
        if alpha is not None and alphas:
            alpha = float(alphas.pop(0))
        if beta is not None and betas:
            beta = float(betas.pop(0))
        fn = _activation(name, alpha, beta)
        if fn is None:
            raise node.unsupported(f"activation '{name}'")
        funcs.append(fn)
    k = len(defaults)
    return [funcs[d * k:(d + 1) * k] for d in range(num_directions)]


class _Layer:
    """What every ONNX recurrent node shares: time-major input, directions, lengths, initial states, outputs."""

    def __init__(self, node, num_gates: int, defaults: list[str], num_states: int):
        self.node = node
        self.layout = int(node.attr("layout", 0))
        x = node.input(0)
        if x.shape.ndims not in (None, 3):
            raise ValueError(f"{node!r}: X must have rank 3, got shape {x.shape}")
        self.x = graphdl.transpose(x, [1, 0, 2]) if self.layout else x  # [seq, batch, input]
        self.steps = self.x.shape.as_tuple()[0] if self.x.shape.ndims else None  # None: a while_loop
        direction = node.attr("direction", "forward")
        if direction not in ("forward", "reverse", "bidirectional"):
            raise ValueError(f"{node!r}: direction must be forward, reverse or bidirectional, got '{direction}'")
        self.directions = ["forward", "reverse"] if direction == "bidirectional" else [direction]
        self.hidden = int(node.attr("hidden_size") or node.input(2).shape.as_tuple()[-1])
        self.num_gates = num_gates
        self.activations = _activations(node, defaults, len(self.directions))
        clip = node.attr("clip")
        self.clip = None if clip is None else float(clip)
        self.lengths = graphdl.cast(node.input(4), graphdl.int32) if node.has_input(4) else None
        self.initial = [self._initial(5 + i) for i in range(num_states)]

    def _initial(self, index):
        """Per-direction initial state [batch, hidden] from input ``index`` (initial_h, initial_c), or None (zeros)."""
        if not self.node.has_input(index):
            return None
        t = self.node.input(index)
        if self.layout:
            t = graphdl.transpose(t, [1, 0, 2])
        return _unstack(t, len(self.directions))

    def gate_clip(self, t):
        if self.clip is None:
            return t
        return graphdl.clip_by_value(t, _const(-self.clip, t), _const(self.clip, t))

    def zeros_state(self):
        batch = self.x.shape.as_tuple()[1] if self.x.shape.ndims else None
        shape = [batch, self.hidden] if batch is not None else graphdl.stack([graphdl.shape(self.x)[1], self.hidden])
        return graphdl.zeros(shape, dtype=self.x.dtype)

    def step(self, cell, t, x_t, states):
        """One masked time step: past an entry's sequence length its states stay and its output is zero."""
        h, new_states = cell(x_t, states)
        if self.lengths is None:
            return h, new_states
        m = graphdl.expand_dims(graphdl.cast(graphdl.less(t, self.lengths), x_t.dtype), -1)  # [batch, 1]
        return m * h, [m * s + (1 - m) * old for s, old in zip(new_states, states)]

    def unrolled(self, cell, xw, states):
        """The recurrence over a static number of steps; returns Y [seq, batch, hidden] and the final states."""
        outputs = []
        for t, x_t in enumerate(_unstack(xw, self.steps)):
            h, states = self.step(cell, np.int32(t), x_t, states)
            outputs.append(h)
        return _stack(outputs, 0), states

    def looped(self, cell, xw, states):
        """The recurrence over a sequence length known only at run time: a while_loop over TensorArrays."""
        steps = graphdl.shape(xw)[0]
        inputs = graphdl.TensorArray(xw.dtype, size=steps).unstack(xw)
        batch = self.x.shape.as_tuple()[1] if self.x.shape.ndims else None
        outputs = graphdl.TensorArray(xw.dtype, size=steps, element_shape=[batch, self.hidden])

        def body(t, outputs, states):
            h, states = self.step(cell, t, inputs.read(t), list(states))
            return t + 1, outputs.write(t, h), states

        _, outputs, states = graphdl.while_loop(lambda t, *_: t < steps, body,
                                                (graphdl.constant(0, dtype=graphdl.int32), outputs, states))
        return outputs.stack(), list(states)

    def run(self, cell):
        """Run ``cell(direction_index, x_projected_t, states, r=, bias_r=) -> (h, states)`` over time in every
        direction (unrolled when the sequence length is static, else a while_loop); returns the ONNX outputs Y, Y_h and (for two states) Y_c in the node's layout."""
        node = self.node
        w, r = node.input(1), node.input(2)
        b = node.input(3) if node.has_input(3) else None
        ys, finals = [], []
        for d, direction in enumerate(self.directions):
            x = self.x
            if direction == "reverse":
                x = self._reverse(x)
            size = self.num_gates * self.hidden
            xw = graphdl.tensordot(x, graphdl.transpose(w[d]), axes=[[2], [0]])  # [seq, batch, gates * hidden]
            bias_w = bias_r = None
            if b is not None:
                bias_w, bias_r = b[d][:size], b[d][size:]
                xw = xw + bias_w
            states = [init[d] if init is not None else self.zeros_state() for init in self.initial]
            step_cell = functools.partial(cell, d, r=r[d], bias_r=bias_r)
            recur = self.unrolled if self.steps is not None else self.looped
            y, states = recur(step_cell, xw, states)  # y: [seq, batch, hidden]
            if direction == "reverse":
                y = self._reverse(y)
            ys.append(y)
            finals.append(states)
        y = _stack(ys, 1)  # [seq, num_directions, batch, hidden]
        results = [graphdl.transpose(y, [2, 0, 1, 3]) if self.layout else y]
        for i in range(len(self.initial)):
            s = _stack([f[i] for f in finals], 0)  # [num_directions, batch, hidden]
            results.append(graphdl.transpose(s, [1, 0, 2]) if self.layout else s)
        return results

    def _reverse(self, x):
        if self.lengths is None:
            return graphdl.reverse(x, [0])
        return graphdl.reverse_sequence(x, graphdl.cast(self.lengths, graphdl.int64), seq_axis=0, batch_axis=1)


def _split(t, n):
    return graphdl.split(t, n, axis=-1)


@converter("RNN")
def rnn(node):
    """ONNX RNN: H_t = f(X_t W^T + H_{t-1} R^T + Wb + Rb); outputs Y [seq, dirs, batch, hidden] and Y_h."""
    layer = _Layer(node, 1, ["Tanh"], 1)

    def cell(d, xw, states, r, bias_r):
        (f,) = layer.activations[d]
        z = xw + graphdl.matmul(states[0], r, transpose_b=True)
        if bias_r is not None:
            z = z + bias_r
        h = f(layer.gate_clip(z))
        return h, [h]

    return layer.run(cell)


@converter("GRU")
def gru(node):
    """ONNX GRU (gates z, r, h; ``linear_before_reset`` applies r after the recurrent projection); Y and Y_h."""
    layer = _Layer(node, 3, ["Sigmoid", "Tanh"], 1)
    linear_before_reset = bool(node.attr("linear_before_reset", 0))

    def cell(d, xw, states, r, bias_r):
        f, g = layer.activations[d]
        (h_prev,) = states
        xz, xr, xh = _split(xw, 3)
        rz, rr, rh = graphdl.split(r, 3, axis=0)
        bz, br, bh = _split(bias_r, 3) if bias_r is not None else (None, None, None)

        def rec(h, weights, bias):
            out = graphdl.matmul(h, weights, transpose_b=True)
            return out + bias if bias is not None else out

        z = f(layer.gate_clip(xz + rec(h_prev, rz, bz)))
        reset = f(layer.gate_clip(xr + rec(h_prev, rr, br)))
        if linear_before_reset:
            candidate = xh + reset * rec(h_prev, rh, bh)
        else:
            candidate = xh + rec(reset * h_prev, rh, bh)
        h_tilde = g(layer.gate_clip(candidate))
        h = (1 - z) * h_tilde + z * h_prev
        return h, [h]

    return layer.run(cell)


@converter("LSTM")
def lstm(node):
    """ONNX LSTM (gates i, o, f, c; optional peepholes P and ``input_forget``); outputs Y, Y_h and Y_c."""
    layer = _Layer(node, 4, ["Sigmoid", "Tanh", "Tanh"], 2)
    peepholes = _unstack(node.input(7), len(layer.directions)) if node.has_input(7) else None
    input_forget = bool(node.attr("input_forget", 0))

    def cell(d, xw, states, r, bias_r):
        f, g, h_act = layer.activations[d]
        h_prev, c_prev = states
        gates = xw + graphdl.matmul(h_prev, r, transpose_b=True)
        if bias_r is not None:
            gates = gates + bias_r
        gi, go, gf, gc = _split(gates, 4)
        if peepholes is not None:
            pi, po, pf = _split(peepholes[d], 3)
            gi, gf = gi + pi * c_prev, gf + pf * c_prev
        i = f(layer.gate_clip(gi))
        forget = 1 - i if input_forget else f(layer.gate_clip(gf))
        c = forget * c_prev + i * g(layer.gate_clip(gc))
        if peepholes is not None:
            go = go + po * c
        o = f(layer.gate_clip(go))
        h = o * h_act(c)
        return h, [h, c]

    return layer.run(cell)
