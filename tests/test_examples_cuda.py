"""The model-zoo examples train on the "cuda" backend with the same values as on the CPU ("numba") backend.

Each example's ``main()`` runs in this process twice, once per backend (``GRAPHDL_BACKEND``),
on a tiny slice of the digits (two training steps per epoch, small layers). Every value a
``Session.run`` returns -- initial evaluations, each step's loss, the final metrics -- is
recorded and the two runs must agree. Without a GPU the "cuda" run is on Numba's CUDA
simulator, which is why the settings are tiny.

Random ops draw on the host in the "cuda" run here: the backend's own counter-based
generator gives different numbers than the CPU backend's NumPy generators (as TF's GPU and
CPU kernels do), and equal losses need equal weights, noise and dropout masks. Its
draws are checked by tests/numba_cuda/test_random.py instead.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from graphdl.backends.numba_cuda import kernel_registry

import graphdl
from graphdl.client import session as session_module
from graphdl.datasets import load_digits

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
IMAGES = 5  # 4 train images (two steps of 2) and 1 test image
TINY = ["--epochs", "1", "--batch-size", "2"]
RUNS = {
    "mlp": [*TINY, "--hidden", "8"],
    "autoencoder": TINY,
    "vae": [*TINY, "--code-size", "2", "--samples", "2"],
    "rbm": [*TINY, "--hidden", "8"],
    "dbn": [*TINY, "--pretrain-epochs", "1"],
    "gan": [*TINY, "--samples", "0", "--classifier-steps", "2", "--quality-samples", "2"],
    "dcgan": [*TINY, "--samples", "0", "--classifier-steps", "2", "--quality-samples", "2"],
    "lenet5": TINY,
    "alexnet": TINY,
    "rnn_digits": [*TINY, "--hidden", "4"],
    "lstm_digits": [*TINY, "--hidden", "4"],
    "gru_digits": [*TINY, "--hidden", "4"],
    "bidirectional_rnn": [*TINY, "--hidden", "4"],
}
RANDOM_OPS = ("RandomUniform", "RandomStandardNormal", "TruncatedNormal")


def _load_example(name):
    spec = importlib.util.spec_from_file_location(f"graphdl_example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _flatten(value):
    """The arrays in a ``Session.run`` result (nested lists, tuples and dicts), in order."""
    if isinstance(value, dict):
        return [a for k in sorted(value) for a in _flatten(value[k])]
    if isinstance(value, (list, tuple)):
        return [a for v in value for a in _flatten(v)]
    return [] if value is None else [np.asarray(value)]


def _run_example(name, backend, monkeypatch):
    """Run the example's ``main`` on ``backend``; return every array its sessions' runs returned."""
    module = _load_example(name)
    images, labels = load_digits()
    monkeypatch.setattr(module, "load_digits", lambda: (images[:IMAGES], labels[:IMAGES]))
    monkeypatch.setenv("GRAPHDL_BACKEND", backend)
    recorded = []
    stock_run = session_module.BaseSession.run

    def recording_run(self, fetches, *args, **kwargs):
        assert self._backend.name == backend, f"{name} ran a session on {self._backend.name}, not {backend}"
        result = stock_run(self, fetches, *args, **kwargs)
        recorded.extend(_flatten(result))
        return result

    with monkeypatch.context() as patch:
        patch.setattr(session_module.BaseSession, "run", recording_run)
        graphdl.reset_default_graph()
        assert module.main(RUNS[name]) == 0
    graphdl.reset_default_graph()
    return recorded


@pytest.fixture
def random_ops_on_the_host(monkeypatch):
    """Drop the CUDA kernels of the random ops for the test, so they run on the CPU with the CPU's generators."""
    kernel_registry.registered_cuda_types()  # loads the kernels
    for op_type in RANDOM_OPS:
        monkeypatch.delitem(kernel_registry._KERNELS, op_type)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(RUNS))
def test_example_trains_on_cuda_with_the_cpu_backends_values(name, monkeypatch, random_ops_on_the_host):
    cpu = _run_example(name, "numba", monkeypatch)
    gpu = _run_example(name, "cuda", monkeypatch)
    assert len(cpu) >= 4, f"{name}: only {len(cpu)} values recorded"
    assert len(gpu) == len(cpu), f"{name}: {len(gpu)} values on cuda, {len(cpu)} on numba"
    for i, (g, c) in enumerate(zip(gpu, cpu)):
        assert g.shape == c.shape and g.dtype == c.dtype, f"{name} value {i}: {g.shape} {g.dtype} vs {c.shape} {c.dtype}"
        if c.dtype.kind == "f":
            np.testing.assert_allclose(g, c, rtol=1e-4, atol=1e-5, err_msg=f"{name}: value {i} of {len(cpu)}")
        else:
            np.testing.assert_array_equal(g, c, err_msg=f"{name}: value {i} of {len(cpu)}")
