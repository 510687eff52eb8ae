"""Sums of per-step products and reductions (an unrolled RNN's weight and bias gradients) become one op each."""

import numpy as np
import pytest

import graphdl
from graphdl.passes.algebraic_simplification import simplify_algebra
from graphdl.passes.pipeline import optimize
from passes.pass_helpers import assert_same_results, initialized_state, op_types, program_for


@pytest.mark.parametrize("transpose_a, transpose_b", [(True, False), (False, True), (False, False), (True, True)])
def test_sum_of_products_becomes_one_product_of_concatenations(transpose_a, transpose_b):
    rng = np.random.default_rng(0)
    steps, m, k, n = 4, 6, 3, 5
    a_values = [rng.normal(size=(k, m) if transpose_a else (m, k)).astype(np.float32) for _ in range(steps)]
    b_values = [rng.normal(size=(n, k) if transpose_b else (k, n)).astype(np.float32) for _ in range(steps)]
    a = [graphdl.placeholder(graphdl.float32, v.shape, name=f"a{i}") for i, v in enumerate(a_values)]
    b = [graphdl.placeholder(graphdl.float32, v.shape, name=f"b{i}") for i, v in enumerate(b_values)]
    total = graphdl.add_n([graphdl.matmul(x, y, transpose_a=transpose_a, transpose_b=transpose_b)
                           for x, y in zip(a, b)])
    program = program_for([total], a + b)
    simplified, changes = simplify_algebra(program)
    assert any("(AddN) ->" in c for c in changes)
    types = op_types(simplified)
    assert types["MatMul"] == 1 and types["AddN"] == 0 and types["ConcatV2"] == 2
    expected = assert_same_results(program, simplified, a_values + b_values, rtol=1e-5, atol=1e-5)
    want = sum((x.T if transpose_a else x) @ (y.T if transpose_b else y) for x, y in zip(a_values, b_values))
    np.testing.assert_allclose(expected[0], want, rtol=1e-5, atol=1e-5)


def test_products_read_elsewhere_or_with_mixed_flags_are_kept():
    a = graphdl.placeholder(graphdl.float32, [3, 4], name="a")
    b = graphdl.placeholder(graphdl.float32, [4, 3], name="b")
    p1, p2 = graphdl.matmul(a, b), graphdl.matmul(b, a, transpose_a=True, transpose_b=True)
    mixed = graphdl.add_n([p1, p2])
    shared = graphdl.add_n([graphdl.matmul(a, b), graphdl.matmul(a * 2.0, b)])
    program = program_for([mixed, shared, graphdl.reduce_sum(shared.op.inputs[0])], [a, b])
    simplified, _ = simplify_algebra(program)
    assert op_types(simplified)["AddN"] == 2


def test_products_over_a_long_contracted_axis_are_kept():
    # 2 x 1000 @ 1000 x 2 per term: concatenating the operands moves far more memory than adding 2 x 2 results
    a = [graphdl.placeholder(graphdl.float32, [2, 1000], name=f"a{i}") for i in range(3)]
    b = [graphdl.placeholder(graphdl.float32, [1000, 2], name=f"b{i}") for i in range(3)]
    program = program_for([graphdl.add_n([graphdl.matmul(x, y) for x, y in zip(a, b)])], a + b)
    simplified, _ = simplify_algebra(program)
    assert op_types(simplified)["MatMul"] == 3


def test_sum_of_reductions_over_the_same_axes_becomes_one_reduction():
    rng = np.random.default_rng(1)
    values = [rng.normal(size=(3, 4)).astype(np.float32) for _ in range(3)]
    xs = [graphdl.placeholder(graphdl.float32, [3, 4], name=f"x{i}") for i in range(3)]
    total = graphdl.add_n([graphdl.reduce_sum(x, axis=0) for x in xs])
    other_axes = graphdl.add_n([graphdl.reduce_sum(xs[0], axis=0), graphdl.reduce_sum(graphdl.transpose(xs[1]), axis=1)])
    program = program_for([total, other_axes], xs)
    simplified, _ = simplify_algebra(program)
    assert op_types(simplified)["Sum"] == 3 and op_types(simplified)["AddN"] == 1
    expected = assert_same_results(program, simplified, values, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(expected[0], sum(v.sum(axis=0) for v in values), rtol=1e-6)


def test_unrolled_lstm_gradients_use_one_weight_product_and_one_shared_concatenation():
    steps, batch, inputs, units = 5, 3, 2, 4
    rng = np.random.default_rng(2)
    x = graphdl.placeholder(graphdl.float32, [batch, steps, inputs], name="x")
    cell = graphdl.nn.rnn_cell.BasicLSTMCell(units)
    # Unrolled by hand (static_rnn would run this plain LSTM as one BlockLSTMRecurrence op).
    state = cell.zero_state(batch, graphdl.float32)
    for x_t in graphdl.unstack(x, axis=1):
        output, state = cell(x_t, state)
    loss = graphdl.reduce_sum(graphdl.square(output))
    grads = graphdl.gradients(loss, cell.trainable_variables)
    program = program_for(grads, [x])
    optimized, _ = optimize(program)
    types = op_types(optimized)
    # one product per step forwards and backwards (the h part), one for the whole weight gradient
    assert types["MatMul"] == 2 * steps - 1 + 1
    assert types["AddN"] == 0
    state = initialized_state()
    assert_same_results(program, optimized, [rng.normal(size=(batch, steps, inputs)).astype(np.float32)],
                        state=state, rtol=1e-5, atol=1e-6)
