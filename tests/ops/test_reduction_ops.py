"""Reductions (reduce_mean/max/min/prod/logsumexp/any/all, count_nonzero, variance/std) and argmax/argmin."""

import numpy as np
import pytest
from harness import OpCase, make_op_tests, randn, uniform

import graphdl


def _int_mean(x, axis=None, keepdims=False):
    """TF's integer mean: the sum divided with truncation toward zero."""
    n = x.size if axis is None else np.prod([x.shape[a] for a in np.atleast_1d(axis)])
    return np.trunc(x.sum(axis=axis, keepdims=keepdims) / n).astype(x.dtype)


def _logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


INT_X = np.array([[3, -7, 2], [-1, -2, 8]], dtype=np.int32)
BOOL_X = np.array([[True, False, True], [False, False, False]])
SPARSE_X = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -3.0]], dtype=np.float32)

CASES = [
    # reduce_mean
    OpCase("mean_all", lambda x: graphdl.reduce_mean(x), [randn(3, 4)], lambda x: x.mean()),
    # Long reductions with few outputs: a device backend reduces them with a whole block per output.
    OpCase("mean_long_axis0", lambda x: graphdl.reduce_mean(x, axis=0), [randn(130, 2)], lambda x: x.mean(0),
           grad=False),
    OpCase("max_long_axis1", lambda x: graphdl.reduce_max(x, axis=1), [randn(2, 97)], lambda x: x.max(1),
           grad=False),
    OpCase("sum_long_all", lambda x: graphdl.reduce_sum(x), [randn(9, 20)], lambda x: x.sum(), grad=False),
    OpCase("mean_axis1", lambda x: graphdl.reduce_mean(x, axis=1), [randn(3, 4)], lambda x: x.mean(1)),
    OpCase("mean_negative_axis", lambda x: graphdl.reduce_mean(x, -1), [randn(2, 3, 4)], lambda x: x.mean(-1)),
    OpCase("mean_list_keepdims", lambda x: graphdl.reduce_mean(x, [0, 2], keepdims=True), [randn(2, 3, 4)],
           lambda x: x.mean((0, 2), keepdims=True)),
    OpCase("mean_reduction_indices_keep_dims", lambda x: graphdl.reduce_mean(x, reduction_indices=[1], keep_dims=True),
           [randn(3, 2)], lambda x: x.mean(1, keepdims=True)),
    OpCase("mean_axis_tensor", lambda x, a: graphdl.reduce_mean(x, axis=a), [randn(3, 4), np.array(0, np.int32)],
           lambda x, a: x.mean(0)),
    OpCase("mean_axis_list_tensor", lambda x, a: graphdl.reduce_mean(x, axis=a, keepdims=True),
           [randn(2, 3, 2), np.array([-1, 0], np.int32)], lambda x, a: x.mean((0, 2), keepdims=True)),
    OpCase("mean_empty_axes", lambda x: graphdl.reduce_mean(x, axis=[]), [randn(2, 3)], lambda x: x),
    OpCase("mean_int_truncates", lambda x: graphdl.reduce_mean(x, 1), [INT_X], lambda x: _int_mean(x, 1), grad=False),
    OpCase("mean_int_all", lambda x: graphdl.reduce_mean(x), [INT_X], lambda x: _int_mean(x), grad=False),
    # reduce_max / reduce_min (inputs without ties: the gradient is well defined)
    OpCase("max_all", lambda x: graphdl.reduce_max(x), [randn(3, 4)], lambda x: x.max()),
    OpCase("max_axis0", lambda x: graphdl.reduce_max(x, axis=0), [randn(3, 4)], lambda x: x.max(0)),
    OpCase("max_negative_keepdims", lambda x: graphdl.reduce_max(x, -2, keepdims=True), [randn(2, 3, 4)],
           lambda x: x.max(-2, keepdims=True)),
    OpCase("max_list", lambda x: graphdl.reduce_max(x, [0, 2]), [randn(2, 3, 4)], lambda x: x.max((0, 2))),
    OpCase("max_reduction_indices", lambda x: graphdl.reduce_max(x, reduction_indices=1), [randn(4, 3)],
           lambda x: x.max(1)),
    OpCase("max_int", lambda x: graphdl.reduce_max(x, 0), [INT_X], lambda x: x.max(0), grad=False),
    OpCase("min_all", lambda x: graphdl.reduce_min(x), [randn(3, 4)], lambda x: x.min()),
    OpCase("min_axis1_keep_dims", lambda x: graphdl.reduce_min(x, 1, keep_dims=True), [randn(3, 4)],
           lambda x: x.min(1, keepdims=True)),
    OpCase("min_negative_list", lambda x: graphdl.reduce_min(x, [-1, -3]), [randn(2, 3, 4)],
           lambda x: x.min((0, 2))),
    OpCase("min_int", lambda x: graphdl.reduce_min(x, -1), [INT_X], lambda x: x.min(-1), grad=False),
    # reduce_prod
    OpCase("prod_all", lambda x: graphdl.reduce_prod(x), [uniform(0.5, 1.5, 2, 3)], lambda x: x.prod()),
    OpCase("prod_axis1", lambda x: graphdl.reduce_prod(x, 1), [uniform(-1.5, 1.5, 3, 4)], lambda x: x.prod(1)),
    OpCase("prod_negative_keepdims", lambda x: graphdl.reduce_prod(x, [-1, 0], keepdims=True),
           [uniform(0.5, 1.5, 2, 3, 2)], lambda x: x.prod((0, 2), keepdims=True)),
    OpCase("prod_reduction_indices", lambda x: graphdl.reduce_prod(x, reduction_indices=[0]),
           [uniform(-2, 2, 3, 2)], lambda x: x.prod(0)),
    OpCase("prod_int", lambda x: graphdl.reduce_prod(x, 1), [INT_X], lambda x: x.prod(1), grad=False),
    # reduce_logsumexp
    OpCase("logsumexp_all", lambda x: graphdl.reduce_logsumexp(x), [randn(3, 4)], lambda x: _logsumexp(x)),
    OpCase("logsumexp_axis", lambda x: graphdl.reduce_logsumexp(x, axis=1), [randn(3, 4)],
           lambda x: _logsumexp(x, 1)),
    OpCase("logsumexp_negative_keepdims", lambda x: graphdl.reduce_logsumexp(x, -1, keepdims=True),
           [randn(2, 3, 4)], lambda x: _logsumexp(x, -1, keepdims=True)),
    OpCase("logsumexp_reduction_indices", lambda x: graphdl.reduce_logsumexp(x, reduction_indices=[0, 1]),
           [randn(2, 3, 2)], lambda x: _logsumexp(x, (0, 1))),
    OpCase("logsumexp_large", lambda x: graphdl.reduce_logsumexp(x, 1), [randn(2, 3) + 1000.0],
           lambda x: _logsumexp(x.astype(np.float64), 1), rtol=1e-6),
    # reduce_variance / reduce_std
    OpCase("variance_all", lambda x: graphdl.reduce_variance(x), [randn(3, 4)], lambda x: x.var()),
    OpCase("variance_axis_keepdims", lambda x: graphdl.reduce_variance(x, 0, keepdims=True), [randn(3, 4)],
           lambda x: x.var(0, keepdims=True)),
    OpCase("std_axis", lambda x: graphdl.reduce_std(x, -1), [randn(3, 4)], lambda x: x.std(-1)),
    # reduce_any / reduce_all / count_nonzero
    OpCase("any_all", lambda x: graphdl.reduce_any(x), [BOOL_X], lambda x: np.any(x), grad=False),
    OpCase("any_axis", lambda x: graphdl.reduce_any(x, 1), [BOOL_X], lambda x: x.any(1), grad=False),
    OpCase("all_axis_keepdims", lambda x: graphdl.reduce_all(x, 0, keepdims=True), [BOOL_X],
           lambda x: x.all(0, keepdims=True), grad=False),
    OpCase("all_reduction_indices", lambda x: graphdl.reduce_all(x, reduction_indices=-1), [~BOOL_X],
           lambda x: x.all(-1), grad=False),
    OpCase("count_nonzero_all", lambda x: graphdl.count_nonzero(x), [SPARSE_X],
           lambda x: np.int64(np.count_nonzero(x)), grad=False),
    OpCase("count_nonzero_axis_int32", lambda x: graphdl.count_nonzero(x, axis=0, dtype=graphdl.int32), [SPARSE_X],
           lambda x: np.count_nonzero(x, axis=0).astype(np.int32), grad=False),
    OpCase("count_nonzero_bool_keepdims", lambda x: graphdl.count_nonzero(x, 1, keepdims=True), [BOOL_X],
           lambda x: np.count_nonzero(x, 1, keepdims=True).astype(np.int64), grad=False),
    OpCase("count_nonzero_int", lambda x: graphdl.count_nonzero(x, reduction_indices=[1]), [INT_X * (INT_X > 0)],
           lambda x: np.count_nonzero(x, 1).astype(np.int64), grad=False),
    # argmax / argmin
    OpCase("argmax_default_axis0", lambda x: graphdl.argmax(x), [randn(3, 4)], lambda x: x.argmax(0), grad=False),
    OpCase("argmax_axis1_int32", lambda x: graphdl.argmax(x, 1, output_type=graphdl.int32), [randn(3, 4)],
           lambda x: x.argmax(1).astype(np.int32), grad=False),
    OpCase("argmax_dimension_alias", lambda x: graphdl.argmax(x, dimension=-1), [randn(2, 3, 4)],
           lambda x: x.argmax(-1), grad=False),
    OpCase("argmax_ties_first", lambda x: graphdl.argmax(x, 1), [np.array([[1, 5, 5], [2, 2, 0]], np.int32)],
           lambda x: np.array([1, 0]), grad=False),
    OpCase("argmin_axis", lambda x: graphdl.argmin(x, axis=0), [randn(3, 4)], lambda x: x.argmin(0), grad=False),
    OpCase("arg_max_alias", lambda x: graphdl.arg_max(x, 1), [randn(3, 4)], lambda x: x.argmax(1), grad=False),
    OpCase("arg_min_alias", lambda x: graphdl.arg_min(x, dimension=0), [INT_X], lambda x: x.argmin(0), grad=False),
    OpCase("argmin_axis_tensor", lambda x, a: graphdl.argmin(x, a), [randn(3, 4), np.array(-1, np.int32)],
           lambda x, a: x.argmin(-1), grad=False),
    # gradients built inside the graph, so they also run with unknown dims (dynamic-shape gradient paths)
    OpCase("grad_of_mean_dynamic", lambda x: graphdl.gradients(graphdl.reduce_mean(x, 1) * 3.0, x)[0], [randn(3, 4)],
           lambda x: np.full_like(x, 0.75), grad=False),
    OpCase("grad_of_max_dynamic", lambda x: graphdl.gradients(graphdl.reduce_max(x, 0), x)[0], [randn(3, 4)],
           lambda x: (x == x.max(0)).astype(x.dtype), grad=False),
    OpCase("grad_of_prod_dynamic", lambda x: graphdl.gradients(graphdl.reduce_prod(x, -1), x)[0],
           [uniform(0.5, 1.5, 2, 3)], lambda x: x.prod(-1, keepdims=True) / x, grad=False),
    OpCase("grad_of_mean_axis_tensor", lambda x, a: graphdl.gradients(graphdl.reduce_mean(x, a), x)[0],
           [randn(2, 4), np.array([1], np.int32)], lambda x, a: np.full_like(x, 0.25), grad=False),
]

