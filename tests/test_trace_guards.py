"""ad.trace: guards on inputs are checked on replay, static_argnums, integer/boolean
array inputs as non-differentiable data (issue 9 item 2)."""

import numpy as np
import pytest

import admodes as ad
import admodes.numpy as anp
from admodes import nn
from admodes.graph import RetraceRequired


def euler(x, n):
    for _ in range(int(n)):
        x = x + 0.1 * x
    return x


def test_int_guard_on_input_is_checked():
    g = ad.trace(euler, 1.0, 10)
    assert g(2.0, 10) == pytest.approx(2.0 * 1.1 ** 10)
    with pytest.raises(RetraceRequired, match="input n was 10 when traced"):
        g(1.0, 20)
    with pytest.raises(RetraceRequired):
        g.grad(1.0, 20)
    with pytest.raises(RetraceRequired):
        ad.grad(g)(1.0, 20)
    with pytest.raises(RetraceRequired):
        ad.grad(g, mode="forward")(1.0, 20)
    assert g.retrace(1.0, 20)(1.0, 20) == pytest.approx(1.1 ** 20)


def test_truth_guard_on_input_is_checked():
    def f(x, flag):
        return x * 2.0 if flag else x * 3.0
    g = ad.trace(f, 1.0, True)
    assert g(2.0, True) == 4.0
    with pytest.raises(RetraceRequired):
        g(2.0, False)


def test_static_argnums():
    g = ad.trace(euler, 1.0, 10, static_argnums=1)
    assert len(g.input_ids) == 1  # n is baked in, not an input
    assert g(2.0, 10) == pytest.approx(2.0 * 1.1 ** 10)
    v, (gx, gn) = g.value_and_grad(2.0, 10)
    assert gx == pytest.approx(1.1 ** 10) and gn is None
    with pytest.raises(RetraceRequired, match=r"argument 1 \(n\) is static"):
        g(1.0, 20)
    with pytest.raises(RetraceRequired, match="static"):
        ad.grad(g)(1.0, 20)
    assert ad.grad(g)(2.0, 10) == pytest.approx(1.1 ** 10)
    assert ad.grad(g, mode="forward")(2.0, 10) == pytest.approx(1.1 ** 10)
    assert g.retrace(1.0, 20)(1.0, 20) == pytest.approx(1.1 ** 20)


def test_static_non_numeric_argument():
    def f(x, how):
        return anp.sum(anp.sin(x)) if how == "sin" else anp.sum(anp.cos(x))
    x = np.array([0.1, 0.2])
    g = ad.trace(f, x, "sin", static_argnums=(1,))
    np.testing.assert_allclose(g.grad(x, "sin")[0], np.cos(x))
    np.testing.assert_allclose(g.jacobian(x, "sin")[0], np.cos(x))
    out, tan = g.jvp((x, "sin"), (np.ones(2), None))
    assert out == pytest.approx(np.sum(np.sin(x))) and tan == pytest.approx(np.sum(np.cos(x)))
    with pytest.raises(RetraceRequired, match="'sin' when the graph"):
        g(x, "cos")
    with pytest.raises(ValueError, match="static_argnums 2 is out of range"):
        ad.trace(f, x, "sin", static_argnums=2)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_cross_entropy_with_integer_labels_in_trace(mode):
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(5, 3))
    y1, y2 = np.array([0, 1, 2, 1, 0]), np.array([2, 2, 0, 0, 1])
    g = ad.trace(lambda z, y: nn.cross_entropy(z, y), logits, y1)
    assert g.nodes[g.input_ids[1]].dtype.kind == "i"  # the dtype is kept
    for y in (y1, y2):  # replay takes new labels
        assert g(logits, y) == pytest.approx(nn.cross_entropy(logits, y))
        want = ad.grad(lambda z: nn.cross_entropy(z, y), mode=mode)(logits)
        np.testing.assert_allclose(ad.grad(g, mode=mode)(logits, y), want)
        gz, gy = g.grad(logits, y)
        np.testing.assert_allclose(gz, want)
        assert gy is None  # no gradient for data
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        g(logits, np.array([0, 1, 3, 0, 0]))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        g(logits, np.array([0, 1, -1, 0, 0]))  # never a silent wrap-around


def test_boolean_mask_input_is_data():
    def f(x, m):
        return anp.sum(anp.where(m, x * x, 0.0))
    x = np.array([1.0, 2.0, 3.0])
    m1, m2 = np.array([True, False, True]), np.array([False, True, True])
    g = ad.trace(f, x, m1)
    for m in (m1, m2):
        assert g(x, m) == pytest.approx(np.sum(np.where(m, x * x, 0.0)))
        gx, gm = g.grad(x, m)
        np.testing.assert_allclose(gx, np.where(m, 2 * x, 0.0))
        assert gm is None
    with pytest.raises(TypeError, match="integer/boolean data"):
        g(x, m1.astype(float))


@pytest.mark.parametrize("make", [lambda f: f, lambda f: ad.grad(f)])
def test_sort_order_is_guarded_in_a_static_graph(make):
    """np.sort / median gather by an order: a graph replayed at inputs in another order
    must raise, never reuse the trace-time order (it returned [1, 2, 3] for [3, 2, 1])."""
    w = np.array([1.0, 2.0, 3.0])
    f = make(lambda x: anp.sum(np.sort(x) * w) + anp.median(x))
    x0, same, other = (np.array(v) for v in ([0.1, 0.5, 0.9], [0.2, 0.6, 1.0],
                                              [0.9, 0.5, 0.1]))
    g = ad.trace(f, x0)
    np.testing.assert_allclose(g(same), f(same))
    with pytest.raises(ad.RetraceRequired, match="argsort"):
        g(other)
    np.testing.assert_allclose(g.retrace(other)(other), f(other))
