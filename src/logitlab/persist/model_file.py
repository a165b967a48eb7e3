"""Model files: ``save(model, path)`` and ``load(path)``, as versioned JSON.

A model file is one JSON object (UTF-8), never a pickle; loading it executes
nothing: numbers, strings and the formula text are read and checked, and a
formula may only call the functions listed in :mod:`logitlab.data.formula`.

Layout (format version 1)::

    {
      "format": "logitlab-model",            # fixed
      "format_version": 1,                   # see the version policy below
      "logitlab_version": "0.1.0",           # informational
      "estimator": {"class": "LogisticRegression",
                    "params": {... get_params(); callables (callback) -> null ...}},
      "state": {
        "classes": {"dtype": "<U3" | "<i8" | "|b1" | "<f8" | "|O", "values": [...]},
        "reference_index": 0,                # reference_class_ = classes[reference_index]
        "feature_names": ["age", ...] | null,
        "layout": {"n_features": d, "n_classes": K, "free_classes": [...],
                   "fit_intercept": true},
        "coef": [...],                       # (d + fit_intercept) * len(free_classes) numbers
        "fit": {"solver": "newton", "n_iter": 5, "converged": true, "objective": ...,
                "grad_norm": ..., "tol": ..., "n_passes": ...,
                "history": {"objective": [...], "grad_norm": [...]}}
      },
      "design": {... Design.to_dict() ...} | null,
      "inference": {...} | null,             # the model's inference_state_, if any
      "sha256": "..."                        # of the canonical JSON of all other keys
    }

``coef`` is the flat coefficient vector in the estimator's layout: row ``j``
of the ``(d + fit_intercept) × len(free_classes)`` matrix holds feature ``j``
(the last row the intercepts), row-major. Floats are written with Python's
``repr``, which reads back to the identical double, so a loaded model predicts
bit-identically. Values JSON cannot hold are tagged: non-finite floats
``{"__float__": "nan" | "inf" | "-inf"}``, arrays ``{"__ndarray__": {"dtype",
"shape", "data"}}``, tuples ``{"__tuple__": [...]}`` and dicts whose keys are not
all strings ``{"__mapping__": [[key, value], ...]}``.

The checksum is the SHA-256 of ``json.dumps(doc_without_sha256, sort_keys=True,
separators=(",", ":"), ensure_ascii=False, allow_nan=False)`` in UTF-8.

Version policy: ``format_version`` is an integer, raised whenever a change
could make an older logitlab misread a file (a key changing meaning, a new
required key). New optional keys do not raise it; readers ignore top-level
keys they do not know. logitlab reads every format version up to its own and
refuses newer ones with a message to upgrade.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
from pathlib import Path

from ..core.files import write_atomic
from ..results.results import results_from_state, results_state

import numpy as np

FORMAT = "logitlab-model"
FORMAT_VERSION = 1
_TAGS = ("__float__", "__ndarray__", "__tuple__", "__mapping__")
_ARRAY_KINDS = "biufU"


# ---------------------------------------------------------------- JSON values
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
    dtype = _safe_dtype(spec["dtype"])
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


def _safe_dtype(text):
    if not isinstance(text, str):
        raise ValueError("a dtype must be a string")
    try:
        dtype = np.dtype(text)
    except TypeError:
        raise ValueError(f"unknown dtype {text!r}") from None
    if dtype.kind not in _ARRAY_KINDS + "O":
        raise ValueError(f"dtype {text!r} is not allowed (bool, int, float, str only)")
    return dtype


def canonical_json(doc: dict) -> bytes:
    """The bytes the checksum is computed over."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def checksum(doc: dict) -> str:
    return hashlib.sha256(canonical_json({k: v for k, v in doc.items() if k != "sha256"})
                          ).hexdigest()


# ----------------------------------------------------------------------- save
def _encode_params(params: dict) -> dict:
    out = {}
    for name, value in params.items():
        if isinstance(value, type) and issubclass(value, np.generic):
            value = np.dtype(value).name          # dtype=np.float32 -> "float32"
        elif callable(value):
            value = None                           # callback: not saved
        out[name] = to_json_value(value, f"parameter {name!r}")
    return out


def _encode_classes(classes: np.ndarray) -> dict:
    kind = classes.dtype.kind
    if kind == "O":
        if not all(isinstance(c, str) for c in classes):
            raise TypeError("class labels held as Python objects can only be saved when "
                            "they are all strings.")
        return {"dtype": "|O", "values": [str(c) for c in classes]}
    if kind not in _ARRAY_KINDS:
        raise TypeError(f"class labels of dtype {classes.dtype} cannot be saved.")
    return {"dtype": classes.dtype.str, "values": [to_json_value(c) for c in classes.tolist()]}


