"""Elementwise fusion: groups of elementwise ops become one FusedElementwise op with the same results."""

import numpy as np
import pytest
from graphdl.backends.numba_cpu.scalar_ops import is_fusible

import graphdl
from graphdl.passes.elementwise_fusion import find_groups, fuse_elementwise
from graphdl.passes.pipeline import get_pass, optimize
from passes.pass_helpers import (
    assert_pure_pass,
    assert_same_results,
    copy_state,
    initialized_state,
    op_types,
    program_for,
    run,
)

RNG = np.random.default_rng(42)
X45 = RNG.normal(size=(4, 5)).astype(np.float32)


def fuse(program, **kwargs):
    return assert_pure_pass(lambda p: fuse_elementwise(p, is_fusible, **kwargs), program)


def kernels(program):
    return [op for op in program.ops if op.type == "FusedElementwise"]


def members(kernel):
    return [ins.op_type for ins in kernel.attrs["instructions"]]


def w4(x):
    return graphdl.sigmoid(x * 1.5 + 0.5) * graphdl.tanh(x) + graphdl.nn.relu(x - 0.25)


def test_w4_expression_becomes_one_kernel():
    x = graphdl.placeholder(graphdl.float32, [4, 5], name="x")
    y = w4(x)
    program = program_for([y], [x])
    assert len(program.ops) == 11  # 8 elementwise ops and 3 constants
    fused, changes = fuse(program)
    (kernel,) = kernels(fused)
    assert op_types(fused) == {"FusedElementwise": 1, "Const": 3}
    assert sorted(members(kernel)) == sorted(["Mul", "AddV2", "Sigmoid", "Tanh", "Mul", "Sub", "Relu", "AddV2"])
    assert len(kernel.attrs["members"]) == 8
    assert kernel.attrs["output_shape"] == (4, 5)
    # x is one input however many members read it; the constants are the other inputs.
    assert [t.shape.as_tuple() for t in kernel.inputs].count((4, 5)) == 1
    assert kernel.inputs[0] is fused.feeds[0]
    assert len(changes) == 1 and changes[0].startswith(f"{kernel.name}: ")
    assert fused.fetches[0] is kernel.outputs[0]
    values = assert_same_results(program, fused, [X45])
    expected = 1 / (1 + np.exp(-(X45 * 1.5 + 0.5))) * np.tanh(X45) + np.maximum(X45 - 0.25, 0)
    np.testing.assert_allclose(values[0], expected, rtol=1e-5, atol=1e-6)


def test_w4_with_unknown_dims_fuses_and_runs_on_any_batch():
    x = graphdl.placeholder(graphdl.float32, [None, None], name="x")
    program = program_for([w4(x)], [x])
    fused, _ = fuse(program)
    assert op_types(fused)["FusedElementwise"] == 1
    assert fused.fetches[0].shape.as_tuple() == (None, None)
    for shape in [(1, 1), (3, 7), (0, 2)]:
        assert_same_results(program, fused, [RNG.normal(size=shape).astype(np.float32)])


def test_unknown_rank_is_not_fused():
    x = graphdl.placeholder(graphdl.float32, name="x")
    program = program_for([graphdl.exp(x) + 1.0], [x])
    fused, changes = fuse(program)
    assert changes == [] and not kernels(fused)
    assert_same_results(program, fused, [X45])


def test_broadcast_operands_stay_kernel_inputs():
    x = graphdl.placeholder(graphdl.float32, [4, 5], name="x")
    bias = graphdl.placeholder(graphdl.float32, [5], name="bias")
    row_scale = graphdl.reduce_sum(x, axis=1, keepdims=True, name="row_scale")  # (4, 1), not elementwise
    column = graphdl.exp(row_scale, name="column")  # elementwise, but (4, 1): its own kernel
    y = graphdl.nn.relu(x * column + bias) * 0.5 - 2.0
    program = program_for([y], [x, bias])
    fused, _ = fuse(program)
    by_root = {k.attrs["members"][-1]: k for k in kernels(fused)}
    assert set(by_root) == {"column", "sub"}
    assert members(by_root["column"]) == ["Exp"]
    main = by_root["sub"]
    assert members(main) == ["Mul", "AddV2", "Relu", "Mul", "Sub"]
    shapes = sorted((t.shape.as_tuple() for t in main.inputs), key=lambda s: (len(s), s))
    assert shapes == [(), (), (5,), (4, 1), (4, 5)]
    assert by_root["column"].outputs[0] in main.inputs  # the (4, 1) value is materialized once
    assert "Sum" in op_types(fused)
    bias_value = RNG.normal(size=5).astype(np.float32)
    values = assert_same_results(program, fused, [X45 / 10, bias_value])
    expected = np.maximum(X45 / 10 * np.exp((X45 / 10).sum(1, keepdims=True)) + bias_value, 0) * 0.5 - 2
    np.testing.assert_allclose(values[0], expected, rtol=1e-5)


