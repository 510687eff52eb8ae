"""TF1's queue input pipeline: queues, QueueRunner/Coordinator, producers, batching, file reads and image decoding."""

import io
import threading
import time

import numpy as np
import pytest
from harness import OP_TEST_BACKENDS

import graphdl as tf
from graphdl import errors

Image = pytest.importorskip("PIL.Image")


@pytest.fixture(params=OP_TEST_BACKENDS)
def backend(request):
    return request.param


def _drain(sess, fetches, limit=1000):
    out = []
    for _ in range(limit):
        try:
            out.append(sess.run(fetches))
        except errors.OutOfRangeError:
            return out
    raise AssertionError("the pipeline did not end")


def _encode(array, fmt, **kwargs) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


# -- queues -------------------------------------------------------------------------------------------


def test_fifo_queue_order_many_up_to_size_and_close(backend):
    q = tf.FIFOQueue(10, [tf.int32, tf.float32], shapes=[[], [2]])
    x = tf.placeholder(tf.int32, [None])
    y = tf.placeholder(tf.float32, [None, 2])
    enqueue_many = q.enqueue_many([x, y])
    enqueue_one = q.enqueue([7, [0.5, 1.5]])
    a, b = q.dequeue()
    many = q.dequeue_many(2)
    up_to = q.dequeue_up_to(3)
    assert many[0].shape.as_list() == [2] and many[1].shape.as_list() == [2, 2]
    assert up_to[1].shape.as_list() == [None, 2]
    with tf.Session(backend=backend) as sess:
        sess.run(enqueue_many, {x: [1, 2, 3], y: np.arange(6).reshape(3, 2)})
        sess.run(enqueue_one)
        assert sess.run(q.size()) == 4
        va, vb = sess.run([a, b])
        assert va == 1 and list(vb) == [0, 1]
        vm = sess.run(many)
        np.testing.assert_array_equal(vm[0], [2, 3])
        np.testing.assert_array_equal(vm[1], [[2, 3], [4, 5]])
        sess.run(q.close())
        assert sess.run(q.is_closed())
        with pytest.raises(errors.CancelledError, match="is closed"):
            sess.run(enqueue_one)
        vu = sess.run(up_to)  # a closed queue gives what it has left
        np.testing.assert_array_equal(vu[0], [7])
        with pytest.raises(errors.OutOfRangeError, match=r"closed and has insufficient elements \(requested 1"):
            sess.run(a)


def test_enqueue_checks_shapes_and_dtypes(backend):
    q = tf.FIFOQueue(4, tf.float32, shapes=[[3]])
    with pytest.raises(ValueError, match="incompatible"):
        q.enqueue(tf.zeros([4]))
    p = tf.placeholder(tf.float32, [None])
    enqueue = q.enqueue(p)
    with tf.Session(backend=backend) as sess, pytest.raises(
            errors.InvalidArgumentError, match=r"Shape mismatch in tuple component 0.*Expected \(3,\), got \(2,\)"):
        sess.run(enqueue, {p: [1.0, 2.0]})
    with pytest.raises(ValueError, match="fully defined"):
        tf.FIFOQueue(4, tf.float32, shapes=[[None]])


def test_named_queue_and_padding_queue(backend):
    q = tf.PaddingFIFOQueue(8, [tf.int32, tf.string], shapes=[[None], []], names=["seq", "tag"])
    seq = tf.placeholder(tf.int32, [None])
    enqueue = q.enqueue({"seq": seq, "tag": "t"})
    batch = q.dequeue_many(3)
    assert set(batch) == {"seq", "tag"} and batch["seq"].shape.as_list() == [3, None]
    with tf.Session(backend=backend) as sess:
        for n in (2, 4, 1):
            sess.run(enqueue, {seq: np.arange(1, n + 1)})
        out = sess.run(batch)
    np.testing.assert_array_equal(out["seq"], [[1, 2, 0, 0], [1, 2, 3, 4], [1, 0, 0, 0]])
    assert list(out["tag"]) == ["t", "t", "t"] or list(out["tag"]) == [b"t", b"t", b"t"]


