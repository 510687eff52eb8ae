"""Layout ops: transpose, expand_dims, squeeze, concat, split, tile, pad, reverse, reverse_sequence, identity_n."""

import numpy as np
import pytest
from harness import OpCase, gradient_values, make_op_tests, randn

import graphdl

I32 = np.int32

CASES = [
    # transpose
    OpCase("transpose_default", lambda x: graphdl.transpose(x), [randn(2, 3, 4)], lambda x: x.T),
    OpCase("transpose_perm", lambda x: graphdl.transpose(x, [1, 2, 0]), [randn(2, 3, 4)],
           lambda x: np.transpose(x, (1, 2, 0))),
    OpCase("transpose_perm_tensor", lambda x, p: graphdl.transpose(x, p), [randn(2, 3, 4), np.array([2, 0, 1], I32)],
           lambda x, p: np.transpose(x, p)),
    OpCase("transpose_matrix_conjugate", lambda x: graphdl.transpose(x, conjugate=True), [randn(3, 2)], lambda x: x.T),
    OpCase("invert_permutation", lambda p: graphdl.invert_permutation(p), [np.array([2, 0, 3, 1], I32)],
           lambda p: np.argsort(p).astype(I32), grad=False),
    # expand_dims / squeeze
    OpCase("expand_dims_0", lambda x: graphdl.expand_dims(x, 0), [randn(2, 3)], lambda x: x[None]),
    OpCase("expand_dims_last", lambda x: graphdl.expand_dims(x, -1), [randn(2, 3)], lambda x: x[..., None]),
    OpCase("expand_dims_dim_alias", lambda x: graphdl.expand_dims(x, dim=1), [randn(2, 3)], lambda x: x[:, None]),
    OpCase("squeeze_all", lambda x: graphdl.squeeze(x), [randn(1, 3, 1, 2)], lambda x: np.squeeze(x)),
    OpCase("squeeze_axis", lambda x: graphdl.squeeze(x, [0, -2]), [randn(1, 3, 1, 2)], lambda x: x[0, :, 0]),
    OpCase("squeeze_int_axis", lambda x: graphdl.squeeze(x, axis=1), [randn(3, 1)], lambda x: x[:, 0]),
    OpCase("squeeze_dims_alias", lambda x: graphdl.squeeze(x, squeeze_dims=[2]), [randn(2, 3, 1)], lambda x: x[..., 0]),
    # concat
    OpCase("concat_axis0", lambda x, y: graphdl.concat([x, y], 0), [randn(2, 3), randn(1, 3, seed=1)],
           lambda x, y: np.concatenate([x, y], 0)),
    OpCase("concat_axis1_three", lambda x, y, z: graphdl.concat([x, y, z], 1),
           [randn(2, 1), randn(2, 3, seed=1), randn(2, 2, seed=2)], lambda x, y, z: np.concatenate([x, y, z], 1)),
    OpCase("concat_negative_axis", lambda x, y: graphdl.concat([x, y], -1), [randn(2, 2, 2), randn(2, 2, 1, seed=1)],
           lambda x, y: np.concatenate([x, y], -1)),
    OpCase("concat_tensor_axis", lambda x, y, a: graphdl.concat([x, y], a),
           [randn(2, 3), randn(2, 2, seed=1), np.array(1, I32)], lambda x, y, a: np.concatenate([x, y], 1)),
    OpCase("concat_single", lambda x: graphdl.concat([x], 0), [randn(2, 3)], lambda x: x),
    OpCase("concat_python_values", lambda x: graphdl.concat([x, [[1.0, 2.0]]], 0), [randn(1, 2)],
           lambda x: np.concatenate([x, [[1, 2]]], 0)),
    OpCase("concat_ints", lambda x: graphdl.concat([x, x], 0), [np.arange(3, dtype=I32)],
           lambda x: np.concatenate([x, x]), grad=False),
    # split
    OpCase("split_equal", lambda x: graphdl.split(x, 2, axis=1), [randn(2, 4)], lambda x: np.split(x, 2, 1)),
    OpCase("split_sizes", lambda x: graphdl.split(x, [1, 3, 1]), [randn(5, 2)], lambda x: np.split(x, [1, 4], 0)),
    OpCase("split_sizes_minus_one", lambda x: graphdl.split(x, [2, -1], axis=-1), [randn(2, 5)],
           lambda x: np.split(x, [2], -1)),
    OpCase("split_one_output_used", lambda x: graphdl.split(x, 3)[1], [randn(3, 2)], lambda x: x[1:2]),
    OpCase("split_sizes_one_output_used", lambda x: graphdl.split(x, [1, 2], axis=1)[1] * 2.0, [randn(2, 3)],
           lambda x: x[:, 1:] * 2),
    # tile
    OpCase("tile", lambda x: graphdl.tile(x, [2, 3]), [randn(2, 2)], lambda x: np.tile(x, (2, 3))),
    OpCase("tile_3d", lambda x: graphdl.tile(x, [1, 2, 2]), [randn(2, 1, 3)], lambda x: np.tile(x, (1, 2, 2))),
    OpCase("tile_tensor_multiples", lambda x, m: graphdl.tile(x, m), [randn(3, 2), np.array([2, 1], I32)],
           lambda x, m: np.tile(x, m)),
    # pad
    OpCase("pad_constant", lambda x: graphdl.pad(x, [[1, 2], [0, 1]]), [randn(2, 3)],
           lambda x: np.pad(x, [[1, 2], [0, 1]])),
    OpCase("pad_constant_value", lambda x: graphdl.pad(x, [[0, 1], [2, 0]], constant_values=1.5), [randn(2, 2)],
           lambda x: np.pad(x, [[0, 1], [2, 0]], constant_values=1.5)),
    OpCase("pad_reflect", lambda x: graphdl.pad(x, [[1, 2], [2, 1]], "REFLECT"), [randn(3, 3)],
           lambda x: np.pad(x, [[1, 2], [2, 1]], mode="reflect")),
    OpCase("pad_symmetric", lambda x: graphdl.pad(x, [[2, 0], [1, 3]], mode="symmetric"), [randn(2, 3)],
           lambda x: np.pad(x, [[2, 0], [1, 3]], mode="symmetric")),
    OpCase("pad_tensor_paddings", lambda x, p: graphdl.pad(x, p), [randn(2, 3), np.array([[0, 1], [1, 1]], I32)],
           lambda x, p: np.pad(x, p)),
    OpCase("pad_reflect_second_order",
           lambda x: graphdl.gradients(graphdl.reduce_sum(graphdl.pad(x, [[1, 1]], "REFLECT") ** 2), x)[0],
           [randn(3)], lambda x: 2 * x * np.array([1, 3, 1])),
    # reverse / reverse_sequence / identity_n
    OpCase("reverse", lambda x: graphdl.reverse(x, [0, 2]), [randn(2, 3, 2)], lambda x: x[::-1, :, ::-1]),
    OpCase("reverse_v2_negative_axis", lambda x: graphdl.reverse_v2(x, [-1]), [randn(2, 3)], lambda x: x[:, ::-1]),
    OpCase("reverse_sequence", lambda x, n: graphdl.reverse_sequence(x, n, seq_axis=1, batch_axis=0),
           [randn(3, 4, 2), np.array([4, 0, 2], np.int64)],
           lambda x, n: np.stack([np.concatenate([x[b, :k][::-1], x[b, k:]]) for b, k in enumerate(n)])),
    OpCase("reverse_sequence_batch_last", lambda x, n: graphdl.reverse_sequence(x, n, seq_dim=0, batch_dim=1),
           [randn(3, 2), np.array([3, 2], I32)], lambda x, n: np.stack([x[::-1, 0], np.r_[x[1::-1, 1], x[2:, 1]]], 1)),
    OpCase("identity_n", lambda x, y: graphdl.identity_n([x, y * 2.0]), [randn(2), randn(3, seed=1)],
           lambda x, y: [x, y * 2]),
    OpCase("broadcast_dynamic_shape", lambda a, b: graphdl.broadcast_dynamic_shape(a, b),
           [np.array([2, 1, 3], I32), np.array([4, 1], I32)], lambda a, b: np.array([2, 4, 3], I32), grad=False),
    # composites built from these ops
    OpCase("transpose_of_concat", lambda x, y: graphdl.transpose(graphdl.concat([x, y], 1), [1, 0]) * 3.0,
           [randn(2, 2), randn(2, 1, seed=1)], lambda x, y: np.concatenate([x, y], 1).T * 3),
]

