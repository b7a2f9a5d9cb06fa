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


# ---------------------------------------------------------------- item 4: ufunc methods


A23 = np.arange(1.0, 7.0).reshape(2, 3)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("ufunc, ref", [(np.add, np.sum), (np.maximum, np.max),
                                        (np.minimum, np.min), (np.multiply, np.prod)])
def test_ufunc_reduce_default_axis_0(mode, ufunc, ref):
    w = np.array([1.0, -2.0, 0.5])
    f = lambda x: (ufunc.reduce(x) * w).sum()  # noqa: E731
    assert np.shape(ad.value(ufunc.reduce(ad.numpy.multiply(A23, 1.0)))) == (3,)
    got = ad.grad(f, mode=mode)(A23)
    want = ad.grad(lambda x: (ref(x, axis=0) * w).sum(), mode=mode)(A23)
    np.testing.assert_allclose(got, want)
    np.testing.assert_allclose(ad.value_and_grad(f, mode=mode)(A23)[0],
                               (ufunc.reduce(A23) * w).sum())
    g1 = ad.grad(lambda x: ufunc.reduce(x, axis=1, keepdims=True).sum(), mode=mode)(A23)
    g1_ref = ad.grad(lambda x: ref(x, axis=1, keepdims=True).sum(), mode=mode)(A23)
    np.testing.assert_allclose(g1, g1_ref)
    g_all = ad.grad(lambda x: ufunc.reduce(x, axis=None), mode=mode)(A23)
    np.testing.assert_allclose(g_all, ad.grad(lambda x: ref(x), mode=mode)(A23))


@pytest.mark.parametrize("mode", MODES)
def test_ufunc_accumulate_and_outer(mode):
    w = np.arange(6.0).reshape(2, 3)
    got = ad.grad(lambda x: (np.add.accumulate(x) * w).sum(), mode=mode)(A23)
    np.testing.assert_allclose(got, [[3, 5, 7], [3, 4, 5]])
    got = ad.grad(lambda x: (np.multiply.accumulate(x, axis=1) * w).sum(), mode=mode)(A23)
    want = ad.grad(lambda x: (anp.cumprod(x, axis=1) * w).sum(), mode=mode)(A23)
    np.testing.assert_allclose(got, want)
    v = np.array([1.0, 2.0, 3.0])
    out = ad.jacobian(lambda x: np.multiply.outer(x, v))(np.array([2.0, 5.0]))
    assert out.shape == (2, 3, 2)
    np.testing.assert_allclose(out[:, :, 0], [[1, 2, 3], [0, 0, 0]])
    np.testing.assert_allclose(ad.grad(lambda x: np.subtract.outer(x, x).sum() + x.sum(),
                                       mode=mode)(v), [1, 1, 1])


@pytest.mark.parametrize("mode", MODES)
def test_ufunc_at_and_unregistered_methods_raise_naming_the_method(mode):
    with pytest.raises(TypeError, match=r"numpy\.add\.at"):
        ad.grad(lambda x: np.add.at(x, [0], 1.0), mode=mode)(np.ones(3))
    with pytest.raises(TypeError, match=r"numpy\.add\.reduceat"):
        ad.grad(lambda x: np.add.reduceat(x, [0, 1]).sum(), mode=mode)(np.ones(3))
    with pytest.raises(TypeError, match=r"numpy\.maximum\.accumulate"):
        ad.grad(lambda x: np.maximum.accumulate(x).sum(), mode=mode)(np.ones(3))
    with pytest.raises(TypeError, match=r"numpy\.add\.reduce: the keyword initial="):
        ad.grad(lambda x: np.add.reduce(x, initial=1.0), mode=mode)(np.ones(3))


# ---------------------------------------------------------------- keywords, item 13 ----


