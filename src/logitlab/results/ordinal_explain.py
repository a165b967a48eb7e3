"""An ordinal prediction explained: contributions → η → cumulative logits →
cumulative probabilities → level probabilities.

For row ``x`` of an ordinal model the linear predictor is the sum of the
terms ``β_j x_j`` (plus an offset), ``η = Σ_j β_j x_j`` (``math.fsum``: the
contributions add up to it exactly). Each cut ``k`` then has the cumulative
logit ``ζ_k − η`` (minus ``x_j γ_{j,k}`` for nominal features), the
cumulative probability ``P(y ≤ c_k) = σ(ζ_k − η)``, and the level
probabilities are their differences ``P(y = c_k) = P(y ≤ c_k) − P(y ≤ c_{k−1})``;
the decision is the most probable level.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..core.layout import OFFSET
from ..core.links import sigmoid
from .explain import feature_names, select_rows
from .inference import threshold_labels


@dataclass(repr=False)
class OrdinalExplanation:
    """One row of an ordinal model, step by step; prints as a table.

    terms : DataFrame (value, contribution) indexed by feature (and "(offset)");
    eta : the linear predictor; cuts : DataFrame indexed by cut label with
    columns threshold ζ_k, nominal (Σ x_j γ_{j,k}), cum_logit, cum_prob;
    probabilities : Series over the levels; decision : the most probable level.
    """

    terms: pd.DataFrame
    eta: float
    cuts: pd.DataFrame
    probabilities: pd.Series
    decision: object
    row: int | None = None

    def to_dict(self) -> dict:
        """Plain values (``logitlab explain --json`` for ordinal models): ``row``,
        ``terms`` [{name, value, contribution}], ``eta``, ``cuts`` [{name,
        threshold, nominal, cum_logit, cum_prob}], ``probabilities`` {level: p},
        ``decision``."""
        def plain(v):
            return v.item() if isinstance(v, np.generic) else v
        return {
            "row": self.row,
            "terms": [{"name": str(n), "value": None if np.isnan(r["value"]) else float(r["value"]),
                       "contribution": float(r["contribution"])} for n, r in self.terms.iterrows()],
            "eta": float(self.eta),
            "cuts": [{"name": str(c), **{k: float(r[k]) for k in self.cuts.columns}}
                     for c, r in self.cuts.iterrows()],
            "probabilities": {str(k): float(p) for k, p in self.probabilities.items()},
            "decision": plain(self.decision)}

    def _title(self) -> str:
        where = "" if self.row is None else f" of row {self.row}"
        return (f"Prediction{where} explained: contributions → η → cumulative logits → "
                "P(y ≤ k) → P(y = k)")

    def _blocks(self) -> list:
        """The three tables as rows of strings (a header row first)."""
        terms = [["term", "x", "coef × x"]] + [
            [str(n), "" if np.isnan(r["value"]) else f"{r['value']:.6g}",
             f"{r['contribution'] + 0.0:+.6f}"] for n, r in self.terms.iterrows()]
        terms.append(["η (sum)", "", f"{self.eta:+.6f}"])
        nominal = bool(np.any(self.cuts["nominal"] != 0))
        head = (["cut", "ζ_k"] + (["x·γ_k", "ζ_k − η − x·γ_k"] if nominal else ["ζ_k − η"])
                + ["P(y ≤ k)"])
        cuts = [head] + [[str(c), f"{r['threshold']:+.6f}"]
                         + ([f"{r['nominal']:+.6f}"] if nominal else [])
                         + [f"{r['cum_logit']:+.6f}", f"{r['cum_prob']:.6f}"]
                         for c, r in self.cuts.iterrows()]
        levels = [["level", "P(y = k)", ""]] + [[str(k), f"{p:.6f}", "←" if k == self.decision
                                                  else ""] for k, p in self.probabilities.items()]
        return [terms, cuts, levels]

    def __str__(self) -> str:
        out = [self._title()]
        for block in self._blocks():
            widths = [max(len(r[j]) for r in block) for j in range(len(block[0]))]
            lines = ["  ".join(c.ljust(w) if j == 0 else c.rjust(w)
                               for j, (c, w) in enumerate(zip(r, widths))).rstrip()
                     for r in block]
            out += [lines[0], "-" * max(map(len, lines)), *lines[1:], ""]
        out.append(f"decision (most probable level): {self.decision}")
        return "\n".join(out)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        parts = [f"<p>{html.escape(self._title())}</p>"]
        for block in self._blocks():
            head = "".join(f"<th>{html.escape(c)}</th>" for c in block[0])
            body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>"
                           for r in block[1:])
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        parts.append(f"<p>decision (most probable level): {html.escape(str(self.decision))}</p>")
        return "".join(parts)


def _pieces(model, Xd, off):
    """``(contributions (n, d), η (n,), nominal shifts (n, K−1), ζ (K−1,))``."""
    results = model.results_
    family = results.family
    beta, zeta = family.split(results.coef)
    contrib = Xd * beta[None, :]
    columns = [contrib] + ([off[:, None]] if off is not None else [])
    eta = np.array([math.fsum(r) for r in np.hstack(columns)]) if len(Xd) else np.zeros(0)
    layout = results.layout
    shift = (Xd[:, list(layout.nominal)] @ family.nominal_effects(results.coef)
             if layout.nominal else np.zeros((len(Xd), zeta.size)))
    return contrib, eta, shift, zeta


def _design(model, X, offset, rows=None):
    Xv = model.design_matrix(X)
    Xd = Xv.toarray() if hasattr(Xv, "toarray") else np.asarray(Xv, dtype=np.float64)
    n = Xd.shape[0]
    off = None if offset is None else np.broadcast_to(
        np.asarray(offset, dtype=np.float64), (n,)).copy()
    index = None if rows is None else select_rows(rows, n)
    if index is not None:
        Xd, off = Xd[index], None if off is None else off[index]
    return Xd, off, index


def explain_ordinal_row(model, X, row: int, offset=None) -> OrdinalExplanation:
    """Explain the prediction of an ordinal ``model`` for ``X[row]``."""
    Xd, off, index = _design(model, X, offset, rows=[row])
    contrib, eta, shift, zeta = _pieces(model, Xd, off)
    names = feature_names(model, Xd.shape[1])
    terms = pd.DataFrame({"value": Xd[0], "contribution": contrib[0]}, index=names)
    if off is not None:
        terms.loc[OFFSET] = [np.nan, off[0]]
    cum_logit = zeta - eta[0] - shift[0]
    cum_prob = sigmoid(cum_logit)
    labels = threshold_labels(model.classes_)
    cuts = pd.DataFrame({"threshold": zeta, "nominal": shift[0], "cum_logit": cum_logit,
                         "cum_prob": cum_prob}, index=labels)
    probs = model.results_.family.probabilities(cum_logit[None, :])[0]
    levels = pd.Series(probs, index=list(model.classes_), name="probability")
    return OrdinalExplanation(terms, float(eta[0]), cuts, levels,
                              model.classes_[int(np.argmax(probs))], int(index[0]))


def explain_ordinal_frame(model, X, offset=None, rows=None) -> pd.DataFrame:
    """Many rows at once: columns ``("contribution", term)`` (and the offset),
    ``("eta", "")``, ``("cum_logit", cut)``, ``("cum_prob", cut)``,
    ``("probability", level)`` and ``("predicted", "")``."""
    Xd, off, index = _design(model, X, offset, rows)
    contrib, eta, shift, zeta = _pieces(model, Xd, off)
    names = feature_names(model, Xd.shape[1])
    parts = {("contribution", n): contrib[:, j] for j, n in enumerate(names)}
    if off is not None:
        parts[("contribution", OFFSET)] = off
    parts[("eta", "")] = eta
    cum_logit = zeta[None, :] - eta[:, None] - shift
    labels = threshold_labels(model.classes_)
    for k, c in enumerate(labels):
        parts[("cum_logit", c)] = cum_logit[:, k]
    for k, c in enumerate(labels):
        parts[("cum_prob", c)] = sigmoid(cum_logit[:, k])
    probs = model.results_.family.probabilities(cum_logit)
    for k, c in enumerate(model.classes_):
        parts[("probability", str(c))] = probs[:, k]
    parts[("predicted", "")] = model.classes_[np.argmax(probs, axis=1)]
    out = pd.DataFrame(parts, index=index)
    out.columns = pd.MultiIndex.from_tuples(out.columns)
    return out
