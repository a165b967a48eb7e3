"""A scikit-learn compatible classifier base that does not import scikit-learn.

Importing ``sklearn.base`` costs seconds in a fresh process (it loads SciPy's
statistics and more), several times a whole small fit. :class:`ClassifierBase`
keeps scikit-learn's estimator contract without it:

* the parameters are the arguments of ``__init__`` (keyword, no ``*args``), stored
  unchanged as attributes of the same names: :meth:`get_params` reads them,
  ``deep=True`` adds ``name__key`` entries of nested estimators, and
  :meth:`set_params` writes them (nested ``name__key`` too);
* ``_estimator_type = "classifier"`` and :meth:`score` (accuracy, weighted by
  ``sample_weight``: ``Σ s_i [ŷ_i = y_i] / Σ s_i``);
* :meth:`__sklearn_tags__` (only scikit-learn calls it, so it imports scikit-learn
  then): the tags of a scikit-learn classifier, sparse input accepted;
* ``repr`` shows the parameters that differ from their defaults, as
  scikit-learn's does.

``clone``, ``is_classifier``, pipelines, grid searches and scikit-learn's
estimator checks work on it (tests/test_estimator_api.py).
"""

from __future__ import annotations

import inspect

import numpy as np


def _init_parameters(cls) -> list:
    """The ``__init__`` parameters of ``cls`` but ``self`` (sorted by name, as
    scikit-learn lists them); ``*args`` is refused as scikit-learn does."""
    init = getattr(cls.__init__, "deprecated_original", cls.__init__)
    if init is object.__init__:
        return []
    params = [p for p in inspect.signature(init).parameters.values()
              if p.name != "self" and p.kind != p.VAR_KEYWORD]
    for p in params:
        if p.kind == p.VAR_POSITIONAL:
            raise RuntimeError(f"{cls.__name__} should not take *args in __init__ "
                               "(scikit-learn's estimator convention).")
    return sorted(params, key=lambda p: p.name)


class ClassifierBase:
    """Parameters, ``repr``, ``score`` and tags of a scikit-learn classifier."""

    _estimator_type = "classifier"

    @classmethod
    def _get_param_names(cls) -> list:
        return [p.name for p in _init_parameters(cls)]

    def get_params(self, deep: bool = True) -> dict:
        """The constructor parameters as ``{name: value}``; ``deep`` adds
        ``name__key`` of parameters that are estimators themselves."""
        out = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{name}__{k}", v) for k, v in value.get_params().items())
            out[name] = value
        return out

    def set_params(self, **params):
        """Set constructor parameters (``name__key`` for nested estimators); returns self.

        Raises ``ValueError`` naming a parameter the estimator does not have."""
        if not params:
            return self
        valid = self.get_params(deep=True)
        nested = {}
        for key, value in params.items():
            name, sep, sub = key.partition("__")
            if name not in valid:
                raise ValueError(f"Invalid parameter {name!r} for estimator {self}. Valid "
                                 f"parameters are: {self._get_param_names()!r}.")
            if sep:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
                valid[name] = value
        for name, sub_params in nested.items():
            valid[name].set_params(**sub_params)
        return self

    def __repr__(self) -> str:
        changed = []
        for p in _init_parameters(type(self)):
            value = getattr(self, p.name, p.default)
            if not _same_default(value, p.default):
                changed.append(f"{p.name}={value!r}")
        return f"{type(self).__name__}({', '.join(changed)})"

    def score(self, X, y, sample_weight=None) -> float:
        """Accuracy of :meth:`predict` on ``X`` against ``y`` (weighted by
        ``sample_weight``): ``Σ s_i [ŷ_i = y_i] / Σ s_i``."""
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        hits = np.asarray(self.predict(X) == y, dtype=np.float64)
        return float(np.average(hits, weights=sample_weight))

    def __sklearn_tags__(self):
        """scikit-learn's tags of a classifier that accepts sparse input (called
        by scikit-learn only, so importing it here costs nothing extra)."""
        from sklearn.base import BaseEstimator, ClassifierMixin

        class _Classifier(ClassifierMixin, BaseEstimator):
            pass

        tags = _Classifier().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _same_default(value, default) -> bool:
    """True when ``value`` is the parameter's default (``repr`` hides it)."""
    if value is default:
        return True
    if type(value) is not type(default):
        return False
    try:
        return bool(value == default)
    except Exception:  # noqa: BLE001 - arrays and other values without a plain ==
        return False


class WithoutBernoulliDiagnostics:
    """For families whose rows are not Bernoulli trials with a decision threshold
    (ordinal, conditional): the threshold and the per-row diagnostics of binary
    models raise an error saying what to use instead. A class sets
    :attr:`no_threshold` and implements ``_unavailable(what)``."""

    #: why there is no decision threshold
    no_threshold = "this model has no decision threshold."

    # options of LogisticRegression these families do not take, fixed (read by its
    # shared code: fit_spec, the summary, model files)
    l1_ratio = None
    fit_intercept = False
    class_weight = None
    reference_class = None
    threshold = 0.5
    polish = False

    def _unavailable(self, what: str):
        raise NotImplementedError(f"{what} is not defined for this model.")

    def set_threshold(self, value):
        raise ValueError(self.no_threshold)

    def tune_threshold(self, X, y, metric="f1", sample_weight=None, offset=None):
        raise ValueError(self.no_threshold)

    def residuals(self, X=None, y=None, type="deviance", sample_weight=None, offset=None):
        self._unavailable("residuals()")

    def influence(self, X=None, y=None, sample_weight=None, offset=None):
        self._unavailable("influence()")

    def goodness_of_fit(self, X=None, y=None, sample_weight=None, offset=None, g=10):
        self._unavailable("goodness_of_fit()")
