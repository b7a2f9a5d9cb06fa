"""Elementwise primitives.  numpy broadcasting applies: the modes pad tangents and
un-broadcast cotangents, so these rules are written as if all shapes matched."""

from __future__ import annotations

import math

import numpy as np

from .. import dispatch
from ..dispatch import Box, bind, bind1, bind2, value
from ..registry import register


# Domains for the registry-driven tests: rng -> list of (args, params).
def _reals(n=1, lo=-2.0, hi=2.0):
    def domain(rng):
        shapes = [((3,),) * n, ((2, 3),) + ((3,),) * (n - 1), ((),) * n]
        return [([rng.uniform(lo, hi, s) for s in ss], {}) for ss in shapes]
    return domain


def _positive(lo=0.2, hi=2.0):
    return _reals(1, lo, hi)


# Cotangents often start as a broadcast constant (the VJP of sum or mean is a zero-stride
# view of one number).  An elementwise op on such views is computed on the one number and
# broadcast again, so a chain of rules over it costs no full-size passes.
_CONSTANT_MIN_SIZE = 1024


_sweeping = dispatch.sweeping


def _constant(x):
    """The single value of a large zero-stride (broadcast) array, else None.  Used only
    during a reverse sweep: elsewhere an op's result must be a fresh, writable array, as
    numpy's would be, while the sweep only ever reads its cotangents."""
    if type(x) is np.ndarray and x.size >= _CONSTANT_MIN_SIZE and not any(x.strides):
        return x.reshape(-1)[:1]
    return None


def _on_constants(npfn, x, y):
    cx, cy = _constant(x), _constant(y)
    if cx is None and cy is None:
        return npfn(x, y)
    out = npfn(x if cx is None else cx[0], y if cy is None else cy[0])
    shape = np.broadcast_shapes(np.shape(x), np.shape(y))
    if np.shape(out) != shape:  # no full-size operand: the result stays a broadcast view
        return np.broadcast_to(out, shape)
    return out


def _scalar_or(npfn, mathfn):
    """Use ``math`` on Python floats: they stay Python floats (no numpy scalar cost)."""
    def impl(x):
        if type(x) is float:
            try:
                return mathfn(x)
            except (ValueError, OverflowError, ZeroDivisionError):
                pass  # numpy's answer (inf, nan) instead of Python's exception
        if _sweeping.depth:
            c = _constant(x)
            if c is not None:
                return np.broadcast_to(npfn(c[0]), x.shape)
        return npfn(x)
    impl.__name__ = npfn.__name__
    return impl


def _unary(name, npfn, jvp, *, mathfn=None, vjp=None, **markers):
    """An elementwise unary primitive; its rule serves both modes unless ``vjp`` is
    given (the same derivative, multiplied in an order that suits that mode)."""
    impl = _scalar_or(npfn, mathfn) if mathfn is not None else npfn
    prim = register(name, impl, (jvp,), (vjp or jvp,), elementwise=True, **markers)

    def op(x):
        return bind1(prim, x)

    op.__name__ = name
    op.__doc__ = f"Elementwise ``numpy.{npfn.__name__}``, differentiable in both modes."
    op.primitive = prim
    return op


def _binary(name, npfn, jvps, vjps, pyop=None, **markers):
    if pyop is not None:
        def impl(x, y):
            if type(x) is float and type(y) is float:
                return pyop(x, y)
            return _on_constants(npfn, x, y) if _sweeping.depth else npfn(x, y)
    else:
        def impl(x, y):
            return _on_constants(npfn, x, y) if _sweeping.depth else npfn(x, y)
    prim = register(name, impl, jvps, vjps, elementwise=True, **markers)

    if pyop is not None:
        def op(x, y):
            # Two Python floats: the Python operator, straight away (rules applied to
            # scalar code land here); bind() would only find no boxes and do the same.
            if type(x) is float and type(y) is float and not dispatch._counting:
                return pyop(x, y)
            return bind2(prim, x, y)
    else:
        def op(x, y):
            return bind2(prim, x, y)

    op.__name__ = name
    op.__doc__ = f"Elementwise ``numpy.{npfn.__name__}``, differentiable in both modes."
    op.primitive = prim
    return op


