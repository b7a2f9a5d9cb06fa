"""``scipy.special`` ufuncs, differentiable: registered only when scipy imports.

``erf erfc erfinv expit logit gammaln digamma polygamma xlogy xlog1py ndtr log_ndtr``;
``digamma`` is ``polygamma`` of order 0 and every order's derivative is the next order,
so derivatives of any order exist.  The scipy ufuncs reach these through numpy's
``__array_ufunc__`` (``scipy.special.erf(x)`` on a traced value), and they are also
callable here (``admodes.ops.special.erf``).

At the edges: ``xlogy(0, y)`` and ``xlog1py(0, y)`` are 0 for every ``y`` (as scipy);
their derivative in ``y`` is ``x / y`` (``x / (1 + y)``), with ``0 / 0`` taken as 0, and in
``x`` it is ``log(y)`` (``log1p(y)``), so ``-inf`` at ``y = 0``.
"""

from __future__ import annotations

import math

import numpy as np

from ..dispatch import bind, value
from ..registry import register
from .elementwise import (
    _binary,
    _reals,
    _unary,
    add,
    divide,
    exp,
    multiply,
    negative,
    square,
    subtract,
    where,
)

try:  # scipy is optional here: without it, nothing below is registered
    from scipy import special as _sp
except ImportError:  # pragma: no cover - exercised only without scipy
    _sp = None

__all__ = ["UFUNCS"]

UFUNCS = {}  # scipy ufunc -> admodes op, merged into admodes.numpy's ufunc table

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _safe_div(x, y):
    """``x / y``, with 0 / 0 taken as 0 (the double-where idiom: where both are 0 the
    denominator is 1, so neither the value nor its derivative in ``x`` is nan)."""
    both = (np.asarray(value(x)) == 0) & (np.asarray(value(y)) == 0)
    if not both.any():
        return divide(x, y)
    return divide(x, where(both, 1.0, y))


