"""TF1's RNN cells (``tf.nn.rnn_cell``): BasicRNNCell, BasicLSTMCell, LSTMCell, GRUCell, MultiRNNCell and wrappers.

A cell maps ``(inputs, state)`` to ``(output, new_state)`` for one time step. As in TF1, a cell
creates its variables on its first call, in a variable scope named after the cell's class
(``basic_lstm_cell``, ``lstm_cell``, ``gru_cell``...; made unique in the enclosing scope, or
the ``scope`` argument of that first call), and reuses them on every later call, so variable
names and shapes match TF1 checkpoints, e.g. ``rnn/basic_lstm_cell/kernel`` of shape
(input_depth + num_units, 4 * num_units). Wrappers (DropoutWrapper, ResidualWrapper) add no
scope of their own.
"""

from __future__ import annotations

import collections
import contextlib
import re

from graphdl import dtypes, nest
from graphdl.framework.constant_value import constant_value
from graphdl.framework.graph import get_default_graph
from graphdl.framework.operation import Tensor
from graphdl.framework.ops import convert_to_tensor, name_scope
from graphdl.framework.tensor_shape import TensorShape
from graphdl.ops.gru_ops import gru_block_cell_gates, gru_block_cell_update
from graphdl.ops.lstm_sequence_ops import lstm_block_recurrence
from graphdl.ops.rnn_ops import lstm_block_cell_update

__all__ = [
    "BasicLSTMCell", "BasicRNNCell", "DeviceWrapper", "DropoutWrapper", "GRUCell", "LSTMCell", "LSTMStateTuple",
    "LayerRNNCell", "MultiRNNCell", "OutputProjectionWrapper", "RNNCell", "ResidualWrapper",
]

_WEIGHTS_VARIABLE_NAME = "kernel"
_BIAS_VARIABLE_NAME = "bias"


def _ops():
    """The op builders the cells use (imported late: graphdl.ops imports this package's modules)."""
    from graphdl.ops import array_ops, clip_ops, indexing_ops, layout_ops, math_ops, matmul_ops, nn_ops

    return array_ops, clip_ops, indexing_ops, layout_ops, math_ops, matmul_ops, nn_ops


