"""graphdl as an ONNX backend over the node tests shipped in the ``onnx`` package.

``python -m graphdl.frontends.onnx.conformance [--backend numba] [-v]`` runs every node test whose
operators all have a converter (less the justified ``SKIPS``) and prints the pass count per operator.
The test cases come from ``onnx.backend.test.case.node`` (the generators of the suite's
``data/node`` directories, which the onnx wheel does not ship), with the same tolerances.
"""

from __future__ import annotations

import argparse
import collections
import fnmatch
import functools
import sys
import warnings

import numpy as np
import onnx
from onnx import numpy_helper
from onnx.backend.base import Backend, BackendRep

import graphdl

from .importer import import_model
from .registry import CONVERTERS, STATIC_INPUTS

# Node tests of supported operators that graphdl does not run, with the reason. The only list of skips;
# keys are test names or fnmatch patterns.
_NO_DTYPE = "an element type graphdl has no dtype for (uint16/32/64, bfloat16, float8, 4- and 2-bit types)"
_DATA_DEPENDENT = ("pads/starts/split computed from run-time tensor values: graphdl builds graphs whose ops' "
                   "attributes are fixed at import time")
SKIPS: dict[str, str] = {
    **{p: _NO_DTYPE for p in ("*uint16*", "*uint32*", "*uint64*", "*bf16*", "*BFLOAT16*", "*bfloat16*", "*FLOAT8*",
                               "*FLOAT4*", "*_INT4*", "*UINT4*", "*_INT2*", "*UINT2*", "*e8m0*")},
    "test_affine_grid_2d*_expanded": ("Squeeze without axes of a dim taken from the run-time 'size' input: the output "
                                      "rank would depend on a run-time value; graphdl fixes ranks at import time"),
    "test_attention_*_expanded": _DATA_DEPENDENT,
    "test_causal_conv_with_state_*_expanded": _DATA_DEPENDENT,
    "test_center_crop_pad_*_expanded": _DATA_DEPENDENT,
    "test_rotary_embedding*_expanded": _DATA_DEPENDENT,
    "test_training_dropout*": "Dropout in training mode is random; graphdl imports inference graphs",
    "test_batchnorm_*_training_mode": "BatchNormalization in training mode; graphdl imports inference graphs",
    "test_maxpool_with_argmax_*": "MaxPool's Indices output has no graphdl op",
    "test_convtranspose_3d": "graphdl convolves 1-D and 2-D inputs only",
    "test_identity_opt": "optional-typed inputs have no graphdl equivalent",
    "test_identity_sequence": "sequence-typed inputs have no graphdl equivalent",
    "test_resize_*_not_larger": "Resize keep_aspect_ratio_policy is not implemented",
    "test_resize_*_not_smaller": "Resize keep_aspect_ratio_policy is not implemented",
    "test_resize_tf_crop_and_resize*": "Resize tf_crop_and_resize (roi crops with extrapolation) is not implemented",
}


def skip_reason(name: str) -> str | None:
    """Why the node test ``name`` is skipped (its SKIPS entry), or None."""
    if name in SKIPS:
        return SKIPS[name]
    for pattern, reason in SKIPS.items():
        if fnmatch.fnmatchcase(name, pattern):
            return reason
    return None


class GraphdlRep(BackendRep):
    """A prepared model: the imported graph and one Session on the chosen graphdl backend."""

    def __init__(self, model: onnx.ModelProto, backend: str | None = None, constant_inputs: dict | None = None):
        self.imported = import_model(model, constant_inputs=constant_inputs)
        self.session = self.imported.session(backend=backend)
        self.input_names = list(self.imported.inputs)

    def run(self, inputs, **kwargs):
        """Outputs (in the ONNX graph's order) for ``inputs``: a list in graph-input order, or a dict by name."""
        if isinstance(inputs, dict):
            feeds = inputs
        else:
            feeds = dict(zip(self.input_names, inputs if isinstance(inputs, (list, tuple)) else [inputs]))
        return self.imported.run(feeds, session=self.session)


class GraphdlBackend(Backend):
    """``onnx.backend.base.Backend`` over the graphdl importer (CPU only); ``backend`` picks graphdl's backend."""

    graphdl_backend: str | None = None

    @classmethod
    def prepare(cls, model, device: str = "CPU", **kwargs):
        super().prepare(model, device, **kwargs)
        return GraphdlRep(model, backend=kwargs.get("backend", cls.graphdl_backend),
                          constant_inputs=kwargs.get("constant_inputs"))

    @classmethod
    def supports_device(cls, device: str) -> bool:
        return device.upper() == "CPU"


def case_operator(case, by_name) -> str:
    """The operator a node test exercises (an ``_expanded`` test counts for the op it expands)."""
    base = case.name.split("_expanded")[0]
    model = by_name.get(base, case).model
    ops = {n.op_type for n in model.graph.node}
    return ops.pop() if len(ops) == 1 else "+".join(sorted(ops))


def _nodes(graph):
    """The nodes of ``graph`` and of every subgraph (If branches, Loop/Scan bodies) nested in it."""
    for node in graph.node:
        yield node
        for attr in node.attribute:
            for sub in [attr.g] if attr.HasField("g") else list(attr.graphs):
                yield from _nodes(sub)


