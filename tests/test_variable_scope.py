"""``variable_scope`` / ``get_variable`` with TF1 1.15 semantics."""

import numpy as np
import pytest

import graphdl as tf
from graphdl.variable_scope import _get_default_variable_store


def _init_and_run(fetches):
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        return sess.run(fetches)


# -- names ----------------------------------------------------------------------------------
def test_get_variable_full_names():
    with tf.variable_scope("foo"), tf.variable_scope("bar"):
        v = tf.get_variable("v", [1])
    assert v.name == "foo/bar/v:0"
    assert v.op.name == "foo/bar/v"
    root = tf.get_variable("r", [2])
    assert root.name == "r:0"


def test_variable_scope_opens_name_scope_and_reentry_uniquifies_it():
    with tf.variable_scope("foo") as vs:
        assert vs.name == "foo"
        assert vs.original_name_scope == "foo/"
        w = tf.get_variable("w", [2])
        c = tf.constant(1.0)
    with tf.variable_scope("foo", reuse=True) as vs2:
        assert vs2.original_name_scope == "foo_1/"
        w2 = tf.get_variable("w", [2])
        c2 = tf.constant(1.0)
    assert w2 is w
    assert w.name == "foo/w:0"
    assert c.name == "foo/Const:0"
    assert c2.name == "foo_1/Const:0"


def test_variable_names_ignore_name_scopes():
    with tf.name_scope("ns"):
        with tf.variable_scope("vs"):
            v = tf.get_variable("v", [1])
            x = tf.constant(1.0, name="x")
        u = tf.get_variable("u", [1])
    assert v.name == "vs/v:0"
    assert x.name == "ns/vs/x:0"
    assert u.name == "u:0"


def test_variable_op_name_is_exact_despite_name_scope_collisions():
    with tf.name_scope("foo/w"):
        tf.constant(0.0, name="junk")
    with tf.variable_scope("foo"):
        w = tf.get_variable("w", [1])
        capital = tf.get_variable("W", [1])
    assert w.name == "foo/w:0"
    assert capital.name == "foo/W:0"
    assert tf.get_default_graph().get_operation_by_name("foo/w") is w.op
    # Names used by get_variable stay reserved for later ops.
    with tf.name_scope("foo/w") as s:
        assert s != "foo/w/"


def test_initializer_ops_live_under_variable_name():
    with tf.name_scope("elsewhere"), tf.variable_scope("layer"):
        v = tf.get_variable("kernel", [2, 2], initializer=tf.zeros_initializer())
    names = [op.name for op in tf.get_default_graph().get_operations()]
    assert "layer/kernel" in names
    assert "layer/kernel/Assign" in names
    assert "layer/kernel/read" in names
    assert any(n.startswith("layer/kernel/Initializer/") for n in names)
    assert v.initializer.name == "layer/kernel/Assign"


def test_default_name_is_uniquified():
    with tf.variable_scope(None, default_name="dense") as s1:
        a = tf.get_variable("k", [1])
    with tf.variable_scope(None, default_name="dense") as s2:
        b = tf.get_variable("k", [1])
    assert (s1.name, s2.name) == ("dense", "dense_1")
    assert (a.name, b.name) == ("dense/k:0", "dense_1/k:0")
    with tf.variable_scope("given", default_name="dense") as s3:
        assert s3.name == "given"
    with pytest.raises(TypeError, match="default_name"):
        tf.variable_scope(None)


def test_default_names_restart_inside_reentered_parent_scope():
    with tf.variable_scope("model"):
        with tf.variable_scope(None, default_name="dense"):
            first = tf.get_variable("k", [1])
        with tf.variable_scope(None, default_name="dense"):
            second = tf.get_variable("k", [1])
    with tf.variable_scope("model", reuse=True), tf.variable_scope(None, default_name="dense"):
        again = tf.get_variable("k", [1])
    assert (first.name, second.name) == ("model/dense/k:0", "model/dense_1/k:0")
    assert again is first


def test_get_variable_scope_tracks_current_scope():
    root = tf.get_variable_scope()
    assert root.name == "" and not root.reuse
    with tf.variable_scope("a") as a:
        assert tf.get_variable_scope() is a
        with tf.variable_scope("b") as b:
            assert tf.get_variable_scope() is b
            assert b.name == "a/b"
        assert tf.get_variable_scope() is a
    assert tf.get_variable_scope() is root


