"""Rules under a static-graph trace: each JVP or VJP rule that runs while ``ad.trace`` or
``ad.jit`` records is applied through the modes' ``apply`` hooks
(:data:`admodes.reverse.trace_hook`, :data:`admodes.forward.rule_hook`).

Rules are admodes ops, so they trace like user code, except where a rule computes with
plain values (``ad.value``: a tie mask, a clip mask, a sort order).  Such numbers are
invisible to the trace; recorded as they are, they would be frozen into the program and
silently wrong at other inputs.  So while a rule runs, ``ad.value`` of the trace's values
returns an :class:`~admodes.graph.trace._Opaque` (a shape, no value): a rule that reads
one raises :class:`~admodes.graph.trace._ImpureRule` and is recorded as one opaque call
on the trace's values instead (evaluated afresh at every replay).  An opaque call cannot
be differentiated, so where such a rule is applied to values of an inner transformation
(inside nested differentiation) the trace stops with :class:`Untraceable`.
"""

from __future__ import annotations

import contextlib
import functools

import numpy as np

from .. import forward, reverse
from ..dispatch import Box, shape_of
from .trace import _ImpureRule, _Opaque, _Tracer

__all__ = ["Untraceable", "rule_hooks"]


class Untraceable(BaseException):  # noqa: N818 - a signal, caught by ad.jit and ad.trace
    """A rule that reads plain values ran on values of an inner transformation.

    A BaseException so that no ``except Exception`` in user code or a rule swallows it."""


def _hide(level, args):
    """While a rule runs, what ``ad.value`` returns for this level's values in ``args``
    is an :class:`_Opaque`; returns the list to restore."""
    swapped = []
    for a in args:
        while isinstance(a, Box):
            if isinstance(a, _Tracer) and a._level is level:
                if not isinstance(a._primal, _Opaque):
                    shown = _Opaque(shape_of(a._val), np.result_type(a._val))
                    level.linked[id(shown)] = a._id
                    level.hidden[a._id] = a._val
                    level.keep.append(shown)
                    swapped.append((a, a._primal))
                    a._primal = shown
                break
            a = a._primal
    return swapped


def _pick(i, both):
    return both[i]


def _traced(level, label, fn, args, n_out):
    """``fn(*args)`` traced; if it reads plain values, one opaque call (``n_out``: the
    number of outputs of a joint rule, None for one output)."""
    labelled = hasattr(level, "rule")  # ad.jit's level keeps a comment per node
    if labelled:
        prev, level.rule = level.rule, label
    level.in_rule += 1  # values the rule makes are opaque while it runs, too
    try:
        swapped = _hide(level, args)
        try:
            out = fn(*args)
            return tuple(out) if n_out is not None else out
        except _ImpureRule:
            pass
        finally:
            for a, p in swapped:
                a._primal = p
        if any(isinstance(a, Box) and not (isinstance(a, _Tracer) and a._level is level)
               for a in args):
            raise Untraceable(f"the {label} rule reads plain values (ad.value) and is "
                              "applied to values of an inner transformation, so it cannot "
                              "be recorded")
        both = level.call(fn, args, label)
        if n_out is None:
            return both
        return tuple(level.call(functools.partial(_pick, i), (both,), label)
                     for i in range(n_out))
    finally:
        level.in_rule -= 1
        if not level.in_rule:
            level.show()
        if labelled:
            level.rule = prev


def _vjp_rule(rule, params, g, ans, *primals):
    return rule(g, ans, *primals, **params)


def _vjp_joint(joint, params, g, ans, *primals):
    return tuple(joint(g, ans, primals, params))


def _jvp_rule(rule, params, t, ans, *primals):
    return rule(t, ans, *primals, **params)


def _jvp_joint(joint, params, n, *args):
    return joint(args[:n], args[n], args[n + 1:], params)


def _label(level, kind, prim, ans):
    label = f"{kind} of {prim.name}"
    where = getattr(level, "where", None)
    if where and isinstance(ans, _Tracer) and ans._level is level and where.get(ans._id):
        label += f": {where[ans._id].split('  (')[0]}"
    return label


def _sweep_apply(level):
    def apply(prim, rule, g, ans, primals, params):
        label = _label(level, "vjp", prim, ans)
        args = (g, ans) + tuple(primals)
        if rule is None:
            return _traced(level, label, functools.partial(_vjp_joint, prim.vjp_joint, params),
                           args, len(primals))
        return _traced(level, label, functools.partial(_vjp_rule, rule, params), args, None)
    return apply


def _forward_apply(level):
    def apply(prim, rule, t, ans, primals, params):
        label = _label(level, "jvp", prim, ans)
        if rule is None:  # a joint rule: t is the tuple of every argument's tangent
            n = len(t)
            return _traced(level, label,
                           functools.partial(_jvp_joint, prim.jvp_joint, params, n),
                           tuple(t) + (ans,) + tuple(primals), None)
        return _traced(level, label, functools.partial(_jvp_rule, rule, params),
                       (t, ans) + tuple(primals), None)
    return apply


@contextlib.contextmanager
def rule_hooks(level):
    """While the block runs (on this thread), every VJP rule of a reverse sweep and every
    JVP rule of a forward level opened meanwhile is applied through ``level``: traced,
    or recorded as an opaque call when it reads plain values."""
    prev = reverse.trace_hook.apply, forward.rule_hook.apply
    reverse.trace_hook.apply = _sweep_apply(level)
    forward.rule_hook.apply = _forward_apply(level)
    try:
        yield
    finally:
        reverse.trace_hook.apply, forward.rule_hook.apply = prev
