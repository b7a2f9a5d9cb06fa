"""Compressed Jacobians and Hessians: few passes of the existing engine, then
decompression by the colouring.

* forward: the columns of one colour are summed into one tangent direction; all
  colours ride in ONE batched forward pass (tangents with a leading batch axis, as in
  ``jacfwd``), giving ``B = J @ S`` with ``S`` the ``n x colours`` seed matrix.  Column
  ``j``'s entries are read from ``B[:, colour(j)]`` (no row holds two columns of one
  colour).
* reverse: the function is recorded once on a tape, and one backward sweep carries all
  row colours as batched cotangent rows (as ``jacrev``): ``Bt = S.T @ J``.
* Hessian: forward-over-reverse Hessian-vector products: one batched forward pass
  through ``grad(f)`` gives ``H @ S`` for a star colouring; each entry ``(i, j)`` is
  read from row ``i`` at colour(j) when no other column of row ``i`` has that colour,
  else from row ``j`` at colour(i) (a star colouring guarantees one of the two), and
  mirrored, so the result is exactly symmetric.

Patterns and colourings are computed once per input structure and reused.  A pattern
whose detection met value-dependent control flow (see :mod:`.detect`) is re-detected
at every call instead, so a cached pattern is never applied where it may not hold; a
re-detected pattern equal to one seen before reuses that one's colourings.

A call is three steps: the plan (pattern, colourings, seeds, gather indices: structural,
plain numpy, computed once), the values (the compressed evaluation and the gather of the
CSR data: the engine's passes, written so that they also run on traced values), and the
assembly of the scipy array around those values.  ``ad.jit`` of a sparse Jacobian or
Hessian (:mod:`.jitted`) compiles the middle step only.  The assembled arrays share the
plan's index arrays (``indices``, ``indptr``), which are read-only: the data is the
caller's, the structure stays the plan's (``J.copy()`` before changing it in place).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from .. import api
from ..dispatch import Box, shape_of
from ..ops.shape import concatenate, getitem, reshape
from ..tree import flatten
from .coloring import color_columns, color_rows, star_coloring
from .detect import detect

__all__ = ["sparse_jacobian", "sparse_hessian", "SparseJacobian", "SparseHessian"]

_MODES = {"auto": "auto", "forward": "forward", "fwd": "forward", "reverse": "reverse",
          "rev": "reverse"}


def _as_pattern(sparsity, fname):
    if sparsity is None:
        return None
    try:
        P = sp.csr_array(sparsity)
    except Exception as e:
        raise TypeError(f"{fname}: sparsity= must be a scipy.sparse array or a 2-d array, "
                        f"got {type(sparsity).__name__}") from e
    if P.ndim != 2:
        raise ValueError(f"{fname}: sparsity= must be 2-d, got shape {P.shape}")
    P = sp.csr_array(P != 0)
    P.sum_duplicates()
    P.sort_indices()
    return P


class _Plan:
    """A pattern with its colourings and index arrays, for one input structure."""

    def __init__(self, pattern, value_dependent=frozenset(), conservative=frozenset()):
        self.pattern = pattern
        self.value_dependent = value_dependent
        self.conservative = conservative
        P = pattern
        self.rows = np.repeat(np.arange(P.shape[0]), np.diff(P.indptr))
        self.cols = P.indices
        # the results' index arrays: shared by every result, so read-only
        self.indices = _frozen(P.indices)
        self.indptr = _frozen(P.indptr)
        self._seeds = {}

    @functools.cached_property
    def n_col(self):
        return _ncolors(self.col_colors)

    @functools.cached_property
    def n_row(self):
        return _ncolors(self.row_colors)

    @functools.cached_property
    def n_star(self):
        return _ncolors(self.star_colors)

    def assemble(self, vals):
        """The scipy CSR array with this plan's structure and the data ``vals``."""
        P = self.pattern
        J = sp.csr_array((vals, self.indices, self.indptr), shape=P.shape, copy=False)
        J.has_sorted_indices = True  # the plan's pattern is canonical: no scan needed
        return J

    @functools.cached_property
    def col_colors(self):
        return color_columns(self.pattern)

    @functools.cached_property
    def row_colors(self):
        return color_rows(self.pattern)

    @functools.cached_property
    def star_colors(self):
        return star_coloring(self.pattern)

    @functools.cached_property
    def star_sources(self):
        src_color, src_row = _star_sources(self.pattern, self.star_colors)
        return src_color * self.pattern.shape[0] + src_row  # flat index into B (k, n)

    @functools.cached_property
    def forward_take(self):
        """Flat positions in B (colours x m) of the pattern's entries, in CSR order."""
        return self.col_colors[self.cols] * self.pattern.shape[0] + self.rows

    @functools.cached_property
    def reverse_take(self):
        """Flat positions in Bt (colours x n) of the pattern's entries, in CSR order."""
        return self.row_colors[self.rows] * self.pattern.shape[1] + self.cols

    def seeds(self, which, shapes, sizes):
        """The seed directions of a colouring, per leaf; built once and kept (read-only)."""
        key = (which, tuple(map(tuple, shapes)))
        got = self._seeds.get(key)
        if got is None:
            colors = getattr(self, which)
            got = _seeds(colors, _ncolors(colors), shapes, sizes)
            for t in got:
                t.flags.writeable = False
            self._seeds[key] = got
        return got


