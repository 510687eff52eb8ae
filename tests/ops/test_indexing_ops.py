"""Indexing ops: slice, strided_slice / ``t[...]``, gather family, scatter_nd, segment sums, boolean_mask."""

import numpy as np
import pytest
from harness import OpCase, gradient_values, make_op_tests, randn

import graphdl
from graphdl.framework.strided_slice_spec import evaluate_strided_slice

I32 = np.int32


def idx(*values):
    return np.array(values, dtype=I32)


CASES = [
    # slice
    OpCase("slice", lambda x: graphdl.slice(x, [1, 0], [2, 3]), [randn(4, 3)], lambda x: x[1:3, 0:3]),
    OpCase("slice_minus_one", lambda x: graphdl.slice(x, [1, 1, 0], [-1, 1, -1]), [randn(3, 3, 2)],
           lambda x: x[1:, 1:2, :]),
    OpCase("slice_tensor_begin", lambda x, b: graphdl.slice(x, b, [2, -1]), [randn(4, 3), idx(1, 1)],
           lambda x, b: x[1:3, 1:]),
    # strided_slice with explicit masks
    OpCase("strided_slice", lambda x: graphdl.strided_slice(x, [0, 1], [3, 3], [2, 1]), [randn(4, 3)],
           lambda x: x[0:3:2, 1:3]),
    OpCase("strided_slice_masks", lambda x: graphdl.strided_slice(x, [1, 0, 2], [0, 2, 0], [1, 1, -1], begin_mask=0b001,
                                                                  end_mask=0b101), [randn(2, 3, 4)],
           lambda x: x[:, 0:2, 2::-1]),
    OpCase("strided_slice_shrink_newaxis", lambda x: graphdl.strided_slice(x, [0, -1], [0, 0], [1, 1],
                                                                           new_axis_mask=1, shrink_axis_mask=2),
           [randn(3, 4)], lambda x: x[None, -1]),
    OpCase("strided_slice_ellipsis", lambda x: graphdl.strided_slice(x, [0, 1], [0, 2], [1, 1], ellipsis_mask=1,
                                                                     shrink_axis_mask=2), [randn(2, 3, 4)],
           lambda x: x[..., 1]),
    OpCase("strided_slice_default_strides", lambda x: graphdl.strided_slice(x, [1], [3]), [randn(5)], lambda x: x[1:3]),
    OpCase("strided_slice_clamped", lambda x: graphdl.strided_slice(x, [-10], [10], [1]), [randn(5)], lambda x: x),
    # t[...]
    OpCase("getitem_int", lambda x: x[1], [randn(4, 3)], lambda x: x[1]),
    OpCase("getitem_negative_int", lambda x: x[-1], [randn(4, 3)], lambda x: x[-1]),
    OpCase("getitem_range", lambda x: x[1:3], [randn(4, 3)], lambda x: x[1:3]),
    OpCase("getitem_reverse", lambda x: x[::-1], [randn(4, 3)], lambda x: x[::-1]),
    OpCase("getitem_step_and_int", lambda x: x[::2, 1], [randn(5, 3)], lambda x: x[::2, 1]),
    OpCase("getitem_ellipsis", lambda x: x[..., 0], [randn(2, 3, 4)], lambda x: x[..., 0]),
    OpCase("getitem_ellipsis_middle", lambda x: x[1, ..., 1:], [randn(2, 3, 4)], lambda x: x[1, ..., 1:]),
    OpCase("getitem_newaxis_middle", lambda x: x[:, None, :], [randn(4, 3)], lambda x: x[:, None, :]),
    OpCase("getitem_newaxis_front", lambda x: x[None], [randn(4, 3)], lambda x: x[None]),
    OpCase("getitem_newaxis_last", lambda x: x[..., None], [randn(4, 3)], lambda x: x[..., None]),
    OpCase("getitem_negative_step", lambda x: x[1:-1, ::-2], [randn(5, 4)], lambda x: x[1:-1, ::-2]),
    OpCase("getitem_negative_bounds", lambda x: x[-1:0:-1, -2:], [randn(5, 4)], lambda x: x[-1:0:-1, -2:]),
    OpCase("getitem_empty_range", lambda x: x[3:1], [randn(5, 2)], lambda x: x[3:1], grad=False),
    OpCase("getitem_scalar", lambda x: x[1, 2], [randn(4, 3)], lambda x: x[1, 2]),
    OpCase("getitem_list_as_tuple", lambda x: x[[1, 2]], [randn(4, 3)], lambda x: x[1, 2]),
    OpCase("getitem_empty_key", lambda x: x[()], [randn(2, 3)], lambda x: x),
    OpCase("getitem_tensor_index", lambda x, i: x[i], [randn(4, 3), np.array(2, I32)], lambda x, i: x[i]),
    OpCase("getitem_tensor_negative_index", lambda x, i: x[:, i], [randn(4, 3), np.array(-1, I32)],
           lambda x, i: x[:, i]),
    OpCase("getitem_tensor_bounds", lambda x, i, j: x[i:j, ::-1], [randn(5, 3), np.array(1, I32), np.array(4, I32)],
           lambda x, i, j: x[i:j, ::-1]),
    OpCase("getitem_int64_tensor_index", lambda x, i: x[1:, i], [randn(4, 3), np.array(0, np.int64)],
           lambda x, i: x[1:, i]),
    OpCase("getitem_twice", lambda x: x[1:][:, ::-1][0], [randn(4, 3)], lambda x: x[1:][:, ::-1][0]),
    OpCase("getitem_shape_in_reshape", lambda x: graphdl.reshape(x, [graphdl.shape(x)[0], 3, 1]) * 2.0,
           [randn(4, 3)], lambda x: x.reshape(4, 3, 1) * 2),
    OpCase("getitem_int_tensor", lambda x: x[1:] * 2, [np.arange(5, dtype=I32)], lambda x: x[1:] * 2, grad=False),
    # gather
    OpCase("gather", lambda x, i: graphdl.gather(x, i), [randn(5, 3), idx(4, 0, 4)], lambda x, i: x[i]),
    OpCase("gather_2d_indices", lambda x, i: graphdl.gather(x, i), [randn(4, 2), np.array([[0, 3], [3, 3]], I32)],
           lambda x, i: x[i]),
    OpCase("gather_axis1", lambda x, i: graphdl.gather(x, i, axis=1), [randn(2, 4, 3), idx(3, 1, 1)],
           lambda x, i: np.take(x, i, axis=1)),
    OpCase("gather_negative_axis", lambda x, i: graphdl.gather(x, i, axis=-1), [randn(2, 4), idx(0, 0, 3, 2)],
           lambda x, i: np.take(x, i, axis=-1)),
    OpCase("gather_tensor_axis", lambda x, i, a: graphdl.gather(x, i, axis=a), [randn(2, 3), idx(2, 0, 2), np.array(1, I32)],
           lambda x, i, a: x[:, i]),
    OpCase("gather_scalar_index", lambda x, i: graphdl.gather(x, i), [randn(5, 3), np.array(2, I32)],
           lambda x, i: x[2]),
    OpCase("gather_int64_indices", lambda x: graphdl.gather(x, np.array([1, 1], np.int64)), [randn(3, 2)],
           lambda x: x[[1, 1]]),
    OpCase("gather_batch_dims", lambda x, i: graphdl.gather(x, i, axis=1, batch_dims=1),
           [randn(2, 4, 3), np.array([[0, 3, 3], [1, 1, 2]], I32)],
           lambda x, i: np.stack([x[b][i[b]] for b in range(2)])),
    OpCase("batch_gather", lambda x, i: graphdl.batch_gather(x, i),
           [randn(2, 4), np.array([[3, 0], [1, 1]], I32)], lambda x, i: np.take_along_axis(x, i, 1)),
    OpCase("gather_second_order", lambda x: graphdl.gradients(graphdl.reduce_sum(graphdl.gather(x, [1, 1, 0]) ** 2), x)[0],
           [randn(3, 2)], lambda x: 2 * x * np.array([[1], [2], [0]])),
    OpCase("gather_axis1_second_order",
           lambda x: graphdl.gradients(graphdl.reduce_sum(graphdl.gather(x, [1, 1], axis=1) ** 2), x)[0],
           [randn(3, 2)], lambda x: 2 * x * np.array([0, 2])),
    # gather_nd / scatter_nd
    OpCase("gather_nd", lambda x, i: graphdl.gather_nd(x, i), [randn(3, 4), np.array([[0, 1], [2, 3], [0, 1]], I32)],
           lambda x, i: x[i[:, 0], i[:, 1]]),
    OpCase("gather_nd_slices", lambda x, i: graphdl.gather_nd(x, i), [randn(3, 2, 2), np.array([[[2]], [[0]]], I32)],
           lambda x, i: x[i[..., 0]]),
    OpCase("gather_nd_batch_dims", lambda x, i: graphdl.gather_nd(x, i, batch_dims=1),
           [randn(2, 3, 4), np.array([[1, 3], [2, 0]], I32)],
           lambda x, i: np.stack([x[b][tuple(i[b])] for b in range(2)])),
    OpCase("scatter_nd", lambda i, u: graphdl.scatter_nd(i, u, [5, 2]),
           [np.array([[4], [0], [4]], I32), randn(3, 2)],
           lambda i, u: np.array([u[1], [0, 0], [0, 0], [0, 0], u[0] + u[2]])),
    OpCase("scatter_nd_elements", lambda i, u: graphdl.scatter_nd(i, u, graphdl.constant([2, 3])),
           [np.array([[0, 2], [1, 1]], I32), randn(2)],
           lambda i, u: np.array([[0, 0, u[0]], [0, u[1], 0]])),
    # segment sums
    OpCase("unsorted_segment_sum", lambda x, s: graphdl.unsorted_segment_sum(x, s, 4),
           [randn(5, 2), idx(3, 0, 3, -1, 1)],
           lambda x, s: np.array([x[1], x[4], [0, 0], x[0] + x[2]])),
    OpCase("unsorted_segment_sum_2d_ids", lambda x, s: graphdl.unsorted_segment_sum(x, s, 2),
           [randn(2, 2, 3), np.array([[1, 1], [0, -1]], I32)],
           lambda x, s: np.array([x[1, 0], x[0, 0] + x[0, 1]])),
    OpCase("unsorted_segment_sum_second_order",
           lambda x: graphdl.gradients(graphdl.reduce_sum(graphdl.unsorted_segment_sum(x, [1, -1, 1], 2) ** 2), x)[0],
           [randn(3)], lambda x: np.array([2 * (x[0] + x[2]), 0, 2 * (x[0] + x[2])])),
    # boolean_mask
    OpCase("boolean_mask", lambda x, m: graphdl.boolean_mask(x, m), [randn(4, 2), np.array([True, False, True, True])],
           lambda x, m: x[m]),
    OpCase("boolean_mask_2d_mask", lambda x, m: graphdl.boolean_mask(x, m),
           [randn(2, 3, 2), np.array([[True, False, True], [False, False, True]])], lambda x, m: x[m]),
    OpCase("boolean_mask_axis", lambda x, m: graphdl.boolean_mask(x, m, axis=1),
           [randn(2, 3), np.array([False, True, True])], lambda x, m: x[:, m]),
]

