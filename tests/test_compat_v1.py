"""``import graphdl.compat.v1 as tf`` runs TF1 graph-mode scripts; unsupported names say so."""

import numpy as np
import pytest

import graphdl.compat.v1 as tf
from graphdl.datasets import load_digits


def test_classic_softmax_regression_script_runs_unchanged():
    tf.disable_v2_behavior()
    tf.disable_eager_execution()
    tf.set_random_seed(0)
    tf.logging.set_verbosity(tf.logging.INFO)
    images, labels = load_digits(one_hot=True)
    x = tf.placeholder("float", [None, 64])
    y_ = tf.placeholder(tf.float32, [None, 10])
    W = tf.Variable(tf.zeros([64, 10]))
    b = tf.Variable(tf.zeros([10]))
    y = tf.nn.softmax(tf.matmul(x, W) + b)
    cross_entropy = tf.reduce_mean(-tf.reduce_sum(y_ * tf.log(y + 1e-10), reduction_indices=[1]))
    train_step = tf.train.GradientDescentOptimizer(0.5).minimize(cross_entropy)
    correct_prediction = tf.equal(tf.argmax(y, 1), tf.argmax(y_, 1))
    accuracy = tf.reduce_mean(tf.cast(correct_prediction, "float"))
    with tf.Session(config=tf.ConfigProto(log_device_placement=False)) as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(100):
            sess.run(train_step, feed_dict={x: images, y_: labels})
        acc = accuracy.eval({x: images, y_: labels})
    assert acc > 0.9
    assert not tf.executing_eagerly()


def test_graph_collections_and_node_defs():
    with tf.Graph().as_default() as g:
        with tf.variable_scope("layer"):
            w = tf.get_variable("w", [3, 2], initializer=tf.zeros_initializer())
        assert tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES, scope="layer") == [w]
        assert isinstance(w.op.node_def, tf.NodeDef) and w.op.node_def.op == "VariableV2"
        assert tf.dimension_value(w.get_shape()[0]) == 3
        assert g is tf.get_default_graph()


@pytest.mark.parametrize("name", ["estimator", "keras", "saved_model", "no_such_thing"])
def test_unsupported_names_raise_naming_them(name):
    with pytest.raises(AttributeError, match=rf"tf\.{name}"):
        getattr(tf, name)
    with pytest.raises(NotImplementedError):
        getattr(tf, name)


def test_eager_mode_is_refused_clearly():
    with pytest.raises(NotImplementedError, match="eager"):
        tf.enable_eager_execution()


def test_same_objects_as_graphdl():
    import graphdl

    assert tf.Session is graphdl.Session and tf.nn is graphdl.nn and tf.float32 is graphdl.float32
    assert np.dtype(tf.float32.as_numpy_dtype) == np.float32


def test_tf_logging_prints_to_stderr_once_verbosity_allows():
    import subprocess
    import sys

    script = (
        "import graphdl.compat.v1 as tf\n"
        "tf.logging.info('hidden %d', 1)\n"
        "tf.logging.set_verbosity(tf.logging.INFO)\n"
        "tf.logging.info('step %d', 7)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert done.stderr.splitlines()[-1] == "INFO:graphdl:step 7"
    assert "hidden" not in done.stderr
