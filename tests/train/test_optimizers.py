"""Optimizers: updates vs NumPy re-implementations of TF1's formulas, slots, global step, errors, convergence."""

import numpy as np
import pytest
from harness import OP_TEST_BACKENDS

import graphdl as tf
from graphdl import errors
from graphdl.ops import state_ops

W0 = np.array([[1.0, -2.0, 0.5], [3.0, 0.25, -1.5]])
B0 = np.array([0.3, -0.7, 1.1])
C = np.array([[1.0, 2.0, 0.5], [0.25, 1.5, 3.0]])
TW = np.array([[0.5, 0.5, -1.0], [2.0, -1.0, 0.0]])
TB = np.array([1.0, 0.0, -2.0])


def _h(x, dtype):
    """A Python-float hyperparameter as the optimizer sees it: a float32 constant cast to the variable dtype."""
    return dtype(np.float32(x))


def _grads(w, b):
    return 2 * C.astype(w.dtype) * (w - TW.astype(w.dtype)), 2 * (b - TB.astype(b.dtype))


def _quadratic(dtype):
    w = tf.Variable(W0.astype(dtype), name="W")
    b = tf.Variable(B0.astype(dtype), name="b")
    loss = tf.reduce_sum(tf.constant(C.astype(dtype)) * (w - TW.astype(dtype)) * (w - TW.astype(dtype)))
    loss = loss + tf.reduce_sum((b - TB.astype(dtype)) * (b - TB.astype(dtype)))
    return w, b, loss


# -- NumPy references of TF1's kernels: each takes (params, state, grads, dtype) -------------
def _np_sgd(lr):
    def step(p, s, g, dt):
        return [x - gx * _h(lr, dt) for x, gx in zip(p, g)], s

    return step, lambda p: None


def _np_momentum(lr, momentum, nesterov=False):
    def step(p, s, g, dt):
        lr_, mom = _h(lr, dt), _h(momentum, dt)
        s = [a * mom + gx for a, gx in zip(s, g)]
        if nesterov:
            p = [x - (gx * lr_ + a * mom * lr_) for x, a, gx in zip(p, s, g)]
        else:
            p = [x - a * lr_ for x, a in zip(p, s)]
        return p, s

    return step, lambda p: [np.zeros_like(x) for x in p]


def _np_adagrad(lr, init=0.1):
    def step(p, s, g, dt):
        s = [a + gx * gx for a, gx in zip(s, g)]
        return [x - gx * _h(lr, dt) / np.sqrt(a) for x, a, gx in zip(p, s, g)], s

    return step, lambda p: [np.full_like(x, init) for x in p]


def _np_rmsprop(lr, decay=0.9, momentum=0.0, eps=1e-10, centered=False):
    def step(p, s, g, dt):
        lr_, rho, mom_, eps_ = (_h(v, dt) for v in (lr, decay, momentum, eps))
        out_p, out_s = [], []
        for x, (ms, mg, mom), gx in zip(p, s, g):
            ms = ms + (gx * gx - ms) * (1 - rho)
            if centered:
                mg = mg + (gx - mg) * (1 - rho)
                mom = mom * mom_ + gx * lr_ / np.sqrt(ms - mg * mg + eps_)
            else:
                mom = mom * mom_ + gx * lr_ / np.sqrt(ms + eps_)
            out_p.append(x - mom)
            out_s.append((ms, mg, mom))
        return out_p, out_s

    return step, lambda p: [(np.ones_like(x), np.zeros_like(x), np.zeros_like(x)) for x in p]


