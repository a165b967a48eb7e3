"""The ``logitlab`` command line (``main``: fit, predict, explain, demo;
``report``: the report command). The top layer: may import everything."""

from .main import app, main

__all__ = ["app", "main"]
