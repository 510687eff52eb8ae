"""TF1's recurrent-network builders (``tf.nn.static_rnn``, ``tf.nn.static_bidirectional_rnn``, ``dynamic_rnn``).

``static_rnn`` unrolls a cell over a Python list of [batch, depth] inputs inside the variable
scope ``rnn`` (so a BasicLSTMCell's variables are ``rnn/basic_lstm_cell/kernel`` and ``.../bias``).
With ``sequence_length``, steps at or past a sequence's length output zeros and carry the
state through unchanged, so the final state is the state at each sequence's length.
"""

from __future__ import annotations

from graphdl import dtypes, nest
from graphdl.framework.operation import Tensor
from graphdl.framework.ops import convert_to_tensor, name_scope
from graphdl.framework.tensor_shape import TensorShape, unknown_shape
from graphdl.rnn_cell_wrappers import _check_cell

__all__ = ["bidirectional_dynamic_rnn", "dynamic_rnn", "static_bidirectional_rnn", "static_rnn"]


def _ops():
    from graphdl.ops import array_ops, compare_ops, layout_ops, math_ops

    return array_ops, compare_ops, layout_ops, math_ops


def _infer_state_dtype(explicit_dtype, state):
    """The state's dtype: ``explicit_dtype`` if given, else the (single) dtype of the state's tensors."""
    if explicit_dtype is not None:
        return explicit_dtype
    flat = nest.flatten(state)
    if not flat:
        raise ValueError("Unable to infer dtype from empty state.")
    found = {t.dtype for t in flat}
    if len(found) > 1:
        raise ValueError(f"State has tensors of different inferred dtypes. Unable to infer a single representative "
                         f"dtype. Dtypes received: {sorted(d.name for d in found)}")
    return flat[0].dtype


def _select_past_length(past_end, if_past, if_not):
    """Rows of ``if_past`` where ``past_end`` (a [batch] bool vector) is true, rows of ``if_not`` elsewhere."""
    compare_ops, layout_ops = _ops()[1], _ops()[2]
    rank = if_not.shape.ndims
    cond = past_end
    for _ in range((rank or 2) - 1):
        cond = layout_ops.expand_dims(cond, -1)
    result = compare_ops.where_v2(cond, if_past, if_not)
    result.set_shape(if_not.shape)
    return result


def _rnn_step(time, sequence_length, zero_output, state, new_output, new_state):
    """TF1's ``_rnn_step`` result: zero output and the old state for batch rows with ``time >= sequence_length``."""
    math_ops = _ops()[3]
    past_end = math_ops.greater_equal(time, sequence_length)
    flat_state, flat_new_state = nest.flatten(state), nest.flatten(new_state)
    flat_output, flat_zero = nest.flatten(new_output), nest.flatten(zero_output)
    out = [_select_past_length(past_end, z, o) for z, o in zip(flat_zero, flat_output)]
    st = [_select_past_length(past_end, s, n) for s, n in zip(flat_state, flat_new_state)]
    return nest.pack_sequence_as(new_output, out), nest.pack_sequence_as(new_state, st)


def _batch_size_of(first_input):
    """(static batch size or None, batch size as an int or a scalar tensor)."""
    array_ops = _ops()[0]
    shape = first_input.shape
    fixed = shape[0].value if shape.ndims else None
    return fixed, fixed if fixed is not None else array_ops.shape(first_input)[0]


