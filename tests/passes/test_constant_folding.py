"""Constant folding: pure ops on constants become Const ops; everything else is left alone."""

import numpy as np
import pytest

import graphdl
from graphdl import errors
from graphdl.client.state import SessionState
from graphdl.passes.constant_folding import MAX_EXPANDED_ELEMENTS, fold_constants
from passes.pass_helpers import (
    assert_pure_pass,
    assert_same_results,
    initialized_state,
    op_names,
    op_types,
    program_for,
    run,
)


def test_chain_of_constant_arithmetic_becomes_one_constant():
    a = graphdl.constant([1.0, 2.0, 3.0], name="a")
    b = graphdl.constant(2.0, name="b")
    y = graphdl.sqrt(graphdl.square(a * b + 1.0) - 1.0, name="y")
    program = program_for([y])
    assert op_types(program)["Const"] == 4 and len(program.ops) == 9
    folded, changes = assert_pure_pass(fold_constants, program)
    assert op_types(folded) == {"Const": 1}
    # The constant keeps the fetched op's name, so the fetch still finds it.
    assert folded.ops[0].name == "y"
    assert folded.fetches[0].op is folded.ops[0]
    assert {"folded mul (Mul)", "folded add (AddV2)", "folded y (Sqrt)"} <= set(changes)
    assert len(changes) == 5
    values = assert_same_results(program, folded)
    np.testing.assert_allclose(values[0], np.sqrt((np.array([1, 2, 3]) * 2 + 1.0) ** 2 - 1), rtol=1e-6)


def test_folded_values_keep_dtypes():
    i = graphdl.constant([7, 9], dtype=graphdl.int32) // 2
    f = graphdl.cast(graphdl.constant([1.5, 2.5], dtype=graphdl.float64), graphdl.float32)
    b = graphdl.less(graphdl.constant([1, 5]), 3)
    program = program_for([i, f, b])
    folded, _ = fold_constants(program)
    assert set(op_types(folded)) == {"Const"}
    values = assert_same_results(program, folded)
    assert [v.dtype for v in values] == [np.int32, np.float32, np.bool_]


def test_ops_depending_on_placeholders_are_untouched():
    x = graphdl.placeholder(graphdl.float32, [3], name="x")
    scale = graphdl.constant(2.0) * graphdl.constant(3.0)
    y = graphdl.exp(x) * scale + x
    program = program_for([y], [x])
    folded, changes = fold_constants(program)
    assert changes == ["folded mul (Mul)"]
    before, after = op_types(program), op_types(folded)
    assert after["Mul"] == before["Mul"] - 1
    assert after["Exp"] == 1 and after["AddV2"] == 1
    assert after["Const"] == before["Const"] - 1
    assert_same_results(program, folded, [np.array([0.5, 1.0, -1.0], np.float32)])


def test_shape_of_a_fully_static_tensor_is_folded():
    x = graphdl.placeholder(graphdl.float32, [4, 3], name="x")
    s = graphdl.shape(graphdl.tanh(x), name="s")
    n = graphdl.reduce_prod(s, name="n")
    program = program_for([s, n], [x])
    folded, changes = fold_constants(program)
    assert "folded s (Shape)" in changes
    assert op_types(folded) == {"Const": 2}
    # Tanh is no longer needed at all: only its static shape was.
    assert "Tanh" not in op_types(folded)
    values = assert_same_results(program, folded, [np.zeros((4, 3), np.float32)])
    np.testing.assert_array_equal(values[0], [4, 3])
    assert values[0].dtype == np.int32 and values[1] == 12


def test_shape_with_int64_out_type_is_folded_with_that_dtype():
    x = graphdl.placeholder(graphdl.float32, [2, 5], name="x")
    s = graphdl.shape(x, out_type=graphdl.int64)
    program = program_for([s], [x])
    folded, _ = fold_constants(program)
    assert op_types(folded) == {"Const": 1}
    assert run(folded, [np.zeros((2, 5), np.float32)])[0].dtype == np.int64


def test_shape_of_a_partially_known_tensor_is_not_folded():
    x = graphdl.placeholder(graphdl.float32, [None, 3], name="x")
    s = graphdl.shape(x, name="s")
    program = program_for([s], [x])
    folded, changes = fold_constants(program)
    assert changes == []
    assert op_types(folded) == {"Shape": 1}
    assert_same_results(program, folded, [np.zeros((5, 3), np.float32)])


