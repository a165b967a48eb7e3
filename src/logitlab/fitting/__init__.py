"""The fit pipeline and what it computes from the rows after solving:
aliasing, separation, diagnostics and the statistics inference needs.

May import core, data, families, backends, engines and solvers.
"""
