"""Model formulas: ``logitlab.fit("low ~ age + lwt + C(race) + smoke", data)``.

Formulas are R / Wilkinson formulas, parsed and encoded by `formulaic
<https://matthewwardrop.github.io/formulaic/>`_ (the same column names:
``C(race)[T.2]``, ``age:smoke``, ``np.log(lwt)``):

* ``a + b`` main effects, ``a:b`` interaction, ``a*b`` = ``a + b + a:b``,
  ``(a + b + c)**2`` all two-way interactions, ``- b`` removes a term;
* ``y ~ 1`` intercept only; ``y ~ 0 + ...`` or ``y ~ ... - 1`` no intercept;
* ``y ~ .`` every other column of the data (expanded by logitlab, see
  :func:`expand_dot`); ``y ~ . - bwt`` all but ``bwt``; ``(.)**2`` works too;
* text, categorical and ``C(x)`` columns are dummy (treatment) coded against
  their first level; ``C(x, contr.treatment("b"))`` (or patsy's
  ``C(x, Treatment("b"))``) makes level ``"b"`` the reference;
  ``C(x, levels=["b", "a", "c"])`` sets the order, the first being the
  reference; ``C(x, contr.sum)`` etc. give other contrasts;
* transforms: ``np.log(x)`` (and the numpy functions in :data:`NUMPY_FUNCTIONS`),
  ``I(x**2)`` for arithmetic, ``center(x)``, ``scale(x)``, ``standardize(x)``,
  ``poly(x, 2)``, splines ``bs``, ``cr``, ``cs``, ``cc`` (their state — means,
  knots — is learned on the fitting data and stored);
* names that are not Python identifiers go in backticks: ```sepal length (cm)```.

A formula may call only the functions above (:data:`FORMULA_FUNCTIONS`, the
numpy functions and ``contr.*``): a model file holds its formula as text, and
this keeps loading and predicting from executing anything else.

The intercept is not a design column: the estimator's ``fit_intercept`` carries
it, so penalties never touch it, and ``Design.columns`` lists the other
columns. Predicting on a raw data frame re-encodes it with the stored
:class:`Design`; categorical levels not seen in fitting raise a ``ValueError``
naming the column and levels, unless ``unseen="reference"`` maps them to the
factor's reference level.
"""

from __future__ import annotations

import ast
import builtins
import re
import warnings

import numpy as np
from ..core.lazy import pandas as pd

from ..core.userwarn import warn
from .io import (check_number_columns, describe_missing, missing_counts, missing_texts,  # noqa: F401
                 nan_rows, option, read_table)

#: formulaic transforms a formula may call (besides numpy functions and contr.*)
FORMULA_FUNCTIONS = frozenset({
    "C", "factor", "I", "Q", "center", "scale", "standardize", "poly", "bs", "cs", "cc", "cr",
    "log", "log10", "log2", "exp", "exp10", "exp2",
    "Treatment", "Sum", "Helmert", "Diff", "Poly",
})
#: ``np.<name>`` / ``numpy.<name>`` a formula may use (elementwise functions, constants)
NUMPY_FUNCTIONS = frozenset({
    "log", "log1p", "log2", "log10", "exp", "expm1", "exp2", "sqrt", "cbrt", "square",
    "abs", "absolute", "fabs", "sign", "power", "float_power", "reciprocal", "floor", "ceil",
    "trunc", "rint", "round", "clip", "minimum", "maximum", "fmin", "fmax", "where", "isnan",
    "isfinite", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "arctan2", "sinh", "cosh",
    "tanh", "arcsinh", "arccosh", "arctanh", "logaddexp", "hypot", "mod", "fmod",
    "logical_and", "logical_or", "logical_not", "logical_xor", "pi", "e",
})
#: ``contr.<name>`` contrasts
CONTRASTS = frozenset({"treatment", "sum", "helmert", "diff", "poly", "custom", "SAS"})
UNSEEN_OPTIONS = ("raise", "reference")

_ALLOWED_NODES = (
    ast.Expression, ast.Call, ast.Name, ast.Attribute, ast.Constant, ast.BinOp, ast.UnaryOp,
    ast.Compare, ast.BoolOp, ast.List, ast.Tuple, ast.keyword, ast.Load,
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.BitAnd,
    ast.BitOr, ast.BitXor, ast.UAdd, ast.USub, ast.Not, ast.Invert, ast.Eq, ast.NotEq,
    ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.And, ast.Or,
)
_NAMESPACES = {"np": NUMPY_FUNCTIONS, "numpy": NUMPY_FUNCTIONS, "contr": CONTRASTS}
_QUOTED = re.compile(r"`([^`]*)`")
_PLACEHOLDER = "_logitlab_quoted_{}_"
#: a backticked name in formula text, and the identifier that stands for the n-th one
QUOTED_NAME, PLACEHOLDER = _QUOTED, _PLACEHOLDER


