"""The program that ``ad.jit`` compiles, and the optimisation passes run on it.

A :class:`Program` is a straight-line list of :class:`Instr` (one per primitive or rule
application, in execution order) over named values: inputs, temporaries ``t<k>`` and
constants (:class:`Const`).  Each pass takes and returns a program and is a plain
function, so every one can be switched off and tested alone:

* :func:`dce` drops instructions that reach neither an output nor a guard;
* :func:`cse` merges repeated applications of a primitive to the same arguments;
* :func:`fold` evaluates instructions whose arguments are all constants;
* :func:`simplify` rewrites ``x*1``, ``x+0``, ``--x``, transpose∘transpose, reshape
  chains, a sum over a broadcast constant and ones-like seeds; a uniform constant array
  against a full-size operand becomes a scalar, and a negation merges into a product
  with a constant (``-(c*x)`` → ``(-c)*x``);
* :func:`fanin` adds a scatter (the cotangent of ``x[idx]``) into a fresh total in
  place (``total[idx] += g``) instead of scattering into zeros and adding;
* :func:`plan_buffers` (the last pass) marks in-place fan-in (``a += b``) and the reuse of
  dead temporaries' buffers through numpy's ``out=``.  Only buffers the program allocated
  itself are reused: never an input, a constant, an output or anything a view still
  reads.
"""

from __future__ import annotations

import math

import numpy as np

from ..registry import Primitive

__all__ = ["Const", "Instr", "Program", "dce", "cse", "fold", "simplify", "fanin", "plan_buffers",
           "optimize", "PASSES"]