def _floats(values, where):
    out = []
    for v in np.asarray(values, dtype=np.float64).ravel().tolist():
        if not math.isfinite(v):
            raise ValueError(f"{where} contains {v}; a model with non-finite coefficients "
                             "cannot be saved.")
        out.append(v)
    return out


def model_document(model) -> dict:
    """The JSON document of a fitted ``LogisticRegression`` (with checksum)."""
    from .. import __version__
    from ..estimators.logistic import LogisticRegression

    if type(model) is not LogisticRegression:
        raise TypeError(f"save() writes logitlab LogisticRegression models; got "
                        f"{type(model).__name__}.")
    from sklearn.utils.validation import check_is_fitted
    check_is_fitted(model)
    state = results_state(model.results_)
    classes = np.asarray(state["classes"])
    design = getattr(model, "design_", None)
    n_features = state["layout"]["n_features"]
    if design is not None and len(design.columns) != n_features:
        raise ValueError(f"the model's formula design has {len(design.columns)} columns but "
                         f"the model has {n_features} features (was it refitted without the "
                         "formula?); fit it again before saving.")
    fit = state["fit"]
    doc = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "logitlab_version": __version__,
        "estimator": {"class": "LogisticRegression",
                      "params": _encode_params(model.get_params(deep=False))},
        "state": {
            "classes": _encode_classes(classes),
            "reference_index": int(np.flatnonzero(classes == state["reference_class"])[0]),
            "feature_names": state["feature_names"],
            "layout": {k: (list(map(int, v)) if k == "free_classes" else v)
                       for k, v in state["layout"].items()},
            "coef": _floats(state["coef"], "coef"),
            "fit": {"solver": str(fit["solver"]), "n_iter": int(fit["n_iter"]),
                    "converged": bool(fit["converged"]),
                    "objective": to_json_value(fit["objective"]),
                    "grad_norm": to_json_value(fit["grad_norm"]),
                    "tol": to_json_value(fit["tol"]), "n_passes": int(fit["n_passes"]),
                    "history": {str(k): [to_json_value(x) for x in np.asarray(v).tolist()]
                                for k, v in fit["history"].items()}},
        },
        "design": None if design is None else design.to_dict(),
        "inference": to_json_value(state["inference"], "inference_state_"),
    }
    doc["sha256"] = checksum(doc)
    return doc


def save(model, path) -> Path:
    """Save a fitted ``LogisticRegression`` as a JSON model file at ``path``
    (atomically; an existing file is replaced only once the new one is complete).
    Returns the path."""
    doc = model_document(model)
    text = json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
    return write_atomic(path, text.encode("utf-8"))


# ----------------------------------------------------------------------- load
class _Invalid(ValueError):
    pass


def _need(cond, message):
    if not cond:
        raise _Invalid(message)


def _is_int(x) -> bool:
    return type(x) is int


def _is_number(x) -> bool:
    return type(x) in (int, float) or (isinstance(x, dict) and set(x) == {"__float__"})


def _reject_constant(name):
    raise _Invalid(f"the JSON holds the non-standard number {name}")


