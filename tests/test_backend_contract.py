"""The data-backend contract (logitlab.backends.base.DataBackend), one suite for
every backend: the in-memory blocks and the Dask partitions answer each
question of the contract with the same numbers.

Reference: closed-form NumPy sums over all rows, computed here from the model's
formulas (binary: p = sigmoid(z); multinomial: p = softmax(z) with the reference
class's logit 0, or the symmetric softmax), for dense X with weights, an offset
and cluster codes, in uneven partitions (some empty).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit, log_softmax, logsumexp, softmax

from logitlab.backends.base import DataBackend
from logitlab.backends.memory import InMemoryData
from logitlab.families import logit_family

N, D = 260, 3
CHUNKS = (100, 0, 37, 123)
MODELS = {"binary": (2, False), "multinomial-ref": (3, False), "symmetric": (3, True)}


def problem(model):
    K, symmetric = MODELS[model]
    rng = np.random.default_rng(len(model))
    X = rng.normal(size=(N, D))
    y = rng.integers(0, K, N)
    s = rng.uniform(0.2, 2.0, N)
    offset = rng.normal(scale=0.3, size=N if K == 2 else (N, K))
    groups = rng.integers(0, 7, N)
    family = logit_family(D, K, reference=1, symmetric=symmetric)
    W = rng.normal(scale=0.5, size=(family.layout.n_rows, family.layout.n_cols))
    return X, y, s, offset, groups, family, W


def make_backend(kind, request, X, y, s, offset, groups, family):
    codes = y.astype(np.int8) if family.layout.n_classes == 2 else y.astype(np.intp)
    if kind == "memory":
        return InMemoryData(X, codes, s, offset, family, block_bytes=1 << 10, groups=groups)
    from dask import delayed

    from logitlab.backends.dask import Block, DaskData
    client = request.getfixturevalue("client")
    cuts = np.cumsum((0,) + CHUNKS)
    blocks = [delayed(Block)(X[a:b], codes[a:b], s[a:b], offset[a:b], groups[a:b])
              for a, b in zip(cuts[:-1], cuts[1:]) if b > a]
    return DaskData(blocks, family, N, float(s.sum()), client, has_offset=True,
                    has_groups=True)


# ------------------------------------------------------------ references
def reference(X, y, s, offset, family, W):
    """Σ s·nll, gradient (n_rows, C), Hessian, per-row scores and the row nll."""
    lay = family.layout
    Xa = np.column_stack([X, np.ones(len(X))])
    Z = Xa @ W
    if lay.n_classes == 2:
        z = Z[:, 0] + offset
        p = expit(z)
        nll = np.logaddexp(0.0, z) - y * z
        R = (s * (p - y))[:, None]
        A = (s * p * (1 - p))[:, None, None]
    else:
        full = np.zeros((len(X), lay.n_classes))
        full[:, list(lay.free_classes)] = Z
        full += offset
        P = softmax(full, axis=1)[:, list(lay.free_classes)]
        Y = np.eye(lay.n_classes)[y][:, list(lay.free_classes)]
        nll = logsumexp(full, axis=1) - full[np.arange(len(X)), y]
        R = s[:, None] * (P - Y)
        A = s[:, None, None] * (np.einsum("nk,kl->nkl", P, np.eye(P.shape[1]))
                                - P[:, :, None] * P[:, None, :])
    m, C = lay.n_rows, lay.n_cols
    H = np.einsum("nj,nkl,ni->jkil", Xa, A, Xa).reshape(m * C, m * C)
    U = (Xa[:, :, None] * R[:, None, :]).reshape(len(X), m * C)
    return float(s @ nll), Xa.T @ R, H, U, nll


CASES = [(k, m) for k in ("memory", "dask") for m in MODELS]


@pytest.fixture(params=CASES, ids=[f"{k}-{m}" for k, m in CASES])
def case(request):
    kind, model = request.param
    X, y, s, offset, groups, family, W = problem(model)
    data = make_backend(kind, request, X, y, s, offset, groups, family)
    yield kind, data, (X, y, s, offset, groups, family, W)
    data.release()


def test_backend_is_a_data_backend_with_its_attributes(case):
    kind, data, (X, y, s, offset, groups, family, W) = case
    assert isinstance(data, DataBackend)
    assert data.family == family and data.layout == family.layout
    assert data.n_rows == N and data.weight_sum == pytest.approx(s.sum(), rel=1e-14)
    assert data.has_offset and data.has_groups and not data.is_sparse
    rows = data.local_rows()
    assert (rows is None) == (kind == "dask")
    if rows is not None:
        assert rows.X is X and rows.s is s


def test_stats_hessp_hess_rows_and_diag_match_the_closed_form(case):
    _, data, (X, y, s, offset, groups, family, W) = case
    loss, g, H, _, _ = reference(X, y, s, offset, family, W)
    st = data.stats(W, grad=True, hess=True, curvature=True)
    assert st.loss == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(st.grad, g, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(st.hess, H, rtol=1e-11, atol=1e-12)
    V = np.random.default_rng(5).normal(size=W.shape)
    np.testing.assert_allclose(data.hessp(V).ravel(), H @ V.ravel(), rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(data.hess_diag().ravel(), np.diag(H), rtol=1e-11, atol=1e-12)
    rows = np.array([0, 2, D])                     # two features and the intercept
    idx = family.layout.row_mask(rows).nonzero()[0]
    np.testing.assert_allclose(data.hess_rows(rows), H[np.ix_(idx, idx)], rtol=1e-11,
                               atol=1e-12)
    no_grad = data.stats(W, grad=False)
    assert no_grad.grad is None and no_grad.hess is None
    assert no_grad.loss == pytest.approx(loss, rel=1e-12)


def test_column_blocks_are_the_hessians_diagonal_blocks(case):
    """Binary models: the Hessian on blocks of 2 adjacent coordinates (the
    slopes in column order, then the intercept), float32 sums; other families
    have none."""
    _, data, (X, y, s, offset, groups, family, W) = case
    data.stats(W, curvature=True)
    if family.layout.n_classes != 2:
        with pytest.raises(NotImplementedError):
            data.hess_column_blocks(2)
        return
    _, _, H, _, _ = reference(X, y, s, offset, family, W)
    blocks = data.hess_column_blocks(2)
    m = family.layout.n_rows                      # D slopes and the intercept
    assert blocks.shape == (-(-m // 2), 2, 2)
    for k in range(blocks.shape[0]):
        J = np.arange(2 * k, min(2 * k + 2, m))
        np.testing.assert_allclose(blocks[k][:J.size, :J.size], H[np.ix_(J, J)], rtol=1e-5,
                                   atol=1e-5 * np.abs(H).max())
        assert not blocks[k][J.size:].any()


def test_hessian_sample_of_every_row_is_the_hessian(case):
    kind, data, (X, y, s, offset, groups, family, W) = case
    _, _, H, _, _ = reference(X, y, s, offset, family, W)
    H_sample, weight = data.hessian_sample(W, 10 * N)
    assert weight == pytest.approx(s.sum(), rel=1e-12)
    # a preconditioner: the in-memory binary and multinomial samples accumulate
    # in float32 (2⁻²⁴ per term)
    rtol = 1e-5 if kind == "memory" and (family.layout.n_classes == 2
                                         or family.layout.multinomial) else 1e-10
    np.testing.assert_allclose(H_sample, H, rtol=rtol, atol=rtol * np.abs(H).max())
    if family.layout.multinomial:           # the diagonal class blocks of that Hessian
        blocks, weight = data.hessian_sample(W, 10 * N, blocks=True)
        lay = family.layout
        H4 = H.reshape(lay.n_rows, lay.n_cols, lay.n_rows, lay.n_cols)
        assert weight == pytest.approx(s.sum(), rel=1e-12)
        for c in range(lay.n_cols):
            np.testing.assert_allclose(blocks[c], H4[:, c, :, c], rtol=rtol,
                                       atol=rtol * np.abs(H).max())


def test_statistics_written_on_reduce_chunks(case):
    _, data, (X, y, s, offset, groups, family, W) = case
    _, _, H, U, nll = reference(X, y, s, offset, family, W)
    K = family.layout.n_classes
    np.testing.assert_allclose(data.class_totals(), np.bincount(y, weights=s, minlength=K),
                               rtol=1e-12)
    np.testing.assert_allclose(data.column_sd(), X.std(axis=0), rtol=1e-10)
    np.testing.assert_allclose(data.score_meat(W), (U / s[:, None]).T @ U, rtol=1e-10,
                               atol=1e-12)
    sums = np.zeros((7, U.shape[1]))
    np.add.at(sums, groups, U)
    np.testing.assert_allclose(data.cluster_score_sums(W, 7), sums, rtol=1e-10, atol=1e-12)
    info, n_sat = data.information_and_saturation(W)
    np.testing.assert_allclose(info, H, rtol=1e-11, atol=1e-12)
    assert n_sat == data.count_saturated(W) == int(np.count_nonzero(nll < 1e-10))
    assert data.reduce_chunks(lambda X_, y_, s_, o_: float(s_.sum())) == pytest.approx(s.sum())


def test_saturated_rows_are_counted(case):
    _, data, (X, y, s, offset, groups, family, W) = case
    far = W * 60.0                                 # most rows saturate at huge coefficients
    *_, nll = reference(X, y, s, offset, family, far)
    expected = int(np.count_nonzero(nll < 1e-10))
    assert expected > 0
    assert data.count_saturated(far) == expected


def test_hat_correction_is_firths_score_correction(case):
    _, data, (X, y, s, offset, groups, family, W) = case
    if family.layout.symmetric:
        with pytest.raises(ValueError, match="reference-class layout"):
            data.hat_correction(W, (np.eye(family.layout.size), np.arange(family.layout.size)))
        return
    if family.layout.multinomial:
        # the gradient of ½ log det I: central differences of the reference Hessian's
        def half_logdet(V):
            return 0.5 * np.linalg.slogdet(reference(X, y, s, offset, family, V)[2])[1]
        H = reference(X, y, s, offset, family, W)[2]
        chol = (np.linalg.cholesky(H), np.arange(H.shape[0]))
        h = 1e-6
        fd = [(half_logdet(W + h * E.reshape(W.shape)) - half_logdet(W - h * E.reshape(W.shape)))
              / (2 * h) for E in np.eye(W.size)]
        np.testing.assert_allclose(data.hat_correction(W, chol), fd, rtol=1e-6, atol=1e-9)
        return
    _, _, H, _, _ = reference(X, y, s, offset, family, W)
    inv = np.linalg.inv(H)
    Xa = np.column_stack([X, np.ones(N)])
    p = expit(Xa @ W[:, 0] + offset)
    h = s * p * (1 - p) * np.einsum("ij,jk,ik->i", Xa, inv, Xa)
    chol = (np.linalg.cholesky(H), np.arange(H.shape[0]))
    np.testing.assert_allclose(data.hat_correction(W, chol), Xa.T @ (h * (0.5 - p)),
                               rtol=1e-10, atol=1e-12)


def test_family_predictions_match_the_closed_form():
    for model in MODELS:
        X, y, s, offset, groups, family, W = problem(model)
        Z = family.linear_predictor(X, W, offset)
        P = family.probabilities(Z)
        np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-14)
        np.testing.assert_allclose(family.log_probabilities(Z), np.log(P), rtol=1e-12)
        if family.layout.n_classes > 2:
            np.testing.assert_allclose(np.log(P), log_softmax(Z, axis=1), rtol=1e-12)