def _np_adam(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    def step(p, s, g, dt):
        states, (b1p, b2p) = s
        lr_, b1, b2, eps_ = (_h(v, dt) for v in (lr, beta1, beta2, eps))
        alpha = lr_ * np.sqrt(1 - dt(b2p)) / (1 - dt(b1p))
        out_p, out_s = [], []
        for x, (m, v), gx in zip(p, states, g):
            m = m + (gx - m) * (1 - b1)
            v = v + (gx * gx - v) * (1 - b2)
            out_p.append(x - m * alpha / (np.sqrt(v) + eps_))
            out_s.append((m, v))
        # The beta powers are float32 variables multiplied in float32.
        return out_p, (out_s, (np.float32(b1p * np.float32(beta1)), np.float32(b2p * np.float32(beta2))))

    return step, lambda p: ([(np.zeros_like(x), np.zeros_like(x)) for x in p], (np.float32(beta1), np.float32(beta2)))


def _np_adadelta(lr=0.001, rho=0.95, eps=1e-8):
    def step(p, s, g, dt):
        lr_, rho_, eps_ = (_h(v, dt) for v in (lr, rho, eps))
        out_p, out_s = [], []
        for x, (acc, upd_acc), gx in zip(p, s, g):
            acc = acc * rho_ + gx * gx * (1 - rho_)
            upd = np.sqrt(upd_acc + eps_) / np.sqrt(acc + eps_) * gx
            out_p.append(x - upd * lr_)
            out_s.append((acc, upd_acc * rho_ + upd * upd * (1 - rho_)))
        return out_p, out_s

    return step, lambda p: [(np.zeros_like(x), np.zeros_like(x)) for x in p]


OPTIMIZERS = [
    ("sgd", lambda: tf.train.GradientDescentOptimizer(0.1), _np_sgd(0.1)),
    ("momentum", lambda: tf.train.MomentumOptimizer(0.05, 0.9), _np_momentum(0.05, 0.9)),
    ("nesterov", lambda: tf.train.MomentumOptimizer(0.05, 0.9, use_nesterov=True), _np_momentum(0.05, 0.9, True)),
    ("adagrad", lambda: tf.train.AdagradOptimizer(0.3), _np_adagrad(0.3)),
    ("adagrad_init", lambda: tf.train.AdagradOptimizer(0.3, initial_accumulator_value=1.5), _np_adagrad(0.3, 1.5)),
    ("rmsprop", lambda: tf.train.RMSPropOptimizer(0.01), _np_rmsprop(0.01)),
    ("rmsprop_momentum", lambda: tf.train.RMSPropOptimizer(0.01, decay=0.8, momentum=0.5, epsilon=1e-6),
     _np_rmsprop(0.01, 0.8, 0.5, 1e-6)),
    ("rmsprop_centered", lambda: tf.train.RMSPropOptimizer(0.01, momentum=0.3, centered=True),
     _np_rmsprop(0.01, momentum=0.3, centered=True)),
    ("adam", lambda: tf.train.AdamOptimizer(0.1), _np_adam(0.1)),
    ("adam_custom", lambda: tf.train.AdamOptimizer(0.05, beta1=0.8, beta2=0.99, epsilon=1e-4),
     _np_adam(0.05, 0.8, 0.99, 1e-4)),
    ("adadelta", lambda: tf.train.AdadeltaOptimizer(1.0), _np_adadelta(1.0)),
]


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("make_opt,reference", [o[1:] for o in OPTIMIZERS], ids=[o[0] for o in OPTIMIZERS])
def test_optimizer_matches_numpy(make_opt, reference, dtype, backend):
    w, b, loss = _quadratic(dtype)
    train_op = make_opt().minimize(loss)
    step, init_state = reference
    params = [W0.astype(dtype), B0.astype(dtype)]
    state = init_state(params)
    rtol = 2e-5 if dtype == np.float32 else 1e-11
    with tf.Session(backend=backend) as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(4):
            assert sess.run(train_op) is None
            params, state = step(params, state, _grads(*params), dtype)
            got_w, got_b = sess.run([w, b])
            assert got_w.dtype == dtype
            np.testing.assert_allclose(got_w, params[0], rtol=rtol, atol=rtol * 1e-2)
            np.testing.assert_allclose(got_b, params[1], rtol=rtol, atol=rtol * 1e-2)


def test_proximal_gradient_descent():
    w, b, loss = _quadratic(np.float64)
    train_op = tf.train.ProximalGradientDescentOptimizer(
        0.1, l1_regularization_strength=0.05, l2_regularization_strength=0.2
    ).minimize(loss)
    lr, l1, l2 = (np.float64(np.float32(v)) for v in (0.1, 0.05, 0.2))
    params = [W0.copy(), B0.copy()]
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(3):
            sess.run(train_op)
            grads = _grads(*params)
            prox = [x - g * lr for x, g in zip(params, grads)]
            params = [np.sign(p) * np.maximum(np.abs(p) - lr * l1, 0) / (1 + l2 * lr) for p in prox]
            for got, want in zip(sess.run([w, b]), params):
                np.testing.assert_allclose(got, want, rtol=1e-12)


# -- slots ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make_opt,slots",
    [
        (lambda: tf.train.MomentumOptimizer(0.1, 0.9), {"momentum": ("W/Momentum", 0.0)}),
        (lambda: tf.train.AdagradOptimizer(0.1), {"accumulator": ("W/Adagrad", 0.1)}),
        (lambda: tf.train.RMSPropOptimizer(0.1), {"rms": ("W/RMSProp", 1.0), "momentum": ("W/RMSProp_1", 0.0)}),
        (lambda: tf.train.RMSPropOptimizer(0.1, centered=True),
         {"rms": ("W/RMSProp", 1.0), "mg": ("W/RMSProp_1", 0.0), "momentum": ("W/RMSProp_2", 0.0)}),
        (lambda: tf.train.AdamOptimizer(), {"m": ("W/Adam", 0.0), "v": ("W/Adam_1", 0.0)}),
        (lambda: tf.train.AdadeltaOptimizer(), {"accum": ("W/Adadelta", 0.0), "accum_update": ("W/Adadelta_1", 0.0)}),
        (lambda: tf.train.GradientDescentOptimizer(0.1), {}),
    ],
)
def test_slot_names_shapes_and_collections(make_opt, slots):
    w, b, loss = _quadratic(np.float32)
    opt = make_opt()
    with tf.name_scope("somewhere"):
        opt.minimize(loss)
    assert opt.get_slot_names() == sorted(slots)
    global_vars = tf.global_variables()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for slot_name, (var_name, init) in slots.items():
            slot = opt.get_slot(w, slot_name)
            assert slot.op.name == var_name and slot.name == var_name + ":0"
            assert slot.shape.as_list() == [2, 3] and slot.dtype == tf.float32
            assert slot in global_vars and slot not in tf.trainable_variables()
            assert opt.get_slot(b, slot_name).op.name == "b/" + var_name.split("/")[1]
            np.testing.assert_allclose(sess.run(slot), np.full((2, 3), init, np.float32))
    assert opt.get_slot(w, "no_such_slot") is None
    unrelated = tf.Variable(1.0, name="unrelated")
    assert all(opt.get_slot(unrelated, s) is None for s in slots)
    assert tf.trainable_variables() == [w, b, unrelated]


