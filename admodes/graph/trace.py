"""Tracing: a level whose boxes are graph nodes records every primitive application
once (:func:`trace`), with guards wherever Python consumed a traced value."""

from __future__ import annotations

import contextlib
import inspect
import linecache
import math
import operator
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import dispatch
from ..arguments import _Args
from ..dispatch import Box, Level, bind, shape_of
from ..registry import Primitive, _rule_at
from ..tree import flatten, leaf_paths, unflatten
from .nodes import Constant, GraphNode, Guard

if TYPE_CHECKING:  # replay imports this module
    from .replay import Graph

__all__ = ["trace"]

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # admodes/

# An opaque call inside a gradient program (not registered: it never leaves the graph).
_CALL = Primitive("call", lambda *args, fn, name: fn(*args), nondiff=True)


class _ImpureRule(BaseException):
    """A rule read a plain value while it was being traced (see :class:`_Opaque`).

    A BaseException, so that no ``except Exception`` in a rule can swallow it."""


class _Opaque:
    """What ``ad.value(x)`` returns for a node while a gradient program is traced.

    It has a shape and a dtype but no value: a rule that computes with plain values (a
    max/min tie mask, a clip mask) raises here instead of baking trace-time numbers into
    the program; such a rule is then replayed as an opaque call."""

    __slots__ = ("shape", "ndim", "dtype", "size")

    def __init__(self, shape, dtype):
        self.shape, self.ndim, self.dtype = shape, len(shape), np.dtype(dtype)
        self.size = math.prod(shape)

    def _impure(self, *args, **kwargs):
        raise _ImpureRule

    __array__ = __bool__ = __float__ = __int__ = __index__ = _impure
    __array_ufunc__ = _impure  # any numpy computation on it

    def __array_function__(self, func, types, args, kwargs):
        if func is np.shape:
            return self.shape
        if func is np.ndim:
            return self.ndim
        if func is np.size and len(args) == 1 and not kwargs:
            return self.size
        if func is np.iscomplexobj:
            return self.dtype.kind == "c"
        raise _ImpureRule
    __lt__ = __le__ = __gt__ = __ge__ = __eq__ = __ne__ = _impure
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _impure
    __truediv__ = __rtruediv__ = __pow__ = __rpow__ = __neg__ = __getitem__ = _impure
    __len__ = __iter__ = _impure
    __hash__ = object.__hash__


class _Tracer(Box):
    """A graph node during tracing: its node id and trace-time value (``_val``;
    ``_primal``, what ``ad.value`` sees, is the same unless a gradient program is
    being traced)."""

    __slots__ = ("_id", "_val")

    def __init__(self, primal, level, idx, val):
        self._primal = primal
        self._level = level
        self._id = idx
        self._val = val

    # Python consumes the value: freeze it into the trace with a guard.
    def __bool__(self):
        return self._level.guard(self, "truth")

    def __float__(self):
        return float(self._level.guard(self, "value"))

    def __int__(self):
        return int(self._level.guard(self, "value"))

    def __index__(self):
        v = np.asarray(self._val)
        if v.ndim or v.dtype.kind not in "iub":
            raise TypeError("only an integer scalar traced value can be used as an index")
        return operator.index(self._level.guard(self, "value").item())

    def __array_function__(self, func, types, args, kwargs):
        return self._level.numpy_fallback(func, args, kwargs, "function")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return self._level.numpy_fallback((ufunc, method), inputs, kwargs, "ufunc")

    def __getattr__(self, name):
        # Array methods with no differentiable meaning (any, all, item, tolist ...) on
        # a non-differentiable node (a mask, a sign): freeze with a guard.
        if name.startswith("__") or not self._level.is_nondiff(self):
            raise AttributeError(f"traced value has no attribute {name!r}")
        return getattr(self._level.guard(self, "value"), name)

    def _logic(op, reflected=False):
        def method(self, other):
            lv = self._level
            a = lv.guard(self, "value")
            b = lv.guard(other, "value") if isinstance(other, _Tracer) else other
            return op(b, a) if reflected else op(a, b)
        return method

    __and__, __or__, __xor__ = _logic(operator.and_), _logic(operator.or_), _logic(operator.xor)
    __rand__, __ror__ = _logic(operator.and_, True), _logic(operator.or_, True)
    __rxor__ = _logic(operator.xor, True)

    def __invert__(self):
        return ~self._level.guard(self, "value")

    del _logic


