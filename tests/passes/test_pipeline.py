"""optimize(): the passes run in order, each switchable, each reporting what it did."""

import itertools

import numpy as np
import pytest

import graphdl
from graphdl.passes.pipeline import PIPELINE_ORDER, PassReport, get_pass, optimize, pass_names
from passes.pass_helpers import assert_pure_pass, assert_same_results, initialized_state, op_types, program_for

X = np.array([[0.5, -1.0, 2.0], [3.0, 0.25, -0.75]], np.float32)


def _program():
    """A program every pass of the pipeline changes."""
    x = graphdl.placeholder(graphdl.float32, [2, 3], name="x")
    scale = graphdl.constant(2.0) * graphdl.constant(3.0)  # constant folding
    a = graphdl.tanh(x) * 1.0  # algebraic simplification
    b = graphdl.tanh(x) * 1.0  # common subexpressions (after simplification)
    return program_for([a * scale + b], [x])


def test_default_pipeline_runs_every_pass_in_order():
    program = _program()
    optimized, reports = assert_pure_pass(optimize, program)
    assert [r.name for r in reports] == list(PIPELINE_ORDER)
    assert list(PIPELINE_ORDER) == ["constant_folding", "algebraic_simplification", "common_subexpressions"]
    by_name = {r.name: r for r in reports}
    assert by_name["constant_folding"].changes == ["folded mul (Mul)"]
    assert len(by_name["algebraic_simplification"].changes) == 2
    assert by_name["common_subexpressions"].changes == ["Tanh_1 -> Tanh (Tanh)"]
    assert op_types(optimized) == {"Tanh": 1, "Const": 1, "Mul": 1, "AddV2": 1}
    assert_same_results(program, optimized, [X], rtol=1e-6)


def test_reports_have_op_counts_and_timings():
    program = _program()
    optimized, reports = optimize(program)
    assert all(isinstance(r, PassReport) for r in reports)
    assert reports[0].ops_before == len(program.ops)
    assert reports[-1].ops_after == len(optimized.ops)
    for previous, current in itertools.pairwise(reports):
        assert current.ops_before == previous.ops_after
    for r in reports:
        assert r.ops_after < r.ops_before
        assert r.seconds >= 0.0
        summary = r.summary()
        assert summary.startswith(f"{r.name}: {r.ops_before} -> {r.ops_after} ops: {len(r.changes)} rewrites (")
        assert summary.endswith(" ms)")


def test_report_summary_of_a_pass_that_changed_nothing():
    x = graphdl.placeholder(graphdl.float32, [2], name="x")
    program = program_for([graphdl.exp(x)], [x])
    _, reports = optimize(program, only=["constant_folding"])
    (report,) = reports
    assert report.changes == [] and report.ops_before == report.ops_after == 1
    assert "rewrites" not in report.summary()


def test_disabled_pass_is_skipped():
    program = _program()
    optimized, reports = optimize(program, disabled=["constant_folding"])
    assert [r.name for r in reports] == ["algebraic_simplification", "common_subexpressions"]
    # The constant product is still computed at run time.
    assert op_types(optimized)["Mul"] == 2
    assert_same_results(program, optimized, [X], rtol=1e-6)


def test_disabled_accepts_a_single_name():
    _, reports = optimize(_program(), disabled="common_subexpressions")
    assert [r.name for r in reports] == ["constant_folding", "algebraic_simplification"]


def test_all_passes_disabled_returns_an_equivalent_program():
    program = _program()
    optimized, reports = optimize(program, disabled=list(PIPELINE_ORDER))
    assert reports == []
    assert optimized is program


def test_only_runs_just_the_named_passes_in_pipeline_order():
    program = _program()
    optimized, reports = optimize(program, only=["common_subexpressions", "constant_folding"])
    assert [r.name for r in reports] == ["constant_folding", "common_subexpressions"]
    # Without simplification the two `tanh(x) * 1.0` are still merged by CSE.
    assert op_types(optimized)["Tanh"] == 1 and op_types(optimized)["Mul"] == 2
    assert_same_results(program, optimized, [X], rtol=1e-6)


def test_unknown_pass_names_raise_listing_the_known_passes():
    program = _program()
    with pytest.raises(ValueError, match=r"Unknown pass name\(s\) \['constant_foldin'\]") as info:
        optimize(program, disabled=["constant_foldin"])
    for name in pass_names():
        assert name in str(info.value)
    with pytest.raises(ValueError, match="no_such_pass"):
        optimize(program, only=["no_such_pass"])


def test_backend_passes_are_known_names_but_not_run_by_optimize():
    assert "elementwise_fusion" in pass_names()
    _, reports = optimize(_program(), disabled=["elementwise_fusion"])
    assert [r.name for r in reports] == list(PIPELINE_ORDER)


def test_get_pass_describes_each_pipeline_pass():
    for name in PIPELINE_ORDER:
        graph_pass = get_pass(name)
        assert graph_pass.name == name and graph_pass.description
        assert callable(graph_pass.run)


def test_optimize_keeps_training_semantics():
    x = graphdl.placeholder(graphdl.float32, [None, 3], name="x")
    w = graphdl.Variable(np.full((3, 1), 0.5, np.float32), name="w")
    loss = graphdl.reduce_mean(graphdl.square(graphdl.matmul(x, w) - 1.0))
    train = graphdl.train.GradientDescentOptimizer(0.1).minimize(loss)
    program = program_for([loss], [x], [train])
    optimized, reports = optimize(program)
    assert sum(len(r.changes) for r in reports) > 0
    state = initialized_state()
    assert_same_results(program, optimized, [X], state=state, rtol=1e-6)
