"""The numpy coverage table: every call listed in issue 10, run on traced values in both
modes and checked against finite differences.  ``python -m admodes.bench.coverage``
writes ``docs/numpy-coverage.md``; ``tests/test_coverage.py`` regenerates the table in
memory and asserts the committed file matches, so the table cannot drift from the code.

The reference is Richardson-extrapolated finite differences.  Each call is tried in up to three forms: the plain ``numpy`` call on traced values (through
numpy's protocols), the same call through ``admodes.numpy``, and the ndarray method where
numpy has one.  The numpy form is checked with :func:`admodes.check_grads` in forward mode,
in reverse mode, and to second order in both; the other forms to first order in both
modes.  A call counts as *supported* when every form passes every check.  A check that
runs but disagrees with the finite differences is reported as ``WRONG`` (never expected:
it would be a bug); a call that raises is reported with its exception type.
"""

from __future__ import annotations

import argparse
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["CALLS", "Call", "run", "render", "main"]

DOC = Path(__file__).resolve().parents[2] / "docs" / "numpy-coverage.md"


@dataclass(frozen=True)
class Call:
    """One listed call.

    Attributes:
        group: section of the table (the issue's bullet).
        name: the function as listed.
        code: the call as shown in the table.
        fn: ``fn(xp, *args)``, with ``xp`` ``numpy`` or ``admodes.numpy``.
        args: ``args(rng) -> tuple`` of float inputs (all differentiated).
        method: ``method(*args)`` using the ndarray method, or None.
        forms: which namespaces to try (``"np"``, ``"anp"``).
        raises: ``(exception type, message start)`` when the derivative does not exist
            at the point: the call is supported when every form raises exactly that
            clear error in every mode (and the value is numpy's).
    """

    group: str
    name: str
    code: str
    fn: object
    args: object
    method: object = None
    forms: tuple = ("np", "anp")
    extra: dict = field(default_factory=dict)
    raises: tuple = None


def _u(*shape, lo=-2.0, hi=2.0):
    return lambda rng: (rng.uniform(lo, hi, shape),)


def _pos(*shape):
    return _u(*shape, lo=0.3, hi=2.0)


def _distinct(*shape):
    """Values with no ties, well apart (sort, median, percentile away from kinks)."""
    def make(rng):
        n = int(np.prod(shape))
        return (rng.permutation(n).reshape(shape) * 0.37 + rng.uniform(-0.1, 0.1, shape),)
    return make


def _two(a, b):
    return lambda rng: a(rng) + b(rng)


def _sym(a):
    return a + a.T


CALLS: list[Call] = []


def _add(group, name, code, fn, args, method=None, forms=("np", "anp"), raises=None):
    CALLS.append(Call(group, name, code, fn, args, method, forms, raises=raises))


# ---------------------------------------------------------------- elementwise ---------
E = "elementwise"
for _name in ("log2", "log10", "cbrt"):
    _add(E, _name, f"np.{_name}(x)", (lambda n: lambda xp, x: getattr(xp, n)(x))(_name),
         _pos(2, 3))
for _name in ("exp2", "arcsinh", "fabs", "absolute", "positive", "sinc", "deg2rad",
              "rad2deg", "radians", "degrees"):
    _add(E, _name, f"np.{_name}(x)", (lambda n: lambda xp, x: getattr(xp, n)(x))(_name),
         _u(2, 3))
_add(E, "cbrt (negative)", "np.cbrt(-x)", lambda xp, x: xp.cbrt(-x), _pos(2, 3))
_add(E, "arccosh", "np.arccosh(x)", lambda xp, x: xp.arccosh(x), _u(2, 3, lo=1.2, hi=3.0))
_add(E, "arctanh", "np.arctanh(x)", lambda xp, x: xp.arctanh(x), _u(2, 3, lo=-0.9, hi=0.9))
for _name in ("hypot", "fmax", "fmin", "logaddexp2", "mod", "fmod", "remainder"):
    _add(E, _name, f"np.{_name}(x, y)",
         (lambda n: lambda xp, x, y: getattr(xp, n)(x, y))(_name),
         _two(_u(2, 3), _u(3, lo=0.5, hi=1.5)))
