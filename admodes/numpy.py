"""``admodes.numpy``: a numpy-like namespace whose functions are differentiable, and the
numpy protocol methods that make plain ``numpy`` functions work on traced values.

Inside a function being differentiated, ``np.sin(x)`` and ``anp.sin(x)`` do the same
thing: numpy hands a traced value to ``__array_ufunc__`` / ``__array_function__``, which
look the function up here.  A numpy function with no registered primitive raises a
``TypeError`` naming it.  Names this module does not define fall through to numpy itself
(``anp.zeros``, ``anp.pi``, ...); applied to a traced value they reach the same protocol
check, so nothing is ever silently non-differentiable.
"""

from __future__ import annotations

import builtins
import sys as _sys

import numpy as _np

from . import conversions as _conversions
from .arguments import _dtype
from .dispatch import Box, bind1, bind2, ndim_of, shape_of, value
from .ops import linalg  # noqa: F401  (admodes.numpy.linalg)
from .ops.contractions import dot, einsum, inner, matmul, outer, tensordot, trace, vdot  # noqa: F401
from .ops.elementwise import (  # noqa: F401
    abs,
    absolute,
    add,
    arccos,
    arcsin,
    arctan,
    arctan2,
    ceil,
    clip,
    cos,
    cosh,
    divide,
    equal,
    exp,
    expm1,
    floor,
    greater,
    greater_equal,
    isfinite,
    isinf,
    isnan,
    less,
    less_equal,
    log,
    log1p,
    logaddexp,
    maximum,
    minimum,
    multiply,
    multiply_or_square,
    negative,
    not_equal,
    power,
    reciprocal,
    relu,
    rint,
    sigmoid,
    sign,
    sin,
    sinh,
    softplus,
    sqrt,
    square,
    subtract,
    tan,
    tanh,
    where,
)
from .ops.manipulation import pad  # noqa: F401
from .ops.reductions import (  # noqa: F401
    amax,
    amin,
    argmax,
    argmin,
    cumsum,
    log_softmax,
    logsumexp,
    max,
    mean,
    min,
    prod,
    softmax,
    std,
    sum,
    var,
)
from .ops.shape import (  # noqa: F401
    atleast_1d,
    atleast_2d,
    broadcast_to,
    concatenate,
    diag,
    diagonal,
    expand_dims,
    flip,
    getitem,
    hstack,
    moveaxis,
    ravel,
    reshape,
    squeeze,
    stack,
    swapaxes,
    transpose,
    vstack,
)

true_divide = divide
round = rint


def positive(x):
    return x


def array(obj, dtype=None):
    """``numpy.array``; a (nested) list holding traced values is stacked."""
    if isinstance(obj, Box):
        return obj
    if isinstance(obj, (list, tuple)) and _holds_box(obj):
        return stack([array(o) for o in obj])
    return _np.array(obj, dtype=dtype)


asarray = array


def _holds_box(obj):
    stack_ = [obj]
    while stack_:
        o = stack_.pop()
        if isinstance(o, Box):
            return True
        if isinstance(o, (list, tuple)):
            stack_.extend(o)
    return False


def zeros_like(x, dtype=None):
    return _np.zeros(shape_of(x), dtype=_dtype(x) if dtype is None else dtype)


def ones_like(x, dtype=None):
    return _np.ones(shape_of(x), dtype=_dtype(x) if dtype is None else dtype)


def full_like(x, fill_value, dtype=None):
    return _np.full(shape_of(x), fill_value, dtype=_dtype(x) if dtype is None else dtype)


def shape(x):
    return shape_of(x)


def ndim(x):
    return ndim_of(x)


def size(x):
    return int(_np.prod(shape_of(x), dtype=_np.int64))


def __getattr__(name):
    try:
        return getattr(_np, name)
    except AttributeError:
        raise AttributeError(f"module 'admodes.numpy' has no attribute {name!r}") from None


# ---------------------------------------------------------------- numpy protocols -----

