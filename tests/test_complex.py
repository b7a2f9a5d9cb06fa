"""Complex intermediates and complex inputs: JAX's convention (admodes.ops.complex),
checked against literal numbers jax.grad / jax.vjp / jax.jvp give, and against real
finite differences through check_grads in both modes."""

import numpy as np
import pytest

import admodes as ad
import admodes.numpy as anp

MODES = ("reverse", "forward")


@pytest.mark.parametrize("mode", MODES)
def test_grad_of_real_function_of_complex_input_matches_jax(mode):
    # jax.grad(lambda z: jnp.real(z)**2 + jnp.imag(z)**2)(3. + 4j) == 6 - 8j
    g = ad.grad(lambda z: np.real(z) ** 2 + np.imag(z) ** 2, mode=mode)(3.0 + 4.0j)
    assert g == pytest.approx(6.0 - 8.0j)
    g = ad.grad(lambda z: np.abs(z) ** 2, mode=mode)(3.0 + 4.0j)
    assert g == pytest.approx(6.0 - 8.0j)
    # jax.grad(jnp.abs)(3. + 4j) == 0.6 - 0.8j ; jax.grad(jnp.angle)(1. + 1j) == -0.5 - 0.5j
    assert ad.grad(np.abs, mode=mode)(3.0 + 4.0j) == pytest.approx(0.6 - 0.8j)
    assert ad.grad(np.angle, mode=mode)(1.0 + 1.0j) == pytest.approx(-0.5 - 0.5j)


@pytest.mark.parametrize("mode", MODES)
def test_grad_of_complex_array_input(mode):
    z = np.array([1.0 + 2.0j, -0.5 + 0.25j])
    g = ad.grad(lambda z: anp.sum(np.real(z * z)), mode=mode)(z)
    # Re(z²) = x² - y²: df/dx - i df/dy = 2x + 2iy = 2z
    np.testing.assert_allclose(g, 2 * z)
    assert g.dtype == np.complex128


def test_vjp_of_holomorphic_function_is_transpose_not_adjoint():
    # jax.vjp(jnp.sin, 1. + 2j)[1](1. + 0j) == (cos(1+2j),) == 2.0327230070196656-3.0518977991518j
    out, f_vjp = ad.vjp(np.sin, 1.0 + 2.0j)
    (ct,) = f_vjp(1.0 + 0.0j)
    assert ct == pytest.approx(2.0327230070196656 - 3.0518977991518j)


def test_jvp_with_complex_tangents():
    # jax.jvp(jnp.conj, (1. + 1j,), (1j,)) == (1-1j, -1j)
    out, t = ad.jvp(np.conj, (1.0 + 1.0j,), (1.0j,))
    assert out == 1.0 - 1.0j and t == pytest.approx(-1.0j)
    # a real tangent for a complex primal is promoted; a complex one for a real primal is refused
    _, t = ad.jvp(lambda z: z * z, (1.0 + 1.0j,), (1.0,))
    assert t == pytest.approx(2.0 + 2.0j)
    with pytest.raises(TypeError, match="tangent .* is complex but its primal is real"):
        ad.jvp(np.sin, (1.0,), (1.0j,))


