"""The Dask engine gives the in-memory answer (to 1e-8) and independent references.

One LocalCluster (2 worker processes, 1 thread each, loopback) for the module.
References: the in-memory fit on the same rows (engine equivalence), and
statsmodels / scikit-learn fits computed here.
"""

import json
import os
import signal
import warnings

import numpy as np
import pandas as pd
import pytest

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
import dask.array as da  # noqa: E402
import dask.dataframe as dd  # noqa: E402

import logitlab  # noqa: E402
from logitlab import LogisticRegression  # noqa: E402
from logitlab.results.inference import coef_table  # noqa: E402

RTOL = 1e-8
CHUNKS = (900, 0, 37, 1663, 0, 400)        # uneven, with empty partitions
N = sum(CHUNKS)


def _data(seed=0, n=N, d=4, K=2):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    B = rng.normal(scale=0.7, size=(d, K))
    Z = X @ B + rng.normal(scale=0.3, size=K)
    if K == 2:
        y = (rng.random(n) < 1 / (1 + np.exp(-(Z[:, 1] - Z[:, 0])))).astype(int)
    else:
        P = np.exp(Z - Z.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        y = (rng.random(n)[:, None] > P.cumsum(axis=1)).sum(axis=1)
    w = rng.uniform(0.2, 3.0, n)
    return X, y, w


def _dask(*arrays):
    return [da.from_array(a, chunks=(CHUNKS,) + tuple((s,) for s in a.shape[1:]))
            for a in arrays]


def _rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def _same_fit(m_dask, m_mem, inference=True):
    assert _rel(m_dask.coef_, m_mem.coef_) < RTOL
    assert _rel(m_dask.intercept_, m_mem.intercept_) < RTOL
    if inference:
        a, b = coef_table(m_dask, 0.95), coef_table(m_mem, 0.95)
        assert list(a.index) == list(b.index)
        assert _rel(a["std_err"], b["std_err"]) < RTOL
        assert _rel(m_dask.inference_state_["loglik_null"],
                    m_mem.inference_state_["loglik_null"]) < RTOL


@pytest.mark.parametrize("case", ["plain", "weighted", "balanced_offset", "l2", "l1",
                                  "newton_cg"])
def test_binary_matches_memory(client, case):
    X, y, w = _data(1)
    kw, fit_kw = {}, {}
    if case == "weighted":
        fit_kw["sample_weight"] = w
    if case == "balanced_offset":
        kw["class_weight"] = "balanced"
        fit_kw["offset"] = 0.3 * X[:, 0]
    if case == "l2":
        kw = {"alpha": 0.02}
    if case == "l1":
        kw = {"penalty": "l1", "alpha": 0.01}
    if case == "newton_cg":      # Hessian-vector products from curvature kept on the workers
        kw = {"solver": "newton-cg"}
    Xd, yd = _dask(X, y)
    dfit = {k: _dask(v)[0] for k, v in fit_kw.items()}
    m_dask = LogisticRegression(**kw).fit(Xd, yd, **dfit)
    m_mem = LogisticRegression(**kw).fit(X, y, **fit_kw)
    assert m_dask.engine_ == "dask" and m_dask.n_partitions_ == 4   # empty ones dropped
    _same_fit(m_dask, m_mem, inference=case in ("plain", "weighted", "balanced_offset",
                                                "newton_cg"))
    if case == "weighted":       # and an independent reference: statsmodels GLM
        sm = pytest.importorskip("statsmodels.api")
        ref = sm.GLM(y, sm.add_constant(X), family=sm.families.Binomial(),
                     freq_weights=w).fit(tol=1e-12)
        table = coef_table(m_dask, 0.95)
        assert _rel(table["coef"].to_numpy(), np.r_[ref.params[0], ref.params[1:]]) < 1e-7
        assert _rel(table["std_err"].to_numpy(), np.r_[ref.bse[0], ref.bse[1:]]) < 1e-7
    if case == "l2":             # scikit-learn with C = 1 / (alpha n)
        from sklearn.linear_model import LogisticRegression as SkLR
        sk = SkLR(C=1 / (0.02 * N), tol=1e-12, max_iter=10000).fit(X, y)
        assert _rel(m_dask.coef_, sk.coef_) < 1e-6


def _frame_with_empty_partitions(df, sizes=CHUNKS, keep_index=False):
    cuts = np.cumsum((0,) + sizes)
    pieces = [dask.delayed(df.iloc[a:b] if keep_index else df.iloc[a:b].reset_index(drop=True))
              for a, b in zip(cuts, cuts[1:])]
    return dd.from_delayed(pieces, meta=df.iloc[:0])


@pytest.mark.parametrize("alpha", [0.0, 0.01])
def test_multinomial_dataframe_matches_memory(client, alpha):
    X, y, w = _data(2, K=3)
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    df["label"] = np.array(["lo", "mid", "hi"])[y]
    df["w"] = w
    ddf = _frame_with_empty_partitions(df)
    m_dask = LogisticRegression(alpha=alpha).fit(ddf, "label", sample_weight="w")
    m_mem = LogisticRegression(alpha=alpha).fit(df[["a", "b", "c", "d"]], df["label"],
                                                sample_weight=w)
    assert list(m_dask.feature_names_in_) == ["a", "b", "c", "d"]
    assert m_dask.classes_.tolist() == m_mem.classes_.tolist()
    _same_fit(m_dask, m_mem, inference=alpha == 0)
    if alpha == 0:               # statsmodels MNLogit (frequency weights = repeated rows)
        sm = pytest.importorskip("statsmodels.api")
        ref = sm.MNLogit(m_mem.classes_.searchsorted(df["label"])[:300],
                         sm.add_constant(X[:300])).fit(method="newton", disp=0, tol=1e-12)
        m_small = LogisticRegression().fit(da.from_array(X[:300], chunks=(120, 4)),
                                         df["label"].to_numpy()[:300])
        assert _rel(m_small.coef_vs_reference_, ref.params[1:].T) < 1e-7


def test_cluster_covariance_matches_memory(client):
    X, y, _ = _data(3)
    groups = np.random.default_rng(3).integers(0, 40, N)
    Xd, yd, gd = _dask(X, y, groups)
    m_dask = LogisticRegression(cov_type="cluster").fit(Xd, yd, groups=gd)
    m_mem = LogisticRegression(cov_type="cluster").fit(X, y, groups=groups)
    _same_fit(m_dask, m_mem)
    assert m_dask.inference_state_["n_clusters"] == 40


def test_parquet_glob_streamed_matches_memory(client, tmp_path):
    X, y, w = _data(4)
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(y=y, w=w)
    for i, (a, b) in enumerate([(0, 1000), (1000, 1000), (1000, 2500), (2500, N)]):
        df.iloc[a:b].to_parquet(tmp_path / f"part{i}.parquet")
    model = LogisticRegression(engine_options={"persist": False})
    m_dask = model.fit(str(tmp_path / "*.parquet"), "y", sample_weight="w")
    assert m_dask.n_partitions_ == 3
    m_mem = LogisticRegression().fit(df[["a", "b", "c", "d"]], y, sample_weight=w)
    _same_fit(m_dask, m_mem)


def test_formula_matches_memory(client):
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"age": rng.normal(40, 10, N), "g": rng.choice(list("abcd"), N),
                       "k": rng.integers(1, 4, N), "w": rng.uniform(0.5, 2, N)})
    z = 0.03 * (df.age - 40) + df.g.map({"a": 0, "b": 0.5, "c": -0.3, "d": 0.1})
    df["y"] = np.where(rng.random(N) < 1 / (1 + np.exp(-z)), "yes", "no")
    df.loc[7, "age"] = np.nan
    df = df.sort_values("g", kind="stable").reset_index(drop=True)   # partitions lack levels
    formula = "y ~ np.log(age) + C(g) + C(k) + age:g"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", logitlab.data.io.MissingValuesWarning)
        m_dask = logitlab.fit(formula, _frame_with_empty_partitions(df), missing="drop",
                              sample_weight="w")
        m_mem = logitlab.fit(formula, df, missing="drop", sample_weight="w")
    assert m_dask.design_.columns == m_mem.design_.columns
    assert m_dask.design_.n_dropped == 1
    _same_fit(m_dask, m_mem)
    np.testing.assert_allclose(m_dask.predict_proba(df.iloc[:50]), m_mem.predict_proba(df.iloc[:50]),
                               rtol=1e-10)
    with pytest.raises(logitlab.data.formula.FormulaError, match="center"):
        logitlab.fit("y ~ center(age)", dd.from_pandas(df, npartitions=2))


