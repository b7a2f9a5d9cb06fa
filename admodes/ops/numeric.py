"""numpy's numerical helpers on traced values (issue 10): differences, gradients,
integration, interpolation, polynomials, convolution.  All composites of the primitives
in this package: no rules of their own.

Conventions at kinks: ``interp`` at a sample point ``xp[i]`` takes the slope of the
segment to its right (the last segment at ``xp[-1]``), as JAX does; outside ``[xp[0],
xp[-1]]`` the value is the constant ``left`` / ``right`` (slope 0 in the query point).
"""

from __future__ import annotations

import numpy as np

from ..dispatch import Box, ndim_of, shape_of, value
from .contractions import einsum
from .elementwise import add, divide, multiply, subtract, where
from .manipulation import take
from .reductions import sum
from .shape import _axes_tuple, _pad, broadcast_to, concatenate, flip, getitem, reshape

__all__ = ["diff", "gradient", "trapezoid", "interp", "polyval", "convolve", "correlate"]


def _along(x, ax, sl):
    return getitem(x, (slice(None),) * (ax + ndim_of(x)) + (sl,))


def diff(a, n=1, axis=-1, prepend=np._NoValue, append=np._NoValue):
    """``numpy.diff``: the ``n``-th forward difference along ``axis``.

    >>> import admodes as ad, numpy as np
    >>> ad.jacfwd(lambda x: diff(x))(np.zeros(3))
    array([[-1.,  1.,  0.],
           [ 0., -1.,  1.]])
    """
    nd = ndim_of(a)
    if nd == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    (ax,) = _axes_tuple(axis, nd)
    parts = []
    for extra in (prepend, append):
        if extra is np._NoValue:
            parts.append(None)
        elif ndim_of(extra) == 0:  # a scalar is broadcast to one slice along the axis
            shape = list(shape_of(a))
            shape[ax] = 1
            parts.append(broadcast_to(extra, tuple(shape)))
        else:
            parts.append(extra)
    if parts[0] is not None or parts[1] is not None:
        a = concatenate([p for p in (parts[0], a, parts[1]) if p is not None], axis=ax)
    for _ in range(int(n)):
        a = subtract(_along(a, ax, slice(1, None)), _along(a, ax, slice(None, -1)))
    return a


def _gradient_stencil(n, spacing, edge_order):
    """numpy's own gradient weights for one axis: coef[d][i] multiplies f[i + d], for
    d in -2..2 (the widest stencil numpy uses, at the edges with edge_order=2).  Found
    by applying np.gradient to five interleaved impulse trains: position i + d is the
    only member of train (i + d) % 5 within reach of output i."""
    trains = [np.gradient((np.arange(n) % 5 == r).astype(float), spacing,
                          edge_order=edge_order) for r in range(5)]
    i = np.arange(n)
    coefs = {}
    for d in range(-2, 3):
        j = i + d
        ok = (j >= 0) & (j < n)
        c = np.where(ok, np.choose(np.where(ok, j, 0) % 5, trains), 0.0)
        if c.any():
            coefs[d] = c
    return coefs


def gradient(f, *varargs, axis=None, edge_order=1):
    """``numpy.gradient`` (uniform spacings or coordinate arrays, ``edge_order`` 1 or 2),
    differentiable in ``f``; the spacings are constants.

    It is linear in ``f``: numpy's own weights, applied as a five-point gather.

    >>> import admodes as ad, numpy as np
    >>> ad.grad(lambda f: gradient(f)[1])(np.zeros(3))
    array([-0.5,  0. ,  0.5])
    """
    nd = ndim_of(f)
    axes = tuple(a + nd for a in _axes_tuple(axis, nd))
    if any(isinstance(v, Box) for v in varargs):
        raise TypeError("numpy.gradient: differentiating with respect to the spacing is "
                        "not supported in admodes (pass constant spacings)")
    if len(varargs) == 0:
        spacings = [1.0] * len(axes)
    elif len(varargs) == 1 and np.ndim(varargs[0]) == 0:
        spacings = [varargs[0]] * len(axes)
    elif len(varargs) == len(axes):
        spacings = list(varargs)
    else:
        raise TypeError("numpy.gradient: invalid number of spacing arguments")
    outs = []
    for ax, h in zip(axes, spacings):
        n = shape_of(f)[ax]
        coefs = _gradient_stencil(n, np.asarray(h, dtype=float) if np.ndim(h) else float(h),
                                  edge_order)
        out = None
        for d, c in coefs.items():
            shifted = take(f, np.clip(np.arange(n) + d, 0, n - 1), axis=ax)
            term = multiply(shifted, c.reshape((-1,) + (1,) * (nd - ax - 1)))
            out = term if out is None else add(out, term)
        outs.append(out)
    return outs[0] if len(outs) == 1 else tuple(outs)


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """``numpy.trapezoid``, differentiable in ``y`` and in ``x`` (or ``dx``)."""
    nd = ndim_of(y)
    (ax,) = _axes_tuple(axis, nd)
    if x is None:
        d = dx
    else:
        d = diff(x, axis=-1 if ndim_of(x) == 1 else ax)
        if ndim_of(x) == 1 and nd > 1:
            d = reshape(d, (-1,) + (1,) * (-ax - 1))
    avg = divide(add(_along(y, ax, slice(1, None)), _along(y, ax, slice(None, -1))), 2.0)
    return sum(multiply(d, avg), axis=ax)


