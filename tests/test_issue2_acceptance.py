"""Issue 2 acceptance, written the way a TF1 (1.15) user would call the API after ``import graphdl as tf``.

Graph IR, dtypes, default graph, name scopes, control dependencies, collections, operator
overloads, gradients, optimizers, sessions, feeds, errors and the random seed rule. The ops
listed in the issue are checked in ``test_issue2_acceptance_ops.py``, gradients and optimizers in
``test_issue2_acceptance_training.py``.
"""

import collections

import numpy as np
import pytest
from harness import OP_TEST_BACKENDS

import graphdl as tf


# -- Graph IR -------------------------------------------------------------------------------------
def test_tensor_attributes():
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    with tf.name_scope("dense"):
        w = tf.constant(np.ones((3, 2), np.float32))
        y = tf.matmul(x, w)
    assert x.name == "x:0" and y.name == "dense/MatMul:0"
    assert x.dtype == tf.float32 and y.dtype == tf.float32
    assert x.shape.as_list() == [None, 3] and y.shape.as_list() == [None, 2]
    assert x.get_shape().as_list() == [None, 3]
    assert y.op.type == "MatMul" and y.op.name == "dense/MatMul"
    assert x.graph is tf.get_default_graph() and y.op.graph is tf.get_default_graph()
    assert x.consumers() == [y.op]
    assert list(y.op.inputs) == [x, w] and y.op.outputs[0] is y
    assert isinstance(y, tf.Tensor) and isinstance(y.op, tf.Operation)


def test_dtypes():
    names = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]
    for n in names:
        dt = getattr(tf, n)
        assert isinstance(dt, tf.DType) and dt.name == n
        assert tf.as_dtype(dt.as_numpy_dtype) == dt
    assert tf.float32.as_numpy_dtype is np.float32 and tf.bool.as_numpy_dtype is np.bool_
    assert tf.float32.is_floating and tf.int32.is_integer and not tf.int32.is_floating
    assert tf.as_dtype("float32") == tf.float32 and tf.as_dtype(np.int64) == tf.int64
    assert tf.constant(1).dtype == tf.int32 and tf.constant(1.0).dtype == tf.float32
    assert tf.constant(True).dtype == tf.bool
    assert tf.constant(np.float64(1.0)).dtype == tf.float64 and tf.constant(np.arange(3)).dtype == tf.int64


def test_default_graph_and_as_default():
    g0 = tf.get_default_graph()
    g = tf.Graph()
    with g.as_default():
        c = tf.constant(1.0)
        assert tf.get_default_graph() is g
    assert c.graph is g and tf.get_default_graph() is g0
    assert c not in [t for op in g0.get_operations() for t in op.outputs]
    tf.constant(2.0)
    assert len(g0.get_operations()) == 1
    tf.reset_default_graph()
    assert tf.get_default_graph() is not g0 and tf.get_default_graph().get_operations() == []


def test_unique_names_and_name_scope():
    a = tf.constant(1.0, name="c")
    b = tf.constant(1.0, name="c")
    assert (a.name, b.name) == ("c:0", "c_1:0")
    with tf.name_scope("layer") as scope:
        assert scope == "layer/"
        s = tf.add(a, b)
        with tf.name_scope("inner"):
            m = a * b
    with tf.name_scope("layer") as scope2:
        s2 = tf.add(a, b)
    assert scope2 == "layer_1/"
    assert s.name == "layer/Add:0" and m.name == "layer/inner/mul:0" and s2.name == "layer_1/Add:0"
    with tf.name_scope(scope):  # a name ending in "/" re-enters that exact scope
        s3 = tf.add(a, b, name="again")
    assert s3.name == "layer/again:0"
    with tf.name_scope(None):
        assert tf.constant(0).name == "Const:0"
    v = tf.Variable(1.0, name="v")
    assert tf.Variable(2.0, name="v").name == "v_1:0" and v.name == "v:0"


