"""In-place Apply* and Assign kernels of the Numba CPU backend, checked against the reference backend."""

import itertools

import numba
import numpy as np
import pytest
from graphdl.backends.numba_cpu.kernel_registry import kernel_entry
from graphdl.backends.numba_cpu.kernels import training as numba_training
from graphdl.backends.reference.executor import KernelContext

import graphdl as tf
from graphdl import errors
from graphdl.client.state import SessionState
from graphdl.framework.op_def import get_op_def
from graphdl.train import training_ops

APPLY_TYPES = [
    "ApplyGradientDescent", "ApplyProximalGradientDescent", "ApplyMomentum", "ApplyAdagrad", "ApplyAdadelta",
    "ApplyRMSProp", "ApplyCenteredRMSProp", "ApplyAdam",
]
SHAPE = (6, 5)
STEPS = 5


def _tolerance(dtype):
    return {"rtol": 1e-6, "atol": 1e-7} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-14}


def _initial(dtype, kinds, seed=0):
    """Initial values per variable kind: 'w' signed weights, 'pos' positive accumulators, 'small' near zero."""
    rng = np.random.default_rng(seed)
    values = {
        "w": lambda: rng.standard_normal(SHAPE),
        "pos": lambda: np.abs(rng.standard_normal(SHAPE)) + 0.5,
        "small": lambda: 0.1 * rng.standard_normal(SHAPE),
    }
    return [values[k]().astype(dtype) for k in kinds]


# (id, kinds of var and slots, build(variables, grad, step_scalars) -> update tensor, per-step scalar feeds)
def _adam(nesterov):
    def build(v, g, s):
        return training_ops.apply_adam(v[0], v[1], v[2], s[0], s[1], 0.01, 0.9, 0.999, 1e-7, g, use_nesterov=nesterov)

    return build


APPLY_CASES = [
    ("gradient_descent", ["w"], lambda v, g, s: training_ops.apply_gradient_descent(v[0], 0.1, g)),
    ("proximal_l1", ["w"], lambda v, g, s: training_ops.apply_proximal_gradient_descent(v[0], 0.1, 0.3, 0.2, g)),
    ("proximal_l2", ["w"], lambda v, g, s: training_ops.apply_proximal_gradient_descent(v[0], 0.1, 0.0, 0.2, g)),
    ("momentum", ["w", "small"], lambda v, g, s: training_ops.apply_momentum(v[0], v[1], 0.1, g, 0.9)),
    ("nesterov", ["w", "small"],
     lambda v, g, s: training_ops.apply_momentum(v[0], v[1], 0.1, g, 0.9, use_nesterov=True)),
    ("adagrad", ["w", "pos"], lambda v, g, s: training_ops.apply_adagrad(v[0], v[1], 0.3, g)),
    ("adagrad_no_slot_update", ["w", "pos"],
     lambda v, g, s: training_ops.apply_adagrad(v[0], v[1], 0.3, g, update_slots=False)),
    ("adadelta", ["w", "pos", "pos"], lambda v, g, s: training_ops.apply_adadelta(v[0], v[1], v[2], 1.0, 0.95, 1e-6, g)),
    ("rms_prop", ["w", "pos", "small"],
     lambda v, g, s: training_ops.apply_rms_prop(v[0], v[1], v[2], 0.01, 0.9, 0.5, 1e-7, g)),
    ("centered_rms_prop", ["w", "small", "pos", "small"],
     lambda v, g, s: training_ops.apply_centered_rms_prop(v[0], v[1], v[2], v[3], 0.01, 0.9, 0.5, 1e-7, g)),
    ("adam", ["w", "small", "pos"], _adam(False)),
    ("adam_nesterov", ["w", "small", "pos"], _adam(True)),
]


