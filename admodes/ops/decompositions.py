"""The symmetric eigendecomposition and the SVD (``eigh``, ``eigvalsh``, ``svd``,
``svdvals``) and what is built on them (``pinv``, ``lstsq``), part of
``admodes.numpy.linalg``.  Degenerate points follow JAX/PyTorch: eigen- and singular-vector
derivatives are nan at exactly repeated values; ``eigvalsh``/``svdvals`` stay finite."""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..dispatch import Box, bind, ndim_of, shape_of, value
from ..registry import register
from .contractions import matmul
from .elementwise import add, divide, multiply, subtract, where
from .linalg import _masks, _mT, _square, solve_matrix
from .reductions import sum as _sum
from .shape import (
    concatenate,
    expand_dims,
    getitem,
    reshape,
)

__all__ = ["eigh", "eigvalsh", "svd", "svdvals", "pinv", "lstsq", "qr", "EighResult", "SVDResult",
           "LstsqResult", "QRResult"]


# ---------------------------------------------------------------- eigh ----------------
# One primitive computes w and V; its output packs them as rows, [w; V] (shape
# (..., n + 1, n)), so the public eigh splits one result and one tape entry carries both.
# numpy reads the lower triangle: dS = tril(da) + tril(da, -1)ᵀ (as cholesky).  With
# M = Vᵀ dS V and F_ij = 1 / (w_j - w_i) (0 on the diagonal):
#   jvp:  dw = diag(M),   dV = V (F ∘ M)
#   vjp:  S̄ = V (diag(w̄) + F ∘ (Vᵀ V̄)) Vᵀ,   ā = tril(S̄) + tril(S̄ᵀ, -1)
# At an exactly repeated eigenvalue F is infinite and the eigenvector derivative is
# nan (as in JAX and PyTorch: the eigenvectors are not unique there); eigenvalue
# derivatives stay finite (eigvalsh has rules that never form F).


def _real_only(a, fname):
    """The rules here are real: a traced complex matrix would get a wrong derivative."""
    if isinstance(a, Box) and np.iscomplexobj(value(a)):
        raise TypeError(f"linalg.{fname}: complex input is not differentiable in admodes "
                        "(its rules are written for real matrices)")


def _eigh_impl(a, upper):
    w, v = np.linalg.eigh(a, UPLO="U" if upper else "L")
    return np.concatenate([w[..., None, :], v], axis=-2)


def _read_triangle(t, upper):
    lower, strict, _ = _masks(shape_of(t)[-1])
    if upper:
        return add(multiply(t, _mT(lower)), _mT(multiply(t, _mT(strict))))
    return add(multiply(t, lower), _mT(multiply(t, strict)))


def _read_triangle_adjoint(s, upper):
    lower, strict, _ = _masks(shape_of(s)[-1])
    if upper:
        return add(multiply(s, _mT(lower)), multiply(_mT(s), _mT(strict)))
    return add(multiply(s, lower), multiply(_mT(s), strict))


def _gaps_inverse(w):
    """F_ij = 1 / (w_j - w_i) off the diagonal, 0 on it (admodes ops: differentiable)."""
    n = shape_of(w)[-1]
    eye = np.eye(n)
    d = subtract(reshape(w, shape_of(w)[:-1] + (1, n)), reshape(w, shape_of(w)[:-1] + (n, 1)))
    return subtract(divide(1.0, add(d, eye)), eye)


def _split_eigh(ans):
    return getitem(ans, (Ellipsis, 0, slice(None))), getitem(ans, (Ellipsis, slice(1, None), slice(None)))


def _eigh_jvp(t, ans, a, upper):
    w, v = _split_eigh(ans)
    m = matmul(_mT(v), matmul(_read_triangle(t, upper), v))
    n = shape_of(a)[-1]
    dw = _sum(multiply(m, np.eye(n)), axis=-1)
    dv = matmul(v, multiply(_gaps_inverse(w), m))
    return concatenate([expand_dims(dw, -2), dv], axis=-2)


def _eigh_vjp(g, ans, a, upper):
    w, v = _split_eigh(ans)
    gw, gv = _split_eigh(g)
    n = shape_of(a)[-1]
    inner = add(multiply(expand_dims(gw, -2), np.eye(n)),
                multiply(_gaps_inverse(w), matmul(_mT(v), gv)))
    s = matmul(v, matmul(inner, _mT(v)))
    return _read_triangle_adjoint(s, upper)


