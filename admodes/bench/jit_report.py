"""The report section "static vs dynamic": ``ad.jit`` against the dynamic engine, the
``ad.trace`` replay, hand-written numpy and the installed peers.

:func:`sweep_static_dynamic` times, in one interleaved run per problem, the candidates
below on the issue's programs, and measures compile time per program size;
:func:`markdown_section` writes the text with the targets of issue 11 and
:func:`plot` the figure.  ``benchmarks/test_jit_static_dynamic.py`` runs the same
candidates under pytest-benchmark.

Candidates (each computes the same gradient, checked against the dynamic one first):

* ``dynamic``: ``ad.grad`` / ``ad.value_and_grad`` (the tape, every call);
* ``trace replay``: ``ad.trace(f)`` once, then ``graph.grad`` (its traced gradient
  program, replayed node by node);
* ``jit``: ``ad.jit(ad.grad(f))`` (generated numpy code, every pass);
* ``jit (no passes)``: the same with ``optimize=False``;
* ``numpy``: the hand-written gradient (``f`` alone for the Rosenbrock ratio);
* peers: JAX jit and PyTorch eager where installed (MLP and scalar chain).
"""

from __future__ import annotations

import time

import numpy as np

import admodes as ad

from . import problems
from .timing import interleaved, ratio_stats, summarize

__all__ = ["sweep_static_dynamic", "markdown_section", "plot", "figure_static_dynamic",
           "finding", "problem_candidates",
           "TARGETS", "FIGURES", "pin_malloc", "readme_blocks", "update_readme"]

FIGURES = ("static-vs-dynamic.png",)

# (key, description, goal, "<=" or ">=")
TARGETS = [
    ("spiral_vs_numpy", "spiral step `jit(value_and_grad)` / hand-written numpy", 1.2, "<="),
    ("spiral_vs_dynamic", "spiral step `jit(value_and_grad)` / dynamic `value_and_grad`",
     0.6, "<="),
    ("mlp_vs_numpy", "MLP 784–256–10 gradient, jit / hand-written", 1.02, "<="),
    ("rosen_big_vs_f", "Rosenbrock gradient at n = 10⁶, jit / f", 2.5, "<="),
    ("rosen_small_vs_f", "Rosenbrock gradient at n = 10, jit / f", 4.0, "<="),
    ("chain_dynamic_vs_jit", "1000-op scalar chain, dynamic grad / jit grad", 10.0, ">="),
    ("compile_1000", "compile time of a 1000-op program (s)", 0.5, "<="),
]


def _same(a, b):
    for x, y in zip(_leaves(a), _leaves(b)):
        np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-12)


def _leaves(x):
    if isinstance(x, (tuple, list)):
        return [v for item in x for v in _leaves(item)]
    return [np.asarray(x)]


def _graph_grad(f, args, argnums):
    g = ad.trace(f, *args)
    if argnums == 0:
        return lambda *a: g.grad(*a)
    return lambda *a: g.value_and_grad(*a)