def _run_apply_case(kinds, build, dtype, backend):
    """Five updates with fed gradients; returns (op outputs, variable values, stored-array identities kept)."""
    tf.reset_default_graph()
    variables = [tf.Variable(x, name=f"v{i}") for i, x in enumerate(_initial(dtype, kinds))]
    grad = tf.placeholder(dtype, SHAPE, name="grad")
    powers = [tf.placeholder(dtype, [], name=f"power{i}") for i in range(2)]
    update = build(variables, grad, powers)
    rng = np.random.default_rng(7)
    outputs, identities_kept = [], True
    with tf.Session(backend=backend) as sess:
        sess.run(tf.global_variables_initializer())
        stored = dict(sess._state.variables)
        for step in range(1, STEPS + 1):
            feeds = {grad: rng.standard_normal(SHAPE).astype(dtype), powers[0]: 0.9**step, powers[1]: 0.999**step}
            outputs.append(sess.run(update, feeds))
        identities_kept = all(sess._state.variables[name] is array for name, array in stored.items())
        values = sess.run(variables)
    return outputs, values, identities_kept


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kinds,build", [c[1:] for c in APPLY_CASES], ids=[c[0] for c in APPLY_CASES])
def test_apply_op_matches_reference_in_place(kinds, build, dtype):
    want_outputs, want_values, _ = _run_apply_case(kinds, build, dtype, "reference")
    got_outputs, got_values, in_place = _run_apply_case(kinds, build, dtype, "numba")
    assert in_place, "the numba backend must update the stored arrays, not replace them"
    for got, want in zip(got_outputs + got_values, want_outputs + want_values):
        assert got.dtype == dtype and got.shape == SHAPE
        np.testing.assert_allclose(got, want, **_tolerance(dtype))
    # Fetched outputs of earlier steps were not changed by later in-place updates.
    assert not any(np.array_equal(a, b) for a, b in itertools.pairwise(got_outputs))


# -- whole optimizers on a small MLP ----------------------------------------------------------------------
OPTIMIZERS = {
    "sgd": lambda: tf.train.GradientDescentOptimizer(0.1),
    "proximal": lambda: tf.train.ProximalGradientDescentOptimizer(0.1, 0.01, 0.02),
    "momentum": lambda: tf.train.MomentumOptimizer(0.05, 0.9),
    "nesterov": lambda: tf.train.MomentumOptimizer(0.05, 0.9, use_nesterov=True),
    "adagrad": lambda: tf.train.AdagradOptimizer(0.1),
    "adadelta": lambda: tf.train.AdadeltaOptimizer(1.0),
    "rmsprop": lambda: tf.train.RMSPropOptimizer(0.01, momentum=0.5),
    "rmsprop_centered": lambda: tf.train.RMSPropOptimizer(0.01, momentum=0.3, centered=True),
    "adam": lambda: tf.train.AdamOptimizer(0.01),
}


def _mlp(dtype, make_optimizer):
    rng = np.random.default_rng(3)
    x = tf.placeholder(dtype, [None, 20], name="x")
    labels = tf.placeholder(tf.int32, [None], name="labels")
    w1 = tf.Variable((rng.standard_normal((20, 16)) * 0.3).astype(dtype), name="W1")
    b1 = tf.Variable(np.full(16, 0.05, dtype), name="b1")
    w2 = tf.Variable((rng.standard_normal((16, 4)) * 0.3).astype(dtype), name="W2")
    b2 = tf.Variable(np.zeros(4, dtype), name="b2")
    logits = tf.matmul(tf.nn.relu(tf.matmul(x, w1) + b1), w2) + b2
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
    train_op = make_optimizer().minimize(loss, global_step=tf.train.get_or_create_global_step())
    batch = {x: rng.standard_normal((8, 20)).astype(dtype), labels: rng.integers(0, 4, 8).astype(np.int32)}
    return loss, train_op, batch