def test_broadcasting_with_unknown_batch_dim():
    x = graphdl.placeholder(graphdl.float32, [None, 5], name="x")
    bias = graphdl.Variable(np.linspace(-1, 1, 5).astype(np.float32), name="bias")
    scale = graphdl.reduce_max(x, axis=1, keepdims=True)
    y = graphdl.tanh(graphdl.nn.bias_add(x, bias) / (graphdl.abs(scale) + 1.0))
    program = program_for([y], [x])
    fused, _ = fuse(program)
    root_kernel = fused.fetches[0].op
    assert root_kernel.type == "FusedElementwise"
    assert members(root_kernel) == ["BiasAdd", "RealDiv", "Tanh"]
    state = initialized_state()
    for batch in (1, 6):
        assert_same_results(program, fused, [RNG.normal(size=(batch, 5)).astype(np.float32)], state=state)


def test_scalar_only_expression_fuses():
    a = graphdl.placeholder(graphdl.float64, [], name="a")
    y = graphdl.exp(-a) * a + 3.0
    program = program_for([y], [a])
    fused, _ = fuse(program)
    (kernel,) = kernels(fused)
    assert members(kernel) == ["Neg", "Exp", "Mul", "AddV2"]
    assert kernel.outputs[0].dtype == graphdl.float64
    assert_same_results(program, fused, [np.float64(0.3)])


def test_shared_intermediate_used_by_a_non_fusible_op_is_materialized():
    x = graphdl.placeholder(graphdl.float32, [4, 5], name="x")
    shared = graphdl.multiply(graphdl.tanh(x), 2.0, name="shared")
    total = graphdl.reduce_sum(shared, axis=1, name="total")
    out = graphdl.add(graphdl.exp(shared), 1.0, name="out")
    program = program_for([total, out], [x])
    fused, _ = fuse(program)
    by_root = {k.attrs["members"][-1]: k for k in kernels(fused)}
    assert set(by_root) == {"shared", "out"}
    assert members(by_root["shared"]) == ["Tanh", "Mul"]
    assert members(by_root["out"]) == ["Exp", "AddV2"]
    shared_value = by_root["shared"].outputs[0]
    assert shared_value in by_root["out"].inputs
    assert {c.type for c in shared_value.consumers()} == {"Sum", "FusedElementwise"}
    assert_same_results(program, fused, [X45], rtol=1e-6)


def test_shared_intermediate_with_two_fusible_consumers_in_different_groups():
    x = graphdl.placeholder(graphdl.float32, [3], name="x")
    shared = graphdl.sigmoid(x, name="shared")
    a = graphdl.exp(shared, name="a")
    b = graphdl.log(shared + 1.0, name="b")
    program = program_for([a, b], [x])
    fused, _ = fuse(program)
    assert sorted(len(k.attrs["members"]) for k in kernels(fused)) == [1, 1, 2]
    assert_same_results(program, fused, [np.array([0.1, -2.0, 3.0], np.float32)])


def test_value_used_twice_by_one_op_is_computed_once():
    x = graphdl.placeholder(graphdl.float32, [4, 5], name="x")
    t = graphdl.tanh(x)
    y = t * t
    program = program_for([y], [x])
    fused, _ = fuse(program)
    (kernel,) = kernels(fused)
    mul = kernel.attrs["instructions"][1]
    assert mul.op_type == "Mul" and mul.args == (("temp", 0), ("temp", 0))
    assert_same_results(program, fused, [X45])


def test_fetched_intermediates_are_not_swallowed():
    x = graphdl.placeholder(graphdl.float32, [4, 5], name="x")
    a = graphdl.multiply(x, 2.0, name="a")
    b = graphdl.add(graphdl.exp(a), 1.0, name="b")
    program = program_for([a, b], [x])
    fused, _ = fuse(program)
    by_root = {k.attrs["members"][-1]: k for k in kernels(fused)}
    assert members(by_root["a"]) == ["Mul"] and members(by_root["b"]) == ["Exp", "AddV2"]
    assert fused.fetches[0] is by_root["a"].outputs[0]
    values = assert_same_results(program, fused, [X45])
    np.testing.assert_allclose(values[0], X45 * 2)


