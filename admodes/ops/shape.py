"""Shape and indexing primitives.  All are linear; their rules move the tangent or
cotangent the same way the value moved, keeping any leading batch axes in front."""

from __future__ import annotations

import numpy as np

from ..dispatch import Box, bind, ndim_of, shape_of, value
from ..registry import register, variadic


def _nb(c, x):
    """Number of leading batch axes of a tangent/cotangent ``c`` relative to ``x``."""
    return ndim_of(c) - ndim_of(x)


def _axes_tuple(axis, ndim):
    """Normalise ``axis`` (None, int or tuple) to a sorted tuple of negative ints."""
    if axis is None:
        return tuple(range(-ndim, 0))
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    out = []
    for a in axis:
        a = int(a)
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(f"axis {a} is out of bounds for array of dimension {ndim}")
        out.append(a - ndim if a >= 0 else a)
    if len(set(out)) != len(out):
        raise ValueError(f"repeated axis in {axis}")
    return tuple(sorted(out))


# ---------------------------------------------------------------- reshape -------------

def _reshape_impl(x, shape):
    return np.reshape(x, shape)


_reshape = register(
    "reshape", _reshape_impl,
    lambda t, ans, x, shape: reshape(t, shape_of(t)[:_nb(t, x)] + shape),
    lambda g, ans, x, shape: reshape(g, shape_of(g)[:_nb(g, ans)] + shape_of(x)),
    domain=lambda rng: [([rng.normal(size=(2, 3))], {"shape": (3, 2)}),
                                     ([rng.normal(size=(6,))], {"shape": (2, 1, 3)})],
    keep=(), keep_ans=False, sparsity="index")