_add(E, "float_power", "np.float_power(x, y)", lambda xp, x, y: xp.float_power(x, y),
     _two(_pos(2, 3), _u(3)))
_add(E, "sinc at 0", "np.sinc(x * [0, 1])", lambda xp, x: xp.sinc(x * np.array([0.0, 1.0])),
     _u(2))
_NAN_INF = np.array([np.nan, 1.0, np.inf, -np.inf, 1.0])
_add(E, "nan_to_num", "np.nan_to_num(np.where(m, x, [nan, ., inf, -inf, .]), posinf=5.0)",
     lambda xp, x: xp.nan_to_num(xp.where(_NAN_INF == 1.0, x, _NAN_INF),
                                 posinf=5.0, neginf=-5.0), _pos(5))
_add(E, "round/around", "x * np.round(x, 1)", lambda xp, x: x * xp.round(x, 1), _u(2, 3),
     method=lambda x: x * x.round(1))
_add(E, "around", "x * np.around(x)", lambda xp, x: x * xp.around(x), _u(2, 3))
_add(E, "rint", "x * np.rint(x)", lambda xp, x: x * xp.rint(x), _u(2, 3))
_add(E, "heaviside", "x * np.heaviside(x, 0.5)", lambda xp, x: x * xp.heaviside(x, 0.5),
     _u(2, 3))
_add(E, "isclose", "np.where(np.isclose(x, 1), x, 2 * x)",
     lambda xp, x: xp.where(xp.isclose(x, 1.0), x, 2 * x), _u(2, 3))
_add(E, "allclose", "x * np.allclose(x, 1)", lambda xp, x: x * float(xp.allclose(x, 1.0)),
     _u(2, 3))
_add(E, "signbit", "x * np.signbit(x)", lambda xp, x: x * xp.signbit(x), _u(2, 3))

# ---------------------------------------------------------------- reductions ----------
R = "reductions and scans"
_add(R, "cumprod", "np.cumprod(x, axis=1)", lambda xp, x: xp.cumprod(x, axis=1), _u(2, 4),
     method=lambda x: x.cumprod(axis=1))
_add(R, "cumprod (zeros)", "np.cumprod(x * [1, 0, 1, 0])",
     lambda xp, x: xp.cumprod(x * np.array([1.0, 0.0, 1.0, 0.0])), _u(4))
_add(R, "median", "np.median(x, axis=0)", lambda xp, x: xp.median(x, axis=0),
     _distinct(5, 3))
_add(R, "median (even)", "np.median(x)", lambda xp, x: xp.median(x), _distinct(2, 3))
_add(R, "percentile", "np.percentile(x, [10, 75], axis=1)",
     lambda xp, x: xp.percentile(x, [10.0, 75.0], axis=1), _distinct(2, 5))
_add(R, "quantile", 'np.quantile(x, 0.3, method="linear")',
     lambda xp, x: xp.quantile(x, 0.3, method="linear"), _distinct(7))
_add(R, "average", "np.average(x, axis=0, weights=w)",
     lambda xp, x, w: xp.average(x, axis=0, weights=w), _two(_u(3, 2), _pos(3, 2)))
_add(R, "ptp", "np.ptp(x, axis=1)", lambda xp, x: xp.ptp(x, axis=1), _distinct(2, 4),
     method=None)
for _name in ("nansum", "nanmean", "nanmax", "nanmin"):
    _add(R, _name, f"np.{_name}(np.where(m, x, nan), axis=1)",
         (lambda n: lambda xp, x: getattr(xp, n)(
             xp.where(np.array([True, False, True]), x, np.nan), axis=1))(_name),
         _distinct(2, 3))
_add(R, "amax", "np.amax(x, axis=0)", lambda xp, x: xp.amax(x, axis=0), _distinct(3, 2))
_add(R, "amin", "np.amin(x, axis=0)", lambda xp, x: xp.amin(x, axis=0), _distinct(3, 2))
for _name in ("max", "min"):  # numpy's max and min take no dtype
    _add(R, f"{_name} (axis, keepdims)", f"np.{_name}(x, axis=1, keepdims=True)",
         (lambda n: lambda xp, x: getattr(xp, n)(x, axis=1, keepdims=True))(_name),
         _distinct(2, 3),
         method=(lambda n: lambda x: getattr(x, n)(axis=1, keepdims=True))(_name))
