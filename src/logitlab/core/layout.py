"""The parameter layout of a linear model of the logit family.

Coefficients live in a matrix ``W`` of shape ``(n_rows, n_cols)``:

* row ``j < n_features`` holds the coefficients of feature ``j``; the last row
  (when ``fit_intercept``) holds the intercepts;
* column ``c`` belongs to the free class ``free_classes[c]``: binary models have
  one column (the logit of class 1); multinomial models have K columns (the
  symmetric softmax, used with a penalty) or K − 1 (the reference class has
  logit 0: the identifiable MLE of R ``nnet::multinom`` and statsmodels ``MNLogit``);
* ordinal (cumulative logit) models have one column: rows ``j < n_features``
  hold the slopes ``β`` of the linear predictor ``η = xᵀβ``, then come the
  ``n_thresholds = K − 1`` cut points ``ζ_1 < … < ζ_{K−1}`` (R ``MASS::polr``'s
  ``logit P(y ≤ k) = ζ_k − η``); they take the intercept's place, so
  ``fit_intercept`` is False. A partial proportional-odds model adds, for
  each ``nominal`` feature j, K − 1 rows ``γ_{j,k}`` after the thresholds
  (``logit P(y ≤ k) = ζ_k − xᵀβ − x_j γ_{j,k}``: j's effect differs by cut);
  j's own row (its shared slope) is then held at 0.

Solvers see the flat vector ``w = W.ravel()`` (C order): coordinate ``j * n_cols + c``
is feature row ``j``, class column ``c``, so the Hessian is indexed
``[j * C + k, i * C + l]``. Intercepts and thresholds are never penalized.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: the label of the intercept in every table, model file and message (R's)
INTERCEPT = "(Intercept)"
#: the label of an offset's contribution in explanations
OFFSET = "(offset)"


@dataclass(frozen=True)
class Layout:
    """Shape of the parameters: which classes carry coefficients.

    ``free_classes`` lists the class indices with a coefficient column
    (binary: ``(1,)``; multinomial: all K, or all but the reference class;
    ordinal: ``(0,)``, the one linear predictor). ``n_thresholds``: the cut
    points of an ordinal model (K − 1), 0 for the other families;
    ``nominal``: the features of an ordinal model whose effect differs by
    threshold (partial proportional odds).
    """

    n_features: int
    n_classes: int
    free_classes: tuple
    fit_intercept: bool = True
    n_thresholds: int = 0
    nominal: tuple = ()
    #: conditional logit (matched strata): its likelihood, "exact", "breslow" or
    #: "efron"; "" for the other families
    strata: str = ""

    @property
    def ordinal(self) -> bool:
        """A cumulative-logit layout (slopes, then the K − 1 thresholds)."""
        return self.n_thresholds > 0

    @property
    def conditional(self) -> bool:
        """A conditional (stratified) logit layout: one column, no intercept."""
        return bool(self.strata)

    @property
    def multinomial(self) -> bool:
        return self.n_classes > 2 and not self.ordinal

    @property
    def n_rows(self) -> int:
        """Rows of ``W``: features plus the intercept, or plus the thresholds."""
        return (self.n_features + int(self.fit_intercept) + self.n_thresholds
                * (1 + len(self.nominal)))

    @property
    def n_fixed_effects(self) -> int:
        """Coefficients of the null model: the intercepts (one per column) or
        the thresholds."""
        return self.n_thresholds if self.ordinal else (self.n_cols if self.fit_intercept else 0)

    @property
    def n_cols(self) -> int:
        """Columns of ``W``: one per free class."""
        return len(self.free_classes)

    @property
    def size(self) -> int:
        return self.n_rows * self.n_cols

    @property
    def symmetric(self) -> bool:
        """A multinomial layout with a column for every class (the symmetric softmax)."""
        return self.multinomial and self.n_cols == self.n_classes

    def matrix(self, w) -> np.ndarray:
        """View the flat vector ``w`` (size,) as ``W`` (n_rows, n_cols)."""
        return np.asarray(w).reshape(self.n_rows, self.n_cols)

    def penalized_mask(self) -> np.ndarray:
        """(size,) True for the coordinates a penalty applies to: all but the intercepts."""
        mask = np.ones((self.n_rows, self.n_cols), dtype=bool)
        if self.fit_intercept:
            mask[-1] = False
        if self.ordinal:
            mask[self.n_features:self.n_features + self.n_thresholds] = False
            mask[list(self.nominal)] = False        # held at 0 (see the class docstring)
        return mask.ravel()

    def row_mask(self, rows) -> np.ndarray:
        """(size,) True for every class column of the feature rows ``rows``."""
        mask = np.zeros((self.n_rows, self.n_cols), dtype=bool)
        mask[list(rows)] = True
        return mask.ravel()

    def to_dict(self) -> dict:
        """The fields as plain values (model files; ``n_thresholds`` only when
        there are some, so binary and multinomial records are unchanged)."""
        out = {"n_features": self.n_features, "n_classes": self.n_classes,
               "free_classes": list(self.free_classes), "fit_intercept": self.fit_intercept}
        if self.n_thresholds:
            out["n_thresholds"] = self.n_thresholds
        if self.nominal:
            out["nominal"] = list(self.nominal)
        if self.strata:
            out["strata"] = self.strata
        return out

    @classmethod
    def from_dict(cls, d: dict) -> "Layout":
        return cls(int(d["n_features"]), int(d["n_classes"]),
                   tuple(int(k) for k in d["free_classes"]), bool(d["fit_intercept"]),
                   int(d.get("n_thresholds", 0)),
                   tuple(int(j) for j in d.get("nominal", ())), str(d.get("strata", "")))
