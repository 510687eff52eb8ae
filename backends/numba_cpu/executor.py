"""Runs a lowered Program as generated straight-line Python: one line per kernel call.

The schedule is fixed at compile time; kernels, constants and variable names are
bound into the generated function's globals, so a run does no per-op dispatch,
dictionary look-up of kernels or interpretation. A kernel error is mapped back to
the op it came from through the generated line number.
"""

from __future__ import annotations

import itertools
import sys
import time

import numpy as np
from graphdl.backends.numba_cpu.threads import set_serial_run

from graphdl import errors
from graphdl.client.backend import Executable
from graphdl.client.state import Uninitialized
from graphdl.client.step_stats import CPU_DEVICE

_counter = itertools.count()


class LoweredStep:
    """One op of the schedule: its kernel, input value names and output value names."""

    __slots__ = ("op", "kernel", "inputs", "outputs", "implementation")

    def __init__(self, op, kernel, inputs, outputs, implementation):
        self.op = op
        self.kernel = kernel
        self.inputs = inputs
        self.outputs = outputs
        self.implementation = implementation


def _raise_uninitialized(name, op_name):
    raise errors.FailedPreconditionError(
        None, None,
        f"Attempting to use uninitialized value {name} (needed by op '{op_name}'). "
        "Run graphdl.global_variables_initializer() (or the variable's initializer) first.",
    )


class GeneratedExecutable(Executable):
    """A Program compiled to a generated Python function calling one kernel per step."""

    def __init__(self, program, state, steps: list[LoweredStep], value_names: dict, fetch_exprs: list[str], bindings: dict,
                 serial_kernels=False):
        self.program = program
        # Programs that call BLAS keep their own kernels on one thread (see threads.py).
        self.serial_kernels = serial_kernels
        self._state = state
        self.steps = steps
        namespace = {"_vars": state.variables, "_uninit": _raise_uninitialized, "_Uninitialized": Uninitialized}
        namespace.update(bindings)
        for index, step in enumerate(steps):
            if step.kernel is not None:
                namespace[f"k{index}"] = step.kernel
        self._namespace = namespace
        self._feed_names = [value_names[t] for t in program.feeds]
        self._fetch_exprs = fetch_exprs
        self.source, self._line_to_step = self._generate(traced=False)
        self._filename = f"<graphdl-executor-{next(_counter)}>"
        exec(compile(self.source, self._filename, "exec"), namespace)  # noqa: S102 - our own generated code
        self._run = namespace["run"]
        self._run_traced = None

    def _generate(self, traced):
        """Source of ``run(feeds)``, one line per step; ``traced`` also notes the clock after each step."""
        lines = ["def run(feeds):"]
        if self._feed_names:
            lines.append(f"    {', '.join(self._feed_names)}{',' if len(self._feed_names) == 1 else ''} = feeds")
        if traced:
            lines.append("    _ts = [_now()]")
        line_to_step = {}
        for index, step in enumerate(self.steps):
            if step.kernel is None:  # identity-like: the value passes through at this point of the schedule
                lines.append(f"    {step.outputs[0]} = {step.inputs[0]}")
            else:
                call = f"k{index}({', '.join(step.inputs)})"
                if not step.outputs:
                    lines.append(f"    {call}")
                elif len(step.outputs) == 1:
                    lines.append(f"    {step.outputs[0]} = {call}")
                else:
                    lines.append(f"    {', '.join(step.outputs)} = {call}")
            line_to_step[len(lines)] = step
            if traced:
                lines.append("    _ts.append(_now())")
        fetches = f"[{', '.join(self._fetch_exprs)}]"
        lines.append(f"    return {fetches}, _ts" if traced else f"    return {fetches}")
        return "\n".join(lines) + "\n", line_to_step

    def trace_clock(self):
        """A function returning nanoseconds after the work queued so far has finished (host: no wait)."""
        return time.perf_counter_ns

    def step_device(self, step) -> str:
        """The device a step's kernel ran on, for traces."""
        return CPU_DEVICE

    def run_traced(self, feed_values, timer):
        """Like ``run``, recording each kernel's start and end in ``timer`` (a StepTimer)."""
        if self._run_traced is None:
            source, line_to_step = self._generate(traced=True)
            filename = f"<graphdl-executor-traced-{next(_counter)}>"
            namespace = dict(self._namespace, _now=self.trace_clock())
            exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - our own generated code
            self._run_traced = (namespace["run"], filename, line_to_step)
        run, filename, line_to_step = self._run_traced
        saved = self._run, self._filename, self._line_to_step
        self._run, self._filename, self._line_to_step = run, filename, line_to_step
        try:
            values, times = self.run(feed_values)
        finally:
            self._run, self._filename, self._line_to_step = saved
        for step, start, end in zip(self.steps, times, times[1:]):
            if step.kernel is not None:
                op_type = "Transfer" if step.implementation == "transfer" else None
                timer.record(step.op, start, end, self.step_device(step), _label(step), op_type)
        return values

    def run(self, feed_values):
        previous = set_serial_run(self.serial_kernels)
        try:
            return self._run(feed_values)
        except errors.OpError:
            raise
        except KeyError as e:
            name = e.args[0] if e.args else "?"
            if isinstance(name, str) and name in self._state_variable_names():
                step = self._failing_step(sys.exc_info()[2])
                _raise_uninitialized(name, step.op.name if step else "?")
            raise self._wrap(e, sys.exc_info()[2]) from e
        except (ValueError, IndexError, TypeError, FloatingPointError, ZeroDivisionError, AssertionError) as e:
            raise self._wrap(e, sys.exc_info()[2]) from e
        finally:
            set_serial_run(previous)

    def _state_variable_names(self):
        return {step.op.name for step in self.steps if step.op.type == "VariableV2"} | {
            t.op.name for step in self.steps for t in step.op.inputs if t.op.type == "VariableV2"
        } | {t.op.name for t in self.program.fetches if t.op.type == "VariableV2"}

    def _failing_step(self, tb):
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == self._filename:
                return self._line_to_step.get(tb.tb_lineno)
            tb = tb.tb_next
        return None

    def _wrap(self, e, tb):
        step = self._failing_step(tb)
        where = f"op '{step.op.name}' ({step.op.type})" if step else "the graph"
        return errors.InvalidArgumentError(None, step.op if step else None, f"{type(e).__name__} while running {where}: {e}")


def copy_if_shared(value, shared_ids):
    """Fetches never hand out storage the session keeps (variables, reused buffers)."""
    return value.copy() if id(value) in shared_ids else value


def as_array(value):
    return value if isinstance(value, np.ndarray) else np.asarray(value)


def _label(step) -> str:
    """A trace label: the op, its inputs, and for a fused kernel the ops it contains."""
    op = step.op
    if step.implementation == "transfer":
        return f"{step.outputs[0]} = transfer of {op.name}'s output ({step.inputs[0]})"
    members = op.attrs.get("members")
    inner = f" [{', '.join(members)}]" if members else ""
    return f"{op.name} = {op.type}({', '.join(step.inputs)}){inner}"
