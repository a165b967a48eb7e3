"""The process's worker threads: how many, one shared pool per count, and
BLAS held to one thread while they run.

Numba kernels and BLAS release the GIL, so plain threads run them in
parallel; the in-memory backend and the input checks share these pools.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

_POOLS: dict = {}
_BLAS = {"controller": None, "depth": 0, "limit": None}
_BLAS_LOCK = threading.Lock()


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


class blas_one_thread:
    """Context: BLAS limited to one thread (re-entrant; process-wide).

    Our threads already use every core, so a multithreaded BLAS call inside
    them would oversubscribe. Worse, OpenBLAS's worker threads keep spinning
    for a while after each call: a solver's small vector operations in the
    main thread (a dot product of two length-d vectors) then leave a BLAS
    thread busy on the core our next pass needs — measured 1.5× slower
    passes on the sparse benchmark. Solvers therefore run entirely inside
    this context (:func:`logitlab.solvers.run`); nested entries cost nothing.
    """

    def __enter__(self):
        with _BLAS_LOCK:
            if _BLAS["depth"] == 0:
                if _BLAS["controller"] is None:
                    from threadpoolctl import ThreadpoolController
                    _BLAS["controller"] = ThreadpoolController()
                _BLAS["limit"] = _BLAS["controller"].limit(limits=1, user_api="blas")
            _BLAS["depth"] += 1
        return self

    def __exit__(self, *exc):
        with _BLAS_LOCK:
            _BLAS["depth"] -= 1
            if _BLAS["depth"] == 0:
                _BLAS["limit"].restore_original_limits()
                _BLAS["limit"] = None