def test_csv_on_dask_reads_as_in_memory_and_refuses_typos(client, tmp_path):
    """The reading rules of logitlab.io on Dask CSV paths: 'None' is a level
    (missing only with na_values), a header naming a column twice, a column of
    numbers with a text entry and label variants are errors naming them."""
    rng = np.random.default_rng(8)
    n = 600
    df = pd.DataFrame({"x": rng.normal(size=n).round(4),
                       "g": rng.choice(["None", "a", "b"], n)})
    df["y"] = (rng.random(n) < 1 / (1 + np.exp(-df.x))).astype(int)
    path = tmp_path / "d.csv"
    df.to_csv(path, index=False)
    m_dask = logitlab.fit("y ~ x + g", str(path), engine="dask")
    m_mem = logitlab.fit("y ~ x + g", df)
    assert m_dask.design_.columns == m_mem.design_.columns == ["x", "g[T.a]", "g[T.b]"]
    _same_fit(m_dask, m_mem)
    with pytest.raises(ValueError, match=r"'g': \d+ rows \(first row \d+\)"):
        logitlab.fit("y ~ x + g", str(path), engine="dask", na_values=["None"])
    typo = df.astype({"x": object})
    typo.loc[[40, 41], "x"] = "thirteen"
    typo.to_csv(tmp_path / "typo.csv", index=False)    # beyond the rows Dask infers types on
    with pytest.raises(ValueError) as err:
        logitlab.fit("y ~ x + g", str(tmp_path / "typo.csv"), engine="dask")
    assert str(err.value) == ("column 'x' of the CSV files read as numbers in the first rows "
                              "but hold text further on (text such as 'thirteen'). Correct "
                              "those values (or, if they mean missing, list them in "
                              "na_values); Dask cannot name their rows.")
    typo.loc[[2, 41], "x"] = "?"                       # within them: the rows are named
    typo.to_csv(tmp_path / "typo.csv", index=False)
    with pytest.raises(ValueError) as err:
        logitlab.fit("y ~ x + g", str(tmp_path / "typo.csv"), engine="dask")
    assert str(err.value).startswith("column 'x' holds numbers but also text in 3 rows: "
                                     "'?' (2 rows, first row 2), 'thirteen' (row 40).")
    cased = df.astype({"g": object})
    cased.loc[5, "g"] = "A"
    cased.to_csv(tmp_path / "cased.csv", index=False)
    with pytest.raises(ValueError, match=r"'a' \(\d+ rows\), 'A' \(1 row\)"):
        logitlab.fit("y ~ x + g", str(tmp_path / "cased.csv"), engine="dask")
    (tmp_path / "dup.csv").write_text("y,x,x\n0,1,2\n1,2,3\n")
    with pytest.raises(ValueError, match="the header names the same column more than once"):
        logitlab.fit("y ~ x", str(tmp_path / "dup.csv"), engine="dask")


