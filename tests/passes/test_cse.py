"""Common subexpression elimination: identical pure ops on identical inputs are computed once."""

import numpy as np

import graphdl
from graphdl.client.state import SessionState
from graphdl.passes.common_subexpressions import eliminate_common_subexpressions
from passes.pass_helpers import (
    assert_pure_pass,
    assert_same_results,
    initialized_state,
    op_names,
    op_types,
    program_for,
    run,
)

X = np.array([[0.5, -1.0, 2.0], [3.0, 0.0, -0.25]], np.float32)


def test_duplicated_subexpressions_are_merged():
    x = graphdl.placeholder(graphdl.float32, [2, 3], name="x")
    first = graphdl.add(x * 2.0, 1.0, name="first")
    second = graphdl.add(x * 2.0, 1.0, name="second")
    y = graphdl.multiply(first, second, name="y")
    program = program_for([y], [x])
    assert op_types(program) == {"Const": 4, "Mul": 3, "AddV2": 2}
    merged, changes = assert_pure_pass(eliminate_common_subexpressions, program)
    assert op_types(merged) == {"Const": 2, "Mul": 2, "AddV2": 1}
    assert "second -> first (AddV2)" in changes
    assert "mul_1 -> mul (Mul)" in changes
    assert "second" not in op_names(merged)
    # y now multiplies one tensor by itself.
    y_new = merged.fetches[0].op
    assert y_new.inputs[0] is y_new.inputs[1]
    values = assert_same_results(program, merged, [X])
    np.testing.assert_allclose(values[0], (X * 2 + 1) ** 2, rtol=1e-6)


def test_both_fetches_of_merged_ops_keep_their_values():
    x = graphdl.placeholder(graphdl.float32, [2, 3], name="x")
    a = graphdl.exp(x, name="a")
    b = graphdl.exp(x, name="b")
    program = program_for([a, b], [x])
    merged, changes = eliminate_common_subexpressions(program)
    assert changes == ["b -> a (Exp)"]
    assert op_types(merged) == {"Exp": 1}
    values = assert_same_results(program, merged, [X])
    np.testing.assert_allclose(values[1], np.exp(X), rtol=1e-6)


def test_different_attrs_are_not_merged():
    a = graphdl.placeholder(graphdl.float32, [3, 3], name="a")
    b = graphdl.placeholder(graphdl.float32, [3, 3], name="b")
    plain = graphdl.matmul(a, b)
    transposed = graphdl.matmul(a, b, transpose_a=True)
    program = program_for([plain + transposed], [a, b])
    merged, changes = eliminate_common_subexpressions(program)
    assert changes == []
    assert op_types(merged)["MatMul"] == 2
    assert sorted(op.attrs["transpose_a"] for op in merged.ops if op.type == "MatMul") == [False, True]
    rng = np.random.default_rng(0)
    assert_same_results(program, merged, [rng.normal(size=(3, 3)), rng.normal(size=(3, 3))], rtol=1e-6)


def test_different_inputs_are_not_merged():
    x = graphdl.placeholder(graphdl.float32, [3], name="x")
    y = graphdl.placeholder(graphdl.float32, [3], name="y")
    program = program_for([graphdl.exp(x) + graphdl.exp(y)], [x, y])
    merged, changes = eliminate_common_subexpressions(program)
    assert changes == []
    assert op_types(merged)["Exp"] == 2


def test_seeded_random_ops_are_never_merged():
    r1 = graphdl.random_normal([4], seed=5, name="r1")
    r2 = graphdl.random_normal([4], seed=5, name="r2")
    program = program_for([r1, r2])
    merged, changes = eliminate_common_subexpressions(program)
    assert op_types(merged)["RandomStandardNormal"] == 2
    assert not any("Random" in c for c in changes)
    # The shape/mean/stddev constants are shared; the scaled draws are not.
    assert op_types(merged)["Mul"] == 2 and op_types(merged)["AddV2"] == 2
    assert op_types(merged)["Const"] < op_types(program)["Const"]
    values = assert_same_results(program, merged)
    state = SessionState()
    again = run(merged, [], state)
    np.testing.assert_array_equal(again[0], values[0])
    np.testing.assert_array_equal(again[1], values[1])


def test_variable_updates_are_never_merged():
    v = graphdl.Variable(0.0, name="v")
    first = graphdl.assign_add(v, 1.0, name="first")
    second = graphdl.assign_add(v, 1.0, name="second")
    program = program_for([], [], [first, second])
    merged, _ = eliminate_common_subexpressions(program)
    assert op_types(merged)["AssignAdd"] == 2
    state = initialized_state()
    run(merged, [], state)
    assert state.variables["v"] == 2.0