for _name in ("sum", "mean", "prod", "var", "std"):
    _add(R, f"{_name} (axis, keepdims, dtype)",
         f"np.{_name}(x, axis=1, keepdims=True, dtype=np.float64)",
         (lambda n: lambda xp, x: getattr(xp, n)(x, axis=1, keepdims=True,
                                                 dtype=np.float64))(_name),
         _distinct(2, 3),
         method=(lambda n: lambda x: getattr(x, n)(axis=1, keepdims=True,
                                                   dtype=np.float64))(_name))
for _name in ("var", "std"):
    _add(R, f"{_name} (ddof)", f"np.{_name}(x, axis=0, ddof=1)",
         (lambda n: lambda xp, x: getattr(xp, n)(x, axis=0, ddof=1))(_name), _u(4, 2),
         method=(lambda n: lambda x: getattr(x, n)(axis=0, ddof=1))(_name))
_add(R, "cumsum (dtype)", "np.cumsum(x, axis=0, dtype=np.float64)",
     lambda xp, x: xp.cumsum(x, axis=0, dtype=np.float64), _u(3, 2),
     method=lambda x: x.cumsum(axis=0, dtype=np.float64))

# ---------------------------------------------------------------- shape ---------------
S = "shape and indexing"
_add(S, "sort", "np.sort(x, axis=0)", lambda xp, x: xp.sort(x, axis=0), _distinct(3, 2))
_add(S, "take", "np.take(x, [2, 0, 2], axis=1)", lambda xp, x: xp.take(x, [2, 0, 2], axis=1),
     _u(2, 3), method=lambda x: x.take([2, 0, 2], axis=1))
_I = np.array([[1, 0, 1], [2, 2, 0]])
_add(S, "take_along_axis", "np.take_along_axis(x, i, axis=0)",
     lambda xp, x: xp.take_along_axis(x, _I, axis=0), _u(3, 3))
_add(S, "put_along_axis", "anp.put_along_axis(x, i, v, axis=0, inplace=False)",
     lambda xp, x, v: xp.put_along_axis(x, np.array([[1, 0, 1]]), v, axis=0, inplace=False),
     _two(_u(3, 3), _u(1, 3)), forms=("anp",))
_add(S, "tril", "np.tril(x, -1)", lambda xp, x: xp.tril(x, -1), _u(3, 3))
_add(S, "triu", "np.triu(x)", lambda xp, x: xp.triu(x), _u(2, 3, 3))
_add(S, "kron", "np.kron(a, b)", lambda xp, a, b: xp.kron(a, b), _two(_u(2, 3), _u(2, 2)))
_add(S, "cross", "np.cross(a, b)", lambda xp, a, b: xp.cross(a, b), _two(_u(2, 3), _u(3)))
_add(S, "split", "np.split(x, [1, 3], axis=1)", lambda xp, x: xp.split(x, [1, 3], axis=1),
     _u(2, 4))
_add(S, "array_split", "np.array_split(x, 3)", lambda xp, x: xp.array_split(x, 3), _u(5))
_add(S, "hsplit", "np.hsplit(x, 2)", lambda xp, x: xp.hsplit(x, 2), _u(2, 4))
_add(S, "vsplit", "np.vsplit(x, 2)", lambda xp, x: xp.vsplit(x, 2), _u(4, 2))
_add(S, "tile", "np.tile(x, (2, 1, 2))", lambda xp, x: xp.tile(x, (2, 1, 2)), _u(2, 3))
_add(S, "repeat", "np.repeat(x, [1, 0, 2], axis=1)",
     lambda xp, x: xp.repeat(x, [1, 0, 2], axis=1), _u(2, 3),
     method=lambda x: x.repeat([1, 0, 2], axis=1))
_add(S, "roll", "np.roll(x, (1, -2), axis=(0, 1))",
     lambda xp, x: xp.roll(x, (1, -2), axis=(0, 1)), _u(3, 4))
