"""Graph files: GraphDef/MetaGraphDef round trips, import_graph_def/import_meta_graph semantics,
Saver meta graphs, a save -> fresh process -> import + restore + train run, and malformed files.

Every op table of the test suite (tests/ops/*, control flow, RNN, TensorArray) goes through
serialize -> parse -> import and must give bit-identical outputs and gradients on both backends.
"""

import builtins
import importlib
import json
import os
import pathlib
import pickle
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from harness import BACKENDS, OP_TEST_BACKENDS

import graphdl as tf
from graphdl.framework.attr_codec import GraphFormatError, UnserializableAttrError

TESTS = pathlib.Path(__file__).parent
ROOT = TESTS.parent


# -- every op table round-trips ----------------------------------------------------------------------
def _table_cases():
    modules = [f"ops.{p.stem}" for p in sorted((TESTS / "ops").glob("test_*.py"))]
    modules += ["test_control_flow", "test_rnn", "test_rnn_cells", "test_tensor_array"]
    cases = []
    for name in modules:
        module = importlib.import_module(name)
        cases += [(f"{name.split('.')[-1]}::{c.id}", c) for c in getattr(module, "CASES", [])]
    return cases


TABLE_CASES = _table_cases()


def _build_case(case):
    """The case's graph with its outputs and (for differentiable cases) the gradients of their sum."""
    inputs = [np.asarray(a) for a in case.inputs]
    graph = tf.Graph()
    with graph.as_default():
        phs = [tf.placeholder(tf.as_dtype(a.dtype), list(a.shape), name=f"input{i}") for i, a in enumerate(inputs)]
        result = case.build(*phs)
        outs = list(result) if isinstance(result, (list, tuple)) else [result]
        fetches = list(outs)
        floats = [o for o in outs if o.dtype.is_floating]
        wrt = case.grad_inputs if case.grad_inputs is not None else [
            i for i, a in enumerate(inputs) if a.dtype.kind == "f"]
        if case.grad and floats and wrt:
            grads = tf.gradients(tf.add_n([tf.reduce_sum(o) for o in floats]), [phs[i] for i in wrt])
            fetches += [g for g in grads if g is not None]
    feed = {p.name: a for p, a in zip(phs, inputs)}
    return graph, [t.name for t in fetches], feed


def _run(graph, fetches, feed, backend):
    with tf.Session(graph=graph, backend=backend) as sess:
        return sess.run(fetches, feed)


def _has_unseeded_random(graph):
    return any("seed" in op.attrs and not (op.attrs["seed"] or op.attrs.get("seed2")) for op in graph.get_operations())


def _reimport(graph_def, **kwargs):
    graph = tf.Graph()
    with graph.as_default():
        tf.import_graph_def(tf.GraphDef.FromString(graph_def.SerializeToString()), name="", **kwargs)
    return graph


# (host backends only: serializing is the same for every backend, and the op tables run each case on cuda)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", [c for _, c in TABLE_CASES], ids=[i for i, _ in TABLE_CASES])
def test_op_table_graphs_round_trip(case, backend):
    if backend in case.skip_backends:
        pytest.skip(case.skip_backends[backend])
    graph, fetches, feed = _build_case(case)
    graph_def = graph.as_graph_def()
    loaded = _reimport(graph_def)
    assert loaded.as_graph_def() == graph_def, "serializing the loaded graph must give the same file"
    want = _run(graph, fetches, feed, backend)
    got = _run(loaded, fetches, feed, backend)
    for name, w, g in zip(fetches, want, got):
        assert np.shape(g) == np.shape(w), name
        if not _has_unseeded_random(graph):
            np.testing.assert_array_equal(g, w, err_msg=f"{name} differs after the round trip")


# -- models: meta graph round trip, then identical training ----------------------------------------
def _mlp():
    x = tf.placeholder(tf.float32, [None, 6], name="x")
    y = tf.placeholder(tf.int64, [None], name="y")
    h = tf.layers.dense(x, 16, activation=tf.nn.relu, kernel_regularizer=tf.contrib.layers.l2_regularizer(1e-3))
    logits = tf.layers.dense(h, 3)
    loss = tf.add(tf.losses.sparse_softmax_cross_entropy(y, logits), tf.losses.get_regularization_loss(), name="loss")
    step = tf.train.get_or_create_global_step()
    tf.train.AdamOptimizer(0.01).minimize(loss, global_step=step)
    rng = np.random.default_rng(0)
    return {"x:0": rng.standard_normal((32, 6)).astype(np.float32), "y:0": rng.integers(0, 3, 32)}


