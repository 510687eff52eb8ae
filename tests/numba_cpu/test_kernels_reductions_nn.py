"""The compiled reduction, nn and BLAS matmul kernels of the Numba CPU backend against the NumPy reference kernels."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from graphdl.backends.numba_cpu.kernel_registry import kernel_entry, numpy_kernel
from graphdl.backends.numba_cpu.kernels.reductions import reduction_stages, widened_columns

import graphdl
from graphdl import errors
from graphdl.ops.nn_ops import bias_add_grad

RNG = np.random.default_rng(7)

COMPILED = {
    "numba": ["Sum", "Mean", "Max", "Min", "Prod", "Any", "All", "ArgMax", "ArgMin", "Softmax", "LogSoftmax",
              "SparseSoftmaxCrossEntropyWithLogits", "SoftmaxCrossEntropyWithLogits", "BiasAddGrad", "L2Loss",
              "BiasAdd"],
    "blas": ["MatMul", "BatchMatMulV2"],
}


@pytest.mark.parametrize("implementation,op_type", [(impl, t) for impl, types in COMPILED.items() for t in types])
def test_registry_reports_compiled_implementation(implementation, op_type):
    assert kernel_entry(op_type).implementation == implementation


# -- helpers -------------------------------------------------------------------------------------------------------
def build_op(build, *specs):
    """The op of ``build(*placeholders)`` (placeholders of (dtype, shape) ``specs``) in a fresh graph."""
    graph = graphdl.Graph()
    with graph.as_default():
        phs = [graphdl.placeholder(dtype, shape) for dtype, shape in specs]
        out = build(*phs)
    return (out[0] if isinstance(out, (list, tuple)) else out).op


def op_inputs(op, feeds):
    """The op's input arrays: constants read from their Const ops, the others taken from ``feeds`` in order."""
    feeds = iter(feeds)
    return [np.asarray(t.op.attrs["value"]) if t.op.type == "Const" else next(feeds) for t in op.inputs]


def run_both(op, *feeds):
    """(compiled kernel results, reference kernel results) as lists of arrays."""
    inputs = op_inputs(op, feeds)
    got = kernel_entry(op.type).factory(op, SimpleNamespace())(*inputs)
    want = numpy_kernel(op, SimpleNamespace())(*inputs)
    return _as_list(got), _as_list(want)


def _as_list(result):
    return [np.asarray(a) for a in (result if isinstance(result, tuple) else (result,))]


def assert_matches(op, *feeds, rtol=1e-5, atol=1e-6):
    got, want = run_both(op, *feeds)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype, (g.shape, w.shape, g.dtype, w.dtype)
        if w.dtype.kind == "f":
            np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)
        else:
            np.testing.assert_array_equal(g, w)
    return got


def data(shape, dtype=np.float32):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return RNG.standard_normal(shape).astype(dtype)
    if dtype.kind == "b":
        return RNG.random(shape) < 0.5
    info = np.iinfo(dtype)
    return RNG.integers(max(info.min, -50), min(info.max, 50), size=shape, endpoint=True).astype(dtype)


REDUCE = {
    "Sum": graphdl.reduce_sum, "Mean": graphdl.reduce_mean, "Max": graphdl.reduce_max, "Min": graphdl.reduce_min,
    "Prod": graphdl.reduce_prod, "Any": graphdl.reduce_any, "All": graphdl.reduce_all,
}


def sum_atol(op, x, floor=1e-5):
    """Tolerance for a float32 sum of standard normal terms: its magnitude is ~sqrt(n) for n terms, and the kernels
    (blocked) and NumPy (pairwise) round differently at a few 1e-6 of that (the worst of many outputs); a near-zero result of cancelling terms
    keeps that absolute error."""
    count = x.size // max(1, int(np.prod(op.outputs[0].shape.as_list() or [1], dtype=np.int64)))
    return max(floor, 5e-6 * np.sqrt(count))


def reduction_op(op_type, dtype, shape, axis, keepdims=False):
    return build_op(lambda x: REDUCE[op_type](x, axis, keepdims=keepdims), (graphdl.as_dtype(dtype), shape))