def test_input_errors_name_global_rows(client):
    X, y, _ = _data(6)
    X[2500, 2] = np.nan
    with pytest.raises(ValueError, match=r"column 2: 1 rows \(first row 2500\)"):
        LogisticRegression().fit(*_dask(X, y))
    X, y, w = _data(6)
    w[1000] = -1
    with pytest.raises(ValueError, match=r"first row 1000"):
        LogisticRegression().fit(*_dask(X, y), sample_weight=_dask(w)[0])


def test_worker_killed_mid_fit_gives_identical_result(client):
    X, y, w = _data(7)
    Xd, yd, wd = _dask(X, y, w)
    reference = LogisticRegression().fit(Xd, yd, sample_weight=wd)
    killed = []

    def kill_one_worker(iteration, objective, grad_norm):
        if iteration == 2 and not killed:
            pids = client.run(os.getpid)
            address, pid = sorted(pids.items())[0]
            os.kill(pid, signal.SIGKILL)
            killed.append(address)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LogisticRegression(callback=kill_one_worker).fit(Xd, yd, sample_weight=wd)
    assert killed
    np.testing.assert_array_equal(model.coef_, reference.coef_)
    np.testing.assert_array_equal(model.intercept_, reference.intercept_)
    assert model.inference_state_["information"] == reference.inference_state_["information"]
    memory = LogisticRegression().fit(X, y, sample_weight=w)
    _same_fit(model, memory)
    client.wait_for_workers(2, timeout=60)


