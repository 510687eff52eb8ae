"""Python functions as graph ops: ``tf.py_func`` and ``tf.numpy_function`` (ops ``PyFunc`` / ``PyFuncStateless``).

The function is called on the host with NumPy arrays (string tensors as object arrays of
bytes) each time the op runs, and its results become the op's outputs, converted to the
dtypes of ``Tout``. The op keeps only a token naming the function in this process's
registry, as TF1 does, so a graph holding a PyFunc cannot be run from a file in another
process. Like TF1, the ops have no gradient (``tf.gradients`` gives None through them)
unless one is registered with ``tf.RegisterGradient`` and selected with
``graph.gradient_override_map({"PyFunc": name})``.
"""

from __future__ import annotations

import itertools
import traceback

import numpy as np

from graphdl import dtypes, errors
from graphdl.framework.op_def import define_op
from graphdl.framework.ops import convert_to_tensor, make_op

__all__ = ["numpy_function", "py_func"]

_FUNCTIONS: dict[str, object] = {}
_tokens = itertools.count()


def _register(func) -> str:
    token = f"pyfunc_{next(_tokens)}"
    _FUNCTIONS[token] = func
    return token


def _infer_py_func(op):
    return [(None, dtype) for dtype in op.attrs["Tout"]]


def _func_name(func) -> str:
    return getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)


def _convert(value, dtype, index, op, func):
    """Result ``index`` of ``func`` as an array of ``dtype`` (safe conversions only)."""
    where = f"{op.type} '{op.name}': {index}-th value returned by {op.attrs['token']} ({_func_name(func)})"
    try:
        array = np.asarray(value)
    except Exception as e:  # noqa: BLE001 - ragged lists and the like
        raise errors.InvalidArgumentError(None, op, f"{where} cannot be converted to an array: {e}") from None
    if dtype == dtypes.string:
        if array.dtype.kind not in "SUO":
            raise errors.InvalidArgumentError(None, op, f"{where} is {array.dtype}, but Tout expects string")
        encode = np.vectorize(lambda s: s.encode() if isinstance(s, str) else s, otypes=[object])
        return encode(array) if array.size else array.astype(object)
    target = dtype.np
    if array.dtype == target:
        return array
    source = array.dtype.kind
    allowed = {"f": "fiub", "i": "iub", "u": "iub", "b": "b"}.get(target.kind, "")
    if source not in allowed:
        raise errors.InvalidArgumentError(None, op, f"{where} is {array.dtype}, but Tout expects {dtype.name}")
    converted = array.astype(target)
    if target.kind in "iu" and not np.array_equal(converted, array):
        raise errors.InvalidArgumentError(
            None, op, f"{where} is {array.dtype} with values that do not fit {dtype.name} (Tout)"
        )
    return converted


def _py_func_kernel(ctx, *args):
    op = ctx.op
    token = ctx.attrs["token"]
    func = _FUNCTIONS.get(token)
    if func is None:
        raise errors.InvalidArgumentError(
            None, op,
            f"{op.type} '{op.name}': the Python function {token} is not registered in this process (a graph "
            "loaded from a file cannot call the function it was built with; rebuild the op with tf.py_func).",
        )
    try:
        result = func(*args)
    except errors.OpError:
        raise
    except StopIteration as e:
        raise errors.OutOfRangeError(None, op, f"{op.type} '{op.name}': {_func_name(func)} raised StopIteration") from e
    except Exception as e:
        detail = "".join(traceback.format_exception_only(type(e), e)).strip()
        raise errors.InvalidArgumentError(
            None, op, f"{op.type} '{op.name}': {detail}\n(raised by {_func_name(func)}, called as {token})"
        ) from e
    tout = ctx.attrs["Tout"]
    if result is None:
        values = []
    elif isinstance(result, (list, tuple)):
        values = list(result)
    else:
        values = [result]
    if len(values) != len(tout):
        raise errors.InvalidArgumentError(
            None, op,
            f"{op.type} '{op.name}': {token} ({_func_name(func)}) returned {len(values)} values, but Tout expects "
            f"{len(tout)} ({', '.join(d.name for d in tout) or 'none'}).",
        )
    outputs = tuple(_convert(v, d, i, op, func) for i, (v, d) in enumerate(zip(values, tout)))
    return outputs[0] if len(outputs) == 1 else outputs


define_op("PyFunc", infer=_infer_py_func, kernel=_py_func_kernel, stateful=True, not_differentiable=True)
define_op("PyFuncStateless", infer=_infer_py_func, kernel=_py_func_kernel, not_differentiable=True)


def py_func(func, inp, Tout, stateful=True, name=None):
    """Wrap the Python function ``func`` (NumPy arrays in, NumPy arrays out) as an op.

    ``inp`` is a list of tensors passed as arrays; ``Tout`` a dtype (one output, returned
    as a tensor) or a list of dtypes (returned as a list of tensors). Outputs have unknown
    shapes. A stateful op runs every time; ``stateful=False`` lets the compiler fold
    and merge calls with equal inputs. Errors raised by ``func``, and results of the wrong
    number or dtype, raise InvalidArgumentError naming the op.
    """
    if not callable(func):
        raise TypeError(f"py_func: func must be callable, got {type(func).__name__}")
    is_list = isinstance(Tout, (list, tuple))
    tout = tuple(dtypes.as_dtype(d) for d in (Tout if is_list else [Tout]))
    inputs = [convert_to_tensor(x) for x in (inp if isinstance(inp, (list, tuple)) else [inp])]
    op_type = "PyFunc" if stateful else "PyFuncStateless"
    op = make_op(op_type, inputs, {"token": _register(func), "Tout": tout}, name or op_type)
    if not op.outputs:
        return op  # nothing to return but the op to run, as TF1 does for Tout=[]
    return list(op.outputs) if is_list else op.outputs[0]


def numpy_function(func, inp, Tout, name=None):
    """``py_func`` with ``stateful=True`` (TF1's ``tf.numpy_function``)."""
    return py_func(func, inp, Tout, stateful=True, name=name)
