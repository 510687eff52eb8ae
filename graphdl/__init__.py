"""graphdl: a TensorFlow-1-style static dataflow-graph deep-learning framework.

Build a graph with TF1's API, then run it in a Session::

    import graphdl as tf
    x = tf.placeholder(tf.float32, [None, 3])
    y = tf.reduce_sum(x * 2.0, axis=1)
    with tf.Session() as sess:
        print(sess.run(y, {x: [[1, 2, 3]]}))
"""

import os as _os

# In a source checkout used without installing, backends/ and frontends/ sit beside
# graphdl/ (installs map them to graphdl.backends and graphdl.frontends).
_source_root = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
if not _os.path.isdir(_os.path.join(_os.path.dirname(__file__), "backends")) and _os.path.isfile(
    _os.path.join(_source_root, "backends", "__init__.py")
):
    __path__.append(_source_root)  # noqa: F821 - the package's own __path__

from graphdl import dtypes, errors  # noqa: E402
from graphdl.dtypes import (
    DType, as_dtype, bool_, double, float16, float32, float64, half, int8, int16, int32, int64, string, uint8,
)
from graphdl.framework.graph import Graph, GraphKeys, get_default_graph, reset_default_graph
from graphdl.framework.op_def import NotDifferentiable, RegisterGradient
from graphdl.framework.operation import Operation, Tensor
from graphdl.framework.ops import (
    add_to_collection, add_to_collections, control_dependencies, convert_to_tensor, device, get_collection,
    get_collection_ref, name_scope,
)
from graphdl.framework.tensor_shape import Dimension, TensorShape
from graphdl.framework.indexed_slices import IndexedSlices, IndexedSlicesValue
from graphdl.framework.sparse_tensor import (  # noqa: E402
    SparseTensor, SparseTensorValue, convert_to_tensor_or_sparse_tensor,
)
from graphdl.framework.constant_value import constant_value
from graphdl.ops import overloads as _overloads  # noqa: F401  (installs Tensor operators)
from graphdl.ops.constant_op import constant, placeholder, placeholder_with_default
from graphdl.ops.control_ops import group, identity, no_op, stop_gradient, tuple  # noqa: A004
from graphdl.ops.control_flow_ops import case, cond, switch_case, while_loop
from graphdl.ops.higher_order_ops import foldl, foldr, map_fn, scan
from graphdl.ops.einsum_ops import einsum
from graphdl.ops.partition_ops import dynamic_partition, dynamic_stitch, unique, unique_with_counts
from graphdl.ops.tensor_array_ops import TensorArray
from graphdl.ops.state_ops import assign, assign_add, assign_sub
from graphdl.ops.scatter_state_ops import *  # noqa: F401,F403  (tf.scatter_update & co.)
from graphdl.ops.tensor_scatter_ops import *  # noqa: F401,F403  (tf.tensor_scatter_nd_update & co.)
from graphdl.ops.math_ops import *  # noqa: F401,F403
from graphdl.ops.array_ops import *  # noqa: F401,F403
from graphdl.ops.reduction_ops import *  # noqa: F401,F403
from graphdl.ops.matmul_ops import *  # noqa: F401,F403
from graphdl.ops.range_ops import *  # noqa: F401,F403
from graphdl.ops.indexing_ops import *  # noqa: F401,F403
from graphdl.ops.layout_ops import *  # noqa: F401,F403
from graphdl.ops.random_ops import *  # noqa: F401,F403
from graphdl.ops.cumulative_ops import *  # noqa: F401,F403  (tf.cumsum, tf.cumprod)
from graphdl.ops.sort_ops import *  # noqa: F401,F403  (tf.sort, tf.argsort, tf.searchsorted)
from graphdl.ops.segment_ops import *  # noqa: F401,F403  (tf.segment_*, tf.unsorted_segment_*, tf.sparse_segment_*)
from graphdl.ops.space_depth_ops import *  # noqa: F401,F403  (tf.space_to_depth, tf.space_to_batch_nd & co.)
from graphdl.ops.array_extras import *  # noqa: F401,F403  (tf.sequence_mask, tf.roll, tf.repeat, tf.meshgrid...)
from graphdl.ops.math_extras import bincount, histogram_fixed_width, histogram_fixed_width_bins, lbeta  # noqa: E402
from graphdl.ops.linalg_ops import *  # noqa: F401,F403
from graphdl.ops.linalg_spectral_ops import self_adjoint_eig, self_adjoint_eigvals, svd  # noqa: E402
from graphdl.ops.linalg_impl import cholesky_solve, norm  # noqa: E402
from graphdl.ops.matrix_diag_ops import (  # noqa: E402  (TF1's top-level names of tf.linalg ops)
    diag, diag_part, eye, matrix_band_part, matrix_diag, matrix_diag_part, matrix_set_diag, matrix_transpose, trace,
)
from graphdl.ops import fused_ops as _fused_ops  # noqa: F401,E402  (ops the compiler creates)
from graphdl.ops import fused_conv_ops as _fused_conv_ops  # noqa: F401,E402  (ops the compiler creates)
from graphdl.ops import conv_ops as _conv_ops, depthwise_conv_ops as _depthwise_conv_ops  # noqa: F401,E402
from graphdl.initializers import *  # noqa: F401,F403
from graphdl.variable_scope import *  # noqa: F401,F403
from graphdl import initializers, layers, losses, math, nn, random, train  # noqa: F401,E402
from graphdl import linalg  # noqa: F401,E402  (tf.linalg)
from graphdl import sparse  # noqa: F401,E402  (tf.sparse)
from graphdl.ops.sparse_ops import (  # noqa: E402  (TF1's top-level sparse names)
    sparse_add, sparse_placeholder, sparse_reduce_max, sparse_reduce_sum, sparse_reorder, sparse_reshape,
    sparse_tensor_dense_matmul, sparse_tensor_to_dense, sparse_to_dense,
)
from graphdl.ops.sparse_ops_more import (  # noqa: E402
    sparse_concat, sparse_fill_empty_rows, sparse_mask, sparse_maximum, sparse_merge, sparse_minimum,
    sparse_reset_shape, sparse_retain, sparse_slice, sparse_softmax, sparse_split, sparse_to_indicator,
    sparse_transpose,
)
from graphdl.ops.sparse_string_ops import string_split  # noqa: E402
from graphdl import contrib, image  # noqa: F401,E402
from graphdl import metrics  # tf.metrics: streaming metrics over local variables
from graphdl.metrics.curves import confusion_matrix
from graphdl import summary  # noqa: F401,E402  (tf.summary; protobufs from tensorboard, imported lazily)
from graphdl import debugging, io  # noqa: F401,E402  (tf.debugging; tf.io with tf.io.gfile)
from graphdl.io import gfile  # noqa: F401,E402
from graphdl.ops.logging_ops import Print, print_v2 as print  # noqa: A004,E402  (tf.Print, tf.print)
from graphdl.ops.check_ops import *  # noqa: F401,F403,E402  (tf.Assert, tf.assert_*)
from graphdl.ops.numerics import add_check_numerics_ops, check_numerics, verify_tensor_all_finite  # noqa: E402
from graphdl.ops.script_ops import numpy_function, py_func  # noqa: E402
from graphdl.ops import collective_ops as _collective_ops  # registers the MPI ops; imports no MPI
from graphdl.variables import (
    Variable, global_variables, global_variables_initializer, initialize_all_variables, is_variable_initialized,
    local_variables, local_variables_initializer, model_variables, trainable_variables, variables_initializer,
)
from graphdl import data, queue  # noqa: F401,E402  (tf.data pipelines, tf.queue)
from graphdl.ops.data_flow_ops import FIFOQueue, PaddingFIFOQueue, QueueBase, RandomShuffleQueue  # noqa: E402
from graphdl.ops.io_ops import matching_files, read_file, write_file  # noqa: E402
from graphdl.ops.reader_ops import *  # noqa: F401,F403,E402  (tf.TextLineReader & co.)
from graphdl import python_io, strings  # noqa: F401,E402  (tf.python_io: TFRecord files; tf.strings)
from graphdl.ops.string_ops import reduce_join, regex_replace, string_join, substr  # noqa: E402
from graphdl.ops.string_convert_ops import (  # noqa: E402
    as_string, string_to_hash_bucket, string_to_hash_bucket_fast, string_to_hash_bucket_strong, string_to_number,
)
from graphdl.ops.csv_ops import decode_csv, decode_raw  # noqa: E402
from graphdl.ops.parsing_ops import (  # noqa: E402  (tf.parse_example and its feature specs)
    FixedLenFeature, FixedLenSequenceFeature, VarLenFeature, parse_example, parse_single_example,
)
from graphdl.gradients import gradients
from graphdl.framework_utils import *  # noqa: F401,F403,E402  (tf.is_tensor, tf.hessians, tf.custom_gradient...)
from graphdl.scope_utils import *  # noqa: F401,F403,E402  (tf.make_template, tf.init_scope, tf.colocate_with...)
from graphdl.variable_utils import *  # noqa: F401,F403,E402  (tf.tables_initializer, tf.all_variables...)
from graphdl.ops.ensure_shape_ops import ensure_shape  # noqa: E402
from graphdl.framework.device_spec import DeviceSpec  # noqa: E402
from graphdl.errors import OpError  # noqa: E402
from graphdl.framework.graph_io import GraphDef, import_graph_def  # noqa: E402
from graphdl.train.meta_graph import MetaGraphDef, load_graph, save_graph  # noqa: E402
from graphdl.client.session import InteractiveSession, Session, get_default_session
from graphdl.client.config import ConfigProto, GPUOptions, GraphOptions, OptimizerOptions, RunMetadata, RunOptions

