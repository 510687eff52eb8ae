"""tf.einsum (Einsum): common equations against np.einsum, gradients by finite differences, TF1's errors."""

import numpy as np
import pytest
from harness import OpCase, make_op_tests, randn

import graphdl


def case(id_, equation, *shapes, **kwargs):
    inputs = [randn(*s, seed=i) for i, s in enumerate(shapes)]
    return OpCase(id_, lambda *xs: graphdl.einsum(equation, *xs), inputs, lambda *xs: np.einsum(equation, *xs),
                  rtol=1e-5, atol=1e-5, **kwargs)


CASES = [
    case("einsum_matmul", "ij,jk->ik", (3, 4), (4, 2)),
    case("einsum_implicit_matmul", "ij,jk", (3, 4), (4, 2)),
    case("einsum_batch_matmul", "bij,bjk->bik", (2, 3, 4), (2, 4, 5)),
    case("einsum_batch_matmul_transposed", "bij,bkj->bik", (2, 3, 4), (2, 5, 4)),
    case("einsum_attention_scores", "bhqd,bhkd->bhqk", (2, 2, 3, 4), (2, 2, 5, 4)),
    case("einsum_transpose", "ij->ji", (3, 4)),
    case("einsum_permute_3d", "abc->cab", (2, 3, 4)),
    case("einsum_trace", "ii->", (4, 4)),
    case("einsum_diagonal", "ii->i", (3, 3)),
    case("einsum_batch_diagonal", "bii->bi", (2, 3, 3)),
    case("einsum_outer", "i,j->ij", (3,), (4,)),
    case("einsum_dot", "i,i->", (5,), (5,)),
    case("einsum_sum_all", "ij->", (3, 4)),
    case("einsum_sum_axis", "ij->j", (3, 4)),
    case("einsum_hadamard", "ij,ij->ij", (3, 4), (3, 4)),
    case("einsum_three_operands", "ij,jk,kl->il", (2, 3), (3, 4), (4, 2)),
    case("einsum_bilinear", "bi,ij,bj->b", (4, 3), (3, 3), (4, 3)),
    case("einsum_ellipsis_batch_matmul", "...ij,...jk->...ik", (2, 3, 4), (2, 4, 5)),
    case("einsum_ellipsis_broadcast", "...ij,...jk->...ik", (2, 1, 3, 4), (5, 4, 2)),
    case("einsum_ellipsis_broadcast_vector", "...i,i->...", (2, 3, 4), (4,)),
    OpCase("einsum_ellipsis_middle_summed", lambda x: graphdl.einsum("a...b->ab", x), [randn(2, 3, 4, 5)],
           lambda x: x.sum(axis=(1, 2)), rtol=1e-5, atol=1e-5),  # NumPy cannot sum '...' away; TF and graphdl can
    case("einsum_ellipsis_transpose", "...ij->...ji", (2, 3, 4)),
    case("einsum_repeated_label_with_other", "iij,jk->ik", (3, 3, 4), (4, 2)),
    case("einsum_uppercase_labels", "Ab,bC->AC", (3, 4), (4, 2)),
    OpCase("einsum_int32", lambda a, b: graphdl.einsum("ij,jk->ik", a, b),
           [np.arange(6, dtype=np.int32).reshape(2, 3), np.arange(12, dtype=np.int32).reshape(3, 4)],
           lambda a, b: a @ b, grad=False),
]

test_forward, test_gradient = make_op_tests(CASES)


def test_static_shape_and_name():
    with graphdl.Graph().as_default():
        a = graphdl.placeholder(graphdl.float32, [None, 3, 4])
        b = graphdl.placeholder(graphdl.float32, [None, 4, 5])
        out = graphdl.einsum("bij,bjk->bik", a, b, name="product")
        assert out.shape.as_list() == [None, 3, 5] and out.name == "product:0"
        assert graphdl.einsum("...ij,jk", a, graphdl.zeros([4, 2])).shape.as_list() == [None, 3, 2]
        assert graphdl.einsum("ii", graphdl.zeros([3, 3])).shape.as_list() == []


@pytest.mark.parametrize("equation,shapes,message", [
    ("ij,jk->ik", [(3, 4), (5, 2)], "label 'j'"),
    ("ij->k", [(3, 4)], "output label 'k'"),
    ("ij,jk->ik", [(3, 4)], "names 2 operands"),
    ("ij->ii", [(3, 4)], "repeats a label"),
    ("ijk->i", [(3, 4)], "has rank 2"),
    ("i$->i", [(3, 4)], "invalid character"),
])
def test_bad_equations_are_errors(equation, shapes, message):
    with graphdl.Graph().as_default(), pytest.raises(ValueError, match=message):
        graphdl.einsum(equation, *[graphdl.zeros(s) for s in shapes])


def test_keyword_arguments_other_than_name_are_rejected():
    with graphdl.Graph().as_default(), pytest.raises(TypeError, match="only 'name'"):
        graphdl.einsum("ij->ji", graphdl.zeros([2, 2]), optimize=True)
