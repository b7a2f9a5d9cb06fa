"""``numpy.linalg.norm``: a ``norm`` primitive for the 2-norm / Frobenius norm over any
axes (gradient 0 at 0), the other vector norms as composites of ``abs``/``sum``/``max``,
and the matrix norms ord 2 / -2 / 'nuc' over the singular values."""

from __future__ import annotations

import numpy as np

from ..dispatch import bind, ndim_of, shape_of, value
from ..registry import register
from .complex import absolute as _abs  # the modulus for complex input
from .elementwise import divide, multiply, not_equal, power, where
from .reductions import _expand_back, _kept_shape
from .reductions import max as _max
from .reductions import min as _min
from .reductions import sum as _sum
from .shape import (
    _axes_tuple,
    reshape,
    squeeze,
)

__all__ = ["norm"]


# The 2-norm / Frobenius norm over ``axis`` (any tuple of negative axes).  d‖x‖ = ⟨x/‖x‖, dx⟩,
# with x/‖x‖ taken as 0 where ‖x‖ = 0 (x is 0 there, so dividing by 1 instead gives 0):
# the gradient at the zero vector is 0 (a subgradient), never nan, in every mode.


def _norm_impl(x, axis, keepdims):
    x = np.asarray(x)
    return np.sqrt(np.sum(np.real(x * np.conj(x)), axis=axis, keepdims=keepdims))


def _unit(ans, x, axis, keepdims):
    """conj(x) / ‖x‖ (x / ‖x‖ for real x), 0 where ‖x‖ = 0."""
    from .complex import _iscomplex, conj
    a = ans if keepdims else reshape(ans, _kept_shape(shape_of(x), axis))
    zero = np.asarray(value(a)) == 0
    return divide(conj(x) if _iscomplex(x) else x, where(zero, 1.0, a))


def _norm_jvp(t, ans, x, axis, keepdims):
    # complex x (JAX's convention): d‖x‖ = Re(sum(conj(x) dx)) / ‖x‖
    from .complex import _iscomplex, real
    out = _sum(multiply(t, _unit(ans, x, axis, keepdims)), axis, keepdims)
    return real(out) if _iscomplex(x) else out


def _norm_vjp(g, ans, x, axis, keepdims):
    return multiply(_expand_back(g, ans, x, axis, keepdims), _unit(ans, x, axis, keepdims))


def _norm_domain(rng):
    x = rng.normal(size=(2, 3, 4))
    z = rng.normal(size=(2, 3)) + 1j * rng.normal(size=(2, 3))
    return [([x[0, 0]], {"axis": (-1,), "keepdims": False}),
            ([x], {"axis": (-1,), "keepdims": True}),
            ([x], {"axis": (-2, -1), "keepdims": False}),
            ([x], {"axis": (-3, -2, -1), "keepdims": False}),
            ([z], {"axis": (-1,), "keepdims": False}),        # complex input
            ([z], {"axis": (-2, -1), "keepdims": True})]


_norm = register("norm", _norm_impl, _norm_jvp, _norm_vjp, analytic=False,
                 domain=_norm_domain)


def _two_norm(x, axis, keepdims):
    return bind(_norm, x, axis=axis, keepdims=bool(keepdims))


def _vector_norm(x, ord, axis, keepdims):
    if ord is None or ord == 2:
        return _two_norm(x, axis, keepdims)
    if isinstance(ord, str):
        raise ValueError(f"linalg.norm: invalid norm order {ord!r} for vectors")
    if ord == np.inf:
        return _max(_abs(x), axis, keepdims)
    if ord == -np.inf:
        return _min(_abs(x), axis, keepdims)
    if ord == 0:  # the count of non-zeros: piecewise constant, a plain value
        nz = np.asarray(value(not_equal(x, 0.0)), dtype=float)
        return np.sum(nz, axis=axis, keepdims=keepdims)
    if ord == 1:
        return _sum(_abs(x), axis, keepdims)
    p = float(ord)
    return power(_sum(power(_abs(x), p), axis, keepdims), 1.0 / p)


