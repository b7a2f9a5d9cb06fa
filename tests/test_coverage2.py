"""Issue 10, the rest: qr, det/slogdet at singular matrices, complex vdot/norm/correlate,
float_power and reduction dtypes, the checker's complex step, sparsity of the new
composites."""

import numpy as np
import pytest

import admodes as ad
import admodes.numpy as anp
from admodes.check.numerical import complex_step_problem

# ---------------------------------------------------------------- qr ------------------

QR_SHAPES = [(4, 3), (3, 3), (2, 4), (3, 5), (2, 5, 3), (2, 3, 4), (1, 1), (4, 1)]


@pytest.mark.parametrize("shape", QR_SHAPES, ids=str)
def test_qr_values_are_numpys_and_both_modes_second_order(shape):
    a = np.random.default_rng(sum(shape)).normal(size=shape)
    q, r = anp.linalg.qr(a)
    q0, r0 = np.linalg.qr(a)
    np.testing.assert_allclose(q, q0, rtol=0, atol=1e-13)
    np.testing.assert_allclose(r, r0, rtol=0, atol=1e-13)
    ad.check_grads(lambda a: tuple(np.linalg.qr(a)), (a,), order=2)
    np.testing.assert_allclose(np.linalg.qr(a, mode="r"), r0, atol=1e-13)


def test_qr_derivative_keeps_the_structure():
    """Qᵀ dQ is skew (Q stays orthonormal) and dR is upper triangular."""
    rng = np.random.default_rng(3)
    a, t = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    (q, r), (dq, dr) = ad.jvp(lambda a: tuple(anp.linalg.qr(a)), (a,), (t,))
    k = q.T @ dq
    np.testing.assert_allclose(k, -k.T, atol=1e-13)
    np.testing.assert_array_equal(np.tril(dr, -1), 0.0)
    np.testing.assert_allclose(dq @ r + q @ dr, t, atol=1e-13)   # d(QR) = da


def test_qr_modes_and_errors():
    a = np.random.default_rng(0).normal(size=(2, 4))
    q, r = np.linalg.qr(a, mode="complete")     # m <= n: complete == reduced
    ad.check_grads(lambda a: tuple(np.linalg.qr(a, mode="complete")), (a,), order=1)
    np.testing.assert_allclose(r, np.linalg.qr(a)[1], atol=1e-14)
    tall = np.random.default_rng(1).normal(size=(4, 2))
    cases = [
        (lambda a: np.linalg.qr(a, mode="complete")[0], tall, NotImplementedError,
         "not determined"),
        (lambda a: np.linalg.qr(a, mode="raw")[0], tall, NotImplementedError, "raw"),
        (lambda a: np.linalg.qr(a[0])[0], tall, np.linalg.LinAlgError, "two-dimensional"),
        (lambda a: np.linalg.qr(a * np.array([1.0, 0.0]))[1], tall, np.linalg.LinAlgError,
         "linalg.qr: the matrix does not have full column rank"),
        (lambda a: np.linalg.qr(a * 1j)[1], tall, TypeError, "linalg.qr: complex"),
    ]
    for f, x, exc, msg in cases:
        for mode in ("forward", "reverse"):
            with pytest.raises(exc, match=msg):
                ad.grad(lambda v: anp.sum(anp.real(f(v))), mode=mode)(x)


# ---------------------------------------------------------------- det / slogdet -------


def _cofactor(a):
    """The cofactor matrix by minors (plain numpy): det's gradient, polynomial."""
    n = a.shape[0]
    c = np.empty_like(a)
    for i in range(n):
        for j in range(n):
            c[i, j] = (-1) ** (i + j) * np.linalg.det(np.delete(np.delete(a, i, 0), j, 1))
    return c


def _rank(n, k, seed):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, k)) @ rng.normal(size=(k, n))


