"""Multinomial Firth (``penalty="firth"`` with K > 2 classes): the maximizer of
the Jeffreys-penalized likelihood ``ℓ(β) + ½ log det I(β)`` over K − 1 columns
against a reference class, R ``brglm2::brmultinom(type = "AS_mean")``.

References, all independent of logitlab's own output:

* R brglm2 fits (``tests/r/brmultinom.R`` → ``tests/data/brmultinom_r.json``;
  provenance in ``tests/data/README.md``): coefficients, standard errors (the
  inverse Fisher information), log-likelihoods plain and penalized, the
  penalized intercept-only model under the full model's penalty — on iris
  (sepal measurements: quasi-separated; all four: completely separated, no
  finite MLE) and birthwt (plain; prior weights with another reference class);
* numpy written here: the information ``Σ s x̃x̃ᵀ ⊗ (diag p − p pᵀ)``, its log
  determinant and central finite differences of it, the modified score from
  ``∂I/∂β_r`` formed coordinate by coordinate;
* profile intervals by their definition: at each bound, the penalized LR
  statistic against a scipy (BFGS + Newton polish) constrained maximum equals
  the χ²₁ quantile (brmultinom's ``confint`` is Wald only).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy import optimize, stats

from logitlab import LogisticRegression
from logitlab.families import MultinomialLogit
from logitlab.results.inference import coef_table, model_statistics
from logitlab.results.profile import lr_tests

from refcheck import assert_rel, load  # noqa: E402

DATA = Path(__file__).parent / "data"
INTERCEPT = "(Intercept)"
R = json.loads((DATA / "brmultinom_r.json").read_text())["fits"]


# ----------------------------------------------------------------- data
def dataset(name):
    """``(X DataFrame, y, sample_weight or None, reference class)`` of an R fit."""
    if name.startswith("iris"):
        df = load("iris.csv")
        df.columns = ["sl", "sw", "pl", "pw", "target"]
        cols = ["sl", "sw"] if name == "iris_sepal" else ["sl", "sw", "pl", "pw"]
        return df[cols].astype(float), df["target"].to_numpy(), None, None
    df = load("birthwt.csv")
    X = df[["age", "lwt", "smoke"]].astype(float)
    if name == "birthwt":
        return X, df["race"].to_numpy(), None, None
    w = 1.0 + (np.arange(1, len(df) + 1) % 3)
    return X, df["race"].to_numpy(), w, 2


def fit(X, y, w=None, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return LogisticRegression(penalty="firth", **kwargs).fit(X, y, sample_weight=w)


_FITS = {}


def firth_fit(name):
    if name not in _FITS:
        X, y, w, ref = dataset(name)
        _FITS[name] = fit(X, y, w, reference_class=ref)
    return _FITS[name]


# ----------------------------------------------------------------- numpy references
def augmented(X):
    """[X, 1] (n, m): logitlab's row order, the intercept last."""
    X = np.asarray(X, dtype=float)
    return np.column_stack([X, np.ones(len(X))])


def free_probs(Xa, B, free, K):
    """Probabilities (n, K) with logits ``Xa B`` (B (m, C)) for the free classes, 0
    for the reference."""
    Z = np.zeros((len(Xa), K))
    Z[:, free] = Xa @ B
    return softmax_rows(Z)


