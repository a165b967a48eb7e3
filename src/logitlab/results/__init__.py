"""What a fit means: inference (standard errors, tests), profile-likelihood
intervals, the summary and the explanation of a prediction.

May import core, data, families, backends, solvers and fitting.
"""