def _conv_net():
    x = tf.placeholder(tf.float32, [None, 10, 10, 2], name="x")
    y = tf.placeholder(tf.float32, [None, 4], name="y")
    training = tf.placeholder_with_default(True, [], name="training")
    h = tf.layers.conv2d(x, 4, 3, padding="same", activation=tf.nn.relu)
    h = tf.layers.batch_normalization(h, training=training)
    h = tf.layers.max_pooling2d(h, 2, 2)
    h = tf.nn.avg_pool(tf.nn.conv2d(h, tf.get_variable("k", [3, 3, 4, 4]), [1, 1, 1, 1], "VALID"),
                       [1, 2, 2, 1], [1, 1, 1, 1], "VALID")
    h = tf.layers.dropout(tf.layers.flatten(h), 0.3, training=training)
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=tf.layers.dense(h, 4)),
                          name="loss")
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
        tf.train.MomentumOptimizer(0.05, 0.9).minimize(loss)
    rng = np.random.default_rng(1)
    return {"x:0": rng.standard_normal((5, 10, 10, 2)).astype(np.float32),
            "y:0": np.eye(4, dtype=np.float32)[rng.integers(0, 4, 5)]}


def _control_flow_rnn():
    x = tf.placeholder(tf.float32, [None, 5, 3], name="x")
    lengths = tf.placeholder(tf.int32, [None], name="lengths")
    flag = tf.placeholder(tf.bool, [], name="flag")
    outputs, state = tf.nn.dynamic_rnn(tf.nn.rnn_cell.LSTMCell(6), x, sequence_length=lengths, dtype=tf.float32)
    last = tf.cond(flag, lambda: state.h * 2.0, lambda: tf.reduce_mean(outputs, axis=1))
    w = tf.get_variable("w", [6], initializer=tf.ones_initializer())
    _, acc = tf.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, a * 0.5 + tf.reduce_sum(last * w)),
                           [tf.constant(0), tf.constant(0.0)])
    loss = tf.identity(acc + tf.reduce_sum(tf.square(last)), name="loss")
    tf.train.GradientDescentOptimizer(0.01).minimize(loss)
    rng = np.random.default_rng(2)
    return {"x:0": rng.standard_normal((4, 5, 3)).astype(np.float32), "lengths:0": np.array([5, 3, 1, 4], np.int32),
            "flag:0": True}


MODELS = {"mlp_adam": _mlp, "conv_net": _conv_net, "cond_while_dynamic_rnn": _control_flow_rnn}


def _train(graph, feed, backend, steps=3, restore=None):
    """Initialize (or restore), run ``steps`` training steps; returns (losses, variable values)."""
    with graph.as_default(), tf.Session(graph=graph, backend=backend) as sess:
        if restore is None:
            sess.run(tf.global_variables_initializer())
        else:
            restore(sess)
        train_op = tf.get_collection(tf.GraphKeys.TRAIN_OP)[0]
        loss = graph.get_tensor_by_name("loss:0")
        losses = [sess.run([loss, train_op], feed)[0] for _ in range(steps)]
        return losses, sess.run(tf.global_variables())


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
@pytest.mark.parametrize("model", sorted(MODELS))
def test_model_meta_graph_round_trip_trains_identically(model, backend):
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(7)
        feed = MODELS[model]()
        meta = tf.train.export_meta_graph()
    loaded = tf.Graph()
    with loaded.as_default():
        assert tf.train.import_meta_graph(tf.MetaGraphDef.FromString(meta.SerializeToString())) is not None
        assert [v.name for v in tf.global_variables()] == [v.name for v in graph.get_collection("variables")]
        assert [v.name for v in tf.trainable_variables()] == [
            v.name for v in graph.get_collection("trainable_variables")]
    for key in graph.get_all_collection_keys():
        names = [getattr(v, "name", v) for v in graph.get_collection(key)]
        assert [getattr(v, "name", v) for v in loaded.get_collection(key)] == names, key
    want_losses, want_vars = _train(graph, feed, backend)
    got_losses, got_vars = _train(loaded, feed, backend)
    np.testing.assert_array_equal(got_losses, want_losses)
    assert want_losses[-1] < want_losses[0]
    for w, g in zip(want_vars, got_vars):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_graph_with_summaries_round_trips(backend):
    summary = getattr(tf, "summary", None)
    if summary is None or not hasattr(summary, "merge_all"):
        pytest.skip("graphdl.summary is not available")
    pytest.importorskip("tensorboard")
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [None, 3], name="x")
        with tf.name_scope("stats"):
            summary.scalar("mean", tf.reduce_mean(x))
            summary.histogram("values", x)
        merged = summary.merge_all()
        meta = tf.train.export_meta_graph()
    assert "summaries" in meta.collection_def
    loaded = tf.Graph()
    with loaded.as_default():
        tf.train.import_meta_graph(meta)
        assert len(tf.get_collection(tf.GraphKeys.SUMMARIES)) == 2
    feed = {"x:0": np.arange(6, dtype=np.float32).reshape(2, 3)}
    assert _run(loaded, merged.name, feed, backend) == _run(graph, merged.name, feed, backend)


