"""matmul (MatMul / BatchMatMulV2 with broadcast batch dims) and tensordot."""

import numpy as np
import pytest

import graphdl
from harness import OpCase, make_op_tests, randn


def ints(*shape, seed=0):
    return np.random.default_rng(seed + 7).integers(-4, 5, shape).astype(np.int32)


def t(x):
    return np.swapaxes(x, -1, -2)


CASES = [
    OpCase("matmul", lambda a, b: graphdl.matmul(a, b), [randn(3, 4), randn(4, 5, seed=1)], np.matmul),
    OpCase("matmul_transpose_a", lambda a, b: graphdl.matmul(a, b, transpose_a=True), [randn(4, 3), randn(4, 2, seed=1)],
           lambda a, b: a.T @ b),
    OpCase("matmul_transpose_b", lambda a, b: graphdl.matmul(a, b, transpose_b=True), [randn(3, 4), randn(2, 4, seed=1)],
           lambda a, b: a @ b.T),
    OpCase("matmul_transpose_both", lambda a, b: graphdl.matmul(a, b, transpose_a=True, transpose_b=True),
           [randn(4, 3), randn(2, 4, seed=1)], lambda a, b: a.T @ b.T),
    OpCase("matmul_adjoint_a", lambda a, b: graphdl.matmul(a, b, adjoint_a=True), [randn(4, 3), randn(4, 2, seed=1)],
           lambda a, b: a.T @ b),
    OpCase("matmul_operator", lambda a, b: a @ b, [randn(2, 3), randn(3, 2, seed=1)], np.matmul),
    OpCase("matmul_rmatmul_numpy", lambda b: np.ones((2, 3), np.float32) @ b, [randn(3, 2)],
           lambda b: np.ones((2, 3), np.float32) @ b),
    OpCase("matmul_int32", lambda a, b: graphdl.matmul(a, b), [ints(3, 4), ints(4, 2, seed=1)], np.matmul, grad=False),
    OpCase("matmul_vector_column", lambda a, b: graphdl.matmul(a, b), [randn(3, 4), randn(4, 1, seed=1)], np.matmul),
    OpCase("batch_matmul", lambda a, b: graphdl.matmul(a, b), [randn(2, 3, 4), randn(2, 4, 2, seed=1)], np.matmul),
    OpCase("batch_matmul_rank2_rhs", lambda a, b: graphdl.matmul(a, b), [randn(2, 3, 4), randn(4, 2, seed=1)], np.matmul),
    OpCase("batch_matmul_rank2_lhs", lambda a, b: graphdl.matmul(a, b), [randn(3, 4), randn(2, 4, 2, seed=1)], np.matmul),
    OpCase("batch_matmul_broadcast_one", lambda a, b: graphdl.matmul(a, b), [randn(1, 3, 4), randn(2, 4, 2, seed=1)],
           np.matmul),
    OpCase("batch_matmul_broadcast_4d", lambda a, b: graphdl.matmul(a, b), [randn(2, 1, 2, 3), randn(3, 3, 2, seed=1)],
           np.matmul),
    OpCase("batch_matmul_adjoint_a", lambda a, b: graphdl.matmul(a, b, adjoint_a=True),
           [randn(2, 4, 3), randn(2, 4, 2, seed=1)], lambda a, b: t(a) @ b),
    OpCase("batch_matmul_transpose_b", lambda a, b: graphdl.matmul(a, b, transpose_b=True),
           [randn(2, 3, 4), randn(2, 2, 4, seed=1)], lambda a, b: a @ t(b)),
    OpCase("batch_matmul_adjoint_both", lambda a, b: graphdl.matmul(a, b, adjoint_a=True, adjoint_b=True),
           [randn(2, 4, 3), randn(1, 2, 4, seed=1)], lambda a, b: t(a) @ t(b)),
    OpCase("batch_matmul_operator", lambda a, b: a @ b, [randn(2, 2, 3), randn(2, 3, 2, seed=1)], np.matmul),
    OpCase("batch_matmul_int32", lambda a, b: graphdl.matmul(a, b), [ints(2, 3, 4), ints(2, 4, 2, seed=1)], np.matmul,
           grad=False),
    OpCase("tensordot_axes_1", lambda a, b: graphdl.tensordot(a, b, 1), [randn(3, 4), randn(4, 5, seed=1)],
           lambda a, b: np.tensordot(a, b, 1)),
    OpCase("tensordot_axes_2", lambda a, b: graphdl.tensordot(a, b, axes=2), [randn(2, 3, 4), randn(3, 4, 2, seed=1)],
           lambda a, b: np.tensordot(a, b, 2)),
    OpCase("tensordot_axes_0_outer", lambda a, b: graphdl.tensordot(a, b, 0), [randn(2, 3), randn(4, seed=1)],
           lambda a, b: np.tensordot(a, b, 0)),
    OpCase("tensordot_axes_lists", lambda a, b: graphdl.tensordot(a, b, [[0, 2], [2, 0]]),
           [randn(3, 4, 2), randn(2, 5, 3, seed=1)], lambda a, b: np.tensordot(a, b, [[0, 2], [2, 0]])),
    OpCase("tensordot_axes_int_pair", lambda a, b: graphdl.tensordot(a, b, (1, 0)), [randn(3, 4), randn(4, 2, seed=1)],
           lambda a, b: np.tensordot(a, b, (1, 0))),
    OpCase("tensordot_negative_axes", lambda a, b: graphdl.tensordot(a, b, [[-1], [-2]]),
           [randn(2, 3, 4), randn(4, 2, seed=1)], lambda a, b: np.tensordot(a, b, [[-1], [-2]])),
    OpCase("tensordot_dense_layer_3d", lambda a, w: graphdl.tensordot(a, w, [[2], [0]]),
           [randn(2, 3, 4), randn(4, 5, seed=1)], lambda a, w: np.tensordot(a, w, [[2], [0]])),
    OpCase("second_derivative_matmul", lambda a, b: graphdl.gradients(graphdl.reduce_sum(graphdl.square(a @ b)), a)[0],
           [randn(2, 3), randn(3, 2, seed=1)], lambda a, b: 2 * (a @ b) @ b.T),
]

