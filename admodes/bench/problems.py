"""The benchmark problems, shared by ``admodes report`` and ``benchmarks/``.

Each problem is plain numpy code that admodes differentiates as it stands (numpy
dispatches traced values to admodes), plus, where it matters, a hand-written numpy
backprop that is the speed limit for any numpy-based engine.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

import admodes as ad
import admodes.numpy as anp

__all__ = [
    "rosenbrock", "rosenbrock_grad_numpy",
    "MLP", "mlp_problem", "mlp_loss", "mlp_loss_fn", "mlp_loss_and_grad_numpy", "flat_mlp_problem",
    "spiral_data", "spiral_init", "spiral_loss", "spiral_step", "spiral_step_numpy",
    "scalar_chain", "scalar_chain_1", "CHAIN_OPS",
    "tanh_layer", "two_layer_map",
    "deep_chain", "deep_chain_checkpointed",
    "forward_grad_by_jvps",
]


# ---------------------------------------------------------------- Rosenbrock ----------


def rosenbrock(x):
    """The extended Rosenbrock function, ``sum 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2``."""
    a = x[:-1]
    return np.sum(100.0 * (x[1:] - a * a) ** 2 + (1.0 - a) ** 2)


def rosenbrock_grad_numpy(x):
    """Hand-written gradient of :func:`rosenbrock` (the reference for correctness)."""
    a = x[:-1]
    r = x[1:] - a * a
    g = np.zeros_like(x)
    g[:-1] = -400.0 * a * r - 2.0 * (1.0 - a)
    g[1:] += 200.0 * r
    return g


# ---------------------------------------------------------------- MLP -----------------
# 2-layer MLP, ReLU, softmax cross-entropy written as mean(logsumexp(z) - <z, y>) with
# one-hot labels y; every library gets the same function in its own namespace.

ADMODES_OPS = SimpleNamespace(relu=anp.relu, logsumexp=anp.logsumexp, sum=anp.sum)


def mlp_loss_fn(ops=ADMODES_OPS):
    """The MLP loss ``loss(params, X, Y)`` written with ``ops.relu/logsumexp/sum``."""
    relu, lse, sum_ = ops.relu, ops.logsumexp, ops.sum

    def loss(params, X, Y):
        W1, b1, W2, b2 = params
        h = relu(X @ W1 + b1)
        z = h @ W2 + b2
        return (sum_(lse(z, axis=1)) - sum_(z * Y)) / X.shape[0]

    return loss


mlp_loss = mlp_loss_fn()


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def mlp_loss_and_grad_numpy(params, X, Y):
    """Hand-written backprop of the MLP loss: ``(loss, (dW1, db1, dW2, db2))``."""
    W1, b1, W2, b2 = params
    B = X.shape[0]
    a = X @ W1 + b1
    mask = a > 0
    h = a * mask
    z = h @ W2 + b2
    m = z.max(axis=1, keepdims=True)
    e = np.exp(z - m)
    s = e.sum(axis=1, keepdims=True)
    loss = (np.sum(np.log(s) + m) - np.sum(z * Y)) / B
    dz = (e / s - Y) / B
    dW2 = h.T @ dz
    db2 = dz.sum(axis=0)
    dh = (dz @ W2.T) * mask
    dW1 = X.T @ dh
    db1 = dh.sum(axis=0)
    return loss, (dW1, db1, dW2, db2)


class MLP(SimpleNamespace):
    """A problem instance: ``params`` (W1, b1, W2, b2), inputs ``X``, one-hot ``Y``."""


def mlp_problem(d_in=784, hidden=256, classes=10, batch=256, seed=0):
    """The issue's MLP: 784–256–10, batch 256 by default (He-initialised weights)."""
    rng = np.random.default_rng(seed)
    params = (rng.normal(size=(d_in, hidden)) * math.sqrt(2.0 / d_in),
              np.zeros(hidden) + 0.01,
              rng.normal(size=(hidden, classes)) * math.sqrt(2.0 / hidden),
              np.zeros(classes))
    X = rng.normal(size=(batch, d_in))
    Y = np.eye(classes)[rng.integers(0, classes, size=batch)]
    return MLP(params=params, X=X, Y=Y, sizes=(d_in, hidden, classes), batch=batch)


def flat_mlp_problem(n_target, d_in=16, classes=4, batch=32, seed=0):
    """An MLP loss of one flat parameter vector with about ``n_target`` entries (the
    hidden width is chosen to match), for sweeps over the number of parameters.

    Returns ``(loss(theta), theta)``; ``loss`` slices and reshapes ``theta``, so it
    runs on plain arrays and on traced values alike.
    """
    hidden = max(1, round((n_target - classes) / (d_in + 1 + classes + 1)))
    prob = mlp_problem(d_in, hidden, classes, batch, seed)
    shapes = [p.shape for p in prob.params]
    theta = np.concatenate([p.ravel() for p in prob.params])
    bounds = np.cumsum([0] + [int(np.prod(s)) for s in shapes])
    X, Y = prob.X, prob.Y

    def loss(theta):
        params = tuple(theta[bounds[i]:bounds[i + 1]].reshape(s) for i, s in enumerate(shapes))
        return mlp_loss(params, X, Y)

    return loss, theta


# ---------------------------------------------------------------- cs231n spiral net ---