OPTIMIZERS = {
    "sgd": lambda: tf.train.GradientDescentOptimizer(0.1),
    "momentum_nesterov": lambda: tf.train.MomentumOptimizer(0.1, 0.9, use_nesterov=True),
    "adagrad": lambda: tf.train.AdagradOptimizer(0.1),
    "rmsprop_centered": lambda: tf.train.RMSPropOptimizer(0.01, momentum=0.5, centered=True),
    "adadelta": lambda: tf.train.AdadeltaOptimizer(1.0),
    "proximal_sgd": lambda: tf.train.ProximalGradientDescentOptimizer(0.1, l1_regularization_strength=0.01),
}


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_optimizers_and_seeded_random_ops_round_trip(backend):
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(11)
        x = tf.placeholder(tf.float32, [None, 3], name="x")
        w = tf.Variable(tf.random_normal([3, 1]), name="w")
        loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - 1.0), name="loss")
        for name, make in OPTIMIZERS.items():
            make().minimize(loss, name=name)
        draws = [tf.random_uniform([4]), tf.truncated_normal([4]), tf.random_shuffle(tf.range(6)),
                 tf.multinomial(tf.zeros([2, 3]), 4), tf.random_gamma([3], 2.0), tf.random_poisson(3.0, [3]),
                 tf.random_uniform([3], 0, 10, dtype=tf.int32), tf.nn.dropout(tf.ones([6]), 0.5)]
        fetches = [t.name for t in draws]
        tf.global_variables_initializer()
    loaded = _reimport(graph.as_graph_def())
    feed = {"x:0": np.arange(6, dtype=np.float32).reshape(2, 3)}
    results = []
    for g in (graph, loaded):
        with tf.Session(graph=g, backend=backend) as sess:
            sess.run("init")
            steps = [sess.run([name, "loss:0"], feed)[1] for name in OPTIMIZERS]
            results.append((steps, sess.run("w:0"), sess.run(fetches), sess.run(fetches)))
    (steps, w, draws1, draws2), (steps_l, w_l, draws1_l, draws2_l) = results
    np.testing.assert_array_equal(steps_l, steps)
    np.testing.assert_array_equal(w_l, w)
    for a, b in zip(draws1 + draws2, draws1_l + draws2_l):
        np.testing.assert_array_equal(b, a)


# -- save in one process, import + restore + train in another -----------------------------------------
_PROCESS_A = """
import sys, numpy as np, graphdl as tf
backend, ckpt_dir = sys.argv[1], sys.argv[2]
tf.set_random_seed(3)
rng = np.random.default_rng(5)
X, Y = rng.standard_normal((40, 4)).astype(np.float32), rng.standard_normal((40, 1)).astype(np.float32)
x = tf.placeholder(tf.float32, [None, 4], name="x")
y = tf.placeholder(tf.float32, [None, 1], name="y")
with tf.variable_scope("net"):
    h = tf.layers.dense(x, 8, activation=tf.nn.tanh)
    pred = tf.layers.dense(h, 1, name="out")
loss = tf.reduce_mean(tf.square(pred - y), name="loss")
step = tf.train.get_or_create_global_step()
train = tf.train.AdamOptimizer(0.05).minimize(loss, global_step=step)
saver = tf.train.Saver(max_to_keep=2)
with tf.Session(backend=backend) as sess:
    sess.run(tf.global_variables_initializer())
    for _ in range(4):
        sess.run(train, {x: X, y: Y})
    path = saver.save(sess, ckpt_dir + "/model.ckpt", global_step=step)
    names = [v.op.name for v in tf.global_variables()]
    np.savez(ckpt_dir + "/saved.npz", **dict(zip(names, sess.run(tf.global_variables()))))
    for _ in range(3):
        sess.run(train, {x: X, y: Y})
    np.savez(ckpt_dir + "/continued.npz", **dict(zip(names, sess.run(tf.global_variables()))))
print(path)
"""

