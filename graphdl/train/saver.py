"""TF1's ``tf.train.Saver``: save variables to checkpoints and restore them into a session.

Checkpoint format (graphdl's own, portable, documented here). A checkpoint with prefix
``P`` (e.g. ``/ckpt/model.ckpt-3``) is two files:

* ``P.npz`` -- a standard NumPy ``.npz`` (zip) archive with one ``.npy`` member per
  variable, named by its checkpoint key (``"dense/kernel"``). Written with
  ``allow_pickle=False``; object/string arrays are refused, so loading never runs code.
* ``P.index.json`` -- UTF-8 JSON::

      {"format": "graphdl-checkpoint", "version": 1,
       "data_sha256": "<sha256 of P.npz>", "data_size": <bytes of P.npz>,
       "variables": {"dense/kernel": {"dtype": "float32", "shape": [3, 4],
                                      "sha256": "<sha256 of the C-order array bytes>"}, ...}}

Each file is written atomically (temp file in the same directory, fsync, ``os.replace``),
the data file first and the index last: a checkpoint exists once its index does. Restore
verifies the data file's checksum and size, every array's dtype, shape and checksum, and
that every variable is present and shape-compatible, before assigning anything.

The state file (``checkpoint`` by default, next to the checkpoints) uses TF1's text format
with names relative to its directory::

    model_checkpoint_path: "model.ckpt-3"
    all_model_checkpoint_paths: "model.ckpt-2"
    all_model_checkpoint_paths: "model.ckpt-3"
"""

from __future__ import annotations

import hashlib
import io
import json
import numbers
import os
import re
import time
import zipfile

import numpy as np

from graphdl import errors
from graphdl.io.atomic import write_atomically_with

__all__ = ["Saver", "checkpoint_exists", "get_checkpoint_state", "latest_checkpoint"]

FORMAT_NAME = "graphdl-checkpoint"
FORMAT_VERSION = 1
DATA_SUFFIX = ".npz"
INDEX_SUFFIX = ".index.json"
_STATE_FILENAME = "checkpoint"


# -- file helpers ---------------------------------------------------------------------------
def _sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _array_sha256(arr):
    return hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()


