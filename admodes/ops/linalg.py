"""``admodes.numpy.linalg``: differentiable ``numpy.linalg`` functions.

Primitives (each with a JVP and a VJP rule, written with admodes ops so they
differentiate again): ``solve`` (matrix right-hand side), ``inv``, ``det``,
``logabsdet`` (the differentiable half of ``slogdet``), ``norm`` (2-norm / Frobenius
norm over any axes) and ``cholesky``.  The public functions below map numpy's calling
conventions onto them; other norms are composites of ``abs``/``sum``/``max``.

Every rule is batch-polymorphic: matrices may carry numpy's stacked leading dims
(``(..., n, n)``), and a tangent or cotangent may carry further batch axes in front of
those (``jacfwd``/``jacrev``).  Rules therefore use ``matmul``/``solve`` broadcasting,
negative axes and ``swapaxes(x, -1, -2)``; where an argument is broadcast against a
bigger one (``solve`` of a single matrix against a stack), its tangent gets unit axes
between the batch axes and its own shape (:func:`_lift`), and its cotangent is summed
back down (``unbroadcast``).
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..dispatch import bind, ndim_of, shape_of, value
from ..registry import register
from .contractions import matmul
from .elementwise import add, multiply, negative, subtract, where
from .norms import norm  # noqa: E402  (numpy.linalg.norm lives in norms.py)
from .reductions import prod as _prod
from .reductions import sum as _sum
from .reductions import unbroadcast
from .shape import (
    _nb,
    reshape,
    swapaxes,
)

__all__ = ["solve", "inv", "det", "slogdet", "norm", "cholesky", "SlogdetResult", "adjugate",
           "matrix_power", "multi_dot"]  # and, through __getattr__, the decompositions


def _mT(x):
    return swapaxes(x, -1, -2)


def _lift(t, x, nd_out):
    """Put unit axes between the batch axes of tangent ``t`` and the shape of ``x`` so
    that ``t`` broadcasts against values of rank ``nd_out`` (numpy aligns from the
    right, which would otherwise pair the batch axes with ``x``'s missing stack dims)."""
    nb = _nb(t, x)
    pad = nd_out - ndim_of(x)
    if nb == 0 or pad <= 0:
        return t
    ts = shape_of(t)
    return reshape(t, ts[:nb] + (1,) * pad + ts[nb:])


def _trailing_unit(c, k=2):
    """``c[..., None, None]`` (``k`` unit axes appended)."""
    return reshape(c, shape_of(c) + (1,) * k)


def _square(a, fname):
    s = shape_of(a)
    if len(s) < 2 or s[-1] != s[-2]:
        raise np.linalg.LinAlgError(
            f"linalg.{fname}: last 2 dimensions of the array must be square, got shape {s}")


def _well_conditioned(rng, shape):
    """Random matrices ``m + n I`` (shape ``(..., n, n)``): far from singular."""
    n = shape[-1]
    return rng.normal(size=shape) + n * np.eye(n)


def _spd(rng, shape):
    """Random symmetric positive definite matrices ``m mᵀ + n I``."""
    n = shape[-1]
    m = rng.normal(size=shape)
    return m @ np.swapaxes(m, -1, -2) + n * np.eye(n)


# ---------------------------------------------------------------- solve ---------------
# x = a⁻¹ b with b a (stack of) matrix (n, k); the public ``solve`` turns numpy's
# vector right-hand side into an (n, 1) matrix first.
#   jvp:  dx = a⁻¹ (db - da x)          vjp:  b̄ = a⁻ᵀ ḡ,   ā = -b̄ xᵀ


def _solve_impl(a, b):
    return np.linalg.solve(a, b)


def _solve_jvp_a(t, ans, a, b):
    t = _lift(t, a, ndim_of(ans))
    return negative(solve_matrix(a, matmul(t, ans)))


def _solve_jvp_b(t, ans, a, b):
    return solve_matrix(a, _lift(t, b, ndim_of(ans)))


def _solve_vjp_a(g, ans, a, b):
    gb = solve_matrix(_mT(a), g)
    return unbroadcast(negative(matmul(gb, _mT(ans))), shape_of(a), _nb(g, ans))


def _solve_vjp_b(g, ans, a, b):
    return unbroadcast(solve_matrix(_mT(a), g), shape_of(b), _nb(g, ans))


def _solve_domain(rng):
    return [([_well_conditioned(rng, (3, 3)), rng.normal(size=(3, 2))], {}),
            ([_well_conditioned(rng, (2, 3, 3)), rng.normal(size=(2, 3, 1))], {}),
            ([_well_conditioned(rng, (3, 3)), rng.normal(size=(2, 3, 2))], {}),
            ([_well_conditioned(rng, (2, 3, 3)), rng.normal(size=(3, 2))], {})]


_solve = register("solve", _solve_impl, (_solve_jvp_a, _solve_jvp_b),
                  (_solve_vjp_a, _solve_vjp_b), domain=_solve_domain)


def solve_matrix(a, b):
    """``numpy.linalg.solve`` with ``b`` a (stack of) matrices ``(..., n, k)``."""
    return bind(_solve, a, b)


def solve(a, b):
    """Solve ``a @ x = b`` for ``x`` (``numpy.linalg.solve``, numpy 2 semantics).

    ``b`` is a vector only when ``b.ndim == 1``; otherwise it is a (stack of) matrices
    ``(..., n, k)``, broadcast against ``a``'s stack dims.

    Args:
        a: a (stack of) square matrices, shape ``(..., n, n)``.
        b: shape ``(n,)`` or ``(..., n, k)``.

    Returns:
        ``x`` with ``a @ x == b``: shape ``(..., n)`` or ``(..., n, k)``.

    >>> import admodes as ad, numpy as np
    >>> a = np.array([[2.0, 0.0], [0.0, 4.0]])
    >>> ad.grad(lambda b: solve(a, b).sum())(np.array([1.0, 1.0]))
    array([0.5 , 0.25])
    """
    _square(a, "solve")
    if ndim_of(b) == 1:
        x = solve_matrix(a, reshape(b, shape_of(b) + (1,)))
        return reshape(x, shape_of(x)[:-1])
    return solve_matrix(a, b)


# ---------------------------------------------------------------- inv -----------------
#   jvp:  d(a⁻¹) = -a⁻¹ da a⁻¹          vjp:  ā = -a⁻ᵀ ḡ a⁻ᵀ


def _inv_impl(a):
    return np.linalg.inv(a)


def _inv_jvp(t, ans, a):
    return negative(matmul(ans, matmul(t, ans)))


def _inv_vjp(g, ans, a):
    ai = _mT(ans)
    return negative(matmul(ai, matmul(g, ai)))


_inv = register("inv", _inv_impl, _inv_jvp, _inv_vjp,
                domain=lambda rng: [([_well_conditioned(rng, (3, 3))], {}),
                                    ([_well_conditioned(rng, (2, 3, 3))], {})])


def inv(a):
    """The inverse of a (stack of) square matrices (``numpy.linalg.inv``).

    Args:
        a: shape ``(..., n, n)``, non-singular.

    Returns:
        ``a⁻¹``, same shape.

    >>> import admodes as ad, numpy as np
    >>> ad.grad(lambda a: inv(a).sum())(np.array([[2.0]]))
    array([[-0.25]])
    """
    _square(a, "inv")
    return bind(_inv, a)


# ---------------------------------------------------------------- det / slogdet -------
# d det(a) = tr(adj(a) da), so the gradient of det is the cofactor matrix adj(a)ᵀ: it
# exists everywhere, singular matrices included (JAX: [[4,-2],[-2,1]] at [[1,2],[2,4]]).
# adj(a) is a primitive computed from the SVD, stable at singular matrices.  Its own
# derivative (det's second derivative) has two forms, chosen from the singular values:
#   invertible a (s_min > 1e-6 s_max):  d adj = adj tr(a⁻¹ da) - a⁻¹ da adj
#   (nearly) singular a = U S Vᵀ:        d adj = σ V d adj(S)[Uᵀ da V] Uᵀ,  σ = det U det V
# where, with C_ij = prod_{l ∉ {i, j}} s_l (i ≠ j; 0 on the diagonal), the derivative of
# the adjugate of a diagonal matrix is
#   d adj(S)[P] = diag(C diag(P)) - C ∘ P
# (a polynomial in s: no division, so hessian(det) exists at singular matrices, as in
# JAX).  The VJP is its transpose: ā = U (diag(C diag(H)) - C ∘ H) Vᵀ, H = σ Vᵀ ḡ U.
# The singular form differentiates again through the svd primitive: third derivatives
# of det at a singular matrix with repeated singular values are nan (svd's convention).
# d log|det a| = tr(a⁻¹ da): slogdet's gradient is a⁻ᵀ, which does not exist at a
# singular matrix (log|det| is -inf there): LinAlgError naming slogdet.


def _tr_inv_times(a, t):
    """``tr(a⁻¹ t)`` over the last two axes (batch axes of ``t`` ride along)."""
    return _sum(multiply(_mT(inv(a)), t), axis=(-2, -1))


def _adjugate_impl(a):
    a = np.asarray(a)
    n = a.shape[-1]
    if n == 1:
        return np.ones_like(a)
    u, s, vh = np.linalg.svd(a)
    # adj(u s vh) = adj(vh) adj(s) adj(u) = det(vh) vhᴴ · diag(prod_{j≠i} s_j) · det(u) uᴴ
    left = np.cumprod(np.concatenate([np.ones_like(s[..., :1]), s[..., :-1]], -1), -1)
    right = np.cumprod(np.concatenate([np.ones_like(s[..., :1]), s[..., :0:-1]], -1),
                       -1)[..., ::-1]
    others = left * right
    sign = np.linalg.det(u) * np.linalg.det(vh)
    adj = np.conj(np.swapaxes(vh, -1, -2)) @ (others[..., :, None] *
                                              np.conj(np.swapaxes(u, -1, -2)))
    return sign[..., None, None] * adj


def _use_svd_form(a):
    """True when some matrix of the stack is singular or nearly so (s_min <= 1e-6
    s_max): the inverse-based rules would lose accuracy or fail there."""
    n = shape_of(a)[-1]
    if n == 0:
        return False
    av = np.asarray(value(a))
    s = np.linalg.svd(av, compute_uv=False)
    near = bool(np.any(s[..., -1] <= 1e-6 * s[..., 0]))
    if near and av.dtype.kind == "c":
        raise TypeError("adjugate: the derivative at a (nearly) singular complex matrix "
                        "is not supported (its SVD form is real); det's second "
                        "derivative there is unavailable")
    return near


def _adjugate_svd_parts(a):
    """U, V (admodes values, from the svd primitive), σ = det U det V (plain) and the
    off-diagonal products C_ij = prod_{l ∉ {i, j}} s_l (admodes value)."""
    from .decompositions import _split_svd, _svd
    n = shape_of(a)[-1]
    u, s, v = _split_svd(bind(_svd, a), n, n)
    sigma = np.linalg.det(np.asarray(value(u))) * np.linalg.det(np.asarray(value(v)))
    idx = np.arange(n)
    skip = (idx[:, None, None] == idx) | (idx[None, :, None] == idx)   # l == i or l == j
    s3 = reshape(s, shape_of(s)[:-1] + (1, 1, n))
    c = _prod(where(skip, 1.0, s3), axis=-1)
    c = multiply(c, 1.0 - np.eye(n))
    return u, v, _trailing_unit(sigma), c


def _diag_of(p, n):
    return _sum(multiply(p, np.eye(n)), axis=-1)


def _adj_diag_derivative(c, p, n):
    """diag(C diag(P)) - C ∘ P (C symmetric, zero diagonal; P may carry batch axes)."""
    d = _sum(multiply(c, reshape(_diag_of(p, n), shape_of(p)[:-2] + (1, n))), axis=-1)
    return subtract(multiply(reshape(d, shape_of(d) + (1,)), np.eye(n)), multiply(c, p))


def _adjugate_jvp(t, ans, a):
    if _use_svd_form(a):
        n = shape_of(a)[-1]
        u, v, sigma, c = _adjugate_svd_parts(a)
        p = matmul(_mT(u), matmul(t, v))
        return multiply(sigma, matmul(v, matmul(_adj_diag_derivative(c, p, n), _mT(u))))
    # d adj = adj tr(a⁻¹ da) - a⁻¹ da adj  (from adj = det(a) a⁻¹)
    x = solve_matrix(a, t)
    tr = _sum(multiply(x, _eye_like(a)), axis=(-2, -1))
    return add(multiply(_trailing_unit(tr), ans), negative(matmul(x, ans)))


def _adjugate_vjp(g, ans, a):
    if _use_svd_form(a):
        n = shape_of(a)[-1]
        u, v, sigma, c = _adjugate_svd_parts(a)
        h = multiply(sigma, matmul(_mT(v), matmul(g, u)))
        return matmul(u, matmul(_adj_diag_derivative(c, h, n), _mT(v)))
    ai = _mT(inv(a))
    c = _sum(multiply(g, ans), axis=(-2, -1))
    return add(multiply(_trailing_unit(c), ai), negative(matmul(ai, matmul(g, _mT(ans)))))


def _eye_like(a):
    return np.eye(shape_of(a)[-1])


def _near_singular(rng, n, eps):
    """A random n x n matrix with smallest singular value ``eps`` (0: exactly singular)."""
    q1 = np.linalg.qr(rng.normal(size=(n, n)))[0]
    q2 = np.linalg.qr(rng.normal(size=(n, n)))[0]
    s = np.concatenate([rng.uniform(1.0, 2.0, n - 1), [eps]])
    return (q1 * s) @ q2


def _adjugate_domain(rng):
    cases = [([_well_conditioned(rng, (3, 3))], {}),
             ([_well_conditioned(rng, (2, 3, 3))], {}),
             ([_near_singular(rng, 3, 1e-3)], {}),
             ([rng.normal(size=(1, 1)) + 2.0], {})]
    stack = np.stack([_near_singular(rng, 3, 0.0), _well_conditioned(rng, (3, 3))])
    return cases + [([_near_singular(rng, 3, 0.0)], {}),   # exactly singular: SVD form
                    ([_near_singular(rng, 2, 0.0)], {}),
                    ([stack], {}),                         # one singular in a stack
                    ([np.zeros((1, 1))], {})]


# analytic=False: the impl goes through the real SVD (not its complex continuation).
_adjugate = register("adjugate", _adjugate_impl, _adjugate_jvp, _adjugate_vjp,
                     domain=_adjugate_domain, analytic=False)


def adjugate(a):
    """The adjugate (classical adjoint) of a (stack of) square matrices: ``adj(a) a =
    det(a) I``, defined and smooth for singular matrices too.

    Args:
        a: shape ``(..., n, n)``.

    Returns:
        ``adj(a)``, same shape.

    >>> import numpy as np
    >>> np.round(adjugate(np.array([[1.0, 2.0], [2.0, 4.0]])), 12) + 0.0
    array([[ 4., -2.],
           [-2.,  1.]])
    """
    _square(a, "adjugate")
    return bind(_adjugate, a)


def _det_impl(a):
    return np.linalg.det(a)


def _det_jvp(t, ans, a):
    return _sum(multiply(_mT(adjugate(a)), t), axis=(-2, -1))


def _det_vjp(g, ans, a):
    return multiply(_trailing_unit(g), _mT(adjugate(a)))


def _sq_domain(rng):
    negative_det = _well_conditioned(rng, (3, 3)) * np.array([[-1.0], [1.0], [1.0]])
    return [([_well_conditioned(rng, (3, 3))], {}),
            ([_well_conditioned(rng, (2, 3, 3))], {}),
            ([negative_det], {})]


def _det_domain(rng):
    return _sq_domain(rng) + [([_near_singular(rng, 3, 1e-4)], {}),
                              ([_near_singular(rng, 3, 0.0)], {})]   # exactly singular


_det = register("det", _det_impl, _det_jvp, _det_vjp, domain=_det_domain, keep_ans=False)


def det(a):
    """The determinant of a (stack of) square matrices (``numpy.linalg.det``).

    The derivative is the cofactor matrix ``adj(a)ᵀ`` (``det(a) a⁻ᵀ`` when ``a`` is
    invertible): it exists at singular matrices too, and so does the second
    derivative (``hessian(det)``, as in JAX): at (nearly) singular matrices the
    adjugate's own rules use the SVD and products of singular values, no inverse.

    Args:
        a: shape ``(..., n, n)``.

    Returns:
        The determinant(s), shape ``(...)``.

    >>> import admodes as ad, numpy as np
    >>> ad.grad(lambda a: det(a))(np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([[ 4., -3.],
           [-2.,  1.]])
    >>> np.round(ad.grad(det)(np.array([[1.0, 2.0], [2.0, 4.0]])), 12) + 0.0  # singular
    array([[ 4., -2.],
           [-2.,  1.]])
    """
    _square(a, "det")
    return bind(_det, a)


def _logabsdet_impl(a):
    sign, logabs = np.linalg.slogdet(a)
    if np.iscomplexobj(a):
        # Complex step: continue log|det| analytically from the real matrix, i.e.
        # log(det(a) / sign(det(re a))), so d/dh Im f(x + ih v) / h is the derivative.
        sign0 = np.linalg.slogdet(a.real)[0]
        return logabs + np.log(sign / sign0)
    return logabs


def _inv_for_slogdet(a):
    singular = np.linalg.slogdet(np.asarray(value(a)))[0] == 0
    if np.any(singular):
        raise np.linalg.LinAlgError(
            "linalg.slogdet: the matrix is singular (sign 0, logabsdet -inf): log|det| "
            "has no derivative there (it tends to -inf); forward mode computes it even "
            "when only the sign is used.  The derivative of det itself exists "
            "(linalg.det, via the adjugate)")
    return inv(a)


def _logabsdet_jvp(t, ans, a):
    return _sum(multiply(_mT(_inv_for_slogdet(a)), t), axis=(-2, -1))


def _logabsdet_vjp(g, ans, a):
    return multiply(_trailing_unit(g), _mT(_inv_for_slogdet(a)))


_logabsdet = register("logabsdet", _logabsdet_impl, _logabsdet_jvp, _logabsdet_vjp,
                      domain=_sq_domain)

SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])


