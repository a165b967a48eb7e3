"""The fields every model file shares: canonical JSON, checksum, signature, and the
checks of labels, parameters and numbers (used by :mod:`logitlab.persist.model_file`
and :mod:`logitlab.persist.mixed_file`)."""

from __future__ import annotations

import hashlib
import hmac
import json
import math

import numpy as np

from ..core.jsonvalues import safe_dtype, to_json_value

#: the ``"format"`` field of every model file
FORMAT = "logitlab-model"
#: the key of the optional HMAC-SHA256 signature
SIGNATURE = "hmac_sha256"
_ARRAY_KINDS = "biufU"


def canonical_json(doc: dict) -> bytes:
    """The bytes the checksum is computed over."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def checksum(doc: dict) -> str:
    """SHA-256 (hex) of the canonical JSON of ``doc`` without ``sha256``: detects
    corruption, not tampering (anyone can recompute it)."""
    return hashlib.sha256(canonical_json({k: v for k, v in doc.items() if k != "sha256"})
                          ).hexdigest()


def signature(doc: dict, key: bytes) -> str:
    """HMAC-SHA256 (hex) with ``key`` of the canonical JSON of ``doc`` without
    ``sha256`` and ``hmac_sha256``: only a holder of the key can produce it."""
    body = {k: v for k, v in doc.items() if k not in ("sha256", SIGNATURE)}
    return hmac.new(key, canonical_json(body), hashlib.sha256).hexdigest()


def encode_params(params: dict) -> dict:
    out = {}
    for name, value in params.items():
        if isinstance(value, type) and issubclass(value, np.generic):
            value = np.dtype(value).name          # dtype=np.float32 -> "float32"
        elif callable(value):
            value = None                           # callback: not saved
        out[name] = to_json_value(value, f"parameter {name!r}")
    return out


def encode_classes(classes: np.ndarray) -> dict:
    kind = classes.dtype.kind
    if kind == "O":
        if not all(isinstance(c, str) for c in classes):
            raise TypeError("class labels held as Python objects can only be saved when "
                            "they are all strings.")
        return {"dtype": "|O", "values": [str(c) for c in classes]}
    if kind not in _ARRAY_KINDS:
        raise TypeError(f"class labels of dtype {classes.dtype} cannot be saved.")
    return {"dtype": classes.dtype.str, "values": [to_json_value(c) for c in classes.tolist()]}


def finite_floats(values, where):
    out = []
    for v in np.asarray(values, dtype=np.float64).ravel().tolist():
        if not math.isfinite(v):
            raise ValueError(f"{where} contains {v}; a model with non-finite coefficients "
                             "cannot be saved.")
        out.append(v)
    return out


class InvalidModelFile(ValueError):
    """A model file field that is missing or malformed (``load`` adds the file's name)."""


def require(cond, message):
    if not cond:
        raise InvalidModelFile(message)


def is_int(x) -> bool:
    return type(x) is int


def is_number(x) -> bool:
    return type(x) in (int, float) or (isinstance(x, dict) and set(x) == {"__float__"})


def decode_classes(spec) -> np.ndarray:
    require(isinstance(spec, dict) and set(spec) == {"dtype", "values"},
          "state.classes must have exactly the keys dtype and values")
    try:
        dtype = safe_dtype(spec["dtype"])
    except ValueError as err:
        raise InvalidModelFile(f"state.classes: {err}") from None
    values = spec["values"]
    require(isinstance(values, list), "state.classes.values must be a list")
    checks = {"b": lambda v: type(v) is bool, "i": is_int, "u": lambda v: is_int(v) and v >= 0,
              "f": lambda v: type(v) in (int, float), "U": lambda v: isinstance(v, str),
              "O": lambda v: isinstance(v, str)}
    require(all(checks[dtype.kind](v) for v in values),
          f"state.classes.values do not all match the dtype {spec['dtype']!r}")
    if dtype.kind == "O":
        classes = np.empty(len(values), dtype=object)
        classes[:] = values
    else:
        classes = np.array(values, dtype=dtype)
    require(len(set(classes.tolist())) == classes.size, "state.classes has repeated labels")
    return classes


__all__ = ["FORMAT", "SIGNATURE", "canonical_json", "checksum", "signature", "encode_params",
           "encode_classes", "decode_classes", "finite_floats", "InvalidModelFile", "require",
           "is_int", "is_number"]
