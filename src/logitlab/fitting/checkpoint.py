"""Per-iteration checkpoints of the coefficients, to resume a long fit.

``engine_options={"checkpoint": path}``: after every iteration the solver's
iterate is written atomically (JSON, floats exact) with a fingerprint of the
problem (data summary, classes, layout, penalty); a later fit of the same
problem starts from it. A file that does not match is overwritten, with a warning.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..core.files import write_atomic
from ..core.userwarn import warn
from ..solvers.objective import Objective

CHECKPOINT_FORMAT = "logitlab-checkpoint"


class CheckpointingObjective(Objective):
    """The objective, remembering the last points it was evaluated at, so that a
    per-iteration callback can checkpoint the iterate whose value it is given."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._recent = []

    def smooth(self, w, **kwargs):
        out = super().smooth(w, **kwargs)
        self._recent = (self._recent + [(out[0], np.array(w, dtype=np.float64))])[-8:]
        return out

    def iterate(self, value):
        """The most recent point whose objective (smooth + L1) equals ``value``
        (to rounding), else the last point evaluated."""
        for f, w in reversed(self._recent):
            if abs(f + self.l1_term(w) - value) <= 1e-14 * max(1.0, abs(value)):
                return w
        return self._recent[-1][1]


def fingerprint(summary, family, totals, spec) -> dict:
    """What identifies the problem a checkpoint belongs to."""
    layout = family.layout
    return {"size": int(layout.size), "n_classes": int(layout.n_classes),
            "free_classes": [int(k) for k in layout.free_classes],
            "fit_intercept": bool(layout.fit_intercept), "n_rows": int(summary.n_rows),
            "class_weight_totals": [float(t) for t in totals],
            "classes": [str(c) for c in summary.classes], "penalty": spec.kind,
            "alpha": float(spec.alpha), "l1_ratio": float(spec.l1_ratio)}


def save_checkpoint(path, problem_id: dict, coef, iteration: int, value: float) -> None:
    """Write the coefficients of one iteration atomically (JSON; floats exact)."""
    doc = {"format": CHECKPOINT_FORMAT, "version": 1, "fingerprint": problem_id,
           "iteration": int(iteration), "objective": float(value),
           "coef": [float(v) for v in np.asarray(coef, dtype=np.float64)]}
    write_atomic(path, json.dumps(doc).encode("utf-8"))


def load_checkpoint(path, problem_id: dict):
    """The saved full coefficient vector if ``path`` holds a checkpoint of the
    same problem, else None (with a warning when a file is there but does not match)."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        doc = json.loads(path.read_text())
        ok = doc.get("format") == CHECKPOINT_FORMAT and doc.get("fingerprint") == problem_id
        coef = np.asarray(doc["coef"], dtype=np.float64)
        ok = ok and coef.shape == (problem_id["size"],) and bool(np.isfinite(coef).all())
    except (ValueError, KeyError, TypeError, OSError):
        ok = False
    if not ok:
        warn(f"checkpoint {str(path)!r} is not a checkpoint of this fit (different "
             "data, model or penalty); starting from scratch and overwriting it.",
             UserWarning)
        return None
    return coef