_UFUNCS = {
    _np.add: add, _np.subtract: subtract, _np.multiply: multiply, _np.divide: divide,
    _np.power: power, _np.negative: negative, _np.positive: positive, _np.square: square,
    _np.sqrt: sqrt, _np.reciprocal: reciprocal, _np.exp: exp, _np.expm1: expm1,
    _np.log: log, _np.log1p: log1p, _np.sin: sin, _np.cos: cos, _np.tan: tan,
    _np.arcsin: arcsin, _np.arccos: arccos, _np.arctan: arctan, _np.arctan2: arctan2,
    _np.sinh: sinh, _np.cosh: cosh, _np.tanh: tanh, _np.absolute: abs, _np.sign: sign,
    _np.maximum: maximum, _np.minimum: minimum, _np.logaddexp: logaddexp,
    _np.floor: floor, _np.ceil: ceil, _np.rint: rint, _np.equal: equal,
    _np.not_equal: not_equal, _np.less: less, _np.less_equal: less_equal,
    _np.greater: greater, _np.greater_equal: greater_equal, _np.isfinite: isfinite,
    _np.isnan: isnan, _np.isinf: isinf, _np.matmul: matmul,
}

_REDUCE = {_np.add: sum, _np.maximum: max, _np.minimum: min, _np.multiply: prod}

_FUNCTIONS = {
    _np.sum: sum, _np.mean: mean, _np.var: var, _np.std: std, _np.max: max,
    _np.min: min, _np.amax: max, _np.amin: min, _np.prod: prod, _np.cumsum: cumsum,
    _np.argmax: argmax, _np.argmin: argmin, _np.reshape: reshape,
    _np.transpose: transpose, _np.expand_dims: expand_dims, _np.squeeze: squeeze,
    _np.broadcast_to: broadcast_to, _np.concatenate: concatenate, _np.stack: stack,
    _np.hstack: hstack, _np.vstack: vstack, _np.diag: diag, _np.diagonal: diagonal,
    _np.flip: flip, _np.ravel: ravel, _np.swapaxes: swapaxes, _np.moveaxis: moveaxis,
    _np.where: where, _np.clip: clip, _np.dot: dot, _np.outer: outer, _np.inner: inner,
    _np.vdot: vdot, _np.einsum: einsum, _np.tensordot: tensordot, _np.trace: trace,
    _np.atleast_1d: atleast_1d, _np.atleast_2d: atleast_2d, _np.pad: pad,
    _np.zeros_like: zeros_like, _np.ones_like: ones_like, _np.full_like: full_like,
    _np.shape: shape, _np.ndim: ndim, _np.size: size,
    _np.linalg.solve: linalg.solve, _np.linalg.inv: linalg.inv,
    _np.linalg.det: linalg.det, _np.linalg.slogdet: linalg.slogdet,
    _np.linalg.norm: linalg.norm, _np.linalg.cholesky: linalg.cholesky,
}


def _array_ufunc(self, ufunc, method, *inputs, **kwargs):
    if kwargs.get("out") is not None:
        raise TypeError(f"numpy.{ufunc.__name__}: admodes values are immutable; "
                        "out= is not supported on traced values")
    return _ufunc_method(ufunc, method, inputs, kwargs)


def _array_function(self, func, types, args, kwargs):
    op = _FUNCTIONS.get(func)
    if op is None:
        name = getattr(func, "__module__", "numpy").replace("numpy._core", "numpy")
        raise TypeError(
            f"{name}.{func.__name__}: no differentiable primitive is registered for it in "
            "admodes; see admodes.registry or add one with ad.primitive / ad.Operation")
    if kwargs:
        _check_keywords(func, op, kwargs)
    return op(*args, **kwargs)


def _array(self, dtype=None, copy=None):
    raise TypeError(
        "a traced admodes value cannot be converted to a plain numpy array inside a "
        "transformation (that would drop its derivative); this is what happens when it "
        "is written into a numpy array (buf[i:j] = x) or put in np.array([...]).  What "
        "works: anp.stack / anp.array([...]) to build an array from traced values, or "
        "y = x.copy() (x traced) and then y[i] = v; ad.value(x) only to drop the "
        "derivative on purpose")


