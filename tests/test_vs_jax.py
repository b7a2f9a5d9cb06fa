"""Differential tier: random programs compared with JAX (float64) in every transformation.

Runs only when JAX is installed (the ``[compare]`` extra); skipped cleanly otherwise.

One op vocabulary is written ONCE against a namespace ``X`` (``X.np`` is
``admodes.numpy`` or ``jax.numpy``; ``X.relu`` etc. fill the few names the two spell
differently), so the admodes program and the JAX program are the same text.  Hypothesis
draws programs (a list of steps over the values computed so far) and a pytree of inputs
with leaves of shapes ``()``, ``(1,)``, ``(3,)``, ``(2, 3)``; that shape set, with the
``(2, 1)``/``(1, 3)``/``(1, 1)`` of keepdims reductions, is closed under broadcasting, so
any two values can meet in a binary op.  Input values come from a seeded generator, so
kinks (``where``, ``maximum``, ``clip``, ``relu``, ``abs``, ``max``, ``sort``) are met at
generic points; the conventions at the kinks themselves are pinned separately at the end.

Tolerance: ``rtol = 1e-10`` with ``atol = 1e-10 * (1 + max |reference|)`` per array.  Both
libraries evaluate the same formulas in float64 (eps = 2.2e-16) but in different orders
(pairwise vs. sequential sums, LAPACK vs. XLA kernels, different but equivalent rule
algebra); a program here has at most ~12 ops and its linear algebra is built to have
condition numbers below ~10, so rounding differences stay around 1e-13 relative to the
largest entry.  The atol term covers entries that are sums of cancelling terms (tiny
relative to the array, not to themselves).  A wrong rule is off by O(1): ten orders of
magnitude above the tolerance.
"""

import os
import types
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import jax.scipy.special as jss  # noqa: E402

import admodes as ad  # noqa: E402
import admodes.numpy as anp  # noqa: E402

RTOL = 1e-10

AD = types.SimpleNamespace(np=anp, relu=anp.relu, sigmoid=anp.sigmoid,
                           softplus=anp.softplus, logsumexp=anp.logsumexp)
JX = types.SimpleNamespace(np=jnp, relu=jax.nn.relu, sigmoid=jax.nn.sigmoid,
                           softplus=jax.nn.softplus, logsumexp=jss.logsumexp)


# ------------------------------------------------------------------ the vocabulary ---
def _nd(X, a):
    return len(X.np.shape(a))


def _last_axis(op):
    """``op`` along the last axis; 0-d values (which have none) get ``1.5 * a``."""
    return lambda X, a: op(X, a) if _nd(X, a) else 1.5 * a


def _matrix(X, a, symmetric=False):
    """A well-conditioned k x k matrix from the k entries of ``a``: diag(2, 4, .., 2k)
    plus a perturbation with entries below 0.1, so (Weyl) its singular values / its
    eigenvalues stay within 0.1 k <= 0.6 of 2, 4, .., 2k: condition number <= ~9, and
    eigenvalue gaps >= 0.8 (eigvalsh is differentiable, not at a tie)."""
    u = X.np.reshape(a, (-1,))
    k = X.np.shape(u)[0]
    v = u if symmetric else X.np.flip(u) * 0.7 + 0.3
    return np.diag(2.0 * np.arange(1, k + 1)) + 0.1 * X.np.tanh(X.np.outer(u, v))


def _back(X, vec, a):
    return X.np.reshape(vec, X.np.shape(a))


def _contract(X, a, b):
    """matmul / einsum on a and b broadcast to their common shape."""
    shape = np.broadcast_shapes(X.np.shape(a), X.np.shape(b))
    A, B = X.np.broadcast_to(a, shape), X.np.broadcast_to(b, shape)
    if len(shape) == 0:
        return A * B
    if len(shape) == 1:
        return 0.3 * A * X.np.matmul(A, B)
    return 0.1 * X.np.matmul(X.np.matmul(A, X.np.transpose(B)), A)


def _einsum(X, a):
    if _nd(X, a) == 2:
        return 0.05 * X.np.einsum("ij,kj,kl->il", a, a, a)
    if _nd(X, a) == 1:
        return 0.2 * X.np.einsum("i,i,j->j", a, a, a)
    return 0.2 * a * a * a


def _eigvalsh(X, a):
    """A weighted sum of the (ascending, separated) eigenvalues of a symmetric matrix.

    numpy's eigvalsh reads only the lower triangle and JAX's symmetrises its input: the
    two functions differ off the symmetric matrices, so the matrix is symmetric by
    construction (then both derivatives agree through the chain rule)."""
    w = X.np.linalg.eigvalsh(_matrix(X, a, symmetric=True))
    return X.np.sum(w * np.arange(1.0, X.np.shape(w)[0] + 1.0))