# ---------------------------------------------------------------- arithmetic ----------

negative = _unary("negative", np.negative, lambda t, ans, x: negative(t),
                  mathfn=lambda x: -x, domain=_reals(), keep=(), keep_ans=False)

add = _binary("add", np.add, (lambda t, ans, x, y: t, lambda t, ans, x, y: t),
              (lambda g, ans, x, y: g, lambda g, ans, x, y: g),
              pyop=float.__add__, domain=_reals(2), keep=(), keep_ans=False)

subtract = _binary("subtract", np.subtract,
                   (lambda t, ans, x, y: t, lambda t, ans, x, y: negative(t)),
                   (lambda g, ans, x, y: g, lambda g, ans, x, y: negative(g)),
                   pyop=float.__sub__, domain=_reals(2), keep=(), keep_ans=False)

multiply = _binary("multiply", np.multiply,
                   (lambda t, ans, x, y: multiply(t, y), lambda t, ans, x, y: multiply(x, t)),
                   (lambda g, ans, x, y: multiply(g, y), lambda g, ans, x, y: multiply(x, g)),
                   pyop=float.__mul__, domain=_reals(2), needs=((1,), (0,)))


def _div_rhs(c, ans, x, y):
    return negative(multiply(c, divide(ans, y)))


def _safe_float_div(x, y):
    try:
        return x / y
    except ZeroDivisionError:
        return np.divide(np.float64(x), y)


divide = _binary("divide", np.divide,
                 (lambda t, ans, x, y: divide(t, y), _div_rhs),
                 (lambda g, ans, x, y: divide(g, y), _div_rhs),
                 pyop=_safe_float_div,
                 domain=lambda rng: [([rng.uniform(-2, 2, (2, 3)), rng.uniform(0.5, 2, (3,))], {}),
                                     ([rng.uniform(-2, 2, ()), rng.uniform(-2, -0.5, ())], {})], needs=((1,), (1, -1)))


def _nonzero(x):
    """``x`` with zeros replaced by one (the inner half of the double-where idiom)."""
    return where(equal(x, 0.0), 1.0, x)


def _pow_lhs(c, ans, x, y):
    # d/dx x**y = y * x**(y-1); taken as 0 where y == 0 (so 0**0 has slope 0, not nan).
    if not isinstance(y, Box) and np.all(np.asarray(y) != 0):
        # A constant exponent without zeros (x ** 3.0): no masking needed.  A Python
        # exponent stays a Python number (numpy would make y - 1 an np.float64, which
        # promotes float32).
        ym1 = y - 1.0 if type(y) in (int, float) else subtract(y, 1.0)
        return multiply(c, multiply(y, power(x, ym1)))
    y_safe = where(equal(y, 0.0), 1.0, y)
    d = multiply(y, power(x, subtract(y_safe, 1.0)))
    return multiply(c, d)


def _pow_rhs(c, ans, x, y):
    # d/dy x**y = x**y * log(x); taken as 0 where x == 0 (the limit for y > 0).
    log_x = log(_nonzero(x))
    if type(x) in (int, float):  # a Python base (2.0 ** y): a Python log, which does
        log_x = float(log_x)     # not promote float32 as an np.float64 would
    return multiply(c, multiply(ans, log_x))


def _py_pow(x, y):
    if not (math.isfinite(x) and math.isfinite(y)):  # Python and C differ: pow(-inf, 0.5)
        return np.power(np.float64(x), y)
    try:
        r = x ** y
    except (ZeroDivisionError, OverflowError):
        return np.power(np.float64(x), y)
    return r if type(r) is float else np.power(np.float64(x), y)


_power = _binary("power", np.power, (_pow_lhs, _pow_rhs), (_pow_lhs, _pow_rhs),
                 pyop=_py_pow, needs=((0, 1), (0, -1)),
                 domain=lambda rng: [([rng.uniform(0.5, 2, (2, 3)), rng.uniform(-2, 2, (3,))], {}),
                                     ([rng.uniform(0.5, 2, ()), rng.uniform(-2, 2, ())], {})])

_SPECIAL_POWERS = {2: "square", 1: None, 0.5: "sqrt"}  # 2.0 == 2 and 1.0 == 1 as keys


