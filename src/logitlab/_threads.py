"""The process's worker threads: how many, and one shared pool per count.

Numba kernels and BLAS release the GIL, so plain threads run them in
parallel; the in-memory backend and the input checks share these pools.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

_POOLS: dict = {}


def default_threads() -> int:
    """``LOGITLAB_NUM_THREADS`` if set, else the CPUs this process may use."""
    env = os.environ.get("LOGITLAB_NUM_THREADS")
    if env:
        return max(int(env), 1)
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def pool(n_threads: int) -> ThreadPoolExecutor:
    """One shared pool per thread count and process (threads start once)."""
    key = (os.getpid(), n_threads)
    if key not in _POOLS:
        _POOLS[key] = ThreadPoolExecutor(n_threads, thread_name_prefix="logitlab")
    return _POOLS[key]
