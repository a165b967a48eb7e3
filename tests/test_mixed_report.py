"""The HTML report of a mixed-effects logit, against lme4::glmer.

References: tests/data/glmer_r.json, written by tests/r/glmer.R (R 4.2.2, lme4
1.1.31, tight tolerances): logLik, AIC, BIC, −2 logLik, df, the fixed effects
and their standard errors, VarCorr's standard deviations and correlations,
ranef(condVar = TRUE) and the fitted (conditional) probabilities of the first
rows. The page's numbers are read from its data-key / data-value attributes and
their printed text (parsed with the standard library's HTMLParser); the
caterpillar plot's points and bars from the figure's artists (gids). In a real
Chromium (the conftest's fixture): the pages load without errors,
their images decode and at 1280 px nothing scrolls sideways.

Tolerances (every printed number: within half a unit of its last printed place
plus the reference's own accuracy; its data-value within that accuracy): the
log-likelihood (and AIC, BIC, −2 logLik) of ours and glmer's optima agree to
2e-10 relative (ours the lower deviance), so 1e-9; the estimates in the
likelihood's flat directions less well (bobyqa stops at rhoend 1e-10 in θ: β
and the SDs differ by up to 1.5e-6 relative on the slopes data), so 5e-6 for β,
the SDs, the odds ratios and the probabilities, 1e-5 for the variances and
correlations; glmer's standard errors come from a finite-difference Hessian
(tests/data/README.md) and agree with ours to 5e-6, so 1e-5 for the SE and what
is computed from it (z, the Wald interval), and (z² + 1)·1e-5 for the p-value
(d log p / d log z ≈ −(z² + 1) in the normal tail).
"""

import json
import re
import warnings
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

import logitlab as ll
from logitlab import plots
from logitlab.report import render_report, write_report
from test_report import OUTPUT, Opened

DATA = Path(__file__).parent / "data"
R = json.loads((DATA / "glmer_r.json").read_text())
CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
SLOPES = "y ~ x + (1 + x | g) + (1 | h)"
HOSTILE = "<script>alert(1)</script>"
Z975 = norm.ppf(0.975)


def cbpp_frame():
    df = pd.read_csv(DATA / "glmm_cbpp.csv")
    df["period"] = df["period"].astype(str)
    return df


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """``{name: (data, model, page path)}``: cbpp (a fitted model given to the report,
    row 3 explained) and the slopes model (fitted by the report from its formula)."""
    OUTPUT.mkdir(exist_ok=True)
    cbpp = cbpp_frame()
    model = ll.fit(CBPP, cbpp)
    out = {"cbpp_laplace": (cbpp, model, write_report(model, cbpp, example_row=3,
                                                      out=OUTPUT / "report-mixed-cbpp.html"))}
    slopes = pd.read_csv(DATA / "glmm_slopes.csv")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = write_report(None, slopes, formula=SLOPES, offset="off",
                            out=OUTPUT / "report-mixed-slopes.html")
    assert not [w for w in caught if "constrained_layout" in str(w.message)]
    out["slopes_corr"] = (slopes, ll.fit(SLOPES, slopes, offset="off"), path)
    return out


# ------------------------------------------------------------------ reading the page
class _Tables(HTMLParser):
    """The page's tables: ``{table id: [row]}``, a row ``{"head": text, "term":
    data-term, "keys": {data-key: [(text, data-value), ...]}}``; and the section ids."""

    VOID = {"img", "meta", "br", "link", "input", "hr"}

    def __init__(self):
        super().__init__()
        self.tables, self.sections, self.stack = {}, [], []
        self.table = self.row = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.sections.append(a.get("id"))
        if tag == "table":
            self.table = self.tables.setdefault(a.get("id"), [])
        if tag == "tr" and self.table is not None and self.stack and "tbody" in \
                [t for t, _ in self.stack]:
            self.row = {"head": "", "term": None, "keys": {}}
            self.table.append(self.row)
        record = None
        if self.row is not None and tag == "th" and a.get("scope") == "row":
            self.row["term"] = a.get("data-term")
            record = ["__head__", None, ""]
        elif self.row is not None and "data-key" in a:
            record = [a["data-key"], a.get("data-value"), ""]
        if tag not in self.VOID:
            self.stack.append((tag, record))

    def handle_endtag(self, tag):
        if tag in self.VOID or not self.stack:
            return
        open_tag, record = self.stack.pop()
        assert open_tag == tag, (open_tag, tag)
        if record is not None:
            if record[0] == "__head__":
                self.row["head"] = record[2]
            else:
                self.row["keys"].setdefault(record[0], []).append((record[2], record[1]))
        if tag == "tr":
            self.row = None
        if tag == "table":
            self.table = None

    def handle_data(self, data):
        for _, record in self.stack:
            if record is not None:
                record[2] += data


