"""``ad.jit``: trace a function (or a transformation of one) once per signature,
optimise the program, generate Python source with plain numpy calls and run that.

The first call for a signature (argument structure, shapes, dtypes, values of the
static arguments) runs ``fun`` under a tracing level, as :func:`admodes.trace` does.
When ``fun`` is itself a transformation (``ad.grad(f)``, ``ad.hessian(f)``, a ``jvp``)
its rules are admodes ops applied to traced values, so the trace records the forward
pass *and* the derivative sweep (forward-mode rules too).  A rule that computes with plain
values (read through ``ad.value``) cannot bake trace-time numbers into the program: the
modes' rule hooks (:mod:`.hooks`) record such a rule as one opaque call instead.  Where
that is impossible (such a rule applied inside nested differentiation) the signature runs
dynamically, with a :class:`JitFallbackWarning` naming the reason: a result is right or
an exception, never a frozen constant.

The program then goes through the passes of :mod:`.passes` and the code generator of
:mod:`.codegen`; ``jitted.source(*args)`` shows the result.  A Python branch on a traced
value is a guard, checked in the generated code; when one fails the function is traced
again at the new arguments and the new variant is cached next to the old one.
"""

from __future__ import annotations

import itertools
import linecache
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import dispatch
from ..arguments import _Args
from ..dispatch import Box, shape_of
from ..tree import flatten, leaf_paths, unflatten
from .codegen import generate, identifier
from .hooks import Untraceable, rule_hooks
from .nodes import Constant, RetraceRequired
from .passes import PASSES, Const, Instr, Program, optimize
from .trace import _arg_names, _ImpureRule, _TraceLevel, _Tracer

__all__ = ["jit", "Jitted", "JitFallbackWarning", "JitRetraceWarning"]

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # admodes/
_counter = itertools.count()


class JitFallbackWarning(UserWarning):
    """``ad.jit`` could not compile a signature and runs it dynamically."""


class JitRetraceWarning(UserWarning):
    """``ad.jit`` keeps retracing a function (its guards keep failing)."""


class _GuardFailed(Exception):
    def __init__(self, guard):
        super().__init__(guard.describe())
        self.guard = guard


class _Check:
    """A guard as the generated code checks it: ``check(v)`` raises when it fails."""

    __slots__ = ("guard",)

    def __init__(self, guard):
        self.guard = guard

    def check(self, v):
        if not self.guard.holds(v):
            raise _GuardFailed(self.guard)


_BENCH_DIR = os.path.join(_PKG_DIR, "bench")  # the benchmark problems are user code


def _inside(filename):
    path = os.path.abspath(filename)
    return path.startswith(_PKG_DIR) and not path.startswith(_BENCH_DIR)


def _site():
    """``line N: source`` of the innermost frame outside admodes (for comments)."""
    f = sys._getframe(2)
    while f is not None and _inside(f.f_code.co_filename):
        f = f.f_back
    if f is None:
        return ""
    src = linecache.getline(f.f_code.co_filename, f.f_lineno).strip()
    if len(src) > 60:
        src = src[:57] + "..."
    return f"{src}  (line {f.f_lineno})" if src else f"line {f.f_lineno}"


class _JitLevel(_TraceLevel):
    """The tracing level of ``ad.jit``: a static-graph trace that also keeps, per node,
    the user's source line (or the rule it belongs to) and whether it was a float."""

    __slots__ = ("where", "isfloat", "rule")

    def __init__(self):
        # opaque: ad.value of a traced value is an _Opaque (a shape, no value), so code
        # that computes with plain values (a sort order, a mask in numpy) cannot freeze
        # trace-time numbers into the program: it raises and runs dynamically instead.
        super().__init__(opaque=True)
        self.where, self.isfloat, self.rule = {}, {}, None

    def _add(self, prim, args, stopped, params, ans, name=None):
        t = super()._add(prim, args, stopped, params, ans, name)
        self.isfloat[t._id] = type(ans) is float
        if prim is not None:
            where = self.rule
            if where is None:
                where = "reverse sweep: sum of cotangents" if dispatch.sweeping.depth \
                    else _site()
            self.where[t._id] = where
        return t


