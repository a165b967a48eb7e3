"""Model files: ``save(model, path)`` and ``load(path)``, as versioned JSON.

A model file is one JSON object (UTF-8), never a pickle; loading it executes
nothing: numbers, strings and the formula text are read and checked, and a
formula may only call the functions listed in :mod:`logitlab.formula`.

Layout (format versions 1 and 2; version 3, mixed models: :mod:`logitlab.persist.mixed_file`)::

    {
      "format": "logitlab-model",            # fixed
      "format_version": 1 | 2,               # see the version policy below
      "logitlab_version": "0.1.0",           # informational
      "estimator": {"class": "LogisticRegression" | "OrderedLogisticRegression"
                             | "ConditionalLogisticRegression",
                    "params": {... get_params(); callables (callback) -> null ...}},
      "state": {
        "classes": {"dtype": "<U3" | "<i8" | "|b1" | "<f8" | "|O", "values": [...]},
        "reference_index": 0,                # reference_class_ = classes[reference_index]
        "feature_names": ["age", ...] | null,
        "layout": {"n_features": d, "n_classes": K, "free_classes": [...],
                   "fit_intercept": true,
                   "strata": "exact",        # conditional logit only (format version 2)
                   "n_thresholds": K - 1,    # ordinal models only (format version 2)
                   "nominal": [j, ...]},     # partial proportional odds (optional)
        "coef": [...],                       # (d + fit_intercept) * len(free_classes) numbers,
                                             # or d + K - 1 (ordinal: slopes, thresholds)
        "fit": {"solver": "newton", "n_iter": 5, "converged": true, "objective": ...,
                "grad_norm": ..., "tol": ..., "n_passes": ...,
                "history": {"objective": [...], "grad_norm": [...]}}
      },
      "design": {... Design.to_dict() ...} | null,
      "inference": {...} | null,             # the model's inference_state_, if any
      "hmac_sha256": "..."                   # optional: signature with a secret key
      "sha256": "..."                        # of the canonical JSON of all other keys
    }

``coef`` is the flat coefficient vector in the estimator's layout: row ``j``
of the ``(d + fit_intercept) × len(free_classes)`` matrix holds feature ``j``
(the last row the intercepts), row-major; an ordinal model's (``n_thresholds``
present, ``free_classes`` ``[0]``, ``fit_intercept`` false) holds the d slopes,
the K − 1 increasing thresholds, then K − 1 per-cut effects for each
``nominal`` feature (whose own slope is 0). Floats are written with Python's
``repr``, which reads back to the identical double, so a loaded model predicts
bit-identically. Values JSON cannot hold are tagged: non-finite floats
``{"__float__": "nan" | "inf" | "-inf"}``, arrays ``{"__ndarray__": {"dtype",
"shape", "data"}}``, tuples ``{"__tuple__": [...]}`` and dicts whose keys are not
all strings ``{"__mapping__": [[key, value], ...]}``.

``inference`` holds :meth:`logitlab.fitting.outcome.InferenceState.to_dict`'s
record. Its optional key ``grouped`` (format version 1: files without it load
as fits of class labels) is present for a grouped binomial response
(``cbind(successes, failures)`` or proportions with the trials as weights):
``{"form": "cbind" | "proportion", "n_groups": int, "n_trials": float,
"log_choose": float, "loglik_saturated": float}`` (``n_obs`` is then the number
of groups), from which the statistics of the grouped fit
are computed (:func:`logitlab.results.inference.grouped_statistics`).

The checksum is the SHA-256 of ``json.dumps(doc_without_sha256, sort_keys=True,
separators=(",", ":"), ensure_ascii=False, allow_nan=False)`` in UTF-8. It
detects corruption (a truncated or damaged file), not tampering: anyone can
recompute it after an edit. Authenticity comes from the optional signature
``hmac_sha256``: HMAC-SHA256 with a secret key (``save(..., key=...)`` or the
environment variable ``LOGITLAB_MODEL_KEY``) of the same canonical JSON of
the document without ``sha256`` and ``hmac_sha256``; the checksum then covers
the signature too, so readers that do not know the signature still load the
file. ``load`` with a key refuses unsigned files and files whose signature
does not match; ``load`` without a key checks the checksum only.

Limits: ``load`` reads at most :data:`MAX_BYTES` bytes (``max_bytes=``) and
JSON nested at most :data:`MAX_DEPTH` levels (a model file needs about 10).

Version policy: ``format_version`` is an integer, raised whenever a change
could make an older logitlab misread a file (a key changing meaning, a new
required key). New optional keys do not raise it; readers ignore top-level
keys they do not know (``hmac_sha256`` is such a key: format version 1).
logitlab reads every format version up to its own and refuses newer ones
with a message to upgrade. A file carries the lowest version that can hold its
model: version 2 added ordinal models (the estimator class
``OrderedLogisticRegression`` and the layout keys ``n_thresholds``, ``nominal``)
and conditional logit models (``ConditionalLogisticRegression``, the layout key
``strata`` and the inference key ``conditional``), so binary and multinomial
models are still written as version 1 (older logitlab reads them), ordinal and
conditional ones as version 2. Version 3 added mixed-effects models
(``MixedLogisticRegression``), whose ``state`` is laid out by
:mod:`logitlab.persist.mixed_file` (no ``inference`` key); the other models'
files are unchanged by it.
"""