_add(S, "rot90", "np.rot90(x, 3)", lambda xp, x: xp.rot90(x, 3), _u(2, 3))
_add(S, "fliplr", "np.fliplr(x)", lambda xp, x: xp.fliplr(x), _u(2, 3))
_add(S, "flipud", "np.flipud(x)", lambda xp, x: xp.flipud(x), _u(2, 3))
_add(S, "dstack", "np.dstack([a, b])", lambda xp, a, b: xp.dstack([a, b]),
     _two(_u(2, 3), _u(2, 3)))
_add(S, "column_stack", "np.column_stack([a, b])", lambda xp, a, b: xp.column_stack([a, b]),
     _two(_u(3), _u(3, 2)))
for _k in (1, 2, 3):
    _add(S, f"atleast_{_k}d", f"np.atleast_{_k}d(x)",
         (lambda k: lambda xp, x: getattr(xp, f"atleast_{k}d")(x))(_k), _u(3))
_add(S, "broadcast_arrays", "np.broadcast_arrays(a, b)",
     lambda xp, a, b: xp.broadcast_arrays(a, b), _two(_u(2, 1), _u(3)))
_add(S, "meshgrid", "np.meshgrid(a, b)", lambda xp, a, b: xp.meshgrid(a, b),
     _two(_u(3), _u(2)))
_add(S, "pad constant", "np.pad(x, 1, constant_values=2.0)",
     lambda xp, x: xp.pad(x, 1, constant_values=2.0), _u(2, 3))
for _mode in ("edge", "reflect", "symmetric", "wrap"):
    _add(S, f"pad {_mode}", f'np.pad(x, ((1, 2), (2, 0)), mode="{_mode}")',
         (lambda m: lambda xp, x: xp.pad(x, ((1, 2), (2, 0)), mode=m))(_mode), _u(3, 3))

# ---------------------------------------------------------------- linear algebra ------
L = "linear algebra"
_add(L, "linalg.eigh", "np.linalg.eigh(A + A.T) (w, v v^T per column)",
     lambda xp, a: (lambda w, v: (w, xp.einsum("ik,jk->kij", v, v)))(
         *xp.linalg.eigh(a + xp.transpose(a))), _u(3, 3))
_add(L, "linalg.eigvalsh", "np.linalg.eigvalsh(A + A.T)",
     lambda xp, a: xp.linalg.eigvalsh(a + xp.transpose(a)), _u(3, 3))
_add(L, "linalg.svd", "np.linalg.svd(A, full_matrices=False) (s, u_k v_k^T)",
     lambda xp, a: (lambda u, s, vt: (s, xp.einsum("ik,kj->kij", u, vt)))(
         *xp.linalg.svd(a, full_matrices=False)), _u(4, 3))
_add(L, "linalg.qr", "np.linalg.qr(A)", lambda xp, a: tuple(xp.linalg.qr(a)), _u(4, 3))
_add(L, "linalg.pinv", "np.linalg.pinv(A)", lambda xp, a: xp.linalg.pinv(a), _u(4, 3))
_add(L, "linalg.lstsq", "np.linalg.lstsq(A, b)[0]",
     lambda xp, a, b: xp.linalg.lstsq(a, b)[0], _two(_u(4, 3), _u(4)))
_add(L, "linalg.matrix_power", "np.linalg.matrix_power(A, 3)",
     lambda xp, a: xp.linalg.matrix_power(a, 3), _u(3, 3))
_add(L, "linalg.multi_dot", "np.linalg.multi_dot([A, B, C])",
     lambda xp, a, b, c: xp.linalg.multi_dot([a, b, c]),
     lambda rng: (rng.uniform(-1, 1, (2, 3)), rng.uniform(-1, 1, (3, 4)),
                  rng.uniform(-1, 1, (4, 2))))
for _ord in ("2", "-2", "'nuc'"):
    _add(L, f"linalg.norm ord={_ord}", f"np.linalg.norm(A, ord={_ord})",
         (lambda o: lambda xp, a: xp.linalg.norm(a, ord=o))(eval(_ord)), _u(3, 3))
for _ord in ("1", "3", "np.inf"):
    _add(L, f"linalg.norm vector ord={_ord}", f"np.linalg.norm(x, ord={_ord})",
         (lambda o: lambda xp, x: xp.linalg.norm(x, ord=o))(eval(_ord)), _distinct(4))
