"""ad.checkpoint of a closure over a traced value, and keyword arguments (issue 9 item 10)."""

import numpy as np
import pytest

import admodes as ad
import admodes.numpy as anp

MODES = ["forward", "reverse"]


@pytest.mark.parametrize("mode", MODES)
def test_closure_over_traced_value(mode):
    def f(x):
        w = x * 2.0
        return anp.sum(ad.checkpoint(lambda y: anp.sin(y) * w)(x))
    x = np.array([0.3, 1.2])
    expect = np.cos(x) * 2 * x + np.sin(x) * 2.0
    np.testing.assert_allclose(ad.grad(f, mode=mode)(x), expect)
    np.testing.assert_allclose(ad.grad(lambda x: anp.sum(anp.sin(x) * x * 2.0), mode=mode)(x),
                               expect)


def test_closure_second_order():
    def f(x):
        return anp.sum(ad.checkpoint(lambda y: y * y * x)(x))
    x = np.array([0.5, -1.5])
    np.testing.assert_allclose(ad.hessian(f)(x), np.diag(6 * x))


@pytest.mark.parametrize("mode", MODES)
def test_keyword_arguments(mode):
    block = ad.checkpoint(lambda x, s=1.0, scale=True: anp.sum(x * s) if scale else anp.sum(x))
    g = ad.grad(lambda x, s: block(x, s=s, scale=True), argnums=(0, 1), mode=mode)
    gx, gs = g(np.array([1.0, 2.0]), 3.0)
    np.testing.assert_allclose(gx, [3.0, 3.0])
    assert gs == pytest.approx(3.0)
    assert block(np.array([1.0, 2.0]), s=2.0) == pytest.approx(6.0)


def test_closure_restored_after_call():
    def f(x):
        w = x + 1.0
        blk = ad.checkpoint(lambda y: y * w)
        out = blk(x)
        assert blk.__wrapped__.__closure__[0].cell_contents is w
        return out
    assert ad.grad(f)(2.0) == pytest.approx(2 * 2.0 + 1.0)


def test_indirect_closure_names_the_fix():
    holder = {}

    def inner(y):
        return y * holder["w"]

    def f(x):
        holder["w"] = x
        return ad.checkpoint(inner)(x)
    with pytest.raises(ad.EscapedBoxError,
                       match="pass that value as an argument"):
        ad.grad(f)(2.0)
