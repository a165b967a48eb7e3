"""Decision thresholds: the search (vs scikit-learn metrics over every possible
decision set), the model's threshold parameter, predict, explain, summary and
model files (old files without a threshold still load)."""

import hashlib
import json

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from sklearn import metrics as skm
from sklearn.base import clone

import logitlab
from logitlab import LogisticRegression, load, save
from logitlab.evaluation.threshold import best_threshold, threshold_scores

SK = {
    "f1": lambda y, d, w: skm.f1_score(y, d, sample_weight=w, zero_division=0),
    "balanced_accuracy": lambda y, d, w: skm.balanced_accuracy_score(y, d, sample_weight=w),
    "youden": lambda y, d, w: skm.balanced_accuracy_score(y, d, sample_weight=w, adjusted=True),
    "accuracy": lambda y, d, w: skm.accuracy_score(y, d, sample_weight=w),
    "mcc": lambda y, d, w: skm.matthews_corrcoef(y, d, sample_weight=w),
}


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(sorted(SK)), st.booleans(), st.booleans())
def test_best_threshold_is_the_best_decision_set(seed, metric, ties, weighted):
    """Every distinct decision set {p > t} is reached by thresholding at 0, at each
    distinct p, or just below the smallest: scikit-learn's metric over all of them
    has the same maximum, reached at the chosen threshold."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 40))
    p = rng.integers(0, 9, n) / 8 if ties else rng.uniform(size=n)
    y = (rng.uniform(size=n) < p).astype(int)
    y[:2] = [0, 1]
    w = rng.uniform(0.1, 2, n) if weighted else None
    t, value = best_threshold(y.astype(float), p, np.ones(n) if w is None else w, metric)
    candidates = np.r_[np.unique(p), np.unique(p)[0] - 1e-9]
    brute = max(SK[metric](y, (p > c).astype(int), w) for c in candidates if c >= 0)
    assert value == pytest.approx(brute, rel=1e-10, abs=1e-12)
    assert SK[metric](y, (p > t).astype(int), w) == pytest.approx(value, rel=1e-10, abs=1e-12)
    assert 0 <= t <= 1


def test_youden_is_the_roc_maximum():
    rng = np.random.default_rng(1)
    p = rng.uniform(size=300)
    y = (rng.uniform(size=300) < p).astype(int)
    fpr, tpr, _ = skm.roc_curve(y, p, drop_intermediate=False)
    _, value = best_threshold(y.astype(float), p, np.ones(300), "youden")
    assert value == pytest.approx(np.max(tpr - fpr), rel=1e-12)
    ts, scores = threshold_scores(y.astype(float), p, np.ones(300), "youden")
    assert np.all(np.diff(ts) > 0) and ts.size == np.unique(p).size + 1


def test_unknown_metric():
    with pytest.raises(ValueError, match="metric must be one of"):
        best_threshold(np.array([0.0, 1.0]), np.array([0.2, 0.8]), np.ones(2), "auc")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(400, 3))
    y = np.where(rng.uniform(size=400) < 1 / (1 + np.exp(-(X @ [1.0, -1.0, 0.5] - 1))), "yes", "no")
    return X, y


def test_model_threshold_predict_tune_evaluate(data, tmp_path):
    X, y = data
    model = LogisticRegression().fit(X[:250], y[:250])
    p = model.predict_proba(X)[:, 1]
    np.testing.assert_array_equal(model.predict(X), np.where(p > 0.5, "yes", "no"))
    w = np.random.default_rng(0).uniform(0.5, 2, 150)
    model.tune_threshold(X[250:], y[250:], metric="f1", sample_weight=w)
    t = model.threshold
    assert t != 0.5 and model.get_params()["threshold"] == t
    expected_f1 = skm.f1_score(y[250:], np.where(p[250:] > t, "yes", "no"), pos_label="yes",
                               sample_weight=w)
    assert model.threshold_score_ == pytest.approx(expected_f1, rel=1e-12)
    np.testing.assert_array_equal(model.predict(X), np.where(p > t, "yes", "no"))
    scores = model.evaluate(X[250:], y[250:], sample_weight=w)
    assert scores["threshold"] == t and scores["f1"] == pytest.approx(expected_f1, rel=1e-12)
    assert scores["log_loss"] == pytest.approx(skm.log_loss(y[250:], model.predict_proba(X[250:]),
                                                            sample_weight=w), rel=1e-12)
    json.dumps(scores, allow_nan=False)
    # survives save/load, clone, summary JSON and explanations
    again = load(save(model, tmp_path / "m.json"))
    assert again.threshold == t
    np.testing.assert_array_equal(again.predict(X), model.predict(X))
    assert clone(model).threshold == t
    assert model.summary().to_dict()["threshold"] == t
    assert "decision threshold" in str(model.summary())
    frame = model.explain(X[:50])
    np.testing.assert_array_equal(frame["predicted"], model.predict(X[:50]))
    assert logitlab.results.explain.explain_row(model, X, 0).threshold == t


def test_set_threshold_and_errors(data):
    X, y = data
    model = LogisticRegression().fit(X, y)
    p = model.predict_proba(X)[:, 1]
    assert (model.set_threshold(0.0).predict(X) == "yes").all()       # every p > 0
    assert (model.set_threshold(1.0).predict(X) == "no").all()
    np.testing.assert_array_equal(model.set_threshold(0.3).predict(X), np.where(p > 0.3, "yes", "no"))
    with pytest.raises(ValueError, match=r"threshold must be a number in \[0, 1\]"):
        model.set_threshold(1.5)
    with pytest.raises(ValueError, match="y has 3 entries but X has 400 rows"):
        model.tune_threshold(X, y[:3])
    with pytest.raises(ValueError, match="labels not in"):
        model.tune_threshold(X[:3], ["yes", "no", "maybe"])
    rng = np.random.default_rng(2)
    yk = rng.integers(0, 3, 400)
    multi = LogisticRegression().fit(X, yk)
    with pytest.raises(ValueError, match="binary models"):
        multi.set_threshold(0.3)
    with pytest.raises(ValueError, match="binary models"):
        multi.tune_threshold(X, yk)
    with pytest.raises(ValueError, match="threshold applies to binary"):
        LogisticRegression(threshold=0.3).fit(X, yk)
    assert multi.summary().to_dict()["threshold"] is None
    out = multi.evaluate(X, yk)
    assert out["accuracy"] == pytest.approx(skm.accuracy_score(yk, multi.predict(X)))


def test_model_file_without_threshold_loads_with_default(data, tmp_path):
    """Files written before the threshold existed have no such parameter."""
    X, y = data
    path = save(LogisticRegression().fit(X, y), tmp_path / "old.json")
    doc = json.loads(path.read_text())
    del doc["estimator"]["params"]["threshold"]
    del doc["sha256"]
    doc["sha256"] = hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":"),
                                              ensure_ascii=False, allow_nan=False)
                                   .encode("utf-8")).hexdigest()
    path.write_text(json.dumps(doc))
    assert load(path).threshold == 0.5
