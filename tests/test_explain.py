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
    terms = ["age", "lwt", "C(race)[T.2]", "C(race)[T.3]", "smoke", "(Intercept)"]
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


# ------------------------------------------------------------- rows= and printing
from html.parser import HTMLParser  # noqa: E402

import pytest  # noqa: E402

from logitlab.explain import Explanation  # noqa: E402


@pytest.fixture(scope="module")
def birthwt_fit():
    df = pd.read_csv(DATA / "birthwt.csv")
    model = ll.fit("low ~ age + lwt + C(race) + smoke", df)
    ref = smf.logit("low ~ age + lwt + C(race) + smoke", df).fit(disp=0, method="newton",
                                                                tol=1e-12)
    return df, model, ref


def test_explain_one_row_by_position(birthwt_fit):
    df, model, ref = birthwt_fit
    for rows, position in [(0, 0), (7, 7), (-1, len(df) - 1), (np.int64(3), 3)]:
        e = model.explain(df, rows)
        assert isinstance(e, Explanation) and e.row == position
        assert e.terms.loc["age", "value"] == df.age[position]
        np.testing.assert_allclose(e.probabilities[1], ref.predict(df).iloc[position], rtol=1e-7)
        assert math.fsum(e.terms["1"]) == e.logits[0]
        assert e.decision == int(ref.predict(df).iloc[position] > 0.5)


def test_explain_many_rows_keeps_their_positions(birthwt_fit):
    df, model, ref = birthwt_fit
    full = model.explain(df)
    p = ref.predict(df).to_numpy()
    for rows, positions in [([3, 0, 3], [3, 0, 3]), (slice(10, 20, 3), [10, 13, 16, 19]),
                            (df.smoke.to_numpy() == 1, np.flatnonzero(df.smoke == 1)),
                            (np.array([-2]), [len(df) - 2]), ([], [])]:
        part = model.explain(df, rows)
        assert list(part.index) == list(positions)
        assert list(part.columns) == list(full.columns)
        np.testing.assert_allclose(part["probability"], p[positions], rtol=1e-7)
        pd.testing.assert_frame_equal(part, full.loc[list(positions)])


def test_explain_rows_errors_and_keyword_offset(birthwt_fit):
    df, model, _ = birthwt_fit
    with pytest.raises(ValueError, match=r"row 189 is out of range: the data have 189 rows "
                                         r"\(0 to 188, or -1 back to -189 from the end\)"):
        model.explain(df, 189)
    with pytest.raises(ValueError, match="rows 500, -190 are out of range"):
        model.explain(df, [1, 500, -190])
    with pytest.raises(TypeError, match="rows must be integers"):
        model.explain(df, [0.5])
    with pytest.raises(ValueError, match="a boolean rows mask needs one entry per row"):
        model.explain(df, [True, False])
    with pytest.raises(TypeError, match="positional argument"):
        model.explain(df, 0, np.zeros(len(df)))          # offset is keyword-only
    off = np.linspace(-1, 1, len(df))
    e = model.explain(df, 5, offset=off)
    z = model.decision_function(df, offset=off)[5]
    assert e.terms.loc["(offset)", "1"] == off[5]
    np.testing.assert_allclose(e.logits[0], z, rtol=1e-14)
    frame = model.explain(df, [5], offset=off)
    assert frame.loc[5, "(offset)"] == off[5] and frame.loc[5, "logit"] == e.logits[0]


class _Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.caption, self._where = [], "", None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th", "caption"):
            self._where = tag
            if tag != "caption":
                self.rows[-1].append("")

    def handle_endtag(self, tag):
        self._where = None

    def handle_data(self, data):
        if self._where == "caption":
            self.caption += data
        elif self._where:
            self.rows[-1][-1] += data


def test_an_explanation_prints_as_a_table(birthwt_fit):
    df, model, ref = birthwt_fit
    e = model.explain(df, 2)
    text = repr(e)
    assert str(e) == text and "Explanation(" not in text
    lines = text.splitlines()
    assert lines[0].startswith("Prediction of row 2 explained")
    assert lines[1].split() == ["term", "x", "coef", "×", "x"]
    beta = ref.params
    age_line = next(line for line in lines if line.startswith("age "))
    assert float(age_line.split()[-1]) == pytest.approx(beta["age"] * df.age[2], abs=5e-7)
    intercept_line = next(line for line in lines if line.startswith("(Intercept)"))
    assert float(intercept_line.split()[-1]) == pytest.approx(beta["Intercept"], abs=5e-7)
    p = ref.predict(df)[2]
    assert "P(1) = odds/(1+odds)" in text and f"{p:.6f}" in text
    parser = _Cells()
    parser.feed(e._repr_html_())
    assert parser.caption == lines[0]
    assert parser.rows[0] == ["term", "x", "coef × x"]
    assert [r[0] for r in parser.rows[1:7]] == list(e.terms.index)
    assert parser.rows[-2] == ["P(1) = odds/(1+odds)", "", f"{p:.6f}"]
    assert parser.rows[-1] == ["decision (P > 0.5)", "", str(int(p > 0.5))]


def test_a_multinomial_explanation_prints_a_column_per_class():
    df = pd.read_csv(DATA / "birthwt.csv")
    model = ll.fit("race ~ age + lwt + smoke", df)
    ref = smf.mnlogit("race ~ age + lwt + smoke", df).fit(disp=0, method="newton", tol=1e-12)
    e = model.explain(df, 0)
    lines = repr(e).splitlines()
    assert lines[1].split() == ["term", "x"] + ["1:", "coef", "×", "x", "2:", "coef", "×",
                                                 "x", "3:", "coef", "×", "x"]
    probs = [float(v) for v in lines[-2].split()[-3:]]
    np.testing.assert_allclose(probs, np.asarray(ref.predict(df))[0], atol=5e-7)
    winner = int(np.argmax(probs)) + 1
    assert lines[-1].split() == ["decision", "(argmax)", str(winner)]