@pytest.mark.parametrize("mode", MODES)
def test_unsupported_numpy_keywords_raise_naming_keyword_and_function(mode):
    x = np.array([0.5, 1.0])
    for f, kw in [(lambda v: np.sum(v, where=np.array([True, False])), "where"),
                  (lambda v: np.sum(v, initial=1.0), "initial"),
                  (lambda v: np.max(v, initial=1.0), "initial"),
                  (lambda v: np.exp(v, where=np.array([True, False])).sum(), "where"),
                  (lambda v: np.add(v, 1.0, casting="unsafe").sum(), "casting")]:
        with pytest.raises(TypeError, match=rf"numpy\.\w+: the keyword {kw}="):
            ad.grad(f, mode=mode)(x)
    # numpy's defaults spelled out are fine, and dtype= works on ufuncs
    np.testing.assert_allclose(ad.grad(lambda v: np.add(v, 1.0, where=True).sum(),
                                       mode=mode)(x), [1, 1])
    np.testing.assert_allclose(ad.grad(lambda v: np.exp(v, dtype=np.float64).sum(),
                                       mode=mode)(x), np.exp(x))
    g = ad.grad(lambda v: np.exp(v, dtype=np.float32).sum(), mode=mode)(x)
    np.testing.assert_allclose(g, np.exp(x), rtol=1e-6)
    with pytest.raises(TypeError, match=r"numpy\.exp\(dtype=int64\)"):
        ad.grad(lambda v: np.exp(v, dtype=np.int64).sum(), mode=mode)(x)


@pytest.mark.parametrize("mode", MODES)
def test_clip_numpy2_keywords(mode):
    x = np.array([0.0, 1.0, 0.7])
    np.testing.assert_allclose(ad.grad(lambda v: np.clip(v, min=0.5).sum(), mode=mode)(x),
                               [0, 1, 1])
    np.testing.assert_allclose(ad.grad(lambda v: v.clip(max=0.8).sum(), mode=mode)(x),
                               [1, 0, 1])
    np.testing.assert_allclose(ad.grad(lambda v: anp.clip(v, min=0.5, max=0.8).sum(),
                                       mode=mode)(x), [0, 0, 1])


@pytest.mark.parametrize("mode", MODES)
def test_astype_float32_on_traced_values(mode):
    x = np.array([0.1, 2.0])
    v, g = ad.value_and_grad(lambda t: (t.astype(np.float32) ** 2).sum(), mode=mode)(x)
    assert np.asarray(v).dtype == np.float32
    assert np.asarray(g).dtype == np.float64  # cotangent cast back to the input's dtype
    np.testing.assert_allclose(g, 2 * x, rtol=1e-6)
    assert ad.jacfwd(lambda t: t.astype(np.float32))(x).dtype == np.float32
    with pytest.raises(TypeError, match=r"ndarray\.astype\(dtype=int64\)"):
        ad.grad(lambda t: t.astype(np.int64).sum(), mode=mode)(x)


def test_diag_keeps_float32():
    v = np.array([1.0, 2.0], np.float32)
    assert anp.diag(v).dtype == np.float32
    assert anp.diag(np.array([1.0, 2.0])).dtype == np.float64


# ---------------------------------------------------------------- item 1: conversions --


CONVERSIONS = [
    ("float()", lambda x: float(x) * x),
    ("float()", lambda x: math.sin(x)),
    ("float()", lambda x: np.float64(x) * x),
    ("np.float32()", lambda x: np.float32(x) * x),
    ("complex()", lambda x: complex(x).real * x),
    (r"x\.item\(\)", lambda x: x.item() * x),
    (r"x\.tolist\(\)", lambda x: x.tolist() * x),
]


@pytest.mark.parametrize("what, f", CONVERSIONS)
@pytest.mark.parametrize("transform, name", [
    (lambda f: ad.grad(f), "grad"),
    (lambda f: ad.grad(f, mode="forward"), "grad"),
    (lambda f: ad.value_and_grad(f), "grad"),
    (lambda f: ad.jacfwd(f), "jacfwd"),
    (lambda f: ad.jacrev(f), "jacrev"),
    (lambda f: ad.jacobian(f), "jacobian"),
    (lambda f: ad.hessian(f), "jac"),
    (lambda f: (lambda x: ad.jvp(f, (x,), (np.ones_like(x),))), "jvp"),
    (lambda f: (lambda x: ad.vjp(f, x)), "vjp"),
    (lambda f: ad.grad(ad.checkpoint(f)), "checkpoint"),
])
def test_scalar_conversions_raise_in_every_transformation(what, f, transform, name):
    with pytest.raises(ad.TracerConversionError, match=rf"{what}.* inside {name}\w* \(") as e:
        transform(f)(np.array(3.0))
    assert isinstance(e.value, TypeError)
    assert "ad.value(x)" in str(e.value) and "np.*" in str(e.value)
    # nothing left behind: the next call works
    assert transform(lambda x: anp.sin(x) * x)(np.array(3.0)) is not None
    np.testing.assert_allclose(ad.grad(lambda x: anp.sin(x) * x)(3.0),
                               np.sin(3.0) + 3.0 * np.cos(3.0))