def test_adjoint_identity_with_the_documented_pairing():
    """<u, J v> = <J^T u, v> with <a, b> = Re(sum(a * b)), for complex in and out."""
    rng = np.random.default_rng(0)
    z = rng.normal(size=4) + 1j * rng.normal(size=4)
    v = rng.normal(size=4) + 1j * rng.normal(size=4)
    u = rng.normal(size=4) + 1j * rng.normal(size=4)

    def f(z):
        return np.fft.fft(np.exp(z) * np.conj(z)) + np.abs(z)

    _, jv = ad.jvp(f, (z,), (v,))
    _, f_vjp = ad.vjp(f, z)
    (jtu,) = f_vjp(u)
    assert np.real(np.sum(u * jv)) == pytest.approx(np.real(np.sum(jtu * v)), rel=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_real_to_complex_to_real(mode):
    f = lambda x: np.real(np.exp(1j * x))   # noqa: E731
    assert ad.grad(f, mode=mode)(0.5) == pytest.approx(-np.sin(0.5))
    x = np.random.default_rng(1).normal(size=6)
    g = ad.grad(lambda x: anp.sum(np.abs(np.fft.fft(x)) ** 2), mode=mode)(x)
    np.testing.assert_allclose(g, 2 * 6 * x)   # Parseval
    assert g.dtype == np.float64


@pytest.mark.parametrize("fun", [
    lambda x: anp.sum(np.abs(np.fft.rfft(x) * (1 + 2j)) ** 2),
    lambda x: anp.sum(np.fft.irfft(np.fft.rfft(x) * np.exp(1j * x[:4])) ** 3),
    lambda x: anp.sum(np.real(np.fft.ifft2(np.fft.fft2(x.reshape(2, 3)) ** 2))),
    lambda x: np.fft.irfftn(np.fft.rfftn(x.reshape(2, 3)) * (0.5 - 1j), s=(2, 3), axes=(0, 1)),
    lambda x: np.angle(np.fft.fft(x, n=8)[1:4]) + np.imag(np.fft.fftshift(np.fft.fft(x))[:3]),
    lambda x: np.real((x[:3] + 1j * x[3:]) @ (np.ones((3, 2)) * (1 - 1j))),
])
def test_check_grads_real_complex_real(fun):
    x = np.random.default_rng(2).normal(size=6)
    ad.check_grads(fun, (x,), order=2)


def test_check_grads_complex_inputs_and_outputs():
    z = np.array([0.3 + 1.0j, -1.2 + 0.4j, 0.7 - 0.2j])
    ad.check_grads(lambda z: np.sin(z) * np.conj(z) + np.fft.ifft(z), (z,), order=2)


def test_check_grads_catches_a_wrong_complex_rule():
    """A rule with the wrong convention (conjugate transpose for a holomorphic map)
    must fail the checker."""
    def wrong_vjp(g, ans, x):
        return (g * np.conj(np.cos(x)),)

    op = ad.primitive(np.sin, jvp=lambda ts, ans, x: ts[0] * np.cos(x), vjp=wrong_vjp,
                      name="sin_wrong_complex")
    with pytest.raises(AssertionError):
        ad.check_grads(lambda z: op(z), (np.array([0.3 + 1.0j]),), order=1)


def test_jacobians_refuse_complex_inputs_and_jacrev_complex_outputs():
    with pytest.raises(TypeError, match="jacfwd: input .* is complex"):
        ad.jacfwd(np.sin)(np.array([1.0 + 1j]))
    with pytest.raises(TypeError, match="jacrev: the function has a complex output"):
        ad.jacrev(lambda x: np.exp(1j * x))(np.array([1.0]))
    j = ad.jacfwd(lambda x: np.exp(1j * x))(np.array([0.0, 1.0]))
    np.testing.assert_allclose(j, np.diag(1j * np.exp(1j * np.array([0.0, 1.0]))))


def test_complex_output_of_grad_raises():
    with pytest.raises(TypeError, match="real scalar output"):
        ad.grad(lambda z: z * z)(1.0 + 1j)


def test_fft_values_and_errors():
    x = np.random.default_rng(3).normal(size=(3, 4))
    np.testing.assert_allclose(ad.value(anp.fft.rfftn(x)), np.fft.rfftn(x))
    np.testing.assert_allclose(anp.fft.irfft(np.fft.rfft(x[0]), n=4), x[0])
    with pytest.raises(TypeError, match="rfft: the input is complex"):
        ad.grad(lambda z: np.real(np.fft.rfft(z)[0]))(np.array([1.0 + 1j, 2.0]))
    with pytest.raises(ValueError, match="invalid norm"):
        anp.fft.fft(x, norm="bad")


def test_scipy_special_through_array_ufunc():
    sp = pytest.importorskip("scipy.special")
    x = np.array([0.2, 0.5, 0.9])
    for f in (sp.erf, sp.erfc, sp.erfinv, sp.expit, sp.logit, sp.gammaln, sp.digamma,
              sp.ndtr, sp.log_ndtr):
        ad.check_grads(lambda x, f=f: anp.sum(f(x)), (x,), order=2)
    ad.check_grads(lambda x, y: anp.sum(sp.xlogy(x, y) + sp.xlog1py(x, y)), (x, x + 0.1))
    # xlogy(0, y) = 0 and d/dy is 0 there; d/dx is log(y)
    gx, gy = ad.grad(lambda x, y: sp.xlogy(x, y), argnums=(0, 1))(0.0, 2.0)
    assert gx == pytest.approx(np.log(2.0)) and gy == 0.0
