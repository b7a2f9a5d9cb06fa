"""The cs231n "neural networks case study" with admodes: 300 spiral points, 3 classes.

A linear softmax classifier cannot separate the arms (about 49% training accuracy); a
2-layer net with 100 hidden ReLU units can (about 98%).  Same recipe as the case study:
weights 0.01 * N(0, 1), zero biases, full-batch gradient descent with step size 1.0,
L2 regularisation 1e-3 on the weights (``0.5 * reg * sum(W**2)``), 200 steps for the
linear classifier and 10 000 for the net.  Each model is trained twice from the same
initial values: with the PyTorch-style loop (``nn.Parameter``, ``loss.backward()``,
``opt.step()``) and with the functional loop (``ad.value_and_grad`` over a dict of
arrays, ``opt.update``).  The decision boundaries are saved to
``reports/spiral_decision_boundary.png``.

    python examples/spiral.py                 # the full run (well under a minute)
    python examples/spiral.py --steps 500     # a short run
    python examples/spiral.py --bench         # time one training step vs plain numpy
"""

from __future__ import annotations

import argparse
import os
import sys
import timeit

import numpy as np

import admodes as ad
import admodes.numpy as anp
from admodes import nn

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, os.pardir, "reports", "spiral_decision_boundary.png")


def make_spiral(n_per_class=100, n_classes=3, noise=0.2, rng=0):
    """Points on ``n_classes`` interleaved spiral arms: returns ``X (N, 2)``, ``y (N,)``.

    ``rng`` is a seed or a ``numpy.random.RandomState``: the legacy generator, so that
    seed 0 draws the very numbers of the case study (which seeds numpy with 0).
    """
    rs = rng if isinstance(rng, np.random.RandomState) else np.random.RandomState(rng)
    X = np.empty((n_per_class * n_classes, 2))
    y = np.repeat(np.arange(n_classes), n_per_class)
    for k in range(n_classes):
        r = np.linspace(0.0, 1.0, n_per_class)
        t = np.linspace(4.0 * k, 4.0 * (k + 1), n_per_class) + noise * rs.randn(n_per_class)
        X[k * n_per_class:(k + 1) * n_per_class] = np.column_stack([r * np.sin(t), r * np.cos(t)])
    return X, y


def init_params(sizes, rng=0, scale=0.01):
    """The case study's initialisation, ``scale * N(0, 1)`` weights and zero biases, as
    a dict ``{"W1", "b1", "W2", "b2", ...}`` (``rng``: a seed or a RandomState)."""
    rs = rng if isinstance(rng, np.random.RandomState) else np.random.RandomState(rng)
    p = {}
    for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        p[f"W{k}"] = scale * rs.randn(a, b)
        p[f"b{k}"] = np.zeros(b)
    return p


# ---------------------------------------------------------------- functional style ------


def scores_fn(p, X):
    """Forward pass of a net given as a dict of arrays: ReLU between the layers."""
    n_layers = len(p) // 2
    h = X
    for k in range(1, n_layers + 1):
        h = h @ p[f"W{k}"] + p[f"b{k}"]
        if k < n_layers:
            h = anp.relu(h)
    return h


def loss_fn(p, X, y, reg):
    """Softmax cross-entropy plus ``0.5 * reg * sum(W**2)`` over the weight matrices."""
    l2 = sum(anp.sum(p[k] * p[k]) for k in p if k.startswith("W"))
    return nn.cross_entropy(scores_fn(p, X), y) + 0.5 * reg * l2


def train_functional(p, X, y, steps, lr=1.0, reg=1e-3):
    """Full-batch gradient descent on a dict of arrays.  Returns (params, last loss)."""
    opt = nn.SGD(lr=lr)
    value_and_grad = ad.value_and_grad(loss_fn)
    loss = None
    for _ in range(steps):
        loss, grads = value_and_grad(p, X, y, reg)
        p = opt.update(p, grads)
    return p, float(loss)


# ---------------------------------------------------------------- PyTorch style ---------