def test_scopes_are_per_graph():
    g = tf.Graph()
    with tf.variable_scope("outer"), g.as_default():
        assert tf.get_variable_scope().name == ""
        v = tf.get_variable("v", [1])
    assert v.name == "v:0" and v.graph is g


def test_values_argument_selects_graph():
    g = tf.Graph()
    with g.as_default():
        x = tf.constant(1.0)
    with tf.variable_scope("s", values=[x]):
        assert tf.get_default_graph() is g
        v = tf.get_variable("v", [1])
    assert v.graph is g
    assert tf.get_default_graph() is not g


# -- reuse ----------------------------------------------------------------------------------------
def test_creating_existing_variable_without_reuse_raises():
    with tf.variable_scope("foo"):
        tf.get_variable("w", [2])
    with tf.variable_scope("foo"), pytest.raises(ValueError) as info:
        tf.get_variable("w", [2])
    assert str(info.value).startswith(
        "Variable foo/w already exists, disallowed. Did you mean to set reuse=True or reuse=tf.AUTO_REUSE in VarScope?"
    )


def test_reusing_missing_variable_raises():
    with tf.variable_scope("foo", reuse=True), pytest.raises(ValueError) as info:
        tf.get_variable("w", [2])
    assert str(info.value) == (
        "Variable foo/w does not exist, or was not created with tf.get_variable(). Did you mean to set "
        "reuse=tf.AUTO_REUSE in VarScope?"
    )


def test_reuse_shape_and_dtype_mismatch_raise():
    with tf.variable_scope("foo"):
        tf.get_variable("w", [2, 3])
    with tf.variable_scope("foo", reuse=True):
        with pytest.raises(ValueError, match=r"foo/w.*\(3, 3\).*\(2, 3\)"):
            tf.get_variable("w", [3, 3])
        with pytest.raises(ValueError, match="float64.*float32"):
            tf.get_variable("w", [2, 3], dtype=tf.float64)
        assert tf.get_variable("w").get_shape().as_list() == [2, 3]


def test_reuse_is_inherited_by_nested_scopes():
    with tf.variable_scope("a"), tf.variable_scope("b"):
        v = tf.get_variable("v", [1])
    with tf.variable_scope("a", reuse=True):
        with tf.variable_scope("b") as inner:
            assert inner.reuse is True
            assert tf.get_variable("v", [1]) is v
        with tf.variable_scope("b", reuse=False):
            assert tf.get_variable_scope().reuse is True
    with tf.variable_scope("a"):
        assert tf.get_variable_scope().reuse is False


def test_reuse_variables_method():
    with tf.variable_scope("foo") as scope:
        v = tf.get_variable("v", [1])
        scope.reuse_variables()
        assert scope.reuse is True
        assert tf.get_variable("v", [1]) is v


def test_reentering_scope_object():
    with tf.variable_scope("foo") as foo_scope:
        v = tf.get_variable("v", [1])
    with tf.variable_scope(foo_scope):
        w = tf.get_variable("w", [1])
        c = tf.constant(0.0, name="c")
    with tf.variable_scope(foo_scope, reuse=True):
        v1 = tf.get_variable("v", [1])
        w1 = tf.get_variable("w", [1])
    assert v1 is v and w1 is w
    assert w.name == "foo/w:0"
    assert c.name == "foo_1/c:0"
    with tf.variable_scope("other"), tf.variable_scope(foo_scope) as jumped:
        assert jumped.name == "foo"
        assert tf.get_variable("x", [1]).name == "foo/x:0"


def test_reentering_scope_object_with_original_name_scope():
    with tf.variable_scope("foo") as vs:
        pass
    with tf.variable_scope(vs, auxiliary_name_scope=False) as vs2, tf.name_scope(vs2.original_name_scope):
        c = tf.constant(1.0, name="c")
    assert c.name == "foo/c:0"


def test_auxiliary_name_scope_false_keeps_name_scope():
    with tf.name_scope("outer"), tf.variable_scope("vs", auxiliary_name_scope=False) as vs:
        c = tf.constant(1.0, name="c")
        v = tf.get_variable("v", [1])
    assert c.name == "outer/c:0"
    assert v.name == "vs/v:0"
    assert vs.original_name_scope == "outer/"