def slogdet(a):
    """Sign and log-absolute-value of the determinant (``numpy.linalg.slogdet``).

    ``sign`` is a plain (non-differentiable) value; ``logabsdet`` is differentiable,
    with gradient ``a⁻ᵀ``.  At a singular matrix the values are numpy's (sign 0,
    logabsdet -inf, as JAX documents) and ``logabsdet`` has no derivative: its rules
    raise ``LinAlgError`` naming slogdet (in forward mode, whose tangents are computed
    eagerly, even when only ``sign`` is used; in reverse mode only when ``logabsdet``
    reaches the output).

    Args:
        a: shape ``(..., n, n)``.

    Returns:
        ``SlogdetResult(sign, logabsdet)``, each of shape ``(...)``.

    >>> import admodes as ad, numpy as np
    >>> a = np.array([[0.0, 2.0], [1.0, 0.0]])
    >>> slogdet(a).sign
    np.float64(-1.0)
    >>> ad.grad(lambda a: slogdet(a)[1])(a)
    array([[0. , 0.5],
           [1. , 0. ]])
    """
    _square(a, "slogdet")
    sign = np.linalg.slogdet(value(a))[0]
    return SlogdetResult(sign, bind(_logabsdet, a))


# ---------------------------------------------------------------- cholesky ------------
# numpy reads only the lower triangle of a: it factors sym(a) = tril(a) + tril(a, -1)ᵀ.
# With Φ(m) = the lower triangle of m with its diagonal halved:
#   jvp:  dL = L Φ(L⁻¹ sym(da) L⁻ᵀ)
#   vjp:  s = L⁻ᵀ Φ(Lᵀ ḡ) L⁻¹,  ā = tril(s) + tril(sᵀ, -1)   (the adjoint of sym)
# The triangular solves use the general ``solve`` primitive.