def _matrix_norm(x, ord, axis, keepdims):
    row, col = axis
    if ord is None or ord == "fro":
        return _two_norm(x, tuple(sorted(axis)), keepdims)
    if ord in (2, -2, "nuc"):
        # Singular values of the matrices over (row, col), moved to the last two axes.
        from .decompositions import svdvals
        from .shape import moveaxis
        sv = svdvals(moveaxis(x, (row, col), (-2, -1)))
        out = _max(sv, (-1,)) if ord == 2 else _min(sv, (-1,)) if ord == -2 else _sum(sv, (-1,))
        if keepdims:
            out = reshape(out, _kept_shape(shape_of(x), (row, col)))
        return out
    if ord in (1, -1):
        inner_axis, outer_axis = row, col  # column sums, then max/min over columns
    elif ord in (np.inf, -np.inf):
        inner_axis, outer_axis = col, row  # row sums, then max/min over rows
    else:
        raise ValueError(f"linalg.norm: invalid norm order {ord!r} for matrices")
    sums = _sum(_abs(x), (inner_axis,), keepdims=True)
    pick = _max if ord in (1, np.inf) else _min
    out = pick(sums, (outer_axis,), keepdims=True)
    return out if keepdims else squeeze(out, tuple(sorted(axis)))


def norm(x, ord=None, axis=None, keepdims=False):
    """Vector or matrix norm (``numpy.linalg.norm``).

    Differentiable choices: ``ord=None`` (2-norm of a vector, Frobenius norm of a
    matrix, 2-norm of the flattened array when ``axis`` is None) is a primitive whose
    gradient at 0 is exactly 0; vector ``ord`` 1, inf, -inf and other numbers ``p`` and
    matrix ``ord`` 'fro', 1, -1, inf, -inf are composites of ``abs``/``sum``/``max``
    (``p``-norms other than 1, 2, inf have a nan gradient at 0, as their formula does).
    ``ord=0`` (a count) is returned as a plain, non-differentiable value; matrix
    ``ord`` 2, -2 and 'nuc' are the largest, smallest and summed singular values
    (:func:`svdvals`; at tied extreme singular values the derivative is that of one of
    them, as JAX).

    Args:
        x: the array.
        ord: the order of the norm, as in numpy.
        axis: None, an int (vector norms) or a pair of ints (matrix norms).
        keepdims: keep the reduced axes with size one.

    Returns:
        The norm(s).

    >>> import admodes as ad, numpy as np
    >>> ad.grad(lambda x: norm(x))(np.array([3.0, 4.0]))
    array([0.6, 0.8])
    >>> ad.grad(lambda x: norm(x), mode="forward")(np.zeros(2))
    array([0., 0.])
    """
    nd = ndim_of(x)
    if axis is None:
        if ord is None:
            return _two_norm(x, tuple(range(-nd, 0)), keepdims)
        if nd not in (1, 2):
            raise ValueError("linalg.norm: improper number of dimensions to norm "
                             f"(ord={ord!r} with axis=None needs a 1-d or 2-d array)")
        axis = tuple(range(nd))
    elif isinstance(axis, (int, np.integer)):
        axis = (int(axis),)
    else:
        axis = tuple(axis)
    if len(axis) == 1:
        return _vector_norm(x, ord, _axes_tuple(axis, nd), keepdims)
    if len(axis) == 2:
        pair = tuple(int(a) - nd if int(a) >= 0 else int(a) for a in axis)
        if not all(-nd <= a < 0 for a in pair):
            raise np.exceptions.AxisError(f"linalg.norm: axis {axis} out of bounds for "
                                          f"an array of dimension {nd}")
        if pair[0] == pair[1]:
            raise ValueError("linalg.norm: duplicate axes given")
        return _matrix_norm(x, ord, pair, keepdims)
    raise ValueError("linalg.norm: improper number of dimensions to norm "
                     f"(axis={axis!r}; give one axis or two)")
