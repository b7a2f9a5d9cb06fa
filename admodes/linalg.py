"""``admodes.numpy.linalg``: differentiable ``numpy.linalg`` functions.

(Being filled in: solve, inv, det, slogdet, norm, cholesky.)"""

from __future__ import annotations


def _todo(name):
    def f(*args, **kwargs):
        raise NotImplementedError(f"linalg.{name} is not implemented yet")
    f.__name__ = name
    return f


solve = _todo("solve")
inv = _todo("inv")
det = _todo("det")
slogdet = _todo("slogdet")
norm = _todo("norm")
cholesky = _todo("cholesky")