_SING = np.array([[1.0, 2.0, 0.5], [2.0, 4.0, 1.0], [0.3, -1.0, 2.0]])
_add(L, "linalg.det (singular)", "np.linalg.det(S)", lambda xp, a: xp.linalg.det(a),
     lambda rng: (_SING.copy(),))
_add(L, "linalg.slogdet (singular)", "np.linalg.slogdet(S)[1] (= -inf: no derivative)",
     lambda xp, a: xp.linalg.slogdet(a)[1], lambda rng: (_SING.copy(),),
     raises=(np.linalg.LinAlgError, "linalg.slogdet: the matrix is singular"))

# ---------------------------------------------------------------- misc ----------------
M = "misc"
_XP = np.array([-1.0, 0.0, 0.5, 2.0])
_add(M, "interp (sample values)", "np.interp(q, xp, fp)",
     lambda xp, fp: xp.interp(np.array([-2.0, -0.3, 0.7, 1.9, 3.0]), _XP, fp), _u(4))
_add(M, "interp (query points)", "np.interp(x, xp, fp)",
     lambda xp, q: xp.interp(q, _XP, np.array([1.0, -1.0, 2.0, 0.5])),
     lambda rng: (np.array([-2.0, -0.3, 0.7, 1.9, 3.0]),))
_add(M, "polyval", "np.polyval(p, x)", lambda xp, p, x: xp.polyval(p, x),
     _two(_u(4), _u(3)))
for _mode in ("full", "same", "valid"):
    for _name in ("convolve", "correlate"):
        _add(M, f"{_name} {_mode}", f'np.{_name}(a, v, mode="{_mode}")',
             (lambda n, m: lambda xp, a, v: getattr(xp, n)(a, v, mode=m))(_name, _mode),
             _two(_u(5), _u(3)))
_add(M, "diff", "np.diff(x, n=2, axis=0)", lambda xp, x: xp.diff(x, n=2, axis=0), _u(4, 2))
_add(M, "gradient", "np.gradient(x, 0.5, axis=1)",
     lambda xp, x: xp.gradient(x, 0.5, axis=1), _u(2, 5))
_add(M, "gradient (coordinates)", "np.gradient(x, t, edge_order=2)",
     lambda xp, x: xp.gradient(x, np.array([0.0, 0.3, 1.0, 1.2, 2.0]), edge_order=2), _u(5))
_add(M, "trapezoid", "np.trapezoid(y, x)", lambda xp, y, x: xp.trapezoid(y, x),
     _two(_u(2, 4), _u(4)))
_add(M, "outer", "np.outer(a, b) (2-d a)", lambda xp, a, b: xp.outer(a, b),
     _two(_u(2, 2), _u(3)))
_add(M, "inner", "np.inner(a, b) (3-d, 2-d)", lambda xp, a, b: xp.inner(a, b),
     _two(_u(2, 2, 3), _u(4, 3)))
_add(M, "vdot", "np.vdot(a, b) (2-d)", lambda xp, a, b: xp.vdot(a, b),
     _two(_u(2, 3), _u(3, 2)))

# ---------------------------------------------------------------- complex -------------
C = "complex intermediates"
_add(C, "fft.fft", "np.abs(np.fft.fft(x))", lambda xp, x: xp.abs(xp.fft.fft(x)), _u(6))
_add(C, "fft.ifft", "np.real(np.fft.ifft(x))", lambda xp, x: xp.real(xp.fft.ifft(x)), _u(6))
_add(C, "fft.rfft", "np.imag(np.fft.rfft(x))", lambda xp, x: xp.imag(xp.fft.rfft(x)), _u(6))
_add(C, "fft.irfft", "np.fft.irfft(np.fft.rfft(x) * x[:4])",
     lambda xp, x: xp.fft.irfft(xp.fft.rfft(x) * x[:4]), _u(6))
_add(C, "fft.fft2", "np.abs(np.fft.fft2(x))", lambda xp, x: xp.abs(xp.fft.fft2(x)), _u(3, 4))
_add(C, "fft.ifft2", "np.real(np.fft.ifft2(x))", lambda xp, x: xp.real(xp.fft.ifft2(x)),
     _u(3, 4))