def static_rnn(cell, inputs, initial_state=None, dtype=None, sequence_length=None, scope=None):
    """Run ``cell`` over the list ``inputs`` (each [batch, input_size]); returns ``(outputs, final_state)``.

    ``outputs`` is the list of per-step outputs. Without ``initial_state`` the cell's zero state of
    ``dtype`` is used (``dtype`` is then required). ``sequence_length`` (int vector [batch]) makes
    steps past each sequence's end output zeros and copy the state through. Without it, a plain
    ``BasicLSTMCell``/``LSTMCell`` runs all steps as one input projection and one fused recurrence
    op (as TF1's ``LSTMBlockFusedCell``; same variables, same results); other cells step one by one.
    """
    from graphdl.variable_scope import variable_scope

    _check_cell("cell", cell)
    if not nest.is_sequence(inputs):
        raise TypeError("inputs must be a sequence")
    if not inputs:
        raise ValueError("inputs must not be empty")
    array_ops, _, layout_ops, math_ops = _ops()
    outputs = []
    with variable_scope(scope or "rnn") as varscope:
        first_input = inputs
        while nest.is_sequence(first_input):
            first_input = first_input[0]
        first_input = convert_to_tensor(first_input)
        if first_input.shape.ndims != 1:
            for flat_input in nest.flatten(inputs):
                shape = convert_to_tensor(flat_input).shape.with_rank_at_least(2)
                for i, size in enumerate(shape.as_list()[1:]):
                    if size is None:
                        raise ValueError(f"static_rnn: Input size (dimension {i} of inputs) must be accessible via "
                                         f"shape inference, but saw value None (input '{flat_input.name}', shape {shape}).")
        fixed_batch_size, batch_size = _batch_size_of(first_input)
        if initial_state is not None:
            state = initial_state
        else:
            if not dtype:
                raise ValueError("If no initial_state is provided, dtype must be specified")
            state = cell.zero_state(batch_size, dtype)

        if sequence_length is not None:
            sequence_length = convert_to_tensor(sequence_length, name="sequence_length")
            if sequence_length.shape.ndims not in (None, 1):
                raise ValueError(f"sequence_length must be a vector of length batch_size, got shape {sequence_length.shape}")
            sequence_length = math_ops.cast(sequence_length, dtypes.int32)
            state_dtype = _infer_state_dtype(dtype, state)

            def create_zero_output(output_size):
                size = TensorShape(output_size).as_list()
                if isinstance(batch_size, Tensor):
                    dims = layout_ops.concat([layout_ops.expand_dims(batch_size, 0), size], 0)
                else:
                    dims = [batch_size] + size
                output = array_ops.zeros(dims, state_dtype)
                output.set_shape([fixed_batch_size] + size)
                return output

            zero_output = nest.map_structure(create_zero_output, cell.output_size)

        if sequence_length is None:
            run_sequence = getattr(cell, "_run_sequence", None)
            fused = run_sequence(list(inputs), state) if run_sequence is not None else None
            if fused is not None:
                return fused
        for time, input_ in enumerate(inputs):
            if time > 0:
                varscope.reuse_variables()
            output, new_state = cell(input_, state)
            if sequence_length is not None:
                output, new_state = _rnn_step(time, sequence_length, zero_output, state, output, new_state)
            state = new_state
            outputs.append(output)
        return outputs, state


def _reverse_seq(input_seq, lengths):
    """The list ``input_seq`` reversed in time; with ``lengths``, only each sequence's first ``length`` steps."""
    array_ops, _, layout_ops, _ = _ops()
    if lengths is None:
        return list(reversed(input_seq))
    flat_input_seq = tuple(nest.flatten(input_) for input_ in input_seq)
    flat_results = [[] for _ in range(len(input_seq))]
    for sequence in zip(*flat_input_seq):
        sequence = [convert_to_tensor(t) for t in sequence]
        input_shape = unknown_shape(rank=sequence[0].shape.ndims)
        for input_ in sequence:
            input_shape = input_shape.merge_with(input_.shape)
        s_joined = array_ops.stack(sequence)
        s_reversed = layout_ops.reverse_sequence(s_joined, lengths, seq_axis=0, batch_axis=1)
        for r, flat_result in zip(array_ops.unstack(s_reversed, num=len(sequence)), flat_results):
            r.set_shape(input_shape)
            flat_result.append(r)
    return [nest.pack_sequence_as(structure=input_, flat_sequence=flat_result)
            for input_, flat_result in zip(input_seq, flat_results)]