def test_adam_variables_and_beta_powers():
    _w, _b, loss = _quadratic(np.float32)
    opt = tf.train.AdamOptimizer(0.01, beta1=0.8, beta2=0.95)
    train_op = opt.minimize(loss)
    names = [v.op.name for v in opt.variables()]
    assert names == ["W/Adam", "W/Adam_1", "b/Adam", "b/Adam_1", "beta1_power", "beta2_power"]
    b1p, b2p = opt._get_beta_accumulators()
    assert b1p.op.name == "beta1_power" and b1p.dtype == tf.float32 and not b1p.trainable
    assert b1p in tf.global_variables() and b1p not in tf.trainable_variables()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_allclose(sess.run([b1p, b2p]), [0.8, 0.95], rtol=1e-7)
        for n in range(1, 4):
            sess.run(train_op)
            np.testing.assert_allclose(sess.run([b1p, b2p]), [0.8 ** (n + 1), 0.95 ** (n + 1)], rtol=1e-6)


def test_second_minimize_reuses_slots_and_second_optimizer_gets_new_ones():
    w, _b, loss = _quadratic(np.float32)
    opt = tf.train.AdamOptimizer()
    opt.minimize(loss)
    opt.minimize(loss)
    assert len(opt.variables()) == 6
    other = tf.train.AdamOptimizer()
    other.minimize(loss, var_list=[w])
    assert [v.op.name for v in other.variables()] == ["W/Adam_2", "W/Adam_3", "beta1_power_1", "beta2_power_1"]


