"""The cuda backend's own kernels for the RNN cells, normalization, scatter/gather, resizing and depthwise ops.

Each test builds a small graph, runs it on ``backend="cuda"`` (Numba's CUDA simulator
without a GPU) and on the reference backend, compares the values, and checks through
``Session.explain`` that the ops under test ran on the device rather than falling back
to the CPU. Shapes are tiny: every CUDA thread is a Python thread on the simulator.
"""

from __future__ import annotations

import numpy as np
import pytest

import graphdl as tf
from graphdl.ops.gru_ops import gru_block_cell_gates, gru_block_cell_update
from graphdl.ops.lstm_sequence_ops import lstm_block_recurrence
from graphdl.ops.rnn_ops import lstm_block_cell_update

FLOATS = [np.float32, np.float64]
TOLERANCE = {np.float32: {"rtol": 1e-5, "atol": 1e-6}, np.float64: {"rtol": 1e-10, "atol": 1e-12}}


def randn(*shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def compare(build, inputs, on_device, tolerance=None, grads_of=None):
    """Run ``build(*placeholders)`` on cuda and reference, compare every output, and check placement.

    ``on_device``: op types that must be in the cuda program and run there. ``grads_of``:
    indices of inputs to also differentiate ``sum(w * output ** 2)`` with respect to (TF1's
    ``tf.gradients``). Returns the cuda values.
    """
    results = {}
    for backend in ("cuda", "reference"):
        graph = tf.Graph()
        with graph.as_default():
            phs = [tf.placeholder(tf.as_dtype(np.asarray(a).dtype), np.shape(a), name=f"input{i}")
                   for i, a in enumerate(inputs)]
            outs = build(*phs)
            outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
            if grads_of:
                rng = np.random.default_rng(7)
                # sum(w * o * o): the output gradient depends on the run's values (constant folding cannot
                # remove the gradient ops)
                terms = [tf.reduce_sum(o * o * tf.constant(rng.uniform(0.5, 1.5, o.shape.as_list()), dtype=o.dtype))
                         for o in outs if o.dtype.is_floating]
                outs += tf.gradients(tf.add_n(terms), [phs[i] for i in grads_of])
            feed = dict(zip(phs, inputs))
            with tf.Session(graph=graph, backend=backend) as sess:
                if backend == "cuda":
                    _check_on_device(sess.explain(outs, feed), on_device)
                results[backend] = sess.run(outs, feed)
    for i, (got, want) in enumerate(zip(results["cuda"], results["reference"])):
        assert got.shape == want.shape and got.dtype == want.dtype, f"output {i}: {got.shape} {got.dtype}"
        if want.dtype.kind == "f":
            tol = tolerance or TOLERANCE[want.dtype.type]
            np.testing.assert_allclose(got, want, err_msg=f"output {i}", **tol)
        else:
            np.testing.assert_array_equal(got, want, err_msg=f"output {i}")
    return results["cuda"]


def _check_on_device(explanation, op_types):
    kernels = [k for k in explanation.kernels if k["type"] in op_types]
    missing = set(op_types) - {k["type"] for k in kernels}
    assert not missing, f"the program has no {sorted(missing)} op"
    on_cpu = sorted({k["type"] for k in kernels if k["implementation"].endswith("(cpu)")})
    assert not on_cpu, f"these ops ran on the CPU instead of the device: {on_cpu}"


# -- RNN cells --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS)
def test_lstm_recurrence_and_its_gradient(dtype):
    steps, batch, depth, units = 3, 2, 4, 3
    x = randn(steps, batch, depth, dtype=dtype) * 2
    h0, c0 = randn(batch, units, seed=1, dtype=dtype), randn(batch, units, seed=2, dtype=dtype)
    w, bias = randn(depth + units, 4 * units, seed=3, dtype=dtype) * 0.5, randn(4 * units, seed=4, dtype=dtype)
    compare(lambda *a: list(lstm_block_recurrence(*a, forget_bias=0.5)), [x, h0, c0, w, bias],
            {"BlockLSTMRecurrence", "BlockLSTMRecurrenceGrad"}, grads_of=[0, 1, 2, 3, 4])


@pytest.mark.parametrize("dtype", FLOATS)
def test_lstm_cell_update_and_its_gradient(dtype):
    gates, bias, c = randn(3, 20, dtype=dtype) * 3, randn(20, seed=1, dtype=dtype), randn(3, 5, seed=2, dtype=dtype)
    gates[0, :4] = [-80, 80, -30, 40]  # saturated gates: the sigmoid must not overflow
    compare(lambda g, b, c: list(lstm_block_cell_update(g, b, c, forget_bias=0.5)), [gates, bias, c],
            {"LSTMBlockCellUpdate", "LSTMBlockCellUpdateGrad"}, grads_of=[0, 1, 2])


@pytest.mark.parametrize("dtype", FLOATS)
def test_gru_cell_stages_and_their_gradients(dtype):
    batch, units = 3, 5
    x, h = randn(batch, 2, dtype=dtype), randn(batch, units, seed=1, dtype=dtype)
    w_ru, b_ru = randn(2 + units, 2 * units, seed=2, dtype=dtype), randn(2 * units, seed=3, dtype=dtype)
    w_c, b_c = randn(2 + units, units, seed=4, dtype=dtype), randn(units, seed=5, dtype=dtype)

    def cell(x, h, w_ru, b_ru, w_c, b_c):
        rh, u = gru_block_cell_gates(tf.matmul(tf.concat([x, h], 1), w_ru), b_ru, h)
        return gru_block_cell_update(tf.matmul(tf.concat([x, rh], 1), w_c), b_c, u, h)

    compare(cell, [x, h, w_ru, b_ru, w_c, b_c], {"GRUBlockCellGates", "GRUBlockCellGatesGrad", "GRUBlockCellUpdate",
                                                 "GRUBlockCellUpdateGrad"}, grads_of=[0, 1, 2, 3, 4, 5])


def test_rnn_cell_shape_errors_name_the_op():
    gates, c = tf.placeholder(tf.float32, [None, None]), tf.placeholder(tf.float32, [None, None])
    new_c, _ = lstm_block_cell_update(gates, tf.zeros([8]), c)
    h = tf.placeholder(tf.float32, [None, None])
    rh, _ = gru_block_cell_gates(gates, tf.zeros([8]), h)
    with tf.Session(backend="cuda") as sess:
        with pytest.raises(tf.errors.InvalidArgumentError, match="4 \\* units"):
            sess.run(new_c, {gates: np.zeros((3, 8), np.float32), c: np.zeros((4, 2), np.float32)})
        with pytest.raises(tf.errors.InvalidArgumentError, match="h_prev"):
            sess.run(rh, {gates: np.zeros((3, 8), np.float32), h: np.zeros((4, 4), np.float32)})


# -- batch norm and LRN -----------------------------------------------------------------------------------------
BN_TOLERANCE = {np.float32: {"rtol": 1e-5, "atol": 1e-5}, np.float64: {"rtol": 1e-9, "atol": 1e-11}}


@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
@pytest.mark.parametrize("dtype", FLOATS)
def test_fused_batch_norm_training_and_its_gradient(dtype, data_format):
    x = randn(2, 3, 2, 5, dtype=dtype) * 2 + 1
    if data_format == "NCHW":
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    scale, offset = randn(5, seed=1, dtype=dtype), randn(5, seed=2, dtype=dtype)
    compare(lambda x, s, o: list(tf.nn.fused_batch_norm(x, s, o, epsilon=0.01, data_format=data_format)),
            [x, scale, offset], {"FusedBatchNormV3", "FusedBatchNormGradV3"}, BN_TOLERANCE[dtype], grads_of=[0, 1, 2])


@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
def test_fused_batch_norm_inference_running_average_and_gradient(data_format):
    x = randn(3, 4, 2, 3, dtype=np.float64)
    channels = 3 if data_format == "NHWC" else 4
    scale, offset = randn(channels, seed=1, dtype=np.float64), randn(channels, seed=2, dtype=np.float64)
    mean, var = randn(channels, seed=3, dtype=np.float64), np.linspace(0.5, 2, channels)

    def build(x, s, o, m, v):
        inference = tf.nn.fused_batch_norm(x, s, o, m, v, is_training=False, data_format=data_format)
        averaged = tf.nn.fused_batch_norm(x, s, o, m, v, data_format=data_format, exponential_avg_factor=0.25)
        return list(inference) + list(averaged)

    compare(build, [x, scale, offset, mean, var], {"FusedBatchNormV3", "FusedBatchNormGradV3"}, grads_of=[0, 1, 2])


def test_fused_batch_norm_bad_scale_is_an_error_naming_it():
    x, scale = tf.placeholder(tf.float32, [None, None, None, None]), tf.placeholder(tf.float32, [None])
    y, _, _ = tf.nn.fused_batch_norm(x, scale, tf.zeros([3]))
    with tf.Session(backend="cuda") as sess, pytest.raises(tf.errors.InvalidArgumentError, match="scale must have 3"):
        sess.run(y, {x: np.zeros((1, 2, 2, 3), np.float32), scale: np.ones(4, np.float32)})


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("radius", [2, 4])
def test_lrn_and_its_gradient(dtype, radius):
    x = randn(2, 2, 1, 5, dtype=dtype)
    compare(lambda x: tf.nn.lrn(x, depth_radius=radius, bias=1.5, alpha=0.3, beta=0.75), [x], {"LRN", "LRNGrad"},
            grads_of=[0])


# -- segment sums, gathers and scatters ---------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS)
def test_unsorted_segment_sum_and_its_gradient(dtype):
    data = randn(6, 2, 3, dtype=dtype)
    ids = np.array([3, 0, -1, 3, 1, 3], np.int32)  # repeated, negative (dropped) and absent (2) segments
    compare(lambda d, i: tf.unsorted_segment_sum(d, i, 4), [data, ids],
            {"UnsortedSegmentSum", "GatherDropNegatives"}, grads_of=[0])


@pytest.mark.parametrize("dtype", FLOATS)
def test_gather_gradients_on_axis_0_axis_1_and_with_batch_dims(dtype):
    params = randn(4, 5, 2, dtype=dtype)
    ids = np.array([[3, 0], [3, 3], [1, 3], [2, 1]], np.int32)

    def build(p, i):
        rows = tf.gather(p, i, axis=0)  # gradient: UnsortedSegmentSum
        columns = tf.gather(p, i, axis=1)  # GatherGrad
        batched = tf.gather(p, i, axis=1, batch_dims=1)  # GatherGrad with batch dims
        return [rows, columns, batched]

    compare(build, [params, ids], {"GatherV2", "UnsortedSegmentSum", "GatherGrad"}, grads_of=[0])


@pytest.mark.parametrize("dtype", FLOATS)
def test_gather_nd_and_scatter_nd_with_their_gradients(dtype):
    params, updates = randn(3, 4, 2, dtype=dtype), randn(3, 2, dtype=dtype, seed=1)
    pairs = np.array([[[2, 1], [0, 3]], [[2, 1], [1, 0]]], np.int32)  # k = 2 of rank 3: rows of 2
    full = np.array([[0, 3, 1], [2, 0, 0]], np.int32)  # k = 3: single elements
    rows = np.array([[1], [1], [0]], np.int32)  # scatter with a repeated destination

    def build(p, u, pairs, full, rows):
        return [tf.gather_nd(p, pairs), tf.gather_nd(p, full), tf.scatter_nd(rows, u, [4, 2])]

    compare(build, [params, updates, pairs, full, rows], {"GatherNd", "ScatterNd"}, grads_of=[0, 1])


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_one_hot_and_its_gradient(axis):
    indices = np.array([[0, 2, 5], [-1, 1, 2]], np.int32)  # 5 and -1 are out of range: all off_value
    on, off = np.float64(2.5), np.float64(-0.5)
    compare(lambda i, on, off: tf.one_hot(i, 3, on_value=on, off_value=off, axis=axis), [indices, on, off],
            {"OneHot"}, grads_of=[1, 2])


def test_bad_indices_are_errors_naming_them():
    params, indices = tf.placeholder(tf.float32, [3, 2]), tf.placeholder(tf.int32, [None, 2])
    gathered = tf.gather_nd(params, indices)
    data, ids = tf.placeholder(tf.float32, [3]), tf.placeholder(tf.int32, [3])
    summed = tf.unsorted_segment_sum(data, ids, 2)
    with tf.Session(backend="cuda") as sess:
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"indices\[1\] = \[3, 0\] does not index into"):
            sess.run(gathered, {params: np.zeros((3, 2), np.float32), indices: [[0, 1], [3, 0]]})
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"segment_ids\[2\] = 2 is out of range \[0, 2\)"):
            sess.run(summed, {data: np.zeros(3, np.float32), ids: [0, 1, 2]})