@pytest.mark.parametrize("mode", MODES)
def test_piecewise_constant_conversions_stay_allowed(mode):
    def f(x):
        n = int(x)  # piecewise constant: derivative 0 almost everywhere
        y = x * n
        if x > 0 and bool(x):
            y = y + x * x
        return y
    assert ad.grad(f, mode=mode)(3.5) == pytest.approx(3 + 7.0)
    assert ad.grad(lambda x: x * (x > 1.0), mode=mode)(2.0) == 1.0


def test_check_grads_reports_a_conversion():
    with pytest.raises(ad.TracerConversionError):
        ad.check_grads(lambda x: float(x) * x, (3.0,))


def test_nn_define_by_run_conversions_return_the_number():
    from admodes import nn
    lin = nn.Linear(2, 1, rng=0)
    loss = nn.mse(lin(np.ones((3, 2))), np.zeros((3, 1)))
    v = float(loss)
    assert isinstance(v, float) and v == pytest.approx(loss.item())
    assert isinstance(loss.item(), float)
    loss.backward()
    assert float(loss) == v
    # ... but a parameter used inside a transformation is traced there
    with pytest.raises(ad.TracerConversionError, match="float"):
        ad.grad(lambda s: float(s * lin.weight.sum()) * s)(2.0)


# ---------------------------------------------------------------- item 7: size-1 inputs


@pytest.mark.parametrize("shape", [(1,), (1, 1), (1, 1, 1)])
@pytest.mark.parametrize("mode", MODES)
def test_grad_of_a_size_one_array_keeps_its_shape(shape, mode):
    x = np.full(shape, 3.0)
    f = lambda v: (v ** 3).sum()  # noqa: E731
    g = ad.grad(f, mode=mode)(x)
    assert np.shape(g) == shape
    np.testing.assert_allclose(g, np.full(shape, 27.0))
    for outer in MODES:
        gg = ad.grad(lambda v: ad.grad(f, mode=mode)(v).sum(), mode=outer)(x)
        assert np.shape(gg) == shape
        np.testing.assert_allclose(gg, np.full(shape, 18.0))
    vg = ad.value_and_grad(lambda a, b: (a * b).sum(), argnums=(0, 1), mode=mode)(x, 2.0)
    assert np.shape(vg[1][0]) == shape and np.shape(vg[1][1]) == ()


# ---------------------------------------------------------------- item 8: read-only ---


def _many_constants(x):
    s = x.sum(0).sum()  # each use sends a broadcast-constant cotangent back to x
    return s * x.sum() + s * 2.0 + s * 3.0 + (x * s).sum() + x.mean() * x.sum(-1).sum()


@pytest.mark.parametrize("shape", [(32, 40), (2, 3), (4096,)])
@pytest.mark.parametrize("mode", MODES)
def test_broadcast_constant_cotangents_on_large_arrays(shape, mode):
    x = np.ones(shape)
    n = x.size
    want = np.full(shape, 4.0 * n + 5.0 + 2.0)  # f = 2 S**2 + 5 S + S**2 / n
    np.testing.assert_allclose(ad.grad(_many_constants, mode=mode)(x), want)
    if mode == "reverse":
        np.testing.assert_allclose(ad.jacrev(_many_constants)(x), want)
        _, pull = ad.vjp(_many_constants, x)
        np.testing.assert_allclose(pull(1.0)[0], want)
        np.testing.assert_allclose(pull(1.0)[0], want)  # the tape is swept again


def test_broadcast_constant_cotangents_through_loss_backward():
    from admodes import nn
    p = nn.Parameter(np.ones((32, 40)))
    loss = _many_constants(p)
    loss.backward()
    np.testing.assert_allclose(p.grad, np.full((32, 40), 4.0 * 1280 + 7.0))


# ---------------------------------------------------------------- item 11: float paths -

_EDGE = [0.0, -0.0, 1.0, -1.0, 0.5, -2.0, 1e308, -1e308, 710.0, -710.0,
         math.inf, -math.inf, math.nan]