def formula_context():
    """Names formula terms see besides the data and formulaic's transforms:
    numpy, R's ``factor`` (formulaic's ``C``: treatment contrasts against the
    first level, ``levels=`` to order them), and every Python builtin shadowed by
    None (defence in depth: the expression check already refuses calls to them)."""
    shadow = {name: None for name in dir(builtins) if not name.startswith("_")}
    from formulaic.transforms import C
    return {**shadow, "np": np, "numpy": np, "factor": C}


class FormulaError(ValueError):
    """A formula that cannot be used (syntax, unknown column, disallowed call)."""


# ------------------------------------------------------------- formula text
def split_formula(formula: str) -> tuple[str, str]:
    """``"y ~ a + b"`` -> ``("y", "a + b")``: the response name and the right side."""
    if not isinstance(formula, str):
        raise TypeError(f"formula must be a string like 'y ~ x1 + x2'; got "
                        f"{type(formula).__name__}.")
    quote = None
    for i, ch in enumerate(formula):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"`":
            quote = ch
        elif ch == "~":
            lhs, rhs = formula[:i].strip(), formula[i + 1:].strip()
            break
    else:
        raise FormulaError(f"the formula {formula!r} has no '~'; write it as "
                           "'response ~ terms', e.g. 'low ~ age + smoke'.")
    if not lhs:
        raise FormulaError(f"the formula {formula!r} has no response left of '~'; write "
                           "it as 'response ~ terms'.")
    if not rhs:
        raise FormulaError(f"the formula {formula!r} has nothing right of '~'; use "
                           "'y ~ 1' for an intercept-only model.")
    if lhs.startswith("`") and lhs.endswith("`") and lhs.count("`") == 2:
        lhs = lhs[1:-1]
    return lhs, rhs


def quote_name(name: str) -> str:
    """A column name as a formula term (in backticks)."""
    name = str(name)
    if "`" in name:
        raise FormulaError(f"the column name {name!r} contains a backtick, which formulas "
                           "cannot quote; rename the column.")
    return f"`{name}`"


def _dot_positions(rhs: str) -> list[int]:
    """Positions of the ``.`` meaning 'all other columns' (outside quotes, not
    part of a name like ``np.log`` or a number like ``.5``)."""
    out, quote = [], None
    for i, ch in enumerate(rhs):
        if quote:
            quote = None if ch == quote else quote
            continue
        if ch in "'\"`":
            quote = ch
        elif ch == ".":
            before = rhs[:i].rstrip()
            after = rhs[i + 1:].lstrip()
            prev = before[-1] if before else ""
            nxt = after[0] if after else ""
            if (not prev or prev in "+-*:/(~^|,") and (not nxt or nxt in "+-*:/)^|,"):
                out.append(i)
    return out


def expand_dot(rhs: str, columns) -> str:
    """Replace the ``.`` term of a right-hand side by ``(`c1` + `c2` + ...)``.

    ``columns`` are the columns ``.`` stands for: :func:`fit` passes every column
    of the data except the response and the columns named by ``sample_weight``
    and ``offset`` (unlike R, where weights named in the data would be included).
    """
    positions = _dot_positions(rhs)
    if not positions:
        return rhs
    columns = [str(c) for c in columns]
    if not columns:
        raise FormulaError("'.' stands for all other columns, but the data have no other "
                           "columns.")
    expansion = "(" + " + ".join(quote_name(c) for c in columns) + ")"
    for i in reversed(positions):
        rhs = rhs[:i] + expansion + rhs[i + 1:]
    return rhs


def _dotted(node) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return f"{node.value.id}.{node.attr}"
    return None


