"""Structural sparsity detection: a third interpretation of the op registry.

Besides values (``impl``) and derivatives (the JVP and VJP rules), every primitive can
say which entries of its output depend on which entries of its inputs.  A
:class:`SparsityLevel` is a transformation level like forward or reverse mode; its
boxes (:class:`Tracer`) carry, next to their value, a pattern: a scipy CSR array with
one row per element of the value (C order) and one column per input element, whose
non-zeros are the input entries that element depends on.  Applying a primitive runs its
``impl`` on the values and propagates the patterns by the primitive's ``sparsity`` rule
(see :class:`admodes.registry.Primitive`):

* ``elementwise`` primitives (no rule needed): union of the broadcast arguments' rows;
* ``"index"``: shape and indexing primitives (reshape, transpose, broadcast_to, flip,
  concatenate, pad, getitem, diagonal ...): the ``impl`` is applied to arrays of element
  ids, which says exactly where every output entry comes from (0: a fill value);
* ``"reduce"``: reductions along the ``axis`` parameter (sum, max, min, prod,
  logsumexp): union over the reduced entries; ``"scan"``: cumsum, cumprod; ``"scatter"``:
  scatter-add; ``"matmul"``: matrix products (a constant operand's zero entries are
  structural zeros);
* no rule (linear algebra, einsum, user primitives ...): **conservative**: every output
  entry depends on every input entry any argument depends on.

Patterns are structural: a derivative that happens to be zero at ``x`` still counts.
Nondifferentiable primitives (comparisons, ``sign`` ...) give constants, so they add no
dependence, but they and Python control flow on traced values (``bool``, ``int``) can
make the pattern depend on ``x``: such a detection is marked ``value_dependent``.

The Hessian pattern is the Jacobian pattern of the gradient: :func:`hessian_sparsity`
runs ``grad(f)`` (the reverse-mode engine, unchanged) on tracers, so the VJP rules
themselves say which inputs interact: a primitive that is linear in an argument has a
VJP that does not read it, and so adds no second-order dependence through it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from .. import api
from ..dispatch import Box, Level, shape_of, value
from ..tree import flatten

__all__ = ["jacobian_sparsity", "hessian_sparsity", "SparsityLevel", "Tracer", "detect"]

# The conservative (dense) rule refuses to build a pattern with more entries than this.
MAX_DENSE_ENTRIES = 50_000_000


class Tracer(Box):
    """A value and the pattern of its dependence on the inputs (one CSR row per element)."""

    __slots__ = ("_pattern",)

    def __init__(self, primal, pattern, level):
        self._primal = primal
        self._pattern = pattern
        self._level = level

    # Python control flow on a traced value: the pattern may hold only at this x.
    def __bool__(self):
        self._level.flag("bool()")
        return bool(value(self))

    def __int__(self):
        self._level.flag("int()")
        return int(value(self))

    def __float__(self):
        self._level.flag("float()")
        return float(value(self))


class SparsityLevel(Level):
    """A sparsity-detection call: patterns over ``n`` input elements."""

    __slots__ = ("n", "value_dependent", "conservative")
    kind = "sparsity"

    def __init__(self, n):
        super().__init__()
        self.n = n
        self.value_dependent = set()  # why the pattern may depend on x
        self.conservative = set()     # primitives that used the dense fallback

    def flag(self, why):
        self.value_dependent.add(why)

    def process(self, prim, args, params):
        if prim.nondiff:
            self.flag(prim.name)
        return super().process(prim, args, params)

    def process2(self, prim, a, b, params):
        if prim.nondiff:
            self.flag(prim.name)
        return super().process2(prim, a, b, params)

    def wrap(self, prim, params, primals, ans, mine):
        pats = [None if m is None else m._pattern for m in mine]
        rule = prim.sparsity
        if rule is None:
            rule = _elementwise if prim.elementwise else None
        elif isinstance(rule, str):
            rule = _RULES[rule]
        out = None
        if rule is not None:
            out = rule(prim, pats, primals, ans, params)
        if out is None:  # no rule, or a rule that does not cover this case
            self.conservative.add(prim.name)
            out = _dense(prim, pats, ans)
        return Tracer(ans, out, self)


# ---------------------------------------------------------------- patterns ------------


def _size(x):
    return math.prod(shape_of(x))


def _empty(rows, n):
    return sp.csr_array((np.zeros(0), np.zeros(0, dtype=np.int32),
                         np.zeros(rows + 1, dtype=np.int32)), shape=(rows, n))


def _rows(P, idx):
    """Rows ``idx`` of ``P``; ``-1`` gives an empty row."""
    if idx.size and idx.min() < 0:
        rows, n = P.shape
        P = sp.csr_array((P.data, P.indices, np.append(P.indptr, P.indptr[-1])),
                         shape=(rows + 1, n))
        idx = np.where(idx < 0, rows, idx)
    if idx.size == P.shape[0] and np.array_equal(idx, np.arange(idx.size)):
        return P
    return P[idx]


def _union(a, b):
    return b if a is None else a + b


def _elementwise(prim, pats, primals, ans, params):
    want = shape_of(ans)
    out = None
    for P, x in zip(pats, primals):
        if P is None:
            continue
        xs = shape_of(x)
        if xs != want:
            ids = np.broadcast_to(np.arange(math.prod(xs)).reshape(xs), want).ravel()
            P = _rows(P, ids)
        out = _union(out, P)
    return out


def _index(prim, pats, primals, ans, params):
    ids, off = [], 0
    for x in primals:
        s = shape_of(x)
        k = math.prod(s)
        ids.append((np.arange(k, dtype=np.int64) + (off + 1)).reshape(s))
        off += k
    src = np.asarray(prim.impl(*ids, **params)).ravel() - 1  # -1: a fill value
    boxed = [i for i, P in enumerate(pats) if P is not None]
    if len(boxed) == 1 and len(primals) == 1:
        return _rows(pats[0], src)
    n = next(P for P in pats if P is not None).shape[1]
    stack = sp.vstack([P if P is not None else _empty(_size(x), n)
                       for P, x in zip(pats, primals)], format="csr")
    return _rows(stack, src)


def _reduce(prim, pats, primals, ans, params):
    (P,) = pats
    xs = shape_of(primals[0])
    nd = len(xs)
    axes = [a % nd for a in params["axis"]] if nd else []
    keep = [a for a in range(nd) if a not in axes]
    ids = np.arange(math.prod(xs)).reshape(xs).transpose(keep + axes)
    k = math.prod(xs[a] for a in axes)
    rows = _size(ans)
    ids = ids.reshape(rows, k)
    R = sp.csr_array((np.ones(rows * k), ids.ravel(), np.arange(0, rows * k + 1, k)),
                     shape=(rows, math.prod(xs)))
    return sp.csr_array(R @ P)


def _scan(prim, pats, primals, ans, params):
    (P,) = pats
    xs = shape_of(primals[0])
    nd = len(xs)
    ax = params.get("axis", -1) % nd   # cumprod scans the last axis
    ids = np.moveaxis(np.arange(math.prod(xs)).reshape(xs), ax, -1)
    k = xs[ax]
    ids = ids.reshape(-1, k)
    i, j = np.tril_indices(k)
    D = sp.csr_array((np.ones(ids.shape[0] * i.size), (ids[:, i].ravel(), ids[:, j].ravel())),
                     shape=(P.shape[0], P.shape[0]))
    return sp.csr_array(D @ P)


def _scatter(prim, pats, primals, ans, params):
    (P,) = pats
    out_shape = shape_of(ans)
    from ..ops.shape import batched_getitem
    target = batched_getitem(np.arange(math.prod(out_shape)).reshape(out_shape),
                             params["idx"], params["nb"])
    target = np.asarray(target).ravel()
    S = sp.csr_array((np.ones(target.size), (target, np.arange(target.size))),
                     shape=(math.prod(out_shape), target.size))
    return sp.csr_array(S @ P)


def _mask(x, boxed):
    """The structural non-zeros of a matmul operand: all, unless it is a constant."""
    if boxed or isinstance(x, Box):
        return np.ones(shape_of(x), dtype=bool)
    return np.asarray(x) != 0


def _matmul(prim, pats, primals, ans, params):
    a, b = primals
    da, db = len(shape_of(a)), len(shape_of(b))
    if da > 2 or db > 2:
        return None  # batched products: conservative
    ma = _mask(a, pats[0] is not None)
    mb = _mask(b, pats[1] is not None)
    out = None
    if pats[0] is not None:  # out[i, j] <- a[i, k] where b[k, j] may be non-zero
        B = sp.csr_array(mb.T if db == 2 else mb[None, :])
        D = B if da == 1 else sp.kron(sp.eye_array(shape_of(a)[0]), B, format="csr")
        out = _union(out, sp.csr_array(D @ pats[0]))
    if pats[1] is not None:  # out[i, j] <- b[k, j] where a[i, k] may be non-zero
        A = sp.csr_array(ma if da == 2 else ma[None, :])
        D = A if db == 1 else sp.kron(A, sp.eye_array(shape_of(b)[1]), format="csr")
        out = _union(out, sp.csr_array(D @ pats[1]))
    return out


def _dense(prim, pats, ans):
    """The conservative rule: every output entry depends on every input entry that any
    argument depends on."""
    n = next(P for P in pats if P is not None).shape[1]
    cols = np.unique(np.concatenate([P.indices for P in pats if P is not None]))
    rows = _size(ans)
    if rows * cols.size > MAX_DENSE_ENTRIES:
        raise ValueError(
            f"sparsity detection: primitive {prim.name!r} has no sparsity rule, and its "
            f"conservative (dense) pattern would hold {rows} x {cols.size} entries; pass "
            "a known pattern with sparsity=")
    return sp.csr_array((np.ones(rows * cols.size), np.tile(cols, rows),
                         np.arange(0, rows * cols.size + 1, cols.size)), shape=(rows, n))


_RULES = {"index": _index, "reduce": _reduce, "scan": _scan, "scatter": _scatter,
          "matmul": _matmul}


# ---------------------------------------------------------------- public --------------


class Detection:
    """A detected pattern with what the detection learned on the way."""

    def __init__(self, pattern, n_in, value_dependent, conservative):
        self.pattern = pattern
        self.n_in = n_in
        self.value_dependent = frozenset(value_dependent)
        self.conservative = frozenset(conservative)


def detect(f, x, fname, hessian=False):
    """Run ``f`` (or ``grad(f)`` for ``hessian``) on tracers; return a :class:`Detection`."""
    inputs = api._Args((x,), (0,), fname)
    n = sum(inputs.sizes)
    level = SparsityLevel(n)
    fun = api.grad(f) if hessian else f
    try:
        boxed, off = [], 0
        for leaf, size in zip(inputs.leaves, inputs.sizes):
            P = sp.csr_array((np.ones(size), np.arange(off, off + size),
                              np.arange(size + 1)), shape=(size, n))
            boxed.append(Tracer(leaf, P, level))
            off += size
        try:
            out = inputs.call(fun, boxed, {})
        except TypeError as e:
            if hessian and str(e).startswith("grad"):
                raise TypeError(f"{fname}: {e}") from None
            raise
    finally:
        level.close()
    outs, _ = flatten(out)
    outs = api._check_outputs(outs, out, fname)
    blocks = [o._pattern if isinstance(o, Tracer) and o._level is level
              else _empty(_size(o), n) for o in outs]
    P = sp.vstack(blocks, format="csr") if blocks else _empty(0, n)
    P = sp.csr_array(P)
    P.sum_duplicates()
    P.data = np.ones(P.nnz, dtype=bool)
    if hessian:
        P = sp.csr_array((P + P.T).astype(bool))
        P.sum_duplicates()
    P.sort_indices()
    return Detection(P, n, level.value_dependent, level.conservative)


def jacobian_sparsity(f: Callable[..., Any], x: Any) -> Any:
    """The structural sparsity pattern of the Jacobian of ``f`` at ``x``.

    Rows are the elements of the flattened output, columns those of the flattened input
    (pytree leaves in ``admodes.tree`` order, each in C order).  Found by propagating
    index sets through the registry's primitives, not by differentiating: a derivative
    that happens to be zero at ``x`` is still a non-zero of the pattern.

    Args:
        f: a function of one argument (an array, a float, or a pytree of them).
        x: the point; its values matter only for control flow in ``f``.

    Returns:
        A boolean ``scipy.sparse.csr_array`` of shape ``(m, n)``.

    >>> import admodes as ad, admodes.numpy as anp, numpy as np
    >>> f = lambda x: x[1:] * x[:-1] + anp.sin(x[1:])
    >>> ad.jacobian_sparsity(f, np.ones(4)).toarray().astype(int)
    array([[1, 1, 0, 0],
           [0, 1, 1, 0],
           [0, 0, 1, 1]])
    """
    return detect(f, x, "jacobian_sparsity").pattern


def hessian_sparsity(f: Callable[..., Any], x: Any) -> Any:
    """The structural sparsity pattern of the Hessian of a scalar ``f`` at ``x``: which
    pairs of input elements interact nonlinearly (the Jacobian pattern of ``grad(f)``,
    symmetrised).

    Args:
        f: a scalar-valued function of one argument (array, float or pytree).
        x: the point.

    Returns:
        A symmetric boolean ``scipy.sparse.csr_array`` of shape ``(n, n)``.

    >>> import admodes as ad, numpy as np
    >>> f = lambda x: ((x[1:] - x[:-1] ** 2) ** 2).sum() + (x ** 2).sum()
    >>> ad.hessian_sparsity(f, np.ones(4)).toarray().astype(int)
    array([[1, 1, 0, 0],
           [1, 1, 1, 0],
           [0, 1, 1, 1],
           [0, 0, 1, 1]])
    """
    return detect(f, x, "hessian_sparsity", hessian=True).pattern