def _user_site():
    """``file:line  source`` of the innermost frame outside admodes (for guard messages)."""
    f = sys._getframe(2)
    while f is not None and os.path.abspath(f.f_code.co_filename).startswith(_PKG_DIR):
        f = f.f_back
    if f is None:  # pragma: no cover - always some caller
        return ""
    fn, ln = f.f_code.co_filename, f.f_lineno
    src = linecache.getline(fn, ln).strip()
    return f"{os.path.basename(fn)}:{ln}" + (f"  `{src}`" if src else "")


class _TraceLevel(Level):
    """The tracing transformation: records each primitive application as a node."""

    __slots__ = ("nodes", "guards", "linked", "keep", "opaque", "hidden", "in_rule", "made")
    kind = "graph"

    def __init__(self, opaque=False):
        super().__init__()
        self.nodes = []
        self.guards = []
        self.linked = {}  # id(what ad.value returns for a node) -> node id
        self.keep = []  # keeps those objects alive so their ids stay unique
        self.opaque = opaque  # tracing a gradient program: ad.value gives an _Opaque
        self.hidden = {}  # node id -> the value an _Opaque stands for
        self.in_rule = 0  # > 0 while a rule runs (graph.hooks): new values are opaque too
        self.made = []  # tracers made opaque by that, shown again when the rule ends

    def _add(self, prim, args, stopped, params, ans, name=None):
        k = len(self.nodes)
        shape = shape_of(ans)
        dtype = np.result_type(ans)
        self.nodes.append(GraphNode(k, prim, args, stopped, params, shape, dtype, name))
        shown = ans
        if self.opaque or self.in_rule:
            shown = _Opaque(shape, dtype)
            self.hidden[k] = ans
        if isinstance(shown, (np.ndarray, _Opaque)):
            self.linked[id(shown)] = k
            self.keep.append(shown)
        t = _Tracer(shown, self, k, ans)
        if self.in_rule and not self.opaque:
            self.made.append(t)
        return t

    def show(self):
        """A rule ended: the values it made show their plain values again."""
        for t in self.made:
            t._primal = t._val
            if isinstance(t._val, np.ndarray):
                self.linked[id(t._val)] = t._id
                self.keep.append(t._val)
        self.made.clear()

    def call(self, fn, args, name):
        """Record an opaque call ``fn(*args)`` (a rule that cannot be traced)."""
        refs, vals = [], []
        for a in args:
            k = self.linked.get(id(a)) if isinstance(a, (np.ndarray, _Opaque)) else None
            if isinstance(a, _Tracer) and a._level is self:
                refs.append(a._id)
                vals.append(a._val)
            elif k is not None:  # what ad.value returned for a node
                refs.append(k)
                vals.append(self.hidden[k] if isinstance(a, _Opaque) else a)
            else:
                refs.append(Constant(a))
                vals.append(a)
        ans = fn(*vals)
        return self._add(_CALL, refs, (), {"fn": fn, "name": name}, ans)

    def carry(self, tracer, guard, text):
        """Re-record a guard of a replayed graph on the node that now computes it."""
        g = Guard(len(self.guards), tracer._id, guard.kind, guard.expected, guard.where)
        g.label = text
        self.guards.append(g)

    def input(self, x, name):
        if isinstance(x, np.ndarray):
            x = x.copy()  # a fresh object: only ad.value(x) can return it
        return self._add(None, (), (), {}, x, name)

    def process2(self, prim, a, b, params):
        return self.process(prim, (a, b), params)

    def process(self, prim, args, params):
        refs, primals, stopped = [], [], []
        for i, a in enumerate(args):
            if isinstance(a, _Tracer) and a._level is self:
                refs.append(a._id)
                primals.append(a._val)
                if _no_rule(prim, i):  # (where's condition): carries no derivative
                    stopped.append(i)
                continue
            if isinstance(a, Box):
                raise TypeError(
                    f"trace: {prim.name} received a value traced by an enclosing "
                    f"{a._level.kind}-mode transformation; a static graph cannot hold it as "
                    "a constant — pass it to the traced function as an argument instead")
            k = self.linked.get(id(a)) if isinstance(a, (np.ndarray, _Opaque)) else None
            if k is not None:
                refs.append(k)
                stopped.append(i)
                if isinstance(a, _Opaque):
                    a = self.hidden[k]
            else:
                refs.append(Constant(a))
            primals.append(a)
        for v in params.values():
            for item in (v if isinstance(v, tuple) else (v,)):
                if isinstance(item, _Opaque):
                    raise _ImpureRule
                k = self.linked.get(id(item)) if isinstance(item, np.ndarray) else None
                if k is not None:  # e.g. a mask used as an index: its value is frozen
                    self._record(k, "value", item)
        ans = bind(prim, *primals, **params)
        if prim.nondiff and not self.opaque and not isinstance(ans, np.ndarray):
            ans = np.asarray(ans)  # an object of its own, so ad.value(...) can be linked
        return self._add(prim, refs, stopped, params, ans)

    def _record(self, k, kind, v):
        expected = bool(v) if kind == "truth" else np.array(v, copy=True)
        for g in self.guards:
            if g.node == k and g.kind == kind:
                return
        self.guards.append(Guard(len(self.guards), k, kind, expected, _user_site()))

    def guard(self, tracer, kind):
        """Python consumes ``tracer``'s value: record a guard, return the plain value."""
        if not self.alive:
            raise EscapedTracer(tracer)
        v = tracer._val
        out = bool(v) if kind == "truth" else v
        self._record(tracer._id, kind, v)
        return out

    def is_nondiff(self, tracer):
        p = self.nodes[tracer._id].primitive
        return p is not None and p.nondiff

    def numpy_fallback(self, func, args, kwargs, kind):
        """numpy called on a tracer: the registered primitive if there is one; for a numpy
        function without one, non-differentiable nodes are frozen (guarded) instead."""
        from .. import numpy as anp
        try:
            if kind == "ufunc":
                ufunc, method = func
                return anp._array_ufunc(None, ufunc, method, *args, **kwargs)
            return anp._array_function(None, func, None, args, kwargs)
        except TypeError as e:
            leaves, td = flatten((list(args), kwargs))
            tracers = [x for x in leaves if isinstance(x, _Tracer)]
            registered = (func[0] in anp._UFUNCS or func[0] in anp._REDUCE) if kind == "ufunc" \
                else func in anp._FUNCTIONS
            if registered or not all(self.is_nondiff(t) for t in tracers):
                raise e
            plain = [self.guard(x, "value") if isinstance(x, _Tracer) else x for x in leaves]
            a, kw = unflatten(td, plain)
            if kind == "ufunc":
                return getattr(func[0], func[1])(*a, **kw)
            return func(*a, **kw)