def check_expression(expr: str) -> None:
    """Raise :class:`FormulaError` unless the Python expression of a formula
    term only uses names, constants, arithmetic and the allowed functions."""
    code = _QUOTED.sub(_PLACEHOLDER.format(0), expr)
    try:
        tree = ast.parse(code.strip(), mode="eval")
    except SyntaxError:
        raise FormulaError(f"cannot parse the formula term {expr!r}.") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise FormulaError(f"the formula term {expr!r} uses {type(node).__name__}, which "
                               "formulas may not contain (allowed: names, numbers, strings, "
                               "arithmetic, comparisons and the listed functions).")
        if isinstance(node, ast.Call):
            name = _dotted(node.func)
            allowed = (name in FORMULA_FUNCTIONS if name and "." not in name
                       else name is not None and name.split(".")[0] in _NAMESPACES
                       and name.split(".")[1] in _NAMESPACES[name.split(".")[0]])
            if not allowed:
                raise FormulaError(
                    f"the formula term {expr!r} calls {name or 'an expression'}(), which "
                    "logitlab formulas do not allow; they may call "
                    f"{', '.join(sorted(FORMULA_FUNCTIONS))}, contr.*, and the numpy "
                    "functions listed in logitlab.data.formula.NUMPY_FUNCTIONS as np.<name>.")
            if any(k.arg is None for k in node.keywords):
                raise FormulaError(f"the formula term {expr!r} uses **kwargs, which formulas "
                                   "may not contain.")
        elif isinstance(node, ast.Attribute):
            ns = node.value.id if isinstance(node.value, ast.Name) else None
            if ns not in _NAMESPACES or node.attr not in _NAMESPACES[ns]:
                raise FormulaError(f"the formula term {expr!r} uses the attribute "
                                   f"{ast.unparse(node)}, which formulas may not contain "
                                   "(only np.<function> and contr.<contrast>).")
        elif isinstance(node, ast.Name) and node.id.startswith("_") \
                and not node.id.startswith("_logitlab_quoted_"):
            raise FormulaError(f"the formula term {expr!r} uses the name {node.id!r}; names "
                               "starting with '_' are not allowed (quote column names in "
                               "backticks).")
        elif isinstance(node, ast.Constant) and not isinstance(
                node.value, (int, float, str, bool, type(None))):
            raise FormulaError(f"the formula term {expr!r} holds a constant of type "
                               f"{type(node.value).__name__}, which formulas may not contain.")


def parse_rhs(rhs: str):
    """Parse a right-hand side with formulaic and check every term; returns the
    ``formulaic.Formula``."""
    from formulaic import Formula, SimpleFormula
    from formulaic.parser.types import Factor

    try:
        parsed = Formula(rhs)
    except Exception as err:  # formulaic's parser errors have many types
        raise FormulaError(f"cannot parse the formula terms {rhs!r}: "
                           f"{str(err).strip().splitlines()[0]}") from None
    if not isinstance(parsed, SimpleFormula):
        raise FormulaError(f"the formula terms {rhs!r} have more than one part ('|' or '~'); "
                           "logitlab fits one response on one set of terms.")
    for term in parsed:
        for factor in term.factors:
            if factor.eval_method is Factor.EvalMethod.PYTHON:
                check_expression(factor.expr)
    return parsed


def formula_variables(parsed, columns) -> set[str]:
    """The data columns (and unknown names) the terms of ``parsed`` use.

    A looked-up term (``age``, ```a b```, ``Sepal.Length``) uses the column of
    that name; a Python term uses its names that are not function calls, plus
    backticked names and ``Q("name")`` arguments. Names of formulaic transforms
    and ``np``/``numpy``/``contr`` count only when the data have such a column.
    """
    columns = set(map(str, columns))
    return {name for term in parsed for factor in term.factors
            for name in _factor_names(factor, columns)}


def _factor_names(factor, columns: set) -> set[str]:
    """The names one factor of a parsed formula uses (see :func:`formula_variables`)."""
    from formulaic.parser.types import Factor

    if factor.eval_method is Factor.EvalMethod.LOOKUP:
        return {factor.expr}
    if factor.eval_method is not Factor.EvalMethod.PYTHON:
        return set()
    builtin = FORMULA_FUNCTIONS | set(_NAMESPACES)
    quoted, out = {}, set()

    def sub(m):
        key = _PLACEHOLDER.format(len(quoted))
        quoted[key] = m.group(1)
        return key
    tree = ast.parse(_QUOTED.sub(sub, factor.expr).strip(), mode="eval")
    funcs = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and id(node) not in funcs:
            name = quoted.get(node.id, node.id)
            if name in columns or name not in builtin:
                out.add(name)
        elif isinstance(node, ast.Call) and _dotted(node.func) == "Q" and \
                node.args and isinstance(node.args[0], ast.Constant):
            out.add(str(node.args[0].value))
    return out