test_forward, test_gradient = make_op_tests(CASES)


def _run(fetches, feed=None):
    with graphdl.Session() as sess:
        return sess.run(fetches, feed)


# -- static shapes -------------------------------------------------------------------------------
@pytest.mark.parametrize("key, expected", [
    (slice(None), (None, 3)),
    ((slice(None), 1), (None,)),
    ((Ellipsis, None), (None, 3, 1)),
    ((None,), (1, None, 3)),
    ((1,), (3,)),
    ((slice(None), slice(None, None, -2)), (None, 2)),
    ((slice(1, -1), slice(0, 2)), (None, 2)),
    ((Ellipsis, 0), (None,)),
    ((0, Ellipsis, None, 1), (1,)),
    ((), (None, 3)),
])
def test_getitem_static_shape(key, expected):
    x = graphdl.placeholder(graphdl.float32, [None, 3])
    assert x[key].shape.as_tuple() == expected
    assert x[key].op.type == "StridedSlice"


def test_getitem_known_shape_and_tensor_index():
    x = graphdl.placeholder(graphdl.float32, [5, 3])
    i = graphdl.placeholder(graphdl.int32, [])
    assert x[1:4].shape.as_tuple() == (3, 3)
    assert x[::-2, ::2].shape.as_tuple() == (3, 2)
    assert x[i].shape.as_tuple() == (3,)
    assert x[i, 1:].shape.as_tuple() == (2,)
    assert x[i:].shape.as_tuple() == (None, 3)
    assert x[:, :i].shape.as_tuple() == (5, None)
    np.testing.assert_array_equal(_run(x[i:, -1], {x: np.arange(15).reshape(5, 3), i: 3}), [11, 14])


