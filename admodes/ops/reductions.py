"""Reductions (``axis`` and ``keepdims`` as in numpy).  ``axis`` is normalised to a
tuple of negative ints, so the rules work unchanged under leading batch axes."""

from __future__ import annotations

import numpy as np

from ..dispatch import bind, value
from ..forward import ndim_of, shape_of
from ..registry import register
from .elementwise import divide, equal, exp, multiply, subtract, where
from .shape import _axes_tuple, _nb, broadcast_to, flip, reshape

_reshape_p, _broadcast_p = reshape.primitive, broadcast_to.primitive


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
    _expand_back, linear=(0,), domain=_reduction_domain,
    keep=(), keep_ans=False, sparsity="reduce")


def sum(x, axis=None, keepdims=False):
    """``numpy.sum``."""
    return bind(_sum, x, axis=_axes_tuple(axis, ndim_of(x)), keepdims=bool(keepdims))


sum.primitive = _sum


def mean(x, axis=None, keepdims=False):
    """``numpy.mean`` (composite: no rule of its own)."""
    xs = shape_of(x)
    axes = _axes_tuple(axis, len(xs))
    n = int(np.prod([xs[a] for a in axes], dtype=np.int64))
    return divide(sum(x, axes, keepdims), float(n))


def var(x, axis=None, keepdims=False, ddof=0):
    """``numpy.var`` (composite)."""
    xs = shape_of(x)
    axes = _axes_tuple(axis, len(xs))
    n = int(np.prod([xs[a] for a in axes], dtype=np.int64))
    centred = subtract(x, mean(x, axes, keepdims=True))
    return divide(sum(multiply(centred, centred), axes, keepdims), float(n - ddof))


def std(x, axis=None, keepdims=False, ddof=0):
    """``numpy.std`` (composite)."""
    from .elementwise import sqrt
    return sqrt(var(x, axis, keepdims, ddof))


# ---------------------------------------------------------------- max / min -----------


def _tie_weights(x, ans, axis):
    """1/k at each of the k maximal (or minimal) entries, 0 elsewhere: ties split evenly."""
    xv = value(x)
    av = np.reshape(value(ans), _kept_shape(np.shape(xv), axis))
    hits = (xv == av).astype(float)
    return hits / np.sum(hits, axis=axis, keepdims=True)


def _extremum(name, npfn):
    def impl(x, axis, keepdims):
        return npfn(x, axis=axis, keepdims=keepdims)

    def jvp(t, ans, x, axis, keepdims):
        return bind(_sum, multiply(t, _tie_weights(x, ans, axis)), axis=axis, keepdims=keepdims)

    def vjp(g, ans, x, axis, keepdims):
        return multiply(_expand_back(g, ans, x, axis, keepdims), _tie_weights(x, ans, axis))

    prim = register(name, impl, jvp, vjp, analytic=False, domain=_reduction_domain,
                    sparsity="reduce")

    def op(x, axis=None, keepdims=False):
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
    """d prod / d x_i = product of the others, exact with zeros present:
    no zeros -> ans / x; one zero -> the product of the non-zeros at that zero, 0
    elsewhere; two or more zeros -> 0 everywhere."""
    is_zero = equal(x, 0.0)
    n_zero = np.sum(value(is_zero), axis=axis, keepdims=True)
    x_safe = where(is_zero, 1.0, x)
    prod_nonzero = bind(_prod, x_safe, axis=axis, keepdims=True)
    xs = shape_of(x)
    ans_k = reshape(ans, _kept_shape(xs, axis)) if shape_of(ans) != _kept_shape(xs, axis) else ans
    no_zero = divide(ans_k, x_safe)
    one_zero = where(is_zero, prod_nonzero, 0.0)
    return where(n_zero == 0, no_zero, where(n_zero == 1, one_zero, 0.0))


def _prod_jvp(t, ans, x, axis, keepdims):
    return bind(_sum, multiply(t, _prod_partials(ans, x, axis)), axis=axis, keepdims=keepdims)


def _prod_vjp(g, ans, x, axis, keepdims):
    return multiply(_expand_back(g, ans, x, axis, keepdims), _prod_partials(ans, x, axis))


def _prod_domain(rng):
    x = rng.uniform(0.5, 1.5, (2, 3, 4)) * rng.choice([-1.0, 1.0], (2, 3, 4))
    return [([x], {"axis": (-1,), "keepdims": False}),
            ([x], {"axis": (-3, -2, -1), "keepdims": False})]


_prod = register("prod", _prod_impl, _prod_jvp, _prod_vjp, domain=_prod_domain,
                 sparsity="reduce")


def prod(x, axis=None, keepdims=False):
    """``numpy.prod``; the gradient is exact when entries are zero."""
    return bind(_prod, x, axis=_axes_tuple(axis, ndim_of(x)), keepdims=bool(keepdims))


prod.primitive = _prod

# ---------------------------------------------------------------- cumsum --------------


def _cumsum_impl(x, axis):
    return np.cumsum(x, axis=axis)


_cumsum = register(
    "cumsum", _cumsum_impl,
    lambda t, ans, x, axis: bind(_cumsum, t, axis=axis),
    lambda g, ans, x, axis: flip(bind(_cumsum, flip(g, axis), axis=axis), axis),
    linear=(0,), domain=lambda rng: [([rng.normal(size=(3, 4))], {"axis": -1}),
                                     ([rng.normal(size=(3, 4))], {"axis": -2})],
    keep=(), keep_ans=False, sparsity="scan")


def cumsum(x, axis=None):
    """``numpy.cumsum`` (``axis=None`` flattens first)."""
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
    flat = labels.reshape(-1)
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
    return subtract(p, _onehot(labels, shape_of(z), np.result_type(value(z), np.float64)))


def _sce_jvp(t, ans, z, labels):
    return bind(_sum, multiply(t, _sce_residual(z, labels)), axis=(-1,), keepdims=False)


def _sce_vjp(g, ans, z, labels):
    gs = shape_of(g)
    return multiply(bind(_reshape_p, g, shape=gs + (1,)), _sce_residual(z, labels))


def _sce_domain(rng):
    return [([rng.normal(size=(4, 3)) * 2], {"labels": np.array([0, 2, 2, 1])}),
            ([rng.normal(size=(2, 3, 5))], {"labels": np.array([[0, 4, 1], [3, 3, 2]])}),
            ([rng.normal(size=(70, 3)) * 3], {"labels": rng.integers(0, 3, 70)})]


_sce = register("softmax_cross_entropy", _sce_impl, _sce_jvp, _sce_vjp, analytic=False,
                domain=_sce_domain, keep=(0,), keep_ans=False)


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
    labels = np.asarray(value(labels))
    shape = shape_of(logits)
    if labels.dtype.kind not in "iu" or labels.shape != shape[:-1]:
        raise ValueError(f"softmax_cross_entropy: labels must be integers of shape "
                         f"{shape[:-1]} for logits of shape {shape}; got {labels.dtype} "
                         f"{labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= shape[-1]):
        raise ValueError(f"softmax_cross_entropy: labels must lie in [0, {shape[-1]})")
    return bind(_sce, logits, labels=labels)


softmax_cross_entropy.primitive = _sce