def build_module(p):
    """An ``nn`` module with the architecture of ``p`` and its values."""
    n_layers = len(p) // 2
    layers = []
    for k in range(1, n_layers + 1):
        a, b = p[f"W{k}"].shape
        layers.append(nn.Linear(a, b, rng=0))
        if k < n_layers:
            layers.append(nn.ReLU())
    net = nn.Sequential(*layers)
    net.load_state_dict(module_state(p, net))
    return net


def module_state(p, net):
    """Rename ``{"W1", "b1", ...}`` to the module's ``state_dict`` names."""
    names = [n for n, _ in net.named_parameters()]
    flat = [p[f"{kind}{k}"] for k in range(1, len(p) // 2 + 1) for kind in ("W", "b")]
    return dict(zip(names, flat))


def params_of(net):
    """The module's values as ``{"W1", "b1", ...}``."""
    vals = list(net.state_dict().values())
    return {f"{kind}{k // 2 + 1}": v for k, (kind, v) in enumerate(zip("Wb" * len(vals), vals))}


def train_module(net, X, y, steps, lr=1.0, reg=1e-3):
    """The PyTorch-style loop.  Returns the last loss."""
    opt = nn.SGD(net.parameters(), lr=lr)
    weights = [p for name, p in net.named_parameters() if name.endswith("weight")]
    loss = None
    for _ in range(steps):
        opt.zero_grad()
        l2 = sum((w * w).sum() for w in weights)
        loss = nn.cross_entropy(net(X), y) + 0.5 * reg * l2
        loss.backward()
        opt.step()
    return float(loss)


# ---------------------------------------------------------------- the experiment --------


def run(steps=10_000, linear_steps=200, seed=0, reg=1e-3, lr=1.0, hidden=100):
    """Train both models with both APIs; returns a list of result rows (dicts)."""
    rs = np.random.RandomState(seed)  # one stream, drawn in the case study's order
    X, y = make_spiral(rng=rs)
    rows = []
    for label, sizes, n in [("linear softmax", [2, 3], linear_steps),
                            (f"2-layer net ({hidden} ReLU)", [2, hidden, 3], steps)]:
        p0 = init_params(sizes, rng=rs)
        net = build_module(p0)
        loss_m = train_module(net, X, y, n, lr, reg)
        p_m = params_of(net)
        p_f, loss_f = train_functional(p0, X, y, n, lr, reg)
        for api, p, loss in [("loss.backward()", p_m, loss_m), ("functional", p_f, loss_f)]:
            rows.append({"model": label, "api": api, "steps": n, "loss": loss,
                         "accuracy": nn.accuracy(scores_fn(p, X), y), "params": p})
    return X, y, rows


def format_table(rows):
    lines = [f"{'model':26s} {'API':16s} {'steps':>6s} {'loss':>7s} {'train acc':>9s}",
             "-" * 68]
    for r in rows:
        lines.append(f"{r['model']:26s} {r['api']:16s} {r['steps']:6d} {r['loss']:7.4f} "
                     f"{100 * r['accuracy']:8.1f}%")
    return "\n".join(lines)


def plot(X, y, rows, out):
    """Save the decision boundaries of the functional runs of both models."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    colors = ["#d62728", "#2ca02c", "#1f77b4"][:int(y.max()) + 1]
    cmap = ListedColormap(colors)
    chosen = [r for r in rows if r["api"] == "functional"]
    fig, axes = plt.subplots(1, len(chosen), figsize=(5 * len(chosen), 4.6))
    xx, yy = np.meshgrid(np.linspace(-1.1, 1.1, 300), np.linspace(-1.1, 1.1, 300))
    grid = np.column_stack([xx.ravel(), yy.ravel()])
    for ax, r in zip(np.atleast_1d(axes), chosen):
        z = np.argmax(scores_fn(r["params"], grid), axis=1).reshape(xx.shape)
        ax.contourf(xx, yy, z, levels=np.arange(len(colors) + 1) - 0.5, cmap=cmap, alpha=0.3)
        ax.scatter(X[:, 0], X[:, 1], c=y, s=12, cmap=cmap, vmin=-0.5,
                   vmax=len(colors) - 0.5, edgecolors="k", linewidths=0.3)
        ax.set_title(f"{r['model']}: {100 * r['accuracy']:.1f}% train accuracy")
        ax.set_xlim(-1.1, 1.1)
        ax.set_ylim(-1.1, 1.1)
        ax.set_aspect("equal")
    fig.suptitle("Spiral data (cs231n case study), trained with admodes")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------- timing ----------------


def numpy_step(p, X, y, lr=1.0, reg=1e-3):
    """One hand-written numpy training step of the 2-layer net (explicit backprop)."""
    W1, b1, W2, b2 = p["W1"], p["b1"], p["W2"], p["b2"]
    n = X.shape[0]
    h = np.maximum(X @ W1 + b1, 0.0)
    s = h @ W2 + b2
    s = s - s.max(axis=1, keepdims=True)
    e = np.exp(s)
    prob = e / e.sum(axis=1, keepdims=True)
    rows = np.arange(n)
    loss = -np.mean(np.log(prob[rows, y])) + 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
    ds = prob
    ds[rows, y] -= 1.0
    ds /= n
    dW2 = h.T @ ds + reg * W2
    db2 = ds.sum(axis=0)
    dh = ds @ W2.T
    dh[h <= 0.0] = 0.0
    dW1 = X.T @ dh + reg * W1
    db1 = dh.sum(axis=0)
    return {"W1": W1 - lr * dW1, "b1": b1 - lr * db1, "W2": W2 - lr * dW2,
            "b2": b2 - lr * db2}, loss


def bench(repeats=15, number=50, seed=0, hidden=100):
    """Median time of one training step: hand-written numpy, and admodes in both styles,
    interleaved in one run.  Returns ``{name: seconds per step}``."""
    X, y = make_spiral(rng=seed)
    p0 = init_params([2, hidden, 3], rng=seed + 1)
    state = {"np": dict(p0), "fn": dict(p0)}
    net = build_module(p0)
    weights = [p for name, p in net.named_parameters() if name.endswith("weight")]
    opt_m = nn.SGD(net.parameters(), lr=1.0)
    opt_f = nn.SGD(lr=1.0)
    value_and_grad = ad.value_and_grad(loss_fn)

    def step_numpy():
        state["np"] = numpy_step(state["np"], X, y)[0]

    def step_module():
        opt_m.zero_grad()
        loss = nn.cross_entropy(net(X), y) + 0.5e-3 * sum((w * w).sum() for w in weights)
        loss.backward()
        opt_m.step()

    def step_functional():
        _, grads = value_and_grad(state["fn"], X, y, 1e-3)
        state["fn"] = opt_f.update(state["fn"], grads)

    steps = {"numpy (hand-written backprop)": step_numpy,
             "admodes loss.backward()": step_module,
             "admodes functional": step_functional}
    times = {k: [] for k in steps}
    for f in steps.values():  # warm up
        f()
    for _ in range(repeats):
        for k, f in steps.items():
            times[k].append(timeit.timeit(f, number=number) / number)
    return {k: float(np.median(v)) for k, v in times.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=10_000, help="steps for the 2-layer net")
    ap.add_argument("--linear-steps", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=DEFAULT_OUT, help="where to save the PNG")
    ap.add_argument("--no-plot", action="store_true")
    ap.add_argument("--bench", action="store_true", help="time one step instead of training")
    ap.add_argument("--repeats", type=int, default=15, help="--bench: interleaved repeats")
    args = ap.parse_args(argv)

    if args.bench:
        t = bench(repeats=args.repeats, seed=args.seed)
        base = t["numpy (hand-written backprop)"]
        print(f"one training step of the spiral net (300 x 2 -> 100 ReLU -> 3), median of "
              f"{args.repeats} interleaved repeats:")
        for k, v in t.items():
            print(f"  {k:32s} {v * 1e6:8.1f} us   {v / base:5.2f} x numpy")
        return {"times": t}

    X, y, rows = run(args.steps, min(args.linear_steps, args.steps), args.seed)
    print(format_table(rows))
    if not args.no_plot:
        plot(X, y, rows, args.out)
        print(f"decision boundaries saved to {os.path.relpath(args.out)}")
    return {"rows": rows}


if __name__ == "__main__":
    main(sys.argv[1:])