def _no_rule(prim, i):
    """Argument ``i`` of ``prim`` has neither a JVP nor a VJP rule."""
    if prim.nondiff or prim.vjp_joint is not None or prim.jvp_joint is not None:
        return False
    for rules in (prim.vjps, prim.jvps):  # (a variadic primitive, einsum, has no len)
        if _rule_at(rules, i) is not None:
            return False
    return True


class EscapedTracer(dispatch.EscapedBoxError):
    def __init__(self, tracer):
        super().__init__("a traced value from ad.trace was used after tracing returned; "
                         "call the graph instead")


def _arg_names(fun, n):
    try:
        params = list(inspect.signature(fun).parameters.values())
    except (TypeError, ValueError):
        params = []
    names = []
    for p in params:
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            names.append(p.name)
        elif p.kind == p.VAR_POSITIONAL:
            names.extend(f"{p.name}[{i}]" for i in range(n - len(names)))
    names.extend(f"arg{i}" for i in range(len(names), n))
    return names[:n]


def trace(fun: Callable[..., Any], *example_args: Any,
          static_argnums: int | Sequence[int] = ()) -> Graph:
    """Run ``fun`` once on ``example_args`` and record it as a static :class:`Graph`.

    Args:
        fun: a function of numpy values (floats, float arrays, pytrees of them).
            Integer and boolean arrays (and bools) are inputs too, as
            non-differentiable data: their dtype is kept, replay takes new values, and
            no gradient is offered for them (``None``).
        *example_args: the example inputs; the graph replays at inputs of the same
            structure and shapes.  Every guard (``int(n)``, ``if x:``) is checked on
            replay, on inputs too: a different outcome raises ``RetraceRequired``.
        static_argnums: positions of arguments baked into the graph as constants (any
            Python object); replaying with a different value raises
            ``RetraceRequired`` naming the argument.

    Returns:
        The :class:`Graph`: call it, differentiate it, count it, draw it.

    >>> import admodes as ad
    >>> g = ad.trace(lambda a, b: (a + b) * (b + 1.0), 2.0, 1.0)
    >>> len(g), g(2.0, 1.0), g(3.0, 2.0)
    (5, 6.0, 15.0)
    >>> g.grad(2.0, 1.0)
    (2.0, 5.0)
    >>> h = ad.trace(lambda x, s: x * s, 2.0, 3.0, static_argnums=1)
    >>> h(5.0, 3.0), h.grad(5.0, 3.0)
    (15.0, (3.0, None))
    """
    return _trace(fun, example_args, static_argnums=static_argnums)