@pytest.mark.parametrize("n,k", [(2, 1), (3, 2), (3, 1), (4, 3), (4, 2), (3, 0)])
def test_hessian_of_det_at_singular_matrices(n, k):
    """hessian(det) exists at rank n-1 and below (JAX gives it too): it is the Jacobian
    of the cofactor matrix, checked against differences of the minors formula."""
    a = _rank(n, k, 10 * n + k)
    want = ad.numerical_jacobian(_cofactor, a, method="richardson")
    for H in (ad.hessian(anp.linalg.det)(a),
              ad.jacrev(ad.grad(anp.linalg.det, mode="reverse"))(a),
              ad.jacfwd(ad.grad(anp.linalg.det, mode="forward"))(a)):
        np.testing.assert_allclose(H, want, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(ad.grad(anp.linalg.det)(a), _cofactor(a), atol=1e-12)


def test_hessian_of_det_2x2_literals():
    """det [[a, b], [c, d]] = ad - bc: the Hessian is constant, also at singular points."""
    H = ad.hessian(anp.linalg.det)(np.array([[1.0, 2.0], [2.0, 4.0]])).reshape(4, 4)
    want = np.zeros((4, 4))
    want[0, 3] = want[3, 0] = 1.0
    want[1, 2] = want[2, 1] = -1.0
    np.testing.assert_allclose(H, want, atol=1e-14)


def test_adjugate_third_order_at_a_rank_deficient_matrix():
    a = _rank(3, 2, 5)
    ad.check_grads(anp.linalg.adjugate, (a,), order=2)


def test_slogdet_at_a_singular_matrix():
    s = np.array([[1.0, 2.0, 0.5], [2.0, 4.0, 1.0], [0.3, -1.0, 2.0]])
    sign, logabs = anp.linalg.slogdet(s)
    assert sign == 0.0 and logabs == -np.inf          # numpy's and JAX's values
    # the sign alone, in reverse mode: a zero derivative (piecewise constant)
    g = ad.grad(lambda a: anp.linalg.slogdet(a)[0] * anp.linalg.det(a))(s)
    np.testing.assert_array_equal(g, 0.0)
    for mode in ("forward", "reverse"):
        with pytest.raises(np.linalg.LinAlgError, match="linalg.slogdet: the matrix is "
                           "singular.*no derivative"):
            ad.grad(lambda a: anp.linalg.slogdet(a)[1], mode=mode)(s)
    # one singular matrix in a stack is enough
    with pytest.raises(np.linalg.LinAlgError, match="slogdet"):
        ad.grad(lambda a: anp.sum(anp.linalg.slogdet(a)[1]))(np.stack([s, np.eye(3)]))


# ---------------------------------------------------------------- complex input -------


def test_vdot_conjugates_its_first_argument():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(2, 3)) + 1j * rng.normal(size=(2, 3))
    b = rng.normal(size=(3, 2)) + 1j * rng.normal(size=(3, 2))
    np.testing.assert_allclose(anp.vdot(a, b), np.vdot(a, b), rtol=1e-14)
    np.testing.assert_allclose(ad.vjp(lambda a: np.vdot(a, b), a)[0], np.vdot(a, b))
    ad.check_grads(lambda a, b: np.vdot(a, b), (a, b), order=2)
    # JAX's convention, by hand: f(a) = Re vdot(a, b) = Re sum(conj(a) b) has
    # df/dRe(a) = Re(b), df/dIm(a) = Im(b), so grad = Re(b) - i Im(b) = conj(b)
    g = ad.grad(lambda a: anp.real(np.vdot(a, b)))(a)
    np.testing.assert_allclose(g, np.conj(b).reshape(a.shape), rtol=1e-14)


def test_correlate_conjugates_v():
    rng = np.random.default_rng(1)
    a = rng.normal(size=5) + 1j * rng.normal(size=5)
    v = rng.normal(size=3) + 1j * rng.normal(size=3)
    for mode in ("full", "same", "valid"):
        np.testing.assert_allclose(anp.correlate(a, v, mode), np.correlate(a, v, mode),
                                   atol=1e-14)
        ad.check_grads(lambda a, v: np.correlate(a, v, mode), (a, v), order=1)


@pytest.mark.parametrize("ord_axis", [(None, None), ("fro", None), (None, 1), (1, None),
                                      (np.inf, None), (1, 0), (3, 1), (-np.inf, 1)],
                         ids=str)
def test_norm_of_complex_input(ord_axis):
    ord, axis = ord_axis
    rng = np.random.default_rng(2)
    z = rng.normal(size=(3, 2)) + 1j * rng.normal(size=(3, 2))
    np.testing.assert_allclose(anp.linalg.norm(z, ord, axis),
                               np.linalg.norm(z, ord, axis), rtol=1e-14)
    ad.check_grads(lambda z: np.linalg.norm(z, ord, axis), (z,), order=2)


def test_norm_of_complex_input_literal():
    # |z|₂ over (3 + 4j, 1j): gradient conj(z) / |z| in JAX's convention
    z = np.array([3.0 + 4.0j, 1.0j])
    for mode in ("forward", "reverse"):
        g = ad.grad(lambda z: np.linalg.norm(z), mode=mode)(z)
        np.testing.assert_allclose(g, np.conj(z) / np.sqrt(26.0), rtol=1e-15)


