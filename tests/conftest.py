import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))

# Without an NVIDIA GPU the "cuda" backend's tests run on Numba's CUDA simulator; the variable must be
# set before numba.cuda is first imported.
if "NUMBA_ENABLE_CUDASIM" not in os.environ and not os.path.exists("/dev/nvidia0"):
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"

import graphdl


@pytest.fixture(autouse=True)
def fresh_default_graph():
    """Every test starts on an empty default graph."""
    graphdl.reset_default_graph()
    yield
    graphdl.reset_default_graph()


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