def _ncolors(c):
    return int(c.max()) + 1 if c.size else 0


def _frozen(a):
    a = np.array(a, copy=True)
    a.flags.writeable = False
    return a


def _digest(P):
    """A fingerprint of a pattern's structure (to find an equal pattern seen before)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(repr(P.shape).encode())
    h.update(np.ascontiguousarray(P.indptr, dtype=np.int64).tobytes())
    h.update(np.ascontiguousarray(P.indices, dtype=np.int64).tobytes())
    return h.digest()


def _same(P, Q):
    return (P.shape == Q.shape and np.array_equal(P.indptr, Q.indptr)
            and np.array_equal(P.indices, Q.indices))


def _gather(B, take):
    """``B.ravel()[take]``: the CSR data read from the compressed result ``B``."""
    if isinstance(B, Box):
        return getitem(reshape(B, (-1,)), (take,))
    return np.ravel(B).take(take)


def _seeds(colors, k, shapes, sizes):
    """The seed matrix (k x n, one row per colour) split per leaf: (k,) + shape."""
    n = colors.size
    S = np.zeros((k, n))
    S[colors, np.arange(n)] = 1.0
    out, off = [], 0
    for shape, size in zip(shapes, sizes):
        out.append(S[:, off:off + size].reshape((k,) + tuple(shape)))
        off += size
    return out


def _compressed(parts, leaves, k):
    """Per-leaf batched results ((k,) + shape, None for zero) as one (k, total) array."""
    if len(parts) == 1 and type(parts[0]) is np.ndarray and parts[0].dtype == np.float64:
        return parts[0].reshape(k, -1)  # one leaf: a view, no copy
    blocks = []
    traced = any(isinstance(t, Box) for t in parts)
    for t, o in zip(parts, leaves):
        size = int(np.prod(shape_of(o), dtype=np.int64))
        if t is None:
            blocks.append(np.zeros((k, size)))
        elif isinstance(t, Box):  # under ad.jit: traced (float64: the seeds are)
            blocks.append(reshape(t, (k, size)))
        else:
            blocks.append(np.reshape(np.asarray(t, dtype=np.float64), (k, size)))
    if not blocks:
        return np.zeros((k, 0))
    if traced:
        return blocks[0] if len(blocks) == 1 else concatenate(blocks, axis=1)
    return np.concatenate(blocks, axis=1)


class _Sparse:
    fname = "sparse"
    max_redetected = 8  # value-dependent patterns whose plans are kept (most recent)

    def __init__(self, f, sparsity):
        functools.update_wrapper(self, f)
        self.f = f
        self._given = _as_pattern(sparsity, self.fname)
        self._plans = {}
        self._redetected = {}  # digest -> plan, for patterns re-detected at every call

    def _inputs(self, x):
        inputs = api._Args((x,), (0,), self.fname)
        for leaf in inputs.leaves:
            if isinstance(leaf, Box):
                raise TypeError(
                    f"{self.fname}: called on a traced value ({type(leaf).__name__}); it "
                    "returns a scipy.sparse array, which cannot carry a trace.  To compile "
                    f"it, apply ad.jit to it directly: ad.jit(ad.{self.fname}(f)); "
                    "differentiating through it is not supported")
        return inputs

    def _plan(self, x, inputs):
        leaves, td = flatten(x)
        key = (repr(td), tuple(inputs.shapes))
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        n = sum(inputs.sizes)
        if self._given is not None:
            plan = _Plan(self._given)
        else:
            d = detect(self.f, x, self.fname, hessian=self.hessian)
            plan = _Plan(d.pattern, d.value_dependent, d.conservative)
        if plan.pattern.shape[1] != n:
            raise ValueError(f"{self.fname}: the sparsity pattern has {plan.pattern.shape[1]} "
                             f"columns but the input has {n} elements (leaf shapes "
                             f"{inputs.shapes})")
        if not plan.value_dependent:
            self._plans[key] = plan
            return plan
        # re-detected at every call: an equal pattern seen before keeps its colourings
        digest = _digest(plan.pattern)
        old = self._redetected.pop(digest, None)
        if old is not None and _same(old.pattern, plan.pattern):
            old.value_dependent, old.conservative = plan.value_dependent, plan.conservative
            plan = old
        self._redetected[digest] = plan
        while len(self._redetected) > self.max_redetected:
            del self._redetected[next(iter(self._redetected))]
        return plan

    def _prepare(self, x):
        """``(plan, mode)`` for a call at ``x`` (validates ``x``)."""
        inputs = self._inputs(x)
        plan = self._plan(x, inputs)
        return plan, self._choose(plan)

    def __call__(self, x):
        plan, mode = self._prepare(x)
        return plan.assemble(self._values(x, plan, mode))

    def _admodes_jit(self, static_argnums=(), optimize=True, max_variants=8):
        """``ad.jit(self)``: see :mod:`.jitted`."""
        from .jitted import JittedSparse
        return JittedSparse(self, static_argnums, optimize, max_variants)


class SparseJacobian(_Sparse):
    """``x -> J(x)`` as a scipy CSR array, evaluated by colouring (see
    :func:`sparse_jacobian`)."""

    fname = "sparse_jacobian"
    hessian = False

    def __init__(self, f, mode="auto", sparsity=None):
        try:
            self.mode = _MODES[mode]
        except (KeyError, TypeError):
            raise ValueError(f"sparse_jacobian: unknown mode {mode!r}; expected 'auto', "
                             "'forward' or 'reverse'") from None
        super().__init__(f, sparsity)

    def _choose(self, plan):
        if self.mode != "auto":
            return self.mode
        # the forward-vs-reverse choice again, on colours instead of n and m (ties: forward,
        # which keeps no tape)
        return "forward" if plan.n_col <= plan.n_row else "reverse"

    def _values(self, x, plan, mode):
        """The CSR data of ``J(x)`` in the plan's order (plain or traced, as ``x``)."""
        inputs = api._Args((x,), (0,), self.fname)
        m = plan.pattern.shape[0]
        if mode == "forward":
            k = plan.n_col
            ts = plan.seeds("col_colors", inputs.shapes, inputs.sizes)
            outs, _, tans, _ = api._push(self.f, inputs, ts, {}, True, self.fname)
            self._check_rows(outs, m)
            return _gather(_compressed(tans, outs, k), plan.forward_take)  # B: (k, m)
        level, inputs, ids, outs, _ = api._record(self.f, (x,), {}, (0,), self.fname)
        self._check_rows(outs, m)
        k = plan.n_row
        seeds = plan.seeds("row_colors", [shape_of(o) for o in outs],
                           [int(np.prod(shape_of(o), dtype=np.int64)) for o in outs])
        got = api._sweep(level, ids, outs, seeds) if k else [None] * len(ids)
        return _gather(_compressed(got, inputs.leaves, k), plan.reverse_take)  # Bt: (k, n)

    def _check_rows(self, outs, m):
        got = sum(int(np.prod(shape_of(o), dtype=np.int64)) for o in outs)
        if got != m:
            raise ValueError(f"{self.fname}: the sparsity pattern has {m} rows but the "
                             f"function returned {got} elements")

    def info(self, x):
        """What a call at ``x`` does: ``mode``, ``n_colors``, ``nnz``, ``shape``, the colour
        counts of both modes, and whether the pattern is cached (or re-detected per call,
        with the reason) and which primitives used the conservative rule.

        Args:
            x: an input of the structure to ask about.

        Returns:
            A dict.
        """
        plan, mode = self._prepare(x)
        kf, kr = plan.n_col, plan.n_row
        return {"mode": mode, "n_colors": kf if mode == "forward" else kr,
                "n_colors_other": kr if mode == "forward" else kf,
                "n_colors_forward": kf, "n_colors_reverse": kr,
                "nnz": int(plan.pattern.nnz), "shape": plan.pattern.shape,
                "pattern_cached": not plan.value_dependent,
                "value_dependent": sorted(plan.value_dependent),
                "conservative": sorted(plan.conservative)}


