"""Sphinx extension for the admodes site: generated reference tables, and short names
in docstrings resolved to the objects the reference documents.

Tables.  At ``builder-inited`` it writes three markdown files into ``docs/reference/_generated/``
(ignored by git), which the reference pages include:

* ``registry.md``: one row per primitive of ``ad.registry`` (its group, markers, which
  rules it has, its sparsity rule and whether it carries a test domain);
* ``coverage.md``: the numpy coverage table, recomputed by ``admodes.bench.coverage``
  (every listed call checked in both modes against finite differences, a few seconds);
* ``numpy_names.md``: the names ``admodes.numpy`` defines, by kind.

Cross-references.  Docstrings name objects the way their own module sees them
(``:class:`CrossCheckReport```, ``:func:`admodes.dispatch.counting```), while the reference
documents each under its public path (``admodes.check.CrossCheckReport``,
``admodes.counting``).  ``missing-reference`` links such a name to the one documented
object whose dotted path ends with it; a name that matches none or several stays
unresolved, and the nitpicky build fails on it.
"""

from __future__ import annotations

import functools
import inspect
import os
import types

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "reference", "_generated")


def _rules(rules):
    if rules is None:
        return []
    if hasattr(rules, "fn"):  # registry._Variadic
        return [rules.fn]
    return [r for r in rules if r is not None]


def _defined_in():
    """Primitive name -> the ``admodes.ops`` module holding it or an op bound to it."""
    import importlib
    import pkgutil

    import admodes.ops
    from admodes.registry import Primitive

    found = {}
    for info in pkgutil.iter_modules(admodes.ops.__path__):
        try:
            mod = importlib.import_module(f"admodes.ops.{info.name}")
        except ImportError:  # scipy.special without scipy
            continue
        for obj in vars(mod).values():
            prim = obj if isinstance(obj, Primitive) else getattr(obj, "primitive", None)
            if isinstance(prim, Primitive):
                found.setdefault(prim.name, info.name)
    return found


def primitive_group(prim, defined_in=None):
    """The ``admodes.ops`` module (or other admodes module) that defines ``prim``'s rules."""
    fns = (_rules(prim.jvps) + _rules(prim.vjps)
           + [f for f in (prim.jvp_joint, prim.vjp_joint, prim.impl) if f is not None])
    for f in fns:
        mod = getattr(f, "__module__", None) or ""
        if mod.startswith("admodes.ops."):
            return mod.rsplit(".", 1)[1]
    if defined_in and prim.name in defined_in:  # no rules (nondiff): where its op lives
        return defined_in[prim.name]
    for f in fns:
        mod = getattr(f, "__module__", None) or ""
        if mod.startswith("admodes."):
            return mod.split(".", 1)[1]
    return "-"


def _yes(b):
    return "✓" if b else ""


def registry_markdown():
    """The registry table, grouped by ``admodes.ops`` module, as markdown."""
    import admodes as ad

    prims = list(ad.registry.values())
    groups, where = {}, _defined_in()
    for p in prims:
        groups.setdefault(primitive_group(p, where), []).append(p)
    lines = [
        f"**{len(prims)} primitives** in `ad.registry` when these pages were built "
        f"(admodes {ad.__version__}); each row is read from its `Primitive` record.",
        "",
        "Columns: **JVP** / **VJP**: the rule exists for every argument, or for the "
        "arguments listed (the others take no derivative, e.g. `where`'s condition; a "
        "primitive marked *nondiff* has a zero derivative and needs none); **elementwise**: numpy "
        "broadcasting applies and the modes handle it; **analytic**: usable under complex "
        "step; **sparsity**: the rule used by sparsity detection (*elementwise* if derived "
        "from the marker, *dense* = conservative); **tested**: carries a test `domain`, so "
        "`tests/test_registry.py` checks it in both modes to second order.",
        "",
    ]
    for g in sorted(groups):
        lines += [f"## {g}", "",
                  "| primitive | JVP | VJP | nondiff | elementwise | analytic | sparsity | tested |",
                  "|---|---|---|---|---|---|---|---|"]
        for p in sorted(groups[g], key=lambda p: p.name):
            sp = p.sparsity or ("elementwise" if p.elementwise else "dense")
            lines.append(f"| `{p.name}` | {_which(p, p.has_jvp)} | "
                         f"{_which(p, p.has_vjp)} | {_yes(p.nondiff)} | "
                         f"{_yes(p.elementwise)} | {_yes(p.analytic)} | {sp} | "
                         f"{_yes(p.domain is not None)} |")
        lines.append("")
    return "\n".join(lines)


