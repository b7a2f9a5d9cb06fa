"""The sparse problems of the "beyond one mode" report section, the benchmarks and the
tests: each is plain admodes/numpy code with a known sparsity structure."""

from __future__ import annotations

import numpy as np

import admodes.numpy as anp


def reaction_diffusion_1d(u):
    """1-D reaction-diffusion residual with zero Dirichlet boundaries (tridiagonal)."""
    n = u.shape[0]
    h2 = (1.0 / (n + 1)) ** 2
    up = anp.pad(u, 1)
    return (up[:-2] - 2.0 * u + up[2:]) / h2 + u * (1.0 - u)


def laplacian_2d(u):
    """2-D 5-point Laplacian with a cubic reaction term on an ``N x N`` grid."""
    up = anp.pad(u, 1)
    lap = up[:-2, 1:-1] + up[2:, 1:-1] + up[1:-1, :-2] + up[1:-1, 2:] - 4.0 * u
    return lap - u ** 3


def dense_row(x):
    """Elementwise terms plus one row that depends on every input (reverse mode wins)."""
    return anp.concatenate([anp.sin(x) * x, anp.sum(x ** 2, keepdims=True)])


def dense_column(x):
    """Every output depends on ``x[0]`` (one dense column: forward mode wins)."""
    return anp.tanh(x) * x[0] + x


def chained_rosenbrock(x):
    """The chained Rosenbrock function (tridiagonal Hessian)."""
    return anp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def start(n, seed=0):
    """A reproducible starting point in (0.2, 0.8)."""
    return 0.2 + 0.6 * np.random.default_rng(seed).random(n)