# -- resizing -------------------------------------------------------------------------------------------------------
RESIZE_MODES = [(False, False), (True, False), (False, True)]  # (align_corners, half_pixel_centers)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("align_corners,half_pixel_centers", RESIZE_MODES)
def test_resize_bilinear_and_nearest_up_and_down_with_gradients(dtype, align_corners, half_pixel_centers):
    images = randn(1, 3, 5, 2, dtype=dtype)
    flags = {"align_corners": align_corners, "half_pixel_centers": half_pixel_centers}

    def build(x):
        return [tf.image.resize_bilinear(x, [5, 3], **flags), tf.image.resize_bilinear(x, [2, 7], **flags),
                tf.image.resize_nearest_neighbor(x, [4, 2], **flags), tf.image.resize_nearest_neighbor(x, [7, 9], **flags)]

    compare(build, [images], {"ResizeBilinear", "ResizeBilinearGrad", "ResizeNearestNeighbor",
                              "ResizeNearestNeighborGrad"}, grads_of=[0])


def test_resize_of_integer_images():
    images = np.random.default_rng(3).integers(0, 255, (2, 3, 4, 1)).astype(np.uint8)

    def build(x):
        # (an integer op whose inputs are all on the host stays there, so the nearest-neighbour resize reads a
        # uint8 image made on the device: a same-size bilinear resize, exact)
        on_device = tf.cast(tf.image.resize_bilinear(x, [3, 4]), tf.uint8)
        return [tf.image.resize_bilinear(x, [5, 6]), tf.image.resize_nearest_neighbor(on_device, [5, 6])]

    out = compare(build, [images], {"ResizeBilinear", "ResizeNearestNeighbor"})
    assert out[0].dtype == np.float32 and out[1].dtype == np.uint8