def _cholesky_impl(a):
    if not np.iscomplexobj(a):
        return np.linalg.cholesky(a)
    # Complex step: numpy's complex cholesky is the Hermitian a = L Lᴴ, which is not
    # analytic; the analytic continuation is the complex-symmetric a = L Lᵀ (lower
    # triangle of a, as numpy), computed here column by column over the whole stack.
    a = np.asarray(a)
    n = a.shape[-1]
    L = np.zeros_like(a)
    for j in range(n):
        d = a[..., j, j] - np.sum(L[..., j, :j] ** 2, axis=-1)
        L[..., j, j] = np.sqrt(d)
        if j + 1 < n:
            rest = a[..., j + 1:, j] - np.einsum("...ik,...k->...i", L[..., j + 1:, :j],
                                                  L[..., j, :j])
            L[..., j + 1:, j] = rest / L[..., j, j][..., None]
    return L


def _masks(n):
    lower = np.tril(np.ones((n, n)))
    strict = np.tril(np.ones((n, n)), -1)
    phi = lower - 0.5 * np.eye(n)
    return lower, strict, phi


def _cholesky_jvp(t, ans, a):
    lower, strict, phi = _masks(shape_of(a)[-1])
    sym = add(multiply(t, lower), _mT(multiply(t, strict)))
    x = solve_matrix(ans, sym)                    # L⁻¹ da
    x = _mT(solve_matrix(ans, _mT(x)))            # L⁻¹ da L⁻ᵀ
    return matmul(ans, multiply(x, phi))


