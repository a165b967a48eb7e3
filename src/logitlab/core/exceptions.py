"""The warnings logitlab issues about a fit (all subclasses of ``UserWarning``)."""

from __future__ import annotations

from sklearn.exceptions import ConvergenceWarning as _SkConvergenceWarning


class ConvergenceWarning(_SkConvergenceWarning):
    """The solver stopped before the gradient reached ``tol``."""


class SeparationWarning(UserWarning):
    """Fitted probabilities are numerically 0 or 1: the MLE may not exist."""


class CollinearityWarning(UserWarning):
    """Some columns are linear combinations of others: their coefficients are
    not identifiable (predictions are)."""
