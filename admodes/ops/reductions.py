"""Reductions (``axis`` and ``keepdims`` as in numpy).  ``axis`` is normalised to a
tuple of negative ints, so the rules work unchanged under leading batch axes."""

from __future__ import annotations

import numpy as np

from ..dispatch import Box, bind, ndim_of, shape_of, value
from ..registry import register
from .elementwise import _mask_scalar, divide, equal, exp, multiply, subtract, where
from .shape import _axes_tuple, _nb, broadcast_to, flip, reshape

_reshape_p, _broadcast_p = reshape.primitive, broadcast_to.primitive


def _as_dtype(name, dtype, x):
    """Reductions take ``dtype=`` as numpy does: the input is cast to it (a
    differentiable cast) and the reduction computed in it, so the result has numpy's
    dtype; a derivative needs a float or complex dtype."""
    if dtype is None:
        return x
    dt = np.dtype(dtype)
    if dt.kind not in "fc":
        raise TypeError(f"numpy.{name}(dtype={dt}): a differentiable reduction needs a "
                        "float or complex dtype")
    from .elementwise import astype
    return astype(x, dt)


def _kept_shape(xshape, axis):
    nd = len(xshape)
    return tuple(1 if k - nd in axis else n for k, n in enumerate(xshape))


def _expand_back(g, ans, x, axis, keepdims):
    """Broadcast a reduced cotangent ``g`` back to the shape of ``x`` (batch kept)."""
    nb = _nb(g, ans)
    gs = shape_of(g)
    xs = shape_of(x)
    # Reduced axes that lead the shape need no reshape: numpy broadcasting restores
    # them (without batch axes in front, which would misalign).
    leading = nb == 0 and axis == tuple(range(-len(xs), -len(xs) + len(axis)))
    if not keepdims and not leading:
        g = bind(_reshape_p, g, shape=gs[:nb] + _kept_shape(xs, axis))
    target = gs[:nb] + xs
    return g if shape_of(g) == target else bind(_broadcast_p, g, shape=target)


def _reduction_domain(rng):
    x = rng.normal(size=(2, 3, 4))
    return [([x], {"axis": (-3, -2, -1), "keepdims": False}),
            ([x], {"axis": (-2,), "keepdims": True}),
            ([x], {"axis": (-3, -1), "keepdims": False})]


# ---------------------------------------------------------------- sum -----------------


def _sum_impl(x, axis, keepdims):
    if type(x) is float:
        return x
    return np.add.reduce(x, axis=axis, keepdims=keepdims)


_sum = register(
    "sum", _sum_impl,
    lambda t, ans, x, axis, keepdims: bind(_sum, t, axis=axis, keepdims=keepdims),
    _expand_back, domain=_reduction_domain,
    keep=(), keep_ans=False, sparsity="reduce")


def sum(x, axis=None, keepdims=False, dtype=None):
    """``numpy.sum``."""
    x = _as_dtype("sum", dtype, x)
    return bind(_sum, x, axis=_axes_tuple(axis, ndim_of(x)), keepdims=bool(keepdims))


sum.primitive = _sum


def unbroadcast(c, shape, nb):
    """Sum ``c`` down to ``batch + shape`` (undo numpy broadcasting), keeping ``nb``
    leading batch axes.  Written with admodes ops so it differentiates again."""
    cs = shape_of(c)
    if cs[nb:] == tuple(shape):
        return c
    extra = len(cs) - nb - len(shape)
    axes = tuple(range(nb, nb + extra))
    axes += tuple(nb + extra + k for k, n in enumerate(shape) if n == 1 and cs[nb + extra + k] != 1)
    if axes:
        c = bind(_sum, c, axis=tuple(a - len(cs) for a in axes), keepdims=True)
    return bind(reshape.primitive, c, shape=cs[:nb] + tuple(shape))


def mean(x, axis=None, keepdims=False, dtype=None):
    """``numpy.mean`` (composite: no rule of its own)."""
    x = _as_dtype("mean", dtype, x)
    xs = shape_of(x)
    axes = _axes_tuple(axis, len(xs))
    n = int(np.prod([xs[a] for a in axes], dtype=np.int64))
    return divide(sum(x, axes, keepdims), float(n))


