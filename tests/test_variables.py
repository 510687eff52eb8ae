"""``graphdl.Variable`` as TF1 users write it: names, initialization, reads, updates, collections, operators."""

import numpy as np
import pytest

import graphdl as tf
from graphdl import errors


def test_variable_names_and_ops():
    v = tf.Variable(1.0, name="v")
    w = tf.Variable(2.0, name="v")
    anon = tf.Variable(3.0)
    assert v.name == "v:0"
    assert v.op.name == "v"
    assert v.op.type == "VariableV2"
    assert w.name == "v_1:0"
    assert anon.name == "Variable:0"
    assert v.initializer.name == "v/Assign"
    assert v.initializer.type == "Assign"
    assert v.value().name == "v/read:0"
    assert v.initial_value.name == "v/initial_value:0"
    assert v.graph is tf.get_default_graph()
    with tf.name_scope("layer"):
        s = tf.Variable(0.0, name="b")
    assert s.name == "layer/b:0"


def test_variable_dtype_and_shape():
    v = tf.Variable([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], name="W")
    assert v.dtype == tf.float32
    assert v.get_shape().as_list() == [2, 3]
    assert v.shape.as_list() == [2, 3]
    assert tf.Variable(np.random.randn()).dtype == tf.float32
    assert tf.Variable(np.zeros(3)).dtype == tf.float64
    assert tf.Variable(5).dtype == tf.int32
    d = tf.Variable([1, 2], dtype=tf.float64)
    assert d.dtype == tf.float64
    with tf.Session() as sess:
        sess.run(d.initializer)
        out = sess.run(d)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [1.0, 2.0])


def test_variable_from_scalar_numpy_value_runs():
    init = np.random.randn()
    v = tf.Variable(init)
    assert v.get_shape().as_list() == []
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(v) == pytest.approx(init, rel=1e-6)


def test_initializer_initial_value_and_reads():
    v = tf.Variable([1.0, 2.0], name="v")
    with tf.Session() as sess:
        sess.run(v.initializer)
        np.testing.assert_array_equal(sess.run(v), [1.0, 2.0])
        np.testing.assert_array_equal(sess.run(v.value()), [1.0, 2.0])
        np.testing.assert_array_equal(sess.run(v.read_value()), [1.0, 2.0])
        np.testing.assert_array_equal(sess.run(v.initial_value), [1.0, 2.0])
        np.testing.assert_array_equal(v.eval(), [1.0, 2.0])
        np.testing.assert_array_equal(v.eval(session=sess), [1.0, 2.0])


def test_initial_value_from_callable_and_from_tensor():
    v = tf.Variable(lambda: tf.ones([2]) * 3.0, name="lazy")
    t = tf.Variable(tf.zeros([3], dtype=tf.int32), name="from_tensor")
    assert v.initial_value.name.startswith("lazy/Initializer/")
    assert t.get_shape().as_list() == [3] and t.dtype == tf.int32
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_array_equal(sess.run(v), [3.0, 3.0])
        np.testing.assert_array_equal(sess.run(t), [0, 0, 0])


def test_assign_ops_return_updated_values():
    v = tf.Variable(10.0, name="v")
    assign = v.assign(4.0)
    add = v.assign_add(1.5)
    sub = v.assign_sub(0.5)
    fn_add = tf.assign_add(v, 2.0)
    with tf.Session() as sess:
        sess.run(v.initializer)
        assert sess.run(assign) == pytest.approx(4.0)
        assert sess.run(add) == pytest.approx(5.5)
        assert sess.run(add) == pytest.approx(7.0)
        assert sess.run(sub) == pytest.approx(6.5)
        assert sess.run(fn_add) == pytest.approx(8.5)
        assert sess.run(v) == pytest.approx(8.5)
        sess.run(tf.assign(v, 1.0))
        assert sess.run(v) == pytest.approx(1.0)


def test_assign_with_read_value_false_returns_op():
    v = tf.Variable(1.0)
    op = v.assign(5.0, read_value=False)
    assert isinstance(op, tf.Operation)
    with tf.Session() as sess:
        sess.run(v.initializer)
        assert sess.run(op) is None
        assert sess.run(v) == pytest.approx(5.0)


def test_assign_shape_and_dtype_checks():
    v = tf.Variable([1.0, 2.0], name="v")
    with pytest.raises(ValueError, match="v"):
        v.assign([1.0, 2.0, 3.0])
    with pytest.raises(TypeError):
        v.assign(tf.constant([1, 2]))


def test_variable_values_persist_per_session():
    v = tf.Variable(0, name="count")
    inc = v.assign_add(1)
    with tf.Session() as s1:
        s1.run(v.initializer)
        s1.run(inc)
        s1.run(inc)
        with tf.Session() as s2:
            s2.run(v.initializer)
            s2.run(inc)
            assert s2.run(v) == 1
        assert s1.run(v) == 2


