import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))

import graphdl  # noqa: E402


@pytest.fixture(autouse=True)
def fresh_default_graph():
    """Every test starts on an empty default graph."""
    graphdl.reset_default_graph()
    yield
    graphdl.reset_default_graph()


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
