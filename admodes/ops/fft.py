"""``numpy.fft``, differentiable: four primitives over one axis (``fft``, ``ifft``,
``rfft``, ``irfft``) and composites for the ``n``-d forms and the resizing ``n``/``s``.

The rules follow the complex convention of :mod:`admodes.ops.complex` (cotangents
paired by ``Re(sum(c * dz))``, so a VJP is the plain transpose):

* ``fft`` and ``ifft`` are complex-linear with symmetric matrices: JVP and VJP are the
  same transform of ``t`` / ``g``, with the same ``norm``.
* ``rfft`` (real in, the first ``n // 2 + 1`` frequencies out): the transpose of those
  rows of the DFT matrix is an ``fft`` of the cotangent zero-padded to ``n``; the input
  is real, so its cotangent is the real part.
* ``irfft`` (``m = n // 2 + 1`` frequencies in, real out) is only real-linear: it reads
  ``Re`` of the zero (and, ``n`` even, the Nyquist) frequency and counts each other one
  twice (it and its Hermitian mirror).  Its VJP is ``c_k * ifft(g)[k]`` for ``k < m`` with
  ``c = (1, 2, ..., 2, 1 or 2)``.

Axes are stored negative, so tangents and cotangents with leading batch axes ride along.
"""

from __future__ import annotations

import numpy as np

from ..dispatch import bind, ndim_of, shape_of, value
from ..registry import register
from .complex import _iscomplex, real
from .elementwise import multiply
from .shape import concatenate, getitem

__all__ = ["fft", "ifft", "rfft", "irfft", "fft2", "ifft2", "fftn", "ifftn", "rfft2",
           "irfft2", "rfftn", "irfftn", "fftshift", "ifftshift"]

_NORMS = (None, "backward", "ortho", "forward")


def _axis(x, axis, fname):
    nd = ndim_of(x)
    a = int(axis)
    if not -nd <= a < nd:
        raise np.exceptions.AxisError(f"fft.{fname}: axis {axis} is out of bounds for an "
                                      f"array of dimension {nd}")
    return a - nd if a >= 0 else a


def _norm(norm, fname):
    if norm not in _NORMS:
        raise ValueError(f"fft.{fname}: invalid norm {norm!r}; expected one of {_NORMS}")
    return norm


def _along(axis, idx):
    """An index selecting ``idx`` along negative ``axis`` (batch axes ride along)."""
    return (Ellipsis, idx) + (slice(None),) * (-axis - 1)


def _resize(x, n, axis, fname):
    """Crop or zero-pad ``x`` to length ``n`` along ``axis`` (numpy's ``n`` argument)."""
    size = shape_of(x)[axis]
    if n is None or int(n) == size:
        return x
    n = int(n)
    if n < 1:
        raise ValueError(f"fft.{fname}: invalid number of data points ({n}) specified")
    if n < size:
        return getitem(x, _along(axis, slice(0, n)))
    shape = list(shape_of(x))
    shape[axis] = n - size
    return concatenate([x, np.zeros(shape, np.result_type(value(x), 0.0))], axis=axis)


def _domain(rng, complex_in=True):
    def z(*s):
        return rng.normal(size=s) + 1j * rng.normal(size=s) if complex_in else rng.normal(size=s)
    return [([z(5)], {"axis": -1, "norm": None}),
            ([z(2, 4)], {"axis": -2, "norm": "ortho"}),
            ([z(3, 4)], {"axis": -1, "norm": "forward"}),
            ([rng.normal(size=(4,))], {"axis": -1, "norm": None})]


# ---------------------------------------------------------------- fft, ifft -----------

def _fft_impl(x, axis, norm):
    return np.fft.fft(x, axis=axis, norm=norm)


def _ifft_impl(x, axis, norm):
    return np.fft.ifft(x, axis=axis, norm=norm)


_fft = register("fft", _fft_impl,
                lambda t, ans, x, axis, norm: bind(_fft, t, axis=axis, norm=norm),
                lambda g, ans, x, axis, norm: bind(_fft, g, axis=axis, norm=norm),
                keep=(), keep_ans=False, domain=_domain)