def _cholesky_vjp(g, ans, a):
    lower, strict, phi = _masks(shape_of(a)[-1])
    p = multiply(matmul(_mT(ans), g), phi)        # Φ(Lᵀ ḡ)
    s = solve_matrix(_mT(ans), p)                 # L⁻ᵀ Φ
    s = _mT(solve_matrix(_mT(ans), _mT(s)))       # L⁻ᵀ Φ L⁻¹
    return add(multiply(s, lower), multiply(_mT(s), strict))


_cholesky = register("cholesky", _cholesky_impl, _cholesky_jvp, _cholesky_vjp,
                     domain=lambda rng: [([_spd(rng, (3, 3))], {}),
                                         ([_spd(rng, (2, 3, 3))], {})])


def cholesky(a, /, *, upper=False):
    """The Cholesky factor of a (stack of) symmetric positive definite matrices
    (``numpy.linalg.cholesky``).

    As numpy, only the lower triangle of ``a`` is read (the upper one with
    ``upper=True``); the derivative is that of exactly this function, so perturbing
    the unread triangle has no effect.

    Args:
        a: shape ``(..., n, n)``, symmetric positive definite.
        upper: return the upper factor ``U`` (``a = Uᵀ U``) instead of ``L``
            (``a = L Lᵀ``).

    Returns:
        ``L`` (lower triangular), or ``U`` with ``upper=True``; same shape as ``a``.

    >>> import admodes as ad, numpy as np
    >>> ad.grad(lambda a: cholesky(a)[0, 0])(np.array([[4.0, 1.0], [1.0, 3.0]]))
    array([[0.25, 0.  ],
           [0.  , 0.  ]])
    """
    _square(a, "cholesky")
    if np.iscomplexobj(value(a)):
        raise TypeError("linalg.cholesky: complex (Hermitian) input is not supported: the "
                        "primitive's complex form is the analytic continuation used by "
                        "complex-step checks, not numpy's Hermitian factor")
    if upper:
        return _mT(bind(_cholesky, _mT(a)))
    return bind(_cholesky, a)