def _fft_filter(X, a):
    """real -> complex -> real: rfft, a complex gain per frequency, irfft."""
    u = X.np.reshape(a, (-1,))
    n = X.np.shape(u)[0]
    gain = 1.0 + 0.5j * np.arange(n // 2 + 1)
    return _back(X, X.np.fft.irfft(X.np.fft.rfft(u) * gain, n=n), a)


def _fft_energy(X, a):
    s = X.np.fft.fft(X.np.reshape(a, (-1,)) * 0.7 + 0.2)
    return X.np.sum(X.np.real(s) * X.np.imag(s)) + 0.1 * X.np.sum(X.np.abs(s) ** 2)


UNARY = {
    "sin": lambda X, a: X.np.sin(a),
    "cos": lambda X, a: X.np.cos(a),
    "tanh": lambda X, a: X.np.tanh(a),
    "arctan": lambda X, a: X.np.arctan(a),
    "sigmoid": lambda X, a: X.sigmoid(a),
    "softplus": lambda X, a: X.softplus(a),
    "exp": lambda X, a: X.np.exp(-X.np.square(a)),
    "log1p": lambda X, a: X.np.log1p(X.np.square(a)),
    "log": lambda X, a: X.np.log(1.5 + X.np.sin(a)),
    "sqrt": lambda X, a: X.np.sqrt(1.0 + a * a),
    "reciprocal": lambda X, a: a / (1.0 + a * a),
    "power": lambda X, a: 0.2 * a ** 3,
    "negative": lambda X, a: -a,
    "relu": lambda X, a: X.relu(a - 0.1),
    # abs at a generic point: the shift keeps a structural zero (a - a) off its kink,
    # where admodes (PyTorch) and JAX differ; see test_conventions_admodes_keeps_its_own.
    "abs": lambda X, a: X.np.abs(a - 0.37),
    # clip's output is scaled so that clipping it again never lands exactly on a bound
    # (at a bound admodes passes the gradient, JAX splits it: see the convention tests).
    "clip": lambda X, a: 1.05 * X.np.clip(a, -0.8, 0.9),
    "where": lambda X, a: X.np.where(a > 0.2, a, 0.5 * a * a - 0.3),
    # shape ops
    "flip": _last_axis(lambda X, a: X.np.flip(a, -1)),
    "roll": _last_axis(lambda X, a: X.np.roll(a, 1, axis=-1)),
    "reverse_slice": _last_axis(lambda X, a: a[..., ::-1] * 0.9),
    "first_column": _last_axis(lambda X, a: a[..., :1] - 0.2),
    "cumsum": _last_axis(lambda X, a: 0.5 * X.np.cumsum(a, axis=-1)),
    "sort": _last_axis(lambda X, a: X.np.sort(a, axis=-1)),
    "concat_slice": _last_axis(lambda X, a: X.np.concatenate([a, 2.0 * a], axis=-1)
                               [..., 1:1 + X.np.shape(a)[-1]]),
    "transpose_reshape": lambda X, a: _back(X, X.np.transpose(a), a),
    "sum_keepdims": _last_axis(lambda X, a: X.np.sum(a, axis=-1, keepdims=True)),
    "max_keepdims": _last_axis(lambda X, a: X.np.max(a, axis=-1, keepdims=True)),
    "mean_axis0": _last_axis(lambda X, a: X.np.mean(a, axis=0, keepdims=True)),
    "einsum": _einsum,
    # linear algebra and fft, shape-preserving
    "solve": lambda X, a: _back(X, X.np.linalg.solve(_matrix(X, a), X.np.reshape(a, (-1,))), a),
    "inv": lambda X, a: _back(X, X.np.matmul(X.np.linalg.inv(_matrix(X, a)),
                                             X.np.reshape(a, (-1,)) + 1.0), a),
    "fft_filter": _fft_filter,
}

REDUCE = {
    "sum": lambda X, a: X.np.sum(a),
    "mean": lambda X, a: X.np.mean(a),
    "max": lambda X, a: X.np.max(a),
    "min": lambda X, a: X.np.min(a),
    "prod": lambda X, a: X.np.prod(0.5 + X.sigmoid(a)),
    "logsumexp": lambda X, a: X.logsumexp(a),
    "var": lambda X, a: X.np.var(a),
    "norm": lambda X, a: X.np.linalg.norm(a),
    "det": lambda X, a: X.np.linalg.det(_matrix(X, a)),
    "slogdet": lambda X, a: X.np.linalg.slogdet(_matrix(X, a))[1],
    "eigvalsh": lambda X, a: _eigvalsh(X, a),
    "fft_energy": _fft_energy,
}

BINARY = {
    "add": lambda X, a, b: a + b,
    "subtract": lambda X, a, b: a - b,
    "multiply": lambda X, a, b: a * b,
    "divide": lambda X, a, b: a / (1.0 + b * b),
    "power": lambda X, a, b: (1.0 + a * a) ** (0.5 * X.np.tanh(b)),
    "maximum": lambda X, a, b: X.np.maximum(a, b),
    "minimum": lambda X, a, b: X.np.minimum(a, b),
    "where": lambda X, a, b: X.np.where(a > b, a, 2.0 * b),
    "logaddexp": lambda X, a, b: X.np.logaddexp(a, b),
    "arctan2": lambda X, a, b: X.np.arctan2(a, b + 2.0),
    "contract": _contract,
}

OPS = ([("unary", k) for k in UNARY] + [("reduce", k) for k in REDUCE]
       + [("binary", k) for k in BINARY])
SHAPES = [(), (1,), (3,), (2, 3)]


# ------------------------------------------------------------------ random programs ---
# A step is (op, i, j): apply OPS[op] to the values numbered i and j (mod how many
# exist).  Values 0..3 are the input leaves x, tree["w"], tree["b"][0], tree["b"][1].
step = st.tuples(st.integers(0, len(OPS) - 1), st.integers(0, 99), st.integers(0, 99))
programs = st.lists(step, min_size=1, max_size=8)
shapes = st.tuples(*[st.sampled_from(SHAPES)] * 4)
seeds = st.integers(0, 2 ** 31 - 1)


def examples(n):
    """Bounded examples, no deadline (JAX's eager dispatch is slow and uneven)."""
    return settings(max_examples=n, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def run(X, prog, x, tree):
    vals = [x, tree["w"], tree["b"][0], tree["b"][1]]
    for op, i, j in prog:
        kind, name = OPS[op]
        a, b = vals[i % len(vals)], vals[j % len(vals)]
        if kind == "unary":
            vals.append(UNARY[name](X, a))
        elif kind == "reduce":
            vals.append(REDUCE[name](X, a))
        else:
            vals.append(BINARY[name](X, a, b))
    return vals


def programs_for(prog):
    """The same program for both libraries: scalar ``f``, ``f_aux`` (has_aux), and a
    pytree-valued ``g`` for the Jacobian transformations."""
    def make(X):
        def f(x, tree):
            last = run(X, prog, x, tree)[-1]
            return X.np.sum(X.np.sin(1.3 * last + 0.2) + 0.5 * last)

        def f_aux(x, tree):
            vals = run(X, prog, x, tree)
            last = vals[-1]
            return X.np.sum(X.np.sin(1.3 * last + 0.2) + 0.5 * last), {"last": last, "n": 3.0 * vals[4]}

        def g(x, tree):
            vals = run(X, prog, x, tree)
            return vals[-1], {"mid": vals[(len(vals) + 4) // 2]}

        def g_aux(x, tree):
            vals = run(X, prog, x, tree)
            return vals[-1], [vals[4] * 2.0]
        return types.SimpleNamespace(f=f, f_aux=f_aux, g=g, g_aux=g_aux)
    return make(AD), make(JX)


def inputs(shape4, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    leaf = [rng.uniform(-1.5, 1.5, size=s).astype(dtype) for s in shape4]
    return leaf[0], {"w": leaf[1], "b": (leaf[2], leaf[3])}


def like(args, seed):
    """Random tangents / directions of the structure and shapes of ``args``."""
    rng = np.random.default_rng(seed)
    return jax.tree_util.tree_map(lambda t: rng.normal(size=np.shape(t)), args)


def assert_tree_close(ours, ref, what):
    """Same pytree structure, shapes and dtypes; values within RTOL (see the module
    docstring for the tolerance)."""
    s_ours, s_ref = jax.tree_util.tree_structure(ours), jax.tree_util.tree_structure(ref)
    assert s_ours == s_ref, f"{what}: structure {s_ours} != JAX's {s_ref}"
    for k, (a, r) in enumerate(zip(jax.tree_util.tree_leaves(ours), jax.tree_util.tree_leaves(ref))):
        a, r = np.asarray(a), np.asarray(r)
        assert a.shape == r.shape, f"{what} leaf {k}: shape {a.shape} != JAX's {r.shape}"
        assert a.dtype == r.dtype, f"{what} leaf {k}: dtype {a.dtype} != JAX's {r.dtype}"
        atol = RTOL * (1.0 + (np.max(np.abs(r)) if r.size else 0.0))
        np.testing.assert_allclose(a, r, rtol=RTOL, atol=atol, err_msg=f"{what} leaf {k}")


def reference_ok(J, x, tree):
    """Skip draws whose values leave a sane range (a chain of multiplications can
    overflow); the comparison itself is never relaxed."""
    vals = jax.tree_util.tree_leaves(run(JX, J.prog, x, tree))
    return all(np.all(np.isfinite(v)) and np.max(np.abs(v), initial=0.0) < 1e4 for v in vals)


def setup(prog, shape4, seed):
    A, J = programs_for(prog)
    J.prog = prog
    x, tree = inputs(shape4, seed)
    assume(reference_ok(J, x, tree))
    return A, J, x, tree


# ---------------------------------------------------------------- JAX's reference ---
# JAX compiles every (primitive, shape) on first use, ~0.1-1 s each on this machine, so
# a program costs three JAX transformations per point: the value, aux and gradient of
# f, the Jacobian of the pytree-valued g (with g's values), and the Hessian of f.  Every
# admodes transformation is compared with these blocks: jvp with J t, vjp with cᵀ J, hvp
# with H v (a contraction of at most four blocks: rounding ~1e-16 relative).
def reference(J, x, tree):
    (value, aux), grad = jax.value_and_grad(J.f_aux, argnums=(0, 1), has_aux=True)(x, tree)
    jac, (out, out_aux) = jax.jacrev(lambda *a: (J.g(*a), (J.g(*a), J.g_aux(*a)[1])),
                                     argnums=(0, 1), has_aux=True)(x, tree)
    hess = jax.hessian(J.f, argnums=(0, 1))(x, tree)
    return types.SimpleNamespace(value=value, aux=aux, grad=grad, jac=jac, out=out,
                                 out_aux=out_aux, hess=hess)


def _np(t):
    return jax.tree_util.tree_map(np.asarray, t)


def blocks(jac, out, args):
    """The Jacobian as rows (one per output leaf) of blocks (one per input leaf)."""
    rows = jax.tree_util.tree_structure(out).flatten_up_to(jac)
    return [[np.asarray(b) for b in jax.tree_util.tree_leaves(r)] for r in rows]


def apply_jac(jac, out, args, tangents):
    """J t: the JVP JAX's Jacobian gives."""
    ts = [np.asarray(t) for t in jax.tree_util.tree_leaves(tangents)]
    rows = [sum(np.tensordot(b, t, axes=t.ndim) for b, t in zip(row, ts))
            for row in blocks(jac, out, args)]
    return jax.tree_util.tree_structure(out).unflatten(rows)


def transpose_jac(jac, out, args, cotangent):
    """cᵀ J: the VJP JAX's Jacobian gives, in the structure of ``args``."""
    cs = [np.asarray(c) for c in jax.tree_util.tree_leaves(cotangent)]
    rows = blocks(jac, out, args)
    cols = [sum(np.tensordot(c, row[i], axes=c.ndim) for c, row in zip(cs, rows))
            for i in range(len(rows[0]))]
    return jax.tree_util.tree_structure(args).unflatten(cols)


def pick(jac, out, k):
    """The Jacobian with respect to argument ``k`` alone (argnums=k)."""
    outer = jax.tree_util.tree_structure(out)
    return outer.unflatten([row[k] for row in outer.flatten_up_to(jac)])


# ---------------------------------------------------- every transformation, per program ---
@examples(6)
@given(programs, shapes, seeds)
def test_random_programs_match_jax_in_every_transformation(prog, shape4, seed):
    A, J, x, tree = setup(prog, shape4, seed)
    R = reference(J, x, tree)
    args = (x, tree)

    # first order: grad (both modes), value_and_grad, has_aux
    for mode in ("reverse", "forward"):
        assert_tree_close(ad.grad(A.f, argnums=(0, 1), mode=mode)(x, tree), R.grad, f"grad {mode}")
        assert_tree_close(ad.value_and_grad(A.f, argnums=1, mode=mode)(x, tree),
                          (R.value, R.grad[1]), f"value_and_grad {mode}")
        assert_tree_close(ad.grad(A.f_aux, argnums=(0, 1), mode=mode, has_aux=True)(x, tree),
                          (R.grad, R.aux), f"grad has_aux {mode}")
    assert_tree_close(ad.value_and_grad(A.f_aux, has_aux=True)(x, tree),
                      ((R.value, R.aux), R.grad[0]), "value_and_grad has_aux")

    # jvp and vjp (the tape swept twice), with and without aux
    tangents = like(args, seed + 1)
    assert_tree_close(ad.jvp(A.g, args, tangents),
                      (R.out, apply_jac(R.jac, R.out, args, tangents)), "jvp")
    out, vjp_fun = ad.vjp(A.g, x, tree)
    assert_tree_close(out, R.out, "vjp value")
    for k in (2, 3):
        ct = like(R.out, seed + k)
        assert_tree_close(vjp_fun(ct), transpose_jac(R.jac, R.out, args, ct), f"vjp sweep {k - 1}")
    out, vjp_fun, aux = ad.vjp(A.g_aux, x, tree, has_aux=True)
    ct = like(R.out[0], seed + 4)
    jac0 = jax.tree_util.tree_structure(R.out).flatten_up_to(R.jac)[0]
    assert_tree_close((out, aux, vjp_fun(ct)),
                      (R.out[0], R.out_aux, transpose_jac(jac0, R.out[0], args, ct)), "vjp has_aux")

    # Jacobians
    assert_tree_close(ad.jacfwd(A.g, argnums=(0, 1))(x, tree), R.jac, "jacfwd")
    assert_tree_close(ad.jacrev(A.g, argnums=(0, 1))(x, tree), R.jac, "jacrev")
    assert_tree_close(ad.jacobian(A.g, argnums=(0, 1))(x, tree), R.jac, "jacobian")
    want = (jac0[1], R.out_aux)
    for name, jac in (("jacfwd", ad.jacfwd), ("jacrev", ad.jacrev), ("jacobian", ad.jacobian)):
        assert_tree_close(jac(A.g_aux, argnums=1, has_aux=True)(x, tree), want, f"{name} has_aux")

    # second order: hessian (forward over reverse), the other mode pairs, hvp on the tree
    assert_tree_close(ad.hessian(A.f, argnums=(0, 1))(x, tree), R.hess, "hessian")
    for name, h in (("reverse over reverse", ad.jacrev(ad.grad(A.f))),
                    ("forward over forward", ad.jacfwd(ad.grad(A.f, mode="forward"))),
                    ("reverse over forward", ad.jacrev(ad.grad(A.f, mode="forward")))):
        assert_tree_close(h(x, tree), R.hess[0][0], name)
    v = like(tree, seed + 5)
    assert_tree_close(ad.hvp(lambda t: A.f(x, t), tree, v),
                      apply_jac(pick(R.hess[1], tree, 1), tree, tree, v), "hvp")

    # static graphs: ad.jit of grad / jacfwd / hessian and ad.trace replayed at a new point
    x2, tree2 = inputs(shape4, seed + 7)
    assume(reference_ok(J, x2, tree2))
    R2 = reference(J, x2, tree2)
    args2 = (x2, tree2)
    fast_grad = ad.jit(ad.grad(A.f, argnums=(0, 1)))
    fast_jac = ad.jit(ad.jacfwd(A.g, argnums=(0, 1)))
    fast_hess = ad.jit(ad.hessian(A.f, argnums=(0, 1)))
    for (xx, tt), RR in (((x, tree), R), ((x2, tree2), R2)):
        assert_tree_close(fast_grad(xx, tt), RR.grad, "jit(grad)")
        assert_tree_close(fast_jac(xx, tt), RR.jac, "jit(jacfwd)")
        assert_tree_close(fast_hess(xx, tt), RR.hess, "jit(hessian)")
    def replayed(at):
        """Every static-graph check at the second point, on graphs traced at ``at``."""
        graph = ad.trace(A.f, *at)
        assert_tree_close(graph(x2, tree2), R2.value, "trace replay value")
        assert_tree_close(graph.value_and_grad(x2, tree2), (R2.value, R2.grad), "trace value_and_grad")
        assert_tree_close(ad.trace(ad.grad(A.f, argnums=(0, 1)), *at)(x2, tree2), R2.grad,
                          "trace(grad) replay")
        graph = ad.trace(A.g, *at)
        tangents = like(args2, seed + 8)
        assert_tree_close(graph.jvp(args2, tangents),
                          (R2.out, apply_jac(R2.jac, R2.out, args2, tangents)), "trace jvp")
        ct = like(R2.out, seed + 9)
        assert_tree_close(graph.vjp(args2, ct),
                          (R2.out, transpose_jac(R2.jac, R2.out, args2, ct)), "trace vjp")
        for mode in ("forward", "reverse"):
            assert_tree_close(graph.jacobian(x2, tree2, mode=mode), R2.jac, f"trace jacobian {mode}")

    try:
        replayed((x, tree))
    except ad.RetraceRequired:
        # a guard flipped between the two points (a sort order): the graph must refuse,
        # never reuse the trace-time order; the same checks on graphs traced there
        replayed((x2, tree2))


# ------------------------------------------------------------------------ dtypes ---
def _dtypes(tree):
    """Leaf dtypes (admodes may return a Python float for a 0-d float64 result)."""
    return [np.dtype(t.dtype) if isinstance(t, jax.ShapeDtypeStruct) else np.asarray(t).dtype
            for t in jax.tree_util.tree_leaves(tree)]


@examples(25)
@given(programs, shapes, seeds)
def test_float32_dtypes_match_jax(prog, shape4, seed):
    """float32 in: every transformation returns the dtypes JAX returns (float32 unless a
    float64 / complex128 constant in the program promotes, in both libraries alike).
    JAX's dtypes come from jax.eval_shape (abstract evaluation, nothing compiled)."""
    A, J = programs_for(prog)
    x, tree = inputs(shape4, seed, np.float32)
    tangents = jax.tree_util.tree_map(lambda t: t.astype(np.float32), like((x, tree), seed + 1))
    with np.errstate(all="ignore"):   # only dtypes are compared: overflow does not matter
        pairs = [
            (A.f(x, tree), jax.eval_shape(J.f, x, tree), "value"),
            (ad.grad(A.f, argnums=(0, 1))(x, tree),
             jax.eval_shape(jax.grad(J.f, argnums=(0, 1)), x, tree), "grad"),
            (ad.grad(A.f, argnums=(0, 1), mode="forward")(x, tree),
             jax.eval_shape(jax.grad(J.f, argnums=(0, 1)), x, tree), "grad forward"),
            (ad.jvp(A.g, (x, tree), tangents),
             jax.eval_shape(lambda p, t: jax.jvp(J.g, p, t), (x, tree), tangents), "jvp"),
            (ad.jacfwd(A.g)(x, tree), jax.eval_shape(jax.jacfwd(J.g), x, tree), "jacfwd"),
        ]
        # jacrev's rows of a promoting program (a float64 constant makes the output
        # float64) differ on purpose: admodes keeps the output's dtype, as numpy promotes
        # (tests/test_dtypes.py), JAX casts to the input's; pinned in
        # test_jacrev_of_a_promoting_function_keeps_numpys_dtype.  Compared elsewhere.
        if np.dtype(jax.eval_shape(J.f, x, tree).dtype) == np.float32:
            pairs += [
                (ad.jacrev(A.g)(x, tree), jax.eval_shape(jax.jacrev(J.g), x, tree), "jacrev"),
                (ad.hessian(A.f)(x, tree), jax.eval_shape(jax.hessian(J.f), x, tree), "hessian"),
            ]
    for ours, ref, what in pairs:
        assert _dtypes(ours) == _dtypes(ref), f"{what}: {_dtypes(ours)} != JAX's {_dtypes(ref)}"


# ------------------------------------------------ every op of the vocabulary, alone ---
# JAX compiles each (primitive, shape) on first use: every op on every shape, to second
# order, costs ~2-3 minutes on 2 cores, so by default each op runs on one shape (rotating
# through SHAPES) to first order; ADMODES_JAX_FULL=1 runs every shape and the Hessians.
FULL = os.environ.get("ADMODES_JAX_FULL", "") not in ("", "0")
EACH = [(k, n, shape) for i, (k, n) in enumerate(OPS)
        for j, shape in enumerate(SHAPES) if FULL or j == i % len(SHAPES)]


@pytest.mark.parametrize("kind, name, shape", EACH, ids=[f"{k}-{n}-{s}" for k, n, s in EACH])
def test_each_op_matches_jax(kind, name, shape):
    """Every op of the vocabulary (hypothesis may not draw them all): gradient in both
    modes and the Jacobian (and the Hessian with ADMODES_JAX_FULL=1), against JAX."""
    rng = np.random.default_rng(zlib.crc32(f"{name}{shape}".encode()))
    a = rng.uniform(-1.5, 1.5, size=shape)
    b = rng.uniform(-1.5, 1.5, size=(3,))

    def make(X):
        fn = {"unary": UNARY, "reduce": REDUCE}.get(kind)
        op = (lambda a, b: fn[name](X, a)) if fn else (lambda a, b: BINARY[name](X, a, b))
        return (lambda a, b: X.np.sum(X.np.sin(1.3 * op(a, b) + 0.2) + 0.5 * op(a, b)), op)
    (fa, ga), (fj, gj) = make(AD), make(JX)
    want = jax.grad(fj, argnums=(0, 1))(a, b)
    for mode in ("reverse", "forward"):
        assert_tree_close(ad.grad(fa, argnums=(0, 1), mode=mode)(a, b), want, f"{name} grad {mode}")
    assert_tree_close(ad.jacobian(ga, argnums=(0, 1))(a, b),
                      jax.jacrev(gj, argnums=(0, 1))(a, b), f"{name} jacobian")
    if FULL:  # (second order of every op is in every random program's comparison)
        assert_tree_close(ad.hessian(fa, argnums=(0, 1))(a, b),
                          jax.hessian(fj, argnums=(0, 1))(a, b), f"{name} hessian")


# ------------------------------------------------------------- edge points ---
# Conventions at non-differentiable points, checked against what JAX returns (jax 0.10)
# only where admodes documents the same convention (docs/reference/conventions.md).
EDGE_AGREE = {
    # name: (admodes function, JAX function, arguments)
    "relu'(0) = 0": (anp.relu, jax.nn.relu, (0.0,)),
    "maximum tie splits evenly": (anp.maximum, jnp.maximum, (1.0, 1.0)),
    "minimum tie splits evenly": (anp.minimum, jnp.minimum, (-1.0, -1.0)),
    "max reduction ties split evenly": (anp.max, jnp.max, (np.array([1.0, 1.0, 0.0]),)),
    "min reduction ties split evenly": (anp.min, jnp.min, (np.array([0.0, 2.0, 0.0]),)),
    "sqrt'(0) = inf": (anp.sqrt, jnp.sqrt, (0.0,)),
    "cbrt'(0) = inf": (anp.cbrt, jnp.cbrt, (0.0,)),
    "sinc'(0) = 0": (anp.sinc, jnp.sinc, (0.0,)),
    "sort ties: the stable sort's element": (
        lambda v: anp.sum(anp.sort(v) * np.array([1.0, 2.0, 3.0])),
        lambda v: jnp.sum(jnp.sort(v) * jnp.array([1.0, 2.0, 3.0])), (np.array([1.0, 1.0, 0.0]),)),
    "median of ties": (anp.median, jnp.median, (np.array([1.0, 1.0, 0.0, 2.0]),)),
    "quantile interpolates": (lambda v: anp.quantile(v, 0.3), lambda v: jnp.quantile(v, 0.3),
                              (np.array([1.0, 1.0, 0.0, 2.0]),)),
    "mod: slope 1 and -floor(x/y)": (anp.mod, jnp.mod, (5.3, 2.0)),
    "fmod: slope 1 and -trunc(x/y)": (anp.fmod, jnp.fmod, (-5.3, 2.0)),
    "nansum: NaN entries get 0": (anp.nansum, jnp.nansum, (np.array([1.0, np.nan]),)),
    "interp at a sample point: the right segment": (
        lambda v: anp.interp(v, np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.0, 3.0])),
        lambda v: jnp.interp(v, jnp.array([0.0, 1.0, 2.0]), jnp.array([0.0, 1.0, 3.0])), (1.0,)),
    "sign, round, heaviside: zero": (lambda v: anp.sign(v) + anp.round(v) + anp.heaviside(v, 0.5),
                                     lambda v: jnp.sign(v) + jnp.round(v) + jnp.heaviside(v, 0.5),
                                     (0.0,)),
    "det at a singular matrix: the cofactors": (anp.linalg.det, jnp.linalg.det,
                                                (np.array([[1.0, 2.0], [2.0, 4.0]]),)),
    "complex: grad |z|^2 at 3+4j = 6-8j": (lambda z: anp.abs(z) ** 2, lambda z: jnp.abs(z) ** 2,
                                          (3.0 + 4.0j,)),
}


@pytest.mark.parametrize("name", list(EDGE_AGREE))
def test_conventions_shared_with_jax(name):
    fa, fj, args = EDGE_AGREE[name]
    nums = tuple(range(len(args)))
    want = jax.grad(fj, argnums=nums)(*args)
    for mode in ("reverse", "forward"):   # exact values up to a few roundings; inf, nan equal
        np.testing.assert_allclose(np.array(ad.grad(fa, argnums=nums, mode=mode)(*args)),
                                   np.array(want), rtol=1e-14, atol=0, err_msg=mode)


def test_second_order_conventions_shared_with_jax():
    # sinc''(0) = -pi^2/3 and det's Hessian at a singular matrix (finite), as JAX
    s = np.array([[1.0, 2.0], [2.0, 4.0]])
    assert_tree_close(ad.grad(ad.grad(anp.sinc))(0.0), jax.grad(jax.grad(jnp.sinc))(0.0), "sinc''")
    np.testing.assert_allclose(ad.hessian(anp.linalg.det)(s), jax.hessian(jnp.linalg.det)(s),
                               atol=1e-15)
    # slogdet at a singular matrix: sign 0, logabsdet -inf, as JAX documents
    got, want = anp.linalg.slogdet(s), jnp.linalg.slogdet(s)
    assert (got[0], got[1]) == (float(want[0]), float(want[1])) == (0.0, -np.inf)
    # where: the unselected sqrt's infinite slope still poisons reverse mode (NaN, as JAX);
    # forward mode selects the tangent (0, as jax.jvp)
    f, fj = (lambda x: anp.where(x > 0, anp.sqrt(x), 0.0)), (lambda x: jnp.where(x > 0, jnp.sqrt(x), 0.0))
    with np.errstate(all="ignore"):
        assert np.isnan(ad.grad(f)(0.0)) and np.isnan(jax.grad(fj)(0.0))
        assert ad.jvp(f, (0.0,), (1.0,))[1] == jax.jvp(fj, (0.0,), (1.0,))[1] == 0.0


def test_conventions_admodes_keeps_its_own():
    """Where admodes deliberately follows PyTorch (the minimum-norm subgradient) or numpy,
    JAX differs; each case asserts admodes' documented value and JAX's actual one, so a
    change on either side is noticed."""
    g = lambda f, *a: ad.grad(f, argnums=tuple(range(len(a))))(*a)
    gj = lambda f, *a: tuple(float(v) for v in jax.grad(f, argnums=tuple(range(len(a))))(*a))
    # abs'(0): admodes 0 (PyTorch); JAX 1
    assert g(anp.abs, 0.0) == (0.0,) and gj(jnp.abs, 0.0) == (1.0,)
    # clip at a bound: admodes passes the gradient (inclusive interval, PyTorch); JAX's
    # clip is maximum-then-minimum, so its tie splits: 0.5
    assert g(lambda x: anp.clip(x, -1.0, 1.0), 1.0) == (1.0,)
    assert gj(lambda x: jnp.clip(x, -1.0, 1.0), 1.0) == (0.5,)
    # norm at 0: admodes 0 (PyTorch); JAX nan
    np.testing.assert_array_equal(ad.grad(anp.linalg.norm)(np.zeros(3)), np.zeros(3))
    assert np.all(np.isnan(jax.grad(jnp.linalg.norm)(np.zeros(3))))
    # hypot'(0, 0): admodes 0 (the minimum-norm subgradient, as norm at 0); JAX 0.5 each
    assert g(anp.hypot, 0.0, 0.0) == (0.0, 0.0) and gj(jnp.hypot, 0.0, 0.0) == (0.5, 0.5)
    # fmax / fmin ties: admodes splits evenly, as maximum; JAX gives the tie to y
    assert g(anp.fmax, 1.0, 1.0) == (0.5, 0.5) and gj(jnp.fmax, 1.0, 1.0) == (0.0, 1.0)
    # eigvalsh off the symmetric matrices: admodes differentiates numpy's function (the
    # lower triangle only), JAX symmetrises its input: different functions, equal values
    a = np.array([[2.0, 0.3], [0.3, 1.0]])
    f = lambda m: anp.sum(anp.linalg.eigvalsh(m) ** 2)
    fj = lambda m: jnp.sum(jnp.linalg.eigvalsh(m) ** 2)
    np.testing.assert_allclose(ad.grad(f)(a), [[4.0, 0.0], [1.2, 2.0]], rtol=1e-12)
    np.testing.assert_allclose(jax.grad(fj)(a), [[4.0, 0.6], [0.6, 2.0]], rtol=1e-12)


def test_jacrev_of_a_promoting_function_keeps_numpys_dtype():
    # float32 input, float64 constant: the output is float64 in both; admodes' jacrev rows
    # keep that dtype (as numpy promotes; tests/test_dtypes.py), JAX's are cast to the
    # input's float32 (its grad and admodes' grad both give float32).
    x = np.array([0.5, 1.5, -2.0], np.float32)
    f, fj = (lambda v: v * np.ones(3)), (lambda v: v * np.ones(3))
    assert ad.jacrev(f)(x).dtype == np.float64 and jax.jacrev(fj)(x).dtype == np.float32
    assert ad.jacfwd(f)(x).dtype == jax.jacfwd(fj)(x).dtype == np.float64
    assert ad.grad(lambda v: anp.sum(f(v)))(x).dtype == jax.grad(lambda v: jnp.sum(fj(v)))(x).dtype \
        == np.float32
