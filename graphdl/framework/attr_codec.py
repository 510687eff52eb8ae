"""Op attr values as tagged JSON: every kind of value graphdl's ops hold, and nothing that runs code.

A value encodes as itself when JSON has it, otherwise as a one-key object naming its kind:

=============================  ==============================================================
Python value                   JSON
=============================  ==============================================================
None, bool, int, str           ``null``, ``true``/``false``, a number, a string
float                          a number; NaN and infinities as ``{"float": "nan"}``, ``"inf"``, ``"-inf"``
list                           an array of encoded items
tuple                          ``{"tuple": [items]}``
dict (str keys)                ``{"dict": {key: item}}``
bytes                          ``{"bytes": "<base64>"}``
DType                          ``{"dtype": "float32"}``
TensorShape                    ``{"tensor_shape": [3, null]}`` (``null`` for an unknown rank)
NumPy array                    ``{"array": ARRAY}``
NumPy scalar (np.float32(1))   ``{"scalar": ARRAY}`` with ``"shape": []``
FuncGraph (cond/while body)    ``{"function": {...}}`` or ``{"function_ref": "<id>"}`` (graph_io.py)
=============================  ==============================================================

``ARRAY`` is ``{"dtype": "<graphdl dtype name>", "shape": [dims], ...}`` plus either
``"values"``: the elements in C order as JSON numbers/booleans (small, finite arrays;
string arrays always, each element a string or ``{"bytes": "<base64>"}``), or
``"base64"``: the little-endian C-order bytes. Decoding accepts only these tags, only
graphdl's dtype names, and checks every size, so a file can describe data but never code.
"""

from __future__ import annotations

import base64
import binascii
import math

import numpy as np

from graphdl import dtypes
from graphdl.framework.tensor_shape import TensorShape

# Arrays with at most this many elements are written as readable JSON values.
INLINE_VALUES_LIMIT = 16

_DTYPES_BY_NAME = {d.name: d for d in dtypes.ALL_DTYPES}
_TAGS = ("float", "tuple", "dict", "bytes", "dtype", "tensor_shape", "array", "scalar", "function", "function_ref")


class GraphFormatError(ValueError):
    """A serialized graph or meta graph that graphdl cannot load: corrupt, foreign, too new or malformed."""


class UnserializableAttrError(TypeError):
    """An attr (or collection) value that graphdl's graph format cannot hold (e.g. a Python function)."""


