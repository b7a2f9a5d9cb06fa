"""Regressions for what the differential tier against JAX (tests/test_vs_jax.py) found;
these run without JAX."""

import numpy as np

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
