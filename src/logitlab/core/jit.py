"""Compiled kernels: ``numba.njit`` with a cache that works on any install.

Numba caches a compiled kernel next to its source (``__pycache__`` in the
package folder) or, when that folder is read-only, in the user's cache folder
(``~/.cache/numba``, or ``$NUMBA_CACHE_DIR`` when set). On an install where
neither is writable (a read-only container, a system install used by another
user) plain ``njit(cache=True)`` fails at import with "cannot cache function
...: no locator available". :func:`njit` here falls back, in order, to

1. a per-user folder in the system's temporary directory
   (``<tmp>/logitlab-numba-<uid>``, used as numba's ``NUMBA_CACHE_DIR``);
2. no cache at all: the kernels compile in memory on first use in each process.

Nothing compiles at import: kernels compile lazily on their first call.
"""

from __future__ import annotations

import os
import tempfile

#: where kernels are cached when neither the package folder nor the user's cache is writable
FALLBACK_CACHE = os.path.join(tempfile.gettempdir(), f"logitlab-numba-{getattr(os, 'getuid', lambda: 0)()}")


def _temporary_cache() -> bool:
    """Point numba's cache at :data:`FALLBACK_CACHE`; False if it cannot be written."""
    from numba.core import config
    try:
        os.makedirs(FALLBACK_CACHE, mode=0o700, exist_ok=True)
    except OSError:
        return False
    if not os.access(FALLBACK_CACHE, os.W_OK | os.X_OK):
        return False
    config.CACHE_DIR = FALLBACK_CACHE
    return True


def njit(**options):
    """``numba.njit(**options)`` whose ``cache=True`` never fails (see the module
    docstring): the decorated function is numba's dispatcher."""
    import numba as nb

    def decorate(function):
        try:
            return nb.njit(**options)(function)
        except RuntimeError as err:            # "cannot cache function ...: no locator"
            if not options.get("cache") or "cannot cache" not in str(err):
                raise
        if _temporary_cache():
            try:
                return nb.njit(**options)(function)
            except RuntimeError:
                pass
        return nb.njit(**{**options, "cache": False})(function)
    return decorate
