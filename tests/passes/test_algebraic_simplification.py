"""Algebraic simplification: identities removed, transposes folded, and only where exactly equivalent."""

import numpy as np
import pytest

import graphdl
from graphdl.ops.nn_ops import relu_grad
from graphdl.ops.pool_ops import max_pool_grad
from graphdl.passes.algebraic_simplification import simplify_algebra
from passes.pass_helpers import (
    assert_pure_pass,
    assert_same_results,
    initialized_state,
    op_names,
    op_types,
    program_for,
    run,
)

X = np.array([[0.5, -1.0, 2.0], [3.0, 0.25, -0.75]], np.float32)


def _x(shape=(2, 3)):
    return graphdl.placeholder(graphdl.float32, shape, name="x")


@pytest.mark.parametrize(
    "build, op_type",
    [
        (lambda t: t * 1.0, "Mul"),
        (lambda t: 1.0 * t, "Mul"),
        (lambda t: t * graphdl.ones([2, 3]), "Mul"),
        (lambda t: t + 0.0, "AddV2"),
        (lambda t: 0.0 + t, "AddV2"),
        (lambda t: t - 0.0, "Sub"),
        (lambda t: t / 1.0, "RealDiv"),
    ],
    ids=["x*1", "1*x", "x*ones", "x+0", "0+x", "x-0", "x/1"],
)
def test_neutral_operands_are_removed(build, op_type):
    x = _x()
    t = graphdl.tanh(x, name="t")
    y = graphdl.exp(build(t), name="y")
    program = program_for([y], [x])
    simplified, changes = assert_pure_pass(simplify_algebra, program)
    assert op_type not in op_types(simplified)
    assert op_types(simplified) == {"Tanh": 1, "Exp": 1}
    assert len(changes) == 1 and changes[0].endswith("-> t (Tanh)")
    # exp now reads tanh directly.
    assert simplified.fetches[0].op.inputs[0].op.type == "Tanh"
    assert_same_results(program, simplified, [X])


@pytest.mark.parametrize(
    "build",
    [lambda t: 0.0 - t, lambda t: 1.0 / t, lambda t: t * 2.0, lambda t: t + 1.0],
    ids=["0-x", "1/x", "x*2", "x+1"],
)
def test_non_neutral_operands_are_kept(build):
    x = _x()
    y = build(graphdl.tanh(x) + 2.0)
    program = program_for([y], [x])
    simplified, _ = simplify_algebra(program)
    assert op_types(simplified) == op_types(program)
    assert_same_results(program, simplified, [X])


def test_neutral_operand_that_broadcasts_to_a_bigger_shape_is_kept():
    x = _x()
    y = x * graphdl.ones([4, 2, 3])
    z = x + graphdl.zeros([2, 1, 1])
    program = program_for([y, z], [x])
    simplified, changes = simplify_algebra(program)
    assert changes == []
    assert op_types(simplified)["Mul"] == 1 and op_types(simplified)["AddV2"] == 1
    values = assert_same_results(program, simplified, [X])
    assert values[0].shape == (4, 2, 3) and values[1].shape == (2, 2, 3)


def test_neutral_operand_that_changes_dtype_is_kept():
    x = graphdl.placeholder(graphdl.float32, [3], name="x")
    # float32 * float64 ones is not valid; an int32 operand cast to float32 then multiplied is fine.
    y = x * graphdl.cast(graphdl.ones([3], dtype=graphdl.int32), graphdl.float32)
    program = program_for([y], [x])
    simplified, _ = simplify_algebra(program)
    assert_same_results(program, simplified, [X[0]])