class SparseHessian(_Sparse):
    """``x -> H(x)`` as a symmetric scipy CSR array (see :func:`sparse_hessian`)."""

    fname = "sparse_hessian"
    hessian = True

    def __init__(self, f, sparsity=None):
        super().__init__(f, sparsity)
        if self._given is not None:
            if self._given.shape[0] != self._given.shape[1]:
                raise ValueError(f"sparse_hessian: sparsity= must be square, got shape "
                                 f"{self._given.shape}")
            P = self._given
            self._given = sp.csr_array((P + P.T) != 0)
            self._given.sort_indices()

    def _choose(self, plan):
        return "forward-over-reverse"

    def _values(self, x, plan, mode):
        """The CSR data of ``H(x)`` in the plan's order (plain or traced, as ``x``)."""
        inputs = api._Args((x,), (0,), self.fname)
        n = plan.pattern.shape[0]
        k = plan.n_star
        if k:
            ts = plan.seeds("star_colors", inputs.shapes, inputs.sizes)
            outs, _, tans, _ = api._push(api.grad(self.f), inputs, ts, {}, True, self.fname)
            B = _compressed(tans, outs, k)  # (k, n): row c is H @ s_c
        else:
            B = np.zeros((0, n))
        return _gather(B, plan.star_sources)

    def info(self, x):
        """``mode`` ("forward-over-reverse"), ``n_colors`` (star colouring), ``nnz``,
        ``shape``, ``n_colors_distance2`` (the column colouring a non-symmetric
        compression would need) and the caching facts, as for
        :meth:`SparseJacobian.info`."""
        plan, mode = self._prepare(x)
        return {"mode": mode, "n_colors": plan.n_star,
                "n_colors_other": plan.n_col,
                "n_colors_distance2": plan.n_col,
                "nnz": int(plan.pattern.nnz), "shape": plan.pattern.shape,
                "pattern_cached": not plan.value_dependent,
                "value_dependent": sorted(plan.value_dependent),
                "conservative": sorted(plan.conservative)}


