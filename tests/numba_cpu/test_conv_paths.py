"""The Numba backend's Conv2D implementations (direct wide loops, channel-vector forward, im2col + BLAS) agree with the reference."""

import numpy as np
import pytest
from graphdl.backends.numba_cpu.kernels import conv_channels, conv_direct

import graphdl as tf


def _force_direct(monkeypatch, direct):
    """Send every stride-1 convolution (and its gradients) to the direct kernels, or none."""
    for limit in ("DIRECT_MAX_CHANNEL_PRODUCT", "INPUT_GRADIENT_MAX_CHANNEL_PRODUCT"):
        monkeypatch.setattr(conv_direct, limit, 10_000 if direct else 0)


def _conv_with_grads(shape, filter_shape, padding, data_format, strides=(1, 1, 1, 1), dtype=np.float32):
    rng = np.random.default_rng(0)
    x_value = rng.standard_normal(shape).astype(dtype)
    w_value = rng.standard_normal(filter_shape).astype(dtype)
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(dtype, shape)
        w = tf.placeholder(dtype, filter_shape)
        y = tf.nn.conv2d(x, w, list(strides), padding, data_format=data_format)
        weights = tf.constant(rng.uniform(0.5, 1.5, y.shape.as_list()).astype(dtype))
        gx, gw = tf.gradients(tf.reduce_sum(y * weights), [x, w])
    results = {}
    for backend in ("reference", "numba"):
        with tf.Session(graph=graph, backend=backend) as sess:
            results[backend] = sess.run([y, gx, gw], {x: x_value, w: w_value})
    return results


@pytest.mark.parametrize("path", ["direct", "im2col"])
@pytest.mark.parametrize("padding", ["VALID", "SAME", [[0, 0], [2, 1], [0, 3], [0, 0]]])
@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
# the direct filter gradient does 1, 3 and 4 outputs a pass; the correlation tiles 5, 6, 4 + 4 and 4 + 4 + 5
@pytest.mark.parametrize("outputs", [5, 6, 8, 13])
def test_both_paths_match_the_reference(monkeypatch, path, padding, data_format, outputs):
    _force_direct(monkeypatch, path == "direct")
    shape = (3, 9, 7, 2) if data_format == "NHWC" else (3, 2, 9, 7)
    if data_format == "NCHW" and isinstance(padding, list):
        padding = [padding[0], padding[3], padding[1], padding[2]]
    results = _conv_with_grads(shape, (3, 4, 2, outputs), padding, data_format)
    for name, ref, got in zip(["output", "input gradient", "filter gradient"], results["reference"], results["numba"]):
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4, err_msg=f"{path} {name}")


@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
def test_direct_path_in_float64(monkeypatch, data_format):
    _force_direct(monkeypatch, True)
    shape = (2, 13, 6, 3) if data_format == "NHWC" else (2, 3, 13, 6)
    results = _conv_with_grads(shape, (5, 2, 3, 7), "SAME", data_format, dtype=np.float64)
    for name, ref, got in zip(["output", "input gradient", "filter gradient"], results["reference"], results["numba"]):
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12, err_msg=name)


def test_direct_path_is_chosen_only_for_stride_one_and_few_channels():
    assert conv_direct.usable((1, 1), (1, 1), 3, 6)
    assert not conv_direct.usable((2, 2), (1, 1), 3, 6)
    assert not conv_direct.usable((1, 1), (2, 2), 3, 6)
    assert not conv_direct.usable((1, 1), (1, 1), 64, 64)
    # the input gradient's tiled correlation goes further: LeNet's conv2 (6 -> 16)
    assert not conv_direct.usable((1, 1), (1, 1), 6, 16) and conv_direct.usable((1, 1), (1, 1), 6, 16, True)
    assert not conv_direct.usable((1, 1), (1, 1), 32, 64, True)