def _install_box_methods(cls):
    """Make every box type behave like an array."""
    def binop(f):
        prim = getattr(f, "primitive", None)
        if prim is not None and f is not matmul:  # straight to the dispatcher
            return lambda self, other: bind2(prim, self, other)
        return lambda self, other: f(self, other)

    def rbinop(f):
        prim = getattr(f, "primitive", None)
        if prim is not None and f is not matmul:
            return lambda self, other: bind2(prim, other, self)
        return lambda self, other: f(other, self)

    methods = {
        "__add__": binop(add), "__radd__": _radd,
        "__mul__": _mul, "__rmul__": _rmul,
        "__pow__": power, "__rpow__": lambda self, other: power(other, self),
        "__sub__": binop(subtract), "__rsub__": rbinop(subtract),
        "__truediv__": binop(divide), "__rtruediv__": rbinop(divide),
        "__matmul__": binop(matmul), "__rmatmul__": rbinop(matmul),
        "__lt__": binop(less), "__le__": binop(less_equal),
        "__gt__": binop(greater), "__ge__": binop(greater_equal),
        "__eq__": binop(equal), "__ne__": binop(not_equal),
        "__neg__": lambda self: bind1(negative.primitive, self), "__pos__": lambda self: self,
        "__abs__": lambda self: abs(self),
        "__getitem__": lambda self, idx: getitem(self, idx),
        "__len__": _len, "__iter__": _iter,
        "__float__": lambda self: float(value(self)),
        "__int__": lambda self: int(value(self)),
        "__index__": None,
        "__bool__": lambda self: bool(value(self)),
        "__setitem__": _setitem,
        "__array_ufunc__": _array_ufunc, "__array_function__": _array_function,
        "__array__": _array,
        "sum": lambda self, axis=None, keepdims=False: sum(self, axis, keepdims),
        "mean": lambda self, axis=None, keepdims=False: mean(self, axis, keepdims),
        "var": lambda self, axis=None, keepdims=False, ddof=0: var(self, axis, keepdims, ddof),
        "std": lambda self, axis=None, keepdims=False, ddof=0: std(self, axis, keepdims, ddof),
        "max": lambda self, axis=None, keepdims=False: max(self, axis, keepdims),
        "min": lambda self, axis=None, keepdims=False: min(self, axis, keepdims),
        "prod": lambda self, axis=None, keepdims=False: prod(self, axis, keepdims),
        "cumsum": lambda self, axis=None: cumsum(self, axis),
        "argmax": lambda self, axis=None: argmax(self, axis),
        "argmin": lambda self, axis=None: argmin(self, axis),
        "reshape": lambda self, *shape: reshape(self, shape[0] if len(shape) == 1 else shape),
        "transpose": lambda self, *axes: transpose(
            self, (axes[0] if len(axes) == 1 and not isinstance(axes[0], int) else axes) or None),
        "dot": lambda self, other: dot(self, other),
        "ravel": lambda self: ravel(self), "flatten": lambda self: ravel(self),
        "squeeze": lambda self, axis=None: squeeze(self, axis),
        "clip": lambda self, a_min=None, a_max=None, **kw: clip(self, a_min, a_max, **kw),
        "swapaxes": lambda self, a1, a2: swapaxes(self, a1, a2),
        "diagonal": lambda self, offset=0, axis1=0, axis2=1: diagonal(self, offset, axis1, axis2),
        "trace": lambda self, offset=0, axis1=0, axis2=1: trace(self, offset, axis1, axis2),
        "astype": _astype, "copy": lambda self: _box_copy(self),
        "shape": property(shape_of), "ndim": property(ndim_of), "size": property(size),
        "dtype": property(lambda self: _np.result_type(value(self))),
        "T": property(lambda self: transpose(self)),
        "mT": property(lambda self: swapaxes(self, -1, -2)),
    }
    for name, fn in methods.items():
        setattr(cls, name, fn)
    cls.__hash__ = object.__hash__


_MUL, _SQUARE, _ADD = multiply.primitive, square.primitive, add.primitive