test_forward, test_gradient = make_op_tests(CASES)


def _run(fetches, feed=None):
    with graphdl.Session() as sess:
        return sess.run(fetches, feed)


def _grad(build, x, axis_kwargs=None):
    """The gradient of sum(build(x)) w.r.t. a float64 placeholder fed with ``x``."""
    ph = graphdl.placeholder(graphdl.float64, x.shape)
    y = build(ph)
    (g,) = graphdl.gradients(graphdl.reduce_sum(y), [ph])
    return _run(g, {ph: x})


# -- ties: TF splits the gradient equally among the positions of the extremum --------------------
def test_max_gradient_splits_ties_equally():
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    got = _grad(lambda t: graphdl.reduce_max(t, axis=1), x)
    np.testing.assert_allclose(got, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])


def test_min_gradient_splits_ties_over_all_axes():
    x = np.array([[0.0, 4.0], [0.0, 0.0]])
    got = _grad(lambda t: graphdl.reduce_min(t), x)
    np.testing.assert_allclose(got, [[1 / 3, 0], [1 / 3, 1 / 3]])


def test_max_gradient_ties_with_keepdims_and_weights():
    x = np.array([[5.0, 5.0], [1.0, 2.0]])
    ph = graphdl.placeholder(graphdl.float64, [2, 2])
    y = graphdl.reduce_max(ph, 1, keepdims=True)
    (g,) = graphdl.gradients(y, [ph], grad_ys=[graphdl.constant([[4.0], [3.0]], graphdl.float64)])
    np.testing.assert_allclose(_run(g, {ph: x}), [[2, 2], [0, 3]])