_overloads.install(Variable)
bool = bool_  # noqa: A001 - TF1 exposes tf.bool

__version__ = "0.1.0"


# TF1's top-level protobuf classes: built from tensorboard's protos on first use (an optional dependency).
_SUMMARY_PROTOS = {
    "Summary": ("summary_pb2", "Summary"), "HistogramProto": ("summary_pb2", "HistogramProto"),
    "SummaryMetadata": ("summary_pb2", "SummaryMetadata"), "Event": ("event_pb2", "Event"),
    "SessionLog": ("event_pb2", "SessionLog"), "LogMessage": ("event_pb2", "LogMessage"),
}


def __getattr__(name):
    if name in _SUMMARY_PROTOS:
        from graphdl.summary._tensorboard import tensorboard

        module, cls = _SUMMARY_PROTOS[name]
        return getattr(getattr(tensorboard(), module), cls)
    # graphdl.onnx loads the onnx package (~0.1 s): import it on first use of tf.onnx, not with graphdl.
    if name == "onnx":
        import importlib

        return importlib.import_module("graphdl.onnx")
    if name == "viz":  # graph pictures (DOT, HTML viewer): loaded on first use
        import importlib

        return importlib.import_module("graphdl.viz")
    if name == "distributed":  # data-parallel training on MPI: loaded on first use
        import importlib

        return importlib.import_module("graphdl.distributed")
    raise AttributeError(f"module 'graphdl' has no attribute {name!r}")
