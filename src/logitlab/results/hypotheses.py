"""Linear hypotheses written as text: ``"age = 0"``, ``"C(race)[T.2] = C(race)[T.3]"``,
``"2*age - lwt = 1"`` -> one row ``r`` of a restriction ``R β = q`` and its ``q``.

Grammar (whitespace is ignored, also inside labels)::

    hypothesis := side [ "=" side ]          (no "=" means "= 0", as car's linearHypothesis)
    side       := [sign] product { sign product }
    product    := factor { ("*" | "/") factor }     (at most one label; "/" by numbers only)
    factor     := label | `label` | number | "(" side ")"

Labels are the model's coefficient labels as :func:`logitlab.results.inference.coef_table`
names them (``(Intercept)``, ``age``, ``C(race)[T.2]``, ``age:smoke``). Multinomial
coefficients are written ``class:label`` as R's ``nnet::multinom`` names them
(``"2:age"``, ``"2:age = 3:age"``); a formula term or design column given in ``terms=``
(:func:`restriction`) means its coefficients in every class. A label is
matched by the longest known label at that position (``age:smoke`` before ``age``); a
label that could also be read otherwise goes in backticks. Nothing is evaluated: the
text is tokenized against the known labels and numbers, and anything else is an error
that lists the labels.
"""

from __future__ import annotations

import re

import numpy as np

