"""The figures of logitlab.report.plots: the plotted data equal independent references.

ROC curves against scikit-learn's roc_curve, odds ratios and intervals against
statsmodels, calibration bins against scikit-learn's calibration_curve and
statsmodels' Wilson intervals, histograms against numpy, the waterfall against
statsmodels' linear predictor, the convergence trace against ``history_``.
"""

import pickle

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve
from sklearn.linear_model import LogisticRegression as SkLogit
from statsmodels.stats.proportion import proportion_confint

import logitlab as ll
from logitlab.report import plots
from logitlab.datasets import load_titanic, titanic_design
from refcheck import load

BIRTHWT = "low ~ age + lwt + C(race) + smoke"


def by_gid(fig, gid):
    return [a for ax in fig.axes for a in ax.get_children() if a.get_gid() == gid]


@pytest.fixture(scope="module")
def birthwt():
    df = load("birthwt.csv")
    return df, ll.fit(BIRTHWT, df), smf.logit(BIRTHWT, df).fit(disp=0)


@pytest.fixture(scope="module")
def three_classes():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(400, 2))
    logits = np.c_[np.zeros(400), X @ [[0.9, -0.4], [0.2, 1.0]] + [0.1, -0.3]]
    P = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = np.array(["a", "b", "c"])[[rng.choice(3, p=p) for p in P]]
    df = pd.DataFrame({"x1": X[:, 0], "x2": X[:, 1], "y": y})
    return df, ll.fit("y ~ x1 + x2", df)


def test_roc_curve_equals_sklearn_with_weights_ties_and_zero_weights():
    df = load_titanic()                     # 32 cells: tied scores, Freq weights (some 0)
    X = titanic_design(df)
    model = ll.LogisticRegression().fit(X, df["Survived"], sample_weight=df["Freq"])
    fig = plots.roc_plot(model, X, df["Survived"], sample_weight=df["Freq"])
    (line,) = by_gid(fig, "roc:Yes")
    p = model.predict_proba(X)[:, 1]
    fpr, tpr, _ = skm.roc_curve(df["Survived"], p, pos_label="Yes", sample_weight=df["Freq"],
                                drop_intermediate=False)
    np.testing.assert_allclose(line.get_xdata(), fpr, rtol=0, atol=1e-15)
    np.testing.assert_allclose(line.get_ydata(), tpr, rtol=0, atol=1e-15)
    auc = skm.roc_auc_score(df["Survived"] == "Yes", p, sample_weight=df["Freq"])
    assert line.get_label().endswith(f"AUC = {auc:.4f}")


def test_one_vs_rest_roc_curves_equal_sklearn(three_classes):
    df, model = three_classes
    fig = plots.roc_plot(model, df, df["y"])
    P = model.predict_proba(df)
    for k, c in enumerate(model.classes_):
        (line,) = by_gid(fig, f"roc:{c}")
        fpr, tpr, _ = skm.roc_curve(df["y"] == c, P[:, k], drop_intermediate=False)
        np.testing.assert_allclose(line.get_xydata(), np.c_[fpr, tpr], atol=1e-15)
        auc = skm.roc_auc_score(df["y"] == c, P[:, k])
        assert f"AUC = {auc:.4f}" in line.get_label()


def test_forest_plot_points_and_intervals_equal_statsmodels(birthwt):
    df, model, ref = birthwt
    fig = plots.forest_plot(model)
    (points,) = by_gid(fig, "odds_ratio")
    (intervals,) = by_gid(fig, "interval")
    terms = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert sorted(terms) == sorted(ref.params.index[1:])   # the intercept is not drawn
    np.testing.assert_allclose(points.get_xdata(), np.exp(ref.params[terms]), rtol=1e-7)
    ci = np.exp(ref.conf_int().loc[terms].to_numpy())
    segments = np.array([seg[:, 0] for seg in intervals.get_segments()])
    np.testing.assert_allclose(segments, ci, rtol=1e-7)
    assert fig.axes[0].get_xscale() == "log"
    assert any(line.get_xdata()[0] == 1.0 for line in fig.axes[0].lines
               if line.get_gid() != "odds_ratio")           # the reference line at 1


def test_forest_plot_multinomial_panels_equal_mnlogit(three_classes):
    df, model = three_classes
    ref = sm.MNLogit(pd.Categorical(df["y"]).codes, sm.add_constant(df[["x1", "x2"]])).fit(
        disp=0, method="newton")
    fig = plots.forest_plot(model, intercept=True)
    points, intervals = by_gid(fig, "odds_ratio"), by_gid(fig, "interval")
    assert len(points) == 2                  # classes b and c against the reference a
    ci = ref.conf_int()
    for k, (pts, segs) in enumerate(zip(points, intervals)):
        np.testing.assert_allclose(pts.get_xdata(), np.exp(ref.params[k]), rtol=1e-6)
        lo_hi = np.exp(ci.loc[str(k + 1)].to_numpy())
        np.testing.assert_allclose([s[:, 0] for s in segs.get_segments()], lo_hi, rtol=1e-6)