def problem_candidates(name, n=None, peers=None):
    """``(candidates, reference)`` for one problem: ``name -> zero-argument callable``
    (every one checked against the dynamic result) and the name ratios are taken to.

    Args:
        name: ``"chain"``, ``"rosenbrock"``, ``"mlp"`` or ``"spiral"``.
        n: Rosenbrock size.
        peers: ``admodes.bench.peers.available()`` (None: no peers).

    Returns:
        ``(dict, str)``.
    """
    peers = peers or {}
    c = {}
    if name == "chain":
        x, y = 0.5, 0.999
        f = problems.scalar_chain
        dyn = ad.grad(f, argnums=(0, 1))
        jit = ad.jit(dyn)
        jit0 = ad.jit(dyn, optimize=False)
        graph = ad.trace(f, x, y)
        c = {"dynamic": lambda: dyn(x, y), "trace replay": lambda: graph.grad(x, y),
             "jit": lambda: jit(x, y), "jit (no passes)": lambda: jit0(x, y),
             "f": lambda: f(x, y)}
        if any(peers.values()):
            from .peers import chain_grad_fns
            for k, fn in chain_grad_fns(f, (x, y), problems.CHAIN_OPS, peers).items():
                c[k] = fn
        want = dyn(x, y)
        for k in ("trace replay", "jit", "jit (no passes)"):
            _same(c[k](), want)
        return c, "jit"
    if name == "rosenbrock":
        x = np.random.default_rng(0).uniform(-1, 1, n)
        f = problems.rosenbrock
        dyn = ad.grad(f)
        jit, jit0 = ad.jit(dyn), ad.jit(dyn, optimize=False)
        graph = ad.trace(f, x)
        c = {"f": lambda: f(x), "dynamic": lambda: dyn(x), "trace replay": lambda: graph.grad(x),
             "jit": lambda: jit(x), "jit (no passes)": lambda: jit0(x),
             "numpy": lambda: problems.rosenbrock_grad_numpy(x)}
        want = dyn(x)
        for k in ("trace replay", "jit", "jit (no passes)", "numpy"):
            _same(c[k](), want)
        return c, "f"
    if name == "mlp":
        prob = problems.mlp_problem()
        args = (prob.params, prob.X, prob.Y)
        dyn = ad.value_and_grad(problems.mlp_loss)
        jit, jit0 = ad.jit(dyn), ad.jit(dyn, optimize=False)
        graph = ad.trace(problems.mlp_loss, *args)
        c = {"dynamic": lambda: dyn(*args), "trace replay": lambda: graph.value_and_grad(*args),
             "jit": lambda: jit(*args), "jit (no passes)": lambda: jit0(*args),
             "numpy": lambda: problems.mlp_loss_and_grad_numpy(*args)}
        want = dyn(*args)
        for k in ("trace replay", "jit", "jit (no passes)", "numpy"):
            got = c[k]()
            if k == "trace replay":
                got = (got[0], got[1][0])
            _same(got, want)
        if any(peers.values()):
            from .peers import mlp_grad_fns
            for k, (fn, _) in mlp_grad_fns(prob, peers).items():
                c[k] = fn
        return c, "numpy"
    if name == "spiral":
        X, Y, labels = problems.spiral_data()
        params = problems.spiral_init()
        # the data (with integer labels) is closed over: only the parameters are traced
        loss = lambda p: problems.spiral_loss(p, X, labels)  # noqa: E731
        dyn = ad.value_and_grad(loss)
        jit, jit0 = ad.jit(dyn), ad.jit(dyn, optimize=False)
        graph = ad.trace(loss, params)

        def step(vg):
            def run():
                loss, grads = vg(params)
                return loss, [p - 1.0 * g for p, g in zip(params, grads)]
            return run

        c = {"dynamic": step(dyn), "trace replay": step(graph.value_and_grad), "jit": step(jit),
             "jit (no passes)": step(jit0),
             "numpy": lambda: problems.spiral_step_numpy(params, X, Y)}
        want = c["dynamic"]()
        for k in ("trace replay", "jit", "jit (no passes)", "numpy"):
            _same(c[k](), want)
        return c, "numpy"
    raise ValueError(f"unknown problem {name!r}")


def pin_malloc(trim=256 << 20, mmap=64 << 20):
    """Pin glibc's allocator thresholds for this process (Linux only; returns whether it
    did).  Numpy's temporaries of a few hundred kB are otherwise either reused from the
    heap or freshly mapped (page faults on every call), depending on the process's
    allocation history: the hand-written spiral step then takes ~0.2 or ~0.6 ms from one
    run to the next.  Pinned, every candidate allocates from a warm heap (which favours
    the candidates that allocate most).  Process-wide and not undone."""
    import ctypes
    import ctypes.util
    import sys
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        return bool(libc.mallopt(m_trim_threshold, trim)) and bool(
            libc.mallopt(m_mmap_threshold, mmap))
    except (OSError, AttributeError):
        return False


