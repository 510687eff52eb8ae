"""Conv2D + bias add (+ Relu) become one ``_FusedConv2D``, only where nothing else reads the intermediates."""

import numpy as np
import pytest

import graphdl
from graphdl.passes.conv_fusion import fuse_conv_bias_activation
from passes.pass_helpers import assert_pure_pass, assert_same_results, op_types, program_for

RNG = np.random.default_rng(0)
X_NHWC = RNG.standard_normal((2, 7, 6, 3)).astype(np.float32)
W = RNG.standard_normal((3, 2, 3, 5)).astype(np.float32)
B = RNG.standard_normal(5).astype(np.float32)


def _conv(data_format="NHWC"):
    shape = (2, 7, 6, 3) if data_format == "NHWC" else (2, 3, 7, 6)
    x = graphdl.placeholder(graphdl.float32, shape, name="x")
    conv = graphdl.nn.conv2d(x, graphdl.constant(W), [1, 1, 1, 1], "SAME", data_format=data_format, name="conv")
    return x, conv, graphdl.constant(B, name="b")


def _feed(data_format="NHWC"):
    return [X_NHWC if data_format == "NHWC" else X_NHWC.transpose(0, 3, 1, 2)]


def _fused(program):
    return [op for op in program.ops if op.type == "_FusedConv2D"]


@pytest.mark.parametrize(
    "build, fused_ops",
    [
        (lambda conv, b: graphdl.nn.relu(conv + b), ("BiasAdd", "Relu")),
        (lambda conv, b: graphdl.nn.relu(b + conv), ("BiasAdd", "Relu")),
        (lambda conv, b: graphdl.nn.relu(graphdl.nn.bias_add(conv, b)), ("BiasAdd", "Relu")),
        (lambda conv, b: graphdl.nn.bias_add(conv, b), ("BiasAdd",)),
        (lambda conv, b: graphdl.tanh(conv + b), ("BiasAdd",)),  # tanh is not fused: it reads the bias add's output
    ],
    ids=["add-relu", "bias-first", "bias_add-relu", "bias_add", "add-tanh"],
)
def test_chains_become_one_op_computing_the_same(build, fused_ops):
    x, conv, b = _conv()
    y = build(conv, b)
    program = program_for([y], [x])
    fused, changes = assert_pure_pass(fuse_conv_bias_activation, program)
    [op] = _fused(fused)
    assert tuple(op.attrs["fused_ops"]) == fused_ops
    assert "Conv2D" not in op_types(fused) and len(changes) == 1 and changes[0].endswith("-> _FusedConv2D")
    assert_same_results(program, fused, _feed(), rtol=1e-6, atol=1e-6)


def test_nchw_takes_a_bias_add_of_its_format_but_not_a_broadcast_add():
    x, conv, b = _conv("NCHW")
    y = graphdl.nn.relu(graphdl.nn.bias_add(conv, b, data_format="NCHW"))
    program = program_for([y], [x])
    fused, _ = fuse_conv_bias_activation(program)
    assert [tuple(op.attrs["fused_ops"]) for op in _fused(fused)] == [("BiasAdd", "Relu")]
    assert_same_results(program, fused, _feed("NCHW"), rtol=1e-6, atol=1e-6)

    x, conv, _ = _conv("NCHW")
    column = graphdl.constant(RNG.standard_normal(6).astype(np.float32))  # broadcasts along W, not the channels
    y = graphdl.nn.relu(conv + column)
    assert not _fused(fuse_conv_bias_activation(program_for([y], [x]))[0])