def test_same_variable_scope_object_entered_twice():
    scope = tf.variable_scope("s", reuse=tf.AUTO_REUSE)
    with scope:
        a = tf.get_variable("a", [1])
        c1 = tf.constant(0.0, name="c")
    with scope:
        b = tf.get_variable("a", [1])
        c2 = tf.constant(0.0, name="c")
    assert a is b
    assert (c1.name, c2.name) == ("s/c:0", "s_1/c:0")


def test_auto_reuse_creates_then_reuses():
    def make():
        with tf.variable_scope("auto", reuse=tf.AUTO_REUSE):
            return tf.get_variable("v", [3], initializer=tf.ones_initializer())

    first, second = make(), make()
    assert first is second
    assert len(tf.global_variables()) == 1
    np.testing.assert_array_equal(_init_and_run(first), [1, 1, 1])
    with tf.variable_scope("auto", reuse=tf.AUTO_REUSE), tf.variable_scope("nested") as nested:
        assert nested.reuse is tf.AUTO_REUSE


def test_two_towers_share_weights():
    def tower(x):
        w = tf.get_variable("w", [2, 2], initializer=tf.constant_initializer(2.0))
        b = tf.get_variable("b", [2], initializer=tf.zeros_initializer())
        return tf.matmul(x, w) + b

    x1 = tf.constant([[1.0, 0.0]])
    x2 = tf.constant([[0.0, 3.0]])
    with tf.variable_scope("model"):
        y1 = tower(x1)
    with tf.variable_scope("model", reuse=True):
        y2 = tower(x2)
    assert [v.name for v in tf.trainable_variables()] == ["model/w:0", "model/b:0"]
    r1, r2 = _init_and_run([y1, y2])
    np.testing.assert_allclose(r1, [[2.0, 2.0]])
    np.testing.assert_allclose(r2, [[6.0, 6.0]])


def test_tower_loop_with_reuse_variables():
    outs = []
    for i in range(3):
        with tf.name_scope(f"tower_{i}"):
            w = tf.get_variable("w", [1], initializer=tf.constant_initializer(float(i + 1)))
            outs.append(w * 1.0)
            tf.get_variable_scope().reuse_variables()
    assert [o.name for o in outs] == ["tower_0/mul:0", "tower_1/mul:0", "tower_2/mul:0"]
    assert len(tf.global_variables()) == 1
    np.testing.assert_allclose(_init_and_run(outs), [[1.0]] * 3)


def test_invalid_reuse_and_name_arguments():
    with pytest.raises(ValueError, match="reuse"):
        tf.variable_scope("x", reuse="yes")
    with pytest.raises(TypeError, match="name_or_scope"), tf.variable_scope(3):
        pass
    with pytest.raises(ValueError, match="reuse=True cannot be used without a name_or_scope"), tf.variable_scope(
        None, default_name="d", reuse=True
    ):
        pass
    assert tf.get_variable_scope().name == ""


def test_exception_inside_scope_restores_scopes():
    with pytest.raises(RuntimeError), tf.variable_scope("boom"):
        raise RuntimeError("x")
    assert tf.get_variable_scope().name == ""
    assert tf.get_default_graph().get_name_scope() == ""


# -- dtype and initializers --------------------------------------------------------------------
def test_default_dtype_and_default_initializers():
    w = tf.get_variable("w", [20, 30])
    i = tf.get_variable("i", [4], dtype=tf.int32)
    flag = tf.get_variable("flag", [2], dtype=tf.bool)
    assert w.dtype == tf.float32
    assert i.dtype == tf.int32
    wv, iv, fv = _init_and_run([w, i, flag])
    limit = np.sqrt(6.0 / (20 + 30))
    assert np.abs(wv).max() <= limit
    assert wv.std() > limit / 3
    np.testing.assert_array_equal(iv, [0, 0, 0, 0])
    np.testing.assert_array_equal(fv, [False, False])


def test_scope_dtype_is_default():
    with tf.variable_scope("d", dtype=tf.float64) as scope:
        v = tf.get_variable("v", [2])
        assert scope.dtype == tf.float64
        with tf.variable_scope("inner"):
            u = tf.get_variable("u", [2])
        i = tf.get_variable("i", [2], dtype=tf.int64)
    assert (v.dtype, u.dtype, i.dtype) == (tf.float64, tf.float64, tf.int64)