def test_random_shuffle_queue_is_seeded_and_keeps_min_after_dequeue(backend):
    def run_once():
        with tf.Graph().as_default():
            q = tf.RandomShuffleQueue(20, 5, tf.int32, shapes=[[]], seed=11)
            enqueue = q.enqueue_many([tf.range(20)])
            take = q.dequeue_many(5)
            with tf.Session(backend=backend) as sess:
                sess.run(enqueue)
                first = [sess.run(take) for _ in range(3)]  # 20 -> 5 left: min_after_dequeue allows 3 batches
                with pytest.raises(errors.FailedPreconditionError, match="would wait forever"):
                    sess.run(take)  # 5 left, not closed, nothing can enqueue
                sess.run(q.close())
                first.append(sess.run(take))  # once closed the rest can go
        return np.concatenate(first)

    a, b = run_once(), run_once()
    np.testing.assert_array_equal(a, b)
    assert sorted(a) == list(range(20)) and list(a) != list(range(20))


def test_dequeue_waits_for_an_enqueuing_thread(backend):
    q = tf.FIFOQueue(3, tf.float32, shapes=[[]])
    value = tf.placeholder(tf.float32, [])
    enqueue, close = q.enqueue(value), q.close()
    total = tf.reduce_sum(q.dequeue_many(4))
    with tf.Session(backend=backend) as sess:
        def produce():
            for v in range(1, 6):
                sess.run(enqueue, {value: v})
                time.sleep(0.01)
            sess.run(close)

        producer = threading.Thread(target=produce)
        producer.start()
        assert sess.run(total) == 10.0
        with pytest.raises(errors.OutOfRangeError):
            sess.run(total)  # 5 was left when the queue closed
        producer.join()


# -- runners, coordinator ----------------------------------------------------------------------------


def test_queue_runner_runs_its_enqueue_ops_for_the_dequeue(backend):
    counter = tf.Variable(0)
    q = tf.FIFOQueue(4, tf.int32, shapes=[[]])
    runner = tf.train.QueueRunner(q, [q.enqueue(tf.assign_add(counter, 1))] * 2)
    tf.train.add_queue_runner(runner)
    batch = q.dequeue_many(3)
    with tf.Session(backend=backend) as sess:
        sess.run(tf.global_variables_initializer())
        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(sess, coord)
        assert len(threads) == 2 and all(t.is_alive() for t in threads)
        assert tf.train.start_queue_runners(sess, coord) == []  # already running in this session
        np.testing.assert_array_equal(sess.run(batch), [1, 2, 3])
        np.testing.assert_array_equal(sess.run(batch), [4, 5, 6])
        assert sess.run(counter) == 6  # the runner read no further ahead than asked
        coord.request_stop()
        start = time.time()
        coord.join(threads)
        assert time.time() - start < 2.0 and not any(t.is_alive() for t in threads)
        with pytest.raises(errors.OutOfRangeError):
            sess.run(batch)  # a stopped coordinator cancels the runner's queue


def test_forgetting_start_queue_runners_raises_instead_of_hanging(backend):
    images = tf.train.slice_input_producer([tf.range(5)], shuffle=False)
    with tf.Session(backend=backend) as sess, pytest.raises(errors.FailedPreconditionError, match="start_queue_runners"):
        sess.run(images)


def test_coordinator_join_reraises_and_stop_on_exception():
    coord = tf.train.Coordinator()
    with coord.stop_on_exception():
        raise errors.OutOfRangeError(None, None, "done")  # a clean stop
    assert coord.should_stop()
    coord.join([])
    coord = tf.train.Coordinator()

    def worker():
        with coord.stop_on_exception():
            while not coord.should_stop():
                coord.wait_for_stop(0.01)
                raise ValueError("boom")

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    with pytest.raises(ValueError, match="boom"):
        coord.join(threads)
    assert coord.joined


