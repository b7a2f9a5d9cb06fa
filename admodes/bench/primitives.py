"""Per-primitive micro benchmarks: each registered primitive on its own test domain."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import admodes as ad
from admodes.dispatch import bind

__all__ = ["PrimitiveCase", "primitive_cases"]


@dataclass
class PrimitiveCase:
    """One primitive applied to the first input of its test domain.

    ``fun(*xs)`` applies the primitive with its non-float arguments fixed; ``xs`` are
    the float arguments; ``ct`` is a cotangent shaped like the output.
    """

    name: str
    fun: object
    xs: list
    ct: object

    def forward(self):
        """The recording pass alone: ``ad.vjp`` (returns the ``vjp_fun``)."""
        return ad.vjp(self.fun, *self.xs)[1]

    def backward(self, vjp_fun):
        """The backward sweep alone, over an already recorded tape."""
        return vjp_fun(self.ct)

    def jvp(self):
        return ad.jvp(self.fun, tuple(self.xs), tuple(np.ones_like(x) for x in self.xs))


def primitive_cases(seed=1):
    """A :class:`PrimitiveCase` for every built-in differentiable primitive with a
    domain (custom, user-registered ones are left out)."""
    out = []
    for name, prim in ad.registry.items():
        if name in ad.registry._custom or prim.nondiff or prim.domain is None:
            continue
        args, params = prim.domain(np.random.default_rng(seed))[0]
        diff = [i for i, a in enumerate(args) if np.asarray(a).dtype.kind == "f"]

        def fun(*xs, prim=prim, args=args, params=params, diff=diff):
            full = list(args)
            for i, x in zip(diff, xs):
                full[i] = x
            return bind(prim, *full, **params)

        xs = [np.asarray(args[i], dtype=float) for i in diff]
        ans = fun(*xs)
        ct = 1.0 if np.ndim(ans) == 0 else np.ones(np.shape(ans))
        out.append(PrimitiveCase(name, fun, xs, ct))
    return out