test_forward, test_gradient = make_op_tests(CASES)


def _run(fetches, feed=None):
    with graphdl.Session() as sess:
        return sess.run(fetches, feed)


def test_static_shapes_with_unknown_dims():
    x = graphdl.placeholder(graphdl.float32, [None, 3, 1])
    assert graphdl.transpose(x).shape.as_tuple() == (1, 3, None)
    assert graphdl.transpose(x, [0, 2, 1]).shape.as_tuple() == (None, 1, 3)
    assert graphdl.expand_dims(x, 1).shape.as_tuple() == (None, 1, 3, 1)
    assert graphdl.squeeze(x, [2]).shape.as_tuple() == (None, 3)
    assert graphdl.squeeze(x).shape.ndims is None  # an unknown dim may or may not be 1
    assert graphdl.squeeze(graphdl.placeholder(graphdl.float32, [2, 1, 3])).shape.as_tuple() == (2, 3)
    assert graphdl.concat([x, x], 0).shape.as_tuple() == (None, 3, 1)
    assert graphdl.concat([x, x], 1).shape.as_tuple() == (None, 6, 1)
    y = graphdl.placeholder(graphdl.float32, [2, None, None])
    assert graphdl.concat([x, y], 0).shape.as_tuple() == (None, 3, 1)
    assert [t.shape.as_tuple() for t in graphdl.split(x, 3, axis=1)] == [(None, 1, 1)] * 3
    assert [t.shape.as_tuple() for t in graphdl.split(x, [1, -1], axis=1)] == [(None, 1, 1), (None, 2, 1)]
    assert graphdl.tile(x, [2, 2, 3]).shape.as_tuple() == (None, 6, 3)
    assert graphdl.pad(x, [[1, 1], [0, 2], [0, 0]]).shape.as_tuple() == (None, 5, 1)
    assert graphdl.reverse(x, [1]).shape.as_tuple() == (None, 3, 1)
    u = graphdl.placeholder(graphdl.float32)
    assert graphdl.transpose(u, [1, 0]).shape.as_tuple() == (None, None)
    assert graphdl.tile(u, [1, 2]).shape.as_tuple() == (None, None)
    assert graphdl.concat([u, x], 2).shape.as_tuple() == (None, 3, None)


