"""Reverse mode: a tape recorded in execution order, swept backwards.

Each call of a reverse-mode transformation opens a :class:`ReverseLevel` that owns a
tape: a Wengert list of entries ``(prim, params, primals, ans, parents)`` appended as the
user's function runs.  Execution order is a topological order, so the backward sweep is
one reversed loop (no recursion, no graph search): it pops the cotangent of each entry,
applies the VJP rule of each parent that needs one, and *sums* the contributions that
reach the same entry along different paths (the multiple-paths chain rule).  Entries with
no cotangent (they do not lead to the output) are skipped; constants never enter the tape.

The tape outlives its level: ``vjp_fun`` and ``jacrev`` sweep it again for every new
cotangent, reusing one forward pass.
"""

from __future__ import annotations

import threading

import numpy as np

from . import dispatch
from .dispatch import Box, Level, bind, ndim_of, shape_of
from .ops.complex import real
from .ops.elementwise import add
from .ops.reductions import unbroadcast

__all__ = ["Var", "ReverseLevel", "backward", "unbroadcast"]

_add = add.primitive  # fan-in: the one primitive the sweep applies itself
_real = real.primitive  # a real argument's share of a complex cotangent


class Var(Box):
    """A value recorded on a reverse-mode tape (``_idx`` is its tape entry)."""

    __slots__ = ("_idx",)

    def __init__(self, primal, level, idx):
        self._primal = primal
        self._level = level
        self._idx = idx


class ReverseLevel(Level):
    """A reverse-mode transformation call and its tape."""

    __slots__ = ("tape",)
    kind = "reverse"

    def __init__(self):
        super().__init__()
        self.tape = []

    def leaf(self, x):
        """Box an input: a tape entry with no primitive."""
        self.tape.append(None)
        return Var(x, self, len(self.tape) - 1)

    def wrap2(self, prim, params, a, b, ans, ma, mb):
        if type(ans) is float and (prim.vjps is not None or prim.vjp_joint is not None):
            # scalar code: no residuals to drop, so record straight away
            tape = self.tape
            tape.append((prim, params, (a, b), ans,
                         (None if ma is None else ma._idx, None if mb is None else mb._idx)))
            return Var(ans, self, len(tape) - 1)
        return self.wrap(prim, params, [a, b], ans, [ma, mb])

    def wrap(self, prim, params, primals, ans, mine):
        parents = [None if m is None else m._idx for m in mine]
        if prim.vjps is None and prim.vjp_joint is None:
            raise _missing_rule(prim)
        saved_ans = ans
        big = PLACEHOLDER_MIN_SIZE
        large = type(ans) is np.ndarray and ans.size >= big
        if not large:
            for p in primals:
                if type(p) is np.ndarray and p.size >= big:
                    large = True
                    break
        if large:  # residuals worth dropping
            keep, keep_ans = prim.keep, prim.keep_ans
            if prim.needs is not None:
                keep = frozenset().union(*[n for n, p in zip(prim.needs, parents)
                                           if p is not None])
                keep_ans = -1 in keep
            if keep is not None:
                for i, p in enumerate(primals):
                    if i not in keep and type(p) is np.ndarray and p.size >= big:
                        primals[i] = placeholder(p)
            if not keep_ans and type(ans) is np.ndarray and ans.size >= big:
                saved_ans = placeholder(ans)
        tape = self.tape
        tape.append((prim, params, primals, saved_ans, parents))
        return Var(ans, self, len(tape) - 1)


# Arrays at least this large that a primitive's VJP does not read are not kept on the
# tape (the tests set it to 0 so that every declaration is exercised).
PLACEHOLDER_MIN_SIZE = 4096

_PLACEHOLDERS = {}  # (shape, dtype) -> the read-only stand-in, shared (it holds no data)


def placeholder(x):
    """A data-free stand-in for ``x``: same shape and dtype, zero strides over one NaN
    (so a rule that wrongly reads it gives NaN, which the registry tests catch)."""
    key = (x.shape, x.dtype)
    ph = _PLACEHOLDERS.get(key)
    if ph is None:
        dt = x.dtype
        buf = np.full(1, np.nan if dt.kind in "fc" else 0, dtype=dt)
        ph = np.ndarray(x.shape, dt, buffer=buf, strides=(0,) * x.ndim)
        ph.flags.writeable = False
        if len(_PLACEHOLDERS) > 4096:
            _PLACEHOLDERS.clear()
        _PLACEHOLDERS[key] = ph
    return ph


def _raise_missing(prim, i):
    raise _missing_rule(prim, i)


def _missing_rule(prim, i=None):
    where = "" if i is None else f" for argument {i}"
    return NotImplementedError(
        f"{prim.name}: no reverse-mode (VJP) rule{where}; this primitive can only be "
        "differentiated in forward mode (use mode='forward' / jacfwd / jvp)"
    )


def _to_real(c, x):
    """The cotangent of a real argument is the real part of what its rule computed.

    With complex intermediates (JAX's convention, :mod:`admodes.ops.complex`), a rule
    such as ``multiply``'s ``g * y`` gives a complex cotangent when ``y`` is complex; for a
    real ``x`` the pairing ``Re(sum(g * dx))`` only sees its real part, so that is the
    cotangent.  One check here spares every rule a case for mixed dtypes."""
    v = c
    while isinstance(v, Box):
        v = v._primal
    if not _is_complex(v):
        return c
    while isinstance(x, Box):
        x = x._primal
    if _is_complex(x):
        return c
    return bind(_real, c)


