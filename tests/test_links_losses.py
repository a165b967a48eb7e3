"""Link functions and log losses checked against independent references.

References used here: worked values from the spec, closed forms evaluated
exactly (``fractions.Fraction``) or in 200-bit arithmetic (mpmath),
``scipy.special`` and ``sklearn.metrics.log_loss`` computed in the test, and
properties (ranges, normalisation, round trips).

The pytest configuration turns every RuntimeWarning into an error, and the
property tests additionally run under ``warnings.simplefilter("error")`` so an
overflow / invalid-value warning fails them whatever the configuration.
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import scipy.special as sps
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.metrics import log_loss as sk_log_loss

from logitlab.core.layout import Layout
from logitlab.families import family_from_layout
from logitlab.core.links import (log1pexp, log_odds, log_sigmoid, log_softmax, logit, odds,
                            sigmoid, softmax)
from logitlab.core.losses import log_loss, log_loss_from_logits

EPS = np.finfo(np.float64).eps
TINY = np.finfo(np.float64).smallest_subnormal  # 5e-324, the ulp of subnormals
LN2 = math.log(2.0)

mpmath.mp.prec = 200  # far more than double precision: the reference is exact

# derandomized (reproducible in CI) and no example database written to disk;
# the decisive extremes are pinned with @example as well
SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

# Every finite double, with the extremes hypothesis should always try.
SPECIAL = [0.0, -0.0, 1e308, -1e308, TINY, -TINY, 1e-310, -1e-310,
           np.finfo(np.float64).max, -np.finfo(np.float64).max,
           709.782712893384, -709.782712893384, 745.2, -745.2, 36.7, -36.7, 1.0, -1.0]
finite = st.one_of(
    st.sampled_from(SPECIAL),
    st.floats(min_value=-1e308, max_value=1e308, allow_nan=False,
              allow_infinity=False, allow_subnormal=True),
)
finite32 = st.floats(width=32, allow_nan=False, allow_infinity=False, allow_subnormal=True)


def _mp(x):
    return mpmath.mpf(float(x))


def _close_ulps(computed, exact, ulps):
    """``computed`` equals ``exact`` (an mpmath number) to ``ulps`` relative
    epsilons; results in the subnormal range get the subnormal ulp instead."""
    e = float(exact)
    tol = ulps * max(abs(e) * EPS, TINY)
    return abs(float(computed) - e) <= tol


# --------------------------------------------------------------------------
# 1. Worked checks from the spec
# --------------------------------------------------------------------------

def test_spec_binary_cross_entropy_in_bits():
    y = [1, 0, 0, 1]
    p = [0.8, 0.3, 0.4, 0.7]
    assert log_loss(y, p, base=2) == pytest.approx(0.5220100086782713, rel=1e-14, abs=0)
    # and in nats it is the same number times ln 2, as sklearn computes it
    assert log_loss(y, p) == pytest.approx(sk_log_loss(y, p), rel=1e-14, abs=0)
    assert log_loss(y, p) == pytest.approx(0.5220100086782713 * LN2, rel=1e-14, abs=0)


def test_spec_softmax_of_logits():
    got = softmax(np.array([0.5, 0.34, 2.41]))
    np.testing.assert_allclose(got, [0.116208, 0.099026, 0.784765], rtol=0, atol=5e-7)
    np.testing.assert_allclose(got, sps.softmax([0.5, 0.34, 2.41]), rtol=1e-14)


def test_spec_logits_w_f_plus_b():
    W = np.array([[1.0, -1.0, 0.5], [0.8, 0.5, -0.3], [-0.5, 1.2, 1.0]])
    f = np.array([0.5, 0.8, 1.2])
    b = np.array([0.2, -0.1, 0.5])
    # the kernels' coefficient matrix: one column per class, intercept last row
    layout = Layout(n_features=3, n_classes=3, free_classes=(0, 1, 2), fit_intercept=True)
    Wk = np.vstack([W.T, b])
    z = family_from_layout(layout).linear_predictor(f[None, :], Wk)
    assert z.shape == (1, 3)
    np.testing.assert_allclose(z[0], [0.5, 0.34, 2.41], rtol=0, atol=1e-14)
    # chained: the spec's softmax of those logits
    np.testing.assert_allclose(softmax(z)[0], [0.116208, 0.099026, 0.784765],
                               rtol=0, atol=5e-7)


# --------------------------------------------------------------------------
# 2. Links at extreme inputs (hypothesis)
# --------------------------------------------------------------------------

@SETTINGS
@given(z=finite)
def test_sigmoid_family_finite_no_warnings(z):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = sigmoid(z)
        ls = log_sigmoid(z)
        lp = log1pexp(z)
    assert not np.isnan(s) and 0.0 <= s <= 1.0
    assert not np.isnan(ls) and np.isfinite(ls) and ls <= 0.0
    assert not np.isnan(lp) and np.isfinite(lp) and lp >= 0.0
    # symmetry 1 - sigmoid(z) = sigmoid(-z) and softplus(z) - softplus(-z) = z
    assert abs((1.0 - s) - sigmoid(-z)) <= 2 * EPS
    if abs(z) < 1e300:
        assert abs((lp - log1pexp(-z)) - z) <= 4 * EPS * max(1.0, abs(z))


@SETTINGS
@given(z=hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1,
                                                 max_side=6), elements=finite))
def test_softmax_and_log_softmax_finite_no_warnings(z):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = softmax(z, axis=1)
        lp = log_softmax(z, axis=1)
    assert p.shape == z.shape and lp.shape == z.shape
    assert not np.any(np.isnan(p)) and not np.any(np.isnan(lp))
    assert np.all(np.isfinite(p))
    assert np.all((p >= 0) & (p <= 1))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=0, atol=8 * EPS)
    # log_softmax may be -inf only when the true value (< -1.8e308) is not
    # representable; it is never positive
    assert np.all(lp <= 0.0)
    if np.all(np.abs(z) < 8e307):  # max - min < 1.6e308 is representable
        assert np.all(np.isfinite(lp))
    # exp(log_softmax) is the softmax
    np.testing.assert_allclose(np.exp(lp), p, rtol=1e-13, atol=1e-300)


@SETTINGS
@given(z=hnp.arrays(np.float64, st.integers(1, 6), elements=finite))
def test_softmax_matches_scipy_1d(z):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = softmax(z)
        got_log = log_softmax(z)
    with np.errstate(over="ignore"):  # scipy's own 1e308 - (-1e308)
        ref = sps.softmax(z)
        ref_log = sps.log_softmax(z)
    np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-300)
    finite_ref = np.isfinite(ref_log)
    np.testing.assert_allclose(got_log[finite_ref], ref_log[finite_ref],
                               rtol=1e-13, atol=4 * EPS)


@SETTINGS
@given(z=st.floats(min_value=-708.0, max_value=0.0, allow_subnormal=True))
@example(z=-708.0)
@example(z=0.0)
@example(z=-TINY)
@example(z=-1e-300)
@example(z=-36.7)
def test_logit_inverts_sigmoid_negative_side(z):
    # p = sigmoid(z) <= 1/2 has full relative precision for z >= -708 (p is a
    # normal number), so log(p) - log1p(-p) recovers z to a few ulps of max(1, |z|)
    back = logit(sigmoid(z))
    assert abs(back - z) <= 4 * EPS * max(1.0, abs(z))


@SETTINGS
@given(z=st.floats(min_value=0.0, max_value=30.0, exclude_min=True, allow_subnormal=True))
@example(z=30.0)
@example(z=TINY)
@example(z=1e-300)
@example(z=0.5)
def test_logit_inverts_sigmoid_positive_side(z):
    # For z > 0, p = sigmoid(z) is close to 1 and the double p only holds
    # 1 - p = e^{-z}/(1 + e^{-z}) to an absolute precision of ~eps/2, i.e. a
    # *relative* precision of ~eps * e^z. That information is gone before logit
    # sees p, so the round trip can only be exact to ~eps * e^z (for z = 30:
    # ~1e-3). logit itself must add nothing to that: 4 eps e^z.
    back = logit(sigmoid(z))
    assert abs(back - z) <= 4 * EPS * math.exp(z)


@pytest.mark.parametrize("z", [-709.0, -715.0, -720.0, -730.0, -740.0])
def test_logit_inverts_sigmoid_subnormal_side(z):
    # Below z = -708.4, p = sigmoid(z) is subnormal: it is only known to an
    # absolute 2.5e-324 (half a subnormal ulp), a relative 2.5e-324 / p, so
    # the round trip can only hold to about that (e.g. 1e-11 at z = -720),
    # but it must not collapse to -inf.
    p_exact = float(1 / (1 + mpmath.exp(-_mp(z))))
    back = logit(sigmoid(z))
    assert np.isfinite(back)
    assert abs(back - z) <= 2 * TINY / p_exact + 4 * EPS * abs(z)


def test_logit_endpoints_and_outside():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert logit(0.0) == -np.inf
        assert logit(1.0) == np.inf
        assert logit(0.5) == 0.0
        out = logit(np.array([-0.1, 1.1]))
    assert np.all(np.isnan(out))
    np.testing.assert_array_equal(log_odds(np.array([0.2, 0.9])), logit(np.array([0.2, 0.9])))


@pytest.mark.parametrize("p", [1e-300, 1e-17, 0.1, 0.3, 0.5, 0.7, 0.9, 1 - 2 ** -30, 1 - EPS / 2])
def test_logit_exact_value(p):
    # log(p / (1 - p)) in exact rational -> mpmath arithmetic
    exact = mpmath.log(_mp(p) / (1 - _mp(p)))
    assert _close_ulps(logit(p), exact, 4)


@SETTINGS
@given(z=finite)
@example(z=-1e308)
@example(z=1e308)
@example(z=0.0)
@example(z=-745.0)
@example(z=-740.0)
@example(z=-36.0)
@example(z=36.0)
@example(z=1e-20)
def test_log1pexp_matches_mpmath(z):
    exact = mpmath.log1p(mpmath.exp(_mp(z)))
    assert _close_ulps(log1pexp(z), exact, 2), (z, float(log1pexp(z)), float(exact))


@SETTINGS
@given(z=finite)
@example(z=-1e308)
@example(z=1e308)
@example(z=745.0)
@example(z=40.0)
@example(z=-40.0)
def test_log_sigmoid_matches_mpmath(z):
    exact = -mpmath.log1p(mpmath.exp(-_mp(z)))
    assert _close_ulps(log_sigmoid(z), exact, 2), (z, float(log_sigmoid(z)), float(exact))


@SETTINGS
@given(z=st.floats(min_value=-745.0, max_value=745.0))
@example(z=-745.0)
@example(z=-720.0)
@example(z=-709.8)
@example(z=-700.0)
@example(z=-40.0)
def test_sigmoid_matches_mpmath(z):
    # the docstring promises full relative precision for tiny probabilities
    # (evaluated as exp(z) / (1 + exp(z)) for z < 0); below z = -708.4 the
    # result is subnormal, so "2 ulps" means 2 * 5e-324 there (not 0 for
    # sigmoid(-720) = 2.3e-313)
    exact = 1 / (1 + mpmath.exp(-_mp(z)))
    assert _close_ulps(sigmoid(z), exact, 2), (z, float(sigmoid(z)), float(exact))


@SETTINGS
@given(p=st.floats(min_value=0.0, max_value=1.0, exclude_max=True, allow_subnormal=True))
@example(p=0.0)
@example(p=0.5)
@example(p=1 - EPS / 2)
def test_odds_is_p_over_1_minus_p(p):
    exact = Fraction(p) / (1 - Fraction(p))
    got = odds(p)
    assert abs(Fraction(float(got)) - exact) <= 2 * EPS * exact + Fraction(TINY)


def test_odds_of_one_is_inf_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert odds(1.0) == np.inf
        np.testing.assert_array_equal(odds(np.array([0.0, 0.5, 1.0])), [0.0, 1.0, np.inf])


@pytest.mark.parametrize("fn", [sigmoid, log_sigmoid, log1pexp, logit, odds, log_odds])
def test_elementwise_float32_in_float32_out(fn):
    arr = np.array([-3.0, -0.25, 0.25, 0.75], dtype=np.float32)
    if fn in (logit, odds, log_odds):
        arr = np.array([0.05, 0.25, 0.5, 0.75], dtype=np.float32)
    out = fn(arr)
    assert out.dtype == np.float32 and out.shape == arr.shape
    scalar = fn(np.float32(arr[1]))
    assert np.ndim(scalar) == 0 and np.asarray(scalar).dtype == np.float32
    # float32 computation agrees with the float64 one to float32 precision
    np.testing.assert_allclose(out, fn(arr.astype(np.float64)), rtol=4e-7)
    # integer / float64 input gives float64
    assert np.asarray(fn(np.array([0.5, 0.25]))).dtype == np.float64


@pytest.mark.parametrize("fn, ref", [(softmax, sps.softmax), (log_softmax, sps.log_softmax)])
def test_softmax_float32_in_float32_out(fn, ref):
    z = np.array([[0.5, 0.34, 2.41], [-3.0, 1e4, 2.0]], dtype=np.float32)
    out = fn(z, axis=1)
    assert out.dtype == np.float32 and out.shape == z.shape
    np.testing.assert_allclose(out, ref(z.astype(np.float64), axis=1), rtol=1e-6, atol=1e-30)


@SETTINGS
@given(z=hnp.arrays(np.float32, st.integers(1, 8), elements=finite32))
def test_float32_extremes_never_nan(z):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        outs = [sigmoid(z), log_sigmoid(z), log1pexp(z), softmax(z), log_softmax(z)]
    for out in outs:
        assert out.dtype == np.float32
        assert not np.any(np.isnan(out))
    assert np.all(np.isfinite(outs[1])) and np.all(np.isfinite(outs[2]))
    assert abs(float(np.sum(outs[3], dtype=np.float64)) - 1.0) <= 1e-6


def test_scalar_in_scalar_out():
    for fn in (sigmoid, log_sigmoid, log1pexp, logit, odds):
        out = fn(0.25)
        assert np.ndim(out) == 0
        assert isinstance(float(out), float)


# --------------------------------------------------------------------------
# 3. Log losses
# --------------------------------------------------------------------------

def _binary_data(rng, m=200):
    y = (rng.random(m) < 0.4).astype(np.float64)
    z = rng.normal(scale=2.0, size=m)
    w = rng.uniform(0.0, 3.0, size=m)
    w[::7] = 0.0
    return y, z, w


def _multi_data(rng, m=200, K=4):
    y = rng.integers(0, K, size=m)
    Z = rng.normal(scale=2.0, size=(m, K))
    w = rng.uniform(0.0, 3.0, size=m)
    w[::5] = 0.0
    return y, Z, w


@pytest.mark.parametrize("weighted", [False, True])
def test_binary_log_loss_matches_sklearn(weighted):
    rng = np.random.default_rng(11)
    y, z, w = _binary_data(rng)
    p = sps.expit(z)
    sw = w if weighted else None
    ref = sk_log_loss(y, p, sample_weight=sw)
    assert log_loss(y, p, sample_weight=sw) == pytest.approx(ref, rel=1e-12, abs=0)
    assert log_loss(y, p, sample_weight=sw, base=2) == pytest.approx(ref / LN2, rel=1e-12, abs=0)
    assert log_loss(y, p, sample_weight=sw, base=10) == pytest.approx(ref / math.log(10), rel=1e-12, abs=0)
    assert log_loss_from_logits(y, z, sample_weight=sw) == pytest.approx(ref, rel=1e-12, abs=0)
    assert log_loss_from_logits(y, z, sample_weight=sw, base=2) == pytest.approx(ref / LN2, rel=1e-12, abs=0)


@pytest.mark.parametrize("weighted", [False, True])
def test_multiclass_log_loss_matches_sklearn(weighted):
    rng = np.random.default_rng(12)
    y, Z, w = _multi_data(rng)
    P = sps.softmax(Z, axis=1)
    sw = w if weighted else None
    ref = sk_log_loss(y, P, sample_weight=sw, labels=[0, 1, 2, 3])
    assert log_loss(y, P, sample_weight=sw) == pytest.approx(ref, rel=1e-12, abs=0)
    assert log_loss(y, P, sample_weight=sw, base=2) == pytest.approx(ref / LN2, rel=1e-12, abs=0)
    assert log_loss_from_logits(y, Z, sample_weight=sw) == pytest.approx(ref, rel=1e-12, abs=0)
    assert log_loss_from_logits(y, Z, sample_weight=sw, base=2) == pytest.approx(ref / LN2, rel=1e-12, abs=0)
    # float class codes that are whole numbers are accepted as indices
    assert log_loss(y.astype(float), P, sample_weight=sw) == pytest.approx(ref, rel=1e-12, abs=0)


def test_multiclass_from_logits_matches_logsumexp_written_out():
    rng = np.random.default_rng(13)
    y, Z, w = _multi_data(rng, m=300, K=5)
    Z[:10] *= 300.0  # some large logits
    per_row = sps.logsumexp(Z, axis=1) - Z[np.arange(len(y)), y]
    ref = np.sum(w * per_row) / np.sum(w)
    assert log_loss_from_logits(y, Z, sample_weight=w) == pytest.approx(ref, rel=1e-12, abs=0)


def test_weight_scaling_and_zero_weight_rows_are_dropped():
    rng = np.random.default_rng(14)
    y, z, w = _binary_data(rng)
    keep = w > 0
    full = log_loss_from_logits(y, z, sample_weight=w)
    assert full == pytest.approx(log_loss_from_logits(y[keep], z[keep], sample_weight=w[keep]),
                                 rel=1e-13, abs=0)
    assert full == pytest.approx(log_loss_from_logits(y, z, sample_weight=7.5 * w), rel=1e-13, abs=0)
    # integer weights = repeated rows
    wi = rng.integers(0, 4, size=len(y))
    rep = np.repeat(np.arange(len(y)), wi)
    assert log_loss_from_logits(y, z, sample_weight=wi) == pytest.approx(
        log_loss_from_logits(y[rep], z[rep]), rel=1e-12, abs=0)


def test_zero_weight_row_with_infinite_loss_contributes_nothing():
    # The module promises that a zero-weight row contributes nothing even when
    # its loss is infinite (p = 0 for the observed class). Reference: sklearn
    # on the rows that carry weight. Must not emit a RuntimeWarning (0 * inf).
    y = np.array([1.0, 0.0, 1.0, 0.0])
    p = np.array([0.0, 0.3, 0.9, 0.2])
    w = np.array([0.0, 1.0, 2.0, 0.5])
    ref = sk_log_loss(y[1:], p[1:], sample_weight=w[1:], labels=[0, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = log_loss(y, p, sample_weight=w)
    assert got == pytest.approx(ref, rel=1e-13, abs=0)
    # multiclass: a zero-weight row whose observed class has probability 0
    yk = np.array([2, 0, 1])
    P = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5], [0.1, 0.6, 0.3]])
    wk = np.array([0.0, 1.0, 3.0])
    refk = sk_log_loss(yk[1:], P[1:], sample_weight=wk[1:], labels=[0, 1, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gotk = log_loss(yk, P, sample_weight=wk)
    assert gotk == pytest.approx(refk, rel=1e-13, abs=0)


def test_log_loss_of_certain_correct_prediction_is_zero_and_wrong_is_inf():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert log_loss([1, 0], [1.0, 0.0]) == 0.0
        assert log_loss([1], [0.0]) == np.inf


EXTREME_BINARY = [(y, z) for z in (0.0, 1.0, 36.0, 50.0, 709.0, 740.0, 800.0, 1e308)
                  for y in (1, 0)] + [(y, -z) for z in (1.0, 36.0, 50.0, 709.0, 740.0, 800.0, 1e308)
                                      for y in (1, 0)]


@pytest.mark.parametrize("y, z", EXTREME_BINARY)
def test_binary_from_logits_extreme_exact(y, z):
    # -log sigmoid(z) = log1p(exp(-z)) for y = 1, -log(1 - sigmoid(z)) =
    # log1p(exp(z)) for y = 0, evaluated in 200-bit arithmetic. For y = 1,
    # z = 50 the exact value is 1.9287e-22, which a naive -log(sigmoid(z))
    # rounds to 0; for z = 709 / 740 it is a (sub)normal number, not 0.
    exact = mpmath.log1p(mpmath.exp(-_mp(z) if y == 1 else _mp(z)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = log_loss_from_logits(np.array([float(y)]), np.array([z]))
        got2 = log_loss_from_logits(np.array([float(y)]), np.array([z]), base=2)
    assert _close_ulps(got, exact, 2), (y, z, got, float(exact))
    assert _close_ulps(got2, exact / mpmath.log(2), 3), (y, z, got2, float(exact / mpmath.log(2)))


def test_binary_from_logits_spec_value_z50():
    exact = float(mpmath.log1p(mpmath.exp(-50)))
    assert exact == pytest.approx(1.9287498479639178e-22, rel=1e-15, abs=0)
    got = log_loss_from_logits(np.array([1.0]), np.array([50.0]))
    assert got == pytest.approx(exact, rel=4 * EPS, abs=0)


def test_binary_from_logits_extreme_batch_mean():
    y = np.array([1.0, 0.0, 1.0, 0.0, 1.0, 0.0])
    z = np.array([50.0, -50.0, 800.0, -800.0, 30.0, -1e308])
    w = np.array([1.0, 2.0, 1.0, 1.0, 0.5, 3.0])
    terms = [mpmath.log1p(mpmath.exp(-_mp(zi) if yi == 1 else _mp(zi))) for yi, zi in zip(y, z)]
    exact = mpmath.fsum(_mp(wi) * t for wi, t in zip(w, terms)) / _mp(w.sum())
    got = log_loss_from_logits(y, z, sample_weight=w)
    assert _close_ulps(got, exact, 4), (got, float(exact))


MULTI_EXTREME = [
    ([50.0, 0.0, 0.0], 0),        # well classified: exact 2 e^-50 = 3.857e-22
    ([50.0, 0.0, 0.0], 1),
    ([0.0, 40.0, -10.0], 1),
    ([800.0, -800.0, 0.0], 2),
    ([800.0, -800.0, 0.0], 0),
    ([1e308, -1e308, 0.0], 2),
    ([1e308, 1e308, 1e308], 1),
    ([-1e308, -1e308, 0.0], 2),
    ([0.5, 0.34, 2.41], 2),
    ([0.5, 0.34, 2.41], 0),
]


@pytest.mark.parametrize("row, cls", MULTI_EXTREME)
def test_multiclass_from_logits_extreme_matches_mpmath(row, cls):
    # -log softmax(z)_y = log(sum_k exp(z_k - z_y)), in 200-bit arithmetic
    zs = [_mp(v) for v in row]
    exact = mpmath.log(mpmath.fsum(mpmath.exp(zk - zs[cls]) for zk in zs))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = log_loss_from_logits(np.array([cls]), np.array([row]))
    assert _close_ulps(got, exact, 4), (row, cls, got, float(exact))


@pytest.mark.parametrize("z1", [-800.0, -50.0, -3.0, 0.0, 2.0, 50.0, 800.0])
@pytest.mark.parametrize("y", [0, 1])
def test_two_class_multinomial_equals_binary(y, z1):
    # softmax over (0, z1) is sigmoid(z1): both paths have the same exact value
    exact = mpmath.log1p(mpmath.exp(-_mp(z1) if y == 1 else _mp(z1)))
    multi = log_loss_from_logits(np.array([y]), np.array([[0.0, z1]]))
    assert _close_ulps(multi, exact, 4), (y, z1, multi, float(exact))


@pytest.mark.parametrize("fn", [log_loss, log_loss_from_logits])
def test_bad_inputs_raise(fn):
    p1 = np.array([0.2, 0.7, 0.4])
    P = np.array([[0.2, 0.8], [0.6, 0.4], [0.5, 0.5]])
    with pytest.raises(ValueError):                      # shape mismatch, binary
        fn(np.array([1.0, 0.0]), p1)
    with pytest.raises(ValueError):                      # shape mismatch, multiclass
        fn(np.array([1, 0]), P)
    with pytest.raises(ValueError):                      # class index out of range
        fn(np.array([0, 2, 1]), P)
    with pytest.raises(ValueError):                      # negative class index
        fn(np.array([0, -1, 1]), P)
    with pytest.raises(ValueError):                      # non-integer class code
        fn(np.array([0.0, 0.5, 1.0]), P)
    with pytest.raises(ValueError):                      # negative weight
        fn(np.array([1.0, 0.0, 1.0]), p1, sample_weight=[1.0, -0.5, 1.0])
    with pytest.raises(ValueError):                      # all-zero weights
        fn(np.array([1.0, 0.0, 1.0]), p1, sample_weight=[0.0, 0.0, 0.0])
    with pytest.raises(ValueError):                      # weight shape
        fn(np.array([1.0, 0.0, 1.0]), p1, sample_weight=[1.0, 1.0])
    with pytest.raises(ValueError):                      # 3-D input
        fn(np.array([0]), np.zeros((1, 2, 2)))
    with pytest.raises(ValueError):                      # log base 1
        fn(np.array([1.0, 0.0, 1.0]), p1, base=1)
    with pytest.raises(ValueError):                      # unknown base name
        fn(np.array([1.0, 0.0, 1.0]), p1, base="bits")
