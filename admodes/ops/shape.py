"""Shape and indexing primitives.  All are linear; their rules move the tangent or
cotangent the same way the value moved, keeping any leading batch axes in front."""

from __future__ import annotations

import numpy as np

from ..dispatch import bind, ndim_of, shape_of, value
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
