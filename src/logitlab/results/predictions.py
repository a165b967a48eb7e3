"""Tables of predictions, one row per input row (the ``logitlab predict`` output)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def prediction_table(model, X, ids=None, id_column=None, index=None) -> pd.DataFrame:
    """The ``logitlab predict`` table of rows ``X`` (in memory): ``id_column``
    (from ``ids``), ``predicted``, ``prob_<class>`` per class, then ``logit``
    (binary) or ``logit_<class>`` per class."""
    n = X.shape[0]
    K = model.classes_.size
    proba = model.predict_proba(X) if n else np.empty((0, K))
    logits = model.decision_function(X) if n else np.empty((0,) if K == 2 else (0, K))
    result = pd.DataFrame(index=index if index is not None else pd.RangeIndex(n))
    if id_column is not None:
        result[id_column] = ids
    if K > 2:
        result["predicted"] = model.classes_[np.argmax(proba, axis=1)]
    else:
        result["predicted"] = model.predict(X) if n else model.classes_[:0]
    for k, c in enumerate(model.classes_):
        result[f"prob_{c}"] = proba[:, k]
    if logits.ndim == 1:
        result["logit"] = logits
    else:
        for k, c in enumerate(model.classes_):
            result[f"logit_{c}"] = logits[:, k]
    return result
