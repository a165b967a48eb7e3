"""``LogisticRegression`` on Dask: the same fit, with the rows on a cluster.

``LogisticRegression(...).fit(ddf, y)`` with a Dask DataFrame / Array or a
Parquet / CSV path (``engine="auto"``), or any input with ``engine="dask"``,
comes here (:func:`fit`). The steps mirror the in-memory fit:

1. inputs → partitions (:mod:`logitlab.dask_input`), one scan pass for the
   classes, counts and input errors (global row numbers);
2. a :class:`~logitlab.backends.dask.DaskData` backend of prepared
   partitions, persisted on the workers or streamed from the source;
3. the same objective and solvers (Newton by default up to
   :data:`NEWTON_MAX_SIZE` coefficients: one pass per iteration), with an
   optional per-iteration checkpoint of the coefficients;
4. the same inference (information matrix, null log-likelihood, aliased
   columns, sandwich meats) from passes that return only small sums.

What differs from the in-memory fit (documented in the README): the
linear-programming separation check needs all rows on one machine and is not
run (saturated fitted probabilities are still counted and reported), the
cluster covariance carries the cluster codes in the partitions, and input
errors in a formula's design are reported per partition.

Engine options (``LogisticRegression(engine_options={...})``):
``persist`` ("auto", True, False), ``checkpoint`` (a file path),
``address`` (a scheduler address to connect to), ``timeout`` (seconds to wait
for that scheduler, default :data:`CONNECT_TIMEOUT`), ``n_partitions`` (for
in-memory input with ``engine="dask"``).
"""

from __future__ import annotations

import atexit
import json
from pathlib import Path

import numpy as np

from ._userwarn import warn
from . import dask_input, fitstats, solvers
from .backends.dask import DaskData
from .diagnostics import SeparationWarning, explain_fit, warn_findings
from .kernels import chunk_scores, chunk_stats, logits
from .losses import binary_nll_from_logits
from .objective import Objective

ENGINES = ("auto", "memory", "dask")
ENGINE_OPTIONS = ("persist", "checkpoint", "address", "timeout", "n_partitions")
#: seconds to wait for a scheduler at an address before giving up
CONNECT_TIMEOUT = 5.0
#: on Dask a pass is expensive and the Hessian cheap: Newton up to this size
NEWTON_MAX_SIZE = 1024
#: "auto" persists the prepared partitions when they take at most this share
#: of the cluster's memory; larger data are streamed from the source each pass
PERSIST_SHARE = 0.4
CHECKPOINT_FORMAT = "logitlab-checkpoint"

_local = {"cluster": None, "client": None}


# ------------------------------------------------------------------ clients
def current_client():
    """The current ``distributed.Client`` or None."""
    try:
        from distributed import default_client
    except ImportError:
        return None
    try:
        return default_client()
    except ValueError:
        return None


def _require_dask():
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        raise ImportError("the Dask engine needs dask and distributed: "
                          "pip install 'logitlab[dask]'.") from None


def connect(address: str | None = None, timeout: float = CONNECT_TIMEOUT, **cluster_kwargs):
    """A client: to the scheduler at ``address`` (a ``ConnectionError`` when it
    does not answer within ``timeout`` seconds), or (``None`` / ``"local"``) to
    a LocalCluster on this machine (worker processes on the loopback
    interface, one thread each), started once and closed at exit."""
    _require_dask()
    from distributed import Client, LocalCluster
    if address not in (None, "local"):
        return _remote_client(Client, address, timeout)
    if _local["client"] is None or _local["client"].status != "running":
        kwargs = dict(processes=True, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=None)
        kwargs.update(cluster_kwargs)
        _local["cluster"] = LocalCluster(**kwargs)
        _local["client"] = Client(_local["cluster"])
        atexit.register(_close_local)
    return _local["client"]