def test_strided_convolution_uses_im2col_and_matches():
    results = _conv_with_grads((2, 9, 9, 3), (3, 3, 3, 4), "SAME", "NHWC", strides=(1, 2, 2, 1))
    for ref, got in zip(results["reference"], results["numba"]):
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("path", ["direct", "im2col"])
@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
def test_both_paths_split_over_images_across_threads_match(monkeypatch, path, data_format):
    from graphdl.backends.numba_cpu import threads
    from graphdl.backends.numba_cpu.kernels import conv

    module = conv_direct if path == "direct" else conv
    splits = []
    run_split = module.run_split

    def recording_split(kernel, n, *args):
        splits.append(n)
        return run_split(kernel, n, *args)

    _force_direct(monkeypatch, path == "direct")
    monkeypatch.setattr(module, "PARALLEL_MIN_ELEMENTS", 1)  # split even these small shapes
    monkeypatch.setattr(module, "run_split", recording_split)
    monkeypatch.setattr(threads, "_state", {"threads": 2, "limiter": None})
    shape = (5, 11, 9, 3) if data_format == "NHWC" else (5, 3, 11, 9)  # 5 images: pieces of 2 and 3
    results = _conv_with_grads(shape, (3, 3, 3, 4), "SAME", data_format)
    assert splits.count(5) == 3  # the forward pass and both gradients
    for name, ref, got in zip(["output", "input gradient", "filter gradient"], results["reference"], results["numba"]):
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4, err_msg=f"{path} {name}")


@pytest.mark.parametrize("padding", ["VALID", "SAME", [[0, 0], [2, 1], [0, 3], [0, 0]]])
@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_channel_vector_kernels_match_the_reference(monkeypatch, padding, data_format, dtype):
    calls = []
    forward, backprop_filter = conv_channels.forward, conv_channels.backprop_filter
    monkeypatch.setattr(conv_channels, "forward", lambda *args: calls.append("forward") or forward(*args))
    monkeypatch.setattr(conv_channels, "backprop_filter", lambda *args: calls.append("filter") or backprop_filter(*args))
    shape = (3, 9, 7, 4) if data_format == "NHWC" else (3, 4, 9, 7)  # 4 x 16 channels: past the direct kernels
    if data_format == "NCHW" and isinstance(padding, list):
        padding = [padding[0], padding[3], padding[1], padding[2]]
    results = _conv_with_grads(shape, (3, 4, 4, 16), padding, data_format, dtype=dtype)
    assert sorted(calls) == ["filter", "forward"], "the channel-vector tile kernels were not used"
    for name, ref, got in zip(["output", "input gradient", "filter gradient"], results["reference"], results["numba"]):
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4, err_msg=name)


def test_channel_vector_kernels_split_over_images(monkeypatch):
    from graphdl.backends.numba_cpu import threads

    splits = []
    over_images = conv_channels.over_images  # conv_direct's, which the channel-vector kernels split their batch with

    def recording(images, n, size):
        if conv_direct.image_pieces(n, size) > 1:
            splits.append(n)
        return over_images(images, n, size)

    monkeypatch.setattr(conv_channels, "over_images", recording)
    monkeypatch.setattr(threads, "_state", {"threads": 2, "limiter": None})
    results = _conv_with_grads((64, 14, 14, 6), (5, 5, 6, 16), "VALID", "NHWC")  # LeNet's conv2
    assert splits == [64, 64]  # the forward pass and the filter gradient
    for name, ref, got in zip(["output", "input gradient", "filter gradient"], results["reference"], results["numba"]):
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=2e-3 if name == "filter gradient" else 1e-4, err_msg=name)


def test_channel_vector_forward_is_chosen_only_for_stride_one_vector_wide_outputs_and_few_taps():
    assert conv_channels.usable((1, 1), (1, 1), 5, 5, 6, 16)
    assert conv_channels.usable((1, 1), (1, 1), 3, 3, 16, 32)
    assert not conv_channels.usable((2, 2), (1, 1), 5, 5, 6, 16)
    assert not conv_channels.usable((1, 1), (2, 2), 5, 5, 6, 16)
    assert not conv_channels.usable((1, 1), (1, 1), 5, 5, 6, 12)
    assert not conv_channels.usable((1, 1), (1, 1), 3, 3, 64, 16)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_valid_convolution_uses_the_unrolled_im2col_and_col2im_across_row_blocks(monkeypatch, dtype):
    from graphdl.backends.numba_cpu.kernels import conv

    _force_direct(monkeypatch, False)
    monkeypatch.setattr(conv, "_BLOCK_BYTES", 1)  # blocks of 64 window rows: they start and end inside images
    generated = []
    window_kernel = conv._valid_window_kernel

    def recording(*args):
        generated.append(args[:4])
        return window_kernel(*args)

    monkeypatch.setattr(conv, "_valid_window_kernel", recording)
    results = _conv_with_grads((3, 13, 11, 3), (4, 3, 3, 5), "VALID", "NHWC", dtype=dtype)  # 3 x 10 x 9 = 270 rows
    assert {("im2col", 4, 3, 3), ("col2im", 4, 3, 3)} == set(generated)
    for name, ref, got in zip(["output", "input gradient", "filter gradient"], results["reference"], results["numba"]):
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4, err_msg=name)
