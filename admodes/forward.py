"""Forward mode: dual numbers that carry a tangent along with every value.

A :class:`Dual` holds ``(primal, tangent, level)``.  Applying a primitive to duals runs
the primitive on the primals and sums the JVP-rule contributions of the non-zero
tangents.  A tangent of ``None`` is a *symbolic zero*: no rule runs for it.

Tangents may carry one leading batch axis (``ForwardLevel(batch=True)``): then every
tangent has shape ``(B,) + primal.shape`` and one sweep pushes ``B`` directions at once.
That is how ``jacfwd`` and ``grad(mode="forward")`` cost one Python-level pass per chunk
of directions rather than one per direction (the ForwardDiff.jl "chunk" idea).
"""

from __future__ import annotations

import threading

import numpy as np

from . import dispatch
from .dispatch import Box, Level, bind, ndim_of, shape_of
from .ops.elementwise import add, subtract
from .ops.shape import broadcast_to, reshape

__all__ = ["Dual", "ForwardLevel"]

# The few primitives forward mode applies itself (summing and broadcasting tangents).
_add, _broadcast_to, _reshape = add.primitive, broadcast_to.primitive, reshape.primitive
_subtract = subtract.primitive


class Dual(Box):
    """A value and its tangent at one forward-mode level."""

    __slots__ = ("_tangent",)

    def __init__(self, primal, tangent, level):
        self._primal = primal
        self._tangent = tangent
        self._level = level


class _RuleHook(threading.local):
    """Set by a static-graph trace (``ad.trace``, ``ad.jit``) while it runs (per thread):
    ``apply(prim, rule, t, ans, primals, params)`` applies every JVP rule of the forward
    levels opened meanwhile (``rule`` is None for a joint rule, ``t`` then the tuple of
    tangents), so a rule that reads plain values can be recorded as one opaque call."""

    apply = None


rule_hook = _RuleHook()


class ForwardLevel(Level):
    """A forward-mode transformation call (``jvp``, ``jacfwd``, forward ``grad``)."""

    __slots__ = ("batch", "apply")
    kind = "forward"

    def __init__(self, batch=False):
        super().__init__()
        self.batch = batch
        self.apply = rule_hook.apply  # read once: levels are opened inside the trace

    def wrap2(self, prim, params, a, b, ans, ma, mb):
        rules = prim.jvps
        if (type(ans) is float and not self.batch and type(rules) is tuple
                and len(rules) == 2 and None not in rules and self.apply is None):
            # scalar code: float tangents, no broadcasting to handle
            if dispatch._counting:
                prim.n_jvp += (ma is not None) + (mb is not None)
            out = None if ma is None else rules[0](ma._tangent, ans, a, b, **params)
            if mb is not None:
                c = rules[1](mb._tangent, ans, a, b, **params)
                out = c if out is None else (out + c if type(out) is float and type(c) is float
                                             else bind(_add, out, c))
            return Dual(ans, out, self)
        return self.wrap(prim, params, [a, b], ans, [ma, mb])

    def wrap(self, prim, params, primals, ans, mine):
        tangents = [None if b is None else b._tangent for b in mine]
        if prim.jvp_joint is not None:
            return Dual(ans, self._joint(prim, primals, tangents, ans, params), self)
        rules = prim.jvps
        if rules is None:
            raise _missing_rule(prim)
        elementwise = prim.elementwise and len(primals) > 1
        if elementwise and self.batch:
            out_nd = ndim_of(ans)
        out = None
        for i, t in enumerate(tangents):
            if t is None:
                continue
            try:
                rule = rules[i]
            except IndexError:
                rule = None
            if rule is None:
                raise _missing_rule(prim, i)
            if elementwise and self.batch:
                nd = ndim_of(primals[i])
                if nd < out_nd:
                    ts = shape_of(t)
                    k = len(ts) - nd
                    t = bind(_reshape, t, shape=ts[:k] + (1,) * (out_nd - nd) + ts[k:])
            if dispatch._counting:
                prim.n_jvp += 1
            if prim is _subtract and out is not None:
                # ta - tb in one operation instead of ta + (-tb): on batched tangents
                # (jacfwd, Hessians, sparse Jacobians) a full pass over B directions less
                out = out - t if type(out) is float and type(t) is float else \
                    bind(_subtract, out, t)
                continue
            c = rule(t, ans, *primals, **params) if self.apply is None else \
                self.apply(prim, rule, t, ans, primals, params)
            if out is None:
                out = c
            elif type(out) is float and type(c) is float:
                out = out + c
            else:
                out = bind(_add, out, c)
        if elementwise and type(out) is not float:
            want = shape_of(ans)
            if self.batch:
                want = shape_of(out)[:1] + want
            if shape_of(out) != want:
                out = bind(_broadcast_to, out, shape=want)
        return Dual(ans, out, self)

    def _joint(self, prim, primals, tangents, ans, params):
        lead = ()
        for t, x in zip(tangents, primals):
            if t is not None:
                lead = shape_of(t)[:ndim_of(t) - ndim_of(x)]
                break
        full = tuple(t if t is not None else np.zeros(lead + shape_of(x))
                     for t, x in zip(tangents, primals))
        if dispatch._counting:
            prim.n_jvp += 1
        if self.apply is not None:
            return self.apply(prim, None, full, ans, primals, params)
        return prim.jvp_joint(full, ans, primals, params)


def _missing_rule(prim, i=None):
    where = "" if i is None else f" for argument {i}"
    return NotImplementedError(
        f"{prim.name}: no forward-mode (JVP) rule{where}; this primitive can only be "
        "differentiated in reverse mode (use mode='reverse' / jacrev / vjp)"
    )