def test_transpose_unknown_rank_default_perm_and_gradient():
    x = graphdl.placeholder(graphdl.float64)
    y = graphdl.transpose(x)
    (g,) = graphdl.gradients(graphdl.reduce_sum(y * np.arange(6.0).reshape(3, 2)), [x])
    v = np.ones((2, 3))
    out, grad = _run([y, g], {x: v})
    np.testing.assert_array_equal(out, v.T)
    np.testing.assert_array_equal(grad, np.arange(6.0).reshape(3, 2).T)


def test_concat_unknown_sizes_gradient():
    x = graphdl.placeholder(graphdl.float64, [None, None])
    y = graphdl.placeholder(graphdl.float64, [None, None])
    z = graphdl.concat([x, y], 1)
    w = np.arange(10.0).reshape(2, 5)
    gx, gy = graphdl.gradients(graphdl.reduce_sum(z * w), [x, y])
    a, b = _run([gx, gy], {x: np.ones((2, 2)), y: np.ones((2, 3))})
    np.testing.assert_array_equal(a, w[:, :2])
    np.testing.assert_array_equal(b, w[:, 2:])


def test_split_and_names():
    x = graphdl.placeholder(graphdl.float32, [4, 6])
    parts = graphdl.split(x, 2, 1, name="halves")
    assert parts[0].op.type == "Split" and parts[0].op.name == "halves"
    sized = graphdl.split(x, graphdl.constant([1, 3]), 0, name="sized")
    assert sized[0].op.type == "SplitV" and [p.shape.as_tuple() for p in sized] == [(1, 6), (3, 6)]
    assert graphdl.concat([x, x], 0).op.type == "ConcatV2"
    assert graphdl.concat([x], 0, name="one").op.name == "one"