def _to_snake_case(name):
    intermediate = re.sub("(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    insecure = re.sub("([a-z])([A-Z])", r"\1_\2", intermediate).lower()
    return insecure if insecure[0] != "_" else "private" + insecure


def _activation(activation):
    """A callable activation: the given one, ``tanh`` for None, or one named by a string ("relu", "sigmoid"...)."""
    from graphdl.ops import math_ops, nn_ops

    if activation is None:
        return math_ops.tanh
    if isinstance(activation, str):
        found = getattr(nn_ops, activation, None) or getattr(math_ops, activation, None)
        if found is None:
            raise ValueError(f"Unknown activation function: {activation}")
        return found
    return activation


class LSTMStateTuple(collections.namedtuple("LSTMStateTuple", ("c", "h"))):
    """The (c, h) state of an LSTM cell: ``c`` the memory cell, ``h`` the output (hidden) state."""

    __slots__ = ()

    @property
    def dtype(self):
        c, h = self
        if c.dtype != h.dtype:
            raise TypeError(f"Inconsistent internal state: {c.dtype} vs {h.dtype}")
        return c.dtype


def _concat(prefix, suffix, static=False):
    """``[prefix] + suffix`` as a list (static) or a 1-D int32 tensor (``prefix`` may be a scalar tensor)."""
    layout_ops = _ops()[3]
    suffix = TensorShape(suffix).as_list() if not isinstance(suffix, TensorShape) else suffix.as_list()
    if isinstance(prefix, Tensor):
        if static:
            return [constant_value(prefix)] + suffix
        return layout_ops.concat([layout_ops.expand_dims(prefix, 0), suffix], 0)
    return [int(prefix) if prefix is not None else None] + suffix


def _zero_state_tensors(state_size, batch_size, dtype):
    """Zeros of shape [batch_size, s] for each size ``s`` in the (nested) ``state_size``."""
    array_ops = _ops()[0]

    def get_state_shape(s):
        state = array_ops.zeros(_concat(batch_size, s), dtype=dtype)
        state.set_shape(_concat(batch_size, s, static=True))
        return state

    return nest.map_structure(get_state_shape, state_size)


class RNNCell:
    """Abstract RNN cell: subclasses define ``state_size``, ``output_size``, ``build(inputs_shape)`` and ``call``.

    ``cell(inputs, state)`` runs one step and returns ``(output, new_state)``; variables are
    created on the first call in the cell's variable scope and reused afterwards.
    """

    def __init__(self, trainable=True, name=None, dtype=None, _reuse=None, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword arguments {sorted(kwargs)}")
        self.trainable = trainable
        self._base_name = name if name else _to_snake_case(type(self).__name__)
        self._name = self._base_name
        self._dtype = dtypes.as_dtype(dtype).base_dtype if dtype is not None else None
        self._reuse = _reuse
        self._scope = None
        self.built = False
        self._own_trainable = []
        self._own_non_trainable = []

    # -- TF1 Layer-like bookkeeping ----------------------------------------------------------------
    name = property(lambda self: self._name, doc="The cell's name (its scope's base name).")
    dtype = property(lambda self: self._dtype, doc="The dtype of the cell's variables (set on the first call).")
    scope_name = property(lambda self: self._scope.name if self._scope is not None else None)

    def _sub_cells(self):
        return []

    def _collect(self, attr):
        out, seen = [], set()
        for v in getattr(self, attr) + [w for c in self._sub_cells() for w in c._collect(attr)]:
            if id(v) not in seen:
                seen.add(id(v))
                out.append(v)
        return out

    @property
    def trainable_weights(self):
        """The trainable variables of this cell and the cells it wraps."""
        return self._collect("_own_trainable") if self.trainable else []

    @property
    def non_trainable_weights(self):
        """The non-trainable variables of this cell and the cells it wraps."""
        if self.trainable:
            return self._collect("_own_non_trainable")
        return self._collect("_own_trainable") + self._collect("_own_non_trainable")

    @property
    def weights(self):
        """All variables of this cell (trainable first)."""
        return self.trainable_weights + self.non_trainable_weights

    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights
    variables = weights

    def add_variable(self, name, shape, dtype=None, initializer=None, regularizer=None, trainable=True,
                     partitioner=None):
        """``get_variable(name, ...)`` in the cell's scope, recorded as one of the cell's weights."""
        from graphdl.variable_scope import get_variable

        trainable = trainable and self.trainable
        var = get_variable(name, shape=shape, dtype=dtype or self._dtype or dtypes.float32, initializer=initializer,
                           regularizer=regularizer, trainable=trainable, partitioner=partitioner)
        (self._own_trainable if trainable else self._own_non_trainable).append(var)
        return var

    add_weight = add_variable

    # -- calling -----------------------------------------------------------------------------------------
    def __call__(self, inputs, state, scope=None):
        """Run one step: ``(output, new_state)``, building the cell's variables on the first call."""
        with self._built_scope(inputs, scope):
            return self.call(inputs, state)

    @contextlib.contextmanager
    def _built_scope(self, inputs, scope=None):
        """Enter the cell's variable and name scope, creating its variables for ``inputs`` on first use."""
        from graphdl.variable_scope import variable_scope

        if self._scope is None:
            if self._reuse:
                with variable_scope(scope if scope is not None else self._base_name) as captured:
                    self._scope = captured
            else:
                with variable_scope(scope, default_name=self._base_name) as captured:
                    self._scope = captured
        reuse = True if self.built else self._reuse
        with variable_scope(self._scope, reuse=reuse, auxiliary_name_scope=False), \
                get_default_graph().name_scope(self._scope.original_name_scope or None):
            if not self.built:
                first = nest.flatten(inputs)[0]
                first = convert_to_tensor(first)
                if self._dtype is None:
                    self._dtype = first.dtype.base_dtype
                self.build(nest.map_structure(lambda x: convert_to_tensor(x).shape, inputs))
                self.built = True
            yield

    def _run_sequence(self, inputs, state):
        """``(outputs, final_state)`` of a whole sequence in one fused op, or None to step one by one.

        ``inputs`` is a list of steps (``static_rnn``, outputs a list) or one time-major tensor
        (``dynamic_rnn``, outputs one tensor). Both ask first; cells whose update has a sequence op (a plain
        LSTM) override this.
        """
        del inputs, state

    def build(self, inputs_shape):
        """Create the cell's variables (nothing for cells without their own)."""
        del inputs_shape

    def call(self, inputs, state):
        raise NotImplementedError(f"{type(self).__name__}.call")

    @property
    def state_size(self):
        """Size(s) of the state: an int, a TensorShape, or a nested tuple of them."""
        raise NotImplementedError("Abstract method")

    @property
    def output_size(self):
        """Size of the output (an int or TensorShape)."""
        raise NotImplementedError("Abstract method")

    def get_initial_state(self, inputs=None, batch_size=None, dtype=None):
        """The zero state for ``inputs``' batch size and dtype (or the given ``batch_size`` and ``dtype``)."""
        if inputs is not None:
            inputs = convert_to_tensor(inputs)
            static = inputs.shape[0].value if inputs.shape.ndims else None
            batch_size = static if static is not None else _ops()[0].shape(inputs)[0]
            dtype = inputs.dtype
        if batch_size is None or dtype is None:
            raise ValueError(f"batch_size and dtype cannot be None while constructing initial state: "
                             f"batch_size={batch_size}, dtype={dtype}")
        return self.zero_state(batch_size, dtype)

    def zero_state(self, batch_size, dtype):
        """A zero-filled state (nested like ``state_size``) of shape [batch_size, state_size] per tensor."""
        with name_scope(None, type(self).__name__ + "ZeroState", [batch_size] if isinstance(batch_size, Tensor) else []):
            return _zero_state_tensors(self.state_size, batch_size, dtype)


class LayerRNNCell(RNNCell):
    """An RNN cell that creates its variables in ``build(inputs_shape)`` (all built-in cells with weights)."""

    def _input_depth(self, inputs_shape):
        shape = TensorShape(inputs_shape)
        if shape.ndims is None or shape[-1].value is None:
            raise ValueError(f"{type(self).__name__}: Expected inputs.shape[-1] to be known, saw shape: {shape}")
        return shape[-1].value

    @staticmethod
    def _check_inputs(cell, inputs, state):
        inputs = convert_to_tensor(inputs)
        if not inputs.dtype.is_floating:
            raise TypeError(f"{cell}: inputs '{inputs.name}' must be floating point, got {inputs.dtype.name}")
        if inputs.shape.ndims is not None and inputs.shape.ndims != 2:
            raise ValueError(f"{cell}: inputs '{inputs.name}' must have rank 2 [batch, depth], got shape {inputs.shape}")
        return inputs


class BasicRNNCell(LayerRNNCell):
    """The most basic RNN cell: ``output = new_state = act(W [inputs, state] + b)``."""

    def __init__(self, num_units, activation=None, reuse=None, name=None, dtype=None, **kwargs):
        super().__init__(_reuse=reuse, name=name, dtype=dtype, **kwargs)
        self._num_units = int(num_units)
        self._activation = _activation(activation)

    state_size = property(lambda self: self._num_units)
    output_size = property(lambda self: self._num_units)

    def build(self, inputs_shape):
        from graphdl.initializers import zeros_initializer

        depth = self._input_depth(inputs_shape)
        self._kernel = self.add_variable(_WEIGHTS_VARIABLE_NAME, shape=[depth + self._num_units, self._num_units])
        self._bias = self.add_variable(_BIAS_VARIABLE_NAME, shape=[self._num_units],
                                       initializer=zeros_initializer(dtype=self.dtype))

    def call(self, inputs, state):
        _, _, _, layout_ops, _, matmul_ops, nn_ops = _ops()
        inputs = self._check_inputs("BasicRNNCell", inputs, state)
        gate_inputs = matmul_ops.matmul(layout_ops.concat([inputs, state], 1), self._kernel)
        output = self._activation(nn_ops.bias_add(gate_inputs, self._bias))
        return output, output


class GRUCell(LayerRNNCell):
    """Gated Recurrent Unit cell (Cho et al. 2014) with TF1's variables ``gates/{kernel,bias}`` and ``candidate/{kernel,bias}``.

    ``r, u = sigmoid(W_g [x, h] + b_g)``; ``c = act(W_c [x, r * h] + b_c)``; ``new_h = u * h + (1 - u) * c``.
    ``gates/bias`` starts at 1.0 unless ``bias_initializer`` is given.
    """

    def __init__(self, num_units, activation=None, reuse=None, kernel_initializer=None, bias_initializer=None,
                 name=None, dtype=None, **kwargs):
        super().__init__(_reuse=reuse, name=name, dtype=dtype, **kwargs)
        self._num_units = int(num_units)
        self._activation = _activation(activation)
        self._kernel_initializer = kernel_initializer
        self._bias_initializer = bias_initializer

    state_size = property(lambda self: self._num_units)
    output_size = property(lambda self: self._num_units)

    def build(self, inputs_shape):
        from graphdl.initializers import constant_initializer, zeros_initializer

        depth = self._input_depth(inputs_shape)
        n = self._num_units
        self._gate_kernel = self.add_variable(
            "gates/" + _WEIGHTS_VARIABLE_NAME, shape=[depth + n, 2 * n], initializer=self._kernel_initializer)
        self._gate_bias = self.add_variable(
            "gates/" + _BIAS_VARIABLE_NAME, shape=[2 * n],
            initializer=self._bias_initializer if self._bias_initializer is not None
            else constant_initializer(1.0, dtype=self.dtype))
        self._candidate_kernel = self.add_variable(
            "candidate/" + _WEIGHTS_VARIABLE_NAME, shape=[depth + n, n], initializer=self._kernel_initializer)
        self._candidate_bias = self.add_variable(
            "candidate/" + _BIAS_VARIABLE_NAME, shape=[n],
            initializer=self._bias_initializer if self._bias_initializer is not None
            else zeros_initializer(dtype=self.dtype))

    def call(self, inputs, state):
        _, _, _, layout_ops, math_ops, matmul_ops, nn_ops = _ops()
        inputs = self._check_inputs("GRUCell", inputs, state)
        if _fused_update_applies(self._activation, 0.0, state):
            r_state, u = gru_block_cell_gates(
                matmul_ops.matmul(layout_ops.concat([inputs, state], 1), self._gate_kernel), self._gate_bias, state)
            candidate = matmul_ops.matmul(layout_ops.concat([inputs, r_state], 1), self._candidate_kernel)
            new_h = gru_block_cell_update(candidate, self._candidate_bias, u, state)
            return new_h, new_h
        gate_inputs = nn_ops.bias_add(
            matmul_ops.matmul(layout_ops.concat([inputs, state], 1), self._gate_kernel), self._gate_bias)
        value = math_ops.sigmoid(gate_inputs)
        r, u = layout_ops.split(value=value, num_or_size_splits=2, axis=1)
        r_state = r * state
        candidate = nn_ops.bias_add(
            matmul_ops.matmul(layout_ops.concat([inputs, r_state], 1), self._candidate_kernel), self._candidate_bias)
        c = self._activation(candidate)
        new_h = u * state + (1 - u) * c
        return new_h, new_h


def _lstm_state(cell, state, num_units, h_depth, state_is_tuple):
    """(c, h) of an LSTM state given as an LSTMStateTuple/pair or, without state_is_tuple, as [c, h] concatenated."""
    indexing_ops = _ops()[2]
    if state_is_tuple:
        if not (isinstance(state, (tuple, list)) and len(state) == 2):
            raise ValueError(f"{cell}: state must be an LSTMStateTuple (c, h) when state_is_tuple=True, got {state!r}")
        return state[0], state[1]
    state = convert_to_tensor(state)
    return (indexing_ops.slice(state, [0, 0], [-1, num_units]),
            indexing_ops.slice(state, [0, num_units], [-1, h_depth]))


def _fused_update_applies(activation, forget_bias, c_prev) -> bool:
    """Whether a cell's elementwise update can be a fused op (LSTM/GRU block cell): tanh, a number forget_bias."""
    from graphdl.ops import math_ops

    return (activation is math_ops.tanh and isinstance(forget_bias, (int, float))
            and c_prev.dtype.is_floating and c_prev.shape.ndims == 2)


def _time_major(steps):
    """The list of ``[batch, depth]`` steps as one ``[time, batch, depth]`` tensor: the tensor they were unstacked
    from, transposed (``tf.unstack(x, axis=1)``, the usual static_rnn input) when they are all of its steps in
    order, else their stack."""
    array_ops, _, _, layout_ops, _, _, _ = _ops()
    source = steps[0].op
    if (source.type == "Unpack" and len(source.outputs) == len(steps)
            and all(t is out for t, out in zip(steps, source.outputs))):
        whole = source.inputs[0]
        axis = int(source.attrs.get("axis", 0)) % 3 if whole.shape.ndims == 3 else None
        if axis == 0:
            return whole
        if axis == 1:
            return layout_ops.transpose(whole, [1, 0, 2])
    return array_ops.stack(steps)


def _lstm_sequence(cell, inputs, state, num_units, forget_bias, state_is_tuple):
    """``(outputs, final_state)`` of a plain LSTM cell over a whole sequence as one BlockLSTMRecurrence (TF1's
    ``LSTMBlockFusedCell``), or None when the inputs or state do not allow it. ``inputs`` is a list of
    ``[batch, depth]`` steps (``static_rnn``; the outputs are a list) or one time-major ``[time, batch, depth]``
    tensor (``dynamic_rnn``; the outputs are one ``[time, batch, units]`` tensor)."""
    array_ops, _, _, layout_ops, _, _, _ = _ops()
    stepped = isinstance(inputs, (list, tuple))
    if nest.is_sequence(inputs) and not stepped or stepped and (
            not inputs or any(nest.is_sequence(x) for x in inputs)):
        return None
    if stepped:
        inputs = [convert_to_tensor(x) for x in inputs]
        first = inputs[0]
        depth = first.shape[-1].value if first.shape.ndims == 2 else None
        if depth is None or any(x.dtype != first.dtype or x.shape.ndims != 2 or x.shape[-1].value != depth
                                for x in inputs):
            return None
    else:
        sequence = convert_to_tensor(inputs)
        if sequence.shape.ndims != 3 or sequence.shape[2].value is None:
            return None
        first = sequence if cell.built else sequence[0]  # one step's shape builds the cell's variables
    if not first.dtype.is_floating:
        return None
    name = type(cell).__name__
    with cell._built_scope(first):
        c0, h0 = (convert_to_tensor(t) for t in _lstm_state(name, state, num_units, num_units, state_is_tuple))
        if not (_fused_update_applies(cell._activation, forget_bias, c0) and c0.dtype == h0.dtype == first.dtype
                and cell._kernel.dtype.base_dtype == first.dtype):
            return None
        x = _time_major(inputs) if stepped else sequence
        h, _ = lstm_block_recurrence(x, h0, c0, cell._kernel, cell._bias, forget_bias=forget_bias)
        last_h, last_c = h.op.outputs[3:5]
        new_state = LSTMStateTuple(last_c, last_h) if state_is_tuple else layout_ops.concat([last_c, last_h], 1)
        if not stepped:
            return h, new_state
        # The last output is the final h itself: a model reading only it (or the state) needs no gradient for h.
        outputs = array_ops.unstack(h, num=len(inputs))[:-1] + [last_h]
    return outputs, new_state


class BasicLSTMCell(LayerRNNCell):
    """Basic LSTM cell (no peepholes, no projection): one kernel (input_depth + num_units, 4 * num_units).

    Gates ``i, j, f, o`` in that order: ``new_c = c * sigmoid(f + forget_bias) + sigmoid(i) * act(j)``,
    ``new_h = act(new_c) * sigmoid(o)``; the state is ``LSTMStateTuple(new_c, new_h)``.
    """

    def __init__(self, num_units, forget_bias=1.0, state_is_tuple=True, activation=None, reuse=None, name=None,
                 dtype=None, **kwargs):
        super().__init__(_reuse=reuse, name=name, dtype=dtype, **kwargs)
        self._num_units = int(num_units)
        self._forget_bias = forget_bias
        self._state_is_tuple = state_is_tuple
        self._activation = _activation(activation)

    @property
    def state_size(self):
        n = self._num_units
        return LSTMStateTuple(n, n) if self._state_is_tuple else 2 * n

    output_size = property(lambda self: self._num_units)

    def build(self, inputs_shape):
        from graphdl.initializers import zeros_initializer

        depth = self._input_depth(inputs_shape)
        n = self._num_units
        self._kernel = self.add_variable(_WEIGHTS_VARIABLE_NAME, shape=[depth + n, 4 * n])
        self._bias = self.add_variable(_BIAS_VARIABLE_NAME, shape=[4 * n], initializer=zeros_initializer(dtype=self.dtype))

    def _run_sequence(self, inputs, state):
        if type(self).call is not BasicLSTMCell.call:  # a subclass with its own step
            return None
        return _lstm_sequence(self, inputs, state, self._num_units, self._forget_bias, self._state_is_tuple)

    def call(self, inputs, state):
        _, _, _, layout_ops, math_ops, matmul_ops, nn_ops = _ops()
        inputs = self._check_inputs("BasicLSTMCell", inputs, state)
        c, h = _lstm_state("BasicLSTMCell", state, self._num_units, self._num_units, self._state_is_tuple)
        if _fused_update_applies(self._activation, self._forget_bias, c):
            gates = matmul_ops.matmul(layout_ops.concat([inputs, h], 1), self._kernel)
            new_c, new_h = lstm_block_cell_update(gates, self._bias, c, forget_bias=self._forget_bias)
            new_state = LSTMStateTuple(new_c, new_h) if self._state_is_tuple else layout_ops.concat([new_c, new_h], 1)
            return new_h, new_state
        gate_inputs = nn_ops.bias_add(matmul_ops.matmul(layout_ops.concat([inputs, h], 1), self._kernel), self._bias)
        i, j, f, o = layout_ops.split(value=gate_inputs, num_or_size_splits=4, axis=1)
        forget_bias = convert_to_tensor(self._forget_bias, dtype=f.dtype)
        sigmoid = math_ops.sigmoid
        new_c = math_ops.add(math_ops.multiply(c, sigmoid(math_ops.add(f, forget_bias))),
                             math_ops.multiply(sigmoid(i), self._activation(j)))
        new_h = math_ops.multiply(self._activation(new_c), sigmoid(o))
        new_state = LSTMStateTuple(new_c, new_h) if self._state_is_tuple else layout_ops.concat([new_c, new_h], 1)
        return new_h, new_state


class LSTMCell(LayerRNNCell):
    """LSTM cell with optional peepholes (``w_f_diag``, ``w_i_diag``, ``w_o_diag``), cell clipping and projection.

    Variables: ``kernel`` (input_depth + h_depth, 4 * num_units), ``bias`` (4 * num_units), and with
    ``num_proj`` a ``projection/kernel`` (num_units, num_proj); h_depth is num_proj or num_units.
    graphdl runs on one device, so ``num_unit_shards``/``num_proj_shards`` make whole variables.
    """

    def __init__(self, num_units, use_peepholes=False, cell_clip=None, initializer=None, num_proj=None,
                 proj_clip=None, num_unit_shards=None, num_proj_shards=None, forget_bias=1.0, state_is_tuple=True,
                 activation=None, reuse=None, name=None, dtype=None, **kwargs):
        super().__init__(_reuse=reuse, name=name, dtype=dtype, **kwargs)
        self._num_units = int(num_units)
        self._use_peepholes = use_peepholes
        self._cell_clip = cell_clip
        self._initializer = initializer
        self._num_proj = int(num_proj) if num_proj is not None else None
        self._proj_clip = proj_clip
        self._num_unit_shards = num_unit_shards
        self._num_proj_shards = num_proj_shards
        self._forget_bias = forget_bias
        self._state_is_tuple = state_is_tuple
        self._activation = _activation(activation)

    @property
    def state_size(self):
        h = self._num_proj if self._num_proj is not None else self._num_units
        return LSTMStateTuple(self._num_units, h) if self._state_is_tuple else self._num_units + h

    output_size = property(lambda self: self._num_proj if self._num_proj is not None else self._num_units)

    def build(self, inputs_shape):
        from graphdl.initializers import zeros_initializer

        depth = self._input_depth(inputs_shape)
        n = self._num_units
        h_depth = self._num_proj if self._num_proj is not None else n
        self._kernel = self.add_variable(_WEIGHTS_VARIABLE_NAME, shape=[depth + h_depth, 4 * n],
                                         initializer=self._initializer)
        self._bias = self.add_variable(_BIAS_VARIABLE_NAME, shape=[4 * n], initializer=zeros_initializer(dtype=self.dtype))
        if self._use_peepholes:
            self._w_f_diag = self.add_variable("w_f_diag", shape=[n], initializer=self._initializer)
            self._w_i_diag = self.add_variable("w_i_diag", shape=[n], initializer=self._initializer)
            self._w_o_diag = self.add_variable("w_o_diag", shape=[n], initializer=self._initializer)
        if self._num_proj is not None:
            self._proj_kernel = self.add_variable("projection/" + _WEIGHTS_VARIABLE_NAME, shape=[n, self._num_proj],
                                                  initializer=self._initializer)

    def _run_sequence(self, inputs, state):
        if type(self).call is not LSTMCell.call or self._use_peepholes or self._cell_clip is not None \
                or self._num_proj is not None:
            return None
        return _lstm_sequence(self, inputs, state, self._num_units, self._forget_bias, self._state_is_tuple)

    def call(self, inputs, state):
        _, clip_ops, _, layout_ops, math_ops, matmul_ops, nn_ops = _ops()
        sigmoid = math_ops.sigmoid
        inputs = self._check_inputs("LSTMCell", inputs, state)
        num_proj = self._num_units if self._num_proj is None else self._num_proj
        c_prev, m_prev = _lstm_state("LSTMCell", state, self._num_units, num_proj, self._state_is_tuple)
        plain = not self._use_peepholes and self._cell_clip is None and self._num_proj is None
        if plain and _fused_update_applies(self._activation, self._forget_bias, c_prev):
            gates = matmul_ops.matmul(layout_ops.concat([inputs, m_prev], 1), self._kernel)
            c, m = lstm_block_cell_update(gates, self._bias, c_prev, forget_bias=self._forget_bias)
            new_state = LSTMStateTuple(c, m) if self._state_is_tuple else layout_ops.concat([c, m], 1)
            return m, new_state
        lstm_matrix = nn_ops.bias_add(matmul_ops.matmul(layout_ops.concat([inputs, m_prev], 1), self._kernel), self._bias)
        i, j, f, o = layout_ops.split(value=lstm_matrix, num_or_size_splits=4, axis=1)
        if self._use_peepholes:
            c = (sigmoid(f + self._forget_bias + self._w_f_diag * c_prev) * c_prev
                 + sigmoid(i + self._w_i_diag * c_prev) * self._activation(j))
        else:
            c = sigmoid(f + self._forget_bias) * c_prev + sigmoid(i) * self._activation(j)
        if self._cell_clip is not None:
            c = clip_ops.clip_by_value(c, -self._cell_clip, self._cell_clip)
        if self._use_peepholes:
            m = sigmoid(o + self._w_o_diag * c) * self._activation(c)
        else:
            m = sigmoid(o) * self._activation(c)
        if self._num_proj is not None:
            m = matmul_ops.matmul(m, self._proj_kernel)
            if self._proj_clip is not None:
                m = clip_ops.clip_by_value(m, -self._proj_clip, self._proj_clip)
        new_state = LSTMStateTuple(c, m) if self._state_is_tuple else layout_ops.concat([c, m], 1)
        return m, new_state


# The wrappers subclass RNNCell, so they are imported last.
from graphdl.rnn_cell_wrappers import (
    DeviceWrapper,
    DropoutWrapper,
    MultiRNNCell,
    OutputProjectionWrapper,
    ResidualWrapper,
)