def power(x, y):
    """``x ** y`` (``numpy.power``).  A constant exponent of 2, 1 or 0.5 becomes
    ``square``, ``x`` or ``sqrt``: same values, cheaper passes and rules."""
    if type(y) in (int, float) and y in _SPECIAL_POWERS and isinstance(x, Box):
        name = _SPECIAL_POWERS[y]
        return x if name is None else (square(x) if name == "square" else sqrt(x))
    return bind(_power.primitive, x, y)


power.primitive = _power.primitive


def multiply_or_square(x, y):
    """``x * y``; ``x * x`` on one traced value is ``square(x)`` (one rule, not two
    plus an accumulation)."""
    if x is y and isinstance(x, Box):
        return square(x)
    return bind(multiply.primitive, x, y)

# JVP: 2x first, then one product with the tangent, which may carry a batch axis (jacfwd,
# hessian, sparse Jacobians: one pass over B directions instead of two).  The VJP keeps
# (g * 2) * x: g is often a broadcast constant there, which g * 2 keeps a view.
square = _unary("square", np.square, lambda t, ans, x: multiply(t, multiply(x, 2.0)),
                vjp=lambda c, ans, x: multiply(multiply(c, 2.0), x),
                mathfn=lambda x: x * x, domain=_reals(), keep=(0,), keep_ans=False)
sqrt = _unary("sqrt", np.sqrt, lambda c, ans, x: divide(multiply(c, 0.5), ans),
              mathfn=math.sqrt, domain=_positive(), keep=())
reciprocal = _unary("reciprocal", np.reciprocal,
                    lambda c, ans, x: negative(multiply(c, square(ans))),
                    mathfn=lambda x: 1.0 / x, domain=_positive(), keep=())

# ---------------------------------------------------------------- exp and log ---------

exp = _unary("exp", np.exp, lambda c, ans, x: multiply(c, ans), mathfn=math.exp,
             domain=_reals(), keep=())
expm1 = _unary("expm1", np.expm1, lambda c, ans, x: multiply(c, add(ans, 1.0)),
               mathfn=math.expm1, domain=_reals(), keep=())
log = _unary("log", np.log, lambda c, ans, x: divide(c, x), mathfn=math.log,
             domain=_positive(), keep=(0,), keep_ans=False)
log1p = _unary("log1p", np.log1p, lambda c, ans, x: divide(c, add(x, 1.0)),
               mathfn=math.log1p, domain=_reals(1, -0.8, 2.0), keep=(0,), keep_ans=False)

# ---------------------------------------------------------------- trigonometric -------

sin = _unary("sin", np.sin, lambda c, ans, x: multiply(c, cos(x)), mathfn=math.sin,
             domain=_reals(), keep=(0,), keep_ans=False)
cos = _unary("cos", np.cos, lambda c, ans, x: negative(multiply(c, sin(x))),
             mathfn=math.cos, domain=_reals(), keep=(0,), keep_ans=False)
tan = _unary("tan", np.tan, lambda c, ans, x: multiply(c, add(1.0, square(ans))),
             mathfn=math.tan, domain=_reals(1, -1.2, 1.2), keep=())
arcsin = _unary("arcsin", np.arcsin,
                lambda c, ans, x: divide(c, sqrt(subtract(1.0, square(x)))),
                mathfn=math.asin, domain=_reals(1, -0.9, 0.9), keep=(0,), keep_ans=False)
arccos = _unary("arccos", np.arccos,
                lambda c, ans, x: negative(divide(c, sqrt(subtract(1.0, square(x))))),
                mathfn=math.acos, domain=_reals(1, -0.9, 0.9), keep=(0,), keep_ans=False)
arctan = _unary("arctan", np.arctan, lambda c, ans, x: divide(c, add(1.0, square(x))),
                mathfn=math.atan, domain=_reals(), keep=(0,), keep_ans=False)


def _atan2_y(c, ans, y, x):
    return multiply(c, divide(x, add(square(x), square(y))))


def _atan2_x(c, ans, y, x):
    return negative(multiply(c, divide(y, add(square(x), square(y)))))


