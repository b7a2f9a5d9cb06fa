"""In-place updates on traced values (issue 9, part B): y = x.copy(); y[i] = v; ..."""

import numpy as np
import pytest

import admodes as ad
import admodes.numpy as anp
from admodes.inplace import index_update

MODES = ["forward", "reverse"]


def _updates(x):
    y = x.copy()
    y[0] = x[1] * 2.0
    y[1:] += x[:2]
    y *= 2.0
    return anp.sum(y * y)


def _updates_ref(x):
    y = np.array([2 * x[1], x[1] + x[0], x[2] + x[1]]) * 2.0
    return y


@pytest.mark.parametrize("mode", MODES)
def test_copy_setitem_augmented(mode):
    x = np.array([1.0, 2.0, 3.0])
    keep = x.copy()
    g = ad.grad(_updates, mode=mode)(x)
    x0, x1, x2 = x
    expect = np.array([8 * (x0 + x1), 32 * x1 + 8 * (x0 + x1) + 8 * (x1 + x2), 8 * (x1 + x2)])
    np.testing.assert_allclose(g, expect)
    np.testing.assert_array_equal(x, keep)  # the caller's input is never mutated


@pytest.mark.parametrize("mode", MODES)
def test_copy_leaves_original_alone(mode):
    def f(x):
        y = x.copy()
        y[1] = 0.0
        return anp.sum(x * x) + anp.sum(y)
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(ad.grad(f, mode=mode)(x), 2 * x + np.array([1.0, 0.0, 1.0]))


@pytest.mark.parametrize("mode", MODES)
def test_assign_into_input_keeps_leaf(mode):
    # Writing into the argument itself: the gradient is still with respect to the input.
    def f(x):
        x[0] = 5.0 * x[1]
        return anp.sum(x * x)
    x = np.array([1.0, 2.0])
    keep = x.copy()
    np.testing.assert_allclose(ad.grad(f, mode=mode)(x), [0.0, 50 * 2.0 + 4.0])
    np.testing.assert_array_equal(x, keep)


@pytest.mark.parametrize("mode", MODES)
def test_fancy_and_boolean_indices(mode):
    def f(x):
        y = x.copy()
        y[np.array([0, 2, 0])] = anp.stack([x[1], x[1] * 3.0, x[2]])  # last write wins
        y[np.array([False, True, False, True])] *= x[0]
        return anp.sum(y * np.arange(1.0, 5.0))
    x = np.array([1.0, 2.0, 3.0, 4.0])
    got = ad.grad(f, mode=mode)(x)
    # y = [x2, x1*x0, 3*x1, x3*x0]; weights 1..4
    np.testing.assert_allclose(got, [2 * x[1] + 4 * x[3], 2 * x[0] + 9.0, 1.0, 4 * x[0]])
    assert f(x) == pytest.approx(x[2] + 2 * x[1] * x[0] + 9 * x[1] + 4 * x[3] * x[0])


@pytest.mark.parametrize("mode", MODES)
def test_second_order_through_setitem(mode):
    def f(x):
        y = anp.zeros_like(x) + x
        y[1] = x[0] ** 3
        return anp.sum(y * y)
    x = np.array([1.5, -0.5])
    h = ad.jacfwd(ad.grad(f, mode=mode))(x)
    np.testing.assert_allclose(ad.jacrev(ad.grad(f, mode=mode))(x), h)
    # f = x0^2 + x0^6
    np.testing.assert_allclose(h, [[2 + 30 * 1.5 ** 4, 0.0], [0.0, 0.0]])


def test_2d_slice_and_jacobian():
    def f(x):
        y = x.copy()
        y[:, 0] = anp.sin(x[:, 1])
        return y
    x = np.arange(6.0).reshape(3, 2)
    for jac in (ad.jacfwd, ad.jacrev):
        j = jac(f)(x)
        assert j.shape == (3, 2, 3, 2)
        for i in range(3):
            assert j[i, 0, i, 1] == pytest.approx(np.cos(x[i, 1]))
            assert j[i, 1, i, 1] == 1.0
            assert j[i, 0, i, 0] == 0.0


def test_index_update_functional():
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(index_update(x, slice(1, None), 0.0), [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="index_update: cannot write a value of shape"):
        index_update(x, slice(0, 2), np.ones(3))
    with pytest.raises(IndexError):
        index_update(x, 5, 1.0)


def test_bad_assignment_leaves_value_unchanged():
    def f(x):
        y = x.copy()
        with pytest.raises(ValueError, match="index_update"):
            y[:2] = np.ones(3)
        return anp.sum(y)
    np.testing.assert_allclose(ad.grad(f)(np.array([1.0, 2.0, 3.0])), np.ones(3))


def test_writing_into_numpy_buffer_says_what_works():
    def f(x):
        buf = np.zeros(3)
        buf[1:] = x
        return anp.sum(buf)
    with pytest.raises(TypeError, match="anp.stack"):
        ad.grad(f)(np.array([1.0, 2.0]))


def test_setitem_in_a_traced_graph_replays_at_new_inputs():
    def f(x):
        y = x.copy()
        y[0] = x[1] * 3.0
        y[1:] *= x[0]
        return anp.sum(y * y)
    x0, x1 = np.array([1.0, 2.0, 3.0]), np.array([-1.0, 0.5, 2.0])
    g = ad.trace(f, x0)
    for x in (x0, x1):
        assert g(x) == pytest.approx(f(x))
        np.testing.assert_allclose(g.grad(x), ad.grad(f)(x))
        np.testing.assert_allclose(g.grad(x), ad.grad(f, mode="forward")(x))


def test_nn_values_and_parameters():
    from admodes import nn
    w = nn.Parameter(np.array([1.0, 2.0, 3.0]))
    y = w * 2.0
    y[0] = w[2] * w[2]
    anp.sum(y).backward()
    np.testing.assert_allclose(w.grad, [0.0, 2.0, 2.0 + 6.0])
    with pytest.raises(TypeError, match="leaf of the define-by-run graph"):
        w[0] = 5.0
    np.testing.assert_array_equal(w.data, [1.0, 2.0, 3.0])


@pytest.mark.parametrize("mode", MODES)
def test_scalar_written_into_numpy_buffer_raises(mode):
    # numpy first calls float(x), which raises TracerConversionError; because a traced
    # value also has __getitem__, numpy then retries it as a sequence and replaces our
    # error by its own ValueError.  Either way the derivative is never silently dropped.
    def f(x):
        buf = np.zeros(3)
        buf[1] = x
        return anp.sum(buf)
    with pytest.raises((TypeError, ValueError), match="traced value|sequence"):
        ad.grad(f, mode=mode)(2.0)
