"""tf.data: datasets, transformations and TF1 iterators on every backend, with exact element values."""

import numpy as np
import pytest
from harness import OP_TEST_BACKENDS, skip_on_cuda_simulator

import graphdl as tf
from graphdl import errors

Dataset = tf.data.Dataset


def _drain(sess, fetches, feed_dict=None, limit=1000):
    """Every value ``fetches`` gives until OutOfRangeError (at most ``limit``)."""
    out = []
    for _ in range(limit):
        try:
            out.append(sess.run(fetches, feed_dict))
        except errors.OutOfRangeError:
            return out
    raise AssertionError("the iterator did not end")


def _scalar(value):
    """A fetched scalar as a Python object (string scalars may come as bytes or as 0-d arrays)."""
    return value.item() if isinstance(value, np.ndarray) else value


@pytest.fixture(params=OP_TEST_BACKENDS)
def backend(request):
    return request.param


def test_slices_of_a_tuple_come_in_order_then_out_of_range(backend):
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    y = np.arange(6, dtype=np.int64) * 10
    it = Dataset.from_tensor_slices((x, y)).make_one_shot_iterator()
    a, b = it.get_next()
    assert a.shape.as_list() == [2] and b.shape.as_list() == [] and a.dtype == tf.float32 and b.dtype == tf.int64
    with tf.Session(backend=backend) as sess:
        got = _drain(sess, [a, b])
        assert len(got) == 6
        for i, (va, vb) in enumerate(got):
            np.testing.assert_array_equal(va, x[i])
            assert vb == y[i]
        with pytest.raises(errors.OutOfRangeError, match="End of sequence"):
            sess.run(a)  # stays at the end


def test_dict_elements_and_properties(backend):
    ds = Dataset.from_tensor_slices({"img": np.ones((4, 3), np.float32), "label": [1, 2, 3, 4]})
    assert ds.output_types == {"img": tf.float32, "label": tf.int32}
    assert ds.output_shapes["img"].as_list() == [3] and ds.output_shapes["label"].as_list() == []
    assert ds.output_classes == {"img": tf.Tensor, "label": tf.Tensor}
    batched = ds.batch(3)
    assert batched.output_shapes["img"].as_list() == [None, 3]
    assert ds.batch(3, drop_remainder=True).output_shapes["img"].as_list() == [3, 3]
    assert tf.data.get_output_types(batched) == batched.output_types
    element = batched.make_one_shot_iterator().get_next()
    with tf.Session(backend=backend) as sess:
        first, second = _drain(sess, element)
    np.testing.assert_array_equal(first["label"], [1, 2, 3])
    np.testing.assert_array_equal(second["label"], [4])
    assert first["img"].shape == (3, 3) and second["img"].shape == (1, 3)


def test_batch_drop_remainder_repeat_and_epoch_counts(backend):
    it = Dataset.range(5).repeat(3).batch(4, drop_remainder=True).make_one_shot_iterator()
    x = it.get_next()
    assert x.shape.as_list() == [4] and x.dtype == tf.int64
    with tf.Session(backend=backend) as sess:
        got = np.concatenate(_drain(sess, x))
    np.testing.assert_array_equal(got, np.tile(np.arange(5), 3)[:12])  # 15 elements, the last 3 dropped


def test_range_take_skip_filter_zip_concatenate(backend):
    evens = Dataset.range(2, 20, 3).filter(lambda v: tf.equal(v % 2, 0))  # 2 5 8 11 14 17 -> 2 8 14
    pairs = Dataset.zip((evens, Dataset.range(100).skip(10)))
    both = pairs.concatenate(Dataset.from_tensors((tf.constant(-1, tf.int64), tf.constant(-2, tf.int64))))
    a, b = both.take(3).make_one_shot_iterator().get_next()
    with tf.Session(backend=backend) as sess:
        got = _drain(sess, [a, b])
    assert [(int(p), int(q)) for p, q in got] == [(2, 10), (8, 11), (14, 12)]
    a, b = both.make_one_shot_iterator().get_next()
    with tf.Session(backend=backend) as sess:
        got = _drain(sess, [a, b])
    assert [(int(p), int(q)) for p, q in got][-2:] == [(14, 12), (-1, -2)]