class Const:
    """A constant argument (a value that did not depend on the inputs)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def key(self):
        v = self.value
        if isinstance(v, np.ndarray):
            if v.size <= 16:
                return ("a", v.dtype.str, v.shape, v.tobytes())
            return ("id", id(v))
        try:
            hash(v)
        except TypeError:
            return ("id", id(v))
        return ("v", type(v).__name__, v)


class Instr:
    """``out = prim(*args, **params)``; ``args`` are value names (str) or :class:`Const`.

    ``shape``/``dtype``/``isfloat`` describe the output at trace time (``isfloat``: it
    was a Python float); ``where`` is the user's source line (or the rule) for the
    comment; ``guards`` the guards checked on ``out``; ``inplace``/``out_buf`` are set by
    :func:`plan_buffers`."""

    __slots__ = ("out", "prim", "args", "params", "shape", "dtype", "isfloat", "where",
                 "guards", "inplace", "out_buf", "fresh")

    def __init__(self, out, prim, args, params, shape, dtype, isfloat, where="", guards=()):
        self.out, self.prim, self.args, self.params = out, prim, list(args), dict(params)
        self.shape, self.dtype, self.isfloat = tuple(shape), np.dtype(dtype), isfloat
        self.where, self.guards = where, list(guards)
        self.inplace = None  # the argument position whose buffer receives the result
        self.out_buf = None  # a dead temporary whose buffer receives the result
        self.fresh = False  # the result is a new array this program owns

    @property
    def op(self):
        return self.prim.name

    def names(self):
        return [a for a in self.args if isinstance(a, str)]

    def __repr__(self):
        args = ", ".join(a if isinstance(a, str) else "const" for a in self.args)
        return f"<{self.out} = {self.op}({args})>"


class Program:
    """Inputs (names), instructions, outputs (names or :class:`Const`) and, per value
    name, its trace-time ``(shape, dtype, isfloat)``."""

    def __init__(self, inputs, instrs, outputs, info):
        self.inputs = list(inputs)
        self.instrs = list(instrs)
        self.outputs = list(outputs)
        self.info = dict(info)
        self.input_guards = []  # (input name, guard): checked before anything runs

    def copy(self):
        instrs = []
        for i in self.instrs:
            j = Instr(i.out, i.prim, i.args, i.params, i.shape, i.dtype, i.isfloat,
                      i.where, i.guards)
            instrs.append(j)
        prog = Program(self.inputs, instrs, self.outputs, self.info)
        prog.input_guards = list(self.input_guards)
        return prog

    def __len__(self):
        return len(self.instrs)


def _rename(prog, mapping):
    """Replace uses of names by ``mapping[name]`` (a name or a :class:`Const`)."""
    if not mapping:
        return prog

    def r(a):
        while isinstance(a, str) and a in mapping:
            a = mapping[a]
        return a

    for ins in prog.instrs:
        ins.args = [r(a) for a in ins.args]
    prog.outputs = [r(a) for a in prog.outputs]
    return prog


# ------------------------------------------------------------------ dead code ---------

def dce(prog):
    """Drop instructions whose result reaches neither an output nor a guard."""
    live = {a for a in prog.outputs if isinstance(a, str)}
    keep = []
    for ins in reversed(prog.instrs):
        if ins.out in live or ins.guards:
            keep.append(ins)
            live.update(ins.names())
    prog.instrs = keep[::-1]
    return prog


# ------------------------------------------------------------------ CSE ---------------

def _param_key(v):
    if isinstance(v, tuple):
        return tuple(_param_key(x) for x in v)
    if isinstance(v, np.ndarray):
        return Const(v).key()
    if isinstance(v, slice):  # (unhashable before Python 3.12)
        return ("slice", _param_key(v.start), _param_key(v.stop), _param_key(v.step))
    try:
        hash(v)
    except TypeError:
        return ("id", id(v))
    return (type(v).__name__, v)


def cse(prog):
    """Merge instructions that apply the same primitive to the same arguments and
    parameters (opaque calls included: rules are pure)."""
    seen, mapping, keep = {}, {}, []
    for ins in prog.instrs:
        ins.args = [mapping.get(a, a) if isinstance(a, str) else a for a in ins.args]
        key = (ins.op, tuple(a if isinstance(a, str) else a.key() for a in ins.args),
               tuple(sorted((k, _param_key(v)) for k, v in ins.params.items())))
        prev = seen.get(key)
        if prev is not None and not ins.guards:
            mapping[ins.out] = prev
            continue
        seen[key] = ins.out
        keep.append(ins)
    prog.instrs = keep
    prog.outputs = [mapping.get(a, a) if isinstance(a, str) else a for a in prog.outputs]
    return prog


# ------------------------------------------------------------------ constant folding --

def fold(prog):
    """Evaluate instructions whose arguments are all constants (the ones-seed of a
    gradient, rules fed only by constants) once, at compile time."""
    mapping, keep = {}, []
    for ins in prog.instrs:
        ins.args = [mapping.get(a, a) if isinstance(a, str) else a for a in ins.args]
        if not ins.guards and all(isinstance(a, Const) for a in ins.args):
            v = ins.prim.impl(*[a.value for a in ins.args], **ins.params)
            if isinstance(v, np.ndarray):
                v.flags.writeable = False  # shared by every call: never written
            mapping[ins.out] = Const(v)
            continue
        keep.append(ins)
    prog.instrs = keep
    prog.outputs = [mapping.get(a, a) if isinstance(a, str) else a for a in prog.outputs]
    return prog


# ------------------------------------------------------------------ simplification ----

def _const_is(a, x):
    """``a`` is a constant whose every entry equals ``x``."""
    if not isinstance(a, Const):
        return False
    v = a.value
    if isinstance(v, (bool, np.bool_)):
        return False
    if isinstance(v, (int, float, np.number)):
        return v == x
    if isinstance(v, np.ndarray) and v.dtype.kind in "iuf" and v.size:
        return bool(np.all(v == x))
    return False


def _same(prog, name, ins):
    """``name``'s value can stand for ``ins``'s result: same shape, dtype and kind."""
    if not isinstance(name, str):
        return False
    shape, dtype, isfloat = prog.info[name]
    return shape == ins.shape and dtype == ins.dtype and isfloat == ins.isfloat


def simplify(prog):
    """Algebraic rewrites that keep every value identical (not just close):
    ``x*1``, ``1*x``, ``x/1``, ``x+0``, ``0+x``, ``x-0``, ``-(-x)``,
    ``transpose(transpose(x))``, ``reshape(reshape(x))``, reshapes to the same shape and
    ``sum(broadcast_to(c))`` of a constant scalar ``c``."""
    defs = {}
    mapping, keep = {}, []
    for ins in prog.instrs:
        ins.args = [mapping.get(a, a) if isinstance(a, str) else a for a in ins.args]
        a = ins.args
        op = ins.op
        repl = None
        if op in _BINARY and len(a) == 2 and not ins.params:
            a = ins.args = [_scalar_if_uniform(prog, x, ins, other)
                            for x, other in ((a[0], a[1]), (a[1], a[0]))]
        if op == "negative" and isinstance(a[0], str):
            d = defs.get(a[0])
            c = None if d is None or d.op != "multiply" or d.params else \
                [k for k, x in enumerate(d.args) if _scalar_const(x)]
            if c and _same(prog, d.args[1 - c[0]], ins):  # -(c*x) == (-c)*x exactly
                k = c[0]
                args = list(d.args)
                args[k] = Const(-args[k].value)
                ins = _replace(ins, d.prim, args)
                op, a = ins.op, ins.args
        elif op == "multiply" and len(a) == 2 and not ins.params:
            k = [j for j, x in enumerate(a) if _scalar_const(x)]
            d = defs.get(a[1 - k[0]]) if k and isinstance(a[1 - k[0]], str) else None
            if d is not None and d.op == "negative" and _same(prog, d.args[0], ins):
                args = list(a)  # (-x)*c == x*(-c) exactly
                args[1 - k[0]] = d.args[0]
                args[k[0]] = Const(-a[k[0]].value)
                ins.args = a = args
        if op == "multiply" and len(a) == 2:
            if _const_is(a[1], 1) and _same(prog, a[0], ins):
                repl = a[0]
            elif _const_is(a[0], 1) and _same(prog, a[1], ins):
                repl = a[1]
        elif op == "divide" and _const_is(a[1], 1) and _same(prog, a[0], ins):
            repl = a[0]
        elif op == "add":
            if _const_is(a[1], 0) and _same(prog, a[0], ins):
                repl = a[0]
            elif _const_is(a[0], 0) and _same(prog, a[1], ins):
                repl = a[1]
        elif op == "subtract" and _const_is(a[1], 0) and _same(prog, a[0], ins):
            repl = a[0]
        elif op == "negative" and isinstance(a[0], str):
            d = defs.get(a[0])
            if d is not None and d.op == "negative" and _same(prog, d.args[0], ins):
                repl = d.args[0]
        elif op == "transpose" and isinstance(a[0], str):
            d = defs.get(a[0])
            if d is not None and d.op == "transpose" and isinstance(d.args[0], str):
                inner, outer = d.params.get("axes"), ins.params.get("axes")
                if inner is not None and outer is not None:
                    axes = tuple(inner[i] for i in outer)
                    if axes == tuple(range(len(axes))) and _same(prog, d.args[0], ins):
                        repl = d.args[0]
                    else:
                        ins.args = [d.args[0]]
                        ins.params = dict(ins.params, axes=axes)
        elif op == "reshape" and isinstance(a[0], str):
            if _same(prog, a[0], ins):
                repl = a[0]
            else:
                d = defs.get(a[0])
                if d is not None and d.op == "reshape":
                    ins.args = [d.args[0]]
                    if _same(prog, d.args[0], ins):
                        repl = d.args[0]
        elif op == "sum" and isinstance(a[0], str):
            d = defs.get(a[0])
            if (d is not None and d.op == "broadcast_to" and isinstance(d.args[0], Const)
                    and np.ndim(d.args[0].value) == 0 and ins.dtype.kind == "f"
                    and ins.params.get("axis") is not None):
                n = math.prod(d.shape[ax] for ax in ins.params["axis"])
                if n & (n - 1) == 0:  # a power of two: c*n is exactly the summed value
                    c = np.asarray(d.args[0].value, ins.dtype) * ins.dtype.type(n)
                    v = np.broadcast_to(c, ins.shape)
                    mapping[ins.out] = Const(c[()] if ins.shape == () and not ins.isfloat
                                             else float(c) if ins.isfloat else v)
                    continue
        if repl is not None and not ins.guards:
            mapping[ins.out] = repl
            continue
        defs[ins.out] = ins
        keep.append(ins)
    prog.instrs = keep
    prog.outputs = [mapping.get(a, a) if isinstance(a, str) else a for a in prog.outputs]
    return prog


_BINARY = {"add", "subtract", "multiply", "divide"}


def _scalar_const(a):
    return isinstance(a, Const) and type(a.value) in (float, np.float64, np.float32) \
        and not isinstance(a.value, bool)


def _scalar_if_uniform(prog, a, ins, other):
    """A constant array whose entries are all equal, against an operand that already has
    the result's shape: its one value (a numpy scalar of its dtype) gives identical
    results and reads no array."""
    if not isinstance(a, Const) or not isinstance(other, str):
        return a
    v = a.value
    if not isinstance(v, np.ndarray) or v.ndim == 0 or v.dtype.kind != "f":
        return a
    shape, dtype, _ = prog.info[other]
    if shape != ins.shape or dtype != ins.dtype or v.size == 0:
        return a
    first = v.flat[0]
    if not (np.all(v == first) and np.isfinite(first)):
        return a
    return Const(v.dtype.type(first))


def _replace(ins, prim, args):
    j = Instr(ins.out, prim, args, {}, ins.shape, ins.dtype, ins.isfloat, ins.where,
              ins.guards)
    return j


# ------------------------------------------------------------------ fan-in ------------

def _scatter_into_impl(total, g, idx, shape, nb):
    if any(isinstance(k, np.ndarray) and k.dtype != bool for k in idx):
        np.add.at(total, idx, g)  # repeated indices accumulate
    else:
        total[idx] += g
    return total


# Not registered: it only ever appears in a compiled program, on a buffer it owns.
_SCATTER_INTO = Primitive("scatter_add_into", _scatter_into_impl, nondiff=True)


def fanin(prog):
    """``t = scatter_add(g, idx); u = total + t`` becomes ``total[idx] += g`` when
    ``total`` is a fresh array of the result's shape that nothing else reads, and ``t``
    is read only there: no zero array, no extra pass (the reverse sweep's ``vjp_into``,
    at compile time)."""
    uses = {}
    for ins in prog.instrs:
        for a in ins.names():
            uses[a] = uses.get(a, 0) + 1
    for a in prog.outputs:
        if isinstance(a, str):
            uses[a] = uses.get(a, 0) + 2
    defs = {ins.out: ins for ins in prog.instrs}
    drop = set()
    for i, ins in enumerate(prog.instrs):
        if ins.op != "add" or len(ins.args) != 2 or ins.params or ins.guards:
            continue
        for k in (0, 1):
            t, total = ins.args[1 - k], ins.args[k]
            d, dt = defs.get(t), defs.get(total)
            if (d is None or dt is None or d.op != "scatter_add" or d.params.get("nb") != 0
                    or uses.get(t) != 1 or uses.get(total) != 1 or d.guards
                    or not (_allocates(dt) or dt.op == "scatter_add_into") or dt.shape != ins.shape or dt.dtype != ins.dtype
                    or d.shape != ins.shape or d.dtype != ins.dtype):
                continue
            prog.instrs[i] = Instr(ins.out, _SCATTER_INTO, [total, d.args[0]], d.params,
                                   ins.shape, ins.dtype, ins.isfloat, ins.where, ins.guards)
            drop.add(t)
            break
    prog.instrs = [ins for ins in prog.instrs if ins.out not in drop]
    return prog


# ------------------------------------------------------------------ buffers -----------

# Elementwise primitives whose impl is a numpy ufunc of another name, with its extra
# arguments: (ufunc name, constant arguments after the primitive's own).
UFUNC_FORMS = {"relu": ("maximum", (0.0,))}


def _ufunc(ins):
    """The numpy ufunc of the same name as an elementwise primitive (None if not one)."""
    if ins.op in UFUNC_FORMS and ins.prim.elementwise:
        return getattr(np, UFUNC_FORMS[ins.op][0])
    f = getattr(np, ins.op, None)
    return f if isinstance(f, np.ufunc) and ins.prim.elementwise else None


# Non-ufunc primitives whose numpy function always returns a new array.
_FRESH = {"matmul", "sum", "scatter_add"}

# Arrays smaller than this are not worth an ``out=`` (allocation is cheap for them).
MIN_REUSE_SIZE = 1024


def _allocates(ins):
    """The result is a new array the program owns (not a view of an argument)."""
    if ins.isfloat or ins.shape == ():
        return False
    return _ufunc(ins) is not None or ins.op in _FRESH


def plan_buffers(prog, min_size=MIN_REUSE_SIZE):
    """Mark in-place fan-in and ``out=`` reuse of dead temporaries' buffers.

    A buffer is a fresh temporary (a ufunc, matmul or sum result).  Every value that may
    read it keeps it alive: anything not known to allocate (a reshape, a transpose, an
    opaque call ...) is assumed to be a view of its arguments.  A buffer read by an output
    never dies; inputs and constants are never buffers.  An elementwise ufunc instruction
    of at least ``min_size`` elements writes into a buffer of its shape and dtype whose
    last reader is this instruction or an earlier one: one of its own arguments if it can
    (in-place fan-in, ``a += b``), else any dead one (numpy handles the overlap of an
    elementwise ufunc's ``out`` with its inputs)."""
    instrs = prog.instrs
    end = len(instrs)
    fresh = {ins.out for ins in instrs if _allocates(ins)}
    bufs = {}
    for ins in instrs:
        ins.inplace = ins.out_buf = None
        ins.fresh = ins.out in fresh
        if ins.fresh:
            bufs[ins.out] = {ins.out}
        else:
            b = set()
            for a in ins.names():
                b |= bufs.get(a, set())
            bufs[ins.out] = b
    last = {}
    for i, ins in enumerate(instrs):
        for a in ins.names():
            for f in bufs.get(a, ()):
                last[f] = i
    for a in prog.outputs:
        if isinstance(a, str):
            for f in bufs.get(a, ()):
                last[f] = end
    # slots: physical buffers, each holding a sequence of fresh values with disjoint lives
    resident = {}  # slot -> the fresh value now in it
    holder = {}  # fresh value -> its slot
    for i, ins in enumerate(instrs):
        if not ins.fresh:
            continue
        slot = None
        if _ufunc(ins) is not None and math.prod(ins.shape) >= min_size:
            key = (ins.shape, ins.dtype)
            mine = [holder[a] for a in ins.names() if a in holder]
            for s in mine + [s for s in resident if s not in mine]:
                r = resident[s]
                if last.get(r, -1) <= i and prog.info[r][:2] == key:
                    slot = s
                    break
        if slot is None:
            slot = ins.out
        else:
            r = resident[slot]
            if r in ins.args:
                ins.inplace = ins.args.index(r)
            else:
                ins.out_buf = r
        resident[slot] = ins.out
        holder[ins.out] = slot
    return prog


def _passes():
    return {"dce": dce, "cse": cse, "fold": fold, "simplify": simplify, "fanin": fanin}


PASSES = ("fold", "simplify", "cse", "dce", "fanin", "buffers")


def optimize(prog, passes=PASSES):
    """Run the named passes (in the canonical order) on a copy of ``prog``."""
    prog = prog.copy()
    table = _passes()
    for name in ("fold", "simplify", "cse", "fold", "simplify", "dce", "fanin", "dce"):
        if name in passes:
            prog = table[name](prog)
    if "buffers" in passes:
        prog = plan_buffers(prog)
    return prog