def test_neutral_operand_with_unknown_shapes_is_kept():
    unknown_rank = graphdl.placeholder(graphdl.float32, name="u")
    unknown_dim = graphdl.placeholder(graphdl.float32, [None], name="d")
    a = unknown_rank * 1.0
    # (None,) + zeros(3): x could have 1 element, broadcast to 3; x alone would not be 3 long.
    b = unknown_dim + graphdl.zeros([3])
    program = program_for([a, b], [unknown_rank, unknown_dim])
    simplified, changes = simplify_algebra(program)
    assert changes == []
    assert op_types(simplified) == {"Mul": 1, "AddV2": 1, "Const": 2}
    values = assert_same_results(program, simplified, [X, np.array([5.0], np.float32)])
    np.testing.assert_array_equal(values[1], [5.0, 5.0, 5.0])


def test_self_subtraction_becomes_zeros():
    x = _x()
    t = graphdl.tanh(x, name="t")
    d = graphdl.subtract(t, t, name="d")
    total = graphdl.reduce_sum(t)
    s = graphdl.subtract(total, total, name="scalar")
    program = program_for([d, s], [x])
    simplified, changes = simplify_algebra(program)
    assert "Sub" not in op_types(simplified)
    assert "d (Sub) -> d/zeros (Const)" in changes
    values = assert_same_results(program, simplified, [X])
    np.testing.assert_array_equal(values[0], np.zeros((2, 3), np.float32))
    assert values[1] == 0.0 and values[1].shape == ()


def test_self_subtraction_of_a_fed_placeholder_becomes_zeros():
    x = _x()
    program = program_for([x - x], [x])
    simplified, _ = simplify_algebra(program)
    assert op_types(simplified) == {"Const": 1}
    assert_same_results(program, simplified, [X])


def test_self_subtraction_keeps_stateful_computations():
    v = graphdl.Variable([1.0, 2.0], name="v")
    assigned = graphdl.assign(v, [5.0, 6.0], name="assign")
    a = assigned * 2.0
    r = graphdl.random_normal([2], seed=4, name="r")
    program = program_for([a - a, r - r])
    simplified, changes = simplify_algebra(program)
    assert not any("Sub" in c for c in changes)
    assert op_types(simplified)["Assign"] == 1 and op_types(simplified)["Sub"] == 2
    state = initialized_state()
    assert_same_results(program, simplified, state=state)
    run(simplified, [], state)
    np.testing.assert_array_equal(state.variables["v"], [5.0, 6.0])


def test_self_subtraction_with_unknown_shape_is_kept():
    x = _x([None, 3])
    t = graphdl.tanh(x)
    program = program_for([t - t], [x])
    simplified, _ = simplify_algebra(program)
    assert op_types(simplified)["Sub"] == 1
    assert run(simplified, [X])[0].shape == (2, 3)


def test_double_negation_is_removed():
    x = _x()
    t = graphdl.tanh(x, name="t")
    y = graphdl.exp(graphdl.negative(graphdl.negative(t)), name="y")
    program = program_for([y], [x])
    simplified, changes = simplify_algebra(program)
    assert "Neg" not in op_types(simplified)
    assert op_types(simplified) == {"Tanh": 1, "Exp": 1}
    assert any(c.endswith("-> t (Tanh)") for c in changes)
    assert_same_results(program, simplified, [X])


def test_double_negation_keeps_a_control_dependency():
    v = graphdl.Variable(1.0, name="v")
    bump = graphdl.assign_add(v, 1.0, name="bump")
    x = _x()
    with graphdl.control_dependencies([bump]):
        inner = graphdl.negative(x, name="inner")
    y = graphdl.negative(inner, name="outer")
    program = program_for([y], [x])
    simplified, changes = simplify_algebra(program)
    assert changes == []
    assert {"inner", "outer", "bump"} <= op_names(simplified)
    state = initialized_state()
    np.testing.assert_array_equal(run(simplified, [X], state)[0], X)
    assert state.variables["v"] == 2.0


def test_inverse_transposes_cancel():
    x = graphdl.placeholder(graphdl.float32, [2, 3, 4], name="x")
    t = graphdl.transpose(graphdl.transpose(x, [1, 2, 0]), [2, 0, 1])
    y = graphdl.exp(t, name="y")
    program = program_for([y], [x])
    assert op_types(program)["Transpose"] == 2
    simplified, _ = simplify_algebra(program)
    assert "Transpose" not in op_types(simplified)
    assert simplified.fetches[0].op.inputs[0] is simplified.feeds[0]
    assert_same_results(program, simplified, [np.arange(24, dtype=np.float32).reshape(2, 3, 4)])