def test_map_unpacks_tuples_captures_tensors_and_reads_variables_per_call(backend):
    scale = tf.placeholder(tf.float32, [])
    offset = tf.Variable(0.0)
    ds = Dataset.from_tensor_slices((np.arange(4, dtype=np.float32), np.arange(4) * 2))
    ds = ds.map(lambda x, y: {"scaled": x * scale + offset, "y": y + 1}, num_parallel_calls=tf.data.experimental.AUTOTUNE)
    assert ds.output_types == {"scaled": tf.float32, "y": tf.int64}
    it = ds.make_initializable_iterator()
    element = it.get_next()
    with tf.Session(backend=backend) as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(it.initializer, {scale: 10.0})  # the captured placeholder is read at initialization
        first = sess.run(element)
        assert first["scaled"] == 0.0 and first["y"] == 1
        sess.run(offset.assign(0.5))  # variables are read on each call
        second = sess.run(element)
        assert second["scaled"] == 10.5 and second["y"] == 3


def test_initializable_iterator_reads_fed_placeholders_at_initialization_and_restarts(backend):
    data = tf.placeholder(tf.float32, [None, 2])
    batch_size = tf.placeholder(tf.int64, [])
    it = Dataset.from_tensor_slices(data).batch(batch_size).make_initializable_iterator()
    x = it.get_next()
    assert x.shape.as_list() == [None, 2]
    with tf.Session(backend=backend) as sess:
        with pytest.raises(errors.FailedPreconditionError, match="not been initialized"):
            sess.run(x)
        sess.run(it.initializer, {data: np.arange(10).reshape(5, 2), batch_size: 2})
        np.testing.assert_array_equal(sess.run(x), [[0, 1], [2, 3]])
        sess.run(it.initializer, {data: np.ones((3, 2)) * 7, batch_size: 3})  # restart with new data
        np.testing.assert_array_equal(sess.run(x), np.full((3, 2), 7.0))
        with pytest.raises(errors.OutOfRangeError):
            sess.run(x)
        sess.run(it.initializer, {data: np.arange(10).reshape(5, 2), batch_size: 4})
        assert [v.shape[0] for v in _drain(sess, x)] == [4, 1]


def test_shuffle_is_a_reproducible_permutation_per_epoch(backend):
    def orders(seed, reshuffle=None):
        with tf.Graph().as_default():
            ds = Dataset.range(10).shuffle(4, seed=seed, reshuffle_each_iteration=reshuffle).repeat(2).batch(10)
            it = ds.make_initializable_iterator()
            x = it.get_next()
            with tf.Session(backend=backend) as sess:
                sess.run(it.initializer)
                first = _drain(sess, x)
                sess.run(it.initializer)
                again = _drain(sess, x)
        return first, again

    (e1, e2), again = orders(7)
    assert sorted(e1) == list(range(10)) and sorted(e2) == list(range(10))
    assert list(e1) != list(range(10)) and list(e1) != list(e2)  # shuffled, and reshuffled each epoch
    np.testing.assert_array_equal(np.concatenate(again), np.concatenate([e1, e2]))  # re-init restarts the sequence
    (o1, _), _ = orders(7)
    np.testing.assert_array_equal(o1, e1)  # same seed, same order in a new session and graph
    (s1, s2), _ = orders(7, reshuffle=False)
    np.testing.assert_array_equal(s1, s2)  # the same order every epoch
    (d1, _), _ = orders(8)
    assert list(d1) != list(e1)


def test_graph_seed_makes_shuffle_reproducible(backend):
    def first_epoch():
        with tf.Graph().as_default():
            tf.set_random_seed(3)
            x = Dataset.range(50).shuffle(50).batch(50).make_one_shot_iterator().get_next()
            with tf.Session(backend=backend) as sess:
                return sess.run(x)

    a, b = first_epoch(), first_epoch()
    np.testing.assert_array_equal(a, b)
    assert sorted(a) == list(range(50)) and list(a) != list(range(50))


def test_cache_replays_the_first_pass(backend):
    ds = Dataset.range(3).map(lambda i: tf.random_uniform([]) + tf.cast(i, tf.float32) * 0.0)
    with tf.Session(backend=backend) as sess:
        cached = _drain(sess, ds.cache().repeat(2).make_one_shot_iterator().get_next())
        fresh = _drain(sess, ds.repeat(2).make_one_shot_iterator().get_next())
    assert cached[:3] == cached[3:]
    assert fresh[:3] != fresh[3:]


