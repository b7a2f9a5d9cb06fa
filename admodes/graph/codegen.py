"""Python source from a :class:`~admodes.graph.passes.Program`: one statement per
primitive or rule, plain numpy calls, the user's source line as a comment."""

from __future__ import annotations

import keyword
import math
import re

import numpy as np

from .passes import UFUNC_FORMS, _ufunc

__all__ = ["generate", "identifier"]

_INFIX = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/", "matmul": "@"}


def identifier(name, taken):
    """A Python identifier for a leaf name such as ``params['W']`` or ``args[0]``."""
    s = re.sub(r"\W+", "_", str(name)).strip("_") or "x"
    if s[0].isdigit() or keyword.iskeyword(s) or s in ("np", "math"):
        s = "_" + s
    base, k = s, 1
    while s in taken:
        k += 1
        s = f"{base}_{k}"
    taken.add(s)
    return s


def _literal(v):
    """Source text for a simple parameter or constant, or None."""
    if v is None or isinstance(v, (bool, str)):
        return repr(v)
    if isinstance(v, int) and not isinstance(v, bool):
        return repr(v)
    if type(v) is float:
        if math.isfinite(v):
            return repr(v)
        return None
    if isinstance(v, tuple) and all(_literal(x) is not None for x in v):
        return "(" + "".join(_literal(x) + ", " for x in v).rstrip(" ") + ")" if len(v) == 1 \
            else "(" + ", ".join(_literal(x) for x in v) + ")"
    return None


class _Names:
    """The namespace of the generated function: constants and helpers by name."""

    def __init__(self):
        self.ns = {"np": np, "math": math}
        self._by_id = {}

    def bind(self, obj, hint):
        k = id(obj)
        if k in self._by_id:
            return self._by_id[k]
        name = identifier(hint, set(self.ns))
        self.ns[name] = obj
        self._by_id[k] = name
        return name


def _const_text(c, names):
    v = c.value
    lit = _literal(v)
    if lit is not None:
        return lit
    return names.bind(v, "c")


def _expr(ins, args, names, info):
    """The right-hand side for one instruction (``args``: the arguments' source text)."""
    op = ins.op
    arrays = not ins.isfloat and not all(info.get(a, (None, None, True))[2]
                                         for a in ins.args if isinstance(a, str))
    if op in UFUNC_FORMS and _ufunc(ins) is not None and not ins.params:  # relu: maximum
        name, extra = UFUNC_FORMS[op]
        op, args = name, list(args) + [_literal(e) for e in extra]
    if ins.out_buf is not None or ins.inplace is not None:
        out = args[ins.inplace] if ins.inplace is not None else ins.out_buf
        return f"np.{op}({', '.join(args)}, out={out})"
    if op in _INFIX and len(args) == 2 and not ins.params and (arrays or op != "divide"):
        return f"{args[0]} {_INFIX[op]} {args[1]}"
    if op == "negative" and not ins.params:
        return f"-{args[0]}"
    if op == "power" and not ins.params and arrays:
        return f"{args[0]} ** {args[1]}"
    if arrays and not ins.params and _ufunc(ins) is not None:
        return f"np.{op}({', '.join(args)})"
    if op != ins.op:  # a renamed ufunc on scalars
        return f"np.{op}({', '.join(args)})"
    if arrays and op == "sum" and set(ins.params) == {"axis", "keepdims"}:
        extra = f"axis={_literal(ins.params['axis'])}"
        if ins.params["keepdims"]:
            extra += ", keepdims=True"
        return f"np.sum({args[0]}, {extra})"
    if arrays and op == "transpose" and _literal(ins.params.get("axes")) is not None:
        return f"{args[0]}.transpose({_literal(ins.params['axes'])})"
    if arrays and op == "reshape" and _literal(ins.params.get("shape")) is not None:
        return f"{args[0]}.reshape({_literal(ins.params['shape'])})"
    # Anything else: the primitive's own numpy function, by its name.
    if op == "call":
        fn = names.bind(ins.params["fn"], ins.params["name"].split(":")[0].replace(" of ", "_"))
        return f"{fn}({', '.join(args)})"
    fn = names.bind(ins.prim.impl, op)
    kw = []
    for k, v in ins.params.items():
        lit = _literal(v)
        kw.append(f"{k}={lit if lit is not None else names.bind(v, k)}")
    return f"{fn}({', '.join(list(args) + kw)})"


def generate(prog, name="f", arg_names=None, check=None):
    """Source and namespace of ``def name(inputs): ...; return (outputs,)``.

    Args:
        prog: the program.
        name: the function's name.
        arg_names: the source names of ``prog.inputs`` (default: the same).
        check: per guard, the name of the function that raises when it fails
            (``check(guard) -> name``); guards are checked right after their value.

    Returns:
        ``(source, namespace)``.
    """
    names = _Names()
    lines = [f"def {name}({', '.join(prog.inputs)}):"]
    for x, g in prog.input_guards:
        lines.append(f"    {names.bind(check(g), f'guard{g.index}')}.check({x})")
    for ins in prog.instrs:
        args = [a if isinstance(a, str) else _const_text(a, names) for a in ins.args]
        rhs = _expr(ins, args, names, prog.info)
        stmt = f"    {ins.out} = {rhs}"
        if ins.where:
            stmt = f"{stmt:<44}  # {ins.where}"
        lines.append(stmt)
        for g in ins.guards:
            fn = names.bind(check(g), f"guard{g.index}")
            lines.append(f"    {fn}.check({ins.out})")
    outs = [a if isinstance(a, str) else _const_text(a, names) for a in prog.outputs]
    lines.append(f"    return ({''.join(o + ', ' for o in outs).rstrip(' ')})")
    return "\n".join(lines) + "\n", names.ns