# -- planning ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,axes,stages", [
    ((128, 512), (0,), [(1, 128, 512)]),
    ((128, 512), (1,), [(128, 512, 1)]),
    ((128, 512), (0, 1), [(1, 65536, 1)]),
    ((2, 3, 4, 5), (1, 2), [(2, 12, 5)]),
    ((8, 3, 10), (0, 2), [(24, 10, 1), (1, 8, 3)]),  # NCHW BiasAddGrad: HW first (the larger group), then N
    ((1, 5, 1), (0, 2), []),
    ((4, 1, 6), (0, 1), [(1, 4, 6)]),
])
def test_reduction_stages(shape, axes, stages):
    assert reduction_stages(shape, axes) == stages


@pytest.mark.parametrize("stages,widened", [
    ([(1, 50176, 6)], [(1, 1024, 294), (1, 49, 6)]),  # a bias gradient over N, H, W: 49 rows of 6 side by side
    ([(2, 1600, 16)], [(2, 100, 256), (2, 16, 16)]),
    ([(1, 50177, 6)], [(1, 50177, 6)]),  # a prime number of rows: no group divides it
    ([(1, 100, 6)], [(1, 100, 6)]),  # too few rows to group
    ([(1, 4096, 512), (64, 10, 1)], [(1, 4096, 512), (64, 10, 1)]),  # wide enough already; row reductions
])
def test_narrow_column_stages_are_widened(stages, widened):
    assert widened_columns(stages) == widened


# -- reductions vs the reference kernels ---------------------------------------------------------------------------
SHAPES_AXES = [
    ((128, 512), 0), ((128, 512), 1), ((128, 512), None), ((128, 10), -1), ((3, 4, 5), 1), ((3, 4, 5), [0, 2]),
    ((3, 4, 5), [-1, 0]), ((3, 4, 5), [1, 2]), ((2, 3, 4, 5), [0, 2]), ((2, 3, 4, 5), [1, 3]), ((2, 3, 4, 5), [0, 2, 3]),
    ((1, 5, 1), 0), ((1, 5, 1), [0, 2]), ((1, 5, 1), 1), ((7,), 0), ((), None), ((5, 3), []),
]


@pytest.mark.parametrize("op_type", ["Sum", "Mean", "Max", "Min", "Prod"])
@pytest.mark.parametrize("shape,axis", SHAPES_AXES)
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_float32(op_type, shape, axis, keepdims):
    x = data(shape)
    if op_type == "Prod":
        x = (1 + 0.01 * x).astype(np.float32)
    op = reduction_op(op_type, np.float32, shape, axis, keepdims)
    assert_matches(op, x, rtol=2e-5, atol=sum_atol(op, x) if op_type == "Sum" else 1e-5)


@pytest.mark.parametrize("dtype", [np.float64, np.int32, np.int64, np.int8, np.uint8])
@pytest.mark.parametrize("op_type", ["Sum", "Mean", "Max", "Min", "Prod"])
@pytest.mark.parametrize("shape,axis", [((6, 7), 0), ((6, 7), 1), ((6, 7), None), ((3, 4, 5), [0, 2]), ((3, 4, 5), 1)])
def test_reductions_other_dtypes(dtype, op_type, shape, axis):
    op = reduction_op(op_type, dtype, shape, axis)
    x = data(shape, dtype)
    if op_type == "Prod" and np.dtype(dtype).kind == "f":
        x = 1 + 0.01 * x
    assert_matches(op, x, rtol=1e-12 if dtype == np.float64 else 1e-5)


# (The reference Mean of int8/uint8 cannot divide by counts beyond the dtype's range, so Sum only there.)
@pytest.mark.parametrize("dtype,op_type", [(np.int32, "Sum"), (np.int32, "Mean"), (np.int8, "Sum"), (np.uint8, "Sum")])
def test_integer_sums_wrap_in_their_dtype(dtype, op_type):
    info = np.iinfo(dtype)
    x = np.full((3, 2000), info.max - 3, dtype)
    x[1] = info.min + 2
    for axis in (1, 0, None):
        assert_matches(reduction_op(op_type, dtype, x.shape, axis), x)


@pytest.mark.parametrize("op_type", ["Any", "All"])
@pytest.mark.parametrize("shape,axis", [((6, 7), 0), ((6, 7), 1), ((6, 7), None), ((3, 4, 5), [0, 2]), ((0, 3), 0)])
def test_any_all(op_type, shape, axis):
    x = data(shape, np.bool_)
    assert_matches(reduction_op(op_type, np.bool_, shape, axis), x)
    assert_matches(reduction_op(op_type, np.bool_, shape, axis), np.ones(shape, bool))