def test_shape_of_a_stateful_tensor_is_not_folded():
    # Folding would drop the assignment (and the random draw) that the original run performs.
    v = graphdl.Variable([1.0, 2.0], name="v")
    assigned = graphdl.assign(v, [3.0, 4.0], name="assign")
    s1 = graphdl.shape(assigned, name="s1")
    s2 = graphdl.shape(graphdl.random_normal([2, 2], seed=3), name="s2")
    program = program_for([s1, s2])
    folded, changes = fold_constants(program)
    assert not any("s1" in c or "s2" in c for c in changes)
    types = op_types(folded)
    assert types["Shape"] == 2 and types["Assign"] == 1 and types["RandomStandardNormal"] == 1
    state = initialized_state()
    assert_same_results(program, folded, state=state)
    run(folded, [], state)
    np.testing.assert_array_equal(state.variables["v"], [3.0, 4.0])


def test_shape_of_a_variable_is_folded():
    v = graphdl.Variable(np.zeros((3, 2), np.float32), name="v")
    s = graphdl.shape(v, name="s")
    program = program_for([s])
    folded, changes = fold_constants(program)
    assert "folded s (Shape)" in changes
    assert op_types(folded) == {"Const": 1}
    assert_same_results(program, folded, state=initialized_state())


def test_small_fill_is_folded_but_a_large_expansion_is_not():
    small = graphdl.fill([2, 3], 1.5, name="small")
    large = graphdl.fill([1000, 1000], 1.0, name="large")
    total = graphdl.reduce_sum(large, name="total")
    program = program_for([small, total])
    folded, changes = fold_constants(program)
    assert "folded small (Fill)" in changes
    assert not any("large" in c for c in changes)
    assert "large" in op_names(folded) and op_types(folded)["Fill"] == 1
    # Nothing in the folded program holds a million-element constant.
    biggest = max(op.attrs["value"].size for op in folded.ops if op.type == "Const")
    assert biggest <= MAX_EXPANDED_ELEMENTS
    values = assert_same_results(program, folded)
    assert values[1] == 1e6


def test_random_ops_are_never_folded():
    r = graphdl.random_normal([3], seed=7, name="r")
    u = graphdl.random_uniform([3], seed=8, name="u")
    y = r + u
    program = program_for([y])
    folded, changes = fold_constants(program)
    types = op_types(folded)
    assert types["RandomStandardNormal"] == 1 and types["RandomUniform"] == 1
    assert not any("Random" in c for c in changes)
    # Two runs in one session differ (the generators advance), exactly as unfolded.
    state_a, state_b = SessionState(), SessionState()
    first_a, second_a = run(program, [], state_a)[0], run(program, [], state_a)[0]
    first_b, second_b = run(folded, [], state_b)[0], run(folded, [], state_b)[0]
    assert not np.array_equal(first_a, second_a)
    np.testing.assert_array_equal(first_a, first_b)
    np.testing.assert_array_equal(second_a, second_b)


def test_stateful_ops_with_constant_inputs_are_not_folded():
    v = graphdl.Variable([0.0, 0.0], name="v")
    update = graphdl.assign_add(v, graphdl.constant([1.0, 2.0]) * 2.0, name="update")
    read = graphdl.identity(update, name="read")
    program = program_for([read])
    folded, changes = fold_constants(program)
    assert changes == ["folded mul (Mul)"]
    assert op_types(folded)["AssignAdd"] == 1 and "read" in op_names(folded)
    state = initialized_state()
    assert_same_results(program, folded, state=state)
    np.testing.assert_array_equal(run(folded, [], state)[0], [2.0, 4.0])
    np.testing.assert_array_equal(run(folded, [], state)[0], [4.0, 8.0])


def test_ops_with_control_dependencies_are_not_folded():
    v = graphdl.Variable(1.0, name="v")
    bump = graphdl.assign_add(v, 1.0, name="bump")
    with graphdl.control_dependencies([bump]):
        y = graphdl.add(graphdl.constant(2.0), 3.0, name="y")
    program = program_for([y])
    folded, changes = fold_constants(program)
    assert changes == []
    assert "y" in op_names(folded) and op_types(folded)["AssignAdd"] == 1
    state = initialized_state()
    assert run(folded, [], state)[0] == 5.0
    assert state.variables["v"] == 2.0


