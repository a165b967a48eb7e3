"""Small real datasets bundled with logitlab (see ``datasets/README.md``), with
their provenance: the Titanic table of the demo. Imports no other logitlab package."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd


def load_titanic(expand: bool = False) -> pd.DataFrame:
    """The Titanic survival table (R ``datasets::Titanic``, Dawson 1995).

    Returns 32 rows ``Class, Sex, Age, Survived, Freq`` (``Freq`` people per
    cell) or, with ``expand=True``, one row per person (2,201 rows, no Freq).
    """
    with resources.files(__package__).joinpath("titanic.csv").open("r") as fh:
        df = pd.read_csv(fh).drop(columns="rownames")
    for col, levels in {"Class": ["1st", "2nd", "3rd", "Crew"], "Sex": ["Female", "Male"],
                        "Age": ["Child", "Adult"], "Survived": ["No", "Yes"]}.items():
        df[col] = pd.Categorical(df[col], categories=levels)
    if expand:
        df = df.loc[np.repeat(df.index.to_numpy(), df["Freq"].to_numpy())]
        df = df.drop(columns="Freq").reset_index(drop=True)
    return df


def titanic_design(df: pd.DataFrame) -> pd.DataFrame:
    """Dummy-coded design for ``Survived ~ Class + Sex + Age`` (references 1st,
    Female, Child), column names as R prints them (``Class2nd``, ``SexMale``, ...)."""
    parts = []
    for col in ("Class", "Sex", "Age"):
        dummies = pd.get_dummies(df[col], prefix=col, prefix_sep="", drop_first=True)
        parts.append(dummies.astype(float))
    return pd.concat(parts, axis=1)


__all__ = ["load_titanic", "titanic_design"]