@pytest.mark.parametrize("op_type", ["Sum", "Mean", "Max", "Min", "Prod"])
@pytest.mark.parametrize("dtype", [np.float32, np.int32])
@pytest.mark.parametrize("shape,axis,keepdims", [((0, 3), 0, False), ((0, 3), 1, False), ((3, 0), 1, True),
                                                  ((3, 0, 2), [0, 1], False), ((0,), None, False)])
def test_empty_reductions_give_the_identity(op_type, dtype, shape, axis, keepdims):
    got = assert_matches(reduction_op(op_type, dtype, shape, axis, keepdims), np.zeros(shape, dtype))
    if op_type == "Max" and dtype == np.float32 and got[0].size:
        assert np.all(got[0] == -np.inf)


@pytest.mark.parametrize("op_type", ["Max", "Min", "Sum"])
@pytest.mark.parametrize("axis", [0, 1, None])
def test_nan_propagates(op_type, axis):
    x = data((6, 40))
    x[2, 5] = np.nan
    x[4, 0] = np.nan
    assert_matches(reduction_op(op_type, np.float32, x.shape, axis), x)


def test_reduction_of_non_contiguous_input_and_scalars():
    op = reduction_op("Sum", np.float32, (None, None), 0)
    base = data((20, 30))
    for x in (base.T, base[::2, 1:], base[:, ::3]):
        assert not x.flags.c_contiguous
        assert_matches(op, x)
    op = reduction_op("Mean", np.float32, None, None)  # unknown rank: the axes are range(rank) at run time
    assert op.inputs[1].op.type != "Const"
    no_axes = np.zeros(0, np.int32)
    assert_matches(op, np.float32(3.5), no_axes)
    assert_matches(op, np.array(2.0, np.float32), no_axes)
    assert_matches(op, data((3, 4)), np.arange(2, dtype=np.int32))


def test_reduction_with_axes_known_only_at_run_time():
    op = build_op(lambda x, a: graphdl.reduce_sum(x, a, keepdims=True), (graphdl.float32, (3, 4, 5)),
                  (graphdl.int32, (None,)))
    assert op.inputs[1].op.type != "Const"
    x = data((3, 4, 5))
    for axes in ([0], [2, 0], [-1], [], [0, 1, 2]):
        assert_matches(op, x, np.array(axes, np.int32))
    with pytest.raises(ValueError, match="Invalid reduction dimension 3"):
        run_both(op, x, np.array([3], np.int32))


def test_float32_sums_stay_accurate_on_large_inputs():
    ones = np.ones(1_000_000, np.float32)
    for axis in (None, 0):
        op = reduction_op("Sum", np.float32, ones.shape, axis)
        got = kernel_entry("Sum").factory(op, SimpleNamespace())(ones, np.asarray(op.inputs[1].op.attrs["value"]))
        assert got.dtype == np.float32 and float(got) == 1e6
    x = RNG.random(1_000_000).astype(np.float32)
    exact = x.astype(np.float64).sum()
    for shape, axis in (((1_000_000,), 0), ((1000, 1000), None), ((250_000, 4), 0), ((4, 250_000), 1),
                        ((5000, 200), 0)):
        op = reduction_op("Sum", np.float32, shape, axis)
        got = kernel_entry("Sum").factory(op, SimpleNamespace())(
            x.reshape(shape), np.asarray(op.inputs[1].op.attrs["value"]))
        want = x.reshape(shape).astype(np.float64).sum(axis=axis)
        np.testing.assert_allclose(got, want, rtol=1e-5)
        if axis is None:
            assert abs(float(got) - exact) <= 1e-5 * exact
    op = reduction_op("Mean", np.float32, (2000, 600), None)
    big = RNG.random((2000, 600)).astype(np.float32)
    got = kernel_entry("Mean").factory(op, SimpleNamespace())(big, np.asarray(op.inputs[1].op.attrs["value"]))
    assert abs(float(got) - big.astype(np.float64).mean()) <= 1e-6


