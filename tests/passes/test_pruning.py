"""prune(): a Program holds exactly what one run signature needs."""

import numpy as np
import pytest

import graphdl
from graphdl import errors
from graphdl.client.program import prune
from passes.pass_helpers import initialized_state, op_names, op_types, program_for, run


def test_unfetched_branches_are_removed():
    x = graphdl.placeholder(graphdl.float32, [3], name="x")
    kept = graphdl.tanh(x * 2.0, name="kept")
    graphdl.exp(x, name="unused_exp")
    graphdl.reduce_sum(kept * 7.0, name="unused_sum")
    program = program_for([kept], [x])
    names = op_names(program)
    assert "kept" in names and "mul" in names
    assert not {"unused_exp", "unused_sum"} & names
    assert op_types(program) == {"Const": 1, "Mul": 1, "Tanh": 1}
    value = np.array([0.1, -0.2, 0.3], np.float32)
    np.testing.assert_allclose(run(program, [value])[0], np.tanh(value * 2), rtol=1e-6)


def test_ops_are_in_dependency_order():
    x = graphdl.placeholder(graphdl.float32, [2], name="x")
    y = graphdl.exp(graphdl.sin(x) + graphdl.cos(x))
    program = program_for([y], [x])
    position = {op: i for i, op in enumerate(program.ops)}
    for op in program.ops:
        for t in op.inputs:
            if t.op in position:
                assert position[t.op] < position[op]


def test_fed_tensor_cuts_its_producers():
    x = graphdl.placeholder(graphdl.float32, [2], name="x")
    hidden = graphdl.exp(x, name="hidden")
    out = graphdl.sqrt(hidden, name="out")
    program = program_for([out], [hidden])
    # x need not be fed: hidden is, so its producer (and x) are not part of the program.
    assert op_names(program) == {"out"}
    assert program.feeds == (hidden,)
    np.testing.assert_allclose(run(program, [np.array([4.0, 9.0], np.float32)])[0], [2.0, 3.0])


def test_fetching_a_fed_tensor_runs_nothing():
    x = graphdl.placeholder(graphdl.float32, [2], name="x")
    hidden = graphdl.exp(x, name="hidden")
    program = program_for([hidden], [hidden])
    assert program.ops == ()
    np.testing.assert_array_equal(run(program, [np.array([1.0, 2.0], np.float32)])[0], [1.0, 2.0])


def test_unfed_placeholder_raises_naming_it():
    x = graphdl.placeholder(graphdl.float32, [None, 3], name="inputs")
    y = x * 2.0
    with pytest.raises(errors.InvalidArgumentError, match=r"placeholder tensor 'inputs'.*float32.*\[\?,3\]"):
        program_for([y])


def test_control_dependencies_are_kept():
    v = graphdl.Variable(1.0, name="v")
    bump = graphdl.assign_add(v, 10.0, name="bump")
    x = graphdl.placeholder(graphdl.float32, [], name="x")
    with graphdl.control_dependencies([bump]):
        y = graphdl.identity(x, name="y")
    program = program_for([y], [x])
    assert {"bump", "y", "v"} <= op_names(program)
    state = initialized_state()
    assert run(program, [np.float32(3.0)], state)[0] == 3.0
    assert state.variables["v"] == 11.0


def test_targets_are_kept_and_run():
    v = graphdl.Variable([1.0, 2.0], name="v")
    update = graphdl.assign(v, [5.0, 6.0], name="update")
    group = graphdl.group(update, name="train")
    program = program_for([], [], [group])
    assert program.targets == (group,)
    assert {"train", "update"} <= op_names(program)
    state = initialized_state()
    assert run(program, [], state) == []
    np.testing.assert_array_equal(state.variables["v"], [5.0, 6.0])


def test_target_and_fetch_share_their_ancestors():
    v = graphdl.Variable(2.0, name="v")
    x = graphdl.placeholder(graphdl.float32, [], name="x")
    loss = graphdl.square(v * x, name="loss")
    update = graphdl.assign_sub(v, 0.5, name="update")
    program = program_for([loss], [x], [update])
    assert op_types(program)["VariableV2"] == 1
    assert {"loss", "update"} <= op_names(program)


def test_prune_accepts_an_explicit_graph():
    g = graphdl.Graph()
    with g.as_default():
        c = graphdl.constant([1, 2, 3], name="c")
        d = graphdl.add(c, c, name="d")
    program = prune(g, (d,), ())
    assert program.graph is g
    np.testing.assert_array_equal(run(program)[0], [2, 4, 6])
