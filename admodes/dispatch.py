"""The one dispatcher both modes enter through, and the levels that let them nest.

Every call of a transformation (``grad``, ``jvp``, ``vjp``, ``jacfwd`` ...) creates a
fresh :class:`Level` with a larger id than any before it.  Its boxes (a forward-mode
``Dual`` or a reverse-mode tape variable) carry that level.  :func:`bind` applies a
primitive: it finds the innermost (highest) level among the arguments and lets that
level process the call.  The level unboxes *its own* boxes only, re-binds the primitive
one level down (boxes of outer levels are just constants to it), and applies its rule to
the result.  With no boxes left, the numpy value function runs.

Worked example, the perturbation-confusion test::

    d/dx [ x * d/dy (x + y) ]  at x = 2,  which is 1

``grad`` over ``x`` opens level 1 and boxes ``x`` as ``X1``.  Inside, ``grad`` over
``y`` opens level 2 and boxes ``y`` as ``Y2``.  ``x + y`` sees levels {1, 2}: level 2
processes it, treating ``X1`` as a constant, so ``d/dy (x + y)`` is the cotangent of
``Y2`` alone: 1, not 2.  Level 2 then closes; ``x * 1`` is processed by level 1, giving
1.  Had both boxes shared one tag, the inner derivative would have picked up the
perturbation of ``x`` too and answered 2.

When a transformation returns, its level is closed: a box of a closed level that escaped
(stored in a global, returned through a side channel) raises :class:`EscapedBoxError` if
it is used again, instead of silently giving a wrong derivative.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from typing import Any

import numpy as np

from .registry import registry

__all__ = ["Level", "Box", "bind", "value", "EscapedBoxError", "counting", "shape_of",
           "ndim_of", "sweeping"]

_level_ids = itertools.count(1)


class EscapedBoxError(RuntimeError):
    """A traced value was used after the transformation that created it returned.

    >>> import admodes as ad
    >>> leaked = []
    >>> _ = ad.grad(lambda x: leaked.append(x) or x * x)(2.0)
    >>> try:
    ...     leaked[0] * 2.0
    ... except ad.EscapedBoxError as e:
    ...     print(type(e).__name__)
    EscapedBoxError
    """


class Level:
    """One transformation call.  Subclasses say how to apply a primitive's rule."""

    __slots__ = ("id", "alive", "name")

    kind = "abstract"

    def __init__(self):
        self.id = next(_level_ids)
        self.alive = True
        self.name = None  # the transformation (``grad``, ``jacfwd`` ...), for messages

    def process(self, prim, args, params):
        """Apply ``prim`` to ``args`` that hold boxes of this level: unbox them, apply
        the primitive one level down, and let the mode box the answer (:meth:`wrap`).
        Binary primitives go to :meth:`process2`."""
        n = len(args)
        if n == 2:
            return self.process2(prim, args[0], args[1], params)
        if n == 1:  # unary (bind only calls us with a box of this level): no loop, ~7% on scalar code
            box = args[0]
            p = box._primal
            ans = bind(prim, p, **params) if isinstance(p, Box) else evaluate(prim, (p,), params)
            if prim.nondiff:
                return ans
            return self.wrap(prim, params, [p], ans, [box])
        # mine[i]: this level's box at argument i.  Boxes of outer levels stay in
        # primals (constants to this level) and send the primitive through bind again;
        # otherwise its impl runs directly.
        primals = list(args)
        mine = [None] * len(args)
        deeper = False
        for i, a in enumerate(args):
            if isinstance(a, Box):
                if a._level is self:
                    mine[i] = a
                    primals[i] = p = a._primal
                    deeper = deeper or isinstance(p, Box)
                else:
                    deeper = True
        ans = bind(prim, *primals, **params) if deeper else evaluate(prim, primals, params)
        if prim.nondiff:
            return ans
        return self.wrap(prim, params, primals, ans, mine)

    def process2(self, prim, a, b, params):
        """:meth:`process` for a binary primitive, unrolled: binary primitives are most
        of scalar code, which pays this per operation (operators reach it directly
        through :func:`bind2`).  A level that overrides ``process`` overrides this too."""
        ma = mb = None
        deeper = False  # boxes of outer levels remain: bind again, else evaluate
        if isinstance(a, Box):
            if a._level is self:
                ma, a = a, a._primal
                deeper = isinstance(a, Box)
            else:
                deeper = True
        if isinstance(b, Box):
            if b._level is self:
                mb, b = b, b._primal
                deeper = deeper or isinstance(b, Box)
            else:
                deeper = True
        if deeper:
            ans = bind(prim, a, b, **params)
        else:
            if _counting:
                prim.n_impl += 1
            try:
                ans = prim.impl(a, b, **params) if params else prim.impl(a, b)
            except (ValueError, TypeError, IndexError) as e:
                raise _annotate(e, prim, (a, b)) from e
        if (ma is None and mb is None) or prim.nondiff:
            return ans
        return self.wrap2(prim, params, a, b, ans, ma, mb)

    def wrap(self, prim, params, primals, ans, mine):  # pragma: no cover - abstract
        """Box ``ans``: ``mine[i]`` is this level's box at argument ``i`` (or None)."""
        raise NotImplementedError

    def wrap2(self, prim, params, a, b, ans, ma, mb):
        return self.wrap(prim, params, [a, b], ans, [ma, mb])

    def close(self):
        self.alive = False

    def escaped(self, prim):
        return EscapedBoxError(
            f"{prim.name}: a traced value from a {self.kind}-mode transformation "
            f"(level {self.id}) was used after that transformation returned; use "
            "ad.value(x) to keep a plain value instead of the traced one"
        )

    def __repr__(self):
        return f"<{type(self).__name__} {self.id}{'' if self.alive else ' closed'}>"


