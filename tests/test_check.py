"""admodes.check: the checker must catch planted bugs, pass correct rules without
spurious failures, and its numerical references must be as accurate as promised."""

import functools
import json
import re
import warnings

import numpy as np
import pytest
from _ops import Cube

import admodes as ad
import admodes.numpy as anp
from admodes.check import CrossCheckReport, input_scale
from admodes.testing import assert_grads_close


def _rows(message):
    """Parse check_grads' table: a list of (mode, argument, order) per failed check."""
    lines = message.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("---")) + 1
    rows = []
    for line in lines[start:]:
        cells = re.split(r"\s{2,}", line.strip())
        rows.append((cells[0], cells[1], int(cells[2])))
    return rows


def _failures(fun, args, **kw):
    with pytest.raises(AssertionError) as info:
        ad.check_grads(fun, args, **kw)
    return _rows(str(info.value)), str(info.value)


# ---------------------------------------------------------------- planted rules -------
# Each planted op is x -> x**3 with one rule wrong; everything else is right.

def _cube(x):
    return x ** 3


def _jvp_ok(tangents, ans, x):
    return 3 * x ** 2 * tangents[0]


def _vjp_ok(g, ans, x):
    return (3 * x ** 2 * g,)


cube_ok = ad.primitive(_cube, jvp=_jvp_ok, vjp=_vjp_ok, name="check_test_cube_ok")
cube_bad_vjp = ad.primitive(_cube, jvp=_jvp_ok, vjp=lambda g, ans, x: (2 * x ** 2 * g,),
                            name="check_test_cube_bad_vjp")
cube_bad_jvp = ad.primitive(_cube, jvp=lambda t, ans, x: 3 * x * t[0], vjp=_vjp_ok,
                            name="check_test_cube_bad_jvp")


class CubeFlatVJP(Cube):
    """Right values at first order, but the VJP rule steps outside differentiation
    (ad.value), so its own derivative -- the second order in reverse mode -- is wrong."""

    name = "check_test_cube_flat_vjp"

    def backward(self, output_grad):
        (x,) = self.inputs
        return (3 * ad.value(x) ** 2 * output_grad,)


class CubeFlatJVP(Cube):
    """The same bug in the forward-mode rule."""

    name = "check_test_cube_flat_jvp"

    def jvp(self, x_dot):
        (x,) = self.inputs
        return 3 * ad.value(x) ** 2 * x_dot


cube_flat_vjp, cube_flat_jvp = CubeFlatVJP(), CubeFlatJVP()
X = np.array([0.7, -1.3, 0.4])


def test_wrong_vjp_rule_is_caught_as_reverse_order_1():
    rows, msg = _failures(lambda x: anp.sum(anp.sin(cube_bad_vjp(x))), (X,))
    assert rows and all(order == 1 for _, _, order in rows)
    assert ("reverse", "args[0]", 1) in rows
    assert not any(mode == "forward" for mode, _, _ in rows)  # forward mode is right
    for word in ("mode", "argument", "order", "AD", "reference", "error", "tolerance"):
        assert word in msg


def test_wrong_jvp_rule_is_caught_as_forward_order_1():
    rows, _ = _failures(lambda x: anp.sum(anp.sin(cube_bad_jvp(x))), (X,))
    assert ("forward", "args[0]", 1) in rows
    assert not any(mode == "reverse" for mode, _, _ in rows)  # reverse mode is right


def test_wrong_second_order_vjp_rule_is_caught_at_order_2_only():
    f = lambda x: anp.sum(anp.sin(cube_flat_vjp(x)))
    ad.check_grads(f, (X,), order=1)  # first order is right
    rows, _ = _failures(f, (X,), order=2)
    assert rows and all(order == 2 for _, _, order in rows)
    assert all(mode.endswith("over reverse") for mode, _, _ in rows)
    assert any(mode == "reverse over reverse" for mode, _, _ in rows)


def test_wrong_second_order_jvp_rule_is_caught_at_order_2_only():
    f = lambda x: anp.sum(anp.sin(cube_flat_jvp(x)))
    ad.check_grads(f, (X,), order=1)
    rows, _ = _failures(f, (X,), order=2)
    assert rows and all(order == 2 for _, _, order in rows)
    assert all(mode.endswith("over forward") for mode, _, _ in rows)
    assert any(mode == "forward over forward" for mode, _, _ in rows)