_ifft = register("ifft", _ifft_impl,
                 lambda t, ans, x, axis, norm: bind(_ifft, t, axis=axis, norm=norm),
                 lambda g, ans, x, axis, norm: bind(_ifft, g, axis=axis, norm=norm),
                 keep=(), keep_ans=False, domain=_domain)


def fft(a, n=None, axis=-1, norm=None):
    """The discrete Fourier transform along one axis (``numpy.fft.fft``).

    Args:
        a: real or complex input.
        n: length of the transformed axis (crops or zero-pads ``a``), default its size.
        axis: the axis.
        norm: ``None``/``"backward"``, ``"ortho"`` or ``"forward"``, as numpy.

    Returns:
        The complex transform.

    >>> import admodes as ad, numpy as np
    >>> from admodes.ops.complex import absolute
    >>> ad.grad(lambda x: absolute(fft(x)[1]))(np.array([1.0, 0.0, 0.0, 0.0]))
    array([ 1.,  0., -1.,  0.])
    """
    axis = _axis(a, axis, "fft")
    return bind(_fft, _resize(a, n, axis, "fft"), axis=axis, norm=_norm(norm, "fft"))


def ifft(a, n=None, axis=-1, norm=None):
    """The inverse discrete Fourier transform along one axis (``numpy.fft.ifft``).

    Args:
        a: real or complex input.
        n: length of the transformed axis (crops or zero-pads ``a``).
        axis: the axis.
        norm: ``None``/``"backward"``, ``"ortho"`` or ``"forward"``.

    Returns:
        The complex inverse transform.

    >>> import admodes as ad, numpy as np
    >>> from admodes.ops.complex import real
    >>> ad.grad(lambda x: real(ifft(x)[0]))(np.ones(4))
    array([0.25, 0.25, 0.25, 0.25])
    """
    axis = _axis(a, axis, "ifft")
    return bind(_ifft, _resize(a, n, axis, "ifft"), axis=axis, norm=_norm(norm, "ifft"))


# ---------------------------------------------------------------- rfft, irfft ---------

def _rfft_impl(x, axis, norm):
    return np.fft.rfft(x, axis=axis, norm=norm)


def _rfft_vjp(g, ans, x, axis, norm):
    n = shape_of(x)[axis]
    return real(bind(_fft, _resize(g, n, axis, "rfft"), axis=axis, norm=norm))


def _real_domain(rng):
    return [([rng.normal(size=5)], {"axis": -1, "norm": None}),
            ([rng.normal(size=(4, 3))], {"axis": -2, "norm": "ortho"}),
            ([rng.normal(size=(2, 6))], {"axis": -1, "norm": "forward"}),
            ([rng.normal(size=(1,))], {"axis": -1, "norm": None})]


_rfft = register("rfft", _rfft_impl,
                 lambda t, ans, x, axis, norm: bind(_rfft, t, axis=axis, norm=norm),
                 _rfft_vjp, keep=(), keep_ans=False, domain=_real_domain)


def rfft(a, n=None, axis=-1, norm=None):
    """The transform of real input, non-negative frequencies only (``numpy.fft.rfft``).

    Args:
        a: real input.
        n: length of the transformed axis (crops or zero-pads ``a``).
        axis: the axis.
        norm: ``None``/``"backward"``, ``"ortho"`` or ``"forward"``.

    Returns:
        Complex, ``n // 2 + 1`` long along ``axis``.

    >>> import admodes as ad, numpy as np
    >>> from admodes.ops.complex import imag
    >>> ad.grad(lambda x: imag(rfft(x)[1]))(np.zeros(4))
    array([ 0., -1.,  0.,  1.])
    """
    if _iscomplex(a):
        raise TypeError("fft.rfft: the input is complex; rfft transforms real input "
                        "(use fft for complex input)")
    axis = _axis(a, axis, "rfft")
    return bind(_rfft, _resize(a, n, axis, "rfft"), axis=axis, norm=_norm(norm, "rfft"))


def _irfft_impl(x, axis, norm, n):
    return np.fft.irfft(x, n=n, axis=axis, norm=norm)