# -- minimize / compute_gradients / apply_gradients ------------------------------------------
def test_minimize_increments_global_step():
    _w, _b, loss = _quadratic(np.float32)
    gs = tf.train.get_or_create_global_step()
    train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=gs)
    assert train_op.type == "AssignAdd" and train_op.name == "GradientDescent"
    assert train_op in tf.get_collection(tf.GraphKeys.TRAIN_OP)
    group = tf.get_default_graph().get_operation_by_name("GradientDescent/update")
    assert group in train_op.control_inputs
    update = tf.get_default_graph().get_operation_by_name("GradientDescent/update_W/ApplyGradientDescent")
    assert update.type == "ApplyGradientDescent"
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert tf.train.global_step(sess, gs) == 0
        for _ in range(3):
            sess.run(train_op)
        assert tf.train.global_step(sess, gs) == 3
        assert sess.run(gs).dtype == np.int64


def test_minimize_without_global_step_returns_group_named_after_optimizer():
    _w, _b, loss = _quadratic(np.float32)
    train_op = tf.train.MomentumOptimizer(0.1, 0.5).minimize(loss)
    assert train_op.type == "NoOp" and train_op.name == "Momentum"
    named = tf.train.GradientDescentOptimizer(0.1).minimize(loss, name="train")
    assert named.name == "train"


def test_var_list_restriction():
    w, b, loss = _quadratic(np.float32)
    opt = tf.train.AdamOptimizer(0.1)
    train_op = opt.minimize(loss, var_list=[w])
    assert opt.get_slot(b, "m") is None and opt.get_slot(w, "m") is not None
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(train_op)
        got_w, got_b = sess.run([w, b])
    assert not np.allclose(got_w, W0)
    np.testing.assert_array_equal(got_b, B0.astype(np.float32))


def test_none_gradient_variables_are_skipped():
    w, b, loss = _quadratic(np.float64)
    unused = tf.Variable(np.ones(2), name="unused")
    opt = tf.train.MomentumOptimizer(0.1, 0.9)
    grads_and_vars = opt.compute_gradients(loss)
    assert [v for _, v in grads_and_vars] == [w, b, unused]
    assert grads_and_vars[2][0] is None and grads_and_vars[0][0] is not None
    train_op = opt.apply_gradients(grads_and_vars)
    assert opt.get_slot(unused, "momentum") is None
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(train_op)
        np.testing.assert_array_equal(sess.run(unused), np.ones(2))
        np.testing.assert_allclose(sess.run(w), W0 - _h(0.1, np.float64) * _grads(W0, B0)[0], rtol=1e-12)


def test_apply_gradients_with_processed_gradients():
    w, b, loss = _quadratic(np.float64)
    opt = tf.train.GradientDescentOptimizer(0.5)
    grads_and_vars = [(g * 0.5, v) for g, v in opt.compute_gradients(loss)]
    gs = tf.train.create_global_step()
    train_op = opt.apply_gradients(grads_and_vars, global_step=gs, name="apply")
    assert train_op.name == "apply"
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(train_op)
        gw, gb = _grads(W0, B0)
        np.testing.assert_allclose(sess.run(w), W0 - 0.25 * gw, rtol=1e-12)
        np.testing.assert_allclose(sess.run(b), B0 - 0.25 * gb, rtol=1e-12)
        assert sess.run(gs) == 1


@pytest.mark.parametrize("gate", [tf.train.Optimizer.GATE_NONE, tf.train.Optimizer.GATE_OP,
                                  tf.train.Optimizer.GATE_GRAPH])
