"""Random-effects terms in lme4's syntax: ``y ~ x + (1 + x | school) + (1 | item)``.

:func:`split_bars` splits a right-hand side into the fixed part and its bar
terms; :func:`random_effects_design` builds, on a data frame, what lme4's
``mkReTrms`` builds: per term the grouping factor's levels and the model matrix
of the term's left side, and from them the sparse random-effects matrix ``Z``.

Syntax (as lme4's ``findbars`` / ``expandDoubleVerts`` / ``expandSlash``):

* ``(1 | g)`` random intercept; ``(1 + x | g)`` and ``(x | g)`` (intercept
  implied) correlated intercept and slope; ``(0 + x | g)`` slope only;
* ``(1 + x || g)`` uncorrelated: one term per left-side term, the intercept
  dropped from the others: ``(1 | g) + (0 + x | g)``;
* ``(1 | a/b)`` nested: ``(1 | a) + (1 | b:a)`` (lme4 names the inner term
  ``b:a``); ``a:b`` groups by the interaction (its levels ``"la:lb"``, the first
  factor varying slowest, unused combinations dropped, as R's ``factor(a:b)``);
* crossed: several terms, ``(1 | s) + (1 | i)``.

Layout of ``Z`` (n × q, ``q = Σ_t n_t k_t``; scipy CSC), as lme4's
``getME(fit, "Z")``: terms ordered by decreasing number of levels (lme4's
``rev(order(nl))`` when any term has more levels than the one before it);
within a term, level by level, and within a level the term's ``k_t`` columns:
``Z[i, off_t + c_i k_t + a] = X_t[i, a]`` for row ``i`` in level ``c_i``.

Levels of a grouping column: its categories when it is categorical (those that
occur, in the categorical's order), else its distinct values sorted (numbers
numerically, text by code point, which may differ from R's locale order for
mixed-case text).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .formula import (FormulaError, QUOTED_NAME, formula_context, parse_rhs, python_value,
                      split_top_level)

__all__ = ["BarTerm", "RandomTerm", "RandomEffectsDesign", "split_bars", "expand_bars",
           "random_effects_design", "bar_variables"]


@dataclass(frozen=True)
class BarTerm:
    """One bar term as written: ``(lhs | group)``; ``uncorrelated`` for ``||``."""
    lhs: str
    group: str
    uncorrelated: bool = False

    def __str__(self):
        return f"({self.lhs} {'||' if self.uncorrelated else '|'} {self.group})"


@dataclass
class RandomTerm:
    """One random-effects term on the data.

    group : the grouping factor as lme4 names it (``"herd"``, ``"BROOD:LOCATION"``)
    columns : the left side's columns, lme4's names (``"(Intercept)"``, ``"x"``), k of them
    levels : the n_levels level labels (text)
    codes : (n,) int, each row's level index
    matrix : (n, k) float, the left side's model matrix X_t
    lhs : the left side as formula text; ``spec`` its formulaic ModelSpec
    """
    group: str
    columns: list
    levels: list
    codes: np.ndarray
    matrix: np.ndarray
    lhs: str
    factors: tuple = ()
    spec: object = field(default=None, repr=False)

    @property
    def n_levels(self) -> int:
        return len(self.levels)

    @property
    def n_columns(self) -> int:
        return len(self.columns)


@dataclass
class RandomEffectsDesign:
    """The random-effects terms of a formula on a data frame, in lme4's order.

    fixed : the fixed part of the right-hand side (formula text)
    terms : the :class:`RandomTerm` s, ordered as lme4 orders them
    Z : (n, q) scipy.sparse CSC, the random-effects model matrix
    """
    fixed: str
    terms: list
    Z: sp.csc_matrix

    @property
    def n_levels(self) -> np.ndarray:
        return np.array([t.n_levels for t in self.terms], dtype=np.int64)

    @property
    def n_columns(self) -> np.ndarray:
        return np.array([t.n_columns for t in self.terms], dtype=np.int64)

    @property
    def Z_colnames(self) -> list:
        """Column names of Z as lme4's ``colnames(getME(fit, "Z"))``: the level label."""
        return [lev for t in self.terms for lev in t.levels for _ in t.columns]

    @property
    def theta_names(self) -> list:
        """θ's names as lme4's ``names(getME(fit, "theta"))``: per term the lower
        triangle column by column, ``"g.x"`` on the diagonal, ``"g.x.(Intercept)"`` below."""
        out = []
        for t in self.terms:
            for j, cj in enumerate(t.columns):
                out.append(f"{t.group}.{cj}")
                out += [f"{t.group}.{ci}.{cj}" for ci in t.columns[j + 1:]]
        return out

    def term_matrices(self, data: pd.DataFrame) -> list:
        """Each term's left-side model matrix (n, k_t) on new data (for the
        marginal predictions, which do not depend on the levels)."""
        return [_lhs_matrix(t.spec, data) for t in self.terms]

    def unseen_levels(self, data: pd.DataFrame) -> dict:
        """Per grouping factor, the levels of new data not seen in fitting
        (in order of first appearance); factors without such levels are left out."""
        out = {}
        for t in self.terms:
            codes = _codes_of(data, t.factors, t.levels)
            if np.any(codes < 0):
                labels = _row_labels(data, t.factors)[codes < 0]
                out[t.group] = list(dict.fromkeys(labels.tolist()))
        return out

    def transform(self, data: pd.DataFrame) -> sp.csc_matrix:
        """Z of new data: the stored terms' left sides and levels; rows in a level
        not seen in fitting get zeros (their random effects are 0, as lme4's
        ``predict(..., allow.new.levels = TRUE)``)."""
        blocks = []
        for t in self.terms:
            mm = _lhs_matrix(t.spec, data)
            codes = _codes_of(data, t.factors, t.levels)
            blocks.append(_term_block(codes, mm, t.n_levels))
        return sp.hstack(blocks, format="csc")


