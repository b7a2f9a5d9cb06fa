"""Complex intermediates: ``real``, ``imag``, ``conj``, ``angle`` and ``abs`` of complex
values, and the convention every rule follows when values are complex.

The convention is JAX's.  A complex number is a pair of reals, and a derivative is the
real-linear map between those pairs.  Tangents are complex numbers ``dz = dx + i dy``.
A cotangent ``c`` is paired with a tangent by the *bilinear* real pairing

    ⟨c, dz⟩ = Re(sum(c * dz))          (no conjugate)

so a VJP rule is the *transpose* (not the conjugate transpose) of its JVP rule under
that pairing.  Two consequences:

* for a holomorphic op the rules are those of the real case unchanged: the JVP is
  ``t * f'(z)`` and the VJP ``g * f'(z)`` (``exp``, ``sin``, ``*``, ``matmul``, ``fft``
  ... need no complex case);
* the gradient of a real-valued ``f`` at a complex ``z = x + iy`` is
  ``df/dx - i df/dy`` (the conjugate of what PyTorch returns): for ``f(z) = |z|²`` at
  ``3 + 4j`` it is ``6 - 8j``, as ``jax.grad`` gives.

Where a complex cotangent reaches a real argument (``x * (1 + 2j)`` with ``x`` real), the
pairing only sees its real part: the reverse sweep takes it
(:func:`admodes.reverse._to_real`).  Non-holomorphic ops have rules of their own below,
derived from the pairing: ``conj`` → ``conj(g)``; ``real`` → ``g``; ``imag`` → ``-i g``;
``|z|`` → ``g conj(z) / |z|``; ``angle(z)`` → ``-i g / z``.  At ``z = 0`` the derivative of
``|z|`` is taken as 0 (as for the real ``abs`` and ``norm``).  None of them is
complex-analytic, so the checker never uses complex step through them.
"""

from __future__ import annotations

import numpy as np

from ..dispatch import bind, value
from ..registry import register
from .elementwise import abs as _real_abs
from .elementwise import divide, multiply, where


def _iscomplex(x):
    v = value(x)
    if isinstance(v, (complex, np.complexfloating)):
        return True
    # by dtype, not by type: while ad.jit traces a gradient program, value() is a
    # placeholder with a shape and a dtype only
    dt = getattr(v, "dtype", None)
    return dt is not None and dt.kind == "c"


def _cdomain(rng, *shapes):
    return [rng.normal(size=s) + 1j * rng.normal(size=s) for s in shapes]


def _unary_domain(rng):
    a, b, c = _cdomain(rng, (3,), (2, 3), ())
    return [([a], {}), ([b], {}), ([c], {}), ([rng.normal(size=(3,))], {})]


def _nonzero_domain(rng):
    """Complex values away from 0, including near the negative real axis (where
    ``angle`` jumps, but its derivative is continuous) and purely real/imaginary ones."""
    a, b = _cdomain(rng, (3,), (2, 3))
    edge = np.array([-1.5 + 1e-3j, 2.0 + 0j, 0.0 - 0.7j])
    return [([a], {}), ([b], {}), ([edge], {})]


def _copy(x):
    return np.array(x, copy=True) if isinstance(x, np.ndarray) else x


# ---------------------------------------------------------------- real, imag, conj ----


def _real_impl(x):
    return _copy(np.real(x))


_real = register("real", _real_impl, lambda t, ans, x: real(t), lambda g, ans, x: g,
                 analytic=False, keep=(), keep_ans=False,
                 domain=_unary_domain)


def real(x):
    """The real part (``numpy.real``), differentiable.

    Args:
        x: a real or complex value.

    Returns:
        ``Re(x)``, real.

    >>> import admodes as ad, numpy as np
    >>> ad.grad(lambda t: real(np.exp(1j * t)))(0.5)   # d/dt cos t
    -0.479425538604203
    """
    return bind(_real, x)


real.primitive = _real


def _imag_impl(x):
    return _copy(np.imag(x))


_imag = register("imag", _imag_impl, lambda t, ans, x: imag(t),
                 lambda g, ans, x: multiply(g, -1j), analytic=False,
                 keep=(), keep_ans=False, domain=_unary_domain)


def imag(x):
    """The imaginary part (``numpy.imag``), differentiable.

    Args:
        x: a real or complex value (0 for a real one).

    Returns:
        ``Im(x)``, real.

    >>> import admodes as ad, numpy as np
    >>> ad.grad(lambda t: imag(np.exp(1j * t)))(0.0)   # d/dt sin t
    1.0
    """
    return bind(_imag, x)


_conj = register("conj", np.conjugate, lambda t, ans, x: conj(t),
                 lambda g, ans, x: conj(g), analytic=False, keep=(),
                 keep_ans=False, domain=_unary_domain)