def spiral_data(points_per_class=100, classes=3, seed=0):
    """The cs231n toy data: ``classes`` interleaved 2-d spirals, labels one-hot."""
    rng = np.random.default_rng(seed)
    X = np.zeros((points_per_class * classes, 2))
    labels = np.zeros(points_per_class * classes, dtype=int)
    for c in range(classes):
        r = np.linspace(0.0, 1.0, points_per_class)
        t = np.linspace(c * 4.0, (c + 1) * 4.0, points_per_class) + rng.normal(size=points_per_class) * 0.2
        sl = slice(points_per_class * c, points_per_class * (c + 1))
        X[sl] = np.c_[r * np.sin(t), r * np.cos(t)]
        labels[sl] = c
    return X, np.eye(classes)[labels], labels


def spiral_init(hidden=100, d_in=2, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return [0.01 * rng.normal(size=(d_in, hidden)), np.zeros(hidden),
            0.01 * rng.normal(size=(hidden, classes)), np.zeros(classes)]


def spiral_loss(params, X, labels, reg=1e-3):
    """Softmax cross-entropy (``ad.nn.cross_entropy``: integer labels, as in the case
    study, or one-hot targets) of the 2-layer ReLU net plus L2 on the weights."""
    W1, b1, W2, b2 = params
    h = anp.relu(X @ W1 + b1)
    z = h @ W2 + b2
    return ad.nn.cross_entropy(z, labels) + 0.5 * reg * (anp.sum(W1 * W1) + anp.sum(W2 * W2))


_spiral_grad = ad.value_and_grad(spiral_loss)


def spiral_step(params, X, labels, lr=1.0, reg=1e-3):
    """One SGD step with admodes' reverse-mode gradient; returns ``(loss, params)``."""
    loss, grads = _spiral_grad(params, X, labels, reg)
    return loss, [p - lr * g for p, g in zip(params, grads)]


def spiral_step_numpy(params, X, Y, lr=1.0, reg=1e-3):
    """The same step with hand-written numpy backprop (the cs231n recipe, our code): the
    MLP's backprop plus the L2 terms."""
    W1, b1, W2, b2 = params
    loss, (dW1, db1, dW2, db2) = mlp_loss_and_grad_numpy(params, X, Y)
    loss += 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
    grads = (dW1 + reg * W1, db1, dW2 + reg * W2, db2)
    return loss, [p - lr * g for p, g in zip(params, grads)]


# ---------------------------------------------------------------- scalar chain --------

CHAIN_OPS = 1000


def scalar_chain(x, y, ops=CHAIN_OPS):
    """``ops`` scalar operations: ``z <- z * y + x`` repeated (one mul, one add each).

    Works on Python floats and on any scalar type with ``+`` and ``*`` (admodes boxes,
    HIPS autograd boxes, micrograd ``Value``, torch scalars).
    """
    z = x
    for _ in range(ops // 2):
        z = z * y + x
    return z


def scalar_chain_1(x, ops=CHAIN_OPS):
    """``ops`` scalar operations with one input and a constant: ``z <- z * 0.999 + x``
    repeated (one mul, one add each).  The constant is a Python float, so every engine
    meets a constant operand on each multiplication (micrograd wraps it in a ``Value``)."""
    z = x
    for _ in range(ops // 2):
        z = z * 0.999 + x
    return z


# ---------------------------------------------------------------- Jacobians -----------


def tanh_layer(W):
    """``x -> tanh(W x)``: R^n -> R^m for a m×n matrix ``W``."""
    def f(x):
        return np.tanh(W @ x)
    return f


def two_layer_map(n, m, hidden=32, seed=0):
    """``x -> tanh(B tanh(A x))``: R^n -> R^m through ``hidden`` units; returns (f, x)."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(hidden, n)) / math.sqrt(n)
    B = rng.normal(size=(m, hidden)) / math.sqrt(hidden)

    def f(x):
        return np.tanh(B @ np.tanh(A @ x))

    return f, rng.normal(size=n)


# ---------------------------------------------------------------- depth ---------------


def _block(x):
    return x + 0.1 * np.sin(x)


def deep_chain(x, depth):
    """A residual chain ``x <- x + 0.1 sin(x)`` of ``depth`` layers, then ``sum(x^2)``:
    every layer's output is an n-vector the reverse-mode tape must keep."""
    for _ in range(depth):
        x = _block(x)
    return np.sum(x * x)


def deep_chain_checkpointed(x, depth, segment=None):
    """:func:`deep_chain` with each run of ``segment`` layers (default √depth)
    checkpointed: the tape keeps only the segments' inputs."""
    segment = segment or max(1, math.isqrt(depth))

    def run(k):
        def seg(x):
            for _ in range(k):
                x = _block(x)
            return x
        return ad.checkpoint(seg)

    full, rest = divmod(depth, segment)
    seg = run(segment)
    for _ in range(full):
        x = seg(x)
    if rest:
        x = run(rest)(x)
    return np.sum(x * x)


# ---------------------------------------------------------------- helpers -------------


def forward_grad_by_jvps(f, x):
    """The forward-mode gradient one direction per pass: one ``ad.jvp`` per basis
    vector (what forward mode costs without batching directions)."""
    x = np.asarray(x, dtype=float)
    g = np.empty(x.size)
    e = np.zeros(x.size)
    for i in range(x.size):
        e[i] = 1.0
        g[i] = ad.jvp(f, (x,), (e.reshape(x.shape),))[1]
        e[i] = 0.0
    return g.reshape(x.shape)
