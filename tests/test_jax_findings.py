"""Regressions for what the differential tier against JAX (tests/test_vs_jax.py) found;
these run without JAX."""

import numpy as np
import pytest

import admodes as ad
import admodes.numpy as anp


def test_trace_and_jit_take_a_variadic_primitive():
    # einsum's rules are variadic (one rule for any number of operands); the static
    # graph asked len() of them and raised TypeError, so ad.trace / ad.jit failed on any
    # einsum, and on det's Hessian, whose rules use einsum.
    x = np.arange(3.0)
    f = lambda v: anp.einsum("i,i,j->j", v, v, v)
    graph = ad.trace(lambda v: anp.sum(f(v)), np.ones(3))
    np.testing.assert_allclose(graph.grad(x), 2 * x * x.sum() + x @ x)
    np.testing.assert_allclose(ad.jit(ad.jacfwd(f))(x), ad.jacfwd(f)(x))
    m = np.array([[2.0, 0.3], [0.1, 4.0]])
    det_hessian = ad.hessian(lambda a: anp.linalg.det(a))
    np.testing.assert_allclose(ad.jit(det_hessian)(m), det_hessian(m), rtol=1e-12)


def test_jit_of_grad_keeps_the_real_projection_of_a_complex_cotangent():
    # The cotangent of a real input that meets complex values is the real part; while
    # ad.jit traced the gradient program, the values were shape/dtype placeholders and
    # the check for a complex cotangent read them as real, so the generated program
    # returned a complex "gradient" (-0.479+0.878j instead of -0.479 = -sin(0.5)).
    f = lambda x: anp.real(anp.exp(1j * x))
    assert ad.jit(ad.grad(f))(0.5) == ad.grad(f)(0.5) == -np.sin(0.5)
    g = lambda x: anp.sum(anp.real(anp.exp(1j * x)) + anp.abs(anp.fft.fft(x * 0.7 + 0.2)) ** 2)
    x = np.array([0.3, -0.5, 0.9])
    fast = ad.jit(ad.grad(g))(x)
    assert fast.dtype == np.float64
    np.testing.assert_allclose(fast, ad.grad(g)(x), rtol=1e-12)
    np.testing.assert_allclose(ad.jit(ad.hessian(g))(x), ad.hessian(g)(x), rtol=1e-12)


@pytest.mark.parametrize("name", ["abs_fft", "abs2_fft", "abs_exp"])
def test_jit_of_grad_through_complex_abs(name):
    # complex abs's rules asked whether their argument is complex by its type; under
    # ad.jit the value is a shape/dtype placeholder, the real branch was taken and the
    # conjugate dropped: silently wrong gradients (reversed fft bins).
    f = {"abs_fft": lambda x: anp.sum(anp.abs(anp.fft.fft(x))),
         "abs2_fft": lambda x: anp.sum(anp.abs(anp.fft.fft(x)) ** 2),
         "abs_exp": lambda x: anp.sum(anp.abs(anp.exp(1j * x) + x))}[name]
    x = np.array([0.3, -0.5, 0.9])
    h, eye = 1e-6, np.eye(3)
    central = np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in eye])
    np.testing.assert_allclose(ad.grad(f)(x), central, rtol=1e-7)
    for fast in (ad.jit(ad.grad(f)), ad.trace(ad.grad(f), x), ad.jit(ad.jacrev(f))):
        np.testing.assert_allclose(fast(x), ad.grad(f)(x), rtol=1e-12)


@pytest.mark.parametrize("name", ["maximum", "minimum", "max", "min", "clip", "cube", "exp2"])
def test_float32_stays_float32_in_batched_rules(name):
    # "float32 in, float32 out for every transformation" (conventions page), as in JAX.
    # The tie/clip masks were float64 (where(cond, 1.0, 0.0)) and power's rules made
    # np.float64 scalars of a Python exponent or base (y - 1, log(2.0)): a batched
    # float32 tangent became float64, so jacfwd / jacrev / hessian returned float64
    # (grad and jvp only hid it by casting their result).
    f = {"maximum": lambda x: anp.maximum(x, x[::-1]), "minimum": lambda x: anp.minimum(x, 0.1),
         "max": lambda x: anp.max(x) * x, "min": lambda x: anp.min(x, axis=-1, keepdims=True) * x,
         "clip": lambda x: anp.clip(x, -0.4, 0.4), "cube": lambda x: x ** 3,
         "exp2": lambda x: 2.0 ** x}[name]
    x = np.array([0.5, -0.2, 0.3, 0.5], np.float32)
    for jac in (ad.jacfwd, ad.jacrev, ad.jacobian):
        assert jac(f)(x).dtype == np.float32, jac.__name__
    assert ad.hessian(lambda v: anp.sum(f(v) ** 2))(x).dtype == np.float32
    np.testing.assert_allclose(ad.jacfwd(f)(x), ad.jacfwd(f)(x.astype(np.float64)), rtol=1e-6)
