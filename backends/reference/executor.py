"""Executes a Program op by op with each op's NumPy reference kernel."""

from __future__ import annotations

import numpy as np

from graphdl import errors
from graphdl.client.backend import Backend, Executable
from graphdl.client.program import Program
from graphdl.client.state import SessionState, Uninitialized
from graphdl.framework.op_def import get_op_def
from graphdl.framework.tensor_shape import shape_fits


class KernelContext:
    """What a reference kernel sees besides its inputs: the op, its attrs, the session state."""

    __slots__ = ("op", "attrs", "state")

    def __init__(self, op, state: SessionState):
        self.op = op
        self.attrs = op.attrs
        self.state = state

    def run_function(self, func_graph, args, extra_fetches=()):
        """Run a function graph (cond branch, loop body) with this backend and session state."""
        from graphdl.client.function_runner import run_function

        return run_function(BACKEND, self.state, func_graph, args, extra_fetches)


class ReferenceExecutable(Executable):
    """A Program lowered to a flat list of (kernel, input slots, output slots) steps."""

    def __init__(self, program: Program, state: SessionState):
        self._state = state
        slots: dict = {}
        for t in program.feeds:
            slots[t] = len(slots)
        self._num_feeds = len(program.feeds)
        self._steps = []
        for op in program.ops:
            op_def = get_op_def(op.type)
            if op_def.kernel is None:
                raise errors.UnimplementedError(
                    None, op, f"Op '{op.name}' of type {op.type} has no reference kernel."
                )
            in_slots = tuple(slots[t] for t in op.inputs)
            # Variables are read when their consumer runs (TF1 ref semantics), so updates made
            # earlier in the same run (ordered by control dependencies) are seen.
            variable_inputs = tuple(
                (i, t.op.name, i in op_def.ref_inputs) for i, t in enumerate(op.inputs) if t.op.type == "VariableV2"
            )
            out_slots = []
            for t in op.outputs:
                if t not in slots:  # a fed output keeps its fed value
                    slots[t] = len(slots)
                    out_slots.append(slots[t])
                else:
                    out_slots.append(None)
            self._steps.append((op, op_def.kernel, KernelContext(op, state), in_slots, variable_inputs, tuple(out_slots)))
        self._num_slots = len(slots)
        self._fetch_slots = tuple(slots[t] for t in program.fetches)
        self._fetches = program.fetches
        # Constants' own arrays must not reach the caller, who may modify what it gets.
        self._constant_ids = {id(op.attrs["value"]) for op in program.ops if op.type == "Const"}
        fed = set(program.feeds)
        self._fetched_variables = tuple(
            t.op.name if t.op.type == "VariableV2" and t not in fed else None for t in program.fetches
        )

    def run_traced(self, feed_values, timer):
        return self.run(feed_values, timer)

    def run(self, feed_values, timer=None):
        values = [None] * self._num_slots
        values[: self._num_feeds] = feed_values
        state = self._state
        for op, kernel, ctx, in_slots, variable_inputs, out_slots in self._steps:
            args = [values[i] for i in in_slots]
            for i, name, is_ref in variable_inputs:
                if in_slots[i] >= self._num_feeds:  # a fed variable keeps its fed value
                    args[i] = state.read_variable(name)
                    if not is_ref and isinstance(args[i], Uninitialized):
                        _raise_uninitialized(args[i], op)
            try:
                if timer is None:
                    result = kernel(ctx, *args)
                else:
                    start = timer.now()
                    result = kernel(ctx, *args)
                    timer.record(op, start, timer.now())
            except errors.OpError:
                raise
            except (ValueError, IndexError, TypeError, FloatingPointError, ZeroDivisionError) as e:
                raise errors.InvalidArgumentError(
                    None, op, f"{type(e).__name__} while running op '{op.name}' ({op.type}): {e}"
                ) from e
            if len(out_slots) == 1 and not isinstance(result, tuple):
                result = (result,)
            for t, slot, value in zip(op.outputs, out_slots, result):
                if slot is not None:
                    values[slot] = _checked(value, t)
        out = []
        shared = {id(v) for v in self._state.variables.values()} | self._constant_ids
        for t, slot, variable in zip(self._fetches, self._fetch_slots, self._fetched_variables):
            value = values[slot] if variable is None else state.read_variable(variable)
            if isinstance(value, Uninitialized):
                _raise_uninitialized(value, t.op)
            # The caller may modify what it gets; never hand out a variable's own storage.
            out.append(value.copy() if id(value) in shared else value)
        return out


def _checked(value, tensor):
    if isinstance(value, Uninitialized):
        return value
    value = np.asarray(value)
    if value.dtype != tensor.dtype.np:
        value = value.astype(tensor.dtype.np)
    if not shape_fits(tensor.shape.as_tuple(), value.shape):
        raise errors.InvalidArgumentError(
            None, tensor.op,
            f"Op '{tensor.op.name}' ({tensor.op.type}) produced a value of shape {value.shape} for "
            f"'{tensor.name}', whose static shape is {tensor.shape}.",
        )
    return value


def _raise_uninitialized(marker: Uninitialized, op):
    raise errors.FailedPreconditionError(
        None, op,
        f"Attempting to use uninitialized value {marker.name} (needed by op '{op.name}'). "
        "Run graphdl.global_variables_initializer() (or the variable's initializer) first.",
    )


class ReferenceBackend(Backend):
    """The NumPy interpreter backend."""

    name = "reference"

    def compile(self, program: Program, state: SessionState, options=None) -> ReferenceExecutable:
        """Interpret ``program`` as given: the oracle runs no optimization passes."""
        return ReferenceExecutable(program, state)


BACKEND = ReferenceBackend()