def _train_mlp(dtype, make_optimizer, backend, steps=STEPS):
    tf.reset_default_graph()
    loss, train_op, batch = _mlp(dtype, make_optimizer)
    with tf.Session(backend=backend) as sess:
        sess.run(tf.global_variables_initializer())
        losses = [sess.run([train_op, loss], batch)[1] for _ in range(steps)]
        names = sorted(v.op.name for v in tf.global_variables())
        values = dict(zip(names, sess.run([sess.graph.get_tensor_by_name(n + ":0") for n in names])))
    return losses, values


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_training_matches_reference(name, dtype):
    want_losses, want = _train_mlp(dtype, OPTIMIZERS[name], "reference")
    got_losses, got = _train_mlp(dtype, OPTIMIZERS[name], "numba")
    # Other kernels (matmul, fused softmax) differ in rounding, so these are looser than the kernel test.
    tol = {"rtol": 2e-5, "atol": 1e-6} if dtype == np.float32 else {"rtol": 1e-10, "atol": 1e-12}
    np.testing.assert_allclose(got_losses, want_losses, **tol)
    assert sorted(got) == sorted(want) and len(got) >= 5  # 4 variables, global step, slots
    for var_name in want:
        np.testing.assert_allclose(got[var_name], want[var_name], err_msg=var_name, **tol)
    assert got["global_step"] == STEPS


def test_training_step_allocates_nothing_after_step_two():
    loss, train_op, batch = _mlp(np.float32, OPTIMIZERS["adam"])
    with tf.Session(backend="numba") as sess:
        sess.run(tf.global_variables_initializer())
        stored = dict(sess._state.variables)
        sess.run([train_op, loss], batch)
        sess.run([train_op, loss], batch)
        pool = sess._state.buffer_pool
        allocations = pool.allocations
        for _ in range(4):
            sess.run([train_op, loss], batch)
        assert pool.allocations == allocations
        # Every variable (weights, slots, beta powers, global step) kept its array.
        assert all(sess._state.variables[name] is array for name, array in stored.items())


def test_fetched_values_are_never_mutated_by_later_steps():
    _loss, train_op, batch = _mlp(np.float32, OPTIMIZERS["adam"])
    w1 = next(v for v in tf.global_variables() if v.op.name == "W1")
    update = next(op for op in tf.get_default_graph().get_operations() if op.type == "ApplyAdam")
    with tf.Session(backend="numba") as sess:
        sess.run(tf.global_variables_initializer())
        before = sess.run(w1)
        read_and_train = sess.run([w1, w1.value(), train_op, update.outputs[0]], batch)
        kept = [before.copy()] + [a.copy() for a in read_and_train if a is not None]
        for _ in range(3):
            sess.run(train_op, batch)
        for fetched, copy in zip([before] + [a for a in read_and_train if a is not None], kept):
            np.testing.assert_array_equal(fetched, copy)
        stored = sess._state.variables["W1"]
        assert all(not np.shares_memory(a, stored) for a in [before] + read_and_train if a is not None)
        assert not np.array_equal(sess.run(w1), before)


def test_uninitialized_slot_raises_and_writes_nothing():
    var, accum = [tf.Variable(x, name=f"v{i}") for i, x in enumerate(_initial(np.float32, ["w", "pos"]))]
    update = training_ops.apply_momentum(var, accum, 0.1, np.ones(SHAPE, np.float32), 0.9)
    with tf.Session(backend="numba") as sess:
        sess.run(var.initializer)
        initial = sess.run(var)
        with pytest.raises(errors.FailedPreconditionError, match=r"uninitialized value v1 \(in op 'ApplyMomentum'"):
            sess.run(update)
        np.testing.assert_array_equal(sess.run(var), initial)


def test_optimizer_with_uninitialized_slots_names_the_slot():
    _loss, train_op, batch = _mlp(np.float32, OPTIMIZERS["momentum"])
    trainable = tf.trainable_variables()
    with tf.Session(backend="numba") as sess:
        sess.run(tf.variables_initializer(trainable))
        with pytest.raises(errors.FailedPreconditionError, match="uninitialized value .*Momentum"):
            sess.run(train_op, batch)


def test_runtime_shape_mismatch_names_op_variable_and_shapes():
    (var,) = [tf.Variable(np.ones((2, 3), np.float32), name="v0")]
    grad = tf.placeholder(tf.float32, None)
    update = training_ops.apply_gradient_descent(var, 0.1, grad)
    with tf.Session(backend="numba") as sess:
        sess.run(var.initializer)
        with pytest.raises(errors.InvalidArgumentError, match=r"ApplyGradientDescent.*var \('v0'\).*\[2, 3\] vs \[3\]"):
            sess.run(update, {grad: np.ones(3, np.float32)})
        np.testing.assert_allclose(sess.run(update, {grad: np.ones((2, 3), np.float32)}), np.full((2, 3), 0.9))