from __future__ import annotations

import hmac
import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..core.files import remove_stale_temporaries, write_atomic
from ..core.jsonvalues import from_json_value, to_json_value
from ..results.results import results_from_state, results_state
from .fields import (FORMAT, SIGNATURE, InvalidModelFile as _Invalid, canonical_json, checksum,
                     decode_classes as _decode_classes, encode_classes as _encode_classes,
                     encode_params as _encode_params, finite_floats as _floats,
                     is_int as _is_int, is_number as _is_number, require as _need, signature)

if TYPE_CHECKING:
    from ..estimators.logistic import LogisticRegression

#: the newest format version ``save`` writes (and ``load`` reads)
FORMAT_VERSION = 3
#: the estimator classes a model file may hold, by the format version that added them
#: (version 3: mixed-effects models, laid out by :mod:`logitlab.persist.mixed_file`)
ESTIMATOR_CLASSES = {"LogisticRegression": 1, "OrderedLogisticRegression": 2,
                     "ConditionalLogisticRegression": 2, "MixedLogisticRegression": 3}
#: environment variable holding the signing key (used when ``key=`` is not given)
KEY_ENV = "LOGITLAB_MODEL_KEY"
#: largest model file ``load`` reads (bytes; ``load(..., max_bytes=)``)
MAX_BYTES = 512 * 2**20
#: deepest JSON nesting ``load`` accepts (a model file needs about 10 levels)
MAX_DEPTH = 100


def signing_key(key=None) -> bytes | None:
    """The key as bytes: ``key`` (bytes or str, UTF-8), else the environment
    variable ``LOGITLAB_MODEL_KEY`` when it is set and not empty, else None."""
    if key is None:
        env = os.environ.get(KEY_ENV)
        return env.encode("utf-8") if env else None
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not isinstance(key, (bytes, bytearray)):
        raise TypeError(f"key must be bytes or a string; got {type(key).__name__}.")
    if not key:
        raise ValueError("key must not be empty (an empty key signs nothing).")
    return bytes(key)