_PROCESS_B = """
import sys, numpy as np, graphdl as tf
backend, ckpt_dir = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(5)
X, Y = rng.standard_normal((40, 4)).astype(np.float32), rng.standard_normal((40, 1)).astype(np.float32)
path = tf.train.latest_checkpoint(ckpt_dir)
saver = tf.train.import_meta_graph(path + ".meta")
graph = tf.get_default_graph()
saved, continued = np.load(ckpt_dir + "/saved.npz"), np.load(ckpt_dir + "/continued.npz")
names = [v.op.name for v in tf.global_variables()]
assert sorted(names) == sorted(saved.files), (names, saved.files)
assert [v.op.name for v in tf.trainable_variables()] == ["net/dense/kernel", "net/dense/bias", "net/out/kernel",
                                                         "net/out/bias"]
with tf.Session(backend=backend) as sess:
    saver.restore(sess, path)
    for v, value in zip(tf.global_variables(), sess.run(tf.global_variables())):
        assert value.dtype == saved[v.op.name].dtype and np.array_equal(value, saved[v.op.name]), v.op.name
    train = tf.get_collection("train_op")[0]
    x, y = graph.get_tensor_by_name("x:0"), graph.get_tensor_by_name("y:0")
    for _ in range(3):
        sess.run(train, {x: X, y: Y})
    for v, value in zip(tf.global_variables(), sess.run(tf.global_variables())):
        assert np.array_equal(value, continued[v.op.name]), v.op.name
    assert sess.run(tf.train.get_global_step()) == 7
    print("restored", len(names), "variables; loss", sess.run("loss:0", {x: X, y: Y}))
"""


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_save_then_import_meta_graph_and_train_in_a_fresh_process(backend, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for name, code in (("a.py", _PROCESS_A), ("b.py", _PROCESS_B)):
        (tmp_path / name).write_text(textwrap.dedent(code))
    a = subprocess.run([sys.executable, str(tmp_path / "a.py"), backend, str(tmp_path)], check=False,
                       capture_output=True, text=True, env=env, timeout=300)
    assert a.returncode == 0, a.stderr
    assert (tmp_path / "model.ckpt-4.meta").is_file()
    b = subprocess.run([sys.executable, str(tmp_path / "b.py"), backend, str(tmp_path)], check=False,
                       capture_output=True, text=True, env=env, timeout=300)
    assert b.returncode == 0, b.stderr
    assert "restored 15 variables" in b.stdout


# -- import_graph_def semantics ------------------------------------------------------------------------
def _small_graph():
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [None, 2], name="x")
        scale = tf.constant(np.arange(20, dtype=np.float32).reshape(10, 2)[:1] + 1.0, name="scale")
        y = tf.identity(x * scale + 1.0, name="y")
        with tf.control_dependencies([y]):
            tf.no_op(name="after")
    return graph


def test_import_graph_def_prefixes_maps_inputs_and_returns_elements():
    graph_def = _small_graph().as_graph_def()
    with tf.Graph().as_default() as graph:
        z = tf.constant([[2.0, 3.0]], name="z")
        y, after = tf.import_graph_def(graph_def, input_map={"x:0": z}, return_elements=["y:0", "after"])
        assert y.name == "import/y:0" and isinstance(after, tf.Operation) and after.name == "import/after"
        assert after.control_inputs == [y.op]
        assert graph.get_tensor_by_name("import/mul:0").op.inputs[0] is z
        (y2,) = tf.import_graph_def(graph_def, input_map={"x": z}, return_elements=["y:0"])
        assert y2.name == "import_1/y:0"
        assert tf.import_graph_def(graph_def, name="copy") is None
        with tf.Session() as sess:
            np.testing.assert_array_equal(sess.run(y), [[3.0, 7.0]])
            np.testing.assert_array_equal(sess.run(y2), [[3.0, 7.0]])
        with pytest.raises(ValueError, match="not found in graph_def"):
            tf.import_graph_def(graph_def, input_map={"nope:0": z})
        with pytest.raises(ValueError, match="dtype"):
            tf.import_graph_def(graph_def, input_map={"x:0": tf.constant([[1, 2]])})
        with pytest.raises(ValueError, match="return_element"):
            tf.import_graph_def(graph_def, return_elements=["missing:0"])
        with pytest.raises(TypeError, match="GraphDef"):
            tf.import_graph_def(_small_graph())


