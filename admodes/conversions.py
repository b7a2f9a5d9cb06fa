"""Scalar conversions of traced values (issue 9).

``float(x)``, ``complex(x)``, ``math.sin(x)`` (which calls ``__float__``),
``np.float64(x)``, ``x.item()`` and ``x.tolist()`` turn a traced value into a plain
Python number: whatever is computed from it afterwards no longer depends on the input,
so a derivative taken through it would be silently wrong (``grad(lambda x: float(x) * x)``
would give ``x`` instead of ``2 x``).  Inside a transformation these conversions raise
:class:`TracerConversionError`, as JAX and HIPS autograd do.

Piecewise-constant conversions stay allowed (``int(x)``, ``bool(x)``, comparisons): their
derivative is zero almost everywhere, so nothing is lost.  In ``ad.nn``'s define-by-run
mode (parameters, no transformation) ``float(loss)`` and ``loss.item()`` return the number,
as in PyTorch: there the tape is not an argument of the function being differentiated.
"""

from __future__ import annotations

from .dispatch import Box, value

__all__ = ["TracerConversionError"]


class TracerConversionError(TypeError):
    """A traced value that carries a derivative was converted to a plain Python number
    (``float``, ``complex``, ``math.*``, ``np.float64``, ``.item()``, ``.tolist()``)
    inside a transformation, which would drop its derivative.

    >>> import math, admodes as ad
    >>> try:
    ...     ad.grad(lambda x: math.sin(x))(1.0)
    ... except ad.TracerConversionError as e:
    ...     print(str(e).split(":")[0])
    float() of a traced value inside grad (reverse mode)
    """


def _transformation(x):
    """The innermost live transformation level among ``x``'s boxes, or None when every
    box belongs to ``ad.nn``'s define-by-run tape or to a transformation that returned."""
    while isinstance(x, Box):
        level = x._level
        if level.alive and level.kind != "define-by-run":
            return level
        x = x._primal
    return None


def convert(x, what, fn):
    """Apply the conversion ``fn`` to ``value(x)``, unless ``x`` is traced by a live
    transformation: then raise :class:`TracerConversionError` naming ``what``."""
    level = _transformation(x)
    if level is None:
        return fn(value(x))
    name = level.name or {"forward": "jvp", "reverse": "vjp"}.get(level.kind, level.kind)
    raise TracerConversionError(
        f"{what} of a traced value inside {name} ({level.kind} mode): the result would be "
        "a plain number with no derivative, so the derivative would be silently wrong. "
        "Use admodes.numpy / np.* functions instead (anp.sin(x), np.exp(x), not math.sin, "
        "float(x) or x.item()) so the derivative flows through; use ad.value(x) only to "
        "drop the derivative on purpose. int(), bool() and comparisons stay allowed "
        "(they are piecewise constant).")


def _float(self):
    return convert(self, "float()", float)


def _complex(self):
    return convert(self, "complex()", complex)


def _item(self, *args):
    return convert(self, "x.item()", lambda v: _asarray(v).item(*args))


def _tolist(self):
    return convert(self, "x.tolist()", lambda v: _asarray(v).tolist())


def _asarray(v):
    import numpy as np
    return np.asarray(v)


def install(cls):
    """Install the checked conversions on the box base class (``__array__`` of a 0-d
    value, which ``np.float32(x)`` / ``np.float64(x)`` call, is checked first and then
    left to the array protocol installed before)."""
    to_array = cls.__array__

    def __array__(self, dtype=None, copy=None):
        from .dispatch import ndim_of
        if ndim_of(self) == 0 and _transformation(self) is not None:
            convert(self, "np.float64() / np.float32() / np.asarray() of a 0-d value",
                    float)
        return to_array(self, dtype, copy)

    cls.__array__ = __array__
    cls.__float__ = _float
    cls.__complex__ = _complex
    cls.item = _item
    cls.tolist = _tolist
