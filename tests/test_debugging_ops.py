"""tf.Print, tf.print, tf.Assert and the assert_* family, check_numerics: what they print and raise, on both backends.

The ops are stateful: constant folding, CSE, algebraic simplification and fusion (all on in the
numba backend) must neither drop nor merge them, and ops under control_dependencies of them
must wait for them.
"""

import io
import logging
import sys

import numpy as np
import pytest
from harness import OP_TEST_BACKENDS

import graphdl.compat.v1 as tf
from graphdl.ops.tensor_format import format_value_v2, summarize_value


@pytest.fixture(params=OP_TEST_BACKENDS)
def backend(request):
    return request.param


# -- formatting ----------------------------------------------------------------------------------------
def test_summarize_value_follows_tf_tensor_summarize():
    assert summarize_value(np.array([1, 2, 3, 4, 5], np.int32), 3) == "1 2 3..."
    assert summarize_value(np.array([1.5, 2.0], np.float32), 3) == "1.5 2"
    assert summarize_value(np.array([[1, 2], [3, 4]]), 3) == "[1 2][3...]..."
    assert summarize_value(np.array([[1, 2], [3, 4]]), -1) == "[1 2][3 4]"
    assert summarize_value(np.float32(0.1), 3) == "0.1"
    assert summarize_value(np.array([True, False]), 3) == "1 0"
    assert summarize_value(np.array([b"ab", b"c"], dtype=object), 3) == "ab c"
    assert summarize_value(np.array(1e-7, np.float64), 3) == "1e-07"


def test_format_value_v2_follows_tf_print():
    assert format_value_v2(np.arange(10), 3) == "[0 1 2 ... 7 8 9]"
    assert format_value_v2(np.arange(4), 3) == "[0 1 2 3]"
    assert format_value_v2(np.array([[1, 2], [3, 4]]), 3) == "[[1 2]\n [3 4]]"
    assert format_value_v2(np.arange(8).reshape(2, 2, 2), 3) == "[[[0 1]\n  [2 3]]\n\n [[4 5]\n  [6 7]]]"
    assert format_value_v2(np.arange(7), 1) == "[0 ... 6]"
    assert format_value_v2(np.array(b"hi", dtype=object), 3) == '"hi"'
    assert format_value_v2(np.arange(10), -1) == "[0 1 2 3 4 5 6 7 8 9]"


# -- tf.Print -----------------------------------------------------------------------------------------
def test_print_prints_message_and_data_and_passes_input(backend, capsys):
    x = tf.placeholder(tf.float32, [None])
    y = tf.Print(x, [x, tf.shape(x)], message="x is: ") * 2.0
    with tf.Session(backend=backend) as sess:
        out = sess.run(y, {x: [1.0, 2.5, 3.0, 4.0]})
    np.testing.assert_allclose(out, [2.0, 5.0, 6.0, 8.0])
    assert capsys.readouterr().err == "x is: [1 2.5 3...][4]\n"


def test_print_summarize_and_first_n_per_session(backend, capsys):
    x = tf.placeholder(tf.int32, [2, 3])
    y = tf.Print(x, [x], message="m", first_n=2, summarize=4)
    feed = {x: np.arange(6).reshape(2, 3)}
    with tf.Session(backend=backend) as sess:
        for _ in range(4):
            sess.run(y, feed)
    assert capsys.readouterr().err == "m[[0 1 2][3...]...]\n" * 2
    with tf.Session(backend=backend) as sess:  # a new session prints again
        sess.run(y, feed)
    assert capsys.readouterr().err == "m[[0 1 2][3...]...]\n"


def test_print_of_constants_is_neither_folded_nor_merged(capsys):
    c = tf.constant([1.0, 2.0])
    a = tf.Print(c, [c], message="a")
    b = tf.Print(c, [c], message="a")  # same attrs and inputs: CSE must not merge them
    total = (a + b) * 1.0 + 0.0
    with tf.Session() as sess:  # numba: every pass on
        np.testing.assert_allclose(sess.run(total), [2.0, 4.0])
        np.testing.assert_allclose(sess.run(total), [2.0, 4.0])
    assert capsys.readouterr().err == "a[1 2]\n" * 4