arctan2 = _binary("arctan2", np.arctan2, (_atan2_y, _atan2_x), (_atan2_y, _atan2_x),
                  pyop=math.atan2, analytic=False,
                  domain=lambda rng: [([rng.uniform(-2, 2, (2, 3)), rng.uniform(0.5, 2, (3,))], {})], keep=(0, 1), keep_ans=False)

sinh = _unary("sinh", np.sinh, lambda c, ans, x: multiply(c, cosh(x)), mathfn=math.sinh,
              domain=_reals(), keep=(0,), keep_ans=False)
cosh = _unary("cosh", np.cosh, lambda c, ans, x: multiply(c, sinh(x)), mathfn=math.cosh,
              domain=_reals(), keep=(0,), keep_ans=False)
tanh = _unary("tanh", np.tanh, lambda c, ans, x: multiply(c, subtract(1.0, square(ans))),
              mathfn=math.tanh, domain=_reals(), keep=())

# ---------------------------------------------------------------- piecewise -----------


def _avoid_kinks(rng, shape):
    x = rng.uniform(0.2, 2.0, shape)
    return x * rng.choice([-1.0, 1.0], shape)


abs = _unary("abs", np.absolute, lambda c, ans, x: multiply(c, sign(x)),
             mathfn=math.fabs, analytic=False,
             domain=lambda rng: [([_avoid_kinks(rng, (2, 3))], {})], keep=(0,), keep_ans=False)
absolute = abs

# Non-differentiable primitives: zero derivative, plain outputs, never boxed.
# numpy 2 defines sign(z) = z/|z| for complex z: not usable under complex step.
sign = _unary("sign", np.sign, None, nondiff=True, analytic=False)
floor = _unary("floor", np.floor, None, nondiff=True)
ceil = _unary("ceil", np.ceil, None, nondiff=True)
rint = _unary("rint", np.rint, None, nondiff=True)
isfinite = _unary("isfinite", np.isfinite, None, nondiff=True)
isnan = _unary("isnan", np.isnan, None, nondiff=True)
isinf = _unary("isinf", np.isinf, None, nondiff=True)


def _compare(name, npfn, pyop):
    return _binary(name, npfn, None, None, pyop=pyop, nondiff=True)


equal = _compare("equal", np.equal, float.__eq__)
not_equal = _compare("not_equal", np.not_equal, float.__ne__)
less = _compare("less", np.less, float.__lt__)
less_equal = _compare("less_equal", np.less_equal, float.__le__)
greater = _compare("greater", np.greater, float.__gt__)
greater_equal = _compare("greater_equal", np.greater_equal, float.__ge__)


def _mask_scalar(v, *xs):
    """``v`` as a scalar of the operands' float dtype, for a 0 / 0.5 / 1 mask: a float32
    mask keeps a float32 (batched) tangent float32 (a float64 one would promote it)."""
    dts = [getattr(value(x), "dtype", None) for x in xs]  # (value may be a placeholder)
    dts = [d for d in dts if d is not None and d.kind == "f"]
    return np.result_type(*dts).type(v) if dts else v


def _tie_mask(x, y):
    """1 where x wins, 0.5 on ties, 0 where y wins: ties split the gradient evenly."""
    # admodes ops (non-differentiable ones), not numpy on ad.value: a static graph then
    # records the mask instead of freezing its trace-time numbers.
    one, half, zero = (_mask_scalar(v, x, y) for v in (1.0, 0.5, 0.0))
    return bind(_where, greater(x, y), one, bind(_where, equal(x, y), half, zero))


maximum = _binary(
    "maximum", np.maximum,
    (lambda c, ans, x, y: multiply(c, _tie_mask(x, y)),
     lambda c, ans, x, y: multiply(c, _tie_mask(y, x))),
    (lambda c, ans, x, y: multiply(c, _tie_mask(x, y)),
     lambda c, ans, x, y: multiply(c, _tie_mask(y, x))),
    pyop=lambda x, y: x if x > y or x != x else y, analytic=False,  # NaN propagates
    domain=lambda rng: [([rng.uniform(-2, 2, (2, 3)), rng.uniform(-2, 2, (3,))], {})], keep=(0, 1), keep_ans=False)
