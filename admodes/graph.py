"""Static graphs: trace a function once, replay it in both modes, count its operations,
and draw it.

``grad`` builds its graph *dynamically* (define-by-run): every call re-runs the user's
Python and records a fresh tape.  :func:`trace` builds a *static* graph instead, as the
classic tape-based tools (ADOL-C) do: the function runs once, on example inputs, under a
tracing level whose boxes are graph nodes.  Every primitive application goes through
:func:`~admodes.dispatch.bind` like any other, so the level sees each one and appends a
node to a Wengert list (primitive, input node ids, static parameters such as ``axis``,
output shape and dtype).  The resulting :class:`Graph` is then evaluated and
differentiated many times without running the user's Python again.

Replay uses the same registry rules as the dynamic modes.  Forward mode replays the node
list under a :class:`~admodes.forward.ForwardLevel` (so ``ad.jvp(graph, ...)``,
``ad.jacfwd(graph)`` and ``ad.grad(graph)`` simply work); reverse mode runs a dedicated
loop over precomputed lists — the static graph already knows which nodes lead to the
output, which arguments carry derivatives and which cotangents need un-broadcasting, so
none of that is rediscovered per call.

**Branch guards.**  Python control flow that looked at a traced value is frozen into
the trace.  Comparisons (and the other non-differentiable primitives) on traced values
become graph nodes, so ``where(x > 0, x, 0.0)`` stays data flow and is re-evaluated on
every replay.  When Python *consumes* such a value — ``if x > 0:``, ``bool``, ``float``,
``int``, indexing with it, or a numpy function with no primitive — the trace records a
:class:`Guard` (the node and the outcome seen).  Replay re-checks every guard and raises
:class:`RetraceRequired`, naming the guard and the source line, when an outcome flips,
instead of returning a silently wrong value or derivative.

Limit: ``ad.value(x)`` deliberately steps outside differentiation.  On an array node the
trace still follows it (the array is re-linked to its node as a constant-for-derivatives
input); on a Python-float node the plain float is frozen as a constant.
"""

from __future__ import annotations

import functools
import inspect
import linecache
import math
import operator
import os
import sys

import numpy as np

from . import dispatch
from .api import _Args, _chunks, _finish, _plain_scalar, choose_mode
from .dispatch import Box, Level, bind, value
from .forward import Dual, ForwardLevel, shape_of
from .registry import Primitive
from .reverse import _missing_rule, unbroadcast
from .tree import flatten, leaf_paths, unflatten

__all__ = ["trace", "Graph", "GraphNode", "Guard", "Constant", "RetraceRequired"]

_PKG_DIR = os.path.dirname(os.path.abspath(__file__))

# An opaque call inside a gradient program (not registered: it never leaves this module).
_CALL = Primitive("call", lambda *args, fn, name: fn(*args), nondiff=True)


class RetraceRequired(RuntimeError):
    """A guard recorded during tracing has a different outcome at the replay inputs.

    Attributes:
        guard: the :class:`Guard` whose outcome flipped.
    """

    def __init__(self, message, guard=None):
        super().__init__(message)
        self.guard = guard