def _is_complex(v):
    # Not only ndarrays: while ad.jit traces a gradient program a value is a placeholder
    # with a shape and a dtype only, and the projection must still be recorded.
    if type(v) is float:
        return False
    if isinstance(v, complex):
        return True
    dt = getattr(v, "dtype", None)
    return dt is not None and dt.kind == "c"
class _TraceHook(threading.local):
    """Set by ``ad.jit`` while it traces (per thread): the ``apply`` of every sweep run
    meanwhile."""

    apply = None


trace_hook = _TraceHook()


def backward(tape, seeds, leaves, consume=False, apply=None, every=False):
    """Sweep ``tape`` backwards from ``seeds`` (``{entry: cotangent}``).

    THE reverse sweep: ``grad``, ``vjp``, ``jacrev``, ``loss.backward()``, ``checkpoint``
    and the static graphs' replay and gradient programs all run it.

    Returns ``{leaf entry: cotangent}`` for the requested ``leaves`` (missing means
    zero); with ``every``, the cotangent of every entry that received one.  The tape is
    not modified, so it can be swept again, unless ``consume``: then each entry is
    dropped once swept, so its residuals are freed during the sweep (a single-use
    gradient needs them no longer, and their memory is reused at once).

    ``apply(prim, rule, g, ans, primals, params)``, if given, applies each VJP rule in
    place of a direct call (``rule`` is None for a joint rule): the static graph passes
    one that traces every rule into a gradient program.

    Fan-out contributions are summed.  The sum is done in place when the running total
    is an array this sweep allocated and nobody else holds (tracked by ``owned``); a
    primitive with ``vjp_into`` (getitem) then scatters straight into that total
    instead of building a zero array and adding it.
    """
    if not seeds:
        return {}
    if apply is None:
        apply = trace_hook.apply  # ad.jit tracing: rules that read plain values stay calls
    state = dispatch.sweeping
    state.depth += 1
    try:
        return _sweep(tape, seeds, leaves, consume, apply, every)
    finally:
        state.depth -= 1


def _sweep(tape, seeds, leaves, consume, apply, every):
    start = max(seeds)
    cts = [None] * (start + 1)
    for k, g in seeds.items():
        cts[k] = g
    out = {}
    wanted = set(leaves)
    counting = dispatch._counting
    scalar_ok = not counting and apply is None  # the float fast path applies rules itself
    add = _add
    owned = set()  # ids of arrays in cts that this sweep allocated and holds alone
    ndarray = np.ndarray
    for idx in range(start, -1, -1):
        g = cts[idx]
        if g is None:
            continue
        cts[idx] = None
        if owned:
            owned.discard(id(g))
        entry = tape[idx]
        if every:
            out[idx] = g
        if entry is None:
            if idx in wanted:
                out[idx] = g
            continue
        prim, params, primals, ans, parents = entry
        if consume:
            tape[idx] = _SWEPT
        rules = prim.vjps
        if type(g) is float and type(rules) is tuple and scalar_ok:
            # scalar code: float cotangents, nothing to un-broadcast or scatter
            for i, p in enumerate(parents):
                if p is not None:
                    rule = rules[i] or _raise_missing(prim, i)
                    c = rule(g, ans, *primals, **params) if params else rule(g, ans, *primals)
                    if type(c) is not float and c is not None:
                        c = _to_real(c, primals[i])
                    prev = cts[p]
                    if prev is None or c is None:
                        cts[p] = c if prev is None else prev
                    else:
                        cts[p] = prev + c if type(prev) is float and type(c) is float \
                            else bind(add, prev, c)
            continue
        elementwise = prim.elementwise and len(primals) > 1 and type(g) is not float
        joint = None
        if prim.vjp_joint is not None:
            if counting:
                prim.n_vjp += 1
            joint = prim.vjp_joint(g, ans, primals, params) if apply is None else \
                apply(prim, None, g, ans, primals, params)
        for i, p in enumerate(parents):
            if p is None:
                continue
            prev = cts[p]
            if (prim.vjp_into is not None and type(prev) is ndarray and id(prev) in owned
                    and type(g) is ndarray and g.ndim == ndim_of(ans)):
                if counting:
                    prim.n_vjp += 1
                prim.vjp_into(prev, g, ans, *primals, **params)
                continue
            if joint is not None:
                c = joint[i]
            else:
                try:
                    rule = rules[i]
                except (IndexError, TypeError):
                    rule = None
                if rule is None:
                    raise _missing_rule(prim, i)
                if counting:
                    prim.n_vjp += 1
                c = rule(g, ans, *primals, **params) if apply is None else \
                    apply(prim, rule, g, ans, primals, params)
            if c is None:
                continue
            c = _to_real(c, primals[i])
            if elementwise:
                ps = shape_of(primals[i])
                if type(c) is not ndarray or c.shape != ps:
                    c = unbroadcast(c, ps, ndim_of(g) - ndim_of(ans))
            if prev is None:
                cts[p] = c
                if prim.vjp_into is not None and type(c) is ndarray and c.flags.writeable:
                    owned.add(id(c))  # a fresh scatter result
            elif type(prev) is float and type(c) is float:
                cts[p] = prev + c
            elif (type(prev) is ndarray and id(prev) in owned and type(c) is ndarray
                  and c.shape == prev.shape and c.dtype == prev.dtype):
                np.add(prev, c, out=prev)
            else:
                cts[p] = total = bind(add, prev, c)
                # (the sum of two broadcast constants is a read-only broadcast view)
                if type(total) is ndarray and total.flags.writeable:
                    owned.add(id(total))
    return out


_SWEPT = ()  # a consumed entry (never looked at again by the sweep that consumed it)