# ------------------------------------------------------------------ parsing
def _strip_parens(text: str) -> str | None:
    """The inside of ``text`` when the whole of it is one parenthesized group."""
    text = text.strip()
    if not (text.startswith("(") and text.endswith(")")):
        return None
    depth = 0
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and i < len(text) - 1:
            return None
    return text[1:-1]


def _top_level_bar(inner: str) -> tuple[int, int] | None:
    """Position and width (1 or 2) of the top-level ``|`` / ``||`` of a bar term."""
    depth, quote = 0, None
    for i, ch in enumerate(inner):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"`":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "|" and depth == 0:
            return i, 2 if inner[i + 1:i + 2] == "|" else 1
    return None


def _bar_term(part: str) -> BarTerm | None:
    """The bar term ``part`` is, or None when it is a fixed term."""
    inner = _strip_parens(part)
    while inner is not None and _top_level_bar(inner) is None and _strip_parens(inner):
        inner = _strip_parens(inner)
    bar = _top_level_bar(inner) if inner is not None else None
    if bar is None:
        return None
    pos, width = bar
    lhs, group = inner[:pos].strip(), inner[pos + width:].strip()
    if not lhs or not group or "|" in group:
        raise FormulaError(f"the random-effects term {part.strip()!r} must read "
                           "'(terms | group)', e.g. '(1 | school)' or '(1 + x | school)'.")
    return BarTerm(lhs, group, width == 2)


def split_bars(rhs: str) -> tuple[str, list]:
    """``"x + (1 | g) + (0 + x | g)"`` -> ``("x", [BarTerm("1", "g"), BarTerm("0 + x", "g")])``.

    The fixed part is ``"1"`` when only bar terms are given (lme4's implied
    intercept). A ``|`` anywhere else is a :class:`FormulaError`."""
    fixed, bars = [], []
    for part in split_top_level(rhs, "+"):
        bar = _bar_term(part) if part else None
        if bar is not None:
            bars.append(bar)
        elif "|" in QUOTED_NAME.sub("", part):
            raise FormulaError(f"the term {part!r} has a '|' outside a random-effects term; "
                               "write random effects in parentheses, e.g. '(1 | school)', "
                               "joined to the other terms by '+'.")
        elif part:
            fixed.append(part)
        else:
            raise FormulaError(f"the formula terms {rhs!r} have an empty term (two '+' in a "
                               "row, or a '+' at an end).")
    return " + ".join(fixed) if fixed else "1", bars


def _group_factors(group: str) -> list:
    """``"a:b"`` -> ``["a", "b"]`` (backticks removed)."""
    names = [g.strip() for g in split_top_level(group, ":")]
    if not all(names):
        raise FormulaError(f"the grouping factor {group!r} has an empty name.")
    return [n[1:-1] if n.startswith("`") and n.endswith("`") else n for n in names]


