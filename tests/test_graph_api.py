"""The graph-building API as TF1 documents it: names, scopes, graphs, collections, control deps, dtypes, shapes."""

import re

import numpy as np
import pytest

import graphdl as tf
from graphdl.framework.tensor_shape import Dimension


# -- op and tensor names ------------------------------------------------------------------
def test_default_names_are_made_unique():
    a = tf.constant(1.0)
    b = tf.constant(2.0)
    assert (a.name, b.name) == ("Const:0", "Const_1:0")
    assert [(a + b).name, (a + b).name, (a + b).name] == ["add:0", "add_1:0", "add_2:0"]
    assert tf.placeholder(tf.float32).name == "Placeholder:0"
    assert tf.placeholder(tf.float32).name == "Placeholder_1:0"


def test_explicit_names_are_made_unique_case_insensitively():
    assert tf.constant(1, name="x").name == "x:0"
    assert tf.constant(1, name="x").name == "x_1:0"
    assert tf.constant(1, name="x_1").name == "x_1_1:0"
    assert tf.constant(1, name="Foo").name == "Foo:0"
    assert tf.constant(1, name="foo").name == "foo_1:0"


def test_invalid_op_name_raises():
    with pytest.raises(ValueError, match="a b"):
        tf.constant(1, name="a b")


def test_name_scope_nesting_and_tensor_names():
    a = tf.constant(1.0, name="a")
    with tf.name_scope("scope") as scope:
        assert scope == "scope/"
        assert tf.get_default_graph().get_name_scope() == "scope"
        s = a + a
        assert s.name == "scope/add:0"
        assert s.op.name == "scope/add"
        with tf.name_scope("inner") as inner:
            assert inner == "scope/inner/"
            assert tf.constant(1).name == "scope/inner/Const:0"
    assert tf.get_default_graph().get_name_scope() == ""
    assert tf.constant(1).name == "Const:0"


def test_name_scope_reentry_by_name_is_uniquified_and_by_string_is_exact():
    with tf.name_scope("scope") as first:
        tf.constant(0, name="c")
    with tf.name_scope("scope") as second:
        assert second == "scope_1/"
        assert tf.constant(0, name="c").name == "scope_1/c:0"
    with tf.name_scope(first) as again:
        assert again == "scope/"
        assert tf.constant(0, name="c").name == "scope/c_1:0"


def test_name_scope_none_and_empty_reset_to_root():
    with tf.name_scope("outer"):
        with tf.name_scope(None) as s:
            assert s == ""
            assert tf.constant(1, name="r").name == "r:0"
        with tf.name_scope("") as s:
            assert s == ""
        assert tf.constant(1, name="r").name == "outer/r:0"


def test_name_scope_default_name_and_values():
    x = tf.placeholder(tf.float32, [2])
    with tf.name_scope(None, "default", [x]) as s:
        assert s == "default/"
    with tf.name_scope(None, "default", [x]) as s:
        assert s == "default_1/"
    with tf.name_scope("given", "default", [x]) as s:
        assert s == "given/"


def test_name_scope_and_op_names_share_uniquification():
    tf.constant(1, name="blk")
    with tf.name_scope("blk") as s:
        assert s == "blk_1/"


# -- Tensor and Operation ------------------------------------------------------------------
def test_tensor_properties():
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    y = x * 2.0
    assert x.op.type == "Placeholder"
    assert x.op.name == "x"
    assert x.graph is tf.get_default_graph()
    assert x.dtype == tf.float32
    assert x.value_index == 0
    assert x.shape.as_list() == [None, 3]
    assert x.get_shape().as_list() == [None, 3]
    assert x.shape[1] == 3 and x.shape[0].value is None
    assert x.consumers() == [y.op]
    assert y.consumers() == []
    assert y.op.outputs[0] is y