class _Variant:
    """One compiled signature: the graph, the program, its source and function."""

    def __init__(self, graph, level, out_kinds, arg_names, optimize_passes, name):
        self.graph = graph
        self.out_td = graph._out_td
        self.out_kinds = out_kinds
        prog = _program(graph, level, arg_names)
        self.raw = prog
        self.program = optimize(prog, optimize_passes) if optimize_passes else prog
        fname = identifier(name, {"np", "math"})
        src, ns = generate(self.program, fname, check=_Check)
        filename = f"<admodes.jit {name} #{next(_counter)}>"
        linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
        exec(compile(src, filename, "exec"), ns)
        self.source = src
        self.fn = ns[fname]
        self.has_calls = any(n.op == "call" for n in graph.nodes)
        kinds = out_kinds
        single = len(kinds) == 1 and self.out_td == flatten(0.0)[1]
        if single and kinds[0] is float:
            self.post = lambda outs: float(outs[0])
        elif single:
            self.post = lambda outs: _as_kind(outs[0], kinds[0])
        else:
            td = self.out_td
            self.post = lambda outs: unflatten(td, [_as_kind(o, k) for o, k in zip(outs, kinds)])

    def run(self, leaves):
        return self.post(self.fn(*leaves))


def _as_kind(v, kind):
    if kind is float:
        return float(v)
    if kind is np.ndarray and type(v) is not np.ndarray:
        return np.asarray(v)
    if kind is not np.ndarray and type(v) is np.ndarray and v.ndim == 0:
        return v[()]
    return v


def _program(graph, level, arg_names):
    """The :class:`Program` of a traced graph (its live nodes, in order)."""
    taken = {"np", "math"}
    names, info = {}, {}
    inputs = []
    for k in graph.input_ids:
        node = graph.nodes[k]
        names[k] = identifier(arg_names.get(k, node.name), taken)
        inputs.append(names[k])
        info[names[k]] = (node.shape, np.dtype(node.dtype), level.isfloat.get(k, False))
    instrs = []
    for k, prim, _impl, params, _slots, guards in graph._plan:
        node = graph.nodes[k]
        names[k] = f"t{k}"
        args = [Const(a.value) if isinstance(a, Constant) else names[a] for a in node.args]
        isf = level.isfloat.get(k, False)
        info[names[k]] = (node.shape, np.dtype(node.dtype), isf)
        instrs.append(Instr(names[k], prim, args, params, node.shape, node.dtype, isf,
                            level.where.get(k, ""), guards or ()))
    outputs = [names[r] if isinstance(r, int) else Const(r.value) for r in graph.outputs]
    prog = Program(inputs, instrs, outputs, info)
    prog.input_guards = [(names[k], g) for k in graph.input_ids
                         for g in graph._node_guards.get(k, ())]
    return prog


def _trace_for_jit(fun, args, names):
    """Trace ``fun(*args)`` on a :class:`_JitLevel`; returns ``(graph, level, out kinds)``."""
    from ..arguments import _check_output
    from .replay import Graph
    nargs = len(args)
    inputs = _Args(args, tuple(range(nargs)), "jit")
    leaf_names = []
    for a, name in enumerate(names):
        leaf_names.extend(leaf_paths(args[a], name))
    level = _JitLevel()
    try:
        with rule_hooks(level):
            boxed = [level.input(x, n) for x, n in zip(inputs.leaves, leaf_names)]
            out = inputs.call(fun, boxed, {})
    finally:
        level.close()
    outs, out_td = flatten(out)
    refs, kinds = [], []
    for o, p in zip(outs, leaf_paths(out, "out")):
        if isinstance(o, _Tracer) and o._level is level:
            refs.append(o._id)
            kinds.append(type(o._val))
        elif isinstance(o, Box):
            raise TypeError(f"jit: output {p} is a value traced by another transformation")
        else:
            v = _check_output(o, p, "jit")
            refs.append(Constant(v))
            kinds.append(type(v))
    graph = Graph(fun, level.nodes, level.guards, [b._id for b in boxed], inputs, refs,
                  out_td, leaf_paths(out, "out"), names, prune=True)
    return graph, level, kinds


def _concrete(x):
    """The value under ``x``'s boxes (a value traced by an enclosing ``ad.jit`` shows
    only a shape to ``ad.value``; its trace-time value picks the signature)."""
    while isinstance(x, Box):
        if isinstance(x, _Tracer):
            return x._val
        x = x._primal
    return x


def _sig(x):
    t = type(x)
    if t is np.ndarray:
        return (x.shape, x.dtype.str)
    if t is float:
        return t
    return None


