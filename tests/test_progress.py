"""``verbose=``: the progress display of fits, CV paths, profile intervals, Dask
fits and the command line (:mod:`logitlab.core.progress`).

What is displayed is checked against what the same fit records: the iterations
shown are 0..``n_iter_``, the objective and gradient norms shown are
``history_``'s; the CV shows folds × alphas (+ the refit path) fits done in the
order they are fitted; profile intervals show each term of ``conf_int``. A fit
with progress gives exactly the result of the same fit without it; nothing is
written when the output is not interactive (pytest captures it: not a
terminal) unless ``verbose="always"``.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

import logitlab
from logitlab import LogisticRegression, LogisticRegressionCV
from logitlab.core import progress

ITERATION = re.compile(r"logitlab fit: iteration +(\d+)  objective (\S+)  max\|gradient\| (\S+)")
STEP = re.compile(r"(.+): (\d+)/(\d+) done \((.*)\)  elapsed")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture(autouse=True)
def _no_forced_terminal(monkeypatch):
    """rich takes FORCE_COLOR / TTY_COMPATIBLE (set by some CI runners) to mean a
    terminal; these tests decide what the output is themselves."""
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)


def _data(n=400, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (X @ np.linspace(-1, 1, d) + rng.logistic(size=n) > 0).astype(int)
    return X, y


def _iterations(text):
    """``(iterations, objectives, grad norms)`` of the iteration lines in ``text``."""
    rows = [(int(i), float(f), float(g)) for i, f, g in ITERATION.findall(text)]
    return tuple(np.array(c) for c in zip(*rows)) if rows else (np.array([]),) * 3


def _check_matches_history(text, model):
    it, f, g = _iterations(text)
    np.testing.assert_array_equal(it, np.arange(model.n_iter_ + 1))
    # printed with 12 significant digits (objective) and 4 (gradient norm)
    np.testing.assert_allclose(f, model.history_["objective"], rtol=1e-11, atol=0)
    np.testing.assert_allclose(g, model.history_["grad_norm"], rtol=1e-3, atol=0)


@pytest.mark.parametrize("params", [dict(), dict(solver="lbfgs"),
                                    dict(penalty="l1", alpha=0.01, solver="cd"),
                                    dict(penalty="l2", alpha=0.1, solver="newton-cg")],
                         ids=["newton", "lbfgs", "cd-l1", "newton-cg-l2"])
def test_forced_lines_are_the_fits_history_and_change_nothing(capsys, params):
    X, y = _data()
    quiet = LogisticRegression(**params).fit(X, y)
    capsys.readouterr()
    shown = LogisticRegression(verbose="always", **params).fit(X, y)
    out = capsys.readouterr()
    assert out.out == ""                         # progress goes to stderr only
    _check_matches_history(out.err, shown)
    np.testing.assert_array_equal(shown.coef_, quiet.coef_)
    np.testing.assert_array_equal(shown.intercept_, quiet.intercept_)
    np.testing.assert_array_equal(shown.history_["objective"], quiet.history_["objective"])
    assert shown.n_iter_ == quiet.n_iter_


@pytest.mark.parametrize("verbose", [1, 2, True])
def test_quiet_when_the_output_is_not_interactive(capsys, verbose):
    X, y = _data()
    capsys.readouterr()
    model = LogisticRegression(verbose=verbose).fit(X, y)
    model.conf_int(method="profile")
    LogisticRegressionCV(alphas=3, cv=3, verbose=verbose).fit(X, y)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def _terminal(monkeypatch, width=200):
    """Progress written to a rich Console that takes itself for a terminal."""
    from rich.console import Console
    buffer = io.StringIO()
    monkeypatch.setattr(progress, "output_console",
                        lambda: Console(file=buffer, force_terminal=True, width=width,
                                        highlight=False))
    return buffer


def test_terminal_live_display_with_a_line_per_iteration(monkeypatch):
    buffer = _terminal(monkeypatch)
    X, y = _data()
    model = LogisticRegression(solver="lbfgs", verbose=2).fit(X, y)
    text = ANSI.sub("", buffer.getvalue())
    _check_matches_history(text, model)
    # the live status line's last state: the last iteration, its objective
    last = re.findall(r"iteration (\d+)  objective (\S+)  max\|grad\|", text)[-1]
    assert int(last[0]) == model.n_iter_
    assert float(last[1]) == pytest.approx(model.history_["objective"][-1], rel=1e-9)


def test_terminal_level_one_shows_only_the_live_line(monkeypatch):
    buffer = _terminal(monkeypatch)
    X, y = _data()
    model = LogisticRegression(verbose=1).fit(X, y)
    text = ANSI.sub("", buffer.getvalue())
    assert ITERATION.findall(text) == []         # no per-iteration lines at level 1
    last = re.findall(r"iteration (\d+)  objective (\S+)", text)[-1]
    assert int(last[0]) == model.n_iter_


def test_without_rich_lines_go_to_stderr_as_plain_text(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "rich", None)          # import rich fails
    monkeypatch.setitem(sys.modules, "rich.console", None)
    X, y = _data()
    capsys.readouterr()
    model = LogisticRegression(verbose="always").fit(X, y)
    _check_matches_history(capsys.readouterr().err, model)


def test_no_rich_import_and_no_output_when_off():
    code = ("import sys, numpy as np\n"
            "from logitlab import LogisticRegression\n"
            "rng = np.random.default_rng(0); X = rng.normal(size=(200, 3))\n"
            "y = (X[:, 0] + rng.logistic(size=200) > 0).astype(int)\n"
            "m = LogisticRegression().fit(X, y)\n"
            "assert m.get_params()['verbose'] == 0\n"
            "print('rich' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False" and out.stderr == ""


@pytest.mark.parametrize("refit", [True, False])
def test_cv_shows_folds_times_alphas_done_in_fit_order(capsys, refit):
    X, y = _data(n=300)
    quiet = LogisticRegressionCV(alphas=4, cv=3, refit=refit).fit(X, y)
    capsys.readouterr()
    shown = LogisticRegressionCV(alphas=4, cv=3, refit=refit, verbose="always").fit(X, y)
    rows = STEP.findall(capsys.readouterr().err)
    k, A = quiet.scores_.shape
    total = k * A + (A if refit else 0)
    assert [int(r[1]) for r in rows] == list(range(1, total + 1))
    assert {int(r[2]) for r in rows} == {total}
    assert {r[0] for r in rows} == {f"CV {k} folds × {A} alphas" + (" + refit" if refit else "")}
    expected = [f"fold {f + 1}/{k}, alpha {j + 1}/{A} = {a:.4g}"
                for f in range(k) for j, a in enumerate(quiet.alphas_)]
    if refit:
        expected += [f"refit, alpha {j + 1}/{A} = {a:.4g}" for j, a in enumerate(quiet.alphas_)]
    assert [r[3] for r in rows] == expected
    np.testing.assert_array_equal(shown.scores_, quiet.scores_)
    np.testing.assert_array_equal(shown.n_iter_, quiet.n_iter_)
    if refit:
        np.testing.assert_array_equal(shown.coef_, quiet.coef_)
        assert shown.best_estimator_.verbose == "always"


def test_profile_intervals_show_each_coefficient(capsys):
    X, y = _data()
    quiet = LogisticRegression().fit(X, y)
    shown = LogisticRegression(verbose="always").fit(X, y)
    capsys.readouterr()
    table = shown.conf_int(method="profile")
    rows = STEP.findall(capsys.readouterr().err)
    terms = [str(t) for t in table.index]
    assert [r[0] for r in rows] == ["profile intervals"] * len(terms)
    assert [(int(r[1]), int(r[2])) for r in rows] == [(i + 1, len(terms))
                                                      for i in range(len(terms))]
    assert sorted(r[3] for r in rows) == sorted(terms)
    pd.testing.assert_frame_equal(table, quiet.conf_int(method="profile"))
    # verbose= given to the profile itself overrides the model's own
    from logitlab.results.profile import profile_ci
    profile_ci(quiet, verbose="always")
    assert len(STEP.findall(capsys.readouterr().err)) == len(terms)


def test_formula_fit_passes_verbose(capsys):
    X, y = _data()
    df = pd.DataFrame(X, columns=list("abcde")).assign(y=y)
    capsys.readouterr()
    model = logitlab.fit("y ~ a + b + c", df, verbose="always")
    _check_matches_history(capsys.readouterr().err, model)
    searched = logitlab.fit("y ~ a + b + c", df, cv=3, cv_options={"alphas": 3},
                            verbose="always")
    assert len(STEP.findall(capsys.readouterr().err)) == 3 * 3 + 3
    assert searched.cv_.verbose == "always"


def test_dask_fit_shows_the_same_iterations(client, capsys):
    da = pytest.importorskip("dask.array")
    X, y = _data(n=2000)
    Xd, yd = da.from_array(X, chunks=(700, 5)), da.from_array(y, chunks=700)
    capsys.readouterr()
    model = LogisticRegression(verbose="always").fit(Xd, yd)
    assert model.engine_ == "dask"
    _check_matches_history(capsys.readouterr().err, model)
    np.testing.assert_allclose(model.coef_, LogisticRegression().fit(X, y).coef_, rtol=1e-8)


def test_cli_fit_uses_the_same_progress(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from logitlab.cli import app
    buffer = _terminal(monkeypatch)
    X, y = _data()
    path = tmp_path / "d.csv"
    pd.DataFrame(X, columns=list("abcde")).assign(y=y).to_csv(path, index=False)
    res = CliRunner().invoke(app, ["fit", str(path), "--formula", "y ~ a + b",
                                   "--out", str(tmp_path / "m.json")])
    assert res.exit_code == 0, res.output
    model = logitlab.load(tmp_path / "m.json")
    assert model.verbose == 0                  # the display is not saved with the model
    text = ANSI.sub("", buffer.getvalue())
    reference = logitlab.fit("y ~ a + b", pd.read_csv(path))
    _check_matches_history(text, reference)


def test_get_params_and_clone_keep_verbose():
    for cls in (LogisticRegression, LogisticRegressionCV):
        assert cls().get_params()["verbose"] == 0
        model = cls(verbose=2)
        assert model.get_params()["verbose"] == 2
        assert clone(model).verbose == 2
        assert clone(model.set_params(verbose="always")).verbose == "always"


@pytest.mark.parametrize("bad", [3, -1, "yes", 0.5, [1]])
def test_bad_verbose_is_a_clear_error_before_any_pass(bad):
    X, y = _data()
    with pytest.raises(ValueError, match=r"verbose must be 0 \(False\), 1 \(True\), 2 or "
                                         r"'always'; got"):
        LogisticRegression(verbose=bad).fit(X, y)
    with pytest.raises(ValueError, match="verbose must be"):
        LogisticRegressionCV(alphas=3, cv=3, verbose=bad).fit(X, y)
    assert [progress.check_verbose(v) for v in (None, False, 0, True, 1, 2, np.int64(2),
                                                "always")] == [0, 0, 0, 1, 1, 2, 2, 3]


def test_notebook_without_ipywidgets_prints_lines(monkeypatch):
    """In a Jupyter kernel the output is interactive even though stderr is no
    terminal; without ipywidgets rich has no live display, so lines are printed
    (at level 1 the last one, at level 2 every one) into the notebook."""
    import rich.jupyter
    from rich.console import Console
    shown = []
    monkeypatch.setattr(rich.jupyter, "display", lambda segments, text: shown.append(text))
    monkeypatch.setattr(progress, "output_console",
                        lambda: Console(force_jupyter=True, width=200, highlight=False))
    monkeypatch.setitem(sys.modules, "ipywidgets", None)          # import ipywidgets fails
    X, y = _data()
    model = LogisticRegression(verbose=2).fit(X, y)
    _check_matches_history("".join(shown), model)
    shown.clear()
    model = LogisticRegression(verbose=1).fit(X, y)
    it, f, _ = _iterations("".join(shown))
    assert it[-1] == model.n_iter_ and f[-1] == pytest.approx(model.objective_, rel=1e-11)


def test_float64_polish_restarts_the_count_and_history_joins_both_runs(capsys):
    """A float32-arithmetic fit polished in float64 is two solver runs: the
    display shows both (each from iteration 0); ``history_`` is the first run
    and the second without its start point (the first run's end)."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(20_000, 53)).astype(np.float32)      # >= 2**20 entries: float32 path
    y = (X[:, :5].sum(axis=1) + rng.logistic(size=20_000) > 0).astype(int)
    capsys.readouterr()
    model = LogisticRegression(alpha=1e-3, solver="lbfgs", polish=True,
                               verbose="always").fit(X, y)
    assert "polished" in model.results_.solver.flags
    it, f, _ = _iterations(capsys.readouterr().err)
    restart = int(np.flatnonzero(it == 0)[1])
    first, second = it[:restart], it[restart:]
    np.testing.assert_array_equal(first, np.arange(first.size))
    np.testing.assert_array_equal(second, np.arange(second.size))
    assert first[-1] + second[-1] == model.n_iter_
    np.testing.assert_allclose(np.concatenate([f[:restart], f[restart + 1:]]),
                               model.history_["objective"], rtol=1e-11, atol=0)
