"""The op registry: one record per primitive, with its value function and both rules.

Every derivative rule in admodes is written with admodes' own ops (never raw numpy on
its arguments), so a rule applied to boxed values is itself recorded or dual-numbered
by an outer transformation: that is what makes ``hessian``, ``hvp`` and
``grad(grad(f))`` work with no extra code.

Rule signatures (one vocabulary everywhere):

* ``jvp`` rule for argument ``i``: ``rule(t, ans, *primals, **params)`` returns the
  contribution of the tangent ``t`` of argument ``i`` to the output tangent.
* ``vjp`` rule for argument ``i``: ``rule(g, ans, *primals, **params)`` returns the
  cotangent of argument ``i`` given the output cotangent ``g``.

Rules are *batch-polymorphic*: a tangent or cotangent may carry leading batch axes in
front of the primal's shape (``t.ndim - x.ndim`` of them).  That is how ``jacfwd`` pushes
many tangent directions and ``jacrev`` many cotangent rows through one sweep.  Rules use
negative axes and ``...`` so that the batch axes ride along.

Markers (three different things, as in PyTorch's derivatives.yaml):

* ``nondiff=True``: the output has a zero derivative everywhere it exists (``sign``,
  comparisons, ``floor``, ``argmax``); its outputs are never boxed.
* a rule that is ``None``: not implemented (yet); using it raises a clear error naming the
  primitive and the mode.
* ``keep`` / ``keep_ans``: the residuals the VJP rules read (see :class:`Primitive`).
* ``sparsity``: how index sets flow through the primitive, for structural sparsity
  detection (:mod:`admodes.sparse`); ``elementwise`` primitives need none.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["Primitive", "registry", "register", "Registry"]


class _Variadic:
    """Per-argument rules for a primitive with any number of arguments.

    ``fn(i, cot_or_tan, ans, *primals, **params)`` serves every argument; indexing gives
    a rule of the ordinary signature for argument ``i``.
    """

    __slots__ = ("fn", "_cache")

    def __init__(self, fn):
        self.fn = fn
        self._cache = {}

    def __getitem__(self, i):
        rule = self._cache.get(i)
        if rule is None:
            fn = self.fn

            def rule(c, ans, *primals, **params):
                return fn(i, c, ans, *primals, **params)

            self._cache[i] = rule
        return rule


def variadic(fn):
    """Mark ``fn(i, c, ans, *primals, **params)`` as the rule for every argument ``i``."""
    return _Variadic(fn)


class Primitive:
    """One primitive: its numpy value function and its JVP and VJP rules, side by side.

    Attributes:
        name: registry key.
        impl: the numpy value function; it only ever sees unboxed values.
        jvps: per-argument JVP rules (tuple, or a ``variadic`` rule), ``None`` entries
            mean "not implemented".
        vjps: per-argument VJP rules, same layout.
        elementwise: numpy broadcasting applies; the modes pad tangents and un-broadcast
            cotangents, so the rules never have to.
        nondiff: zero derivative; outputs are plain values.
        domain: optional ``domain(rng) -> list[(args, params)]`` of test inputs.
        analytic: the primitive is complex-analytic (usable under complex step).
        counts: number of impl evaluations, JVP and VJP rule applications (only
            while counting is switched on, see :func:`admodes.dispatch.counting`).
        sparsity: structural-sparsity rule (:mod:`admodes.sparse.detect`): ``"index"``
            (the output's entries are copies of the array arguments' entries, or zero:
            the impl applied to element ids says which), ``"reduce"`` (reduces along the
            ``axis`` parameter), ``"scan"`` (cumsum, cumprod), ``"scatter"`` (scatter-add),
            ``"matmul"``, or ``None``: derived from ``elementwise``, else dense
            (conservative).
    """

    __slots__ = (
        "name", "impl", "jvps", "vjps", "elementwise", "nondiff",
        "domain", "analytic", "doc", "n_impl", "n_jvp", "n_vjp", "jvp_joint",
        "vjp_joint", "keep", "keep_ans", "needs", "vjp_into", "sparsity", "__weakref__",
    )

    def __init__(self, name, impl, jvp=None, vjp=None, *, elementwise=False,
                 nondiff=False, domain=None, analytic=True, doc="",
                 jvp_joint=None, vjp_joint=None, keep=None, keep_ans=True, needs=None,
                 vjp_into=None, sparsity=None):
        self.name = name
        self.impl = impl
        self.jvps = _as_rules(jvp)
        self.vjps = _as_rules(vjp)
        self.elementwise = elementwise
        self.nondiff = nondiff
        self.domain = domain
        self.analytic = analytic
        self.doc = doc
        self.n_impl = self.n_jvp = self.n_vjp = 0
        # Joint rules serve all arguments in one call (custom Operations):
        # jvp_joint(tangents, ans, primals, params) -> output tangent, with zero-filled
        # tangents; vjp_joint(g, ans, primals, params) -> tuple of cotangents.
        self.jvp_joint = jvp_joint
        self.vjp_joint = vjp_joint
        # Residuals: which arguments' *values* the VJP rules read (None: all), and
        # whether they read ``ans``.  The tape keeps only those; the others are replaced
        # by data-free placeholders of the same shape, so their memory is freed as soon
        # as the user's code drops them (as hand-written backprop would).
        self.keep = None if keep is None else frozenset(keep)
        self.keep_ans = keep_ans
        # Finer, per argument: needs[i] = the argument numbers (-1 for ans) that the VJP
        # rule of argument i reads; only the rules of arguments on the tape count.
        self.needs = None if needs is None else tuple(frozenset(n) for n in needs)
        # Optional in-place form of a one-argument VJP on plain arrays:
        # vjp_into(total, g, ans, *primals, **params) adds the cotangent into ``total``
        # (used by the sweep when it owns the running total; getitem scatters with it).
        # Its result must equal total + vjp(g); the registry tests run both paths.
        self.vjp_into = vjp_into
        self.sparsity = sparsity

    def has_jvp(self, i=0):
        return self.nondiff or self.jvp_joint is not None or _rule_at(self.jvps, i) is not None

    def has_vjp(self, i=0):
        return self.nondiff or self.vjp_joint is not None or _rule_at(self.vjps, i) is not None

    def __repr__(self):
        flags = [f for f, on in (("elementwise", self.elementwise),
                                 ("nondiff", self.nondiff)) if on]
        return f"Primitive({self.name!r}{', ' if flags else ''}{', '.join(flags)})"


def _as_rules(rules):
    if rules is None or isinstance(rules, _Variadic):
        return rules
    if callable(rules):
        return (rules,)
    return tuple(rules)


def _rule_at(rules, i):
    if rules is None:
        return None
    if isinstance(rules, _Variadic):
        return rules[i]
    return rules[i] if i < len(rules) else None


class Registry(Mapping):
    """Name -> :class:`Primitive`.  Read-only for users; add with :func:`register` (or
    as a user, with ``ad.primitive`` / ``ad.Operation``).

    >>> import admodes as ad
    >>> p = ad.registry["sin"]
    >>> p.name, p.elementwise, p.has_jvp(0), p.has_vjp(0)
    ('sin', True, True, True)
    >>> "argmax" in ad.registry and ad.registry["argmax"].nondiff
    True
    """

    def __init__(self):
        self._prims: dict[str, Primitive] = {}
        self._custom: set[str] = set()  # names registered by users (replaceable)

    def __getitem__(self, name):
        return self._prims[name]

    def __iter__(self):
        return iter(self._prims)

    def __len__(self):
        return len(self._prims)

    def __repr__(self):
        return f"<admodes registry: {len(self)} primitives>"

    def _add(self, prim: Primitive, *, replace=False):
        if not replace and prim.name in self._prims:
            raise ValueError(f"a primitive named {prim.name!r} is already registered")
        self._prims[prim.name] = prim
        return prim


registry = Registry()


def register(name: str, impl: Callable, jvp: Any = None, vjp: Any = None, *,
             replace: bool = False, **markers) -> Primitive:
    """Create a :class:`Primitive` and add it to the registry."""
    return registry._add(Primitive(name, impl, jvp, vjp, **markers), replace=replace)