# -- encoding -------------------------------------------------------------------------------
def encode_value(value, encode_function, where: str):
    """The JSON form of ``value``; ``encode_function(func_graph)`` encodes function graphs."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int) and not isinstance(value, np.generic):
        return value
    if isinstance(value, float) and not isinstance(value, np.generic):
        return value if math.isfinite(value) else {"float": repr(value)}
    if isinstance(value, list):
        return [encode_value(v, encode_function, where) for v in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return {"tuple": [encode_value(v, encode_function, where) for v in value]}
    if isinstance(value, dict) and type(value) is dict:
        for k in value:
            if not isinstance(k, str):
                raise UnserializableAttrError(f"{where}: dict keys must be strings to be serialized, got {k!r}")
        return {"dict": {k: encode_value(v, encode_function, where) for k, v in value.items()}}
    if isinstance(value, bytes):
        return {"bytes": base64.b64encode(value).decode("ascii")}
    if isinstance(value, dtypes.DType):
        return {"dtype": value.name}
    if isinstance(value, TensorShape):
        dims = value.as_tuple()
        return {"tensor_shape": None if dims is None else list(dims)}
    if isinstance(value, np.ndarray):
        return {"array": encode_array(value, where)}
    if isinstance(value, np.generic):
        return {"scalar": encode_array(np.asarray(value), where)}
    from graphdl.framework.func_graph import FuncGraph

    if isinstance(value, FuncGraph):
        return encode_function(value)
    raise UnserializableAttrError(
        f"{where}: a {type(value).__module__}.{type(value).__qualname__} cannot be written to a graph file "
        "(graph files hold numbers, strings, lists, tuples, dicts, dtypes, shapes, NumPy arrays and function graphs)"
    )


def encode_array(arr: np.ndarray, where: str) -> dict:
    """The ARRAY object for a NumPy array (see the module docstring)."""
    try:
        dtype = dtypes.as_dtype(arr.dtype)
    except TypeError:
        raise UnserializableAttrError(f"{where}: arrays of NumPy dtype {arr.dtype} cannot be serialized") from None
    out = {"dtype": dtype.name, "shape": list(arr.shape)}
    if dtype == dtypes.string:
        out["values"] = [_encode_string(x, where) for x in arr.reshape(-1)]
        return out
    if arr.size <= INLINE_VALUES_LIMIT and (arr.dtype.kind != "f" or bool(np.isfinite(arr).all())):
        out["values"] = arr.reshape(-1).tolist()
        return out
    little = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<"))
    out["base64"] = base64.b64encode(little.tobytes()).decode("ascii")
    return out


def _encode_string(x, where):
    if isinstance(x, str):
        return x
    if isinstance(x, bytes):
        return {"bytes": base64.b64encode(x).decode("ascii")}
    raise UnserializableAttrError(f"{where}: string arrays may hold str or bytes, got {type(x).__name__}")


# -- decoding -------------------------------------------------------------------------------
def decode_value(data, decode_function, where: str):
    """The Python value of encoded ``data``; ``decode_function(tag, body)`` builds function graphs.

    Raises GraphFormatError for anything but the documented encodings.
    """
    if data is None or isinstance(data, (bool, str, int)):
        return data
    if isinstance(data, float):
        return data
    if isinstance(data, list):
        return [decode_value(v, decode_function, where) for v in data]
    if not isinstance(data, dict) or len(data) != 1:
        raise GraphFormatError(f"{where}: {_short(data)} is not an attr value encoding (one of {', '.join(_TAGS)})")
    (tag, body), = data.items()
    if tag == "float":
        if body not in ("nan", "inf", "-inf"):
            raise GraphFormatError(f"{where}: {{'float': {body!r}}} must be 'nan', 'inf' or '-inf'")
        return float(body)
    if tag == "tuple":
        return tuple(decode_value(v, decode_function, where) for v in _expect(body, list, where, tag))
    if tag == "dict":
        return {k: decode_value(v, decode_function, where) for k, v in _expect(body, dict, where, tag).items()}
    if tag == "bytes":
        return _b64(body, where)
    if tag == "dtype":
        return decode_dtype(body, where)
    if tag == "tensor_shape":
        return TensorShape(None if body is None else decode_dims(body, where))
    if tag == "array":
        return decode_array(body, where)
    if tag == "scalar":
        arr = decode_array(body, where)
        if arr.ndim != 0:
            raise GraphFormatError(f"{where}: a scalar must have shape [], got {list(arr.shape)}")
        return arr[()]
    if tag in ("function", "function_ref"):
        return decode_function(tag, body)
    raise GraphFormatError(
        f"{where}: unknown attr value encoding {tag!r}; graph files hold only {', '.join(_TAGS)} "
        "(never pickled or executable objects)"
    )


def decode_dtype(name, where: str) -> dtypes.DType:
    """The DType named ``name`` (graphdl's exact names only)."""
    if not isinstance(name, str) or name not in _DTYPES_BY_NAME:
        raise GraphFormatError(f"{where}: unknown dtype {name!r}; graphdl's dtypes are {sorted(_DTYPES_BY_NAME)}")
    return _DTYPES_BY_NAME[name]


def decode_dims(dims, where: str) -> tuple:
    """A shape's dims (ints >= 0 or None) as a tuple."""
    if not isinstance(dims, list) or not all(
        d is None or (isinstance(d, int) and not isinstance(d, bool) and d >= 0) for d in dims
    ):
        raise GraphFormatError(f"{where}: a shape must be a list of non-negative ints or nulls, got {_short(dims)}")
    return tuple(dims)


def decode_array(body, where: str) -> np.ndarray:
    """The (writable, C-order) NumPy array of an ARRAY object."""
    body = _expect(body, dict, where, "array")
    extra = set(body) - {"dtype", "shape", "values", "base64"}
    if extra or ("values" in body) == ("base64" in body):
        raise GraphFormatError(f"{where}: an array needs dtype, shape and exactly one of values/base64, got {sorted(body)}")
    dtype = decode_dtype(body.get("dtype"), where)
    shape = decode_dims(body.get("shape"), where)
    if None in shape:
        raise GraphFormatError(f"{where}: an array's shape must be fully known, got {list(shape)}")
    size = math.prod(shape)
    if "values" in body:
        values = _expect(body["values"], list, where, "values")
        if len(values) != size:
            raise GraphFormatError(f"{where}: array of shape {list(shape)} needs {size} values, got {len(values)}")
        if dtype == dtypes.string:
            flat = np.empty(size, dtype=object)
            for i, x in enumerate(values):
                flat[i] = x if isinstance(x, str) else _b64(_expect(x, dict, where, "string").get("bytes"), where)
            return flat.reshape(shape)
        kinds = (bool,) if dtype == dtypes.bool_ else (int,) if not dtype.is_floating else (int, float)
        if not all(isinstance(x, kinds) and (dtype == dtypes.bool_ or not isinstance(x, bool)) for x in values):
            raise GraphFormatError(f"{where}: values of a {dtype.name} array must all be {kinds[-1].__name__}s")
        try:
            return np.array(values, dtype=dtype.np).reshape(shape)
        except OverflowError:
            raise GraphFormatError(f"{where}: a value does not fit dtype {dtype.name}") from None
    if dtype == dtypes.string:
        raise GraphFormatError(f"{where}: string arrays are written as values, not base64")
    raw = _b64(body["base64"], where)
    np_dtype = np.dtype(dtype.np).newbyteorder("<")
    if len(raw) != size * np_dtype.itemsize:
        raise GraphFormatError(
            f"{where}: array of dtype {dtype.name} and shape {list(shape)} needs {size * np_dtype.itemsize} bytes, "
            f"got {len(raw)} (truncated or corrupt)"
        )
    return np.frombuffer(raw, dtype=np_dtype).astype(dtype.np).reshape(shape)


def _b64(text, where) -> bytes:
    if not isinstance(text, str):
        raise GraphFormatError(f"{where}: base64 data must be a string, got {_short(text)}")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as e:
        raise GraphFormatError(f"{where}: invalid base64 data ({e})") from None


def _expect(value, kind, where, what):
    if not isinstance(value, kind):
        raise GraphFormatError(f"{where}: {what} must be a JSON {_JSON_NAMES[kind]}, got {_short(value)}")
    return value


_JSON_NAMES = {list: "array", dict: "object", str: "string"}


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
