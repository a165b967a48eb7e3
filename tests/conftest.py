"""Hypothesis profiles.

``ci`` (the default): derandomized, so a CI run is reproducible — the same examples
on every machine. ``explore``: random examples on every run; use it locally to
hunt for new failures::

    HYPOTHESIS_PROFILE=explore python -m pytest tests/test_metrics.py
"""
import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
