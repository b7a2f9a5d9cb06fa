"""float32 in, float32 out for every transformation (issue 9, part B)."""

import numpy as np
import pytest

import admodes as ad
import admodes.numpy as anp

X = np.array([0.5, 1.5, -2.0], np.float32)


def _f(x):
    return anp.sum(anp.sin(x) * x * x)


def _v(x):
    return anp.tanh(x) * x


TRANSFORMS = {
    "grad-rev": lambda: ad.grad(_f)(X),
    "grad-fwd": lambda: ad.grad(_f, mode="forward")(X),
    "value_and_grad": lambda: ad.value_and_grad(_f)(X)[1],
    "jvp": lambda: ad.jvp(_v, (X,), (X,))[1],
    "vjp": lambda: ad.vjp(_v, X)[1](np.ones(3, np.float32))[0],
    "jacfwd": lambda: ad.jacfwd(_v)(X),
    "jacrev": lambda: ad.jacrev(_v)(X),
    "jacobian": lambda: ad.jacobian(_v)(X),
    "hessian": lambda: ad.hessian(_f)(X),
    "hvp": lambda: ad.hvp(_f, X, X),
    "grad-of-grad-fwd": lambda: ad.jacfwd(ad.grad(_f, mode="forward"))(X),
    "jvp-of-grad": lambda: ad.jvp(ad.grad(_f), (X,), (X,))[1],
    "graph.grad": lambda: ad.trace(_f, X).grad(X),
    "graph.jacobian": lambda: ad.trace(_v, X).jacobian(X),
}


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_float32_in_float32_out(name):
    got = TRANSFORMS[name]()
    assert got.dtype == np.float32, f"{name} returned {got.dtype}"


def test_float32_values_match_float64():
    x64 = X.astype(np.float64)
    np.testing.assert_allclose(ad.hessian(_f)(X), ad.hessian(_f)(x64), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ad.jacrev(_v)(X), ad.jacrev(_v)(x64), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_float32_scalar_input(mode):
    s = np.float32(1.5)
    g = ad.grad(lambda x: x * x * x, mode=mode)(s)
    assert type(g) is np.float32 and g == pytest.approx(6.75)
    v, g = ad.value_and_grad(lambda x: x * x, mode=mode)(s)
    assert type(g) is np.float32
    out, t = ad.jvp(lambda x: x * x, (s,), (np.float32(1.0),))
    assert type(t) is np.float32 and t == pytest.approx(3.0)


def test_float64_unchanged():
    assert type(ad.grad(lambda x: x * x)(2.0)) is float
    assert ad.jacfwd(_v)(X.astype(float)).dtype == np.float64
    # a float32 input mixed with float64 constants gives float64, as numpy promotes
    assert ad.jacrev(lambda x: x * np.ones(3))(X).dtype == np.float64