def test_single_mode_checks_and_aliases():
    f = lambda x: anp.sum(cube_bad_vjp(x))
    ad.check_grads(f, (X,), modes=("fwd",))          # the forward rule is right
    rows, _ = _failures(f, (X,), modes="rev", order=1)
    assert {mode for mode, _, _ in rows} == {"reverse"}
    rev_only = ad.primitive(_cube, vjp=_vjp_ok, name="check_test_cube_rev_only")
    ad.check_grads(lambda x: rev_only(x), (X,), modes=("reverse",))


def test_pytree_argument_named_by_path():
    def loss(params, x):
        return anp.sum(anp.tanh(params["w"] * x) + cube_bad_vjp(params["b"]))

    params = {"w": np.array([0.5, -0.2, 1.1]), "b": np.array([0.3, 0.9, -0.4])}
    rows, _ = _failures(loss, (params, X), order=1)
    assert {arg for _, arg, _ in rows} == {"args[0]['b']"}


def test_params_through_partial_and_lambda():
    def model(x, w, scale):
        return anp.sum(anp.exp(w * x)) * scale

    w = np.array([0.2, -0.5, 0.3])
    ad.check_grads(functools.partial(model, w=w, scale=2.0), (X,))
    ad.check_grads(lambda w: model(X, w, 2.0), (w,))


def test_correct_rule_passes_200_random_inputs_at_all_scales():
    rat = ad.primitive(lambda x: x / (1 + x * x), name="check_test_rational",
                       jvp=lambda t, ans, x: t[0] * (1 - x * x) / (1 + x * x) ** 2,
                       vjp=lambda g, ans, x: (g * (1 - x * x) / (1 + x * x) ** 2,))
    for i in range(200):
        rng = np.random.default_rng(i)
        scale = (1e-8, 1.0, 1e8)[i % 3]
        x = rng.standard_normal(int(rng.integers(1, 4))) * scale
        w = rng.standard_normal((2, x.size)) * scale
        if i % 2:
            ad.check_grads(lambda x, w: anp.sum(rat(x / scale) * cube_ok(x))
                           + anp.sum(w @ cube_ok(x)), (x, w), order=2)
        else:
            y = rng.standard_normal(x.shape) * scale
            ad.check_grads(lambda p: cube_ok(p["x"]) * rat(p["y"]), ({"x": x, "y": y},),
                           order=2)


def test_scale_invariance_of_composites_in_float32_and_float64():
    for scale in (1e-8, 1e8):
        for dtype in (np.float64, np.float32):
            x = (np.array([0.6, -1.7, 1.2]) * scale).astype(dtype)
            ad.check_grads(lambda x: anp.sqrt(anp.sum(x * x)) * anp.mean(x), (x,))


def test_check_grads_is_deterministic_and_validates_arguments():
    f = lambda x: anp.sum(cube_bad_vjp(x))
    _, m1 = _failures(f, (X,), order=1)
    _, m2 = _failures(f, (X,), order=1)
    assert m1 == m2
    with pytest.raises(ValueError, match="unknown mode"):
        ad.check_grads(f, (X,), modes=("sideways",))
    with pytest.raises(TypeError, match="tuple"):
        ad.check_grads(f, X)


def test_assert_grads_close():
    assert_grads_close(lambda x, y: anp.sum(anp.sin(x) * y), X, 2.0)
    with pytest.raises(AssertionError, match="reverse"):
        assert_grads_close(lambda x: anp.sum(cube_bad_vjp(x)), X, order=1)


# ---------------------------------------------------------------- numerical references -


ANALYTIC = [
    ("sin", anp.sin, np.cos, np.array([0.3, -1.2, 2.5])),
    ("exp", anp.exp, np.exp, np.array([0.3, -1.2, 2.5])),
    ("tanh", anp.tanh, lambda x: 1 - np.tanh(x) ** 2, np.array([0.3, -1.2, 2.5])),
    ("log", anp.log, lambda x: 1 / x, np.array([0.3, 1.2, 2.5e-8])),
    ("sqrt", anp.sqrt, lambda x: 0.5 / np.sqrt(x), np.array([0.3, 1.2, 7e8])),
    ("arctan", anp.arctan, lambda x: 1 / (1 + x * x), np.array([0.3, -1.2, 2.5])),
    ("cube", lambda x: x ** 3, lambda x: 3 * x ** 2, np.array([0.3, -1.2, 2.5e8])),
]


@pytest.mark.parametrize("name,f,df,x", ANALYTIC, ids=[a[0] for a in ANALYTIC])
def test_complex_step_matches_analytic_derivative(name, f, df, x):
    J = ad.numerical_jacobian(f, x, method="complex")
    want = np.diag(df(x))
    assert J.shape == (3, 3)
    np.testing.assert_allclose(J, want, rtol=1e-13, atol=0)


