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
    "AvgPoolGrad", "BiasAddGrad", "BlockLSTMRecurrenceGrad", "BroadcastGradientArgs", "Conv2DBackpropFilter",
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
    "TextLineReaderV2", "WholeFileReaderV2", "TFRecordReaderV2", "FixedLengthRecordReaderV2", "ReaderReadV2",
    "ReaderReadUpToV2", "ReaderNumRecordsProducedV2", "ReaderNumWorkUnitsCompletedV2", "ReaderResetV2",
    "MatchingFiles",
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
    "training-only: a sparse variable update (tf.scatter_update & co.), which never reaches an inference output",
    "ScatterUpdate", "ScatterAdd", "ScatterSub", "ScatterMul", "ScatterDiv", "ScatterMax", "ScatterMin",
    "ScatterNdUpdate", "ScatterNdAdd", "ScatterNdSub",
)
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
not_exported(
    "no ONNX operator computes it (matrix inverse, factorizations, eigen- and singular values, solves, matrix "
    "exponential); export the tensors after it, or compute it outside the model",
    "MatrixInverse", "LogMatrixDeterminant", "Cholesky", "MatrixSolve", "MatrixTriangularSolve", "MatrixSolveLs",
    "Svd", "SelfAdjointEigV2", "MatrixExponential",
)
not_exported(
    "no ONNX operator computes it (a cumulative product, segment reductions with sorted or sparse ids, "
    "space/batch block moves, image patches, set difference, unravel_index, bincount, scaled Bessel functions); "
    "not mapped to a composite yet",
    "Cumprod", "SegmentSum", "SegmentMean", "SegmentMax", "SegmentMin", "SegmentProd", "UnsortedSegmentMax",
    "UnsortedSegmentMin", "UnsortedSegmentProd", "SparseSegmentSum", "SparseSegmentMean", "SparseSegmentSqrtN",
    "SpaceToBatchND", "BatchToSpaceND", "ExtractImagePatches", "ListDiff", "UnravelIndex", "Bincount", "BesselI0e",
    "BesselI1e",
)
not_exported(
    "host-side string processing or input parsing (bytes in object arrays: joins, regexes, hashes, number "
    "conversion, CSV and tf.train.Example parsing); ONNX's few string operators differ from TF's (StringNormalizer "
    "takes only [C] or [1, C] input and lowers by locale), so export the numeric tensors after it",
    "StringJoin", "Substr", "StringLength", "StringLower", "StringUpper", "StringStrip", "RegexReplace",
    "RegexFullMatch", "ReduceJoin", "StringFormat", "StringToNumber", "AsString", "StringToHashBucketFast",
    "StringToHashBucket", "StringToHashBucketStrong", "DecodeCSV", "DecodeRaw", "ParseExample",
)
not_exported(
    "sparse ops work on SparseTensor components (index rows sorted, merged or re-indexed by value); ONNX has no "
    "sparse tensor operators, so densify first (tf.sparse.to_dense) and export the dense tensors",
    "SparseToDense", "SparseTensorDenseMatMul", "SparseReduceMax", "SparseReorder", "SparseReshape", "SparseAdd",
    "SparseAddGrad", "SparseConcat", "SparseFillEmptyRows", "SparseSoftmax", "SparseSlice", "SparseSliceGrad",
    "SparseSparseMaximum", "SparseSparseMinimum", "StringSplit", "StringSplitV2",
)