def test_getitem_op_name_and_unknown_rank():
    x = graphdl.placeholder(graphdl.float32)
    y = x[1:, 0]
    assert y.op.name == "strided_slice"
    assert y.shape.ndims is None
    v = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    np.testing.assert_array_equal(_run(y, {x: v}), v[1:, 0])


def test_shape_slicing_gives_static_reshape():
    x = graphdl.placeholder(graphdl.float32, [None, 3, 4])
    n = graphdl.shape(x)[0]
    assert n.shape.as_tuple() == ()
    y = graphdl.reshape(x, [n, 12])
    assert y.shape.as_tuple() == (None, 12)
    z = graphdl.reshape(x, graphdl.shape(x)[1:])
    assert z.shape.as_tuple() == (3, 4)
    np.testing.assert_array_equal(_run(y, {x: np.ones((2, 3, 4))}), np.ones((2, 12)))


def test_getitem_on_variable_and_gradient_to_variable():
    v = graphdl.Variable(np.arange(6, dtype=np.float32).reshape(2, 3))
    y = v[1, ::-1]
    g = graphdl.gradients(graphdl.reduce_sum(y * [1.0, 2.0, 3.0]), v)[0]
    with graphdl.Session() as sess:
        sess.run(graphdl.global_variables_initializer())
        out, grad = sess.run([y, g])
    np.testing.assert_array_equal(out, [5, 4, 3])
    np.testing.assert_array_equal(grad, [[0, 0, 0], [3, 2, 1]])


