"""``jacfwd`` (all directions in one batched pass) against n separate ``jvp`` calls, and
``jacrev`` for comparison, on tanh(W x) with n = m = 200."""

import numpy as np
import pytest

import admodes as ad
from admodes.bench import tanh_layer

N = 200
RNG = np.random.default_rng(2)
F = tanh_layer(RNG.normal(size=(N, N)) / np.sqrt(N))
X = RNG.normal(size=N)
EYE = np.eye(N)


def separate_jvps():
    return np.stack([ad.jvp(F, (X,), (EYE[i],))[1] for i in range(N)], axis=1)


@pytest.mark.benchmark(group="jacobian of tanh(W x), n = m = 200")
def test_jacfwd(benchmark):
    J = benchmark(ad.jacfwd(F), X)
    np.testing.assert_allclose(J, separate_jvps(), rtol=1e-12, atol=1e-15)


@pytest.mark.benchmark(group="jacobian of tanh(W x), n = m = 200")
def test_separate_jvps(benchmark):
    benchmark(separate_jvps)


@pytest.mark.benchmark(group="jacobian of tanh(W x), n = m = 200")
def test_jacrev(benchmark):
    J = benchmark(ad.jacrev(F), X)
    np.testing.assert_allclose(J, ad.jacfwd(F)(X), rtol=1e-12, atol=1e-15)