# -- errors --------------------------------------------------------------------------------------
def test_squeeze_non_one_dim_names_dim():
    x = graphdl.placeholder(graphdl.float32, [2, 3, 1])
    with pytest.raises(ValueError, match=r"Can not squeeze dim\[1\], expected a dimension of 1, got 3.*'Squeeze'.*\[2,3,1\]"):
        graphdl.squeeze(x, [1])
    with pytest.raises(ValueError, match="Tried to squeeze dim index 3"):
        graphdl.squeeze(x, [3])
    y = graphdl.placeholder(graphdl.float32, [None, 1])
    with pytest.raises(graphdl.errors.InvalidArgumentError, match=r"Squeeze.*Can not squeeze dim\[0\].*got 2"):
        _run(graphdl.squeeze(y, 0), {y: np.zeros((2, 1))})


def test_concat_rank_and_dim_mismatch():
    a = graphdl.placeholder(graphdl.float32, [2, 3])
    b = graphdl.placeholder(graphdl.float32, [2, 3, 4])
    with pytest.raises(ValueError, match=r"Shape must be rank 2 but is rank 3.*'ConcatV2'.*\[2,3\], \[2,3,4\]"):
        graphdl.concat([a, b], 0)
    c = graphdl.placeholder(graphdl.float32, [2, 4])
    with pytest.raises(ValueError, match="Dimension 1 in both shapes must be equal, but are 3 and 4"):
        graphdl.concat([a, c], 0)
    with pytest.raises(ValueError, match=r"axis 2 is out of range \[-2, 2\)"):
        graphdl.concat([a, c], 2)
    with pytest.raises(TypeError, match="dtype"):
        graphdl.concat([a, graphdl.placeholder(graphdl.int32, [2, 3])], 0)
    u = graphdl.placeholder(graphdl.float32, [None, None])
    v = graphdl.placeholder(graphdl.float32, [None, None])
    with pytest.raises(graphdl.errors.InvalidArgumentError,
                       match=r"ConcatV2.*Dimensions of inputs should match: shape\[0\] = \[2, 2\] vs. shape\[1\] = \[1, 3\]"):
        _run(graphdl.concat([u, v], 0), {u: np.zeros((2, 2)), v: np.zeros((1, 3))})


def test_transpose_perm_errors():
    x = graphdl.placeholder(graphdl.float32, [2, 3, 4])
    with pytest.raises(ValueError, match=r"transpose expects a vector of size 3. But input\(1\) is a vector of size 2"
                                         r".*'Transpose'.*\[2,3,4\]"):
        graphdl.transpose(x, [1, 0])
    with pytest.raises(ValueError, match="missing from perm"):
        graphdl.transpose(x, [0, 0, 1])
    u = graphdl.placeholder(graphdl.float32)
    p = graphdl.placeholder(graphdl.int32, [None])
    with pytest.raises(graphdl.errors.InvalidArgumentError, match="Transpose.*transpose expects a vector of size 2"):
        _run(graphdl.transpose(u, p), {u: np.zeros((2, 2)), p: [0, 1, 2]})
    with pytest.raises(graphdl.errors.InvalidArgumentError, match="InvertPermutation"):
        _run(graphdl.invert_permutation(p), {p: [0, 0]})