if _sp is not None:
    _erf = _unary("erf", _sp.erf,
                  lambda c, ans, x: multiply(c, multiply(_TWO_OVER_SQRT_PI, exp(negative(square(x))))),
                  domain=_reals(1, -3.0, 3.0), analytic=False, keep=(0,), keep_ans=False)
    _erfc = _unary("erfc", _sp.erfc,
                   lambda c, ans, x: multiply(c, multiply(-_TWO_OVER_SQRT_PI, exp(negative(square(x))))),
                   domain=_reals(1, -3.0, 3.0), analytic=False, keep=(0,), keep_ans=False)
    _erfinv = _unary("erfinv", _sp.erfinv,
                     lambda c, ans, x: multiply(c, multiply(0.5 * math.sqrt(math.pi), exp(square(ans)))),
                     domain=_reals(1, -0.9, 0.9), analytic=False, keep=())
    _expit = _unary("expit", _sp.expit,
                    lambda c, ans, x: multiply(c, multiply(ans, subtract(1.0, ans))),
                    domain=_reals(1, -4.0, 4.0), analytic=False, keep=())
    _logit = _unary("logit", _sp.logit,
                    lambda c, ans, x: divide(c, multiply(x, subtract(1.0, x))),
                    domain=_reals(1, 0.15, 0.85), analytic=False, keep=(0,), keep_ans=False)
    _ndtr = _unary("ndtr", _sp.ndtr,
                   lambda c, ans, x: multiply(c, multiply(_INV_SQRT_2PI, exp(multiply(-0.5, square(x))))),
                   domain=_reals(1, -3.0, 3.0), analytic=False, keep=(0,), keep_ans=False)
    # d log Φ(x) = φ(x) / Φ(x) = exp(-x²/2 - log Φ(x)) / √(2π): stable far in the left tail.
    _log_ndtr = _unary("log_ndtr", _sp.log_ndtr,
                       lambda c, ans, x: multiply(c, multiply(_INV_SQRT_2PI, exp(
                           subtract(multiply(-0.5, square(x)), ans)))),
                       domain=lambda rng: [([rng.uniform(-3, 3, (3,))], {}),
                                           ([np.array([-12.0, -5.0, 6.0])], {}),
                                           ([rng.uniform(-3, 3, (2, 3))], {})],
                       analytic=False)

    def _polygamma_impl(x, n):
        return _sp.digamma(x) if n == 0 else _sp.polygamma(n, x)

    def _polygamma_rule(c, ans, x, n):
        return multiply(c, polygamma(n + 1, x))

    _polygamma = register("polygamma", _polygamma_impl, _polygamma_rule, _polygamma_rule,
                          analytic=False, keep=(0,), keep_ans=False,
                          domain=lambda rng: [([rng.uniform(0.3, 4.0, (3,))], {"n": 0}),
                                              ([rng.uniform(0.3, 4.0, (2, 3))], {"n": 1}),
                                              ([rng.uniform(-2.55, -2.45, ())], {"n": 2})])

    def polygamma(n, x):
        """``scipy.special.polygamma(n, x)`` (``n`` a non-negative int, not
        differentiated); its derivative in ``x`` is ``polygamma(n + 1, x)``.

        Args:
            n: the order.
            x: the argument.

        Returns:
            The n-th derivative of digamma at ``x``.

        >>> import admodes as ad
        >>> round(ad.grad(lambda x: polygamma(0, x))(1.0), 6)   # trigamma(1) = pi²/6
        1.644934
        """
        n = int(np.asarray(n))
        if n < 0:
            raise ValueError(f"polygamma: the order must be non-negative, got {n}")
        return bind(_polygamma, x, n=n)

    def digamma(x):
        """``scipy.special.digamma`` (psi); derivative ``polygamma(1, x)``.

        >>> import admodes as ad
        >>> round(ad.grad(digamma)(1.0), 6)
        1.644934
        """
        return polygamma(0, x)

    _gammaln = _unary("gammaln", _sp.gammaln, lambda c, ans, x: multiply(c, digamma(x)),
                      domain=_reals(1, 0.2, 5.0), analytic=False, keep=(0,), keep_ans=False)

    _xlogy = _binary("xlogy", _sp.xlogy,
                     (lambda t, ans, x, y: xlogy(t, y), lambda t, ans, x, y: multiply(t, _safe_div(x, y))),
                     (lambda g, ans, x, y: xlogy(g, y), lambda g, ans, x, y: multiply(g, _safe_div(x, y))),
                     analytic=False,
                     domain=lambda rng: [([rng.uniform(-2, 2, (2, 3)), rng.uniform(0.3, 2, (3,))], {}),
                                         ([np.array([0.0, 1.5, -0.5]), np.array([0.7, 0.2, 1.3])], {}),
                                         ([rng.uniform(-2, 2, ()), rng.uniform(0.3, 2, ())], {})])
    _xlog1py = _binary("xlog1py", _sp.xlog1py,
                       (lambda t, ans, x, y: xlog1py(t, y),
                        lambda t, ans, x, y: multiply(t, _safe_div(x, add(y, 1.0)))),
                       (lambda g, ans, x, y: xlog1py(g, y),
                        lambda g, ans, x, y: multiply(g, _safe_div(x, add(y, 1.0)))),
                       analytic=False,
                       domain=lambda rng: [([rng.uniform(-2, 2, (2, 3)), rng.uniform(-0.7, 2, (3,))], {}),
                                           ([np.array([0.0, 1.5]), np.array([-0.4, 0.6])], {})])

    erf, erfc, erfinv, expit, logit = _erf, _erfc, _erfinv, _expit, _logit
    ndtr, log_ndtr, gammaln, xlogy, xlog1py = _ndtr, _log_ndtr, _gammaln, _xlogy, _xlog1py
    psi = digamma
    for _op in (erf, erfc, erfinv, expit, logit, ndtr, log_ndtr, gammaln, xlogy, xlog1py,
                digamma, psi):
        UFUNCS[getattr(_sp, _op.__name__)] = _op
    __all__ += ["erf", "erfc", "erfinv", "expit", "logit", "ndtr", "log_ndtr", "gammaln",
                "xlogy", "xlog1py", "digamma", "psi", "polygamma"]