def test_graph_def_views_and_names_after_import():
    graph_def = _small_graph().as_graph_def()
    nodes = {n.name: n for n in graph_def.node}
    assert nodes["mul"].op == "Mul" and nodes["mul"].input == ["x", "scale"]
    assert nodes["after"].input == ["^y"]
    assert nodes["scale"].attr["value"]["array"]["values"] == [1.0, 2.0]
    with tf.Graph().as_default() as graph:
        tf.import_graph_def(graph_def, name="")
        # New ops do not collide with imported names or scopes.
        assert tf.identity(graph.get_tensor_by_name("y:0"), name="y").name == "y_1:0"
        assert tf.add(1.0, 2.0).name == "Add_1:0"  # "add" is taken (names are case-insensitive)
        assert tf.sqrt(1.0).name == "Sqrt:0"
        assert tf.multiply(1.0, 2.0).name == "Mul_1:0"


def test_set_shape_and_devices_survive_and_clear_devices_drops_devices():
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, None, name="x")
        with tf.device("/cpu:0"):
            y = tf.identity(x, name="y")
        y.set_shape([None, 4])
        meta = tf.train.export_meta_graph()
    with tf.Graph().as_default() as g2:
        tf.import_graph_def(graph.as_graph_def(), name="")
        assert g2.get_tensor_by_name("y:0").shape.as_list() == [None, 4]
        assert g2.get_operation_by_name("y").device == "/cpu:0"
    with tf.Graph().as_default() as g3:
        tf.train.import_meta_graph(meta, clear_devices=True)
        assert g3.get_operation_by_name("y").device == ""


def test_write_graph_text_and_binary(tmp_path):
    graph = _small_graph()
    text_path = tf.train.write_graph(graph, str(tmp_path / "new_dir"), "graph.json")
    bin_path = tf.train.write_graph(graph.as_graph_def(), str(tmp_path), "graph.bin", as_text=False)
    assert text_path == str(tmp_path / "new_dir" / "graph.json")
    text, binary = pathlib.Path(text_path).read_bytes(), pathlib.Path(bin_path).read_bytes()
    assert len(text.splitlines()) > 5 and len(binary.splitlines()) == 1
    assert tf.GraphDef.FromString(text) == tf.GraphDef.FromString(binary) == graph.as_graph_def()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp files left
    loaded = tf.load_graph(bin_path)
    with tf.Session(graph=loaded) as sess:
        np.testing.assert_array_equal(sess.run("y:0", {"x:0": [[1.0, 1.0]]}), [[2.0, 3.0]])


def test_large_constants_are_base64_and_exact():
    values = np.random.default_rng(0).standard_normal((30, 7)).astype(np.float64)
    values[0, 0], values[1, 1] = np.nan, -np.inf
    graph = tf.Graph()
    with graph.as_default():
        tf.constant(values, name="big")
        tf.constant(np.array([[b"ab", b"\xff"]]), name="strings")
        tf.constant(["c\u00e9"], name="text")
        tf.constant(np.float16(0.1), name="half")
    graph_def = graph.as_graph_def()
    assert "base64" in graph_def.as_dict()["nodes"][0]["attrs"]["value"]["array"]
    loaded = _reimport(graph_def)
    with tf.Session(graph=loaded) as sess:
        big, strings, text, half = sess.run(["big:0", "strings:0", "text:0", "half:0"])
    np.testing.assert_array_equal(big, values)
    assert strings.tolist() == [[b"ab", b"\xff"]] and text.tolist() == ["c\u00e9"]
    assert half.dtype == np.float16 and half == np.float16(0.1)