def test_other_static_errors():
    x = graphdl.placeholder(graphdl.float32, [2, 5])
    with pytest.raises(ValueError, match=r"evenly divide the split dimension.*size = 5.*num_split 2"):
        graphdl.split(x, 2, axis=1)
    with pytest.raises(ValueError, match="Determined shape must either match input shape"):
        graphdl.split(x, [2, 2], axis=1)
    with pytest.raises(ValueError, match="at most one -1"):
        graphdl.split(x, [-1, -1], axis=1)
    with pytest.raises(ValueError, match="Rank-0 tensors are not supported"):
        graphdl.split(x, graphdl.constant(5), axis=1)
    with pytest.raises(ValueError, match="Cannot infer num"):
        graphdl.split(x, graphdl.placeholder(graphdl.int32, [None]), axis=1)
    with pytest.raises(ValueError, match="Expected multiples argument to be a vector of length 2 but got length 3"):
        graphdl.tile(x, [1, 2, 3])
    with pytest.raises(ValueError, match="paddings must be less than the dimension size"):
        graphdl.pad(x, [[2, 0], [0, 0]], "REFLECT")
    with pytest.raises(ValueError, match="The first dimension of paddings must be the rank of inputs"):
        graphdl.pad(x, [[1, 1]])
    with pytest.raises(ValueError, match="Unknown padding mode"):
        graphdl.pad(x, [[1, 1], [0, 0]], "WRAP")
    with pytest.raises(ValueError, match="Tried to expand dim index|out of range"):
        graphdl.expand_dims(x, 3)
    with pytest.raises(ValueError, match="Cannot specify both"):
        graphdl.expand_dims(x, 0, dim=0)
    with pytest.raises(ValueError, match="specified more than once"):
        graphdl.reverse(x, [1, -1])


def test_broadcast_shapes():
    assert graphdl.broadcast_static_shape(graphdl.TensorShape([None, 1, 3]), graphdl.TensorShape([4, 1])).as_list() == [
        None, 4, 3]
    with pytest.raises(ValueError, match="Incompatible shapes"):
        graphdl.broadcast_static_shape(graphdl.TensorShape([2]), graphdl.TensorShape([3]))
    s = graphdl.broadcast_dynamic_shape(graphdl.constant([2, 1, 3]), graphdl.constant([4, 1]))
    np.testing.assert_array_equal(_run(s), [2, 4, 3])


@pytest.mark.parametrize("case", [c for c in CASES if c.grad], ids=[c.id for c in CASES if c.grad])
def test_gradient_with_unknown_dims(case):
    """Gradients built for unknown dims (runtime shapes) agree with the statically shaped ones."""
    static = gradient_values(case, lambda a: list(a.shape))
    dynamic = gradient_values(case, lambda a: [None] * a.ndim)
    for s, d in zip(static, dynamic):
        np.testing.assert_allclose(d, s, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("build", [
    lambda x: graphdl.transpose(x),
    lambda x: graphdl.transpose(x, [1, 0]),
    lambda x: graphdl.expand_dims(x, 1),
    lambda x: graphdl.squeeze(x[:1], [0]),
    lambda x: graphdl.concat([x, x * 2.0], 1),
    lambda x: graphdl.split(x, [1, 2], axis=1)[1],
    lambda x: graphdl.split(x, 3, axis=0)[2],
    lambda x: graphdl.tile(x, [2, 1]),
    lambda x: graphdl.pad(x, [[1, 0], [2, 1]]),
    lambda x: graphdl.pad(x, [[1, 0], [2, 1]], "SYMMETRIC"),
    lambda x: graphdl.reverse(x, [1]),
])
def test_gradient_with_unknown_rank(build):
    case = OpCase("unknown_rank", build, [randn(3, 3) + 0.5], None)
    static = gradient_values(case, lambda a: list(a.shape))
    dynamic = gradient_values(case, lambda a: None)
    np.testing.assert_allclose(dynamic[0], static[0], rtol=1e-12, atol=1e-12)