# -- reduce_prod with zeros ------------------------------------------------------------------------
def test_prod_gradient_with_zeros():
    x = np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 4.0], [1.0, 2.0, 3.0]])
    got = _grad(lambda t: graphdl.reduce_prod(t, axis=1), x)
    np.testing.assert_allclose(got, [[0, 6, 0], [0, 0, 0], [6, 3, 2]])


def test_prod_gradient_full_reduction_with_one_zero():
    x = np.array([[1.5, -2.0], [0.0, 4.0]])
    got = _grad(lambda t: graphdl.reduce_prod(t), x)
    np.testing.assert_allclose(got, [[0, 0], [-12, 0]])


def test_prod_second_derivative():
    x = np.array([2.0, 3.0, 5.0])
    ph = graphdl.placeholder(graphdl.float64, [3])
    (g,) = graphdl.gradients(graphdl.reduce_prod(ph), [ph])
    c = np.array([1.0, 10.0, 100.0])
    (hc,) = graphdl.gradients(graphdl.reduce_sum(g * c), [ph])
    hessian = np.array([[0, 5, 3], [5, 0, 2], [3, 2, 0]], dtype=np.float64)
    np.testing.assert_allclose(_run(hc, {ph: x}), hessian @ c)


# -- logsumexp stability -----------------------------------------------------------------------------
def test_logsumexp_large_inputs_are_stable():
    x = graphdl.constant([[1000.0, 1000.0], [-1000.0, -1000.0]])
    y = graphdl.reduce_logsumexp(x, axis=1)
    (g,) = graphdl.gradients(y, [x])
    value, grad = _run([y, g])
    np.testing.assert_allclose(value, [1000 + np.log(2), -1000 + np.log(2)], rtol=1e-6)
    np.testing.assert_allclose(grad, np.full((2, 2), 0.5), rtol=1e-6)