def test_checkpoint_resume_after_interrupt(client, tmp_path):
    X, y, _ = _data(8, K=3)
    Xd, yd = _dask(X, y)
    path = tmp_path / "fit.ckpt"

    def interrupt(iteration, objective, grad_norm):
        if iteration == 2:
            raise KeyboardInterrupt

    opts = {"checkpoint": str(path)}
    with pytest.raises(KeyboardInterrupt):
        LogisticRegression(engine_options=opts, callback=interrupt).fit(Xd, yd)
    saved = json.loads(path.read_text())
    assert saved["iteration"] == 2
    full = LogisticRegression().fit(X, y)
    resumed = LogisticRegression(engine_options=opts).fit(Xd, yd)
    assert resumed.n_iter_ < full.n_iter_
    _same_fit(resumed, full)
    with pytest.warns(UserWarning, match="not a checkpoint of this fit"):
        LogisticRegression(engine_options=opts).fit(*_dask(X[:, :3], y))


def test_interrupted_save_leaves_no_partial_file(tmp_path, monkeypatch):
    X, y, _ = _data(9)
    model = LogisticRegression().fit(X, y)
    target = tmp_path / "model.json"
    logitlab.save(model, target)
    before = target.read_bytes()

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        logitlab.save(LogisticRegression(alpha=0.1).fit(X, y), target)
    assert target.read_bytes() == before               # old file intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json"]   # no temp file


def test_cli_with_scheduler_address(client, tmp_path):
    from typer.testing import CliRunner

    from logitlab.cli import app
    X, y, _ = _data(10)
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(y=y)
    df.to_parquet(tmp_path / "data.parquet")
    runner = CliRunner()
    address = client.scheduler.address
    out = tmp_path / "m.json"
    res = runner.invoke(app, ["fit", str(tmp_path / "data.parquet"), "-f", "y ~ a + b + c + d",
                              "--dask", address, "--json", "--out", str(out)])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    mem = LogisticRegression().fit(df[["a", "b", "c", "d"]], y)
    coefs = {c["name"]: c for c in doc["terms"]}
    assert _rel([coefs[t]["coef"] for t in "abcd"], mem.coef_[0]) < RTOL
    loaded = logitlab.load(out)
    np.testing.assert_allclose(loaded.predict_proba(df[["a", "b", "c", "d"]]),
                               mem.predict_proba(df[["a", "b", "c", "d"]]), rtol=1e-10)