def _mul(self, other):  # x * x on one traced value is square(x): one rule, no fan-in
    return bind1(_SQUARE, self) if other is self else bind2(_MUL, self, other)


def _radd(self, other):
    # sum(list_of_boxes) starts from the int 0: no tape entry for adding it.
    if type(other) is int and other == 0:
        return self
    return bind2(_ADD, other, self)


def _rmul(self, other):
    return bind2(_MUL, other, self)


def _len(self):
    s = shape_of(self)
    if not s:
        raise TypeError("len() of unsized object (a 0-d traced value)")
    return s[0]


def _iter(self):
    s = shape_of(self)
    if not s:
        raise TypeError("iteration over a 0-d traced value")
    return (getitem(self, i) for i in builtins.range(s[0]))


def _setitem(self, idx, val):  # y[idx] = v: a functional scatter (admodes.inplace)
    from .inplace import box_setitem
    box_setitem(self, idx, val)


def _box_copy(self):
    from .inplace import box_copy
    return box_copy(self)


def _astype(self, dtype, order="K", casting="unsafe", subok=True, copy=True):
    from .ops.elementwise import astype
    return astype(self, dtype, "ndarray.astype")


_install_box_methods(Box)
_conversions.install(Box)  # float(), complex(), .item(), .tolist() (issue 9)


# ---------------------------------------------------------------- more of numpy -------
# (issue 10)  The rest of the everyday numpy functions; docs/numpy-coverage.md is the
# generated table of what works (python -m admodes.bench.coverage).

from .ops import manipulation as _manip  # noqa: E402
from .ops import shape as _shp  # noqa: E402
from .ops.elementwise import (  # noqa: E402,F401
    astype,
    deg2rad,
    degrees,
    float_power,
    fmax,
    fmin,
    nan_to_num,
    rad2deg,
    radians,
    sinc,
)
from .ops.manipulation import (  # noqa: E402,F401
    argsort,
    array_split,
    broadcast_arrays,
    column_stack,
    cross,
    dsplit,
    dstack,
    fliplr,
    flipud,
    hsplit,
    kron,
    meshgrid,
    put_along_axis,
    repeat,
    roll,
    rot90,
    sort,
    split,
    take,
    take_along_axis,
    tile,
    tril,
    triu,
    vsplit,
)
from .ops.numeric import (  # noqa: E402,F401
    convolve,
    correlate,
    diff,
    gradient,
    interp,
    polyval,
    trapezoid,
)
from .ops.reductions import (  # noqa: E402,F401
    average,
    cumprod,
    median,
    nanmax,
    nanmean,
    nanmin,
    nansum,
    percentile,
    ptp,
    quantile,
)
from .ops.ufuncs import (  # noqa: E402,F401
    allclose,
    arccosh,
    arcsinh,
    arctanh,
    around,
    cbrt,
    exp2,
    fabs,
    fmod,
    heaviside,
    hypot,
    isclose,
    log2,
    log10,
    logaddexp2,
    mod,
    remainder,
    round,
    signbit,
    trunc,
)

amax, amin = max, min


def atleast_1d(*arys):
    """``numpy.atleast_1d`` of one or more arrays."""
    out = [_shp.atleast_1d(a) for a in arys]
    return out[0] if len(out) == 1 else tuple(out)


def atleast_2d(*arys):
    """``numpy.atleast_2d`` of one or more arrays."""
    out = [_shp.atleast_2d(a) for a in arys]
    return out[0] if len(out) == 1 else tuple(out)


def atleast_3d(*arys):
    """``numpy.atleast_3d`` of one or more arrays."""
    out = [_manip.atleast_3d(a) for a in arys]
    return out[0] if len(out) == 1 else tuple(out)


def _no_inplace(name, advice):
    def f(*args, **kwargs):
        raise TypeError(f"numpy.{name} writes in place, and admodes values are "
                        f"immutable; use {advice} instead")
    return f


