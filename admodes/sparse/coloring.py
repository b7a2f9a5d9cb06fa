"""Colourings of sparsity patterns.

Three problems, one greedy engine:

* **column colouring** (forward mode): columns that share a row get different colours
  (a distance-2 colouring of the bipartite row/column graph), so the columns of one
  colour can be summed into one tangent direction;
* **row colouring** (reverse mode): the same on the transposed pattern;
* **star colouring** (symmetric Hessians): a proper colouring with no two-coloured
  path on four vertices, which is what lets every entry of a symmetric matrix be read
  off directly from the compressed products ``H @ S``.

Each problem is first turned into an explicit conflict graph by scipy's sparse products
(compiled: ``P.T @ P`` for columns), then coloured by the sequential greedy algorithm
in **largest-first** order (most conflicts first; ties in index order, which is what
makes banded and stencil patterns come out optimal: 3 colours for a tridiagonal
matrix, 7 for the 2-D 5-point Laplacian, the same as natural order on their interior).
The greedy loop itself is a tight Python loop over plain lists (about 0.3 s per million
vertices of a tridiagonal pattern; building the conflict graph costs about as much
again).  A vectorised Jones-Plassmann variant was tried and rejected: to finish in a few
rounds it needs random tie-breaks, and those gave 5 colours for tridiagonal and 9 for
the Laplacian; no greedy order both has short dependency chains and reproduces the
natural order on stencils.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["color_columns", "color_rows", "star_coloring", "is_column_coloring",
           "is_star_coloring"]

# A row with more entries than this forces at least that many colours, and its
# columns would add (entries)^2 conflicts: such patterns get one colour per column
# (documented; the compression could save at most a factor n / MAX_GREEDY_COLORS).
MAX_GREEDY_COLORS = 2048


def _csr(P):
    P = sp.csr_array(P)
    P.sum_duplicates()
    return P


def color_columns(pattern):
    """Colour the columns of ``pattern`` so that columns sharing a row differ.

    Args:
        pattern: an ``m x n`` scipy.sparse array or matrix (its structure is used, not
            its values), or a dense array.
    Returns:
        An int array of ``n`` colours ``0 .. k-1``.

    >>> import numpy as np, scipy.sparse as sp
    >>> P = sp.diags_array([np.ones(5), np.ones(6), np.ones(5)], offsets=[-1, 0, 1])
    >>> int(color_columns(P).max()) + 1       # tridiagonal: 3 colours
    3
    """
    return _distance2(_csr(pattern))


def color_rows(pattern):
    """Colour the rows of ``pattern`` so that rows sharing a column differ (the column
    colouring of the transpose: reverse-mode compression).

    >>> import numpy as np
    >>> P = np.zeros((4, 4)); P[0] = 1; P[:, 0] = 1; np.fill_diagonal(P, 1)
    >>> int(color_rows(P).max()) + 1          # one dense column: every row its own colour
    4
    """
    return _distance2(_csr(sp.csr_array(pattern).T))


def star_coloring(pattern):
    """A star colouring of the adjacency graph of a symmetric pattern.

    Each off-diagonal entry ``(i, j)`` is assigned to the row of its endpoint of lower
    degree (ties: the lower index); that row recovers it from ``H @ S`` when no other
    column of its row has the colour of ``j``.  So: ``j`` must differ in colour from
    every other neighbour of its owner, and every vertex from its own neighbours (for
    the diagonal).  A distance-1 greedy colouring of those conflicts is a star colouring
    (every entry is then directly recoverable, which for symmetric matrices is
    equivalent to having no two-coloured path on four vertices); assigning entries to
    the low-degree end keeps a dense row (an arrowhead) at two colours instead of ``n``.

    Args:
        pattern: a square ``n x n`` pattern (symmetrised here; the diagonal is ignored).
    Returns:
        An int array of ``n`` colours.

    >>> import numpy as np
    >>> A = np.eye(6); A[0] = A[:, 0] = 1    # arrowhead: 2 colours
    >>> int(star_coloring(A).max()) + 1
    2
    """
    A = _csr(pattern)
    n, n2 = A.shape
    if n != n2:
        raise ValueError(f"star_coloring: the pattern must be square, got shape {A.shape}")
    A = _csr((A + A.T) != 0)
    A.setdiag(False)
    A.eliminate_zeros()
    A = _csr(A)
    if A.nnz == 0:
        return np.zeros(n, dtype=np.int64)
    indptr, idx = A.indptr, A.indices
    deg = np.diff(indptr)
    rows = np.repeat(np.arange(n), deg)
    up = idx > rows
    i, j = rows[up], idx[up]
    # the owner of entry (i, j) recovers it; the other end must be unique in its row
    own_i = deg[i] <= deg[j]
    owner = np.where(own_i, i, j)
    other = np.where(own_i, j, i)
    # conflicts: (other, k) for every neighbour k of the owner, k != other
    cnt = deg[owner]
    starts = np.repeat(indptr[owner], cnt)
    within = np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    k = idx[starts + within]
    t = np.repeat(other, cnt)
    keep = k != t
    a = np.concatenate([i, t[keep]])
    b = np.concatenate([j, k[keep]])
    C = sp.coo_array((np.ones(2 * a.size, dtype=np.int8),
                      (np.concatenate([a, b]), np.concatenate([b, a]))), shape=(n, n))
    return _greedy(_csr(C))


def is_column_coloring(pattern, colors):
    """True when no row of ``pattern`` holds two columns of one colour."""
    P = _csr(pattern)
    rows = np.repeat(np.arange(P.shape[0]), np.diff(P.indptr))
    key = rows.astype(np.int64) * (int(colors.max(initial=0)) + 1) + colors[P.indices]
    return np.unique(key).size == key.size


def is_star_coloring(pattern, colors):
    """True when every entry of the symmetric ``pattern`` is directly recoverable from
    ``H @ S`` with these colours (the defining property of a star colouring)."""
    from .compressed import _star_sources
    A = _csr(pattern)
    A = _csr((A + A.T) != 0)
    try:
        _star_sources(A, colors)
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------- the engine ----------


def _greedy(C):
    """Sequential greedy colouring of the symmetric conflict graph ``C`` (CSR; its
    diagonal is ignored) in largest-first order, ties by index."""
    n = C.shape[0]
    deg = np.diff(C.indptr)
    order = np.argsort(-deg, kind="stable").tolist()
    ptr = C.indptr.tolist()
    idx = C.indices.tolist()
    col = [-1] * n
    mark = [-1] * (int(deg.max(initial=0)) + 2)
    for v in order:
        for k in idx[ptr[v]:ptr[v + 1]]:
            c = col[k]
            if c >= 0:
                mark[c] = v
        c = 0
        while mark[c] == v:
            c += 1
        col[v] = c
    return np.array(col, dtype=np.int64)


def _distance2(P, seed=None):
    """Greedy distance-2 column colouring of the CSR pattern ``P``."""
    m, n = P.shape
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    rownnz = np.diff(P.indptr)
    if int(rownnz.max(initial=0)) > MAX_GREEDY_COLORS:
        return np.arange(n, dtype=np.int64)
    B = sp.csr_array((np.ones(P.nnz, dtype=np.int32), P.indices, P.indptr), shape=P.shape)
    return _greedy(sp.csr_array(B.T @ B))