class Box:
    """Common base of traced values (forward ``Dual``, reverse ``Var``, graph nodes).

    ``_primal`` is the value one level down (it may itself be a box of an outer level).
    The arithmetic operators, array attributes and numpy protocol methods are installed
    by :mod:`admodes.numpy`, so every box type behaves like an array.
    """

    __slots__ = ("_primal", "_level")
    __array_priority__ = 1000

    def __repr__(self):
        return f"{type(self).__name__}({value(self)!r}, level={self._level.id})"


def shape_of(x):
    """Shape of a value or box (fast paths for arrays and Python floats).  Below both
    modes: rules, modes and the graph all ask it."""
    while True:
        t = type(x)
        if t is np.ndarray:
            return x.shape
        if t is float:
            return ()
        if not isinstance(x, Box):
            return np.shape(x)
        x = x._primal


def ndim_of(x):
    """Number of dimensions of a value or box."""
    while True:
        t = type(x)
        if t is np.ndarray:
            return x.ndim
        if t is float:
            return 0
        if not isinstance(x, Box):
            return np.ndim(x)
        x = x._primal


class _Sweeping(threading.local):
    depth = 0  # > 0 while this thread runs a reverse sweep


# Read by the elementwise impls (broadcast constants stay views only inside a sweep) and
# set by the reverse sweep.
sweeping = _Sweeping()

_counting = False


def bind(prim, *args, **params):
    """Apply ``prim`` to ``args``: the single entry point of both modes."""
    top = None
    for a in args:
        if isinstance(a, Box):
            lv = a._level
            if top is None or lv.id > top.id:
                top = lv
    if top is None:
        return evaluate(prim, args, params)
    if not top.alive:
        raise top.escaped(prim)
    return top.process(prim, args, params)


_NO_PARAMS = {}  # shared by the parameter-free fast paths below; never mutated


def bind1(prim, x):
    """``bind(prim, x)`` for a parameter-free unary primitive (the operators' path)."""
    if isinstance(x, Box):
        top = x._level
        if not top.alive:
            raise top.escaped(prim)
        return top.process(prim, (x,), _NO_PARAMS)
    return evaluate(prim, (x,), _NO_PARAMS)


def bind2(prim, x, y):
    """``bind(prim, x, y)`` for a parameter-free binary primitive (the operators' path)."""
    if isinstance(x, Box):
        top = x._level
        if isinstance(y, Box) and y._level.id > top.id:
            top = y._level
    elif isinstance(y, Box):
        top = y._level
    else:
        return evaluate(prim, (x, y), _NO_PARAMS)
    if not top.alive:
        raise top.escaped(prim)
    return top.process2(prim, x, y, _NO_PARAMS)


def evaluate(prim, args, params):
    """Run the numpy value function on plain values (the bottom of every bind)."""
    if _counting:
        prim.n_impl += 1
    try:
        return prim.impl(*args, **params)
    except (ValueError, TypeError, IndexError) as e:
        raise _annotate(e, prim, args) from e


def _annotate(e, prim, args):
    shapes = ", ".join(str(getattr(a, "shape", type(a).__name__)) for a in args)
    msg = f"{prim.name}: {e} (argument shapes: {shapes})"
    try:
        return type(e)(msg)
    except Exception:  # pragma: no cover - exotic exception types
        return TypeError(msg)


def value(x: Any) -> Any:
    """The plain value of ``x`` under any number of levels of boxes.

    The documented way to step outside differentiation: the result is a constant to
    every transformation.

    Args:
        x: a plain value or a traced one.

    Returns:
        The plain numpy value (or Python float).

    >>> import admodes as ad
    >>> ad.grad(lambda x: x * ad.value(x))(3.0)
    3.0
    """
    while isinstance(x, Box):
        x = x._primal
    return x


@contextlib.contextmanager
def counting():
    """Count impl evaluations and rule applications per primitive inside the block.

    Yields a dict-like snapshot function: call it to get
    ``{"impl": n, "jvp": n, "vjp": n}`` summed over the registry since the block began.
    Blocks nest: each counts from its own start (the counters only grow), so an inner
    block never changes what the outer one reports.

    Returns:
        (as the context value) ``snapshot(by_primitive=False)``: the totals, or with
        ``by_primitive=True`` the pair ``(totals, {name: counts})``.

    >>> import admodes as ad
    >>> with ad.counting() as outer:
    ...     _ = ad.grad(lambda x: x * x + x)(2.0)
    ...     with ad.counting() as inner:
    ...         _ = ad.grad(lambda x: x * x)(2.0)
    ...     inner()["vjp"], outer()["vjp"]
    (1, 4)
    """
    global _counting
    base = {p: (p.n_impl, p.n_jvp, p.n_vjp) for p in registry.values()}
    previous = _counting
    _counting = True

    def snapshot(by_primitive=False):
        total = {"impl": 0, "jvp": 0, "vjp": 0}
        per = {}
        for p in registry.values():
            b = base.get(p, (0, 0, 0))
            n = {"impl": p.n_impl - b[0], "jvp": p.n_jvp - b[1], "vjp": p.n_vjp - b[2]}
            for k, v in n.items():
                total[k] += v
            if by_primitive and any(n.values()):
                per[p.name] = n
        return (total, per) if by_primitive else total

    try:
        yield snapshot
    finally:
        _counting = previous