def reshape(x, shape, *more):
    """``numpy.reshape`` (``-1`` allowed)."""
    if more:
        shape = (shape,) + more
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    shape = tuple(int(s) for s in shape)
    if -1 in shape:
        size = int(np.prod(shape_of(x), dtype=np.int64))
        known = int(np.prod([s for s in shape if s != -1], dtype=np.int64))
        if shape.count(-1) > 1 or known == 0 or size % known:
            raise ValueError(f"reshape: cannot reshape array of shape {shape_of(x)} into {shape}")
        shape = tuple(size // known if s == -1 else s for s in shape)
    if shape == shape_of(x):
        return x
    return bind(_reshape, x, shape=shape)


reshape.primitive = _reshape

# ---------------------------------------------------------------- broadcast_to --------


def _broadcast_to_impl(x, shape):
    # A read-only zero-stride view, built directly for contiguous arrays (numpy's
    # broadcast_to goes through nditer: several microseconds per call on small arrays).
    if type(x) is np.ndarray and x.flags.c_contiguous and x.ndim <= len(shape):
        pad = len(shape) - x.ndim
        strides = [0] * pad
        for n, st, want in zip(x.shape, x.strides, shape[pad:]):
            if n == want:
                strides.append(st)
            elif n == 1:
                strides.append(0)
            else:
                return np.broadcast_to(x, shape)  # numpy's own error message
        out = np.ndarray(shape, x.dtype, buffer=x, strides=tuple(strides))
        out.flags.writeable = False
        return out
    return np.broadcast_to(x, shape)


def _bcast_jvp(t, ans, x, shape):
    nb = _nb(t, x)
    ts = shape_of(t)
    pad = len(shape) - ndim_of(x)
    if nb and pad:
        t = reshape(t, ts[:nb] + (1,) * pad + ts[nb:])
    return broadcast_to(t, ts[:nb] + shape)


def _bcast_vjp(g, ans, x, shape):
    from .reductions import unbroadcast
    return unbroadcast(g, shape_of(x), _nb(g, ans))


_broadcast_to = register(
    "broadcast_to", _broadcast_to_impl, _bcast_jvp, _bcast_vjp,
    domain=lambda rng: [([rng.normal(size=(3,))], {"shape": (2, 3)}),
                        ([rng.normal(size=(2, 1))], {"shape": (2, 4)})],
    keep=(), keep_ans=False, sparsity="index")


def broadcast_to(x, shape):
    """``numpy.broadcast_to``; the gradient sums over the broadcast axes."""
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
    if shape == shape_of(x):
        return x
    return bind(_broadcast_to, x, shape=shape)


broadcast_to.primitive = _broadcast_to

# ---------------------------------------------------------------- transpose -----------


def _transpose_impl(x, axes):
    return x.transpose(axes) if type(x) is np.ndarray else np.transpose(x, axes)


def _batched_axes(axes, nb):
    return tuple(range(nb)) + tuple(nb + a for a in axes)


def _transpose_jvp(t, ans, x, axes):
    return transpose(t, _batched_axes(axes, _nb(t, x)))


def _transpose_vjp(g, ans, x, axes):
    return transpose(g, _batched_axes(tuple(np.argsort(axes)), _nb(g, ans)))


_transpose = register(
    "transpose", _transpose_impl, _transpose_jvp, _transpose_vjp,
    domain=lambda rng: [([rng.normal(size=(2, 3, 4))], {"axes": (2, 0, 1)}),
                        ([rng.normal(size=(2, 3))], {"axes": (1, 0)})],
    keep=(), keep_ans=False, sparsity="index")


def transpose(x, axes=None):
    """``numpy.transpose`` (``axes`` a permutation; default reverses the axes)."""
    nd = ndim_of(x)
    if axes is None:
        axes = tuple(range(nd - 1, -1, -1))
    else:
        axes = tuple(int(a) % nd if nd else int(a) for a in axes)
        if sorted(axes) != list(range(nd)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of {nd} axes")
    if axes == tuple(range(nd)):
        return x
    return bind(_transpose, x, axes=axes)


transpose.primitive = _transpose


def swapaxes(x, axis1, axis2):
    nd = ndim_of(x)
    axes = list(range(nd))
    a1, a2 = axis1 % nd, axis2 % nd
    if a1 == a2:
        return x
    axes[a1], axes[a2] = axes[a2], axes[a1]
    return bind(_transpose, x, axes=tuple(axes))


def moveaxis(x, source, destination):
    nd = ndim_of(x)
    src = [s % nd for s in np.atleast_1d(source)]
    dst = [d % nd for d in np.atleast_1d(destination)]
    order = [n for n in range(nd) if n not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(x, order)


def expand_dims(x, axis):
    """``numpy.expand_dims`` (a reshape: needs no rule of its own)."""
    shape = shape_of(x)
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    nd = len(shape) + len(axes)
    axes = sorted(a % nd for a in axes)
    out = list(shape)
    for a in axes:
        out.insert(a, 1)
    return reshape(x, tuple(out))


def squeeze(x, axis=None):
    """``numpy.squeeze`` (a reshape)."""
    shape = shape_of(x)
    if axis is None:
        keep = [s for s in shape if s != 1]
    else:
        axes = _axes_tuple(axis, len(shape))
        for a in axes:
            if shape[a] != 1:
                raise ValueError(f"squeeze: cannot select an axis to squeeze out which has size not equal to one (axis {a}, shape {shape})")
        keep = [s for k, s in enumerate(shape) if k - len(shape) not in axes]
    return reshape(x, tuple(keep))


def ravel(x):
    return reshape(x, (-1,))


def atleast_1d(x):
    return reshape(x, (1,)) if ndim_of(x) == 0 else x


def atleast_2d(x):
    nd = ndim_of(x)
    if nd >= 2:
        return x
    return reshape(x, (1,) * (2 - nd) + shape_of(x))


# ---------------------------------------------------------------- flip ----------------


def _flip_impl(x, axis):
    return np.flip(x, axis)


_flip = register(
    "flip", _flip_impl,
    lambda t, ans, x, axis: flip(t, axis),
    lambda g, ans, x, axis: flip(g, axis),
    domain=lambda rng: [([rng.normal(size=(2, 3))], {"axis": (-1,)}),
                                     ([rng.normal(size=(2, 3))], {"axis": (-2, -1)})],
    keep=(), keep_ans=False, sparsity="index")


def flip(x, axis=None):
    """``numpy.flip``."""
    return bind(_flip, x, axis=_axes_tuple(axis, ndim_of(x)))


flip.primitive = _flip

# ---------------------------------------------------------------- concatenate ---------


def _concat_impl(*arrays, axis):
    return np.concatenate(arrays, axis)


def _concat_jvp(i, t, ans, *arrays, axis):
    # The tangent of piece i, placed in a zero output (pad with zeros along the axis).
    sizes = [shape_of(a)[axis] for a in arrays]
    before, after = sum(sizes[:i]), sum(sizes[i + 1:])
    pad = [(0, 0)] * ndim_of(t)
    pad[axis] = (before, after)
    return _pad(t, tuple(pad))


def _concat_vjp(i, g, ans, *arrays, axis):
    sizes = [shape_of(a)[axis] for a in arrays]
    start = sum(sizes[:i])
    idx = (Ellipsis, slice(start, start + sizes[i])) + (slice(None),) * (-axis - 1)
    return getitem(g, idx)


_concatenate = register(
    "concatenate", _concat_impl, variadic(_concat_jvp), variadic(_concat_vjp),
    domain=lambda rng: [([rng.normal(size=(2, 3)), rng.normal(size=(1, 3)),
                          rng.normal(size=(3, 3))], {"axis": -2}),
                        ([rng.normal(size=(2, 3)), rng.normal(size=(2, 1))], {"axis": -1})],
    keep=(), keep_ans=False, sparsity="index")


def concatenate(arrays, axis=0):
    """``numpy.concatenate`` (``axis=None`` flattens first)."""
    arrays = list(arrays)
    if not arrays:
        raise ValueError("concatenate: need at least one array to concatenate")
    if axis is None:
        arrays = [ravel(a) for a in arrays]
        axis = 0
    nd = ndim_of(arrays[0])
    if nd == 0:
        raise ValueError("concatenate: zero-dimensional arrays cannot be concatenated")
    (axis,) = _axes_tuple(axis, nd)
    return bind(_concatenate, *arrays, axis=axis)


concatenate.primitive = _concatenate


def stack(arrays, axis=0):
    """``numpy.stack`` (concatenate of expanded arrays: no rule of its own)."""
    arrays = list(arrays)
    if not arrays:
        raise ValueError("stack: need at least one array to stack")
    shapes = {shape_of(a) for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"stack: all input arrays must have the same shape, got {sorted(shapes)}")
    nd = ndim_of(arrays[0]) + 1
    axis = int(axis) % nd
    return concatenate([expand_dims(a, axis) for a in arrays], axis=axis)


def hstack(arrays):
    arrays = [atleast_1d(a) for a in arrays]
    return concatenate(arrays, axis=0 if ndim_of(arrays[0]) == 1 else 1)


def vstack(arrays):
    return concatenate([atleast_2d(a) for a in arrays], axis=0)


def _pad_impl(x, pad_width):
    # np.pad's constant mode, without its generic argument handling (~3x less overhead:
    # pad is on the hot path of stencil code and of their batched tangents)
    x = np.asarray(x)
    shape = tuple(n + lo + hi for n, (lo, hi) in zip(x.shape, pad_width))
    out = np.empty(shape, dtype=x.dtype)
    out[tuple(slice(lo, lo + n) for n, (lo, _) in zip(x.shape, pad_width))] = x
    for ax, (lo, hi) in enumerate(pad_width):
        if lo:
            out[(slice(None),) * ax + (slice(0, lo),)] = 0
        if hi:
            out[(slice(None),) * ax + (slice(shape[ax] - hi, None),)] = 0
    return out


def _pad_vjp(g, ans, x, pad_width):
    nb = _nb(g, ans)
    idx = (slice(None),) * nb + tuple(slice(lo, (n - hi)) for (lo, hi), n in
                                      zip(pad_width, shape_of(ans)))
    return getitem(g, idx)


def _pad_jvp(t, ans, x, pad_width):
    nb = _nb(t, x)
    return _pad(t, ((0, 0),) * nb + tuple(pad_width))


_padp = register("pad", _pad_impl, _pad_jvp, _pad_vjp,
                 domain=lambda rng: [([rng.normal(size=(2, 3))], {"pad_width": ((1, 0), (0, 2))})],
    keep=(), keep_ans=False, sparsity="index")


def _pad(x, pad_width):
    return bind(_padp, x, pad_width=tuple(tuple(int(v) for v in p) for p in pad_width))


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


# ---------------------------------------------------------------- indexing ------------


def normalize_index(idx):
    """A hashable-free canonical index tuple: arrays stay arrays, boxes become values."""
    if not isinstance(idx, tuple):
        idx = (idx,)
    out = []
    for k in idx:
        k = value(k)
        if isinstance(k, list):
            k = np.asarray(k)
        if isinstance(k, np.ndarray) and k.dtype.kind not in "biu":
            raise IndexError(f"getitem: arrays used as indices must be of integer or boolean type, got {k.dtype}")
        out.append(k)
    return tuple(out)


def _separated_advanced(idx):
    """True when numpy moves the advanced-index dims to the front (advanced indices
    separated by a slice, None or Ellipsis)."""
    pos = [n for n, k in enumerate(idx)
           if isinstance(k, np.ndarray) or (isinstance(k, (int, np.integer)) and not isinstance(k, bool))]
    has_array = any(isinstance(k, np.ndarray) for k in idx)
    if not has_array or len(pos) < 2:
        return False
    return pos[-1] - pos[0] + 1 != len(pos)


def _advanced_ndim(idx):
    """Number of dims the advanced indices of ``idx`` broadcast to."""
    shapes = []
    for k in idx:
        if isinstance(k, np.ndarray):
            shapes.append((int(k.sum()),) if k.dtype == bool else k.shape)
        elif isinstance(k, (int, np.integer)) and not isinstance(k, bool):
            shapes.append(())
    return len(np.broadcast_shapes(*shapes)) if shapes else 0


def batched_getitem(t, idx, nb):
    """``t[idx]`` applied under ``nb`` leading batch axes."""
    if not nb:
        return t[idx] if not isinstance(t, np.generic) else np.asarray(t)[idx]
    out = np.asarray(t)[(slice(None),) * nb + idx]
    if _separated_advanced(idx):
        k = _advanced_ndim(idx)
        out = np.moveaxis(out, tuple(range(k, k + nb)), tuple(range(nb)))
    return out


def _getitem_impl(x, idx):
    if isinstance(x, float):
        x = np.float64(x)
    return x[idx]


def _getitem_jvp(t, ans, x, idx):
    return bind(_bgetitem, t, idx=idx, nb=_nb(t, x))


def _getitem_vjp(g, ans, x, idx):
    return bind(_scatter_add, g, idx=idx, shape=shape_of(x), nb=_nb(g, ans))


def _getitem_domain(rng):
    x = rng.normal(size=(4, 3))
    return [([x], {"idx": (1,)}),
            ([x], {"idx": (slice(1, 3), Ellipsis)}),
            ([x], {"idx": (np.array([0, 2, 0]),)}),
            ([x], {"idx": (None, Ellipsis, 1)}),
            ([x], {"idx": (np.array([1, 1, 3]), slice(None, None, -1))}),
            ([x], {"idx": (x > 0,)})]


def _getitem_vjp_into(total, g, ans, x, idx):
    if _may_repeat(idx):
        np.add.at(total, idx, g)  # repeated indices accumulate
    else:
        total[idx] += g


_getitem = register("getitem", _getitem_impl, _getitem_jvp, _getitem_vjp,
                    domain=_getitem_domain, keep=(), keep_ans=False,
                    vjp_into=_getitem_vjp_into, sparsity="index")


def _bgetitem_impl(t, idx, nb):
    return batched_getitem(t, idx, nb)


# The batched form is the primitive the rules use; with nb == 0 it is plain getitem.
_bgetitem = register(
    "batched_getitem", _bgetitem_impl,
    lambda t, ans, x, idx, nb: bind(_bgetitem, t, idx=idx, nb=nb + _nb(t, x)),
    lambda g, ans, x, idx, nb: bind(_scatter_add, g, idx=idx, shape=shape_of(x)[nb:],
                                    nb=nb + _nb(g, ans)),
    domain=lambda rng: [([rng.normal(size=(2, 4, 3))],
                                      {"idx": (np.array([0, 2]), slice(None)), "nb": 1})],
    keep=(), keep_ans=False, sparsity="index")


def _may_repeat(idx):
    """Integer index arrays can name a position twice: scatters must accumulate them
    (np.add.at); basic and boolean indices cannot, so a plain store or += will do."""
    return any(isinstance(k, np.ndarray) and k.dtype != bool for k in idx)


def _scatter_add_impl(g, idx, shape, nb):
    g = np.asarray(g)
    lead = g.shape[:nb]
    out = np.zeros(lead + tuple(shape), dtype=np.result_type(g.dtype, np.float64)
                   if g.dtype.kind in "biu" else g.dtype)
    full = (slice(None),) * nb + idx
    if nb and _separated_advanced(idx):
        k = _advanced_ndim(idx)
        g = np.moveaxis(g, tuple(range(nb)), tuple(range(k, k + nb)))
    if _may_repeat(idx):
        np.add.at(out, full, g)
    else:
        out[full] = g  # basic or boolean indexing: no repeated positions, plain store
    return out


_scatter_add = register(
    "scatter_add", _scatter_add_impl,
    lambda t, ans, g, idx, shape, nb: bind(_scatter_add, t, idx=idx, shape=shape,
                                           nb=nb + _nb(t, g)),
    lambda c, ans, g, idx, shape, nb: bind(_bgetitem, c, idx=idx, nb=nb + _nb(c, ans)),
    domain=lambda rng: [([rng.normal(size=(3, 3))],
                                      {"idx": (np.array([0, 2, 0]),), "shape": (4, 3), "nb": 0})],
    keep=(), keep_ans=False, sparsity="scatter")


def getitem(x, idx):
    """``x[idx]``: ints, slices, ``None``, ``Ellipsis``, integer and boolean arrays.
    Repeated integer indices accumulate their cotangents."""
    return bind(_getitem, x, idx=normalize_index(idx))


getitem.primitive = _getitem


# ---------------------------------------------------------------- diagonal ------------


def _diagonal_impl(x, offset, axis1, axis2):
    return np.diagonal(x, offset, axis1, axis2).copy()


def _diag_positions(n1, n2, offset):
    i = np.arange(max(0, -offset), min(n1, n2 - offset))
    return i, i + offset


def _diagonal_jvp(t, ans, x, offset, axis1, axis2):
    return diagonal(t, offset, axis1, axis2)


def _diagonal_vjp(g, ans, x, offset, axis1, axis2):
    from .contractions import einsum
    xs = shape_of(x)
    n1, n2 = xs[axis1], xs[axis2]
    rows, cols = _diag_positions(n1, n2, offset)
    embed = np.zeros((len(rows), n1, n2))
    embed[np.arange(len(rows)), rows, cols] = 1.0
    full = einsum("...d,dij->...ij", g, embed)  # diagonal placed in the last two axes
    nd = ndim_of(full)
    a1, a2 = nd + axis1, nd + axis2
    rest = [k for k in range(nd - 2)]
    order = [None] * nd
    src = iter(rest)
    for k in range(nd):
        if k == a1:
            order[k] = nd - 2
        elif k == a2:
            order[k] = nd - 1
        else:
            order[k] = next(src)
    return transpose(full, order)


_diagonal = register(
    "diagonal", _diagonal_impl, _diagonal_jvp, _diagonal_vjp,
    domain=lambda rng: [([rng.normal(size=(3, 3))], {"offset": 0, "axis1": -2, "axis2": -1}),
                        ([rng.normal(size=(2, 3, 4))], {"offset": 1, "axis1": -1, "axis2": -3})],
    keep=(), keep_ans=False, sparsity="index")


def diagonal(x, offset=0, axis1=0, axis2=1):
    """``numpy.diagonal`` (a copy, not a view)."""
    nd = ndim_of(x)
    if nd < 2:
        raise ValueError(f"diagonal: needs at least 2 dimensions, got shape {shape_of(x)}")
    a1, a2 = _axes_tuple(axis1, nd)[0], _axes_tuple(axis2, nd)[0]
    if a1 == a2:
        raise ValueError("diagonal: axis1 and axis2 cannot be the same")
    return bind(_diagonal, x, offset=int(offset), axis1=a1, axis2=a2)


diagonal.primitive = _diagonal


def diag(v, k=0):
    """``numpy.diag``: the k-th diagonal of a matrix, or a matrix from a vector."""
    nd = ndim_of(v)
    if nd == 2:
        return diagonal(v, k, 0, 1)
    if nd != 1:
        raise ValueError(f"diag: input must be 1-d or 2-d, got shape {shape_of(v)}")
    n = shape_of(v)[0] + abs(k)
    vdt = np.result_type(value(v))
    embed = np.zeros((shape_of(v)[0], n, n), dtype=vdt if vdt.kind in "fc" else float)
    i = np.arange(shape_of(v)[0])
    embed[i, i + max(0, -k), i + max(0, k)] = 1.0
    from .contractions import einsum
    return einsum("d,dij->ij", v, embed)


# ---------------------------------------------------------------- more of numpy -------
# (issue 10)  Composites of the primitives above (getitem, concatenate, reshape,
# broadcast_to, transpose, flip, pad): no rules of their own.  Gathers that repeat an
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
    return take_along_axis(a, np.argsort(value(a), axis=axis, kind="stable"), axis)


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
