"""Pytrees as JAX users write them, and has_aux (issue 9, part B)."""

import collections

import numpy as np
import pytest

import admodes as ad
import admodes.numpy as anp

MODES = ["forward", "reverse"]
Params = collections.namedtuple("Params", "w b")


def _loss(p):
    return anp.sum(p.w * p.w) * p.b


@pytest.mark.parametrize("mode", MODES)
def test_namedtuple_in_and_out(mode):
    p = Params(np.array([1.0, 2.0]), 3.0)
    g = ad.grad(_loss, mode=mode)(p)
    assert type(g) is Params
    np.testing.assert_allclose(g.w, 2 * p.w * 3.0)
    assert g.b == pytest.approx(5.0)
    out, tan = ad.jvp(lambda p: Params(p.w * 2.0, p.b), (p,), (Params(np.ones(2), 1.0),))
    assert type(out) is Params and type(tan) is Params
    np.testing.assert_allclose(tan.w, [2.0, 2.0])


def test_namedtuple_jacobian_and_vjp():
    p = Params(np.array([1.0, 2.0]), 3.0)
    for jac in (ad.jacfwd, ad.jacrev, ad.jacobian):
        j = jac(lambda p: p.w * p.b)(p)
        assert type(j) is Params
        np.testing.assert_allclose(j.w, 3.0 * np.eye(2))
    out, f_vjp = ad.vjp(lambda p: Params(p.w, p.w.sum() * p.b), p)
    assert type(out) is Params
    (ct,) = f_vjp(Params(np.ones(2), 1.0))
    assert type(ct) is Params
    np.testing.assert_allclose(ct.w, [4.0, 4.0])


@pytest.mark.parametrize("mode", MODES)
def test_dict_key_order_and_ordereddict(mode):
    d = {"z": 2.0, "a": 3.0, "m": 5.0}
    g = ad.grad(lambda d: d["z"] * d["a"] + d["m"], mode=mode)(d)
    assert list(g) == ["z", "a", "m"]
    assert g == {"z": 3.0, "a": 2.0, "m": 1.0}
    od = collections.OrderedDict([("z", 2.0), ("a", 3.0)])
    g = ad.grad(lambda d: d["z"] * d["a"], mode=mode)(od)
    assert type(g) is collections.OrderedDict and list(g) == ["z", "a"]
    assert g == {"z": 3.0, "a": 2.0}


def test_dicts_with_different_order_have_the_same_structure():
    _, f_vjp = ad.vjp(lambda x: {"b": x, "a": 2.0 * x}, 1.0)
    assert f_vjp({"a": 1.0, "b": 1.0}) == (3.0,)
    assert f_vjp({"b": 1.0, "a": 1.0}) == (3.0,)


def _f_aux(x):
    y = anp.sin(x)
    return anp.sum(y * x), {"y": y, "n": 3}


@pytest.mark.parametrize("mode", MODES)
def test_has_aux_grad_value_and_grad(mode):
    x = np.array([0.5, 1.0])
    g, aux = ad.grad(_f_aux, has_aux=True, mode=mode)(x)
    np.testing.assert_allclose(g, np.cos(x) * x + np.sin(x))
    assert type(aux["y"]) is np.ndarray and aux["n"] == 3
    np.testing.assert_allclose(aux["y"], np.sin(x))
    (v, aux2), g2 = ad.value_and_grad(_f_aux, has_aux=True, mode=mode)(x)
    assert v == pytest.approx(np.sum(np.sin(x) * x))
    np.testing.assert_allclose(g2, g)
    np.testing.assert_allclose(aux2["y"], np.sin(x))


def test_has_aux_vjp_and_jacobians():
    x = np.array([0.5, 1.0])
    out, f_vjp, aux = ad.vjp(lambda x: (x * x, x.sum()), x, has_aux=True)
    np.testing.assert_allclose(out, x * x)
    assert type(aux) is np.float64 or type(aux) is float
    assert aux == pytest.approx(1.5)
    np.testing.assert_allclose(f_vjp(np.ones(2))[0], 2 * x)
    for jac in (ad.jacfwd, ad.jacrev, ad.jacobian):
        j, aux = jac(lambda x: (x * x, x * 3.0), has_aux=True)(x)
        np.testing.assert_allclose(j, np.diag(2 * x))
        assert type(aux) is np.ndarray
        np.testing.assert_allclose(aux, 3 * x)


def test_has_aux_nested_keeps_outer_derivative():
    # aux computed under an outer grad still carries the outer derivative.
    def outer(s):
        g, aux = ad.grad(lambda x: (x * x * s, s * x), has_aux=True)(2.0)
        return g + aux
    assert ad.grad(outer)(3.0) == pytest.approx(4.0 + 2.0)


def test_has_aux_bad_return():
    with pytest.raises(TypeError, match=r"grad\(has_aux=True\): the function must return a pair"):
        ad.grad(lambda x: x * x, has_aux=True)(1.0)
