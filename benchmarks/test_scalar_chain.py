"""Scalar overhead: 1000-op scalar chains.  Two inputs: ``z <- z*y + x``, gradient in x
and y; one input: ``z <- z*0.999 + x``, gradient in x (a Python-float constant operand
on every multiplication)."""

import pytest

import admodes as ad
from admodes.bench import CHAIN_OPS, scalar_chain, scalar_chain_1
from admodes.bench import peers as _peers

X, Y = 0.3, 0.99
WANT = ad.grad(scalar_chain, argnums=(0, 1))(X, Y)
WANT_1 = ad.grad(scalar_chain_1)(X)
PEERS = _peers.available()
TWO = pytest.mark.benchmark(group="scalar chain, two inputs (1000 ops)")
ONE = pytest.mark.benchmark(group="scalar chain, one input (1000 ops)")


def _peer_fn(peer, chain, args):
    if not PEERS.get(peer):
        pytest.skip(f"{peer} is not installed")
    return _peers.chain_grad_fns(chain, args, CHAIN_OPS, {peer: PEERS[peer]})[peer]


# ---------------------------------------------------------------- two inputs ----------


@TWO
def test_python_floats(benchmark):
    benchmark(scalar_chain, X, Y)


@TWO
def test_reverse(benchmark):
    g = ad.grad(scalar_chain, argnums=(0, 1))
    assert benchmark(g, X, Y) == pytest.approx(WANT, rel=1e-12)


@TWO
def test_forward(benchmark):
    g = ad.grad(scalar_chain, argnums=(0, 1), mode="forward")
    assert benchmark(g, X, Y) == pytest.approx(WANT, rel=1e-12)


@TWO
def test_jvp_one_direction(benchmark):
    _, t = benchmark(ad.jvp, scalar_chain, (X, Y), (1.0, 0.0))
    assert t == pytest.approx(WANT[0], rel=1e-12)


@TWO
@pytest.mark.parametrize("peer", ["autograd", "micrograd", "torch"])
def test_peer(benchmark, peer):
    got = benchmark(_peer_fn(peer, scalar_chain, (X, Y)))
    assert [float(v) for v in got] == pytest.approx(WANT, rel=1e-12)


# ---------------------------------------------------------------- one input -----------


@ONE
def test_one_input_python_floats(benchmark):
    benchmark(scalar_chain_1, X)


@ONE
def test_one_input_reverse(benchmark):
    assert benchmark(ad.grad(scalar_chain_1), X) == pytest.approx(WANT_1, rel=1e-12)


@ONE
def test_one_input_forward(benchmark):
    g = ad.grad(scalar_chain_1, mode="forward")
    assert benchmark(g, X) == pytest.approx(WANT_1, rel=1e-12)


@ONE
def test_one_input_jvp(benchmark):
    _, t = benchmark(ad.jvp, scalar_chain_1, (X,), (1.0,))
    assert t == pytest.approx(WANT_1, rel=1e-12)


@ONE
@pytest.mark.parametrize("peer", ["autograd", "micrograd", "torch"])
def test_one_input_peer(benchmark, peer):
    (got,) = benchmark(_peer_fn(peer, scalar_chain_1, (X,)))
    assert float(got) == pytest.approx(WANT_1, rel=1e-12)