def test_logsumexp_infinite_max():
    x = graphdl.constant([[-np.inf, -np.inf], [np.inf, 1.0]])
    np.testing.assert_array_equal(_run(graphdl.reduce_logsumexp(x, 1)), [-np.inf, np.inf])


def test_logsumexp_names_last_op_by_scope():
    y = graphdl.reduce_logsumexp(graphdl.constant([1.0, 2.0]), name="lse")
    assert y.op.name == "lse"
    assert y.shape.as_list() == []


# -- shapes, names, dtypes -----------------------------------------------------------------------------
def test_full_reduction_of_unknown_rank_is_scalar():
    x = graphdl.placeholder(graphdl.float32)
    for fn in (graphdl.reduce_sum, graphdl.reduce_mean, graphdl.reduce_max, graphdl.reduce_prod):
        y = fn(x)
        assert y.shape.as_list() == [], fn.__name__
    assert graphdl.reduce_mean(x, keepdims=True).shape.ndims is None
    np.testing.assert_allclose(_run(graphdl.reduce_mean(x), {x: np.arange(6.0).reshape(2, 3)}), 2.5)
    np.testing.assert_allclose(_run(graphdl.reduce_min(x, keepdims=True), {x: [[3.0, 2.0]]}), [[2.0]])


def test_static_shapes_and_op_types():
    x = graphdl.placeholder(graphdl.float32, [None, 3, 4])
    assert graphdl.reduce_mean(x, 1).shape.as_list() == [None, 4]
    assert graphdl.reduce_max(x, [-1, 0], keepdims=True).shape.as_list() == [1, 3, 1]
    assert graphdl.reduce_prod(x).shape.as_list() == []
    assert graphdl.argmax(x, 2).shape.as_list() == [None, 3]
    assert graphdl.argmax(x).dtype == graphdl.int64
    assert graphdl.count_nonzero(x, 1).dtype == graphdl.int64
    types = {f.__name__: f(x).op.type for f in (graphdl.reduce_mean, graphdl.reduce_max, graphdl.reduce_min,
                                                 graphdl.reduce_prod)}
    assert types == {"reduce_mean": "Mean", "reduce_max": "Max", "reduce_min": "Min", "reduce_prod": "Prod"}
    assert graphdl.reduce_mean(x, name="m").op.name == "m"
    assert graphdl.argmin(x).op.type == "ArgMin"
    b = graphdl.placeholder(graphdl.bool, [2, 3])
    assert graphdl.reduce_any(b).op.type == "Any" and graphdl.reduce_all(b, 0).shape.as_list() == [3]


