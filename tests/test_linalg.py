"""admodes.linalg: values against numpy, first derivatives against central differences
in random directions (forward by jvp, reverse by the adjoint identity), jacfwd against
jacrev (batched tangents/cotangents), Hessians, stacked matrices, and the edge cases
(norm at 0, negative determinants, the unread triangle of cholesky)."""

import numpy as np
import pytest

import admodes as ad
import admodes.numpy as anp
from admodes.dispatch import Box
from admodes.ops import linalg
from admodes.ops.linalg import _spd, _well_conditioned

RTOL = 1e-6
H = 1e-5  # central differences: truncation ~H², rounding ~1e-16/H


_wc = _well_conditioned  # the registry's own test-domain generators


def _cases():
    """(id, function, args): every function, single and stacked (3-d) matrices."""
    rng = np.random.default_rng(0)
    neg = _wc(rng, (3, 3))
    neg[0] *= -1.0
    return [
        ("solve-vec", linalg.solve, (_wc(rng, (3, 3)), rng.normal(size=3))),
        ("solve-mat", linalg.solve, (_wc(rng, (3, 3)), rng.normal(size=(3, 2)))),
        ("solve-stack", linalg.solve, (_wc(rng, (2, 3, 3)), rng.normal(size=(2, 3, 2)))),
        ("solve-stack-vec", linalg.solve, (_wc(rng, (2, 3, 3)), rng.normal(size=3))),
        ("solve-bcast-a", linalg.solve, (_wc(rng, (3, 3)), rng.normal(size=(2, 3, 2)))),
        ("solve-bcast-b", linalg.solve, (_wc(rng, (2, 2, 3, 3)), rng.normal(size=(3, 1)))),
        ("inv", linalg.inv, (_wc(rng, (3, 3)),)),
        ("inv-stack", linalg.inv, (_wc(rng, (2, 3, 3)),)),
        ("det", linalg.det, (_wc(rng, (3, 3)),)),
        ("det-neg", linalg.det, (neg,)),
        ("det-stack", linalg.det, (_wc(rng, (2, 3, 3)),)),
        ("logabsdet", lambda a: linalg.slogdet(a)[1], (_wc(rng, (3, 3)),)),
        ("logabsdet-neg", lambda a: linalg.slogdet(a)[1], (neg,)),
        ("logabsdet-stack", lambda a: linalg.slogdet(a)[1], (_wc(rng, (2, 3, 3)),)),
        ("norm-vec", linalg.norm, (rng.normal(size=4),)),
        ("norm-flat", linalg.norm, (rng.normal(size=(2, 3, 2)),)),
        ("norm-axis", lambda x: linalg.norm(x, axis=-1), (rng.normal(size=(2, 3, 4)),)),
        ("norm-keep", lambda x: linalg.norm(x, axis=0, keepdims=True),
         (rng.normal(size=(3, 4)),)),
        ("norm-fro-stack", lambda x: linalg.norm(x, "fro", axis=(-2, -1)),
         (rng.normal(size=(2, 3, 4)),)),
        ("norm-1", lambda x: linalg.norm(x, 1), (rng.normal(size=5),)),
        ("norm-inf", lambda x: linalg.norm(x, np.inf, axis=-1), (rng.normal(size=(2, 5)),)),
        ("norm-p3", lambda x: linalg.norm(x, 3), (rng.normal(size=5),)),
        ("norm-mat1", lambda x: linalg.norm(x, 1), (rng.normal(size=(3, 4)),)),
        ("norm-matinf", lambda x: linalg.norm(x, -np.inf, axis=(2, 1), keepdims=True),
         (rng.normal(size=(2, 3, 4)),)),
        ("cholesky", linalg.cholesky, (_spd(rng, (3, 3)),)),
        ("cholesky-stack", linalg.cholesky, (_spd(rng, (2, 3, 3)),)),
        ("cholesky-upper", lambda a: linalg.cholesky(a, upper=True), (_spd(rng, (3, 3)),)),
    ]


CASES = _cases()
IDS = [c[0] for c in CASES]


def _numpy_twin(name):
    """The numpy function a case computes (for the value check)."""
    f = {"solve": np.linalg.solve, "inv": np.linalg.inv, "det": np.linalg.det,
         "logabsdet": lambda a: np.linalg.slogdet(a)[1], "cholesky": np.linalg.cholesky}
    norms = {"norm-vec": {}, "norm-flat": {}, "norm-axis": {"axis": -1},
             "norm-keep": {"axis": 0, "keepdims": True},
             "norm-fro-stack": {"ord": "fro", "axis": (-2, -1)}, "norm-1": {"ord": 1},
             "norm-inf": {"ord": np.inf, "axis": -1}, "norm-p3": {"ord": 3},
             "norm-mat1": {"ord": 1},
             "norm-matinf": {"ord": -np.inf, "axis": (2, 1), "keepdims": True}}
    if name in norms:
        return lambda x: np.linalg.norm(x, **norms[name])
    if name == "cholesky-upper":
        return lambda a: np.linalg.cholesky(a, upper=True)
    return f[name.split("-")[0]]