def test_tensor_set_shape_refines_and_rejects_incompatible():
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    x.set_shape([5, 3])
    assert x.get_shape().as_list() == [5, 3]
    with pytest.raises(ValueError, match=r"x:0.*\(5, 3\).*\(4, 3\)"):
        x.set_shape([4, 3])
    u = tf.placeholder(tf.int32, name="u")
    assert u.shape.ndims is None
    u.set_shape([2, None])
    assert u.shape.as_list() == [2, None]


def test_operation_inputs_outputs_and_node_def():
    a = tf.constant([1.0, 2.0], name="a")
    b = tf.constant([3.0, 4.0], name="b")
    c = tf.identity(a + b, name="c")
    add = c.op.inputs[0].op
    assert list(add.inputs) == [a, b]
    assert add.outputs == (add.outputs[0],) and add.outputs[0].name == "add:0"
    assert add.values() == add.outputs
    assert add.control_inputs == []
    assert c.op.type == "Identity" and c.op.node_def.op == "Identity"
    assert c.op.node_def.name == "c"
    assert c.op.node_def.input == ["add"]
    assert a.op.node_def.op == "Const"
    assert tf.no_op(name="n").node_def.op == "NoOp"
    assert a.op.get_attr("dtype") == tf.float32
    with pytest.raises(ValueError, match="no attr named 'bogus'"):
        a.op.get_attr("bogus")


def test_tensor_bool_raises_and_equality_is_identity():
    a = tf.constant(1.0)
    b = tf.constant(1.0)
    with pytest.raises(TypeError, match="bool"):
        bool(a)
    with pytest.raises(TypeError):
        if a:
            pass
    same = a
    assert a == same
    assert (a == b) is False
    assert a != b
    d = {a: "a", b: "b"}
    assert d[a] == "a" and d[b] == "b"
    assert len({a, b, a}) == 2
    assert a in [b, a]


def test_tensor_is_not_iterable_and_has_no_len():
    t = tf.constant([1, 2, 3])
    with pytest.raises(TypeError, match="not iterable"):
        iter(t)
    with pytest.raises(TypeError):
        len(t)


def test_tensor_eval_and_operation_run_with_default_session():
    v = tf.Variable(1.0)
    inc = v.assign_add(2.0)
    with tf.Session():
        v.initializer.run()
        inc.op.run()
        assert v.eval() == pytest.approx(3.0)
        assert (tf.constant(2.0) * 4.0).eval() == pytest.approx(8.0)


# -- graphs -------------------------------------------------------------------------------------
def test_graph_as_default_isolates_ops():
    outer = tf.get_default_graph()
    tf.constant(1, name="in_default")
    g = tf.Graph()
    with g.as_default() as entered:
        assert entered is g
        assert tf.get_default_graph() is g
        c = tf.constant(2, name="in_g")
        assert c.graph is g
        assert c.name == "in_g:0"
    assert tf.get_default_graph() is outer
    assert [op.name for op in g.get_operations()] == ["in_g"]
    assert [op.name for op in outer.get_operations()] == ["in_default"]
    with tf.Session(graph=g) as sess:
        assert sess.run(c) == 2
        assert sess.graph is g


def test_ops_from_different_graphs_do_not_mix():
    a = tf.constant(1.0)
    g = tf.Graph()
    with g.as_default():
        b = tf.constant(2.0)
    with pytest.raises(ValueError, match="same graph"):
        a + b


def test_reset_default_graph():
    first = tf.get_default_graph()
    tf.constant(1)
    tf.reset_default_graph()
    second = tf.get_default_graph()
    assert second is not first
    assert second.get_operations() == []
    assert tf.constant(1).name == "Const:0"
    with tf.Graph().as_default(), pytest.raises(AssertionError):
        tf.reset_default_graph()


def test_get_operations_in_creation_order():
    tf.constant(1, name="a")
    tf.constant(2, name="b")
    with tf.name_scope("s"):
        tf.constant(3, name="c")
    assert [op.name for op in tf.get_default_graph().get_operations()] == ["a", "b", "s/c"]