def _remove_quietly(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


# -- checkpoint state file ---------------------------------------------------------------------
class CheckpointState:
    """The contents of a checkpoint state file (TF1's ``CheckpointState`` proto)."""

    def __init__(self, model_checkpoint_path="", all_model_checkpoint_paths=()):
        self.model_checkpoint_path = model_checkpoint_path
        self.all_model_checkpoint_paths = list(all_model_checkpoint_paths)

    def __repr__(self):
        lines = [f'model_checkpoint_path: "{self.model_checkpoint_path}"']
        lines += [f'all_model_checkpoint_paths: "{p}"' for p in self.all_model_checkpoint_paths]
        return "\n".join(lines)


_STATE_LINE = re.compile(r'^\s*(\w+)\s*:\s*"((?:[^"\\]|\\.)*)"\s*$')


def _quote(s):
    return s.replace("\\", "\\\\").replace('"', '\\"')


def _unquote(s):
    return re.sub(r"\\(.)", lambda m: m.group(1), s)


def _state_path(checkpoint_dir, latest_filename):
    return os.path.join(checkpoint_dir, latest_filename or _STATE_FILENAME)


def get_checkpoint_state(checkpoint_dir, latest_filename=None):
    """The ``CheckpointState`` in ``checkpoint_dir``'s state file, or None if there is none.

    Relative paths in the file are returned joined with ``checkpoint_dir``.
    """
    path = _state_path(checkpoint_dir, latest_filename)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return None
    state = CheckpointState()
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        m = _STATE_LINE.match(line)
        if m is None or m.group(1) not in ("model_checkpoint_path", "all_model_checkpoint_paths"):
            raise errors.DataLossError(f"Checkpoint state file {path} is corrupt: cannot parse line {lineno}: {line!r}")
        value = _unquote(m.group(2))
        if not os.path.isabs(value):
            value = os.path.join(checkpoint_dir, value)
        if m.group(1) == "model_checkpoint_path":
            state.model_checkpoint_path = value
        else:
            state.all_model_checkpoint_paths.append(value)
    if not state.model_checkpoint_path:
        raise ValueError(f"Invalid checkpoint state loaded from {path}: it has no model_checkpoint_path.")
    return state


def _write_checkpoint_state(save_dir, model_checkpoint_path, all_paths, latest_filename):
    real_dir = os.path.abspath(save_dir)

    def rel(p):
        return os.path.basename(p) if os.path.dirname(os.path.abspath(p)) == real_dir else os.path.abspath(p)

    all_paths = list(all_paths)
    if not all_paths or all_paths[-1] != model_checkpoint_path:
        all_paths.append(model_checkpoint_path)
    lines = [f'model_checkpoint_path: "{_quote(rel(model_checkpoint_path))}"']
    lines += [f'all_model_checkpoint_paths: "{_quote(rel(p))}"' for p in all_paths]
    data = ("\n".join(lines) + "\n").encode("utf-8")
    write_atomically_with(_state_path(save_dir, latest_filename), lambda f: f.write(data))


def checkpoint_exists(checkpoint_prefix):
    """Whether a (committed) checkpoint with this prefix exists: its index file is present."""
    return os.path.isfile(str(checkpoint_prefix) + INDEX_SUFFIX)


def latest_checkpoint(checkpoint_dir, latest_filename=None):
    """The prefix of the newest checkpoint recorded in ``checkpoint_dir``'s state file, or None."""
    state = get_checkpoint_state(checkpoint_dir, latest_filename)
    if state and state.model_checkpoint_path and checkpoint_exists(state.model_checkpoint_path):
        return state.model_checkpoint_path
    return None


# -- reading / writing checkpoint files ---------------------------------------------------------
def _write_npz(f, arrays):
    with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for key, arr in arrays.items():
            with zf.open(key + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, arr, allow_pickle=False)


def _read_index(prefix):
    index_path = prefix + INDEX_SUFFIX
    if not os.path.isfile(index_path):
        raise errors.NotFoundError(
            f"Failed to restore: no checkpoint found at {prefix} (missing {index_path}). "
            "Pass the prefix returned by Saver.save(), e.g. tf.train.latest_checkpoint(dir)."
        )
    try:
        with open(index_path, "rb") as f:
            index = json.loads(f.read().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise errors.DataLossError(f"Checkpoint index {index_path} is corrupt or truncated: {e}") from None
    if not isinstance(index, dict) or index.get("format") != FORMAT_NAME:
        raise errors.DataLossError(f"{index_path} is not a graphdl checkpoint index (format {FORMAT_NAME!r}).")
    if index.get("version") != FORMAT_VERSION:
        raise errors.DataLossError(
            f"Checkpoint {index_path} has format version {index.get('version')}; this graphdl reads version "
            f"{FORMAT_VERSION}."
        )
    if not isinstance(index.get("variables"), dict) or not isinstance(index.get("data_sha256"), str):
        raise errors.DataLossError(f"Checkpoint index {index_path} is corrupt: missing 'variables' or 'data_sha256'.")
    return index


def _read_data(prefix, index):
    data_path = prefix + DATA_SUFFIX
    try:
        with open(data_path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise errors.NotFoundError(
            f"Checkpoint data file {data_path} is missing (its index {prefix + INDEX_SUFFIX} exists)."
        ) from None
    expected_size = index.get("data_size")
    if expected_size is not None and len(data) != expected_size:
        raise errors.DataLossError(
            f"Checkpoint data file {data_path} is corrupt or truncated: it has {len(data)} bytes, "
            f"the index records {expected_size}."
        )
    digest = hashlib.sha256(data).hexdigest()
    if digest != index["data_sha256"]:
        raise errors.DataLossError(
            f"Checkpoint data file {data_path} is corrupt or truncated: sha256 {digest} does not match "
            f"{index['data_sha256']} recorded in the index."
        )
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile) as e:
        raise errors.DataLossError(f"Checkpoint data file {data_path} is corrupt: {e}") from None


def _load_array(npz, key, entry, prefix):
    data_path = prefix + DATA_SUFFIX
    try:
        arr = npz[key]
    except KeyError:
        raise errors.DataLossError(f"Checkpoint {data_path} lacks array '{key}' listed in its index.") from None
    except (ValueError, OSError, zipfile.BadZipFile) as e:
        raise errors.DataLossError(f"Checkpoint {data_path}: array '{key}' is corrupt: {e}") from None
    if arr.dtype.name != entry.get("dtype") or list(arr.shape) != list(entry.get("shape", ())):
        raise errors.DataLossError(
            f"Checkpoint {data_path}: array '{key}' has dtype {arr.dtype.name} shape {arr.shape}, but the index "
            f"records dtype {entry.get('dtype')} shape {tuple(entry.get('shape', ()))}."
        )
    if _array_sha256(arr) != entry.get("sha256"):
        raise errors.DataLossError(f"Checkpoint {data_path}: array '{key}' is corrupt (sha256 mismatch).")
    return arr


# -- Saver ---------------------------------------------------------------------------------------
def _is_variable(v):
    from graphdl.variables import Variable

    return isinstance(v, Variable)


def _var_dict(var_list):
    """``{checkpoint key: Variable}`` from a list (keys = variable op names) or a dict."""
    if isinstance(var_list, dict):
        items = list(var_list.items())
    else:
        if not isinstance(var_list, (list, tuple, set, frozenset)):
            raise TypeError(f"var_list must be a list, tuple or dict of Variables, got {type(var_list).__name__}.")
        items = []
        for v in var_list:
            if not _is_variable(v):
                raise TypeError(f"Saver var_list entries must be Variables, got {v!r}.")
            items.append((v.op.name, v))
    result = {}
    for key, v in items:
        if not isinstance(key, str) or not key:
            raise TypeError(f"Checkpoint keys must be non-empty strings, got {key!r}.")
        if not _is_variable(v):
            raise TypeError(f"The value for checkpoint key '{key}' must be a Variable, got {v!r}.")
        if key in result:
            raise ValueError(f"At least two variables have the same name: {key}")
        result[key] = v
    return result


class Saver:
    """Saves and restores variables (TF1's ``tf.train.Saver``).

    ``var_list``: None (all global variables), a list of Variables (checkpoint keys are
    their op names, e.g. ``"dense/kernel"``), or a dict ``{checkpoint key: Variable}``.
    ``max_to_keep`` newest checkpoints are kept (None or 0 keeps all files);
    ``keep_checkpoint_every_n_hours`` additionally preserves one checkpoint per that many
    hours. ``reshape=True`` lets a restore fill a variable from an array with the same
    number of elements but another shape. graphdl always writes one data file per
    checkpoint and always records names relative to the state file's directory, so ``sharded``,
    ``restore_sequentially``, ``write_version``, ``builder``, ``filename``, ``saver_def``,
    ``name`` and ``save_relative_paths`` are accepted for TF1 compatibility and change nothing.
    See the module docstring for the file format.
    """

    def __init__(
        self,
        var_list=None,
        reshape=False,
        sharded=False,
        max_to_keep=5,
        keep_checkpoint_every_n_hours=10000.0,
        name=None,
        restore_sequentially=False,
        saver_def=None,
        builder=None,
        defer_build=False,
        allow_empty=False,
        write_version=2,
        pad_step_number=False,
        save_relative_paths=False,
        filename=None,
    ):
        self._var_list = var_list
        self._reshape = reshape
        self._sharded = sharded
        self._max_to_keep = max_to_keep
        self._keep_checkpoint_every_n_hours = keep_checkpoint_every_n_hours
        self._name = name
        self._allow_empty = allow_empty
        self._pad_step_number = pad_step_number
        self._save_relative_paths = save_relative_paths
        self._filename = filename
        self._vars = None
        self._last_checkpoints = []  # [(prefix, timestamp)], oldest first
        self._to_delete = []
        self._next_checkpoint_time = time.time() + keep_checkpoint_every_n_hours * 3600
        if not defer_build:
            self.build()

    def build(self):
        """Resolve ``var_list`` (all global variables when None); raises if empty unless ``allow_empty``."""
        if self._vars is not None:
            return
        var_list = self._var_list
        if var_list is None:
            from graphdl.variables import global_variables

            var_list = global_variables()
        vars_ = _var_dict(var_list)
        if not vars_ and not self._allow_empty:
            raise ValueError("No variables to save")
        self._vars = vars_

    # -- bookkeeping of kept checkpoints --------------------------------------------------
    @property
    def last_checkpoints(self):
        """Prefixes of the checkpoints not yet deleted, oldest first."""
        return [p for p, _ in self._last_checkpoints]

    def set_last_checkpoints_with_time(self, last_checkpoints_with_time):
        """Replace the kept-checkpoint list with ``[(prefix, timestamp), ...]`` (oldest first)."""
        self._last_checkpoints = [(str(p), float(t)) for p, t in last_checkpoints_with_time]

    def recover_last_checkpoints(self, checkpoint_paths):
        """Adopt existing checkpoints ``checkpoint_paths`` (oldest first), e.g. after a crash, so that
        ``max_to_keep`` manages them; paths without a checkpoint are skipped."""
        kept = []
        for p in checkpoint_paths:
            if checkpoint_exists(p):
                kept.append((p, os.path.getmtime(p + INDEX_SUFFIX)))
        self._last_checkpoints = kept

    def _record_last_checkpoint(self, prefix):
        """Append ``prefix``; the checkpoints beyond ``max_to_keep`` move to the to-delete list."""
        if not self._max_to_keep:
            return
        self._last_checkpoints = [(p, t) for p, t in self._last_checkpoints if p != prefix]
        self._last_checkpoints.append((prefix, time.time()))
        while len(self._last_checkpoints) > self._max_to_keep:
            self._to_delete.append(self._last_checkpoints.pop(0))

    def _maybe_delete_old_checkpoints(self, meta_graph_suffix="meta"):
        """Delete the files of dropped checkpoints, except one per ``keep_checkpoint_every_n_hours``."""
        while self._to_delete:
            prefix, stamp = self._to_delete.pop(0)
            if stamp > self._next_checkpoint_time:
                self._next_checkpoint_time += self._keep_checkpoint_every_n_hours * 3600
                continue
            # The index goes first: a checkpoint without an index no longer exists.
            _remove_quietly(prefix + INDEX_SUFFIX)
            _remove_quietly(prefix + DATA_SUFFIX)
            _remove_quietly(f"{prefix}.{meta_graph_suffix}")

    # -- save / restore ---------------------------------------------------------------------
    def save(
        self,
        sess,
        save_path,
        global_step=None,
        latest_filename=None,
        meta_graph_suffix="meta",
        write_meta_graph=True,
        write_state=True,
        strip_default_attrs=False,
        save_debug_info=False,
    ):
        """Save the variables' current values in ``sess``; returns the checkpoint prefix.

        The prefix is ``save_path`` or, with ``global_step`` (an int, or a tensor/Variable
        evaluated in ``sess``), ``"<save_path>-<step>"``. Writes ``<prefix>.npz`` and
        ``<prefix>.index.json``, then (``write_state``) the state file ``latest_filename``
        (default ``checkpoint``) and deletes checkpoints beyond ``max_to_keep``. With
        ``write_meta_graph`` it also writes the meta graph ``<prefix>.<meta_graph_suffix>``
        (graphdl/train/meta_graph.py), which ``tf.train.import_meta_graph`` loads in a fresh
        process; a graph holding values the format cannot store (Python functions) gets a
        warning instead of a meta graph.
        """
        self.build()
        if latest_filename is None:
            latest_filename = _STATE_FILENAME
        if os.path.split(latest_filename)[0]:
            raise ValueError("'latest_filename' must not contain a path component.")
        save_path = os.fspath(save_path)
        if global_step is not None:
            if not isinstance(global_step, numbers.Integral):
                global_step = int(sess.run(global_step))
            fmt = "%s-%08d" if self._pad_step_number else "%s-%d"
            prefix = fmt % (save_path, int(global_step))
        else:
            prefix = save_path
        save_dir = os.path.dirname(prefix) or "."
        if not os.path.isdir(save_dir):
            raise ValueError(f"Parent directory of {save_path} doesn't exist, can't save.")

        keys = list(self._vars)
        values = sess.run([self._vars[k] for k in keys]) if keys else []
        arrays, entries = {}, {}
        for key, value in zip(keys, values):
            arr = np.array(value, order="C", copy=True)
            if arr.dtype.hasobject or arr.dtype.kind in "OUSV":
                raise TypeError(
                    f"Cannot save variable '{key}': dtype {arr.dtype} is not a numeric array; graphdl checkpoints "
                    "hold numeric/bool arrays only (no pickled objects or strings)."
                )
            arrays[key] = arr
            entries[key] = {"dtype": arr.dtype.name, "shape": list(arr.shape), "sha256": _array_sha256(arr)}

        data_path = prefix + DATA_SUFFIX
        write_atomically_with(data_path, lambda f: _write_npz(f, arrays))
        index = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "data_sha256": _sha256_file(data_path),
            "data_size": os.path.getsize(data_path),
            "variables": entries,
        }
        if global_step is not None:
            index["global_step"] = int(global_step)
        index_bytes = json.dumps(index, indent=1, sort_keys=True).encode("utf-8")
        write_atomically_with(prefix + INDEX_SUFFIX, lambda f: f.write(index_bytes))

        if write_state:
            self._record_last_checkpoint(prefix)
            _write_checkpoint_state(save_dir, prefix, self.last_checkpoints, latest_filename)
            self._maybe_delete_old_checkpoints(meta_graph_suffix)
        if write_meta_graph:
            self._write_meta_graph(sess, f"{prefix}.{meta_graph_suffix}")
        return prefix

    def _write_meta_graph(self, sess, path):
        from graphdl.framework.attr_codec import UnserializableAttrError

        try:
            self.export_meta_graph(path, graph=sess.graph)
        except UnserializableAttrError as e:
            import logging

            logging.getLogger("graphdl").warning("Saver.save wrote no meta graph %s: %s", path, e)

    def as_saver_def(self):
        """This Saver's description (TF1's ``SaverDef``): checkpoint keys -> variable names, and settings."""
        from graphdl.train.meta_graph import SaverDef

        self.build()
        return SaverDef({key: v.op.name for key, v in self._vars.items()}, self._max_to_keep,
                        self._keep_checkpoint_every_n_hours, self._pad_step_number)

    def export_meta_graph(self, filename=None, collection_list=None, as_text=False, export_scope=None,
                          clear_devices=False, clear_extraneous_savers=False, strip_default_attrs=False,
                          save_debug_info=False, graph=None):
        """Write the graph with its collections and this Saver (``tf.train.export_meta_graph``); returns the MetaGraphDef."""
        from graphdl.train.meta_graph import export_meta_graph

        if graph is None:
            self.build()
            graph = next(iter(self._vars.values())).graph if self._vars else None
        return export_meta_graph(filename=filename, saver_def=self.as_saver_def(), collection_list=collection_list,
                                 as_text=as_text, graph=graph, export_scope=export_scope, clear_devices=clear_devices)

    def restore(self, sess, save_path):
        """Load the checkpoint with prefix ``save_path`` into the variables in ``sess``.

        Everything is verified (checksums, presence, dtypes, shapes) before any variable is
        assigned: NotFoundError for a missing checkpoint or key, DataLossError for a corrupt
        or truncated file, InvalidArgumentError for a dtype/shape mismatch.
        """
        if save_path is None:
            raise ValueError("Can't load save_path when it is None.")
        self.build()
        prefix = os.fspath(save_path)
        index = _read_index(prefix)
        npz = _read_data(prefix, index)
        stored = index["variables"]
        pending = []
        with npz:
            for key, var in self._vars.items():
                if key not in stored:
                    raise errors.NotFoundError(
                        f"Key {key} not found in checkpoint {prefix} (variable '{var.op.name}'). "
                        f"The checkpoint holds: {', '.join(sorted(stored)) or 'nothing'}."
                    )
                arr = _load_array(npz, key, stored[key], prefix)
                pending.append((var, self._check_compatible(key, var, arr, prefix)))
        for var, arr in pending:
            var.load(arr, sess)

    def _check_compatible(self, key, var, arr, prefix):
        want_dtype = np.dtype(var.dtype.as_numpy_dtype)
        if arr.dtype != want_dtype:
            raise errors.InvalidArgumentError(
                f"Cannot restore variable '{var.op.name}' from key '{key}' of checkpoint {prefix}: the variable has "
                f"dtype {want_dtype.name} but the checkpoint holds {arr.dtype.name}."
            )
        dims = var.shape.as_list() if var.shape.ndims is not None else None
        if dims is None:
            return arr
        compatible = len(dims) == arr.ndim and all(d is None or d == s for d, s in zip(dims, arr.shape))
        if compatible:
            return arr
        if self._reshape and None not in dims and int(np.prod(dims)) == arr.size:
            return arr.reshape(dims)
        shown = tuple(dims)
        raise errors.InvalidArgumentError(
            f"Cannot restore variable '{var.op.name}' from key '{key}' of checkpoint {prefix}: shape mismatch, the "
            f"variable has shape {shown} but the checkpoint holds shape {tuple(arr.shape)}."
        )
