"""Export -> import -> run: a zoo model exported to ONNX and imported back computes what the original graph did."""

import numpy as np
import pytest
from harness import OP_TEST_BACKENDS
from test_export_zoo import ZOO, _feed_for, _perturb_variables

import graphdl as tf

pytest.importorskip("onnx")


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
@pytest.mark.parametrize("build", ZOO, ids=[f.__name__ for f in ZOO])
def test_exported_model_imports_and_runs_like_the_original(build, backend):
    rng = np.random.default_rng(0)
    with tf.Graph().as_default():
        tf.set_random_seed(1)
        inputs, outputs, pins = build()
        with tf.Session(backend=backend) as sess:
            sess.run(tf.global_variables_initializer())
            _perturb_variables(sess, rng)
            model = tf.onnx.export(sess, inputs, outputs, feed_dict=pins)
            feed = _feed_for(inputs, 3, rng)
            want = sess.run(list(outputs.values()), {inputs[k]: v for k, v in feed.items()} | pins)
    imported = tf.onnx.import_model(model)
    assert sorted(imported.inputs) == sorted(inputs) and sorted(imported.outputs) == sorted(outputs)
    with imported.session(backend=backend) as sess:
        got = sess.run([imported.outputs[name] for name in outputs],
                       {imported.inputs[k]: v for k, v in feed.items()})
    for name, g, w in zip(outputs, got, want):
        assert g.shape == w.shape, name
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-5, err_msg=name)
