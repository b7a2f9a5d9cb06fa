"""Issue 9, part A: no silently wrong derivative (each test failed before its fix)."""

import math

import numpy as np
import pytest

import admodes as ad
import admodes.numpy as anp

MODES = ["reverse", "forward"]


# ---------------------------------------------------------------- item 6: argnums ------


@pytest.mark.parametrize("mode", MODES)
def test_duplicate_argnums_raise(mode):
    with pytest.raises(ValueError, match="more than once"):
        ad.grad(lambda x, y: x * y, argnums=(0, 0), mode=mode)(2.0, 3.0)
    with pytest.raises(ValueError, match="more than once"):
        ad.grad(lambda x, y: x * y, argnums=(1, -1), mode=mode)(2.0, 3.0)
    with pytest.raises(ValueError, match="more than once"):
        ad.jacfwd(lambda x, y: x * y, argnums=(0, 0))(2.0, 3.0)
    with pytest.raises(ValueError, match="out of range"):
        ad.jacrev(lambda x, y: x * y, argnums=(0, 2))(2.0, 3.0)


# ---------------------------------------------------------------- item 3: prod at zeros


@pytest.mark.parametrize("x, want", [
    ([0.0, 2.0, 3.0], [[0, 3, 2], [3, 0, 0], [2, 0, 0]]),
    ([0.0, 0.0, 3.0], [[0, 3, 0], [3, 0, 0], [0, 0, 0]]),
    ([0.0, 0.0, 0.0], np.zeros((3, 3))),
    ([1.5, 2.0, 3.0], [[0, 3, 2], [3, 0, 1.5], [2, 1.5, 0]]),
])
def test_prod_hessian_at_zeros_both_modes(x, want):
    x = np.array(x)
    f = lambda v: anp.prod(v)  # noqa: E731
    np.testing.assert_allclose(ad.hessian(f)(x), want, atol=1e-12)
    np.testing.assert_allclose(ad.jacfwd(ad.jacfwd(f))(x), want, atol=1e-12)
    np.testing.assert_allclose(ad.jacrev(ad.jacrev(f))(x), want, atol=1e-12)


def test_prod_hessian_over_axes_with_zeros():
    x = np.array([[0.0, 2.0], [3.0, 0.0]])
    h = ad.hessian(lambda v: anp.prod(v))(x).reshape(4, 4)
    want = np.zeros((4, 4))
    want[0, 3] = want[3, 0] = 6.0
    np.testing.assert_allclose(h, want)
    h0 = ad.jacfwd(ad.jacrev(lambda v: anp.prod(v, axis=0).sum()))(x).reshape(4, 4)
    np.testing.assert_allclose(h0, [[0, 0, 1, 0], [0, 0, 0, 1], [1, 0, 0, 0], [0, 1, 0, 0]])