@pytest.mark.parametrize("op_type", ["Sum", "Max", "Min", "Mean", "Any"])
@pytest.mark.parametrize("shape,axis", [((400, 600), 0), ((400, 600), 1), ((400, 600), None), ((3, 90000), 0),
                                        ((2, 300, 400), [0, 2]), ((4200, 1000), 0)])
def test_large_reductions_split_across_threads(op_type, shape, axis):
    dtype = np.bool_ if op_type == "Any" else np.float32
    op, x = reduction_op(op_type, dtype, shape, axis), data(shape, dtype)
    assert_matches(op, x, rtol=1e-5, atol=sum_atol(op, x, floor=1e-4))


@pytest.mark.parametrize("op_type", ["Sum", "Mean", "Max", "Min", "Prod", "Any"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
@pytest.mark.parametrize("shape,axis", [((64, 28, 28, 6), [0, 1, 2]), ((64, 10, 10, 16), [0, 1, 2]),
                                        ((7, 6, 6, 3), [0, 1, 2]), ((50177, 6), 0)])
def test_narrow_column_reductions(op_type, dtype, shape, axis):
    dtype = np.bool_ if op_type == "Any" else dtype
    x = data(shape, dtype)
    if op_type == "Prod":
        x = (1 + 1e-4 * x).astype(dtype) if np.dtype(dtype).kind == "f" else np.where(x > 0, 1, -1).astype(dtype)
    assert_matches(reduction_op(op_type, dtype, shape, axis), x, rtol=1e-5, atol=1e-3)


# -- argmax / argmin -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fn", [graphdl.argmax, graphdl.argmin])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.uint8])
@pytest.mark.parametrize("shape,axis", [((128, 10), 1), ((128, 10), -1), ((128, 10), 0), ((3, 4, 5), 1),
                                        ((1, 6), 1), ((6,), 0), ((400, 500), 1)])
@pytest.mark.parametrize("output_type", [graphdl.int64, graphdl.int32])
def test_arg_reductions(fn, dtype, shape, axis, output_type):
    op = build_op(lambda x: fn(x, axis, output_type=output_type), (graphdl.as_dtype(dtype), shape))
    x = data(shape, dtype)
    assert_matches(op, x)
    assert_matches(op, np.zeros(shape, dtype))  # ties: the first index


@pytest.mark.parametrize("fn", [graphdl.argmax, graphdl.argmin])
@pytest.mark.parametrize("axis", [0, 1])
def test_arg_reductions_nan_and_errors(fn, axis):
    op = build_op(lambda x: fn(x, axis), (graphdl.float32, (None, None)))
    x = data((5, 6))
    x[2, 3] = x[3, 1] = np.nan
    assert_matches(op, x)
    assert_matches(op, x.T)
    with pytest.raises(ValueError, match="is empty"):
        run_both(op, np.zeros((0, 0), np.float32))


# -- matmul ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
@pytest.mark.parametrize("m,k,n", [(1, 784, 512), (128, 784, 512), (128, 512, 10), (3, 1, 4), (5, 0, 2), (0, 3, 2)])
def test_matmul(ta, tb, m, k, n):
    a, b = data((k, m) if ta else (m, k)), data((n, k) if tb else (k, n))
    op = build_op(lambda x, y: graphdl.matmul(x, y, transpose_a=ta, transpose_b=tb), (graphdl.float32, a.shape),
                  (graphdl.float32, b.shape))
    assert op.type == "MatMul"
    assert_matches(op, a, b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("dtype", [np.float64, np.int32, np.int64, np.float16])
def test_matmul_dtypes_and_views(dtype):
    op = build_op(lambda x, y: graphdl.matmul(x, y), (graphdl.as_dtype(dtype), None), (graphdl.as_dtype(dtype), None))
    a, b = data((9, 14), dtype), data((14, 7), dtype)
    rtol = 1e-3 if dtype == np.float16 else 1e-12
    assert_matches(op, a[:, ::2], b[::2], rtol=rtol)
    assert_matches(op, b.T, a.T, rtol=rtol)
    big_a, big_b = data((150, 90), dtype), data((90, 100), dtype)  # past the np.dot / np.matmul switch
    assert_matches(op, big_a, big_b, rtol=rtol * 10, atol=1e-2 if dtype == np.float16 else 1e-9)
    assert_matches(op, big_b.T, big_a.T, rtol=rtol * 10, atol=1e-2 if dtype == np.float16 else 1e-9)
    with pytest.raises(ValueError):
        run_both(op, a, a)


@pytest.mark.parametrize("adj_x", [False, True])
@pytest.mark.parametrize("adj_y", [False, True])
@pytest.mark.parametrize("xs,ys", [((2, 3, 4), (2, 4, 5)), ((2, 1, 3, 4), (5, 4, 6)), ((3, 4), (2, 4, 5)),
                                   ((4, 1, 4), (1, 4, 1))])
def test_batch_matmul(adj_x, adj_y, xs, ys):
    x, y = data(xs), data(ys)
    if adj_x:
        x = np.ascontiguousarray(np.swapaxes(x, -1, -2))
    if adj_y:
        y = np.ascontiguousarray(np.swapaxes(y, -1, -2))
    op = build_op(lambda a, b: graphdl.matmul(a, b, adjoint_a=adj_x, adjoint_b=adj_y), (graphdl.float32, None),
                  (graphdl.float32, None))
    assert op.type == "BatchMatMulV2"
    assert_matches(op, x, y, rtol=1e-5)


# -- softmax and cross-entropies -------------------------------------------------------------------------------------
@pytest.mark.parametrize("fn", [graphdl.nn.softmax, graphdl.nn.log_softmax])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(128, 10), (128, 512), (2, 3, 4), (5, 1), (7,), (400, 1000), (0, 3)])
def test_softmax(fn, dtype, shape):
    op = build_op(fn, (graphdl.as_dtype(dtype), None))
    x = data(shape, dtype) * 5
    assert_matches(op, x, rtol=2e-6 if dtype == np.float32 else 1e-12, atol=1e-6)
    assert_matches(op, x + 1000, rtol=2e-6 if dtype == np.float32 else 1e-12, atol=1e-6)


@pytest.mark.parametrize("fn", [graphdl.nn.softmax, graphdl.nn.log_softmax])
def test_softmax_special_values_and_views(fn):
    op = build_op(fn, (graphdl.float32, None))
    x = data((6, 8))
    x[1, :] = -np.inf
    x[1, 2] = 0.0  # one finite logit: probability 1
    x[3, 4] = np.nan  # the whole row NaN, as the reference
    got, want = run_both(op, x)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-6, atol=1e-6)
    assert np.isnan(got[0][3]).all()
    assert_matches(op, data((9, 12))[::2, ::3])