test_forward, test_gradient = make_op_tests(CASES)


def test_matmul_inner_dimension_error_is_tf_style():
    with pytest.raises(ValueError) as info:
        graphdl.matmul(graphdl.zeros([3, 4]), graphdl.zeros([5, 6]))
    assert str(info.value) == (
        "Dimensions must be equal, but are 4 and 5 for 'MatMul' (op: 'MatMul') with input shapes: [3,4], [5,6]."
    )


def test_batch_matmul_inner_dimension_error():
    with pytest.raises(ValueError, match=r"Dimensions must be equal, but are 4 and 5 for 'MatMul' \(op: 'BatchMatMulV2'\)"):
        graphdl.matmul(graphdl.zeros([2, 3, 4]), graphdl.zeros([2, 5, 6]))
    with pytest.raises(ValueError, match="Dimensions must be equal, but are 2 and 3"):
        graphdl.matmul(graphdl.zeros([2, 3, 4]), graphdl.zeros([3, 4, 6]))


def test_matmul_rank_errors():
    with pytest.raises(ValueError, match="Shape must be rank 2 but is rank 1 for 'MatMul'"):
        graphdl.matmul(graphdl.zeros([4]), graphdl.zeros([4, 2]))
    with pytest.raises(ValueError, match="at least rank 2"):
        graphdl.matmul(graphdl.zeros([2, 3, 4]), graphdl.zeros([4]))


def test_matmul_dtype_errors():
    with pytest.raises(TypeError, match="float64.*float32|float32.*float64"):
        graphdl.matmul(graphdl.zeros([2, 2]), graphdl.zeros([2, 2], graphdl.float64))
    with pytest.raises(TypeError, match="bool"):
        graphdl.matmul(graphdl.constant([[True]]), graphdl.constant([[True]]))
    with pytest.raises(ValueError, match="Only one of transpose_a and adjoint_a"):
        graphdl.matmul(graphdl.zeros([2, 2]), graphdl.zeros([2, 2]), transpose_a=True, adjoint_a=True)


def test_matmul_op_types_names_and_static_shapes():
    a = graphdl.placeholder(graphdl.float32, [None, 4])
    w = graphdl.zeros([4, 3])
    y = graphdl.matmul(a, w)
    assert y.op.type == "MatMul" and y.op.name == "MatMul"
    assert y.shape.as_list() == [None, 3]
    assert graphdl.matmul(a, w).op.name == "MatMul_1"
    assert graphdl.matmul(a, w, name="logits").op.name == "logits"
    b = graphdl.placeholder(graphdl.float32, [None, 5, 4])
    z = graphdl.matmul(b, w)
    assert z.op.type == "BatchMatMulV2" and z.shape.as_list() == [None, 5, 3]
    unknown = graphdl.placeholder(graphdl.float32)
    u = graphdl.matmul(unknown, w)
    assert u.op.type == "BatchMatMulV2" and u.shape.ndims is None
    assert graphdl.matmul(a, w, transpose_b=False).op.get_attr("transpose_a") is False


def test_matmul_unknown_rank_runs_and_differentiates():
    a = graphdl.placeholder(graphdl.float32)
    w = graphdl.constant(np.arange(6, dtype=np.float32).reshape(3, 2))
    y = graphdl.matmul(a, w)
    g = graphdl.gradients(graphdl.reduce_sum(y), a)[0]
    av = np.ones((2, 4, 3), np.float32)
    with graphdl.Session() as sess:
        yv, gv = sess.run([y, g], {a: av})
    np.testing.assert_allclose(yv, av @ w.op.get_attr("value"))
    np.testing.assert_allclose(gv, np.broadcast_to(w.op.get_attr("value").sum(1), (2, 4, 3)))


def test_tensordot_static_shapes_and_errors():
    a = graphdl.placeholder(graphdl.float32, [None, 3, 4])
    w = graphdl.zeros([4, 5])
    assert graphdl.tensordot(a, w, 1).shape.as_list() == [None, 3, 5]
    assert graphdl.tensordot(a, w, [[2], [0]]).shape.as_list() == [None, 3, 5]
    with pytest.raises(ValueError, match="Dimensions must be equal, but are 3 and 4"):
        graphdl.tensordot(a, w, [[1], [0]])
    with pytest.raises(ValueError, match="Different number of contraction axes"):
        graphdl.tensordot(a, w, [[1, 2], [0]])
    with pytest.raises(ValueError, match="must not be larger"):
        graphdl.tensordot(a, w, 3)
    with pytest.raises(ValueError, match="at least 0"):
        graphdl.tensordot(a, w, -1)


def test_tensordot_unknown_rank_with_int_axes():
    a = graphdl.placeholder(graphdl.float32)
    b = graphdl.placeholder(graphdl.float32)
    y = graphdl.tensordot(a, b, 1)
    y0 = graphdl.tensordot(a, b, 0)
    av, bv = randn(2, 3, 4), randn(4, 5, seed=1)
    with graphdl.Session() as sess:
        got, outer = sess.run([y, y0], {a: av, b: bv})
    np.testing.assert_allclose(got, np.tensordot(av, bv, 1), rtol=1e-5)
    np.testing.assert_allclose(outer, np.tensordot(av, bv, 0), rtol=1e-5)
