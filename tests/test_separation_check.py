"""The separation check (``logitlab.separation``) names the same infinite terms,
with the same signs, as its definition, and costs at most as much as the fit.

Reference: the definition itself, computed here independently — the
constraint rows ``a = x̃ᵀ(d_c - d_k) ≥ 0`` built directly from X and y, and for
every coefficient v and sign σ the linear program ``max σ d_v`` over
``{A d ≥ 0, |d| ≤ 1}`` (two LPs per coefficient, the method logitlab used
before). Each LP is judged by its residuals, not its exit flag: a value above
the tolerance by a feasible witness ``d``, a value below it by the dual
certificate (stationarity and signs of the multipliers). A coefficient is +1
(-1) when only σ = +1 (-1) moves it, 0 when both do, absent when neither.

Data: tests/data/anes96.csv (statsmodels' anes96, README), scikit-learn's
breast-cancer data, the shared test datasets, and random designs with
complete and quasi-complete separation, weights and offsets.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy import optimize
from sklearn.datasets import load_breast_cancer

import logitlab
import logitlab.fitting.pipeline as estimator  # where the fit calls the check
from logitlab import LogisticRegression
from logitlab.families import logit_family
from logitlab.fitting import separation
from logitlab.inference import term_labels

DATA = Path(__file__).parent / "data"
TOL = 1e-7


# ---------------------------------------------------------------- the definition
def constraint_rows(X, y, K, ref=0, fit_intercept=True):
    """Dense constraint rows (one per row and other class) over the variables
    ``j * C + c`` (feature row j, free class c; the intercept is the last row),
    columns scaled to max |x| = 1 as logitlab does (the cone is unchanged)."""
    Xt = np.column_stack([X, np.ones(len(X))]) if fit_intercept else np.asarray(X, float)
    Xt = Xt / np.where(np.abs(Xt).max(axis=0) > 0, np.abs(Xt).max(axis=0), 1.0)
    free = [k for k in range(K) if k != ref] if K > 2 else [1]
    C, m = len(free), Xt.shape[1]
    rows = []
    for i in range(len(y)):
        for k in range(K):
            if k == y[i]:
                continue
            a = np.zeros((m, C))
            if y[i] in free:
                a[:, free.index(y[i])] += Xt[i]
            if k in free:
                a[:, free.index(k)] -= Xt[i]
            rows.append(a.ravel())
    return np.array(rows)


def movable(A, v, sign) -> bool:
    """``max sign·d_v`` over ``A d ≥ 0, |d| ≤ 1`` exceeds TOL, judged by residuals."""
    p = A.shape[1]
    c = np.zeros(p)
    c[v] = -sign
    res = optimize.linprog(c, A_ub=-A, b_ub=np.zeros(A.shape[0]), bounds=[(-1, 1)] * p,
                           method="highs")
    d = res.x
    value = -float(c @ d)
    scale = np.linalg.norm(A, axis=1)
    assert np.all(A @ d >= -1e-9 * scale), "the LP's point is not in the cone"
    if value > TOL:
        return True                        # d is the witness
    # dual certificate that the optimum is ≤ TOL: c = A_ubᵀ y + y_lo + y_up with
    # y ≤ 0, y_lo ≥ 0, y_up ≤ 0, so cᵀx ≥ -Σ y_lo + Σ y_up for every feasible x
    y_ub, lo, up = res.ineqlin.marginals, res.lower.marginals, res.upper.marginals
    assert np.max(y_ub) <= 1e-12 and np.min(lo) >= -1e-12 and np.max(up) <= 1e-12
    assert np.max(np.abs(c - (-A).T @ y_ub - lo - up)) <= 1e-9
    bound = float(-np.sum(lo) + np.sum(up))
    assert -bound <= TOL + 1e-9, f"the dual bound {-bound} does not prove the value ≤ tol"
    return False


def definition(A) -> dict:
    out = {}
    for v in range(A.shape[1]):
        up, down = movable(A, v, 1.0), movable(A, v, -1.0)
        if up or down:
            out[v] = 0 if up and down else (1 if up else -1)
    return out


def fit_recording_check(X, y, **kwargs):
    """Fit and return (model, seconds of the fit without the check, seconds
    of the check, the check's result)."""
    spent = {"t": 0.0, "result": None}
    original = estimator.detect_separation

    def timed(*args, **kw):
        t = time.perf_counter()
        spent["result"] = original(*args, **kw)
        spent["t"] += time.perf_counter() - t
        return spent["result"]

    estimator.detect_separation = timed
    try:
        fit_kwargs = {k: kwargs.pop(k) for k in ("sample_weight", "offset") if k in kwargs}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = time.perf_counter()
            m = LogisticRegression(**kwargs).fit(X, y, **fit_kwargs)
            total = time.perf_counter() - t
    finally:
        estimator.detect_separation = original
    return m, total - spent["t"], spent["t"], spent["result"]


def infinite_by_index(model) -> dict:
    return {int(k): v for k, v in model.inference_state_["infinite"].items()}


# ---------------------------------------------------------------- random designs
def random_problem(seed):
    """Random designs, separated or not; classes relabelled 0..K-1 (at least 2)."""
    rng = np.random.default_rng(seed)
    n, d, K = int(rng.integers(15, 150)), int(rng.integers(1, 6)), int(rng.choice([2, 2, 3, 4]))
    X = rng.standard_normal((n, d))
    if seed % 3 == 0:
        X[:, 0] = (rng.uniform(size=n) < 0.2).astype(float)
    B = rng.standard_normal((d, K)) * rng.choice([0.5, 3, 10])
    y = np.argmax(X @ B + rng.gumbel(size=(n, K)) * rng.choice([0.0, 0.3, 1.0]), axis=1)
    if seed % 3 == 0:
        y[X[:, 0] == 1] = 0                  # quasi-separation by a dummy
    if np.unique(y).size < 2:
        y[: n // 3] = 1 - y[0]
    y = np.unique(y, return_inverse=True)[1]
    K = int(y.max()) + 1
    w = rng.uniform(0.2, 3, n) if seed % 4 == 1 else None
    offset = (rng.normal(size=n) if K == 2 else rng.normal(size=(n, K))) if seed % 5 == 2 else None
    return X, y, K, w, offset


@pytest.mark.parametrize("seed", range(36))
def test_check_names_the_terms_of_the_definition(seed, monkeypatch):
    X, y, K, w, offset = random_problem(seed)
    kwargs = {k: v for k, v in (("sample_weight", w), ("offset", offset)) if v is not None}
    m, _, _, result = fit_recording_check(X, y, **kwargs)
    keep = np.ones(len(y), bool) if w is None else w > 0
    expected = definition(constraint_rows(X[keep], y[keep], K))
    assert result is not None and result.checked
    assert result.separated == bool(expected)
    assert infinite_by_index(m) == expected
    # the LP path (no fitted coefficients to certify from) gives the same answer
    layout = m.results_.layout
    codes = np.asarray(y)
    s = np.ones(len(y)) if w is None else w
    lp = separation.detect_separation(X, codes, s, layout)
    assert lp.checked and lp.separated == bool(expected) and lp.infinite == expected
    # and so does the path of problems too large for dense factorizations
    monkeypatch.setattr(separation, "_dense_ok", lambda m, p: False)
    large = separation.detect_separation(X, codes, s, layout)
    assert large.checked and large.separated == bool(expected) and large.infinite == expected


#: the binary designs among the random problems
BINARY_SEEDS = [seed for seed in range(60) if random_problem(seed)[2] == 2]


@pytest.mark.parametrize("seed", BINARY_SEEDS)
def test_the_information_certificate_agrees_with_the_definition(seed):
    """Step 0 of the check, from the fit's information and gradient alone: it
    never clears separated data (the definition's LPs find a direction), and
    it clears every one of these data sets that is not separated, so the fit
    needs no constraint matrix for them."""
    X, y, K, w, offset = random_problem(seed)
    kwargs = {k: v for k, v in (("sample_weight", w), ("offset", offset)) if v is not None}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = LogisticRegression().fit(X, y, **kwargs)
    s = np.ones(len(y)) if w is None else w
    state = m.inference_state_
    certified = separation.information_certifies_no_separation(
        X, s, True, np.asarray(state["information"]), m.grad_norm_)
    expected = definition(constraint_rows(X[s > 0], y[s > 0], K))
    assert certified == (not expected)


def test_the_information_certificate_needs_every_column_informative():
    """A column of zeros (no information on its coefficient) or a gradient
    that is not small certifies nothing."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((400, 3))
    y = (rng.random(400) < 1 / (1 + np.exp(-X[:, 0]))).astype(int)
    m = LogisticRegression().fit(X, y)
    info, s = np.asarray(m.inference_state_["information"]), np.ones(400)
    assert separation.information_certifies_no_separation(X, s, True, info, m.grad_norm_)
    assert not separation.information_certifies_no_separation(X, s, True, info, 1.0)
    Z = X.copy()
    Z[:, 1] = 0.0
    assert not separation.information_certifies_no_separation(Z, s, True, info, m.grad_norm_)


@pytest.mark.parametrize("kind", ["float64", "float32", "csr"])
def test_column_scales_are_the_largest_magnitudes(kind):
    """The certificate's column scales, on the compiled scan (a large dense X),
    NumPy's path and CSR: ``max_i |x_ij|`` as NumPy computes it."""
    rng = np.random.default_rng(4)
    X = rng.standard_normal((40_000, 9))
    X[123, 4], X[7, 0] = -55.0, 31.0
    X[:, 8] = 0.0
    Xk = {"float64": X, "float32": X.astype(np.float32), "csr": sp.csr_matrix(X)}[kind]
    ref = np.abs(X.astype(np.float32) if kind == "float32" else X).max(axis=0)
    np.testing.assert_array_equal(separation._column_max_abs(Xk), ref)
    np.testing.assert_array_equal(separation._column_max_abs(Xk[:50]), np.abs(X[:50]).max(axis=0)
                                  if kind != "float32" else np.abs(X[:50].astype(np.float32)).max(axis=0))


# ---------------------------------------------------------------- real data
def anes96():
    df = pd.read_csv(DATA / "anes96.csv", dtype=float)
    return df


def breast():
    return load_breast_cancer(return_X_y=True)


@pytest.mark.slow
def test_anes96_names_the_terms_of_the_definition():
    """anes96: 944 rows, 7 classes, quasi-separated by some education levels
    (133 LPs of 5,664 constraints; its cost against the fit is measured by
    ``benchmarks/separation_bench.py``)."""
    df = anes96()
    formula = "PID ~ logpopul + selfLR + age + C(educ) + income"
    spent = {"t": 0.0}
    original = estimator.detect_separation

    def timed(*args, **kw):
        t = time.perf_counter()
        out = original(*args, **kw)
        spent["t"] += time.perf_counter() - t
        return out

    estimator.detect_separation = timed
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = time.perf_counter()
            fitted = logitlab.fit(formula, df)
            total = time.perf_counter() - t
    finally:
        estimator.detect_separation = original
    m = getattr(fitted, "model", fitted)
    design = m.design_.transform(df)
    X = np.asarray(design, dtype=float)
    codes = np.searchsorted(m.classes_, df.PID.to_numpy())
    expected = definition(constraint_rows(X, codes, m.classes_.size))
    assert infinite_by_index(m) == expected
    labels = term_labels(m)
    named = {labels[k]: v for k, v in expected.items()}
    print(f"anes96: fit {total - spent['t']:.3f} s, check {spent['t']:.3f} s; infinite {named}")
    assert any("educ" in str(label) for label in named)


def test_breast_cancer_names_the_terms_of_the_definition():
    """Completely separated (every row classified with margin): every
    coefficient is infinite, some of one sign only."""
    X, y = breast()
    m, fit_s, check_s, _ = fit_recording_check(X, y)
    expected = definition(constraint_rows(X, y, 2))
    assert infinite_by_index(m) == expected
    assert len(expected) == X.shape[1] + 1 and {1, -1, 0} <= set(expected.values())
    print(f"breast cancer: fit {fit_s:.3f} s, check {check_s:.3f} s")


def _datasets():
    iris = pd.read_csv(DATA / "iris.csv")
    bw = pd.read_csv(DATA / "birthwt.csv")
    sex2 = pd.read_csv(DATA / "sex2.csv")
    spector = pd.read_csv(DATA / "spector.csv")
    titanic = pd.read_csv(DATA / "titanic_table.csv")
    tX = pd.get_dummies(titanic[["Class", "Sex", "Age"]], drop_first=True).astype(float)
    anes = anes96()
    anes_X = pd.get_dummies(anes.educ.astype(int).astype(str), prefix="educ", drop_first=True)
    anes_X = pd.concat([anes[["logpopul", "selfLR", "age", "income"]], anes_X.astype(float)],
                       axis=1)
    bX, by = breast()
    return {
        "iris": (iris.iloc[:, :4], iris.target, {}),
        "birthwt low": (bw[["age", "lwt", "smoke", "ht", "ui"]].astype(float), bw.low, {}),
        "birthwt race": (bw[["age", "lwt", "smoke", "ht", "ui"]].astype(float), bw.race, {}),
        "sex2": (sex2[["age", "oc", "vic", "vicl", "vis", "dia"]].astype(float), sex2.case, {}),
        "spector": (spector[["GPA", "TUCE", "PSI"]], spector.GRADE, {}),
        "titanic": (tX, (titanic.Survived == "Yes").astype(int),
                    {"sample_weight": titanic.Freq.to_numpy(float)}),
        "anes96": (anes_X, anes.PID, {}),
        "breast cancer": (bX, by, {}),
    }


DATASETS = _datasets()


@pytest.mark.parametrize("name", list(DATASETS))
def test_the_check_completes_within_its_budget(name):
    """On every shared dataset, anes96 and breast cancer the check runs to its
    end within its budget (``checked``), as part of an ordinary fit. What it
    costs against the fit is measured by ``benchmarks/separation_bench.py``,
    not by a timed test (the times are printed here for information only)."""
    X, y, kwargs = DATASETS[name]
    _, fit_s, check_s, result = fit_recording_check(X, y, **dict(kwargs))
    print(f"{name}: fit {fit_s * 1e3:.1f} ms, separation check {check_s * 1e3:.1f} ms, "
          f"separated {result.separated if result else None}")
    assert result is not None and result.checked


def test_the_check_stops_at_its_budget():
    """A budget the work cannot fit in ends the check early, reporting nothing
    (checked=False), instead of running on: the 2-second cap of fits below 10⁶
    constraint nonzeros is this budget."""
    X, y = breast()
    layout = logit_family(X.shape[1], 2).layout
    t = time.perf_counter()
    result = separation.detect_separation(X, y, np.ones(len(y)), layout, budget=1e-4)
    elapsed = time.perf_counter() - t
    assert result.checked is False
    assert elapsed < 0.5
    assert separation.MIN_SECONDS == 2.0 and separation.SECONDS_PER_MILLION * 1.0 <= 2.0