def test_threads_end_when_the_session_closes(backend):
    (x,) = tf.train.slice_input_producer([tf.range(4)], shuffle=False)
    sess = tf.Session(backend=backend)
    with sess.as_default():
        threads = tf.train.start_queue_runners()  # the default session, no coordinator: as classic scripts do
    assert threads and all(t.daemon for t in threads)
    assert [int(sess.run(x)) for _ in range(5)] == [0, 1, 2, 3, 0]
    sess.close()
    for t in threads:
        t.join(2.0)
    assert not any(t.is_alive() for t in threads)


# -- producers and batching ----------------------------------------------------------------------------


def test_slice_input_producer_in_order_for_num_epochs(backend):
    data = np.arange(10, dtype=np.float32).reshape(5, 2)
    row, label = tf.train.slice_input_producer([data, tf.constant([0, 1, 2, 3, 4])], num_epochs=2, shuffle=False)
    assert row.shape.as_list() == [2] and label.shape.as_list() == []
    with tf.Session(backend=backend) as sess:
        sess.run(tf.local_variables_initializer())
        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(sess=sess, coord=coord)
        got = _drain(sess, [row, label])
        coord.request_stop()
        coord.join(threads)
    assert [int(v) for _, v in got] == [0, 1, 2, 3, 4] * 2
    np.testing.assert_array_equal(got[3][0], [6, 7])


def test_num_epochs_needs_local_variables_initialized(backend):
    (x,) = tf.train.slice_input_producer([tf.range(3)], num_epochs=1)
    with tf.Session(backend=backend) as sess:
        tf.train.start_queue_runners(sess)
        with pytest.raises(errors.FailedPreconditionError, match="uninitialized value input_producer.*epochs"):
            sess.run(x)


def test_shuffled_epochs_are_permutations_and_seeded(backend):
    def run_once():
        with tf.Graph().as_default():
            (x,) = tf.train.slice_input_producer([tf.range(8)], num_epochs=3, shuffle=True, seed=5)
            batch = tf.train.shuffle_batch([x], batch_size=4, capacity=10, min_after_dequeue=3, seed=9,
                                           allow_smaller_final_batch=True)
            with tf.Session(backend=backend) as sess:
                sess.run(tf.local_variables_initializer())
                coord = tf.train.Coordinator()
                threads = tf.train.start_queue_runners(sess, coord)
                got = np.concatenate(_drain(sess, batch))
                coord.request_stop()
                coord.join(threads)
        return got

    a, b = run_once(), run_once()
    np.testing.assert_array_equal(a, b)
    assert sorted(a) == sorted(list(range(8)) * 3)  # every element exactly num_epochs times
    assert list(a[:8]) != list(range(8))


def test_batch_contents_final_smaller_batch_and_enqueue_many(backend):
    (x,) = tf.train.slice_input_producer([tf.range(10)], num_epochs=1, shuffle=False)
    square = x * x
    batch = tf.train.batch([x, square], batch_size=4, allow_smaller_final_batch=True)
    assert batch[0].shape.as_list() == [None]
    many = tf.train.batch([tf.reshape(tf.range(6), [3, 2])], batch_size=2, enqueue_many=True)
    assert many.shape.as_list() == [2, 2]  # one tensor in, one tensor out (TF1)
    with tf.Session(backend=backend) as sess:
        sess.run(tf.local_variables_initializer())
        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(sess=sess, coord=coord)
        got = _drain(sess, batch)
        np.testing.assert_array_equal(sess.run(many), [[0, 1], [2, 3]])
        np.testing.assert_array_equal(sess.run(many), [[4, 5], [0, 1]])
        coord.request_stop()
        coord.join(threads)
    assert [list(b[0]) for b in got] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert [list(b[1]) for b in got][-1] == [64, 81]