def _remote_client(Client, address, timeout):
    try:
        return Client(address, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConnectionError(f"cannot connect to the Dask scheduler at {address!r} within "
                              f"{timeout:g} s ({reason}); check the address and that the "
                              "scheduler is running, or wait longer with "
                              "engine_options={'timeout': seconds}.") from None


def _close_local():
    for key in ("client", "cluster"):
        obj, _local[key] = _local[key], None
        if obj is not None:
            try:
                obj.close()
            except Exception:   # noqa: BLE001 - best effort at interpreter exit
                pass


def wants_dask(estimator, X) -> bool:
    """Whether ``fit`` should run on Dask: ``engine="dask"``, or ``"auto"`` with a
    Dask collection or a file path as ``X``."""
    engine = getattr(estimator, "engine", "auto")
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {list(ENGINES)}; got {engine!r}")
    if engine == "memory":
        return False
    return engine == "dask" or dask_input.is_dask_collection(X) or dask_input.is_path(X)


def to_memory(value):
    """A Dask collection computed into memory (``engine="memory"``)."""
    return value.compute() if dask_input.is_dask_collection(value) else value


def engine_options(estimator) -> dict:
    opts = dict(getattr(estimator, "engine_options", None) or {})
    unknown = sorted(set(opts) - set(ENGINE_OPTIONS))
    if unknown:
        raise ValueError(f"engine_options {unknown} are not options of the Dask engine; it "
                         f"accepts {list(ENGINE_OPTIONS)}.")
    if opts.get("persist", "auto") not in ("auto", True, False):
        raise ValueError(f"engine_options['persist'] must be 'auto', True or False; got "
                         f"{opts['persist']!r}")
    timeout = opts.get("timeout", CONNECT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"engine_options['timeout'] must be a positive number of seconds; "
                         f"got {timeout!r}")
    return opts


def _client(opts):
    client = current_client() if opts.get("address") is None else None
    return client or connect(opts.get("address"), opts.get("timeout", CONNECT_TIMEOUT))


def _cluster_memory(client) -> float:
    workers = client.scheduler_info().get("workers", {})
    return float(sum(w.get("memory_limit") or 0 for w in workers.values())) or float("inf")


# --------------------------------------------------------------------- fit
def fit(estimator, X, y, sample_weight=None, offset=None, groups=None, source=None,
        scanned=None):
    """Fit ``estimator`` (a :class:`logitlab.LogisticRegression`) on Dask; see
    the module docstring. ``source`` (a :class:`logitlab.dask_input.Source`)
    and its ``scanned`` summary replace X, y, ... (formula fits)."""
    _require_dask()
    kind, alpha, l1_ratio = estimator._penalty_kind()
    estimator._check_options(kind)
    opts = engine_options(estimator)
    client = _client(opts)
    if source is None:
        source = dask_input.source_from_inputs(X, y, sample_weight, offset, groups,
                                               dtype=estimator.dtype,
                                               n_partitions=opts.get("n_partitions")
                                               or 2 * max(1, len(client.nthreads())))
    scanned = _scan(client, source, estimator.cov_type) if scanned is None else scanned
    _set_features(estimator, source)
    classes, K = scanned.classes, scanned.classes.size
    if kind == "firth" and K > 2:
        raise ValueError("penalty='firth' is implemented for binary outcomes; y has "
                         f"{K} classes.")
    cw = _class_weights(estimator, classes, scanned.class_counts)
    totals = cw * scanned.class_raw_weight
    if not totals.sum() > 0:
        raise ValueError("all rows have zero weight after applying class_weight."
                         if estimator.class_weight is not None else
                         "sample_weight is zero for every row; at least one row needs a "
                         "positive weight.")
    ref = estimator._reference_index(classes)
    layout = estimator._layout(source.n_features, K, ref, kind)
    data = _backend(client, source, scanned, cw, layout, float(totals.sum()), opts)
    try:
        _fit_data(estimator, data, layout, kind, alpha, l1_ratio, totals, scanned, opts)
    except BaseException:
        data.release()
        raise
    estimator.engine_ = "dask"
    estimator.n_partitions_ = data.n_partitions
    return estimator


def _scan(client, source, cov_type):
    from dask import delayed
    task = delayed(dask_input.scan_part, pure=True)
    check_X = source.assembler.formula is None
    with dask_input.naming_bad_files(client, source.path):
        scans = client.compute([task(source.assembler, pieces, check_X)
                                for pieces in source.parts], sync=True)
    return dask_input.combine_scans(scans, source.feature_names, cov_type)


def _set_features(estimator, source):
    estimator.n_features_in_ = source.n_features
    if source.feature_names is not None:     # DataFrame columns or a formula's design
        estimator.feature_names_in_ = np.asarray(source.feature_names, dtype=object)
    else:
        estimator.__dict__.pop("feature_names_in_", None)


def _class_weights(estimator, classes, counts) -> np.ndarray:
    """Per-class weights from the class counts (sklearn's "balanced":
    n / (K · n_k))."""
    cw = estimator.class_weight
    if cw is None:
        return np.ones(classes.size)
    if cw == "balanced":
        return counts.sum() / (classes.size * counts.astype(np.float64))
    return estimator._class_weights(classes, np.arange(classes.size))


def _backend(client, source, scanned, cw, layout, weight_sum, opts) -> DaskData:
    from dask import delayed
    spec = dask_input.PrepareSpec(
        classes=scanned.classes, class_weight=cw, dtype=source.dtype,
        group_levels=scanned.group_levels, check_X=source.assembler.formula is not None,
        names=tuple(source.feature_names) if source.feature_names else None)
    task = delayed(dask_input.prepare_part, pure=True)
    blocks = [task(source.assembler, pieces, spec, start)
              for pieces, start, n in zip(source.parts, scanned.starts, scanned.counts) if n]
    persist = opts.get("persist", "auto")
    if persist == "auto":
        persist = scanned.n_rows * source.nbytes_per_row <= PERSIST_SHARE * _cluster_memory(client)
    return DaskData(blocks, layout, scanned.n_rows, weight_sum, client,
                    has_offset="offset" in source.given, persist=persist)


def _start(estimator, layout, totals, K, checkpoint, fingerprint):
    """The start point: a matching checkpoint, a warm start, or base rates."""
    y = np.arange(K, dtype=np.float64 if K == 2 else np.intp)
    w0 = estimator._start(layout, y, totals, K)
    if checkpoint is None:
        return w0, None
    saved = load_checkpoint(checkpoint, fingerprint)
    return w0, saved


def _fit_data(estimator, data, layout, kind, alpha, l1_ratio, totals, scanned, opts):
    """Solve and report. Unpenalized fits read the aliased columns off the
    information at the optimum, which inference needs anyway (one pass that
    also counts saturated rows), and refit only if some columns alias; Firth
    needs them before it starts (its penalty is log det of the information)."""
    checkpoint = opts.get("checkpoint")
    fingerprint = _fingerprint(estimator, layout, scanned, totals, kind, alpha, l1_ratio)
    w0, resume = _start(estimator, layout, totals, scanned.classes.size, checkpoint,
                        fingerprint)
    with_inference = kind in ("none", "firth") and layout.size <= _inference_max()
    defer = with_inference and kind == "none"
    aliased = fitstats.aliased_features(data, layout) \
        if with_inference and not defer else []
    solve = (estimator, data, layout, alpha, l1_ratio, kind, checkpoint, fingerprint)
    objective, result = _solve_with(*solve, w0, resume, aliased)
    info = n_sat = None
    if defer:
        info, n_sat = information_and_saturation(data, layout, result.coef)
        aliased = fitstats.aliased_after_fit(objective, info, result.coef)
        if aliased:
            info = n_sat = None
            objective, result = _solve_with(*solve, w0, None, aliased)
    if aliased:
        w0 = np.where(estimator._aliased_mask(layout, aliased), 0.0, w0)
    estimator._layout_ = layout
    estimator.classes_ = scanned.classes
    estimator.reference_class_ = scanned.classes[estimator._reference_index(scanned.classes)]
    estimator._w = result.coef
    estimator._store_result(result)
    _report(estimator, objective, result, w0, aliased, with_inference, kind,
            () if scanned.group_levels is None else scanned.group_levels, info, n_sat)


def _solve_with(estimator, data, layout, alpha, l1_ratio, kind, checkpoint,
                fingerprint, w0, resume, aliased):
    """The objective (aliased columns held at 0, or the pinned intercept) and the
    solver's result from ``resume`` (a checkpoint) or ``w0``."""
    fixed = estimator._aliased_mask(layout, aliased) if aliased else estimator._pinned(layout)
    if aliased:
        w0 = np.where(fixed, 0.0, w0)
    objective = TrackingObjective(data, alpha, l1_ratio, fixed, fixed_values=w0)
    start = w0 if resume is None else np.where(fixed, w0, resume) if fixed is not None else resume
    return objective, _solve(estimator, objective, start, kind, checkpoint, fingerprint)


def _info_saturation_part(X, y, s, offset, W, layout):
    """One partition: its Hessian of Σ s·nll at ``W`` (the information) and its
    count of saturated rows, as one array (the count in the last entry)."""
    _, _, H, _ = chunk_stats(X, y, s, offset, W, layout, grad=False, hess=True)
    return np.append(H.ravel(), _saturated(X, y, s, offset, W, layout))


def information_and_saturation(data, layout, w_full):
    """The information matrix (size, size) at ``w_full`` and the number of rows
    whose fitted probability saturates, in one pass."""
    W = layout.matrix(w_full)
    if not np.all(np.isfinite(W)):
        return fitstats.information(Objective(data), w_full), 0
    flat = data.reduce_chunks(_info_saturation_part, W, layout)
    return flat[:-1].reshape(layout.size, layout.size), int(flat[-1])


def _inference_max():
    from .estimator import INFERENCE_MAX_SIZE
    return INFERENCE_MAX_SIZE


def select_solver(size: int, penalty_kind: str) -> str:
    """``solver="auto"`` on Dask: Newton-type, few passes (Newton up to
    :data:`NEWTON_MAX_SIZE` coefficients, then Newton-CG; cd / gd for L1)."""
    if penalty_kind == "firth":
        return "firth"
    if penalty_kind in ("l1", "elasticnet"):
        return "cd" if size <= solvers.cd.MAX_SIZE else "gd"
    return "newton" if size <= NEWTON_MAX_SIZE else "newton-cg"


def _solve(estimator, objective, w_start, kind, checkpoint, fingerprint):
    name = estimator.solver if estimator.solver != "auto" else select_solver(objective.size, kind)
    tol = solvers.DEFAULT_TOL[name] if estimator.tol is None else estimator.tol
    max_iter = solvers.DEFAULT_MAX_ITER[name] if estimator.max_iter is None else estimator.max_iter
    options = solvers.check_options(name, estimator.solver_options)
    if name == "firth":
        options["penalty_coords"] = objective.free
    user = estimator.callback

    def callback(iteration, value, grad_norm):
        if checkpoint is not None:
            w = objective.iterate(value)
            save_checkpoint(checkpoint, fingerprint, objective.expand(w), iteration, value)
        if user is not None:
            user(iteration, value, grad_norm)

    result = solvers.run(name, objective, objective.restrict(w_start), tol=tol,
                         max_iter=max_iter, callback=callback, **options)
    result.coef = estimator._canonical(objective.layout, objective.expand(result.coef))
    return result


class TrackingObjective(Objective):
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


# -------------------------------------------------------------- checkpoints
def _fingerprint(estimator, layout, scanned, totals, kind, alpha, l1_ratio) -> dict:
    return {"size": int(layout.size), "n_classes": int(layout.n_classes),
            "free_classes": [int(k) for k in layout.free_classes],
            "fit_intercept": bool(layout.fit_intercept), "n_rows": int(scanned.n_rows),
            "class_weight_totals": [float(t) for t in totals],
            "classes": [str(c) for c in scanned.classes], "penalty": kind,
            "alpha": float(alpha), "l1_ratio": float(l1_ratio)}


def save_checkpoint(path, fingerprint: dict, coef, iteration: int, value: float) -> None:
    """Write the coefficients of one iteration atomically (JSON; floats exact)."""
    from .persist import write_atomic
    doc = {"format": CHECKPOINT_FORMAT, "version": 1, "fingerprint": fingerprint,
           "iteration": int(iteration), "objective": float(value),
           "coef": [float(v) for v in np.asarray(coef, dtype=np.float64)]}
    write_atomic(path, json.dumps(doc).encode("utf-8"))


def load_checkpoint(path, fingerprint: dict):
    """The saved full coefficient vector if ``path`` holds a checkpoint of the
    same problem (same data summary, classes, layout and penalty), else None
    (with a warning when a file is there but does not match)."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        doc = json.loads(path.read_text())
        ok = doc.get("format") == CHECKPOINT_FORMAT and doc.get("fingerprint") == fingerprint
        coef = np.asarray(doc["coef"], dtype=np.float64)
        ok = ok and coef.shape == (fingerprint["size"],) and bool(np.isfinite(coef).all())
    except (ValueError, KeyError, TypeError, OSError):
        ok = False
    if not ok:
        warn(f"checkpoint {str(path)!r} is not a checkpoint of this fit (different "
             "data, model or penalty); starting from scratch and overwriting it.",
             UserWarning)
        return None
    return coef


# ------------------------------------------------------------------ report
def _saturated(X, y, s, offset, W, layout):
    """Rows whose fitted probability of the observed class is within 1e-10 of 1."""
    from .diagnostics import _SATURATED_NLL
    from .links import log_softmax
    z = logits(X, W, layout, offset)
    if layout.multinomial:
        nll = -log_softmax(z, axis=1)[np.arange(z.shape[0]), y]
    else:
        nll = binary_nll_from_logits(y, z)
    return int(np.count_nonzero((nll < _SATURATED_NLL) & (s > 0)))


def _cluster_sums(X, y, s, offset, W, layout, n_groups, groups):
    U = chunk_scores(X, y, s, offset, W, layout)
    sums = np.zeros((n_groups, layout.size))
    np.add.at(sums, groups, U)
    return sums


def _report(estimator, objective, result, w0, aliased, with_inference, kind, group_levels=(),
            info=None, n_sat=None):
    """Aliased columns, saturation, the inference state and the warnings;
    ``info`` / ``n_sat``: the information at the optimum and the saturated
    row count when already computed (:func:`information_and_saturation`)."""
    from .diagnostics import CollinearityWarning
    from .validation import _listing
    layout, data = objective.layout, objective.data
    names = estimator._feature_names(layout.n_features)
    estimator.aliased_ = [(names + ["(Intercept)"])[j] for j in aliased]
    if aliased:
        warn(f"{_listing(estimator.aliased_)} {'is' if len(aliased) == 1 else 'are'} a "
             "linear combination of earlier columns (or the intercept) and "
             f"{'was' if len(aliased) == 1 else 'were'} dropped, as R's glm does: "
             "reported as aliased, held at 0. Drop the redundant columns to silence "
             "this.", CollinearityWarning)
    W = layout.matrix(result.coef)
    if n_sat is None:
        n_sat = data.reduce_chunks(_saturated, W, layout) \
            if objective.alpha == 0.0 and np.all(np.isfinite(W)) else 0
    if n_sat and with_inference and kind == "none":
        warn(f"fitted probabilities are numerically 0 or 1 for {n_sat} rows: the data "
             "may be (quasi-)separated. The linear-programming separation check needs "
             "all rows on one machine and is not run on Dask; if coefficients are "
             "large, use penalty='firth' or an L2 penalty.", SeparationWarning)
    estimator.inference_state_ = None
    if with_inference:
        state = estimator._inference_state(objective, result, w0, aliased, None, None,
                                           info)
        if estimator.cov_type == "cluster":
            levels = len(group_levels)
            sums = data.reduce_chunks(_cluster_sums, W, layout, levels)
            meat = sums.T @ sums
            state["meat"] = meat[np.ix_(objective.free, objective.free)].tolist()
            state["n_clusters"] = levels
        estimator.inference_state_ = state
    estimator._fit_objective_ = objective
    warn_findings(explain_fit(objective, result, names, n_saturated=n_sat, separation=None))


__all__ = ["fit", "connect", "current_client", "wants_dask", "select_solver",
           "save_checkpoint", "load_checkpoint", "ENGINES", "ENGINE_OPTIONS"]