def read_page(path):
    parser = _Tables()
    parser.feed(Path(path).read_text(encoding="utf-8"))
    return parser


def _shown(text: str) -> float:
    return float(text.replace("\u2009", "").replace("−", "-"))


def _half_unit(text: str) -> float:
    mantissa, _, exponent = text.partition("e")
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    return 0.5 * 10.0 ** (int(exponent or 0) - decimals)


def check(cell, expected, rtol, what):
    """The printed text within half a unit (+ rtol) of ``expected``; the data-value within rtol."""
    text, value = cell
    assert float(value) == pytest.approx(expected, rel=rtol, abs=1e-12), (what, value, expected)
    assert abs(_shown(text) - expected) <= _half_unit(text) + rtol * abs(expected), \
        (what, text, expected)


# ------------------------------------------------------------------ numbers
@pytest.mark.parametrize("name", ["cbpp_laplace", "slopes_corr"])
def test_fit_statistics_equal_glmer(reports, name):
    r = R[name]
    page = read_page(reports[name][2])
    fit = {row["head"]: row["keys"] for row in page.tables["fit-statistics"]}
    for key, label, expected in [("log_likelihood", "log-likelihood", r["logLik"]),
                                 ("aic", "AIC", r["AIC"]), ("bic", "BIC", r["BIC"]),
                                 ("deviance", "deviance (−2 log-likelihood)", r["minus2logLik"])]:
        check(fit[label][key][0], expected, 1e-9, key)
    text, value = fit["observations"]["n_obs"][0]
    assert _shown(text) == float(value) == r["nobs"]
    assert float(fit["residual df"]["df_resid"][0][1]) == r["nobs"] - r["df"]
    assert float(fit["parameters (fixed + covariance)"]["n_params"][0][1]) == r["df"]
    levels = [float(row["keys"]["n_levels"][0][1]) for row in page.tables["fit-statistics"]
              if row["head"].startswith("levels of ")]
    assert levels == list(np.atleast_1d(r["n_levels"]))
    texts = {row["head"]: row for row in page.tables["fit-statistics"]}
    assert "singular (boundary) fit" in texts and not r["singular"]


@pytest.mark.parametrize("name", ["cbpp_laplace", "slopes_corr"])
def test_fixed_effects_table_equals_glmer_with_wald_intervals_and_odds_ratios(reports, name):
    r = R[name]
    page = read_page(reports[name][2])
    rows = page.tables["coefficients"]
    assert len(rows) == len(r["fixef_names"])
    for row, beta, se in zip(rows, r["fixef"].values(), r["se"]):   # glmer's order
        keys, z = row["keys"], beta / se
        lo, hi = beta - Z975 * se, beta + Z975 * se
        check(keys["coef"][0], beta, 5e-6, "coef")
        check(keys["std_err"][0], se, 1e-5, "std_err")
        check(keys["z"][0], z, 1e-5, "z")
        p = 2 * norm.sf(abs(z))
        assert float(keys["p_value"][0][1]) == pytest.approx(p, rel=(z * z + 1) * 1e-5)
        check(keys["ci_low"][0], lo, 1e-5, "ci_low")
        check(keys["ci_high"][0], hi, 1e-5, "ci_high")
        check(keys["odds_ratio"][0], np.exp(beta), 5e-6 * (1 + abs(beta)), "odds_ratio")
        check(keys["or_ci_low"][0], np.exp(lo), 1e-5 * (1 + Z975 * abs(se)), "or_ci_low")
        check(keys["or_ci_high"][0], np.exp(hi), 1e-5 * (1 + Z975 * abs(se)), "or_ci_high")
    assert [row["term"] for row in rows][0] == "(Intercept)"


@pytest.mark.parametrize("name", ["cbpp_laplace", "slopes_corr"])
def test_variance_components_equal_glmer_varcorr(reports, name):
    r = R[name]
    rows = read_page(reports[name][2]).tables["variance-components"]
    expected = []
    for v in r["varcorr"]:
        cols, sds = np.atleast_1d(v["columns"]), np.atleast_1d(v["sd"])
        for j, (col, sd) in enumerate(zip(cols, sds)):
            corr = [v["corr"][j][i] for i in range(j)] if v["corr"] is not None else []
            expected.append((f"{col} | {v['group']}", v["group"], sd, corr))
    assert [(row["term"], row["head"]) for row in rows] == [e[:2] for e in expected]
    for row, (_, _, sd, corr) in zip(rows, expected):
        check(row["keys"]["sd"][0], sd, 5e-6, "sd")
        check(row["keys"]["variance"][0], sd ** 2, 1e-5, "variance")
        shown = row["keys"].get("corr", [])
        assert len(shown) == len(corr)
        for cell, c in zip(shown, corr):
            check(cell, c, 1e-5, "corr")