@pytest.mark.parametrize("label_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(128, 10), (128, 512), (3, 4, 6), (1, 1), (0, 5), (300, 1000)])
def test_sparse_softmax_cross_entropy(label_dtype, dtype, shape):
    op = build_op(lambda x, y: graphdl.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=x).op.outputs,
                  (graphdl.as_dtype(dtype), None), (graphdl.as_dtype(label_dtype), None))
    assert op.type == "SparseSoftmaxCrossEntropyWithLogits"
    labels = RNG.integers(0, shape[-1], size=shape[:-1]).astype(label_dtype)
    got = assert_matches(op, data(shape, dtype) * 4, labels, rtol=1e-5, atol=1e-6)
    assert got[0].shape == shape[:-1] and got[1].shape == shape


@pytest.mark.parametrize("bad", [10, -1, 2**40])
def test_sparse_softmax_cross_entropy_label_out_of_range(bad):
    label_dtype = np.int64 if bad > 2**31 else np.int32
    graph = graphdl.Graph()
    with graph.as_default():
        x = graphdl.placeholder(graphdl.float32, (None, 10))
        y = graphdl.placeholder(graphdl.as_dtype(label_dtype), (None,))
        loss = graphdl.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=x, name="xent")
        labels = np.arange(128, dtype=label_dtype) % 10
        labels[77] = bad
        with graphdl.Session(graph=graph, backend="numba") as sess, pytest.raises(errors.InvalidArgumentError) as info:
            sess.run(loss, {x: data((128, 10)), y: labels})
    message = str(info.value)
    assert f"Received a label value of {bad} which is outside the valid range of [0, 10)" in message
    assert "xent" in message and "Label values: 0 1 2 3" in message