def test_initializer_precedence():
    with tf.variable_scope("s", initializer=tf.constant_initializer(3.0)) as scope:
        inherited = tf.get_variable("a", [2])
        explicit = tf.get_variable("b", [2], initializer=tf.constant_initializer(5.0))
        with tf.variable_scope("inner"):
            nested = tf.get_variable("c", [2])
        with tf.variable_scope("override", initializer=tf.ones_initializer()):
            overridden = tf.get_variable("d", [2])
        scope.set_initializer(tf.zeros_initializer())
        later = tf.get_variable("e", [2])
    vals = _init_and_run([inherited, explicit, nested, overridden, later])
    np.testing.assert_allclose(vals, [[3, 3], [5, 5], [3, 3], [1, 1], [0, 0]])


def test_initializer_is_called_with_shape_dtype_partition_info():
    calls = []

    def init(shape, dtype=None, partition_info=None):
        calls.append((list(shape), dtype, partition_info, tf.get_default_graph().get_name_scope()))
        return tf.fill(shape, tf.constant(7.0, dtype=dtype))

    with tf.name_scope("ignored"), tf.variable_scope("scope"):
        v = tf.get_variable("v", [2, 3], initializer=init)
    assert calls == [([2, 3], tf.float32, None, "scope/v/Initializer")]
    np.testing.assert_allclose(_init_and_run(v), np.full((2, 3), 7.0))


def test_initializer_class_is_instantiated():
    v = tf.get_variable("v", [2], initializer=tf.zeros_initializer)
    np.testing.assert_array_equal(_init_and_run(v), [0.0, 0.0])


def test_initializer_from_values_infers_shape_and_dtype():
    t = tf.get_variable("t", initializer=tf.constant([1.0, 2.0, 3.0]))
    n = tf.get_variable("n", initializer=np.arange(4, dtype=np.int64).reshape(2, 2))
    p = tf.get_variable("p", initializer=[[1, 2]])
    s = tf.get_variable("s", initializer=0.5)
    assert t.get_shape().as_list() == [3] and t.dtype == tf.float32
    assert n.get_shape().as_list() == [2, 2] and n.dtype == tf.int64
    assert p.get_shape().as_list() == [1, 2] and p.dtype == tf.int32
    assert s.get_shape().as_list() == [] and s.dtype == tf.float32
    tv, nv, pv, sv = _init_and_run([t, n, p, s])
    np.testing.assert_array_equal(tv, [1, 2, 3])
    np.testing.assert_array_equal(nv, [[0, 1], [2, 3]])
    np.testing.assert_array_equal(pv, [[1, 2]])
    assert sv == pytest.approx(0.5)


