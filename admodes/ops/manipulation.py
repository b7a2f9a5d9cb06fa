"""numpy's array-manipulation routines (sort, take, take_along_axis, put_along_axis,
tril/triu, kron, cross, the splits, tile, repeat, roll, rot90, the flips, the stacks,
atleast_*d, broadcast_arrays, meshgrid, pad's gathering modes) as composites of the
primitives in :mod:`.shape`; ``argsort`` is a non-differentiable primitive."""

from __future__ import annotations

import numpy as np

from ..dispatch import Box, bind, ndim_of, shape_of, value
from ..registry import register
from .shape import (
    _axes_tuple,
    _pad,
    _scatter_add,
    broadcast_to,
    concatenate,
    flip,
    getitem,
    moveaxis,
    ravel,
    reshape,
    stack,
    transpose,
)

# Composites of the shape primitives (getitem, concatenate, reshape, broadcast_to,
# transpose, flip, pad): no rules of their own.  Gathers that repeat an
# entry (repeat, tile via broadcast, pad's gathering modes) accumulate its cotangents.


def _pad_constant(x, pw, constant_values, extra):
    from .elementwise import add, multiply
    if extra:
        raise TypeError(f"numpy.pad(mode='constant'): unexpected keyword(s) {sorted(extra)}")
    out = _pad(x, pw)
    if isinstance(constant_values, Box):
        if ndim_of(constant_values) != 0:
            raise TypeError("numpy.pad: a traced constant_values must be a scalar")
        outside = np.pad(np.zeros(shape_of(x)), pw, constant_values=1.0)
        return add(out, multiply(constant_values, outside))
    cv = np.asarray(constant_values, dtype=float)
    if not cv.any():
        return out
    return add(out, np.pad(np.zeros(shape_of(x)), pw, constant_values=cv))


def pad(x, pad_width, mode="constant", **kwargs):
    """``numpy.pad`` in the modes ``constant`` (``constant_values``), ``edge``,
    ``reflect``, ``symmetric`` and ``wrap`` (with numpy's ``reflect_type="even"``).

    The gathering modes repeat input entries, whose cotangents accumulate.

    >>> import admodes as ad, numpy as np
    >>> ad.grad(lambda x: pad(x, 2, mode="edge").sum())(np.array([1.0, 2.0]))
    array([3., 3.])
    """
    pw = np.broadcast_to(np.asarray(pad_width, dtype=int), (ndim_of(x), 2))
    if mode == "constant":
        return _pad_constant(x, pw, kwargs.pop("constant_values", 0.0), kwargs)
    return _pad_gather(x, pw, mode, kwargs)


_GATHER_MODES = ("edge", "reflect", "symmetric", "wrap")


def _pad_gather(x, pw, mode, kwargs):
    if mode not in _GATHER_MODES:
        raise NotImplementedError(
            f"numpy.pad(mode={mode!r}): admodes supports the modes 'constant', "
            + ", ".join(repr(m) for m in _GATHER_MODES))
    extra = set(kwargs) - {"reflect_type"}
    if extra or kwargs.get("reflect_type", "even") != "even":
        raise NotImplementedError(f"numpy.pad(mode={mode!r}): only reflect_type='even' "
                                  f"is supported; got {kwargs}")
    out = x
    for ax, (lo, hi) in enumerate(pw):
        if lo or hi:
            n = shape_of(out)[ax]
            # numpy computes the index map: pad the positions themselves.
            idx = np.pad(np.arange(n), (int(lo), int(hi)), mode=mode)
            out = take(out, idx, axis=ax)
    return out


def argsort(x, axis=-1, kind=None, order=None, *, stable=None):
    """``numpy.argsort`` (stable): integer output, no derivative."""
    return bind(_argsort, x, axis=axis)


_argsort = register("argsort", lambda x, axis=-1: np.argsort(x, axis=axis, kind="stable"),
                    nondiff=True)