def _star_sources(P, colors):
    """For every stored entry (i, j) of the symmetric CSR pattern ``P``, where to read it
    in ``B = (H @ S).T``: ``(colour, row)`` arrays.  Raises ``ValueError`` if some entry
    is not directly recoverable with these colours (not a star colouring)."""
    n = P.shape[0]
    rows = np.repeat(np.arange(n), np.diff(P.indptr))
    cols = P.indices
    k = _ncolors(colors)
    # how many columns of each colour row i holds
    count = np.bincount(rows * k + colors[cols], minlength=n * k) if k else np.zeros(0)
    a, b = np.minimum(rows, cols), np.maximum(rows, cols)  # read both (i,j), (j,i) alike
    from_a = count[a * k + colors[b]] == 1 if k else np.zeros(0, bool)
    # row a sees colour(b) once -> B[colour(b), a]; else row b must see colour(a) once
    ok_b = count[b * k + colors[a]] == 1 if k else np.zeros(0, bool)
    bad = ~from_a & ~ok_b
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"sparse_hessian: entry ({a[i]}, {b[i]}) is not recoverable from "
                         "this colouring (not a star colouring)")
    src_color = np.where(from_a, colors[b], colors[a])
    src_row = np.where(from_a, a, b)
    return src_color, src_row


def sparse_jacobian(f: Callable[..., Any], mode: str = "auto", sparsity: Any = None) -> SparseJacobian:
    """A function ``x -> J(x)`` (scipy CSR, shape ``m x n`` over the flattened output and
    input) computed by colouring: one batched forward pass over the column colours, or
    one tape and one batched reverse sweep over the row colours.

    Args:
        f: a function of one argument (array, float or pytree of them).
        mode: ``"forward"``, ``"reverse"`` or ``"auto"`` (the mode with fewer colours).
        sparsity: a known ``m x n`` pattern (skips detection).

    Returns:
        A :class:`SparseJacobian`; call it on ``x``; ``.info(x)`` reports the mode and
        colour counts.  The pattern and colourings are computed once per input structure.
        ``ad.jit`` of it compiles the compressed evaluation
        (:class:`~admodes.sparse.jitted.JittedSparse`).

    >>> import admodes as ad, numpy as np
    >>> f = lambda u: u[1:-1] ** 3 - (u[2:] - 2 * u[1:-1] + u[:-2])
    >>> sj = ad.sparse_jacobian(f)
    >>> sj(np.arange(5.0)).toarray()
    array([[-1., 5., -1.,  0.,  0.],
           [ 0., -1., 14., -1.,  0.],
           [ 0.,  0., -1., 29., -1.]])
    >>> info = sj.info(np.arange(5.0)); info["mode"], info["n_colors"], info["nnz"]
    ('forward', 3, 9)
    """
    return SparseJacobian(f, mode, sparsity)


def sparse_hessian(f: Callable[..., Any], sparsity: Any = None) -> SparseHessian:
    """A function ``x -> H(x)`` (symmetric scipy CSR, ``n x n``) computed from a star
    colouring with one batched forward-over-reverse pass (Hessian-vector products).

    Args:
        f: a scalar function of one argument (array, float or pytree of them).
        sparsity: a known symmetric pattern (skips detection).

    Returns:
        A :class:`SparseHessian`; ``.info(x)`` reports the colour count.

    >>> import admodes as ad, numpy as np
    >>> rosen = lambda x: (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()
    >>> sh = ad.sparse_hessian(rosen)
    >>> sh(np.ones(4)).toarray()
    array([[ 802., -400.,    0.,    0.],
           [-400., 1002., -400.,    0.],
           [   0., -400., 1002., -400.],
           [   0.,    0., -400.,  200.]])
    >>> sh.info(np.ones(4))["n_colors"]
    3
    """
    return SparseHessian(f, sparsity)