minimum = _binary(
    "minimum", np.minimum,
    (lambda c, ans, x, y: multiply(c, _tie_mask(y, x)),
     lambda c, ans, x, y: multiply(c, _tie_mask(x, y))),
    (lambda c, ans, x, y: multiply(c, _tie_mask(y, x)),
     lambda c, ans, x, y: multiply(c, _tie_mask(x, y))),
    pyop=lambda x, y: x if x < y or x != x else y, analytic=False,  # NaN propagates
    domain=lambda rng: [([rng.uniform(-2, 2, (2, 3)), rng.uniform(-2, 2, (3,))], {})], keep=(0, 1), keep_ans=False)


def _where_impl(cond, x, y):
    return np.where(cond, x, y)


def _where_x(c, ans, cond, x, y):
    return where(cond, c, 0.0)


def _where_y(c, ans, cond, x, y):
    return where(cond, 0.0, c)


_where = register("where", _where_impl, (None, _where_x, _where_y),
                  (None, _where_x, _where_y), elementwise=True,
                  keep=(0,), keep_ans=False,
                  domain=lambda rng: [([rng.uniform(-1, 1, (2, 3)) > 0,
                                        rng.uniform(-2, 2, (2, 3)),
                                        rng.uniform(-2, 2, (3,))], {})])


def where(condition, x, y):
    """``numpy.where(condition, x, y)``; differentiable in ``x`` and ``y``.

    In reverse mode the cotangent of the unselected branch is exactly zero, but zero
    times an infinite derivative is still NaN: ``where(x > 0, sqrt(x), 0.0)`` has a NaN
    reverse-mode gradient at ``x = 0`` (sqrt'(0) is inf), as in JAX and PyTorch.
    (Forward mode selects the tangent rather than multiplying it, and gives 0.)  The
    "double where" idiom keeps the unselected branch finite, so both modes give 0::

        safe = where(x > 0, x, 1.0)
        where(x > 0, sqrt(safe), 0.0)      # gradient 0 at x = 0
    """
    return bind(_where, _stop(condition), x, y)


def _stop(x):
    """``x`` without the boxes of differentiating levels: a condition carries no
    derivative.  A static graph's own traced value stays, so the graph records the
    condition instead of freezing its trace-time value."""
    while isinstance(x, Box) and x._level.kind != "graph":
        x = x._primal
    return x


where.primitive = _where


def _clip_impl(x, lo, hi):
    return np.clip(x, lo, hi)


def _clip_x(c, ans, x, lo, hi):  # masks from admodes ops: static graphs record them
    one, zero = _mask_scalar(1.0, x), _mask_scalar(0.0, x)
    inside = bind(_where, less_equal(x, hi), one, zero)
    return multiply(c, bind(_where, greater_equal(x, lo), inside, zero))


def _clip_lo(c, ans, x, lo, hi):
    return multiply(c, bind(_where, less(x, lo), _mask_scalar(1.0, x), _mask_scalar(0.0, x)))


def _clip_hi(c, ans, x, lo, hi):
    return multiply(c, bind(_where, greater(x, hi), _mask_scalar(1.0, x), _mask_scalar(0.0, x)))


_clip = register("clip", _clip_impl, (_clip_x, _clip_lo, _clip_hi),
                 (_clip_x, _clip_lo, _clip_hi), elementwise=True, analytic=False,
                 domain=lambda rng: [([rng.uniform(-2, 2, (2, 3)), -0.5 + rng.uniform(-0.1, 0.1, (3,)),
                                       np.float64(0.7)], {})])


def clip(x, a_min=None, a_max=None, *, min=None, max=None):  # noqa: A002
    """``numpy.clip``; the gradient passes where ``a_min <= x <= a_max`` (inclusive, as
    PyTorch's ``clamp``) and flows to the bound that is active elsewhere.  numpy 2's
    keywords ``min=`` / ``max=`` name the same bounds."""
    if min is not None:
        if a_min is not None:
            raise TypeError("clip: pass a_min or min, not both")
        a_min = min
    if max is not None:
        if a_max is not None:
            raise TypeError("clip: pass a_max or max, not both")
        a_max = max
    lo = -np.inf if a_min is None else a_min
    hi = np.inf if a_max is None else a_max
    return bind(_clip, x, lo, hi)


clip.primitive = _clip


def _lae(c, ans, x, y):
    return multiply(c, exp(subtract(x, ans)))


