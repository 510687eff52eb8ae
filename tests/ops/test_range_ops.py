"""range, linspace/lin_space, one_hot, size and rank."""

import numpy as np
import pytest
from harness import OpCase, make_op_tests, randn

import graphdl


def _float32_range(start, limit, delta):
    """TF's float Range: ``value += delta`` accumulated in float32."""
    n = int(np.ceil(abs((np.float32(limit) - np.float32(start)) / np.float32(delta))))
    out, v = [], np.float32(start)
    for _ in range(n):
        out.append(v)
        v = np.float32(v + np.float32(delta))
    return np.array(out, np.float32)


def _one_hot(indices, depth, on=1.0, off=0.0, axis=-1, dtype=np.float32):
    hot = np.asarray(indices)[..., None] == np.arange(depth)
    out = np.where(hot, on, off).astype(dtype)
    return np.moveaxis(out, -1, axis if axis >= 0 else out.ndim - 1)


IDX = np.array([[0, 2], [-1, 3], [1, 1]], np.int32)  # -1 and 3 (>= depth 3) give all-off rows

CASES = [
    # range: the scalar inputs are placeholders here, so the length is only known at run time
    OpCase("range_limit_tensor", lambda n: graphdl.range(n), [np.array(5, np.int32)],
           lambda n: np.arange(5, dtype=np.int32), grad=False),
    OpCase("range_start_limit_delta_tensors", lambda a, b, d: graphdl.range(a, b, d),
           [np.array(2, np.int32), np.array(10, np.int32), np.array(3, np.int32)],
           lambda a, b, d: np.array([2, 5, 8], np.int32), grad=False),
    OpCase("range_negative_delta", lambda a: graphdl.range(a, 2, -3), [np.array(10, np.int64)],
           lambda a: np.array([10, 7, 4], np.int64), grad=False),
    OpCase("range_float_tensor", lambda a: graphdl.range(a, 1.0, 0.1), [np.array(0.0, np.float32)],
           lambda a: _float32_range(0, 1, 0.1), grad=False, rtol=0, atol=0),
    OpCase("range_int_float_promotes", lambda b: graphdl.range(1, b, 0.5), [np.array(3.0, np.float32)],
           lambda b: np.array([1, 1.5, 2, 2.5], np.float32), grad=False),
    OpCase("range_empty", lambda a: graphdl.range(a, 3), [np.array(3, np.int32)], lambda a: np.zeros(0, np.int32),
           grad=False),
    OpCase("range_times_x", lambda x: graphdl.cast(graphdl.range(4), x.dtype) * x, [randn(4)],
           lambda x: np.arange(4, dtype=np.float32) * x),
    # linspace: differentiable w.r.t. start and stop
    OpCase("linspace", lambda a, b: graphdl.linspace(a, b, 5), [np.array(-1.0, np.float32), np.array(3.0, np.float32)],
           lambda a, b: np.linspace(-1, 3, 5, dtype=np.float32)),
    OpCase("lin_space_float64", lambda a, b: graphdl.lin_space(a, b, 4), [np.array(0.5), np.array(-2.0)],
           lambda a, b: np.linspace(0.5, -2, 4)),
    OpCase("linspace_num_one", lambda a, b: graphdl.linspace(a, b, 1), [np.array(2.0, np.float32),
                                                                        np.array(7.0, np.float32)],
           lambda a, b: np.array([2.0], np.float32)),
    OpCase("linspace_num_tensor", lambda a, n: graphdl.linspace(a, 1.0, n), [np.array(0.0, np.float32),
                                                                             np.array(3, np.int32)],
           lambda a, n: np.array([0, 0.5, 1], np.float32)),
    # one_hot
    OpCase("one_hot_default", lambda i: graphdl.one_hot(i, 3), [IDX], lambda i: _one_hot(i, 3), grad=False),
    OpCase("one_hot_vector", lambda i: graphdl.one_hot(i, 4), [np.array([3, 0, 5, -2], np.int64)],
           lambda i: _one_hot(i, 4), grad=False),
    OpCase("one_hot_axis0", lambda i: graphdl.one_hot(i, 3, axis=0), [IDX], lambda i: _one_hot(i, 3, axis=0),
           grad=False),
    OpCase("one_hot_axis1", lambda i: graphdl.one_hot(i, 3, axis=1), [IDX], lambda i: _one_hot(i, 3, axis=1),
           grad=False),
    OpCase("one_hot_values_int", lambda i: graphdl.one_hot(i, 3, on_value=5, off_value=-1), [IDX],
           lambda i: _one_hot(i, 3, 5, -1, dtype=np.int32), grad=False),
    OpCase("one_hot_dtype", lambda i: graphdl.one_hot(i, 2, dtype=graphdl.float64), [IDX],
           lambda i: _one_hot(i, 2, dtype=np.float64), grad=False),
    OpCase("one_hot_on_off_tensors", lambda i, on, off: graphdl.one_hot(i, 3, on, off),
           [IDX, np.array(0.9, np.float32), np.array(0.05, np.float32)],
           lambda i, on, off: _one_hot(i, 3, 0.9, 0.05)),
    OpCase("one_hot_depth_tensor", lambda i, d: graphdl.one_hot(i, d), [IDX, np.array(4, np.int32)],
           lambda i, d: _one_hot(i, 4), grad=False),
    # size / rank: placeholder_with_default hides the static shape so the ops themselves run
    OpCase("size_op", lambda x: graphdl.size(graphdl.placeholder_with_default(x, [None, None])), [randn(3, 4)],
           lambda x: np.int32(12), grad=False),
    OpCase("size_int64", lambda x: graphdl.size(x, out_type=graphdl.int64), [randn(2, 3, 2)], lambda x: np.int64(12),
           grad=False),
    OpCase("rank_op", lambda x: graphdl.rank(graphdl.placeholder_with_default(x, None)), [randn(2, 3, 1)],
           lambda x: np.int32(3), grad=False),
    OpCase("size_of_reduction", lambda x: graphdl.size(graphdl.reduce_sum(x, 1)), [randn(5, 2)], lambda x: np.int32(5),
           grad=False),
]

