"""Data backends: where the rows live. Solvers see only :class:`DataBackend`."""

from .base import DataBackend, Stats
from .memory import InMemoryData

__all__ = ["DataBackend", "Stats", "InMemoryData"]
