"""Every registered op type is exercised by the op tables; every differentiable one by a gradient check.

Op types whose behaviour cannot be compared with a deterministic NumPy function
(random sampling, variable state, optimizer updates) are tested in their own modules,
listed in ``TESTED_ELSEWHERE`` with the file that covers them.
"""

import importlib
import pathlib

from harness import op_types_of

from graphdl.framework.op_def import get_op_def, registered_op_types

TESTS = pathlib.Path(__file__).parent

TESTED_ELSEWHERE = {
    "VariableV2": "test_variables.py, test_session.py",
    "Assign": "test_variables.py",
    "AssignAdd": "test_variables.py, test_session.py",
    "AssignSub": "test_variables.py",
    "IsVariableInitialized": "test_variables.py",
    "InitializedValue": "test_variables.py",
    "NoOp": "test_session.py",
    "FusedElementwise": "passes/test_elementwise_fusion.py, numba_cpu/ (created by the fusion pass, not by users)",
    "_FusedConv2D": "passes/test_conv_fusion.py, numba_cpu/test_fused_conv.py (created by the conv fusion pass)",
    "RandomStandardNormal": "test_random_ops.py",
    "TruncatedNormal": "test_random_ops.py",
    "RandomUniform": "test_random_ops.py",
    "RandomUniformInt": "test_random_ops.py",
    "RandomShuffle": "test_random_ops.py",
    "Multinomial": "test_random_ops.py",
    "RandomGamma": "test_random_ops.py",
    "RandomGammaGrad": "test_random_ops.py",
    "RandomPoissonV2": "test_random_ops.py",
    "ApplyGradientDescent": "train/test_optimizers.py",
    "ApplyMomentum": "train/test_optimizers.py",
    "ApplyAdagrad": "train/test_optimizers.py",
    "ApplyRMSProp": "train/test_optimizers.py",
    "ApplyCenteredRMSProp": "train/test_optimizers.py",
    "ApplyAdam": "train/test_optimizers.py",
    "ApplyAdadelta": "train/test_training_ops.py",
    "ApplyProximalGradientDescent": "train/test_training_ops.py",
    "If": "test_control_flow.py (OpCase table with gradient checks)",
    "Case": "test_control_flow.py (OpCase table with gradient checks)",
    "CaseGrad": "test_control_flow.py (the gradient of If/Case)",
    "While": "test_control_flow.py (OpCase table with gradient checks)",
    "WhileGrad": "test_control_flow.py (the gradient of While)",
    "TensorArray": "test_tensor_array.py",
    "TensorArrayScatter": "test_tensor_array.py (OpCase table with gradient checks)",
    "TensorArrayScatterGrad": "test_tensor_array.py (the gradient of TensorArrayScatter)",
    # Host-side input pipelines (iterator and queue state live in the session; files; Pillow decoding).
    "IteratorV2": "test_data.py", "OneShotIterator": "test_data.py", "MakeIterator": "test_data.py",
    "IteratorGetNext": "test_data.py",
    "FIFOQueueV2": "test_queues.py", "PaddingFIFOQueueV2": "test_queues.py", "RandomShuffleQueueV2": "test_queues.py",
    "QueueEnqueueV2": "test_queues.py", "QueueEnqueueManyV2": "test_queues.py", "QueueDequeueV2": "test_queues.py",
    "QueueDequeueManyV2": "test_queues.py", "QueueDequeueUpToV2": "test_queues.py", "QueueCloseV2": "test_queues.py",
    "QueueSizeV2": "test_queues.py", "QueueIsClosedV2": "test_queues.py", "CountUpTo": "test_queues.py",
    "ReadFile": "test_queues.py", "WriteFile": "test_queues.py", "DecodeJpeg": "test_queues.py",
    "DecodePng": "test_queues.py", "DecodeImage": "test_queues.py",
    "TextLineReaderV2": "test_readers.py", "WholeFileReaderV2": "test_readers.py", "TFRecordReaderV2": "test_readers.py",
    "FixedLengthRecordReaderV2": "test_readers.py", "ReaderReadV2": "test_readers.py",
    "ReaderReadUpToV2": "test_readers.py", "ReaderNumRecordsProducedV2": "test_readers.py",
    "ReaderNumWorkUnitsCompletedV2": "test_readers.py", "ReaderResetV2": "test_readers.py",
    "MatchingFiles": "test_readers.py",
    # Summary ops output serialized protobufs (host-side strings), checked against oracles there.
    "ScalarSummary": "test_summary.py",
    "HistogramSummary": "test_summary.py",
    "ImageSummary": "test_summary.py",
    "AudioSummaryV2": "test_summary.py",
    "TensorSummaryV2": "test_summary.py",
    "MergeSummary": "test_summary.py",
    # Collectives across MPI worker processes: compared with single-process training under mpiexec.
    "MPIAllreduce": "test_distributed.py (with its gradient)",
    "MPIBroadcast": "test_distributed.py",
    # Candidate sampling draws random ids: distributions, expected counts and seeds checked there.
    "UniformCandidateSampler": "test_candidate_sampling.py", "LogUniformCandidateSampler": "test_candidate_sampling.py",
    "FixedUnigramCandidateSampler": "test_candidate_sampling.py", "AllCandidateSampler": "test_candidate_sampling.py",
    "ComputeAccidentalHits": "test_candidate_sampling.py (and inside the nce_loss/sampled_softmax_loss OpCases)",
}


def _all_cases():
    cases = []
    for path in sorted((TESTS / "ops").glob("test_*.py")):
        module = importlib.import_module(f"ops.{path.stem}")
        cases.extend(getattr(module, "CASES", []))
    return cases


def _covered():
    forward, with_grad = set(), set()
    for case in _all_cases():
        types = op_types_of(case)
        forward |= types
        if case.grad:
            with_grad |= types
    return forward, with_grad


def test_every_op_type_has_a_numpy_comparison():
    forward, _ = _covered()
    public = [t for t in registered_op_types() if not t.startswith("_Test")]
    missing = [t for t in public if t not in forward and t not in TESTED_ELSEWHERE]
    assert not missing, f"op types with no OpCase in tests/ops: {missing}"


def test_every_differentiable_op_type_has_a_gradient_check():
    _, with_grad = _covered()
    missing = []
    for t in registered_op_types():
        op_def = get_op_def(t)
        if t.startswith("_Test") or op_def.grad is None or t in TESTED_ELSEWHERE:
            continue
        if t not in with_grad:
            missing.append(t)
    assert not missing, f"differentiable op types with no gradient-checked OpCase: {missing}"


def test_elsewhere_list_names_real_op_types():
    unknown = set(TESTED_ELSEWHERE) - set(registered_op_types())
    assert not unknown, f"TESTED_ELSEWHERE names op types that do not exist: {unknown}"


def test_every_op_type_has_an_onnx_mapping_or_a_reason():
    from graphdl.backends.onnx import MAPPINGS, NOT_EXPORTED

    public = [t for t in registered_op_types() if not t.startswith("_Test")]
    missing = [t for t in public if t not in MAPPINGS and t not in NOT_EXPORTED]
    assert not missing, f"op types with neither an ONNX mapping (backends/onnx) nor a reason in NOT_EXPORTED: {missing}"
