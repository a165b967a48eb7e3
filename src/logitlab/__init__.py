"""logitlab: logistic regression, done properly and completely.

The public API: :class:`LogisticRegression`, :class:`LogisticRegressionCV`,
:func:`fit` (formulas), :func:`save` / :func:`load` (model files),
:func:`read_table`, :func:`compile_kernels`, the tests :func:`lr_test` and :func:`wald_test`, the warnings,
the link functions of :mod:`logitlab.core.links` and the losses of
:mod:`logitlab.core.losses`.

``import logitlab`` loads none of them: each name is imported on first use
(PEP 562 module ``__getattr__``), so a script or the command line pays only for
what it calls (scikit-learn, pandas, SciPy, numba, formulaic are loaded by the
calls that need them).
"""

from .core import aliases as _aliases
from .core.version import __version__

#: public name -> the module that defines it
_PUBLIC = {
    "LogisticRegression": "logitlab.estimators.logistic",
    "LogisticRegressionCV": "logitlab.estimators.cv",
    "OrderedLogisticRegression": "logitlab.estimators.ordinal",
    "ConditionalLogisticRegression": "logitlab.estimators.conditional",
    "MixedLogisticRegression": "logitlab.estimators.mixed",
    "fit": "logitlab.estimators.formula_fit",
    "save": "logitlab.persist",
    "load": "logitlab.persist",
    "read_table": "logitlab.data.io",
    "compile_kernels": "logitlab.estimators.warmup",
    "lr_test": "logitlab.results.inference",
    "wald_test": "logitlab.results.inference",
    "ConvergenceWarning": "logitlab.core.exceptions",
    "SeparationWarning": "logitlab.core.exceptions",
    "CollinearityWarning": "logitlab.core.exceptions",
    **{name: "logitlab.core.links" for name in (
        "sigmoid", "logit", "log_odds", "odds", "softmax", "log_softmax", "log1pexp",
        "log_sigmoid")},
    "log_loss": "logitlab.core.losses",
    "log_loss_from_logits": "logitlab.core.losses",
}

__all__ = [*_PUBLIC, "__version__"]

#: public subpackages reachable as attributes (``ll.datasets.load_titanic()``)
_SUBPACKAGES = ("datasets",)

_aliases.install()      # logitlab.metrics, logitlab.io, ... (see logitlab.core.aliases)


def __getattr__(name):
    """The public names of :data:`_PUBLIC` and the public module names of
    :mod:`logitlab.core.aliases` (``logitlab.metrics``, ...), imported on first use."""
    import importlib
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
        globals()[name] = value            # later lookups skip this function
        return value
    if f"logitlab.{name}" in _aliases.PUBLIC_MODULES or name in _SUBPACKAGES:
        return importlib.import_module(f"logitlab.{name}")
    raise AttributeError(f"module 'logitlab' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