def static_bidirectional_rnn(cell_fw, cell_bw, inputs, initial_state_fw=None, initial_state_bw=None, dtype=None,
                             sequence_length=None, scope=None):
    """A forward and a backward RNN over the list ``inputs``; returns ``(outputs, output_state_fw, output_state_bw)``.

    Each output is the concatenation [fw, bw] of the two directions' outputs for that step. The
    backward cell reads each sequence reversed over its first ``sequence_length`` steps. The
    variables live in ``bidirectional_rnn/fw/...`` and ``bidirectional_rnn/bw/...``.
    """
    from graphdl.variable_scope import variable_scope

    _check_cell("cell_fw", cell_fw)
    _check_cell("cell_bw", cell_bw)
    if not nest.is_sequence(inputs):
        raise TypeError("inputs must be a sequence")
    if not inputs:
        raise ValueError("inputs must not be empty")
    layout_ops = _ops()[2]
    with variable_scope(scope or "bidirectional_rnn"):
        with variable_scope("fw") as fw_scope:
            output_fw, output_state_fw = static_rnn(cell_fw, inputs, initial_state_fw, dtype, sequence_length,
                                                    scope=fw_scope)
        with variable_scope("bw") as bw_scope:
            reversed_inputs = _reverse_seq(inputs, sequence_length)
            tmp, output_state_bw = static_rnn(cell_bw, reversed_inputs, initial_state_bw, dtype, sequence_length,
                                              scope=bw_scope)
    output_bw = _reverse_seq(tmp, sequence_length)
    with name_scope(None, "bidirectional_rnn_concat"):
        flat_outputs = tuple(layout_ops.concat([fw, bw], 1)
                             for fw, bw in zip(nest.flatten(output_fw), nest.flatten(output_bw)))
    outputs = nest.pack_sequence_as(structure=output_fw, flat_sequence=flat_outputs)
    return outputs, output_state_fw, output_state_bw


def _time_steps(flat_inputs, time_major):
    """The static number of time steps of the [batch, time, ...] (or time-major) inputs, or None."""
    axis = 0 if time_major else 1
    steps = set()
    for x in flat_inputs:
        if x.shape.ndims is None or x.shape.ndims < 3:
            raise ValueError(f"dynamic_rnn: inputs must have rank at least 3 ([batch, time, depth] or time-major), "
                             f"got '{x.name}' of shape {x.shape}")
        if x.shape[-1].value is None:
            raise ValueError(f"dynamic_rnn: Input size (depth of inputs) must be accessible via shape inference, "
                             f"but saw value None (input '{x.name}', shape {x.shape}).")
        steps.add(x.shape[axis].value)
    steps.discard(None)
    if len(steps) > 1:
        raise ValueError(f"dynamic_rnn: inputs have different numbers of time steps: {sorted(steps)}")
    return steps.pop() if steps else None