def test_get_tensor_and_operation_by_name():
    g = tf.get_default_graph()
    with tf.name_scope("scope"):
        x = tf.placeholder(tf.float32, name="x")
    assert g.get_tensor_by_name("scope/x:0") is x
    assert g.get_operation_by_name("scope/x") is x.op
    assert g.as_graph_element("scope/x:0") is x
    assert g.as_graph_element("scope/x") is x.op
    with pytest.raises(KeyError, match="'nope:0'"):
        g.get_tensor_by_name("nope:0")
    with pytest.raises(KeyError, match="'nope'"):
        g.get_operation_by_name("nope")
    with pytest.raises(KeyError, match="only has 1 outputs"):
        g.get_tensor_by_name("scope/x:1")
    with pytest.raises(ValueError, match="scope/x:0"):
        g.get_tensor_by_name("scope/x")
    with pytest.raises(TypeError):
        g.get_tensor_by_name(x)


def test_finalized_graph_rejects_new_ops_but_still_runs():
    g = tf.Graph()
    with g.as_default():
        a = tf.constant(3.0)
        b = a * 2.0
    g.finalize()
    assert g.finalized
    with g.as_default():
        with pytest.raises(RuntimeError, match="finalized"):
            tf.constant(1.0)
        with pytest.raises(RuntimeError, match="finalized"):
            a + a
        with pytest.raises(RuntimeError, match="finalized"):
            tf.add_to_collection("c", a)
    with tf.Session(graph=g) as sess:
        assert sess.run(b) == pytest.approx(6.0)


def test_graph_version_grows_with_ops():
    g = tf.get_default_graph()
    v0 = g.version
    tf.constant(1)
    assert g.version == v0 + 1


# -- collections ---------------------------------------------------------------------------------
def test_collections_add_get_and_copy_semantics():
    a = tf.constant(1, name="a")
    b = tf.constant(2, name="b")
    tf.add_to_collection("mine", a)
    tf.add_to_collections(["mine", "other"], b)
    assert tf.get_collection("mine") == [a, b]
    assert tf.get_collection("other") == [b]
    assert tf.get_collection("missing") == []
    got = tf.get_collection("mine")
    got.append("junk")
    assert tf.get_collection("mine") == [a, b]
    ref = tf.get_collection_ref("mine")
    ref.append(a)
    assert tf.get_collection("mine") == [a, b, a]
    g = tf.get_default_graph()
    assert set(g.get_all_collection_keys()) >= {"mine", "other"}
    g.clear_collection("other")
    assert g.get_collection("other") == []


def test_get_collection_scope_filters_by_name_prefix_regex():
    with tf.name_scope("foo"):
        f1 = tf.constant(1, name="x")
    with tf.name_scope("foobar"):
        f2 = tf.constant(1, name="x")
    with tf.name_scope("bar"):
        b1 = tf.constant(1, name="x")
    for t in (f1, f2, b1):
        tf.add_to_collection("c", t)
    tf.add_to_collection("c", 42)  # no name: ignored when filtering by scope
    assert tf.get_collection("c", scope="foo") == [f1, f2]
    assert tf.get_collection("c", scope="foo/") == [f1]
    assert tf.get_collection("c", scope="bar") == [b1]
    assert tf.get_collection("c", scope="(foo|bar)/") == [f1, b1]
    assert tf.get_collection("c", scope=".*x") == [f1, f2, b1]
    assert tf.get_collection("c") == [f1, f2, b1, 42]


def test_graph_keys_constants():
    assert tf.GraphKeys.GLOBAL_VARIABLES == "variables"
    assert tf.GraphKeys.VARIABLES == tf.GraphKeys.GLOBAL_VARIABLES
    assert tf.GraphKeys.TRAINABLE_VARIABLES == "trainable_variables"
    assert tf.GraphKeys.LOCAL_VARIABLES == "local_variables"
    assert tf.GraphKeys.REGULARIZATION_LOSSES == "regularization_losses"
    assert tf.GraphKeys.LOSSES == "losses"
    assert tf.GraphKeys.UPDATE_OPS == "update_ops"
    assert tf.GraphKeys.SUMMARIES == "summaries"
    assert tf.GraphKeys.GLOBAL_STEP == "global_step"


