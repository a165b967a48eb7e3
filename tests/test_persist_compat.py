"""Model files written by an earlier logitlab still load and predict.

The files in ``tests/data/models/`` were written by logitlab 0.1.0 (model file
format version 1, ``tests/data/models/make_models.py``) and are never
regenerated. Reference for each: a fresh fit of the same data by today's code
(the fits are deterministic and converge to 1e-10 in the gradient), and the
closed-form probabilities ``sigmoid`` / ``softmax`` of the stored coefficients.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, softmax

import logitlab
from logitlab import LogisticRegression
from logitlab.results.inference import coef_table

DATA = Path(__file__).parent / "data"
MODELS = DATA / "models"


def bw():
    return pd.read_csv(DATA / "birthwt.csv")


def _cases():
    b = bw()
    iris = pd.read_csv(DATA / "iris.csv")
    sex2 = pd.read_csv(DATA / "sex2.csv")
    X = b[["age", "lwt", "smoke", "ht"]]
    terms = ["age", "oc", "vic", "vicl", "vis", "dia"]
    return {
        "binary_frame": (lambda: LogisticRegression().fit(X, b.low), X),
        "binary_hc1": (lambda: LogisticRegression(cov_type="HC1").fit(X, b.low), X),
        "binary_l2_numpy": (lambda: LogisticRegression(alpha=0.01).fit(X.to_numpy(), b.low),
                            X.to_numpy()),
        "formula_binary": (lambda: logitlab.fit("low ~ age + lwt + C(race) + smoke + I(age**2)",
                                                b), b),
        "multinomial": (lambda: LogisticRegression().fit(b[["age", "lwt", "smoke"]], b.race),
                        b[["age", "lwt", "smoke"]]),
        "multinomial_l2": (lambda: LogisticRegression(alpha=0.05).fit(
            iris.drop(columns="target"), iris.target), iris.drop(columns="target")),
        "firth": (lambda: LogisticRegression(penalty="firth").fit(
            sex2[terms].astype(float), sex2.case), sex2[terms].astype(float)),
    }


CASES = _cases()


@pytest.mark.parametrize("name", sorted(CASES))
def test_old_model_file_predicts_as_a_fresh_fit(name):
    make, X = CASES[name]
    old = logitlab.load(MODELS / f"{name}.json")
    fresh = make()
    np.testing.assert_allclose(old.predict_proba(X), fresh.predict_proba(X), rtol=1e-8, atol=1e-12)
    np.testing.assert_array_equal(old.predict(X), fresh.predict(X))
    np.testing.assert_array_equal(old.classes_, fresh.classes_)


@pytest.mark.parametrize("name", ["binary_frame", "binary_l2_numpy", "multinomial"])
def test_old_model_file_probabilities_are_the_closed_form_of_its_coefficients(name):
    _, X = CASES[name]
    doc = json.loads((MODELS / f"{name}.json").read_text())
    lay = doc["state"]["layout"]
    d, C = lay["n_features"], len(lay["free_classes"])
    W = np.asarray(doc["state"]["coef"]).reshape(d + lay["fit_intercept"], C)
    Z = np.asarray(X, dtype=float) @ W[:d] + W[d]
    P = logitlab.load(MODELS / f"{name}.json").predict_proba(X)
    if lay["n_classes"] == 2:
        np.testing.assert_allclose(P[:, 1], expit(Z[:, 0]), rtol=1e-12)
    else:
        full = np.zeros((Z.shape[0], lay["n_classes"]))
        full[:, lay["free_classes"]] = Z
        np.testing.assert_allclose(P, softmax(full, axis=1), rtol=1e-12)


@pytest.mark.parametrize("name", ["binary_frame", "binary_hc1", "formula_binary",
                                  "multinomial", "firth"])
def test_old_model_file_keeps_its_inference(name):
    make, _ = CASES[name]
    old, fresh = logitlab.load(MODELS / f"{name}.json"), make()
    a, b = coef_table(old), coef_table(fresh)
    assert list(a.index) == list(b.index)
    for col in ["coef", "std_err", "p_value"]:
        np.testing.assert_allclose(a[col], b[col], rtol=1e-7, err_msg=f"{name} {col}")