def test_complex_step_on_matmul_and_reductions():
    A = np.array([[1.0, -2.0, 0.5], [0.3, 0.7, -1.1]])
    x = np.array([0.4, -0.9, 1.3])
    np.testing.assert_allclose(ad.numerical_jacobian(lambda x: A @ x, x, method="complex"),
                               A, rtol=1e-13, atol=0)
    g = ad.numerical_jacobian(lambda x: anp.sum(anp.exp(x) * x), x, method="complex")
    np.testing.assert_allclose(g, np.exp(x) * (1 + x), rtol=1e-13, atol=0)


def test_complex_step_falls_back_on_non_analytic_functions():
    x = np.array([0.5, -1.5])
    for f in (lambda x: anp.abs(x) * x, lambda x: anp.sign(x) * x ** 2,
              lambda x: anp.maximum(x, 0.0) * x):
        with pytest.warns(UserWarning, match="not complex-analytic"):
            J = ad.numerical_jacobian(f, x, method="complex")
        np.testing.assert_allclose(J, ad.jacobian(f)(x), rtol=1e-9)


def test_richardson_beats_central_differences():
    f = lambda x: anp.exp(anp.sin(x)) * x
    df = lambda x: np.exp(np.sin(x)) * (1 + x * np.cos(x))
    x = np.array([0.3, 1.7, -2.2])
    exact = np.diag(df(x))
    central = np.max(np.abs(ad.numerical_jacobian(f, x) - exact))
    rich, est = ad.numerical_jacobian(f, x, method="richardson", return_error=True)
    rich_err = np.max(np.abs(rich - exact))
    assert rich_err < central / 30
    assert rich_err < 1e-12
    assert np.all(np.abs(rich - exact) <= 10 * est + 1e-15)  # the estimate is honest


def test_numerical_jacobian_shapes_and_scales():
    x = np.array([1.0, 2.0, 3.0])
    J = ad.numerical_jacobian(lambda x: anp.reshape(x[:2] * x[2], (2, 1)), x)
    assert J.shape == (2, 1, 3)
    g = ad.numerical_jacobian(lambda x: anp.sum(x ** 2), x)
    assert g.shape == (3,)
    np.testing.assert_allclose(g, 2 * x, rtol=1e-9)
    tree = ad.numerical_jacobian(lambda p: p["a"] * p["b"], {"a": x, "b": 2.0})
    np.testing.assert_allclose(tree["a"], 2 * np.eye(3), rtol=1e-9)
    np.testing.assert_allclose(tree["b"], x, rtol=1e-9)
    for s in (1e-8, 1e8):  # the step follows the input's scale
        xs = x * s
        np.testing.assert_allclose(ad.numerical_jacobian(anp.log, xs), np.diag(1 / xs),
                                   rtol=1e-8)
    np.testing.assert_allclose(input_scale(np.zeros(2)), [1.0, 1.0])
    with pytest.raises(ValueError, match="unknown method"):
        ad.numerical_jacobian(anp.sin, x, method="forward")


# ---------------------------------------------------------------- crosscheck ----------


def test_crosscheck_report():
    report = ad.crosscheck(lambda x, y: anp.sin(x) * y, np.array([0.2, -0.8]), 1.5)
    assert isinstance(report, CrossCheckReport) and report.ok
    assert set(report.jacobians) == {"forward", "reverse", "central", "richardson", "complex"}
    assert report.jacobians["forward"].shape == (2, 3)
    assert all(t is not None and t >= 0 for t in report.seconds.values())
    assert report.errors["forward", "reverse"] <= 1e-15
    assert report.errors["forward", "complex"] <= 1e-13
    assert report.errors["forward", "central"] < 1e-8
    text = str(report)
    for name in ("forward", "reverse", "central", "richardson", "complex", "ms"):
        assert name in text
    d = json.loads(json.dumps(report.to_dict()))
    assert d["ok"] is True and len(d["errors"]) == 10
    assert d["methods"]["complex"]["available"] is True


def test_crosscheck_flags_a_wrong_rule_and_a_non_analytic_function():
    report = ad.crosscheck(lambda x: cube_bad_vjp(x), X)
    assert not report.ok
    assert report.errors["forward", "reverse"] > 0.1
    assert "!" in str(report)
    assert report.jacobians["complex"] is None
    assert "check_test_cube_bad_vjp" in report.notes["complex"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = ad.crosscheck(lambda x: anp.abs(x) * x, X)
    assert report.ok and report.to_dict()["methods"]["complex"]["available"] is False
