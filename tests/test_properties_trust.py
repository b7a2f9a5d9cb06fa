"""Random programs through every transformation (issue 9): shapes (), (1,), (1, 1),
size 0 and arrays above the residual-dropping / broadcast-constant sizes, ufunc methods,
broadcast-constant cotangents and a custom primitive whose rules handle ONE direction.
Every transformation must agree with the others and with finite differences; each of
the bugs 9.4 (ufunc .reduce), 9.5 (custom rules), 9.7 (size-1 shape) and 9.8 (read-only
sums of broadcast constants) made some draw here fail."""

import numpy as np
from _programs import interpret, programs
from hypothesis import given, settings
from hypothesis import strategies as st

import admodes as ad
import admodes.numpy as anp

SHAPES = [(), (1,), (1, 1), (3,), (2, 3), (1, 4), (0,), (2, 0), (48, 48)]

_MIX = {}


def _mix(x):
    """A custom primitive: a fixed matrix applied to the flattened value; its rules are
    written for one direction (``M @ t.ravel()``), as a user would write them."""
    n = int(np.size(ad.value(x)))
    if n not in _MIX:
        M = np.random.default_rng(n).normal(size=(n, n)) / max(n, 1) ** 0.5
        _MIX[n] = ad.primitive(
            lambda v: np.reshape(M @ np.ravel(v), np.shape(v)),
            jvp=lambda ts, ans, v: anp.reshape(anp.matmul(M, anp.ravel(ts[0])), np.shape(v)),
            vjp=lambda g, ans, v: (anp.reshape(anp.matmul(M.T, anp.ravel(g)), np.shape(v)),),
            name=f"trust_property_mix_{n}")
    return _MIX[n](x)


def _reduce_back(ufunc):
    # numpy's default axis 0 (axis=None for a 0-d value), kept so that it broadcasts back
    def f(a):
        if np.size(ad.value(a)) == 0:  # numpy: maximum.reduce of nothing has no identity
            return a
        if np.ndim(ad.value(a)) == 0:
            return a * ufunc.reduce(a, axis=None) * 0.3
        return a * ufunc.reduce(a, keepdims=True) * 0.3
    return f


UNARY = [anp.sin, anp.tanh, lambda v: v * 0.5, lambda v: anp.square(v) * 0.1, _mix,
         _reduce_back(np.add), _reduce_back(np.maximum), _reduce_back(np.multiply),
         lambda v: v * v.sum() * 0.01,  # a broadcast-constant cotangent per use
         lambda v: v + v.mean() + v.sum() * 0.1,
         lambda v: np.add.accumulate(v) * 0.3 if np.ndim(ad.value(v)) else v * 0.3,
         lambda v: anp.clip(v, min=-1.0) * 0.9]
BINARY = [anp.add, anp.multiply, anp.subtract, lambda a, b: a * anp.mean(b),
          lambda a, b: np.maximum(a, b * 0.7)]

program = programs(8)


def run(prog, x):
    last = interpret(prog, x, UNARY, BINARY)
    w = np.linspace(0.5, 1.5, max(np.size(x), 1))[:np.size(x)].reshape(np.shape(x))
    return last, anp.sum(last * w)


def _close(a, b, what):
    np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10, err_msg=what)
    assert np.shape(a) == np.shape(b), what


@settings(max_examples=80, deadline=None)
@given(program, st.sampled_from(SHAPES), st.integers(0, 2 ** 31 - 1))
def test_random_programs_through_every_transformation(prog, shape, seed):
    x = np.random.default_rng(seed).uniform(-1.2, 1.2, size=shape)
    f = lambda v: run(prog, v)[1]  # noqa: E731
    vec = lambda v: run(prog, v)[0]  # noqa: E731
    g = ad.grad(f)(x)
    assert np.shape(g) == shape
    _close(ad.value_and_grad(f)(x)[1], g, "value_and_grad")
    if np.size(x) > 1000:  # large: the reverse sweep, also through loss.backward()
        p = ad.nn.Parameter(x.copy())
        f(p).backward()
        _close(p.grad, g, "loss.backward()")
    else:  # forward mode costs a pass per input: small arrays only
        _close(ad.grad(f, mode="forward")(x), g, "forward grad")
    small = 0 < np.size(x) <= 6
    if small:
        _close(ad.jacfwd(f)(x), g, "jacfwd")
        _close(ad.jacrev(f)(x), g, "jacrev")
        _close(ad.jacfwd(vec)(x), ad.jacrev(vec)(x), "jacfwd vs jacrev, vector output")
        h = ad.hessian(f)(x)
        _close(ad.jacfwd(ad.jacfwd(f))(x), h, "hessian: forward over forward")
        _close(ad.jacrev(ad.grad(f, mode="forward"))(x), h, "hessian: rev over fwd grad")
        graph = ad.trace(f, x)
        _close(graph(x), ad.value(f(x)), "trace replay value")
        x2 = x + 0.05
        _close(ad.grad(graph)(x2), ad.grad(f)(x2), "trace replay gradient")
    if np.size(x):
        # central differences in one random direction (skip draws sitting on a kink)
        v = np.random.default_rng(seed + 1).normal(size=shape)
        eps = 1e-6
        fp, f0, fm = (float(ad.value(f(x + s * eps * v))) for s in (1, 0, -1))
        right, left = (fp - f0) / eps, (f0 - fm) / eps
        if abs(right - left) <= 1e-3 * (1 + abs(right)):
            np.testing.assert_allclose(np.sum(g * v), (fp - fm) / (2 * eps),
                                       rtol=1e-5, atol=1e-6)