def _sym(rng, shape, gap=None):
    """Random symmetric matrices; with ``gap``, two eigenvalues ``gap`` apart."""
    n = shape[-1]
    q = np.linalg.qr(rng.normal(size=shape))[0]
    w = np.sort(rng.uniform(-2.0, 2.0, size=shape[:-1]), axis=-1) + np.arange(n)
    if gap is not None:
        w[..., 1] = w[..., 0] + gap
    return (q * w[..., None, :]) @ np.swapaxes(q, -1, -2)


def _eigh_domain(rng):
    return [([_sym(rng, (3, 3))], {"upper": False}),
            ([_sym(rng, (2, 3, 3))], {"upper": False}),
            ([_sym(rng, (3, 3))], {"upper": True}),
            ([_sym(rng, (3, 3), gap=0.3)], {"upper": False})]


_eigh = register("eigh", _eigh_impl, _eigh_jvp, _eigh_vjp, domain=_eigh_domain,
                 analytic=False, keep=(), keep_ans=True)

EighResult = namedtuple("EighResult", ["eigenvalues", "eigenvectors"])


def eigh(a, UPLO="L"):
    """Eigenvalues (ascending) and eigenvectors of a (stack of) symmetric matrices
    (``numpy.linalg.eigh``); only the ``UPLO`` triangle is read, as in numpy.

    Degenerate eigenvalues: as in JAX and PyTorch, the eigenvector derivative is nan
    at an exactly repeated eigenvalue (the eigenvectors are not unique there) and grows
    like ``1 / gap`` near one.

    Args:
        a: shape ``(..., n, n)``.
        UPLO: ``"L"`` or ``"U"``: the triangle read.

    Returns:
        ``EighResult(eigenvalues, eigenvectors)``, shapes ``(..., n)`` and ``(..., n, n)``.

    >>> import admodes as ad, numpy as np
    >>> ad.grad(lambda a: eigh(a)[0][-1])(np.array([[2.0, 1.0], [1.0, 2.0]])).round(12)
    array([[0.5, 0. ],
           [1. , 0.5]])
    """
    _square(a, "eigh")
    _real_only(a, "eigh")
    if UPLO not in ("L", "U"):
        raise ValueError(f"linalg.eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    out = bind(_eigh, a, upper=UPLO == "U")
    w, v = _split_eigh(out)
    return EighResult(w, v)


def _eigvalsh_impl(a, upper):
    return np.linalg.eigvalsh(a, UPLO="U" if upper else "L")


def _eigvecs(a, upper):
    return _split_eigh(bind(_eigh, a, upper=upper))[1]


def _eigvalsh_jvp(t, ans, a, upper):
    v = _eigvecs(a, upper)
    return _sum(multiply(v, matmul(_read_triangle(t, upper), v)), axis=-2)


def _eigvalsh_vjp(g, ans, a, upper):
    v = _eigvecs(a, upper)
    s = matmul(multiply(v, expand_dims(g, -2)), _mT(v))
    return _read_triangle_adjoint(s, upper)


_eigvalsh = register("eigvalsh", _eigvalsh_impl, _eigvalsh_jvp, _eigvalsh_vjp,
                     domain=_eigh_domain, analytic=False, keep_ans=False)


def eigvalsh(a, UPLO="L"):
    """Eigenvalues (ascending) of a (stack of) symmetric matrices
    (``numpy.linalg.eigvalsh``).  Their first derivative never forms ``1 / gap``: it
    is finite at repeated eigenvalues, where it is the derivative of the sorted
    eigenvalues along the eigenvectors numpy returns (as JAX).

    Args:
        a: shape ``(..., n, n)``.
        UPLO: ``"L"`` or ``"U"``.

    Returns:
        The eigenvalues, shape ``(..., n)``.

    >>> import admodes as ad, numpy as np
    >>> ad.grad(lambda a: eigvalsh(a).sum())(np.diag([1.0, 2.0]))
    array([[1., 0.],
           [0., 1.]])
    """
    _square(a, "eigvalsh")
    _real_only(a, "eigvalsh")
    if UPLO not in ("L", "U"):
        raise ValueError(f"linalg.eigvalsh: UPLO must be 'L' or 'U', got {UPLO!r}")
    return bind(_eigvalsh, a, upper=UPLO == "U")


# ---------------------------------------------------------------- svd -----------------
# Thin SVD a = U diag(s) Vᵀ (k = min(m, n)); one primitive packs [U; V; s] as rows,
# shape (..., m + n + 1, k).  With dP = Uᵀ da V, S = diag(s), F_ij = 1 / (s_j² - s_i²)
# (0 on the diagonal), S⁺ = 1 / s (0 where s = 0), as JAX:
#   jvp:  ds = diag(dP)
#         dU = U (F ∘ (dP S + S dPᵀ)) + (I - U Uᵀ) da V S⁺         (second term: m > k)
#         dV = V (F ∘ (S dP + dPᵀ S)) + (I - V Vᵀ) daᵀ U S⁺        (second term: n > k)
#   vjp:  J = F ∘ (Uᵀ Ū), K = F ∘ (Vᵀ V̄),  P̄ = diag(s̄) + (J + Jᵀ) S + S (K + Kᵀ)
#         ā = U P̄ Vᵀ + (Ū - U Uᵀ Ū) S⁺ Vᵀ + U S⁺ (V̄ - V Vᵀ V̄)ᵀ
# Repeated singular values make F infinite: the singular-vector derivatives are nan
# there (as JAX/PyTorch); svdvals (values only) never forms F.


def _svd_impl(a):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return np.concatenate([u, np.swapaxes(vh, -1, -2), s[..., None, :]], axis=-2)


def _split_svd(packed, m, n):
    u = getitem(packed, (Ellipsis, slice(0, m), slice(None)))
    v = getitem(packed, (Ellipsis, slice(m, m + n), slice(None)))
    s = getitem(packed, (Ellipsis, m + n, slice(None)))
    return u, s, v


def _svd_parts(ans, a):
    m, n = shape_of(a)[-2:]
    u, s, v = _split_svd(ans, m, n)
    k = min(m, n)
    sq = multiply(s, s)
    d = subtract(reshape(sq, shape_of(s)[:-1] + (1, k)), reshape(sq, shape_of(s)[:-1] + (k, 1)))
    eye = np.eye(k)
    f = subtract(divide(1.0, add(d, eye)), eye)
    zero = np.asarray(value(s)) == 0
    s_inv = where(zero, 0.0, divide(1.0, where(zero, 1.0, s)))
    return u, s, v, f, s_inv, m, n, k


def _svd_jvp(t, ans, a):
    u, s, v, f, s_inv, m, n, k = _svd_parts(ans, a)
    dp = matmul(_mT(u), matmul(t, v))
    ds = _sum(multiply(dp, np.eye(k)), axis=-1)
    dps = multiply(dp, expand_dims(s, -2))           # dP S
    sdp = multiply(expand_dims(s, -1), dp)           # S dP
    du = matmul(u, multiply(f, add(dps, _mT(dps))))
    dv = matmul(v, multiply(f, add(sdp, _mT(sdp))))
    if m > k:
        dav = matmul(t, v)
        du = add(du, multiply(subtract(dav, matmul(u, matmul(_mT(u), dav))), expand_dims(s_inv, -2)))
    if n > k:
        dau = matmul(_mT(t), u)
        dv = add(dv, multiply(subtract(dau, matmul(v, matmul(_mT(v), dau))), expand_dims(s_inv, -2)))
    return concatenate([du, dv, expand_dims(ds, -2)], axis=-2)


def _svd_vjp(g, ans, a):
    u, s, v, f, s_inv, m, n, k = _svd_parts(ans, a)
    gu, gs, gv = _split_svd(g, m, n)
    j = multiply(f, matmul(_mT(u), gu))
    kk = multiply(f, matmul(_mT(v), gv))
    pbar = add(multiply(expand_dims(gs, -2), np.eye(k)),
               add(multiply(add(j, _mT(j)), expand_dims(s, -2)),
                   multiply(expand_dims(s, -1), add(kk, _mT(kk)))))
    out = matmul(u, matmul(pbar, _mT(v)))
    if m > k:
        r = subtract(gu, matmul(u, matmul(_mT(u), gu)))
        out = add(out, matmul(multiply(r, expand_dims(s_inv, -2)), _mT(v)))
    if n > k:
        r = subtract(gv, matmul(v, matmul(_mT(v), gv)))
        out = add(out, matmul(multiply(u, expand_dims(s_inv, -2)), _mT(r)))
    return out


def _svd_domain(rng):
    q = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    close = (q * np.array([2.0, 1.7, 0.5])) @ np.linalg.qr(rng.normal(size=(3, 3)))[0]
    return [([rng.normal(size=(3, 3))], {}), ([rng.normal(size=(4, 2))], {}),
            ([rng.normal(size=(2, 4))], {}), ([rng.normal(size=(2, 3, 2))], {}),
            ([close], {})]


_svd = register("svd", _svd_impl, _svd_jvp, _svd_vjp, domain=_svd_domain, analytic=False,
                keep_ans=True)

SVDResult = namedtuple("SVDResult", ["U", "S", "Vh"])


def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    """Singular value decomposition (``numpy.linalg.svd``), differentiable in the thin
    form (``full_matrices=False``) and for the singular values alone
    (``compute_uv=False``).

    Degenerate singular values: as in JAX and PyTorch, the derivative of the singular
    vectors is nan where two singular values are equal (they are not unique there) and
    grows like ``1 / gap`` near that; the singular values alone are differentiable
    everywhere they are distinct from 0 (``svdvals``).

    Args:
        a: shape ``(..., m, n)``, real.
        full_matrices: must be False when ``compute_uv`` (the full factors' extra
            columns are not determined by ``a``).
        compute_uv: return ``U``, ``S``, ``Vh`` (True) or ``S`` only.
        hermitian: ignored (numpy's shortcut); the general algorithm is used.

    Returns:
        ``SVDResult(U, S, Vh)`` with shapes ``(..., m, k)``, ``(..., k)``, ``(..., k, n)``,
        or ``S`` alone.

    >>> import admodes as ad, numpy as np
    >>> ad.grad(lambda a: svd(a, compute_uv=False)[0])(np.diag([3.0, 1.0]))
    array([[1., 0.],
           [0., 0.]])
    """
    if ndim_of(a) < 2:
        raise np.linalg.LinAlgError(f"linalg.svd: {ndim_of(a)}-dimensional array given; "
                                    "the array must be at least two-dimensional")
    _real_only(a, "svd")
    if not compute_uv:
        return svdvals(a)
    if full_matrices:
        raise NotImplementedError(
            "linalg.svd: full_matrices=True is not differentiable (the extra columns of "
            "the full factors are not determined by a); pass full_matrices=False")
    m, n = shape_of(a)[-2:]
    u, s, v = _split_svd(bind(_svd, a), m, n)
    return SVDResult(u, s, _mT(v))


def _svdvals_impl(a):
    return np.linalg.svd(a, compute_uv=False)


def _uv(a):
    m, n = shape_of(a)[-2:]
    u, _, v = _split_svd(bind(_svd, a), m, n)
    return u, v


def _svdvals_jvp(t, ans, a):
    u, v = _uv(a)
    return _sum(multiply(u, matmul(t, v)), axis=-2)


def _svdvals_vjp(g, ans, a):
    u, v = _uv(a)
    return matmul(multiply(u, expand_dims(g, -2)), _mT(v))


_svdvals = register("svdvals", _svdvals_impl, _svdvals_jvp, _svdvals_vjp,
                    domain=_svd_domain, analytic=False, keep_ans=False)


def svdvals(a):
    """The singular values (descending) of a (stack of) matrices
    (``numpy.linalg.svdvals``); derivative ``u_i v_iᵀ`` for singular value ``i``.

    Args:
        a: shape ``(..., m, n)``.

    Returns:
        Shape ``(..., min(m, n))``.

    >>> import admodes as ad, numpy as np
    >>> ad.grad(lambda a: svdvals(a).sum())(np.diag([3.0, -1.0]))
    array([[ 1.,  0.],
           [ 0., -1.]])
    """
    _real_only(a, "svdvals")
    return bind(_svdvals, a)


def pinv(a, rcond=None, hermitian=False, *, rtol=None):
    """The Moore-Penrose pseudo-inverse (``numpy.linalg.pinv``): ``V diag(1/s) Uᵀ`` over
    the singular values above the cutoff (``rcond``/``rtol`` times the largest, numpy's
    default ``max(m, n) * eps``).

    Differentiable where the rank is locally constant.  A full-rank matrix is handled
    through ``solve`` (no singular vectors, so repeated singular values are fine); a
    rank-deficient one through the SVD (nan derivative at repeated kept singular values).

    Args:
        a: shape ``(..., m, n)``.
        rcond, rtol: relative cutoff for small singular values (numpy's meaning).
        hermitian: ignored.

    Returns:
        Shape ``(..., n, m)``.

    >>> import admodes as ad, numpy as np
    >>> ad.grad(lambda a: pinv(a).sum())(np.array([[2.0, 0.0]]))
    array([[-0.25,  0.25]])
    """
    m, n = shape_of(a)[-2:]
    cut = rcond if rcond is not None else rtol
    if cut is None:
        cut = max(m, n) * np.finfo(np.result_type(value(a), 0.0)).eps
    s = np.linalg.svd(np.asarray(value(a)), compute_uv=False)
    keep = s > cut * s[..., :1]
    if keep.all() and m and n:
        from .complex import _iscomplex, conj
        ah = conj(_mT(a)) if _iscomplex(a) else _mT(a)
        if m >= n:   # (aᴴa)⁻¹ aᴴ
            return solve_matrix(matmul(ah, a), ah)
        return _mT(solve_matrix(_mT(matmul(a, ah)), _mT(ah)))   # aᴴ (a aᴴ)⁻¹
    u, sv, vh = svd(a, full_matrices=False)
    inv_s = where(keep, divide(1.0, where(keep, sv, 1.0)), 0.0)
    return matmul(multiply(_mT(vh), expand_dims(inv_s, -2)), _mT(u))


LstsqResult = namedtuple("LstsqResult", ["x", "residuals", "rank", "s"])


def lstsq(a, b, rcond=None):
    """Least squares (``numpy.linalg.lstsq``): ``x = pinv(a) @ b``, with numpy's extra
    outputs (residuals: squared norms when ``a`` has full column rank and ``m > n``,
    else empty; the rank, a plain int; the singular values, differentiable).

    >>> import admodes as ad, numpy as np
    >>> a = np.array([[1.0], [1.0]])
    >>> ad.grad(lambda b: lstsq(a, b)[0].sum())(np.array([1.0, 3.0]))
    array([0.5, 0.5])
    """
    m, n = shape_of(a)[-2:]
    av = np.asarray(value(a))
    if rcond is None:
        rcond = np.finfo(np.result_type(av, 0.0)).eps * max(m, n)
    sv = np.linalg.svd(av, compute_uv=False)
    rank = int(np.sum(sv > rcond * sv[..., :1])) if sv.size else 0
    x = matmul(pinv(a, rcond=rcond), b)
    if rank == n and m > n:
        r = subtract(matmul(a, x), b)
        residuals = _sum(multiply(r, r), axis=(0,))
    else:
        residuals = np.zeros((0,))
    return LstsqResult(x, residuals, rank, svdvals(a))


# ---------------------------------------------------------------- qr ------------------
# Reduced QR a = Q R of a (stack of) m x n matrices with m >= n (Q: m x n with
# orthonormal columns, R: n x n upper triangular, numpy's signs).  One primitive packs
# [Q; R] as rows, shape (..., m + n, n).  With X = Qᵀ da R⁻¹ and Ω = tril(X, -1) -
# tril(X, -1)ᵀ (skew), JAX's forward rule:
#   jvp:  dQ = Q (Ω - X) + da R⁻¹,   dR = (X - Ω) R
# and its transpose, PyTorch's backward formula (M = R̄ Rᵀ - Qᵀ Q̄, copied from its upper
# triangle to the lower one):
#   vjp:  ā = (Q̄ + Q sym_u(M)) R⁻ᵀ,   sym_u(M) = triu(M) + triu(M, 1)ᵀ
# R⁻¹ exists exactly when a has full column rank; at a rank-deficient a, Q is not
# determined by a and the rules raise, naming qr.  Wide matrices (m < n) are a
# composite: Q, R₁ = qr(a[:, :m]) and R₂ = Qᵀ a[:, m:] (as Householder QR computes them).


def _qr_impl(a):
    q, r = np.linalg.qr(a)
    return np.concatenate([q, r], axis=-2)


def _split_qr(packed):
    rows, n = shape_of(packed)[-2:]
    q = getitem(packed, (Ellipsis, slice(0, rows - n), slice(None)))
    r = getitem(packed, (Ellipsis, slice(rows - n, None), slice(None)))
    return q, r


def _solve_r(r, b):
    """``r⁻¹ b`` for the triangular factor, or a LinAlgError that names qr."""
    try:
        return solve_matrix(r, b)
    except np.linalg.LinAlgError:
        raise np.linalg.LinAlgError(
            "linalg.qr: the matrix does not have full column rank (R has a zero on its "
            "diagonal), so Q is not determined by a there and qr has no derivative"
        ) from None


def _qr_jvp(t, ans, a):
    q, r = _split_qr(ans)
    _, strict, _ = _masks(shape_of(r)[-1])
    y = _mT(_solve_r(_mT(r), _mT(t)))             # da R⁻¹
    x = matmul(_mT(q), y)                          # Qᵀ da R⁻¹
    low = multiply(x, strict)
    omega = subtract(low, _mT(low))
    dq = add(matmul(q, subtract(omega, x)), y)
    dr = matmul(subtract(x, omega), r)
    return concatenate([dq, dr], axis=-2)


def _qr_vjp(g, ans, a):
    q, r = _split_qr(ans)
    gq, gr = _split_qr(g)
    lower, strict, _ = _masks(shape_of(r)[-1])
    m = subtract(matmul(gr, _mT(r)), matmul(_mT(q), gq))
    upper = _mT(lower)                              # triu mask, diagonal included
    b = add(multiply(m, upper), _mT(multiply(m, _mT(strict))))
    c = add(gq, matmul(q, b))
    return _mT(_solve_r(r, _mT(c)))                 # c R⁻ᵀ


def _qr_domain(rng):
    q = np.linalg.qr(rng.normal(size=(4, 3)))[0]
    ill = q @ np.array([[2.0, 1.0, 0.5], [0.0, -1.2, 0.3], [0.0, 0.0, 0.2]])
    return [([rng.normal(size=(4, 3))], {}), ([rng.normal(size=(3, 3))], {}),
            ([rng.normal(size=(2, 4, 2))], {}), ([rng.normal(size=(3, 1))], {}),
            ([ill], {})]
    # ill: nearly dependent columns, |R₂₂| = 0.2 (not smaller: the registry's Richardson
    # reference starts with steps of 0.1 x scale, which must not cross the sign flip of
    # numpy's R₂₂ at 0).


_qr = register("qr", _qr_impl, _qr_jvp, _qr_vjp, domain=_qr_domain, analytic=False,
               keep=(), keep_ans=True)

QRResult = namedtuple("QRResult", ["Q", "R"])


def qr(a, mode="reduced"):
    """QR decomposition (``numpy.linalg.qr``), differentiable in the reduced form.

    ``a = Q R`` with orthonormal columns in ``Q`` and ``R`` upper triangular, with
    numpy's signs.  Derivatives: JAX's forward rule and PyTorch's backward formula
    (tall and square ``a``); a wide ``a`` (m < n) factors its first m columns and
    gets ``R``'s remaining columns as ``Qᵀ a[..., m:]``.  At a matrix whose first
    ``min(m, n)`` columns are linearly dependent the factors are not determined by
    ``a`` and the derivative raises ``LinAlgError``.

    Args:
        a: shape ``(..., m, n)``, real.
        mode: ``"reduced"`` (``Q``: ``(..., m, k)``, ``R``: ``(..., k, n)``, k =
            min(m, n)), ``"r"`` (``R`` only) or ``"complete"`` (the same as reduced
            when ``m <= n``; for ``m > n`` the extra columns of ``Q`` are not
            determined by ``a``: ``NotImplementedError``).  ``"raw"`` is not supported.

    Returns:
        ``QRResult(Q, R)``, or ``R`` for ``mode="r"``.

    >>> import admodes as ad, numpy as np
    >>> a = np.array([[3.0, 1.0], [4.0, 2.0]])
    >>> ad.grad(lambda a: qr(a).R[0, 0] ** 2)(a)   # R₀₀² = |a[:, 0]|²
    array([[6., 0.],
           [8., 0.]])
    """
    if ndim_of(a) < 2:
        raise np.linalg.LinAlgError(f"linalg.qr: {ndim_of(a)}-dimensional array given; "
                                    "the array must be at least two-dimensional")
    if mode not in ("reduced", "r", "complete", "raw"):
        raise ValueError(f"linalg.qr: unrecognized mode {mode!r}")
    m, n = shape_of(a)[-2:]
    if mode == "raw" or (mode == "complete" and m > n):
        raise NotImplementedError(
            f"linalg.qr: mode={mode!r} is not differentiable" +
            (" (Q's last m - n columns are not determined by a); use mode='reduced'"
             if mode == "complete" else "; use mode='reduced' or 'r'"))
    _real_only(a, "qr")
    if m >= n:
        q, r = _split_qr(bind(_qr, a))
    else:
        q, r1 = _split_qr(bind(_qr, getitem(a, (Ellipsis, slice(None), slice(0, m)))))
        r2 = matmul(_mT(q), getitem(a, (Ellipsis, slice(None), slice(m, None))))
        r = concatenate([r1, r2], axis=-1)
    return r if mode == "r" else QRResult(q, r)