def _timed(cands, cfg):
    samples = interleaved(cands, repeats=cfg.get("repeats", 7),
                          min_time=cfg.get("min_time", 0.005), max_time=cfg.get("max_time"))
    return {k: summarize(v).as_dict() for k, v in samples.items()}, samples


def compile_times(sizes, repeats=3):
    """Seconds to trace, optimise and compile ``ad.jit(ad.grad(scalar chain))`` per
    program size (the number of scalar operations of the function; its gradient
    program is about three times as long)."""
    out = []
    for ops in sizes:
        f = lambda x, y, ops=ops: problems.scalar_chain(x, y, ops)  # noqa: E731
        ts, n_instr = [], None
        for _ in range(repeats):
            j = ad.jit(ad.grad(f, argnums=(0, 1)))
            t0 = time.perf_counter()
            j(0.5, 0.999)
            ts.append(time.perf_counter() - t0)
            n_instr = len(j.variant(0.5, 0.999).program)
        out.append({"ops": ops, "seconds": summarize(ts).as_dict(), "instructions": n_instr})
    return out


def sweep_static_dynamic(cfg, progress):
    """Time every candidate on the scalar chain, Rosenbrock (``cfg["jit_rosen_n"]``),
    the MLP and the spiral step, each problem in one interleaved run; plus compile time
    per program size (``cfg["jit_compile_ops"]``).

    Args:
        cfg: the report's configuration (``repeats``, ``min_time`` and the keys above).
        progress: a callable taking one progress line.

    Returns:
        A dict: per problem the timings (median, IQR) of each candidate and the
        per-repeat ratios to the reference; ``compile``; ``targets``.
    """
    from .peers import available
    peers = available()
    rosen_n = cfg["jit_rosen_n"]
    out = {"peers": {k: v for k, v in peers.items() if v}, "problems": {}}
    jobs = [("chain", None)] + [("rosenbrock", n) for n in rosen_n] + [("mlp", None),
                                                                     ("spiral", None)]
    for name, n in jobs:
        key = name if n is None else f"{name} n={n}"
        progress(f"static vs dynamic: {key}")
        cands, ref = problem_candidates(name, n, peers)
        stats, samples = _timed(cands, cfg)
        ratios = {k: ratio_stats(samples[k], samples[ref]).as_dict() for k in samples}
        extra = {}
        if "dynamic" in samples and "jit" in samples:
            extra["dynamic_over_jit"] = ratio_stats(samples["dynamic"], samples["jit"]).as_dict()
            extra["jit_over_dynamic"] = ratio_stats(samples["jit"], samples["dynamic"]).as_dict()
        # the figure's common yardstick: hand-written numpy where it exists, else f
        base = "numpy" if "numpy" in samples else "f"
        extra["baseline"] = base
        extra["to_baseline"] = {k: ratio_stats(samples[k], samples[base]).as_dict()
                                for k in samples}
        out["problems"][key] = {"name": name, "n": n, "reference": ref, "times": stats,
                                "ratios": ratios, **extra}
    progress("static vs dynamic: compile time")
    out["compile"] = compile_times(cfg["jit_compile_ops"])
    out["targets"] = _targets(out, rosen_n)
    return out


def _targets(out, rosen_n):
    p = out["problems"]
    got = {}
    if "spiral" in p:
        got["spiral_vs_numpy"] = p["spiral"]["ratios"]["jit"]["median"]
        got["spiral_vs_dynamic"] = p["spiral"]["jit_over_dynamic"]["median"]
    if "mlp" in p:
        got["mlp_vs_numpy"] = p["mlp"]["ratios"]["jit"]["median"]
    if rosen_n:
        big, small = f"rosenbrock n={max(rosen_n)}", f"rosenbrock n={min(rosen_n)}"
        if max(rosen_n) >= 1_000_000:
            got["rosen_big_vs_f"] = p[big]["ratios"]["jit"]["median"]
        if min(rosen_n) <= 10:
            got["rosen_small_vs_f"] = p[small]["ratios"]["jit"]["median"]
    if "chain" in p:
        got["chain_dynamic_vs_jit"] = p["chain"]["dynamic_over_jit"]["median"]
    for c in out.get("compile", []):
        if c["ops"] == 1_000:
            got["compile_1000"] = c["seconds"]["median"]
    rows = []
    for key, text, goal, sense in TARGETS:
        v = got.get(key)
        met = None if v is None else (v <= goal if sense == "<=" else v >= goal)
        rows.append({"key": key, "target": text, "goal": f"{sense} {goal:g}", "reached": v,
                     "met": met})
    return rows