def test_gate_gradients_modes(gate):
    _w, b, loss = _quadratic(np.float64)
    train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss, gate_gradients=gate)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(train_op)
        np.testing.assert_allclose(sess.run(b), B0 - _h(0.1, np.float64) * _grads(W0, B0)[1], rtol=1e-12)


@pytest.mark.parametrize("make_opt", [
    lambda lr: tf.train.GradientDescentOptimizer(lr),
    lambda lr: tf.train.MomentumOptimizer(lr, 0.0),
])
def test_placeholder_learning_rate_fed_per_step(make_opt):
    w, _b, loss = _quadratic(np.float64)
    lr = tf.placeholder(tf.float32, [], name="lr")
    train_op = make_opt(lr).minimize(loss)
    params = [W0.copy(), B0.copy()]
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for rate in [0.1, 0.02, 0.3]:
            sess.run(train_op, {lr: rate})
            params = [p - np.float64(np.float32(rate)) * g for p, g in zip(params, _grads(*params))]
            np.testing.assert_allclose(sess.run(w), params[0], rtol=1e-12)
        with pytest.raises(errors.InvalidArgumentError, match="lr"):
            sess.run(train_op)


def test_callable_hyperparameters():
    _w, b, loss = _quadratic(np.float64)
    train_op = tf.train.MomentumOptimizer(lambda: 0.1, lambda: 0.0).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(train_op)
        np.testing.assert_allclose(sess.run(b), B0 - _h(0.1, np.float64) * _grads(W0, B0)[1], rtol=1e-12)


def test_variable_constraint_applied_after_update():
    w = tf.Variable(np.array([1.0, 2.0]), name="w", constraint=lambda v: v * 0.5)
    loss = tf.reduce_sum(w * w)
    train_op = tf.train.GradientDescentOptimizer(0.25).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(train_op)
        np.testing.assert_allclose(sess.run(w), 0.5 * (np.array([1.0, 2.0]) * 0.5), rtol=1e-12)


def test_custom_optimizer_subclass():
    class SignSGD(tf.train.Optimizer):
        def __init__(self, lr):
            super().__init__(False, "SignSGD")
            self._lr = lr

        def _create_slots(self, var_list):
            for v in var_list:
                self._zeros_slot(v, "count", self._name)

        def _apply_dense(self, grad, var):
            count = self.get_slot(var, "count")
            step = state_ops.assign_add(count, tf.ones_like(var))
            with tf.control_dependencies([step]):
                return state_ops.assign_sub(var, self._lr * (tf.cast(grad > 0, var.dtype) * 2.0 - 1.0)).op

    _w, b, loss = _quadratic(np.float64)
    opt = SignSGD(0.125)
    train_op = opt.minimize(loss, var_list=[b])
    assert opt.get_slot(b, "count").op.name == "b/SignSGD"
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(train_op)
        sess.run(train_op)
        np.testing.assert_allclose(sess.run(b), B0 - 0.25 * np.sign(B0 - TB), rtol=1e-12)
        np.testing.assert_allclose(sess.run(opt.get_slot(b, "count")), [2.0, 2.0, 2.0])


# -- errors -------------------------------------------------------------------------------
def test_no_variables_to_optimize():
    x = tf.placeholder(tf.float32, [3])
    with pytest.raises(ValueError, match="No variables to optimize."):
        tf.train.GradientDescentOptimizer(0.1).minimize(tf.reduce_sum(x * x))


def test_no_gradients_provided():
    w = tf.Variable([1.0, 2.0], name="w")
    x = tf.placeholder(tf.float32, [2])
    loss = tf.reduce_sum(x * x)
    with pytest.raises(ValueError, match=r"No gradients provided for any variable.*between variables.*'w:0'"):
        tf.train.AdamOptimizer().minimize(loss)
    with pytest.raises(ValueError, match="No gradients provided for any variable"):
        tf.train.AdamOptimizer().apply_gradients([(None, w)])
    with pytest.raises(ValueError, match="No variables provided"):
        tf.train.AdamOptimizer().apply_gradients([])


