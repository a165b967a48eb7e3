"""The estimators users hold: :class:`~logitlab.estimators.logistic.LogisticRegression`
(scikit-learn API) and :class:`~logitlab.estimators.cv.LogisticRegressionCV`.

An estimator is a thin adapter: parameters → a fit specification, the fit
pipeline (:mod:`logitlab.fitting`) → results stored as attributes. May import
every package below it (core, data, families, backends, engines, solvers,
fitting, results, evaluation); never persist, report or cli.
"""