def _flat_sig(dyn):
    """``(key, leaves)`` when every argument is an array, a float or a flat list or
    tuple of them (a parameter list): no pytree walk per call.  None otherwise."""
    key, leaves = [], []
    for a in dyn:
        s = _sig(a)
        if s is not None:
            key.append(s)
            leaves.append(a)
            continue
        t = type(a)
        if t is not list and t is not tuple:
            return None
        sub = tuple(_sig(b) for b in a)
        if None in sub:
            return None
        key.append((t, sub))
        leaves.extend(a)
    return tuple(key), leaves


class Jitted:
    """A function compiled by :func:`jit` (one variant per signature and guard outcome).

    Attributes:
        fun: the wrapped function.
        static_argnums: positions of the static arguments.
        optimize: whether the passes run.
        n_traces: how many times ``fun`` was traced.
    """

    def __init__(self, fun, static_argnums=(), optimize=True, max_variants=8):
        if isinstance(static_argnums, int):
            static_argnums = (static_argnums,)
        self.fun = fun
        self.static_argnums = tuple(sorted(set(static_argnums)))
        self.optimize = optimize
        self.max_variants = max_variants
        self.n_traces = 0
        self._cache = {}  # key -> list of _Variant (most recent first) or a fallback str
        self._retraces = {}
        self.__name__ = getattr(fun, "__name__", "f")
        self.__doc__ = getattr(fun, "__doc__", None)

    def __repr__(self):
        return f"<ad.jit of {self.__name__}: {sum(map(len, self._cache.values()))} variant(s)>"

    # ---------------------------------------------------------------- arguments ------

    def _split(self, args):
        st = self.static_argnums
        if not st:
            return args, ()
        n = len(args)
        for i in st:
            if i >= n:
                raise TypeError(f"jit of {self.__name__}: static_argnums names argument {i}, "
                                f"but only {n} argument(s) were given")
        static = tuple(args[i] for i in st)
        try:
            hash(static)
        except TypeError:
            raise TypeError(f"jit of {self.__name__}: static arguments must be hashable "
                            f"(got {[type(s).__name__ for s in static]})") from None
        return tuple(a for i, a in enumerate(args) if i not in st), static

    def _leaves(self, dyn):
        """``(key, leaves, boxed)`` of the dynamic arguments."""
        sig = [_sig(a) for a in dyn]
        if None not in sig:
            return tuple(sig), dyn, False
        fast = _flat_sig(dyn)
        if fast is not None:
            return fast[0], fast[1], False
        inputs = _Args(dyn, tuple(range(len(dyn))), "jit")
        leaves = inputs.leaves
        boxed = any(isinstance(x, Box) for x in leaves)
        key = tuple(flatten(a)[1] for a in dyn) + tuple(
            (shape_of(x), np.result_type(_concrete(x)).str, type(_concrete(x)) is float)
            for x in leaves)
        return key, leaves, boxed

    # ---------------------------------------------------------------- tracing --------

    def _bound(self, static, n):
        if not self.static_argnums:
            return self.fun
        st, fun = self.static_argnums, self.fun

        def dynamic_part(*dyn):
            it, sit = iter(dyn), iter(static)
            return fun(*[next(sit) if i in st else next(it) for i in range(n)])

        return dynamic_part

    def _names(self, n):
        names = _arg_names(self.fun, n)
        return [nm for i, nm in enumerate(names) if i not in self.static_argnums]

    def _compile(self, dyn, static, n):
        self.n_traces += 1
        names = self._names(n)
        try:
            graph, level, kinds = _trace_for_jit(self._bound(static, n), list(dyn), names)
        except (_ImpureRule, Untraceable) as e:
            why = str(e) or ("it computes with plain values (a numpy call on ad.value of a "
                             "traced value, e.g. a sort order), which a trace cannot see")
            warnings.warn(f"jit of {self.__name__}: runs dynamically for this signature: "
                          f"{why}", JitFallbackWarning, stacklevel=3)
            return None
        arg_names = {k: graph.nodes[k].name for k in graph.input_ids}
        passes = PASSES if self.optimize is True else tuple(self.optimize or ())
        return _Variant(graph, level, kinds, arg_names, passes, self.__name__)

    def _variants(self, key, dyn, static, n):
        entry = self._cache.get(key)
        if entry is None:
            entry = self._cache[key] = [self._compile(dyn, static, n)]
        return entry

    def _retrace(self, key, entry, dyn, static, n):
        count = self._retraces[key] = self._retraces.get(key, 0) + 1
        if count == self.max_variants:
            warnings.warn(f"jit of {self.__name__}: retraced {count} times for one signature "
                          "(its Python control flow depends on the values; each new outcome "
                          f"compiles a variant; only {self.max_variants} are kept)",
                          JitRetraceWarning, stacklevel=3)
        v = self._compile(dyn, static, n)
        entry.insert(0, v)
        del entry[self.max_variants:]
        return v

    # ---------------------------------------------------------------- calling --------

    def __call__(self, *args):
        n = len(args)
        dyn, static = self._split(args)
        key, leaves, boxed = self._leaves(dyn)
        key = (n, static, key)
        if boxed:
            plain = tuple(unflatten(td, [_concrete(x) for x in leaves])
                          for td, leaves in (flatten(a)[::-1] for a in dyn))
            key = (n, static, self._leaves(plain)[0])  # the key a plain call would use
            return self._boxed(self._variants(key, plain, static, n), args, dyn)
        entry = self._variants(key, dyn, static, n)
        for v in entry:
            if v is None:
                return self.fun(*args)
            try:
                return v.run(leaves)
            except _GuardFailed:
                continue
        v = self._retrace(key, entry, dyn, static, n)
        return self.fun(*args) if v is None else v.run(leaves)  # traced here: guards hold

    def _boxed(self, entry, args, dyn):
        """Called under another transformation (``ad.grad(ad.jit(f))``): replay the static
        graph through ``bind`` so the outer transformation sees every primitive; a graph
        with opaque rule calls (not differentiable) runs ``fun`` itself instead."""
        for v in entry:
            if v is None or v.has_calls:
                break
            try:
                return v.graph(*dyn)
            except RetraceRequired:
                continue
        return self.fun(*args)

    def source(self, *args):
        """The generated Python source for ``args``' signature (compiled if needed).

        Args:
            *args: arguments as for a call (their shapes, dtypes and static values pick
                the variant; a guard that fails at them compiles a new one).

        Returns:
            The source text of the generated function.

        >>> import admodes as ad
        >>> src = ad.jit(lambda x: x * 2.0 + 1.0).source(3.0)
        >>> [line.split("#")[0].strip() for line in src.splitlines()]
        ['def _lambda(x):', 't1 = x * 2.0', 't2 = t1 + 1.0', 'return (t2,)']
        """
        v = self.variant(*args)
        if v is None:
            raise TypeError(f"jit of {self.__name__}: this signature runs dynamically "
                            "(see the JitFallbackWarning); there is no generated source")
        return v.source

    def variant(self, *args):
        """The compiled :class:`_Variant` that runs ``args`` (None: runs dynamically)."""
        n = len(args)
        dyn, static = self._split(args)
        key, leaves, boxed = self._leaves(dyn)
        key = (n, static, key)
        entry = self._variants(key, dyn, static, n)
        for v in entry:
            if v is None:
                return None
            try:
                v.fn(*leaves)
                return v
            except _GuardFailed:
                continue
        return self._retrace(key, entry, dyn, static, n)


