"""Contractions: matmul and einsum (the workhorses), and the composites over them (dot,
inner, outer, tensordot, vdot, trace).  Batch axes of tangents/cotangents are carried by an extra
einsum letter, so every rule here works under ``jacfwd``/``jacrev``."""

from __future__ import annotations

import string

import numpy as np

from ..dispatch import bind, ndim_of, shape_of
from ..registry import register, variadic
from .elementwise import multiply
from .reductions import unbroadcast
from .shape import _nb, expand_dims, reshape, swapaxes

# ---------------------------------------------------------------- einsum --------------


def _parse(spec, shapes):
    """Split an einsum spec into input subscripts and an explicit output subscript."""
    spec = spec.replace(" ", "")
    if "->" in spec:
        ins, out = spec.split("->")
    else:
        ins = spec
        letters = ins.replace(",", "").replace("...", "")
        out = ("..." if "..." in ins else "") + "".join(
            sorted(c for c in set(letters) if letters.count(c) == 1))
    subs = ins.split(",")
    if len(subs) != len(shapes):
        raise ValueError(f"einsum: spec {spec!r} names {len(subs)} operands, got {len(shapes)}")
    return subs, out


def _fresh_letter(*subs):
    used = set("".join(subs))
    for c in string.ascii_letters:
        if c not in used:
            return c
    raise ValueError("einsum: no free letter for the batch axis")  # pragma: no cover


def _einsum_impl(*operands, spec):
    return np.einsum(spec, *operands, optimize=len(operands) > 2)


def _einsum_jvp(i, t, ans, *operands, spec):
    subs, out = spec.split("->")[0].split(","), spec.split("->")[1]
    nb = _nb(t, operands[i])
    if nb:
        z = _fresh_letter(spec)
        subs = list(subs)
        subs[i] = z + subs[i]
        out = z + out
    ops = list(operands)
    ops[i] = t
    return einsum(",".join(subs) + "->" + out, *ops)


def _einsum_vjp(i, g, ans, *operands, spec):
    subs, out = spec.split("->")[0].split(","), spec.split("->")[1]
    target = subs[i]
    nb = _nb(g, ans)
    z = _fresh_letter(spec) if nb else ""
    others = [(s, op) for k, (s, op) in enumerate(zip(subs, operands)) if k != i]
    in_specs = [z + out] + [s for s, _ in others]
    in_ops = [g] + [op for _, op in others]
    # A letter repeated in the target (a diagonal, 'ii') is produced once and then
    # multiplied onto an identity; a letter only in the target (summed out by this
    # operand alone) is broadcast back with a ones vector.
    xs = shape_of(operands[i])
    letters = target.replace("...", "")
    ell_nd = ndim_of(operands[i]) - len(letters)
    dims = {}
    pos = 0
    for ch in target.replace("...", "."):
        if ch == ".":
            pos += ell_nd
            continue
        dims.setdefault(ch, xs[pos])
        pos += 1
    out_target = ""
    seen = set()
    eyes = []
    for ch in target.replace("...", "."):
        if ch == ".":
            out_target += "..."
        elif ch in seen:
            new = _fresh_letter(spec, z, out_target, *[e[0] for e in eyes])
            eyes.append((ch + new, np.eye(dims[ch])))
            out_target += new
        else:
            seen.add(ch)
            out_target += ch
    available = set("".join(in_specs)) | set("".join(e[0] for e in eyes))
    for ch in seen:
        if ch not in available:
            in_specs.append(ch)
            in_ops.append(np.ones(dims[ch]))
    for sub, eye in eyes:
        in_specs.append(sub)
        in_ops.append(eye)
    has_ellipsis = "..." in "".join(in_specs)
    if "..." in out_target and not has_ellipsis:  # pragma: no cover - defensive
        raise ValueError(f"einsum: cannot transpose {spec!r}")
    if not has_ellipsis:
        return einsum(",".join(in_specs) + "->" + z + out_target, *in_ops)
    if "..." not in out_target:
        # The other operands' ellipsis dims are summed out of this operand's cotangent.
        from .reductions import sum as _sum
        res = einsum(",".join(in_specs) + "->" + z + "..." + out_target, *in_ops)
        n_ell = ndim_of(res) - nb - len(out_target)
        if n_ell:
            res = _sum(res, axis=tuple(range(nb, nb + n_ell)))
        return res
    # Ellipsis dims may have been broadcast: produce the broadcast ellipsis, then sum down.
    res = einsum(",".join(in_specs) + "->" + z + out_target, *in_ops)
    return unbroadcast(res, xs, nb) if shape_of(res)[nb:] != xs else res