def interp(x, xp, fp, left=None, right=None, period=None):
    """``numpy.interp``: piecewise-linear interpolation, differentiable in the query
    points ``x``, the sample values ``fp`` and the sample points ``xp``.

    >>> import admodes as ad, numpy as np
    >>> ad.grad(lambda q: interp(q, np.array([0.0, 1.0]), np.array([0.0, 2.0])))(0.25)
    2.0
    """
    xpv = np.asarray(value(xp), dtype=float)
    if xpv.ndim != 1 or np.ndim(value(fp)) != 1 or xpv.size != np.size(value(fp)):
        raise ValueError("numpy.interp: xp and fp must be 1-d sequences of the same length")
    if xpv.size == 0:
        raise ValueError("numpy.interp: array of sample points is empty")
    if period is not None:
        if isinstance(xp, Box) or isinstance(period, Box):
            raise TypeError("numpy.interp(period=...): xp and period must be constants")
        period = abs(float(period))
        from .ufuncs import mod
        x = mod(x, period)
        order = np.argsort(xpv % period, kind="stable")
        xpv = (xpv % period)[order]
        fp = take(fp, order)
        xpv = np.concatenate([xpv[-1:] - period, xpv, xpv[:1] + period])
        fp = concatenate([take(fp, [-1]), fp, take(fp, [0])])
        xp, left, right = xpv, None, None
    xv = np.asarray(value(x), dtype=float)
    n = xpv.size
    if n == 1:
        return add(multiply(x, 0.0), take(fp, np.zeros(xv.shape, dtype=int)))
    i = np.clip(np.searchsorted(xpv, xv, side="right"), 1, n - 1)
    if isinstance(xp, Box):
        x0, x1 = take(xp, i - 1), take(xp, i)
    else:
        x0, x1 = xpv[i - 1], xpv[i]
    f0, f1 = take(fp, i - 1), take(fp, i)
    slope = divide(subtract(f1, f0), subtract(x1, x0))
    y = add(multiply(slope, subtract(x, x0)), f0)
    y = where(xv == xpv[-1], take(fp, np.full(xv.shape, n - 1)), y)  # numpy: exactly fp[-1]
    lo = take(fp, np.zeros(xv.shape, dtype=int)) if left is None else left
    hi = take(fp, np.full(xv.shape, n - 1)) if right is None else right
    return where(xv < xpv[0], lo, where(xv > xpv[-1], hi, y))


def polyval(p, x):
    """``numpy.polyval`` (Horner's scheme, as numpy), differentiable in ``p`` and ``x``."""
    n = shape_of(p)[0] if ndim_of(p) else 0
    if n == 0:
        raise ValueError("numpy.polyval: p must be a non-empty 1-d sequence")
    y = getitem(p, 0) if isinstance(p, Box) else np.asarray(p)[0]
    y = add(multiply(x, 0.0), y)
    for k in range(1, n):
        y = add(multiply(y, x), getitem(p, k) if isinstance(p, Box) else np.asarray(p)[k])
    return y


def _conv_full(a, v):
    """Full discrete convolution of 1-d ``a`` (length n) and ``v`` (length m <= n):
    out[k] = sum_i v[i] a[k - i], as a gather of the zero-padded ``a`` times ``v``."""
    n, m = shape_of(a)[0], shape_of(v)[0]
    ap = _pad(a, ((m - 1, m - 1),))
    k = np.arange(n + m - 1)[:, None]
    windows = getitem(ap, (k - np.arange(m)[None, :] + m - 1,))
    return einsum("ki,i->k", windows, v)


def convolve(a, v, mode="full"):
    """``numpy.convolve`` (modes ``full``, ``same``, ``valid``), differentiable in both
    arguments.

    >>> import admodes as ad, numpy as np
    >>> ad.grad(lambda v: convolve(np.array([1.0, 2.0]), v).sum())(np.ones(2))
    array([3., 3.])
    """
    if ndim_of(a) != 1 or ndim_of(v) != 1:
        raise ValueError("numpy.convolve: a and v must be 1-d")
    n, m = shape_of(a)[0], shape_of(v)[0]
    if n == 0 or m == 0:
        raise ValueError("numpy.convolve: a and v cannot be empty")
    if m > n:
        a, v, n, m = v, a, m, n
    full = _conv_full(a, v)
    if mode == "full":
        return full
    if mode == "same":
        start = (m - 1) // 2
        return getitem(full, slice(start, start + n))
    if mode == "valid":
        return getitem(full, slice(m - 1, n))
    raise ValueError(f"numpy.convolve: mode must be 'full', 'same' or 'valid', got {mode!r}")


def correlate(a, v, mode="valid"):
    """``numpy.correlate`` (modes ``full``, ``same``, ``valid``):
    ``c[k] = sum_n a[n + k] conj(v[n])``, a :func:`convolve` with ``v`` reversed (and
    conjugated when complex, as numpy)."""
    if ndim_of(a) != 1 or ndim_of(v) != 1:
        raise ValueError("numpy.correlate: a and v must be 1-d")
    from .complex import _iscomplex, conj
    if _iscomplex(v):
        v = conj(v)
    if shape_of(v)[0] > shape_of(a)[0]:
        # numpy swaps the arguments and reverses the result
        return flip(convolve(v, flip(a, 0), mode), 0)
    return convolve(a, flip(v, 0), mode)