@pytest.mark.parametrize("name,row", [("cbpp_laplace", 3), ("slopes_corr", 0)])
def test_explained_row_adds_up_to_glmer_conditional_probability(reports, name, row):
    """Fixed part + random part (+ offset) → logit → odds → probability equals
    glmer's fitted value of that row (conditional on the modes)."""
    df, model, path = reports[name]
    mu = R[name]["fitted"][R[name]["fitted_rows"].index(row + 1)]
    steps = {k: v[0] for r_ in read_page(path).tables["explanation"] for k, v in r_["keys"].items()}
    assert float(steps["logit"][1]) == pytest.approx(np.log(mu / (1 - mu)), rel=5e-6)
    assert float(steps["odds"][1]) == pytest.approx(mu / (1 - mu), rel=5e-6)
    check(steps["probability"], mu, 5e-6, "probability")
    heads = [r_["head"] for r_ in read_page(path).tables["explanation"]]
    groups = {"cbpp_laplace": ["herd"], "slopes_corr": ["g", "h"]}[name]
    for g in groups:     # the random part of each grouping factor is a step
        assert any(f"| {g} = {df[g].iloc[row]}" in h for h in heads), (g, heads)
    if name == "slopes_corr":
        assert "(offset)" in heads and any(h.startswith("x | g = ") for h in heads)