def test_forest_plot_of_a_penalized_fit_has_points_only_equal_to_sklearn(birthwt):
    df, _, _ = birthwt
    alpha = 0.02
    model = ll.fit(BIRTHWT, df, alpha=alpha)
    X = model.design_.transform(df)
    sk = SkLogit(C=1 / (alpha * len(df)), tol=1e-12, max_iter=10_000).fit(X, df["low"])
    fig = plots.forest_plot(model)
    (points,) = by_gid(fig, "odds_ratio")
    np.testing.assert_allclose(points.get_xdata(), np.exp(sk.coef_[0]), rtol=1e-5)
    assert [len(c.get_segments()) for c in by_gid(fig, "interval")] == [0]
    assert "penalized" in fig.get_supxlabel()


def test_convergence_plot_shows_the_history(birthwt):
    _, model, _ = birthwt
    fig = plots.convergence_plot(model)
    (gap,) = by_gid(fig, "objective_gap")
    (grad,) = by_gid(fig, "grad_norm")
    f = np.asarray(model.history_["objective"])
    g = np.asarray(model.history_["grad_norm"])
    shown = f - f.min() > 0
    np.testing.assert_array_equal(gap.get_xdata(), np.arange(f.size)[shown])
    np.testing.assert_array_equal(gap.get_ydata(), (f - f.min())[shown])
    np.testing.assert_array_equal(grad.get_xydata(), np.c_[np.arange(g.size), g])
    (tol,) = by_gid(fig, "tol")
    assert tol.get_ydata()[0] == model.tol_
    assert all(ax.get_yscale() == "log" for ax in fig.axes)


def test_calibration_bins_equal_sklearn_and_wilson_intervals_equal_statsmodels(birthwt):
    df, model, _ = birthwt
    fig = plots.calibration_plot(model, df, df["low"], n_bins=8, strategy="quantile")
    (points,) = by_gid(fig, "calibration")
    (cis,) = by_gid(fig, "calibration_ci")
    p = model.predict_proba(df)[:, 1]
    observed, predicted = calibration_curve(df["low"], p, n_bins=8, strategy="quantile")
    np.testing.assert_allclose(points.get_xdata(), predicted, rtol=1e-12)
    np.testing.assert_allclose(points.get_ydata(), observed, rtol=1e-12)
    edges = np.percentile(p, np.linspace(0, 100, 9))
    bins = np.searchsorted(edges[1:-1], p)
    counts = np.bincount(bins, minlength=8)
    events = np.bincount(bins, weights=df["low"].to_numpy(), minlength=8)
    lo, hi = proportion_confint(events, counts, alpha=0.05, method="wilson")
    np.testing.assert_allclose([s[:, 1] for s in cis.get_segments()], np.c_[lo, hi], rtol=1e-9)


def test_probability_histograms_equal_numpy(three_classes):
    df, model = three_classes
    w = np.random.default_rng(0).uniform(0.5, 2, len(df))
    fig = plots.proba_plot(model, df, df["y"], sample_weight=w, bins=10)
    P = model.predict_proba(df)
    assert len(fig.axes) == 3
    for k in range(3):
        for c in model.classes_:
            (steps,) = [a for a in fig.axes[k].get_children() if a.get_gid() == f"hist:{c}"]
            rows = df["y"].to_numpy() == c
            expected, edges = np.histogram(P[rows, k], bins=10, range=(0, 1),
                                           weights=w[rows] / w[rows].sum())
            data = steps.get_data()
            np.testing.assert_allclose(data.values, expected, rtol=1e-12)
            np.testing.assert_allclose(data.edges, edges)


def test_explain_waterfall_adds_up_to_statsmodels_logit(birthwt):
    df, model, ref = birthwt
    row = 7
    fig = plots.explain_plot(model, df, row)
    bars = by_gid(fig, "contribution")
    (total,) = by_gid(fig, "logit")
    x = ref.model.exog[row]
    contributions = dict(zip(ref.params.index, ref.params.to_numpy() * x))
    widths = [b.get_width() for b in bars]
    assert widths[0] == pytest.approx(contributions.pop("Intercept"), rel=1e-7)
    # then by decreasing |contribution|
    expected = sorted(contributions.values(), key=lambda v: -abs(v))
    np.testing.assert_allclose(widths[1:], expected, rtol=1e-6, atol=1e-12)
    starts = np.cumsum([0.0, *widths[:-1]])
    np.testing.assert_allclose([b.get_x() for b in bars], starts, atol=1e-12)
    z = float(ref.predict(df.iloc[[row]], which="linear").iloc[0])
    assert total.get_width() == pytest.approx(z, rel=1e-7)
    p = 1 / (1 + np.exp(-z))
    assert f"= {p:.4f}" in fig._suptitle.get_text()


