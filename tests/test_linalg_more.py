"""numpy.linalg beyond the basics: det at singular matrices (adjugate), eigh/eigvalsh,
svd/svdvals, norm ord 2/-2/'nuc', pinv, lstsq, matrix_power, multi_dot; both modes."""

import numpy as np
import pytest

import admodes as ad

MODES = ("reverse", "forward")
SINGULAR = np.array([[1.0, 2.0], [2.0, 4.0]])


@pytest.mark.parametrize("mode", MODES)
def test_det_gradient_at_a_singular_matrix_matches_jax(mode):
    # jax.grad(jnp.linalg.det)(jnp.array([[1., 2.], [2., 4.]])) == [[4, -2], [-2, 1]]
    g = ad.grad(np.linalg.det, mode=mode)(SINGULAR)
    np.testing.assert_allclose(g, [[4.0, -2.0], [-2.0, 1.0]], atol=1e-12)
    # rank n-2 (3 x 3 of rank 1): the cofactor matrix is 0
    g = ad.grad(np.linalg.det, mode=mode)(np.ones((3, 3)))
    np.testing.assert_allclose(g, np.zeros((3, 3)), atol=1e-12)


def test_det_stack_at_singular_and_hessian_near_singular():
    a = np.stack([SINGULAR, np.eye(2)])
    g = ad.grad(lambda a: np.sum(np.linalg.det(a)))(a)
    np.testing.assert_allclose(g, [[[4, -2], [-2, 1]], np.eye(2)], atol=1e-12)
    near = SINGULAR + np.array([[1e-6, 0.0], [0.0, 0.0]])
    ad.check_grads(np.linalg.det, (near,), order=2)


def test_slogdet_at_singular_matrix_raises_naming_it():
    with pytest.raises(np.linalg.LinAlgError, match="slogdet: the matrix is singular"):
        ad.grad(lambda a: np.linalg.slogdet(a)[1])(SINGULAR)


def test_eigh_values_vectors_and_conventions():
    rng = np.random.default_rng(0)
    m = rng.normal(size=(4, 4))
    a = m + m.T
    w, v = np.linalg.eigh(a)
    ad.check_grads(lambda a: np.linalg.eigh(a)[0], (a,), order=2)
    # vectors: sign-invariant functions of them
    ad.check_grads(lambda a: np.linalg.eigh(a)[1] ** 2, (a,), order=2)
    ad.check_grads(lambda a: np.linalg.eigh(a, UPLO="U")[1][:, 0] ** 2, (a,), order=1)
    # exactly repeated eigenvalue: eigenvalue derivative finite, eigenvector one nan
    rep = np.diag([1.0, 1.0, 3.0])
    g = ad.grad(lambda a: np.sum(np.linalg.eigvalsh(a)))(rep)
    np.testing.assert_allclose(g, np.eye(3))
    gv = ad.grad(lambda a: np.sum(np.linalg.eigh(a)[1][:, 0] ** 3))(rep)
    assert np.isnan(gv).any()


def test_svd_and_svdvals():
    rng = np.random.default_rng(1)
    for shape in [(3, 3), (4, 2), (2, 4), (2, 3, 2)]:
        a = rng.normal(size=shape)
        ad.check_grads(lambda a: np.linalg.svd(a, compute_uv=False), (a,), order=2)
        # sign-invariant products of the singular vectors
        ad.check_grads(lambda a: (lambda u, s, vh: ((u * s[..., None, :]) @ vh, u ** 2, vh ** 2))(
            *np.linalg.svd(a, full_matrices=False)), (a,), order=2)
    with pytest.raises(NotImplementedError, match="full_matrices=False"):
        ad.grad(lambda a: np.sum(np.linalg.svd(a)[0]))(np.eye(2))


@pytest.mark.parametrize("ord", [2, -2, "nuc"])
def test_matrix_norms_from_singular_values(ord):
    rng = np.random.default_rng(2)
    a = rng.normal(size=(3, 4))
    assert ad.value(ad.numpy.linalg.norm(a, ord)) == pytest.approx(np.linalg.norm(a, ord))
    ad.check_grads(lambda a: np.linalg.norm(a, ord), (a,), order=2)
    x = rng.normal(size=(2, 3, 4))
    ad.check_grads(lambda x: np.linalg.norm(x, ord, axis=(2, 0), keepdims=True), (x,))
    # the 2-norm of a rank-one matrix u vᵀ is |u||v|, gradient u vᵀ / (|u||v|) * ...
    u, v = np.array([1.0, 2.0]), np.array([3.0, 0.0, 4.0])
    if ord == 2:
        g = ad.grad(lambda a: np.linalg.norm(a, 2))(np.outer(u, v))
        np.testing.assert_allclose(g, np.outer(u, v) / (np.linalg.norm(u) * np.linalg.norm(v)))


@pytest.mark.parametrize("ord", [1, 3, np.inf, -np.inf, 0.5])
def test_vector_ord(ord):
    x = np.array([0.5, -1.5, 2.0])
    ad.check_grads(lambda x: np.linalg.norm(x, ord), (x,), order=2)


def test_pinv_lstsq_matrix_power_multi_dot():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(4, 3))
    b = rng.normal(size=(4,))
    ad.check_grads(np.linalg.pinv, (a,), order=2)
    ad.check_grads(np.linalg.pinv, (a.T.copy(),), order=2)
    np.testing.assert_allclose(ad.value(ad.numpy.linalg.pinv(a)), np.linalg.pinv(a))
    rank2 = a[:, :2] @ rng.normal(size=(2, 3))
    np.testing.assert_allclose(ad.value(ad.numpy.linalg.pinv(rank2)), np.linalg.pinv(rank2))
    ad.check_grads(np.linalg.pinv, (rank2,), order=1)
    ad.check_grads(lambda a, b: np.linalg.lstsq(a, b)[0], (a, b), order=2)
    x, res, rank, s = ad.numpy.linalg.lstsq(a, b)
    xr, resr, rankr, sr = np.linalg.lstsq(a, b)
    np.testing.assert_allclose(ad.value(x), xr)
    np.testing.assert_allclose(ad.value(res), resr)
    assert rank == rankr
    sq = np.eye(3) + 0.3 * rng.normal(size=(3, 3))
    for n in (0, 1, 2, 5, -2):
        np.testing.assert_allclose(ad.value(ad.numpy.linalg.matrix_power(sq, n)),
                                   np.linalg.matrix_power(sq, n), rtol=1e-12)
        if n:
            ad.check_grads(lambda m, n=n: np.linalg.matrix_power(m, n), (sq,), order=2)
    ad.check_grads(lambda a, v: np.linalg.multi_dot([v, a, a.T, a, np.ones(3)]), (a, b), order=2)