test_forward, test_gradient = make_op_tests(CASES)


def _run(fetches, feed=None):
    with graphdl.Session() as sess:
        return sess.run(fetches, feed)


# -- range ---------------------------------------------------------------------------------------------
def test_range_tf_examples_and_static_shapes():
    r5, r2 = graphdl.range(5), graphdl.range(2, 10, 3)
    assert r5.shape.as_list() == [5] and r2.shape.as_list() == [3]
    assert r5.dtype == graphdl.int32 and r5.op.name == "range" and r5.op.type == "Range"
    np.testing.assert_array_equal(_run(r5), [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(_run(r2), [2, 5, 8])
    assert graphdl.range(10, 2, -3).shape.as_list() == [3]
    assert graphdl.range(0.0, 1.0, 0.1).shape.as_list() == [10]


def test_range_dtype_inference():
    assert graphdl.range(1, 5.5).dtype == graphdl.float32
    assert graphdl.range(3, dtype=graphdl.float64).dtype == graphdl.float64
    assert graphdl.range(graphdl.constant(2, graphdl.int64), 5).dtype == graphdl.int64
    assert graphdl.range(graphdl.constant(2, graphdl.int64), graphdl.constant(5.0, graphdl.float64)).dtype == \
        graphdl.float64
    np.testing.assert_array_equal(_run(graphdl.range(3, dtype=graphdl.float64)), [0.0, 1.0, 2.0])


def test_range_float_matches_tf_accumulation():
    np.testing.assert_array_equal(_run(graphdl.range(0.0, 1.0, 0.1)), _float32_range(0, 1, 0.1))


def test_range_unknown_length():
    n = graphdl.placeholder(graphdl.int32, [])
    assert graphdl.range(n).shape.as_list() == [None]
    np.testing.assert_array_equal(_run(graphdl.range(n), {n: 3}), [0, 1, 2])


def test_range_errors():
    with pytest.raises(ValueError, match="Requires delta != 0"):
        graphdl.range(0, 5, 0)
    with pytest.raises(ValueError, match="Requires start <= limit when delta > 0: 5/2"):
        graphdl.range(5, 2)
    with pytest.raises(ValueError, match="Requires start >= limit when delta < 0"):
        graphdl.range(2, 5, -1)
    with pytest.raises(TypeError):
        graphdl.range(graphdl.constant(2, graphdl.int64), 5, dtype=graphdl.int32)
    n = graphdl.placeholder(graphdl.int32, [])
    with pytest.raises(graphdl.errors.InvalidArgumentError, match="Range.*Requires delta != 0"):
        _run(graphdl.range(0, 5, n), {n: 0})


# -- linspace -------------------------------------------------------------------------------------------
def test_linspace_values_shapes_and_aliases():
    y = graphdl.linspace(0.0, 1.0, 5)
    assert y.shape.as_list() == [5] and y.dtype == graphdl.float32 and y.op.type == "LinSpace"
    np.testing.assert_allclose(_run(y), [0, 0.25, 0.5, 0.75, 1])
    assert graphdl.lin_space is graphdl.linspace
    np.testing.assert_allclose(_run(graphdl.lin_space(1.0, 2, 3, name="ls")), [1, 1.5, 2])
    assert graphdl.linspace(0.0, 1.0, graphdl.placeholder(graphdl.int32, [])).shape.as_list() == [None]


def test_linspace_gradient_explicit():
    a, b = graphdl.constant(1.0), graphdl.constant(3.0)
    y = graphdl.linspace(a, b, 3)
    ga, gb = graphdl.gradients(y * graphdl.constant([1.0, 2.0, 4.0]), [a, b])
    np.testing.assert_allclose(_run([ga, gb]), [1 + 1, 1 + 4])


def test_linspace_errors():
    with pytest.raises(TypeError, match="start"):
        graphdl.linspace(0, 1, 5)
    with pytest.raises(ValueError, match="Requires num > 0: 0"):
        graphdl.linspace(0.0, 1.0, 0)
    with pytest.raises(ValueError, match="scalar"):
        graphdl.linspace(graphdl.constant([0.0, 1.0]), 1.0, 3)


# -- one_hot --------------------------------------------------------------------------------------------
def test_one_hot_shapes_dtype_and_name():
    i = graphdl.placeholder(graphdl.int32, [None, 2])
    assert graphdl.one_hot(i, 4).shape.as_list() == [None, 2, 4]
    assert graphdl.one_hot(i, 4, axis=0).shape.as_list() == [4, None, 2]
    assert graphdl.one_hot(i, 4, axis=1).shape.as_list() == [None, 4, 2]
    assert graphdl.one_hot(i, 4).dtype == graphdl.float32
    assert graphdl.one_hot(i, 4, on_value=1, off_value=0).dtype == graphdl.int32
    assert graphdl.one_hot(i, 4, off_value=graphdl.constant(0.0, graphdl.float64)).dtype == graphdl.float64
    y = graphdl.one_hot([1, 0], 2, name="oh")
    assert y.op.type == "OneHot" and y.op.name == "oh"
    np.testing.assert_array_equal(_run(y), [[0, 1], [1, 0]])


def test_one_hot_not_differentiable_wrt_indices_but_values_are():
    i = graphdl.placeholder(graphdl.int32, [3])
    on = graphdl.constant(2.0)
    y = graphdl.one_hot(i, 3, on_value=on, off_value=-1.0)
    g_i, g_on = graphdl.gradients(graphdl.reduce_sum(y * graphdl.constant([1.0, 2.0, 3.0])), [i, on])
    assert g_i is None
    np.testing.assert_allclose(_run(g_on, {i: [0, 2, 7]}), 1 + 3)


def test_one_hot_errors():
    with pytest.raises(TypeError, match="on_value"):
        graphdl.one_hot([0], 3, on_value=graphdl.constant(1, graphdl.int32), dtype=graphdl.float32)
    with pytest.raises(ValueError, match="depth must be non-negative, got: -1"):
        graphdl.one_hot([0], -1)
    with pytest.raises(ValueError, match="Expected axis to be -1 or between"):
        graphdl.one_hot([0, 1], 3, axis=-2)
    with pytest.raises(TypeError, match="indices"):
        graphdl.one_hot([0.0, 1.0], 3)


# -- size / rank ---------------------------------------------------------------------------------------
def test_size_and_rank_static_are_constants():
    x = graphdl.placeholder(graphdl.float32, [2, 3])
    s, r = graphdl.size(x), graphdl.rank(x)
    assert s.op.type == "Const" and r.op.type == "Const"
    assert s.op.name == "Size" and r.op.name == "Rank"
    assert graphdl.constant_value(s) == 6 and graphdl.constant_value(r) == 2
    assert graphdl.size(graphdl.placeholder(graphdl.float32, [None, 0])).op.type == "Const"


def test_size_and_rank_dynamic():
    x = graphdl.placeholder(graphdl.float32, None)
    s, r, s64 = graphdl.size(x), graphdl.rank(x), graphdl.size(x, out_type=graphdl.int64)
    assert (s.op.type, r.op.type) == ("Size", "Rank")
    assert s.shape.as_list() == [] and r.dtype == graphdl.int32 and s64.dtype == graphdl.int64
    got = _run([s, r, s64], {x: np.zeros((2, 5, 1))})
    assert [int(v) for v in got] == [10, 3, 10]
    assert got[2].dtype == np.int64
