"""Stable public module names for modules that live in subpackages.

``import logitlab.metrics`` gives :mod:`logitlab.evaluation.metrics`, and so on
for the names in :data:`PUBLIC_MODULES`: the import paths users write stay the
same wherever the code lives. The target is imported only when the alias is
(nothing is loaded eagerly).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

#: public name -> the module it is
PUBLIC_MODULES = {
    "logitlab.metrics": "logitlab.evaluation.metrics",
    "logitlab.calibration": "logitlab.evaluation.calibration",
    "logitlab.threshold": "logitlab.evaluation.threshold",
    "logitlab.plots": "logitlab.report.plots",
    "logitlab.io": "logitlab.data.io",
    "logitlab.formula": "logitlab.data.formula",
    "logitlab.explain": "logitlab.results.explain",
    "logitlab.inference": "logitlab.results.inference",
    "logitlab.summary": "logitlab.results.summary",
    "logitlab.links": "logitlab.core.links",
    "logitlab.losses": "logitlab.core.losses",
    "logitlab.cv": "logitlab.estimators.cv",
}


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str):
        self.target = target

    def create_module(self, spec):
        return importlib.import_module(self.target)

    def exec_module(self, module):
        pass


class AliasFinder(importlib.abc.MetaPathFinder):
    """Finds the modules of :data:`PUBLIC_MODULES` under their public names."""

    def find_spec(self, fullname, path=None, target=None):
        real = PUBLIC_MODULES.get(fullname)
        if real is None:
            return None
        return importlib.util.spec_from_loader(fullname, _AliasLoader(real))


def install() -> None:
    if not any(isinstance(f, AliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, AliasFinder())