def test_hyperparameter_of_size_one_and_non_scalar():
    var = tf.Variable(np.ones((2, 3), np.float32), name="v0")
    lr = tf.placeholder(tf.float32, None)
    update = training_ops.apply_gradient_descent(var, lr, np.ones((2, 3), np.float32))
    with tf.Session(backend="numba") as sess:
        sess.run(var.initializer)
        np.testing.assert_allclose(sess.run(update, {lr: [0.25]}), np.full((2, 3), 0.75))
        with pytest.raises(errors.InvalidArgumentError, match="must be scalars.*\\[2\\]"):
            sess.run(update, {lr: [0.1, 0.2]})


@pytest.mark.parametrize("backend", ["reference", "numba"])
def test_fed_constant_hyperparameter_is_used_on_every_run(backend):
    var = tf.Variable(np.ones(3, np.float32), name="v")
    lr = tf.constant(0.5, name="lr")
    update = training_ops.apply_gradient_descent(var, lr, np.ones(3, np.float32))
    with tf.Session(backend=backend) as sess:
        sess.run(var.initializer)
        assert sess.run(update)[0] == 0.5
        fed = np.array(0.25, np.float32)
        assert sess.run(update, {lr: fed})[0] == 0.25
        fed[...] = 0.125  # the same array object again, changed in between
        assert sess.run(update, {lr: fed})[0] == 0.125
        assert sess.run(update)[0] == -0.375


@pytest.mark.parametrize("backend", ["reference", "numba"])
def test_gradient_that_is_the_variable_or_a_view_of_it(backend):
    value = np.arange(9, dtype=np.float64).reshape(3, 3)
    var = tf.Variable(value, name="v")
    halve = training_ops.apply_gradient_descent(var, 0.5, var.value())
    transposed = training_ops.apply_gradient_descent(var, 0.5, tf.transpose(var))
    with tf.Session(backend=backend) as sess:
        sess.run(var.initializer)
        np.testing.assert_allclose(sess.run(halve), value * 0.5)
        np.testing.assert_allclose(sess.run(transposed), value * 0.5 - 0.5 * (value * 0.5).T)


def test_non_contiguous_or_read_only_storage_is_replaced_by_an_own_copy():
    var, accum = [tf.Variable(x, name=f"v{i}") for i, x in enumerate(_initial(np.float32, ["w", "small"]))]
    grad = np.ones(SHAPE, np.float32)
    update = training_ops.apply_momentum(var, accum, 0.5, grad, 0.9)
    with tf.Session(backend="numba") as sess:
        sess.run(tf.global_variables_initializer())
        w, a = sess.run([var, accum])
        fortran = np.asfortranarray(w)
        read_only = a.copy()
        read_only.flags.writeable = False
        sess._state.variables["v0"], sess._state.variables["v1"] = fortran, read_only
        got = sess.run(update)
        np.testing.assert_allclose(got, w - (a * 0.9 + 1) * 0.5, rtol=1e-6)
        for name in ["v0", "v1"]:
            stored = sess._state.variables[name]
            assert stored.flags.c_contiguous and stored.flags.writeable and stored.base is None
        np.testing.assert_array_equal(fortran, w)  # the outside arrays were not written
        np.testing.assert_array_equal(read_only, a)


def _direct(op, dtype, variables):
    """Run ``op``'s numba callable and its reference kernel on copies of the same arrays."""
    ref_state, numba_state = SessionState(), SessionState()
    names = [t.op.name for t in op.inputs if t.op.type == "VariableV2"]
    for name, value in zip(names, variables):
        ref_state.variables[name] = value.copy()
        numba_state.variables[name] = value.copy()
    return ref_state, numba_state


