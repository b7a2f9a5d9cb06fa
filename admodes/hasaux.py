"""``has_aux=True`` for the transformations (JAX semantics): ``fun`` returns a pair
``(output, aux)``; the transformation differentiates ``output`` only and hands ``aux``
back as it was computed, with no derivative attached (traced values of the
transformation's own, now closed, level are reduced to their values)."""

from __future__ import annotations

import functools

from .dispatch import Box
from .tree import tree_map

__all__ = ["with_aux", "split_aux", "plain_aux"]


def split_aux(fun, fname):
    """``(inner, store)``: ``inner`` calls ``fun``, checks it returned a pair, keeps the
    aux of its first call in ``store`` and returns the output alone."""
    store = []

    @functools.wraps(fun)
    def inner(*args, **kwargs):
        got = fun(*args, **kwargs)
        if not (isinstance(got, (tuple, list)) and len(got) == 2):
            raise TypeError(f"{fname}(has_aux=True): the function must return a pair "
                            f"(output, aux), got {type(got).__name__}"
                            + (f" of length {len(got)}" if isinstance(got, (tuple, list))
                               else ""))
        if not store:  # forward mode may evaluate fun once per chunk of directions
            store.append(got[1])
        return got[0]

    return inner, store


def plain_aux(aux):
    """Drop the derivatives of closed transformations from the leaves of ``aux``."""
    def strip(x):
        while isinstance(x, Box) and not x._level.alive:
            x = x._primal
        return x
    return tree_map(strip, aux)


def with_aux(make, fun, fname, combine):
    """Wrap the transformation ``make(inner)`` of a has_aux ``fun``: call it, then
    ``combine(result, aux)``."""
    @functools.wraps(fun)
    def transformed(*args, **kwargs):
        inner, store = split_aux(fun, fname)
        result = make(inner)(*args, **kwargs)
        return combine(result, plain_aux(store[0]))

    return transformed
