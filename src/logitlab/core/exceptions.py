"""The warnings and errors logitlab issues about a fit.

scikit-learn is not imported for them (it costs seconds at start-up), yet code
written for scikit-learn still catches them: when ``sklearn.exceptions`` is
already loaded (anyone who names scikit-learn's classes in an ``except`` clause or
a warnings filter has loaded it), :func:`bridged` gives a class deriving from
both ours and scikit-learn's namesake, with the same name, and that is what is
raised or warned. Without scikit-learn loaded, our class itself is used.
"""

from __future__ import annotations

import sys


class ConvergenceWarning(UserWarning):
    """The solver stopped before the gradient reached ``tol`` (raised as a
    subclass of scikit-learn's ``ConvergenceWarning`` too when that is loaded)."""


class SeparationWarning(UserWarning):
    """Fitted probabilities are numerically 0 or 1: the MLE may not exist."""


class CollinearityWarning(UserWarning):
    """Some columns are linear combinations of others: their coefficients are
    not identifiable (predictions are)."""


class DataConversionWarning(UserWarning):
    """Input data were converted (e.g. a column vector ``y`` of shape (n, 1) read as (n,))."""


class NotFittedError(ValueError, AttributeError):
    """A method that needs a fitted model was called before ``fit`` (a
    ``ValueError`` and an ``AttributeError``, as scikit-learn's; raised as a
    subclass of scikit-learn's ``NotFittedError`` too when that is loaded)."""


_BRIDGED: dict = {}


def bridged(cls):
    """``cls``, or — when ``sklearn.exceptions`` is loaded and defines a class of
    the same name — a subclass of both (cached), so that ``except`` clauses and
    warnings filters naming either class catch it."""
    sk = sys.modules.get("sklearn.exceptions")
    other = getattr(sk, cls.__name__, None) if sk is not None else None
    if other is None or issubclass(cls, other):
        return cls
    key = (cls, other)
    if key not in _BRIDGED:
        _BRIDGED[key] = type(cls.__name__, (cls, other),
                             {"__module__": cls.__module__, "__doc__": cls.__doc__,
                              "__qualname__": cls.__qualname__})
    return _BRIDGED[key]


def check_is_fitted(estimator, attributes=None) -> None:
    """Raise :class:`NotFittedError` (bridged) unless ``estimator`` is fitted:
    it has the ``attributes`` named (str or list), or by default any public
    attribute ending in ``_`` (scikit-learn's rule; ``__sklearn_is_fitted__``
    decides when the estimator defines it)."""
    if attributes is not None:
        names = [attributes] if isinstance(attributes, str) else list(attributes)
        fitted = all(hasattr(estimator, a) for a in names)
    elif hasattr(estimator, "__sklearn_is_fitted__"):
        fitted = estimator.__sklearn_is_fitted__()
    else:
        fitted = any(k.endswith("_") and not k.startswith("__") for k in vars(estimator))
    if not fitted:
        raise bridged(NotFittedError)(
            f"This {type(estimator).__name__} instance is not fitted yet. Call 'fit' with "
            "appropriate arguments before using this estimator.")