def test_strided_slice_grad_unknown_shape_and_second_order():
    x = graphdl.placeholder(graphdl.float64, [None, None])
    y = x[::2, 1]
    (g,) = graphdl.gradients(graphdl.reduce_sum(y * y), [x])
    assert g.shape.as_tuple() == (None, None)
    v = np.arange(12.0).reshape(4, 3)
    want = np.zeros((4, 3))
    want[::2, 1] = 2 * v[::2, 1]
    np.testing.assert_allclose(_run(g, {x: v}), want)
    # StridedSliceGrad is differentiable: its gradient is a strided slice of the incoming gradient.
    w = graphdl.placeholder(graphdl.float64, [4, 3])
    (gg,) = graphdl.gradients(graphdl.reduce_sum(g * w), [x])
    wv = np.arange(12.0).reshape(4, 3) + 1
    want2 = np.zeros((4, 3))
    want2[::2, 1] = 2 * wv[::2, 1]
    np.testing.assert_allclose(_run(gg, {x: v, w: wv}), want2)
    assert "StridedSliceGrad" in {op.type for op in graphdl.get_default_graph().get_operations()}


def test_evaluate_strided_slice_contract():
    v = np.arange(24).reshape(2, 3, 4)
    attrs = {"begin_mask": 0, "end_mask": 2, "ellipsis_mask": 0, "new_axis_mask": 0, "shrink_axis_mask": 1}
    np.testing.assert_array_equal(evaluate_strided_slice(v, [1, 1], [2, 0], [1, -1], attrs), v[1, 1::-1])
    s = np.array([None, 3], dtype=object)
    assert evaluate_strided_slice(s, [1], [2], [1], {"shrink_axis_mask": 1}) == 3


# -- errors ------------------------------------------------------------------------------------------
def test_getitem_rejects_fancy_indexing():
    x = graphdl.placeholder(graphdl.float32, [4, 3])
    with pytest.raises(TypeError, match="gather"):
        x[np.array([0, 2])]
    with pytest.raises(TypeError, match="gather"):
        x[graphdl.constant([0, 2])]
    with pytest.raises(TypeError, match="boolean_mask"):
        x[graphdl.constant([True, False, True, True])]
    with pytest.raises(TypeError, match="boolean_mask"):
        x[True]
    with pytest.raises(TypeError, match="valid indices"):
        x[1.5]
    with pytest.raises(TypeError, match="valid indices"):
        x[graphdl.constant(1.0)]