def _which(p, has):
    """✓ when every argument has the rule, the argument numbers when only some do."""
    if p.nondiff:
        return ""
    n = _n_args(p)
    have = [i for i in range(n) if has(i)]
    if len(have) == n:
        return "✓"
    return "args " + ", ".join(map(str, have)) if have else "none"


def _n_args(p):
    """How many positional arguments the rules cover (1 for variadic / joint rules)."""
    for rules in (p.jvps, p.vjps):
        if isinstance(rules, tuple):
            return max(len(rules), 1)
    return 1


def coverage_markdown():
    """The numpy coverage table, recomputed now (the page drops its own top heading)."""
    from admodes.bench import coverage

    text = coverage.render(coverage.run())
    body = text.split("\n", 1)[1]  # the "# numpy coverage" title: the page has its own
    return body


def numpy_names_markdown():
    """The names ``admodes.numpy`` defines itself, by kind, as markdown."""
    import admodes.numpy as anp

    funcs, modules, other = [], [], []
    for name in sorted(vars(anp)):
        if name.startswith("_") or name in {"annotations", "builtins"}:
            continue
        obj = getattr(anp, name)
        if isinstance(obj, types.ModuleType):
            if obj.__name__.startswith("admodes"):
                modules.append(name)
        elif (inspect.isfunction(obj) or isinstance(obj, functools.partial)) and not (
                getattr(obj, "__module__", "") or "").startswith(("admodes.dispatch", "numpy")):
            funcs.append(name)
        elif inspect.isbuiltin(obj) or callable(obj):
            other.append(name)
    lines = [
        f"**{len(funcs)} functions** defined by `admodes.numpy` (primitives and "
        "composites; aliases such as `round = rint` listed under both names):",
        "",
        " ".join(f"`{n}`" for n in funcs),
        "",
        "Submodules: " + ", ".join(f"`admodes.numpy.{n}`" for n in modules) + ".",
        "",
    ]
    return "\n".join(lines)


def _write(name, text):
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, name)
    old = None
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            old = f.read()
    if old != text:  # unchanged files keep their mtime: no needless re-reads
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)


def generate(app=None):
    """Write the generated reference files (Sphinx ``builder-inited`` hook)."""
    _write("registry.md", registry_markdown())
    _write("coverage.md", coverage_markdown())
    _write("numpy_names.md", numpy_names_markdown())


def resolve_short_name(app, env, node, contnode):
    """Link a Python reference to the one documented object whose path ends with it."""
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "").lstrip(".~")
    if not target:
        return None
    domain = env.get_domain("py")
    kinds = set(domain.objtypes_for_role(node.get("reftype", "")) or ())
    parts = target.split(".")
    matches = []
    for k in range(len(parts), 0, -1):  # the longest tail that names exactly one object
        tail = parts[-k:]
        matches = [name for name, obj in domain.objects.items()
                   if name.split(".")[-k:] == tail and name != target and not obj.aliased
                   and (not kinds or obj.objtype in kinds)]
        if matches:
            break
    if len(matches) != 1:
        return None
    from sphinx.util.nodes import make_refnode

    obj = domain.objects[matches[0]]
    return make_refnode(app.builder, node["refdoc"], obj.docname, obj.node_id, contnode,
                        matches[0])


def setup(app):
    app.connect("builder-inited", generate)
    app.connect("missing-reference", resolve_short_name)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