_UFUNCS.update({
    _np.log2: log2, _np.log10: log10, _np.exp2: exp2, _np.cbrt: cbrt,
    _np.arcsinh: arcsinh, _np.arccosh: arccosh, _np.arctanh: arctanh, _np.hypot: hypot,
    _np.fmax: fmax, _np.fmin: fmin, _np.float_power: float_power, _np.fabs: fabs,
    _np.deg2rad: deg2rad, _np.rad2deg: rad2deg, _np.radians: radians, _np.degrees: degrees, _np.logaddexp2: logaddexp2,
    _np.remainder: mod, _np.fmod: fmod, _np.heaviside: heaviside, _np.signbit: signbit,
    _np.trunc: trunc,
})
_FUNCTIONS.update({
    _np.astype: astype,
    _np.round: round, _np.around: around, _np.isclose: isclose, _np.allclose: allclose,
    _np.sinc: sinc, _np.nan_to_num: nan_to_num,
    _np.cumprod: cumprod, _np.median: median, _np.percentile: percentile,
    _np.quantile: quantile, _np.average: average, _np.ptp: ptp, _np.nansum: nansum,
    _np.nanmean: nanmean, _np.nanmax: nanmax, _np.nanmin: nanmin,
    _np.sort: sort, _np.argsort: argsort, _np.take: take,
    _np.take_along_axis: take_along_axis,
    _np.put_along_axis: _no_inplace(
        "put_along_axis", "admodes.numpy.put_along_axis(arr, indices, values, axis, "
        "inplace=False), which returns the result"),
    _np.tril: tril, _np.triu: triu, _np.kron: kron, _np.cross: cross, _np.split: split,
    _np.array_split: array_split, _np.hsplit: hsplit, _np.vsplit: vsplit,
    _np.dsplit: dsplit, _np.tile: tile, _np.repeat: repeat, _np.roll: roll,
    _np.rot90: rot90, _np.fliplr: fliplr, _np.flipud: flipud, _np.dstack: dstack,
    _np.column_stack: column_stack, _np.atleast_1d: atleast_1d,
    _np.atleast_2d: atleast_2d, _np.atleast_3d: atleast_3d,
    _np.broadcast_arrays: broadcast_arrays, _np.meshgrid: meshgrid,
    _np.interp: interp, _np.polyval: polyval, _np.convolve: convolve,
    _np.correlate: correlate, _np.diff: diff, _np.gradient: gradient,
    _np.trapezoid: trapezoid,
})


def _sort_method(self, *args, **kwargs):
    raise TypeError("ndarray.sort sorts in place, and admodes values are immutable; "
                    "use np.sort(x) instead")


def _install_more_methods(cls):
    """ndarray methods with numpy's keywords (``dtype`` on the reductions)."""
    methods = {
        "sum": lambda self, axis=None, dtype=None, out=None, keepdims=False:
            sum(self, axis, keepdims, dtype) if out is None else _no_out("sum"),
        "mean": lambda self, axis=None, dtype=None, out=None, keepdims=False:
            mean(self, axis, keepdims, dtype) if out is None else _no_out("mean"),
        "prod": lambda self, axis=None, dtype=None, out=None, keepdims=False:
            prod(self, axis, keepdims, dtype) if out is None else _no_out("prod"),
        "var": lambda self, axis=None, dtype=None, out=None, ddof=0, keepdims=False:
            var(self, axis, keepdims, ddof, dtype) if out is None else _no_out("var"),
        "std": lambda self, axis=None, dtype=None, out=None, ddof=0, keepdims=False:
            std(self, axis, keepdims, ddof, dtype) if out is None else _no_out("std"),
        "cumsum": lambda self, axis=None, dtype=None: cumsum(self, axis, dtype),
        "cumprod": lambda self, axis=None, dtype=None: cumprod(self, axis, dtype),
        "round": lambda self, decimals=0: round(self, decimals),
        "take": lambda self, indices, axis=None, mode="raise": take(self, indices, axis,
                                                                     mode=mode),
        "repeat": lambda self, repeats, axis=None: repeat(self, repeats, axis),
        "sort": _sort_method,
        "argsort": lambda self, axis=-1, kind=None: argsort(self, axis),
    }
    for name, fn in methods.items():
        setattr(cls, name, fn)


