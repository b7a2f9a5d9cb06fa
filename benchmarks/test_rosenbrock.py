"""Rosenbrock at several n: f in numpy, the reverse gradient and the vectorised forward
gradient (forward only at small n: its cost grows as n²)."""

import numpy as np
import pytest

import admodes as ad
from admodes.bench import rosenbrock, rosenbrock_grad_numpy


def _x(n):
    return np.random.default_rng(n).uniform(-1.0, 1.5, size=n)


@pytest.mark.parametrize("n", [10, 1_000, 100_000])
def test_f(benchmark, n):
    benchmark.group = f"rosenbrock n={n}"
    benchmark(rosenbrock, _x(n))


@pytest.mark.parametrize("n", [10, 1_000, 100_000])
def test_reverse(benchmark, n):
    benchmark.group = f"rosenbrock n={n}"
    x = _x(n)
    g = benchmark(ad.grad(rosenbrock), x)
    np.testing.assert_allclose(g, rosenbrock_grad_numpy(x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("n", [10, 1_000])
def test_forward(benchmark, n):
    benchmark.group = f"rosenbrock n={n}"
    x = _x(n)
    g = benchmark(ad.grad(rosenbrock, mode="forward"), x)
    np.testing.assert_allclose(g, rosenbrock_grad_numpy(x), rtol=1e-12, atol=1e-12)
