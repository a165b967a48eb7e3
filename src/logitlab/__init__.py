"""logitlab: logistic regression, done properly and completely.

The public API: :class:`LogisticRegression`, the link functions in
:mod:`logitlab.core.links` and the losses in :mod:`logitlab.core.losses`.
"""

from .core import aliases as _aliases
from .core.exceptions import CollinearityWarning, ConvergenceWarning, SeparationWarning
from .estimators.logistic import LogisticRegression
from .core.links import (log1pexp, log_odds, log_sigmoid, log_softmax, logit, odds,
                         sigmoid, softmax)
from .results.inference import lr_test, wald_test
from .core.losses import log_loss, log_loss_from_logits

from .core.version import __version__

__all__ = [
    "LogisticRegression", "ConvergenceWarning", "SeparationWarning", "CollinearityWarning",
    "sigmoid", "logit", "log_odds", "odds", "softmax", "log_softmax", "log1pexp",
    "log_sigmoid", "log_loss", "log_loss_from_logits", "lr_test", "wald_test", "__version__",
]

from .estimators.formula_fit import fit  # noqa: E402
from .data.io import read_table  # noqa: E402
from .persist import load, save  # noqa: E402

__all__ += ["fit", "save", "load", "read_table"]

from .estimators.cv import LogisticRegressionCV  # noqa: E402

__all__ += ["LogisticRegressionCV"]

_aliases.install()      # logitlab.metrics, logitlab.io, ... (see logitlab.core.aliases)


def __getattr__(name):
    """``logitlab.metrics``, ``logitlab.io``, ...: the public module names of
    :mod:`logitlab.core.aliases`, imported on first use."""
    import importlib
    if f"logitlab.{name}" in _aliases.PUBLIC_MODULES:
        return importlib.import_module(f"logitlab.{name}")
    raise AttributeError(f"module 'logitlab' has no attribute {name!r}")
