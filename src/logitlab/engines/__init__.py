"""Engines: where the rows are processed. An engine turns the user's inputs into
a data backend (:mod:`logitlab.backends`) and a data summary, nothing else.

``dask``: Dask collections and Parquet/CSV paths on a ``distributed`` cluster.
May import :mod:`logitlab.core`, :mod:`logitlab.data`,
:mod:`logitlab.families` and :mod:`logitlab.backends`.
"""