def _static_nums(static_argnums, nargs):
    nums = (static_argnums,) if isinstance(static_argnums, (int, np.integer)) \
        else tuple(static_argnums)
    out = []
    for a in nums:
        a = operator.index(a)
        if not -nargs <= a < nargs:
            raise ValueError(f"trace: static_argnums {a} is out of range for "
                             f"{nargs} example argument(s)")
        if a % nargs in out:
            raise ValueError(f"trace: static_argnums names argument {a % nargs} twice")
        out.append(a % nargs)
    return tuple(sorted(out))


@contextlib.contextmanager
def _no_hooks():
    yield


def _trace(fun, example_args, opaque=False, prune=False, static_argnums=()):
    if not example_args:
        raise TypeError("trace: give example arguments (the graph is recorded at them)")
    nargs = len(example_args)
    static = _static_nums(static_argnums, nargs)
    dyn = tuple(a for a in range(nargs) if a not in static)
    for x in flatten([example_args[a] for a in dyn])[0]:
        if isinstance(x, Box):
            raise TypeError("trace: the example arguments are traced values of another "
                            "transformation; trace outside it and call the graph inside")
    inputs = _Args(example_args, dyn, "trace", data_ok=True)
    names = _arg_names(fun, nargs)
    leaf_names = []
    for a in dyn:
        leaf_names.extend(leaf_paths(example_args[a], names[a]))
    level = _TraceLevel(opaque)
    from .hooks import Untraceable, rule_hooks  # rules reading plain values: opaque calls
    try:
        with rule_hooks(level) if not opaque else _no_hooks():
            boxed = [level.input(x, n) for x, n in zip(inputs.leaves, leaf_names)]
            out = inputs.call(fun, boxed, {})
    except Untraceable as e:
        raise TypeError(f"trace: {e}; trace the function itself and differentiate the "
                        "graph instead") from None
    finally:
        level.close()
    outs, out_td = flatten(out)
    out_paths = leaf_paths(out, "out")
    refs = []
    for o, p in zip(outs, out_paths):
        if isinstance(o, _Tracer) and o._level is level:
            refs.append(o._id)
        elif isinstance(o, Box):
            raise TypeError(f"trace: output {p} is a value traced by another transformation")
        else:
            from ..arguments import _check_output
            refs.append(Constant(_check_output(o, p, "trace")))
    from .replay import Graph  # the graph module replays by tracing again
    return Graph(fun, level.nodes, level.guards, [b._id for b in boxed], inputs, refs,
                 out_td, out_paths, names, prune=prune, static=static)