def test_intermediate_of_a_smaller_shape_is_not_swallowed():
    x = graphdl.placeholder(graphdl.float32, [4, 5], name="x")
    c = graphdl.placeholder(graphdl.float32, [4, 1], name="c")
    y = x + graphdl.exp(c)
    program = program_for([y], [x, c])
    fused, _ = fuse(program)
    assert sorted(members(k) for k in kernels(fused)) == [["AddV2"], ["Exp"]]
    assert_same_results(program, fused, [X45, RNG.normal(size=(4, 1)).astype(np.float32)])


def test_non_fusible_ops_are_group_boundaries():
    x = graphdl.placeholder(graphdl.float32, [4, 5], name="x")
    w = graphdl.constant(RNG.normal(size=(5, 3)).astype(np.float32))
    h = graphdl.nn.relu(graphdl.matmul(graphdl.tanh(x), w) + 1.0)
    program = program_for([h], [x])
    fused, _ = fuse(program)
    assert op_types(fused)["MatMul"] == 1
    assert sorted(members(k) for k in kernels(fused)) == [["AddV2", "Relu"], ["Tanh"]]
    assert_same_results(program, fused, [X45], rtol=1e-6)


def test_min_group_size_leaves_single_ops_alone():
    x = graphdl.placeholder(graphdl.float32, [4, 5], name="x")
    y = graphdl.exp(graphdl.reduce_sum(graphdl.tanh(x) * 2.0, axis=0))
    program = program_for([y], [x])
    fused, _ = fuse(program, min_group_size=2)
    assert [members(k) for k in kernels(fused)] == [["Tanh", "Mul"]]
    assert op_types(fused)["Exp"] == 1
    assert_same_results(program, fused, [X45], rtol=1e-6)


def test_integer_and_boolean_elementwise_ops():
    a = graphdl.placeholder(graphdl.int32, [6], name="a")
    mask = graphdl.logical_and(graphdl.greater(a, 1), graphdl.less(a * 2, 9))
    y = graphdl.where(mask, a - 1, graphdl.zeros_like(a))
    program = program_for([y, mask], [a])
    fused, _ = fuse(program)
    assert kernels(fused)
    values = assert_same_results(program, fused, [np.arange(6, dtype=np.int32)])
    np.testing.assert_array_equal(values[0], [0, 0, 1, 2, 3, 0])
    np.testing.assert_array_equal(values[1], [False, False, True, True, True, False])


def test_select_fuses_only_where_it_is_an_elementwise_choice():
    x = graphdl.placeholder(graphdl.float32, [3, 4], name="x")
    rows = graphdl.placeholder(graphdl.bool, [3], name="rows")
    same = graphdl.where(x > 0.0, x * 2.0, x)  # condition of x's shape: one loop
    picked = graphdl.where(rows, x, -x)  # a vector condition picks rows: not a NumPy broadcast
    program = program_for([same, picked], [x, rows])
    fused, _ = fuse(program)
    assert sorted(sorted(members(k)) for k in kernels(fused)) == [["Greater", "Mul", "Select"], ["Neg"]]
    assert op_types(fused)["Select"] == 1
    xv = np.arange(-6, 6, dtype=np.float32).reshape(3, 4)
    rv = np.array([True, False, True])
    values = assert_same_results(program, fused, [xv, rv])
    np.testing.assert_array_equal(values[0], np.where(xv > 0, 2 * xv, xv))
    np.testing.assert_array_equal(values[1], np.where(rv[:, None], xv, -xv))


def test_no_nan_products_and_activation_gradients_fuse():
    x = graphdl.placeholder(graphdl.float32, [5], name="x")
    y = graphdl.placeholder(graphdl.float32, [5], name="y")
    out = graphdl.math.multiply_no_nan(x, y) + graphdl.div_no_nan(x, y) + graphdl.math.xlogy(y, x)
    grads = graphdl.gradients(graphdl.nn.softplus(x) + graphdl.nn.selu(y), [x, y])
    program = program_for([out] + grads, [x, y])
    fused, _ = fuse(program)
    fused_types = {t for k in kernels(fused) for t in members(k)}
    assert {"MulNoNan", "DivNoNan", "Xlogy", "SoftplusGrad", "SeluGrad"} <= fused_types
    xv = np.array([np.inf, 1.0, 2.0, -1.0, 0.5], np.float32)
    yv = np.array([0.0, 0.0, 3.0, 2.0, -1.0], np.float32)
    values = assert_same_results(program, fused, [xv, yv])
    np.testing.assert_allclose(values[0][[0, 1]], [0.0, 0.0])