# -- import_meta_graph / Saver meta graphs --------------------------------------------------------------
def test_import_meta_graph_with_scope_restores_and_keeps_training(tmp_path):
    with tf.Graph().as_default():
        tf.set_random_seed(1)
        feed = _mlp()
        saver = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(tf.get_collection("train_op"), feed)
            prefix = saver.save(sess, str(tmp_path / "m"))
            want = {v.op.name: value for v, value in zip(tf.global_variables(), sess.run(tf.global_variables()))}
    with tf.Graph().as_default() as graph:
        tf.constant(0.0, name="other")
        restorer = tf.train.import_meta_graph(prefix + ".meta", import_scope="tower")
        assert all(v.op.name.startswith("tower/") for v in tf.global_variables())
        assert graph.get_tensor_by_name("tower/loss:0") is not None
        loss = graph.get_tensor_by_name("tower/loss:0")
        # A new optimizer on the imported loss, and get_variable reuse, work on the imported variables.
        train2 = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
        with tf.variable_scope("tower/dense", reuse=True):
            assert tf.get_variable("kernel") is graph.get_collection("trainable_variables")[0]
        with tf.Session() as sess:
            sess.run(tf.variables_initializer([v for v in tf.global_variables() if v.op.name not in
                                               {"tower/" + k for k in want}]))
            restorer.restore(sess, prefix)
            for v in tf.global_variables():
                if v.op.name[len("tower/"):] in want:
                    np.testing.assert_array_equal(sess.run(v), want[v.op.name[len("tower/"):]])
            tower_feed = {"tower/" + k: v for k, v in feed.items()}
            before = sess.run(loss, tower_feed)
            for _ in range(3):
                sess.run(train2, tower_feed)
            assert sess.run(loss, tower_feed) < before


def test_importing_twice_without_a_scope_says_how_to_fix_it():
    meta = tf.train.export_meta_graph(graph=_small_graph())
    with tf.Graph().as_default():
        tf.train.import_meta_graph(meta)
        with pytest.raises(ValueError, match="already has an op named 'x'.*import_scope"):
            tf.train.import_meta_graph(meta)
        tf.train.import_meta_graph(meta, import_scope="second")


def test_import_meta_graph_without_variables_returns_none():
    graph = _small_graph()
    meta = tf.train.export_meta_graph(graph=graph)
    with tf.Graph().as_default():
        assert tf.train.import_meta_graph(meta) is None


def test_imported_variables_have_every_field_of_a_built_variable():
    with tf.Graph().as_default():
        built = tf.Variable(np.ones(3, np.float32), name="v")
        meta = tf.train.export_meta_graph()
    with tf.Graph().as_default():
        tf.train.import_meta_graph(meta)
        (loaded,) = tf.global_variables()
    assert isinstance(loaded, tf.Variable) and set(vars(loaded)) == set(vars(built))
    assert loaded.initializer.name == built.initializer.name and loaded.value().name == built.value().name
    assert loaded.initial_value.name == built.initial_value.name and loaded.trainable


def test_saver_writes_meta_graphs_and_deletes_old_ones(tmp_path, caplog):
    with tf.Graph().as_default() as graph:
        v = tf.Variable(1.0, name="v")
        tf.add_to_collection("numbers", 1.5)
        tf.add_to_collection("python_objects", object())
        saver = tf.train.Saver(max_to_keep=1)
        with tf.Session() as sess:
            sess.run(v.initializer)
            saver.save(sess, str(tmp_path / "a"), global_step=1)
            saver.save(sess, str(tmp_path / "a"), global_step=2)
            files = sorted(p.name for p in tmp_path.iterdir())
            assert "a-2.meta" in files and "a-1.meta" not in files and "a-1.npz" not in files
            shutil.copy(tmp_path / "a-2.meta", tmp_path / "kept.meta")
            saver.save(sess, str(tmp_path / "b"), write_meta_graph=False)
            assert not (tmp_path / "b.meta").exists() and (tmp_path / "b.npz").exists()
            meta = saver.export_meta_graph(str(tmp_path / "explicit.meta"), as_text=True)
        # A graph holding a Python function in an attr gets a warning, not a failed save.
        graph.create_op("NoOp", [], {"callback": lambda: 0}, name="weird")
        with tf.Session() as sess:
            sess.run(v.initializer)
            saver.save(sess, str(tmp_path / "c"))
    assert not (tmp_path / "c.meta").exists() and (tmp_path / "c.npz").exists()
    assert "cannot be written" in caplog.text and "python_objects" in caplog.text
    assert set(meta.collection_def) == {"variables", "trainable_variables", "numbers"}
    assert meta.saver_def.var_names == {"v": "v"} and meta.saver_def.max_to_keep == 1
    assert tf.train.meta_graph.read_meta_graph_file(tmp_path / "explicit.meta").collection_def == meta.collection_def
    with tf.Graph().as_default():
        tf.train.import_meta_graph(str(tmp_path / "kept.meta"))
        assert tf.get_collection("numbers") == [1.5]