def softmax_rows(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def info_np(Xa, s, P):
    """``Σ_i s_i x̃x̃ᵀ ⊗ A_i`` (mC, mC), flat coordinate a·C + k; P (n, C) free classes."""
    A = np.einsum("ik,kl->ikl", P, np.eye(P.shape[1])) - np.einsum("ik,il->ikl", P, P)
    m, C = Xa.shape[1], P.shape[1]
    return np.einsum("i,ia,ib,ikl->akbl", s, Xa, Xa, A).reshape(m * C, m * C)


class Model:
    """The penalized likelihood of one data set, written in numpy."""

    def __init__(self, X, y, w, classes, reference):
        self.Xa = augmented(X)
        self.K = len(classes)
        self.codes = np.searchsorted(classes, y)
        self.ref = int(np.flatnonzero(classes == reference)[0])
        self.free = [k for k in range(self.K) if k != self.ref]
        self.s = np.ones(len(y)) if w is None else np.asarray(w, dtype=float)
        self.shape = (self.Xa.shape[1], self.K - 1)

    def probs(self, B):
        return free_probs(self.Xa, B.reshape(self.shape), self.free, self.K)

    def loglik(self, B):
        P = self.probs(B)
        return float(np.sum(self.s * np.log(P[np.arange(len(P)), self.codes])))

    def info(self, B):
        return info_np(self.Xa, self.s, self.probs(B)[:, self.free])

    def penalized(self, B):
        sign, logdet = np.linalg.slogdet(self.info(B))
        return self.loglik(B) + 0.5 * logdet if sign > 0 else -np.inf

    def modified_score(self, B):
        """U + ½ tr(I⁻¹ ∂I/∂β_r), ∂I/∂β_r formed for each coordinate r = (a, c)."""
        Xa, s, m, C = self.Xa, self.s, *self.shape
        P = self.probs(B)[:, self.free]
        Y = (self.codes[:, None] == np.asarray(self.free)[None, :]).astype(float)
        U = Xa.T @ (s[:, None] * (Y - P))
        G = np.linalg.inv(self.info(B))
        out = np.empty((m, C))
        eye = np.eye(C)
        for c in range(C):
            D = P * (eye[c][None, :] - P[:, [c]])              # ∂p_k/∂η_c (n, C)
            dA = (np.einsum("ik,kl->ikl", D, eye) - np.einsum("ik,il->ikl", D, P)
                  - np.einsum("ik,il->ikl", P, D))
            for a in range(m):
                dI = np.einsum("i,ia,ib,ikl->akbl", s * Xa[:, a], Xa, Xa, dA).reshape(m * C, -1)
                out[a, c] = 0.5 * np.sum(G * dI)
        return (U + out).ravel()


def numpy_model(name):
    X, y, w, ref = dataset(name)
    m = firth_fit(name)
    return Model(X, y, w, np.asarray(m.classes_), m.reference_class_)


def estimate(model, mdl):
    """logitlab's estimate as the (m, C) matrix of the numpy model (flat)."""
    table = coef_table(model)
    terms = list(model.feature_names_in_) + [INTERCEPT]
    classes = np.asarray(model.classes_)
    return np.array([[table.loc[(classes[k], t), "coef"] for k in mdl.free] for t in terms]).ravel()


# ----------------------------------------------------------------- hat correction
@pytest.mark.parametrize("K,with_subset,sparse", [(3, False, False), (3, True, False),
                                                  (4, False, True), (4, True, False)])
def test_hat_correction_is_the_gradient_of_half_log_det(K, with_subset, sparse):
    """chunk_hat_correction against central differences of ½ log det I (numpy I),
    with weights and an offset, in small row blocks; ``with_subset``: the penalty
    over some coordinates only (a profile or the restricted LR model keeps the
    information of the estimated ones)."""
    rng = np.random.default_rng(11 + K)
    n, d = 60, 3
    X = rng.normal(size=(n, d))
    X[rng.uniform(size=X.shape) < 0.3] = 0.0
    y = rng.integers(0, K, size=n)
    s = rng.uniform(0.5, 2.0, size=n)
    offset = 0.3 * rng.normal(size=(n, K))
    fam = MultinomialLogit.create(d, K, reference=1)
    lay = fam.layout
    w = 0.5 * rng.normal(size=lay.size)
    coords = (np.delete(np.arange(lay.size), [1, lay.size - 3]) if with_subset
              else np.arange(lay.size))
    free = list(lay.free_classes)

    def free_class_probs(wv):
        full = np.zeros((n, K))
        full[:, free] = X @ lay.matrix(wv)[:d] + lay.matrix(wv)[d]
        return softmax_rows(full + offset)[:, free]

    def info_over_coords(wv):
        return info_np(augmented(X), s, free_class_probs(wv))[np.ix_(coords, coords)]

    def half_logdet(wv):
        return 0.5 * np.linalg.slogdet(info_over_coords(wv))[1]

    L = np.linalg.cholesky(info_over_coords(w))
    Xc = sp.csr_matrix(X) if sparse else X
    got = fam.chunk_hat_correction(Xc, y, s, offset, lay.matrix(w), (L, coords),
                                   block_entries=7 * coords.size * lay.n_cols)
    h = 1e-6
    fd = np.array([(half_logdet(w + h * e) - half_logdet(w - h * e)) / (2 * h)
                   for e in np.eye(lay.size)])
    assert_rel(got, fd, f"hat correction vs central differences (K={K})", rtol=1e-6)


def test_hat_correction_for_two_classes_is_the_binary_one():
    """K = 2 in the reference layout is the binary logit: the same correction as
    BinaryLogit's ``h (½ − p) x̃`` (the closed form the docstring reduces to)."""
    from logitlab.families import BinaryLogit
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(40, 2)), rng.integers(0, 2, size=40)
    s = np.ones(40)
    w = np.array([0.4, -0.7, 0.2])
    bfam = BinaryLogit.create(2)
    H = bfam.chunk_stats(X, y, s, None, w[:, None], grad=False, hess=True)[2]
    chol = (np.linalg.cholesky(H), np.arange(3))
    binary = bfam.chunk_hat_correction(X, y, s, None, w[:, None], chol)
    mfam = MultinomialLogit(bfam.layout.__class__(2, 2, (1,), True))
    multi = mfam.chunk_hat_correction(X, y, s, None, w[:, None], chol)
    assert_rel(multi, binary, "K = 2 multinomial correction vs binary", rtol=1e-12)