def column_uses(parsed, columns) -> tuple[set[str], set[str]]:
    """``(as_is, categorical)``: the data columns the terms use as they are
    (``x``, ``np.log(x)``, ``x:z``), and those used only inside ``C(...)``, i.e.
    made categorical on purpose."""
    from formulaic.parser.types import Factor

    columns = set(map(str, columns))
    as_is, categorical = set(), set()
    for term in parsed:
        for factor in term.factors:
            lookup = factor.eval_method is Factor.EvalMethod.LOOKUP
            wrapped = None if lookup else factor_column(factor.expr, False)
            if wrapped is not None:
                categorical.add(wrapped)
            else:
                as_is |= _factor_names(factor, columns)
    return as_is & columns, (categorical - as_is) & columns


# -------------------------------------------------------------------- Design
def python_value(value):
    return value.item() if isinstance(value, np.generic) else value


def sorted_levels(values):
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=repr)


def factor_column(expr: str, lookup: bool) -> str | None:
    """The raw column a categorical factor encodes: ``g`` for ``g`` and for
    ``C(g, ...)`` or ``factor(g, ...)`` (also with backticks); None for anything
    more complex."""
    if lookup:
        return expr
    quoted = {}

    def sub(m):
        key = _PLACEHOLDER.format(len(quoted))
        quoted[key] = m.group(1)
        return key
    try:
        tree = ast.parse(_QUOTED.sub(sub, expr).strip(), mode="eval").body
    except SyntaxError:
        return None
    if isinstance(tree, ast.Call) and _dotted(tree.func) in ("C", "factor") and tree.args \
            and isinstance(tree.args[0], ast.Name):
        return quoted.get(tree.args[0].id, tree.args[0].id)
    return None


def describe_spec(spec, parsed) -> tuple[list, dict, bool, dict]:
    """``(columns, terms, intercept, factors)`` of a formulaic model spec: the
    design's column names, each term's columns, whether it has an intercept, and
    per factor expression its kind with, for a categorical one, its levels, its
    reference level and the raw column it encodes. ``parsed``: the terms of
    :func:`parse_rhs` for the same right side."""
    from formulaic.parser.types import Factor
    columns, terms, intercept = [], {}, False
    for st in spec.structure:
        if str(st.term) == "1":
            intercept = True
            continue
        terms[str(st.term)] = list(st.columns)
        columns += list(st.columns)
    lookups = {f.expr for t in parsed for f in t.factors
               if f.eval_method is Factor.EvalMethod.LOOKUP}
    factors = {}
    for expr, (kind, state) in spec.encoder_state.items():
        entry = {"kind": kind.value}
        if kind is Factor.Kind.CATEGORICAL:
            levels = [python_value(v) for v in state["categories"]]
            entry.update(levels=levels, reference=_reference_level(state, levels),
                         column=factor_column(expr, expr in lookups))
        factors[expr] = entry
    return columns, terms, intercept, factors