def _no_out(name):
    raise TypeError(f"ndarray.{name}: out= is not supported on traced values")


_install_more_methods(Box)

# numpy's keywords that are accepted when they hold numpy's default (they change nothing)
_DEFAULT_KEYWORDS = {"out": None, "where": True, "order": "K", "subok": True}


def _name_keyword_errors(cls, names):
    """A method called with a keyword admodes does not support raises a TypeError naming
    the keyword and ``ndarray.<method>`` (not the wrapper's Python internals).  Arguments
    are checked only after a TypeError, so a successful call pays nothing."""
    def wrap(name, fn):
        def method(self, *args, **kwargs):
            try:
                return fn(self, *args, **kwargs)
            except TypeError:
                import inspect
                sig = inspect.signature(fn)
                extra = {k: v for k, v in kwargs.items() if k not in sig.parameters}
                if not extra and _binds(sig, self, args, kwargs):
                    raise  # raised inside the method: not an argument error
                for k, v in extra.items():
                    if k not in _DEFAULT_KEYWORDS or v is not _DEFAULT_KEYWORDS[k]:
                        raise TypeError(f"ndarray.{name}: the keyword {k}= is not supported "
                                        "by admodes on traced values") from None
                if extra:  # only numpy defaults: call without them
                    return fn(self, *args, **{k: v for k, v in kwargs.items()
                                              if k not in extra})
                raise TypeError(f"ndarray.{name}: arguments {args!r} {kwargs!r} do not "
                                f"match its signature {sig}") from None

        method.__name__ = name
        method.__doc__ = fn.__doc__
        return method

    for name in names:
        fn = cls.__dict__.get(name)
        if callable(fn) and not isinstance(fn, property):
            setattr(cls, name, wrap(name, fn))


def _binds(sig, self, args, kwargs):
    try:
        sig.bind(self, *args, **kwargs)
        return True
    except TypeError:
        return False


_name_keyword_errors(Box, ("sum", "mean", "var", "std", "max", "min", "prod", "cumsum",
                           "cumprod", "argmax", "argmin", "squeeze", "clip", "swapaxes",
                           "diagonal", "trace", "round", "take", "repeat", "argsort",
                           "dot", "ravel", "flatten", "copy", "astype"))
# ---------------------------------------------------------------- complex, fft, special
# Complex intermediates (JAX's convention, see admodes.ops.complex): abs of a complex
# value is its modulus, real/imag/conj/angle are differentiable; numpy.fft and the
# scipy.special ufuncs reach their primitives through the same protocols.
from .ops import fft  # noqa: E402
from .ops.complex import absolute, angle, conj, conjugate, imag, real  # noqa: E402,F401

abs = absolute  # noqa: A001
_UFUNCS.update({_np.absolute: absolute, _np.conjugate: conj})


def _scipy_ufunc(ufunc):
    """scipy.special's ufuncs are registered on first use: importing scipy.special costs
    about 0.2 s, which ``import admodes`` should not pay for code that never calls it
    (a scipy ufunc can only reach us once the caller has imported scipy.special)."""
    if "scipy.special" not in _sys.modules:
        return None
    from .ops import special
    if not special.UFUNCS:
        return None
    _UFUNCS.update(special.UFUNCS)
    return _UFUNCS.get(ufunc)
_FUNCTIONS.update({
    _np.real: real, _np.imag: imag, _np.angle: angle, _np.conj: conj,
    _np.conjugate: conj,
    **{getattr(_np.fft, name): getattr(fft, name) for name in fft.__all__},
    **{getattr(_np.linalg, name): getattr(linalg, name)
       for name in ("eigh", "eigvalsh", "svd", "svdvals", "matrix_power", "multi_dot",
                    "pinv", "lstsq", "qr")},
})
for _cls_attr, _fn in (("real", property(real, doc="The real part (differentiable).")),
                       ("imag", property(imag, doc="The imaginary part (differentiable).")),
                       ("conj", conj), ("conjugate", conj)):
    setattr(Box, _cls_attr, _fn)