def take_along_axis(arr, indices, axis=-1):
    """``numpy.take_along_axis`` (a gather: repeated indices accumulate).

    >>> import admodes as ad, numpy as np
    >>> ad.grad(lambda x: take_along_axis(x, np.array([[1, 1]]), 1).sum())(np.ones((1, 2)))
    array([[0., 2.]])
    """
    indices = np.asarray(value(indices))
    if indices.dtype.kind not in "iu":
        raise IndexError("take_along_axis: indices must be integers")
    if axis is None:
        arr, axis = ravel(arr), 0
    nd = ndim_of(arr)
    if indices.ndim != nd:
        raise ValueError(f"take_along_axis: indices and arr must have the same number of "
                         f"dimensions ({indices.ndim} != {nd})")
    return getitem(arr, _along_axis_index(shape_of(arr), indices, int(axis) % nd))


def _along_axis_index(shape, indices, axis):
    nd = len(shape)
    idx = []
    for d in range(nd):
        if d == axis:
            idx.append(indices)
        else:
            idx.append(np.arange(shape[d]).reshape((1,) * d + (-1,) + (1,) * (nd - d - 1)))
    return tuple(idx)


def sort(a, axis=-1, kind=None, order=None, *, stable=None):
    """``numpy.sort``: a gather by the stable argsort, so a tied value's derivative goes
    to the element the stable sort put in its place (as JAX)."""
    if order is not None:
        raise TypeError("numpy.sort: order= (structured arrays) is not supported")
    if axis is None:
        a, axis = ravel(a), -1
    # The order comes from the argsort primitive (not numpy on ad.value): a static graph
    # then records it as a node and guards the gather on it, so a replay at inputs in
    # another order raises RetraceRequired instead of reusing the trace-time order.
    return take_along_axis(a, argsort(a, axis), axis)


def take(a, indices, axis=None, out=None, mode="raise"):
    """``numpy.take`` (``mode="raise"``, ``"wrap"`` or ``"clip"``)."""
    if out is not None:
        raise TypeError("numpy.take: out= is not supported on traced values")
    if axis is None:
        a, axis = ravel(a), 0
    nd = ndim_of(a)
    (ax,) = _axes_tuple(axis, nd)
    idx = np.asarray(value(indices))
    n = shape_of(a)[ax]
    if mode == "wrap":
        idx = idx % n
    elif mode == "clip":
        idx = np.clip(idx, 0, n - 1)
    elif idx.size and (idx.max() >= n or idx.min() < -n):
        raise IndexError(f"take: index out of range for axis of size {n}")
    return getitem(a, (slice(None),) * (ax + nd) + (idx,))


def put_along_axis(arr, indices, values, axis, inplace=True):
    """``numpy.put_along_axis`` in functional form: call it with ``inplace=False`` to
    get the result (admodes values are immutable).  Where an index repeats, the last
    value written wins (as numpy); the derivative follows that value.

    Args:
        arr: the array written into.
        indices: integer indices, as for :func:`take_along_axis`.
        values: the values to write (broadcast to ``indices``' shape).
        axis: the axis along which to write.
        inplace: must be False.

    Returns:
        A new array: ``arr`` with ``values`` written at ``indices``.

    >>> import admodes as ad, numpy as np
    >>> put_along_axis(np.zeros((1, 3)), np.array([[2]]), 5.0, axis=1, inplace=False)
    array([[0., 0., 5.]])
    """
    from .elementwise import add, where
    if inplace:
        raise ValueError("put_along_axis: admodes values are immutable; pass "
                         "inplace=False to get the result as a new array")
    indices = np.asarray(value(indices))
    shape = shape_of(arr)
    if axis is None:
        flat = put_along_axis(ravel(arr), indices.reshape(-1), values, 0, inplace=False)
        return reshape(flat, shape)
    nd = len(shape)
    if indices.ndim != nd:
        raise ValueError("put_along_axis: indices and arr must have the same number of "
                         "dimensions")
    full = np.broadcast_arrays(*_along_axis_index(shape, indices, int(axis) % nd))
    lin = np.ravel_multi_index(tuple(i % shape[d] for d, i in enumerate(full)), shape).ravel()
    # last write wins: keep the last occurrence of every target position
    _, first_rev = np.unique(lin[::-1], return_index=True)
    keep = np.sort(lin.size - 1 - first_rev)
    vals = ravel(broadcast_to(values, full[0].shape))
    size = int(np.prod(shape, dtype=np.int64))
    written = bind(_scatter_add, getitem(vals, (keep,)), idx=(lin[keep],), shape=(size,), nb=0)
    hit = np.zeros(size, dtype=bool)
    hit[lin] = True
    return add(where(hit.reshape(shape), 0.0, arr), reshape(written, shape))