def test_transpose_chain_becomes_one_transpose():
    x = graphdl.placeholder(graphdl.float32, [2, 3, 4], name="x")
    t = graphdl.transpose(graphdl.transpose(x, [1, 0, 2]), [0, 2, 1], name="outer")
    program = program_for([t], [x])
    simplified, _ = simplify_algebra(program)
    assert op_types(simplified)["Transpose"] == 1
    transpose = next(op for op in simplified.ops if op.type == "Transpose")
    assert transpose.name == "outer"
    assert transpose.inputs[0] is simplified.feeds[0]
    np.testing.assert_array_equal(transpose.inputs[1].op.attrs["value"], [1, 2, 0])
    values = assert_same_results(program, simplified, [np.arange(24, dtype=np.float32).reshape(2, 3, 4)])
    assert values[0].shape == (3, 4, 2)


def test_identity_transpose_is_removed():
    x = _x()
    y = graphdl.transpose(x, [0, 1]) * 3.0
    program = program_for([y], [x])
    simplified, _ = simplify_algebra(program)
    assert "Transpose" not in op_types(simplified)
    assert_same_results(program, simplified, [X])


def test_reshape_chain_becomes_one_reshape():
    x = graphdl.placeholder(graphdl.float32, [2, 6], name="x")
    r = graphdl.reshape(graphdl.reshape(graphdl.reshape(x, [12]), [3, 4]), [4, 3], name="last")
    program = program_for([r], [x])
    assert op_types(program)["Reshape"] == 3
    simplified, _ = simplify_algebra(program)
    assert op_types(simplified)["Reshape"] == 1
    reshape = next(op for op in simplified.ops if op.type == "Reshape")
    assert reshape.name == "last" and reshape.inputs[0] is simplified.feeds[0]
    assert_same_results(program, simplified, [np.arange(12, dtype=np.float32).reshape(2, 6)])


def test_reshape_to_the_same_static_shape_is_removed():
    x = _x()
    y = graphdl.exp(graphdl.reshape(graphdl.tanh(x), [2, 3]))
    program = program_for([y], [x])
    simplified, _ = simplify_algebra(program)
    assert "Reshape" not in op_types(simplified)
    assert_same_results(program, simplified, [X])


def test_reshape_with_unknown_dims_is_kept():
    x = _x([None, 3])
    y = graphdl.reshape(x, [-1, 3])
    program = program_for([y], [x])
    simplified, _ = simplify_algebra(program)
    assert op_types(simplified)["Reshape"] == 1
    assert_same_results(program, simplified, [X])


def test_identities_are_removed():
    x = _x()
    t = graphdl.tanh(x, name="t")
    y = graphdl.exp(graphdl.identity(graphdl.stop_gradient(graphdl.identity(t))), name="y")
    program = program_for([y], [x])
    simplified, changes = simplify_algebra(program)
    assert op_types(simplified) == {"Tanh": 1, "Exp": 1}
    assert len(changes) == 3
    assert_same_results(program, simplified, [X])


def test_identity_with_control_dependencies_is_kept():
    v = graphdl.Variable(1.0, name="v")
    bump = graphdl.assign_add(v, 1.0, name="bump")
    x = _x()
    with graphdl.control_dependencies([bump]):
        y = graphdl.identity(x, name="y")
    program = program_for([y], [x])
    simplified, changes = simplify_algebra(program)
    assert changes == []
    state = initialized_state()
    run(simplified, [X], state)
    assert state.variables["v"] == 2.0


def test_identity_of_a_fed_placeholder_used_as_control_input_or_target():
    x = _x()
    i = graphdl.identity(x, name="i")
    with graphdl.control_dependencies([i]):
        y = graphdl.constant([1.0, 2.0]) * 3.0
    program = program_for([y], [x], [i])
    simplified, _ = simplify_algebra(program)
    np.testing.assert_array_equal(run(simplified, [X])[0], [3.0, 6.0])