def _fmt(s):
    from .timing import Stats
    return Stats(**s).fmt()


def markdown_section(results, figure=None):
    """The markdown of the section "static vs dynamic" from
    :func:`sweep_static_dynamic`'s results (``figure``: the file name of :func:`plot`).

    Args:
        results: the dict :func:`sweep_static_dynamic` returned.
        figure: file name of the figure, or None.

    Returns:
        Markdown text.
    """
    lines = ["## Static vs dynamic: `ad.jit`", ""]
    lines += [
        "The same gradient five ways, timed in one interleaved run per problem (medians, "
        "IQR in brackets; ratios are per repeat against the reference): the dynamic engine "
        "(a tape per call), the `ad.trace` replay of its traced gradient program, `ad.jit` "
        "(generated numpy code) with and without its passes, and hand-written numpy.", ""]
    peers = results.get("peers") or {}
    lines.append("Peers installed: " + (", ".join(f"{k} {v}" for k, v in peers.items())
                                        if peers else "none") + ".")
    lines.append("")
    lines += ["| target | goal | measured | met |", "|---|---|---|---|"]
    from .style import fmt_vs
    for t in results.get("targets", []):
        goal = float(t["goal"].split()[1])
        # enough digits that the printed figure is on the verdict's side of the goal
        v = "not measured" if t["reached"] is None else fmt_vs(t["reached"], goal)
        met = "not measured" if t["met"] is None else ("yes" if t["met"] else "**no**")
        lines.append(f"| {t['target']} | {t['goal']} | {v} | {met} |")
    lines.append("")
    for key, r in results.get("problems", {}).items():
        lines += [f"**{key}** (ratios to `{r['reference']}`)", "",
                  "| candidate | time | ratio |", "|---|---|---|"]
        for k, s in r["times"].items():
            lines.append(f"| {k} | {_fmt(s)} | {_ratio(r['ratios'][k])} |")
        lines.append("")
    if results.get("compile"):
        lines += ["**Compile time** of `ad.jit(ad.grad(scalar chain))` (first call: trace, "
                  "passes, code generation):", "",
                  "| ops in f | instructions after passes | seconds |", "|---|---|---|"]
        for c in results["compile"]:
            lines.append(f"| {c['ops']} | {c['instructions']} | {_fmt(c['seconds'])} |")
        lines.append("")
    if figure:
        lines += ["The figure puts every candidate against the hand-written numpy gradient "
                  "(against f alone for the scalar chain, which has none), per repeat like "
                  "the tables; colours are those of every other figure (the dynamic tape is "
                  "reverse mode's blue).", "", f"![static vs dynamic]({figure})", ""]
    return "\n".join(lines)


def _ratio(s):
    return f"{s['median']:.3g} [{s['q1']:.3g}–{s['q3']:.3g}]"


_ORDER = ("dynamic", "trace replay", "jit (no passes)", "jit", "f", "numpy")


def _row_label(key, r):
    name, n = r["name"], r.get("n")
    text = {"chain": f"scalar chain, {problems.CHAIN_OPS:,} ops",
            "mlp": "MLP 784–256–10", "spiral": "spiral net, SGD step"}.get(name)
    if name == "rosenbrock":
        text = f"Rosenbrock, n = {n:,}"
    text = text or key
    if r.get("baseline", "numpy") != "numpy":
        text += f"\n(1 = {r.get('baseline', r['reference'])} alone)"
    return text


def _to_baseline(r):
    """``(baseline, name -> ratio stats)``: the problem's ratios to hand-written numpy
    (or to f where there is none); older results only have the ratios to the
    reference."""
    if "to_baseline" in r:
        return r["baseline"], r["to_baseline"]
    return r["reference"], r["ratios"]