class _Pair:
    def __init__(self, tensor, op):
        self.tensor, self.op = tensor, op


def test_registered_collection_codecs_round_trip_custom_items():
    from graphdl.train import meta_graph

    meta_graph.register_collection_codec(
        "test_pair", _Pair, lambda p, name_of: {"tensor": name_of(p.tensor), "op": name_of(p.op)},
        lambda data, element: _Pair(element(data["tensor"]), element(data["op"])),
    )
    try:
        with tf.Graph().as_default():
            t = tf.constant(1.0, name="t")
            tf.add_to_collection("pairs", _Pair(t, t.op))
            meta = tf.train.export_meta_graph()
        assert meta.collection_def["pairs"] == [{"test_pair": {"tensor": "t:0", "op": "t"}}]
        with tf.Graph().as_default() as graph:
            tf.train.import_meta_graph(meta, import_scope="s")
            (pair,) = tf.get_collection("pairs")
            assert pair.tensor is graph.get_tensor_by_name("s/t:0") and pair.op is pair.tensor.op
    finally:
        meta_graph._CODECS.pop("test_pair")
    with tf.Graph().as_default(), pytest.raises(GraphFormatError, match="'test_pair'.*may not be imported"):
        tf.train.import_meta_graph(meta)
    with pytest.raises(ValueError, match="reserved"):
        meta_graph.register_collection_codec("tensor", _Pair, None, None)


def test_export_of_unserializable_attr_names_op_and_attr():
    with tf.Graph().as_default() as graph:
        graph.create_op("NoOp", [], {"callback": lambda: 0}, name="weird")
        with pytest.raises(UnserializableAttrError, match="attr 'callback' of op 'weird'"):
            graph.as_graph_def()


def test_save_graph_and_load_graph(tmp_path):
    with tf.Graph().as_default() as graph:
        tf.set_random_seed(2)
        feed = _mlp()
    path = tf.save_graph(graph, tmp_path / "model.json")
    loaded = tf.load_graph(path)
    assert [v.name for v in loaded.get_collection("variables")] == [v.name for v in graph.get_collection("variables")]
    want, _ = _train(graph, feed, "reference", steps=2)
    got, _ = _train(loaded, feed, "reference", steps=2)
    np.testing.assert_array_equal(got, want)


def test_load_session_restores_a_checkpoint(tmp_path):
    with tf.Graph().as_default():
        w = tf.Variable([1.0, 2.0], name="w")
        tf.identity(w * 3.0, name="y")
        saver = tf.train.Saver({"renamed_key": w})
        with tf.Session() as sess:
            sess.run(w.assign([4.0, 5.0]))
            prefix = saver.save(sess, str(tmp_path / "m"))
    sess = tf.train.meta_graph.load_session(prefix + ".meta", prefix, backend="reference")
    np.testing.assert_array_equal(sess.run("y:0"), [12.0, 15.0])
    with pytest.raises(ValueError, match="no variables"):
        tf.train.meta_graph.load_session(tf.save_graph(_small_graph(), tmp_path / "g.json"), prefix)


def test_export_scope_strips_the_scope():
    with tf.Graph().as_default():
        outside = tf.constant(1.0, name="outside")
        with tf.variable_scope("outer"):
            w = tf.get_variable("w", [2], initializer=tf.ones_initializer())
            tf.identity(w * 2.0, name="y")
        meta = tf.train.export_meta_graph(export_scope="outer")
        assert sorted(n.name for n in meta.graph_def.node if "/" not in n.name) == ["Const", "mul", "w", "y"]
        tf.add(w, outside, name="outer/mixed")
        with pytest.raises(ValueError, match="'outer/mixed' takes 'outside:0', which is outside the exported scope"):
            tf.train.export_meta_graph(export_scope="outer")
    with tf.Graph().as_default() as graph:
        tf.train.import_meta_graph(meta, import_scope="copy")
        assert [v.op.name for v in tf.global_variables()] == ["copy/w"]
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            np.testing.assert_array_equal(sess.run(graph.get_tensor_by_name("copy/y:0")), [2.0, 2.0])


# -- malformed files --------------------------------------------------------------------------------------
def _meta_dict():
    with tf.Graph().as_default():
        tf.set_random_seed(3)
        _control_flow_rnn()
        return json.loads(tf.train.export_meta_graph().SerializeToString())