def var(x, axis=None, keepdims=False, ddof=0, dtype=None):
    """``numpy.var`` (composite)."""
    x = _as_dtype("var", dtype, x)
    xs = shape_of(x)
    axes = _axes_tuple(axis, len(xs))
    n = int(np.prod([xs[a] for a in axes], dtype=np.int64))
    centred = subtract(x, mean(x, axes, keepdims=True))
    return divide(sum(multiply(centred, centred), axes, keepdims), float(n - ddof))


def std(x, axis=None, keepdims=False, ddof=0, dtype=None):
    """``numpy.std`` (composite)."""
    from .elementwise import sqrt
    x = _as_dtype("std", dtype, x)
    return sqrt(var(x, axis, keepdims, ddof))


# ---------------------------------------------------------------- max / min -----------


def _tie_weights(x, ans, axis):
    """1/k at each of the k maximal (or minimal) entries, 0 elsewhere: ties split evenly."""
    # admodes ops (non-differentiable ones), not numpy on ad.value: a static graph then
    # records the mask instead of freezing its trace-time numbers.
    av = bind(reshape.primitive, ans, shape=_kept_shape(shape_of(x), axis))
    hits = bind(where.primitive, equal(x, av), _mask_scalar(1.0, x), _mask_scalar(0.0, x))
    return divide(hits, bind(_sum, hits, axis=axis, keepdims=True))


def _extremum(name, npfn):
    def impl(x, axis, keepdims):
        return npfn(x, axis=axis, keepdims=keepdims)

    def jvp(t, ans, x, axis, keepdims):
        return bind(_sum, multiply(t, _tie_weights(x, ans, axis)), axis=axis, keepdims=keepdims)

    def vjp(g, ans, x, axis, keepdims):
        return multiply(_expand_back(g, ans, x, axis, keepdims), _tie_weights(x, ans, axis))

    prim = register(name, impl, jvp, vjp, analytic=False, domain=_reduction_domain,
                    sparsity="reduce")

    def op(x, axis=None, keepdims=False, dtype=None):
        x = _as_dtype(name, dtype, x)
        return bind(prim, x, axis=_axes_tuple(axis, ndim_of(x)), keepdims=bool(keepdims))

    op.__name__ = name
    op.__doc__ = f"``numpy.{name}``; ties split the gradient evenly (PyTorch's convention)."
    op.primitive = prim
    return op


max = _extremum("max", np.max)
min = _extremum("min", np.min)
amax, amin = max, min


def _arg_impl(npfn):
    def impl(x, axis=None):
        return npfn(x, axis=axis)
    return impl


_argmax = register("argmax", _arg_impl(np.argmax), nondiff=True)
_argmin = register("argmin", _arg_impl(np.argmin), nondiff=True)


def argmax(x, axis=None):
    return bind(_argmax, x, axis=axis)


def argmin(x, axis=None):
    return bind(_argmin, x, axis=axis)


# ---------------------------------------------------------------- prod ----------------


def _prod_impl(x, axis, keepdims):
    return np.prod(x, axis=axis, keepdims=keepdims)


def _prod_partials(ans, x, axis):
    """d prod / d x_i = product of the others.  Without zeros that is ``ans / x``; with
    zeros it is the exclusive product ``prod_{k < i} x_k * prod_{k > i} x_k`` over the
    reduced axes (flattened), built with cumprod, whose rules are exact at zeros, so
    that it differentiates again (second order at a zero, several zeros)."""
    if np.all(value(x) != 0):
        xs = shape_of(x)
        ans_k = reshape(ans, _kept_shape(xs, axis)) if shape_of(ans) != _kept_shape(xs, axis) \
            else ans
        return divide(ans_k, x)
    return _exclusive_prod(x, axis)


