"""Modules imported on first use: ``pandas`` here is a stand-in that imports pandas
when one of its attributes is first read.

A fit on arrays and its summary never touch pandas, so a short job does not pay
the ~0.5 s of importing it (with pyarrow); a module that works on data frames
writes ``from ..core.lazy import pandas as pd`` and uses ``pd.DataFrame`` as
usual. Nothing is put in ``sys.modules``: ``"pandas" in sys.modules`` still says
whether the user's program has loaded pandas (the input checks rely on that to
recognise a DataFrame without importing pandas themselves).
"""

from __future__ import annotations

import importlib
import sys


class LazyModule:
    """The module ``name``, imported when an attribute is first read."""

    __slots__ = ("_name",)

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str):
        return getattr(importlib.import_module(self._name), attr)

    def __repr__(self) -> str:
        return f"<lazily imported module {self._name!r}>"


pandas = LazyModule("pandas")


def is_pandas(value, *types: str) -> bool:
    """``isinstance(value, (pandas.<type>, ...))`` without importing pandas: no pandas
    object exists before the program has imported pandas itself."""
    module = sys.modules.get("pandas")
    return module is not None and isinstance(value, tuple(getattr(module, t) for t in types))