def conj(x):
    """The complex conjugate (``numpy.conj``), differentiable.

    Args:
        x: a real or complex value.

    Returns:
        ``conj(x)``.

    >>> import admodes as ad, numpy as np
    >>> ad.grad(lambda z: real(z * conj(z)))(3.0 + 4.0j)   # |z|², JAX's convention
    (6-8j)
    """
    return bind(_conj, x)


conjugate = conj

# ---------------------------------------------------------------- abs, angle ----------


def _unit_conj(ans, x):
    """conj(x) / |x|, taken as 0 where x = 0 (the subgradient 0, never nan)."""
    zero = np.asarray(value(ans)) == 0
    return divide(conj(x), where(zero, 1.0, ans))


_cabs = register("cabs", np.abs,
                 lambda t, ans, x: real(multiply(t, _unit_conj(ans, x))),
                 lambda g, ans, x: multiply(g, _unit_conj(ans, x)),
                 elementwise=True, analytic=False, domain=_nonzero_domain)


def absolute(x):
    """``numpy.abs``: ``|x|``.  Real values use the real ``abs`` primitive; complex ones
    the modulus, whose gradient is ``conj(x) / |x|`` (0 at 0).

    Args:
        x: a real or complex value.

    Returns:
        ``|x|``, real.

    >>> import admodes as ad
    >>> import numpy as np
    >>> np.round(ad.grad(lambda z: absolute(z))(3.0 + 4.0j), 12)
    np.complex128(0.6-0.8j)
    """
    return bind(_cabs, x) if _iscomplex(x) else _real_abs(x)


abs = absolute


def _angle_jvp(t, ans, x):
    return imag(divide(t, x))


def _angle_vjp(g, ans, x):
    return divide(multiply(g, -1j), x)


_angle = register("angle", np.angle, _angle_jvp, _angle_vjp, analytic=False,
                  keep_ans=False, domain=_nonzero_domain)


def angle(z, deg=False):
    """The argument of a complex number (``numpy.angle``), differentiable away from 0.

    ``d angle(z) = Im(dz / z)``; a real input has angle 0 or pi and derivative 0.

    Args:
        z: a real or complex value.
        deg: return degrees instead of radians.

    Returns:
        The angle, real.

    >>> import admodes as ad
    >>> ad.grad(lambda z: angle(z))(1.0 + 1.0j)
    (-0.5-0.5j)
    """
    out = bind(_angle, z)
    return multiply(out, 180.0 / np.pi) if deg else out


# ---------------------------------------------------------------- checking -----------


def _parts(x):
    if isinstance(x, np.ndarray) and x.ndim:
        return (x.real.copy(), x.imag.copy())
    return (float(np.real(x)), float(np.imag(x)))


def split_complex(fun, args):
    """``fun`` seen as a real function: each complex input leaf becomes a pair
    ``(re, im)`` of real arrays and each complex output leaf ``stack([re, im])``.

    The checker (:func:`admodes.check_grads`) uses it to check functions with complex
    inputs or outputs against real finite differences; the wrapper is written with
    ``real``, ``imag`` and complex ``*``/``+``, so it checks the complex rules as well.

    Args:
        fun: the function.
        args: its positional arguments (pytrees allowed).

    Returns:
        ``(real_fun, real_args)``; ``real_fun(*real_args)`` equals ``fun(*args)`` with
        complex leaves split as above.

    >>> import numpy as np
    >>> g, a = split_complex(lambda z: z * z, (1.0 + 2.0j,))
    >>> a, g(*a)
    (((1.0, 2.0),), array([-3.,  4.]))
    """
    from ..tree import flatten, unflatten
    from .shape import stack

    leaves, td = flatten(list(args))
    cplx = [np.iscomplexobj(value(x)) for x in leaves]
    real_leaves = [_parts(x) if c else x for x, c in zip(leaves, cplx)]

    # Which outputs are complex is decided once, at the first call (the checker's first
    # call is at the given point): under complex step a real output turns complex and
    # must stay one leaf, carrying its imaginary perturbation.
    split = []

    def real_fun(*rargs):
        rl, _ = flatten(list(rargs))
        it = iter(rl)
        full = []
        for c in cplx:
            if c:
                re, im = next(it), next(it)
                full.append(re + multiply(im, 1j))
            else:
                full.append(next(it))
        out = fun(*unflatten(td, full))
        oleaves, otd = flatten(out)
        if not split:
            split.append([np.iscomplexobj(value(o)) for o in oleaves])
        flags = split[0] if len(split[0]) == len(oleaves) else [
            np.iscomplexobj(value(o)) for o in oleaves]
        oleaves = [stack([real(o), imag(o)]) if f else o for o, f in zip(oleaves, flags)]
        return unflatten(otd, oleaves)

    return real_fun, tuple(unflatten(td, real_leaves))