def test_batch_needs_static_shapes_unless_dynamic_pad(backend):
    lengths = tf.train.slice_input_producer([tf.constant([1, 3, 2])], shuffle=False)[0]
    seq = tf.range(lengths)
    with pytest.raises(ValueError, match="fully defined"):
        tf.train.batch([seq], batch_size=3)
    padded = tf.train.batch([seq], batch_size=3, dynamic_pad=True)
    with tf.Session(backend=backend) as sess:
        tf.train.start_queue_runners(sess)
        np.testing.assert_array_equal(sess.run(padded), [[0, 0, 0], [0, 1, 2], [0, 1, 0]])


def test_string_input_producer_with_files(backend, tmp_path):
    names = []
    for i in range(3):
        path = tmp_path / f"f{i}.txt"
        path.write_bytes(f"content {i}".encode())
        names.append(str(path))
    queue = tf.train.string_input_producer(names, num_epochs=1, shuffle=False)
    contents = tf.read_file(queue.dequeue())
    with pytest.raises(ValueError, match="non-null"):
        tf.train.string_input_producer([])
    with tf.Session(backend=backend) as sess:
        sess.run(tf.local_variables_initializer())
        tf.train.start_queue_runners(sess)
        got = _drain(sess, contents)
    assert [g.item() if isinstance(g, np.ndarray) else g for g in got] == [b"content 0", b"content 1", b"content 2"]


def test_classic_tf1_image_pipeline_script(backend, tmp_path):
    """slice_input_producer -> read_file -> decode_jpeg -> resize_images -> batch, as classic TF1 scripts do."""
    import graphdl.compat.v1 as tf1

    paths, labels = [], []
    for i in range(12):
        image = np.full((20 + i, 16 + 2 * i, 3), 20 * i, np.uint8)  # the pixel value encodes the label
        path = tmp_path / (f"{i}.jpg" if i % 3 else f"{i}.png")
        Image.fromarray(image).save(str(path), **({"quality": 95} if i % 3 else {}))
        paths.append(str(path))
        labels.append(i)
    imagepaths = tf1.convert_to_tensor(paths, dtype=tf1.string)
    label_tensor = tf1.convert_to_tensor(labels, dtype=tf1.int32)
    images, label = tf1.train.slice_input_producer([imagepaths, label_tensor], shuffle=True)
    img = tf1.image.decode_jpeg(tf1.read_file(images), channels=3)
    assert img.shape.as_list() == [None, None, 3] and img.dtype == tf1.uint8
    img = tf1.image.resize_images(img, [28, 28])
    img = img * 1.0 / 127.5 - 1.0
    X, Y = tf1.train.batch([img, label], batch_size=8, capacity=64, num_threads=2)
    assert X.shape.as_list() == [8, 28, 28, 3] and Y.shape.as_list() == [8]
    w = tf1.Variable(tf1.zeros([28 * 28 * 3, 12]))
    logits = tf1.matmul(tf1.reshape(X, [-1, 28 * 28 * 3]), w)
    loss = tf1.reduce_mean(tf1.nn.sparse_softmax_cross_entropy_with_logits(labels=Y, logits=logits))
    train_op = tf1.train.GradientDescentOptimizer(0.01).minimize(loss)
    with tf1.Session(backend=backend) as sess:
        sess.run(tf1.global_variables_initializer())
        coord = tf1.train.Coordinator()
        threads = tf1.train.start_queue_runners(sess=sess, coord=coord)
        seen = []
        for _ in range(6):
            _, x, y = sess.run([train_op, X, Y])
            assert x.shape == (8, 28, 28, 3)
            np.testing.assert_allclose(x.mean(axis=(1, 2, 3)), (20.0 * y) / 127.5 - 1.0, atol=0.03)
            seen.extend(y)
        coord.request_stop()
        start = time.time()
        coord.join(threads)
        assert time.time() - start < 2.0
    counts = np.bincount(seen, minlength=12)
    assert counts.min() == 4 and counts.max() == 4  # 48 = 4 shuffled epochs of 12 images


# -- files and image decoding --------------------------------------------------------------------------


