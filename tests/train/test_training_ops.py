"""The Apply* training ops on their own: TF1's update formulas, state handling and errors."""

import numpy as np
import pytest
from harness import OP_TEST_BACKENDS

import graphdl as tf
from graphdl import errors
from graphdl.framework.op_def import get_op_def
from graphdl.train import training_ops

VAR = np.array([[1.0, -2.0, 0.5], [3.0, 0.25, -1.5]])
GRAD = np.array([[0.5, -0.25, 2.0], [-1.0, 0.75, 0.1]])


def _variables(dtype, *initial):
    return [tf.Variable(np.asarray(v, dtype), name=f"v{i}") for i, v in enumerate(initial)]


def _run_twice(update, variables, backend):
    """Run ``update`` twice; return (first output, stored values after each run)."""
    with tf.Session(backend=backend) as sess:
        sess.run(tf.global_variables_initializer())
        first = sess.run(update)
        after_first = sess.run(variables)
        second = sess.run(update)
        after_second = sess.run(variables)
    return first, after_first, second, after_second


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_apply_gradient_descent(dtype, backend):
    (var,) = _variables(dtype, VAR)
    update = training_ops.apply_gradient_descent(var, 0.1, GRAD.astype(dtype))
    assert update.op.type == "ApplyGradientDescent" and update.dtype == tf.as_dtype(dtype)
    first, (v1,), second, (v2,) = _run_twice(update, [var], backend)
    lr = dtype(0.1)
    want1 = VAR.astype(dtype) - GRAD.astype(dtype) * lr
    # Checked after the second run: the first fetched value is not the variable's storage.
    np.testing.assert_allclose(first, want1, rtol=1e-6)
    np.testing.assert_allclose(v1, want1, rtol=1e-6)
    np.testing.assert_allclose(v2, want1 - GRAD.astype(dtype) * lr, rtol=1e-6)
    np.testing.assert_array_equal(second, v2)
    assert v2.dtype == dtype


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
@pytest.mark.parametrize("nesterov", [False, True])
def test_apply_momentum(nesterov, backend):
    var, accum = _variables(np.float64, VAR, np.full_like(VAR, 0.2))
    update = training_ops.apply_momentum(var, accum, 0.1, GRAD, 0.9, use_nesterov=nesterov)
    _, (v1, a1), _, (v2, a2) = _run_twice(update, [var, accum], backend)
    a, w = np.full_like(VAR, 0.2), VAR.copy()
    for got_v, got_a in [(v1, a1), (v2, a2)]:
        a = a * 0.9 + GRAD
        w = w - (GRAD * 0.1 + a * 0.9 * 0.1) if nesterov else w - a * 0.1
        np.testing.assert_allclose(got_a, a, rtol=1e-12)
        np.testing.assert_allclose(got_v, w, rtol=1e-12)


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_apply_adagrad(backend):
    var, accum = _variables(np.float64, VAR, np.full_like(VAR, 0.1))
    update = training_ops.apply_adagrad(var, accum, 0.5, GRAD)
    _, (v1, a1), _, (v2, a2) = _run_twice(update, [var, accum], backend)
    a, w = np.full_like(VAR, 0.1), VAR.copy()
    for got_v, got_a in [(v1, a1), (v2, a2)]:
        a = a + GRAD**2
        w = w - 0.5 * GRAD / np.sqrt(a)
        np.testing.assert_allclose(got_a, a, rtol=1e-12)
        np.testing.assert_allclose(got_v, w, rtol=1e-12)


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_apply_rms_prop_and_centered(backend):
    var, ms, mom = _variables(np.float64, VAR, np.ones_like(VAR), np.zeros_like(VAR))
    cvar = tf.Variable(VAR, name="cvar")
    mg, cms, cmom = _variables(np.float64, np.zeros_like(VAR), np.ones_like(VAR), np.zeros_like(VAR))
    lr, rho, momentum, eps = 0.01, 0.9, 0.5, 1e-6
    plain = training_ops.apply_rms_prop(var, ms, mom, lr, rho, momentum, eps, GRAD)
    centered = training_ops.apply_centered_rms_prop(cvar, mg, cms, cmom, lr, rho, momentum, eps, GRAD)
    with tf.Session(backend=backend) as sess:
        sess.run(tf.global_variables_initializer())
        w, s, m = VAR.copy(), np.ones_like(VAR), np.zeros_like(VAR)
        cw, cg, cs, cm = VAR.copy(), np.zeros_like(VAR), np.ones_like(VAR), np.zeros_like(VAR)
        for _ in range(3):
            sess.run([plain.op, centered.op])
            s = s + (GRAD**2 - s) * (1 - rho)
            m = m * momentum + GRAD * lr / np.sqrt(s + eps)
            w = w - m
            cs = cs + (GRAD**2 - cs) * (1 - rho)
            cg = cg + (GRAD - cg) * (1 - rho)
            cm = cm * momentum + GRAD * lr / np.sqrt(cs - cg**2 + eps)
            cw = cw - cm
            got = sess.run([var, ms, mom, cvar, mg, cms, cmom])
            for g, want in zip(got, [w, s, m, cw, cg, cs, cm]):
                np.testing.assert_allclose(g, want, rtol=1e-12)


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
@pytest.mark.parametrize("nesterov", [False, True])
def test_apply_adam(nesterov, backend):
    var, m, v = _variables(np.float64, VAR, np.zeros_like(VAR), np.zeros_like(VAR))
    b1p = tf.placeholder(tf.float64, [])
    b2p = tf.placeholder(tf.float64, [])
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    update = training_ops.apply_adam(var, m, v, b1p, b2p, lr, b1, b2, eps, GRAD, use_nesterov=nesterov)
    w, mm, vv = VAR.copy(), np.zeros_like(VAR), np.zeros_like(VAR)
    with tf.Session(backend=backend) as sess:
        sess.run(tf.global_variables_initializer())
        for t in range(1, 4):
            out = sess.run(update, {b1p: b1**t, b2p: b2**t})
            alpha = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
            mm = b1 * mm + (1 - b1) * GRAD
            vv = b2 * vv + (1 - b2) * GRAD**2
            if nesterov:
                w = w - (GRAD * (1 - b1) + b1 * mm) * alpha / (np.sqrt(vv) + eps)
            else:
                w = w - alpha * mm / (np.sqrt(vv) + eps)
            np.testing.assert_allclose(out, w, rtol=1e-12)
            np.testing.assert_allclose(sess.run(m), mm, rtol=1e-12)
            np.testing.assert_allclose(sess.run(v), vv, rtol=1e-12)


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_apply_adadelta_and_proximal(backend):
    var, acc, acc_up = _variables(np.float64, VAR, np.zeros_like(VAR), np.zeros_like(VAR))
    pvar = tf.Variable(VAR, name="pvar")
    lr, rho, eps, l1, l2 = 1.0, 0.95, 1e-6, 0.3, 0.1
    ada = training_ops.apply_adadelta(var, acc, acc_up, lr, rho, eps, GRAD)
    prox = training_ops.apply_proximal_gradient_descent(pvar, 0.5, l1, l2, GRAD)
    w, a, u, p = VAR.copy(), np.zeros_like(VAR), np.zeros_like(VAR), VAR.copy()
    with tf.Session(backend=backend) as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(3):
            sess.run([ada.op, prox.op])
            a = a * rho + GRAD**2 * (1 - rho)
            upd = np.sqrt(u + eps) / np.sqrt(a + eps) * GRAD
            w = w - upd * lr
            u = u * rho + upd**2 * (1 - rho)
            prox_p = p - 0.5 * GRAD
            p = np.sign(prox_p) * np.maximum(np.abs(prox_p) - 0.5 * l1, 0) / (1 + l2 * 0.5)
            for got, want in zip(sess.run([var, acc, acc_up, pvar]), [w, a, u, p]):
                np.testing.assert_allclose(got, want, rtol=1e-12)