def finding(results):
    """The figure's title: where ``ad.jit`` stands against hand-written numpy and how
    much slower the dynamic tape is, computed from the plotted medians and IQRs.

    Args:
        results: the dict :func:`sweep_static_dynamic` returned.

    Returns:
        One or two sentences (``""`` when nothing comparable was measured).
    """
    from .style import fmt_vs
    probs = results.get("problems", {})
    parts = []
    vs = [(k, tb["jit"]) for k, r in probs.items()
          for base, tb in [_to_baseline(r)] if base == "numpy" and "jit" in tb]
    if vs:
        med = [s["median"] for _, s in vs]
        faster = sum(s["q3"] < 1 for _, s in vs)
        slower = sum(s["q1"] > 1 for _, s in vs)
        noise = len(vs) - faster - slower
        parts.append(f"ad.jit takes {fmt_vs(min(med), 1, 2)}–{fmt_vs(max(med), 1, 2)}× the "
                     f"time of hand-written numpy (faster on {faster}, slower on {slower}, "
                     f"within noise on {noise} of {len(vs)} problems)")
    dj = [(k, r["dynamic_over_jit"]["median"]) for k, r in probs.items()
          if "dynamic_over_jit" in r]
    if dj:
        k, top = max(dj, key=lambda t: t[1])
        low = min(v for _, v in dj)
        parts.append(f"the dynamic tape takes {low:.2g}–{top:.3g}× jit's time "
                     f"(most on {_row_label(k, probs[k]).splitlines()[0]})")
    return "; ".join(parts)


def plot(results, out):
    """The figure of the section: per problem (one row each), every candidate's time
    relative to hand-written numpy (to f alone for the scalar chain, which has no
    hand-written gradient), as medians of per-repeat ratios with IQR bars: dots on a log
    axis when the ratios span decades, bars from 0 otherwise.  Colours are those of
    :mod:`admodes.bench.style`.

    Args:
        results: the dict :func:`sweep_static_dynamic` returned.
        out: the output folder.

    Returns:
        The file name written into ``out`` (:data:`FIGURES`), or None without matplotlib
        or without problems.
    """
    from pathlib import Path

    from .style import have_matplotlib
    probs = results.get("problems", {})
    if not probs or not have_matplotlib():
        return None
    fig = figure_static_dynamic(results)
    name = FIGURES[0]
    fig.savefig(Path(out) / name, dpi=110)
    return name


