"""Session configuration with TF1's ``ConfigProto`` names, plus graphdl's compiler switches.

TF1 fields are accepted as TF1 scripts set them; those that mean something here act:
``graph_options.optimizer_options.opt_level = L0`` turns the graph passes off,
``do_constant_folding`` / ``do_common_subexpression_elimination`` turn single passes
off. graphdl adds ``backend`` (the executor), ``disabled_passes`` (pass names, see
``graphdl.passes.pass_names()``) and ``dump_dir`` (a folder for compiler dumps, like the
``GRAPHDL_DUMP_DIR`` environment variable; see graphdl/client/dumps.py).
"""

from __future__ import annotations


class _Message:
    """A settable record with defaults, printing like a protobuf message."""

    _defaults: dict = {}

    def __init__(self, **kwargs):
        for name, default in self._defaults.items():
            setattr(self, name, default() if callable(default) else default)
        for name, value in kwargs.items():
            if name not in self._defaults:
                raise TypeError(f"{type(self).__name__} has no field '{name}'; fields: {', '.join(self._defaults)}")
            setattr(self, name, value)

    def __repr__(self):
        fields = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._defaults)
        return f"{type(self).__name__}({fields})"


class GPUOptions(_Message):
    _defaults = {
        "per_process_gpu_memory_fraction": 0.0,
        "allow_growth": False,
        "visible_device_list": "",
        "allocator_type": "",
        "force_gpu_compatible": False,
    }


class OptimizerOptions(_Message):
    L1 = 0
    L0 = -1
    DEFAULT = 0
    OFF = -1
    ON_1 = 1
    ON_2 = 2
    _defaults = {
        "opt_level": 0,
        "do_constant_folding": True,
        "do_common_subexpression_elimination": True,
        "do_function_inlining": True,
        "global_jit_level": 0,
    }


class GraphOptions(_Message):
    _defaults = {
        "optimizer_options": OptimizerOptions,
        "enable_recv_scheduling": False,
        "build_cost_model": 0,
        "infer_shapes": False,
        "place_pruned_graph": False,
        "enable_bfloat16_sendrecv": False,
    }


class RunOptions(_Message):
    NO_TRACE = 0
    SOFTWARE_TRACE = 1
    HARDWARE_TRACE = 2
    FULL_TRACE = 3
    _defaults = {"trace_level": 0, "timeout_in_ms": 0, "output_partition_graphs": False}


class RunMetadata(_Message):
    _defaults = {"step_stats": None, "partition_graphs": list, "cost_graph": None}


class ConfigProto(_Message):
    """TF1's session configuration; graphdl adds ``backend``, ``disabled_passes`` and ``dump_dir``."""

    _defaults = {
        "device_count": dict,
        "intra_op_parallelism_threads": 0,
        "inter_op_parallelism_threads": 0,
        "use_per_session_threads": False,
        "allow_soft_placement": False,
        "log_device_placement": False,
        "gpu_options": GPUOptions,
        "graph_options": GraphOptions,
        "operation_timeout_in_ms": 0,
        "isolate_session_state": False,
        "backend": None,
        "disabled_passes": tuple,
        "dump_dir": None,
    }


def disabled_passes(config) -> tuple:
    """The graph passes a session with ``config`` must not run."""
    if config is None:
        return ()
    from graphdl.passes.pipeline import pass_names

    disabled = set(getattr(config, "disabled_passes", ()) or ())
    graph_options = getattr(config, "graph_options", None)
    optimizer_options = getattr(graph_options, "optimizer_options", None)
    if optimizer_options is not None:
        if getattr(optimizer_options, "opt_level", 0) == OptimizerOptions.L0:
            disabled |= set(pass_names())
        if not getattr(optimizer_options, "do_constant_folding", True):
            disabled.add("constant_folding")
        if not getattr(optimizer_options, "do_common_subexpression_elimination", True):
            disabled.add("common_subexpressions")
    return tuple(sorted(disabled))