class Design:
    """The fitted encoding of a formula: raw data frame -> numeric design.

    Attributes
    ----------
    formula : the formula as fitted (``.`` expanded), e.g. ``"low ~ age + C(race)"``
    response : name of the response column
    rhs : the right-hand side given to formulaic
    intercept : bool, whether the formula has an intercept (carried by the
        estimator's ``fit_intercept``, not by a column)
    columns : list of design column names as formulaic names them
        (``C(race)[T.2]``), the intercept excluded
    terms : dict term -> its columns (intercept excluded)
    variables : the raw data columns the right-hand side uses
    levels : dict categorical factor (``"C(race)"``) -> its levels, in order
    references : dict categorical factor -> its reference (baseline) level
    unseen : "raise" (default) or "reference": what :meth:`transform` does with
        categorical levels not seen in fitting
    n_rows, n_dropped : rows of the fitting data, and how many of them were
        dropped for missing values
    model_spec : the formulaic ``ModelSpec`` that encodes new data
    """

    def __init__(self, *, formula, response, rhs, intercept, columns, terms, variables,
                 factors, transform_state, model_spec, unseen="raise", n_rows=None,
                 n_dropped=0):
        if unseen not in UNSEEN_OPTIONS:
            raise ValueError(f"unseen must be 'raise' or 'reference'; got {unseen!r}.")
        self.formula = formula
        self.response = response
        self.rhs = rhs
        self.intercept = bool(intercept)
        self.columns = list(columns)
        self.terms = dict(terms)
        self.variables = list(variables)
        self.factors = factors                    # expr -> {kind, levels, reference, column}
        self.transform_state = transform_state
        self.model_spec = model_spec
        self.unseen = unseen
        self.n_rows = n_rows
        self.n_dropped = n_dropped

    # -------------------------------------------------------------- views
    @property
    def levels(self) -> dict:
        return {e: list(f["levels"]) for e, f in self.factors.items() if f["kind"] == "categorical"}

    @property
    def references(self) -> dict:
        return {e: f["reference"] for e, f in self.factors.items() if f["kind"] == "categorical"}

    def __repr__(self):
        return (f"Design({self.formula!r}, intercept={self.intercept}, "
                f"columns={self.columns!r})")

    # --------------------------------------------------------------- build
    @classmethod
    def build(cls, rhs: str, data: pd.DataFrame, *, response: str, unseen: str = "raise",
              n_rows=None, n_dropped=0) -> tuple[Design, pd.DataFrame]:
        """Materialize the right-hand side ``rhs`` (formula text, ``.`` already
        expanded) on ``data``; returns the design and the numeric design matrix
        of ``data`` (a DataFrame, intercept excluded)."""
        from formulaic import model_matrix

        parsed = parse_rhs(rhs)
        try:
            mm = model_matrix(rhs, data.reset_index(drop=True), context=formula_context(),
                              na_action="ignore", ensure_full_rank=True, output="pandas")
        except Exception as err:
            raise FormulaError(f"cannot encode the formula terms {rhs!r}: "
                               f"{_first_sentence(err)}") from None
        spec = mm.model_spec
        columns, terms, intercept, factors = describe_spec(spec, parsed)
        if not columns and not intercept:
            raise FormulaError(f"the formula terms {rhs!r} leave no column and no intercept; "
                               "a model needs at least one of them.")
        needed = formula_variables(parsed, data.columns)
        variables = [c for c in data.columns if str(c) in needed]
        design = cls(formula=f"{quote_response(response)} ~ {rhs}", response=response,
                     rhs=rhs, intercept=intercept, columns=columns, terms=terms,
                     variables=variables, factors=factors,
                     transform_state=spec.transform_state, model_spec=spec, unseen=unseen,
                     n_rows=n_rows, n_dropped=n_dropped)
        return design, design._numeric(mm, data.index)

    def _numeric(self, mm, index) -> pd.DataFrame:
        got = [c for c in mm.columns if c != "Intercept" or "Intercept" in self.columns]
        if got != self.columns:
            raise ValueError(f"the data encode to the columns {got} but the model was fitted "
                             f"on {self.columns}; the data do not match the formula "
                             f"{self.formula!r}.")
        values = mm[self.columns].to_numpy(dtype=np.float64) if self.columns else \
            np.empty((len(mm), 0))
        return pd.DataFrame(values, columns=self.columns, index=index)

    # ----------------------------------------------------------- transform
    def _unseen_levels(self, df: pd.DataFrame) -> dict:
        """column -> (factor, sorted unseen values) for categorical columns."""
        out = {}
        for expr, f in self.factors.items():
            col = f.get("column")
            if f["kind"] != "categorical" or col is None or col not in df.columns:
                continue
            known = set(f["levels"])
            values = pd.unique(df[col].dropna())
            new = [python_value(v) for v in values if python_value(v) not in known]
            if new:
                out.setdefault(col, []).append((expr, sorted_levels(set(new))))
        return out

    def _map_unseen(self, df: pd.DataFrame, unseen_by_col: dict) -> pd.DataFrame:
        df = df.copy()
        for col, entries in unseen_by_col.items():
            refs = {repr(self.factors[expr]["reference"]) for expr, _ in entries}
            if len(refs) > 1:
                raise ValueError(f"column {col!r} is used by factors with different reference "
                                 f"levels ({', '.join(sorted(refs))}), so its unseen levels "
                                 "cannot be mapped to one reference level; drop those rows.")
            ref = self.factors[entries[0][0]]["reference"]
            values = df[col].astype(object)
            new = set(entries[0][1])
            mask = values.map(lambda v: python_value(v) in new).to_numpy(dtype=bool)
            values[mask] = ref
            df[col] = values
        return df

    def transform(self, data, unseen: str | None = None) -> pd.DataFrame:
        """Encode raw data with the fitted formula.

        data : anything :func:`logitlab.read_table` reads, with the raw columns in
            :attr:`variables` (the response is not needed).
        unseen : "raise" or "reference" (default :attr:`unseen`): categorical
            levels not seen in fitting raise a ``ValueError``, or are replaced
            by the factor's reference level (only for factors that encode a
            column directly, ``g`` or ``C(g, ...)``).

        Returns a float DataFrame with exactly :attr:`columns`, one row per input
        row (same index). Missing values in the used columns are an error.
        """
        unseen = self.unseen if unseen is None else unseen
        if unseen not in UNSEEN_OPTIONS:
            raise ValueError(f"unseen must be 'raise' or 'reference'; got {unseen!r}.")
        df = read_table(data)
        absent = [v for v in self.variables if v not in df.columns]
        if absent and [str(c) for c in df.columns] == self.columns:
            return pd.DataFrame(df.to_numpy(dtype=np.float64), columns=self.columns,
                                index=df.index)      # already the numeric design
        if absent:
            raise ValueError(f"the data lack the column{'s' if len(absent) > 1 else ''} "
                             f"{', '.join(map(repr, absent))} used by the formula "
                             f"{self.formula!r}.")
        encoded = {f.get("column") for f in self.factors.values() if f["kind"] == "categorical"}
        check_number_columns(df, {v: "new data" for v in self.variables if v not in encoded})
        counts = missing_counts(df, self.variables)
        if counts:
            texts = missing_texts(df, [name for name, _, _ in counts])
            raise ValueError(f"missing values in the columns the formula uses: "
                             f"{describe_missing(counts, texts)}; fill them in or drop those rows "
                             "before predicting.")
        found = self._unseen_levels(df)
        if found and unseen == "raise":
            parts = []
            for col, entries in found.items():
                expr, new = entries[0]
                levels = self.factors[expr]["levels"]
                parts.append(f"column {col!r} has {', '.join(map(repr, new))} (fitted levels: "
                             f"{', '.join(map(repr, levels))})")
            raise ValueError(f"levels not seen when fitting: {'; '.join(parts)}. Drop those "
                             "rows, or map them to the reference level with "
                             "unseen='reference' (model.design_.unseen = 'reference').")
        if found:
            df = self._map_unseen(df, found)
        from formulaic.errors import FormulaicError
        spec = self.model_spec
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                mm = spec.get_model_matrix(df.reset_index(drop=True), context=formula_context())
            except (FormulaicError, ValueError, TypeError, NameError) as err:
                raise ValueError(f"cannot encode the data with the formula {self.formula!r}: "
                                 f"{_first_sentence(err)}") from None
        for w in caught:
            if type(w.message).__name__ == "DataMismatchWarning":
                raise ValueError(f"levels not seen when fitting in a term of "
                                 f"{self.formula!r}: {_first_sentence(w.message)}")
            warn(str(w.message), w.category)
        if spec.structure is None:
            self.model_spec = mm.model_spec      # keep the structure for the next call
        return self._numeric(mm, df.index)

    # ------------------------------------------------------- serialization
    def to_dict(self) -> dict:
        """JSON-safe description from which :meth:`from_dict` rebuilds the
        exact transform (formula text, categorical levels, transform state)."""
        from formulaic import __version__ as formulaic_version

        from ..core.jsonvalues import to_json_value
        factors = {}
        for expr, f in self.factors.items():
            entry = {"kind": f["kind"]}
            if f["kind"] == "categorical":
                entry["levels"] = [to_json_value(v, f"levels of {expr}") for v in f["levels"]]
                entry["reference"] = to_json_value(f["reference"], f"reference of {expr}")
            factors[expr] = entry
        return {
            "formula": self.formula, "response": self.response, "rhs": self.rhs,
            "intercept": self.intercept, "columns": list(self.columns),
            "terms": {k: list(v) for k, v in self.terms.items()},
            "variables": list(self.variables), "factors": factors,
            "transform_state": to_json_value(self.transform_state, "transform state"),
            "unseen": self.unseen, "n_rows": self.n_rows, "n_dropped": self.n_dropped,
            "formulaic_version": formulaic_version,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Design:
        """Rebuild a design saved by :meth:`to_dict` (checks every field and
        the formula's functions; evaluates nothing)."""
        from formulaic import ModelSpec
        from formulaic.parser.types import Factor

        from ..core.jsonvalues import from_json_value
        need = {"formula", "response", "rhs", "intercept", "columns", "terms", "variables",
                "factors", "transform_state", "unseen"}
        if not isinstance(d, dict) or not need <= set(d):
            raise ValueError(f"a design needs the keys {sorted(need)}.")
        strings = lambda xs: isinstance(xs, list) and all(isinstance(x, str) for x in xs)  # noqa: E731
        for key in ("formula", "response", "rhs"):
            if not isinstance(d[key], str):
                raise ValueError(f"design.{key} must be a string.")
        if type(d["intercept"]) is not bool or not strings(d["columns"]) \
                or not strings(d["variables"]):
            raise ValueError("design.intercept must be a boolean and design.columns and "
                             "design.variables lists of strings.")
        if not isinstance(d["terms"], dict) or not all(strings(v) for v in d["terms"].values()):
            raise ValueError("design.terms must map terms to lists of column names.")
        if d["unseen"] not in UNSEEN_OPTIONS:
            raise ValueError(f"design.unseen must be 'raise' or 'reference'; got {d['unseen']!r}.")
        parsed = parse_rhs(d["rhs"])                 # checks every function the formula calls
        lookups = {f.expr for t in parsed for f in t.factors
                   if f.eval_method is Factor.EvalMethod.LOOKUP}
        if not isinstance(d["factors"], dict):
            raise ValueError("design.factors must be an object.")
        factors, encoder_state = {}, {}
        for expr, f in d["factors"].items():
            if not isinstance(f, dict) or f.get("kind") not in ("numerical", "categorical",
                                                                "constant"):
                raise ValueError(f"design.factors[{expr!r}] needs a kind: numerical, "
                                 "categorical or constant.")
            kind = Factor.Kind(f["kind"])
            entry = {"kind": f["kind"]}
            state = {}
            if kind is Factor.Kind.CATEGORICAL:
                levels = f.get("levels")
                if not isinstance(levels, list) or not levels:
                    raise ValueError(f"design.factors[{expr!r}].levels must be a non-empty list.")
                levels = [from_json_value(v) for v in levels]
                if not all(isinstance(v, (str, int, float, bool)) for v in levels):
                    raise ValueError(f"design.factors[{expr!r}].levels must be strings or "
                                     "numbers.")
                entry.update(levels=levels, reference=from_json_value(f.get("reference")),
                             column=factor_column(expr, expr in lookups))
                state = {"categories": list(levels)}
            factors[expr] = entry
            encoder_state[expr] = (kind, state)
        transform_state = from_json_value(d["transform_state"])
        if not isinstance(transform_state, dict):
            raise ValueError("design.transform_state must be an object.")
        spec = ModelSpec(formula=d["rhs"], materializer="pandas", ensure_full_rank=True,
                         na_action="ignore", output="pandas", encoder_state=encoder_state,
                         transform_state=transform_state)
        n_rows, n_dropped = d.get("n_rows"), d.get("n_dropped", 0)
        if not (n_rows is None or type(n_rows) is int) or type(n_dropped) is not int:
            raise ValueError("design.n_rows must be an integer or null and design.n_dropped "
                             "an integer.")
        return cls(formula=d["formula"], response=d["response"], rhs=d["rhs"],
                   intercept=d["intercept"], columns=d["columns"], terms=d["terms"],
                   variables=d["variables"], factors=factors, transform_state=transform_state,
                   model_spec=spec, unseen=d["unseen"], n_rows=n_rows, n_dropped=n_dropped)

    def __reduce__(self):
        # pickling goes through the same JSON-safe description as model files
        return (_design_from_dict, (self.to_dict(),))


def _design_from_dict(d):
    return Design.from_dict(d)


def _reference_level(state, levels):
    contrasts = getattr(state.get("contrasts"), "contrasts", None)
    base = getattr(contrasts, "base", None)
    if contrasts is not None and type(contrasts).__name__ == "TreatmentContrasts":
        from formulaic.utils.sentinels import UNSET
        if base is not UNSET and base is not None:
            return python_value(base)
    return levels[0]


def _first_sentence(err) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def quote_response(name: str) -> str:
    """The response as formula text: a name, ``cbind(s, f)`` as written, else in backticks."""
    return name if name.isidentifier() or parse_cbind(name) is not None else quote_name(name)


def split_top_level(text: str, sep: str) -> list[str]:
    """``text`` split at the ``sep`` characters outside brackets and quotes, each
    part stripped: ``split_top_level("a, f(b, c)", ",")`` -> ``["a", "f(b, c)"]``."""
    parts, depth, quote, start = [], 0, None, 0
    for i, ch in enumerate(text):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"`":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return parts


def parse_cbind(lhs: str) -> tuple[str, str] | None:
    """``"cbind(a, total - a)"`` -> ``("a", "total - a")``; None when the left
    side is not a ``cbind(...)`` call. Two arguments are required."""
    text = lhs.strip()
    if not (text.startswith("cbind") and text[5:].lstrip().startswith("(")
            and text.endswith(")")):
        return None
    parts = split_top_level(text[text.index("(") + 1:-1], ",")
    if len(parts) != 2 or not all(parts):
        raise FormulaError(f"the response {lhs!r} must be cbind(successes, failures): two "
                           "expressions, e.g. cbind(dead, alive) or cbind(dead, total - dead).")
    return parts[0], parts[1]


# ------------------------------------------------------------------------ fit
def rows_argument(value, what, n, df):
    """A column name or an array for sample_weight / offset."""
    if value is None:
        return None, None
    if isinstance(value, str):
        if value not in df.columns:
            raise ValueError(f"{what}={value!r} is not a column of the data; its columns are "
                             f"{', '.join(map(repr, map(str, df.columns)))}.")
        return value, df[value].to_numpy()
    arr = np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value)
    if arr.ndim == 0 or arr.shape[0] != n:
        raise ValueError(f"{what} has {arr.shape[0] if arr.ndim else 1} rows but the data have "
                         f"{n}; give one value per row (or a column name).")
    return None, arr


