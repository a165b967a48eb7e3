"""Engines: where the rows are processed. An engine turns the user's inputs into
a data backend (:mod:`logitlab.backends`) and a data summary, nothing else
(:class:`~logitlab.engines.summary.Source`).

* ``memory`` (:mod:`logitlab.engines.memory`): arrays on this machine;
* ``dask`` (:mod:`logitlab.engines.dask`): Dask collections and Parquet / CSV
  files on a ``distributed`` cluster.

:func:`use_dask` is the one rule that decides. May import :mod:`logitlab.core`,
:mod:`logitlab.data`, :mod:`logitlab.families` and :mod:`logitlab.backends`.
"""

from __future__ import annotations

import os

ENGINES = ("auto", "memory", "dask")


def is_dask_collection(obj) -> bool:
    """A Dask DataFrame, Series or Array (checked without importing dask)."""
    return type(obj).__module__.split(".")[0] in ("dask", "dask_expr") and hasattr(obj, "dask")


def is_path(obj) -> bool:
    return isinstance(obj, (str, os.PathLike))


def is_many_files(obj) -> bool:
    """A path that names several files: a glob or a directory (read by Dask)."""
    if not is_path(obj):
        return False
    text = os.fspath(obj)
    return any(ch in text for ch in "*?[") or os.path.isdir(text)


def use_dask(engine: str, data, fitted_on: str | None = None,
             predicting: bool = False) -> bool:
    """Whether ``data`` is processed on Dask — the one rule, for fits and predictions.

    * ``engine="memory"``: never (Dask collections are computed into memory);
    * Dask collections, and paths that name several files (a glob, a
      directory): on Dask;
    * a path to one file: on Dask with ``engine="dask"`` or for a model fitted
      on Dask (``fitted_on``), else read into memory;
    * in-memory data: fitted on Dask with ``engine="dask"`` (split into
      partitions); predicted in memory (``predicting``) whatever the engine.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {list(ENGINES)}; got {engine!r}")
    if engine == "memory":
        return False
    if is_dask_collection(data) or is_many_files(data):
        return True
    if is_path(data):
        return engine == "dask" or fitted_on == "dask"
    return engine == "dask" and not predicting


def to_memory(value):
    """A Dask collection computed into memory (``engine="memory"``), else ``value``."""
    return value.compute() if is_dask_collection(value) else value