def _einsum_domain(rng):
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(3, 4))
    return [([a, b], {"spec": "ij,jk->ik"}),
            ([rng.normal(size=(3, 3))], {"spec": "ii->i"}),
            ([a, rng.normal(size=(3,))], {"spec": "ij,j->"}),
            ([rng.normal(size=(2, 2, 3)), b], {"spec": "...j,jk->...k"}),
            ([a, rng.normal(size=(2,))], {"spec": "ij,i->ij"})]


_einsum = register("einsum", _einsum_impl, variadic(_einsum_jvp), variadic(_einsum_vjp),
                   domain=_einsum_domain, keep_ans=False)


def einsum(spec, *operands):
    """``numpy.einsum`` with an explicit or implicit output; differentiable in every
    operand (multilinear)."""
    subs, out = _parse(spec, [shape_of(o) for o in operands])
    return bind(_einsum, *operands, spec=",".join(subs) + "->" + out)


einsum.primitive = _einsum

# ---------------------------------------------------------------- matmul --------------


def _matmul_impl(a, b):
    return np.matmul(a, b)


def _mm_spec(na, nb_):
    """The einsum spec of ``a @ b`` for operand ranks na, nb_."""
    if na == 1 and nb_ == 1:
        return "j,j->"
    if na == 1:
        return "j,...jk->...k"
    if nb_ == 1:
        return "...ij,j->...i"
    return "...ij,...jk->...ik"


# The rules use BLAS matmul wherever the batch axis of a tangent/cotangent can ride
# along as a broadcast axis, and fall back to einsum (with a letter for the batch axis)
# for the remaining rank combinations.


def _matmul_jvp_a(t, ans, a, b):
    if _nb(t, a) == 0 or ndim_of(b) <= 2:  # (B, ..., n, k) @ (k, m): B broadcasts
        return matmul(t, b)
    return _einsum_jvp(0, t, ans, a, b, spec=_mm_spec(ndim_of(a), ndim_of(b)))


def _matmul_jvp_b(t, ans, a, b):
    nb = _nb(t, b)
    na, nbb = ndim_of(a), ndim_of(b)
    if nb == 0:
        return matmul(a, t)
    if nbb >= 2 and na >= 2 and na <= nbb:
        return matmul(a, t)  # t's batch axis is one more broadcast axis
    if nbb == 1 and na == 2:
        return matmul(t, swapaxes(a, -1, -2))  # (B, k) @ (k, n): one BLAS call
    return _einsum_jvp(1, t, ans, a, b, spec=_mm_spec(na, nbb))


def _matmul_vjp_a(g, ans, a, b):
    na, nbb = ndim_of(a), ndim_of(b)
    if na == 2 and nbb == 2:
        return matmul(g, swapaxes(b, -1, -2))  # (batch, n, m) @ (m, k): batch rides along
    if na == 2 and nbb == 1:
        return multiply(expand_dims(g, -1), b)  # an outer product per batch row
    return _einsum_vjp(0, g, ans, a, b, spec=_mm_spec(na, nbb))


def _matmul_vjp_b(g, ans, a, b):
    na, nbb = ndim_of(a), ndim_of(b)
    if na == 2 and nbb == 2 and _nb(g, ans) == 0:
        return matmul(swapaxes(a, -1, -2), g)
    if na == 2 and nbb == 1:
        return matmul(g, a)  # (B, n) @ (n, k)
    return _einsum_vjp(1, g, ans, a, b, spec=_mm_spec(na, nbb))


