"""ad.jit of sparse Jacobians and Hessians: compiled results against dense jacfwd /
jacrev / hessian (fixed problems, random programs, pytrees), the plan computed once and
kept out of the program, value-dependent patterns, result independence, bad input."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from test_sparse import _random_program, arrowhead, dense_jac, quartic_pairs

import admodes as ad
import admodes.numpy as anp
from admodes.bench.sparse_problems import (
    chained_rosenbrock,
    dense_column,
    dense_row,
    laplacian_2d,
    reaction_diffusion_1d,
    start,
)
from admodes.graph.jit import JitFallbackWarning
from admodes.sparse import compressed
from admodes.sparse.jitted import JittedSparse

TOL = dict(rtol=1e-12, atol=1e-12)


@pytest.fixture(autouse=True)
def no_fallback():
    # a compiled sparse derivative must compile: a JitFallbackWarning fails the test
    with warnings.catch_warnings():
        warnings.simplefilter("error", JitFallbackWarning)
        yield


@pytest.mark.parametrize("fun,shape", [(reaction_diffusion_1d, (50,)),
                                       (laplacian_2d, (9, 9)),
                                       (dense_row, (40,)), (dense_column, (40,))])
@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
def test_jit_jacobian_equals_dense(fun, shape, mode):
    x = start(int(np.prod(shape))).reshape(shape)
    sj = ad.sparse_jacobian(fun, mode=mode)
    jj = ad.jit(sj)
    assert isinstance(jj, JittedSparse)
    for point in (x, 1.3 * x):  # the second call runs the cached program at a new point
        J = jj(point)
        assert sp.issparse(J) and J.format == "csr"
        want = np.asarray(ad.jacfwd(fun)(point)).reshape(J.shape)
        np.testing.assert_allclose(J.toarray(), want, **TOL)
        np.testing.assert_allclose(J.toarray(), np.asarray(ad.jacrev(fun)(point)).reshape(J.shape),
                                   **TOL)
        assert jj.info(point) == sj.info(point)
    assert jj.n_traces == 1


@pytest.mark.parametrize("fun,n", [(chained_rosenbrock, 30), (arrowhead, 25),
                                   (quartic_pairs, 20)])
def test_jit_hessian_equals_dense(fun, n):
    x = start(n)
    jh = ad.jit(ad.sparse_hessian(fun))
    for point in (x, x[::-1].copy()):
        H = jh(point)
        np.testing.assert_allclose(H.toarray(), ad.hessian(fun)(point), **TOL)
        assert (H != H.T).nnz == 0
    assert jh.n_traces == 1
    assert jh.info(x)["mode"] == "forward-over-reverse"


@pytest.mark.parametrize("seed", range(8))
def test_jit_random_programs(seed):
    f = _random_program(seed)
    x = np.random.default_rng(100 + seed).uniform(0.3, 1.2, 12)
    J = dense_jac(f, x)
    for mode in ("forward", "reverse"):
        np.testing.assert_allclose(ad.jit(ad.sparse_jacobian(f, mode))(x).toarray(), J, **TOL)


def test_jit_pytree_inputs():
    def f(p):
        return anp.concatenate([p["a"][1:] * p["a"][:-1], anp.sin(p["a"][:1]) * p["b"]])

    p = {"a": start(6), "b": 0.7}
    want = ad.sparse_jacobian(f, "forward")(p).toarray()
    np.testing.assert_allclose(np.column_stack([ad.jacfwd(f)(p)["a"], ad.jacfwd(f)(p)["b"]]),
                               want, **TOL)
    for mode in ("forward", "reverse"):
        np.testing.assert_allclose(ad.jit(ad.sparse_jacobian(f, mode))(p).toarray(), want, **TOL)
    g = lambda p: chained_rosenbrock(p["a"]) + p["b"] ** 2 * p["a"][0]
    np.testing.assert_allclose(ad.jit(ad.sparse_hessian(g))(p).toarray(),
                               ad.sparse_hessian(g)(p).toarray(), **TOL)


def test_plan_once_per_signature_and_outside_the_program(monkeypatch):
    calls = []
    real = compressed.detect
    monkeypatch.setattr(compressed, "detect", lambda *a, **k: calls.append(1) or real(*a, **k))
    sj = ad.sparse_jacobian(reaction_diffusion_1d)
    jj = ad.jit(sj)
    for s in range(4):
        jj(start(20, seed=s))
    assert len(calls) == 1 and jj.n_traces == 1
    jj(start(30))  # a new shape: one more detection, one more program
    assert len(calls) == 2 and jj.n_traces == 2
    src = jj.source(start(20))
    # the program: the residual's nonlinear part, its tangents and the gather; the
    # linear stencil's tangents are constants folded at compile time
    assert src.count("def ") == 1 and "getitem" in src
    assert "pad(" not in src  # the stencil's tangent (x-independent) is folded
    assert len(calls) == 2


def test_results_are_independent_and_structure_read_only():
    jj = ad.jit(ad.sparse_jacobian(reaction_diffusion_1d))
    x1, x2 = start(15), start(15, seed=1)
    J1 = jj(x1)
    J2 = jj(x2)
    np.testing.assert_allclose(J1.toarray(), dense_jac(reaction_diffusion_1d, x1), **TOL)
    assert not np.shares_memory(J1.data, J2.data)
    J1.data *= 2.0  # the data is the caller's
    np.testing.assert_allclose(jj(x2).toarray(), J2.toarray(), **TOL)
    with pytest.raises(ValueError, match="read-only"):
        J1.indices[0] = 1  # the structure is the plan's, shared
    J3 = J1.copy()
    J3.indices[:] = J3.indices  # a copy owns its structure
    for J in (J1, ad.sparse_jacobian(reaction_diffusion_1d)(x1), ad.sparse_hessian(
            chained_rosenbrock)(x1)):
        assert (J @ np.ones(15)).shape == (J.shape[0],)
        assert (J + J.T).shape == J.shape and J.tocsc().nnz == J.nnz


def test_value_dependent_patterns_get_one_program_each():
    def branchy(x):
        return x[1:] * x[:-1] if x[0] > 0 else anp.sin(x)

    jj = ad.jit(ad.sparse_jacobian(branchy))
    for x in (np.array([1.0, 2.0, 3.0]), np.array([-1.0, 2.0, 3.0]),
              np.array([2.0, 0.5, 3.0])):
        np.testing.assert_allclose(jj(x).toarray(), dense_jac(branchy, x), **TOL)
    assert jj.n_traces == 2  # two patterns, two programs; the third call reuses the first
    assert not jj.info(np.array([1.0, 2.0, 3.0]))["pattern_cached"]

    # a comparison marks the detection value-dependent, but the pattern repeats: its
    # colouring and program are reused
    g = lambda x: anp.where(x > 0.5, x ** 2, anp.sin(x))
    sg = ad.sparse_jacobian(g)
    jg = ad.jit(sg)
    x = start(8)
    for s in (1.0, 0.5, 2.0):
        np.testing.assert_allclose(jg(s * x).toarray(), dense_jac(g, s * x), **TOL)
    assert jg.n_traces == 1 and len(sg._redetected) == 1


def test_jit_of_constant_and_empty_patterns():
    x = start(5)
    for mode in ("forward", "reverse"):
        J = ad.jit(ad.sparse_jacobian(lambda x: np.ones(3), mode))(x)
        assert J.shape == (3, 5) and J.nnz == 0
    H = ad.jit(ad.sparse_hessian(lambda x: 3.0 * anp.sum(x)))(x)
    assert H.shape == (5, 5) and H.nnz == 0


def test_jit_bad_input():
    sj = ad.sparse_jacobian(reaction_diffusion_1d)
    with pytest.raises(TypeError, match="apply ad.jit to it directly"):
        ad.jit(lambda x: sj(x))(start(6))
    with pytest.raises(TypeError, match="cannot carry a trace"):
        ad.grad(lambda x: sj(x).sum())(start(6))
    with pytest.raises(TypeError, match="static_argnums"):
        ad.jit(sj, static_argnums=1)
    jj = ad.jit(ad.sparse_jacobian(reaction_diffusion_1d, sparsity=np.ones((5, 6))))
    for _ in range(2):  # a failed trace leaves no program behind: it fails again
        with pytest.raises(ValueError, match="rows but the function returned 6"):
            jj(start(6))
    with pytest.raises(TypeError, match="bool"):
        jj(np.array([True, False]))
    np.testing.assert_allclose(
        ad.jit(ad.sparse_jacobian(reaction_diffusion_1d))(start(6)).toarray(),
        dense_jac(reaction_diffusion_1d, start(6)), **TOL)


def test_trace_of_concatenate():
    # concatenate's rules are variadic (one rule for every argument); tracing it under
    # ad.jit used to fail while asking whether an argument has a rule
    f = lambda x: anp.sum(anp.concatenate([x, x ** 2]) ** 2)
    x = start(4)
    np.testing.assert_allclose(ad.jit(f)(x), f(x), **TOL)
    np.testing.assert_allclose(ad.jit(ad.grad(f))(x), ad.grad(f)(x), **TOL)
