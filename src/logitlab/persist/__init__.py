"""Model files: versioned JSON, loaded without executing code (see
:mod:`logitlab.persist.model_file` for the format). May import every package
except report and cli."""

from .model_file import load, save

__all__ = ["load", "save"]