def test_print_gradient_is_identity(backend):
    x = tf.placeholder(tf.float32, [3])
    y = tf.Print(x * x, [x], first_n=0)
    (g,) = tf.gradients(tf.reduce_sum(y), [x])
    with tf.Session(backend=backend) as sess:
        np.testing.assert_allclose(sess.run(g, {x: [1.0, -2.0, 3.0]}), [2.0, -4.0, 6.0])


# -- tf.print -----------------------------------------------------------------------------------------
def test_print_v2_returns_an_op_that_prints_when_run(backend, capsys):
    x = tf.placeholder(tf.int64, [None])
    op = tf.print("vals:", x, {"n": tf.size(x)}, [1, 2])
    assert isinstance(op, tf.Operation) and op.type == "PrintV2" and op.outputs == ()
    with tf.Session(backend=backend) as sess:
        assert sess.run(op, {x: np.arange(10)}) is None
    assert capsys.readouterr().err == "vals: [0 1 2 ... 7 8 9] {'n': 10} [1, 2]\n"


def test_print_v2_streams_sep_end_and_summarize(backend, capsys, tmp_path, caplog):
    x = tf.constant([[1.0, 2.5], [3.0, 4.0]])
    to_stdout = tf.print(x, output_stream=sys.stdout, sep="|", end="!\n", summarize=-1)
    two = tf.print("a", "b", sep="|", output_stream=sys.stdout)
    path = tmp_path / "log.txt"
    to_file = tf.print("in file", x[0], output_stream=f"file://{path}")
    to_log = tf.print("to the log", output_stream=tf.logging.info)
    scalar_string = tf.print(tf.constant("raw text"))
    with tf.Session(backend=backend) as sess, caplog.at_level(logging.INFO, logger="graphdl"):
        sess.run([to_stdout, two, to_file, to_log, scalar_string])
    captured = capsys.readouterr()
    assert captured.out == "[[1 2.5]\n [3 4]]!\na|b\n"
    assert captured.err == "raw text\n"
    assert path.read_text() == "in file [1 2.5]\n"
    assert "to the log" in caplog.text
    with pytest.raises(ValueError, match="output_stream"):
        tf.print(x, output_stream=io.StringIO())


def test_print_v2_under_control_dependencies_runs_first(backend, capsys):
    x = tf.placeholder(tf.float32, [2])
    with tf.control_dependencies([tf.print("before", x)]):
        y = x + 1.0
    with tf.Session(backend=backend) as sess:
        np.testing.assert_allclose(sess.run(y, {x: [1.0, 2.0]}), [2.0, 3.0])
    assert capsys.readouterr().err == "before [1 2]\n"


# -- tf.Assert ----------------------------------------------------------------------------------------
def test_assert_raises_with_its_data_when_false(backend):
    x = tf.placeholder(tf.float32, [None])
    check = tf.Assert(tf.reduce_all(x > 0), ["x must be positive", x], summarize=2, name="check_x")
    assert isinstance(check, tf.Operation) and check.type == "Assert" and check.name == "check_x/Assert"
    with tf.control_dependencies([check]):
        y = tf.identity(x) * 2.0
    with tf.Session(backend=backend) as sess:
        np.testing.assert_allclose(sess.run(y, {x: [1.0, 2.0]}), [2.0, 4.0])
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"assertion failed: \[x must be positive\] \[1 -2\.\.\.\]") as e:
            sess.run(y, {x: [1.0, -2.0, 3.0]})
        assert "check_x/Assert" in str(e.value) and e.value.op.name == "check_x/Assert"
        sess.run(check, {x: [3.0]})


def test_assert_is_not_pruned_folded_or_merged_under_control_dependencies():
    c = tf.constant([1.0, -1.0])
    check = tf.Assert(tf.reduce_all(c > 0), [c])
    with tf.control_dependencies([check]):
        y = tf.constant(2.0) * 3.0  # all-constant: constant folding keeps the dependency
    with tf.Session() as sess, pytest.raises(tf.errors.InvalidArgumentError, match=r"assertion failed: \[1 -1\]"):
        sess.run(y)


def test_assert_checks_its_condition_at_build_time():
    with pytest.raises(TypeError, match="bool"):
        tf.Assert(tf.constant(1.0), ["x"])
    with pytest.raises(tf.errors.InvalidArgumentError, match="scalar"):
        tf.Assert(tf.constant([True, False]), ["x"])