def _tri_mask(x, k, lower):
    n, m = shape_of(x)[-2:]
    return np.tri(n, m, k, dtype=bool) if lower else ~np.tri(n, m, k - 1, dtype=bool)


def tril(m, k=0):
    """``numpy.tril`` (over the last two axes)."""
    from .elementwise import where
    return where(_tri_mask(m, k, True), m, 0.0)


def triu(m, k=0):
    """``numpy.triu`` (over the last two axes)."""
    from .elementwise import where
    return where(_tri_mask(m, k, False), m, 0.0)


def kron(a, b):
    """``numpy.kron``: an outer product, interleaved and reshaped."""
    from .elementwise import multiply
    sa, sb = shape_of(a), shape_of(b)
    nd = max(len(sa), len(sb))
    sa, sb = (1,) * (nd - len(sa)) + sa, (1,) * (nd - len(sb)) + sb
    a2 = reshape(a, tuple(v for s in sa for v in (s, 1)))
    b2 = reshape(b, tuple(v for s in sb for v in (1, s)))
    return reshape(multiply(a2, b2), tuple(p * q for p, q in zip(sa, sb)))


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """``numpy.cross`` of 2- or 3-component vectors (a missing z component is 0)."""
    from .elementwise import multiply, subtract
    if axis is not None:
        axisa = axisb = axisc = axis
    a = moveaxis(a, axisa, -1)
    b = moveaxis(b, axisb, -1)
    na, nb_ = shape_of(a)[-1], shape_of(b)[-1]
    if na not in (2, 3) or nb_ not in (2, 3):
        raise ValueError("cross: incompatible dimensions for cross product "
                         "(dimension must be 2 or 3)")
    ax = [getitem(a, (Ellipsis, i)) for i in range(na)] + [0.0] * (3 - na)
    bx = [getitem(b, (Ellipsis, i)) for i in range(nb_)] + [0.0] * (3 - nb_)

    def term(i, j):
        return subtract(multiply(ax[i], bx[j]), multiply(ax[j], bx[i]))

    if na == nb_ == 2:
        return term(0, 1)
    shape = np.broadcast_shapes(shape_of(a)[:-1], shape_of(b)[:-1])
    comps = [broadcast_to(term(1, 2), shape), broadcast_to(term(2, 0), shape),
             broadcast_to(term(0, 1), shape)]
    return moveaxis(stack(comps, axis=-1), -1, axisc)


def array_split(ary, indices_or_sections, axis=0):
    """``numpy.array_split``: a list of slices."""
    (ax,) = _axes_tuple(axis, ndim_of(ary))
    n = shape_of(ary)[ax]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k <= 0:
            raise ValueError("array_split: number sections must be larger than 0")
        each, extra = divmod(n, k)
        sizes = [each + 1] * extra + [each] * (k - extra)
        bounds = np.concatenate([[0], np.cumsum(sizes)])
    else:
        bounds = np.concatenate([[0], np.asarray(indices_or_sections, dtype=int), [n]])
    pre = (slice(None),) * (ax + ndim_of(ary))
    return [getitem(ary, pre + (slice(int(lo), int(hi)),))
            for lo, hi in zip(bounds[:-1], bounds[1:])]


def split(ary, indices_or_sections, axis=0):
    """``numpy.split``: as :func:`array_split`, but sections must divide evenly."""
    if isinstance(indices_or_sections, (int, np.integer)):
        n = shape_of(ary)[_axes_tuple(axis, ndim_of(ary))[0]]
        if n % int(indices_or_sections):
            raise ValueError("array split does not result in an equal division")
    return array_split(ary, indices_or_sections, axis)


def hsplit(ary, indices_or_sections):
    """``numpy.hsplit``."""
    if ndim_of(ary) == 0:
        raise ValueError("hsplit only works on arrays of 1 or more dimensions")
    return split(ary, indices_or_sections, 1 if ndim_of(ary) > 1 else 0)


def vsplit(ary, indices_or_sections):
    """``numpy.vsplit``."""
    if ndim_of(ary) < 2:
        raise ValueError("vsplit only works on arrays of 2 or more dimensions")
    return split(ary, indices_or_sections, 0)