def test_getitem_out_of_range_and_bad_step():
    x = graphdl.placeholder(graphdl.float32, [4, 3])
    with pytest.raises(ValueError, match=r"slice index 4 of dimension 0 out of bounds.*strided_slice"):
        x[4]
    with pytest.raises(ValueError, match=r"slice index -4 of dimension 1 out of bounds"):
        x[0, -4]
    with pytest.raises(ValueError, match="Index out of range using input dim 2; input has only 2 dims"):
        x[0, 0, 0]
    with pytest.raises(ValueError, match="step cannot be zero"):
        x[::0]
    with pytest.raises(ValueError, match="Multiple ellipses"):
        x[..., ...]
    # Unknown dim: caught when the op runs.
    y = graphdl.placeholder(graphdl.float32, [None, 3])
    i = graphdl.placeholder(graphdl.int32, [])
    with pytest.raises(graphdl.errors.InvalidArgumentError, match=r"strided_slice.*slice index 7 of dimension 0"):
        _run(y[i], {y: np.zeros((2, 3)), i: 7})


def test_slice_errors_name_op_and_shapes():
    x = graphdl.placeholder(graphdl.float32, [4, 3])
    with pytest.raises(ValueError, match=r"Expected size\[1\] in \[0, 2\], but got 3.*'Slice'.*\[4,3\]|Expected size"):
        graphdl.slice(x, [0, 1], [1, 3])
    with pytest.raises(ValueError, match="Expected begin to have 2 entries"):
        graphdl.slice(x, [0], [1, 1])
    y = graphdl.placeholder(graphdl.float32, [None, 3])
    with pytest.raises(graphdl.errors.InvalidArgumentError, match=r"Slice.*Expected size\[0\] in \[0, 1\], but got 3"):
        _run(graphdl.slice(y, [1, 0], [3, 3]), {y: np.zeros((2, 3))})


def test_gather_out_of_range_at_run_time():
    x = graphdl.placeholder(graphdl.float32, [None, 2])
    i = graphdl.placeholder(graphdl.int32, [None])
    y = graphdl.gather(x, i, name="my_gather")
    with pytest.raises(graphdl.errors.InvalidArgumentError, match=r"my_gather.*indices\[1\] = 7 is not in \[0, 3\)"):
        _run(y, {x: np.zeros((3, 2)), i: [0, 7]})
    with pytest.raises(graphdl.errors.InvalidArgumentError, match=r"indices\[0\] = -1 is not in \[0, 3\)"):
        _run(y, {x: np.zeros((3, 2)), i: [-1]})


def test_gather_static_errors_and_shapes():
    x = graphdl.placeholder(graphdl.float32, [None, 4, 5])
    i = graphdl.placeholder(graphdl.int32, [2, None])
    assert graphdl.gather(x, i).shape.as_tuple() == (2, None, 4, 5)
    assert graphdl.gather(x, i, axis=2).shape.as_tuple() == (None, 4, 2, None)
    assert graphdl.gather(x, i, axis=graphdl.placeholder(graphdl.int32, [])).shape.as_tuple() == (None,) * 4
    with pytest.raises(ValueError, match=r"Expected axis in the range \[-3, 3\), but got 3.*GatherV2"):
        graphdl.gather(x, i, axis=3)
    with pytest.raises(TypeError, match="indices"):
        graphdl.gather(x, graphdl.constant([0.5]))


def test_gather_nd_and_scatter_nd_errors():
    p = graphdl.placeholder(graphdl.float32, [2, 3])
    with pytest.raises(ValueError, match=r"indices.shape\[-1\] must be <= params.rank"):
        graphdl.gather_nd(p, [[0, 0, 0]])
    with pytest.raises(graphdl.errors.InvalidArgumentError, match=r"GatherNd.*indices\[1\] = \[2, 0\] does not index "
                                                                 r"into param shape \[2, 3\]"):
        _run(graphdl.gather_nd(p, [[1, 1], [2, 0]]), {p: np.zeros((2, 3))})
    with pytest.raises(ValueError, match=r"updates.shape \(3,\) must be"):
        graphdl.scatter_nd([[1], [2]], graphdl.constant([1.0, 2.0, 3.0]), [4])
    with pytest.raises(graphdl.errors.InvalidArgumentError, match=r"ScatterNd.*indices\[0\] = \[4\] does not index"):
        _run(graphdl.scatter_nd([[4]], [1.0], [4]))


def test_unsorted_segment_sum_errors_and_shape():
    d = graphdl.placeholder(graphdl.float32, [None, 3])
    s = graphdl.placeholder(graphdl.int32, [None])
    y = graphdl.unsorted_segment_sum(d, s, 5)
    assert y.shape.as_tuple() == (5, 3)
    with pytest.raises(graphdl.errors.InvalidArgumentError, match=r"segment_ids\[1\] = 5 is out of range \[0, 5\)"):
        _run(y, {d: np.zeros((2, 3)), s: [0, 5]})
    with pytest.raises(ValueError, match="does not match a prefix of data.shape"):
        graphdl.unsorted_segment_sum(graphdl.zeros([2, 3]), [[0, 1, 1]], 2)


