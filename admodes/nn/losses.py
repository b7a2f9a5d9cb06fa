"""Losses: ``mse``, ``cross_entropy`` (stable log-sum-exp), binary cross-entropy with
logits, ``accuracy``."""

from __future__ import annotations

import numpy as np

from .. import numpy as anp
from ..dispatch import Box, shape_of, value
from ..ops.reductions import softmax_cross_entropy

__all__ = ["mse", "cross_entropy", "binary_cross_entropy_with_logits", "accuracy"]


# ---------------------------------------------------------------- losses ---------------

_REDUCTIONS = ("mean", "sum", "none")


def _reduce(per_example, n, reduction, fname):
    if reduction == "mean":
        return anp.sum(per_example) / float(n)
    if reduction == "sum":
        return anp.sum(per_example)
    if reduction == "none":
        return per_example
    raise ValueError(f"{fname}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _same_shape(a, b, fname, names):
    sa, sb = shape_of(a), shape_of(b)
    if sa != sb:
        raise ValueError(f"{fname}: {names[0]} has shape {sa} but {names[1]} has shape "
                         f"{sb}; they must match exactly (no broadcasting: a (N, 1) vs (N,) "
                         "mismatch is almost always a bug)")


def _as_target(t):
    if isinstance(t, Box):
        return t
    t = np.asarray(t)
    if t.dtype.kind not in "biuf":
        raise TypeError(f"target has dtype {t.dtype}; expected numbers")
    return t if t.dtype.kind == "f" else t.astype(np.float64)


def mse(pred, target, reduction="mean"):
    """Mean squared error ``mean((pred - target) ** 2)``; gradient
    ``2 (pred - target) / n``.

    Args:
        pred: predictions (any shape).
        target: same shape as ``pred``.
        reduction: ``"mean"`` (over all elements), ``"sum"`` or ``"none"``.

    Returns:
        A scalar (or the elementwise squared errors for ``"none"``).

    >>> from admodes import nn
    >>> float(nn.mse(np.array([1.0, 3.0]), np.array([0.0, 1.0])))
    2.5
    """
    _same_shape(pred, target, "mse", ("pred", "target"))
    d = pred - _as_target(target)
    sq = d * d
    n = max(1, int(np.prod(shape_of(pred), dtype=np.int64)))
    return _reduce(sq, n, reduction, "mse")


def cross_entropy(logits, labels, reduction="mean"):
    """Softmax cross-entropy from logits, computed with log-sum-exp (stable for logits
    of any size).

    ``loss_i = logsumexp(z_i) - z_i[y_i]`` for integer labels, ``-sum_c t_ic
    log_softmax(z_i)_c`` for targets ``t`` of the logits' shape (one-hot or
    probabilities).  With ``reduction="mean"`` the gradient is the textbook
    ``(softmax(z) - onehot(y)) / N``.

    Args:
        logits: shape ``(N, C)``.
        labels: integer class indices of shape ``(N,)`` in ``[0, C)``, or targets of
            shape ``(N, C)``.
        reduction: ``"mean"`` (over examples), ``"sum"`` or ``"none"``.

    Returns:
        The loss (a scalar unless ``reduction="none"``).

    >>> import admodes as ad
    >>> from admodes import nn
    >>> z = np.array([[1000.0, -1000.0], [0.0, 0.0]])
    >>> float(nn.cross_entropy(z, np.array([0, 1]))), float(np.log(2) / 2)
    (0.34657359027997264, 0.34657359027997264)
    >>> ad.grad(nn.cross_entropy)(z, np.array([1, 0]))       # (softmax - onehot) / N
    array([[ 0.5 , -0.5 ],
           [-0.25,  0.25]])
    """
    shape = shape_of(logits)
    if len(shape) != 2:
        raise ValueError(f"cross_entropy: logits must have shape (N, C), one row of class "
                         f"scores per example; got shape {shape}")
    n, c = shape
    data = isinstance(labels, Box) and np.asarray(value(labels)).dtype.kind in "iu"
    if not isinstance(labels, Box) or data:  # (data: integer labels traced by ad.trace)
        y = np.asarray(value(labels))
        if y.dtype.kind in "iu" or (y.dtype.kind == "f" and y.shape == (n,)) or y.dtype.kind == "b":
            if y.dtype.kind not in "iu":
                raise TypeError(f"cross_entropy: labels of shape {y.shape} must be integer "
                                f"class indices, got dtype {y.dtype}; use labels.astype(int), "
                                f"or pass targets of shape {(n, c)}")
            if y.shape != (n,):
                raise ValueError(f"cross_entropy: integer labels must have shape ({n},) to "
                                 f"match logits of shape {shape}; got {y.shape}")
            if n and (y.min() < 0 or y.max() >= c):
                bad = y[(y < 0) | (y >= c)]
                raise ValueError(f"cross_entropy: labels must lie in [0, {c}) for {c} "
                                 f"classes; got out-of-range label(s) {bad[:5].tolist()}")
            # one primitive: logsumexp(z_i) - z_i[y_i], cotangent softmax - onehot
            y = labels if data else y
            return _reduce(softmax_cross_entropy(logits, y), n, reduction, "cross_entropy")
    _same_shape(logits, labels, "cross_entropy", ("logits", "targets"))
    t = _as_target(labels)
    lse = anp.logsumexp(logits, axis=1)
    per = anp.sum(t, axis=1) * lse - anp.sum(t * logits, axis=1)
    return _reduce(per, n, reduction, "cross_entropy")


def binary_cross_entropy_with_logits(logits, targets, reduction="mean"):
    """Binary cross-entropy of ``sigmoid(logits)`` against ``targets`` in [0, 1],
    computed from the logits as ``softplus(z) - t z`` (stable for any z); gradient
    ``(sigmoid(z) - t) / n``.

    Args:
        logits: any shape.
        targets: same shape, values in [0, 1] (bools and ints accepted).
        reduction: ``"mean"`` (over all elements), ``"sum"`` or ``"none"``.

    Returns:
        The loss.

    >>> from admodes import nn
    >>> z, t = np.array([0.0, 1000.0]), np.array([1.0, 1.0])
    >>> float(nn.binary_cross_entropy_with_logits(z, t)), float(np.log(2) / 2)
    (0.34657359027997264, 0.34657359027997264)
    """
    _same_shape(logits, targets, "binary_cross_entropy_with_logits", ("logits", "targets"))
    t = _as_target(targets)
    per = anp.softplus(logits) - t * logits
    n = max(1, int(np.prod(shape_of(logits), dtype=np.int64)))
    return _reduce(per, n, reduction, "binary_cross_entropy_with_logits")


def accuracy(logits, labels):
    """Fraction of rows whose largest logit is at the label (a plain float).

    Args:
        logits: ``(batch, classes)`` scores (plain or traced).
        labels: ``(batch,)`` integer labels.

    Returns:
        The accuracy, a Python float (no derivative: it is piecewise constant).

    >>> from admodes import nn
    >>> nn.accuracy(np.array([[2.0, 1.0], [0.0, 3.0]]), np.array([0, 0]))
    0.5
    """
    pred = np.argmax(value(logits), axis=-1)
    y = np.asarray(labels)
    if y.ndim == pred.ndim + 1:
        y = np.argmax(y, axis=-1)
    return float(np.mean(pred == y))