def dsplit(ary, indices_or_sections):
    """``numpy.dsplit``."""
    if ndim_of(ary) < 3:
        raise ValueError("dsplit only works on arrays of 3 or more dimensions")
    return split(ary, indices_or_sections, 2)


def tile(A, reps):
    """``numpy.tile``: a broadcast of ``A`` with interleaved unit axes, reshaped."""
    reps = (int(reps),) if isinstance(reps, (int, np.integer)) else tuple(int(r) for r in reps)
    sa = shape_of(A)
    nd = max(len(sa), len(reps))
    sa, reps = (1,) * (nd - len(sa)) + sa, (1,) * (nd - len(reps)) + reps
    a2 = reshape(A, tuple(v for s in sa for v in (1, s)))
    big = broadcast_to(a2, tuple(v for r, s in zip(reps, sa) for v in (r, s)))
    return reshape(big, tuple(r * s for r, s in zip(reps, sa)))


def repeat(a, repeats, axis=None):
    """``numpy.repeat``: a gather with repeated indices."""
    if axis is None:
        a, axis = ravel(a), 0
    (ax,) = _axes_tuple(axis, ndim_of(a))
    idx = np.repeat(np.arange(shape_of(a)[ax]), value(repeats))
    return take(a, idx, axis=ax)


def roll(a, shift, axis=None):
    """``numpy.roll``."""
    if axis is None:
        return reshape(roll(ravel(a), shift, 0), shape_of(a))
    shifts = {}
    for s, ax in np.broadcast(shift, axis):
        (ax,) = _axes_tuple(int(ax), ndim_of(a))
        shifts[ax] = shifts.get(ax, 0) + int(s)
    out = a
    for ax, s in shifts.items():
        n = shape_of(out)[ax]
        if n and s % n:
            out = take(out, (np.arange(n) - s) % n, axis=ax)
    return out


def rot90(m, k=1, axes=(0, 1)):
    """``numpy.rot90``: flips and a transpose."""
    nd = ndim_of(m)
    a0, a1 = (int(v) % nd for v in axes)
    if len(axes) != 2 or a0 == a1:
        raise ValueError("rot90: axes must be two different axes")
    k = int(k) % 4
    if k == 0:
        return m
    if k == 2:
        return flip(flip(m, a0), a1)
    perm = list(range(nd))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    if k == 1:
        return transpose(flip(m, a1), perm)
    return flip(transpose(m, perm), a1)


def fliplr(m):
    """``numpy.fliplr``."""
    if ndim_of(m) < 2:
        raise ValueError("fliplr: input must be >= 2-d")
    return flip(m, 1)


def flipud(m):
    """``numpy.flipud``."""
    if ndim_of(m) < 1:
        raise ValueError("flipud: input must be >= 1-d")
    return flip(m, 0)


def atleast_3d(x):
    """``numpy.atleast_3d`` of one array ((N,) -> (1, N, 1), (M, N) -> (M, N, 1))."""
    s = shape_of(x)
    if len(s) >= 3:
        return x
    return reshape(x, {0: (1, 1, 1), 1: (1,) + s + (1,), 2: s + (1,)}[len(s)])


def dstack(tup):
    """``numpy.dstack``."""
    return concatenate([atleast_3d(a) for a in tup], axis=2)


def column_stack(tup):
    """``numpy.column_stack``."""
    return concatenate([reshape(a, (-1, 1)) if ndim_of(a) < 2 else a for a in tup], axis=1)


def broadcast_arrays(*args, subok=False):
    """``numpy.broadcast_arrays`` (a tuple, as numpy 2)."""
    shape = np.broadcast_shapes(*(shape_of(a) for a in args))
    return tuple(broadcast_to(a, shape) for a in args)


def meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    """``numpy.meshgrid`` (a tuple, as numpy 2)."""
    if indexing not in ("xy", "ij"):
        raise ValueError("Valid values for `indexing` are 'xy' and 'ij'.")
    nd = len(xi)
    out = [reshape(x, (1,) * i + (-1,) + (1,) * (nd - i - 1)) for i, x in enumerate(xi)]
    if indexing == "xy" and nd > 1:
        out[0] = reshape(out[0], (1, -1) + (1,) * (nd - 2))
        out[1] = reshape(out[1], (-1, 1) + (1,) * (nd - 2))
    if not sparse:
        out = list(broadcast_arrays(*out))
    return tuple(out)
