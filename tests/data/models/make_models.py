"""Write the model files in this folder with the logitlab of the time (format 1).

Run from the repository root: ``python tests/data/models/make_models.py``.
These files were written by logitlab 0.1.0 (model file format version 1)
before the package was restructured; ``tests/test_persist_compat.py`` loads
them with today's code and checks their predictions and summaries against
fresh fits of the same data. Do not regenerate them: their point is that they
come from older code.
"""

from pathlib import Path

import pandas as pd

import logitlab
from logitlab import LogisticRegression

HERE = Path(__file__).parent
DATA = HERE.parent


def main():
    bw = pd.read_csv(DATA / "birthwt.csv")
    iris = pd.read_csv(DATA / "iris.csv")
    sex2 = pd.read_csv(DATA / "sex2.csv")
    X = bw[["age", "lwt", "smoke", "ht"]]
    logitlab.save(LogisticRegression().fit(X, bw.low), HERE / "binary_frame.json")
    logitlab.save(LogisticRegression(cov_type="HC1").fit(X, bw.low), HERE / "binary_hc1.json")
    logitlab.save(LogisticRegression(alpha=0.01).fit(X.to_numpy(), bw.low),
                  HERE / "binary_l2_numpy.json")
    logitlab.save(logitlab.fit("low ~ age + lwt + C(race) + smoke + I(age**2)", bw),
                  HERE / "formula_binary.json")
    logitlab.save(LogisticRegression().fit(bw[["age", "lwt", "smoke"]], bw.race),
                  HERE / "multinomial.json")
    logitlab.save(LogisticRegression(alpha=0.05).fit(iris.drop(columns="target"), iris.target),
                  HERE / "multinomial_l2.json")
    terms = ["age", "oc", "vic", "vicl", "vis", "dia"]
    logitlab.save(LogisticRegression(penalty="firth").fit(sex2[terms].astype(float), sex2.case),
                  HERE / "firth.json")


if __name__ == "__main__":
    main()