def test_read_and_write_file(backend, tmp_path):
    path = str(tmp_path / "sub" / "out.bin")
    write = tf.write_file(path, tf.constant(b"\x00\x01graphdl"))
    read = tf.read_file(path)
    missing = tf.read_file(str(tmp_path / "nope"))
    with tf.Session(backend=backend) as sess:
        sess.run(write)
        value = sess.run(read)
        assert (value.item() if isinstance(value, np.ndarray) else value) == b"\x00\x01graphdl"
        with pytest.raises(errors.NotFoundError, match="nope"):
            sess.run(missing)


@pytest.mark.parametrize("channels", [0, 1, 3, 4])
def test_decode_png_is_exact(backend, channels):
    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 256, (5, 7, 4), dtype=np.uint8)
    data = _encode(rgba, "PNG")
    contents = tf.placeholder(tf.string, [])
    decoded = tf.image.decode_png(contents, channels=channels)
    assert decoded.shape.as_list() == [None, None, channels or None]
    with tf.Session(backend=backend) as sess:
        out = sess.run(decoded, {contents: data})
    expected = {0: rgba, 4: rgba, 3: rgba[:, :, :3],
                1: np.asarray(Image.fromarray(rgba).convert("L"))[:, :, None]}[channels]
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, expected)


def test_decode_jpeg_gray_png_and_errors(backend):
    rng = np.random.default_rng(1)
    smooth = np.clip(np.add.outer(np.arange(16) * 8, np.arange(24) * 4), 0, 255).astype(np.uint8)
    rgb = np.stack([smooth, smooth[::-1], 255 - smooth], axis=-1)
    contents = tf.placeholder(tf.string, [])
    decoded = tf.image.decode_jpeg(contents, channels=3)
    native = tf.image.decode_jpeg(contents)
    half = tf.image.decode_jpeg(contents, ratio=2)
    with tf.Session(backend=backend) as sess:
        out = sess.run(decoded, {contents: _encode(rgb, "JPEG", quality=95)})
        assert out.shape == (16, 24, 3)
        assert np.abs(out.astype(int) - rgb).mean() < 3.0
        gray = sess.run(native, {contents: _encode(smooth, "JPEG", quality=95)})
        assert gray.shape == (16, 24, 1) and np.abs(gray[:, :, 0].astype(int) - smooth).mean() < 3.0
        assert sess.run(half, {contents: _encode(rgb, "JPEG")}).shape == (8, 12, 3)
        pixels = rng.integers(0, 256, (3, 4, 3), dtype=np.uint8)
        np.testing.assert_array_equal(sess.run(decoded, {contents: _encode(pixels, "PNG")}), pixels)  # PNG too
        with pytest.raises(errors.InvalidArgumentError, match="DecodeJpeg.*unknown format"):
            sess.run(decoded, {contents: b"not an image at all"})
        with pytest.raises(errors.InvalidArgumentError, match="could not decode"):
            sess.run(decoded, {contents: _encode(rgb, "JPEG")[:40]})
    with pytest.raises(ValueError, match="channels"):
        tf.image.decode_jpeg(contents, channels=4)


def test_decode_image_bmp_gif_and_float(backend):
    rng = np.random.default_rng(2)
    pixels = rng.integers(0, 256, (4, 5, 3), dtype=np.uint8)
    frames = [Image.fromarray(np.full((3, 2, 3), v, np.uint8)) for v in (0, 255)]
    gif = io.BytesIO()
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:])
    contents = tf.placeholder(tf.string, [])
    animated = tf.image.decode_image(contents)
    assert animated.shape.ndims is None
    still = tf.image.decode_image(contents, expand_animations=False, dtype=tf.float32)
    assert still.shape.as_list() == [None, None, None] and still.dtype == tf.float32
    with tf.Session(backend=backend) as sess:
        np.testing.assert_array_equal(sess.run(animated, {contents: _encode(pixels, "BMP")}), pixels)
        out = sess.run(animated, {contents: gif.getvalue()})
        assert out.shape == (2, 3, 2, 3) and out[0].max() == 0 and out[1].min() == 255
        first = sess.run(still, {contents: gif.getvalue()})
        assert first.shape == (3, 2, 3) and first.max() == 0.0
        np.testing.assert_allclose(sess.run(still, {contents: _encode(pixels, "PNG")}), pixels / 255.0, rtol=1e-6)


