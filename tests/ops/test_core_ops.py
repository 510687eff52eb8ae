"""Core ops: arithmetic foundations, shape ops, reductions used by gradients."""

import numpy as np

import graphdl
from harness import OpCase, make_op_tests, randn

CASES = [
    OpCase("add", lambda x, y: x + y, [randn(3, 4), randn(3, 4, seed=1)], np.add),
    OpCase("add_broadcast_row", lambda x, y: graphdl.add(x, y), [randn(5, 4), randn(4, seed=2)], np.add),
    OpCase("add_broadcast_col", lambda x, y: x + y, [randn(5, 1), randn(1, 4, seed=2)], np.add),
    OpCase("sub_scalar", lambda x: 3.0 - x, [randn(2, 3)], lambda x: 3.0 - x),
    OpCase("mul_broadcast", lambda x, y: x * y, [randn(2, 3, 4), randn(3, 1, seed=3)], np.multiply),
    OpCase("negative", lambda x: -x, [randn(4)], np.negative),
    OpCase("add_n", lambda x, y: graphdl.add_n([x, y, x]), [randn(2, 2), randn(2, 2, seed=5)], lambda x, y: 2 * x + y),
    OpCase("cast_to_float64", lambda x: graphdl.cast(x, graphdl.float64), [randn(3)], lambda x: x.astype(np.float64)),
    OpCase("cast_to_int", lambda x: graphdl.cast(x, graphdl.int32), [randn(3) * 3], lambda x: x.astype(np.int32), grad=False),
    OpCase("reshape", lambda x: graphdl.reshape(x, [-1, 2]), [randn(3, 4)], lambda x: x.reshape(-1, 2)),
    OpCase("shape", lambda x: graphdl.shape(x), [randn(3, 4)], lambda x: np.array([3, 4], np.int32), grad=False),
    OpCase("reduce_sum_all", lambda x: graphdl.reduce_sum(x), [randn(3, 4)], lambda x: x.sum()),
    OpCase("reduce_sum_axis", lambda x: graphdl.reduce_sum(x, axis=1), [randn(3, 4)], lambda x: x.sum(1)),
    OpCase("reduce_sum_keepdims", lambda x: graphdl.reduce_sum(x, [0, 2], keepdims=True), [randn(2, 3, 4)],
           lambda x: x.sum((0, 2), keepdims=True)),
    OpCase("reduce_sum_negative_axis", lambda x: graphdl.reduce_sum(x, reduction_indices=-1), [randn(2, 3)],
           lambda x: x.sum(-1)),
    OpCase("fill", lambda x: graphdl.fill([2, 3], graphdl.constant(1.5, x.dtype)) * x, [randn(2, 3)], lambda x: 1.5 * x),
    OpCase("zeros_like_ones_like", lambda x: graphdl.zeros_like(x) + graphdl.ones_like(x) * x, [randn(2, 3)], lambda x: x),
    OpCase("stack", lambda x, y: graphdl.stack([x, y], axis=1), [randn(2, 3), randn(2, 3, seed=9)],
           lambda x, y: np.stack([x, y], 1)),
    OpCase("unstack", lambda x: graphdl.unstack(x, num=3, axis=1), [randn(2, 3)], lambda x: [x[:, i] for i in range(3)]),
    # one piece: the op has a single output, which a fused consumer and constant folding must get unwrapped
    OpCase("unstack_one_then_tanh", lambda x: graphdl.tanh(graphdl.unstack(x, num=1)[0]), [randn(1, 4)],
           lambda x: np.tanh(x[0])),
    OpCase("stack_one_of_constant", lambda x: graphdl.stack([graphdl.constant([1.0, 2.0], x.dtype) * 2.0]) + x,
           [randn(1, 2)], lambda x: np.array([[2.0, 4.0]], x.dtype) + x),
    OpCase("broadcast_to", lambda x: graphdl.broadcast_to(x, [4, 2, 3]), [randn(2, 1)],
           lambda x: np.broadcast_to(x, (4, 2, 3))),
    OpCase("identity", lambda x: graphdl.identity(x), [randn(3)], lambda x: x),
    OpCase("placeholder_with_default", lambda x: graphdl.placeholder_with_default(x, [None]) * 2.0, [randn(3)],
           lambda x: 2 * x),
]

test_forward, test_gradient = make_op_tests(CASES)