def expand_bars(bars) -> list:
    """lme4's ``expandDoubleVerts`` and ``expandSlash``: ``(1 + x || g)`` ->
    ``(1 | g), (0 + x | g)``; ``(1 | a/b)`` -> ``(1 | a), (1 | b:a)``. Every
    returned term has ``uncorrelated=False`` and a group without ``/``."""
    out = []
    for bar in bars:
        parts = [p.strip() for p in split_top_level(bar.group, "/")]
        if not all(parts):
            raise FormulaError(f"the grouping {bar.group!r} of {bar} has an empty part.")
        # lme4 names the nested term of (1 | a/b) "b:a" (its levels: b varying slowest)
        groups = [":".join(reversed(parts[:i + 1])) for i in range(len(parts))]
        lhs_list = [bar.lhs]
        if bar.uncorrelated:
            parsed = parse_rhs(bar.lhs)
            names = [str(t) for t in parsed if str(t) != "1"]
            has_intercept = any(str(t) == "1" for t in parsed)
            lhs_list = (["1"] if has_intercept else []) + [f"0 + {n}" for n in names]
        out += [BarTerm(lhs, g) for g in groups for lhs in lhs_list]
    return out


def bar_variables(rhs: str, columns) -> tuple[str, list, list]:
    """``(fixed part, bar terms, data columns the bar terms use)`` of a right-hand
    side: the left sides' variables and the grouping factors, in data order. A
    grouping factor that is not a column is a :class:`FormulaError`."""
    from .formula import formula_variables

    fixed, bars = split_bars(rhs)
    needed = set()
    for bar in expand_bars(bars):
        factors = _group_factors(bar.group)
        missing = [f for f in factors if f not in set(map(str, columns))]
        if missing:
            raise FormulaError(f"the grouping factor {missing[0]!r} of {bar} is not a column of "
                               f"the data; its columns are "
                               f"{', '.join(map(repr, map(str, columns)))}.")
        lhs_names = formula_variables(parse_rhs(bar.lhs), columns)
        unknown = sorted(lhs_names - set(map(str, columns)))
        if unknown:
            raise FormulaError(f"the random-effects term {bar} uses {unknown[0]!r}, which is not "
                               f"a column of the data; its columns are "
                               f"{', '.join(map(repr, map(str, columns)))}.")
        needed |= set(factors) | lhs_names
    return fixed, bars, [c for c in columns if str(c) in needed]


# ----------------------------------------------------------------- building
def _level_label(value) -> str:
    value = python_value(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _column_levels(values: pd.Series, name: str) -> tuple[np.ndarray, list]:
    """(codes, level values) of one grouping column; NaN is an error naming the row."""
    missing = pd.isna(values).to_numpy()
    if missing.any():
        row = values.index[int(np.argmax(missing))]
        raise ValueError(f"the grouping column {name!r} has a missing value in row {row!r} "
                         f"({int(missing.sum())} missing in all); drop those rows or give "
                         "them a level.")
    if isinstance(values.dtype, pd.CategoricalDtype):
        cat = values.cat.remove_unused_categories()
        return cat.cat.codes.to_numpy(np.int64), list(cat.cat.categories)
    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.int64), list(uniques)


def _interaction_codes(data: pd.DataFrame, factors) -> tuple[np.ndarray, list]:
    """Codes and labels of the interaction of the grouping columns (the first
    varying slowest), unused combinations dropped."""
    codes, labels = np.zeros(len(data), dtype=np.int64), [""]
    for name in factors:
        c, levels = _column_levels(data[name], name)
        codes = codes * len(levels) + c
        labels = [f"{a}:{_level_label(b)}" if a else _level_label(b)
                  for a in labels for b in levels]
    used, codes = np.unique(codes, return_inverse=True)
    return codes.astype(np.int64), [labels[i] for i in used]


def _row_labels(data: pd.DataFrame, factors) -> np.ndarray:
    """Each row's level label of the grouping (``"a:b"`` for an interaction)."""
    _check_columns(data, factors)
    labels = None
    for name in factors:
        part = data[name].map(_level_label).astype(str).to_numpy()
        labels = part if labels is None else np.char.add(np.char.add(labels, ":"), part)
    return labels