def test_sparse_softmax_cross_entropy_labels_shape_mismatch():
    op = build_op(lambda x, y: graphdl.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=x),
                  (graphdl.float32, None), (graphdl.int32, None))
    with pytest.raises(errors.InvalidArgumentError, match="labels shape"):
        run_both(op, data((4, 3)), np.zeros(5, np.int32))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(128, 10), (3, 4, 6), (2, 1), (300, 1000)])
def test_softmax_cross_entropy_dense(dtype, shape):
    op = build_op(lambda x, y: graphdl.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=x),
                  (graphdl.as_dtype(dtype), None), (graphdl.as_dtype(dtype), None))
    assert op.type == "SoftmaxCrossEntropyWithLogits"
    labels = RNG.random(shape).astype(dtype)
    labels /= labels.sum(-1, keepdims=True)
    assert_matches(op, data(shape, dtype) * 3, labels, rtol=1e-5, atol=1e-6)
    assert_matches(op, data(shape, dtype), np.asfortranarray(labels), rtol=1e-5, atol=1e-6)
    with pytest.raises(errors.InvalidArgumentError, match="same shape"):
        run_both(op, data((2, 3), dtype), data((2, 4), dtype))


# -- bias ops and L2Loss ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("data_format,shape", [("NHWC", (128, 512)), ("NHWC", (4, 5, 6, 7)), ("NCHW", (4, 5, 6, 7)),
                                               ("NCHW", (8, 3, 10)), ("NCHW", (300, 64, 16)), ("NHWC", (2000, 100)),
                                               ("NHWC", (7,)), ("NCHW", (5, 4))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bias_add_grad(data_format, shape, dtype):
    op = build_op(lambda dy: bias_add_grad(dy, data_format), (graphdl.as_dtype(dtype), None))
    dy = data(shape, dtype)
    # Sums of thousands of float32 terms: both kernels round differently; each is near the float64 sum.
    long_sums = dy.size > 50_000
    got = assert_matches(op, dy, rtol=1e-5, atol=2e-4 if long_sums else 1e-5)[0]
    channel = 1 if data_format == "NCHW" else dy.ndim - 1
    exact = dy.astype(np.float64).sum(axis=tuple(i for i in range(dy.ndim) if i != channel))
    np.testing.assert_allclose(got, exact, rtol=1e-5, atol=2e-4 if long_sums else 5e-5)


@pytest.mark.parametrize("data_format,shape", [("NCHW", (4, 5, 6, 7)), ("NCHW", (2, 3, 4)), ("NCHW", (3, 6)),
                                               ("NHWC", (4, 5, 6)), ("NCHW", (64, 32, 100))])
@pytest.mark.parametrize("dtype", [np.float32, np.int32])
def test_bias_add(data_format, shape, dtype):
    op = build_op(lambda v, b: graphdl.nn.bias_add(v, b, data_format=data_format), (graphdl.as_dtype(dtype), None),
                  (graphdl.as_dtype(dtype), None))
    channels = shape[1] if data_format == "NCHW" else shape[-1]
    assert_matches(op, data(shape, dtype), data((channels,), dtype))
    assert_matches(op, data(shape[::-1], dtype).T, data((channels,), dtype))
    with pytest.raises(errors.InvalidArgumentError, match="as many biases"):
        run_both(op, data(shape, dtype), data((channels + 1,), dtype))


