"""admodes.nn: parameters and loss.backward(), modules, losses, optimisers, examples."""

from __future__ import annotations

import copy
import importlib.util
import pickle
import threading
from pathlib import Path

import numpy as np
import pytest

import admodes as ad
import admodes.numpy as anp
from admodes import nn

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load_example(name):
    spec = importlib.util.spec_from_file_location(f"_example_{name}", EXAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def spiral():
    return load_example("spiral")


def softmax_np(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def sigmoid_np(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


MODES = ["reverse", "forward"]


# ---------------------------------------------------------------- losses ---------------


@pytest.mark.parametrize("mode", MODES)
def test_mse_value_and_gradient(rng, mode):
    pred, target = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    assert np.isclose(nn.mse(pred, target), np.mean((pred - target) ** 2))
    g = ad.grad(nn.mse, mode=mode)(pred, target)
    np.testing.assert_allclose(g, 2 * (pred - target) / pred.size, rtol=1e-12)
    g_t = ad.grad(nn.mse, argnums=1, mode=mode)(pred, target)
    np.testing.assert_allclose(g_t, -2 * (pred - target) / pred.size, rtol=1e-12)
    assert np.isclose(nn.mse(pred, target, reduction="sum"), np.sum((pred - target) ** 2))


@pytest.mark.parametrize("mode", MODES)
def test_cross_entropy_integer_labels_textbook_gradient(rng, mode):
    z = rng.normal(size=(6, 4)) * 3
    y = np.array([0, 3, 1, 1, 2, 0])
    onehot = np.eye(4)[y]
    p = softmax_np(z)
    assert np.isclose(nn.cross_entropy(z, y), -np.mean(np.log(p[np.arange(6), y])))
    g = ad.grad(nn.cross_entropy, mode=mode)(z, y)
    np.testing.assert_allclose(g, (p - onehot) / 6, atol=1e-14)
    per = nn.cross_entropy(z, y, reduction="none")
    np.testing.assert_allclose(per, -np.log(p[np.arange(6), y]), rtol=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_cross_entropy_probability_targets(rng, mode):
    z = rng.normal(size=(5, 3))
    y = np.array([2, 0, 1, 1, 0])
    onehot = np.eye(3)[y]
    assert np.isclose(nn.cross_entropy(z, onehot), nn.cross_entropy(z, y))
    t = rng.dirichlet(np.ones(3), size=5)
    p = softmax_np(z)
    assert np.isclose(nn.cross_entropy(z, t), -np.mean(np.sum(t * np.log(p), axis=1)))
    np.testing.assert_allclose(ad.grad(nn.cross_entropy, mode=mode)(z, t), (p - t) / 5,
                               atol=1e-14)
    # soft targets can themselves be differentiated (distillation): d/dt = -log_softmax/N
    np.testing.assert_allclose(ad.grad(nn.cross_entropy, argnums=1, mode=mode)(z, t),
                               -np.log(p) / 5, rtol=1e-12)


def test_cross_entropy_stable_at_huge_logits():
    z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 1000.0]])
    y = np.array([0, 0])
    loss = nn.cross_entropy(z, y)
    assert np.isfinite(loss)
    assert np.isclose(loss, (0.0 + (2000.0 + np.log(2.0))) / 2)
    for mode in MODES:
        g = ad.grad(nn.cross_entropy, mode=mode)(z, y)
        expect = (np.array([[1.0, 0, 0], [0, 0.5, 0.5]]) - np.eye(3)[y]) / 2
        np.testing.assert_allclose(g, expect, atol=1e-15)


def test_cross_entropy_second_order_is_softmax_jacobian(rng):
    z = rng.normal(size=(1, 4))
    y = np.array([2])
    H = ad.hessian(nn.cross_entropy)(z, y).reshape(4, 4)
    p = softmax_np(z)[0]
    np.testing.assert_allclose(H, np.diag(p) - np.outer(p, p), atol=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_binary_cross_entropy_with_logits(rng, mode):
    z = rng.normal(size=(4, 2)) * 2
    t = rng.uniform(size=(4, 2))
    s = sigmoid_np(z)
    expect = -np.mean(t * np.log(s) + (1 - t) * np.log(1 - s))
    assert np.isclose(nn.binary_cross_entropy_with_logits(z, t), expect)
    g = ad.grad(nn.binary_cross_entropy_with_logits, mode=mode)(z, t)
    np.testing.assert_allclose(g, (s - t) / z.size, atol=1e-14)


def test_binary_cross_entropy_stable_at_huge_logits():
    z = np.array([1000.0, -1000.0, 1000.0, -1000.0])
    t = np.array([1.0, 0.0, 0.0, 1.0])
    loss = nn.binary_cross_entropy_with_logits(z, t)
    assert np.isclose(loss, (0 + 0 + 1000 + 1000) / 4)
    g = ad.grad(nn.binary_cross_entropy_with_logits)(z, t)
    np.testing.assert_allclose(g, np.array([0.0, 0.0, 1.0, -1.0]) / 4)
    bools = nn.binary_cross_entropy_with_logits(z, t.astype(bool))
    assert np.isclose(bools, loss)


def test_losses_bad_input_errors():
    z = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 4\).*\[4\]"):
        nn.cross_entropy(z, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match=r"out-of-range label\(s\) \[-1\]"):
        nn.cross_entropy(z, np.array([0, -1, 1]))
    with pytest.raises(ValueError, match=r"labels must have shape \(3,\)"):
        nn.cross_entropy(z, np.array([0, 1]))
    with pytest.raises(TypeError, match="integer class indices"):
        nn.cross_entropy(z, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"logits must have shape \(N, C\)"):
        nn.cross_entropy(np.zeros(4), np.array([1]))
    with pytest.raises(ValueError, match=r"logits has shape \(3, 4\) but targets has shape"):
        nn.cross_entropy(z, np.zeros((3, 5)))
    with pytest.raises(ValueError, match=r"pred has shape \(3, 1\) but target has shape \(3,\)"):
        nn.mse(np.zeros((3, 1)), np.zeros(3))
    with pytest.raises(ValueError, match="binary_cross_entropy_with_logits: logits has shape"):
        nn.binary_cross_entropy_with_logits(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.mse(np.zeros(2), np.zeros(2), reduction="avg")


# ---------------------------------------------------------------- Parameter / backward -


def test_backward_accumulates_until_zero_grad():
    w = nn.Parameter(np.array([1.0, -2.0, 3.0]))
    b = nn.Parameter(0.5)
    for _ in range(2):
        loss = ((w * w).sum() + 3.0 * b) * 2.0
        loss.backward()
    np.testing.assert_allclose(w.grad, 2 * (4 * np.array([1.0, -2.0, 3.0])))
    assert w.grad.shape == (3,) and np.asarray(b.grad).shape == ()
    assert float(b.grad) == 12.0
    opt = nn.SGD([w, b], lr=0.1)
    opt.zero_grad()
    assert w.grad is None and b.grad is None
    (w.sum()).backward()
    np.testing.assert_allclose(w.grad, np.ones(3))
    assert b.grad is None  # b took no part


def test_retain_graph_and_second_backward_error():
    w = nn.Parameter(np.array([2.0]))
    y = (w ** 3).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(w.grad, [24.0])
    with pytest.raises(nn.ReleasedGraphError, match="retain_graph=True"):
        y.backward()
    # the released value still has its plain value, and non-differentiable use is fine
    assert float(y) == 8.0 and y.item() == 8.0 and f"{y:.1f}" == "8.0"
    assert bool(y > 1.0)
    with pytest.raises(nn.ReleasedGraphError, match="released"):
        y * 2.0


def test_backward_on_non_scalar_is_a_clear_error():
    w = nn.Parameter(np.ones((2, 3)))
    out = w * 2.0
    with pytest.raises(ValueError, match=r"needs a scalar.*shape \(2, 3\)"):
        out.backward()
    with pytest.raises(ValueError, match=r"grad has shape \(3,\)"):
        out.backward(np.ones(3))
    out.backward(np.full((2, 3), 0.5))  # an explicit output cotangent
    np.testing.assert_allclose(w.grad, np.ones((2, 3)))


def test_graph_is_released_after_backward():
    # Each loss owns its graph (issue 9): backward releases that graph's residuals only.
    from admodes.nn.tape import _FREED
    lin = nn.Linear(3, 2, rng=0)
    loss = lin(np.ones((4, 3))).sum()
    assert loss._idx.entry is not _FREED and loss._idx.entry is not None
    loss.backward()
    assert loss._idx.entry is _FREED
    loss2 = lin(np.ones((4, 3))).sum()
    assert loss2._idx.entry is not _FREED  # the next forward pass has a graph of its own


def test_value_of_parameter_and_variable_is_plain_numpy():
    p = nn.Parameter([[1.0, 2.0]])
    v = ad.value(p)
    assert type(v) is np.ndarray and v.shape == (1, 2)
    assert type(ad.value(p * 2.0)) is np.ndarray
    assert type(p.numpy()) is np.ndarray and type((p * 2).detach()) is np.ndarray
    with pytest.raises(TypeError, match="ad.value"):
        np.asarray(p)
    assert nn.Parameter(np.arange(3)).data.dtype == np.float64
    assert nn.Parameter(np.ones(2, dtype=np.float32)).data.dtype == np.float32


def test_parameters_are_constants_inside_grad_over_a_dict(rng):
    """Functional style with live Parameters around: grad over a dict still works, and
    a parameter used inside ``f`` is a constant to ``f``'s level."""
    w = nn.Parameter(rng.normal(size=3))
    params = {"a": rng.normal(size=3), "b": 0.7}

    def f(p):
        return anp.sum(anp.tanh(p["a"]) * p["b"])

    g = ad.grad(f)(params)
    np.testing.assert_allclose(g["a"], (1 - np.tanh(params["a"]) ** 2) * 0.7)
    assert np.isclose(g["b"], np.sum(np.tanh(params["a"])))
    x0 = rng.normal(size=3)
    gx = ad.grad(lambda x: (w * x * x).sum())(x0)   # depends on w: a Variable
    assert isinstance(gx, nn.Variable)
    np.testing.assert_allclose(ad.value(gx), 2 * ad.value(w) * x0)
    (gx * gx).sum().backward()                        # and differentiable w.r.t. w
    np.testing.assert_allclose(w.grad, 8 * ad.value(w) * x0 ** 2)
    with nn.no_grad():
        gx = ad.grad(lambda x: (w * x * x).sum(), mode="forward")(x0)
    assert type(gx) is np.ndarray


def test_no_grad_records_nothing():
    lin = nn.Linear(2, 2, rng=0)
    with nn.no_grad():
        out = lin(np.ones((3, 2)))
    assert type(out) is np.ndarray
    assert isinstance(lin(np.ones((3, 2))), nn.Variable)


def test_each_thread_has_its_own_tape():
    w = nn.Parameter(np.array([1.0, 2.0]))
    main_loss = (w * w).sum()
    out = {}

    def worker():
        loss = (3.0 * w).sum()
        out["same_tape"] = loss._level is main_loss._level
        loss.backward()

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert out["same_tape"] is False
    np.testing.assert_allclose(w.grad, [3.0, 3.0])
    main_loss.backward()
    np.testing.assert_allclose(w.grad, [5.0, 7.0])


def test_custom_operation_layer_both_modes(rng):
    class SwishOp(ad.Operation):
        name = "swish_test_nn"

        def forward(self, x):
            return x * sigmoid_np(x)

        def backward(self, output_grad):
            (x,) = self.inputs
            s = anp.sigmoid(x)
            return (output_grad * (s + x * s * (1 - s)),)

        def jvp(self, x_dot):
            (x,) = self.inputs
            s = anp.sigmoid(x)
            return x_dot * (s + x * s * (1 - s))

    swish = SwishOp()
    x = rng.normal(size=5)
    s = sigmoid_np(x)
    for mode in MODES:
        g = ad.grad(lambda v: swish(v).sum(), mode=mode)(x)
        np.testing.assert_allclose(g, s + x * s * (1 - s), rtol=1e-12)

    class Swish(nn.Module):
        def forward(self, h):
            return swish(h)

    net = nn.Sequential(nn.Linear(3, 4, rng=0), Swish(), nn.Linear(4, 1, rng=1))
    X = rng.normal(size=(6, 3))
    loss = nn.mse(net(X), np.zeros((6, 1)))
    loss.backward()
    g = ad.grad(lambda p: nn.mse(net.apply(p, X), np.zeros((6, 1))))(net.state_dict())
    for name, p in net.named_parameters():
        np.testing.assert_allclose(p.grad, g[name], rtol=1e-10)


def test_pickle_and_deepcopy_of_parameters():
    net = nn.MLP([2, 3, 1], rng=0)
    for clone in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        for (n1, p1), (n2, p2) in zip(net.named_parameters(), clone.named_parameters()):
            assert n1 == n2 and p1 is not p2
            np.testing.assert_array_equal(p1.data, p2.data)


# ---------------------------------------------------------------- modules --------------


def test_module_parameters_names_and_state():
    net = nn.MLP([4, 8, 8, 3], activation="tanh", rng=0)
    names = [n for n, _ in net.named_parameters()]
    assert names == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    assert [type(layer).__name__ for layer in net] == ["Linear", "Tanh", "Linear", "Tanh",
                                                        "Linear"]
    assert len(net.parameters()) == 6

    class Twice(nn.Module):  # a shared sub-module is listed once
        def __init__(self):
            self.inner = nn.Linear(2, 2, rng=0)
            self.blocks = [self.inner, nn.Linear(2, 1, bias=False, rng=1)]

        def forward(self, x):
            return self.blocks[1](self.inner(self.inner(x)))

    m = Twice()
    assert [n for n, _ in m.named_parameters()] == ["inner.weight", "inner.bias",
                                                     "blocks.1.weight"]
    X = np.ones((5, 2))
    state = m.state_dict()
    np.testing.assert_allclose(m.apply(state, X), ad.value(m(X)))
    doubled = {k: 2 * v for k, v in state.items()}
    assert not np.allclose(m.apply(doubled, X), ad.value(m(X)))
    assert all(isinstance(p, nn.Parameter) for p in m.parameters())  # restored
    m.load_state_dict(doubled)
    np.testing.assert_allclose(ad.value(m(X)), m.apply(doubled, X))
    with pytest.raises(KeyError, match=r"missing \['inner.bias'\]"):
        m.load_state_dict({k: v for k, v in state.items() if k != "inner.bias"})
    with pytest.raises(ValueError, match="new value has shape"):
        m.load_state_dict({**state, "inner.bias": np.zeros(3)})


def test_linear_init_and_shape_checks():
    lin = nn.Linear(400, 50, rng=0)
    w = lin.weight.data
    assert w.shape == (400, 50) and np.allclose(lin.bias.data, 0)
    assert abs(w.std() - np.sqrt(2 / 400)) < 0.01 * np.sqrt(2 / 400) * 5  # He normal
    with pytest.raises(ValueError, match=r"last axis must have 400 features"):
        lin(np.zeros((2, 3)))
    assert nn.Linear(3, 2, bias=False, rng=0).bias is None
    with pytest.raises(ValueError, match="unknown activation"):
        nn.MLP([2, 2], activation="gelu")
    np.testing.assert_allclose(nn.Sigmoid()(np.array([-1000.0, 0.0, 1000.0])), [0, 0.5, 1])


def test_module_gradient_matches_hand_written_backprop(spiral):
    """loss.backward() on the spiral net equals the cs231n-style manual gradient."""
    X, y = spiral.make_spiral(rng=0)
    p0 = spiral.init_params([2, 100, 3], rng=1, scale=0.5)
    net = spiral.build_module(p0)
    reg = 1e-3
    weights = [p for n, p in net.named_parameters() if n.endswith("weight")]
    loss = nn.cross_entropy(net(X), y) + 0.5 * reg * sum((w * w).sum() for w in weights)
    loss.backward()
    new, manual_loss = spiral.numpy_step(p0, X, y, lr=1.0, reg=reg)
    assert np.isclose(float(loss), manual_loss)
    got = dict(zip(["W1", "b1", "W2", "b2"], [p.grad for p in net.parameters()]))
    for k in p0:
        np.testing.assert_allclose(got[k], p0[k] - new[k], rtol=1e-9, atol=1e-15)


# ---------------------------------------------------------------- optimisers -----------


def test_sgd_matches_its_update_formula(rng):
    x0, grads = rng.normal(size=3), [rng.normal(size=3) for _ in range(3)]
    lr, mu, wd = 0.1, 0.9, 0.01
    opt = nn.SGD(lr=lr, momentum=mu, weight_decay=wd)
    x, v = x0.copy(), np.zeros(3)
    p = {"x": x0}
    for g in grads:
        d = g + wd * x
        v = mu * v + d
        x = x - lr * v
        p = opt.update(p, {"x": g})
        np.testing.assert_allclose(p["x"], x, rtol=1e-14)
    plain = nn.SGD(lr=0.5).update([x0, 2.0], [np.ones(3), 4.0])
    np.testing.assert_allclose(plain[0], x0 - 0.5)
    assert plain[1] == 0.0
    with pytest.raises(TypeError, match="lr"):
        nn.SGD()


def test_adam_matches_its_update_formula(rng):
    x0, grads = rng.normal(size=4), [rng.normal(size=4) for _ in range(4)]
    lr, (b1, b2), eps = 0.01, (0.8, 0.95), 1e-6
    opt = nn.Adam(lr=lr, betas=(b1, b2), eps=eps)
    x, m, v = x0.copy(), np.zeros(4), np.zeros(4)
    tree = (x0,)
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        x = x - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        tree = opt.update(tree, (g,))
        np.testing.assert_allclose(tree[0], x, rtol=1e-13)


@pytest.mark.parametrize("make", [lambda ps: nn.SGD(ps, lr=0.3, momentum=0.5),
                                  lambda ps: nn.Adam(ps, lr=0.05)])
def test_step_on_parameters_equals_update_on_arrays(rng, make):
    arrays = [rng.normal(size=(2, 3)), rng.normal(size=3)]
    params = [nn.Parameter(a) for a in arrays]
    opt_p, opt_a = make(params), make(None)
    for _ in range(3):
        g = [rng.normal(size=a.shape) for a in arrays]
        for p, gi in zip(params, g):
            p.grad = gi
        opt_p.step()
        arrays = opt_a.update(arrays, g)
    for p, a in zip(params, arrays):
        np.testing.assert_allclose(p.data, a, rtol=1e-14)


def test_optimizer_misuse_errors():
    with pytest.raises(TypeError, match="not an nn.Parameter"):
        nn.SGD([np.zeros(2)], lr=0.1)
    with pytest.raises(RuntimeError, match="update"):
        nn.Adam(lr=0.1).step()
    with pytest.raises(ValueError, match="structure"):
        nn.SGD(lr=0.1).update({"a": np.zeros(2)}, {"b": np.zeros(2)})
    with pytest.raises(ValueError, match="shape"):
        nn.SGD(lr=0.1).update([np.zeros(2)], [np.zeros(3)])


# ---------------------------------------------------------------- both loops, training -


def test_pytorch_loop_and_functional_loop_agree(spiral):
    X, y = spiral.make_spiral(rng=0)
    p0 = spiral.init_params([2, 100, 3], rng=1)
    net = spiral.build_module(p0)
    spiral.train_module(net, X, y, steps=40)
    p_f, _ = spiral.train_functional(p0, X, y, steps=40)
    p_m = spiral.params_of(net)
    for k in p0:
        np.testing.assert_allclose(p_m[k], p_f[k], rtol=1e-12, atol=1e-15)
    # Adam too, through net.apply on the module's own state_dict
    net_a, net_b = nn.MLP([2, 16, 3], rng=3), nn.MLP([2, 16, 3], rng=3)
    opt_a = nn.Adam(net_a, lr=0.01)
    opt_b, params = nn.Adam(lr=0.01), net_b.state_dict()
    for _ in range(15):
        opt_a.zero_grad()
        nn.cross_entropy(net_a(X), y).backward()
        opt_a.step()
        grads = ad.grad(lambda p: nn.cross_entropy(net_b.apply(p, X), y))(params)
        params = opt_b.update(params, grads)
    for name, p in net_a.named_parameters():
        np.testing.assert_allclose(p.data, params[name], rtol=1e-12, atol=1e-15)


def test_spiral_net_trains_to_97_percent(spiral):
    X, y = spiral.make_spiral(rng=0)
    net = spiral.build_module(spiral.init_params([2, 100, 3], rng=0))
    loss = spiral.train_module(net, X, y, steps=3000)
    with nn.no_grad():
        acc = nn.accuracy(net(X), y)
    assert acc >= 0.97, (acc, loss)


# ---------------------------------------------------------------- the examples ---------


def test_spiral_example_short_run(spiral, tmp_path, capsys):
    out = tmp_path / "spiral.png"
    res = spiral.main(["--steps", "150", "--linear-steps", "100", "--out", str(out)])
    text = capsys.readouterr().out
    assert out.exists() and out.stat().st_size > 10_000
    assert "linear softmax" in text and "functional" in text and "loss.backward()" in text
    rows = res["rows"]
    assert len(rows) == 4
    assert rows[0]["accuracy"] == rows[1]["accuracy"] and rows[2]["loss"] == pytest.approx(
        rows[3]["loss"], rel=1e-10)


def test_spiral_example_bench_runs(spiral, capsys):
    res = spiral.main(["--bench", "--repeats", "1"])
    assert set(res["times"]) == {"numpy (hand-written backprop)", "admodes loss.backward()",
                                 "admodes functional"}
    assert "x numpy" in capsys.readouterr().out


def test_colah_graph_example(capsys):
    res = load_example("colah_graph").main([])
    assert res["values"] == (3.0, 2.0, 6.0)
    assert res["forward"] == (2.0, 5.0) and res["reverse"] == (2.0, 5.0)
    assert res["backward"] == (2.0, 5.0)
    np.testing.assert_allclose(res["numerical"], (2.0, 5.0), rtol=1e-6)
    assert "e.backward()" in capsys.readouterr().out


def test_digits_example_short_run(capsys):
    pytest.importorskip("sklearn")
    res = load_example("digits").main(["--steps", "150"])
    assert res["test_accuracy"] > 0.8
    assert "held-out test accuracy" in capsys.readouterr().out


def test_digits_example_explains_missing_sklearn(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_sklearn(name, *args, **kwargs):
        if name.startswith("sklearn"):
            raise ImportError("No module named 'sklearn'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sklearn)
    with pytest.raises(SystemExit, match=r"pip install -e '\.\[examples\]'"):
        load_example("digits").main(["--steps", "1"])