def test_trainable_and_global_variable_collections():
    w = tf.Variable(1.0, name="w")
    s = tf.Variable(0, name="step", trainable=False)
    assert tf.get_collection(tf.GraphKeys.GLOBAL_VARIABLES) == [w, s]
    assert tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES) == [w]
    assert tf.global_variables() == [w, s]
    assert tf.trainable_variables() == [w]


# -- control dependencies -------------------------------------------------------------------------
def test_control_dependencies_record_control_inputs():
    a = tf.constant(1.0, name="a")
    b = tf.constant(2.0, name="b")
    with tf.control_dependencies([a]):
        c = tf.identity(b, name="c")
        with tf.control_dependencies([b.op]):
            d = tf.constant(3.0, name="d")
            e = tf.identity(b, name="e")  # b is already a data input: no duplicate control input
        with tf.control_dependencies(None):
            f = tf.constant(4.0, name="f")
    g = tf.constant(5.0, name="g")
    assert c.op.control_inputs == [a.op]
    assert d.op.control_inputs == [a.op, b.op]
    assert e.op.control_inputs == [a.op]
    assert f.op.control_inputs == []
    assert g.op.control_inputs == []
    assert c.op.node_def.input == ["b", "^a"]


def test_control_dependencies_order_execution():
    v = tf.Variable(0.0, name="v")
    inc = v.assign_add(1.0)
    with tf.control_dependencies([inc]):
        read = v.read_value()
        ident = tf.identity(v)
        doubled = v * 2.0
    with tf.Session() as sess:
        sess.run(v.initializer)
        assert sess.run(read) == pytest.approx(1.0)
        assert sess.run(ident) == pytest.approx(2.0)
        assert sess.run(doubled) == pytest.approx(6.0)
        assert sess.run(v) == pytest.approx(3.0)


def test_control_dependencies_on_no_op_and_group_run_dependencies():
    v = tf.Variable(10, name="counter")
    with tf.control_dependencies([v.assign_add(1)]):
        step = tf.no_op(name="step")
    both = tf.group(v.assign_add(100), v.assign_add(1000))
    with tf.Session() as sess:
        sess.run(v.initializer)
        assert sess.run(step) is None
        sess.run(step)
        assert sess.run(v) == 12
        sess.run(both)
        assert sess.run(v) == 1112


def test_control_dependencies_none_clears_inside_nesting():
    v = tf.Variable(0, name="v")
    inc = v.assign_add(1)
    with tf.control_dependencies([inc]), tf.control_dependencies(None):
        plain = tf.identity(v.value())
    assert plain.op.control_inputs == []
    with tf.Session() as sess:
        sess.run(v.initializer)
        sess.run(plain)
        assert sess.run(v) == 0


def test_control_dependencies_accept_tensors_and_reject_other_graphs():
    a = tf.constant(1.0)
    with tf.control_dependencies([a]):
        b = tf.constant(2.0)
    assert b.op.control_inputs == [a.op]
    g = tf.Graph()
    with g.as_default():
        other = tf.constant(1.0)
    with pytest.raises(ValueError, match="another graph"), tf.control_dependencies([other]):
        pass
    with pytest.raises(TypeError), tf.control_dependencies([3]):
        pass


# -- dtypes --------------------------------------------------------------------------------------
def test_dtype_conversions():
    assert tf.as_dtype("float") is tf.float32
    assert tf.as_dtype("float32") is tf.float32
    assert tf.as_dtype("double") is tf.float64
    assert tf.as_dtype(np.float64) is tf.float64
    assert tf.as_dtype(np.dtype("int32")) is tf.int32
    assert tf.as_dtype(tf.int64) is tf.int64
    assert tf.float32.as_numpy_dtype is np.float32
    assert tf.int32.as_numpy_dtype is np.int32
    assert tf.bool.as_numpy_dtype is np.bool_
    assert tf.float32.name == "float32"
    assert tf.float32.is_floating and not tf.float32.is_integer
    assert tf.int32.is_integer and not tf.int32.is_floating
    assert tf.float64.base_dtype is tf.float64
    assert (tf.int8.min, tf.int8.max) == (-128, 127)
    assert tf.float32 == np.float32
    assert tf.float32 != tf.float64
    with pytest.raises(TypeError):
        tf.as_dtype("nonsense")


