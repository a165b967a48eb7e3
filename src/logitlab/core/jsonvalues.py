"""JSON values for model files and formula designs: what JSON cannot hold, tagged.

Non-finite floats are ``{"__float__": "nan" | "inf" | "-inf"}``, arrays
``{"__ndarray__": {"dtype", "shape", "data"}}``, tuples ``{"__tuple__": [...]}``
and dicts whose keys are not all strings ``{"__mapping__": [[key, value], ...]}``.
Floats are written with Python's ``repr``, which reads back to the identical double.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

_TAGS = ("__float__", "__ndarray__", "__tuple__", "__mapping__")
_ARRAY_KINDS = "biufU"


def to_json_value(value, where: str = "value"):
    """``value`` as JSON-safe data (tagging what JSON cannot hold).

    Handles None, bool, int, float (non-finite tagged), str, numpy scalars and
    arrays (bool, int, float, str), lists, tuples and dicts. Anything else is a
    ``TypeError`` naming ``where``.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.generic) and value.dtype.kind in _ARRAY_KINDS:
        return to_json_value(value.item(), where)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        if math.isfinite(value):
            return value
        return {"__float__": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in _ARRAY_KINDS and not (
                value.dtype.kind == "O" and all(isinstance(v, str) for v in value.ravel())):
            raise TypeError(f"{where}: arrays of dtype {value.dtype} cannot be saved.")
        dtype = value.dtype.str if value.dtype.kind != "O" else "|O"
        return {"__ndarray__": {"dtype": dtype, "shape": list(value.shape),
                                "data": [to_json_value(v, where) for v in value.ravel().tolist()]}}
    if isinstance(value, tuple):
        return {"__tuple__": [to_json_value(v, where) for v in value]}
    if isinstance(value, list):
        return [to_json_value(v, where) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in value):
            return {k: to_json_value(v, f"{where}[{k!r}]") for k, v in value.items()}
        return {"__mapping__": [[to_json_value(k, where), to_json_value(v, f"{where}[{k!r}]")]
                                for k, v in value.items()]}
    raise TypeError(f"{where}: a {type(value).__name__} cannot be saved in a model file "
                    "(only numbers, strings, booleans, None, lists, dicts and arrays can).")


def _hashable(value):
    return tuple(_hashable(v) for v in value) if isinstance(value, list) else value


def from_json_value(value):
    """Inverse of :func:`to_json_value`."""
    if isinstance(value, list):
        return [from_json_value(v) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (tag, inner), = value.items()
        if tag == "__float__":
            if inner not in ("nan", "inf", "-inf"):
                raise ValueError(f"unknown non-finite float {inner!r}")
            return float(inner)
        if tag == "__tuple__":
            return tuple(from_json_value(v) for v in _as_list(inner, tag))
        if tag == "__mapping__":
            pairs = _as_list(inner, tag)
            if not all(isinstance(p, list) and len(p) == 2 for p in pairs):
                raise ValueError("__mapping__ must hold [key, value] pairs")
            return {_hashable(from_json_value(k)): from_json_value(v) for k, v in pairs}
        if tag == "__ndarray__":
            return _array_from_json(inner)
    return {k: from_json_value(v) for k, v in value.items()}


def _as_list(value, tag):
    if not isinstance(value, list):
        raise ValueError(f"{tag} must hold a list")
    return value


def _array_from_json(spec):
    if not isinstance(spec, dict) or set(spec) != {"dtype", "shape", "data"}:
        raise ValueError("__ndarray__ needs exactly the keys dtype, shape and data")
    dtype = safe_dtype(spec["dtype"])
    shape = spec["shape"]
    if not isinstance(shape, list) or not all(type(s) is int and s >= 0 for s in shape):
        raise ValueError("__ndarray__ shape must be a list of non-negative integers")
    data = [from_json_value(v) for v in _as_list(spec["data"], "__ndarray__ data")]
    if len(data) != math.prod(shape):
        raise ValueError(f"__ndarray__ of shape {shape} holds {len(data)} values")
    if dtype.kind == "O":
        out = np.empty(len(data), dtype=object)
        out[:] = data
        return out.reshape(shape)
    return np.array(data, dtype=dtype).reshape(shape)


def safe_dtype(text):
    """A numpy dtype from its text, refusing anything but bool, int, float and str."""
    if not isinstance(text, str):
        raise ValueError("a dtype must be a string")
    try:
        dtype = np.dtype(text)
    except TypeError:
        raise ValueError(f"unknown dtype {text!r}") from None
    if dtype.kind not in _ARRAY_KINDS + "O":
        raise ValueError(f"dtype {text!r} is not allowed (bool, int, float, str only)")
    return dtype
