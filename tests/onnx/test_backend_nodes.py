"""The ONNX backend node tests (from the installed onnx package) for every operator graphdl imports, on every backend.

Skips are listed, with reasons, in graphdl.frontends.onnx.conformance.SKIPS only."""

import pytest

pytest.importorskip("onnx")

from graphdl.frontends.onnx import conformance
from harness import OP_TEST_BACKENDS

CASES = conformance.supported_cases()


def test_supported_cases_found():
    assert len(CASES) > 800, f"only {len(CASES)} supported ONNX node tests were collected"


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
@pytest.mark.parametrize("name,operator,case", CASES, ids=[row[0] for row in CASES])
def test_node(name, operator, case, backend):
    conformance.run_case(case, backend)