# -- the assert_* family ------------------------------------------------------------------------------
BINARY = [
    (tf.assert_equal, [1, 2], [1, 2], [1, 3], "x == y"),
    (tf.assert_none_equal, [1, 2], [3, 4], [1, 4], "x != y"),
    (tf.assert_less, [1, 2], [2, 3], [1, 3], "x < y"),
    (tf.assert_less_equal, [1, 2], [1, 3], [0, 3], "x <= y"),
    (tf.assert_greater, [3, 4], [1, 2], [1, 4], "x > y"),
    (tf.assert_greater_equal, [3, 4], [3, 2], [4, 5], "x >= y"),
]


@pytest.mark.parametrize("assert_fn,x,y_ok,y_bad,condition", BINARY, ids=[b[0].__name__ for b in BINARY])
def test_binary_asserts_at_run_time(assert_fn, x, y_ok, y_bad, condition, backend):
    xp = tf.placeholder(tf.int32, [2])
    yp = tf.placeholder(tf.int32, [2])
    check = assert_fn(xp, yp, message="custom")
    assert check.type == "Assert"
    with tf.Session(backend=backend) as sess:
        sess.run(check, {xp: x, yp: y_ok})
        with pytest.raises(tf.errors.InvalidArgumentError) as e:
            sess.run(check, {xp: x, yp: y_bad})
    text = str(e.value)
    assert text.startswith(f"assertion failed: [custom] [Condition {condition}")
    assert "[x (Placeholder:0) = ]" in text and "[y (Placeholder_1:0) = ]" in text


@pytest.mark.parametrize("assert_fn,x,y_ok,y_bad,condition", BINARY, ids=[b[0].__name__ for b in BINARY])
def test_binary_asserts_decide_constants_at_build_time(assert_fn, x, y_ok, y_bad, condition):
    with pytest.raises(tf.errors.InvalidArgumentError, match=f"Condition {condition}"):
        assert_fn(tf.constant(x), tf.constant(y_bad))
    ok = assert_fn(tf.constant(x), y_ok)  # a Python operand takes the tensor's dtype
    with tf.Session() as sess:
        sess.run(ok)


@pytest.mark.parametrize("assert_fn,good,bad", [
    (tf.assert_positive, [1.0, 2.0], [1.0, 0.0]),
    (tf.assert_negative, [-1.0, -2.0], [-1.0, 0.0]),
    (tf.assert_non_negative, [0.0, 2.0], [0.0, -2.0]),
    (tf.assert_non_positive, [0.0, -2.0], [0.0, 2.0]),
])
def test_sign_asserts(assert_fn, good, bad, backend):
    x = tf.placeholder(tf.float32, [2])
    with tf.control_dependencies([assert_fn(x)]):
        y = tf.identity(x)
    with tf.Session(backend=backend) as sess:
        np.testing.assert_allclose(sess.run(y, {x: good}), good)
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"assertion failed: \[Condition x"):
            sess.run(y, {x: bad})
    with pytest.raises(tf.errors.InvalidArgumentError):
        assert_fn(tf.constant(bad))


def test_assert_equal_of_a_tensor_with_itself_is_a_no_op():
    x = tf.placeholder(tf.float32)
    assert tf.assert_equal(x, x).type == "NoOp"


def test_assert_near(backend):
    x = tf.placeholder(tf.float32, [2])
    check = tf.debugging.assert_near(x, tf.constant([1.0, 2.0]), atol=0.01, rtol=0.0)
    with tf.Session(backend=backend) as sess:
        sess.run(check, {x: [1.005, 1.995]})
        with pytest.raises(tf.errors.InvalidArgumentError, match="not equal to tolerance"):
            sess.run(check, {x: [1.0, 2.1]})


def test_assert_rank_static_and_dynamic(backend):
    with pytest.raises(ValueError, match="must have rank 2.  Received rank 1"):
        tf.assert_rank(tf.constant([1, 2]), 2)
    assert tf.assert_rank(tf.constant([[1]]), 2).type == "NoOp"
    assert tf.assert_rank_at_least(tf.zeros([2, 3, 4]), 2).type == "NoOp"
    with pytest.raises(ValueError, match="rank at least 3"):
        tf.assert_rank_at_least(tf.zeros([2, 3]), 3)
    x = tf.placeholder(tf.float32)  # unknown rank: checked when it runs
    check = tf.assert_rank(x, 2)
    with tf.Session(backend=backend) as sess:
        sess.run(check, {x: np.zeros((2, 2))})
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"must have rank\] \[2\] \[Received shape: \] \[3\]"):
            sess.run(check, {x: np.zeros(3)})