def test_firth_profile_intervals_and_multinomial_offset_columns(client):
    X, y, _ = _data(11, n=300, d=2)
    Xd, yd = da.from_array(X, chunks=(100, 2)), da.from_array(y, chunks=(100,))
    firth_dask = LogisticRegression(penalty="firth").fit(Xd, yd)
    firth_mem = LogisticRegression(penalty="firth").fit(X, y)
    _same_fit(firth_dask, firth_mem)
    ml_dask, ml_mem = LogisticRegression().fit(Xd, yd), LogisticRegression().fit(X, y)
    assert _rel(ml_dask.conf_int(method="profile")[["ci_low", "ci_high"]],
                ml_mem.conf_int(method="profile")[["ci_low", "ci_high"]]) < 1e-7
    X, y, _ = _data(12, n=300, d=2, K=3)
    off = np.random.default_rng(12).normal(scale=0.2, size=(300, 3))
    df = pd.DataFrame(X, columns=["a", "b"]).assign(y=y, o0=off[:, 0], o1=off[:, 1],
                                                   o2=off[:, 2])
    m_dask = LogisticRegression().fit(dd.from_pandas(df, npartitions=3), "y",
                                      offset=["o0", "o1", "o2"])
    assert list(m_dask.feature_names_in_) == ["a", "b"]
    _same_fit(m_dask, LogisticRegression().fit(df[["a", "b"]], y, offset=off))


# ------------------------------------------------------------------ predictions
PRED_METHODS = ("decision_function", "predict_proba", "predict_log_proba")


def _lazy(value):
    return logitlab.engines.dask.input.is_dask_collection(value)


@pytest.mark.parametrize("K", [2, 3])
def test_predictions_on_dask_array_match_memory(client, K):
    X, y, _ = _data(13, K=K)
    mem = LogisticRegression(threshold=0.3 if K == 2 else 0.5).fit(X, y)
    on_dask = LogisticRegression(threshold=mem.threshold).fit(*_dask(X, y))
    Xd = _dask(X)[0]
    for model in (mem, on_dask):
        for method in PRED_METHODS:
            lazy = getattr(model, method)(Xd)
            assert _lazy(lazy)
            np.testing.assert_allclose(lazy.compute(), getattr(mem, method)(X), rtol=1e-12,
                                       atol=1e-300)
        labels = model.predict(Xd).compute()
        P = mem.predict_proba(X)      # the decision rule, from the in-memory probabilities
        expected = mem.classes_[(P[:, 1] > 0.3).astype(int)] if K == 2 else \
            mem.classes_[np.argmax(P, axis=1)]
        np.testing.assert_array_equal(labels, expected)
    explained = on_dask.explain(Xd).compute()
    reference = mem.explain(X)
    assert list(explained.columns) == list(reference.columns)
    floats = reference.select_dtypes("number").columns
    np.testing.assert_allclose(explained[floats].to_numpy(float),
                               reference[floats].to_numpy(float), rtol=1e-12)


def test_predictions_on_dataframe_keep_index_and_take_offset_column(client):
    X, y, _ = _data(14)
    off = 0.4 * X[:, 1]
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(y=y, off=off, id=np.arange(N))
    df.index = df.index * 10                       # a non-default index is kept
    mem = LogisticRegression().fit(df[["a", "b", "c", "d"]], y, offset=off)
    ddf = _frame_with_empty_partitions(df, keep_index=True)
    proba = mem.predict_proba(ddf, offset="off")   # extra columns (y, id) are ignored
    assert _lazy(proba) and list(proba.columns) == [0, 1]
    got = proba.compute()
    np.testing.assert_array_equal(got.index, df.index)
    np.testing.assert_allclose(got.to_numpy(), mem.predict_proba(df[["a", "b", "c", "d"]],
                                                                 offset=off), rtol=1e-12)
    z = mem.decision_function(ddf, offset="off").compute()
    np.testing.assert_allclose(z.to_numpy(), X @ mem.coef_[0] + mem.intercept_[0] + off,
                               rtol=1e-12)
    with pytest.raises(ValueError, match="lack the feature column 'd'"):
        mem.predict(ddf.drop(columns="d"))