def test_constant_initializer_with_shape_or_mismatched_dtype_raises():
    with pytest.raises(ValueError, match="do not specify shape"):
        tf.get_variable("a", [3], initializer=tf.constant([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="Initializer type 'float32' and explicit dtype 'float64' don't match"):
        tf.get_variable("b", initializer=[1.0], dtype=tf.float64)
    c = tf.get_variable("c", initializer=np.array([1.0]), dtype=tf.float64)
    assert c.dtype == tf.float64


def test_missing_shape_raises():
    with pytest.raises(ValueError, match="initializer passed for variable nos is not valid"):
        tf.get_variable("nos")


def test_no_argument_callable_initializer_without_shape():
    v = tf.get_variable("v", initializer=lambda: tf.constant([4.0, 5.0]))
    assert v.get_shape().as_list() == [2]
    np.testing.assert_array_equal(_init_and_run(v), [4.0, 5.0])


def test_get_variable_ignores_control_dependencies():
    a = tf.constant(1.0)
    with tf.control_dependencies([a]):
        v = tf.get_variable("v", [1])
    assert v.op.control_inputs == []
    assert v.initializer.control_inputs == []


# -- regularizers, trainable, collections ---------------------------------------------------------
def test_regularizer_losses_collected():
    def reg(w):
        return tf.reduce_sum(w * w) * 0.5

    with tf.variable_scope("r", regularizer=reg):
        a = tf.get_variable("a", initializer=[1.0, 2.0])
        tf.get_variable("skipped", initializer=[5.0], regularizer=tf.no_regularizer)
        with tf.variable_scope("inner"):
            tf.get_variable("b", initializer=[3.0])
    explicit = tf.get_variable("e", initializer=[2.0], regularizer=lambda w: tf.reduce_sum(w))
    losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    assert len(losses) == 3
    assert losses[0].name.startswith("r/a/Regularizer/")
    assert a.name == "r/a:0" and explicit.name == "e:0"
    np.testing.assert_allclose(_init_and_run(losses), [2.5, 4.5, 2.0])


def test_trainable_and_collections_arguments():
    t = tf.get_variable("t", [1])
    frozen = tf.get_variable("frozen", [1], trainable=False)
    mine = tf.get_variable("mine", [1], collections=["my_collection"])
    assert tf.trainable_variables() == [t, mine]
    assert tf.global_variables() == [t, frozen]
    assert tf.get_collection("my_collection") == [mine]


def test_get_local_variable():
    v = tf.get_local_variable("loc", [2], initializer=tf.zeros_initializer())
    assert v in tf.local_variables()
    assert v not in tf.global_variables() and v not in tf.trainable_variables()
    with tf.Session() as sess:
        sess.run(tf.local_variables_initializer())
        np.testing.assert_array_equal(sess.run(v), [0.0, 0.0])


def test_get_collection_selects_by_variable_scope():
    with tf.variable_scope("foo"):
        f1 = tf.get_variable("a", [1])
        with tf.variable_scope("sub"):
            f2 = tf.get_variable("b", [1])
    with tf.variable_scope("bar") as bar:
        b1 = tf.get_variable("a", [1])
    assert tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES, scope="foo") == [f1, f2]
    assert tf.trainable_variables(scope="bar") == [b1]
    assert tf.global_variables("foo/sub") == [f2]
    assert bar.trainable_variables() == [b1]
    assert bar.global_variables() == [b1]


# -- custom getters ------------------------------------------------------------------------------
def test_custom_getter_receives_getter_and_name():
    seen = []

    def getter(getter, name, *args, **kwargs):
        seen.append((name, kwargs["shape"], kwargs["trainable"]))
        return getter(name, *args, **kwargs) * 2.0

    with tf.variable_scope("c", custom_getter=getter):
        doubled = tf.get_variable("x", [1], initializer=tf.ones_initializer())
    assert seen == [("c/x", [1], True)]
    assert isinstance(doubled, tf.Tensor)
    assert doubled.name == "mul:0"  # get_variable runs outside the name scope, as in TF
    assert [v.name for v in tf.global_variables()] == ["c/x:0"]
    np.testing.assert_array_equal(_init_and_run(doubled), [2.0])


def test_custom_getters_nest_and_argument_getter():
    order = []

    def outer(getter, *args, **kwargs):
        order.append("outer")
        return getter(*args, **kwargs)

    def inner(getter, *args, **kwargs):
        order.append("inner")
        return getter(*args, **kwargs)

    def rename(getter, name, *args, **kwargs):
        return getter(name + "_renamed", *args, **kwargs)

    with tf.variable_scope("o", custom_getter=outer), tf.variable_scope("i", custom_getter=inner):
        v = tf.get_variable("v", [1])
    assert order == ["inner", "outer"]
    assert v.name == "o/i/v:0"
    w = tf.get_variable("w", [1], custom_getter=rename)
    assert w.name == "w_renamed:0"
    with pytest.raises(ValueError, match="callable"):
        tf.variable_scope("bad", custom_getter=3)


# -- VariableScope object ------------------------------------------------------------------------
def test_variable_scope_object_setters_and_get_variable():
    with tf.variable_scope("obj") as scope:
        scope.set_dtype(tf.float64)
        scope.set_regularizer(lambda w: tf.reduce_sum(w))
        v = scope.get_variable(_get_default_variable_store(), "v", [2])
        assert scope.regularizer is not None and scope.initializer is None
    assert isinstance(scope, tf.VariableScope)
    assert v.name == "obj/v:0" and v.dtype == tf.float64
    assert len(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)) == 1


def test_constraint_partitioner_and_caching_device_arguments():
    def clip(w):
        return tf.clip_by_value(w, -1.0, 1.0)

    with tf.variable_scope("s", constraint=clip, caching_device="/cpu:0") as scope:
        v = tf.get_variable("v", [2])
        split = tf.get_variable("split", [4, 2], partitioner=lambda shape, dtype: [2, 1])
    plain = tf.get_variable("plain", [1])
    assert scope.constraint is clip and scope.caching_device == "/cpu:0"
    assert v.constraint is clip
    assert plain.constraint is None
    # graphdl runs on one device: a partitioned variable is created whole.
    assert split.get_shape().as_list() == [4, 2]
    assert _init_and_run(split).shape == (4, 2)
