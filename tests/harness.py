"""The op test table: every op compared with NumPy on every backend, and its gradient with finite differences.

A test module lists ``OpCase`` rows and exposes the generated tests::

    CASES = [OpCase("relu", lambda x: graphdl.nn.relu(x), [randn(3, 4)], lambda x: np.maximum(x, 0))]
    test_forward, test_gradient = make_op_tests(CASES)

``build`` receives one graphdl tensor per input (placeholders, fed with ``inputs``) and
returns a tensor or a list of tensors; ``expected`` receives the NumPy inputs and
returns the matching array(s). Each case also runs with every dim of every placeholder
unknown (``None``), and, if ``grad``, passes a float64 central-difference check of the
gradient of ``sum(w * output)`` (``w`` fixed random weights) for its float inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest

import graphdl

# The host backends every test module runs on.
BACKENDS = ["reference", "numba"]
# The op tables, and the modules whose tests were checked on it, also run on "cuda": on a GPU when there
# is one, else on Numba's CUDA simulator (tests/conftest.py turns it on before numba.cuda is imported).
OP_TEST_BACKENDS = [*BACKENDS, "cuda"]


def skip_on_cuda_simulator(backend: str, what: str) -> None:
    """Skip the "cuda" run of a test too heavy for Numba's CUDA simulator (it runs where there is a GPU)."""
    from graphdl.backends.numba_cuda.device import simulator

    if backend == "cuda" and simulator():
        pytest.skip(f"{what} takes minutes on Numba's CUDA simulator; its cuda run needs a GPU")


@dataclass
class OpCase:
    id: str
    build: Callable
    inputs: list
    expected: Callable
    grad: bool = True
    grad_inputs: tuple | None = None  # indices of inputs to differentiate (default: all floating)
    unknown_dims: bool = True
    rtol: float = 1e-5
    atol: float = 1e-6
    grad_rtol: float = 1e-4
    grad_atol: float = 1e-6
    fd_delta: float = 1e-6
    skip_backends: dict = field(default_factory=dict)  # backend -> reason


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def run_case(case: OpCase, backend: str, inputs=None, unknown_dims=False):
    """Build the case in a fresh graph, feed its inputs, and return (outputs, graph)."""
    inputs = case.inputs if inputs is None else inputs
    graph = graphdl.Graph()
    with graph.as_default():
        phs = []
        for i, a in enumerate(inputs):
            a = np.asarray(a)
            shape = [None] * a.ndim if unknown_dims else list(a.shape)
            phs.append(graphdl.placeholder(graphdl.as_dtype(a.dtype), shape, name=f"input{i}"))
        outs = _as_list(case.build(*phs))
        with graphdl.Session(graph=graph, backend=backend) as sess:
            values = sess.run(outs, {p: np.asarray(a) for p, a in zip(phs, inputs)})
    return values, graph


def check_forward(case: OpCase, backend: str, unknown_dims=False):
    got, _ = run_case(case, backend, unknown_dims=unknown_dims)
    want = [np.asarray(w) for w in _as_list(case.expected(*[np.asarray(a) for a in case.inputs]))]
    assert len(got) == len(want), f"{case.id}: {len(got)} outputs, expected {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        assert g.shape == w.shape, f"{case.id} output {i}: shape {g.shape} != expected {w.shape}"
        if w.dtype.kind in "fc":
            np.testing.assert_allclose(g, w, rtol=case.rtol, atol=case.atol, err_msg=f"{case.id} output {i}")
        else:
            np.testing.assert_array_equal(g, w, err_msg=f"{case.id} output {i}")


def check_gradient(case: OpCase, backend: str, rng_seed=0):
    """Compare graphdl's symbolic gradient with central finite differences, in float64."""
    inputs = [np.asarray(a) for a in case.inputs]
    # C order: the finite differences below perturb elements through flat reshape views.
    inputs = [np.array(a, dtype=np.float64 if a.dtype.kind == "f" else a.dtype, order="C") for a in inputs]
    wrt = case.grad_inputs if case.grad_inputs is not None else [i for i, a in enumerate(inputs) if a.dtype.kind == "f"]
    assert wrt, f"{case.id}: no float inputs to differentiate"
    rng = np.random.default_rng(rng_seed)
    graph = graphdl.Graph()
    with graph.as_default():
        phs = [graphdl.placeholder(graphdl.as_dtype(a.dtype), list(a.shape), name=f"input{i}") for i, a in enumerate(inputs)]
        outs = [o for o in _as_list(case.build(*phs)) if o.dtype.is_floating]
        assert outs, f"{case.id}: no floating outputs to differentiate"
        feed = {p: a for p, a in zip(phs, inputs)}
        with graphdl.Session(graph=graph, backend=backend) as sess:
            # The graph grows after the session exists: weights sized by the actual outputs.
            out_values = sess.run(outs, feed)
            terms = [
                graphdl.reduce_sum(o * graphdl.constant(rng.uniform(0.5, 1.5, size=v.shape), dtype=o.dtype))
                for o, v in zip(outs, out_values)
            ]
            loss = graphdl.add_n(terms) if len(terms) > 1 else terms[0]
            grads = graphdl.gradients(loss, [phs[i] for i in wrt])
            symbolic = sess.run([g if g is not None else loss for g in grads], feed)
            for k, i in enumerate(wrt):
                assert grads[k] is not None, f"{case.id}: gradient for input {i} is None"
                numeric = np.zeros_like(inputs[i])
                flat = numeric.reshape(-1)
                for j in range(inputs[i].size):
                    plus, minus = inputs[i].copy(), inputs[i].copy()
                    plus.reshape(-1)[j] += case.fd_delta
                    minus.reshape(-1)[j] -= case.fd_delta
                    f_plus = sess.run(loss, {**feed, phs[i]: plus})
                    f_minus = sess.run(loss, {**feed, phs[i]: minus})
                    flat[j] = (f_plus - f_minus) / (2 * case.fd_delta)
                np.testing.assert_allclose(
                    symbolic[k], numeric, rtol=case.grad_rtol, atol=case.grad_atol,
                    err_msg=f"{case.id}: gradient w.r.t. input {i}",
                )


