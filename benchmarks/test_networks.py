"""Network gradients against hand-written numpy backprop: the cs231n spiral net training
step and the 784-256-10 MLP gradient."""

import numpy as np
import pytest

import admodes as ad
from admodes.bench import (
    mlp_loss,
    mlp_loss_and_grad_numpy,
    mlp_problem,
    spiral_data,
    spiral_init,
    spiral_step,
    spiral_step_numpy,
)

X, Y, LABELS = spiral_data()
PARAMS = spiral_init()


@pytest.mark.benchmark(group="spiral net step (300 points, 100 hidden)")
def test_spiral_step_admodes(benchmark):
    loss, new = benchmark(spiral_step, PARAMS, X, LABELS)
    want_loss, want = spiral_step_numpy(PARAMS, X, Y)
    assert loss == pytest.approx(want_loss, rel=1e-12)
    for a, b in zip(new, want):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)


@pytest.mark.benchmark(group="spiral net step (300 points, 100 hidden)")
def test_spiral_step_numpy(benchmark):
    benchmark(spiral_step_numpy, PARAMS, X, Y)


def test_spiral_training_learns():
    params = spiral_init()
    first = None
    for _ in range(400):
        loss, params = spiral_step(params, X, LABELS)
        first = loss if first is None else first
    assert loss < 0.5 * first  # about 1.10 -> 0.46


MLP = mlp_problem()


@pytest.mark.benchmark(group="MLP 784-256-10 gradient, batch 256")
def test_mlp_grad_admodes(benchmark):
    g = ad.grad(mlp_loss)
    got = benchmark(g, MLP.params, MLP.X, MLP.Y)
    want = mlp_loss_and_grad_numpy(MLP.params, MLP.X, MLP.Y)[1]
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)


@pytest.mark.benchmark(group="MLP 784-256-10 gradient, batch 256")
def test_mlp_grad_numpy(benchmark):
    benchmark(mlp_loss_and_grad_numpy, MLP.params, MLP.X, MLP.Y)