def test_control_dependencies():
    v = tf.Variable(0.0)
    inc = tf.assign_add(v, 1.0)
    with tf.control_dependencies([inc]):
        out = tf.identity(v)
        assert inc.op in out.op.control_inputs
        with tf.control_dependencies(None):
            free = tf.identity(v)
    assert free.op.control_inputs == []
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(out) == 1.0 and sess.run(out) == 2.0
        assert sess.run(free) == 2.0


def test_collections():
    assert tf.GraphKeys.GLOBAL_VARIABLES == "variables"
    assert tf.GraphKeys.TRAINABLE_VARIABLES == "trainable_variables"
    assert tf.GraphKeys.UPDATE_OPS == "update_ops" and tf.GraphKeys.SUMMARIES == "summaries"
    assert tf.GraphKeys.LOSSES == "losses" and tf.GraphKeys.REGULARIZATION_LOSSES == "regularization_losses"
    with tf.name_scope("layer1"):
        w1 = tf.Variable(tf.zeros([2]), name="w")
    with tf.name_scope("layer2"):
        w2 = tf.Variable(tf.zeros([2]), name="w")
        step = tf.Variable(0, trainable=False, name="step")
    assert tf.get_collection(tf.GraphKeys.GLOBAL_VARIABLES) == [w1, w2, step]
    assert tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES) == [w1, w2]
    assert tf.get_collection(tf.GraphKeys.GLOBAL_VARIABLES, scope="layer2") == [w2, step]
    assert tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES, "layer1") == [w1]
    assert tf.global_variables() == [w1, w2, step] and tf.trainable_variables() == [w1, w2]
    assert tf.trainable_variables(scope="layer2") == [w2]
    x = tf.constant(1.0)
    tf.add_to_collection("mine", x)
    tf.add_to_collection(tf.GraphKeys.UPDATE_OPS, x.op)
    got = tf.get_collection("mine")
    got.append(None)  # get_collection returns a copy
    assert tf.get_collection("mine") == [x] and tf.get_collection(tf.GraphKeys.UPDATE_OPS) == [x.op]
    assert tf.get_collection("missing") == []
    assert tf.get_default_graph().get_collection("mine") == [x]


def test_get_operations_and_lookups():
    x = tf.placeholder(tf.float32, name="x")
    with tf.name_scope("s"):
        y = tf.multiply(x, 2.0, name="y")
    g = tf.get_default_graph()
    ops = g.get_operations()
    assert ops[0] is x.op and ops[-1] is y.op and len(ops) == 3  # creation order; the 2.0 is a Const
    assert g.get_tensor_by_name("s/y:0") is y
    assert g.get_operation_by_name("s/y") is y.op
    assert g.get_tensor_by_name("x:0") == x
    with pytest.raises(KeyError, match="nope"):
        g.get_tensor_by_name("nope:0")
    with pytest.raises(KeyError, match="nope"):
        g.get_operation_by_name("nope")
    with pytest.raises(ValueError):
        g.get_tensor_by_name("x")  # an operation name, not a tensor name


def test_finalize():
    g = tf.Graph()
    with g.as_default():
        c = tf.constant(2.0)
        g.finalize()
        assert g.finalized
        with pytest.raises(RuntimeError, match="finalized"):
            tf.constant(1.0)
        with tf.Session(graph=g) as sess:
            assert sess.run(c) == 2.0