def test_complex_input_to_real_only_decompositions_is_refused():
    z = np.eye(2) + 1j * np.array([[0.0, 1.0], [-1.0, 0.5]])
    for name, f in [("svd", lambda z: np.linalg.svd(z, full_matrices=False)[1]),
                    ("svdvals", lambda z: np.linalg.norm(z, 2)),
                    ("eigh", lambda z: np.linalg.eigh(z)[0]),
                    ("eigvalsh", lambda z: np.linalg.eigvalsh(z)),
                    ("cholesky", lambda z: anp.real(np.linalg.cholesky(z)))]:
        with pytest.raises(TypeError, match=f"linalg.{name}: complex"):
            ad.grad(lambda z: anp.sum(anp.real(f(z))))(z)
    # and the ones that take complex input give numpy's values
    a = np.array([[1.0 + 1j, 2.0], [0.5j, 1.0 - 1j], [1.0, 1.0j]])
    np.testing.assert_allclose(anp.linalg.pinv(a), np.linalg.pinv(a), atol=1e-14)
    sq = a[:2]
    np.testing.assert_allclose(anp.linalg.adjugate(sq),
                               np.linalg.det(sq) * np.linalg.inv(sq), atol=1e-14)
    ad.check_grads(lambda a: np.linalg.pinv(a), (a,), order=2)
    ad.check_grads(lambda a: np.linalg.det(a), (sq,), order=2)


# ---------------------------------------------------------------- dtypes --------------


def test_float_power_upcasts_like_numpy():
    x = np.array([1.5, 2.0, 3.0], dtype=np.float32)
    out, g = ad.value_and_grad(lambda x: np.sum(np.float_power(x, 2.5)))(x)
    assert np.asarray(out).dtype == np.float64
    assert np.float_power(x, 2.5).dtype == np.float64
    assert g.dtype == np.float32                          # the input's dtype
    np.testing.assert_allclose(g, 2.5 * x.astype(np.float64) ** 1.5, rtol=1e-6)
    assert anp.float_power(x, 2).dtype == np.float64
    v = ad.vjp(lambda x: np.float_power(x, 2.0), x)[0]
    assert v.dtype == np.float64 and np.array_equal(v, np.float_power(x, 2.0))


@pytest.mark.parametrize("name", ["sum", "mean", "prod", "var", "std", "cumsum",
                                  "cumprod", "nansum", "nanmean"])
@pytest.mark.parametrize("src,dst", [(np.float32, np.float64), (np.float64, np.float32),
                                     (np.float64, np.complex128)], ids=str)
def test_reduction_dtype_casts_like_numpy(name, src, dst):
    x = (np.arange(6.0).reshape(2, 3) / 3 + 0.5).astype(src)
    f = getattr(np, name)
    want = f(x, axis=1, dtype=dst)
    got, vjp_fun = ad.vjp(lambda v: f(v, axis=1, dtype=dst), x)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    tol = 1e-6 if np.float32 in (src, dst) else 1e-14
    np.testing.assert_allclose(got, want, rtol=tol)
    (ct,) = vjp_fun(np.ones(want.shape, want.dtype))
    assert ct.dtype == x.dtype
    ref = ad.numerical_jacobian(lambda v: np.real(f(v, axis=1, dtype=np.float64)),
                                x.astype(np.float64), method="richardson")
    np.testing.assert_allclose(ct, ref.sum(axis=(0, 1) if ref.ndim == 4 else 0),
                               rtol=10 * tol, atol=10 * tol)


def test_astype_is_a_differentiable_cast():
    x = np.array([0.5, -1.0])
    for mode in ("forward", "reverse"):
        g = ad.grad(lambda v: anp.sum(v.astype(np.float32) ** 2), mode=mode)(x)
        np.testing.assert_allclose(g, 2 * x)
        g = ad.grad(lambda v: anp.real(anp.sum(np.astype(v, complex) * (1 + 2j))),
                    mode=mode)(x)
        np.testing.assert_allclose(g, [1.0, 1.0])
    with pytest.raises(TypeError, match="imaginary part"):
        ad.grad(lambda v: anp.sum((v * 1j).astype(np.float64)))(x)
    with pytest.raises(TypeError, match=r"astype\(dtype=int64\)"):
        ad.grad(lambda v: anp.sum(v.astype(np.int64)))(x)


# ---------------------------------------------------------------- the checker ---------


