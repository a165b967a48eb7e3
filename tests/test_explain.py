"""model.explain(X): many rows worked out; checked against statsmodels and exact sums."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

import logitlab as ll

DATA = Path(__file__).parent / "data"


def test_binary_explain_frame_matches_statsmodels_and_sums_exactly():
    df = pd.read_csv(DATA / "birthwt.csv")
    model = ll.fit("low ~ age + lwt + C(race) + smoke", df)
    ref = smf.logit("low ~ age + lwt + C(race) + smoke", df).fit(disp=0, method="newton", tol=1e-12)
    e = model.explain(df)
    terms = ["age", "lwt", "C(race)[T.2]", "C(race)[T.3]", "smoke", "(intercept)"]
    assert list(e.columns) == terms + ["logit", "odds", "probability", "predicted"]
    for i in range(len(df)):
        assert math.fsum(e.loc[i, terms]) == e.loc[i, "logit"]
    np.testing.assert_allclose(e["age"], ref.params["age"] * df["age"], rtol=1e-7)
    np.testing.assert_allclose(e["probability"], ref.predict(df), rtol=1e-7)
    np.testing.assert_allclose(e["odds"], np.exp(e["logit"]), rtol=1e-15)
    np.testing.assert_array_equal(e["predicted"], (ref.predict(df) > 0.5).astype(int))


def test_multinomial_explain_frame_softmax_matches_statsmodels():
    df = pd.read_csv(DATA / "birthwt.csv")
    model = ll.fit("race ~ age + lwt + smoke", df)
    ref = smf.mnlogit("race ~ age + lwt + smoke", df).fit(disp=0, method="newton", tol=1e-12)
    e = model.explain(df)
    probs = np.column_stack([e[("probability", c)] for c in ("1", "2", "3")])
    np.testing.assert_allclose(probs, np.asarray(ref.predict(df)), rtol=1e-7)
    z = np.column_stack([e[(c, "logit")] for c in ("1", "2", "3")])
    np.testing.assert_array_equal(z[:, 0], 0.0)      # reference class: logit 0
    for c in ("2", "3"):
        parts = e[c].drop(columns="logit")
        assert all(math.fsum(r) == l for r, l in zip(parts.to_numpy(), e[(c, "logit")]))
    np.testing.assert_array_equal(e[("predicted", "")], np.array([1, 2, 3])[probs.argmax(axis=1)])