def _exclusive_prod(x, axis):
    from .shape import concatenate, getitem, transpose
    xs = shape_of(x)
    nd = len(xs)
    red = sorted(a + nd for a in axis)
    kept = [i for i in range(nd) if i not in red]
    perm = tuple(kept + red)
    xt = transpose(x, perm) if perm != tuple(range(nd)) else x
    lead = tuple(xs[i] for i in kept)
    n = int(np.prod([xs[i] for i in red], dtype=np.int64))
    xf = reshape(xt, lead + (n,))
    one = np.ones(lead + (1,))
    head = getitem(xf, (Ellipsis, slice(0, n - 1)))
    tail = flip(getitem(xf, (Ellipsis, slice(1, n))), (-1,))
    left = concatenate([one, cumprod(head, -1)], -1) if n > 1 else one
    right = flip(concatenate([one, cumprod(tail, -1)], -1), (-1,)) if n > 1 else one
    p = reshape(multiply(left, right), lead + tuple(xs[i] for i in red))
    if perm == tuple(range(nd)):
        return p
    return transpose(p, tuple(int(i) for i in np.argsort(perm)))


def _prod_jvp(t, ans, x, axis, keepdims):
    return bind(_sum, multiply(t, _prod_partials(ans, x, axis)), axis=axis, keepdims=keepdims)


def _prod_vjp(g, ans, x, axis, keepdims):
    return multiply(_expand_back(g, ans, x, axis, keepdims), _prod_partials(ans, x, axis))


def _prod_domain(rng):
    x = rng.uniform(0.5, 1.5, (2, 3, 4)) * rng.choice([-1.0, 1.0], (2, 3, 4))
    z1 = x.copy()
    z1[0, 1, 2] = 0.0  # one zero
    z2 = x.copy()
    z2[1, 0, [0, 3]] = 0.0  # two zeros in one row
    z2[0, 2, 1] = 0.0
    return [([x], {"axis": (-1,), "keepdims": False}),
            ([x], {"axis": (-3, -2, -1), "keepdims": False}),
            ([z1], {"axis": (-1,), "keepdims": False}),
            ([z1], {"axis": (-3, -1), "keepdims": True}),
            ([z2], {"axis": (-1,), "keepdims": False}),
            ([z2], {"axis": (-3, -2, -1), "keepdims": False}),
            ([np.array([0.0, 2.0, 3.0])], {"axis": (-1,), "keepdims": False})]


_prod = register("prod", _prod_impl, _prod_jvp, _prod_vjp, domain=_prod_domain,
                 sparsity="reduce")


def prod(x, axis=None, keepdims=False, dtype=None):
    """``numpy.prod``; the gradient is exact when entries are zero."""
    x = _as_dtype("prod", dtype, x)
    return bind(_prod, x, axis=_axes_tuple(axis, ndim_of(x)), keepdims=bool(keepdims))


prod.primitive = _prod

# ---------------------------------------------------------------- cumsum --------------


def _cumsum_impl(x, axis):
    return np.cumsum(x, axis=axis)


_cumsum = register(
    "cumsum", _cumsum_impl,
    lambda t, ans, x, axis: bind(_cumsum, t, axis=axis),
    lambda g, ans, x, axis: flip(bind(_cumsum, flip(g, axis), axis=axis), axis),
    domain=lambda rng: [([rng.normal(size=(3, 4))], {"axis": -1}),
                                     ([rng.normal(size=(3, 4))], {"axis": -2})],
    keep=(), keep_ans=False, sparsity="scan")


def cumsum(x, axis=None, dtype=None):
    """``numpy.cumsum`` (``axis=None`` flattens first)."""
    x = _as_dtype("cumsum", dtype, x)
    if axis is None:
        x = reshape(x, (-1,))
        axis = -1
    (axis,) = _axes_tuple(axis, ndim_of(x))
    return bind(_cumsum, x, axis=axis)


cumsum.primitive = _cumsum

# ---------------------------------------------------------------- logsumexp -----------


def _reduce(ufunc, x, axis):
    """``ufunc.reduce(x, axis, keepdims=True)``; a short last axis (a few classes) is
    folded with elementwise calls, which numpy runs far faster than its reduction loop
    over many tiny rows (300 x 3: about 2 us instead of 12)."""
    n = x.shape[-1] if x.ndim else 0
    if axis == (-1,) and 1 < n <= 8 and x.size >= 64 * n:
        out = ufunc(x[..., 0:1], x[..., 1:2])
        for k in range(2, n):
            ufunc(out, x[..., k:k + 1], out=out)
        return out
    return ufunc.reduce(x, axis=axis, keepdims=True)


