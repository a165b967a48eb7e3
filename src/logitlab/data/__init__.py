"""Data in: reading tables (``io``), checking inputs (``validation``) and
R-style formulas (``formula``: parsing, the stored :class:`~logitlab.data.formula.Design`;
``random_effects``: lme4's bar terms ``(1 + x | g)`` and the random-effects matrix Z).

May import :mod:`logitlab.core` only. Knows nothing of models or fits: it turns
what a user gives into checked arrays and designs, and words the errors.
"""