def set_intercept_from_design(formula: str, design, estimator_params: dict) -> None:
    """The formula decides the intercept: set ``fit_intercept`` from the design,
    refusing an explicit ``fit_intercept`` that contradicts it."""
    if "fit_intercept" in estimator_params and \
            bool(estimator_params["fit_intercept"]) != design.intercept:
        raise ValueError(f"fit_intercept={estimator_params['fit_intercept']} contradicts the "
                         f"formula {formula!r}, which decides the intercept: write "
                         "'y ~ 0 + ...' (or '- 1') for a model without intercept.")
    estimator_params["fit_intercept"] = design.intercept


def check_formula_options(missing: str, unseen: str) -> None:
    """``missing`` is "raise" or "drop"; ``unseen`` is "raise" or "reference"."""
    if missing not in ("raise", "drop"):
        raise ValueError(f"{option('missing')} must be 'raise' or 'drop'; got {missing!r}.")
    if unseen not in UNSEEN_OPTIONS:
        raise ValueError(f"unseen must be 'raise' or 'reference'; got {unseen!r}.")


def _columns_text(columns) -> str:
    return ", ".join(map(repr, map(str, columns)))


def check_response(response: str, columns) -> None:
    """The response must be one column of the data."""
    if response not in columns:
        hint = (" The left-hand side must be one column name; create the column first "
                "(e.g. df['y'] = ...)." if not response.isidentifier() else "")
        raise FormulaError(f"the response {response!r} is not a column of the data; its "
                           f"columns are {_columns_text(columns)}.{hint}")


