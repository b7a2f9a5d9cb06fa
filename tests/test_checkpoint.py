"""ad.checkpoint: same derivatives as the plain function in every mode, a shorter tape
and a lower peak in reverse mode."""

import numpy as np
import pytest

import admodes as ad
from admodes.bench import deep_chain, deep_chain_checkpointed, peak_memory, tape_size


def block(x):
    return np.sin(x) * x + 0.5 * np.tanh(x)


def loss_plain(x):
    for _ in range(4):
        x = block(x)
    return np.sum(x * x)


def loss_ckpt(x):
    b = ad.checkpoint(block)
    for _ in range(4):
        x = b(x)
    return np.sum(x * x)


@pytest.fixture
def x():
    return np.random.default_rng(0).normal(size=7)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_grad_matches_unchecked(x, mode):
    want = ad.grad(loss_plain, mode=mode)(x)
    got = ad.grad(loss_ckpt, mode=mode)(x)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got, ad.grad(loss_plain)(x), rtol=1e-12)


def test_value_unchanged_and_plain_call(x):
    assert loss_ckpt(x) == pytest.approx(loss_plain(x), rel=1e-15)
    np.testing.assert_array_equal(ad.checkpoint(block)(x), block(x))


def test_nested_checkpoints(x):
    inner = ad.checkpoint(block)
    outer = ad.checkpoint(lambda x: inner(inner(x)) * 2.0)

    def f(x):
        return np.sum(ad.checkpoint(lambda y: outer(outer(y)))(x) ** 2)

    def g(x):
        for _ in range(2):
            x = block(block(x)) * 2.0
        return np.sum(x ** 2)

    for mode in ("reverse", "forward"):
        np.testing.assert_allclose(ad.grad(f, mode=mode)(x), ad.grad(g)(x), rtol=1e-11)
    assert tape_size(f, x)[0] == 4  # input, the outer checkpoint, square, sum


def test_jacobians_and_batched_cotangents(x):
    f = lambda x: ad.checkpoint(block)(x) * x[0]  # noqa: E731
    g = lambda x: block(x) * x[0]  # noqa: E731
    np.testing.assert_allclose(ad.jacrev(f)(x), ad.jacfwd(g)(x), rtol=1e-12)
    np.testing.assert_allclose(ad.jacfwd(f)(x), ad.jacfwd(g)(x), rtol=1e-12)


def test_second_order(x):
    # forward-over-reverse (hessian) and reverse-over-reverse, through the checkpoint
    np.testing.assert_allclose(ad.hessian(loss_ckpt)(x), ad.hessian(loss_plain)(x),
                               rtol=1e-10, atol=1e-12)
    f = lambda s: ad.checkpoint(lambda y: np.sin(y) * y ** 2)(s)  # noqa: E731
    want = ad.grad(ad.grad(lambda s: np.sin(s) * s ** 2))(0.7)
    assert ad.grad(ad.grad(f))(0.7) == pytest.approx(want, rel=1e-12)
    v = np.ones_like(x)
    np.testing.assert_allclose(ad.hvp(loss_ckpt, x, v), ad.hvp(loss_plain, x, v), rtol=1e-10)


def test_pytree_args_and_constants(x):
    def layer(p, x, k):
        return np.tanh(p["w"] * x + p["b"]) * k

    p = {"w": np.full(7, 0.3), "b": np.full(7, -0.1)}
    f = lambda p, x: np.sum(ad.checkpoint(layer)(p, x, 3) ** 2)  # noqa: E731
    g = lambda p, x: np.sum(layer(p, x, 3) ** 2)  # noqa: E731
    got = ad.grad(f, argnums=(0, 1))(p, x)
    want = ad.grad(g, argnums=(0, 1))(p, x)
    for a, b in zip([got[0]["w"], got[0]["b"], got[1]], [want[0]["w"], want[0]["b"], want[1]]):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_output_independent_of_input(x):
    f = lambda x: np.sum(ad.checkpoint(lambda y: np.ones(3))(x)) + np.sum(x)  # noqa: E731
    np.testing.assert_allclose(ad.grad(f)(x), np.ones_like(x))


def test_tape_is_shorter_and_memory_lower():
    x = np.random.default_rng(1).normal(size=20_000)
    depth = 36
    plain = lambda x: deep_chain(x, depth)  # noqa: E731
    ckpt = lambda x: deep_chain_checkpointed(x, depth)  # noqa: E731
    np.testing.assert_allclose(ad.grad(ckpt)(x), ad.grad(plain)(x), rtol=1e-12)
    n_plain, bytes_plain = tape_size(plain, x)
    n_ckpt, bytes_ckpt = tape_size(ckpt, x)
    assert n_ckpt <= 6 + 3 < n_plain  # six segments of six layers
    assert bytes_ckpt < bytes_plain / 4
    peak_plain = peak_memory(lambda: ad.grad(plain)(x)).median
    peak_ckpt = peak_memory(lambda: ad.grad(ckpt)(x)).median
    assert peak_ckpt < peak_plain / 2


def test_multiple_outputs_rejected(x):
    f = ad.checkpoint(lambda y: (y, y))
    with pytest.raises(TypeError, match="one array"):
        ad.grad(lambda y: np.sum(f(y)[0]))(x)