# ----------------------------------------------------------------------- save
def model_document(model, key: bytes | None = None) -> dict:
    """The JSON document of a fitted ``LogisticRegression`` (with checksum, and
    signed with ``key`` when given)."""
    from ..core.version import __version__

    if type(model).__name__ not in ESTIMATOR_CLASSES or \
            not type(model).__module__.startswith("logitlab."):
        raise TypeError(f"save() writes logitlab LogisticRegression, OrderedLogisticRegression, "
                        f"ConditionalLogisticRegression and MixedLogisticRegression models; "
                        f"got {type(model).__name__}.")
    if type(model).__name__ == "MixedLogisticRegression":
        from .mixed_file import mixed_document
        return mixed_document(model, key)
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
        "format_version": ESTIMATOR_CLASSES[type(model).__name__],
        "logitlab_version": __version__,
        "estimator": {"class": type(model).__name__,
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
    if key is not None:
        doc[SIGNATURE] = signature(doc, key)
    doc["sha256"] = checksum(doc)
    return doc


def save(model, path: str | os.PathLike, key: bytes | str | None = None) -> Path:
    """Save a fitted ``LogisticRegression``, ``OrderedLogisticRegression``,
    ``ConditionalLogisticRegression`` or ``MixedLogisticRegression`` (format
    version 3, :mod:`logitlab.persist.mixed_file`) as a JSON model file at ``path``
    (atomically; an existing file is replaced only once the new one is complete).

    key : bytes or str, optional. Signs the file with HMAC-SHA256 (the
        ``hmac_sha256`` entry), so that :func:`load` with the same key refuses
        a file edited without it. Default: the environment variable
        ``LOGITLAB_MODEL_KEY`` when set, else unsigned. Keep the key secret.

    Returns the path.
    """
    doc = model_document(model, signing_key(key))
    text = json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
    return write_atomic(path, text.encode("utf-8"))


# ----------------------------------------------------------------------- load
def _reject_constant(name):
    raise _Invalid(f"the JSON holds the non-standard number {name}")


def _read_capped(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, refusing more than ``max_bytes`` (checked by size and
    while reading, so that a device or a growing file cannot exhaust memory)."""
    where = str(path)
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            raw = fh.read(max_bytes + 1) if size <= max_bytes else b""
    except FileNotFoundError:
        raise FileNotFoundError(f"cannot load {where!r}: no such file.") from None
    except IsADirectoryError:
        raise IsADirectoryError(f"cannot load {where!r}: it is a directory, not a "
                                "file.") from None
    except PermissionError:
        raise PermissionError(f"cannot load {where!r}: permission denied.") from None
    if size > max_bytes or len(raw) > max_bytes:
        raise ValueError(f"cannot load {where!r}: it is larger than {max_bytes} bytes, the "
                         "largest model file load reads; if it is a model file you trust, "
                         "raise the limit: load(path, max_bytes=...).")
    return raw


def _nesting_depth(raw: bytes) -> int:
    """How deep ``[`` / ``{`` nest in JSON text, brackets inside strings
    excluded; vectorized, linear in the size (no parsing, no recursion)."""
    b = np.frombuffer(raw, dtype=np.uint8)
    quotes = np.flatnonzero(b == ord('"'))
    escaped = np.zeros(quotes.size, dtype=bool)      # odd run of backslashes before it
    active, k = np.arange(quotes.size), 1
    while active.size:
        pos = quotes[active] - k
        active = active[(pos >= 0) & (b[np.maximum(pos, 0)] == ord("\\"))]
        escaped[active] ^= True
        k += 1
    real = quotes[~escaped]
    opening = (b == ord("[")) | (b == ord("{"))
    brackets = np.flatnonzero(opening | (b == ord("]")) | (b == ord("}")))
    brackets = brackets[np.searchsorted(real, brackets) % 2 == 0]      # outside strings
    step = np.where(opening[brackets], 1, -1)
    return int(np.cumsum(step).max()) if step.size else 0


def _decode(raw: bytes, where: str):
    if not raw.strip():
        raise ValueError(f"cannot load {where!r}: the file is empty.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"cannot load {where!r}: it is not a logitlab model file (not "
                         "UTF-8 text).") from None
    too_deep = (f"cannot load {where!r}: its JSON is nested more than {MAX_DEPTH} levels "
                "deep (a model file needs about 10), so it is not a logitlab model file or "
                "is corrupted.")
    if _nesting_depth(raw) > MAX_DEPTH:
        raise ValueError(too_deep)
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as err:
        raise ValueError(f"cannot load {where!r}: the file is not valid JSON ({err.msg} at "
                         f"line {err.lineno} column {err.colno}), so it is truncated or "
                         "corrupted and cannot be trusted.") from None
    except _Invalid as err:
        raise ValueError(f"cannot load {where!r}: {err}, so it is corrupted and cannot "
                         "be trusted.") from None
    except RecursionError:            # not reached after the depth check; kept as a guard
        raise ValueError(too_deep) from None
    return doc


def _parse(path: Path, key: bytes | None, max_bytes: int) -> dict:
    where = str(path)
    doc = _decode(_read_capped(path, max_bytes), where)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        found = doc.get("format") if isinstance(doc, dict) else None
        raise ValueError(f"cannot load {where!r}: it is not a logitlab model file "
                         f"(its 'format' is {found!r}, expected {FORMAT!r}).")
    version = doc.get("format_version")
    if not _is_int(version) or version < 1:
        raise ValueError(f"cannot load {where!r}: its format_version {version!r} is not a "
                         "positive integer, so it is corrupted and cannot be trusted.")
    if version > FORMAT_VERSION:
        from ..core.version import __version__
        raise ValueError(f"cannot load {where!r}: it has model-file format version "
                         f"{version} (written by logitlab {doc.get('logitlab_version')}), but "
                         f"this logitlab ({__version__}) reads format versions up to "
                         f"{FORMAT_VERSION}; upgrade logitlab to load it.")
    if not isinstance(doc.get("sha256"), str):
        raise ValueError(f"cannot load {where!r}: it has no sha256 checksum, so it cannot "
                         "be trusted.")
    if checksum(doc) != doc["sha256"]:
        raise ValueError(f"cannot load {where!r}: the sha256 checksum does not match the "
                         "contents, so the file was modified or corrupted after it was "
                         "written and cannot be trusted.")
    if key is not None:
        _verify_signature(doc, key, where)
    return doc


def _verify_signature(doc: dict, key: bytes, where: str) -> None:
    stored = doc.get(SIGNATURE)
    if stored is None:
        raise ValueError(f"cannot load {where!r}: it is not signed (no {SIGNATURE}), but a "
                         f"key was given (key= or {KEY_ENV}), and with a key unsigned files "
                         "are refused (removing a signature is as easy as editing the file); "
                         "sign it with save(model, path, key=...), or load it without a key "
                         "if you trust where it came from.")
    if not (isinstance(stored, str)
            and hmac.compare_digest(stored.encode("ascii", "replace"),
                                    signature(doc, key).encode("ascii"))):
        raise ValueError(f"cannot load {where!r}: its {SIGNATURE} signature does not match "
                         "the contents for this key, so the file was modified by someone "
                         "without the key (or signed with another key) and cannot be trusted.")


def _check_state(state, version: int = FORMAT_VERSION) -> tuple[dict, np.ndarray]:
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
    m = lay.get("n_thresholds", 0)
    _need(m == 0 or (version >= 2 and _is_int(m) and m == K - 1 and K >= 3 and free == [0]
                     and fi is False),
          "state.layout.n_thresholds must be n_classes - 1 of an ordinal model (format version "
          ">= 2, free_classes [0], fit_intercept false)")
    strata = lay.get("strata", "")
    _need(strata in ("", "exact", "breslow", "efron") and (
          not strata or (version >= 2 and K == 2 and free == [1] and fi is False)),
          "state.layout.strata must be a conditional logit's method (exact, breslow or efron; "
          "format version >= 2, two classes, free_classes [1], no intercept)")
    nominal = lay.get("nominal", [])
    _need(m > 0 or not nominal, "state.layout.nominal is for ordinal models only")
    _need(isinstance(nominal, list) and all(_is_int(j) for j in nominal)
          and nominal == sorted(set(nominal)) and all(0 <= j < d for j in nominal),
          f"state.layout.nominal must be increasing feature indices in [0, {d})")
    if m:
        expected = d + m * (1 + len(nominal))
        _need(isinstance(coef := state["coef"], list) and len(coef) == expected,
              f"state.coef has {len(coef) if isinstance(coef, list) else 'no'} values but an "
              f"ordinal layout needs n_features + n_thresholds (1 + nominal features) = "
              f"{expected}")
        _need(all(type(c) in (int, float) for c in coef)
              and np.all(np.diff(coef[d:d + m]) > 0),
              "state.coef: an ordinal model's thresholds must be increasing")
    elif K == 2:
        _need(free == [1], "a binary model's free_classes must be [1]")
    else:
        _need(len(free) == K or (len(free) == K - 1 and ref not in free),
              "state.layout.free_classes must be all classes or all but the reference class")
    coef = state["coef"]
    expected = d + m * (1 + len(nominal)) if m else (d + int(fi)) * len(free)
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
                      "fit_intercept": fi, **({"n_thresholds": m} if m else {}),
                      **({"nominal": nominal} if nominal else {}),
                      **({"strata": strata} if strata else {})},
           "coef": np.array(coef, dtype=np.float64),
           "fit": {"solver": fit["solver"], "n_iter": fit["n_iter"],
                   "converged": fit["converged"], "objective": from_json_value(fit["objective"]),
                   "grad_norm": from_json_value(fit["grad_norm"]),
                   "tol": from_json_value(fit["tol"]), "n_passes": fit["n_passes"],
                   "history": {k: np.array(from_json_value(v), dtype=np.float64)
                               for k, v in hist.items()}}}
    return out, classes


def estimator_class(name: str):
    """The estimator class a model file names (:data:`ESTIMATOR_CLASSES`)."""
    if name == "MixedLogisticRegression":
        from ..estimators.mixed import MixedLogisticRegression
        return MixedLogisticRegression
    if name == "OrderedLogisticRegression":
        from ..estimators.ordinal import OrderedLogisticRegression
        return OrderedLogisticRegression
    if name == "ConditionalLogisticRegression":
        from ..estimators.conditional import ConditionalLogisticRegression
        return ConditionalLogisticRegression
    from ..estimators.logistic import LogisticRegression
    return LogisticRegression


def _check_params(estimator, version: int = FORMAT_VERSION) -> dict:
    _need(isinstance(estimator, dict), "'estimator' must be an object")
    name = estimator.get("class")
    _need(name in ESTIMATOR_CLASSES and ESTIMATOR_CLASSES[name] <= version,
          f"unknown estimator class {name!r} for format version {version} (expected one of "
          f"{[k for k, v in ESTIMATOR_CLASSES.items() if v <= version]})")
    params = estimator.get("params")
    _need(isinstance(params, dict), "estimator.params must be an object")
    known = set(estimator_class(name)().get_params(deep=False))
    unknown = sorted(set(params) - known)
    _need(not unknown, f"estimator.params has unknown parameters {unknown}")
    try:
        return {k: from_json_value(v) for k, v in params.items()}
    except ValueError as err:
        raise _Invalid(f"estimator.params: {err}") from None


def load(path: str | os.PathLike, key: bytes | str | None = None, *,
         max_bytes: int = MAX_BYTES) -> LogisticRegression:
    """Load a model saved by :func:`save`; returns the fitted estimator it holds
    (``LogisticRegression``, ``OrderedLogisticRegression``,
    ``ConditionalLogisticRegression`` or ``MixedLogisticRegression``).

    Checks the format name and version, the checksum, every required key and
    type, the array shapes against the layout, that coefficients are finite,
    and what would otherwise fail only later (:mod:`logitlab.persist.checks`:
    the estimator's parameter checks, the formula text against the design it
    encodes, the inference state); any failure is a ``ValueError`` that says
    what is wrong. Files larger than ``max_bytes`` or nested deeper than
    :data:`MAX_DEPTH` are refused before parsing.

    The sha256 checksum detects corruption, not tampering: anyone who edits
    the file can recompute it. For authenticity sign files with a secret key
    (``save(model, path, key=...)``) and pass the same key here (or set
    ``LOGITLAB_MODEL_KEY``): with a key, a file whose signature does not match
    (edited without the key) and an unsigned file are refused. Without a key
    the signature is not checked.
    """
    path = Path(path)
    doc = _parse(path, signing_key(key), max_bytes)
    try:
        model = _model_from_document(doc)
    except _Invalid as err:
        raise ValueError(f"cannot load {str(path)!r}: {str(err).rstrip('.')}; the file is "
                         "corrupted or was edited and cannot be trusted.") from None
    return model


def _model_from_document(doc: dict):
    from ..data.formula import Design
    from . import checks as persist_checks

    version = doc["format_version"]
    for key in ("estimator", "state", "design"):
        _need(key in doc, f"the key {key!r} is missing")
    params = _check_params(doc["estimator"], version)
    if doc["estimator"]["class"] == "MixedLogisticRegression":
        from .mixed_file import mixed_model_from_document
        return mixed_model_from_document(doc, params)
    _need("inference" in doc, "the key 'inference' is missing")
    cls = estimator_class(doc["estimator"]["class"])
    state, classes = _check_state(doc["state"], version)
    lay = state["layout"]
    kind = ("OrderedLogisticRegression" if lay.get("n_thresholds", 0) > 0 else
            "ConditionalLogisticRegression" if lay.get("strata") else "LogisticRegression")
    _need(kind == cls.__name__, f"the layout does not match the estimator class {cls.__name__!r}")
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
    try:
        kind = persist_checks.check_estimator(params, state, cls)
        if design is not None:
            persist_checks.check_design(design, state)
        persist_checks.check_inference(inference, state, kind, params.get("cov_type",
                                                                         "nonrobust"))
    except ValueError as err:
        raise _Invalid(str(err)) from None
    results = results_from_state({**state, "inference": inference}, params)
    return cls.from_results(results, params, design)


__all__ = ["save", "load", "FORMAT", "FORMAT_VERSION", "to_json_value", "from_json_value",
           "model_document", "checksum", "signature", "signing_key", "canonical_json",
           "write_atomic", "remove_stale_temporaries", "KEY_ENV", "MAX_BYTES", "MAX_DEPTH"]