# -- operator overloads ---------------------------------------------------------------------------
def test_operator_overloads():
    a_np = np.array([[1.5, -2.0, 3.0], [4.0, 5.5, -6.0]], np.float32)
    b_np = np.array([2.0, -3.0, 4.0], np.float32)
    a, b = tf.constant(a_np), tf.constant(b_np)
    m = tf.constant(np.arange(6, dtype=np.float32).reshape(3, 2))
    exprs = {
        "add": (a + b, a_np + b_np), "radd": (1.0 + a, 1.0 + a_np), "sub": (a - b, a_np - b_np),
        "rsub": (2 - a, 2 - a_np), "mul": (a * b, a_np * b_np), "rmul": (3 * a, 3 * a_np),
        "div": (a / b, a_np / b_np), "rdiv": (1 / b, 1 / b_np),
        "floordiv": (a // b, np.floor_divide(a_np, b_np)), "rfloordiv": (7.0 // b, np.floor_divide(7.0, b_np)),
        "mod": (a % b, np.mod(a_np, b_np)), "rmod": (7.0 % b, np.mod(7.0, b_np)),
        "pow": (tf.abs(a) ** 2, np.abs(a_np) ** 2), "rpow": (2.0 ** b, 2.0 ** b_np),
        "matmul": (a @ m, a_np @ np.arange(6, dtype=np.float32).reshape(3, 2)),
        "rmatmul": (np.ones((1, 2), np.float32) @ a, np.ones((1, 2), np.float32) @ a_np),
        "neg": (-a, -a_np), "abs": (abs(a), np.abs(a_np)),
        "lt": (a < b, a_np < b_np), "le": (a <= 3.0, a_np <= 3.0), "gt": (a > b, a_np > b_np),
        "ge": (a >= b, a_np >= b_np),
    }
    with tf.Session() as sess:
        got = sess.run({k: v[0] for k, v in exprs.items()})
    for k, (_, want) in exprs.items():
        assert got[k].shape == np.shape(want), k
        np.testing.assert_allclose(got[k], want, rtol=1e-6, err_msg=k)
    assert (a < b).dtype == tf.bool


def test_int_operator_overloads():
    a_np, b_np = np.array([7, -7, 6], np.int32), np.array([2, 2, -4], np.int32)
    a, b = tf.constant(a_np), tf.constant(b_np)
    with tf.Session() as sess:
        fd, md, td = sess.run([a // b, a % b, a / b])
    np.testing.assert_array_equal(fd, np.floor_divide(a_np, b_np))
    np.testing.assert_array_equal(md, np.mod(a_np, b_np))  # TF's floormod: sign follows the divisor
    assert td.dtype == np.float64  # TF1: int32 / int32 is truediv into float64
    np.testing.assert_allclose(td, a_np / b_np)


def test_logical_operator_overloads():
    p_np, q_np = np.array([True, True, False]), np.array([True, False, False])
    p, q = tf.constant(p_np), tf.constant(q_np)
    with tf.Session() as sess:
        r = sess.run([p & q, p | q, ~p, p ^ q])
    for got, want in zip(r, [p_np & q_np, p_np | q_np, ~p_np, p_np ^ q_np]):
        np.testing.assert_array_equal(got, want)


def test_getitem_forms():
    x_np = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    x = tf.placeholder(tf.float32, [None, 3, 4])
    i = tf.placeholder(tf.int32, [])
    forms = {
        "int": (x[0], x_np[0]), "neg": (x[-1], x_np[-1]), "slice": (x[:, 1:3], x_np[:, 1:3]),
        "step": (x[:, ::-1, ::2], x_np[:, ::-1, ::2]), "newaxis": (x[:, None], x_np[:, None]),
        "tf_newaxis": (x[tf.newaxis, 0], x_np[np.newaxis, 0]), "ellipsis": (x[..., 1], x_np[..., 1]),
        "mixed": (x[1, ..., -2:], x_np[1, ..., -2:]), "negslice": (x[:, -2:, :-1], x_np[:, -2:, :-1]),
        "tensor_index": (x[i], x_np[1]), "tensor_slice": (x[:, i:], x_np[:, 1:]),
    }
    with tf.Session() as sess:
        got = sess.run({k: v[0] for k, v in forms.items()}, {x: x_np, i: 1})
    for k, (t, want) in forms.items():
        np.testing.assert_array_equal(got[k], want, err_msg=k)
    assert x[0].shape.as_list() == [3, 4] and x[:, None].shape.as_list() == [None, 1, 3, 4]
    assert x[..., 1].shape.as_list() == [None, 3]


def _run(fetches, feed=None):
    with tf.Session() as sess:
        return sess.run(fetches, feed)


# -- Session --------------------------------------------------------------------------------------
Pair = collections.namedtuple("Pair", ["a", "b"])


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_session_fetch_structures(backend):
    x = tf.placeholder(tf.float32, [2], name="x")
    y = x * 2.0
    z = tf.reduce_sum(x, name="z")
    init = tf.no_op(name="init")
    with tf.Session(backend=backend) as sess:
        out = sess.run({"y": y, "pair": Pair(z, [y, (z,)]), "op": init, "name": "z:0"}, feed_dict={x: [1.0, 2.0]})
        assert isinstance(out["pair"], Pair) and isinstance(out["pair"].b, list) and isinstance(out["pair"].b[1], tuple)
        np.testing.assert_allclose(out["y"], [2.0, 4.0])
        assert out["pair"].a == 3.0 and out["op"] is None and out["name"] == 3.0
        assert isinstance(out["y"], np.ndarray) and out["y"].dtype == np.float32
        assert isinstance(sess.run(z, {x: [1.0, 1.0]}), (np.floating, np.ndarray))
        assert sess.run("x:0", {"x:0": [5.0, 6.0]}).tolist() == [5.0, 6.0]
        assert sess.run([init, "init"]) == [None, None]


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_session_feed_any_tensor_and_growth(backend):
    a = tf.constant([1.0, 2.0])
    b = a * 3.0
    c = b + 1.0
    v = tf.Variable([1.0, 1.0])
    with tf.Session(backend=backend) as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_allclose(sess.run(c, {b: [10.0, 20.0]}), [11.0, 21.0])
        np.testing.assert_allclose(sess.run(c, {a: [0.0, 1.0]}), [1.0, 4.0])
        sess.run(v.assign_add([1.0, 2.0]))
        p = tf.placeholder(tf.float32, [2])  # graph grows inside the session
        acc = tf.reduce_mean(tf.cast(tf.equal(v, p), tf.float32))
        assert sess.run(acc, {p: [2.0, 0.0]}) == 0.5
        np.testing.assert_allclose(sess.run(v), [2.0, 3.0])


def test_session_lifecycle_and_defaults():
    x = tf.placeholder(tf.float32, [])
    y = x + 1.0
    v = tf.Variable(3.0)
    with tf.Session() as sess:
        assert tf.get_default_session() is sess
        v.initializer.run()
        assert y.eval({x: 1.0}) == 2.0 and y.eval(feed_dict={x: 2.0}, session=sess) == 3.0
        tf.assign(v, 7.0).op.run()
        assert v.eval() == 7.0 and v.read_value().eval() == 7.0
    assert tf.get_default_session() is None
    sess = tf.Session()
    sess.close()
    with pytest.raises(RuntimeError, match="closed"):
        sess.run(y, {x: 1.0})
    isess = tf.InteractiveSession()
    try:
        tf.global_variables_initializer().run()
        assert v.eval() == 3.0 and y.eval({x: 4.0}) == 5.0
    finally:
        isess.close()


class _CountingBackend:
    """Wraps the reference backend, counting compiles (one per distinct (fetches, feeds) signature)."""

    def __init__(self):
        from graphdl.client.backend import get_backend

        self.inner, self.programs = get_backend("reference"), []
        self.name = "counting"

    def compile(self, program, state, options):
        self.programs.append(program)
        return self.inner.compile(program, state, options)


def test_session_prunes_and_caches_per_signature():
    from graphdl.client.backend import Backend

    spy = _CountingBackend()
    Backend.register(_CountingBackend)
    x = tf.placeholder(tf.float32, [None], name="x")
    unused = tf.placeholder(tf.float32, [], name="unused")  # never needed: pruned, so no feed required
    y = tf.reduce_sum(x * 2.0)
    z = y + unused
    with tf.Session(backend=spy) as sess:
        for i in range(3):
            assert sess.run(y, {x: [1.0, float(i)]}) == 2.0 + 2 * i
        assert len(spy.programs) == 1
        assert unused.op not in spy.programs[0].ops and z.op not in spy.programs[0].ops
        assert sess.run(z, {x: [1.0], unused: 1.0}) == 3.0
        assert sess.run(y, {y: 5.0}) == 5.0  # fed y: x is not needed
        assert len(spy.programs) == 3 and x.op not in spy.programs[2].ops


def test_update_ops_pattern():
    w = tf.Variable([1.0, 2.0])
    counter = tf.Variable(0)
    tf.add_to_collection(tf.GraphKeys.UPDATE_OPS, tf.assign_add(counter, 1))
    loss = tf.reduce_sum(w * w)
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
        train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(train_op)
        sess.run(train_op)
        assert sess.run(counter) == 2
        np.testing.assert_allclose(sess.run(w), [0.64, 1.28], rtol=1e-6)


def test_zeros_ones_fill_with_dynamic_dims():
    x = tf.placeholder(tf.float32, [None, 3])
    z = tf.zeros([tf.shape(x)[0], 4])
    o = tf.ones((tf.shape(x)[0], 2), dtype=tf.int32)
    f = tf.fill([tf.shape(x)[0], 2], 7.0)
    assert z.shape.as_list() == [None, 4] and o.shape.as_list() == [None, 2]
    zv, ov, fv = _run([z, o, f], {x: np.ones((5, 3))})
    np.testing.assert_array_equal(zv, np.zeros((5, 4), np.float32))
    np.testing.assert_array_equal(ov, np.ones((5, 2), np.int32))
    np.testing.assert_array_equal(fv, np.full((5, 2), 7.0))
    assert ov.dtype == np.int32 and zv.dtype == np.float32


def test_make_callable():
    x = tf.placeholder(tf.float32, [None])
    k = tf.placeholder(tf.float32, [])
    y = tf.reduce_sum(x) * k
    with tf.Session() as sess:
        f = sess.make_callable([y, x], feed_list=[x, k])
        got = f([1.0, 2.0], 3.0)
        assert got[0] == 9.0 and got[1].tolist() == [1.0, 2.0]
        assert sess.make_callable(y, [x, k])(np.ones(4), 0.5) == 2.0


def test_feed_conversions():
    f = tf.placeholder(tf.float32, [None, 2])
    s = tf.placeholder(tf.float32, [])
    i = tf.placeholder(tf.int32, [None])
    b = tf.placeholder(tf.bool, [])
    with tf.Session() as sess:
        out = sess.run(f * s, {f: [[1, 2], [3, 4]], s: 2})
        assert out.dtype == np.float32 and out.tolist() == [[2, 4], [6, 8]]
        out = sess.run(f, {f: np.array([[0.1, 0.2]], np.float64)})
        assert out.dtype == np.float32
        np.testing.assert_allclose(out, [[0.1, 0.2]], rtol=1e-6)
        assert sess.run(i, {i: [1, 2, 3]}).dtype == np.int32
        assert not sess.run(tf.logical_not(b), {b: True})
        with pytest.raises((ValueError, TypeError)):
            sess.run(f, {f: [["a", "b"]]})
        with pytest.raises((ValueError, TypeError)):
            sess.run(f, {f: [[1.0, 2.0], [3.0]]})


# -- errors users must get -------------------------------------------------------------------------
def test_error_wrong_feed_shape():
    x = tf.placeholder(tf.float32, [None, 3], name="inputs")
    with tf.Session() as sess, pytest.raises(ValueError) as e:
        sess.run(x, {x: np.zeros((2, 4))})
    assert "inputs:0" in str(e.value) and "(2, 4)" in str(e.value)


def test_error_wrong_feed_dtype():
    x = tf.placeholder(tf.int32, [2], name="ids")
    with tf.Session() as sess, pytest.raises((ValueError, TypeError)) as e:
        sess.run(x, {x: ["a", "b"]})
    assert "ids" in str(e.value)


def test_error_missing_feed():
    x = tf.placeholder(tf.float32, [None, 3], name="inputs")
    y = x * 2.0
    with tf.Session() as sess, pytest.raises(tf.errors.InvalidArgumentError) as e:
        sess.run(y)
    assert "inputs" in str(e.value) and "float" in str(e.value)
    assert isinstance(e.value, ValueError)


def test_error_uninitialized_variable():
    v = tf.Variable(tf.zeros([2]), name="weights")
    with tf.Session() as sess, pytest.raises(tf.errors.FailedPreconditionError) as e:
        sess.run(v + 1.0)
    assert "weights" in str(e.value) and "uninitialized" in str(e.value)
    assert isinstance(e.value, RuntimeError)


def test_error_matmul_shapes():
    a, b = tf.zeros([3, 4]), tf.zeros([5, 6])
    with pytest.raises(ValueError) as e:
        tf.matmul(a, b, name="mm")
    msg = str(e.value)
    assert "mm" in msg and "4" in msg and "5" in msg and "[3,4]" in msg.replace(" ", "")


def test_error_unknown_fetch_and_other_graph_and_closed():
    tf.constant(1.0, name="c")
    g2 = tf.Graph()
    with g2.as_default():
        other = tf.constant(2.0, name="other")
    with tf.Session() as sess:
        with pytest.raises((KeyError, ValueError)) as e:
            sess.run("nope:0")
        assert "nope" in str(e.value)
        with pytest.raises(ValueError) as e:
            sess.run(other)
        assert "other" in str(e.value) and "graph" in str(e.value)
        with pytest.raises(TypeError):
            sess.run(3)


def test_build_time_errors_show_plain_shapes():
    with pytest.raises(ValueError) as e:
        tf.reshape(tf.zeros([5]), [2, -1])
    assert "[2, -1]" in str(e.value) and "Reshape" in str(e.value) and "np." not in str(e.value)
    with pytest.raises(ValueError) as e:
        tf.random_normal([-1, 2])
    assert "[-1, 2]" in str(e.value) and "RandomStandardNormal" in str(e.value) and "np." not in str(e.value)
    with pytest.raises(ValueError) as e:
        tf.add(tf.zeros([3]), tf.zeros([4]), name="myadd")
    assert "myadd" in str(e.value) and "[3]" in str(e.value) and "[4]" in str(e.value)


def test_error_classes_subclass_python():
    assert issubclass(tf.errors.InvalidArgumentError, ValueError)
    assert issubclass(tf.errors.NotFoundError, KeyError)
    assert issubclass(tf.errors.FailedPreconditionError, RuntimeError)
    assert issubclass(tf.errors.OpError, Exception)
    for name in ["OutOfRangeError", "UnimplementedError", "InternalError", "ResourceExhaustedError"]:
        assert issubclass(getattr(tf.errors, name), tf.errors.OpError)


# -- random seed rule -----------------------------------------------------------------------------
@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_seeded_op_repeats_across_sessions(backend):
    a = tf.random_normal([4], seed=7)
    u = tf.random_uniform([4], seed=3)
    with tf.Session(backend=backend) as s1:
        a1, a2, u1 = s1.run(a), s1.run(a), s1.run(u)
    with tf.Session(backend=backend) as s2:
        b1, b2, v1 = s2.run(a), s2.run(a), s2.run(u)
    assert not np.allclose(a1, a2)  # new numbers each run
    np.testing.assert_array_equal(a1, b1)  # the same sequence in every new session
    np.testing.assert_array_equal(a2, b2)
    np.testing.assert_array_equal(u1, v1)
    assert np.all((u1 >= 0) & (u1 < 1))


def test_graph_level_seed():
    def build():
        g = tf.Graph()
        with g.as_default():
            tf.set_random_seed(42)
            x = tf.random_normal([3])
            y = tf.random_normal([3])
        with tf.Session(graph=g) as s:
            return s.run([x, y])

    (x1, y1), (x2, y2) = build(), build()
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.allclose(x1, y1)  # two ops in one graph get different seeds


def test_graph_seed_makes_initializers_and_dropout_reproducible():
    def build():
        g = tf.Graph()
        with g.as_default():
            tf.set_random_seed(3)
            v = tf.get_variable("v", [3, 3])
            d = tf.nn.dropout(tf.ones([20]), keep_prob=0.5)
            init = tf.global_variables_initializer()
        with tf.Session(graph=g) as s:
            s.run(init)
            return s.run(v), s.run(d)

    (v1, d1), (v2, d2) = build(), build()
    np.testing.assert_array_equal(v1, v2)
    np.testing.assert_array_equal(d1, d2)


def test_unseeded_ops_differ_between_sessions():
    a = tf.random_uniform([16])
    with tf.Session() as s1:
        v1 = s1.run(a)
    with tf.Session() as s2:
        v2 = s2.run(a)
    assert not np.allclose(v1, v2)
