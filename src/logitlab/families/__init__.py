"""Model families: what is fitted. Each family is a plug-in (see
:mod:`logitlab.families.base`): its parameter layout, start values, chunk
statistics and predictions. Today: :class:`BinaryLogit`,
:class:`MultinomialLogit`, :class:`CumulativeLogit` (ordinal) and
:class:`ConditionalLogit` (matched strata). The mixed-model (GLMM) core:
``glmm_structure`` (θ, Λ_θ), ``glmm_laplace`` (PIRLS, Laplace deviance),
``glmm_gradient``, ``glmm_agq`` (adaptive Gauss–Hermite), ``glmm_predict``.

May import :mod:`logitlab.core` only.
"""

from .base import Curvature, Family
from .binary import BinaryLogit
from .multinomial import MultinomialLogit
from .conditional_family import ConditionalLogit
from .ordinal import CumulativeLogit


def logit_family(n_features: int, n_classes: int, *, reference: int = 0,
                 symmetric: bool = False, fit_intercept: bool = True,
                 ordinal: bool = False, nominal=(), strata: str = "") -> Family:
    """The logit family for ``n_classes`` outcomes: binary for 2, multinomial
    above (K − 1 columns against ``reference``, or all K when ``symmetric``);
    the cumulative logit for ordered categories (``ordinal``; ``nominal``: the
    features whose effects differ by threshold); the conditional logit on
    matched strata (``strata``: its likelihood, "exact", "breslow" or "efron")."""
    if strata:
        return ConditionalLogit.create(n_features, strata)
    if ordinal:
        return CumulativeLogit.create(n_features, n_classes, nominal)
    if n_classes == 2:
        return BinaryLogit.create(n_features, fit_intercept)
    return MultinomialLogit.create(n_features, n_classes, reference, symmetric, fit_intercept)


def family_from_layout(layout) -> Family:
    """The logit family of a stored layout (model files)."""
    if layout.conditional:
        return ConditionalLogit(layout)
    if layout.ordinal:
        return CumulativeLogit(layout)
    return (MultinomialLogit if layout.multinomial else BinaryLogit)(layout)


__all__ = ["Family", "Curvature", "BinaryLogit", "MultinomialLogit", "CumulativeLogit",
           "ConditionalLogit",
           "logit_family",
           "family_from_layout"]
