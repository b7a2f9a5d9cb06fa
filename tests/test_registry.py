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
    diff = [i for i, a in enumerate(args) if np.asarray(a).dtype.kind in "fc"]
    # A complex argument is differentiated as its real and imaginary parts, and a
    # complex output is checked as stack([real, imag]): the complex rules are checked
    # against real finite differences (admodes.ops.complex states the convention).
    cplx = [np.asarray(args[i]).dtype.kind == "c" for i in diff]

    def f(*xs):
        full = list(args)
        it = iter(xs)
        for i, c in zip(diff, cplx):
            full[i] = next(it) + 1j * next(it) if c else next(it)
        out = bind(prim, *full, **params)
        if np.iscomplexobj(ad.value(out)):
            return ad.numpy.stack([ad.numpy.real(out), ad.numpy.imag(out)])
        return out

    xs = []
    for i, c in zip(diff, cplx):
        a = np.asarray(args[i])
        xs += [a.real.copy(), a.imag.copy()] if c else [np.asarray(a, dtype=float)]
    return f, xs


def test_every_listed_primitive_is_registered():
    wanted = """negative add subtract multiply divide power square sqrt reciprocal exp expm1
    log log1p sin cos tan arcsin arccos arctan arctan2 sinh cosh tanh abs sign maximum
    minimum where clip logaddexp sum max min prod cumsum logsumexp reshape transpose
    broadcast_to concatenate getitem diagonal flip matmul einsum log2 log10 exp2 cbrt
    arcsinh arccosh arctanh hypot logaddexp2 mod fmod cumprod signbit trunc heaviside
    round isclose argsort""".split()
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
    return {"where": {0}, "softmax_cross_entropy": {1}}.get(name, set())


@pytest.mark.parametrize("name,k", list(_cases()))
def test_check_grads_both_modes_to_second_order(name, k):
    """The public checker on every primitive: forward mode against numerical
    derivatives, reverse mode by the adjoint identity, the modes against each other,
    and the derivative functions again (second order, all four mode pairs)."""
    f, xs = _setup(name, k)
    ad.check_grads(f, tuple(xs), order=2, modes=("forward", "reverse"))


@pytest.mark.parametrize("name,k", list(_cases()))
def test_batched_jacobians_match_numerical(name, k):
    """jacfwd / jacrev push all directions in one pass (a leading batch axis on the
    tangents / cotangents): every rule must carry that axis correctly."""
    f, xs = _setup(name, k)
    for i in range(len(xs)):
        num = ad.numerical_jacobian(lambda x: f(*xs[:i], x, *xs[i + 1:]), xs[i],
                                    method="richardson")
        fwd = ad.jacfwd(f, argnums=i)(*xs)
        rev = ad.jacrev(f, argnums=i)(*xs)
        np.testing.assert_allclose(fwd, num, rtol=1e-7, atol=1e-9, err_msg=f"{name} jacfwd arg {i}")
        np.testing.assert_allclose(rev, num, rtol=1e-7, atol=1e-9, err_msg=f"{name} jacrev arg {i}")


@pytest.mark.parametrize("name", [n for n in BUILTIN if ad.registry[n].nondiff])
def test_nondiff_primitives_give_zero_derivative_and_plain_values(name):
    prim = ad.registry[name]
    x = np.array([-1.5, 0.3, 2.2])
    args = (x,) if name not in {"equal", "not_equal", "less", "less_equal", "greater",
                                "greater_equal", "heaviside", "isclose"} else (x, np.float64(0.3))
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