# -- depthwise convolution --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("data_format,strides,padding,rate", [
    ("NHWC", [1, 1, 1, 1], "SAME", None),
    ("NHWC", [1, 2, 2, 1], "VALID", None),
    ("NHWC", [1, 1, 1, 1], "SAME", [2, 1]),
    ("NCHW", [1, 1, 2, 1], "SAME", None),
])
def test_depthwise_conv2d_and_its_gradients(dtype, data_format, strides, padding, rate):
    x = randn(2, 5, 4, 3, dtype=dtype)
    if data_format == "NCHW":
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    f = randn(3, 2, 3, 2, seed=1, dtype=dtype)
    compare(lambda x, f: tf.nn.depthwise_conv2d(x, f, strides, padding, rate=rate, data_format=data_format), [x, f],
            {"DepthwiseConv2dNative", "DepthwiseConv2dNativeBackpropInput", "DepthwiseConv2dNativeBackpropFilter"},
            grads_of=[0, 1])


def test_depthwise_conv2d_channel_mismatch_is_an_error_naming_both_shapes():
    x, f = tf.placeholder(tf.float32, [None, None, None, None]), tf.placeholder(tf.float32, [None, None, None, None])
    y = tf.nn.depthwise_conv2d_native(x, f, [1, 1, 1, 1], "SAME")
    with tf.Session(backend="cuda") as sess, pytest.raises(tf.errors.InvalidArgumentError,
                                                           match="input depth 3 must equal filter in_channels 2"):
        sess.run(y, {x: np.zeros((1, 4, 4, 3), np.float32), f: np.zeros((2, 2, 2, 1), np.float32)})


