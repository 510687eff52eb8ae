"""Shared helpers for the graph-pass tests: building Programs, running them on the reference backend."""

from __future__ import annotations

from collections import Counter

import numpy as np
from graphdl.backends.reference import BACKEND

import graphdl
from graphdl.client.program import prune
from graphdl.client.state import SessionState


def program_for(fetches=(), feeds=(), targets=(), graph=None):
    """The Program computing ``fetches`` and running ``targets`` given ``feeds`` (in that order)."""
    graph = graph or graphdl.get_default_graph()
    targets = tuple(t.op if hasattr(t, "value_index") else t for t in targets)
    return prune(graph, tuple(fetches), tuple(feeds), targets)


def op_types(program) -> Counter:
    """How many ops of each type ``program`` runs."""
    return Counter(op.type for op in program.ops)


def op_names(program) -> set:
    return {op.name for op in program.ops}


def run(program, feed_values=(), state=None):
    """Run ``program`` once on the reference backend; ``feed_values`` in ``program.feeds`` order."""
    state = state if state is not None else SessionState()
    return BACKEND.compile(program, state).run([np.asarray(v) for v in feed_values])


def copy_state(state) -> SessionState:
    """A new SessionState holding copies of ``state``'s variable values."""
    copied = SessionState()
    copied.variables = {name: np.array(value, copy=True) for name, value in state.variables.items()}
    return copied


def initialized_state(graph=None) -> SessionState:
    """The state of a Session on ``graph`` after running the global variables initializer."""
    graph = graph or graphdl.get_default_graph()
    with graph.as_default():
        sess = graphdl.Session(graph=graph)
        sess.run(graphdl.global_variables_initializer())
    return sess._state


def assert_same_results(original, rewritten, feed_values=(), state=None, rtol=0.0, atol=0.0):
    """Run both programs (each on its own copy of ``state``) and check fetches and variables agree.

    Returns the original program's fetched values.
    """
    state = state if state is not None else SessionState()
    state_a, state_b = copy_state(state), copy_state(state)
    expected = run(original, feed_values, state_a)
    actual = run(rewritten, feed_values, state_b)
    assert len(expected) == len(actual)
    for t, e, a in zip(original.fetches, expected, actual):
        e, a = np.asarray(e), np.asarray(a)
        assert e.dtype == a.dtype, f"{t.name}: dtype {a.dtype} != {e.dtype}"
        assert e.shape == a.shape, f"{t.name}: shape {a.shape} != {e.shape}"
        np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, err_msg=t.name)
    assert state_a.variables.keys() == state_b.variables.keys()
    for name in state_a.variables:
        np.testing.assert_allclose(state_b.variables[name], state_a.variables[name], rtol=rtol, atol=atol, err_msg=name)
    return expected


def snapshot(graph):
    """What a pass must leave untouched in the user's graph: its ops, their inputs and control inputs."""
    return [
        (op.name, op.type, tuple(t.name for t in op.inputs), tuple(c.name for c in op.control_inputs),
         tuple(t.shape.as_tuple() for t in op.outputs))
        for op in graph.get_operations()
    ]


def assert_pure_pass(pass_fn, program, *args):
    """Run ``pass_fn(program, *args)`` and check neither ``program`` nor its graph changed."""
    graph_before = snapshot(program.graph)
    ops_before = program.ops
    version = program.graph.version
    result = pass_fn(program, *args)
    assert program.graph.version == version
    assert snapshot(program.graph) == graph_before
    assert program.ops == ops_before
    new_program = result[0]
    assert new_program.graph is not program.graph
    assert not set(new_program.ops) & set(program.ops)
    return result