_add(C, "fft.rfftn", "np.angle(np.fft.rfftn(x)[1:])",
     lambda xp, x: xp.angle(xp.fft.rfftn(x)[1:]), _u(3, 4))
_add(C, "fft.irfftn", "np.fft.irfftn(np.fft.rfftn(x) * 2)",
     lambda xp, x: xp.fft.irfftn(xp.fft.rfftn(x) * 2.0, s=(3, 4)), _u(3, 4))
_add(C, "real/imag/conj", "np.real(z) + np.imag(np.conj(z)), z = x * exp(1j * y)",
     lambda xp, x, y: (lambda z: xp.real(z) + xp.imag(xp.conj(z)))(x * xp.exp(1j * y)),
     _two(_u(3), _u(3)))
_add(C, "angle/abs", "np.angle(z) * np.abs(z), z = x + 1j * y",
     lambda xp, x, y: (lambda z: xp.angle(z) * xp.abs(z))(x + 1j * y),
     _two(_pos(3), _u(3)))
_add(C, "exp(1j * x)", "np.real(np.exp(1j * x))", lambda xp, x: xp.real(xp.exp(1j * x)),
     _u(3))
_add(C, "complex matmul", "np.abs((x + 1j * y) @ (y - 1j * x))",
     lambda xp, x, y: xp.abs((x + 1j * y) @ (y - 1j * x)), _two(_u(2, 2), _u(2, 2)))

# ---------------------------------------------------------------- scipy.special -------
SP = "scipy.special"
for _name, _args in (("erf", _u(3)), ("erfc", _u(3)), ("erfinv", _u(3, lo=-0.9, hi=0.9)),
                     ("expit", _u(3)), ("logit", _u(3, lo=0.1, hi=0.9)),
                     ("gammaln", _pos(3)), ("digamma", _pos(3)), ("ndtr", _u(3)),
                     ("log_ndtr", _u(3))):
    _add(SP, _name, f"scipy.special.{_name}(x)",
         (lambda n: lambda xp, x: getattr(_special(), n)(x))(_name), _args, forms=("np",))
for _name in ("xlogy", "xlog1py"):
    _add(SP, _name, f"scipy.special.{_name}(x, y)",
         (lambda n: lambda xp, x, y: getattr(_special(), n)(x, y))(_name),
         _two(_u(3), _pos(3)), forms=("np",))


def _special():
    import scipy.special
    return scipy.special


# ---------------------------------------------------------------- running -------------


def _check(fun, args, order, modes, n_dirs=3, raises=None):
    from ..check import check_grads
    if raises is not None:
        return _check_raises(fun, args, modes, raises)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            check_grads(fun, args, order=order, modes=modes, n_dirs=n_dirs)
    except AssertionError:
        return "WRONG"
    except Exception as e:  # the unsupported ones: record what they raise
        return type(e).__name__
    return "ok"


def _check_raises(fun, args, modes, raises):
    """A call whose derivative does not exist at the point: numpy's value, and the
    expected clear error in every mode."""
    from ..api import grad
    from ..tree import flatten
    exc, msg = raises
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        want = flatten(fun(*args))[0]
        for mode in modes:
            try:
                grad(lambda *a: sum(np.sum(o) for o in flatten(fun(*a))[0]), mode=mode)(*args)
            except exc as e:
                if not str(e).startswith(msg):
                    return type(e).__name__ + " (unclear message)"
            except Exception as e:
                return type(e).__name__
            else:
                return "no error"
    if want and not all(np.array_equal(np.asarray(w), np.asarray(r), equal_nan=True)
                        for w, r in zip(want, flatten(fun(*[np.asarray(a) for a in args]))[0])):
        return "WRONG"
    return "raises"


def _namespace(form):
    if form == "anp":
        import admodes.numpy as anp
        return anp
    return np


