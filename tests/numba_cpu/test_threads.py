"""Thread budget of the Numba backend: serial kernels in programs whose products use several BLAS threads,
wide vectors."""

import numpy as np
import pytest
from graphdl.backends.numba_cpu import kernel_cache, threads
from graphdl.backends.numba_cpu.fused_codegen import PARALLEL_MIN_ELEMENTS

import graphdl as tf


def _executable(sess, fetch, feed):
    sess.run(fetch, feed_dict=feed)
    return sess.explain(fetch, feed_dict=feed)


@pytest.fixture
def submissions(monkeypatch):
    """Counts the pieces fused kernels hand to the thread pool (two threads whatever the machine)."""
    import graphdl.backends.numba_cpu.fused_codegen as codegen

    submitted = []
    pool = codegen._thread_pool

    class RecordingPool:
        def submit(self, fn, *args):
            submitted.append(fn)
            return pool().submit(fn, *args)

    monkeypatch.setattr(threads, "_state", {"threads": 2, "limiter": None})
    monkeypatch.setattr(codegen, "_thread_pool", RecordingPool)
    return submitted


def test_kernels_run_on_one_thread_once_a_product_uses_several_blas_threads(submissions):
    n = PARALLEL_MIN_ELEMENTS * 2
    x = tf.placeholder(tf.float32, [n])
    m = tf.placeholder(tf.float32, [256, 256])
    big = tf.tanh(x) * 2.0 + 1.0
    product = tf.matmul(m, m)  # 16.8M multiply-adds: above BLAS_PARALLEL_MIN_MACS, two BLAS threads
    value = np.linspace(-3, 3, n, dtype=np.float32)
    eye = np.eye(256, dtype=np.float32)
    with tf.Session() as sess:
        explained = _executable(sess, [big, product], {x: value, m: eye})
        assert explained.serial_kernels is True
        assert "kernel threads: 1" in str(explained)
        submissions.clear()
        out, prod = sess.run([big, product], feed_dict={x: value, m: eye})
        assert submissions == []
        np.testing.assert_allclose(out, np.tanh(value) * 2 + 1, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(prod, eye)

        # The same elementwise work without a matmul splits across the threads.
        explained = _executable(sess, big, {x: value})
        assert explained.serial_kernels is False
        out = sess.run(big, feed_dict={x: value})
        assert len(submissions) >= 1
        np.testing.assert_allclose(out, np.tanh(value) * 2 + 1, rtol=1e-5, atol=1e-6)
    # A serial run leaves the thread's setting as it found it.
    assert threads.kernel_threads() == 2


def test_program_whose_products_stay_on_one_blas_thread_splits_its_kernels(submissions):
    n = PARALLEL_MIN_ELEMENTS * 2
    x = tf.placeholder(tf.float32, [n])
    m = tf.placeholder(tf.float32, [2, 2])
    big = tf.tanh(x) * 2.0 + 1.0
    product = tf.matmul(m, m)  # small: BLAS keeps one thread, so nothing spins on the other cores
    value = np.linspace(-3, 3, n, dtype=np.float32)
    feed = {x: value, m: np.eye(2, dtype=np.float32)}
    with tf.Session() as sess:
        explained = _executable(sess, [big, product], feed)
        assert explained.serial_kernels is False
        assert "kernel threads: 1" not in str(explained)
        submissions.clear()
        out, _ = sess.run([big, product], feed_dict=feed)
        assert len(submissions) >= 1
        np.testing.assert_allclose(out, np.tanh(value) * 2 + 1, rtol=1e-5, atol=1e-6)


def test_generated_source_records_vector_width():
    x = tf.placeholder(tf.float32, [None])
    y = tf.sigmoid(x) + 1.0
    with tf.Session() as sess:
        sess.run(y, feed_dict={x: np.zeros(4, np.float32)})
        sources = sess.explain(y, feed_dict={x: np.zeros(4, np.float32)}).kernel_sources
    width = "16" if kernel_cache.wide_vectors() else "default"
    assert sources and all(text.startswith(f"# vector width: {width}\n") for text in sources.values())


@pytest.mark.skipif(not kernel_cache.wide_vectors(), reason="the host has no AVX-512")
def test_wide_vectors_compile_to_512_bit_registers():
    source = "\n".join([
        kernel_cache.vector_width_comment().rstrip(),
        "from numba import njit",
        "@njit(cache=False, error_model='numpy')",
        "def kernel(out, x):",
        "    for j in range(x.shape[0]):",
        "        out[j] = x[j] * 2.0 + 1.0",
    ]) + "\n# wide-vector test\n"
    kernel = kernel_cache.load_generated_module(source).kernel
    x = np.arange(64, dtype=np.float32)
    out = np.empty_like(x)
    kernel_cache.compile_kernel(kernel, (out, x))
    kernel(out, x)
    np.testing.assert_array_equal(out, x * 2 + 1)
    assembly = next(iter(kernel.inspect_asm().values()))
    assert "zmm" in assembly


def test_small_products_run_on_one_blas_thread_and_large_ones_on_the_budget(monkeypatch):
    calls = []

    class Controller:
        user_api = "blas"

        def set_num_threads(self, n):
            calls.append(n)

    monkeypatch.setattr(threads, "_blas", {"controllers": [Controller()], "threads": None, "parallel_calls": 0,
                                          "on_kernel_pool": False})
    monkeypatch.setattr(threads, "_state", {"threads": 2, "limiter": None})
    a = tf.placeholder(tf.float32, [None, None])
    b = tf.placeholder(tf.float32, [None, None])
    product = tf.matmul(a, b)
    with tf.Session() as sess:
        small = sess.run(product, {a: np.ones((4, 8), np.float32), b: np.ones((8, 4), np.float32)})
        assert calls == [1]
        large = np.ones((256, 256), np.float32)
        out = sess.run(product, {a: large, b: large})
        assert calls == [1, 2]
        sess.run(product, {a: large, b: large})
        assert calls == [1, 2]  # unchanged: no call
    np.testing.assert_allclose(small, np.full((4, 4), 8.0))
    np.testing.assert_allclose(out, np.full((256, 256), 256.0))


def test_a_program_with_an_lstm_recurrence_splits_its_products_across_the_kernel_pool(monkeypatch):
    """BLAS stays on one thread; the recurrence runs half the batch per thread and a large product is split."""
    from graphdl.backends.numba_cpu.kernels import lstm_sequence as sequence_kernels
    from graphdl.backends.numba_cpu.kernels import matmul as matmul_kernels
    from graphdl.backends.numba_cpu.kernels import reductions

    from graphdl.ops.lstm_sequence_ops import lstm_block_recurrence, recurrence_reference

    calls, splits = [], []

    class Controller:
        user_api = "blas"

        def set_num_threads(self, n):
            calls.append(n)

    run_split = reductions.run_split

    def recording_split(kernel, n, *args):
        splits.append(n)
        return run_split(kernel, n, *args)

    monkeypatch.setattr(threads, "_blas", {"controllers": [Controller()], "threads": None, "parallel_calls": 0,
                                          "on_kernel_pool": False})
    monkeypatch.setattr(threads, "_state", {"threads": 2, "limiter": None})
    monkeypatch.setattr(matmul_kernels, "run_split", recording_split)
    monkeypatch.setattr(sequence_kernels, "run_split", recording_split)
    rng = np.random.default_rng(0)
    steps, batch, depth, units = 16, 64, 8, 32  # 5 Mi multiply-adds over the steps: large enough to split
    values = [rng.standard_normal(s).astype(np.float32) for s in
              ((steps, batch, depth), (batch, units), (batch, units), (depth + units, 4 * units), (4 * units,))]
    values[3] *= 0.3
    inputs = [tf.placeholder(tf.float32, v.shape) for v in values]
    h, c = lstm_block_recurrence(*inputs)
    a, b = tf.placeholder(tf.float32, [None, None]), tf.placeholder(tf.float32, [None, None])
    a_value, b_value = (rng.standard_normal(s).astype(np.float32) for s in ((300, 200), (200, 400)))
    with tf.Session() as sess:
        got_h, got_c, product = sess.run([h, c, tf.matmul(a, b)], {a: a_value, b: b_value, **dict(zip(inputs, values))})
    want_h, want_c = recurrence_reference(*values, 1.0)[:2]
    np.testing.assert_allclose(got_h, want_h, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got_c, want_c, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(product, a_value @ b_value, rtol=1e-4, atol=1e-4)
    assert set(calls) == {1}  # never more than one BLAS thread
    assert batch in splits and 400 in splits  # the recurrence split its batch, the (wider than tall) product its columns
    assert not threads._blas["on_kernel_pool"]  # switched off again after the run


@pytest.mark.parametrize("reduce", ["reduce_sum", "reduce_mean", "reduce_max", "reduce_min"])
@pytest.mark.parametrize("rows", [96, 97])  # 97 is prime: no widening possible
def test_narrow_column_reductions_match_numpy(reduce, rows):
    """Column reductions over few columns run widened (k partial reductions folded at the end)."""
    rng = np.random.default_rng(1)
    x_value = rng.standard_normal((rows, 5, 6)).astype(np.float32)
    b_value = rng.standard_normal(6).astype(np.float32)
    x = tf.placeholder(tf.float32, [None, 5, 6])
    b = tf.placeholder(tf.float32, [6])
    y = getattr(tf, reduce)(tf.nn.relu(x + b) * 2.0, axis=[0, 1])
    with tf.Session() as sess:
        got = sess.run(y, {x: x_value, b: b_value})
        kernels = sess.explain(y, {x: x_value, b: b_value}).fused_kernels
    assert len(kernels) == 1  # the reduction is fused with the elementwise ops
    expected = getattr(np, {"reduce_sum": "sum", "reduce_mean": "mean", "reduce_max": "max", "reduce_min": "min"}[reduce])(
        np.maximum(x_value + b_value, 0) * 2.0, axis=(0, 1))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