def _lae_y(c, ans, x, y):
    return multiply(c, exp(subtract(y, ans)))


logaddexp = _binary("logaddexp", np.logaddexp, (_lae, _lae_y), (_lae, _lae_y),
                    analytic=False, domain=_reals(2, -3, 3), keep=(0, 1))


# ---------------------------------------------------------------- composites ----------
# No rules of their own: their derivatives come from the primitives above.


def sigmoid(x):
    """Logistic sigmoid, stable for any |x|: ``(1 + tanh(x / 2)) / 2``."""
    return multiply(add(tanh(multiply(x, 0.5)), 1.0), 0.5)


def _relu_rule(c, ans, x):
    # A constant 0/1 mask, relu'(0) = 0.  Read from the output (relu(x) > 0 exactly where
    # x > 0), so the tape keeps the output, which the next layer keeps anyway, and the
    # pre-activation can be freed at once.
    return multiply(c, greater(ans, 0.0))


# relu is a primitive rather than a composite for speed: the composite
# ``where(x > 0, x, 0)`` costs two extra full passes per layer (np.where is about twice
# as slow as np.maximum), which is a measurable share of an MLP's gradient.
_relu = register("relu", lambda x: np.maximum(x, 0.0), (_relu_rule,), (_relu_rule,),
                 elementwise=True, analytic=False, keep=(), keep_ans=True,
                 domain=lambda rng: [([_avoid_kinks(rng, (2, 3))], {})])


def relu(x):
    """``max(x, 0)`` with relu'(0) = 0 (PyTorch's and JAX's convention).

    >>> import admodes as ad
    >>> ad.grad(relu)(0.0), ad.grad(relu)(2.0)
    (0.0, 1.0)
    """
    return bind(_relu, x)


relu.primitive = _relu


def softplus(x):
    """``log(1 + exp(x))``, stable for any |x| (``logaddexp(x, 0)``)."""
    return logaddexp(x, 0.0)


# ---------------------------------------------------------------- astype --------------
# A cast between float / complex dtypes: the identity on values up to rounding, so the
# tangent is cast the same way and the cotangent back to the input's dtype (a real input
# takes the real part of a complex cotangent, JAX's convention).  The impl continues a
# complex input into the complex counterpart of a real target dtype (what complex step
# needs); the public astype refuses to drop an imaginary part, which numpy only warns on.


def _complex_of(dt):
    return np.result_type(dt, np.complex64)


def _astype_impl(x, dtype):
    dt = np.dtype(dtype)
    if np.iscomplexobj(x) and dt.kind == "f":
        dt = _complex_of(dt)
    out = np.asarray(x).astype(dt)
    return out[()] if out.ndim == 0 else out


def _dtype_of(x):
    return np.result_type(value(x))


def _astype_jvp(t, ans, x, dtype):
    return bind(_astype, t, dtype=str(_dtype_of(ans)))


def _astype_vjp(g, ans, x, dtype):
    want = _dtype_of(x)
    if want.kind == "f" and _dtype_of(g).kind == "c":
        from .complex import real
        g = real(g)
    return g if _dtype_of(g) == want else bind(_astype, g, dtype=str(want))


def _astype_domain(rng):
    # float64 targets only: the registry checks against float64 references at float64
    # tolerances (float32 casts are tested in tests/test_coverage2.py).
    x = rng.normal(size=(2, 3))
    return [([x], {"dtype": "float64"}), ([x], {"dtype": "complex128"}),
            ([x[0, 0]], {"dtype": "complex128"})]


_astype = register("astype", _astype_impl, (_astype_jvp,), (_astype_vjp,),
                   elementwise=True, keep=(), keep_ans=False, domain=_astype_domain)


