"""Op table for the debugging ops: Print, PrintV2, Assert, CheckNumerics, PyFunc, PyFuncStateless.

Their side effects (printing, raising, first_n, pass interplay) are tested in tests/test_debugging_ops.py
and tests/test_py_func.py; here each op is compared with NumPy on both backends, with known and
unknown dims, and the differentiable ones (Print, CheckNumerics) get a finite-difference check.
"""

import numpy as np
from harness import OpCase, make_op_tests, randn

import graphdl


def _under_assert(x):
    check = graphdl.Assert(graphdl.reduce_all(graphdl.is_finite(x)), ["x not finite:", x])
    with graphdl.control_dependencies([check]):
        return graphdl.identity(x)


def _under_print_v2(x):
    printer = graphdl.print("x =", x, summarize=1)
    with graphdl.control_dependencies([printer]):
        return graphdl.identity(x * 2.0)


CASES = [
    OpCase("print_passes_input_through", lambda x, y: graphdl.Print(x * 3.0, [x, y], "xy: ", summarize=2),
           [randn(2, 3), np.arange(4, dtype=np.int32)], lambda x, y: x * 3.0, grad_inputs=(0,)),
    OpCase("print_first_n_0", lambda x: graphdl.Print(x, [x], first_n=0), [randn(4)], lambda x: x),
    OpCase("print_v2_under_control_dependencies", _under_print_v2, [randn(3, 2)], lambda x: x * 2.0),
    OpCase("assert_under_control_dependencies", _under_assert, [randn(5)], lambda x: x),
    OpCase("check_numerics", lambda x: graphdl.check_numerics(x * x, "x squared"), [randn(3, 4)],
           lambda x: x * x),
    OpCase("check_numerics_float64", lambda x: graphdl.check_numerics(x, "m"), [randn(2, 2, dtype=np.float64)],
           lambda x: x),
    OpCase("py_func_square", lambda x: graphdl.py_func(np.square, [x], graphdl.float32), [randn(2, 3)],
           np.square, grad=False),
    OpCase("py_func_two_outputs",
           lambda x, n: graphdl.py_func(lambda a, b: (a.sum(axis=-1), b * 2), [x, n], [graphdl.float32, graphdl.int32]),
           [randn(3, 4), np.arange(3, dtype=np.int32)], lambda x, n: [x.sum(axis=-1), n * 2], grad=False),
    OpCase("py_func_stateless",
           lambda x: graphdl.py_func(lambda a: np.sort(a, axis=0), [x], graphdl.float32, stateful=False),
           [randn(4, 2)], lambda x: np.sort(x, axis=0), grad=False),
]

test_forward, test_gradient = make_op_tests(CASES)