# -- layout ops: reverse_sequence, the strided slice and mirror pad gradients, max pooling's second derivative -------
@pytest.mark.parametrize("seq_axis,batch_axis,shape,lengths", [
    (1, 0, (3, 4, 2), [4, 0, 2]),
    (0, 2, (4, 2, 3), [1, 4, 3]),
])
def test_reverse_sequence_and_its_gradient(seq_axis, batch_axis, shape, lengths):
    compare(lambda x, n: tf.reverse_sequence(x, n, seq_axis=seq_axis, batch_axis=batch_axis),
            [randn(*shape, dtype=np.float64), np.array(lengths, np.int64)], {"ReverseSequence"}, grads_of=[0])


def test_reverse_sequence_length_out_of_range_is_an_error_naming_it():
    x, n = tf.placeholder(tf.float32, [2, 3]), tf.placeholder(tf.int32, [2])
    reversed_ = tf.reverse_sequence(x, n, seq_axis=1, batch_axis=0)
    with tf.Session(backend="cuda") as sess, pytest.raises(tf.errors.InvalidArgumentError,
                                                           match=r"seq_lengths\[1\] = 5 is not in \[0, 3\]"):
        sess.run(reversed_, {x: np.zeros((2, 3), np.float32), n: [1, 5]})


@pytest.mark.parametrize("dtype", FLOATS)
def test_strided_slice_gradient(dtype):
    compare(lambda x: [x[1:, ::-2, None, 0], x[..., 1]], [randn(3, 5, 2, dtype=dtype)], {"StridedSliceGrad"},
            grads_of=[0])


@pytest.mark.parametrize("mode", ["REFLECT", "SYMMETRIC"])
def test_mirror_pad_gradient(mode):
    x = randn(3, 2, 4, dtype=np.float64)
    compare(lambda x: tf.pad(x, [[1, 2], [0, 0], [3, 1]], mode=mode), [x], {"MirrorPad", "MirrorPadGrad"},
            grads_of=[0])


@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
def test_max_pool_second_derivative(data_format):
    x = randn(2, 5, 4, 3, dtype=np.float64)
    if data_format == "NCHW":
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    strides = [1, 2, 2, 1] if data_format == "NHWC" else [1, 1, 2, 2]
    ksize = [1, 3, 3, 1] if data_format == "NHWC" else [1, 1, 3, 3]

    def build(x):
        y = tf.nn.max_pool(x, ksize, strides, "SAME", data_format=data_format)
        return tf.gradients(tf.reduce_sum(y * y), x)  # MaxPoolGrad; its gradient is MaxPoolGradGrad

    compare(build, [x], {"MaxPoolGrad", "MaxPoolGradGrad"}, grads_of=[0])