@pytest.mark.parametrize("name", ["cbpp_laplace", "slopes_corr"])
def test_caterpillar_plot_shows_glmer_modes_with_1_96_conditional_sd(reports, name):
    _, model, _ = reports[name]
    r = pd.DataFrame(R[name]["ranef"])
    fig = plots.caterpillar_plot(model)
    artists = {a.get_gid(): a for sub in fig.subfigs for ax in sub.axes
               for a in ax.get_children() if a.get_gid()}
    modes = model.ranef()      # the modes agree with glmer's to 7e-6, their SDs to 5e-7
    for group, ref in r.groupby("group", sort=False):       # glmer's modes of some levels
        levels = list(modes[group].index)
        first = modes[group].columns[0]
        # sorted by the first column's mode (lme4's dotplot): the plotted x are increasing
        order = list(np.argsort(modes[group][first].to_numpy(), kind="stable"))
        assert np.all(np.diff(artists[f"ranef:{group}:{first}"].get_xdata()) >= 0)
        for col, sub in ref.groupby("term", sort=False):
            at = [order.index(levels.index(level)) for level in sub["level"]]
            points = artists[f"ranef:{group}:{col}"]
            np.testing.assert_array_equal(points.get_ydata(), np.arange(len(levels)))
            np.testing.assert_allclose(points.get_xdata()[at], sub["value"], rtol=1e-5,
                                       atol=1e-6)
            seg = np.array(artists[f"ranef_ci:{group}:{col}"].get_segments())[at]
            np.testing.assert_allclose(seg[:, 0, 0], sub["value"] - Z975 * sub["condsd"],
                                       rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(seg[:, 1, 0], sub["value"] + Z975 * sub["condsd"],
                                       rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(seg[:, 0, 1], np.arange(len(levels))[at])
    # a factor with more than max_labels (40) levels is drawn without level names
    labelled = [len(sub.axes[0].get_yticklabels()) for sub in fig.subfigs]
    assert labelled == {"cbpp_laplace": [15], "slopes_corr": [0, 8]}[name]
    few = plots.caterpillar_plot(model, max_labels=10)
    assert [len(sub.axes[0].get_yticklabels()) for sub in few.subfigs] == \
        {"cbpp_laplace": [0], "slopes_corr": [0, 8]}[name]


def test_the_page_has_the_mixed_sections_and_not_the_glm_ones(reports):
    for name, (_, model, path) in reports.items():
        page = read_page(path)
        assert page.sections == ["data", "model", "metrics", "forest", "ranef", "roc",
                                 "calibration", "probabilities", "example"], name
        text = Path(path).read_text(encoding="utf-8")
        assert "fig-ranef" in text and "fig-explain" in text and "fig-calibration" in text
        assert "Laplace approximation" in text
        assert "P(y = 1 | b̂)" in text          # the metrics say which probabilities
    html = Path(reports["slopes_corr"][2]).read_text(encoding="utf-8")
    assert "Warnings" not in html               # converged, not singular, offset given


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory):
    """cbpp with a second grouping factor named like a script whose levels are
    markup (and mathtext), herds named <i>h1</i>, …: the page's path."""
    df = cbpp_frame()
    df[HOSTILE] = np.where(df["herd"] % 2 == 0, "<b>even</b>", 'odd & "q" $x$')
    df["herd"] = df["herd"].map(lambda h: f"<i>h{h}</i>")
    model = ll.fit(f"{CBPP} + (1 | `{HOSTILE}`)", df)
    assert model.singular_          # two levels, no variance between them
    out = tmp_path_factory.mktemp("hostile") / "hostile.html"
    return write_report(model, df, out=out, title=f"cbpp {HOSTILE}")


def test_agq_singular_fit_and_hostile_names(hostile_report):
    """The hostile names are escaped everywhere and shown as typed; the variance of
    the two-level factor is 0, and the page says the fit is singular."""
    path = hostile_report
    html = path.read_text(encoding="utf-8")
    assert "<script" not in html and "<b>" not in html and "<i>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;i&gt;h1&lt;/i&gt;" in html
    page = read_page(path)
    heads = [row["head"] for row in page.tables["variance-components"]]
    assert heads == ["herd", HOSTILE]
    fit = {row["head"]: row for row in page.tables["fit-statistics"]}
    assert f"levels of {HOSTILE}" in fit
    assert re.search(r"<aside class='warnings'>.*Singular \(boundary\) fit", html, re.S)
    assert "Note: boundary (singular) fit" in html
    # nAGQ > 1 is named in the fit table (one scalar random effect)
    agq = ll.fit(CBPP, cbpp_frame(), n_agq=9)
    page = render_report(agq, cbpp_frame())
    assert "adaptive Gauss–Hermite quadrature, nAGQ = 9" in page
    r = R["cbpp_agq9"]
    assert re.search(r"data-key='log_likelihood' data-value='([^']+)'", page)
    value = float(re.search(r"data-key='log_likelihood' data-value='([^']+)'", page).group(1))
    assert value == pytest.approx(r["logLik"], rel=1e-6)


def test_errors_and_the_offset_note():
    slopes = pd.read_csv(DATA / "glmm_slopes.csv")
    with pytest.raises(ValueError, match="pass formula="):
        render_report(ll.MixedLogisticRegression(), slopes)
    model = ll.fit(SLOPES, slopes, offset="off")
    page = render_report(model, slopes)             # the offset not given
    assert "fitted with an offset but none was given" in page
    with pytest.raises(ValueError, match="out of range"):
        render_report(model, slopes, offset="off", example_row=1000)


# ------------------------------------------------------------------ in the browser
@pytest.mark.slow
@pytest.mark.parametrize("name", ["cbpp_laplace", "slopes_corr"])
def test_mixed_report_in_chromium_fits_a_1280px_screen(browser, reports, name):  # noqa: F811
    _, _, path = reports[name]
    opened = Opened(browser, path, width=1280, height=800)
    assert opened.console == []
    assert [u for u in opened.requests if not u.startswith("data:")] == [path.resolve().as_uri()]
    images = opened.images()
    assert {fid for *_, fid in images} == {"fig-forest", "fig-ranef", "fig-roc",
                                           "fig-calibration", "fig-probabilities", "fig-explain"}
    for complete, width, decodes, fid in images:
        assert complete and width > 0 and decodes, fid
    tables = opened.js("""() => Array.from(document.querySelectorAll('table')).map(t => {
        const wrap = t.closest('.table-wrap');
        const cells = Array.from(t.querySelectorAll('th, td, td span'));
        return {id: t.id, table: t.scrollWidth, scroll: wrap.scrollWidth,
                client: wrap.clientWidth, wrapRight: wrap.getBoundingClientRect().right,
                right: Math.max(...cells.map(c => c.getBoundingClientRect().right))}; })""")
    assert {"fit-statistics", "coefficients", "variance-components", "metrics",
            "calibration-table", "explanation"} <= {t["id"] for t in tables}
    for t in tables:
        assert t["scroll"] <= t["client"] and t["table"] <= t["client"], t
        assert t["right"] <= t["wrapRight"] + 0.5, t
    overflow = opened.js("""() => [document.documentElement.scrollWidth, window.innerWidth,
        Math.max(...Array.from(document.images).map(i => i.getBoundingClientRect().right))]""")
    assert overflow[0] <= overflow[1] and overflow[2] <= overflow[1]
    opened.page.screenshot(path=str(OUTPUT / f"report-mixed-{name}.png"), full_page=True)
    opened.page.close()


@pytest.mark.slow
def test_hostile_mixed_report_in_chromium_runs_nothing(browser, hostile_report):  # noqa: F811
    opened = Opened(browser, hostile_report)
    assert opened.console == []                   # no dialog, no error
    assert opened.js("() => document.querySelectorAll('script, b, i').length") == 0
    body = opened.js("() => document.body.innerText")
    assert HOSTILE in body and "(Intercept) | herd = <i>h1</i>" in body
    assert opened.js("() => document.querySelector('h1').textContent") == f"cbpp {HOSTILE}"
    assert all(ok for _, _, ok, _ in opened.images())
    opened.page.close()