def _codes_of(data: pd.DataFrame, factors, levels) -> np.ndarray:
    """Level index of each row of new data; -1 for combinations not in ``levels``."""
    labels = _row_labels(data, factors)
    index = {lev: i for i, lev in enumerate(levels)}
    return np.array([index.get(lab, -1) for lab in labels], dtype=np.int64)


def _check_columns(data: pd.DataFrame, factors) -> None:
    missing = [f for f in factors if f not in data.columns]
    if missing:
        raise FormulaError(f"the grouping factor {missing[0]!r} is not a column of the data; "
                           f"its columns are {', '.join(map(repr, map(str, data.columns)))}.")


def _lhs_model_matrix(lhs: str, data: pd.DataFrame, bar: BarTerm):
    """(matrix (n, k), lme4 column names, ModelSpec) of a bar term's left side."""
    from formulaic import model_matrix

    parse_rhs(lhs)
    try:
        mm = model_matrix(lhs, data.reset_index(drop=True), context=formula_context(),
                          na_action="raise", ensure_full_rank=True, output="pandas")
    except Exception as err:  # formulaic's errors have many types
        text = str(err).strip().splitlines()
        raise FormulaError(f"cannot encode the left side of the random-effects term {bar}: "
                           f"{text[0] if text else type(err).__name__}") from None
    columns = ["(Intercept)" if c == "Intercept" else str(c) for c in mm.columns]
    if not columns:
        raise FormulaError(f"the random-effects term {bar} has no column; write e.g. "
                           "'(1 | g)' for a random intercept.")
    return mm.to_numpy(np.float64), columns, mm.model_spec


def _lhs_matrix(spec, data: pd.DataFrame) -> np.ndarray:
    return spec.get_model_matrix(data.reset_index(drop=True), context=formula_context(),
                                 output="pandas").to_numpy(np.float64)


def _term_block(codes: np.ndarray, matrix: np.ndarray, n_levels: int) -> sp.csc_matrix:
    """Z_t (n × n_levels k): ``Z_t[i, c_i k + a] = X_t[i, a]``; rows with code -1 are 0."""
    n, k = matrix.shape
    keep = codes >= 0
    rows = np.repeat(np.arange(n)[keep], k)
    cols = (codes[keep, None] * k + np.arange(k)).ravel()
    return sp.csc_matrix((matrix[keep].ravel(), (rows, cols)), shape=(n, n_levels * k))


def _build_term(bar: BarTerm, data: pd.DataFrame) -> RandomTerm:
    factors = _group_factors(bar.group)
    _check_columns(data, factors)
    codes, levels = _interaction_codes(data, factors)
    if len(levels) < 2:
        raise ValueError(f"the grouping factor {bar.group!r} of {bar} has "
                         f"{len(levels)} level; a random effect needs at least 2 levels "
                         "(drop the term or group by another column).")
    matrix, columns, spec = _lhs_model_matrix(bar.lhs, data, bar)
    return RandomTerm(group=":".join(factors), columns=columns, levels=levels, codes=codes,
                      matrix=matrix, lhs=bar.lhs, factors=tuple(factors), spec=spec)


def lme4_term_order(n_levels) -> np.ndarray:
    """The order lme4's ``mkReTrms`` puts terms in: ``rev(order(nl))`` when any
    term has more levels than the one before it, else as written."""
    n_levels = np.asarray(n_levels)
    if len(n_levels) > 1 and np.any(np.diff(n_levels) > 0):
        return np.argsort(n_levels, kind="stable")[::-1]
    return np.arange(len(n_levels))


def random_effects_design(rhs: str, data: pd.DataFrame) -> RandomEffectsDesign:
    """The fixed part of ``rhs`` and its random-effects terms built on ``data``
    (see the module docstring). Raises :class:`FormulaError` for a formula
    without bar terms, bad syntax or a grouping factor that is not a column,
    ``ValueError`` for a grouping factor with one level or a missing value."""
    fixed, bars = split_bars(rhs)
    if not bars:
        raise FormulaError(f"the formula terms {rhs!r} have no random-effects term; a mixed "
                           "model needs one like '(1 | group)'.")
    terms = [_build_term(b, data) for b in expand_bars(bars)]
    terms = [terms[i] for i in lme4_term_order([t.n_levels for t in terms])]
    Z = sp.hstack([_term_block(t.codes, t.matrix, t.n_levels) for t in terms], format="csc")
    return RandomEffectsDesign(fixed=fixed, terms=terms, Z=Z)