# ---------------------------------------------------------------- composites ----------


def matrix_power(a, n):
    """``numpy.linalg.matrix_power``: ``a @ a @ ... @ a`` by repeated squaring (negative
    ``n`` through ``inv``).

    >>> import admodes as ad, numpy as np
    >>> ad.grad(lambda a: matrix_power(a, 3)[0, 0])(np.array([[2.0]]))
    array([[12.]])
    """
    _square(a, "matrix_power")
    n = operator_index(n, "matrix_power")
    if n == 0:
        return np.broadcast_to(np.eye(shape_of(a)[-1]), shape_of(a)).copy()
    if n < 0:
        a, n = inv(a), -n
    result = None
    base = a
    while n:
        if n & 1:
            result = base if result is None else matmul(result, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    return result


def operator_index(n, fname):
    try:
        import operator
        return operator.index(n)
    except TypeError:
        raise TypeError(f"linalg.{fname}: exponent must be an integer, got {n!r}") from None


def multi_dot(arrays):
    """``numpy.linalg.multi_dot``: a chain of matrix products (first/last may be
    vectors), multiplied left to right.

    >>> import numpy as np
    >>> multi_dot([np.ones(2), np.eye(2), np.ones(2)])
    np.float64(2.0)
    """
    arrays = list(arrays)
    if len(arrays) < 2:
        raise ValueError("linalg.multi_dot: expecting at least two arrays")
    out = arrays[0]
    for b in arrays[1:]:
        out = matmul(out, b)
    return out


_DECOMPOSITIONS = ("eigh", "eigvalsh", "svd", "svdvals", "pinv", "lstsq", "qr", "EighResult",
                   "SVDResult", "LstsqResult", "QRResult")


def __getattr__(name):
    """The decompositions (eigh, svd) and what is built on them (pinv, lstsq) live in
    :mod:`.decompositions`, which builds on this module; this namespace serves them too."""
    if name in _DECOMPOSITIONS:
        from . import decompositions
        return getattr(decompositions, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
