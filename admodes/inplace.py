"""In-place updates on traced values, as numpy code writes them (issue 9).

``y = x.copy(); y[i] = v; y[1:] += w; y *= 2`` works in every mode: ``y[idx] = v`` on a
traced value computes the functional scatter :func:`index_update` (built from ``where``,
``getitem``, ``broadcast_to`` and ``reshape``, so it differentiates to any order and in
both modes) and makes ``y`` refer to the result.  The box object is updated, never the
caller's array: a transformation's input boxes wrap the caller's arrays without sharing
their memory.  ``x.copy()`` gives a distinct box, so writing into the copy leaves ``x``
unchanged, as in numpy.

What numpy code can do that this cannot: a *view* (``v = y[1:]; v[0] = 5``) does not
write through to ``y`` (``getitem`` returns a new value).  Assign through ``y`` itself.
"""

from __future__ import annotations

import numpy as np

from .dispatch import Box, shape_of
from .ops.elementwise import where
from .ops.shape import broadcast_to, getitem, ravel, reshape

__all__ = ["index_update"]


def index_update(x, idx, v):
    """``x`` with ``x[idx]`` replaced by ``v``, without mutating anything: numpy's
    ``x[idx] = v`` in functional form (JAX's ``x.at[idx].set(v)``).

    Args:
        x: an array or traced value.
        idx: any numpy index (ints, slices, ``None``, ``Ellipsis``, integer or boolean
            arrays).  Where an integer index repeats, the last write wins, as in numpy.
        v: the new values, broadcastable to the shape of ``x[idx]``.

    Returns:
        A new value shaped like ``x``; differentiable in ``x`` and ``v``.

    >>> import admodes as ad, numpy as np
    >>> from admodes.inplace import index_update
    >>> ad.grad(lambda x: index_update(x, 0, 3.0 * x[1]).sum())(np.array([1.0, 2.0]))
    array([0., 4.])
    """
    shape = shape_of(x)
    size = int(np.prod(shape, dtype=np.int64))
    pos = np.arange(size).reshape(shape)[_plain_index(idx)]  # numpy's own index errors
    src = np.zeros(size, np.intp)
    written = np.zeros(size, bool)
    src[pos.ravel()] = np.arange(pos.size)  # the last write of a repeated position wins
    written[pos.ravel()] = True
    vshape = shape_of(v)
    if vshape != pos.shape:
        try:
            ok = np.broadcast_shapes(vshape, pos.shape) == pos.shape
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"index_update: cannot write a value of shape {vshape} into "
                             f"x[idx] of shape {pos.shape} (x has shape {shape})")
        v = broadcast_to(v, pos.shape)
    if pos.size == 0:
        return x
    new = reshape(getitem(ravel(v), src), shape) if shape else getitem(ravel(v), 0)
    return where(written.reshape(shape), new, x)


def _plain_index(idx):
    """An index as numpy takes it; a traced value inside an index is refused."""
    parts = idx if isinstance(idx, tuple) else (idx,)
    for p in parts:
        if isinstance(p, Box):
            raise TypeError("item assignment: the index is a traced value; indices carry "
                            "no derivative, pass ad.value(i) or a plain integer array")
    return idx


def _slots(cls):
    out = []
    for c in cls.__mro__:
        for s in c.__dict__.get("__slots__", ()):
            if s != "__weakref__" and s not in out:
                out.append(s)
    return out


def box_copy(self):
    """``x.copy()`` on a traced value: a distinct box with the same value and
    derivative, so item assignment into the copy leaves ``x`` alone."""
    new = object.__new__(type(self))
    for s in _slots(type(self)):
        if hasattr(self, s):
            setattr(new, s, getattr(self, s))
    return new


def box_setitem(self, idx, v):
    """``y[idx] = v`` on a traced value: ``y`` becomes ``index_update(y, idx, v)``."""
    new = index_update(self, idx, v)
    if new._level is self._level and type(new) is not type(self):
        raise TypeError(
            f"item assignment into a {type(self).__name__}: a leaf of the define-by-run "
            "graph cannot be changed in place (its gradient would lose its meaning, as "
            "in PyTorch); compute a new value (y = p * 1.0; y[i] = v) or replace the "
            "parameter's data outside differentiation (p.data = ...)")
    if type(new) is not type(self) or new._level is not self._level:
        raise TypeError(
            "item assignment: the value written is traced by a transformation that "
            "encloses the one the array belongs to, so the array cannot hold it in "
            "place; build the result functionally with "
            "admodes.inplace.index_update(y, idx, v) (or anp.where / anp.stack) and use "
            "its return value")
    for s in _slots(type(self)):
        if hasattr(new, s):
            setattr(self, s, getattr(new, s))
