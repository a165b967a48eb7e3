"""The fit specification: every option of a fit, checked before any pass over the data.

:func:`fit_spec` turns an estimator's parameters (``get_params()``) into a
frozen :class:`FitSpec`, raising a ``ValueError`` that names the option and
the accepted values for anything wrong — penalty and strength, tolerances,
the solver and its options, the covariance type, the float type, the engine
and its options. What depends on the data (the number of classes against the
threshold or Firth, the classes named by ``class_weight`` or
``reference_class``) is checked by the pipeline from the data summary, still
before the first pass of the solver.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np

from .. import solvers

PENALTIES = (None, "none", "l2", "l1", "elasticnet", "firth")
COV_TYPES = ("nonrobust", "HC0", "HC1", "cluster")
ENGINES = ("auto", "memory", "dask")
#: model families by the name ``family=`` takes: "logit" is binary or
#: multinomial by the number of classes; "ordinal" the cumulative logit
FAMILIES = ("logit", "ordinal", "conditional")
#: the likelihoods of a conditional logit (R's clogit methods; "approximate" = breslow)
CONDITIONAL_METHODS = ("exact", "breslow", "efron", "approximate")
ENGINE_OPTIONS = ("persist", "checkpoint", "address", "n_partitions", "timeout")
#: largest number of coefficients for which the information matrix is kept
INFERENCE_MAX_SIZE = 2000


@dataclass(frozen=True)
class FitSpec:
    """A checked fit specification (see the module docstring).

    ``kind`` is the effective penalty: "none" (also for ``alpha=0``), "l2",
    "l1", "elasticnet" or "firth"; ``alpha`` and ``l1_ratio`` are 0 without one.
    """

    kind: str = "none"
    alpha: float = 0.0
    l1_ratio: float = 0.0
    fit_intercept: bool = True
    solver: str = "auto"
    tol: float | None = None
    max_iter: int | None = None
    solver_options: dict = field(default_factory=dict)
    callback: object = None
    class_weight: object = None
    reference_class: object = None
    cov_type: str = "nonrobust"
    threshold: float = 0.5
    dtype: object = None
    polish: bool = False
    engine: str = "auto"
    engine_options: dict = field(default_factory=dict)
    family: str = "logit"
    #: ordinal models: the features whose effects differ by threshold
    nominal: tuple = ()
    #: conditional logit: its likelihood ("exact", "breslow", "efron")
    method: str = "exact"

    @property
    def with_inference(self) -> bool:
        """Whether the fit is a likelihood fit that carries inference."""
        return self.kind in ("none", "firth")

    @property
    def checkpoint(self):
        return self.engine_options.get("checkpoint")


def penalty_kind(penalty, alpha, l1_ratio) -> tuple:
    """``(kind, alpha, l1_ratio)`` after checking the penalty options."""
    if penalty not in PENALTIES:
        raise ValueError(f"penalty must be one of 'l2', 'l1', 'elasticnet', 'firth' or None; "
                         f"got {penalty!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or \
            not np.isfinite(alpha) or alpha < 0:
        raise ValueError(f"alpha must be a finite number >= 0; got {alpha!r}")
    if penalty == "firth":
        if alpha != 0 or l1_ratio is not None:
            raise ValueError("penalty='firth' has no strength or mix: leave alpha=0 and "
                             "l1_ratio=None (Firth's penalty is ½ log det I(β)).")
        return "firth", 0.0, 0.0
    if penalty in (None, "none"):
        if alpha > 0:
            raise ValueError(f"penalty=None but alpha={alpha}; set penalty='l2', "
                             "'l1' or 'elasticnet', or alpha=0.")
        return "none", 0.0, 0.0
    ratio = {"l2": 0.0, "l1": 1.0}.get(penalty)
    if penalty == "elasticnet":
        ratio = 0.5 if l1_ratio is None else l1_ratio
    elif l1_ratio is not None and l1_ratio != ratio:
        raise ValueError(f"l1_ratio={l1_ratio} only applies to penalty='elasticnet' "
                         f"(penalty={penalty!r} implies l1_ratio={ratio}).")
    if isinstance(ratio, bool) or not isinstance(ratio, numbers.Real) or not 0 <= ratio <= 1:
        raise ValueError(f"l1_ratio must be in [0, 1]; got {ratio!r}")
    if alpha == 0:
        return "none", 0.0, 0.0
    kind = {0.0: "l2", 1.0: "l1"}.get(float(ratio), "elasticnet")
    return kind, float(alpha), float(ratio)


def check_threshold(value, n_classes: int = 2) -> float:
    """A decision threshold: a number in [0, 1]; only 0.5 for multinomial models."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not 0 <= value <= 1):
        raise ValueError(f"threshold must be a number in [0, 1]; got {value!r}")
    if n_classes > 2 and value != 0.5:
        raise ValueError(f"threshold applies to binary models; this one has {n_classes} "
                         "classes and predicts the most probable one (leave threshold=0.5).")
    return float(value)


def check_engine_options(options) -> dict:
    """The Dask engine's options (``persist``, ``checkpoint``, ``address``,
    ``n_partitions``, ``timeout``), checked."""
    opts = dict(options or {})
    unknown = sorted(set(opts) - set(ENGINE_OPTIONS))
    if unknown:
        raise ValueError(f"engine_options {unknown} are not options of the Dask engine; it "
                         f"accepts {list(ENGINE_OPTIONS)}.")
    if opts.get("persist", "auto") not in ("auto", True, False):
        raise ValueError(f"engine_options['persist'] must be 'auto', True or False; got "
                         f"{opts['persist']!r}")
    timeout = opts.get("timeout", 5.0)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"engine_options['timeout'] must be a positive number of seconds; "
                         f"got {timeout!r}")
    return opts