def test_invalid_loss_dtype_and_gate_and_name():
    w = tf.Variable([1, 2], name="w_int")
    with pytest.raises(ValueError, match="Invalid type int32"):
        tf.train.GradientDescentOptimizer(0.1).minimize(tf.reduce_sum(w))
    v = tf.Variable([1.0], name="v")
    with pytest.raises(ValueError, match="gate_gradients must be one of"):
        tf.train.GradientDescentOptimizer(0.1).minimize(tf.reduce_sum(v), gate_gradients=7)
    with pytest.raises(ValueError, match="Must specify the optimizer name"):
        tf.train.GradientDescentOptimizer(0.1, name="")
    with pytest.raises(ValueError, match="initial_accumulator_value must be positive"):
        tf.train.AdagradOptimizer(0.1, initial_accumulator_value=0.0)
    with pytest.raises(TypeError, match="unsupported type"):
        tf.train.GradientDescentOptimizer(0.1).minimize(tf.reduce_sum(v), var_list=[tf.constant(1.0)])


def test_uninitialized_slot_raises_failed_precondition_naming_it():
    w, b, loss = _quadratic(np.float32)
    opt = tf.train.MomentumOptimizer(0.1, 0.9)
    train_op = opt.minimize(loss, var_list=[w])
    with tf.Session() as sess:
        sess.run([w.initializer, b.initializer])
        with pytest.raises(errors.FailedPreconditionError, match="uninitialized value W/Momentum"):
            sess.run(train_op)
        np.testing.assert_array_equal(sess.run(w), W0.astype(np.float32))


# -- convergence ----------------------------------------------------------------------------
@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
@pytest.mark.parametrize("make_opt,steps", [
    (lambda: tf.train.GradientDescentOptimizer(0.1), 300),
    (lambda: tf.train.AdamOptimizer(0.1), 400),
], ids=["sgd", "adam"])
def test_linear_regression_recovers_weights(make_opt, steps, backend):
    rng = np.random.default_rng(0)
    true_w, true_b = np.array([2.0, -3.0, 0.5], np.float32), np.float32(1.5)
    xs = rng.standard_normal((64, 3)).astype(np.float32)
    ys = xs @ true_w + true_b
    x = tf.placeholder(tf.float32, [None, 3])
    y = tf.placeholder(tf.float32, [None])
    w = tf.Variable(tf.zeros([3]), name="w")
    b = tf.Variable(0.0, name="b")
    pred = tf.reduce_sum(x * w, axis=1) + b
    loss = tf.reduce_sum((pred - y) * (pred - y)) * (1.0 / 64)
    gs = tf.train.get_or_create_global_step()
    train_op = make_opt().minimize(loss, global_step=gs)
    with tf.Session(backend=backend) as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(steps):
            sess.run(train_op, {x: xs, y: ys})
        got_w, got_b, final_loss = sess.run([w, b, loss], {x: xs, y: ys})
        assert sess.run(gs) == steps
    np.testing.assert_allclose(got_w, true_w, atol=1e-2)
    np.testing.assert_allclose(got_b, true_b, atol=1e-2)
    assert final_loss < 1e-4


def test_int32_variable_as_global_step_with_decay():
    global_step = tf.Variable(0, name="global_step", trainable=False)
    w = tf.Variable([4.0], name="w")
    lr = tf.train.exponential_decay(0.5, global_step, 1, 0.5)
    train_op = tf.train.GradientDescentOptimizer(lr).minimize(tf.reduce_sum(w * w), global_step=global_step)
    assert tf.train.get_global_step() is global_step._ref()
    want = 4.0
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for step in range(3):
            sess.run(train_op)
            want -= 0.5 * 0.5**step * 2 * want
        assert sess.run(global_step) == 3 and sess.run(global_step).dtype == np.int32
        np.testing.assert_allclose(sess.run(w), [want], rtol=1e-6)
