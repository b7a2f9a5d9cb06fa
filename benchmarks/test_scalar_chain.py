"""Scalar overhead: a 1000-op scalar chain (``z <- z*y + x``), gradient in x and y."""

import pytest

import admodes as ad
from admodes.bench import CHAIN_OPS, scalar_chain
from admodes.bench import peers as _peers

X, Y = 0.3, 0.99
WANT = ad.grad(scalar_chain, argnums=(0, 1))(X, Y)


@pytest.mark.benchmark(group="scalar chain (1000 ops)")
def test_python_floats(benchmark):
    benchmark(scalar_chain, X, Y)


@pytest.mark.benchmark(group="scalar chain (1000 ops)")
def test_reverse(benchmark):
    g = ad.grad(scalar_chain, argnums=(0, 1))
    assert benchmark(g, X, Y) == pytest.approx(WANT, rel=1e-12)


@pytest.mark.benchmark(group="scalar chain (1000 ops)")
def test_forward(benchmark):
    g = ad.grad(scalar_chain, argnums=(0, 1), mode="forward")
    assert benchmark(g, X, Y) == pytest.approx(WANT, rel=1e-12)


@pytest.mark.benchmark(group="scalar chain (1000 ops)")
def test_jvp_one_direction(benchmark):
    _, t = benchmark(ad.jvp, scalar_chain, (X, Y), (1.0, 0.0))
    assert t == pytest.approx(WANT[0], rel=1e-12)


PEERS = _peers.available()


@pytest.mark.benchmark(group="scalar chain (1000 ops)")
@pytest.mark.parametrize("peer", ["autograd", "micrograd", "torch"])
def test_peer(benchmark, peer):
    if not PEERS.get(peer):
        pytest.skip(f"{peer} is not installed")
    fn = _peers.chain_grad_fns(X, Y, CHAIN_OPS, {peer: PEERS[peer]})[peer]
    got = benchmark(fn)
    assert [float(v) for v in got] == pytest.approx(WANT, rel=1e-12)