# ----------------------------------------------------------------- against brglm2
NAMES = ["iris_sepal", "iris_all", "birthwt", "birthwt_weighted"]


def r_table(name, key):
    ref = R[name]
    return {(c, t): v for c, row in zip(ref["classes"], ref[key])
            for t, v in zip(ref["terms"], row)}


def ours(model, key):
    table = coef_table(model)
    return {(str(c), t): v for (c, t), v in table[key].items()}


@pytest.mark.parametrize("name", NAMES)
def test_coefficients_and_standard_errors_match_brmultinom(name):
    m = firth_fit(name)
    assert m.converged_ and m.solver_ == "firth"
    assert str(m.reference_class_) == R[name]["reference"]
    for key, rkey in [("coef", "coef"), ("std_err", "se")]:
        mine, theirs = ours(m, key), r_table(name, rkey)
        assert set(mine) == set(theirs)
        keys = sorted(theirs)
        assert_rel([mine[k] for k in keys], [theirs[k] for k in keys],
                   f"{name} {key} vs brmultinom")


@pytest.mark.parametrize("name", NAMES)
def test_log_likelihoods_and_penalized_lr_test_match_r(name):
    m, ref = firth_fit(name), R[name]
    st = model_statistics(m)
    assert st["method"] == "firth"
    assert_rel(st["unpenalized_log_likelihood"], ref["logLik"], f"{name} logLik vs brglm2")
    assert_rel(st["log_likelihood"], ref["penalized_loglik"], f"{name} penalized loglik vs R")
    # logistf's convention: intercepts free, slopes 0, the full model's penalty
    assert_rel(st["null_log_likelihood"], ref["penalized_loglik_null"],
               f"{name} penalized null loglik vs R optim")
    lr = 2 * (ref["penalized_loglik"] - ref["penalized_loglik_null"])
    assert_rel(st["lr_stat"], lr, f"{name} penalized LR statistic")
    n_slopes = len(ref["terms"]) - 1
    assert st["lr_df"] == n_slopes * len(ref["classes"])


@pytest.mark.parametrize("name", ["iris_sepal", "iris_all", "birthwt_weighted"])
def test_estimate_solves_the_modified_score_and_ses_invert_the_information(name):
    m, mdl = firth_fit(name), numpy_model(name)
    B = estimate(m, mdl)
    u_star = mdl.modified_score(B)
    P = mdl.probs(B)[:, mdl.free]
    Y = (mdl.codes[:, None] == np.asarray(mdl.free)[None, :]).astype(float)
    plain = (mdl.Xa.T @ (mdl.s[:, None] * (Y - P))).ravel()
    print(f"{name}: max|U*| {np.max(np.abs(u_star)):.3g}, max|U| {np.max(np.abs(plain)):.3g}")
    assert np.max(np.abs(u_star)) < 1e-7 * mdl.s.sum()
    assert np.max(np.abs(plain)) > 1e-2          # the correction matters here
    assert_rel(model_statistics(m)["log_likelihood"], mdl.penalized(B),
               f"{name} penalized loglik vs numpy", rtol=1e-10)
    se = np.sqrt(np.diag(np.linalg.inv(mdl.info(B))))
    assert_rel(estimate_se(m, mdl), se, f"{name} SE vs numpy inverse information", rtol=1e-8)


def estimate_se(model, mdl):
    table = coef_table(model)
    terms = list(model.feature_names_in_) + [INTERCEPT]
    classes = np.asarray(model.classes_)
    return np.array([[table.loc[(classes[k], t), "std_err"] for k in mdl.free]
                     for t in terms]).ravel()


