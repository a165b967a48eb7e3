"""Data in: reading tables (``io``), checking inputs (``validation``) and
R-style formulas (``formula``: parsing, the stored :class:`~logitlab.data.formula.Design`).

May import :mod:`logitlab.core` only. Knows nothing of models or fits: it turns
what a user gives into checked arrays and designs, and words the errors.
"""