@pytest.mark.parametrize("shape", [(784, 512), (10,), (), (0, 3), (3, 5)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_l2_loss(shape, dtype):
    op = build_op(graphdl.nn.l2_loss, (graphdl.as_dtype(dtype), None))
    x = data(shape, dtype)
    got = assert_matches(op, x, rtol=1e-5)
    np.testing.assert_allclose(got[0], np.sum(x.astype(np.float64) ** 2) / 2, rtol=1e-6)


def test_float16_runs_the_reference_kernel():
    op = build_op(lambda x: graphdl.reduce_sum(x, 0), (graphdl.float16, (4, 3)))
    assert_matches(op, data((4, 3)).astype(np.float16), rtol=1e-3)
    op = build_op(graphdl.nn.softmax, (graphdl.float16, (4, 3)))
    assert_matches(op, data((4, 3)).astype(np.float16), rtol=1e-3)


# -- outputs come from the buffer pool; end to end -------------------------------------------------------------------
def test_outputs_are_pooled_buffers():
    op = reduction_op("Sum", np.float32, (128, 512), 0)
    state = SimpleNamespace()
    kernel = kernel_entry("Sum").factory(op, state)
    axes = np.asarray(op.inputs[1].op.attrs["value"])
    x = data((128, 512))
    first = kernel(x, axes)
    first_id = id(first)
    del first
    assert id(kernel(x, axes)) == first_id
    assert state.buffer_pool.allocations == 1


def _mlp_training_losses(backend):
    rng = np.random.default_rng(3)
    images = rng.standard_normal((32, 20)).astype(np.float32)
    labels = rng.integers(0, 5, 32).astype(np.int32)
    graph = graphdl.Graph()
    with graph.as_default():
        graphdl.set_random_seed(1)
        x = graphdl.placeholder(graphdl.float32, (None, 20))
        y = graphdl.placeholder(graphdl.int32, (None,))
        w1 = graphdl.Variable(rng.standard_normal((20, 16)).astype(np.float32) * 0.3)
        b1 = graphdl.Variable(np.zeros(16, np.float32))
        w2 = graphdl.Variable(rng.standard_normal((16, 5)).astype(np.float32) * 0.3)
        b2 = graphdl.Variable(np.zeros(5, np.float32))
        hidden = graphdl.nn.relu(graphdl.nn.bias_add(graphdl.matmul(x, w1), b1))
        logits = graphdl.nn.bias_add(graphdl.matmul(hidden, w2), b2)
        loss = graphdl.reduce_mean(graphdl.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        loss = loss + 1e-3 * graphdl.nn.l2_loss(w1)
        train = graphdl.train.GradientDescentOptimizer(0.5).minimize(loss)
        with graphdl.Session(graph=graph, backend=backend) as sess:
            sess.run(graphdl.global_variables_initializer())
            return [sess.run([loss, train], {x: images, y: labels})[0] for _ in range(5)]


def test_mlp_training_steps_match_the_reference_backend():
    got, want = _mlp_training_losses("numba"), _mlp_training_losses("reference")
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert got[-1] < got[0]


@pytest.mark.parametrize("case", ["sum_rows", "sum_one_row", "sum_cols_outer", "sum_cols_inner", "max_cols", "argmax",
                                  "softmax", "sparse_xent", "l2_loss", "bias_add"])
def test_thread_splits_match(case, monkeypatch):
    """Every parallel path, with an uneven number of pieces (3), whatever the machine's core count."""
    from graphdl.backends.numba_cpu.kernels import nn, reductions

    monkeypatch.setattr(reductions, "_threads", lambda: 3)
    monkeypatch.setattr(nn, "_threads", lambda: 3)
    cases = {
        "sum_rows": (lambda x: graphdl.reduce_sum(x, 1), [data((1001, 300))]),
        "sum_one_row": (lambda x: graphdl.reduce_mean(x), [data((700, 301))]),
        "sum_cols_outer": (lambda x: graphdl.reduce_sum(x, 1), [data((5, 300, 101))]),
        "sum_cols_inner": (lambda x: graphdl.reduce_sum(x, 0), [data((1300, 107))]),
        "max_cols": (lambda x: graphdl.reduce_max(x, [0, 2]), [data((40, 7, 500))]),
        "argmax": (lambda x: graphdl.argmax(x, 1), [data((1001, 300))]),
        "softmax": (graphdl.nn.log_softmax, [data((1001, 300))]),
        "sparse_xent": (lambda x, y: graphdl.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=x).op.outputs,
                        [data((1001, 300)), RNG.integers(0, 300, 1001).astype(np.int32)]),
        "l2_loss": (graphdl.nn.l2_loss, [data((1001, 300))]),
        "bias_add": (lambda v, b: graphdl.nn.bias_add(v, b, data_format="NCHW"), [data((30, 7, 900)), data((7,))]),
    }
    build, feeds = cases[case]
    op = build_op(build, *[(graphdl.as_dtype(a.dtype), a.shape) for a in feeds])
    assert_matches(op, *feeds, rtol=1e-5, atol=1e-4)
    if case == "sparse_xent":
        feeds[1][500] = 300
        with pytest.raises(errors.InvalidArgumentError, match="label value of 300"):
            run_both(op, *feeds)
