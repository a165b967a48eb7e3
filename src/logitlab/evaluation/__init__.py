"""Judging a model's predictions: metrics (``metrics``), calibration
(``calibration``), decision thresholds (``threshold``) and the shared checks of
their inputs (``inputs``). Works on labels and probabilities only.

May import :mod:`logitlab.core` and :mod:`logitlab.data`.
"""