def test_load_sets_value_without_new_ops():
    v = tf.Variable([0.0, 0.0], name="v")
    n_ops = len(tf.get_default_graph().get_operations())
    with tf.Session() as sess:
        sess.run(v.initializer)
        v.load([3.0, 4.0], sess)
        np.testing.assert_array_equal(sess.run(v), [3.0, 4.0])
        v.load([5.0, 6.0])
        np.testing.assert_array_equal(v.eval(), [5.0, 6.0])
    assert len(tf.get_default_graph().get_operations()) == n_ops


def test_initialized_value_chains_initialization():
    a = tf.Variable(2.0, name="a")
    b = tf.Variable(a.initialized_value() * 3.0, name="b")
    with tf.Session() as sess:
        sess.run(b.initializer)
        assert sess.run(b) == pytest.approx(6.0)
        sess.run(a.initializer)
        sess.run(a.assign(5.0))
        assert sess.run(a.initialized_value()) == pytest.approx(5.0)


def test_uninitialized_read_raises_naming_variable():
    v = tf.Variable(1.0, name="weights")
    y = v * 2.0
    with tf.Session() as sess:
        with pytest.raises(errors.FailedPreconditionError, match="weights"):
            sess.run(v)
        with pytest.raises(errors.FailedPreconditionError, match="weights"):
            sess.run(y)
        with pytest.raises(errors.FailedPreconditionError, match="weights"):
            sess.run(v.assign_add(1.0))


def test_trainable_false_and_collections():
    w = tf.Variable(1.0, name="w")
    step = tf.Variable(0, name="global_step", trainable=False)
    custom = tf.Variable(0.0, name="custom", collections=["mine"])
    local = tf.Variable(0.0, name="local", collections=[tf.GraphKeys.LOCAL_VARIABLES], trainable=False)
    assert w.trainable and not step.trainable
    assert tf.trainable_variables() == [w, custom]
    assert tf.global_variables() == [w, step]
    assert tf.get_collection("mine") == [custom]
    assert tf.local_variables() == [local]
    with tf.Session() as sess:
        sess.run(tf.local_variables_initializer())
        assert sess.run(local) == 0.0


def test_variables_initializer_subsets_and_is_variable_initialized():
    a = tf.Variable(1.0, name="a")
    b = tf.Variable(2.0, name="b")
    init_a = tf.variables_initializer([a])
    empty = tf.variables_initializer([])
    with tf.Session() as sess:
        assert not sess.run(tf.is_variable_initialized(a))
        sess.run(empty)
        sess.run(init_a)
        assert sess.run(tf.is_variable_initialized(a))
        assert not sess.run(tf.is_variable_initialized(b))
        assert sess.run(a) == pytest.approx(1.0)
        with pytest.raises(errors.FailedPreconditionError, match="b"):
            sess.run(b)
        sess.run(tf.global_variables_initializer())
        assert sess.run([a, b]) == [pytest.approx(1.0), pytest.approx(2.0)]
        sess.run(tf.initialize_all_variables())


def test_variables_as_dict_keys_and_feed_keys():
    a = tf.Variable(1.0, name="a")
    b = tf.Variable(2.0, name="b")
    d = {a: "a", b: "b"}
    assert d[a] == "a" and d[b] == "b"
    same = a
    assert a == same and a != b
    with pytest.raises(TypeError):
        bool(a)
    out = a * 10.0
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(out, {a: 7.0}) == pytest.approx(70.0)
        assert sess.run(out) == pytest.approx(10.0)


def test_operator_overloads_on_variables():
    W = tf.Variable([[1.0, 2.0], [3.0, 4.0]], name="W")
    x = tf.constant([[1.0, 1.0]])
    doubled = W * 2
    prod = x @ W
    summed = 1.0 + W
    negated = -W
    sliced = W[0]
    with_numpy = np.ones((2, 2), np.float32) + W
    with tf.Session() as sess:
        sess.run(W.initializer)
        np.testing.assert_allclose(sess.run(doubled), [[2, 4], [6, 8]])
        np.testing.assert_allclose(sess.run(prod), [[4, 6]])
        np.testing.assert_allclose(sess.run(summed), [[2, 3], [4, 5]])
        np.testing.assert_allclose(sess.run(negated), [[-1, -2], [-3, -4]])
        np.testing.assert_allclose(sess.run(sliced), [1, 2])
        np.testing.assert_allclose(sess.run(with_numpy), [[2, 3], [4, 5]])
    assert isinstance(with_numpy, tf.Tensor)


def test_variable_in_graph_functions_and_gradients():
    w = tf.Variable([1.0, 2.0], name="w")
    loss = tf.reduce_sum(w * w)
    (g,) = tf.gradients(loss, [w])
    with tf.Session() as sess:
        sess.run(w.initializer)
        np.testing.assert_allclose(sess.run(g), [2.0, 4.0])


def test_variable_requires_initial_value():
    with pytest.raises(ValueError, match="initial_value"):
        tf.Variable()


def test_variable_in_other_graph():
    g = tf.Graph()
    with g.as_default():
        v = tf.Variable(3.0, name="v")
        init = tf.global_variables_initializer()
    assert v.graph is g
    assert tf.global_variables() == []
    with tf.Session(graph=g) as sess:
        sess.run(init)
        assert sess.run(v) == pytest.approx(3.0)