def test_empty_reductions_return_identities():
    x = graphdl.constant(np.zeros((0, 2), np.float32))
    mx, mn, pr, sm = _run([graphdl.reduce_max(x, 0), graphdl.reduce_min(x, 0), graphdl.reduce_prod(x, 0),
                           graphdl.reduce_sum(x, 0)])
    np.testing.assert_array_equal(mx, [-np.inf, -np.inf])
    np.testing.assert_array_equal(mn, [np.inf, np.inf])
    np.testing.assert_array_equal(pr, [1, 1])
    np.testing.assert_array_equal(sm, [0, 0])
    assert np.all(np.isnan(_run(graphdl.reduce_mean(x, 0))))


def test_integer_mean_truncates_toward_zero():
    x = graphdl.constant([[1, 2], [-1, -2], [7, 0]])
    np.testing.assert_array_equal(_run(graphdl.reduce_mean(x, 1)), [1, -1, 3])
    assert graphdl.reduce_mean(x).dtype == graphdl.int32


def test_integer_reductions_have_no_gradient_and_bool_ops_not_differentiable():
    x = graphdl.placeholder(graphdl.float32, [3])
    y = graphdl.cast(graphdl.argmax(x), graphdl.float32) + graphdl.cast(graphdl.count_nonzero(x), graphdl.float32)
    assert graphdl.gradients(y, [x]) == [None]


def test_count_nonzero_input_alias():
    x = graphdl.constant([[0, 1], [2, 0]])
    np.testing.assert_array_equal(_run(graphdl.count_nonzero(input=x, axis=1)), [1, 1])


def test_variance_std_values():
    x = np.array([[1.0, 2.0, 4.0], [3.0, 3.0, 3.0]], np.float32)
    v, s = _run([graphdl.reduce_variance(x, axis=1), graphdl.reduce_std(x, axis=1)])
    np.testing.assert_allclose(v, x.var(1), rtol=1e-6)
    np.testing.assert_allclose(s, x.std(1), rtol=1e-6)


# -- errors ---------------------------------------------------------------------------------------------
def test_axis_out_of_range_names_op_and_rank():
    x = graphdl.placeholder(graphdl.float32, [2, 3], name="x")
    with pytest.raises(graphdl.errors.InvalidArgumentError) as e:
        graphdl.reduce_max(x, axis=2)
    msg = str(e.value)
    assert "Max" in msg and "2 dimensions" in msg and "dimension 2" in msg
    with pytest.raises(ValueError, match=r"-3 for input with 2 dimensions.*Mean"):
        graphdl.reduce_mean(x, axis=-3)


def test_axis_out_of_range_at_run_time():
    x = graphdl.placeholder(graphdl.float32, None)
    a = graphdl.placeholder(graphdl.int32, [])
    y = graphdl.reduce_prod(x, a)
    with pytest.raises(graphdl.errors.InvalidArgumentError, match=r"Prod.*3 for input with 2 dimensions"):
        _run(y, {x: np.ones((2, 2)), a: 3})


def test_axis_and_reduction_indices_conflict():
    with pytest.raises(ValueError, match="reduction_indices"):
        graphdl.reduce_mean(graphdl.constant([1.0]), axis=0, reduction_indices=0)
    with pytest.raises(ValueError, match="dimension"):
        graphdl.argmax(graphdl.constant([1.0]), axis=0, dimension=0)


def test_dtype_errors():
    with pytest.raises(TypeError, match="Any"):
        graphdl.reduce_any(graphdl.constant([1.0, 0.0]))
    with pytest.raises(TypeError, match="Mean"):
        graphdl.reduce_mean(graphdl.constant([True, False]))
    with pytest.raises(TypeError, match="reduction_indices"):
        graphdl.reduce_sum(graphdl.constant([1.0]), axis=graphdl.constant(0.0))


def test_argmax_errors():
    x = graphdl.placeholder(graphdl.float32, [2, 3])
    with pytest.raises(ValueError, match=r"range \[-2, 2\), but got 2.*ArgMax"):
        graphdl.argmax(x, 2)
    with pytest.raises(TypeError, match="output_type"):
        graphdl.argmax(x, 0, output_type=graphdl.float32)
    with pytest.raises(ValueError, match="empty"):
        graphdl.argmin(graphdl.placeholder(graphdl.float32, [0, 3]), 0)
    ph = graphdl.placeholder(graphdl.float32, None)
    with pytest.raises(graphdl.errors.InvalidArgumentError, match="ArgMax"):
        _run(graphdl.argmax(ph, 1), {ph: np.ones(3)})
