"""Registry-driven tests: every primitive in ad.registry, both modes, to second order.

Adding a primitive with a ``domain`` is all it takes for it to be tested here."""

import numpy as np
import pytest

import admodes as ad
from admodes.dispatch import bind

BUILTIN = [name for name in ad.registry if name not in ad.registry._custom]
DIFFERENTIABLE = [n for n in BUILTIN if not ad.registry[n].nondiff]


def _cases():
    for name in DIFFERENTIABLE:
        prim = ad.registry[name]
        if prim.domain is None:
            continue
        for k, (_args, _params) in enumerate(prim.domain(np.random.default_rng(1))):
            yield pytest.param(name, k, id=f"{name}-{k}")


def _setup(name, k):
    prim = ad.registry[name]
    args, params = prim.domain(np.random.default_rng(1))[k]
    diff = [i for i, a in enumerate(args) if np.asarray(a).dtype.kind == "f"]

    def f(*xs):
        full = list(args)
        for i, x in zip(diff, xs):
            full[i] = x
        return bind(prim, *full, **params)

    return f, [np.asarray(args[i], dtype=float) for i in diff]


def _num_jac(f, xs, i, eps=1e-6):
    """Central differences: Jacobian of f w.r.t. xs[i], shape out + in."""
    x = xs[i]
    out = np.asarray(f(*xs))
    J = np.zeros(out.shape + x.shape)
    for idx in np.ndindex(x.shape):
        h = eps * max(1.0, abs(x[idx]))
        xp, xm = [a.copy() for a in xs], [a.copy() for a in xs]
        xp[i][idx] += h
        xm[i][idx] -= h
        J[(...,) + idx] = (np.asarray(f(*xp)) - np.asarray(f(*xm))) / (2 * h)
    return J


def test_every_listed_primitive_is_registered():
    wanted = """negative add subtract multiply divide power square sqrt reciprocal exp expm1
    log log1p sin cos tan arcsin arccos arctan arctan2 sinh cosh tanh abs sign maximum
    minimum where clip logaddexp sum max min prod cumsum logsumexp reshape transpose
    broadcast_to concatenate getitem diagonal flip matmul einsum""".split()
    missing = [n for n in wanted if n not in ad.registry]
    assert not missing, f"not registered: {missing}"


@pytest.mark.parametrize("name", BUILTIN)
def test_every_primitive_has_both_rules_and_a_domain(name):
    prim = ad.registry[name]
    if prim.nondiff:
        return
    assert prim.domain is not None, f"{name} has no test domain"
    nargs = len(prim.domain(np.random.default_rng(0))[0][0])
    for i in range(nargs):
        assert prim.has_jvp(i) or prim.jvps[i] is None and i in _nondiff_args(name)
        assert prim.has_vjp(i) or prim.vjps[i] is None and i in _nondiff_args(name)


def _nondiff_args(name):
    return {"where": {0}}.get(name, set())


@pytest.mark.parametrize("name,k", list(_cases()))
def test_first_order_both_modes(name, k):
    f, xs = _setup(name, k)
    rng = np.random.default_rng(2)
    argnums = tuple(range(len(xs)))
    out = np.asarray(f(*xs))
    for i in argnums:
        num = _num_jac(f, xs, i)
        fwd = ad.jacfwd(f, argnums=i)(*xs)
        rev = ad.jacrev(f, argnums=i)(*xs)
        np.testing.assert_allclose(fwd, num, rtol=1e-6, atol=1e-7, err_msg=f"{name} forward arg {i}")
        np.testing.assert_allclose(rev, num, rtol=1e-6, atol=1e-7, err_msg=f"{name} reverse arg {i}")
    # Adjoint identity <u, J v> = <J^T u, v> between one jvp and one vjp.
    vs = [rng.normal(size=x.shape) for x in xs]
    u = rng.normal(size=out.shape)
    _, jv = ad.jvp(f, tuple(xs), tuple(vs))
    _, pullback = ad.vjp(f, *xs)
    jtu = pullback(u)
    lhs = float(np.sum(u * jv))
    rhs = float(sum(np.sum(a * b) for a, b in zip(jtu, vs)))
    assert abs(lhs - rhs) <= 1e-10 * (1 + abs(lhs)), (name, lhs, rhs)


@pytest.mark.parametrize("name,k", list(_cases()))
def test_second_order_all_mode_pairs(name, k):
    f, xs = _setup(name, k)
    rng = np.random.default_rng(3)
    w = rng.normal(size=np.shape(f(*xs)))

    def scalar(x0, *rest):
        return ad.numpy.sum(f(x0, *rest) * w)

    rest = xs[1:]
    gfun = lambda x0: ad.grad(scalar)(x0, *rest)
    H_fr = ad.jacfwd(lambda x0: ad.grad(scalar)(x0, *rest))(xs[0])
    H_rr = ad.jacrev(lambda x0: ad.grad(scalar)(x0, *rest))(xs[0])
    H_ff = ad.jacfwd(lambda x0: ad.grad(scalar, mode="forward")(x0, *rest))(xs[0])
    H_rf = ad.jacrev(lambda x0: ad.grad(scalar, mode="forward")(x0, *rest))(xs[0])
    H_num = _num_jac(lambda x0: np.asarray(gfun(x0)), [xs[0]], 0, eps=1e-5)
    for label, H in [("fwd-over-rev", H_fr), ("rev-over-rev", H_rr),
                     ("fwd-over-fwd", H_ff), ("rev-over-fwd", H_rf)]:
        np.testing.assert_allclose(H, H_num, rtol=1e-5, atol=1e-6, err_msg=f"{name} {label}")


@pytest.mark.parametrize("name", [n for n in BUILTIN if ad.registry[n].nondiff])
def test_nondiff_primitives_give_zero_derivative_and_plain_values(name):
    prim = ad.registry[name]
    x = np.array([-1.5, 0.3, 2.2])
    args = (x,) if name not in {"equal", "not_equal", "less", "less_equal", "greater",
                                "greater_equal"} else (x, np.float64(0.3))
    if name in {"argmax", "argmin"}:
        def f(v):
            return ad.numpy.sum(v) * 0.0 + float(bind(prim, v))
    else:
        def f(v):
            out = bind(prim, v, *args[1:])
            assert not isinstance(out, ad.dispatch.Box)
            return ad.numpy.sum(v * np.asarray(out, dtype=float))
    for mode in ("forward", "reverse"):
        g = ad.grad(f, mode=mode)(x)
        np.testing.assert_allclose(g, np.asarray(bind(prim, *args), dtype=float) if name not in {"argmax", "argmin"} else 0.0)
