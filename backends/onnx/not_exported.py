"""Op types that are never exported to ONNX, each with the reason (training-only or no ONNX equivalent)."""

from graphdl.backends.onnx.registry import not_exported

not_exported(
    "training-only: an optimizer update or variable assignment, which never reaches an inference output",
    "ApplyAdadelta", "ApplyAdagrad", "ApplyAdam", "ApplyCenteredRMSProp", "ApplyGradientDescent", "ApplyMomentum",
    "ApplyProximalGradientDescent", "ApplyRMSProp", "Assign", "AssignAdd", "AssignSub", "CountUpTo",
    "IsVariableInitialized", "InitializedValue", "NoOp",
)
not_exported(
    "training-only: a gradient op, built by graphdl.gradients for backpropagation",
    "AvgPoolGrad", "BiasAddGrad", "BroadcastGradientArgs", "Conv2DBackpropFilter",
    "DepthwiseConv2dNativeBackpropFilter", "DepthwiseConv2dNativeBackpropInput", "EluGrad", "FusedBatchNormGradV3",
    "GRUBlockCellGatesGrad", "GRUBlockCellUpdateGrad", "GatherDropNegatives", "GatherGrad", "LRNGrad",
    "LSTMBlockCellUpdateGrad", "LeakyReluGrad", "MaxPoolGrad", "MaxPoolGradGrad", "MirrorPadGrad", "RandomGammaGrad",
    "ReciprocalGrad", "ReducedShape", "Relu6Grad", "ReluGrad", "ResizeAreaGrad", "ResizeBicubicGrad",
    "ResizeBilinearGrad", "ResizeNearestNeighborGrad", "RsqrtGrad", "SeluGrad", "SigmoidGrad", "SoftplusGrad",
    "SoftsignGrad", "SqrtGrad", "StridedSliceGrad", "TanhGrad", "CaseGrad", "WhileGrad", "TensorArrayScatterGrad",
)
not_exported(
    "host-side input pipeline, file, summary or Python op; export from the tensors it produces (list them as inputs)",
    "IteratorV2", "OneShotIterator", "MakeIterator", "IteratorGetNext", "FIFOQueueV2", "PaddingFIFOQueueV2",
    "RandomShuffleQueueV2", "QueueEnqueueV2", "QueueEnqueueManyV2", "QueueDequeueV2", "QueueDequeueManyV2",
    "QueueDequeueUpToV2", "QueueCloseV2", "QueueSizeV2", "QueueIsClosedV2", "ReadFile", "WriteFile", "DecodeJpeg",
    "DecodePng", "DecodeImage", "ScalarSummary", "HistogramSummary", "ImageSummary", "AudioSummaryV2",
    "TensorSummaryV2", "MergeSummary", "PyFunc", "PyFuncStateless", "Assert", "PrintV2",
)
not_exported(
    "no ONNX operator computes it (special functions, area resampling, truncated or gamma/Poisson sampling, "
    "shuffles, QR)",
    "Digamma", "Lgamma", "Polygamma", "ResizeArea", "TruncatedNormal", "RandomGamma", "RandomPoissonV2",
    "RandomUniformInt", "RandomShuffle", "Multinomial", "Qr",
)
not_exported(
    "TF's bicubic kernel (its coefficient table and edge clamping) differs from ONNX Resize's cubic mode by up to "
    "5e-2, so an exported model would not match; resize with bilinear or nearest for export",
    "ResizeBicubic",
)
not_exported(
    "shape arithmetic exported only when its inputs are constants (it is then folded into an initializer)",
    "BroadcastArgs", "InvertPermutation",
)
not_exported(
    "created by the compiler's fusion pass, never in a user's graph (export the graph you built)",
    "FusedElementwise",
)
not_exported("a variable is exported as an initializer holding its value", "VariableV2")
not_exported(
    "training-only: a collective across the worker processes of an MPI job (graphdl.distributed); an exported "
    "model runs in one process",
    "MPIAllreduce", "MPIBroadcast",
)
not_exported(
    "training-only: candidate sampling for sampled losses (nce_loss, sampled_softmax_loss); evaluate with the full "
    "softmax",
    "UniformCandidateSampler", "LogUniformCandidateSampler", "FixedUnigramCandidateSampler", "AllCandidateSampler",
    "ComputeAccidentalHits",
)
not_exported(
    "not mapped: data-dependent regrouping (one ONNX Compress per partition, or ScatterND with last-write-wins) is "
    "not implemented; export the tensors after it",
    "DynamicPartition", "DynamicStitch",
)