def _irfft_weights(m, n, axis):
    c = np.full(m, 2.0)
    c[0] = 1.0
    if n % 2 == 0:
        c[-1] = 1.0
    return c.reshape((m,) + (1,) * (-axis - 1))


def _irfft_vjp(g, ans, x, axis, norm, n):
    m = shape_of(x)[axis]
    full = bind(_ifft, g, axis=axis, norm=norm)
    return multiply(getitem(full, _along(axis, slice(0, m))), _irfft_weights(m, n, axis))


def _irfft_domain(rng):
    def z(*s):
        return rng.normal(size=s) + 1j * rng.normal(size=s)
    return [([z(3)], {"axis": -1, "norm": None, "n": 4}),
            ([z(3)], {"axis": -1, "norm": None, "n": 5}),
            ([z(3, 2)], {"axis": -2, "norm": "ortho", "n": 4}),
            ([z(2, 4)], {"axis": -1, "norm": "forward", "n": 7}),
            ([z(1)], {"axis": -1, "norm": None, "n": 1})]


_irfft = register("irfft", _irfft_impl,
                  lambda t, ans, x, axis, norm, n: bind(_irfft, t, axis=axis, norm=norm, n=n),
                  _irfft_vjp, keep=(), keep_ans=False, domain=_irfft_domain)