def test_two_get_next_ops_take_two_elements_one_op_takes_one(backend):
    it = Dataset.range(10).make_one_shot_iterator()
    first, second = it.get_next(), it.get_next()
    doubled = first * 2
    with tf.Session(backend=backend) as sess:
        assert [int(v) for v in sess.run([first, second])] == [0, 1]
        assert [int(v) for v in sess.run([first, doubled, first])] == [2, 4, 2]  # one op: one element per run
        assert int(sess.run(second)) == 3


def test_sessions_iterate_independently(backend):
    x = Dataset.range(5).make_one_shot_iterator().get_next()
    with tf.Session(backend=backend) as s1, tf.Session(backend=backend) as s2:
        assert [int(s1.run(x)) for _ in range(3)] == [0, 1, 2]
        assert int(s2.run(x)) == 0
        assert int(s1.run(x)) == 3


def test_fetching_a_static_shape_of_get_next_still_advances(backend):
    """Passes must not fold Shape(IteratorGetNext) away: TF1 runs the op, which takes an element."""
    x = Dataset.range(12).batch(3, drop_remainder=True).make_one_shot_iterator().get_next()
    shape = tf.shape(x)
    with tf.Session(backend=backend) as sess:
        np.testing.assert_array_equal(sess.run(shape), [3])
        np.testing.assert_array_equal(sess.run(shape), [3])
        np.testing.assert_array_equal(sess.run(x), [6, 7, 8])


def test_reinitializable_and_feedable_iterators(backend):
    train = Dataset.range(100).batch(4)
    test = Dataset.range(1000, 1010).batch(4)
    it = tf.data.Iterator.from_structure(train.output_types, train.output_shapes)
    x = it.get_next()
    train_init, test_init = it.make_initializer(train), it.make_initializer(test)
    with pytest.raises(TypeError, match="output types"):
        it.make_initializer(Dataset.range(3).map(lambda v: tf.cast(v, tf.float32)))
    handle = tf.placeholder(tf.string, [])
    feedable = tf.data.Iterator.from_string_handle(handle, train.output_types, train.output_shapes)
    y = feedable.get_next()
    one_shot = Dataset.range(50, 60).batch(2).make_one_shot_iterator()
    scalars = Dataset.range(3).make_one_shot_iterator()
    with pytest.raises(ValueError, match="does not have an initializer"):
        one_shot.initializer  # noqa: B018
    with tf.Session(backend=backend) as sess:
        sess.run(train_init)
        np.testing.assert_array_equal(sess.run(x), [0, 1, 2, 3])
        sess.run(test_init)
        np.testing.assert_array_equal(sess.run(x), [1000, 1001, 1002, 1003])
        h = sess.run(one_shot.string_handle())
        np.testing.assert_array_equal(sess.run(y, {handle: h}), [50, 51])
        sess.run(train_init)
        train_handle = sess.run(it.string_handle())
        np.testing.assert_array_equal(sess.run(y, {handle: train_handle}), [0, 1, 2, 3])
        np.testing.assert_array_equal(sess.run(y, {handle: h}), [52, 53])
        with pytest.raises(errors.InvalidArgumentError, match=r"shape \(\), which is incompatible .* \(\?,\)"):
            sess.run(y, {handle: sess.run(scalars.string_handle())})


def test_one_shot_iterator_rejects_placeholders():
    p = tf.placeholder(tf.float32, [None])
    with pytest.raises(ValueError, match="placeholder"):
        Dataset.from_tensor_slices(p * 2.0).make_one_shot_iterator()
    tf.data.make_initializable_iterator(Dataset.from_tensor_slices(p))  # fine