def jit(fun: Callable[..., Any], static_argnums: int | Sequence[int] = (), optimize: bool | Sequence[str] = True,
        max_variants: int = 8) -> Jitted:
    """Compile ``fun`` to generated Python (plain numpy calls), once per signature.

    ``fun`` may be a transformation: ``ad.jit(ad.grad(f))`` compiles the forward pass
    and the backward sweep together; ``ad.jit(ad.sparse_jacobian(f))`` compiles the
    compressed evaluation and returns scipy arrays (see ``admodes.sparse.jitted``).  And the other way round, ``ad.grad(ad.jit(f))``
    differentiates the compiled function in both modes.

    Args:
        fun: a function of numpy values (floats, arrays, pytrees of them).
        static_argnums: positions of arguments that are not traced: their values
            (hashable) are part of the signature and frozen into the program.
        optimize: True for every pass, False for none (the program as traced), or a
            tuple of pass names from :data:`admodes.graph.passes.PASSES`.
        max_variants: variants (guard outcomes) kept per signature; a warning is given
            when a signature is retraced this often.

    Returns:
        A :class:`Jitted` callable; ``.source(*args)`` shows the generated code.

    >>> import admodes as ad, numpy as np
    >>> f = ad.jit(ad.grad(lambda x: np.sum(np.sin(x) ** 2)))
    >>> np.allclose(f(np.ones(3)), np.sin(2.0))
    True
    """
    compile_own = getattr(fun, "_admodes_jit", None)
    if compile_own is not None:
        # a transformation whose result is no array (ad.sparse_jacobian: a scipy array)
        # compiles its array-valued part itself and assembles the result around it
        return compile_own(static_argnums, optimize, max_variants)
    return Jitted(fun, static_argnums, optimize, max_variants)