def _check_numbers(tol, max_iter):
    if tol is not None and (isinstance(tol, bool) or not isinstance(tol, numbers.Real)
                            or not tol > 0):
        raise ValueError(f"tol must be a positive number; got {tol!r}")
    if max_iter is not None and (isinstance(max_iter, bool)
                                 or not isinstance(max_iter, numbers.Integral) or max_iter < 0):
        raise ValueError(f"max_iter must be a non-negative integer or None; got {max_iter!r}")


def fit_spec(params: dict) -> FitSpec:
    """A :class:`FitSpec` from estimator parameters (``LogisticRegression.get_params()``)."""
    kind, alpha, l1_ratio = penalty_kind(params.get("penalty", "l2"), params.get("alpha", 0.0),
                                         params.get("l1_ratio"))
    tol, max_iter = params.get("tol"), params.get("max_iter")
    _check_numbers(tol, max_iter)
    cov_type = params.get("cov_type", "nonrobust")
    if cov_type not in COV_TYPES:
        raise ValueError(f"cov_type must be one of {list(COV_TYPES)}; got {cov_type!r}")
    dtype = params.get("dtype")
    if dtype not in (None, "float32", "float64", np.float32, np.float64):
        raise ValueError(f"dtype must be None, 'float32' or 'float64'; got {dtype!r}")
    polish = params.get("polish", False)
    if not isinstance(polish, (bool, np.bool_)):
        raise ValueError(f"polish must be True or False; got {polish!r}")
    solver = params.get("solver", "auto")
    solvers.check_solver(solver, kind)
    options = solvers.check_options(solver, params.get("solver_options"), kind)
    engine = params.get("engine", "auto")
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {list(ENGINES)}; got {engine!r}")
    family = params.get("family", "logit")
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {list(FAMILIES)}; got {family!r}")
    if family == "ordinal":
        _check_ordinal_options(kind, params)
    method = params.get("method", "exact")
    if family == "conditional":
        method = _check_conditional_options(kind, params)
    return FitSpec(
        kind=kind, alpha=alpha, l1_ratio=l1_ratio,
        fit_intercept=bool(params.get("fit_intercept", True)), solver=solver, tol=tol,
        max_iter=max_iter, solver_options=options, callback=params.get("callback"),
        class_weight=params.get("class_weight"), reference_class=params.get("reference_class"),
        cov_type=cov_type, threshold=check_threshold(params.get("threshold", 0.5)),
        dtype=dtype, polish=bool(polish), engine=engine,
        engine_options=check_engine_options(params.get("engine_options")), family=family,
        nominal=tuple(params.get("nominal_indices") or ()), method=method)


def _check_conditional_options(kind: str, params: dict) -> str:
    """What a conditional logit cannot take, said before any pass; returns its
    method ("approximate" read as "breslow", R's name for it)."""
    method = params.get("method", "exact")
    if method not in CONDITIONAL_METHODS:
        raise ValueError(f"method must be one of {list(CONDITIONAL_METHODS)} (the conditional "
                         f"likelihood, as R's clogit); got {method!r}")
    if kind in ("firth", "l1", "elasticnet"):
        raise ValueError(f"penalty={kind!r} is not available for conditional logit models; fit "
                         "by maximum likelihood (alpha=0) or with an L2 penalty.")
    if params.get("cov_type", "nonrobust") != "nonrobust":
        raise ValueError("conditional logit fits report the model-based covariance only "
                         "(cov_type='nonrobust'), for now.")
    return "breslow" if method == "approximate" else method


def _check_ordinal_options(kind: str, params: dict) -> None:
    """What an ordinal (cumulative logit) fit cannot take, said before any pass."""
    if kind == "firth":
        raise ValueError("penalty='firth' is not available for ordinal models; fit by maximum "
                         "likelihood (alpha=0) or with an L2 penalty.")
    if params.get("reference_class") is not None:
        raise ValueError("reference_class does not apply to an ordinal model: its categories "
                         "are ordered and every slope is shared by all of them.")
    if params.get("threshold", 0.5) != 0.5:
        raise ValueError("threshold applies to binary models; an ordinal model predicts the "
                         "most probable category (leave threshold=0.5).")


def reference_index(reference_class, classes) -> int:
    """Index of the baseline class in ``classes`` (default the first)."""
    if reference_class is None:
        return 0
    hits = np.flatnonzero(classes == reference_class)
    if hits.size != 1:
        raise ValueError(f"reference_class={reference_class!r} is not one of the "
                         f"classes {classes.tolist()}.")
    return int(hits[0])


def class_weight_factors(class_weight, classes, class_counts) -> np.ndarray:
    """The weight of each class (K,): ones without ``class_weight``; scikit-learn's
    ``"balanced"`` ``n / (K n_k)`` from the class counts; or a dict of label -> weight."""
    K = classes.size
    if class_weight is None:
        return np.ones(K)
    counts = np.asarray(class_counts, dtype=np.float64)
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(f"class_weight must be 'balanced', a dict or None; got "
                             f"{class_weight!r}")
        return counts.sum() / (K * counts)
    if not isinstance(class_weight, dict):
        raise ValueError(f"class_weight must be 'balanced', a dict or None; got "
                         f"{type(class_weight).__name__}")
    unknown = set(class_weight) - set(classes.tolist())
    if unknown:
        from ..data.io import option
        raise ValueError(f"{option('class_weight')} names classes not in y: {sorted(map(str, unknown))}; "
                         f"the classes in y are {classes.tolist()}.")
    factors = np.ones(K)
    for k, label in enumerate(classes.tolist()):
        if label in class_weight:
            factors[k] = float(class_weight[label])
    return factors