def test_from_generator_padded_batch_and_text_lines(backend, tmp_path):
    def gen(n):
        for i in range(int(n)):
            yield np.arange(i + 1, dtype=np.int32), i

    ds = Dataset.from_generator(gen, (tf.int32, tf.int64), ([None], []), args=(4,))
    padded = ds.padded_batch(2, padded_shapes=([None], []), padding_values=(-1, np.int64(0)))
    seq, idx = padded.make_one_shot_iterator().get_next()
    assert seq.shape.as_list() == [None, None]
    path = tmp_path / "lines.txt"
    path.write_bytes(b"alpha\nbeta\r\ngamma")
    line = tf.data.TextLineDataset([str(path), str(path)]).make_one_shot_iterator().get_next()
    with tf.Session(backend=backend) as sess:
        (s1, _), (s2, i2) = _drain(sess, [seq, idx])
        np.testing.assert_array_equal(s1, [[0, -1], [0, 1]])
        np.testing.assert_array_equal(s2, [[0, 1, 2, -1], [0, 1, 2, 3]])
        np.testing.assert_array_equal(i2, [2, 3])
        assert [_scalar(sess.run(line)) for _ in range(4)] == [b"alpha", b"beta", b"gamma", b"alpha"]


def test_batching_components_of_different_shapes_is_an_error(backend):
    def gen():
        yield np.zeros(2, np.float32)
        yield np.zeros(3, np.float32)

    x = Dataset.from_generator(gen, tf.float32, [None]).batch(2).make_one_shot_iterator().get_next()
    with tf.Session(backend=backend) as sess, pytest.raises(
            errors.InvalidArgumentError, match=r"different shapes in component 0.*\[2\].*\[3\]"):
        sess.run(x)


def test_map_reads_and_decodes_files(backend, tmp_path):
    from PIL import Image

    paths = []
    for i in range(3):
        path = str(tmp_path / f"{i}.png")
        Image.fromarray(np.full((4 + i, 5, 1), 40 * i, np.uint8)[:, :, 0]).save(path)
        paths.append(path)
    ds = Dataset.from_tensor_slices((paths, [0, 1, 2])).map(
        lambda p, label: (tf.image.resize_images(tf.image.decode_png(tf.read_file(p), channels=1), [2, 2]), label))
    assert ds.output_shapes[0].as_list() == [2, 2, 1]
    images, labels = ds.batch(3).make_one_shot_iterator().get_next()
    with tf.Session(backend=backend) as sess:
        imgs, labs = sess.run([images, labels])
    np.testing.assert_array_equal(labs, [0, 1, 2])
    np.testing.assert_allclose(imgs, np.arange(3)[:, None, None, None] * 40.0 * np.ones((3, 2, 2, 1)))


def test_tf1_script_repeat_batch_prefetch_initializable_iterator_trains(backend):
    """The classic TF1 script shape, through graphdl.compat.v1, converging on the digits data."""
    skip_on_cuda_simulator(backend, "training to convergence")
    import graphdl.compat.v1 as tf1
    from graphdl.datasets import load_digits

    images, labels = load_digits(one_hot=True)
    images = images.astype(np.float32)
    tf1.set_random_seed(0)
    x_data = tf1.placeholder(tf1.float32, [None, 64])
    y_data = tf1.placeholder(tf1.float32, [None, 10])
    dataset = tf1.data.Dataset.from_tensor_slices((x_data, y_data))
    dataset = dataset.shuffle(500, seed=1).repeat().batch(64).prefetch(64)
    iterator = dataset.make_initializable_iterator()
    X, Y = iterator.get_next()
    W = tf1.Variable(tf1.zeros([64, 10]))
    b = tf1.Variable(tf1.zeros([10]))
    logits = tf1.matmul(X, W) + b
    loss = tf1.reduce_mean(tf1.nn.softmax_cross_entropy_with_logits(labels=Y, logits=logits))
    train_op = tf1.train.GradientDescentOptimizer(0.1).minimize(loss)
    accuracy = tf1.reduce_mean(tf1.cast(tf1.equal(tf1.argmax(logits, 1), tf1.argmax(Y, 1)), tf1.float32))
    with tf1.Session(backend=backend) as sess:
        sess.run(tf1.global_variables_initializer())
        sess.run(iterator.initializer, feed_dict={x_data: images, y_data: labels})
        first = sess.run(loss)
        for _ in range(150):
            sess.run(train_op)
        last = np.mean([sess.run(loss) for _ in range(5)])
        acc = np.mean([sess.run(accuracy) for _ in range(10)])
    assert first > 2.0 and last < 0.5 * first
    assert acc > 0.85