def irfft(a, n=None, axis=-1, norm=None):
    """The inverse of :func:`rfft` (``numpy.fft.irfft``): real output of length ``n``
    (default ``2 * (m - 1)`` for ``m`` input frequencies).

    As numpy, the imaginary parts of the zero frequency (and of the Nyquist frequency
    when ``n`` is even) are ignored, so their derivative is 0.

    Args:
        a: complex (or real) half spectrum.
        n: length of the output along ``axis``.
        axis: the axis.
        norm: ``None``/``"backward"``, ``"ortho"`` or ``"forward"``.

    Returns:
        Real, ``n`` long along ``axis``.

    >>> import admodes as ad, numpy as np
    >>> ad.grad(lambda z: irfft(z)[0])(np.array([1.0, 0.0, 0.0]) + 0j)
    array([0.25+0.j, 0.5 +0.j, 0.25+0.j])
    """
    axis = _axis(a, axis, "irfft")
    m = shape_of(a)[axis]
    n = 2 * (m - 1) if n is None else int(n)
    if n < 1:
        raise ValueError(f"fft.irfft: invalid number of data points ({n}) specified")
    a = _resize(a, n // 2 + 1, axis, "irfft")
    return bind(_irfft, a, axis=axis, norm=_norm(norm, "irfft"), n=n)


# ---------------------------------------------------------------- n-d composites ------

def _axes_and_sizes(a, s, axes, fname):
    nd = ndim_of(a)
    if axes is None:
        axes = tuple(range(-len(s), 0)) if s is not None else tuple(range(-nd, 0))
    axes = tuple(_axis(a, ax, fname) for ax in axes)
    if s is None:
        s = [None] * len(axes)
    if len(s) != len(axes):
        raise ValueError(f"fft.{fname}: shape s={tuple(s)} and axes={axes} have different "
                         "lengths")
    return axes, list(s)


def fftn(a, s=None, axes=None, norm=None):
    """The n-d transform (``numpy.fft.fftn``): :func:`fft` along each of ``axes``.

    Args:
        a: real or complex input.
        s: lengths of the transformed axes (crop / zero-pad).
        axes: the axes (default: the last ``len(s)``, or all).
        norm: as :func:`fft`.

    Returns:
        The complex transform.

    >>> import admodes as ad, numpy as np
    >>> from admodes.ops.complex import real
    >>> ad.grad(lambda x: real(fftn(x)[0, 0]))(np.ones((2, 2)))
    array([[1., 1.],
           [1., 1.]])
    """
    axes, s = _axes_and_sizes(a, s, axes, "fftn")
    for ax, n in zip(axes[::-1], s[::-1]):
        a = fft(a, n, ax, norm)
    return a


def ifftn(a, s=None, axes=None, norm=None):
    """The n-d inverse transform (``numpy.fft.ifftn``); arguments as :func:`fftn`.

    >>> import admodes as ad, numpy as np
    >>> from admodes.ops.complex import real
    >>> ad.grad(lambda x: real(ifftn(x)[0, 0]))(np.ones((2, 2)))
    array([[0.25, 0.25],
           [0.25, 0.25]])
    """
    axes, s = _axes_and_sizes(a, s, axes, "ifftn")
    for ax, n in zip(axes[::-1], s[::-1]):
        a = ifft(a, n, ax, norm)
    return a


def fft2(a, s=None, axes=(-2, -1), norm=None):
    """``numpy.fft.fft2``: :func:`fftn` over two axes."""
    return fftn(a, s, axes, norm)


def ifft2(a, s=None, axes=(-2, -1), norm=None):
    """``numpy.fft.ifft2``: :func:`ifftn` over two axes."""
    return ifftn(a, s, axes, norm)


def rfftn(a, s=None, axes=None, norm=None):
    """The n-d transform of real input (``numpy.fft.rfftn``): :func:`rfft` along the
    last of ``axes``, then :func:`fft` along the others.

    >>> import admodes as ad, numpy as np
    >>> from admodes.ops.complex import real
    >>> ad.grad(lambda x: real(rfftn(x)[0, 0]))(np.ones((2, 2)))
    array([[1., 1.],
           [1., 1.]])
    """
    axes, s = _axes_and_sizes(a, s, axes, "rfftn")
    a = rfft(a, s[-1], axes[-1], norm)
    for ax, n in zip(axes[-2::-1], s[-2::-1]):
        a = fft(a, n, ax, norm)
    return a


def irfftn(a, s=None, axes=None, norm=None):
    """The inverse of :func:`rfftn` (``numpy.fft.irfftn``): :func:`ifft` along all but
    the last of ``axes``, then :func:`irfft` along the last (default length
    ``2 * (m - 1)``).

    >>> import admodes as ad, numpy as np
    >>> ad.grad(lambda z: irfftn(z)[0, 0])(np.ones((2, 2)) + 0j)
    array([[0.25+0.j, 0.25+0.j],
           [0.25+0.j, 0.25+0.j]])
    """
    axes, s = _axes_and_sizes(a, s, axes, "irfftn")
    for ax, n in zip(axes[:-1], s[:-1]):
        a = ifft(a, n, ax, norm)
    return irfft(a, s[-1], axes[-1], norm)


def rfft2(a, s=None, axes=(-2, -1), norm=None):
    """``numpy.fft.rfft2``: :func:`rfftn` over two axes."""
    return rfftn(a, s, axes, norm)


def irfft2(a, s=None, axes=(-2, -1), norm=None):
    """``numpy.fft.irfft2``: :func:`irfftn` over two axes."""
    return irfftn(a, s, axes, norm)


def _roll(x, shift, axis):
    n = shape_of(x)[axis]
    k = shift % n if n else 0
    if k == 0:
        return x
    return concatenate([getitem(x, _along(axis, slice(n - k, n))),
                        getitem(x, _along(axis, slice(0, n - k)))], axis=axis)


def _shift(x, axes, sign, fname):
    if axes is None:
        axes = tuple(range(-ndim_of(x), 0))
    elif isinstance(axes, (int, np.integer)):
        axes = (axes,)
    for ax in axes:
        ax = _axis(x, ax, fname)
        half = shape_of(x)[ax] // 2
        x = _roll(x, half if sign > 0 else -half, ax)
    return x


def fftshift(x, axes=None):
    """``numpy.fft.fftshift``: the zero frequency moved to the centre (a permutation,
    composite of slicing and concatenation).

    >>> import numpy as np
    >>> fftshift(np.arange(5.0))
    array([3., 4., 0., 1., 2.])
    """
    return _shift(x, axes, 1, "fftshift")


def ifftshift(x, axes=None):
    """``numpy.fft.ifftshift``: the inverse of :func:`fftshift`.

    >>> import numpy as np
    >>> ifftshift(np.arange(5.0))
    array([2., 3., 4., 0., 1.])
    """
    return _shift(x, axes, -1, "ifftshift")