@pytest.mark.parametrize("observed", ["conv fetched", "conv read twice", "add fetched", "add read twice", "relu fed"])
def test_intermediates_read_elsewhere_stop_the_fusion_there(observed):
    x, conv, b = _conv()
    added = conv + b
    y = graphdl.nn.relu(added)
    fetches, feeds = [y], [x]
    if observed == "conv fetched":
        fetches.append(conv)
    elif observed == "conv read twice":
        fetches.append(graphdl.reduce_sum(conv))
    elif observed == "add fetched":
        fetches.append(added)
    elif observed == "add read twice":
        fetches.append(graphdl.exp(added))
    else:
        feeds.append(y)
    program = program_for(fetches, feeds)
    fused, _ = fuse_conv_bias_activation(program)
    chains = [tuple(op.attrs["fused_ops"]) for op in _fused(fused)]
    expected = {"conv fetched": [], "conv read twice": [], "add fetched": [("BiasAdd",)],
                "add read twice": [("BiasAdd",)], "relu fed": []}[observed]  # fed: nothing to compute
    assert chains == expected
    feed_values = _feed() + ([np.ones((2, 7, 6, 5), np.float32)] if observed == "relu fed" else [])
    assert_same_results(program, fused, feed_values, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("bias", [np.float32(0.5), RNG.standard_normal((7, 6, 5)).astype(np.float32)],
                         ids=["scalar", "full"])
def test_only_a_vector_of_the_output_channels_is_a_bias(bias):
    x, conv, _ = _conv()
    y = graphdl.nn.relu(conv + graphdl.constant(bias))
    fused, changes = fuse_conv_bias_activation(program_for([y], [x]))
    assert not _fused(fused) and changes == []


@pytest.mark.parametrize("disabled", [[], ["conv_fusion"]])
def test_numba_training_step_matches_the_reference_and_the_pass_can_be_disabled(disabled):
    graph = graphdl.Graph()
    with graph.as_default():
        x = graphdl.placeholder(graphdl.float32, (4, 12, 12, 3))
        labels = graphdl.placeholder(graphdl.int64, (4,))
        w1 = graphdl.Variable(RNG.standard_normal((5, 5, 3, 6)).astype(np.float32) * 0.2)
        b1 = graphdl.Variable(RNG.standard_normal(6).astype(np.float32) * 0.1)
        w2 = graphdl.Variable(RNG.standard_normal((3, 3, 6, 16)).astype(np.float32) * 0.2)
        b2 = graphdl.Variable(RNG.standard_normal(16).astype(np.float32) * 0.1)
        h = graphdl.nn.relu(graphdl.nn.conv2d(x, w1, [1, 1, 1, 1], "VALID") + b1)
        h = graphdl.nn.max_pool(h, [1, 2, 2, 1], [1, 2, 2, 1], "VALID")
        h = graphdl.nn.relu(graphdl.nn.bias_add(graphdl.nn.conv2d(h, w2, [1, 1, 1, 1], "SAME"), b2))
        logits = graphdl.reduce_mean(h, axis=[1, 2])[:, :10]
        loss = graphdl.reduce_mean(graphdl.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
        train = graphdl.train.MomentumOptimizer(0.1, 0.9).minimize(loss)
        init = graphdl.global_variables_initializer()
    feed_values = (RNG.standard_normal((4, 12, 12, 3)).astype(np.float32), np.array([1, 3, 5, 7]))
    results = {}
    for backend in ("reference", "numba"):
        config = graphdl.ConfigProto(disabled_passes=disabled)
        with graphdl.Session(graph=graph, backend=backend, config=config) as sess:
            sess.run(init)
            feed = dict(zip((x, labels), feed_values))
            results[backend] = [sess.run([train, loss], feed)[1] for _ in range(3)] + sess.run([w1, b1, w2, b2])
            if backend == "numba":
                explanation = str(sess.explain([train, loss], feed))
    np.testing.assert_allclose(results["numba"][:3], results["reference"][:3], rtol=1e-5)
    for got, want in zip(results["numba"][3:], results["reference"][3:]):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    assert ("_FusedConv2D" in explanation) == (not disabled)
    assert explanation.count("-> _FusedConv2D") == (0 if disabled else 2)