def test_variable_read_is_not_replaced_by_the_variable():
    # A read fetched together with an update that runs after it must show the old value.
    v = graphdl.Variable([1.0, 2.0], name="v")
    read = graphdl.identity(v.read_value(), name="read")
    with graphdl.control_dependencies([read]):
        bump = graphdl.assign_add(v, [1.0, 1.0], name="bump")
    program = program_for([read, v.value() * 1.0], [], [bump])
    simplified, _ = simplify_algebra(program)
    assert not any(t.op.type == "VariableV2" for t in simplified.fetches)
    values = assert_same_results(program, simplified, state=initialized_state())
    np.testing.assert_array_equal(values[0], [1.0, 2.0])


def test_transpose_of_a_variable_is_not_bypassed():
    # Reading through the inner transpose would move the variable read after the update.
    v = graphdl.Variable(np.arange(6, dtype=np.float32).reshape(2, 3), name="v")
    inner = graphdl.transpose(v._ref(), [1, 0], name="inner")
    with graphdl.control_dependencies([inner]):
        bump = graphdl.assign_add(v, np.ones((2, 3), np.float32), name="bump")
    outer = graphdl.transpose(inner, [1, 0], name="outer")
    program = program_for([outer], [], [bump])
    simplified, _ = simplify_algebra(program)
    values = assert_same_results(program, simplified, state=initialized_state())
    np.testing.assert_array_equal(values[0], np.arange(6).reshape(2, 3))


def test_transposes_fold_into_matmul_flags():
    a = graphdl.placeholder(graphdl.float32, [3, 2], name="a")
    b = graphdl.placeholder(graphdl.float32, [4, 3], name="b")
    c = graphdl.placeholder(graphdl.float32, [2, 5], name="c")
    y = graphdl.matmul(graphdl.transpose(a), graphdl.transpose(b), name="y")
    # transpose_b=True on an explicit transpose cancels out.
    z = graphdl.matmul(a, graphdl.transpose(c), transpose_b=True, name="z")
    program = program_for([y, graphdl.exp(z)], [a, b, c])
    assert op_types(program)["Transpose"] == 3
    simplified, changes = simplify_algebra(program)
    types = op_types(simplified)
    assert types["MatMul"] == 2 and "Transpose" not in types
    assert "y (MatMul) -> y (MatMul)" in changes
    matmuls = {op.name: op for op in simplified.ops if op.type == "MatMul"}
    assert (matmuls["y"].attrs["transpose_a"], matmuls["y"].attrs["transpose_b"]) == (True, True)
    assert (matmuls["z"].attrs["transpose_a"], matmuls["z"].attrs["transpose_b"]) == (False, False)
    assert [t.op.name for t in matmuls["y"].inputs] == ["a", "b"]
    assert [t.op.name for t in matmuls["z"].inputs] == ["a", "c"]
    rng = np.random.default_rng(1)
    feeds = [rng.normal(size=(3, 2)), rng.normal(size=(4, 3)), rng.normal(size=(2, 5))]
    assert_same_results(program, simplified, feeds, rtol=1e-6)


def test_fetched_transpose_folded_into_matmul_is_still_computed():
    a = graphdl.placeholder(graphdl.float32, [3, 2], name="a")
    t = graphdl.transpose(a, [1, 0])
    y = graphdl.matmul(t, a)
    program = program_for([y, t], [a])
    simplified, _ = simplify_algebra(program)
    matmul = next(op for op in simplified.ops if op.type == "MatMul")
    assert matmul.attrs["transpose_a"] is True
    # The fetched transpose itself is still computed.
    assert op_types(simplified)["Transpose"] == 1
    assert_same_results(program, simplified, [np.arange(6, dtype=np.float32).reshape(3, 2)])