def formula_terms(rhs: str, columns, others) -> tuple:
    """``(rhs, parsed, variables)``: the right side with ``.`` expanded over
    ``others``, its parsed terms and the data columns they use (in data order);
    a column the formula names but the data lack is a :class:`FormulaError`."""
    rhs = expand_dot(rhs, others)
    parsed = parse_rhs(rhs)
    required = formula_variables(parsed, columns)
    unknown = sorted(required - set(map(str, columns)))
    if unknown:
        raise FormulaError(f"the formula uses {', '.join(map(repr, unknown))}, which "
                           f"{'is not a column' if len(unknown) == 1 else 'are not columns'} "
                           f"of the data; its columns are {_columns_text(columns)}.")
    return rhs, parsed, [c for c in columns if str(c) in required]


def first_observed_level(y) -> object | None:
    """A categorical response's first level among the observed values (R's
    reference class), or None for other responses."""
    if not isinstance(getattr(y, "dtype", None), pd.CategoricalDtype):
        return None
    observed = set(pd.Series(y).dropna().tolist())
    first = [c for c in y.dtype.categories if c in observed]
    return python_value(first[0]) if first else None



__all__ = ["Design", "FormulaError", "split_formula", "expand_dot", "parse_rhs",
           "check_expression", "FORMULA_FUNCTIONS", "NUMPY_FUNCTIONS", "CONTRASTS"]