def astype(x, dtype, name="astype"):
    """``x.astype(dtype)`` / ``numpy.astype`` for float and complex dtypes, differentiable
    (the derivative is the identity, in the new precision).

    Args:
        x: a value.
        dtype: a float or complex dtype.
        name: the numpy function to name in errors (``ndarray.astype``, a ufunc's
            ``dtype=``).

    Returns:
        ``x`` in ``dtype``.

    >>> import admodes as ad, numpy as np
    >>> astype(np.array([1.0, 2.0]), np.float32).dtype
    dtype('float32')
    >>> ad.grad(lambda x: (astype(x, np.float32) * 2).sum())(np.array([1.0, 2.0]))
    array([2., 2.])
    """
    dt = np.dtype(dtype)
    src = _dtype_of(x)
    if dt.kind not in "fc":
        raise TypeError(f"{name}(dtype={dt}): a traced value can only be cast to a float "
                        "or complex dtype (an integer or boolean cast has no derivative; "
                        "use ad.value(x) to drop the derivative on purpose)")
    if src.kind == "c" and dt.kind == "f":
        raise TypeError(f"{name}(dtype={dt}): casting a complex value to a real dtype would "
                        "drop its imaginary part (numpy warns); take np.real(x) first")
    if src == dt:
        return x
    return bind(_astype, x, dtype=str(dt))


astype.primitive = _astype


def float_power(x, y):
    """``numpy.float_power``: ``power`` computed in at least float64 (complex128 for
    complex input), as numpy: float32 inputs are cast up first.

    >>> float_power(np.float32(2.0), 3).dtype
    dtype('float64')
    """
    dt = np.result_type(_dtype_of(x), _dtype_of(y), np.float64)
    return power(astype(x, dt), astype(y, dt))


def deg2rad(x):
    """``numpy.deg2rad`` / ``radians``: ``x * pi / 180``."""
    return multiply(x, math.pi / 180.0)


def rad2deg(x):
    """``numpy.rad2deg`` / ``degrees``: ``x * 180 / pi``."""
    return multiply(x, 180.0 / math.pi)


radians, degrees = deg2rad, rad2deg


def _any_nan(*xs):
    return builtins_any(np.isnan(value(x)).any() for x in xs)


builtins_any = any


def fmax(x, y):
    """``numpy.fmax``: ``maximum`` that ignores a NaN (the other argument gets the whole
    gradient there); ties split evenly, as for ``maximum``."""
    if not _any_nan(x, y):
        return maximum(x, y)
    return where(isnan(y), x, where(isnan(x), y, maximum(x, y)))


def fmin(x, y):
    """``numpy.fmin``: ``minimum`` that ignores a NaN (see :func:`fmax`)."""
    if not _any_nan(x, y):
        return minimum(x, y)
    return where(isnan(y), x, where(isnan(x), y, minimum(x, y)))


# Taylor coefficients of sin(z) / z in z**2, to z**10: derivatives exact to 11th order.
_SINC_TAYLOR = [1.0, -1 / 6, 1 / 120, -1 / 5040, 1 / 362880, -1 / 39916800]


def sinc(x):
    """``numpy.sinc``: ``sin(pi x) / (pi x)``, 1 at 0.

    At ``x == 0`` exactly, the value and its derivatives come from the Taylor
    polynomial (exact to 11th order: sinc'(0) = 0, sinc''(0) = -pi**2 / 3); elsewhere
    from the quotient ("double where", so no NaN leaks in reverse mode).

    >>> import admodes as ad
    >>> print(f"{ad.grad(ad.grad(sinc))(0.0):.6f}")
    -3.289868
    """
    zero = equal(x, 0.0)
    if not np.any(zero):
        px = multiply(x, math.pi)
        return divide(sin(px), px)
    px = multiply(where(zero, 1.0, x), math.pi)
    z = multiply(where(zero, x, 0.0), math.pi)
    z2 = square(z)
    taylor = _SINC_TAYLOR[-1]
    for coef in _SINC_TAYLOR[-2::-1]:
        taylor = add(multiply(taylor, z2), coef)
    return where(zero, taylor, divide(sin(px), px))


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """``numpy.nan_to_num``: NaN and infinities replaced by constants (whose derivative
    is 0); finite entries pass through with derivative 1."""
    xv = np.asarray(value(x))
    if np.isfinite(xv).all():
        return x
    big = np.finfo(xv.dtype if xv.dtype.kind == "f" else np.float64).max
    posinf = big if posinf is None else posinf
    neginf = -big if neginf is None else neginf
    out = where(np.isnan(xv), nan, x)
    out = where(np.isposinf(xv), posinf, out)
    return where(np.isneginf(xv), neginf, out)