def test_cast_to_the_same_dtype_is_removed():
    x = _x()
    same = graphdl.cast(graphdl.tanh(x), graphdl.float32, name="same")
    other = graphdl.cast(same, graphdl.int32, name="other")
    program = program_for([other, same], [x])
    assert op_types(program)["Cast"] == 2
    simplified, changes = simplify_algebra(program)
    assert op_types(simplified)["Cast"] == 1
    assert "same (Cast) -> Tanh (Tanh)" in changes
    assert_same_results(program, simplified, [X * 3])


def test_stateful_ops_are_untouched():
    v = graphdl.Variable([1.0, 2.0], name="v")
    r = graphdl.random_normal([2], seed=11, name="r")
    update = graphdl.assign_add(v, r * 1.0, name="update")
    y = graphdl.identity(update) + 0.0
    program = program_for([y])
    simplified, _ = simplify_algebra(program)
    types = op_types(simplified)
    assert types["RandomStandardNormal"] == 1 and types["AssignAdd"] == 1
    assert_same_results(program, simplified, state=initialized_state())


def test_fetched_intermediates_keep_their_values():
    x = _x()
    t = graphdl.tanh(x, name="t")
    one = t * 1.0
    two = graphdl.identity(one)
    program = program_for([t, one, two], [x])
    simplified, _ = simplify_algebra(program)
    assert op_types(simplified) == {"Tanh": 1}
    assert_same_results(program, simplified, [X])


@pytest.mark.parametrize("transpose_a, transpose_b, axis", [(False, True, 1), (False, False, 1), (True, False, 0),
                                                             (False, False, 0)])
def test_unread_part_of_a_split_matmul_is_not_computed(transpose_a, transpose_b, axis):
    rng = np.random.default_rng(3)
    a_value = rng.normal(size=(5, 4) if transpose_a else (4, 5)).astype(np.float32)
    b_value = rng.normal(size=(6, 5) if transpose_b else (5, 6)).astype(np.float32)
    a = graphdl.placeholder(graphdl.float32, a_value.shape, name="a")
    b = graphdl.placeholder(graphdl.float32, b_value.shape, name="b")
    product = graphdl.matmul(a, b, transpose_a=transpose_a, transpose_b=transpose_b)
    sizes = [1, 3] if axis == 0 else [2, 4]
    _, wanted = graphdl.split(product, sizes, axis=axis)  # as the gradient of concat([x, h]) when only h's is read
    program = program_for([graphdl.tanh(wanted)], [a, b])
    simplified, changes = simplify_algebra(program)
    assert any("(SplitV) ->" in c for c in changes)
    assert "SplitV" not in op_types(simplified) and op_types(simplified)["MatMul"] == 1
    matmul = next(op for op in simplified.ops if op.type == "MatMul")
    assert matmul.outputs[0].shape.as_list() == ([3, 6] if axis == 0 else [4, 4])
    assert_same_results(program, simplified, [a_value, b_value], rtol=1e-6, atol=1e-6)


def test_split_matmul_whose_parts_are_all_read_is_kept():
    a = graphdl.placeholder(graphdl.float32, [4, 5], name="a")
    b = graphdl.placeholder(graphdl.float32, [5, 6], name="b")
    left, right = graphdl.split(graphdl.matmul(a, b), [2, 4], axis=1)
    program = program_for([left, graphdl.tanh(right)], [a, b])
    simplified, _ = simplify_algebra(program)
    assert op_types(simplified)["SplitV"] == 1 and op_types(simplified)["MatMul"] == 1


def test_split_of_a_matmul_read_elsewhere_is_kept():
    a = graphdl.placeholder(graphdl.float32, [4, 5], name="a")
    b = graphdl.placeholder(graphdl.float32, [5, 6], name="b")
    product = graphdl.matmul(a, b)
    _, right = graphdl.split(product, [2, 4], axis=1)
    program = program_for([right, graphdl.reduce_sum(product)], [a, b])
    simplified, _ = simplify_algebra(program)
    assert op_types(simplified)["SplitV"] == 1 and op_types(simplified)["MatMul"] == 1