def check_gradient_like_reference(case: OpCase, backend: str, rng_seed=0):
    """The symbolic gradient (float64) run on ``backend`` equals the reference backend's.

    The reference backend's gradients pass the finite-difference check; a simulated device
    backend is checked against them instead of repeating hundreds of perturbed runs.
    """
    inputs = [np.asarray(a) for a in case.inputs]
    inputs = [np.array(a, dtype=np.float64 if a.dtype.kind == "f" else a.dtype, order="C") for a in inputs]
    wrt = case.grad_inputs if case.grad_inputs is not None else [i for i, a in enumerate(inputs) if a.dtype.kind == "f"]
    results = {}
    for name in ("reference", backend):
        rng = np.random.default_rng(rng_seed)
        graph = graphdl.Graph()
        with graph.as_default():
            phs = [graphdl.placeholder(graphdl.as_dtype(a.dtype), list(a.shape), name=f"input{i}")
                   for i, a in enumerate(inputs)]
            outs = [o for o in _as_list(case.build(*phs)) if o.dtype.is_floating]
            shapes = [o.shape.as_tuple() for o in outs]
            if any(s is None or None in s for s in shapes):
                with graphdl.Session(graph=graph, backend="reference") as sess:
                    shapes = [v.shape for v in sess.run(outs, dict(zip(phs, inputs)))]
            terms = [graphdl.reduce_sum(o * graphdl.constant(rng.uniform(0.5, 1.5, size=s), dtype=o.dtype))
                     for o, s in zip(outs, shapes)]
            loss = graphdl.add_n(terms) if len(terms) > 1 else terms[0]
            grads = graphdl.gradients(loss, [phs[i] for i in wrt])
            with graphdl.Session(graph=graph, backend=name) as sess:
                results[name] = sess.run([g if g is not None else loss for g in grads], dict(zip(phs, inputs)))
    for k, i in enumerate(wrt):
        np.testing.assert_allclose(results[backend][k], results["reference"][k], rtol=1e-7, atol=1e-9,
                                   err_msg=f"{case.id}: gradient w.r.t. input {i} on {backend}")


def _skip_if_needed(case, backend):
    if backend in case.skip_backends:
        pytest.skip(case.skip_backends[backend])


def make_op_tests(cases):
    """The two parametrized tests (forward incl. unknown dims, gradient) for a table of cases."""
    ids = [c.id for c in cases]
    assert len(set(ids)) == len(ids), "OpCase ids must be unique"

    @pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
    @pytest.mark.parametrize("case", cases, ids=ids)
    def test_forward(case, backend):
        _skip_if_needed(case, backend)
        check_forward(case, backend)
        if case.unknown_dims:
            check_forward(case, backend, unknown_dims=True)

    grad_cases = [c for c in cases if c.grad]

    @pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
    @pytest.mark.parametrize("case", grad_cases, ids=[c.id for c in grad_cases])
    def test_gradient(case, backend):
        _skip_if_needed(case, backend)
        if backend == "cuda":
            check_gradient_like_reference(case, backend)
        else:
            check_gradient(case, backend)

    return test_forward, test_gradient


def op_types_of(case: OpCase) -> set:
    """The op types a case's graph contains (for the op coverage test)."""
    graph = graphdl.Graph()
    with graph.as_default():
        phs = [graphdl.placeholder(graphdl.as_dtype(np.asarray(a).dtype), list(np.shape(a))) for a in case.inputs]
        outs = [o for o in _as_list(case.build(*phs)) if o.dtype.is_floating]
        if case.grad and outs:
            graphdl.gradients([graphdl.reduce_sum(o) for o in outs], phs)
    return {op.type for op in graph.get_operations()}


def randn(*shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed + sum(shape)).standard_normal(shape).astype(dtype)


def uniform(low, high, *shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed + sum(shape) + 7).uniform(low, high, shape).astype(dtype)


def gradient_values(case, shape_of):
    """The gradient of ``sum(out**2)`` for every float input, with placeholders shaped by ``shape_of(array)``."""
    inputs = [np.asarray(a).astype(np.float64) if np.asarray(a).dtype.kind == "f" else np.asarray(a)
              for a in case.inputs]
    graph = graphdl.Graph()
    with graph.as_default():
        phs = [graphdl.placeholder(graphdl.as_dtype(a.dtype), shape_of(a)) for a in inputs]
        result = case.build(*phs)
        outs = [o for o in (result if isinstance(result, list) else [result]) if o.dtype.is_floating]
        loss = graphdl.add_n([graphdl.reduce_sum(o * o) for o in outs])
        wrt = [p for p, a in zip(phs, inputs) if a.dtype.kind == "f"]
        with graphdl.Session(graph=graph) as sess:
            return sess.run(graphdl.gradients(loss, wrt), dict(zip(phs, inputs)))