def test_constants_with_equal_values_are_merged():
    a = graphdl.constant([1.0, 2.0], name="a")
    b = graphdl.constant([1.0, 2.0], name="b")
    c = graphdl.constant([1.0, 3.0], name="c")
    program = program_for([a + b + c])
    merged, changes = eliminate_common_subexpressions(program)
    assert "b -> a (Const)" in changes
    assert op_types(merged)["Const"] == 2
    assert_same_results(program, merged)


def test_constants_differing_in_dtype_or_sign_of_zero_are_not_merged():
    f32 = graphdl.constant(1.0, dtype=graphdl.float32, name="f32")
    f64 = graphdl.constant(1.0, dtype=graphdl.float64, name="f64")
    zero = graphdl.constant(0.0, name="zero")
    neg_zero = graphdl.constant(-0.0, name="neg_zero")
    quotient = graphdl.divide(1.0, zero) - graphdl.divide(1.0, neg_zero)  # inf - (-inf)
    program = program_for([f32, f64, quotient])
    merged, changes = eliminate_common_subexpressions(program)
    assert not any(c.startswith(("f64", "neg_zero")) for c in changes)
    values = assert_same_results(program, merged)
    assert values[2] == np.inf


def test_ops_with_control_dependencies_are_not_merged():
    v = graphdl.Variable(1.0, name="v")
    x = graphdl.placeholder(graphdl.float32, [], name="x")
    before = graphdl.multiply(x, 2.0, name="before")
    bump = graphdl.assign_add(v, 1.0, name="bump")
    with graphdl.control_dependencies([bump]):
        after = graphdl.multiply(x, 2.0, name="after")
    program = program_for([before, after], [x])
    merged, changes = eliminate_common_subexpressions(program)
    assert not any(c.startswith("after") for c in changes)
    assert {"before", "after", "bump"} <= op_names(merged)
    state = initialized_state()
    assert run(merged, [np.float32(3.0)], state) == [6.0, 6.0]
    assert state.variables["v"] == 2.0


def test_merged_op_used_as_control_input_still_orders_the_update():
    v = graphdl.Variable(1.0, name="v")
    r1 = graphdl.multiply(v, 10.0, name="r1")
    r2 = graphdl.multiply(v, 10.0, name="r2")
    with graphdl.control_dependencies([r2]):
        bump = graphdl.assign_add(v, 1.0, name="bump")
    program = program_for([r1, r2], [], [bump])
    merged, changes = eliminate_common_subexpressions(program)
    assert "r2 -> r1 (Mul)" in changes
    bump_new = next(op for op in merged.ops if op.name == "bump")
    assert [c.name for c in bump_new.control_inputs] == ["r1"]
    state = initialized_state()
    values = assert_same_results(program, merged, state=state)
    assert values == [10.0, 10.0]


def test_variable_reads_of_one_variable_are_merged_without_changing_values():
    v = graphdl.Variable(np.array([1.0, -2.0], np.float32), name="v")
    y = graphdl.square(v) + graphdl.square(v)
    program = program_for([y])
    merged, _ = eliminate_common_subexpressions(program)
    assert op_types(merged)["Square"] == 1
    values = assert_same_results(program, merged, state=initialized_state())
    np.testing.assert_array_equal(values[0], [2.0, 8.0])


def test_cse_merges_whole_duplicated_gradient_graphs():
    x = graphdl.placeholder(graphdl.float32, [2, 3], name="x")
    w = graphdl.Variable(np.ones((3, 2), np.float32), name="w")
    loss = graphdl.reduce_sum(graphdl.tanh(graphdl.matmul(x, w)))
    (g1,) = graphdl.gradients(loss, [w])
    (g2,) = graphdl.gradients(loss, [w])
    program = program_for([g1, g2], [x])
    merged, _ = eliminate_common_subexpressions(program)
    assert op_types(merged)["MatMul"] == 2  # the forward product and one gradient product
    assert op_types(program)["MatMul"] == 3
    assert len(merged.ops) < len(program.ops)
    assert merged.fetches[0] is merged.fetches[1]
    assert_same_results(program, merged, [X], state=initialized_state())


def test_fed_tensor_is_not_merged_with_an_identical_computed_one():
    x = graphdl.placeholder(graphdl.float32, [3], name="x")
    fed = graphdl.exp(x, name="fed")
    computed = graphdl.exp(x, name="computed")
    program = program_for([fed + computed], [x, fed])
    merged, changes = eliminate_common_subexpressions(program)
    assert changes == []
    x_value = np.zeros(3, np.float32)
    values = assert_same_results(program, merged, [x_value, np.full(3, 5.0, np.float32)])
    np.testing.assert_array_equal(values[0], [6.0, 6.0, 6.0])