def test_stateful_ops_and_ops_with_control_inputs_are_not_fused():
    v = graphdl.Variable(np.ones(3, np.float32), name="v")
    bump = graphdl.assign_add(v, np.ones(3, np.float32), name="bump")
    r = graphdl.random_uniform([3], seed=9, name="r")
    with graphdl.control_dependencies([bump]):
        late = graphdl.multiply(r, 2.0, name="late")
    y = graphdl.exp(late) + r
    program = program_for([y], [])
    fused, _ = fuse(program)
    assert "late" in {op.name for op in fused.ops}
    assert op_types(fused)["RandomUniform"] == 1 and op_types(fused)["AssignAdd"] == 1
    for k in kernels(fused):
        assert "late" not in k.attrs["members"]
    state = initialized_state()
    assert_same_results(program, fused, state=state)


def test_op_that_an_update_waits_for_keeps_its_place():
    # `scaled` reads the variable before `bump` (a control dependency); fusing it into `out`,
    # which runs after `bump`, would read the updated value.
    v = graphdl.Variable(np.array([1.0, 2.0], np.float32), name="v")
    x = graphdl.placeholder(graphdl.float32, [2], name="x")
    scaled = graphdl.exp(graphdl.multiply(v._ref(), 2.0), name="scaled")
    with graphdl.control_dependencies([scaled]):
        bump = graphdl.assign_add(v, [10.0, 10.0], name="bump")
    with graphdl.control_dependencies([bump]):
        later = graphdl.identity(x, name="later")
    out = graphdl.add(scaled, later, name="out")
    program = program_for([out], [x])
    fused, _ = fuse(program)
    bump_new = next(op for op in fused.ops if op.name == "bump")
    assert [c.type for c in bump_new.control_inputs] == ["FusedElementwise"]
    assert "scaled" in bump_new.control_inputs[0].attrs["members"]
    state = initialized_state()
    values = assert_same_results(program, fused, [np.zeros(2, np.float32)], state=state)
    np.testing.assert_allclose(values[0], np.exp([2.0, 4.0]), rtol=1e-6)


def test_targets_are_kept():
    x = graphdl.placeholder(graphdl.float32, [3], name="x")
    a = graphdl.exp(x, name="a")
    y = graphdl.add(a, 1.0, name="y")
    program = program_for([y], [x], [a.op])
    fused, _ = fuse(program)
    assert len(fused.targets) == 1 and "a" in fused.targets[0].attrs["members"]
    assert_same_results(program, fused, [np.zeros(3, np.float32)])


def test_fed_intermediate_is_not_recomputed():
    x = graphdl.placeholder(graphdl.float32, [3], name="x")
    a = graphdl.exp(x, name="a")
    y = graphdl.add(a, 1.0, name="y")
    program = program_for([y], [a])
    fused, _ = fuse(program)
    (kernel,) = kernels(fused)
    assert members(kernel) == ["AddV2"]
    np.testing.assert_array_equal(run(fused, [np.array([1.0, 2.0, 3.0], np.float32)])[0], [2.0, 3.0, 4.0])


def test_fed_op_that_is_a_control_input_still_runs():
    v = graphdl.Variable(0.0, name="v")
    x = graphdl.placeholder(graphdl.float32, [], name="x")
    assigned = graphdl.assign(v, 5.0, name="assigned")
    with graphdl.control_dependencies([assigned]):
        y = graphdl.add(x, 1.0, name="y")
    program = program_for([y], [x, assigned])
    assert "assigned" in {op.name for op in program.ops}
    fused, _ = fuse(program)
    state = initialized_state()
    assert_same_results(program, fused, [np.float32(1.0), np.float32(-3.0)], state=state)
    run(fused, [np.float32(1.0), np.float32(-3.0)], state)
    assert state.variables["v"] == 5.0


def test_find_groups_maps_every_fusible_op_to_its_root():
    x = graphdl.placeholder(graphdl.float32, [4, 5], name="x")
    y = w4(x)
    program = program_for([y], [x])
    groups = find_groups(program, is_fusible)
    assert set(groups.values()) == {y.op}
    assert len(groups) == 8