def test_control_inputs_of_a_folded_constant_input_survive():
    # A constant created under control_dependencies keeps them; an op on it is folded into a
    # constant that still waits for them.
    v = graphdl.Variable(1.0, name="v")
    bump = graphdl.assign_add(v, 1.0, name="bump")
    with graphdl.control_dependencies([bump]):
        c = graphdl.constant(2.0, name="c")
    y = graphdl.square(c, name="y")
    program = program_for([y])
    folded, _ = fold_constants(program)
    state = initialized_state()
    assert run(folded, [], state)[0] == 4.0
    assert state.variables["v"] == 2.0


def test_an_op_that_fails_is_left_to_fail_at_run_time():
    y = graphdl.constant([1, 2], dtype=graphdl.int32) // graphdl.constant([1, 0], dtype=graphdl.int32)
    program = program_for([y])
    folded, changes = fold_constants(program)
    assert changes == []
    assert op_types(folded) == op_types(program)
    with pytest.raises(errors.InvalidArgumentError, match="division by zero"):
        run(folded)


def test_folded_reshape_does_not_share_storage_with_the_original_constant():
    c = graphdl.constant(np.arange(6, dtype=np.float32), name="c")
    r = graphdl.reshape(c, [2, 3], name="r")
    program = program_for([r])
    folded, _ = fold_constants(program)
    const = folded.ops[0]
    assert const.type == "Const" and const.name == "r"
    assert not np.shares_memory(const.attrs["value"], c.op.attrs["value"])
    np.testing.assert_array_equal(const.attrs["value"], np.arange(6).reshape(2, 3))


def test_multi_output_op_is_folded_into_one_constant_per_output():
    a, b, c = graphdl.unstack(graphdl.constant([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), name="parts")
    y = a + b * c
    program = program_for([y])
    folded, changes = fold_constants(program)
    assert "folded parts (Unpack)" in changes
    assert op_types(folded) == {"Const": 1}
    assert_same_results(program, folded)


def test_fed_constant_is_not_folded_into_its_consumers():
    c = graphdl.constant([1.0, 2.0], name="c")
    y = graphdl.exp(c, name="y")
    program = program_for([y], [c])
    folded, changes = fold_constants(program)
    assert changes == []
    np.testing.assert_allclose(run(folded, [np.array([0.0, 1.0], np.float32)])[0], [1.0, np.e], rtol=1e-6)


def test_fetched_intermediate_keeps_its_value():
    a = graphdl.constant([1.0, 2.0], name="a")
    b = graphdl.multiply(a, 3.0, name="b")
    y = graphdl.add(b, 1.0, name="y")
    program = program_for([b, y])
    folded, _ = fold_constants(program)
    values = assert_same_results(program, folded)
    np.testing.assert_array_equal(values[0], [3.0, 6.0])
    np.testing.assert_array_equal(values[1], [4.0, 7.0])


def test_fed_intermediate_cuts_folding():
    c = graphdl.constant([1.0, 2.0], name="c")
    doubled = graphdl.multiply(c, 2.0, name="doubled")
    y = graphdl.add(doubled, 1.0, name="y")
    program = program_for([y], [doubled])
    folded, changes = fold_constants(program)
    assert changes == []
    assert op_types(folded) == {"AddV2": 1, "Const": 1}
    np.testing.assert_array_equal(run(folded, [np.array([10.0, 20.0], np.float32)])[0], [11.0, 21.0])


def test_ones_like_of_a_static_tensor_folds_and_frees_the_mean_gradient():
    import graphdl as tf
    from graphdl.client.program import prune
    from graphdl.passes.constant_folding import fold_constants

    x = tf.placeholder(tf.float32, [4, 3])
    loss = tf.reduce_mean(tf.square(x))
    (grad,) = tf.gradients(loss, [x])
    program = prune(tf.get_default_graph(), [grad], [x], [])
    folded, changes = fold_constants(program)
    kinds = {op.type for op in folded.ops}
    assert "OnesLike" not in kinds and "BroadcastTo" not in kinds
    assert any("OnesLike" in c for c in changes)
    values = np.arange(12, dtype=np.float32).reshape(4, 3)
    with tf.Session(backend="numba") as sess:
        np.testing.assert_allclose(sess.run(grad, {x: values}), 2 * values / 12, rtol=1e-6)