def test_formula_predictions_on_dask_and_unseen_levels(client, tmp_path):
    rng = np.random.default_rng(15)
    df = pd.DataFrame({"age": rng.normal(40, 10, N), "g": rng.choice(list("abc"), N),
                       "k": rng.integers(1, 4, N)})
    z = 0.03 * (df.age - 40) + df.g.map({"a": 0, "b": 0.5, "c": -0.3})
    df["y"] = np.where(rng.random(N) < 1 / (1 + np.exp(-z)), "yes", "no")
    df = df.sort_values("g", kind="stable").reset_index(drop=True)   # partitions lack levels
    formula = "y ~ np.log(age) + C(g) + C(k) + age:g"
    mem = logitlab.fit(formula, df)
    for model in (mem, logitlab.fit(formula, _frame_with_empty_partitions(df))):
        lazy = model.predict_proba(_frame_with_empty_partitions(df))
        np.testing.assert_allclose(lazy.compute().to_numpy(), mem.predict_proba(df), rtol=1e-12)
    for i, (a, b) in enumerate([(0, 1000), (1000, 1000), (1000, N)]):
        df.iloc[a:b].to_parquet(tmp_path / f"part{i}.parquet")
    labels = mem.predict(str(tmp_path / "*.parquet"))           # a glob: read by Dask
    assert _lazy(labels)
    np.testing.assert_array_equal(labels.compute().to_numpy(), mem.predict(df))
    new = df.iloc[:5].assign(g=["a", "b", "zz", "c", "a"])
    with pytest.raises(ValueError, match="levels not seen when fitting"):
        mem.predict_proba(dd.from_pandas(new, npartitions=2)).compute()
    mem.design_.unseen = "reference"                # the in-memory policy applies per partition
    np.testing.assert_allclose(mem.predict_proba(dd.from_pandas(new, npartitions=2)).compute(),
                               mem.predict_proba(new), rtol=1e-12)
    np.testing.assert_allclose(mem.predict_proba(new)[2],
                               mem.predict_proba(new.iloc[[2]].assign(g="a"))[0], rtol=1e-12)