def test_type_and_scalar_asserts_are_static():
    assert tf.assert_type(tf.constant(1.0), tf.float32).type == "NoOp"
    with pytest.raises(TypeError, match="must be of type int32"):
        tf.assert_type(tf.constant(1.0), tf.int32)
    assert tf.assert_integer(tf.constant([1, 2])).type == "NoOp"
    with pytest.raises(TypeError, match="integer"):
        tf.assert_integer(tf.constant(1.0))
    s = tf.constant(3)
    assert tf.assert_scalar(s) is s
    with pytest.raises(ValueError, match="Expected scalar"):
        tf.assert_scalar(tf.constant([3]))
    assert tf.is_numeric_tensor(s) and not tf.is_numeric_tensor(tf.constant("a"))
    with pytest.raises(TypeError):
        tf.assert_proper_iterable(tf.constant([1]))
    tf.assert_proper_iterable([1, 2])


def test_monotonic_checks(backend):
    x = tf.placeholder(tf.float32, [None, None])
    checks = [tf.is_non_decreasing(x), tf.is_strictly_increasing(x)]
    with tf.Session(backend=backend) as sess:
        assert sess.run(checks, {x: [[1, 2], [2, 3]]}) == [True, False]
        assert sess.run(checks, {x: [[1, 2], [3, 4]]}) == [True, True]
        assert sess.run(checks, {x: [[2, 1]]}) == [False, False]


# -- check_numerics ------------------------------------------------------------------------------------
@pytest.mark.parametrize("value,what", [([np.nan, 1.0], "NaN"), ([np.inf, 1.0], "Inf"), ([np.nan, -np.inf], "Inf and NaN")])
def test_check_numerics_names_its_message(value, what, backend):
    x = tf.placeholder(tf.float32, [2])
    y = tf.check_numerics(x, "bad input") + 1.0
    with tf.Session(backend=backend) as sess:
        np.testing.assert_allclose(sess.run(y, {x: [1.0, 2.0]}), [2.0, 3.0])
        with pytest.raises(tf.errors.InvalidArgumentError, match=f"bad input : Tensor had {what} values"):
            sess.run(y, {x: value})


def test_check_numerics_gradient_checks_the_gradient(backend):
    x = tf.placeholder(tf.float32, [2])
    y = tf.check_numerics(x, "sqrt")
    (g,) = tf.gradients(tf.reduce_sum(tf.sqrt(y)), [x])
    with tf.Session(backend=backend) as sess:
        np.testing.assert_allclose(sess.run(g, {x: [1.0, 4.0]}), [0.5, 0.25])
        with pytest.raises(tf.errors.InvalidArgumentError, match="detected in gradient. sqrt : Tensor had Inf"):
            sess.run(g, {x: [0.0, 4.0]})


def test_check_numerics_wants_floats():
    with pytest.raises(tf.errors.InvalidArgumentError, match="CheckNumerics"):
        tf.check_numerics(tf.constant([1, 2]), "ints")


def test_verify_tensor_all_finite(backend):
    x = tf.placeholder(tf.float64, [2])
    y = tf.verify_tensor_all_finite(x, "x is not finite")
    assert tf.debugging.assert_all_finite is tf.verify_tensor_all_finite
    with tf.Session(backend=backend) as sess:
        np.testing.assert_allclose(sess.run(y, {x: [1.0, 2.0]}), [1.0, 2.0])
        with pytest.raises(tf.errors.InvalidArgumentError, match="x is not finite : Tensor had Inf"):
            sess.run(y, {x: [1.0, np.inf]})


def test_add_check_numerics_ops_reports_the_first_bad_tensor(backend):
    x = tf.placeholder(tf.float32, [2], name="x")
    logs = tf.log(x, name="logs")
    loss = tf.reduce_sum(logs * 2.0, name="loss")
    checks = tf.add_check_numerics_ops()
    assert checks.type == "NoOp"
    assert {op.type for op in checks.control_inputs} == {"CheckNumerics"}
    with tf.Session(backend=backend) as sess:
        np.testing.assert_allclose(sess.run([loss, checks], {x: [1.0, 1.0]})[0], 0.0)
        with pytest.raises(tf.errors.InvalidArgumentError, match="logs:0 : Tensor had Inf values"):
            sess.run([loss, checks], {x: [0.0, 1.0]})
