"""Issue 10: the numpy coverage table and the conventions of the newly covered calls."""

import zlib

import numpy as np
import pytest

import admodes as ad
import admodes.numpy as anp
from admodes.bench import coverage

MINE = ("elementwise", "reductions and scans", "shape and indexing", "misc")


def test_committed_table_matches_the_code():
    """docs/numpy-coverage.md is regenerated in memory: it cannot drift from the code
    (run ``python -m admodes.bench.coverage`` to update it)."""
    results = coverage.run()
    assert coverage.DOC.read_text() == coverage.render(results), (
        "docs/numpy-coverage.md is out of date: run python -m admodes.bench.coverage")
    missing = [r["call"].name for r in results if r["call"].group in MINE and not r["ok"]]
    assert not missing, f"listed calls not supported: {missing}"


def _calls():
    for c in coverage.CALLS:
        if c.group in MINE:
            yield pytest.param(c, id=c.name)


@pytest.mark.parametrize("call", list(_calls()))
def test_traced_values_equal_numpy(call):
    """The value computed on traced inputs is numpy's (to rounding)."""
    rng = np.random.default_rng(zlib.crc32(f"{call.group}/{call.name}".encode()))
    args = tuple(np.asarray(a, dtype=float) for a in call.args(rng))
    ref_xp = np if "np" in call.forms else anp
    want = call.fn(ref_xp, *args) if ref_xp is np else call.fn(anp, *args)
    got, _ = ad.vjp(lambda *a: call.fn(anp, *a), *args)
    for g, w in zip(*(ad.tree.flatten(v)[0] for v in (got, want))):
        np.testing.assert_allclose(g, w, rtol=1e-13, atol=1e-14)


def test_listed_functions_are_in_the_namespace_and_protocols():
    names = """log2 log10 exp2 cbrt arcsinh arccosh arctanh hypot fmax fmin float_power fabs
    absolute positive sinc deg2rad rad2deg radians degrees logaddexp2 nan_to_num mod fmod
    remainder round around rint heaviside isclose allclose signbit cumprod median
    percentile quantile average ptp nansum nanmean nanmax nanmin amax amin sort take
    take_along_axis put_along_axis tril triu kron cross split array_split hsplit vsplit
    tile repeat roll rot90 fliplr flipud dstack column_stack atleast_1d atleast_2d
    atleast_3d broadcast_arrays meshgrid pad interp polyval convolve correlate diff
    gradient trapezoid outer inner vdot""".split()
    for n in names:
        assert getattr(anp, n) is not getattr(np, n), f"admodes.numpy.{n} is numpy's own"