class Constant:
    """A constant argument of a graph node (a value that did not depend on the inputs)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __repr__(self):
        return f"Constant({_summary(self.value)})"


class GraphNode:
    """One entry of the Wengert list.

    Attributes:
        id: position in the list (a topological order).
        op: primitive name (``"input"`` for an input).
        primitive: the registry record (``None`` for an input).
        args: per argument, a node id (int) or a :class:`Constant`.
        stopped: argument positions linked to a node through ``ad.value`` (they carry
            no derivative).
        params: static parameters (``axis``, ``shape``, ...).
        shape, dtype: of the output at trace time.
        name: a display name (inputs: the argument name).
        diff: whether the node depends differentiably on an input.
    """

    __slots__ = ("id", "op", "primitive", "args", "stopped", "params", "shape", "dtype",
                 "name", "diff")

    def __init__(self, id, primitive, args, stopped, params, shape, dtype, name=None):
        self.id = id
        self.primitive = primitive
        self.op = "input" if primitive is None else primitive.name
        self.args = tuple(args)
        self.stopped = frozenset(stopped)
        self.params = dict(params)
        self.shape = tuple(shape)
        self.dtype = dtype
        self.name = name
        self.diff = False

    def node_args(self):
        """``(position, node id)`` of the arguments that are nodes."""
        return [(i, a) for i, a in enumerate(self.args) if not isinstance(a, Constant)]

    def __repr__(self):
        if self.primitive is None:
            return f"GraphNode(%{self.id} = input {self.name})"
        return f"GraphNode(%{self.id} = {self.op}({_arg_list(self)}))"


class Guard:
    """A traced value that Python consumed, and the outcome seen at trace time.

    Attributes:
        index: position in ``graph.guards``.
        node: the node id whose value was consumed.
        kind: ``"truth"`` (``bool``) or ``"value"`` (the exact value was used).
        expected: the outcome at trace time.
        where: ``file:line  source`` of the user code that consumed it.
    """

    __slots__ = ("index", "node", "kind", "expected", "where", "label")

    def __init__(self, index, node, kind, expected, where):
        self.index, self.node, self.kind = index, node, kind
        self.expected, self.where = expected, where
        self.label = None  # set when the guard was carried over from another graph

    def holds(self, v):
        v = value(v)
        if self.kind == "truth":
            return bool(v) == self.expected
        v = np.asarray(v)
        if v.shape != self.expected.shape:
            return False
        return bool(np.array_equal(v, self.expected, equal_nan=v.dtype.kind in "fc"))

    def describe(self, nodes=None):
        if self.label is not None:
            return self.label
        what = f"%{self.node}"
        if nodes is not None:
            what = f"%{self.node} = {_formula(nodes[self.node], nodes)}"
        seen = self.expected if self.kind == "truth" else _summary(self.expected)
        how = f"bool({what})" if self.kind == "truth" else f"the value of {what}"
        loc = f" ({self.where})" if self.where else ""
        return f"guard {self.index}{loc}: {how} was {seen} when traced"

    def __repr__(self):
        return f"<{self.describe()}>"


# ---------------------------------------------------------------- tracing -------------


class _ImpureRule(BaseException):
    """A rule read a plain value while it was being traced (see :class:`_Opaque`).

    A BaseException, so that no ``except Exception`` in a rule can swallow it."""


class _Opaque:
    """What ``ad.value(x)`` returns for a node while a gradient program is traced.

    It has a shape and a dtype but no value: a rule that computes with plain values (a
    max/min tie mask, a clip mask) raises here instead of baking trace-time numbers into
    the program; such a rule is then replayed as an opaque call."""

    __slots__ = ("shape", "ndim", "dtype", "size")
    __array_ufunc__ = None

    def __init__(self, shape, dtype):
        self.shape, self.ndim, self.dtype = shape, len(shape), np.dtype(dtype)
        self.size = math.prod(shape)

    def _impure(self, *args, **kwargs):
        raise _ImpureRule

    __array__ = __bool__ = __float__ = __int__ = __index__ = _impure
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

    __slots__ = ("nodes", "guards", "linked", "keep", "opaque", "hidden")
    kind = "graph"

    def __init__(self, opaque=False):
        super().__init__()
        self.nodes = []
        self.guards = []
        self.linked = {}  # id(what ad.value returns for a node) -> node id
        self.keep = []  # keeps those objects alive so their ids stay unique
        self.opaque = opaque  # tracing a gradient program: ad.value gives an _Opaque
        self.hidden = {}  # node id -> the value an _Opaque stands for

    def _add(self, prim, args, stopped, params, ans, name=None):
        k = len(self.nodes)
        shape = shape_of(ans)
        dtype = np.result_type(ans)
        self.nodes.append(GraphNode(k, prim, args, stopped, params, shape, dtype, name))
        shown = ans
        if self.opaque:
            shown = _Opaque(shape, dtype)
            self.hidden[k] = ans
        if isinstance(shown, (np.ndarray, _Opaque)):
            self.linked[id(shown)] = k
            self.keep.append(shown)
        return _Tracer(shown, self, k, ans)

    def call(self, fn, args, name):
        """Record an opaque call ``fn(*args)`` (a rule that cannot be traced)."""
        refs = [a._id if isinstance(a, _Tracer) and a._level is self else Constant(a)
                for a in args]
        ans = fn(*[a._val if isinstance(a, _Tracer) and a._level is self else a
                   for a in args])
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
        from . import numpy as anp
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


def trace(fun, *example_args):
    """Run ``fun`` once on ``example_args`` and record it as a static :class:`Graph`.

    Args:
        fun: a function of numpy values (floats, float arrays, pytrees of them).
        *example_args: the example inputs; the graph replays at inputs of the same
            structure and shapes.

    Returns:
        The :class:`Graph`: call it, differentiate it, count it, draw it.

    >>> import admodes as ad
    >>> g = ad.trace(lambda a, b: (a + b) * (b + 1.0), 2.0, 1.0)
    >>> len(g), g(2.0, 1.0), g(3.0, 2.0)
    (5, 6.0, 15.0)
    >>> g.grad(2.0, 1.0)
    (2.0, 5.0)
    """
    return _trace(fun, example_args)


def _trace(fun, example_args, opaque=False, prune=False):
    if not example_args:
        raise TypeError("trace: give example arguments (the graph is recorded at them)")
    for x in flatten(list(example_args))[0]:
        if isinstance(x, Box):
            raise TypeError("trace: the example arguments are traced values of another "
                            "transformation; trace outside it and call the graph inside")
    nargs = len(example_args)
    inputs = _Args(example_args, tuple(range(nargs)), "trace")
    names = _arg_names(fun, nargs)
    leaf_names = []
    for a, name in enumerate(names):
        leaf_names.extend(leaf_paths(example_args[a], name))
    level = _TraceLevel(opaque)
    try:
        boxed = [level.input(x, n) for x, n in zip(inputs.leaves, leaf_names)]
        out = inputs.call(fun, boxed, {})
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
            from .api import _check_output
            refs.append(Constant(_check_output(o, p, "trace")))
    return Graph(fun, level.nodes, level.guards, [b._id for b in boxed], inputs, refs,
                 out_td, out_paths, names, prune=prune)


# ---------------------------------------------------------------- the graph -----------


class Graph:
    """A static computation graph: a Wengert list recorded by :func:`trace`.

    ``len(graph)`` counts nodes (inputs included), iteration yields
    :class:`GraphNode`\\ s in topological order, ``str(graph)`` lists them.

    >>> import admodes as ad, numpy as np
    >>> g = ad.trace(lambda x: np.sin(x).sum(), np.zeros(3))
    >>> print(g)
    Graph <lambda>(x) -> out: 3 nodes (1 input, 2 operations), 0 guards
      %0 = input x                          float64 (3,)
      %1 = sin(%0)                          float64 (3,)
      %2 = sum(%1, axis=(-1,), keepdims=False)  float64 ()
      return %2
    """

    def __init__(self, fun, nodes, guards, input_ids, inputs, out_refs, out_td,
                 out_names, arg_names, prune=False):
        self.fun = fun
        self.name = getattr(fun, "__name__", "f")
        self.nodes = tuple(nodes)
        self.guards = tuple(guards)
        self.input_ids = tuple(input_ids)
        self.arg_names = tuple(arg_names)
        self.outputs = tuple(out_refs)
        self.output_names = tuple(out_names)
        self.example_args = tuple(inputs.args)
        self._in_trees = [flatten(a)[1] for a in inputs.args]
        self._in_shapes = tuple(inputs.shapes)
        self._out_td = out_td
        for k in self.input_ids:
            self.nodes[k].diff = True
        for node in self.nodes:
            if node.primitive is not None and not node.primitive.nondiff:
                node.diff = any(self.nodes[j].diff for i, j in node.node_args()
                                if i not in node.stopped)
        self._compile(prune)
        self._rplans = {}
        self._program = None

    # -------------------------------------------------------------- listing ----------

    def __len__(self):
        return len(self.nodes)

    def __iter__(self):
        return iter(self.nodes)

    def __getitem__(self, k):
        return self.nodes[k]

    @property
    def n_ops(self):
        """Number of operation nodes (inputs excluded)."""
        return len(self.nodes) - len(self.input_ids)

    def __repr__(self):
        return (f"<Graph {self.name}: {len(self)} nodes, {len(self.outputs)} output(s), "
                f"{len(self.guards)} guard(s)>")

    def __str__(self):
        n_in = len(self.input_ids)
        outs = ", ".join(self.output_names)
        lines = [f"Graph {self.name}({', '.join(self.arg_names)}) -> {outs}: {len(self)} nodes "
                 f"({n_in} input{'s' * (n_in != 1)}, {self.n_ops} operation"
                 f"{'s' * (self.n_ops != 1)}), {len(self.guards)} guard"
                 f"{'s' * (len(self.guards) != 1)}"]
        for node in self.nodes:
            text = f"input {node.name}" if node.primitive is None else \
                f"{node.op}({_arg_list(node)})"
            left = f"  %{node.id} = {text}"
            lines.append(f"{left:<38} {np.dtype(node.dtype).name} {node.shape}")
        rets = ", ".join(f"%{r}" if isinstance(r, int) else _summary(r.value)
                         for r in self.outputs)
        lines.append(f"  return {rets}")
        for g in self.guards:
            lines.append("  " + g.describe(self.nodes))
        return "\n".join(lines)

    # -------------------------------------------------------------- compilation ------

    def _compile(self, prune=False):
        """Precompute the flat lists the replay loops walk: every argument becomes an
        index into one value list (nodes first, then constants).  ``prune`` drops nodes
        that reach neither an output nor a guard (left by a rule that was retried as an
        opaque call)."""
        n = len(self.nodes)
        template = [None] * n
        slots = []
        for node in self.nodes:
            s = []
            for a in node.args:
                if isinstance(a, Constant):
                    template.append(a.value)
                    s.append(len(template) - 1)
                else:
                    s.append(a)
            slots.append(tuple(s))
        self._template = template
        self._slots = slots
        guards = {}
        for g in self.guards:
            guards.setdefault(g.node, []).append(g)
        self._node_guards = guards
        live = None
        if prune:
            live = [False] * n
            for k in [r for r in self.outputs if isinstance(r, int)] + list(guards):
                live[k] = True
            for node in reversed(self.nodes):
                if live[node.id]:
                    for _, j in node.node_args():
                        live[j] = True
        self._plan = [(node.id, node.primitive, node.primitive.impl, node.params,
                       slots[node.id], guards.get(node.id))
                      for node in self.nodes if node.primitive is not None and
                      (live is None or live[node.id])]
        out_nodes = {r for r in self.outputs if isinstance(r, int)}
        # lead[k]: node k leads differentiably to an output.
        lead = [False] * n
        for k in out_nodes:
            lead[k] = self.nodes[k].diff
        for node in reversed(self.nodes):
            if lead[node.id] and node.primitive is not None:
                for i, j in node.node_args():
                    if i not in node.stopped and self.nodes[j].diff:
                        lead[j] = True
        self._lead = lead

    def _rplan(self):
        """The reverse sweep's list: nodes that lead to an output, last first, each with
        its differentiable arguments, rules and un-broadcast shapes."""
        plan = self._rplans.get("all")
        if plan is not None:
            return plan
        plan = []
        for node in reversed(self.nodes):
            prim = node.primitive
            if prim is None or not self._lead[node.id]:
                continue
            elementwise = prim.elementwise and len(node.args) > 1
            entries = []
            for i, j in node.node_args():
                if i in node.stopped or not self.nodes[j].diff:
                    continue
                rule = None
                if prim.vjp_joint is None:
                    try:
                        rule = prim.vjps[i]
                    except (IndexError, TypeError):
                        rule = None
                ub = None
                if elementwise and self.nodes[j].shape != node.shape:
                    ub = self.nodes[j].shape
                entries.append((i, j, rule, ub))
            if prim.vjp_joint is None and prim.vjps is None:
                entries = [(i, j, None, ub) for i, j, _, ub in entries]
            plan.append((node.id, prim, node.params, self._slots[node.id], tuple(entries),
                         prim.vjp_joint))
        self._rplans["all"] = plan
        return plan

    # -------------------------------------------------------------- inputs -----------

    def _inputs(self, args, fname):
        if len(args) != len(self.arg_names):
            raise TypeError(f"{fname}: the graph of {self.name} takes {len(self.arg_names)} "
                            f"argument(s), got {len(args)}")
        for a, (arg, td) in enumerate(zip(args, self._in_trees)):
            if flatten(arg)[1] != td:
                raise ValueError(f"{fname}: argument {a} ({self.arg_names[a]}) does not have "
                                 "the structure it had when the graph was traced")
        inputs = _Args(args, tuple(range(len(args))), fname)
        for k, x, want in zip(self.input_ids, inputs.leaves, self._in_shapes):
            got = shape_of(x)
            if got != want:
                raise ValueError(
                    f"{fname}: input {self.nodes[k].name} has shape {got}, but the graph of "
                    f"{self.name} was traced with shape {want}; shapes are frozen into a "
                    "static graph — trace again (ad.trace) for new shapes")
        return inputs

    # -------------------------------------------------------------- replay -----------

    def _values(self, leaves):
        """All node values at ``leaves`` (plain: the fast loop; boxed: through bind, so
        outer transformations see every primitive)."""
        vals = self._template.copy()
        boxed = False
        for k, x in zip(self.input_ids, leaves):
            vals[k] = x
            boxed = boxed or isinstance(x, Box)
        counting = dispatch._counting
        node = None
        try:
            if boxed:
                for node, prim, _impl, params, slots, guards in self._plan:
                    v = vals[node] = bind(prim, *[vals[j] for j in slots], **params)
                    if guards:
                        self._check(guards, v)
                return vals
            for node, prim, impl, params, slots, guards in self._plan:
                if params:
                    v = impl(*[vals[j] for j in slots], **params)
                elif len(slots) == 2:
                    a, b = slots
                    v = impl(vals[a], vals[b])
                elif len(slots) == 1:
                    v = impl(vals[slots[0]])
                else:
                    v = impl(*[vals[j] for j in slots])
                vals[node] = v
                if guards:
                    self._check(guards, v)
                if counting:
                    prim.n_impl += 1
        except (ValueError, TypeError, IndexError) as e:
            if node is None or isinstance(e, RetraceRequired):
                raise
            raise type(e)(f"replaying %{node} = {_formula(self.nodes[node], self.nodes)}: "
                          f"{e}") from e
        return vals

    def _check(self, guards, v):
        for g in guards:
            if isinstance(v, _Tracer) and v._level.alive:  # replayed inside a trace
                v._level.carry(v, g, g.describe(self.nodes))
                continue
            if not g.holds(v):
                now = bool(value(v)) if g.kind == "truth" else _summary(value(v))
                raise RetraceRequired(
                    f"{g.describe(self.nodes)}, but is {now} at these inputs: the Python "
                    f"control flow of {self.name} would take another path, so the recorded "
                    "graph does not apply; trace again at these inputs "
                    "(graph.retrace(*args) or ad.trace)", g)

    def _reverse(self, vals, seeds, nb=0, level=None):
        """Cotangents of every node, swept from ``seeds`` (``{node: cotangent}``).

        With ``level`` (a trace level recording a gradient program), a rule that cannot
        be traced is recorded as an opaque call instead."""
        from .ops.elementwise import add
        cts = [None] * len(self.nodes)
        for k, ct in seeds.items():
            cts[k] = ct
        counting = dispatch._counting
        for k, prim, params, slots, entries, joint in self._rplan():
            g = cts[k]
            if g is None:
                continue
            ans = vals[k]
            if len(slots) == 1:
                primals = (vals[slots[0]],)
            elif len(slots) == 2:
                primals = (vals[slots[0]], vals[slots[1]])
            else:
                primals = tuple([vals[j] for j in slots])
            if joint is not None:
                if counting:
                    prim.n_vjp += 1
                if level is not None:
                    cs = self._traced_rule(level, prim, functools.partial(
                        _apply_joint, joint, params), (g, ans) + primals, len(primals))
                else:
                    cs = joint(g, ans, primals, params)
            for i, j, rule, ub in entries:
                if joint is not None:
                    c = cs[i]
                else:
                    if rule is None:
                        raise _missing_rule(prim, i)
                    if counting:
                        prim.n_vjp += 1
                    if level is not None:
                        c = self._traced_rule(level, prim, functools.partial(
                            _apply_rule, rule, params), (g, ans) + primals)
                    else:
                        c = rule(g, ans, *primals, **params)
                if c is None:
                    continue
                if ub is not None:
                    c = unbroadcast(c, ub, nb)
                prev = cts[j]
                cts[j] = c if prev is None else add(prev, c)
        return cts

    @staticmethod
    def _traced_rule(level, prim, fn, args, n_out=None):
        """Trace ``fn(*args)`` (a rule) into the program; a rule that reads plain values
        becomes one opaque call (its half-recorded nodes are pruned later)."""
        try:
            out = fn(*args)
            if n_out is not None:
                out = tuple(out)
            return out
        except (Exception, _ImpureRule):
            pass
        if n_out is None:
            return level.call(fn, args, f"vjp of {prim.name}")
        both = level.call(fn, args, f"vjp of {prim.name}")
        return tuple(level.call(functools.partial(_pick, i), (both,), f"vjp of {prim.name}")
                     for i in range(n_out))

    def _grad_program(self):
        """The gradient as a static program of its own: the forward replay and the
        reverse sweep traced once (the VJP rules are written in admodes ops, so they
        trace), then replayed by the plain evaluation loop — no rule dispatch per call.
        None when the program cannot be built."""
        if self._program is None:
            r = self._scalar_ref("grad")

            def value_and_cotangents(*args):
                inputs = _Args(args, tuple(range(len(args))), "grad")
                leaves = inputs.leaves
                level = leaves[0]._level
                vals = self._values(leaves)
                # The seed is a node, so that rules fed only by it and by masks (where,
                # relu) are traced rather than replayed as opaque calls.
                one = level.call(_one, (), "seed")
                seeds = {r: one} if isinstance(r, int) and self.nodes[r].diff else {}
                cts = self._reverse(vals, seeds, level=level)
                zeros = [0.0 if s == () else np.zeros(s) for s in self._in_shapes]
                return (self._out(vals, r),) + tuple(
                    z if cts[k] is None else cts[k] for k, z in zip(self.input_ids, zeros))

            try:
                self._program = _trace(value_and_cotangents, self.example_args,
                                       opaque=True, prune=True)
                self._program.name = self.name
            except (Exception, _ImpureRule):  # pragma: no cover - interpreted sweep instead
                self._program = False
        return self._program or None

    def _out(self, vals, r):
        return vals[r] if isinstance(r, int) else r.value

    def __call__(self, *args):
        """Evaluate the graph at ``args`` (same structure and shapes as when traced),
        without running the traced Python.  Works under every transformation:
        ``ad.grad(graph)``, ``ad.jvp(graph, ...)``, ``ad.jacfwd(graph)``.

        >>> import admodes as ad
        >>> ad.trace(lambda x: x * x + 1.0, 3.0)(4.0)
        17.0
        """
        inputs = self._inputs(args, "graph")
        vals = self._values(inputs.leaves)
        return unflatten(self._out_td, [_plain_scalar(self._out(vals, r))
                                        for r in self.outputs])

    def retrace(self, *args):
        """Trace the same function again at ``args`` (after :class:`RetraceRequired`)."""
        return trace(self.fun, *args)

    def _scalar_ref(self, fname):
        if len(self.outputs) != 1 or self._out_td[0] != "*" or \
                (isinstance(self.outputs[0], int) and self.nodes[self.outputs[0]].shape != ()):
            raise TypeError(f"{fname} requires a scalar output; this graph returns "
                            f"{', '.join(self.output_names)} (use graph.jacobian or graph.vjp)")
        return self.outputs[0]

    def value_and_grad(self, *args):
        """``(value, gradient)`` by one replay and one reverse sweep over the graph.

        Args:
            *args: inputs of the traced structure and shapes.

        Returns:
            ``(value, grad)``; ``grad`` is shaped like the input, a tuple of them when the
            graph has several arguments.

        >>> import admodes as ad
        >>> ad.trace(lambda x, y: x * y, 2.0, 3.0).value_and_grad(2.0, 5.0)
        (10.0, (5.0, 2.0))
        """
        r = self._scalar_ref("grad")
        inputs = self._inputs(args, "grad")
        leaves = inputs.leaves
        prog = None
        if not dispatch._counting and not any(isinstance(x, Box) for x in leaves):
            prog = self._grad_program()
        if prog is not None:
            vals = prog._values(leaves)
            ans = prog._out(vals, prog.outputs[0])
            cts = [prog._out(vals, q) for q in prog.outputs[1:]]
        else:  # under ad.counting() or another transformation: the interpreted sweep
            vals = self._values(leaves)
            ans = self._out(vals, r)
            seeds = {r: 1.0} if isinstance(r, int) and self.nodes[r].diff else {}
            swept = self._reverse(vals, seeds)
            cts = [swept[k] for k in self.input_ids]
        grads = inputs.per_arg([_finish(c, x) for c, x in zip(cts, leaves)])
        return _plain_scalar(ans), grads[0] if len(grads) == 1 else tuple(grads)

    def grad(self, *args):
        """The gradient of a scalar-output graph with respect to every input (reverse
        mode: one replay, one backward sweep over precomputed lists).

        Args:
            *args: inputs of the traced structure and shapes.

        Returns:
            The gradient, shaped like the input (a tuple for several arguments).

        >>> import admodes as ad, numpy as np
        >>> ad.trace(lambda x: (x ** 2).sum(), np.ones(2)).grad(np.array([1.0, 3.0]))
        array([2., 6.])
        """
        return self.value_and_grad(*args)[1]

    def jvp(self, args, tangents):
        """Forward mode: ``(graph(*args), J @ tangents)``, the node list replayed under a
        forward-mode level (the same machinery as :func:`admodes.jvp`).

        Args:
            args: tuple of inputs.
            tangents: tuple of the same structure and shapes.

        Returns:
            ``(out, out_tangent)``.

        >>> import admodes as ad
        >>> ad.trace(lambda a, b: (a + b) * (b + 1.0), 2.0, 1.0).jvp((2.0, 1.0), (0.0, 1.0))
        (6.0, 5.0)
        """
        from .api import jvp
        self._inputs(tuple(args), "jvp")
        return jvp(self, tuple(args), tuple(tangents))

    def vjp(self, args, cotangent):
        """Reverse mode: ``(graph(*args), cotangents)`` for an output cotangent.

        Args:
            args: tuple of inputs.
            cotangent: of the output's structure and shapes.

        Returns:
            ``(out, cotangents)``: a tuple with one cotangent per argument.

        >>> import admodes as ad, numpy as np
        >>> g = ad.trace(lambda x: x * 2.0, np.zeros(2))
        >>> g.vjp((np.ones(2),), np.array([1.0, 10.0]))
        (array([2., 2.]), (array([ 2., 20.]),))
        """
        inputs = self._inputs(tuple(args), "vjp")
        vals = self._values(inputs.leaves)
        cts, ct_td = flatten(cotangent)
        if ct_td != self._out_td and not (len(cts) == 1 and len(self.outputs) == 1):
            raise ValueError("vjp: the cotangent must have the structure of the output")
        seeds = {}
        for r, c, name in zip(self.outputs, cts, self.output_names):
            want = shape_of(self._out(vals, r))
            if shape_of(c) != want:
                raise ValueError(f"vjp: cotangent for {name} has shape {shape_of(c)}, but "
                                 f"the output has shape {want}")
            if isinstance(r, int) and self.nodes[r].diff:
                seeds[r] = c if r not in seeds else seeds[r] + c
        got = self._reverse(vals, seeds)
        out = unflatten(self._out_td, [_plain_scalar(self._out(vals, r)) for r in self.outputs])
        grads = inputs.per_arg([_finish(got[k], x) for k, x in zip(self.input_ids, inputs.leaves)])
        return out, tuple(grads)

    def jacobian(self, *args, mode=None, chunk_size=None):
        """The Jacobian of the outputs with respect to every input.

        Args:
            *args: inputs of the traced structure and shapes.
            mode: ``"forward"`` (tangents pushed in chunks), ``"reverse"`` (one replay,
                then batched cotangent sweeps), or None to pick by the shapes.
            chunk_size: directions (or rows) per sweep.

        Returns:
            Blocks of shape ``out.shape + in.shape`` (a tuple over the arguments when
            there are several, nested in the output's structure).

        >>> import admodes as ad, numpy as np
        >>> ad.trace(lambda x: x ** 2, np.zeros(2)).jacobian(np.array([1.0, 2.0]))
        array([[2., 0.],
               [0., 4.]])
        """
        from .api import _jacfwd_impl, _jacrev_by_rows
        inputs = self._inputs(args, "jacobian")
        nums = tuple(range(len(args)))
        single = len(args) == 1
        out_shapes = [self.nodes[r].shape if isinstance(r, int) else shape_of(r.value)
                      for r in self.outputs]
        out_sizes = [math.prod(s) for s in out_shapes]
        if mode is None:
            mode = choose_mode(sum(inputs.sizes), sum(out_sizes))
        if mode in ("forward", "fwd"):
            return _jacfwd_impl(self, args, {}, nums, single, chunk_size, "jacobian")
        if mode not in ("reverse", "rev"):
            raise ValueError(f"jacobian: unknown mode {mode!r}")
        vals = self._values(inputs.leaves)

        def sweep(rows):
            seeds = {}
            for r, c in zip(self.outputs, rows):
                if c is not None and isinstance(r, int) and self.nodes[r].diff:
                    seeds[r] = c if r not in seeds else seeds[r] + c
            if not seeds:
                return [None] * len(self.input_ids)
            cts = self._reverse(vals, seeds, nb=1)
            b = next(np.shape(c)[0] for c in rows if c is not None)
            return [None if cts[k] is None else np.broadcast_to(cts[k], (b,) + tuple(shape))
                    for k, shape in zip(self.input_ids, inputs.shapes)]

        return _jacrev_by_rows(sweep, inputs, out_shapes, self._out_td, single, chunk_size)

    # -------------------------------------------------------------- op counts --------

    def op_counts(self, mode="reverse", *, chunk_size=1):
        """Primitive evaluations and rule applications, counted from the graph itself.

        * ``"value"``: one pass: every operation node evaluated once.
        * ``"forward"``: the full Jacobian by columns (for a scalar output, the gradient):
          one forward sweep per chunk of ``chunk_size`` input directions; each sweep
          evaluates every node and applies the JVP rule of every argument that carries a
          tangent (a symbolic-zero tangent costs nothing).
        * ``"reverse"``: the Jacobian by rows (for a scalar output, the gradient): one
          value pass, then one backward sweep per chunk of output rows applying the VJP
          rule of every differentiable argument of every node that leads to the output.
        * ``"all"``: a dict of the three.

        Rule applications match ``ad.counting()`` on the dynamic modes (a rule that calls
        other primitives is one application).

        Args:
            mode: ``"value"``, ``"forward"``, ``"reverse"`` or ``"all"``.
            chunk_size: directions (forward) or output rows (reverse) per sweep; 1 is the
                textbook "one sweep per input"; None chunks as ``ad.grad(mode="forward")``.

        Returns:
            ``{"mode", "sweeps", "evaluations", "rules", "total", "by_primitive"}``.

        >>> import admodes as ad
        >>> g = ad.trace(lambda a, b: (a + b) * (b + 1), 2.0, 1.0)
        >>> [g.op_counts(m)["rules"] for m in ("value", "forward", "reverse")]
        [0, 6, 5]
        """
        if mode == "all":
            return {m: self.op_counts(m, chunk_size=chunk_size)
                    for m in ("value", "forward", "reverse")}
        mode = {"fwd": "forward", "rev": "reverse"}.get(mode, mode)
        if mode not in ("value", "forward", "reverse"):
            raise ValueError(f"op_counts: unknown mode {mode!r}; expected 'value', "
                             "'forward', 'reverse' or 'all'")
        ops = [nd for nd in self.nodes if nd.primitive is not None]
        by = {}

        def bump(node, key, n):
            d = by.setdefault(node.op, {"evaluations": 0, "rules": 0})
            d[key] += n

        def diff_args(node):
            return [j for i, j in node.node_args()
                    if i not in node.stopped and self.nodes[j].diff]

        def rules_for(node, active):
            return 0 if not active else (1 if node.primitive.vjp_joint is not None and
                                         mode == "reverse" else
                                         1 if node.primitive.jvp_joint is not None and
                                         mode == "forward" else len(active))

        if mode == "value":
            sweeps, passes = 0, 1
            chunks = []
        elif mode == "forward":
            sizes = [math.prod(s) for s in self._in_shapes]
            dep = [0] * len(self.nodes)
            for t, k in enumerate(self.input_ids):
                dep[k] |= 1 << t
            for nd in ops:
                if nd.diff:
                    for j in diff_args(nd):
                        dep[nd.id] |= dep[j]
            chunks = _chunks(max(sum(sizes), 1), max(sizes, default=1), chunk_size) \
                if sum(sizes) else []
            sweeps = passes = len(chunks)
            masks = [_leaf_mask(sizes, s, e) for s, e in chunks]
            for mask in masks:
                for nd in ops:
                    if nd.diff:
                        bump(nd, "rules", rules_for(nd, [j for j in diff_args(nd)
                                                         if dep[j] & mask]))
        else:
            out_shapes = [self.nodes[r].shape if isinstance(r, int) else () for r in
                          self.outputs]
            sizes = [math.prod(s) for s in out_shapes]
            reach = [0] * len(self.nodes)
            for t, r in enumerate(self.outputs):
                if isinstance(r, int) and self.nodes[r].diff:
                    reach[r] |= 1 << t
            for nd in reversed(ops):
                if reach[nd.id] and nd.diff:
                    for j in diff_args(nd):
                        reach[j] |= reach[nd.id]
            chunks = _chunks(max(sum(sizes), 1), 1, chunk_size) if sum(sizes) else []
            sweeps, passes = len(chunks), 1
            for s, e in chunks:
                mask = _leaf_mask(sizes, s, e)
                for nd in ops:
                    if nd.diff and reach[nd.id] & mask:
                        bump(nd, "rules", rules_for(nd, diff_args(nd)))
        for nd in ops:
            bump(nd, "evaluations", passes)
        ev = sum(d["evaluations"] for d in by.values())
        ru = sum(d["rules"] for d in by.values())
        return {"mode": mode, "sweeps": sweeps, "evaluations": ev, "rules": ru,
                "total": ev + ru, "by_primitive": by}

    # -------------------------------------------------------------- path sums --------
    # Path sums and vertex elimination live in admodes.elimination; these call into it.

    def count_paths(self, output=None, input=None):
        """The number of input→output paths (exact, a Python int; structural).

        Args:
            output: an output position or name (default: every output).
            input: an input leaf index or name (default: every input).

        Returns:
            The number of paths, summed over the chosen pairs.

        >>> import admodes as ad
        >>> ad.trace(lambda a, b: (a + b) * (b + 1.0), 2.0, 1.0).count_paths(input="b")
        2
        """
        from .elimination import count_paths
        return count_paths(self, output=output, input=input)

    def jacobian_by_paths(self, *args, max_paths=100_000):
        """The Jacobian of a scalar graph as the literal sum over paths of the products
        of the edges' local partials (exponential on purpose; see
        :mod:`admodes.elimination`).

        Args:
            *args: the point (default: the example inputs).
            max_paths: refuse with a ``ValueError`` stating the count beyond this.

        Returns:
            ``(n_outputs, n_inputs)`` float array.

        >>> import admodes as ad
        >>> ad.trace(lambda a, b: (a + b) * (b + 1.0), 2.0, 1.0).jacobian_by_paths()
        array([[2., 5.]])
        """
        from .elimination import path_sum
        return path_sum(self, *args, max_paths=max_paths).jacobian

    def eliminate(self, order="forward", *args):
        """Vertex elimination on the linearised scalar graph: the Jacobian, the
        multiplications and additions of edge labels, and the sequence.

        Args:
            order: ``"forward"``, ``"reverse"``, ``"markowitz"`` or a sequence of node ids.
            *args: the point (default: the example inputs).

        Returns:
            An :class:`admodes.elimination.Elimination`.

        >>> import admodes as ad
        >>> r = ad.trace(lambda a, b: (a + b) * (b + 1.0), 2.0, 1.0).eliminate("reverse")
        >>> r.jacobian, r.sequence, r.mults
        (array([[2., 5.]]), (3, 2), 3)
        """
        from .elimination import eliminate
        return eliminate(self, order, *args)

    def draw_paths(self, path=None, **options):
        """Draw every input→output path highlighted, one panel each (matplotlib).

        Args:
            path: where to save the PNG (None: only return the figure).
            **options: ``output``, ``input``, ``at``, ``names``, ``max_panels``, ``dpi``
                (see :func:`admodes.elimination.draw_paths`).

        Returns:
            The matplotlib ``Figure``.

        >>> import admodes as ad
        >>> g = ad.trace(lambda a, b: (a + b) * (b + 1.0), 2.0, 1.0)
        >>> len(g.draw_paths().axes)
        3
        """
        from .elimination import draw_paths
        return draw_paths(self, path, **options)

    def draw_elimination(self, order="forward", path=None, **options):
        """Draw a vertex elimination as a strip of panels, one per step (matplotlib).

        Args:
            order: as for :meth:`eliminate`.
            path: where to save the PNG (None: only return the figure).
            **options: ``at``, ``names``, ``edge_text``, ``dpi`` (see
                :func:`admodes.elimination.draw_elimination`).

        Returns:
            The matplotlib ``Figure``.

        >>> import admodes as ad
        >>> g = ad.trace(lambda a, b: (a + b) * (b + 1.0), 2.0, 1.0)
        >>> len(g.draw_elimination("markowitz").axes)
        3
        """
        from .elimination import draw_elimination
        return draw_elimination(self, order, path, **options)

    # -------------------------------------------------------------- drawing ----------

    def _annotate(self, at, views, wrt, output, names):
        """Values, local partials and the per-view derivative of every node."""
        args = self.example_args if at is None else tuple(at)
        inputs = self._inputs(args, "draw")
        vals = self._values(inputs.leaves)
        label = {nd.id: nd.name or f"v{nd.id}" for nd in self.nodes}
        outs = [r for r in self.outputs if isinstance(r, int)]
        for r, name in zip(self.outputs, self.output_names):
            if isinstance(r, int) and self.nodes[r].primitive is not None:
                label[r] = name
        label.update(names or {})
        partial = {}
        for nd in self.nodes:
            if nd.primitive is None or not nd.diff:
                continue
            for i, j in nd.node_args():
                if i not in nd.stopped and self.nodes[j].diff:
                    partial[(nd.id, i)] = self._local_partial(nd, i, vals)
        ann = {"vals": vals, "label": label, "partial": partial, "views": views,
               "inputs": inputs}
        if "forward" in views:
            leaf = self._pick_input(wrt)
            level = ForwardLevel()
            try:
                boxed = [Dual(x, 1.0 if type(x) is float else np.ones(shape_of(x)), level)
                         if t == leaf else x for t, x in enumerate(inputs.leaves)]
                fv = self._values(boxed)
            finally:
                level.close()
            ann["wrt"] = label[self.input_ids[leaf]]
            ann["wrt_array"] = shape_of(inputs.leaves[leaf]) != ()
            ann["forward"] = [v._tangent if isinstance(v, Dual) and v._level is level else
                              None for v in fv[:len(self.nodes)]]
        if "reverse" in views:
            o = 0 if output is None else int(output)
            if not outs or not 0 <= o < len(self.outputs) or \
                    not isinstance(self.outputs[o], int):
                raise ValueError(f"draw: output {output} is not a node of the graph")
            r = self.outputs[o]
            seed = 1.0 if self.nodes[r].shape == () else np.ones(self.nodes[r].shape)
            ann["reverse"] = self._reverse(vals, {r: seed} if self.nodes[r].diff else {})
            ann["of"] = label[r]
        return ann

    def _pick_input(self, wrt):
        if wrt is None:
            return 0
        if isinstance(wrt, str):
            for t, k in enumerate(self.input_ids):
                if self.nodes[k].name == wrt:
                    return t
            raise ValueError(f"draw: no input named {wrt!r}; inputs are "
                             f"{[self.nodes[k].name for k in self.input_ids]}")
        t = int(wrt)
        if not 0 <= t < len(self.input_ids):
            raise ValueError(f"draw: wrt={wrt} is out of range for {len(self.input_ids)} inputs")
        return t

    def _local_partial(self, node, i, vals):
        """The edge label: ∂node/∂(argument i) from the registry's rule (a number for
        scalars, the diagonal for same-shape elementwise edges, else the Jacobian's shape)."""
        prim = node.primitive
        primals = tuple(vals[j] for j in self._slots[node.id])
        ans = vals[node.id]
        xs = shape_of(primals[i])
        if not (xs == node.shape and (xs == () or prim.elementwise)):
            return f"J {_shape_text(node.shape)}×{_shape_text(xs)}"
        t = 1.0 if xs == () else np.ones(xs)
        try:
            if prim.jvp_joint is not None:
                ts = tuple(t if p == i else np.zeros(shape_of(x)) for p, x in enumerate(primals))
                d = prim.jvp_joint(ts, ans, primals, node.params)
            elif prim.jvps is not None:
                d = prim.jvps[i](t, ans, *primals, **node.params)
            elif prim.vjp_joint is not None:
                d = prim.vjp_joint(t, ans, primals, node.params)[i]
            else:
                d = prim.vjps[i](t, ans, *primals, **node.params)
        except Exception:  # a missing rule: the drawing still shows the graph
            return "?"
        return _summary(d) if xs == () else "diag " + _summary(d)

    def _node_lines(self, nd, ann, view):
        lab = ann["label"]
        name = lab[nd.id]
        v = ann["vals"][nd.id]
        if nd.primitive is None:
            lines = [f"{name}  (input)", f"= {_summary(v)}"]
        else:
            lines = [f"{name} = {_formula(nd, self.nodes, lab)}", f"= {_summary(v)}"]
        if view == "forward":
            t = ann["forward"][nd.id]
            d = "0" if t is None else _summary(t)
            lines.append(f"∂{name}/∂{ann['wrt']} = {d}")
        elif view == "reverse":
            c = ann["reverse"][nd.id]
            d = "0" if c is None else _summary(c)
            lines.append(f"∂{ann['of']}/∂{name} = {d}")
        return lines

    def _layout(self):
        """Layers from the topological order (longest path from an input), ordered within
        a layer by the mean position of the arguments (fewer crossings)."""
        layer = [0] * len(self.nodes)
        for nd in self.nodes:
            ks = [j for _, j in nd.node_args()]
            layer[nd.id] = 1 + max((layer[j] for j in ks), default=-1) if ks else 0
        rows = {}
        for nd in self.nodes:
            rows.setdefault(layer[nd.id], []).append(nd.id)
        pos = {}
        for ly in sorted(rows):
            ids = rows[ly]
            if ly:
                def bary(k):
                    ks = [pos[j] for _, j in self.nodes[k].node_args()]
                    return sum(ks) / len(ks)
                ids = sorted(ids, key=bary)
            n = len(ids)
            for q, k in enumerate(ids):
                pos[k] = q - (n - 1) / 2
            rows[ly] = ids
        return layer, pos, rows

    def draw(self, path=None, *, at=None, show="values", wrt=None, output=None,
             names=None, title=None, dpi=150):
        """Draw the graph with matplotlib (no Graphviz): layered from the inputs (bottom)
        to the outputs (top), each node labelled with its operation and value, each edge
        with the local partial derivative.

        Args:
            path: where to save (``.png`` or ``.svg``); None only returns the figure.
            at: a tuple of inputs to evaluate at (default: the example inputs).
            show: ``"values"``, ``"forward"`` (each node also shows ∂node/∂wrt, the
                tangent one forward sweep carries), ``"reverse"`` (∂output/∂node, the
                cotangent one reverse sweep carries), or a sequence of them drawn side
                by side.
            wrt: the input of the forward view (name or leaf index; default the first);
                an array input is pushed along the all-ones direction.
            output: the output index of the reverse view (default 0; an array output is
                seeded with ones).
            names: ``{node id: display name}`` for intermediate nodes.
            title: an overall title.
            dpi: resolution of a PNG.

        Returns:
            The matplotlib ``Figure``.

        >>> import admodes as ad
        >>> g = ad.trace(lambda a, b: (a + b) * (b + 1), 2.0, 1.0)
        >>> fig = g.draw(show=("forward", "reverse"), wrt="b")
        >>> len(fig.axes)
        2
        """
        try:
            from matplotlib.figure import Figure
            from matplotlib.patches import FancyBboxPatch
        except ImportError as e:  # pragma: no cover - optional dependency
            raise ImportError("Graph.draw needs matplotlib (pip install admodes[report]); "
                              "graph.to_dot() needs nothing") from e
        views = (show,) if isinstance(show, str) else tuple(show)
        for v in views:
            if v not in ("values", "forward", "reverse"):
                raise ValueError(f"draw: unknown view {v!r}; expected 'values', 'forward' "
                                 "or 'reverse'")
        if len(self.nodes) > 300:
            raise ValueError(f"draw: {len(self.nodes)} nodes are too many to draw legibly; "
                             "use graph.to_dot() with Graphviz")
        ann = self._annotate(at, views, wrt, output, names)
        layer, pos, rows = self._layout()
        texts = {(v, nd.id): self._node_lines(nd, ann, v) for v in views for nd in self.nodes}
        fs = 9  # font size, points; 1 data unit = 1 inch
        char_w, line_h = 0.62 * fs / 72, 1.35 * fs / 72
        box_w = max(len(max(t, key=len)) for t in texts.values()) * char_w + 0.3
        box_h = max(len(t) for t in texts.values()) * line_h + 0.22
        dx, dy = box_w + 0.5, box_h + 1.0
        heads = {v: self._view_title(v, ann) for v in views}
        head_w = max(len(line) for h in heads.values() for line in h.split("\n"))
        width = max(max(len(r) for r in rows.values()) * dx + 0.4,
                    head_w * 0.62 * (fs + 1) / 72 + 0.4)
        n_layers = max(rows) + 1
        height = n_layers * dy + 0.8
        fig = Figure(figsize=(width * len(views), height + (0.4 if title else 0)))
        top = height / (height + (0.4 if title else 0))
        if title:
            fig.text(0.5, 1 - 0.2 / (height + 0.4), title, ha="center", va="center",
                     fontsize=fs + 3, weight="bold")
        out_ids = {r for r in self.outputs if isinstance(r, int)}
        for col, view in enumerate(views):
            ax = fig.add_axes((col / len(views), 0, 1 / len(views), top))
            ax.set_xlim(-width / 2, width / 2)
            ax.set_ylim(-box_h / 2 - 0.3, (n_layers - 1) * dy + box_h / 2 + 0.8)
            ax.set_axis_off()
            ax.text(0, (n_layers - 1) * dy + box_h / 2 + 0.45, heads[view],
                    ha="center", va="center", fontsize=fs + 1, weight="bold")
            xy = {k: (pos[k] * dx, layer[k] * dy) for k in pos}
            derivs = ann.get(view)
            for nd in self.nodes:
                x, y = xy[nd.id]
                if nd.primitive is None:
                    face = "#dbeafe"
                elif nd.id in out_ids:
                    face = "#fde68a"
                elif not nd.diff:
                    face = "#e5e7eb"
                else:
                    face = "#f9fafb"
                hot = derivs is not None and isinstance(derivs, list) and \
                    _nonzero(derivs[nd.id])
                edge = {"forward": "#15803d", "reverse": "#b91c1c"}.get(view, "#374151")
                ax.add_patch(FancyBboxPatch(
                    (x - box_w / 2, y - box_h / 2), box_w, box_h,
                    boxstyle="round,pad=0,rounding_size=0.12", fc=face,
                    ec=edge if hot else "#6b7280", lw=2.0 if hot else 1.0,
                    ls="-" if nd.diff or nd.primitive is None else "--"))
                lines = texts[(view, nd.id)]
                for q, line in enumerate(lines):
                    yy = y + ((len(lines) - 1) / 2 - q) * line_h
                    color = edge if q == 2 else "#111827"
                    ax.text(x, yy, line, ha="center", va="center", fontsize=fs, color=color,
                            weight="bold" if q == 2 else "normal")
            for nd in self.nodes:
                args = nd.node_args()
                for slot, (i, j) in enumerate(args):
                    (x0, y0), (x1, y1) = xy[j], xy[nd.id]
                    x1 += (slot - (len(args) - 1) / 2) * min(0.35, box_w / (len(args) + 1))
                    start, end = (x0, y0 + box_h / 2), (x1, y1 - box_h / 2)
                    rad = 0.25 if layer[nd.id] - layer[j] > 1 else 0.0
                    ax.annotate("", xy=end, xytext=start, arrowprops=dict(
                        arrowstyle="-|>", color="#4b5563", lw=1.0, shrinkA=0, shrinkB=0,
                        connectionstyle=f"arc3,rad={rad}"))
                    text = ann["partial"].get((nd.id, i))
                    if text is None:
                        continue
                    lab = ann["label"]
                    # Repeated edges (x * x) put their labels at different heights; a
                    # curved edge has its label on the curve's midpoint.
                    same = [q for q, (_, jj) in enumerate(args) if jj == j]
                    f = 0.5 if len(same) == 1 else 0.3 + 0.4 * same.index(slot) / (len(same) - 1)
                    ddx, ddy = end[0] - start[0], end[1] - start[1]
                    mx = start[0] + f * ddx + 0.5 * rad * ddy
                    my = start[1] + f * ddy - 0.5 * rad * ddx
                    ax.text(mx, my, f"∂{lab[nd.id]}/∂{lab[j]} = {text}", ha="center",
                            va="center", fontsize=fs - 1, color="#7c2d12",
                            bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none",
                                      alpha=0.9))
        if path is not None:
            fig.savefig(os.fspath(path), dpi=dpi)
        return fig

    def _view_title(self, view, ann):
        if view == "forward":
            w = ann["wrt"]
            how = " (all-ones direction)" if ann["wrt_array"] else ""
            return f"forward mode, seeded at {w}{how}:\none sweep up gives ∂·/∂{w} at every node"
        if view == "reverse":
            o = ann["of"]
            return f"reverse mode, seeded at {o}:\none sweep down gives ∂{o}/∂· at every node"
        at = ", ".join(f"{self.nodes[k].name}={_summary(x)}"
                       for k, x in zip(self.input_ids, ann["inputs"].leaves))
        return f"{self.name} at {at}"

    def to_dot(self, *, at=None, show="values", wrt=None, output=None, names=None):
        """Graphviz DOT text of the graph (for those who have Graphviz), with the same
        node and edge labels as :meth:`draw`.

        Args:
            at, show, wrt, output, names: as for :meth:`draw` (one view).

        Returns:
            The DOT source, a string.

        >>> import admodes as ad
        >>> dot = ad.trace(lambda a, b: (a + b) * (b + 1), 2.0, 1.0).to_dot()
        >>> dot.startswith("digraph"), dot.count("->")
        (True, 5)
        """
        ann = self._annotate(at, (show,), wrt, output, names)
        out_ids = {r for r in self.outputs if isinstance(r, int)}
        lines = [f'digraph "{_dot_escape(self.name)}" {{', "  rankdir=BT;",
                 '  node [shape=box, style="rounded,filled", fontname="Helvetica"];']
        for nd in self.nodes:
            color = "#dbeafe" if nd.primitive is None else \
                "#fde68a" if nd.id in out_ids else "#f9fafb"
            text = "\\n".join(_dot_escape(s) for s in self._node_lines(nd, ann, show))
            lines.append(f'  n{nd.id} [label="{text}", fillcolor="{color}"];')
        lab = ann["label"]
        for nd in self.nodes:
            for i, j in nd.node_args():
                p = ann["partial"].get((nd.id, i))
                attr = "" if p is None else \
                    f' [label="{_dot_escape(f"∂{lab[nd.id]}/∂{lab[j]} = {p}")}"]'
                lines.append(f"  n{j} -> n{nd.id}{attr};")
        lines.append("}")
        return "\n".join(lines) + "\n"