def _matmul_domain(rng):
    n = rng.normal
    return [([n(size=(2, 3)), n(size=(3, 4))], {}),
            ([n(size=(3,)), n(size=(3, 4))], {}),
            ([n(size=(2, 3)), n(size=(3,))], {}),
            ([n(size=(3,)), n(size=(3,))], {}),
            ([n(size=(2, 2, 3)), n(size=(3, 4))], {}),
            ([n(size=(2, 3)), n(size=(2, 3, 2))], {})]


_matmul = register("matmul", _matmul_impl, (_matmul_jvp_a, _matmul_jvp_b),
                   (_matmul_vjp_a, _matmul_vjp_b), domain=_matmul_domain,
                   needs=((1,), (0,)), sparsity="matmul")


def matmul(a, b):
    """``a @ b`` (vector, matrix and batched cases, as ``numpy.matmul``)."""
    if ndim_of(a) == 0 or ndim_of(b) == 0:
        raise ValueError("matmul: input operand does not have enough dimensions "
                         f"(shapes {shape_of(a)} and {shape_of(b)}); use multiply for scalars")
    return bind(_matmul, a, b)


matmul.primitive = _matmul


def dot(a, b):
    """``numpy.dot`` (composite over matmul / einsum / multiply)."""
    na, nbb = ndim_of(a), ndim_of(b)
    if na == 0 or nbb == 0:
        from .elementwise import multiply
        return multiply(a, b)
    if na <= 2 and nbb <= 2:
        return matmul(a, b)
    if nbb == 1:
        return einsum("...j,j->...", a, b)
    # N-d dot: sum over the last axis of a and the second-to-last of b.
    la = string.ascii_lowercase[:na - 1]
    lb = string.ascii_uppercase[:nbb - 2]
    return einsum(f"{la}z,{lb}zy->{la}{lb}y", a, b)


def vdot(a, b):
    """``numpy.vdot``: ``sum(conj(a) * b)`` over the flattened inputs (a complex ``a``
    is conjugated, through the ``conj`` primitive).

    >>> vdot(np.array([1j, 2.0]), np.array([1j, 1.0]))
    np.complex128(3+0j)
    """
    from .complex import _iscomplex, conj
    if _iscomplex(a):
        a = conj(a)
    return einsum("i,i->", reshape(a, (-1,)), reshape(b, (-1,)))


def inner(a, b):
    """``numpy.inner``: sum over the last axes of ``a`` and ``b``."""
    na, nbb = ndim_of(a), ndim_of(b)
    if na == 0 or nbb == 0:
        from .elementwise import multiply
        return multiply(a, b)
    la = string.ascii_lowercase[:na - 1]
    lb = string.ascii_uppercase[:nbb - 1]
    return einsum(f"{la}z,{lb}z->{la}{lb}", a, b)


def outer(a, b):
    """``numpy.outer`` (of the flattened inputs)."""
    return einsum("i,j->ij", reshape(a, (-1,)), reshape(b, (-1,)))


def tensordot(a, b, axes=2):
    na, nbb = ndim_of(a), ndim_of(b)
    if isinstance(axes, (int, np.integer)):
        ax_a = list(range(na - axes, na))
        ax_b = list(range(axes))
    else:
        ax_a, ax_b = [list(np.atleast_1d(x) % n) for x, n in zip(axes, (na, nbb))]
    la = list(string.ascii_lowercase[:na])
    lb = list(string.ascii_uppercase[:nbb])
    for p, q in zip(ax_a, ax_b):
        lb[q] = la[p]
    out = [c for k, c in enumerate(la) if k not in ax_a] + [c for k, c in enumerate(lb) if k not in ax_b]
    return einsum("".join(la) + "," + "".join(lb) + "->" + "".join(out), a, b)


def trace(x, offset=0, axis1=0, axis2=1):
    """``numpy.trace`` (composite: sum of the diagonal)."""
    from .reductions import sum
    from .shape import diagonal
    return sum(diagonal(x, offset, axis1, axis2), axis=-1)

