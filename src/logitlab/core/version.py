"""The version of logitlab (one place: the package and pyproject read it)."""

__version__ = "0.1.0"
