"""Random programs under ``ad.jit``: every transformation, compiled, equals the dynamic
one to 1e-12, at inputs other than the ones it was traced at (so a trace-time value
frozen into the program would show), and ``ad.grad(ad.jit(f))`` works in both modes."""

import warnings

import numpy as np
from _programs import interpret, programs
from hypothesis import given, settings
from hypothesis import strategies as st

import admodes as ad
import admodes.numpy as anp

UNARY = [anp.sin, anp.cos, anp.tanh, anp.arctan, anp.sigmoid, anp.softplus, anp.abs,
         lambda v: v * 0.5, lambda v: anp.square(v) * 0.1, anp.log_softmax,
         lambda v: anp.flip(v, 0), lambda v: anp.cumsum(v) * 0.3,
         lambda v: anp.clip(v, -0.5, 0.7), lambda v: v - anp.max(v),
         lambda v: anp.exp(-v * v)]
BINARY = [anp.add, anp.subtract, anp.multiply, anp.logaddexp, anp.maximum, anp.minimum,
          lambda a, b: a * anp.mean(b), lambda a, b: anp.where(a > b, a, b * 2.0)]

program = programs(10)


def run(prog, x):
    last = interpret(prog, x, UNARY, BINARY)
    return last * np.linspace(0.5, 1.5, x.shape[0])


def close(got, want):
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want)
        for a, b in zip(got, want):
            close(a, b)
        return
    assert type(got) is type(want) or (np.ndim(got) == 0 and np.ndim(want) == 0)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def transformations(f, v):
    s = lambda x: anp.sum(f(x))  # noqa: E731 - scalar output
    return {
        "f": f,
        "grad": ad.grad(s),
        "grad-forward": ad.grad(s, mode="forward"),
        "value_and_grad": ad.value_and_grad(s),
        "jacfwd": ad.jacfwd(f),
        "jacrev": ad.jacrev(f),
        "hessian": ad.hessian(s),
        "jvp": lambda x: ad.jvp(f, (x,), (v,)),
        "vjp": lambda x: ad.vjp(f, x)[1](v),
        "hvp": lambda x: ad.hvp(s, x, v),
    }


@settings(max_examples=40, deadline=None)
@given(program, st.integers(0, 2 ** 31 - 1))
def test_random_programs_jit_equals_dynamic_in_every_transformation(prog, seed):
    rng = np.random.default_rng(seed)
    x0, x1, v = (rng.uniform(-1.5, 1.5, size=4) for _ in range(3))
    f = lambda x: run(prog, x)  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every one compiles: no dynamic fallback
        for name, T in transformations(f, v).items():
            j = ad.jit(T)
            close(j(x0), T(x0))
            close(j(x1), T(x1))  # traced at x0, run at x1: nothing frozen
            assert j.n_traces == 1 or len(j._cache[next(iter(j._cache))]) > 1, name


@settings(max_examples=20, deadline=None)
@given(program, st.integers(0, 2 ** 31 - 1))
def test_random_programs_grad_of_jit_both_modes(prog, seed):
    rng = np.random.default_rng(seed)
    x0, x1 = rng.uniform(-1.5, 1.5, size=4), rng.uniform(-1.5, 1.5, size=4)
    s = lambda x: anp.sum(run(prog, x))  # noqa: E731
    j = ad.jit(s)
    j(x0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for mode in ("reverse", "forward"):
            close(ad.grad(j, mode=mode)(x1), ad.grad(s, mode=mode)(x1))
        close(ad.hessian(j)(x1), ad.hessian(s)(x1))
        close(ad.jit(ad.grad(j))(x1), ad.grad(s)(x1))  # jit of grad of jit