def _arity(prim):
    import inspect
    try:
        return len(inspect.signature(prim.impl).parameters)
    except (TypeError, ValueError):
        return 0


_ELEMENTWISE = [n for n in ad.registry if ad.registry[n].elementwise
                and 1 <= _arity(ad.registry[n]) <= 2]


def _same(a, b):
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    a, b = complex(a), complex(b)
    return a == b or (np.isnan(a) and np.isnan(b)) or abs(a - b) <= 1e-12 * abs(b)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name", _ELEMENTWISE)
def test_python_float_fast_paths_keep_numpy_semantics(name):
    import itertools
    prim = ad.registry[name]
    wrong = []
    for args in itertools.product(_EDGE, repeat=_arity(prim)):
        try:
            got = prim.impl(*args)
        except Exception as e:  # noqa: BLE001 - compared with numpy's behaviour
            got = type(e).__name__
        try:
            want = prim.impl(*[np.array(v) for v in args])
            want = want.item() if hasattr(want, "item") else want
        except Exception as e:  # noqa: BLE001
            want = type(e).__name__
        if not _same(got, want):
            wrong.append((args, got, want))
    assert not wrong, f"{name}: Python floats differ from numpy at {wrong[:4]}"


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("mode", MODES)
def test_reciprocal_at_zero_is_inf(mode):
    assert anp.reciprocal(0.0) == np.inf and anp.reciprocal(-0.0) == -np.inf
    assert ad.grad(anp.reciprocal, mode=mode)(0.0) == -np.inf
    assert np.isnan(anp.maximum(math.nan, 1.0)) and np.isnan(anp.minimum(math.nan, 1.0))


# ---------------------------------------------------------------- item 5: custom rules -

_A = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
_S = np.array([[1.0, 2.0], [3.0, 4.0]])


def _matvec_primitive(M, name, batched=False):
    # rules written for ONE direction: M @ t, M.T @ g (wrong on a batch of directions)
    return ad.primitive(lambda x: M @ x, jvp=lambda ts, ans, x: M @ ts[0],
                        vjp=lambda g, ans, x: (M.T @ g,), name=name, batched=batched)


class _MatVec(ad.Operation):
    name = "trust_matvec_op"
    M = _A

    def forward(self, x):
        return self.M @ x

    def backward(self, g):
        return (self.M.T @ g,)

    def jvp(self, t):
        return self.M @ t


@pytest.mark.parametrize("M", [_A, _S], ids=["wide", "square"])
@pytest.mark.parametrize("kind", ["primitive", "operation"])
def test_single_direction_custom_rules_under_every_transformation(M, kind):
    if kind == "primitive":
        op = _matvec_primitive(M, f"trust_matvec_{M.shape[1]}")
    else:
        op = type(f"MV{M.shape[1]}", (_MatVec,), {"name": f"trust_mv_{M.shape[1]}",
                                                  "M": M})()
    x = np.arange(1.0, M.shape[1] + 1)
    f = lambda v: (op(v) ** 2).sum()  # noqa: E731
    np.testing.assert_allclose(ad.jacfwd(op)(x), M)
    np.testing.assert_allclose(ad.jacrev(op)(x), M)
    np.testing.assert_allclose(ad.jacobian(op)(x), M)
    for mode in MODES:
        np.testing.assert_allclose(ad.grad(f, mode=mode)(x), 2 * M.T @ M @ x)
    np.testing.assert_allclose(ad.hessian(f)(x), 2 * M.T @ M)
    np.testing.assert_allclose(ad.jacfwd(ad.jacfwd(f))(x), 2 * M.T @ M)
    np.testing.assert_allclose(ad.jacrev(ad.jacrev(f))(x), 2 * M.T @ M)
    _, pull = ad.vjp(op, x)
    np.testing.assert_allclose(pull(np.ones(M.shape[0]))[0], M.T @ np.ones(M.shape[0]))


def test_batched_custom_rules_get_one_call_per_batch():
    calls = []

    def vjp(g, ans, x):
        calls.append(np.shape(ad.value(g)))
        return (anp.matmul(g, _A),)  # batch-polymorphic: (..., 2) @ (2, 3)

    op = ad.primitive(lambda x: _A @ x, vjp=vjp, name="trust_batched", batched=True)
    np.testing.assert_allclose(ad.jacrev(op)(np.ones(3)), _A)
    assert calls == [(2, 2)]