def test_complex_step_validity_sees_dtype_dependent_branches():
    """numpy.vdot conjugates only complex input: listing the primitives at the real
    point alone would miss the conj and let complex step corrupt the reference."""
    from admodes.check.numerical import _Inputs
    b = np.arange(3.0)
    why = complex_step_problem(lambda a: np.vdot(a, b), _Inputs((np.ones(3),)))
    assert why is not None and "conj" in why
    assert complex_step_problem(lambda a: np.sin(a) * a, _Inputs((np.ones(3),))) is None


def test_check_grads_uses_complex_step_with_a_truncation_bar():
    """Complex step is the first-order reference for analytic functions, and its error
    bar covers the -h² cross term where the derivative is exactly 0 (cumprod across two
    zeros), so cumprod needs no 'analytic=False' workaround."""
    import admodes.check.grads as grads
    assert ad.registry["cumprod"].analytic
    x = np.array([[1.2, 0.0, 0.0, -0.7], [0.0, 1.0, 0.0, 2.0]])
    opts = dict(eps=None, rtol=None, atol=None, n_dirs=1, seed=0, complex=True,
                notes=set(), reference=set())
    level = grads._Level(lambda v: anp.cumprod(v, axis=1), (x,), (), opts)
    assert level.numeric.name == "complex step"
    v = [np.random.default_rng(0).normal(size=x.shape)]
    est, err, _ = level.numeric(v)
    jv = level.jv(v)[0]
    exact_zero = jv[0, 2:] == 0.0                       # x0 x1 x2, x0 x1 x2 x3: 0
    assert exact_zero.all() and np.all(est[0][0, 2:] != 0.0)   # the -h² term
    assert np.all(np.abs(est[0] - jv) <= 3 * err[0] + 1e-300)
    ad.check_grads(lambda v: anp.cumprod(v, axis=1), (x,), order=2)


def test_numerical_jacobian_complex_step_error_bar():
    J, e = ad.numerical_jacobian(lambda v: v ** 3, np.array([0.0, 1.0]), method="complex",
                                 return_error=True)
    assert np.all(np.abs(J - np.diag([0.0, 3.0])) <= e)   # -h² at 0 is covered


# ---------------------------------------------------------------- sparsity ------------


def _sparsity_cases():
    from admodes.bench import coverage
    shape_group = {"shape and indexing", "reductions and scans", "misc", "elementwise"}
    for c in coverage.CALLS:
        if c.group in shape_group:
            yield pytest.param(c, id=c.name)


@pytest.mark.parametrize("call", list(_sparsity_cases()))
def test_coverage_composites_under_jacobian_sparsity(call):
    """Every composite of the coverage list runs under ad.jacobian_sparsity; the pattern
    contains every non-zero of the Jacobian, and is exact for the gathers (shape and
    indexing calls, scans)."""
    import zlib
    rng = np.random.default_rng(zlib.crc32(f"{call.group}/{call.name}".encode()))
    args = tuple(np.asarray(a, dtype=float) for a in call.args(rng))
    xp = np if call.forms[0] == "np" else anp
    for k in range(len(args)):
        def f(x, k=k):
            a = list(args)
            a[k] = x
            return call.fn(xp, *a)
        with np.errstate(all="ignore"):
            P = ad.jacobian_sparsity(f, args[k]).toarray()
            J = ad.jacfwd(f)(args[k])
        rows = [np.reshape(j, (-1, args[k].size)) for j in ad.tree.flatten(J)[0]]
        nz = np.concatenate(rows) != 0
        assert not (nz & ~P).any(), f"{call.name}: pattern misses non-zeros"
        if call.group == "shape and indexing" or call.name.startswith(("cumprod", "cumsum")):
            if call.name in ("tril", "triu", "put_along_axis", "cumprod (zeros)"):
                continue   # where() with a constant mask is conservative; zeros of the
                #            cumprod Jacobian there are values, not structure
            assert np.array_equal(nz, P), f"{call.name}: pattern not exact"


def test_roll_repeat_cumprod_patterns_are_exact():
    x = np.arange(1.0, 13.0).reshape(3, 4)
    for f in (lambda v: np.roll(v, (1, -2), axis=(0, 1)),
              lambda v: np.repeat(v, [1, 0, 2, 1], axis=1),
              lambda v: np.repeat(v, 2),
              lambda v: np.cumprod(v, axis=0),
              lambda v: np.cumprod(v)):
        P = ad.jacobian_sparsity(f, x).toarray()
        J = ad.jacfwd(f)(x).reshape(P.shape)
        np.testing.assert_array_equal(P, J != 0)