def test_the_mle_does_not_exist_where_firth_is_finite():
    """iris_all: the plain fit finds separation (so brmultinom's finite estimate
    is not an MLE)."""
    X, y, _, _ = dataset("iris_all")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = LogisticRegression().fit(X, y)
    assert plain.results_.inference.separated


def test_aliased_column_is_dropped_and_the_rest_matches_brmultinom():
    X, y, _, _ = dataset("iris_sepal")
    X = X.assign(sl2=2.0 * X["sl"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = LogisticRegression(penalty="firth").fit(X, y)
    assert m.aliased_ == ["sl2"]
    mine, theirs = ours(m, "coef"), r_table("iris_sepal", "coef")
    keys = sorted(theirs)
    assert_rel([mine[k] for k in keys], [theirs[k] for k in keys],
               "iris_sepal with an aliased copy vs brmultinom")


# ----------------------------------------------------------------- profile intervals
def maximize(mdl, full, keep, b):
    """BFGS on ``-ℓ*(full(b))`` (``b`` the coordinates ``keep``) from ``b``, then
    three Newton steps on a central finite-difference Hessian of the modified score."""
    with warnings.catch_warnings(), np.errstate(invalid="ignore", over="ignore"):
        # the line search may try a point of singular information (ℓ* = -inf)
        warnings.simplefilter("ignore", RuntimeWarning)
        b = optimize.minimize(lambda v: -mdl.penalized(full(v)), b,
                              jac=lambda v: -mdl.modified_score(full(v))[keep],
                              method="BFGS", options={"gtol": 1e-8, "maxiter": 2000}).x
    h = 1e-5
    for _ in range(3):
        g = mdl.modified_score(full(b))[keep]
        H = np.column_stack([(mdl.modified_score(full(b + h * e))[keep]
                              - mdl.modified_score(full(b - h * e))[keep]) / (2 * h)
                             for e in np.eye(b.size)])
        b = b - np.linalg.solve(0.5 * (H + H.T), g)
    return b


def constrained_max(mdl, r, t, B):
    """max over β with β_r = t of ℓ(β) + ½ log det I(β) (the full model's
    information at the constrained β): scipy BFGS with the numpy modified score
    from two starts — the estimate ``B`` with β_r moved to t, and the linear
    approximation of the profile path ``B + (t − B_r) V[:, r] / V_rr`` (V = I⁻¹) —
    each polished by Newton steps on a finite-difference Hessian; the higher of
    the stationary ones."""
    keep = np.delete(np.arange(B.size), r)
    V = np.linalg.inv(mdl.info(B))
    starts = [B, B + (t - B[r]) * V[:, r] / V[r, r]]

    def full(b):
        beta = np.array(B, dtype=float)
        beta[keep], beta[r] = b, t
        return beta

    best = -np.inf
    for i, start in enumerate(starts):
        try:
            b = maximize(mdl, full, keep, start[keep])
        except np.linalg.LinAlgError:          # BFGS stepped onto a singular information
            continue
        worst = float(np.max(np.abs(mdl.modified_score(full(b))[keep])))
        print(f"  start {i}: max |U*| {worst:.3g}, penalized loglik "
              f"{mdl.penalized(full(b)):.12f}")
        if worst < 1e-7:
            best = max(best, mdl.penalized(full(b)))
    assert np.isfinite(best), "no start reached a stationary point"
    return best


# iris_sepal: the bounds of a quasi-separated fit, some far from the estimate
# (the intercepts' lower bounds near −97 and −109); the sepal widths' lower
# bounds lie where the constrained maximum has two branches (at 2 / sw = −23.09
# the one followed from the estimate is 0.11 lower in ℓ* than the other: the
# bound found on it was −23.09 instead of −24.74); birthwt_weighted: prior
# weights and reference class 2.
PROFILED = [("iris_sepal", ("1", "sl")), ("iris_sepal", ("2", INTERCEPT)),
            ("iris_sepal", ("1", "sw")), ("iris_sepal", ("2", "sw")),
            ("birthwt_weighted", ("3", "smoke")), ("birthwt_weighted", ("1", "lwt"))]


@pytest.mark.parametrize("name,term", PROFILED)
def test_profile_bounds_by_the_penalized_lr_statistic(name, term):
    m, mdl = firth_fit(name), numpy_model(name)
    classes = np.asarray(m.classes_)
    label = classes[[str(c) for c in classes].index(term[0])]
    ci = m.conf_int(method="profile", terms=[(label, term[1])])
    lo, hi = ci.iloc[0][["ci_low", "ci_high"]]
    B = estimate(m, mdl)
    terms = list(m.feature_names_in_) + [INTERCEPT]
    k = int(np.flatnonzero(classes == label)[0])
    r = terms.index(term[1]) * len(mdl.free) + mdl.free.index(k)
    assert lo < B[r] < hi
    ell_hat = mdl.penalized(B)
    crit = stats.chi2.ppf(0.95, 1)
    for t in (lo, hi):
        stat = 2 * (ell_hat - constrained_max(mdl, r, t, B))
        print(f"{name} {term} bound {t:.6f}: LR {stat:.9f} vs {crit:.9f}")
        assert stat == pytest.approx(crit, abs=1e-6)


def test_lr_test_of_one_coefficient_by_a_scipy_refit():
    name = "birthwt"
    m, mdl = firth_fit(name), numpy_model(name)
    B = estimate(m, mdl)
    table = lr_tests(m, terms=[(3, "smoke")])
    terms = list(m.feature_names_in_) + [INTERCEPT]
    r = terms.index("smoke") * len(mdl.free) + mdl.free.index(2)     # smoke, class 3
    stat = 2 * (mdl.penalized(B) - constrained_max(mdl, r, 0.0, B))
    assert_rel(table["lr_stat"].iloc[0], stat, "penalized LR test of 3 / smoke", rtol=1e-6)


# ----------------------------------------------------------------- errors
def test_firth_options_that_do_not_apply_are_refused():
    X, y, _, _ = dataset("iris_sepal")
    with pytest.raises(ValueError, match="penalty='firth' has no strength"):
        LogisticRegression(penalty="firth", alpha=0.5).fit(X, y)
    with pytest.raises(ValueError, match="firth"):
        LogisticRegression(penalty="firth", solver="lbfgs").fit(X, y)


def test_firth_on_the_symmetric_layout_is_refused():
    fam = MultinomialLogit.create(2, 3, symmetric=True)
    X = np.zeros((3, 2))
    with pytest.raises(ValueError, match="reference-class layout"):
        fam.chunk_hat_correction(X, np.arange(3), np.ones(3), None,
                                 np.zeros((3, 3)), (np.eye(9), np.arange(9)))


def test_a_saved_multinomial_firth_model_loads_with_its_inference(tmp_path):
    """The model file keeps the K − 1 column layout of a Firth fit: the loaded
    model's table still matches brmultinom."""
    from logitlab.persist.model_file import load, save
    name = "birthwt_weighted"
    path = save(firth_fit(name), tmp_path / "firth.json")
    loaded = load(path)
    for key, rkey in [("coef", "coef"), ("std_err", "se")]:
        mine, theirs = ours(loaded, key), r_table(name, rkey)
        keys = sorted(theirs)
        assert_rel([mine[k] for k in keys], [theirs[k] for k in keys],
                   f"loaded {name} {key} vs brmultinom")


# ----------------------------------------------------------------- rounding floor
def test_a_firth_fit_stopped_at_its_rounding_floor_is_converged_there():
    """collinear33 (a nearly collinear design, tests/data/profile_bounds.json, R's
    exact Firth fit): a tol below what float64 can resolve stops at the floor of
    its arithmetic, reported converged with tol raised to that floor; the estimate
    is R's."""
    d = json.loads((DATA / "profile_bounds.json").read_text())["designs"]["firth_collinear33"]
    df = pd.read_csv(DATA / d["file"])
    m = fit(df[d["terms"]].astype(float), df[d["y"]], tol=1e-17)
    flags = m.results_.solver.flags
    print(f"collinear33 at tol 1e-17: {m.n_iter_} iterations, max |U*|/n {m.grad_norm_:.3g}, "
          f"flags {sorted(flags)}")
    assert m.converged_ and "rounding_floor" in flags
    assert 1e-17 < m.tol_ == m.grad_norm_ < 1e-12
    assert_rel(np.r_[m.coef_.ravel(), m.intercept_],
               [d["coef"][t] for t in d["terms"] + [INTERCEPT]], "collinear33 Firth vs R")


def test_a_firth_fit_still_improving_is_not_reported_at_a_floor():
    """iris_all converges linearly (about 60 scoring steps to 1e-10): stopped by
    max_iter it is not converged, and no floor is claimed."""
    X, y, _, _ = dataset("iris_all")
    with pytest.warns(Warning, match="did not converge"):
        m = LogisticRegression(penalty="firth", max_iter=8).fit(X, y)
    assert not m.converged_ and "rounding_floor" not in m.results_.solver.flags
    assert m.tol_ == 1e-10