def _relu_pool_gradient(shape, ksize, strides, padding, data_format="NHWC", activation=graphdl.nn.relu, extra=False):
    z = graphdl.placeholder(graphdl.float32, shape, name="z")
    dy = graphdl.placeholder(graphdl.float32, None, name="dy")
    pooled = graphdl.nn.max_pool(activation(z), ksize, strides, padding, data_format=data_format)
    (dz,) = graphdl.gradients(pooled, [z], grad_ys=[dy])
    fetches = [dz]
    if extra:  # the pool gradient itself is read too: the mask stays where it was
        fetches.append(graphdl.get_default_graph().get_operation_by_name("gradients/MaxPool_grad/MaxPoolGrad").outputs[0])
    return program_for(fetches, [z, dy]), pooled.shape.as_list()


@pytest.mark.parametrize("shape, ksize, strides, padding, data_format, activation", [
    ((2, 6, 6, 3), 2, 2, "VALID", "NHWC", graphdl.nn.relu),
    ((2, 7, 5, 3), 3, 2, "SAME", "NHWC", graphdl.nn.relu),  # overlapping windows, padding
    ((2, 3, 6, 6), 2, 2, "VALID", "NCHW", graphdl.nn.relu),
    ((1, 5, 5, 2), 2, 1, "VALID", "NHWC", graphdl.nn.relu6),
])
def test_relu_mask_moves_before_the_max_pool_gradient(shape, ksize, strides, padding, data_format, activation):
    program, pooled_shape = _relu_pool_gradient(shape, ksize, strides, padding, data_format, activation)
    simplified, changes = simplify_algebra(program)
    mask = next(op for op in simplified.ops if op.type == ("ReluGrad" if activation is graphdl.nn.relu else "Relu6Grad"))
    assert mask.outputs[0].shape.as_list() == pooled_shape  # the mask now runs on the pooled tensor
    assert mask.inputs[1].op.type == "MaxPool"
    assert simplified.fetches[0].op.type == "MaxPoolGrad" and len(changes) == 1
    rng = np.random.default_rng(3)
    # Rounded values: many ties inside windows and many zeros after the ReLU (and values above 6 for relu6).
    z = np.round(rng.normal(size=shape) * 4).astype(np.float32)
    dy = rng.normal(size=pooled_shape).astype(np.float32)
    values = assert_same_results(program, simplified, [z, dy])
    assert np.count_nonzero(values[0]) > 0


def test_relu_mask_stays_when_the_pool_gradient_is_read_elsewhere():
    program, _ = _relu_pool_gradient((1, 4, 4, 2), 2, 2, "VALID", extra=True)
    simplified, changes = simplify_algebra(program)
    assert not changes
    assert op_types(simplified)["MaxPoolGrad"] == 1


def test_relu_mask_of_another_tensor_stays():
    z = graphdl.placeholder(graphdl.float32, (1, 4, 4, 2), name="z")
    dy = graphdl.placeholder(graphdl.float32, (1, 2, 2, 2), name="dy")
    u = graphdl.placeholder(graphdl.float32, (1, 4, 4, 2), name="u")
    r = graphdl.nn.relu(z)
    pool_grad = max_pool_grad(r, graphdl.nn.max_pool(r, 2, 2, "VALID"), dy, [1, 2, 2, 1], [1, 2, 2, 1], "VALID")
    simplified, changes = simplify_algebra(program_for([relu_grad(pool_grad, u)], [z, dy, u]))
    assert not changes
    # The mask of the pre-activation z is the mask of r = relu(z): that one moves.
    program = program_for([relu_grad(pool_grad, z, name="of_z")], [z, dy, u])
    simplified, changes = simplify_algebra(program)
    assert len(changes) == 1
    z_value = np.round(np.random.default_rng(5).normal(size=(1, 4, 4, 2)) * 3).astype(np.float32)
    assert_same_results(program, simplified, [z_value, np.ones((1, 2, 2, 2), np.float32), z_value])