# -- the gradient graph of a 2-layer MLP training step ----------------------------------------
def _mlp_training_step():
    x = graphdl.placeholder(graphdl.float32, (None, 784), name="x")
    y = graphdl.placeholder(graphdl.int64, (None,), name="y")
    w1 = graphdl.Variable(graphdl.random_normal([784, 64], stddev=0.05, seed=1), name="w1")
    b1 = graphdl.Variable(graphdl.zeros([64]), name="b1")
    w2 = graphdl.Variable(graphdl.random_normal([64, 10], stddev=0.05, seed=2), name="w2")
    b2 = graphdl.Variable(graphdl.zeros([10]), name="b2")
    hidden = graphdl.nn.relu(graphdl.matmul(x, w1) + b1)
    logits = graphdl.matmul(hidden, w2) + b2
    loss = graphdl.reduce_mean(graphdl.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
    grads = graphdl.gradients(loss, [w1, b1, w2, b2])
    train = graphdl.train.AdamOptimizer(0.01).minimize(loss)
    return x, y, loss, grads, train


@pytest.fixture
def mlp():
    x, y, loss, grads, train = _mlp_training_step()
    program = program_for([loss, *grads], [x, y], [train])
    state = initialized_state()
    return program, state


def test_mlp_gradient_graph_fusion_counts(mlp):
    program, _ = mlp
    optimized, _ = optimize(program)
    fused, changes = fuse_elementwise(optimized, is_fusible)
    fused_kernels = kernels(fused)
    absorbed = sum(len(k.attrs["members"]) for k in fused_kernels)
    assert len(changes) == len(fused_kernels) >= 4
    # Every fusible op of the optimized program is in exactly one kernel, except the ones that wait
    # on control dependencies (Adam's beta-power updates).
    fusible = [op for op in optimized.ops if is_fusible(op) and not op.control_inputs]
    assert absorbed == len(fusible)
    assert sorted(m for k in fused_kernels for m in k.attrs["members"]) == sorted(op.name for op in fusible)
    assert len(fused.ops) == len(optimized.ops) - absorbed + len(fused_kernels)
    # The hidden layer's bias add and ReLU are one kernel; its gradient (ReluGrad) is in another.
    by_members = {tuple(members(k)): k for k in fused_kernels}
    assert ("AddV2", "Relu") in by_members
    assert any("ReluGrad" in m for m in by_members)
    # Kernels absorbed more ops than they replace: at least one has several members.
    assert absorbed > len(fused_kernels)
    # Matmuls, reductions, the softmax loss and the optimizer updates are untouched.
    types = op_types(fused)
    assert types["ApplyAdam"] == 4
    assert types["SparseSoftmaxCrossEntropyWithLogits"] == 1
    assert types["MatMul"] == op_types(optimized)["MatMul"]


def test_mlp_training_steps_match_the_unfused_program(mlp):
    program, state = mlp
    optimized, _ = optimize(program)
    fused, _ = fuse_elementwise(optimized, is_fusible)
    assert op_types(fused)["FusedElementwise"] >= 4
    rng = np.random.default_rng(7)
    state_a, state_b = copy_state(state), copy_state(state)
    losses = []
    for step in range(3):
        feeds = [rng.normal(size=(16, 784)).astype(np.float32), rng.integers(0, 10, size=16).astype(np.int64)]
        expected = run(program, feeds, state_a)
        actual = run(fused, feeds, state_b)
        losses.append(float(expected[0]))
        for name, e, a in zip(["loss", "d_w1", "d_b1", "d_w2", "d_b2"], expected, actual):
            assert e.shape == a.shape and e.dtype == a.dtype, name
            np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-7, err_msg=f"{name} at step {step}")
        assert state_a.variables.keys() == state_b.variables.keys()
        for name in state_a.variables:
            np.testing.assert_allclose(state_b.variables[name], state_a.variables[name], rtol=1e-5, atol=1e-7,
                                       err_msg=f"{name} after step {step}")
    # Adam moved the weights: the three steps saw different parameters.
    assert len(set(losses)) == 3
    assert not np.array_equal(state_a.variables["w1"], state.variables["w1"])


@pytest.mark.parametrize("pass_name", ["constant_folding", "algebraic_simplification", "common_subexpressions",
                                       "elementwise_fusion"])
def test_each_pass_alone_keeps_the_mlp_training_step(mlp, pass_name):
    program, state = mlp
    if pass_name == "elementwise_fusion":
        rewritten, changes = assert_pure_pass(fuse_elementwise, program, is_fusible)
    else:
        rewritten, changes = assert_pure_pass(get_pass(pass_name).run, program)
    # (Simplification finds its rewrites in the MLP only once constants are folded.)
    if pass_name != "algebraic_simplification":
        assert changes and len(rewritten.ops) < len(program.ops)
    rng = np.random.default_rng(3)
    feeds = [rng.normal(size=(5, 784)).astype(np.float32), rng.integers(0, 10, size=5).astype(np.int64)]
    assert_same_results(program, rewritten, feeds, state=state, rtol=1e-5, atol=1e-7)
