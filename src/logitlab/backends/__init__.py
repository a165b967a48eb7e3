"""Data backends: where the rows live — in memory (``memory``) or in Dask
partitions (``dask``) — behind one contract (``base.DataBackend``): passes that
return sums over rows of the family's chunk statistics. Solvers, inference and
diagnostics see only that contract.

May import :mod:`logitlab.core` and :mod:`logitlab.families`.
"""

from .base import DataBackend, Stats
from .memory import InMemoryData

__all__ = ["DataBackend", "Stats", "InMemoryData"]