def _ops(model):
    return {n.op_type for n in _nodes(model.graph)}


@functools.lru_cache(maxsize=1)
def all_cases():
    """Every node test case of the installed onnx package, by name (generated in memory, ~10 s)."""
    from onnx.backend.test.case import node

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        cases = node.collect_testcases(None)
    return {c.name: c for c in cases}


def supported_cases():
    """(name, operator, case) for every node test whose ops all have converters and is not in SKIPS, sorted."""
    cases = all_cases()
    rows = []
    for name, case in sorted(cases.items()):
        if skip_reason(name) or not _ops(case.model) <= set(CONVERTERS):
            continue
        if any(n.domain not in ("", "ai.onnx") for n in _nodes(case.model.graph)):
            continue
        rows.append((name, case_operator(case, cases), case))
    return rows


def _as_array(value):
    if isinstance(value, onnx.TensorProto):
        return numpy_helper.to_array(value)
    return np.asarray(value)


def static_input_names(model) -> set:
    """Graph inputs that feed a node input graphdl needs at import time (axes, pads, sizes, ...)."""
    names = set()
    for node in model.graph.node:
        for i in STATIC_INPUTS.get(node.op_type, ()):
            if i < len(node.input) and node.input[i]:
                names.add(node.input[i])
    return names


def run_case(case, backend: str | None = None) -> None:
    """Import the case's model, run each data set on ``backend`` and assert the outputs match (AssertionError).

    The node tests feed axes, pads, sizes and the like as graph inputs; those are bound as constants
    (``import_model(constant_inputs=)``), since graphdl builds graphs with static structure."""
    init_names = {init.name for init in case.model.graph.initializer}
    input_names = [vi.name for vi in case.model.graph.input if vi.name not in init_names]
    static = static_input_names(case.model)
    for inputs, expected in case.data_sets:
        feeds = {name: _as_array(v) for name, v in zip(input_names, inputs)}
        bound = {name: v for name, v in feeds.items() if name in static}
        rep = GraphdlBackend.prepare(case.model, backend=backend, constant_inputs=bound)
        got = rep.run({name: v for name, v in feeds.items() if name not in bound})
        expected = [_as_array(v) for v in expected]
        assert len(got) == len(expected), f"{case.name}: {len(got)} outputs, expected {len(expected)}"
        for i, (g, e) in enumerate(zip(got, expected)):
            g = np.asarray(g)
            assert g.dtype == e.dtype, f"{case.name} output {i}: dtype {g.dtype}, expected {e.dtype}"
            assert g.shape == e.shape, f"{case.name} output {i}: shape {g.shape}, expected {e.shape}"
            if e.dtype.kind in "fc":
                np.testing.assert_allclose(g, e, rtol=case.rtol, atol=case.atol, err_msg=f"{case.name} output {i}")
            else:
                np.testing.assert_array_equal(g, e, err_msg=f"{case.name} output {i}")


def run_all(backend: str | None = None, verbose: bool = False, operators=None, pattern: str | None = None):
    """Run every supported case (only those of ``operators``, and whose name matches the fnmatch ``pattern``, when
    given); returns {operator: [passed, total]} and the list of (name, error) failures."""
    counts = collections.defaultdict(lambda: [0, 0])
    failures = []
    for name, op, case in supported_cases():
        if operators and op not in operators or pattern and not fnmatch.fnmatchcase(name, pattern):
            continue
        counts[op][1] += 1
        try:
            with np.errstate(all="ignore"):
                run_case(case, backend)
            counts[op][0] += 1
        except Exception as e:  # noqa: BLE001 - a report: every failure is listed
            failures.append((name, f"{type(e).__name__}: {e}".splitlines()[0][:300]))
            if verbose:
                print(f"FAIL {name}: {failures[-1][1]}", file=sys.stderr)
    return dict(counts), failures


def format_table(counts) -> str:
    """A Markdown table of passing/total node tests per operator, with the total."""
    lines = ["| operator | passing / tests |", "|---|---|"]
    for op in sorted(counts):
        lines.append(f"| {op} | {counts[op][0]} / {counts[op][1]} |")
    passed, total = (sum(c[i] for c in counts.values()) for i in (0, 1))
    lines.append(f"| **total** | **{passed} / {total}** |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="reference", help="graphdl backend (reference, numba, cuda)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each failure as it happens")
    parser.add_argument("--ops", default="", help="only these operators, comma-separated (e.g. If,Loop,Scan)")
    parser.add_argument("-k", dest="pattern", help="only node tests whose name matches this fnmatch pattern")
    args = parser.parse_args(argv)
    operators = {op.strip() for op in args.ops.split(",") if op.strip()}
    counts, failures = run_all(args.backend, args.verbose, operators, args.pattern)
    print(format_table(counts))
    for name, err in failures:
        print(f"FAILED {name}: {err}")
    print(f"skipped by SKIPS: {len(SKIPS)}; graphdl {graphdl.__version__}, onnx {onnx.__version__}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