# ---------------------------------------------------------------- item 3: edge points --
# At kinks and ties the derivative is a convention (README: minimum-norm subgradient,
# ties split evenly, clip inclusive), which finite differences cannot check, so the
# registry's numerical domains avoid them; here every mode pair must give the documented
# value exactly, to second order.

_EDGES = {
    "abs at 0": (lambda x: (anp.abs(x) * x).sum(), [0.0, 1.0, -1.0],
                 [0, 2, 2], np.diag([0.0, 2, -2])),
    "relu at 0": (lambda x: (anp.relu(x) * x).sum(), [0.0, 1.0, -1.0],
                  [0, 2, 0], np.diag([0.0, 2, 0])),
    "clip at its bounds": (lambda x: (anp.clip(x, -0.5, 0.5) * x).sum(),
                           [0.5, -0.5, 0.2, 1.0], [1, -1, 0.4, 0.5], np.diag([2.0, 2, 2, 0])),
    "max, two tied": (lambda x: anp.max(x * x), [1.0, -1.0, 0.5],
                      [1, -1, 0], np.diag([1.0, 1, 0])),
    "min, three tied": (lambda x: anp.min(x * x), [2.0, -2.0, 2.0, 3.0],
                        [4 / 3, -4 / 3, 4 / 3, 0], np.diag([2 / 3, 2 / 3, 2 / 3, 0])),
    "max over an axis, tied": (lambda x: anp.max((x * x).reshape(2, 2), axis=1).sum(),
                               [1.0, 1.0, -2.0, 3.0], [1, 1, 0, 6], np.diag([1.0, 1, 0, 2])),
    "maximum, tied": (lambda x: anp.maximum(x[:2] * x[:2], x[2:]).sum(), [1.0, 2.0, 1.0, 1.0],
                      [1, 4, 0.5, 0], np.diag([1.0, 2, 0, 0])),
    "minimum, tied": (lambda x: anp.minimum(x[:2] * x[:2], x[2:]).sum(), [1.0, 2.0, 1.0, 1.0],
                      [1, 0, 0.5, 1], np.diag([1.0, 0, 0, 0])),
    "prod, two zeros": (lambda x: anp.prod(x), [0.0, 3.0, 0.0],
                        [0, 0, 0], [[0, 0, 3], [0, 0, 0], [3, 0, 0]]),
}


@pytest.mark.parametrize("case", list(_EDGES))
def test_second_order_at_kinks_ties_and_zeros_every_mode_pair(case):
    f, x, g, h = _EDGES[case]
    x = np.array(x)
    for mode in MODES:
        np.testing.assert_allclose(ad.grad(f, mode=mode)(x), g, atol=1e-12)
    pairs = {"ff": ad.jacfwd(ad.jacfwd(f)), "fr": ad.jacfwd(ad.jacrev(f)),
             "rf": ad.jacrev(ad.jacfwd(f)), "rr": ad.jacrev(ad.jacrev(f)),
             "hessian": ad.hessian(f),
             "grad-of-grad": ad.jacfwd(ad.grad(f, mode="forward"))}
    for name, hf in pairs.items():
        np.testing.assert_allclose(hf(x), h, atol=1e-12, err_msg=f"{case}, {name}")


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_unsupported_method_keywords_name_keyword_and_method(mode):
    """ndarray methods on traced values: a numpy keyword admodes does not support raises
    a TypeError naming the keyword and the method; numpy's defaults are accepted."""
    x = np.array([1.0, 2.0, 3.0])
    cases = {
        "sum": lambda t: t.sum(where=np.array([True, False, True])),
        "max": lambda t: t.max(initial=0.0),
        "prod": lambda t: t.prod(initial=2.0),
        "clip": lambda t: t.clip(0.0, 1.0, out=np.empty(3)).sum(),
        "mean": lambda t: t.mean(bogus=1),
    }
    for method, f in cases.items():
        with pytest.raises(TypeError, match=rf"ndarray\.{method}: the keyword \w+= is not"):
            ad.grad(f, mode=mode)(x)
    np.testing.assert_allclose(ad.grad(lambda t: t.sum(where=True, out=None), mode=mode)(x),
                               np.ones(3))
    with pytest.raises(TypeError, match=r"ndarray\.sum: arguments"):
        ad.grad(lambda t: t.sum(0, None, None, False, 5), mode=mode)(x)