def _load(data):
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    with tf.Graph().as_default():
        return tf.train.import_meta_graph(tf.MetaGraphDef.FromString(raw))


def _node(data, op_type):
    return next(n for n in data["graph_def"]["nodes"] if n["op"] == op_type)


def test_truncated_and_foreign_files_are_refused(tmp_path):
    raw = json.dumps(_meta_dict()).encode()
    (tmp_path / "t.meta").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(GraphFormatError, match="corrupt or truncated"):
        tf.train.import_meta_graph(str(tmp_path / "t.meta"))
    with pytest.raises(GraphFormatError, match="not UTF-8"):
        _load(b"\x80\x04\x95 pickle bytes")
    with pytest.raises(GraphFormatError, match="not a graphdl meta graph"):
        _load({"format": "tensorflow", "version": 1})
    with pytest.raises(OSError, match="does not exist"):
        tf.train.import_meta_graph(str(tmp_path / "missing.meta"))
    with pytest.raises(GraphFormatError, match="not a graphdl graph"):
        tf.GraphDef.FromString(raw)


def test_newer_format_versions_are_refused():
    data = _meta_dict()
    data["version"] = 2
    with pytest.raises(GraphFormatError, match="newer graphdl"):
        _load(data)
    data = _meta_dict()
    data["graph_def"]["version"] = 99
    with pytest.raises(GraphFormatError, match="version 99.*Upgrade graphdl"):
        _load(data)


@pytest.mark.parametrize("corrupt, message", [
    (lambda d: _node(d, "MatMul").update(op="os.system"), "op type 'os.system' is not registered"),
    (lambda d: _node(d, "MatMul")["attrs"].update(transpose_a={"pickle": "gASVAAAAAAA="}),
     "unknown attr value encoding 'pickle'"),
    (lambda d: _node(d, "Const")["attrs"]["value"]["array"].update(dtype="object"), "unknown dtype 'object'"),
    (lambda d: _node(d, "Const")["attrs"]["value"]["array"].update(shape=[1000]), "needs 1000 values"),
    (lambda d: _node(d, "MatMul")["inputs"].__setitem__(0, "nowhere:0"), "'nowhere' does not name an earlier op"),
    (lambda d: _node(d, "MatMul")["outputs"][0].update(dtype="int32"), "dtype int32 in the file"),
    (lambda d: _node(d, "MatMul").update(code="print(1)"), "unknown fields"),
    (lambda d: d["collections"]["train_op"].append({"object": "builtins.eval"}), "unknown collection item kind"),
    (lambda d: d["variables"][next(iter(d["variables"]))].update(initializer="loss"), "not the Assign"),
])
def test_crafted_files_are_refused_with_clear_errors(corrupt, message):
    data = _meta_dict()
    corrupt(data)
    with pytest.raises(GraphFormatError, match=message):
        _load(data)


def test_crafted_base64_and_function_references_are_refused():
    data = _meta_dict()
    while_node = _node(data, "While")
    while_node["attrs"]["body_graph"] = {"function_ref": "f999"}
    with pytest.raises(GraphFormatError, match="function_ref 'f999'"):
        _load(data)
    with tf.Graph().as_default():
        tf.constant(np.zeros(100, np.float32), name="c")
        data = json.loads(tf.train.export_meta_graph().SerializeToString())
    _node(data, "Const")["attrs"]["value"]["array"]["base64"] = "AAAA"
    with pytest.raises(GraphFormatError, match="needs 400 bytes, got 3"):
        _load(data)


def test_loading_never_unpickles_or_evaluates(monkeypatch, tmp_path):
    with tf.Graph().as_default():
        tf.set_random_seed(4)
        _control_flow_rnn()
        path = str(tmp_path / "m.meta")
        tf.train.export_meta_graph(path)

    def forbidden(*args, **kwargs):
        raise AssertionError("graph loading must not unpickle or evaluate code")

    for module, name in [(pickle, "loads"), (pickle, "load"), (pickle, "Unpickler"), (builtins, "eval"),
                         (builtins, "exec"), (builtins, "compile"), (np, "load")]:
        monkeypatch.setattr(module, name, forbidden)
    with tf.Graph().as_default():
        assert tf.train.import_meta_graph(path) is not None
    for source in ["graphdl/framework/attr_codec.py", "graphdl/framework/graph_io.py", "graphdl/train/meta_graph.py"]:
        text = (ROOT / source).read_text()
        assert "import pickle" not in text and "eval(" not in text and "exec(" not in text, source