def _fd(f, args, dirs):
    """Central difference of f along the direction ``dirs`` (one per argument)."""
    plus = f(*[a + H * d for a, d in zip(args, dirs)])
    minus = f(*[a - H * d for a, d in zip(args, dirs)])
    return (np.asarray(plus) - np.asarray(minus)) / (2 * H)


def _close(actual, desired, rtol=RTOL):
    """Agreement relative to the size of ``desired`` as a whole (a near-zero entry of a
    Jacobian is compared at the scale of the others, not its own)."""
    actual, desired = np.asarray(actual), np.asarray(desired)
    assert actual.shape == desired.shape, (actual.shape, desired.shape)
    scale = max(1.0, float(np.max(np.abs(desired), initial=0.0)))
    np.testing.assert_allclose(actual, desired, rtol=rtol, atol=rtol * scale)


@pytest.mark.parametrize("name,f,args", CASES, ids=IDS)
def test_value_matches_numpy(name, f, args):
    np.testing.assert_allclose(f(*args), _numpy_twin(name)(*args), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("name,f,args", CASES, ids=IDS)
def test_first_order_random_directions(name, f, args):
    rng = np.random.default_rng(1)
    for _ in range(2):
        dirs = [rng.normal(size=np.shape(a)) for a in args]
        num = _fd(f, args, dirs)
        out, jv = ad.jvp(f, args, tuple(dirs))
        _close(jv, num)
        # reverse mode: <u, J v> = <Jᵀ u, v>
        u = rng.normal(size=np.shape(out))
        _, pullback = ad.vjp(f, *args)
        jtu = pullback(u)
        rev = sum(float(np.sum(c * d)) for c, d in zip(jtu, dirs))
        fwd = float(np.sum(u * num))
        assert abs(rev - fwd) <= RTOL * max(1.0, abs(fwd)), (rev, fwd)


@pytest.mark.parametrize("name,f,args", CASES, ids=IDS)
def test_jacfwd_matches_jacrev(name, f, args):
    argnums = tuple(range(len(args)))
    jf = ad.jacfwd(f, argnums=argnums)(*args)
    jr = ad.jacrev(f, argnums=argnums)(*args)
    for a, b in zip(jf, jr):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def _composite(a, b):
    """A scalar mixing every primitive, so one Hessian exercises all second-order rules."""
    spd = anp.matmul(a, anp.swapaxes(a, -1, -2)) + 3.0 * np.eye(3)
    x = linalg.solve(a, b)
    return (linalg.slogdet(a)[1] + 0.1 * linalg.det(a) + anp.sum(x * x)
            + linalg.norm(linalg.inv(a)) + anp.sum(linalg.cholesky(spd) * b[:, None]))


def _grad_fd(fun, x, h=1e-5):
    """Jacobian of ``fun`` (an array-valued function) by central differences."""
    cols = []
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = h
        e = e.reshape(x.shape)
        cols.append((np.asarray(fun(x + e)) - np.asarray(fun(x - e))) / (2 * h))
    return np.stack(cols, axis=-1).reshape(np.shape(fun(x)) + x.shape)


def test_hessian_of_composite_matches_finite_differences():
    rng = np.random.default_rng(2)
    a, b = _wc(rng, (3, 3)), rng.normal(size=3)
    for argnum, x in ((0, a), (1, b)):
        def f(v, argnum=argnum):
            return _composite(v, b) if argnum == 0 else _composite(a, v)
        hess = ad.hessian(f)(x)
        num = _grad_fd(ad.grad(f), x)
        _close(hess, num, rtol=1e-6)
        _close(hess, np.swapaxes(hess.reshape(x.size, x.size), 0, 1).reshape(hess.shape))
        # the other nestings agree with forward-over-reverse
        _close(ad.jacrev(ad.grad(f, mode="forward"))(x), hess, rtol=1e-9)


@pytest.mark.parametrize("name,f,args", [c for c in CASES if len(c[2]) == 1
                                         and c[0] not in ("norm-1", "norm-inf",
                                                          "norm-mat1", "norm-matinf")],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_hessian_each_function(name, f, args):
    (x,) = args
    w = np.random.default_rng(3).normal(size=np.shape(f(x)))
    scalar = lambda v: anp.sum(f(v) * w)
    _close(ad.hessian(scalar)(x), _grad_fd(ad.grad(scalar), x), rtol=1e-6)


def test_solve_numpy2_semantics():
    rng = np.random.default_rng(4)
    a = _wc(rng, (3, 3, 3))
    b = rng.normal(size=(3, 3))  # a matrix (not a stack of vectors) under numpy 2
    x = linalg.solve(a, b)
    assert x.shape == (3, 3, 3)
    np.testing.assert_allclose(x, np.linalg.solve(a, b), rtol=1e-13)
    assert linalg.solve(a, b[0]).shape == (3, 3)  # 1-d b: a vector for every matrix
    with pytest.raises(np.linalg.LinAlgError, match="square"):
        linalg.solve(np.ones((2, 3)), np.ones(2))


def test_norm_gradient_at_zero_is_zero():
    for x, kw in ((np.zeros(3), {}), (np.zeros((2, 3)), {}),
                  (np.zeros((2, 3)), {"axis": -1}), (np.zeros((2, 2, 2)), {"axis": (0, 2)})):
        f = lambda v, kw=kw: anp.sum(linalg.norm(v, **kw))
        for mode in ("forward", "reverse"):
            g = ad.grad(f, mode=mode)(x)
            assert np.all(g == 0.0), (mode, kw, g)
        fn = lambda v, kw=kw: linalg.norm(v, **kw)
        for jac in (ad.jacfwd, ad.jacrev):
            j = jac(fn)(x)
            assert np.all(j == 0.0), (jac.__name__, kw)
        assert np.all(np.isfinite(ad.hessian(f)(x)))


def test_norm_gradient_with_some_zero_rows():
    x = np.array([[0.0, 0.0], [3.0, 4.0]])
    f = lambda v: anp.sum(linalg.norm(v, axis=1))
    want = np.array([[0.0, 0.0], [0.6, 0.8]])
    for mode in ("forward", "reverse"):
        np.testing.assert_allclose(ad.grad(f, mode=mode)(x), want)


def test_norm_orders_not_supported_raise_clearly():
    # (matrix ord 2, -2, 'nuc' are supported now: tests/test_linalg_more.py)
    with pytest.raises(ValueError, match="vectors"):
        linalg.norm(np.ones(2), "fro")
    with pytest.raises(ValueError, match="improper"):
        linalg.norm(np.ones((2, 2, 2)), 1)
    assert linalg.norm(np.array([0.0, 2.0, -1.0]), 0) == 2.0


def test_slogdet_sign_of_negative_determinant():
    a = np.array([[0.0, 2.0], [1.0, 0.0]])
    sign, logabs = linalg.slogdet(a)
    assert sign == -1.0
    np.testing.assert_allclose(logabs, np.log(2.0))
    np.testing.assert_allclose(ad.grad(lambda m: linalg.slogdet(m)[1])(a), np.linalg.inv(a).T)

    def f(m):
        s, la = linalg.slogdet(m)
        assert not isinstance(s, Box)  # the sign is a plain value
        return s * anp.exp(la)          # = det

    for mode in ("forward", "reverse"):
        np.testing.assert_allclose(ad.grad(f, mode=mode)(a), ad.grad(linalg.det)(a))


def test_cholesky_reads_only_the_lower_triangle():
    a = _spd(np.random.default_rng(5), (3, 3))
    g = ad.jacrev(linalg.cholesky)(a)
    upper = np.triu(np.ones((3, 3)), 1).astype(bool)
    assert np.all(g[..., upper] == 0.0)
    gu = ad.jacfwd(lambda m: linalg.cholesky(m, upper=True))(a)
    assert np.all(gu[..., upper.T] == 0.0)


def test_numpy_functions_dispatch_on_traced_values():
    rng = np.random.default_rng(6)
    a, b = _wc(rng, (3, 3)), rng.normal(size=3)

    def f(m):
        return (np.linalg.slogdet(m)[1] + np.linalg.det(m) + np.sum(np.linalg.solve(m, b))
                + np.linalg.norm(np.linalg.inv(m)) + np.sum(np.linalg.cholesky(m @ m.T)))

    def g(m):
        return (linalg.slogdet(m)[1] + linalg.det(m) + anp.sum(linalg.solve(m, b))
                + linalg.norm(linalg.inv(m)) + anp.sum(linalg.cholesky(m @ m.T)))

    np.testing.assert_allclose(ad.grad(f)(a), ad.grad(g)(a), rtol=1e-12)
    assert anp.linalg.solve is linalg.solve


@pytest.mark.parametrize("name", ["solve", "inv", "det", "logabsdet", "cholesky"])
def test_analytic_primitives_agree_with_complex_step(name):
    prim = ad.registry[name]
    assert prim.analytic and not ad.registry["norm"].analytic
    rng = np.random.default_rng(7)
    for args, params in prim.domain(rng):
        dirs = [rng.normal(size=np.shape(x)) for x in args]
        h = 1e-20
        cs = np.imag(prim.impl(*[x + 1j * h * d for x, d in zip(args, dirs)], **params)) / h
        _, jv = ad.jvp(lambda *xs: ad.dispatch.bind(prim, *xs, **params), tuple(args),
                       tuple(dirs))
        np.testing.assert_allclose(cs, jv, rtol=1e-12, atol=1e-12)