def test_python_values_get_tf1_default_dtypes():
    assert tf.constant(1.5).dtype == tf.float32
    assert tf.constant(1).dtype == tf.int32
    assert tf.constant(True).dtype == tf.bool
    assert tf.constant(np.float64(1.5)).dtype == tf.float64
    assert tf.constant(np.arange(3)).dtype == tf.as_dtype(np.arange(3).dtype)
    assert tf.constant(1, dtype=tf.float64).dtype == tf.float64
    assert tf.convert_to_tensor([[1.0, 2.0]]).shape.as_list() == [1, 2]


# -- TensorShape and Dimension ----------------------------------------------------------------------
def test_dimension_behaviour():
    d = Dimension(3)
    u = Dimension(None)
    assert d.value == 3 and u.value is None
    assert d == 3 and int(d) == 3
    assert (u == 3) is None
    assert (d + 1).value == 4 and (d * 2).value == 6 and (d - 1).value == 2 and (d // 2).value == 1
    assert (u + 1).value is None
    assert d > 2 and d <= 3 and (u > 2) is None
    assert d.is_compatible_with(3) and d.is_compatible_with(u) and not d.is_compatible_with(4)
    assert d.merge_with(u).value == 3
    with pytest.raises(ValueError):
        d.merge_with(4)
    with pytest.raises(ValueError):
        Dimension(-1)
    assert str(u) == "?" and str(d) == "3"


def test_tensor_shape_behaviour():
    s = tf.TensorShape([None, 3])
    assert s.as_list() == [None, 3]
    assert s.ndims == 2 and len(s) == 2
    assert s[0].value is None and s[1].value == 3
    assert [d.value for d in s] == [None, 3]
    assert s[1:].as_list() == [3]
    assert not s.is_fully_defined()
    assert s.num_elements() is None
    assert tf.TensorShape([2, 3]).num_elements() == 6
    assert s.is_compatible_with([5, 3])
    assert not s.is_compatible_with([5, 4])
    assert not s.is_compatible_with([5, 3, 1])
    assert s.merge_with([5, None]).as_list() == [5, 3]
    with pytest.raises(ValueError, match="not compatible"):
        s.merge_with([5, 4])
    assert s.concatenate([7]).as_list() == [None, 3, 7]
    assert (s + [7]).as_list() == [None, 3, 7]
    assert tf.TensorShape([2, 3]) == [2, 3]
    assert str(s) == "(?, 3)"
    assert str(tf.TensorShape([4])) == "(4,)"
    assert tf.TensorShape([]).ndims == 0 and tf.TensorShape([]).as_list() == []


def test_unknown_rank_shape():
    s = tf.TensorShape(None)
    assert s.ndims is None
    assert s.dims is None
    assert s.is_compatible_with([1, 2, 3])
    assert s.merge_with([1, 2]).as_list() == [1, 2]
    assert s[0].value is None
    assert str(s) == "<unknown>"
    with pytest.raises(ValueError):
        s.as_list()
    with pytest.raises(ValueError):
        len(s)
    assert s.with_rank(2).as_list() == [None, None]
    with pytest.raises(ValueError, match="rank"):
        tf.TensorShape([1, 2]).with_rank(3)
    with pytest.raises(ValueError, match="rank at least"):
        tf.TensorShape([1]).with_rank_at_least(2)


def test_static_shapes_of_ops_propagate_unknown_dims():
    x = tf.placeholder(tf.float32, [None, 4])
    y = x * tf.ones([4])
    assert y.get_shape().as_list() == [None, 4]
    z = tf.reduce_sum(x, axis=1)
    assert z.shape.as_list() == [None]
    assert re.match(r"Sum(_\d+)?:0", z.name)