def test_large_variable_is_split_across_threads_and_matches(monkeypatch):
    monkeypatch.setattr(numba_training, "_threads", lambda: 3)  # three pieces even on a small machine
    shape = (784, 512)
    var, m, v = [tf.Variable(np.zeros(shape, np.float32), name=n) for n in ["W", "m", "v"]]
    grad = tf.placeholder(tf.float32, shape)
    op = training_ops.apply_adam(var, m, v, 0.9, 0.999, 0.001, 0.9, 0.999, 1e-8, grad).op
    rng = np.random.default_rng(0)
    initial = [rng.standard_normal(shape).astype(np.float32), 0.1 * rng.standard_normal(shape).astype(np.float32),
               np.abs(rng.standard_normal(shape)).astype(np.float32)]
    ref_state, numba_state = _direct(op, np.float32, initial)
    kernel = numba_training.apply_update(op, numba_state)
    reference = get_op_def("ApplyAdam").kernel
    ctx = KernelContext(op, ref_state)
    for step in range(1, 4):
        scalars = [np.asarray(s, np.float32) for s in (0.9**step, 0.999**step, 0.001, 0.9, 0.999, 1e-8)]
        g = rng.standard_normal(shape).astype(np.float32)
        stored = numba_state.variables["W"]
        out = kernel(None, None, None, *scalars, g)
        assert out is stored and numba_state.variables["W"] is stored
        reference(ctx, None, None, None, *scalars, g)
    assert len(kernel._pieces) == 3 and kernel._pieces[-1][1] == 784 * 512
    for name in ["W", "m", "v"]:
        np.testing.assert_allclose(numba_state.variables[name], ref_state.variables[name], rtol=1e-6, atol=1e-7)


def test_one_compiled_signature_per_dtype_for_all_shapes():
    shapes = [(3, 4), (5,), (2, 2, 2), ()]
    updates = []
    for i, shape in enumerate(shapes):
        var = tf.Variable(np.ones(shape, np.float32), name=f"v{i}")
        updates.append(training_ops.apply_gradient_descent(var, 0.5, np.ones(shape, np.float32)))
    with tf.Session(backend="numba") as sess:
        sess.run(tf.global_variables_initializer())
        results = sess.run(updates)
    for result, shape in zip(results, shapes):
        np.testing.assert_allclose(result, np.full(shape, 0.5))
    float32_signatures = [s for s in numba_training._gradient_descent.signatures if s[0].dtype == numba.float32]
    assert len(float32_signatures) == 1


def test_float16_variable_falls_back_to_the_reference_kernel():
    var = tf.Variable(np.ones(4, np.float16), name="v")
    update = training_ops.apply_gradient_descent(var, np.float16(0.5), np.ones(4, np.float16))
    with tf.Session(backend="numba") as sess:
        sess.run(var.initializer)
        got = sess.run(update)
    assert got.dtype == np.float16
    np.testing.assert_array_equal(got, np.full(4, 0.5, np.float16))


def test_registry_reports_the_implementations():
    for op_type in APPLY_TYPES:
        assert kernel_entry(op_type).implementation == "numba"
        assert kernel_entry(op_type).factory is numba_training.apply_update
    for op_type in ["Assign", "AssignAdd", "AssignSub"]:
        # In place with np.copyto / ufunc(out=): NumPy does the (memory-bound) work.
        assert kernel_entry(op_type).implementation == "numpy"
        assert kernel_entry(op_type).factory.__module__.endswith("kernels.state")


# -- Assign / AssignAdd / AssignSub ---------------------------------------------------------------------
def test_assign_copies_into_the_stored_array():
    var = tf.Variable(np.zeros((2, 3), np.float32), name="v")
    value = tf.placeholder(tf.float32, [2, 3])
    assign = tf.assign(var, value)
    with tf.Session(backend="numba") as sess:
        sess.run(var.initializer)
        stored = sess._state.variables["v"]
        fed = np.arange(6, dtype=np.float32).reshape(2, 3)
        got = sess.run(assign, {value: fed})
        assert sess._state.variables["v"] is stored
        np.testing.assert_array_equal(stored, fed)
        assert not np.shares_memory(got, stored) and not np.shares_memory(fed, stored)
        sess.run(assign, {value: fed * 2})
        np.testing.assert_array_equal(got, fed)  # the earlier fetch is unchanged
        var.load(np.ones((2, 3), np.float32), sess)
        assert sess._state.variables["v"] is stored
        np.testing.assert_array_equal(sess.run(var), np.ones((2, 3)))