def _logsumexp_impl(x, axis, keepdims):
    x = np.asarray(x)
    m = _reduce(np.maximum, x, axis)
    if np.isfinite(m).all():
        out = np.log(_reduce(np.add, np.exp(x - m), axis))
        out += m
    else:  # rows of -inf (log 0) or with +inf / nan: shift by 0 there instead
        m = np.where(np.isfinite(m), m, 0.0)
        with np.errstate(divide="ignore"):
            out = np.log(np.add.reduce(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else out.squeeze(axis=axis)


def _softmax_weights(ans, x, axis):
    xs = shape_of(x)
    a = reshape(ans, _kept_shape(xs, axis))
    return exp(subtract(x, a))


def _lse_jvp(t, ans, x, axis, keepdims):
    return bind(_sum, multiply(t, _softmax_weights(ans, x, axis)), axis=axis, keepdims=keepdims)


def _lse_vjp(g, ans, x, axis, keepdims):
    return multiply(_expand_back(g, ans, x, axis, keepdims), _softmax_weights(ans, x, axis))


def _lse_domain(rng):
    # (70, 3) over the last axis takes the folded short-axis path of _reduce
    return _reduction_domain(rng) + [([rng.normal(size=(70, 3)) * 3], {"axis": (-1,), "keepdims": False})]


_logsumexp = register("logsumexp", _logsumexp_impl, _lse_jvp, _lse_vjp, analytic=False,
                      domain=_lse_domain, sparsity="reduce")


def logsumexp(x, axis=None, keepdims=False):
    """``log(sum(exp(x)))``, computed stably (max-shifted); gradient is the softmax."""
    return bind(_logsumexp, x, axis=_axes_tuple(axis, ndim_of(x)), keepdims=bool(keepdims))


logsumexp.primitive = _logsumexp


# ---------------------------------------------------------------- composites ----------


def softmax(x, axis=-1):
    """Softmax along ``axis`` (composite, stable: ``exp(x - logsumexp(x))``)."""
    return exp(log_softmax(x, axis))


def log_softmax(x, axis=-1):
    """``x - logsumexp(x)`` along ``axis`` (composite)."""
    return subtract(x, logsumexp(x, axis, keepdims=True))


# ---------------------------------------------------------------- cross-entropy -------
# Softmax cross-entropy with integer labels as one primitive: the forward pass needs one
# log-sum-exp and one gather, and the cotangent is (softmax - onehot) * g in one rule,
# instead of a log-sum-exp, an indexing, a subtraction and a scatter, each with a rule.


def _rows(labels, c):
    """Flat (row, column) indices of the labelled entries of a (..., c) array."""
    flat = np.asarray(labels).reshape(-1)
    if flat.size and (flat.min() < 0 or flat.max() >= c):  # a replayed graph's new labels
        raise ValueError(f"softmax_cross_entropy: labels must lie in [0, {c})")
    return np.arange(flat.size), flat


def _onehot(labels, shape, dtype):
    out = np.zeros((labels.size, shape[-1]), dtype=dtype)
    out[_rows(labels, shape[-1])] = 1.0
    return out.reshape(shape)


def _sce_impl(z, labels):
    z = np.asarray(z)
    lse = _logsumexp_impl(z, (-1,), False)
    picked = z.reshape(-1, z.shape[-1])[_rows(labels, z.shape[-1])].reshape(labels.shape)
    return lse - picked


def _sce_residual(z, labels):
    """softmax(z) - onehot(labels), written with admodes ops (so it differentiates)."""
    p = exp(subtract(z, logsumexp(z, axis=-1, keepdims=True)))
    zv = value(z)  # only its dtype is read (a static graph's stand-in has one)
    return subtract(p, _onehot(labels, shape_of(z), np.result_type(getattr(zv, "dtype", zv),
                                                                    np.float64)))


def _sce_jvp(t, ans, z, labels):
    return bind(_sum, multiply(t, _sce_residual(z, labels)), axis=(-1,), keepdims=False)


def _sce_vjp(g, ans, z, labels):
    gs = shape_of(g)
    return multiply(bind(_reshape_p, g, shape=gs + (1,)), _sce_residual(z, labels))


def _sce_domain(rng):
    return [([rng.normal(size=(4, 3)) * 2, np.array([0, 2, 2, 1])], {}),
            ([rng.normal(size=(2, 3, 5)), np.array([[0, 4, 1], [3, 3, 2]])], {}),
            ([rng.normal(size=(70, 3)) * 3, rng.integers(0, 3, 70)], {})]


# The labels are a positional, non-differentiable argument (not a parameter), so that a
# graph traced by ad.trace takes new labels on replay (issue 9).
_sce = register("softmax_cross_entropy", _sce_impl, (_sce_jvp, None), (_sce_vjp, None),
                analytic=False, domain=_sce_domain, keep=(0, 1), keep_ans=False)


def softmax_cross_entropy(logits, labels):
    """Per-example ``logsumexp(z) - z[label]`` over the last axis (stable for any
    logits); the gradient is ``softmax(z) - onehot(label)``.

    Args:
        logits: shape ``(..., C)``.
        labels: integer class indices of shape ``logits.shape[:-1]``, in ``[0, C)``.

    Returns:
        The losses, of shape ``logits.shape[:-1]``.

    >>> import admodes as ad, numpy as np
    >>> ad.grad(lambda z: softmax_cross_entropy(z, np.array([1])).sum())(np.zeros((1, 2)))
    array([[ 0.5, -0.5]])
    """
    traced = labels if isinstance(labels, Box) else None  # integer data of ad.trace
    labels = np.asarray(value(labels))
    shape = shape_of(logits)
    if labels.dtype.kind not in "iu" or labels.shape != shape[:-1]:
        raise ValueError(f"softmax_cross_entropy: labels must be integers of shape "
                         f"{shape[:-1]} for logits of shape {shape}; got {labels.dtype} "
                         f"{labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= shape[-1]):
        raise ValueError(f"softmax_cross_entropy: labels must lie in [0, {shape[-1]})")
    return bind(_sce, logits, labels if traced is None else traced)


softmax_cross_entropy.primitive = _sce


# ---------------------------------------------------------------- cumprod -------------
# (issue 10)  A primitive along the last axis (the public function moves ``axis`` there).
# Without zeros the rules are ans * cumsum(t / x) and its transpose; with zeros they use
# the exact partials C[..., j, k] = prod_{i <= k, i != j} x_i (k >= j), an n x n matrix
# per row, built with cumprod itself so that it differentiates again.


def _cumprod_impl(x):
    return np.cumprod(x, axis=-1)


def _cumprod_partials(x):
    from .elementwise import where as _where
    from .shape import expand_dims
    n = shape_of(x)[-1]
    y = _where(np.eye(n, dtype=bool), 1.0, expand_dims(x, -2))  # y[.., j, i] = x_i, 1 at i=j
    return multiply(bind(_cumprod, y), np.triu(np.ones((n, n))))


def _has_zero(x):
    return not np.all(value(x) != 0)


def _cumprod_jvp(t, ans, x):
    from .contractions import einsum
    if not _has_zero(x):
        return multiply(ans, bind(_cumsum, divide(t, x), axis=-1))
    return einsum("...jk,...j->...k", _cumprod_partials(x), t)


def _cumprod_vjp(g, ans, x):
    from .contractions import einsum
    if not _has_zero(x):
        rev = flip(bind(_cumsum, flip(multiply(g, ans), (-1,)), axis=-1), (-1,))
        return divide(rev, x)
    return einsum("...jk,...k->...j", _cumprod_partials(x), g)


def _cumprod_domain(rng):
    x = rng.uniform(0.5, 1.5, (2, 4)) * rng.choice([-1.0, 1.0], (2, 4))
    z1 = x.copy()
    z1[0, 1] = 0.0
    z2 = x.copy()
    z2[1, [0, 2]] = 0.0
    return [([x], {}), ([z1], {}), ([z2], {}), ([np.array([0.0, 1.3, -0.7])], {})]


# cumprod is analytic: with two zeros in a row the complex step's cross term
# (i h)(i h) = -h**2 is an absolute error where the true derivative is 0; the checkers'
# complex-step error bar estimates it from a second, larger step
# (admodes.check.numerical.complex_step_truncation).  Its sparsity is cumsum's.
_cumprod = register("cumprod", _cumprod_impl, _cumprod_jvp, _cumprod_vjp,
                    domain=_cumprod_domain, keep=(0,), keep_ans=True, sparsity="scan")


def cumprod(x, axis=None, dtype=None):
    """``numpy.cumprod`` (``axis=None`` flattens first); the gradient is exact when
    entries are zero.

    >>> import admodes as ad, numpy as np
    >>> ad.grad(lambda x: cumprod(x)[-1])(np.array([2.0, 0.0, 3.0]))
    array([0., 6., 0.])
    """
    from .shape import moveaxis
    x = _as_dtype("cumprod", dtype, x)
    if axis is None:
        return bind(_cumprod, reshape(x, (-1,)))
    (axis,) = _axes_tuple(axis, ndim_of(x))
    if axis == -1:
        return bind(_cumprod, x)
    return moveaxis(bind(_cumprod, moveaxis(x, axis, -1)), -1, axis)


cumprod.primitive = _cumprod

# ---------------------------------------------------------------- order statistics ----
# Composites of sort (a gather by the stable argsort): the derivative of a tied value
# goes to the element that the stable sort put in that position (as in JAX); between
# two order statistics, quantile / percentile / median interpolate linearly (numpy's
# default method="linear").


def _last_axis(x, axis):
    """``x`` with the reduced ``axis`` (None, int or tuple) merged into one last axis,
    and the normalised axes."""
    from .shape import transpose
    nd = ndim_of(x)
    axes = _axes_tuple(axis, nd)
    keep = [k for k in range(-nd, 0) if k not in axes]
    xt = transpose(x, tuple(k + nd for k in keep + list(axes)))
    shape = shape_of(xt)
    return reshape(xt, shape[:len(keep)] + (-1,)), axes


def quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
             keepdims=False):
    """``numpy.quantile`` with ``method="linear"``, differentiable in ``a`` (``q`` is a
    constant).

    Args:
        a: the data.
        q: quantile(s) in [0, 1], a float or an array.
        axis: None (all), an int or a tuple of ints.
        keepdims: keep the reduced axes with size one.

    Returns:
        The quantiles, of shape ``q.shape`` + the reduced shape (as numpy).

    >>> import admodes as ad, numpy as np
    >>> ad.grad(lambda x: quantile(x, 0.25))(np.array([3.0, 1.0, 2.0]))
    array([0. , 0.5, 0.5])
    """
    from .elementwise import add
    from .manipulation import sort
    from .shape import moveaxis
    if out is not None:
        raise TypeError("numpy.quantile: out= is not supported on traced values")
    if method != "linear":
        raise NotImplementedError(f"numpy.quantile(method={method!r}): admodes supports "
                                  "method='linear' only")
    if isinstance(q, Box):
        raise TypeError("numpy.quantile: q must be a constant (differentiating with "
                        "respect to q is not supported)")
    qv = np.asarray(value(q), dtype=float)
    if np.any((qv < 0) | (qv > 1)) or np.any(np.isnan(qv)):
        raise ValueError("numpy.quantile: quantiles must be in the range [0, 1]")
    xs = shape_of(a)
    flat, axes = _last_axis(a, axis)
    n = shape_of(flat)[-1]
    s = sort(flat, axis=-1)
    pos = qv * (n - 1)
    lo = np.floor(pos).astype(np.intp)
    hi = np.minimum(lo + 1, n - 1)
    t = pos - lo
    lo_v = s[(Ellipsis, lo)]
    hi_v = s[(Ellipsis, hi)]
    diff = subtract(hi_v, lo_v)
    # numpy's lerp: a + d * t below t = 0.5, b - d * (1 - t) from there (same values)
    res = where(t >= 0.5, subtract(hi_v, multiply(diff, 1.0 - t)),
                add(lo_v, multiply(diff, t)))
    nq = qv.ndim
    if nq:  # numpy puts the quantile axes first
        res = moveaxis(res, tuple(range(-nq, 0)), tuple(range(nq)))
    if keepdims:
        res = reshape(res, qv.shape + _kept_shape(xs, axes))
    return res


def percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
               keepdims=False):
    """``numpy.percentile``: :func:`quantile` of ``q / 100``."""
    return quantile(a, np.asarray(value(q), dtype=float) / 100.0, axis, out,
                    overwrite_input, method, keepdims)


def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """``numpy.median``: the 0.5 :func:`quantile` (the mean of the two middle values
    for an even count)."""
    return quantile(a, 0.5, axis, out, overwrite_input, "linear", keepdims)


def average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    """``numpy.average``, differentiable in ``a`` and in ``weights``.

    >>> import admodes as ad, numpy as np
    >>> ad.grad(lambda w: average(np.array([1.0, 3.0]), weights=w))(np.array([1.0, 1.0]))
    array([-0.5,  0.5])
    """
    if weights is None:
        avg = mean(a, axis, keepdims)
        if not returned:
            return avg
        n = np.prod(shape_of(a)) / np.prod(shape_of(avg))
        return avg, np.full(shape_of(avg), float(n))
    xs, ws = shape_of(a), shape_of(weights)
    if xs != ws:
        if axis is None or len(ws) != 1 or not isinstance(axis, (int, np.integer)):
            raise TypeError("numpy.average: axis must be an int when the shapes of a "
                            f"{xs} and weights {ws} differ")
        if ws[0] != xs[axis]:
            raise ValueError("numpy.average: length of weights differs from the axis")
        ax = int(axis) % len(xs)
        weights = reshape(weights, (1,) * ax + ws + (1,) * (len(xs) - ax - 1))
    wsum = sum(multiply(weights, np.ones(xs)), axis, keepdims)
    avg = divide(sum(multiply(a, weights), axis, keepdims), wsum)
    return (avg, wsum) if returned else avg


def ptp(a, axis=None, keepdims=False):
    """``numpy.ptp``: ``max - min`` (ties split evenly, as for max and min)."""
    return subtract(max(a, axis, keepdims), min(a, axis, keepdims))


# ---------------------------------------------------------------- nan reductions ------
# NaN entries are ignored: their derivative is 0 (as JAX).  A slice that is all NaN
# gives NaN (nanmean, nanmax, nanmin) as numpy does, with a zero derivative.


def _nan_mask(a):
    return np.isnan(value(a))


def nansum(a, axis=None, dtype=None, out=None, keepdims=False):
    """``numpy.nansum``: NaNs count as zero."""
    a = _as_dtype("nansum", dtype, a)
    m = _nan_mask(a)
    return sum(where(m, 0.0, a) if m.any() else a, axis, keepdims)


def nanmean(a, axis=None, dtype=None, out=None, keepdims=False):
    """``numpy.nanmean``: the mean of the non-NaN entries."""
    a = _as_dtype("nanmean", dtype, a)
    m = _nan_mask(a)
    axes = _axes_tuple(axis, ndim_of(a))
    dt = np.result_type(value(a), np.float16)     # numpy's result dtype
    count = np.sum(~m, axis=axes, keepdims=keepdims).astype(dt)
    with np.errstate(invalid="ignore", divide="ignore"):
        return divide(nansum(a, axis, None, None, keepdims), count)


def _nan_extremum(fn, fill):
    def op(a, axis=None, out=None, keepdims=False):
        m = _nan_mask(a)
        if not m.any():
            return fn(a, axis, keepdims)
        axes = _axes_tuple(axis, ndim_of(a))
        res = fn(where(m, fill, a), axes, keepdims)
        return where(np.all(m, axis=axes, keepdims=keepdims), np.nan, res)
    return op


nanmax = _nan_extremum(max, -np.inf)
nanmax.__name__, nanmax.__doc__ = "nanmax", "``numpy.nanmax``: NaNs ignored."
nanmin = _nan_extremum(min, np.inf)
nanmin.__name__, nanmin.__doc__ = "nanmin", "``numpy.nanmin``: NaNs ignored."