_NUMBER = re.compile(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


class HypothesisError(ValueError):
    """A hypothesis that cannot be read (syntax, unknown label, not linear)."""


def hypothesis_label(label) -> str:
    """A coefficient label as hypotheses write it: ``"age"``; ``"2:age"`` for the
    multinomial ``(class, term)`` pair."""
    return f"{label[0]}:{label[1]}" if isinstance(label, tuple) else str(label)


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


class _Reader:
    """Tokens of one hypothesis over the known labels (compacted: no whitespace)."""

    def __init__(self, text: str, labels: list):
        self.text, self.labels = text, labels
        self.names = [_compact(hypothesis_label(lab)) for lab in labels]
        self.s = _compact(text)
        self.i = 0
        self.by_length = sorted(range(len(self.names)), key=lambda j: -len(self.names[j]))

    def fail(self, why: str):
        shown = ", ".join(repr(hypothesis_label(lab)) for lab in self.labels)
        raise HypothesisError(f"cannot read the hypothesis {self.text!r}: {why} (at "
                              f"{self.s[self.i:self.i + 20]!r}). Write linear combinations "
                              "of coefficient labels and numbers, e.g. '2*age - lwt = 1'; "
                              f"the labels are {shown}.")

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def label(self):
        """The index of a label at the position (the longest match), or None."""
        if self.peek() == "`":
            end = self.s.find("`", self.i + 1)
            if end < 0:
                self.fail("an opening backtick has no closing one")
            name = self.s[self.i + 1:end]
            if name not in self.names:
                self.fail(f"`{name}` is not a coefficient label")
            self.i = end + 1
            return self.names.index(name)
        for j in self.by_length:
            if self.s.startswith(self.names[j], self.i) and self.names[j]:
                number = _NUMBER.match(self.s, self.i)
                if number and number.end() > self.i + len(self.names[j]):
                    return None      # a longer number wins
                self.i += len(self.names[j])
                return j
        return None

    # grammar: each level returns (coefficients over the labels, constant)
    def side(self):
        coef, const = np.zeros(len(self.labels)), 0.0
        sign = 1.0
        if self.peek() in "+-" and self.peek():
            sign = -1.0 if self.peek() == "-" else 1.0
            self.i += 1
        while True:
            c, k, _ = self.product()
            coef += sign * c
            const += sign * k
            if self.peek() and self.peek() in "+-":
                sign = -1.0 if self.peek() == "-" else 1.0
                self.i += 1
                continue
            return coef, const

    def product(self):
        coef, const, has_label = self.factor()
        while self.peek() and self.peek() in "*/":
            op = self.peek()
            self.i += 1
            c, k, lab = self.factor()
            if op == "/":
                if lab:
                    self.fail("division by a coefficient is not linear")
                if k == 0:
                    self.fail("division by zero")
                coef, const = coef / k, const / k
            elif has_label and lab:
                self.fail("a product of two coefficients is not linear")
            elif lab:
                coef, const, has_label = c * const, k * const, True
            else:
                coef, const = coef * k, const * k
        return coef, const, has_label

    def factor(self):
        if self.peek() == "(":
            j = self.label()                  # labels may start with "(" : (Intercept)
            if j is not None:
                return self._unit(j), 0.0, True
            self.i += 1
            coef, const = self.side()
            if self.peek() != ")":
                self.fail("a '(' is not closed")
            self.i += 1
            return coef, const, bool(np.any(coef))
        j = self.label()
        if j is not None:
            return self._unit(j), 0.0, True
        m = _NUMBER.match(self.s, self.i)
        if m:
            self.i = m.end()
            return np.zeros(len(self.labels)), float(m.group(0)), False
        self.fail("expected a coefficient label or a number" if self.peek()
                  else "the hypothesis ends too early")

    def _unit(self, j):
        v = np.zeros(len(self.labels))
        v[j] = 1.0
        return v


def parse_hypothesis(text: str, labels: list) -> tuple[np.ndarray, float]:
    """``(r, q)`` of the hypothesis ``text``: ``r`` (k,) over ``labels`` (the
    estimated coefficients in table order), the hypothesis being ``r·β = q``."""
    if not isinstance(text, str) or not text.strip():
        raise HypothesisError(f"a hypothesis must be a non-empty string like 'age = 0'; got "
                              f"{text!r}.")
    reader = _Reader(text, labels)
    lhs, k_lhs = reader.side()
    rhs, k_rhs = np.zeros(len(labels)), 0.0
    if reader.peek() == "=":
        reader.i += 1
        rhs, k_rhs = reader.side()
    if reader.peek():
        reader.fail("unexpected text" if reader.peek() != "=" else "more than one '='")
    r = lhs - rhs
    if not np.any(r):
        reader.i = 0
        reader.fail("it involves no coefficient (or they cancel)")
    return r, k_rhs - k_lhs


def parse_hypotheses(texts, labels: list) -> tuple[np.ndarray, np.ndarray]:
    """``(R, q)``: (m, k) and (m,) for a list of hypotheses (or one string)."""
    texts = [texts] if isinstance(texts, str) else list(texts)
    if not texts:
        raise HypothesisError("give at least one hypothesis, e.g. 'age = 0'.")
    rows = [parse_hypothesis(t, labels) for t in texts]
    return np.array([r for r, _ in rows]), np.array([q for _, q in rows])


# ------------------------------------------------------------ terms
INTERCEPT_TERM = "(Intercept)"


def model_terms(model) -> dict:
    """``{term: [design columns]}``, the intercept excluded: the formula's terms of
    ``model.design_`` (a factor: all its dummies; an interaction: all its columns),
    or, for a fit on a matrix, one term per column."""
    design = getattr(model, "design_", None)
    if design is not None:
        return {str(t): [str(c) for c in cols] for t, cols in design.terms.items()}
    results = getattr(model, "results_", model)
    return {str(n): [str(n)] for n in results.feature_names}


def term_positions(labels: list, columns) -> list:
    """Positions in ``labels`` (table order) of the coefficients of the design
    ``columns`` — in every class of a multinomial model; aliased ones are absent."""
    columns = {str(c) for c in columns}
    return [i for i, lab in enumerate(labels)
            if (str(lab[1]) if isinstance(lab, tuple) else str(lab)) in columns]


def restriction(model, labels: list, items) -> tuple[np.ndarray, np.ndarray]:
    """``(R, q)`` over ``labels`` for ``items``, each one of: a formula term
    (``"C(race)"``: all its coefficients = 0), ``"(Intercept)"``, a coefficient
    label (``"age"``; multinomial ``("2", "age")`` or ``"2:age"``), or a hypothesis
    with ``=`` (:func:`parse_hypothesis`)."""
    items = [items] if isinstance(items, (str, tuple)) else list(items)
    terms = model_terms(model)
    names = [hypothesis_label(lab) for lab in labels]
    rows, q = [], []
    for item in items:
        if isinstance(item, tuple) and item in labels:
            found = [labels.index(item)]
        elif not isinstance(item, str):
            raise HypothesisError(f"{item!r} is not a term, a coefficient label or a "
                                  "hypothesis; give strings such as 'C(race)' or 'age = 0'.")
        elif item in terms or item == INTERCEPT_TERM:
            found = term_positions(labels, terms.get(item, [INTERCEPT_TERM]))
            if not found:
                raise HypothesisError(f"the term {item!r} has no estimated coefficient (its "
                                      "columns are aliased); nothing to test.")
        elif item in names:
            found = [names.index(item)]
        else:
            try:
                r, k = parse_hypothesis(item, labels)
            except HypothesisError:
                if "=" in item:
                    raise
                raise HypothesisError(
                    f"unknown terms {[item]}; the terms are {list(terms)} and the coefficient "
                    f"labels {names}; or write a hypothesis such as '{names[-1]} = 0'."
                ) from None
            rows.append(r)
            q.append(k)
            continue
        for i in found:
            r = np.zeros(len(labels))
            r[i] = 1.0
            rows.append(r)
            q.append(0.0)
    if not rows:
        raise HypothesisError("nothing to test: give terms, coefficient labels or hypotheses.")
    return np.array(rows), np.array(q)


__all__ = ["HypothesisError", "hypothesis_label", "parse_hypothesis", "parse_hypotheses",
           "model_terms", "term_positions", "restriction", "INTERCEPT_TERM"]
