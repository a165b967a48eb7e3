"""Ordinal fits on Dask: the same estimates as in memory (which tests/test_ordinal.py
checks against R's clm), for the estimator on a Dask DataFrame with weights, an
offset and an ordered categorical response."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import logitlab

DATA = Path(__file__).parent / "data"


def wine_design():
    df = pd.read_csv(DATA / "wine.csv")
    n = len(df)
    return pd.DataFrame({
        "warm": (df["temp"] == "warm").astype(float), "contact": (df["contact"] == "yes")
        .astype(float), "rating": df["rating"], "w": 1.0 + (np.arange(1, n + 1) % 3),
        "o": 0.1 * df["judge"].astype(float),
        "label": pd.Categorical(df["rating"].map({1: "one", 2: "two", 3: "three", 4: "four",
                                                  5: "five"}),
                                ["one", "two", "three", "four", "five"], ordered=True)})


def test_dask_fit_equals_the_in_memory_fit(client):
    dd = pytest.importorskip("dask.dataframe")
    df = wine_design()
    memory = logitlab.OrderedLogisticRegression().fit(
        df[["warm", "contact"]], df["rating"], sample_weight=df["w"], offset=df["o"])
    ddf = dd.from_pandas(df, npartitions=3)
    on_dask = logitlab.OrderedLogisticRegression(engine="dask").fit(
        ddf[["warm", "contact", "rating", "w", "o"]], "rating", sample_weight="w", offset="o")
    assert on_dask.engine_ == "dask"
    np.testing.assert_allclose(on_dask.coef_, memory.coef_, rtol=1e-10)
    np.testing.assert_allclose(on_dask.thresholds_, memory.thresholds_, rtol=1e-10)
    np.testing.assert_allclose(on_dask.results_.bse, memory.results_.bse, rtol=1e-8)
    np.testing.assert_allclose(on_dask.results_.llf, memory.results_.llf, rtol=1e-12)
    np.testing.assert_allclose(on_dask.predict_proba(df[["warm", "contact"]]),
                               memory.predict_proba(df[["warm", "contact"]]), rtol=1e-9)


def test_dask_ordered_categorical_response_keeps_its_order(client):
    dd = pytest.importorskip("dask.dataframe")
    df = wine_design()
    ddf = dd.from_pandas(df[["warm", "contact", "label"]], npartitions=2)
    m = logitlab.OrderedLogisticRegression(engine="dask").fit(ddf[["warm", "contact", "label"]],
                                                             "label")
    assert list(m.classes_) == ["one", "two", "three", "four", "five"]
    ref = logitlab.OrderedLogisticRegression().fit(df[["warm", "contact"]], df["rating"])
    np.testing.assert_allclose(m.coef_, ref.coef_, rtol=1e-10)
    with pytest.raises(ValueError, match="does not hold"):
        m.nominal_test()


def test_dask_formula_fit_with_a_nominal_term(client):
    """logitlab.fit on a Dask DataFrame with family='ordinal' (and a nominal term)
    equals the in-memory formula fit."""
    dd = pytest.importorskip("dask.dataframe")
    df = pd.read_csv(DATA / "wine.csv")
    df["temp"] = pd.Categorical(df["temp"], ["cold", "warm"])
    df["contact"] = pd.Categorical(df["contact"], ["no", "yes"])
    for nominal in (None, ["contact"]):
        memory = logitlab.fit("rating ~ temp + contact", df, family="ordinal", nominal=nominal)
        on_dask = logitlab.fit("rating ~ temp + contact", dd.from_pandas(df, npartitions=3),
                               family="ordinal", nominal=nominal)
        assert on_dask.engine_ == "dask"
        pd.testing.assert_series_equal(on_dask.results_.params, memory.results_.params,
                                       rtol=1e-9)
        np.testing.assert_allclose(on_dask.results_.llf, memory.results_.llf, rtol=1e-12)