# ---------------------------------------------------------------- conventions ---------


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_conventions_at_kinks(mode):
    g = lambda f, x: ad.grad(f, mode=mode)(x)
    # hypot at the origin: 0, as norm at 0
    np.testing.assert_array_equal(ad.grad(lambda x, y: anp.hypot(x, y), argnums=(0, 1),
                                          mode=mode)(0.0, 0.0), (0.0, 0.0))
    # mod / fmod: slope 1 in x everywhere, -floor(x / y) / -trunc(x / y) in y
    assert g(lambda x: anp.mod(x, 2.0), 4.0) == 1.0
    assert ad.grad(lambda y: anp.mod(-3.0, y), mode=mode)(2.0) == 2.0
    assert ad.grad(lambda y: anp.fmod(-3.0, y), mode=mode)(2.0) == 1.0
    # sinc at 0: exact first and second derivatives
    assert g(anp.sinc, 0.0) == 0.0
    np.testing.assert_allclose(ad.grad(ad.grad(anp.sinc, mode=mode), mode=mode)(0.0),
                               -np.pi ** 2 / 3, rtol=1e-14)
    # ties: median / sort follow the stable sort; max-based ptp splits evenly
    np.testing.assert_array_equal(g(lambda x: anp.median(x), np.array([1.0, 1.0, 1.0])),
                                  [0.0, 1.0, 0.0])
    np.testing.assert_array_equal(g(lambda x: anp.ptp(x), np.array([2.0, 0.0, 2.0])),
                                  [0.5, -1.0, 0.5])
    # nan reductions: NaN entries get a zero derivative; an all-NaN slice gives NaN
    x = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, np.nan]])
    np.testing.assert_array_equal(g(lambda x: anp.nansum(x), x),
                                  [[1.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    assert np.isnan(anp.nanmax(x, axis=1)[1]) and anp.nanmax(x, axis=1)[0] == 3.0
    np.testing.assert_array_equal(g(lambda x: anp.nanmax(x, axis=1)[0], x),
                                  [[0.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    # non-differentiable ones: zero derivative, no error
    for f in (np.round, np.rint, np.signbit, lambda v: np.heaviside(v, 0.5),
              lambda v: np.isclose(v, 1.0)):
        assert g(lambda v: anp.sum(v * 0.0 + f(v)), np.array([0.3, -1.2])).tolist() == [0, 0]
    assert g(lambda v: v * float(np.allclose(v, 1.0)), 1.0) == 1.0


def test_cumprod_with_zeros_is_exact_in_both_modes():
    x = np.array([2.0, 0.0, 3.0, 0.0, 5.0])
    for jac in (ad.jacfwd, ad.jacrev):
        J = jac(lambda v: anp.cumprod(v))(x)
        num = ad.numerical_jacobian(lambda v: np.cumprod(v), x, method="richardson")
        np.testing.assert_allclose(J, num, atol=1e-9)
    H = ad.hessian(lambda v: anp.cumprod(v)[3])(x)   # x0 x1 x2 x3: d2/dx1 dx3 = 6
    assert H[1, 3] == H[3, 1] == 6.0 and np.count_nonzero(H) == 2


def test_put_along_axis_functional_last_write_wins():
    arr = np.zeros((2, 3))
    idx = np.array([[1, 1], [0, 2]])
    vals = np.array([[1.0, 2.0], [3.0, 4.0]])
    out = anp.put_along_axis(arr, idx, vals, axis=1, inplace=False)
    ref = arr.copy()
    np.put_along_axis(ref, idx, vals, axis=1)
    np.testing.assert_array_equal(out, ref)
    gv = ad.grad(lambda v: anp.sum(anp.put_along_axis(arr, idx, v, 1, inplace=False) *
                                   np.arange(6.0).reshape(2, 3)))(vals)
    np.testing.assert_array_equal(gv, [[0.0, 1.0], [3.0, 5.0]])  # the overwritten 1.0: 0


def test_reductions_take_numpy_keywords():
    x = np.arange(6.0).reshape(2, 3) + 1
    for name in ("sum", "mean", "prod", "var", "std", "nansum", "nanmean", "cumsum",
                 "cumprod"):
        f = getattr(np, name)
        kw = {"axis": 1, "dtype": np.float64}
        if name not in ("cumsum", "cumprod"):
            kw["keepdims"] = True
        got = ad.jacrev(lambda v: f(v, **kw))(x)
        num = ad.numerical_jacobian(lambda v: f(v, **kw), x, method="richardson")
        np.testing.assert_allclose(got, num, rtol=1e-8, atol=1e-10, err_msg=name)


# ---------------------------------------------------------------- clear errors --------


def test_unsupported_calls_raise_clear_errors():
    x = np.array([0.5, 1.5, 2.5])
    cases = [
        (lambda v: np.unwrap(v), TypeError, "numpy.unwrap"),
        (lambda v: np.nextafter(v, 1.0), TypeError, "numpy.nextafter"),
        (lambda v: np.put_along_axis(v, np.array([0]), 1.0, 0), TypeError,
         "put_along_axis"),
        (lambda v: anp.put_along_axis(v, np.array([0]), 1.0, 0), ValueError, "inplace=False"),
        (lambda v: v.sort(), TypeError, "ndarray.sort"),
        (lambda v: np.pad(v, 1, mode="linear_ramp"), NotImplementedError, "linear_ramp"),
        (lambda v: np.quantile(v, 0.5, method="nearest"), NotImplementedError, "nearest"),
        (lambda v: np.sum(v, dtype=int), TypeError, "numpy.sum(dtype=int64)"),
        (lambda v: np.quantile(v, 1.5), ValueError, "range [0, 1]"),
        (lambda v: np.gradient(v, v), TypeError, "spacing"),
    ]
    for f, exc, msg in cases:
        for mode in ("forward", "reverse"):
            with pytest.raises(exc, match=msg.replace("(", r"\(").replace(")", r"\)")
                               .replace("[", r"\[").replace("]", r"\]")):
                ad.grad(lambda v: anp.sum(f(v)), mode=mode)(x)
