"""Optimisers: ``SGD`` and ``Adam``, each with ``step()`` and a functional ``update()``."""

from __future__ import annotations

from typing import Any

from .. import numpy as anp
from ..dispatch import shape_of
from ..tree import flatten, unflatten
from .modules import Module
from .tape import Parameter

__all__ = ["Optimizer", "SGD", "Adam"]


# ---------------------------------------------------------------- optimisers -----------


class Optimizer:
    """Base of the optimisers: per-slot state, ``step()`` over parameters and
    ``update(params, grads)`` over a pytree of arrays.

    Subclasses implement ``_rule(state, x, g) -> new x`` using only operators and
    ``admodes.numpy``, so an update can itself be differentiated.

    >>> import numpy as np
    >>> from admodes import nn
    >>> class HalfStep(nn.Optimizer):
    ...     def _rule(self, state, x, g):
    ...         return x - 0.5 * g
    >>> HalfStep().update({"w": np.array([1.0])}, {"w": np.array([4.0])})
    {'w': array([-1.])}
    """

    def __init__(self, params=None):
        if isinstance(params, Module):
            params = params.parameters()
        self.params = [] if params is None else list(params)
        for i, p in enumerate(self.params):
            if not isinstance(p, Parameter):
                raise TypeError(
                    f"{type(self).__name__}: item {i} of params is a {type(p).__name__}, "
                    "not an nn.Parameter; for arrays use the functional "
                    "opt.update(params, grads) and build the optimiser without params")
        self.state = {}

    def zero_grad(self) -> None:
        """Reset the ``.grad`` of every managed parameter to ``None``."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """Update every managed parameter that has a ``.grad`` (in place of ``.data``)."""
        if not self.params:
            raise RuntimeError(f"{type(self).__name__}.step(): no parameters to update; "
                               "pass them to the constructor, or use update(params, grads)")
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            p._primal = self._apply(("param", i), p._primal, p.grad)

    def update(self, params: Any, grads: Any) -> Any:
        """The functional step: returns new params (same pytree) from ``grads``.

        Args:
            params: a pytree (dict, list, tuple) of arrays.
            grads: gradients with the same structure (e.g. from ``ad.grad``).

        Returns:
            The updated pytree.  Optimiser state (momentum, moments) is kept per leaf
            position, so pass the same structure every time.
        """
        leaves, td = flatten(params)
        gleaves, gtd = flatten(grads)
        if gtd != td:
            raise ValueError(f"{type(self).__name__}.update: grads must have the "
                             "structure of params")
        new = []
        for i, (x, g) in enumerate(zip(leaves, gleaves)):
            if shape_of(x) != shape_of(g):
                raise ValueError(f"{type(self).__name__}.update: leaf {i} has shape "
                                 f"{shape_of(x)} but its gradient has shape {shape_of(g)}")
            new.append(self._apply(("leaf", i), x, g))
        return unflatten(td, new)

    def _apply(self, key, x, g):
        st = self.state.get(key)
        if st is None:
            st = self.state[key] = {"t": 0}
        st["t"] += 1
        return self._rule(st, x, g)

    def _rule(self, state, x, g):  # pragma: no cover - abstract
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum and L2 weight decay:
    ``d = g + weight_decay * x``; ``v = momentum * v + d``; ``x = x - lr * v``
    (``v = d`` without momentum).

    Args:
        params: parameters (or a Module) for ``step()``; omit for ``update()``.
        lr: step size (required).
        momentum, weight_decay: as in the formula.

    >>> import numpy as np
    >>> from admodes import nn
    >>> nn.SGD(lr=0.1).update({"w": np.array([1.0])}, {"w": np.array([2.0])})
    {'w': array([0.8])}
    """

    def __init__(self, params=None, lr=None, momentum=0.0, weight_decay=0.0):
        if lr is None:
            raise TypeError("SGD: lr (the step size) is required, e.g. SGD(params, lr=0.1)")
        super().__init__(params)
        self.lr, self.momentum, self.weight_decay = float(lr), float(momentum), float(weight_decay)

    def _rule(self, st, x, g):
        if self.weight_decay:
            g = g + self.weight_decay * x
        if self.momentum:
            v = st.get("v")
            g = st["v"] = g if v is None else self.momentum * v + g
        return x - self.lr * g


class Adam(Optimizer):
    """Adam: moment estimates with bias correction.  With step count ``t``,
    ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g**2``,
    ``x = x - lr * (m / (1 - b1**t)) / (sqrt(v / (1 - b2**t)) + eps)``
    (``g`` includes ``weight_decay * x`` when set).

    Args:
        params: parameters (or a Module) for ``step()``; omit for ``update()``.
        lr, betas, eps, weight_decay: as in the formula.

    >>> import numpy as np
    >>> from admodes import nn
    >>> nn.Adam(lr=0.1).update([np.array([1.0])], [np.array([5.0])])   # first step: lr * sign(g)
    [array([0.9])]
    """

    def __init__(self, params=None, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params)
        b1, b2 = betas
        if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
            raise ValueError(f"Adam: betas must lie in [0, 1), got {betas}")
        self.lr, self.betas, self.eps = float(lr), (float(b1), float(b2)), float(eps)
        self.weight_decay = float(weight_decay)

    def _rule(self, st, x, g):
        b1, b2 = self.betas
        t = st["t"]
        if self.weight_decay:
            g = g + self.weight_decay * x
        m = st.get("m")
        v = st.get("v")
        m = st["m"] = (1 - b1) * g if m is None else b1 * m + (1 - b1) * g
        v = st["v"] = (1 - b2) * (g * g) if v is None else b2 * v + (1 - b2) * (g * g)
        m_hat = m / (1 - b1 ** t)
        v_hat = v / (1 - b2 ** t)
        return x - self.lr * m_hat / (anp.sqrt(v_hat) + self.eps)