@pytest.mark.parametrize("backend", ["reference", "numba"])
def test_assign_from_the_variable_itself_and_overlapping_views(backend):
    value = np.arange(9, dtype=np.float64).reshape(3, 3)
    var = tf.Variable(value, name="v")
    same = tf.assign(var, var.value())
    transpose = tf.assign(var, tf.transpose(var))
    reverse = tf.assign(var, tf.reverse(var, [0]))
    shift = tf.assign(var, tf.concat([var[1:], var[:1]], 0))
    with tf.Session(backend=backend) as sess:
        sess.run(var.initializer)
        np.testing.assert_array_equal(sess.run(same), value)
        np.testing.assert_array_equal(sess.run(transpose), value.T)
        np.testing.assert_array_equal(sess.run(reverse), value.T[::-1])
        np.testing.assert_array_equal(sess.run(shift), np.roll(value.T[::-1], -1, axis=0))


def test_assign_validate_shape():
    var = tf.Variable(np.zeros((2, 3), np.float32), name="v", validate_shape=False)
    value = tf.placeholder(tf.float32, None)
    strict = tf.assign(var, value, name="strict")
    loose = tf.assign(var, value, validate_shape=False, name="loose")
    with tf.Session(backend="numba") as sess:
        sess.run(var.initializer)
        stored = sess._state.variables["v"]
        with pytest.raises(errors.InvalidArgumentError, match=r"Assign 'strict'.*'v' has shape \(2, 3\).*\(4,\)"):
            sess.run(strict, {value: np.ones(4, np.float32)})
        assert sess._state.variables["v"] is stored
        got = sess.run(loose, {value: np.ones(4, np.float32)})
        np.testing.assert_array_equal(got, np.ones(4))
        new = sess._state.variables["v"]
        assert new is not stored and new.shape == (4,) and new.flags.c_contiguous and new.base is None


def test_assign_add_and_sub_in_place():
    var = tf.Variable(np.ones((2, 3), np.float32), name="v")
    step = tf.Variable(np.int64(0), name="step")
    delta = tf.placeholder(tf.float32, None)
    add, sub = tf.assign_add(var, delta), tf.assign_sub(var, delta)
    inc = tf.assign_add(step, 1)
    with tf.Session(backend="numba") as sess:
        sess.run(tf.global_variables_initializer())
        stored = sess._state.variables["v"]
        first = sess.run(add, {delta: np.full((2, 3), 2, np.float32)})
        np.testing.assert_array_equal(first, np.full((2, 3), 3))
        np.testing.assert_array_equal(sess.run(sub, {delta: 0.5}), np.full((2, 3), 2.5))  # broadcast scalar
        np.testing.assert_array_equal(sess.run(add, {delta: [[1, 2, 3]]}), [[3.5, 4.5, 5.5]] * 2)
        assert sess._state.variables["v"] is stored
        np.testing.assert_array_equal(first, np.full((2, 3), 3))
        with pytest.raises(errors.InvalidArgumentError, match=r"AssignAdd 'AssignAdd'.*\(2, 2, 3\).*\(2, 3\)"):
            sess.run(add, {delta: np.ones((2, 2, 3), np.float32)})
        assert [sess.run(inc) for _ in range(3)] == [1, 2, 3]
        assert sess.run(step).dtype == np.int64


def test_assign_add_uninitialized():
    var = tf.Variable(np.ones(3, np.float32), name="v")
    add = tf.assign_add(var, np.ones(3, np.float32))
    with tf.Session(backend="numba") as sess, pytest.raises(
        errors.FailedPreconditionError, match=r"uninitialized value v \(in op 'AssignAdd'\)"
    ):
        sess.run(add)