def test_two_dequeue_ops_take_two_elements(backend):
    q = tf.FIFOQueue(5, tf.int32, shapes=[[]])
    fill = q.enqueue_many([[1, 2, 3, 4]])
    a, b = q.dequeue(), q.dequeue()  # identical ops: no pass may merge them
    with tf.Session(backend=backend) as sess:
        sess.run(fill)
        assert [int(v) for v in sess.run([a, b])] == [1, 2]
        assert [int(v) for v in sess.run([a, a + 0])] == [3, 3]  # one op: one element per run


def test_pipeline_summaries_and_meta_graph_round_trip(backend, tmp_path):
    (x,) = tf.train.slice_input_producer([tf.range(6)], shuffle=False, num_epochs=1)
    batch = tf.train.batch([x * 10], 4, allow_smaller_final_batch=True)
    names = [s.op.name for s in tf.get_collection(tf.GraphKeys.SUMMARIES)]
    assert names == ["input_producer/input_producer/fraction_of_32_full", "batch/fraction_of_32_full"]
    tf.add_to_collection("batch", batch)
    path = str(tmp_path / "pipeline.meta")
    tf.train.export_meta_graph(path)
    with tf.Graph().as_default():
        tf.train.import_meta_graph(path)  # queue runners come back from the QUEUE_RUNNERS collection
        assert len(tf.get_collection(tf.GraphKeys.QUEUE_RUNNERS)) == 2
        (imported,) = tf.get_collection("batch")
        with tf.Session(backend=backend) as sess:
            sess.run(tf.local_variables_initializer())
            coord = tf.train.Coordinator()
            threads = tf.train.start_queue_runners(sess, coord)
            got = _drain(sess, imported)
            coord.request_stop()
            coord.join(threads)
    assert [list(b) for b in got] == [[0, 10, 20, 30], [40, 50]]


def test_an_enqueue_error_reaches_the_dequeuing_run_and_the_coordinator(backend, tmp_path):
    (path,) = tf.train.slice_input_producer([[str(tmp_path / "missing.png")]])
    image = tf.image.decode_png(tf.read_file(path), channels=1)
    batch = tf.train.batch([tf.image.resize_images(image, [2, 2])], batch_size=2)
    with tf.Session(backend=backend) as sess:
        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(sess, coord)
        with pytest.raises(errors.NotFoundError, match="missing.png"):
            sess.run(batch)
        assert coord.should_stop()
        with pytest.raises(errors.NotFoundError):
            coord.join(threads)


def test_joining_threads_started_without_the_coordinator_does_not_wait_out_the_grace_period(backend):
    (x,) = tf.train.slice_input_producer([tf.range(3)], shuffle=False)
    batch = tf.train.batch([x], batch_size=2, num_threads=4)
    with tf.Session(backend=backend) as sess:
        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners()  # not given the coordinator
        np.testing.assert_array_equal(sess.run(batch), [0, 1])
        coord.request_stop()
        start = time.time()
        coord.join(threads)
        assert time.time() - start < 2.0 and not any(t.is_alive() for t in threads)
        np.testing.assert_array_equal(sess.run(batch), [2, 0])  # the runners were not stopped: they still fill


def test_an_unstarted_runner_is_named_even_while_other_threads_run(backend):
    (x,) = tf.train.slice_input_producer([tf.range(3)])
    stop = threading.Event()
    bystander = threading.Thread(target=stop.wait)  # e.g. a notebook's own threads
    bystander.start()
    try:
        with tf.Session(backend=backend) as sess, pytest.raises(errors.FailedPreconditionError,
                                                                 match="its QueueRunner was not started"):
            sess.run(x)
    finally:
        stop.set()
        bystander.join()
