"""``astype``: a cast between float (or complex) dtypes, differentiable both ways.

The tangent is cast to the new dtype and the cotangent back to the input's dtype, so
``x.astype(np.float32)`` on a traced value gives a float32 value and a float32
derivative path (as ``ndarray.astype`` does), instead of silently keeping float64."""

from __future__ import annotations

import numpy as np

from ..dispatch import bind, value
from ..registry import register


def _dtype_of(x):
    v = value(x)
    return v.dtype if isinstance(v, (np.ndarray, np.generic)) else np.result_type(v)


def _astype_impl(x, dtype):
    return np.asarray(x).astype(dtype)


def _astype_jvp(t, ans, x, dtype):
    return bind(_astype, t, dtype=dtype)


def _astype_vjp(g, ans, x, dtype):
    return bind(_astype, g, dtype=_dtype_of(x))


_astype = register(
    "astype", _astype_impl, _astype_jvp, _astype_vjp, keep=(0,),
    keep_ans=False,
    domain=lambda rng: [([rng.normal(size=(2, 3))], {"dtype": np.dtype(np.float64)}),
                        ([np.array([0.0, -1.5])], {"dtype": np.dtype(np.float64)})])


def astype(x, dtype, name="astype"):
    """``x.astype(dtype)`` for a float or complex ``dtype`` (a cast to an integer or
    boolean dtype has no derivative and raises, naming ``name``).

    Args:
        x: a value or traced value.
        dtype: the float (or complex) dtype to cast to.
        name: the numpy function to name in errors.
    Returns:
        ``x`` in ``dtype`` (unchanged if it already has it).

    >>> import admodes as ad, numpy as np
    >>> ad.grad(lambda x: astype(x, np.float32).sum())(np.ones(2, np.float32)).dtype
    dtype('float32')
    """
    dt = np.dtype(dtype)
    if dt.kind not in "fc":
        raise TypeError(f"{name}(dtype={dt}): a traced value can only be cast to a float "
                        "or complex dtype (an integer or boolean cast has no derivative; "
                        "use ad.value(x) to drop the derivative on purpose)")
    if _dtype_of(x) == dt:
        return x
    return bind(_astype, x, dtype=dt)


astype.primitive = _astype