def _parse(path: Path) -> dict:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"cannot load {str(path)!r}: no such file.") from None
    except IsADirectoryError:
        raise IsADirectoryError(f"cannot load {str(path)!r}: it is a directory, not a "
                                "file.") from None
    except PermissionError:
        raise PermissionError(f"cannot load {str(path)!r}: permission denied.") from None
    if not raw.strip():
        raise ValueError(f"cannot load {str(path)!r}: the file is empty.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"cannot load {str(path)!r}: it is not a logitlab model file (not "
                         "UTF-8 text).") from None
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as err:
        raise ValueError(f"cannot load {str(path)!r}: the file is not valid JSON ({err.msg} at "
                         f"line {err.lineno} column {err.colno}), so it is truncated or "
                         "corrupted and cannot be trusted.") from None
    except _Invalid as err:
        raise ValueError(f"cannot load {str(path)!r}: {err}, so it is corrupted and cannot "
                         "be trusted.") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        found = doc.get("format") if isinstance(doc, dict) else None
        raise ValueError(f"cannot load {str(path)!r}: it is not a logitlab model file "
                         f"(its 'format' is {found!r}, expected {FORMAT!r}).")
    version = doc.get("format_version")
    if not _is_int(version) or version < 1:
        raise ValueError(f"cannot load {str(path)!r}: its format_version {version!r} is not a "
                         "positive integer, so it is corrupted and cannot be trusted.")
    if version > FORMAT_VERSION:
        from .. import __version__
        raise ValueError(f"cannot load {str(path)!r}: it has model-file format version "
                         f"{version} (written by logitlab {doc.get('logitlab_version')}), but "
                         f"this logitlab ({__version__}) reads format versions up to "
                         f"{FORMAT_VERSION}; upgrade logitlab to load it.")
    if not isinstance(doc.get("sha256"), str):
        raise ValueError(f"cannot load {str(path)!r}: it has no sha256 checksum, so it cannot "
                         "be trusted.")
    if checksum(doc) != doc["sha256"]:
        raise ValueError(f"cannot load {str(path)!r}: the sha256 checksum does not match the "
                         "contents, so the file was modified or corrupted after it was "
                         "written and cannot be trusted.")
    return doc


def _decode_classes(spec) -> np.ndarray:
    _need(isinstance(spec, dict) and set(spec) == {"dtype", "values"},
          "state.classes must have exactly the keys dtype and values")
    try:
        dtype = _safe_dtype(spec["dtype"])
    except ValueError as err:
        raise _Invalid(f"state.classes: {err}") from None
    values = spec["values"]
    _need(isinstance(values, list), "state.classes.values must be a list")
    checks = {"b": lambda v: type(v) is bool, "i": _is_int, "u": lambda v: _is_int(v) and v >= 0,
              "f": lambda v: type(v) in (int, float), "U": lambda v: isinstance(v, str),
              "O": lambda v: isinstance(v, str)}
    _need(all(checks[dtype.kind](v) for v in values),
          f"state.classes.values do not all match the dtype {spec['dtype']!r}")
    if dtype.kind == "O":
        classes = np.empty(len(values), dtype=object)
        classes[:] = values
    else:
        classes = np.array(values, dtype=dtype)
    _need(len(set(classes.tolist())) == classes.size, "state.classes has repeated labels")
    return classes


def _check_state(state) -> tuple[dict, np.ndarray]:
    keys = {"classes", "reference_index", "feature_names", "layout", "coef", "fit"}
    _need(isinstance(state, dict), "'state' must be an object")
    _need(keys <= set(state), f"'state' lacks {sorted(keys - set(state))}")
    classes = _decode_classes(state["classes"])
    lay = state["layout"]
    _need(isinstance(lay, dict) and {"n_features", "n_classes", "free_classes",
                                     "fit_intercept"} <= set(lay),
          "state.layout must have n_features, n_classes, free_classes and fit_intercept")
    d, K, free, fi = lay["n_features"], lay["n_classes"], lay["free_classes"], lay["fit_intercept"]
    _need(_is_int(d) and d >= 0, "state.layout.n_features must be an integer >= 0")
    _need(_is_int(K) and K >= 2, "state.layout.n_classes must be an integer >= 2")
    _need(type(fi) is bool, "state.layout.fit_intercept must be true or false")
    _need(classes.size == K, f"state.classes has {classes.size} labels but the layout has "
                             f"n_classes={K}")
    ref = state["reference_index"]
    _need(_is_int(ref) and 0 <= ref < K, f"state.reference_index must be an integer in [0, {K})")
    _need(isinstance(free, list) and all(_is_int(k) for k in free)
          and free == sorted(set(free)) and all(0 <= k < K for k in free),
          f"state.layout.free_classes must be increasing class indices in [0, {K})")
    if K == 2:
        _need(free == [1], "a binary model's free_classes must be [1]")
    else:
        _need(len(free) == K or (len(free) == K - 1 and ref not in free),
              "state.layout.free_classes must be all classes or all but the reference class")
    coef = state["coef"]
    expected = (d + int(fi)) * len(free)
    _need(isinstance(coef, list) and len(coef) == expected,
          f"state.coef has {len(coef) if isinstance(coef, list) else 'no'} values but the "
          f"layout needs (n_features + fit_intercept) * len(free_classes) = "
          f"({d} + {int(fi)}) * {len(free)} = {expected}")
    _need(all(type(c) in (int, float) and math.isfinite(c) for c in coef),
          "state.coef must hold finite numbers only")
    names = state["feature_names"]
    _need(names is None or (isinstance(names, list) and len(names) == d
                            and all(isinstance(n, str) for n in names)),
          f"state.feature_names must be null or a list of {d} strings")
    fit = state["fit"]
    _need(isinstance(fit, dict), "state.fit must be an object")
    fit_keys = {"solver", "n_iter", "converged", "objective", "grad_norm", "tol", "n_passes",
                "history"}
    _need(fit_keys <= set(fit), f"state.fit lacks {sorted(fit_keys - set(fit))}")
    _need(isinstance(fit["solver"], str), "state.fit.solver must be a string")
    _need(_is_int(fit["n_iter"]) and _is_int(fit["n_passes"]),
          "state.fit.n_iter and n_passes must be integers")
    _need(type(fit["converged"]) is bool, "state.fit.converged must be true or false")
    _need(all(_is_number(fit[k]) for k in ("objective", "grad_norm", "tol")),
          "state.fit.objective, grad_norm and tol must be numbers")
    hist = fit["history"]
    _need(isinstance(hist, dict) and all(isinstance(v, list) and all(map(_is_number, v))
                                         for v in hist.values()),
          "state.fit.history must map names to lists of numbers")
    out = {"classes": classes, "reference_class": classes[ref], "feature_names": names,
           "layout": {"n_features": d, "n_classes": K, "free_classes": free,
                      "fit_intercept": fi},
           "coef": np.array(coef, dtype=np.float64),
           "fit": {"solver": fit["solver"], "n_iter": fit["n_iter"],
                   "converged": fit["converged"], "objective": from_json_value(fit["objective"]),
                   "grad_norm": from_json_value(fit["grad_norm"]),
                   "tol": from_json_value(fit["tol"]), "n_passes": fit["n_passes"],
                   "history": {k: np.array(from_json_value(v), dtype=np.float64)
                               for k, v in hist.items()}}}
    return out, classes


def _check_params(estimator) -> dict:
    from ..estimators.logistic import LogisticRegression
    _need(isinstance(estimator, dict), "'estimator' must be an object")
    _need(estimator.get("class") == "LogisticRegression",
          f"unknown estimator class {estimator.get('class')!r} (expected 'LogisticRegression')")
    params = estimator.get("params")
    _need(isinstance(params, dict), "estimator.params must be an object")
    known = set(LogisticRegression().get_params(deep=False))
    unknown = sorted(set(params) - known)
    _need(not unknown, f"estimator.params has unknown parameters {unknown}")
    try:
        return {k: from_json_value(v) for k, v in params.items()}
    except ValueError as err:
        raise _Invalid(f"estimator.params: {err}") from None


def load(path):
    """Load a model saved by :func:`save`; returns a fitted ``LogisticRegression``.

    Checks the format name and version, the checksum, every required key and
    type, the array shapes against the layout and that coefficients are finite;
    any failure is a ``ValueError`` that says what is wrong.
    """
    from ..estimators.logistic import LogisticRegression
    from ..data.formula import Design

    path = Path(path)
    doc = _parse(path)
    try:
        for key in ("estimator", "state", "design", "inference"):
            _need(key in doc, f"the key {key!r} is missing")
        params = _check_params(doc["estimator"])
        state, classes = _check_state(doc["state"])
        design = None
        if doc["design"] is not None:
            _need(isinstance(doc["design"], dict), "'design' must be an object or null")
            try:
                design = Design.from_dict(doc["design"])
            except (ValueError, TypeError, KeyError) as err:
                raise _Invalid(f"its formula design is invalid: {err}") from None
            d = state["layout"]["n_features"]
            _need(len(design.columns) == d,
                  f"the design has {len(design.columns)} columns but the model {d} features")
            names = state["feature_names"]
            _need(names is None or list(names) == list(design.columns),
                  "the design's columns differ from the model's feature_names")
        try:
            inference = from_json_value(doc["inference"])
        except ValueError as err:
            raise _Invalid(f"'inference': {err}") from None
        results = results_from_state({**state, "inference": inference}, params)
        model = LogisticRegression.from_results(results, params, design)
    except _Invalid as err:
        raise ValueError(f"cannot load {str(path)!r}: {err}; the file is corrupted or was "
                         "edited and cannot be trusted.") from None
    return model


__all__ = ["save", "load", "FORMAT", "FORMAT_VERSION", "to_json_value", "from_json_value",
           "model_document", "checksum", "canonical_json", "write_atomic"]