def test_training_op_definitions():
    for op_type in ["ApplyGradientDescent", "ApplyMomentum", "ApplyAdagrad", "ApplyRMSProp", "ApplyCenteredRMSProp",
                    "ApplyAdam", "ApplyAdadelta", "ApplyProximalGradientDescent"]:
        op_def = get_op_def(op_type)
        assert op_def.stateful and op_def.not_differentiable
        assert 0 in op_def.ref_inputs


def test_uninitialized_slot_names_the_variable():
    var, accum = _variables(np.float32, VAR, np.zeros_like(VAR))
    update = training_ops.apply_momentum(var, accum, 0.1, GRAD.astype(np.float32), 0.9)
    with tf.Session() as sess:
        sess.run(var.initializer)
        with pytest.raises(errors.FailedPreconditionError, match="uninitialized value v1"):
            sess.run(update)
        # Nothing was written: the variable keeps its value.
        np.testing.assert_allclose(sess.run(var), VAR.astype(np.float32))


def test_build_errors():
    var, accum = _variables(np.float32, VAR, np.zeros((3,)))
    with pytest.raises(ValueError, match=r"accum.*shape"):
        training_ops.apply_momentum(var, accum, 0.1, GRAD.astype(np.float32), 0.9)
    with pytest.raises(ValueError, match="grad"):
        training_ops.apply_gradient_descent(var, 0.1, np.ones((3, 2), np.float32))
    with pytest.raises(TypeError, match="float64"):
        training_ops.apply_gradient_descent(var, 0.1, tf.constant(GRAD))
    with pytest.raises(ValueError, match="scalar"):
        training_ops.apply_gradient_descent(var, [0.1, 0.2], GRAD.astype(np.float32))
    with pytest.raises(TypeError, match="requires l-value input"):
        training_ops.apply_gradient_descent(tf.constant(VAR), 0.1, GRAD)


def test_runtime_shape_mismatch_with_unknown_grad_shape():
    (var,) = _variables(np.float32, VAR)
    g = tf.placeholder(tf.float32, None)
    update = training_ops.apply_gradient_descent(var, 0.1, g)
    assert update.shape.as_list() == [2, 3]
    with tf.Session() as sess:
        sess.run(var.initializer)
        with pytest.raises(errors.InvalidArgumentError, match=r"same shape.*\[2, 3\].*\[3\]"):
            sess.run(update, {g: np.ones(3, np.float32)})
        np.testing.assert_allclose(sess.run(update, {g: np.ones((2, 3), np.float32)}), VAR - 0.1, rtol=1e-6)