def dynamic_rnn(cell, inputs, sequence_length=None, initial_state=None, dtype=None, parallel_iterations=None,
                swap_memory=False, time_major=False, scope=None):
    """Run ``cell`` over ``inputs`` [batch, time, depth] (``time_major``: [time, batch, depth]).

    Returns ``(outputs, final_state)``: outputs [batch, time, output_size] (or time-major), zero
    past each sequence's ``sequence_length``, and the state at each sequence's length. Variables
    are those of TF1's ``dynamic_rnn`` (``rnn/<cell scope>/...``). A plain LSTM cell without
    ``sequence_length`` runs as one op for the whole sequence (``BlockLSTMRecurrence``, as TF1's
    ``LSTMBlockFusedCell``), however many steps; otherwise a number of time steps known when the
    graph is built is unrolled (same results, plainer graph) and an unknown one runs a
    ``while_loop`` over TensorArrays. ``parallel_iterations`` and ``swap_memory`` are ignored.
    """
    from graphdl.variable_scope import get_variable_scope, variable_scope

    del parallel_iterations, swap_memory
    _check_cell("cell", cell)
    array_ops, _, layout_ops, math_ops = _ops()
    with variable_scope(scope or "rnn"):
        flat_input = [convert_to_tensor(x) for x in nest.flatten(inputs)]
        if sequence_length is None and not nest.is_sequence(inputs):
            fused = _whole_sequence(cell, flat_input[0], initial_state, dtype, time_major)
            if fused is not None:
                return fused
        steps = _time_steps(flat_input, time_major)
        if steps is None:
            return _dynamic_rnn_loop(cell, inputs, flat_input, sequence_length, initial_state, dtype, time_major)
        if not time_major:
            flat_input = [layout_ops.transpose(x, [1, 0] + list(range(2, x.shape.ndims))) for x in flat_input]
        per_step = [array_ops.unstack(x, num=steps, axis=0) for x in flat_input]
        step_inputs = [nest.pack_sequence_as(inputs, [p[t] for p in per_step]) for t in range(steps)]
        if sequence_length is not None:
            sequence_length = math_ops.cast(convert_to_tensor(sequence_length), dtypes.int32)
            if sequence_length.shape.ndims not in (None, 1):
                raise ValueError(f"sequence_length must be a vector of length batch_size, but saw shape: "
                                 f"{sequence_length.shape}")
        if initial_state is None and not dtype:
            raise ValueError("If there is no initial_state, you must give a dtype.")
        outputs, final_state = static_rnn(cell, step_inputs, initial_state=initial_state, dtype=dtype,
                                          sequence_length=sequence_length, scope=get_variable_scope())
        axis = 0 if time_major else 1
        flat_outputs = [array_ops.stack(list(step), axis=axis) for step in zip(*[nest.flatten(o) for o in outputs])]
        return nest.pack_sequence_as(outputs[0], flat_outputs), final_state


def _whole_sequence(cell, inputs, initial_state, dtype, time_major):
    """dynamic_rnn as the cell's op for a whole sequence (a plain LSTM: ``BlockLSTMRecurrence``), whether the
    number of time steps is known when the graph is built or not; None for a cell without one."""
    run_sequence = getattr(cell, "_run_sequence", None)
    if run_sequence is None or inputs.shape.ndims != 3:
        return None
    array_ops, _, layout_ops, _ = _ops()
    sequence = inputs if time_major else layout_ops.transpose(inputs, [1, 0, 2])
    if initial_state is not None:
        state = initial_state
    else:
        if not dtype:
            raise ValueError("If there is no initial_state, you must give a dtype.")
        batch = sequence.shape[1].value
        state = cell.zero_state(batch if batch is not None else array_ops.shape(sequence)[1], dtype)
    fused = run_sequence(sequence, state)
    if fused is None:
        return None
    outputs, final_state = fused
    return (outputs if time_major else layout_ops.transpose(outputs, [1, 0, 2])), final_state