def test_boolean_mask_checks_and_shape():
    x = graphdl.placeholder(graphdl.float32, [None, 3, 2])
    m = graphdl.placeholder(graphdl.bool, [None, 3])
    y = graphdl.boolean_mask(x, m)
    assert y.shape.as_tuple() == (None, 2)
    with pytest.raises(ValueError, match="mask cannot be scalar"):
        graphdl.boolean_mask(x, True)
    with pytest.raises(ValueError, match="Number of mask dimensions must be specified"):
        graphdl.boolean_mask(x, graphdl.placeholder(graphdl.bool))
    with pytest.raises(ValueError, match="incompatible"):
        graphdl.boolean_mask(x, graphdl.placeholder(graphdl.bool, [None, 4]))


def test_strided_slice_spec_length_mismatch():
    x = graphdl.placeholder(graphdl.float32, [4, 3])
    with pytest.raises(ValueError, match="equal size"):
        graphdl.strided_slice(x, [0, 0], [1], [1, 1])
    with pytest.raises(ValueError, match=r"strides\[0\] must be non-zero"):
        graphdl.strided_slice(x, [0], [1], [0])


@pytest.mark.parametrize("case", [c for c in CASES if c.grad], ids=[c.id for c in CASES if c.grad])
def test_gradient_with_unknown_dims(case):
    """Gradients built for unknown dims (runtime shapes) agree with the statically shaped ones."""
    static = gradient_values(case, lambda a: list(a.shape))
    dynamic = gradient_values(case, lambda a: [None] * a.ndim)
    for s, d in zip(static, dynamic):
        np.testing.assert_allclose(d, s, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("build", [
    lambda x: x[1:, ::-1],
    lambda x: x[..., 0],
    lambda x: graphdl.slice(x, [1, 0], [-1, 2]),
    lambda x: graphdl.gather(x, [2, 0, 2]),
    lambda x: graphdl.gather(x, [1, 1], axis=1),
    lambda x: graphdl.gather_nd(x, [[0, 1], [2, 2]]),
    lambda x: graphdl.unsorted_segment_sum(x, [1, 0, 1], 2),
])
def test_gradient_with_unknown_rank(build):
    case = OpCase("unknown_rank", build, [randn(3, 3)], None)
    static = gradient_values(case, lambda a: list(a.shape))
    dynamic = gradient_values(case, lambda a: None)
    np.testing.assert_allclose(dynamic[0], static[0], rtol=1e-12, atol=1e-12)


def _random_key(rng):
    def entry():
        r = rng.random()
        if r < 0.15:
            return None
        if r < 0.4:
            return int(rng.integers(-2, 2))
        bound = [None, -5, -3, -1, 0, 1, 2, 5]
        return slice(bound[rng.integers(8)], bound[rng.integers(8)], [None, 1, 2, -1, -2, 3][rng.integers(6)])

    key = [entry() for _ in range(rng.integers(0, 5))]
    if rng.random() < 0.3:
        key.insert(int(rng.integers(0, len(key) + 1)), Ellipsis)
    return tuple(key)


@pytest.mark.parametrize("shape", [[2, 3, 4], [None, None, None], None], ids=["static", "unknown_dims", "unknown_rank"])
def test_getitem_matches_numpy_on_random_keys(shape):
    """Values, static shapes and errors of ``x[key]`` agree with NumPy basic indexing."""
    rng = np.random.default_rng(7)
    v = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    x = graphdl.placeholder(graphdl.float32, shape)
    with graphdl.Session() as sess:
        for _ in range(150):
            key = _random_key(rng)
            try:
                want = v[key]
            except IndexError:
                with pytest.raises(ValueError):
                    sess.run(x[key], {x: v})
                continue
            y = x[key]
            np.testing.assert_array_equal(sess.run(y, {x: v}), want, err_msg=str(key))
            if shape is not None:
                assert y.shape.is_compatible_with(want.shape), (key, y.shape)
            if shape == [2, 3, 4]:
                assert y.shape.as_tuple() == want.shape, (key, y.shape)