def run(calls=None):
    """Run every call; return one result dict per call."""
    results = []
    for c in CALLS if calls is None else calls:
        rng = np.random.default_rng(zlib.crc32(f"{c.group}/{c.name}".encode()))
        args = tuple(np.asarray(a, dtype=float) for a in c.args(rng))
        first = c.forms[0]
        xp = _namespace(first)
        f = (lambda xp: lambda *a: c.fn(xp, *a))(xp)
        good = "ok" if c.raises is None else "raises"
        row = {"call": c, "forward": _check(f, args, 1, ("forward",), raises=c.raises),
               "reverse": _check(f, args, 1, ("reverse",), raises=c.raises)}
        row["second"] = (_check(f, args, 2, ("forward", "reverse"), raises=c.raises)
                         if row["forward"] == row["reverse"] == good else "-")
        others = {}
        for form in c.forms[1:]:
            g = (lambda xp: lambda *a: c.fn(xp, *a))(_namespace(form))
            others[form] = _check(g, args, 1, ("forward", "reverse"), n_dirs=1,
                                  raises=c.raises)
        if c.method is not None:
            others["method"] = _check(c.method, args, 1, ("forward", "reverse"), n_dirs=1,
                                      raises=c.raises)
        row["others"] = others
        row["ok"] = (row["second"] == good and all(v == good for v in others.values()))
        results.append(row)
    return results


def _cell(s):
    if s == "raises":
        return "✓ raises"
    return "✓" if s == "ok" else ("**WRONG**" if s == "WRONG" else s)


def render(results):
    """The markdown table for ``results`` (from :func:`run`)."""
    n_ok = sum(r["ok"] for r in results)
    wrong = sum("WRONG" in (r["forward"], r["reverse"], r["second"], *r["others"].values())
                for r in results)
    lines = [
        "# numpy coverage",
        "",
        "Generated by `python -m admodes.bench.coverage` (do not edit by hand;",
        "`tests/test_coverage.py` fails when this file and the code disagree).",
        "",
        "Every call listed in issue 10, run on traced values and checked against finite",
        "differences with `ad.check_grads`: the first form (plain `numpy` on traced values,",
        "or the `admodes.numpy` form where numpy has no functional form) in forward mode, in",
        "reverse mode and to second order in both modes; the `admodes.numpy` form and the",
        "ndarray method (where numpy has one) to first order in both modes.  A cell names",
        "the exception a call raises when it is not supported; **WRONG** would be a",
        "derivative that disagrees with finite differences.  **✓ raises** marks a point",
        "where the derivative does not exist: the value is numpy's and every form raises",
        "the documented error naming the function and the reason, in both modes.",
        "",
        f"**{n_ok} / {len(results)} calls supported** (every form, both modes, second "
        f"order); {wrong} wrong.",
        "",
        "| group | supported |",
        "|---|---|",
    ]
    groups = list(dict.fromkeys(r["call"].group for r in results))
    for g in groups:
        rs = [r for r in results if r["call"].group == g]
        lines.append(f"| {g} | {sum(r['ok'] for r in rs)} / {len(rs)} |")
    for g in groups:
        lines += ["", f"## {g}", "",
                  "| function | call | forward | reverse | 2nd order | other forms |",
                  "|---|---|---|---|---|---|"]
        for r in results:
            c = r["call"]
            if c.group != g:
                continue
            others = ", ".join(f"{k}: {_cell(v)}" for k, v in r["others"].items()) or "—"
            code = c.code.replace("|", "\\|")
            lines.append(f"| {c.name} | `{code}` | {_cell(r['forward'])} | "
                         f"{_cell(r['reverse'])} | {_cell(r['second'])} | {others} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    """Write (or with ``--check``, compare) ``docs/numpy-coverage.md``.

    Args:
        argv: command-line arguments (``--check``, ``--output PATH``).

    Returns:
        0 on success, 1 when ``--check`` finds the file out of date.
    """
    p = argparse.ArgumentParser(prog="python -m admodes.bench.coverage")
    p.add_argument("--output", type=Path, default=DOC)
    p.add_argument("--check", action="store_true", help="compare instead of writing")
    a = p.parse_args(argv)
    text = render(run())
    if a.check:
        same = a.output.exists() and a.output.read_text() == text
        print("up to date" if same else f"{a.output} is out of date")
        return 0 if same else 1
    a.output.parent.mkdir(parents=True, exist_ok=True)
    a.output.write_text(text)
    print(next(line for line in text.splitlines() if line.startswith("**")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
