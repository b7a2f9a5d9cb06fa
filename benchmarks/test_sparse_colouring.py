"""Sparse Jacobians and Hessians by colouring at n = 10**4 (the report measures 10**5),
dynamic and under ``ad.jit``: ``pytest benchmarks --benchmark-enable -k sparse``.  Each
also checks its result against the dense one on a small copy of the problem."""

import numpy as np
import pytest

import admodes as ad
from admodes.bench.sparse_problems import chained_rosenbrock, reaction_diffusion_1d, start

N = 10_000
U = start(N)
SJ = ad.sparse_jacobian(reaction_diffusion_1d)
SJ(U)
SH = ad.sparse_hessian(chained_rosenbrock)
SH(U)
JJ = ad.jit(SJ)  # the compiled compressed evaluations (plans shared with SJ, SH)
JJ(U)
JH = ad.jit(SH)
JH(U)


@pytest.mark.benchmark(group="sparse: 1-D residual, n = 1e4")
def test_residual_f(benchmark):
    assert benchmark(reaction_diffusion_1d, U).shape == (N,)


@pytest.mark.benchmark(group="sparse: 1-D residual, n = 1e4")
def test_residual_sparse_jacobian(benchmark):
    J = benchmark(SJ, U)
    assert J.nnz == 3 * N - 2 and SJ.info(U)["n_colors"] == 3
    small = start(40)
    np.testing.assert_allclose(SJ(small).toarray(), ad.jacfwd(reaction_diffusion_1d)(small),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.benchmark(group="sparse: 1-D residual, n = 1e4")
def test_residual_sparse_jacobian_jit(benchmark):
    J = benchmark(JJ, U)
    assert J.nnz == 3 * N - 2
    np.testing.assert_allclose(J.data, SJ(U).data, rtol=1e-12, atol=1e-12)
    small = start(40)
    np.testing.assert_allclose(JJ(small).toarray(), ad.jacfwd(reaction_diffusion_1d)(small),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.benchmark(group="sparse: 1-D residual, n = 1e4")
def test_residual_detection(benchmark):
    assert benchmark(ad.jacobian_sparsity, reaction_diffusion_1d, U).nnz == 3 * N - 2


@pytest.mark.benchmark(group="sparse: chained Rosenbrock Hessian, n = 1e4")
def test_rosenbrock_f(benchmark):
    benchmark(chained_rosenbrock, U)


@pytest.mark.benchmark(group="sparse: chained Rosenbrock Hessian, n = 1e4")
def test_rosenbrock_sparse_hessian(benchmark):
    H = benchmark(SH, U)
    assert H.nnz == 3 * N - 2
    small = start(30)
    np.testing.assert_allclose(SH(small).toarray(), ad.hessian(chained_rosenbrock)(small),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.benchmark(group="sparse: chained Rosenbrock Hessian, n = 1e4")
def test_rosenbrock_sparse_hessian_jit(benchmark):
    H = benchmark(JH, U)
    np.testing.assert_allclose(H.data, SH(U).data, rtol=1e-12, atol=1e-12)
    small = start(30)
    np.testing.assert_allclose(JH(small).toarray(), ad.hessian(chained_rosenbrock)(small),
                               rtol=1e-12, atol=1e-12)