def _dynamic_rnn_loop(cell, inputs, flat_input, sequence_length, initial_state, dtype, time_major):
    """dynamic_rnn over a number of time steps known only at run time: a while_loop over TensorArrays."""
    from graphdl.ops.control_flow_ops import while_loop
    from graphdl.ops.tensor_array_ops import TensorArray

    array_ops, _, layout_ops, math_ops = _ops()
    if not time_major:
        flat_input = [layout_ops.transpose(x, [1, 0] + list(range(2, x.shape.ndims))) for x in flat_input]
    fixed_batch = flat_input[0].shape[1].value
    batch_size = fixed_batch if fixed_batch is not None else array_ops.shape(flat_input[0])[1]
    if initial_state is not None:
        state = initial_state
    else:
        if not dtype:
            raise ValueError("If there is no initial_state, you must give a dtype.")
        state = cell.zero_state(batch_size, dtype)
    if sequence_length is not None:
        sequence_length = math_ops.cast(convert_to_tensor(sequence_length), dtypes.int32)
    time_steps = array_ops.shape(flat_input[0])[0]
    # Build the cell's variables here, outside the loop body (this call's ops are never run).
    first_step = [array_ops.zeros_like(x[0]) for x in flat_input]
    if not getattr(cell, "built", False):
        cell(nest.pack_sequence_as(inputs, first_step), state)
    state_dtype = _infer_state_dtype(dtype, state)
    flat_output_size = nest.flatten(cell.output_size)
    input_tas = [TensorArray(x.dtype, size=time_steps).unstack(x) for x in flat_input]
    output_tas = [TensorArray(state_dtype, size=time_steps, element_shape=[fixed_batch] + TensorShape(s).as_list())
                  for s in flat_output_size]

    def body(time, output_tas, state):
        step_input = nest.pack_sequence_as(inputs, [ta.read(time) for ta in input_tas])
        output, new_state = cell(step_input, state)
        if sequence_length is not None:
            zero_output = nest.map_structure(array_ops.zeros_like, output)
            output, new_state = _rnn_step(time, sequence_length, zero_output, state, output, new_state)
        output_tas = [ta.write(time, o) for ta, o in zip(output_tas, nest.flatten(output))]
        return time + 1, output_tas, new_state

    _, output_tas, final_state = while_loop(lambda time, *_: time < time_steps, body,
                                            (convert_to_tensor(0), output_tas, state))
    flat_outputs = [ta.stack() for ta in output_tas]
    if not time_major:
        flat_outputs = [layout_ops.transpose(o, [1, 0] + list(range(2, o.shape.ndims or 3))) for o in flat_outputs]
    return nest.pack_sequence_as(cell.output_size, flat_outputs), final_state


def bidirectional_dynamic_rnn(cell_fw, cell_bw, inputs, sequence_length=None, initial_state_fw=None,
                              initial_state_bw=None, dtype=None, parallel_iterations=None, swap_memory=False,
                              time_major=False, scope=None):
    """``dynamic_rnn`` forward and over each sequence reversed (``reverse_sequence``).

    Returns ``((output_fw, output_bw), (output_state_fw, output_state_bw))``; ``output_bw`` is
    re-reversed so both are aligned in time. Variables live in ``bidirectional_rnn/fw`` and ``/bw``.
    """
    from graphdl.variable_scope import variable_scope

    _check_cell("cell_fw", cell_fw)
    _check_cell("cell_bw", cell_bw)
    layout_ops = _ops()[2]
    time_axis, batch_axis = (0, 1) if time_major else (1, 0)

    def reverse(input_):
        if sequence_length is not None:
            return layout_ops.reverse_sequence(input_, sequence_length, seq_axis=time_axis, batch_axis=batch_axis)
        return layout_ops.reverse(input_, axis=[time_axis])

    with variable_scope(scope or "bidirectional_rnn"):
        with variable_scope("fw") as fw_scope:
            output_fw, output_state_fw = dynamic_rnn(
                cell_fw, inputs, sequence_length=sequence_length, initial_state=initial_state_fw, dtype=dtype,
                parallel_iterations=parallel_iterations, swap_memory=swap_memory, time_major=time_major,
                scope=fw_scope)
        with variable_scope("bw") as bw_scope:
            inputs_reverse = nest.map_structure(reverse, inputs)
            tmp, output_state_bw = dynamic_rnn(
                cell_bw, inputs_reverse, sequence_length=sequence_length, initial_state=initial_state_bw, dtype=dtype,
                parallel_iterations=parallel_iterations, swap_memory=swap_memory, time_major=time_major,
                scope=bw_scope)
    output_bw = nest.map_structure(reverse, tmp)
    return (output_fw, output_bw), (output_state_fw, output_state_bw)