def test_multinomial_waterfall_has_one_panel_per_estimated_logit(three_classes):
    df, model = three_classes
    fig = plots.explain_plot(model, df, 5)
    totals = [a for ax in fig.axes for a in ax.get_children() if a.get_gid() == "logit"]
    z = model.decision_function(df.iloc[[5]])[0]
    assert len(totals) == 2                  # the reference class's logit is 0
    np.testing.assert_allclose([t.get_width() for t in totals], z[1:], rtol=1e-10)


def test_figures_leave_pyplot_alone_and_render_in_notebooks(birthwt):
    import matplotlib
    import matplotlib.pyplot as plt
    df, model, _ = birthwt
    backend, before = matplotlib.get_backend(), plt.get_fignums()
    figs = [plots.forest_plot(model), plots.roc_plot(model, df, df["low"]),
            plots.calibration_plot(model, df, df["low"]), plots.proba_plot(model, df, df["low"]),
            plots.convergence_plot(model), plots.explain_plot(model, df, 0)]
    assert plt.get_fignums() == before and matplotlib.get_backend() == backend
    for fig in figs:
        assert isinstance(fig, matplotlib.figure.Figure)
        assert fig._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"
    for fig in figs[:2]:
        assert pickle.loads(pickle.dumps(fig))._repr_png_()[:4] == b"\x89PNG"


def test_bad_labels_are_a_clear_error(birthwt):
    df, model, _ = birthwt
    with pytest.raises(ValueError, match="labels the model does not know.*row 0"):
        plots.roc_plot(model, df, np.full(len(df), 7))
    with pytest.raises(ValueError, match="189 rows"):
        plots.proba_plot(model, df, df["low"], sample_weight=np.ones(3))


def test_path_plot_equals_sklearn_fold_scores_and_refits(birthwt):
    """The CV curve from scikit-learn fits on the same folds; the path from refits on all rows."""
    from sklearn.model_selection import StratifiedKFold
    df, _, _ = birthwt
    model = ll.fit(BIRTHWT, df, cv=3, cv_options={"alphas": 6})
    cv = model.cv_
    fig = plots.path_plot(model)
    X = model.design_.transform(df).to_numpy()
    y = df["low"].to_numpy()
    scores, sizes = [], []
    for train, test in StratifiedKFold(3).split(X, y):
        sizes.append(len(test))
        row = []
        for a in cv.alphas_:
            sk = SkLogit(C=1 / (a * len(train)), tol=1e-12, max_iter=100_000).fit(X[train], y[train])
            row.append(skm.log_loss(y[test], sk.predict_proba(X[test])[:, 1]))
        scores.append(row)
    scores, W = np.array(scores), np.array(sizes, dtype=float)
    mean = W @ scores / W.sum()
    se = np.sqrt(W @ (scores - mean) ** 2 / W.sum() / (len(W) - 1))
    (line,) = by_gid(fig, "cv_mean")
    np.testing.assert_allclose(line.get_xdata(), cv.alphas_)
    np.testing.assert_allclose(line.get_ydata(), mean, rtol=1e-6)
    (bars,) = by_gid(fig, "cv_se")
    np.testing.assert_allclose([s[:, 1] for s in bars.get_segments()], np.c_[mean - se, mean + se],
                               rtol=1e-5)
    chosen = by_gid(fig, "alpha_chosen")             # on both panels
    assert [c.get_xdata()[0] for c in chosen] == [cv.alphas_[np.argmin(mean)]] * 2
    for j in (0, 3, 5):                       # the path: refits on all rows
        sk = SkLogit(C=1 / (cv.alphas_[j] * len(y)), tol=1e-12, max_iter=100_000).fit(X, y)
        for name, coef in zip(model.design_.columns, sk.coef_[0]):
            (path,) = by_gid(fig, f"path:1:{name}")
            assert path.get_ydata()[j] == pytest.approx(coef, rel=1e-5, abs=1e-9), (j, name)


def test_path_plot_refuses_a_model_without_cross_validation(birthwt):
    _, model, _ = birthwt
    with pytest.raises(ValueError, match="cross-validation"):
        plots.path_plot(model)
