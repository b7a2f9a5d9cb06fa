"""Static graph replay vs dynamic grad: the reverse gradient of a 1000-op scalar chain
(target: replay >= 3x faster; ``pytest benchmarks --benchmark-enable -k replay``)."""

import pytest

import admodes as ad
import admodes.numpy as anp


def chain(x):
    for _ in range(250):
        x = anp.tanh(anp.sin(x) * 1.001 + 0.1)
    return x


GRAPH = ad.trace(chain, 0.3)
WANT = ad.grad(chain)(0.3)


@pytest.mark.benchmark(group="1000-op chain: dynamic grad vs graph replay")
def test_dynamic_grad(benchmark):
    assert benchmark(ad.grad(chain), 0.3) == pytest.approx(WANT, rel=1e-12)


@pytest.mark.benchmark(group="1000-op chain: dynamic grad vs graph replay")
def test_graph_replay_grad(benchmark):
    assert benchmark(GRAPH.grad, 0.3) == pytest.approx(WANT, rel=1e-12)
