"""Session.run semantics: fetch structures, feeds, caching, graph growth, default sessions."""

import collections

import numpy as np
import pytest

import graphdl as tf


def test_fetch_structures_are_preserved():
    a = tf.constant(1.0)
    b = tf.constant([2, 3])
    Pair = collections.namedtuple("Pair", ["first", "second"])
    with tf.Session() as sess:
        out = sess.run({"a": a, "nested": [b, (a, Pair(a, b))], "op": tf.no_op()})
    assert out["a"] == 1.0
    np.testing.assert_array_equal(out["nested"][0], [2, 3])
    assert isinstance(out["nested"][1], tuple)
    assert isinstance(out["nested"][1][1], Pair)
    assert out["nested"][1][1].first == 1.0
    np.testing.assert_array_equal(out["nested"][1][1].second, [2, 3])
    assert out["op"] is None


def test_fetch_by_name_and_ops_fetch_none():
    x = tf.placeholder(tf.float32, [2], name="x")
    y = tf.multiply(x, 3.0, name="triple")
    v = tf.Variable([1.0, 2.0], name="v")
    with tf.Session() as sess:
        init_result = sess.run(tf.global_variables_initializer())
        assert init_result is None
        got = sess.run(["triple:0", "v:0", v, y.op], {"x:0": [1.0, 2.0]})
    np.testing.assert_allclose(got[0], [3.0, 6.0])
    np.testing.assert_allclose(got[1], [1.0, 2.0])
    np.testing.assert_allclose(got[2], [1.0, 2.0])
    assert got[3] is None


def test_same_tensor_fetched_twice():
    a = tf.constant(5)
    with tf.Session() as sess:
        assert sess.run([a, a, {"k": a}]) == [5, 5, {"k": 5}]


def test_any_tensor_can_be_fed():
    x = tf.placeholder(tf.float32, [None])
    hidden = x * 2.0
    out = hidden + 1.0
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(out, {x: [1.0]}), [3.0])
        # Feeding an intermediate tensor cuts its producers: x needs no feed.
        np.testing.assert_allclose(sess.run(out, {hidden: [10.0, 20.0]}), [11.0, 21.0])
        # Feeding a constant overrides it.
        c = tf.constant(4.0)
        assert sess.run(c * 2.0, {c: 1.5}) == 3.0


def test_feed_conversions_follow_tf1():
    xf = tf.placeholder("float", [None, 2])
    xi = tf.placeholder(tf.int32, [2])
    s = tf.placeholder(tf.float32)
    with tf.Session() as sess:
        got = sess.run(xf, {xf: [[1, 2], [3, 4]]})
        assert got.dtype == np.float32
        got = sess.run(xf, {xf: np.array([[0.5, 1.5]], dtype=np.float64)})
        assert got.dtype == np.float32 and got[0, 1] == 1.5
        assert sess.run(xi, {xi: np.ones(2)}).dtype == np.int32
        assert sess.run(s, {s: 3}) == 3.0
        with pytest.raises(ValueError, match="Tensor 'Placeholder:0'"):
            sess.run(xf, {xf: [["a", "b"]]})
        with pytest.raises(TypeError, match="cannot be a graphdl Tensor"):
            sess.run(xf, {xf: tf.constant([[1.0, 2.0]])})


def test_programs_are_compiled_once_per_signature():
    x = tf.placeholder(tf.float32, [None])
    y = x + 1.0
    with tf.Session() as sess:
        for i in range(5):
            sess.run(y, {x: [float(i)]})
        sess.run([y], {x: [0.0]})  # the same signature in another structure
        assert len(sess._executables) == 1
        sess.run([y, x], {x: [0.0]})
        assert len(sess._executables) == 2


def test_graph_may_grow_after_session_exists():
    w = tf.Variable(2.0)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(w.assign(5.0))
        x = tf.placeholder(tf.float32, [])
        doubled = w * x  # built after the first run, uses the session's current value
        assert sess.run(doubled, {x: 3.0}) == 15.0


def test_variables_live_in_each_session():
    v = tf.Variable(1.0)
    inc = v.assign_add(1.0)
    s1, s2 = tf.Session(), tf.Session()
    s1.run(v.initializer)
    s2.run(v.initializer)
    s1.run(inc)
    s1.run(inc)
    assert s1.run(v) == 3.0
    assert s2.run(v) == 1.0
    fetched = s1.run(v)
    fetched += 100  # a fetched value is a copy: the variable is unchanged
    assert s1.run(v) == 3.0
    s1.close()
    s2.close()


def test_eval_and_run_with_default_session():
    x = tf.placeholder(tf.float32, [])
    y = x * 2.0
    v = tf.Variable(7.0)
    with tf.Session() as sess:
        v.initializer.run()
        assert y.eval({x: 2.0}) == 4.0
        assert y.eval(feed_dict={x: 3.0}, session=sess) == 6.0
        assert v.eval() == 7.0
    with pytest.raises(ValueError, match="no default session"):
        y.eval({x: 1.0})


def test_interactive_session_installs_itself():
    c = tf.constant(3.0) * 2.0
    sess = tf.InteractiveSession()
    try:
        assert c.eval() == 6.0
        assert tf.get_default_session() is sess
    finally:
        sess.close()
    assert tf.get_default_session() is None


def test_make_callable():
    x = tf.placeholder(tf.float32, [None])
    y = tf.reduce_sum(x)
    with tf.Session() as sess:
        f = sess.make_callable([y, {"double": y * 2.0}], feed_list=[x])
        out = f([1.0, 2.0, 3.0])
    assert out[0] == 6.0 and out[1]["double"] == 12.0


def test_session_on_explicit_graph():
    g = tf.Graph()
    with g.as_default():
        c = tf.constant(42)
    assert tf.Session(graph=g).run(c) == 42
    assert tf.Session(g).run(c) == 42  # positional graph argument


def test_control_dependency_fetch_order():
    v = tf.Variable(0.0)
    inc = v.assign_add(1.0)
    with tf.control_dependencies([inc]):
        read = v.read_value()
    with tf.Session() as sess:
        sess.run(v.initializer)
        assert sess.run(read) == 1.0
        assert sess.run(read) == 2.0
        # Two updates in one run both land: each reads the variable when it runs.
        sess.run([v.assign_add(10.0), v.assign_add(100.0)])
        assert sess.run(v) == 112.0


def test_reference_backend_selected_by_name():
    with tf.Session(backend="reference") as sess:
        assert sess.backend.name == "reference"
        assert sess.run(tf.constant(1) + 1) == 2
    with pytest.raises(ValueError, match="Unknown backend 'nope'"):
        tf.Session(backend="nope")