# ---------------------------------------------------------------- ufunc methods, keywords
# (issue 9)  ``ufunc.reduce`` reduces over axis 0 by default, as numpy does;
# ``accumulate`` and ``outer`` work where admodes has the primitive; ``at`` / ``reduceat``
# and numpy keywords admodes does not implement raise, naming the method or keyword.

_ACCUMULATE = {_np.add: cumsum, _np.multiply: cumprod}
# keywords whose value is numpy's default (so they change nothing)
_HARMLESS = {"out": (None,), "where": (True,), "casting": ("same_kind",),
             "order": ("K",), "subok": (True,), "signature": (None,)}


def _reject_keywords(name, kwargs):
    for k, v in kwargs.items():
        ok = _HARMLESS.get(k, ())
        if not builtins.any(v is d or (type(v) is type(d) and v == d) for d in ok):
            raise TypeError(f"{name}: the keyword {k}= is not supported by admodes on "
                            "traced values")


def _cast(x, dtype, name):
    if dtype is None:
        return x
    from .ops.elementwise import astype
    return astype(x, dtype, name)


def _ufunc_method(ufunc, method, inputs, kwargs):
    name = f"numpy.{ufunc.__name__}" + ("" if method == "__call__" else "." + method)
    kwargs = dict(kwargs)
    dtype = kwargs.pop("dtype", None)
    if method == "__call__":
        op = _UFUNCS.get(ufunc) or _scipy_ufunc(ufunc)
        if op is not None:
            _reject_keywords(name, kwargs)
            return _cast(op(*inputs), dtype, name)
    elif method == "reduce" and ufunc in _REDUCE:
        axis = kwargs.pop("axis", 0)
        keepdims = kwargs.pop("keepdims", False)
        _reject_keywords(name, kwargs)
        (x,) = inputs
        if axis is not None and ndim_of(x) == 0:
            raise ValueError(f"{name}: cannot reduce a 0-d value over axis {axis}")
        return _REDUCE[ufunc](_cast(x, dtype, name), axis, keepdims)
    elif method == "accumulate" and ufunc in _ACCUMULATE:
        axis = kwargs.pop("axis", 0)
        _reject_keywords(name, kwargs)
        (x,) = inputs
        if ndim_of(x) == 0:
            raise ValueError(f"{name}: cannot accumulate a 0-d value")
        return _ACCUMULATE[ufunc](_cast(x, dtype, name), axis)
    elif method == "outer" and ufunc in _UFUNCS and len(inputs) == 2:
        _reject_keywords(name, kwargs)
        a, b = inputs
        a = reshape(a, shape_of(a) + (1,) * ndim_of(b))
        return _cast(_UFUNCS[ufunc](a, b), dtype, name)
    elif method in ("at", "reduceat"):
        raise TypeError(f"{name}: not supported on traced values (it updates in place, "
                        "and admodes values are immutable); build the result functionally, "
                        "e.g. with where / concatenate or a one-hot sum" if method == "at" else
                        f"{name}: not supported on traced values; reduce each segment "
                        "with getitem and the reduction instead")
    raise TypeError(
        f"{name}: no differentiable primitive is registered for it in admodes; see "
        "admodes.registry or add one with ad.primitive / ad.Operation")


_SIGNATURES = {}


def _check_keywords(func, op, kwargs):
    """numpy keywords that ``op`` does not take raise, naming keyword and function."""
    import inspect
    params = _SIGNATURES.get(op)
    if params is None:
        try:
            sig = inspect.signature(op).parameters.values()
        except (TypeError, ValueError):
            return
        if builtins.any(p.kind is p.VAR_KEYWORD for p in sig):
            params = True
        else:
            params = frozenset(p.name for p in sig)
        _SIGNATURES[op] = params
    if params is True:
        return
    extra = {k: v for k, v in kwargs.items() if k not in params}
    if extra:
        _reject_keywords(f"numpy.{func.__name__}", extra)
        for k in extra:
            del kwargs[k]