def test_cli_predict_on_dask_writes_partitioned_parquet(client, tmp_path):
    from typer.testing import CliRunner

    from logitlab.cli import app
    X, y, _ = _data(16, K=3)
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(y=y, id=np.arange(N))
    data = tmp_path / "data"
    data.mkdir()
    for i, (a, b) in enumerate([(0, 1200), (1200, 1300), (1300, N)]):
        df.iloc[a:b].to_parquet(data / f"part{i}.parquet")
    model = tmp_path / "m.json"
    logitlab.save(LogisticRegression().fit(df[["a", "b", "c", "d"]], y), model)
    runner = CliRunner()
    out = tmp_path / "preds.parquet"
    res = runner.invoke(app, ["predict", str(model), str(data), "--dask",
                              client.scheduler.address, "--id", "id", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert out.is_dir() and len(list(out.glob("*.parquet"))) == 3
    got = pd.read_parquet(out).sort_values("id").reset_index(drop=True)
    csv = tmp_path / "mem.csv"                      # the in-memory CLI on the same rows
    df.to_parquet(tmp_path / "all.parquet")
    res = runner.invoke(app, ["predict", str(model), str(tmp_path / "all.parquet"), "--id", "id",
                              "--out", str(csv)])
    assert res.exit_code == 0, res.output
    ref = pd.read_csv(csv)
    assert list(got.columns) == list(ref.columns)
    np.testing.assert_array_equal(got["predicted"], ref["predicted"])
    np.testing.assert_allclose(got.drop(columns=["id", "predicted"]).to_numpy(),
                               ref.drop(columns=["id", "predicted"]).to_numpy(), rtol=1e-12)
    res = runner.invoke(app, ["predict", str(model), str(data), "--dask",
                              client.scheduler.address])
    assert isinstance(res.exception, ValueError) and "give --out" in str(res.exception)


@pytest.mark.parametrize("K", [2, 3])
def test_aliased_columns_read_off_the_information_at_the_optimum(client, K):
    X, y, w = _data(17, K=K)
    X = np.column_stack([X, X[:, 0] - 2 * X[:, 2]])        # column 4 is a combination
    Xd, yd, wd = _dask(X, y, w)
    with pytest.warns(logitlab.fitting.diagnostics.CollinearityWarning, match="x4"):
        m_dask = LogisticRegression().fit(Xd, yd, sample_weight=wd)
    with pytest.warns(logitlab.fitting.diagnostics.CollinearityWarning, match="x4"):
        m_mem = LogisticRegression().fit(X, y, sample_weight=w)
    assert m_dask.aliased_ == m_mem.aliased_ == ["x4"]
    _same_fit(m_dask, m_mem, inference=False)
    a, b = coef_table(m_dask, 0.95), coef_table(m_mem, 0.95)
    assert a["std_err"].isna().tolist() == b["std_err"].isna().tolist()
    assert _rel(a["std_err"].dropna(), b["std_err"].dropna()) < RTOL
    sm = pytest.importorskip("statsmodels.api")             # R's glm drops the same column
    if K == 2:
        ref = sm.GLM(y, sm.add_constant(X[:, :4]), family=sm.families.Binomial(),
                     freq_weights=w).fit(tol=1e-12)
        table = coef_table(m_dask, 0.95).drop(index="x4")
        assert _rel(table["std_err"].to_numpy(), np.r_[ref.bse[0], ref.bse[1:]]) < 1e-7


def _aliasing_reference():
    import json
    from pathlib import Path
    data = Path(__file__).parent / "data"
    doc = json.loads((data / "aliasing_r.json").read_text())
    return {d["id"]: d for d in doc["designs"]}, pd.read_csv(data / "aliasing_designs.csv")


@pytest.mark.parametrize("name", ["near_n300_s1_e1e-10", "near_n300_s1_e1e-12", "weights_s2_e1e-09",
                                  "weights_s2_e0", "factor_all_s1", "scales_e1e-12",
                                  "combination_first_e1e-12", "intercept_e1e-12"])
def test_aliased_set_on_dask_is_r_s(client, name):
    """R's aliased set (tests/r/aliasing.R: dqrdc2, tol 1e-11, first-iteration
    weights) on the Dask engine: the R factor is a TSQR over the partitions, or
    the Gram screen at the optimum clears the design."""
    refs, rows = _aliasing_reference()
    ref = refs[name]
    part = rows[rows.design == name]
    X = np.column_stack([part[f"c{j + 1}"].to_numpy() for j in range(len(ref["columns"]))])
    y, w = part.y.to_numpy(), part.w.to_numpy()
    chunks = (60, 0, len(y) - 100, 40)
    Xd = da.from_array(X, chunks=(chunks, X.shape[1]))
    yd, wd = da.from_array(y, chunks=(chunks,)), da.from_array(w, chunks=(chunks,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = LogisticRegression().fit(Xd, yd, sample_weight=wd)
    names = dict(zip([f"x{j}" for j in range(X.shape[1])], ref["columns"]))
    assert sorted(names[a] for a in m.aliased_) == sorted(ref["aliased"])
    # nearly collinear designs R keeps are fitted by QR steps on Dask too: R's deviance
    from logitlab.inference import model_statistics
    deviance = -2.0 * model_statistics(m)["log_likelihood"]
    assert abs(deviance - float(ref["deviance"])) <= 1e-7 * float(ref["deviance"])
