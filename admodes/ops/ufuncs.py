"""The rest of numpy's elementwise functions: log2 log10 exp2 cbrt, the inverse
hyperbolic functions, hypot, logaddexp2, mod/remainder/fmod, rounding and predicates
(signbit trunc heaviside round isclose: zero derivative), and composites (fabs positive
float_power deg2rad rad2deg fmax fmin sinc nan_to_num allclose ...) over
:mod:`.elementwise`'s primitives."""

from __future__ import annotations

import math

import numpy as np

from ..dispatch import bind, value
from ..registry import register
from .elementwise import (
    _binary,
    _nonzero,
    _positive,
    _reals,
    _unary,
    add,
    divide,
    multiply,
    negative,
    sqrt,
    square,
    subtract,
)

# Conventions at kinks: hypot'(0, 0) = 0 (as norm at 0, the minimum-norm
# subgradient; JAX gives 0.5 each, PyTorch nan);
# mod / remainder / fmod have slope 1 in x everywhere (their jumps have no derivative)
# and -floor(x / y) (mod) or -trunc(x / y) (fmod) in y; sinc is exact at 0 to high order.

_LN2, _LN10 = math.log(2.0), math.log(10.0)


def _away_from_zero(lo=0.3, hi=2.0):
    def domain(rng):
        return [([rng.uniform(lo, hi, (2, 3)) * rng.choice([-1.0, 1.0], (2, 3))], {}),
                ([np.float64(-0.7)], {})]
    return domain


log2 = _unary("log2", np.log2, lambda c, ans, x: divide(c, multiply(x, _LN2)),
              mathfn=math.log2, domain=_positive(), keep=(0,), keep_ans=False)
log10 = _unary("log10", np.log10, lambda c, ans, x: divide(c, multiply(x, _LN10)),
               mathfn=math.log10, domain=_positive(), keep=(0,), keep_ans=False)
exp2 = _unary("exp2", np.exp2, lambda c, ans, x: multiply(c, multiply(ans, _LN2)),
              mathfn=lambda x: 2.0 ** x, domain=_reals(), keep=())
# cbrt'(0) = inf (as sqrt'(0)); the test domain keeps away from 0 on both sides.
cbrt = _unary("cbrt", np.cbrt, lambda c, ans, x: divide(c, multiply(square(ans), 3.0)),
              mathfn=math.cbrt, domain=_away_from_zero(), keep=())
arcsinh = _unary("arcsinh", np.arcsinh,
                 lambda c, ans, x: divide(c, sqrt(add(square(x), 1.0))),
                 mathfn=math.asinh, domain=_reals(1, -3.0, 3.0), keep=(0,), keep_ans=False)
arccosh = _unary("arccosh", np.arccosh,
                 lambda c, ans, x: divide(c, sqrt(subtract(square(x), 1.0))),
                 mathfn=math.acosh, domain=_reals(1, 1.1, 3.0), keep=(0,), keep_ans=False)
arctanh = _unary("arctanh", np.arctanh,
                 lambda c, ans, x: divide(c, subtract(1.0, square(x))),
                 mathfn=math.atanh, domain=_reals(1, -0.9, 0.9), keep=(0,), keep_ans=False)


def _hypot_rule(c, ans, x, y):
    return multiply(c, divide(x, _nonzero(ans)))


def _hypot_domain(rng):
    return [([rng.uniform(-2, 2, (2, 3)), rng.uniform(-2, 2, (3,))], {}),
            ([np.float64(3.0), np.float64(-4.0)], {})]


hypot = _binary("hypot", np.hypot,
                (_hypot_rule, lambda c, ans, x, y: _hypot_rule(c, ans, y, x)),
                (_hypot_rule, lambda c, ans, x, y: _hypot_rule(c, ans, y, x)),
                pyop=math.hypot, analytic=False, domain=_hypot_domain, keep=(0, 1))


def _lae2(c, ans, x, y):
    return multiply(c, exp2(subtract(x, ans)))


logaddexp2 = _binary("logaddexp2", np.logaddexp2,
                     (_lae2, lambda c, ans, x, y: _lae2(c, ans, y, x)),
                     (_lae2, lambda c, ans, x, y: _lae2(c, ans, y, x)),
                     analytic=False, domain=_reals(2, -3, 3), keep=(0, 1))


def _quotient_domain(rng):
    # x / y kept a safe distance from the integers, where mod and fmod jump.
    y = rng.uniform(0.5, 1.5, (3,)) * np.array([1.0, -1.0, 1.0])
    k = rng.integers(-3, 3, (2, 3)) + rng.uniform(0.15, 0.85, (2, 3))
    return [([k * y, y], {}), ([np.float64(-2.3), np.float64(0.9)], {})]


def _mod_y(c, ans, x, y):
    return negative(multiply(c, np.floor_divide(value(x), value(y))))


def _fmod_y(c, ans, x, y):
    return negative(multiply(c, np.trunc(np.divide(value(x), value(y)))))


mod = _binary("mod", np.mod, (lambda c, ans, x, y: c, _mod_y),
              (lambda c, ans, x, y: c, _mod_y), analytic=False, domain=_quotient_domain,
              keep=(0, 1), keep_ans=False)
remainder = mod
fmod = _binary("fmod", np.fmod, (lambda c, ans, x, y: c, _fmod_y),
               (lambda c, ans, x, y: c, _fmod_y), analytic=False, domain=_quotient_domain,
               keep=(0, 1), keep_ans=False)

# Non-differentiable: zero derivative, plain outputs.
signbit = _unary("signbit", np.signbit, None, nondiff=True, analytic=False)
trunc = _unary("trunc", np.trunc, None, nondiff=True)
heaviside = _binary("heaviside", np.heaviside, None, None, nondiff=True)
_round = register("round", lambda x, decimals=0: np.round(x, decimals), nondiff=True)
_isclose = register("isclose", lambda a, b, rtol=1e-05, atol=1e-08, equal_nan=False:
                    np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan), nondiff=True)


def round(x, decimals=0, out=None):
    """``numpy.round`` / ``around``: piecewise constant, so a zero derivative."""
    _no_out("round", out)
    return bind(_round, x, decimals=int(decimals))


around = round


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """``numpy.isclose`` (a boolean array: no derivative)."""
    return bind(_isclose, a, b, rtol=float(rtol), atol=float(atol), equal_nan=bool(equal_nan))


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """``numpy.allclose``: a Python bool."""
    return bool(np.all(isclose(a, b, rtol, atol, equal_nan)))


def _no_out(name, out):
    if out is not None:
        raise TypeError(f"numpy.{name}: out= is not supported on traced values "
                        "(admodes values are immutable)")


def fabs(x):
    """``numpy.fabs``: ``abs`` for real input (abs'(0) = 0)."""
    return abs(x)


def positive(x):
    """``numpy.positive``: the identity."""
    return x
