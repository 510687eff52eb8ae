"""Each user error of the core names the culprit (tensor/op) and the shapes or dtypes involved."""

import numpy as np
import pytest

import graphdl as tf
from graphdl import errors


def test_error_classes_subclass_python_exceptions():
    assert issubclass(errors.InvalidArgumentError, ValueError)
    assert issubclass(errors.FailedPreconditionError, RuntimeError)
    assert issubclass(errors.NotFoundError, KeyError)
    assert issubclass(errors.OutOfRangeError, errors.OpError)
    e = errors.InvalidArgumentError(None, None, "bad thing")
    assert str(e) == "bad thing" and e.message == "bad thing"
    assert str(errors.NotFoundError("missing")) == "missing"


def test_feed_of_wrong_shape_names_tensor_and_shapes():
    x = tf.placeholder(tf.float32, [None, 784], name="images")
    with tf.Session() as sess:
        with pytest.raises(errors.InvalidArgumentError) as info:
            sess.run(x, {x: np.zeros((32, 28, 28))})
    message = str(info.value)
    assert "'images:0'" in message and "(32, 28, 28)" in message and "(?, 784)" in message


def test_feed_of_unconvertible_dtype_names_tensor_and_dtype():
    x = tf.placeholder(tf.int32, [2], name="counts")
    with tf.Session() as sess:
        with pytest.raises(errors.InvalidArgumentError, match=r"'counts:0' of dtype int32"):
            sess.run(x, {x: ["one", "two"]})


def test_missing_placeholder_feed_names_placeholder_dtype_and_shape():
    x = tf.placeholder(tf.float32, [None, 3], name="features")
    y = x * 2.0
    with tf.Session() as sess:
        with pytest.raises(errors.InvalidArgumentError) as info:
            sess.run(y)
    message = str(info.value)
    assert "placeholder tensor 'features'" in message
    assert "float32" in message and "[?,3]" in message


def test_uninitialized_variable_names_variable():
    w = tf.Variable(np.ones((2, 2), np.float32), name="weights")
    y = tf.reduce_sum(w)
    with tf.Session() as sess:
        with pytest.raises(errors.FailedPreconditionError, match="uninitialized value weights"):
            sess.run(y)
        with pytest.raises(errors.FailedPreconditionError, match="uninitialized value weights"):
            sess.run(w)
        with pytest.raises(errors.FailedPreconditionError, match="uninitialized value weights"):
            sess.run(w.assign_add(np.ones((2, 2), np.float32)))


def test_incompatible_shapes_at_build_time_name_op_and_shapes():
    a = tf.placeholder(tf.float32, [3, 4])
    b = tf.placeholder(tf.float32, [5, 4])
    with pytest.raises(ValueError) as info:
        tf.add(a, b, name="bad_add")
    message = str(info.value)
    assert "'bad_add'" in message and "AddV2" in message
    assert "[3,4]" in message and "[5,4]" in message and "3 and 5" in message


def test_matmul_shape_error_names_op_and_shapes():
    a = tf.placeholder(tf.float32, [3, 4])
    b = tf.placeholder(tf.float32, [5, 6])
    with pytest.raises(ValueError) as info:
        tf.matmul(a, b)
    message = str(info.value)
    assert "MatMul" in message and "[3,4]" in message and "[5,6]" in message
    assert "4 and 5" in message


def test_reshape_error_names_element_counts():
    x = tf.placeholder(tf.float32, [3, 4])
    with pytest.raises(ValueError, match="12 elements"):
        tf.reshape(x, [5, 5])


def test_dtype_mismatch_names_both_dtypes():
    a = tf.constant(1.0, tf.float32)
    b = tf.constant(1.0, tf.float64)
    with pytest.raises(TypeError, match="float64.*float32|float32.*float64"):
        tf.add(a, b)


def test_unknown_fetch_name():
    tf.constant(1.0, name="c")
    with tf.Session() as sess:
        with pytest.raises(errors.NotFoundError, match="'nothing:0'"):
            sess.run("nothing:0")
        with pytest.raises(KeyError):
            sess.run("nothing")
        with pytest.raises(TypeError, match="Fetch argument 3"):
            sess.run(3)


def test_fetch_from_another_graph():
    other = tf.Graph()
    with other.as_default():
        foreign = tf.constant(1.0, name="foreign")
    tf.constant(2.0)
    with tf.Session() as sess:
        with pytest.raises(ValueError, match="foreign:0.*not an element of this graph"):
            sess.run(foreign)


def test_closed_session():
    c = tf.constant(1.0)
    sess = tf.Session()
    sess.close()
    with pytest.raises(RuntimeError, match="closed Session"):
        sess.run(c)


def test_gradient_of_op_without_gradient_names_op():
    from graphdl.framework.op_def import define_op, get_op_def
    from graphdl.framework.ops import make_tensor
    from graphdl.ops.shape_inference import same_as_input

    try:
        get_op_def("_TestOpWithoutGradient")
    except errors.NotFoundError:
        define_op("_TestOpWithoutGradient", infer=same_as_input, kernel=lambda ctx, x: x)
    x = tf.placeholder(tf.float32, [2])
    y = make_tensor("_TestOpWithoutGradient", [x], name="opaque")
    with pytest.raises(LookupError, match="No gradient defined for operation 'opaque' \\(op type: _TestOpWithoutGradient\\)"):
        tf.gradients(tf.reduce_sum(y), x)
    # stop_gradient makes the same graph differentiable (the path contributes nothing).
    z = tf.reduce_sum(make_tensor("_TestOpWithoutGradient", [tf.stop_gradient(x)], name="opaque_stopped") + x)
    assert tf.gradients(z, x)[0] is not None


def test_adding_to_finalized_graph():
    g = tf.Graph()
    with g.as_default():
        tf.constant(1.0)
        g.finalize()
        with pytest.raises(RuntimeError, match="finalized"):
            tf.constant(2.0)


def test_unknown_op_name_lookup():
    with pytest.raises(KeyError, match="'nope'"):
        tf.get_default_graph().get_operation_by_name("nope")
    with pytest.raises(KeyError, match="'nope:0'"):
        tf.get_default_graph().get_tensor_by_name("nope:0")