def figure_static_dynamic(results):
    """The matplotlib ``Figure`` that :func:`plot` saves (see there)."""
    from matplotlib.ticker import FuncFormatter

    from .style import figure, legend_below, reference_line, style, tidy_log_axes, wants_log
    probs = results["problems"]
    keys = list(probs)
    rows = {k: _to_baseline(probs[k]) for k in keys}
    cands = [c for c in _ORDER if any(c in tb and c != b for b, tb in rows.values())]
    cands += list(dict.fromkeys(c for b, tb in rows.values() for c in tb
                                if c not in _ORDER and c != b))
    # each row spreads the candidates it has over its height, in the same order
    per_row = {k: [c for c in cands if c in rows[k][1] and c != rows[k][0]] for k in keys}
    most = max(len(v) for v in per_row.values())
    slot = 0.8 / max(most, 1)
    offs = {(k, c): (i - (len(cs) - 1) / 2) * slot for k, cs in per_row.items()
            for i, c in enumerate(cs)}
    vals = [v for b, tb in rows.values() for c, s in tb.items() if c != b
            for v in (s["q1"], s["q3"])]
    log = wants_log(vals)
    fig, ax = figure(figsize=(10, 2.2 + (0.25 + 0.1 * most) * len(keys)))
    for c in cands:
        st = style(c)
        ys, med, lo, hi = [], [], [], []
        for i, k in enumerate(keys):
            b, tb = rows[k]
            if c in tb and c != b:
                s = tb[c]
                ys.append(i + offs[k, c])
                med.append(s["median"])
                lo.append(s["median"] - s["q1"])
                hi.append(s["q3"] - s["median"])
        if not ys:
            continue
        if log:
            ax.errorbar(med, ys, xerr=[lo, hi], fmt=st["marker"], color=st["color"], ms=6,
                        mew=1.5, capsize=2, lw=1, label=c)
        else:
            ax.barh(ys, med, slot * 0.9, xerr=[lo, hi], color=st["color"], label=c,
                    error_kw={"lw": 1, "ecolor": "0.3", "capsize": 2})
    ax.set_yticks(range(len(keys)), [_row_label(k, probs[k]) for k in keys], fontsize=8)
    ax.set_ylim(len(keys) - 0.5, -1.1)  # first problem on top, room for the line's label
    if log:
        ax.set_xscale("log")
        tidy_log_axes(ax)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    else:
        ax.set_xlim(0, max(vals) * 1.08)
    ax.grid(True, axis="x", which="major", alpha=0.3)
    for i in range(1, len(keys)):
        ax.axhline(i - 0.5, color="0.9", lw=0.8, zorder=0)
    ax.set_xlabel("time / hand-written numpy gradient (median of per-repeat ratios, IQR "
                  "bars" + ("; log axis: the ratios span decades)" if log else ")"),
                  fontsize=8)
    reference_line(ax, 1.0, "1 = hand-written numpy", vertical=True)
    ax.set_title(finding(results) or "static vs dynamic", fontsize=9, wrap=True)
    fig.suptitle("The same gradient, dynamic (a tape per call) and static (traced once: "
                 "replayed, or compiled by ad.jit)", fontsize=10)
    legend_below(fig)
    return fig


# ---------------------------------------------------------------- README blocks -------


def colah(a, b):
    """The README's graph example, ``e = (a + b)(b + 1)``."""
    c = a + b
    d = b + 1.0
    return c * d


def _strip_lines(src):
    """Generated source without the ``(line N)`` of its comments (they would change
    whenever the file above them does)."""
    import re
    return "\n".join(re.sub(r"  \(line \d+\)$", "", ln).rstrip() for ln in src.splitlines())


def readme_blocks():
    """The README's generated-code listings, produced here so that a test can compare
    them with the README (``tests/test_jit.py``): ``{marker: markdown}``."""
    import inspect
    colah_src = ad.jit(ad.grad(colah, argnums=(0, 1))).source(2.0, 1.0)
    X, _, labels = problems.spiral_data()
    params = problems.spiral_init()
    spiral = ad.jit(ad.value_and_grad(lambda params: problems.spiral_loss(params, X, labels)))
    spiral_src = spiral.source(params)
    hand = inspect.getsource(problems.mlp_loss_and_grad_numpy)
    return {
        "jit-colah": "```python\n" + _strip_lines(colah_src) + "\n```",
        "jit-spiral": ("```python\n# ad.jit(ad.value_and_grad(loss)).source(params): generated\n"
                       + _strip_lines(spiral_src) + "\n```\n\n"
                       "```python\n# benchmarks' hand-written backprop "
                       "(admodes/bench/problems.py)\n" + hand.rstrip() + "\n```"),
    }


def update_readme(path="README.md"):
    """Rewrite the blocks of :func:`readme_blocks` between their ``<!-- marker -->`` and
    ``<!-- /marker -->`` lines in ``path``; returns True if the file changed."""
    import re
    from pathlib import Path
    p = Path(path)
    text = old = p.read_text(encoding="utf-8")
    for key, block in readme_blocks().items():
        pat = re.compile(rf"(<!-- {key} -->\n)(?:.*?\n)?(<!-- /{key} -->)", re.S)
        if not pat.search(text):
            raise ValueError(f"{path}: no <!-- {key} --> ... <!-- /{key} --> block")
        text = pat.sub(lambda m, block=block: m.group(1) + block + "\n" + m.group(2), text)
    if text != old:
        p.write_text(text, encoding="utf-8")
    return text != old