def _apply_rule(rule, params, g, ans, *primals):
    return rule(g, ans, *primals, **params)


def _apply_joint(joint, params, g, ans, *primals):
    return tuple(joint(g, ans, primals, params))


def _one():
    return 1.0


def _pick(i, both):
    return both[i]


# ---------------------------------------------------------------- text helpers --------

_INFIX = {"add": "+", "subtract": "−", "multiply": "×", "divide": "/", "power": "^"}


def _leaf_mask(sizes, s, e):
    """Bitmask of the leaves that own some of the rows s..e of the concatenation."""
    mask, off = 0, 0
    for t, size in enumerate(sizes):
        if max(s, off) < min(e, off + size):
            mask |= 1 << t
        off += size
    return mask


def _nonzero(v):
    if v is None:
        return False
    a = np.asarray(value(v))
    return bool(np.any(a != 0))


def _shape_text(s):
    return "(" + ",".join(str(n) for n in s) + ("," if len(s) == 1 else "") + ")"


def _summary(v):
    """A short text for a value: the number, a short list, or shape and mean."""
    a = np.asarray(value(v))
    if a.dtype.kind == "b":
        if a.size <= 4:
            return str(bool(a)) if a.ndim == 0 else "[" + ", ".join(map(str, a.ravel())) + "]"
        return f"{_shape_text(a.shape)} {int(a.sum())} true"
    if a.dtype.kind not in "iufc":
        return type(v).__name__
    if a.ndim == 0:
        return f"{a.item():.4g}"
    if a.size <= 3:
        return "[" + ", ".join(f"{x:.3g}" for x in a.ravel()) + "]"
    return f"{_shape_text(a.shape)} mean {a.mean():.3g}"


def _param_text(v):
    if isinstance(v, np.ndarray):
        return _summary(v)
    name = getattr(v, "name", None)
    if isinstance(name, str) and not isinstance(v, (str, tuple)):
        return name
    r = repr(v)
    return r if len(r) <= 32 else r[:29] + "..."


def _arg_list(node):
    parts = [f"%{a}" if not isinstance(a, Constant) else _summary(a.value) for a in node.args]
    parts += [f"{k}={_param_text(v)}" for k, v in node.params.items()]
    return ", ".join(parts)


def _formula(node, nodes, label=None):
    if node.primitive is None:
        return f"input {node.name}"

    def arg(a):
        if isinstance(a, Constant):
            return _summary(a.value)
        return label[a] if label is not None else f"%{a}"

    args = [arg(a) for a in node.args]
    if node.op in _INFIX and len(args) == 2:
        return f"{args[0]} {_INFIX[node.op]} {args[1]}"
    if node.op == "negative":
        return f"−{args[0]}"
    extra = [f"{k}={_param_text(v)}" for k, v in node.params.items()
             if not (k == "keepdims" and v is False)]
    return f"{node.op}({', '.join(args + extra)})"


def _dot_escape(s):
    return str(s).replace("\\", "\\\\").replace('"', '\\"')
