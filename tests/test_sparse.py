"""Sparse Jacobians and Hessians: detected patterns against dense Jacobians, colour
counts, compressed results against jacfwd / jacrev / hessian, pytrees, bad input."""

import numpy as np
import pytest
import scipy.sparse as sp

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
from admodes.dispatch import bind
from admodes.sparse import coloring
from admodes.sparse.compressed import _star_sources
from admodes.sparse.detect import detect

TOL = dict(rtol=1e-12, atol=1e-12)


def nonzeros(J):
    J = np.asarray(J)
    return J.reshape(-1, J.size // max(J.reshape(-1, *J.shape[-1:]).shape[0], 1)) != 0


def dense_jac(f, x):
    J = np.asarray(ad.jacfwd(f)(x), dtype=float)
    m = J.size // np.size(x) if np.size(x) else 0
    return J.reshape(m, np.size(x))


# ---------------------------------------------------------------- the registry --------

# Rules that are exact (pattern == nonzeros of the Jacobian at a generic point).  The
# others are exact structurally but a derivative can vanish on a region (max, abs,
# where, clip ...), or they fall back to the conservative dense rule.
EXACT = {"index", "scan", "scatter", "matmul"}


def _registry_cases():
    rng = np.random.default_rng(0)
    for name, prim in sorted(ad.registry.items()):
        if prim.domain is None or prim.nondiff:
            continue
        for k, (args, params) in enumerate(prim.domain(rng)):
            yield pytest.param(name, args, params, id=f"{name}-{k}")


@pytest.mark.parametrize("name,args,params", list(_registry_cases()))
def test_registry_patterns_cover_jacobian(name, args, params):
    """Every primitive: the detected pattern contains every non-zero of the Jacobian
    (both of jacfwd over the differentiable arguments and of the dense rule)."""
    prim = ad.registry[name]
    diff = [i for i, a in enumerate(args)
            if isinstance(a, (float, np.ndarray)) and np.asarray(a).dtype.kind == "f"]
    if not diff:
        pytest.skip("no float argument")

    def f(xs):
        full = list(args)
        for i, x in zip(diff, xs):
            full[i] = x
        return bind(prim, *full, **params)

    xs = tuple(args[i] for i in diff)
    d = detect(f, xs, "test")
    P = d.pattern.toarray()
    J = ad.jacfwd(f)(xs)
    dense = np.concatenate([np.asarray(j, float).reshape(P.shape[0], -1) for j in J], axis=1)
    assert P.shape == dense.shape
    assert not (dense != 0)[~P].any(), f"{name}: a non-zero outside the pattern"
    rule = prim.sparsity
    if d.conservative:
        assert rule is None or rule == "matmul"  # batched matmul: documented fallback
    # (cumprod's domain holds zeros: some of its Jacobian's zeros are values, not
    # structure, so its scan pattern is checked for exactness in test_coverage2.py;
    # likewise prod's partials vanish where two entries of a slice are 0)
    elif rule in EXACT and name != "cumprod" or rule == "reduce" and name in (
            "sum", "logsumexp") or (
            name == "prod" and all(np.all(np.asarray(a) != 0) for a in args)) or (
            prim.elementwise and name in ("add", "multiply", "sin", "exp", "divide", "tanh")):
        np.testing.assert_array_equal(P, dense != 0)


# ---------------------------------------------------------------- random programs -----


def _random_program(seed):
    """A random composition of indexing, shape, elementwise, reduction and product ops
    on a vector of 12, with random constants (some of them sparse matrices)."""
    rng = np.random.default_rng(seed)
    steps = []
    for _ in range(rng.integers(3, 7)):
        kind = rng.integers(0, 10)
        if kind == 0:
            shift = int(rng.integers(1, 4))
            steps.append(lambda v, r=shift: anp.concatenate([v[r:], v[:r]]))
        elif kind == 1:
            steps.append(lambda v: anp.sin(v) * v[::-1])
        elif kind == 2:
            A = rng.normal(size=(12, 12)) * (rng.random((12, 12)) < 0.15)
            steps.append(lambda v, A=A: A @ v + anp.exp(v / 4))
        elif kind == 3:
            idx = rng.integers(0, 12, 12)
            steps.append(lambda v, idx=idx: v[idx] * 1.5 + v)
        elif kind == 4:
            steps.append(lambda v: anp.pad(v[1:-1], 1) + anp.tanh(v))
        elif kind == 5:
            steps.append(lambda v: (anp.sum(v.reshape(3, 4) ** 2, axis=1, keepdims=True)
                                    + v.reshape(3, 4).T.T * 0.5).T.ravel())
        elif kind == 6:
            steps.append(lambda v: anp.cumsum(v.reshape(4, 3), axis=1).ravel() * 0.3 + v)
        elif kind == 7:
            mask = rng.random(12) < 0.5
            steps.append(lambda v, mask=mask: anp.where(mask, v ** 2, anp.cos(v)))
        elif kind == 8:
            steps.append(lambda v: (v.reshape(2, 6) * v.reshape(2, 6)[:, :1]).ravel())
        else:
            steps.append(lambda v: anp.flip(v) * anp.concatenate([v[-2:], v[:-2]]) + v)

    def f(x):
        for s in steps:
            x = s(x)
        return x

    return f


@pytest.mark.parametrize("seed", range(12))
def test_random_programs_pattern_equals_dense_nonzeros(seed):
    f = _random_program(seed)
    x = np.random.default_rng(100 + seed).uniform(0.3, 1.2, 12)
    P = ad.jacobian_sparsity(f, x).toarray()
    J = dense_jac(f, x)
    np.testing.assert_array_equal(P, J != 0)
    for mode in ("forward", "reverse", "auto"):
        np.testing.assert_allclose(ad.sparse_jacobian(f, mode)(x).toarray(), J, **TOL)


# ---------------------------------------------------------------- colour counts -------


def test_colour_counts_exact():
    u = start(200)
    rd = ad.sparse_jacobian(reaction_diffusion_1d).info(u)
    assert rd["n_colors_forward"] == 3 and rd["n_colors_reverse"] == 3
    lp = ad.sparse_jacobian(laplacian_2d).info(start(400).reshape(20, 20))
    assert lp["n_colors"] <= 7
    hs = ad.sparse_hessian(chained_rosenbrock).info(start(200))
    assert hs["n_colors"] <= 4
    assert hs["nnz"] == 200 + 2 * 199


def test_auto_picks_fewer_colours():
    x = start(60)
    row = ad.sparse_jacobian(dense_row)
    info = row.info(x)
    assert info["mode"] == "reverse" and info["n_colors"] == 2
    assert info["n_colors_other"] == 60
    col = ad.sparse_jacobian(dense_column).info(x)
    assert col["mode"] == "forward" and col["n_colors"] == 2 and col["n_colors_other"] == 60


# ---------------------------------------------------------------- compressed == dense -


@pytest.mark.parametrize("fun,shape", [(reaction_diffusion_1d, (50,)),
                                       (laplacian_2d, (9, 9)),
                                       (dense_row, (40,)), (dense_column, (40,))])
@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
def test_compressed_jacobian_equals_dense(fun, shape, mode):
    x = start(int(np.prod(shape))).reshape(shape)
    J = ad.sparse_jacobian(fun, mode=mode)(x)
    assert sp.issparse(J) and J.format == "csr"
    dense_f = np.asarray(ad.jacfwd(fun)(x)).reshape(J.shape)
    dense_r = np.asarray(ad.jacrev(fun)(x)).reshape(J.shape)
    np.testing.assert_allclose(J.toarray(), dense_f, **TOL)
    np.testing.assert_allclose(J.toarray(), dense_r, **TOL)


def arrowhead(x):
    return anp.sum(x[0] * x ** 2) + anp.sum(anp.sin(x[1:] * x[:-1])) + anp.sum(x ** 4)


def quartic_pairs(x):
    return anp.sum((x[::2] * x[1::2]) ** 2) + anp.sum(anp.exp(x[3:] - x[:-3]))


@pytest.mark.parametrize("fun,n", [(chained_rosenbrock, 30), (arrowhead, 25),
                                   (quartic_pairs, 20)])
def test_compressed_hessian_equals_dense(fun, n):
    x = start(n)
    sh = ad.sparse_hessian(fun)
    H = sh(x)
    want = ad.hessian(fun)(x)
    np.testing.assert_allclose(H.toarray(), want, **TOL)
    assert (H != H.T).nnz == 0  # exactly symmetric
    pattern = ad.hessian_sparsity(fun, x).toarray()
    assert not ((want != 0) & ~pattern).any()
    if fun is arrowhead:
        info = sh.info(x)  # hub + tridiagonal band: a star colouring, not n as distance-2
        assert info["n_colors"] <= 4 and info["n_colors_distance2"] == n


def test_hessian_pattern_uses_linearity():
    # x0 * x1 interacts, x2 enters linearly and x3 only through a linear map: no
    # second-order entries for them
    f = lambda x: x[0] * x[1] + 3.0 * x[2] + anp.sum(anp.sin(x[:2])) + (x[3] * 2.0)
    P = ad.hessian_sparsity(f, np.ones(4)).toarray().astype(int)
    np.testing.assert_array_equal(P, [[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]])


# ---------------------------------------------------------------- pytrees -------------


def test_pytree_inputs():
    def f(p):
        return anp.concatenate([p["a"][1:] * p["a"][:-1], anp.sin(p["a"][:1]) * p["b"]])

    p = {"a": start(6), "b": 0.7}
    J = ad.sparse_jacobian(f, "reverse")(p)
    assert J.shape == (6, 7)  # columns: a (6 entries) then b (sorted keys)
    Ja, Jb = ad.jacfwd(f)(p)["a"], ad.jacfwd(f)(p)["b"]
    np.testing.assert_allclose(J.toarray(), np.column_stack([Ja, Jb]), **TOL)
    np.testing.assert_allclose(ad.sparse_jacobian(f, "forward")(p).toarray(), J.toarray(), **TOL)

    g = lambda p: chained_rosenbrock(p["a"]) + p["b"] ** 2 * p["a"][0]
    H = ad.sparse_hessian(g)(p).toarray()
    Hd = ad.hessian(g)(p)
    full = np.block([[Hd["a"]["a"], np.asarray(Hd["a"]["b"]).reshape(6, 1)],
                     [np.asarray(Hd["b"]["a"]).reshape(1, 6), np.reshape(Hd["b"]["b"], (1, 1))]])
    np.testing.assert_allclose(H, full, **TOL)


# ---------------------------------------------------------------- caching, fallbacks --


def test_pattern_cached_per_shape_and_value_dependence_redetects():
    sj = ad.sparse_jacobian(reaction_diffusion_1d)
    sj(start(10))
    sj(start(12))
    assert len(sj._plans) == 2 and sj.info(start(10))["pattern_cached"]

    def branchy(x):
        return x[1:] * x[:-1] if x[0] > 0 else anp.sin(x)

    sb = ad.sparse_jacobian(branchy)
    for x in (np.array([1.0, 2.0, 3.0]), np.array([-1.0, 2.0, 3.0])):
        np.testing.assert_allclose(sb(x).toarray(), dense_jac(branchy, x), **TOL)
    info = sb.info(np.array([1.0, 2.0, 3.0]))
    assert not info["pattern_cached"] and info["value_dependent"]


def test_conservative_fallback_is_dense_and_reported():
    A = np.eye(4) + 0.1

    def f(x):
        return ad.numpy.linalg.solve(A, x[:4]) if hasattr(ad.numpy, "linalg") else x

    x = start(6)
    sj = ad.sparse_jacobian(f)
    P = ad.jacobian_sparsity(f, x).toarray()
    assert P[:, :4].all() and not P[:, 4:].any()
    np.testing.assert_allclose(sj(x).toarray(), dense_jac(f, x), **TOL)
    assert sj.info(x)["conservative"] == ["solve"]


def test_known_sparsity_is_used():
    n = 8
    P = sp.diags_array([np.ones(n - 1), np.ones(n), np.ones(n - 1)], offsets=[-1, 0, 1])
    sj = ad.sparse_jacobian(reaction_diffusion_1d, sparsity=P)
    x = start(n)
    np.testing.assert_allclose(sj(x).toarray(), dense_jac(reaction_diffusion_1d, x), **TOL)


# ---------------------------------------------------------------- colourings ----------


@pytest.mark.parametrize("seed", range(6))
def test_colourings_valid_on_random_patterns(seed):
    rng = np.random.default_rng(seed)
    P = sp.random_array((40, 50), density=0.08, rng=rng)
    c = coloring.color_columns(P)
    assert coloring.is_column_coloring(P, c)
    r = coloring.color_rows(P)
    assert coloring.is_column_coloring(P.T, r)
    S = sp.random_array((50, 50), density=0.06, rng=rng)
    S = S + S.T
    assert coloring.is_star_coloring(S, coloring.star_coloring(S))


def test_star_decompression_rejects_a_bad_colouring():
    A = sp.csr_array(np.array([[1, 1, 0, 0], [1, 1, 1, 0], [0, 1, 1, 1], [0, 0, 1, 1]]))
    with pytest.raises(ValueError, match="not recoverable"):
        _star_sources(A, np.array([0, 1, 0, 1]))  # a two-coloured path on 4 vertices


def test_colouring_large_n_runs():
    n = 200_000
    P = sp.diags_array([np.ones(n - 1), np.ones(n), np.ones(n - 1)], offsets=[-1, 0, 1])
    assert coloring.color_columns(P).max() + 1 == 3
    assert coloring.star_coloring(P).max() + 1 == 3


# ---------------------------------------------------------------- bad input -----------


def test_bad_input():
    with pytest.raises(ValueError, match="unknown mode"):
        ad.sparse_jacobian(reaction_diffusion_1d, mode="sideways")
    with pytest.raises(ValueError, match="columns but the input has 6"):
        ad.sparse_jacobian(reaction_diffusion_1d, sparsity=sp.eye_array(5))(start(6))
    with pytest.raises(ValueError, match="rows but the function returned 6"):
        ad.sparse_jacobian(reaction_diffusion_1d, sparsity=np.ones((5, 6)))(start(6))
    with pytest.raises(TypeError, match="sparse_hessian.*scalar"):
        ad.sparse_hessian(reaction_diffusion_1d)(start(6))
    with pytest.raises(TypeError, match="bool"):
        ad.jacobian_sparsity(lambda x: x, np.array([True, False]))
    with pytest.raises(ValueError, match="square"):
        ad.sparse_hessian(chained_rosenbrock, sparsity=np.ones((3, 4)))
    with pytest.raises(TypeError, match="sparsity="):
        ad.sparse_jacobian(reaction_diffusion_1d, sparsity="tridiagonal")
