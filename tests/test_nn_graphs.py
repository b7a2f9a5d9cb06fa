"""ad.nn: each loss owns the graph that produced it, as in PyTorch (issue 9 item 9)."""

import gc
import tracemalloc

import numpy as np
import pytest

from admodes import nn


def test_independent_losses_backward_independently():
    w = nn.Parameter(np.array([1.0, 2.0]))
    v = nn.Parameter(np.array([3.0]))
    l1 = (w * w).sum()
    l2 = (v * w).sum() * 2.0
    l1.backward()
    np.testing.assert_allclose(w.grad, [2.0, 4.0])
    l2.backward()  # used to raise "backward was already called"
    np.testing.assert_allclose(w.grad, [2.0 + 6.0, 4.0 + 6.0])
    np.testing.assert_allclose(v.grad, [2.0 * 3.0])


def test_value_computed_before_unrelated_backward_stays_usable():
    w = nn.Parameter(np.array([1.0, -1.0]))
    h = w * 3.0
    other = (w ** 2).sum()
    other.backward()
    w.grad = None
    loss = (h * h).sum()  # h predates the unrelated backward
    loss.backward()
    np.testing.assert_allclose(w.grad, 18.0 * np.array([1.0, -1.0]))


def test_shared_subgraph_needs_retain_graph():
    w = nn.Parameter(np.array([2.0]))
    h = w * w
    l1, l2 = h.sum(), (h * 3.0).sum()
    l1.backward()
    with pytest.raises(nn.ReleasedGraphError, match="retain_graph=True"):
        l2.backward()
    w.grad = None
    h = w * w
    l1, l2 = h.sum(), (h * 3.0).sum()
    l1.backward(retain_graph=True)
    l2.backward()
    np.testing.assert_allclose(w.grad, [4.0 + 12.0])


def _mlp():
    return nn.Sequential(nn.Linear(784, 256, rng=0), nn.ReLU(), nn.Linear(256, 10, rng=1))


def test_forward_only_loop_does_not_grow_memory():
    net = _mlp()
    x = np.random.default_rng(0).normal(size=(8, 784))
    kept = net(x).sum()  # an earlier output stays alive throughout
    for _ in range(3):
        net(x).sum()  # warm up caches
    gc.collect()
    tracemalloc.start()
    try:
        for _ in range(5):
            net(x).sum()
        gc.collect()
        base = tracemalloc.get_traced_memory()[0]
        for _ in range(15):
            net(x).sum()
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    # before the fix: ~18 KB per pass at this batch size (~280 KB over 15 passes)
    assert grown < 50_000, f"memory grew by {grown} bytes over 15 forward passes"
    kept.backward()  # the kept output still has its own graph
    assert net[0].weight.grad.shape == net[0].weight.data.shape


def test_unreferenced_graph_is_freed():
    net = _mlp()
    x = np.random.default_rng(1).normal(size=(64, 784))
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        out = net(x).sum()
        held = tracemalloc.get_traced_memory()[0] - base
        del out  # nobody references the graph any more: reference counting frees it
        left = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert held > 64 * 256 * 8  # the graph held at least the hidden activations
    assert left < held / 10, (held, left)
