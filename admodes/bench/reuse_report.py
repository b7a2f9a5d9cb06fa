"""The report section "why reuse wins": path sums against vertex elimination.

:func:`reuse_section` builds the graphs, counts (and times) the path sum and the
eliminations, writes its figures into a folder and returns the markdown and the raw
numbers.  Standalone: ``python -m admodes.bench.reuse_report --out reports`` writes
``why-reuse-wins.md``, ``reuse.json`` and the PNGs.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

import admodes as ad
import admodes.numpy as anp
from admodes.graph.paths import count_paths, eliminate, path_sum, path_sum_cost

from .timing import interleaved, summarize

__all__ = ["reuse_section", "diamonds", "fan_in", "fan_out", "square", "bottleneck",
           "graph_family", "FIGURES"]

ORDERS = ("forward", "reverse", "markowitz")

FIGURES = (("reuse_paths.png", "reuse_orders.png", "reuse_colah_paths.png")
           + tuple(f"reuse_colah_{o}.png" for o in ORDERS) + ("reuse_diamonds_paths.png",)
           + tuple(f"reuse_diamonds_{o}.png" for o in ORDERS))


# ---------------------------------------------------------------- the graphs -----------


def diamonds(d):
    """A chain of ``d`` diamonds ``x ← sin(x)·cos(x)``: ``2^d`` paths."""
    def diamond_chain(x):
        for _ in range(d):
            x = anp.sin(x) * anp.cos(x)
        return x
    return diamond_chain


def fan_in(n, L):
    """n inputs → 1 output: ``sin`` of each input, summed by a chain of adds, L ``tanh``."""
    def many_to_one(*xs):
        t = anp.sin(xs[0])
        for x in xs[1:]:
            t = t + anp.sin(x)
        for _ in range(L):
            t = anp.tanh(t)
        return t
    return many_to_one


def fan_out(m, L):
    """1 input → m outputs: L ``tanh``, then ``sin(k·u)`` for k = 1..m."""
    def one_to_many(x):
        u = x
        for _ in range(L):
            u = anp.tanh(u)
        return tuple(anp.sin(u * (k + 1.0)) for k in range(m))
    return one_to_many


def square(n, layers=2, seed=0):
    """n → n: ``layers`` dense ``tanh`` layers with fixed random weights, unrolled."""
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal((n, n)) / math.sqrt(n) for _ in range(layers)]

    def dense(*xs):
        h = list(xs)
        for W in weights:
            new = []
            for i in range(n):
                s = h[0] * float(W[i, 0])
                for j in range(1, n):
                    s = s + h[j] * float(W[i, j])
                new.append(anp.tanh(s))
            h = new
        return tuple(h)
    return dense


def bottleneck(n, m, L):
    """n inputs → (L ``sin`` each) → one sum → L ``tanh`` → m outputs (L ``cos`` each)."""
    def through_one(*xs):
        hs = []
        for x in xs:
            for _ in range(L):
                x = anp.sin(x)
            hs.append(x)
        t = hs[0]
        for h in hs[1:]:
            t = t + h
        for _ in range(L):
            t = anp.tanh(t)
        outs = []
        for k in range(m):
            y = t * (k + 1.0)
            for _ in range(L):
                y = anp.cos(y)
            outs.append(y)
        return tuple(outs)
    return through_one


def graph_family(size=8, depth=4):
    """The four graphs of part 2: ``name -> (function, example inputs)``."""
    xs = [0.1 * (i + 1) for i in range(size)]
    half = size // 2 + 2
    return {
        f"n → 1 (fan-in, n = {size}, {depth} tanh)": (fan_in(size, depth), xs),
        f"1 → m (fan-out, m = {size}, {depth} tanh)": (fan_out(size, depth), [0.3]),
        f"square (two dense tanh layers, n = m = {half})": (square(half), xs[:half]),
        f"bottleneck (n = m = {size}, chains of {depth})": (bottleneck(size, size, depth), xs),
    }


def _matrix(J, n_in):
    """``jacfwd`` of a graph with argnums over every input, as (outputs, inputs)."""
    if not isinstance(J, tuple) or (n_in > 1 and not isinstance(J[0], tuple)):
        J = (J,)
    rows = []
    for row in J:
        row = row if isinstance(row, tuple) else (row,)
        rows.append([float(v) for v in row])
    return np.array(rows)


def _fit(xs, ys, log_x):
    """Least-squares slope of log2(y) against x (or log2(x))."""
    x = np.log2(np.asarray(xs, float)) if log_x else np.asarray(xs, float)
    return float(np.polyfit(x, np.log2(np.asarray(ys, float)), 1)[0])


# ---------------------------------------------------------------- the section ----------


def reuse_section(out, *, depths=tuple(range(1, 25)), timed_depths=(2, 4, 6, 8, 10, 12),
                  repeats=7, size=8, depth=4, progress=None, figures=True):
    """Measure path sums against vertex elimination and write the figures.

    Args:
        out: folder for the PNGs (created if needed).
        depths: diamond-chain depths whose paths and costs are counted (exactly).
        timed_depths: depths at which the literal path sum and the eliminations are
            timed (median of interleaved repeats).
        repeats: timing repeats.
        size, depth: of the graph family (inputs/outputs, chain lengths).
        progress: a callable taking a message, or None.
        figures: write the PNGs (needs matplotlib).

    Returns:
        ``(markdown, numbers)``: the section text (figure links relative to ``out``)
        and the raw numbers (JSON-serialisable).

    >>> import tempfile
    >>> from admodes.bench.reuse_report import reuse_section
    >>> md, nums = reuse_section(tempfile.mkdtemp(), depths=(1, 2, 3), timed_depths=(),
    ...                          size=3, depth=1, figures=False)
    >>> nums["diamonds"]["paths"], nums["diamonds"]["forward"]
    ([2, 4, 8], [2, 6, 10])
    """
    say = progress or (lambda msg: None)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    nums = {}

    # (1) the chain of diamonds: paths and costs by depth
    say("why reuse wins: diamond chains")
    dia = {"depth": list(depths), "paths": [], "path_mults": [], "path_adds": []}
    for order in ("forward", "reverse"):
        dia[order] = []
        dia[order + "_adds"] = []
    for d in depths:
        g = ad.trace(diamonds(d), 0.3)
        c = path_sum_cost(g)
        dia["paths"].append(c["paths"])
        dia["path_mults"].append(c["mults"])
        dia["path_adds"].append(c["adds"])
        for order in ("forward", "reverse"):
            r = eliminate(g, order)
            dia[order].append(r.mults)
            dia[order + "_adds"].append(r.adds)
    if len(depths) >= 2:
        dia["slope_paths_per_depth"] = _fit(depths, dia["paths"], False)
        dia["slope_path_mults_per_depth"] = _fit(depths, dia["path_mults"], False)
        big = [i for i, d in enumerate(depths) if d >= 4] or list(range(len(depths)))
        for order in ("forward", "reverse"):
            dia[f"slope_{order}_loglog"] = _fit([depths[i] for i in big],
                                                [dia[order][i] for i in big], True)
    times = {"depth": list(timed_depths), "path_sum": [], "forward": [], "reverse": [],
             "path_over_forward": []}
    for d in timed_depths:
        say(f"why reuse wins: timing depth {d}")
        g = ad.trace(diamonds(d), 0.3)
        fns = {"path_sum": lambda g=g: path_sum(g, max_paths=1 << 20),
               "forward": lambda g=g: eliminate(g, "forward"),
               "reverse": lambda g=g: eliminate(g, "reverse")}
        t = interleaved(fns, repeats=repeats, min_time=0.005, max_time=20)
        for k in fns:
            times[k].append(summarize(t[k]).median)
        times["path_over_forward"].append(
            float(np.median([a / b for a, b in zip(t["path_sum"], t["forward"])])))
    dia["times"] = times
    nums["diamonds"] = dia

    # (2) + (3) the graph family: multiplications per order, and one Jacobian
    fam = {}
    for name, (fun, xs) in graph_family(size, depth).items():
        say(f"why reuse wins: {name}")
        g = ad.trace(fun, *xs)
        ref = _matrix(ad.jacfwd(g, argnums=tuple(range(len(xs))))(*xs), len(xs))
        row = {"nodes": len(g), "inputs": len(xs), "outputs": ref.shape[0],
               "paths": count_paths(g), "path_mults": path_sum_cost(g)["mults"],
               "rules": {m: g.op_counts(m)["rules"] for m in ("forward", "reverse")}}
        err = {}
        for order in ORDERS:
            r = eliminate(g, order)
            row[order] = r.mults
            row[order + "_adds"] = r.adds
            err[order] = float(np.max(np.abs(r.jacobian - ref)))
        if row["paths"] <= 100_000:
            err["path sum"] = float(np.max(np.abs(path_sum(g).jacobian - ref)))
        rev = _matrix(ad.jacrev(g, argnums=tuple(range(len(xs))))(*xs), len(xs))
        err["jacrev"] = float(np.max(np.abs(rev - ref)))
        row["max_abs_diff_vs_jacfwd"] = err
        row["jacobian_scale"] = float(np.max(np.abs(ref)))
        fam[name] = row
    nums["family"] = fam

    files = _figures(out, nums) if figures else []
    nums["files"] = files
    return _markdown(nums, files), nums


def _figures(out, nums):
    from .style import have_matplotlib
    if not have_matplotlib():  # pragma: no cover - optional dependency
        raise ImportError("reuse_section(figures=True) needs matplotlib "
                          "(pip install 'admodes[report]')")
    from .style import figure, legend_below, style, tidy_log_axes
    files = []
    dia = nums["diamonds"]
    t = dia["times"]
    fig, axes = figure(1, 2 if t["depth"] else 1, figsize=(11, 4.8), squeeze=False)
    ax = axes[0, 0]
    d = dia["depth"]
    ax.semilogy(d, dia["paths"], label="paths (2^d), a count",
                **{**style("path sum"), "ls": ":", "marker": "x"})
    ax.semilogy(d, dia["path_mults"], label="path sum (enumerated)", **style("path sum"))
    ax.semilogy(d, dia["forward"], label="forward elimination",
                **style("forward elimination"))
    ax.semilogy(d, dia["reverse"], label="reverse elimination", mfc="none", ms=9,
                **style("reverse elimination"))
    ax.set_xlabel("depth d (diamonds)")
    ax.set_ylabel("multiplications (paths: count)")
    if "slope_paths_per_depth" in dia:
        ax.set_title(f"paths ×{2 ** dia['slope_paths_per_depth']:.3g} per diamond;\n"
                     f"at d = {d[-1]}: {dia['paths'][-1]:,} paths, forward / reverse "
                     f"elimination {dia['forward'][-1]} / {dia['reverse'][-1]} "
                     "multiplications", fontsize=9)
    ax.grid(True, which="major", alpha=0.3)
    tidy_log_axes(ax)
    if t["depth"]:
        ax = axes[0, 1]
        ax.semilogy(t["depth"], t["path_sum"], label="path sum (enumerated)",
                    **style("path sum"))
        ax.semilogy(t["depth"], t["forward"], label="forward elimination",
                    **style("forward elimination"))
        ax.semilogy(t["depth"], t["reverse"], label="reverse elimination", mfc="none", ms=9,
                    **style("reverse elimination"))
        ax.set_xlabel("depth d (diamonds)")
        ax.set_ylabel("seconds per Jacobian (median)")
        ax.set_title(f"time: the path sum takes {t['path_over_forward'][-1]:.3g}× forward "
                     f"elimination's time\nat d = {t['depth'][-1]}", fontsize=9)
        ax.grid(True, which="major", alpha=0.3)
        tidy_log_axes(ax)
    fig.suptitle("A chain of d diamonds: the paths double with every diamond, vertex "
                 "elimination reuses shared products and grows linearly", fontsize=10)
    legend_below(fig)
    fig.savefig(out / "reuse_paths.png", dpi=120)
    files.append("reuse_paths.png")

    fam = nums["family"]
    fig, ax = figure(figsize=(11, 4.6))
    names = list(fam)
    w = 0.26
    for q, order in enumerate(ORDERS):
        vals = [fam[n][order] for n in names]
        bars = ax.bar([i + (q - 1) * w for i in range(len(names))], vals, w,
                      label=f"{order} elimination", color=style(order)["color"])
        ax.bar_label(bars, fontsize=7)
    ax.set_xticks(range(len(names)), [n.split(" (")[0] for n in names])
    ax.set_ylabel("multiplications of edge labels")
    ax.set_ylim(0, max(fam[n][o] for n in names for o in ORDERS) * 1.12)
    best = []
    for n in names:
        low = min(fam[n][o] for o in ORDERS)
        best.append(f"{n.split(' (')[0]}: " + " = ".join(o for o in ORDERS if fam[n][o] == low))
    ax.set_title("fewest multiplications — " + "; ".join(best), fontsize=9)
    fig.suptitle("Vertex elimination in forward, reverse and Markowitz order", fontsize=10)
    legend_below(fig)
    fig.savefig(out / "reuse_orders.png", dpi=120)
    files.append("reuse_orders.png")

    def colah(a, b):
        c = a + b
        d = b + 1.0
        return c * d

    names = {2: "c", 3: "d", 4: "e"}
    g = ad.trace(colah, 2.0, 1.0)
    g.draw_paths(out / "reuse_colah_paths.png", names=names)
    files.append("reuse_colah_paths.png")
    for order in ORDERS:
        g.draw_elimination(order, out / f"reuse_colah_{order}.png", names=names)
        files.append(f"reuse_colah_{order}.png")
    g = ad.trace(diamonds(3), 0.3)
    g.draw_paths(out / "reuse_diamonds_paths.png", dpi=80)
    files.append("reuse_diamonds_paths.png")
    g = ad.trace(diamonds(2), 0.3)
    for order in ORDERS:
        g.draw_elimination(order, out / f"reuse_diamonds_{order}.png")
        files.append(f"reuse_diamonds_{order}.png")
    return files


def _markdown(nums, files):
    L = []
    w = L.append
    dia, fam = nums["diamonds"], nums["family"]
    w("## Why reuse wins: path sums, and forward and reverse as elimination orders\n")
    w("Label every edge of a traced scalar graph with its local partial derivative (from "
      "the registry's rules).  A Jacobian entry ∂y/∂x is the **sum over all paths** from x "
      "to y of the products of the labels.  Forward and reverse mode compute the same sum "
      "by **vertex elimination**: removing an intermediate vertex j joins each predecessor "
      "i to each successor k with c_ki += c_kj·c_ji (|pred|·|succ| multiplications).  "
      "Eliminating in the order of the Wengert list is forward mode; in reverse order, "
      "reverse mode; Markowitz's greedy order (smallest |pred|·|succ| first) is one of "
      "the \"cross-country\" orders in between (Griewank & Walther, *Evaluating "
      "Derivatives*, ch. 9–10).  Costs are multiplications of edge labels, counted by "
      "`admodes.graph.paths`; a mode's rule applications (`op_counts`, one sweep per "
      "input or output) are these plus the products with the unit seeds "
      "(`op_count_offset`).\n")
    if "reuse_colah_paths.png" in files:
        w("![the three paths of e = (a+b)(b+1)](reuse_colah_paths.png)\n")
        w("![forward elimination of the colah graph](reuse_colah_forward.png)\n")
        w("![reverse elimination of the colah graph](reuse_colah_reverse.png)\n")
        w("![Markowitz elimination of the colah graph](reuse_colah_markowitz.png)\n")
    w("### 1. A chain of d diamonds: 2^d paths, linear elimination\n")
    w("`x ← sin(x)·cos(x)`, d times.  Every path has 2d labelled edges, so the literal path "
      "sum costs 2^d·(2d − 1) multiplications; forward and reverse elimination cost "
      "4d − 2.\n")
    if "reuse_diamonds_paths.png" in files:
        w("![the 8 paths of three diamonds](reuse_diamonds_paths.png)\n")
    if "reuse_paths.png" in files:
        w("![paths and costs against depth](reuse_paths.png)\n")
    if "slope_paths_per_depth" in dia:
        w(f"Fitted slopes: log2(paths) grows by **{dia['slope_paths_per_depth']:.3f}** per "
          f"diamond and log2(path-sum multiplications) by "
          f"**{dia['slope_path_mults_per_depth']:.3f}** (2^d times the path length); on log–log axes (d ≥ 4) forward "
          f"elimination has slope **{dia['slope_forward_loglog']:.3f}** and reverse "
          f"**{dia['slope_reverse_loglog']:.3f}** (linear: 1).\n")
    w("| depth | paths | path-sum mults | forward mults | reverse mults |")
    w("|---:|---:|---:|---:|---:|")
    for i, d in enumerate(dia["depth"]):
        if d in (1, 2, 4, 8, 12, 16, 20, 24) or i == len(dia["depth"]) - 1:
            w(f"| {d} | {dia['paths'][i]:,} | {dia['path_mults'][i]:,} | "
              f"{dia['forward'][i]} | {dia['reverse'][i]} |")
    w("")
    t = dia["times"]
    if t["depth"]:
        w("Time of one Jacobian (median of interleaved repeats, this machine):\n")
        w("| depth | path sum | forward elimination | reverse elimination | "
          "path sum / forward |")
        w("|---:|---:|---:|---:|---:|")
        for i, d in enumerate(t["depth"]):
            w(f"| {d} | {t['path_sum'][i] * 1e3:.3g} ms | {t['forward'][i] * 1e3:.3g} ms | "
              f"{t['reverse'][i] * 1e3:.3g} ms | {t['path_over_forward'][i]:.3g}× |")
        w("")
    w("### 2. Multiplications by elimination order\n")
    if "reuse_orders.png" in files:
        w("![multiplications per order](reuse_orders.png)\n")
    w("| graph | nodes | paths | path sum | forward | reverse | Markowitz | best |")
    w("|---|---:|---:|---:|---:|---:|---:|---|")
    for name, r in fam.items():
        best = min(ORDERS, key=lambda o: r[o])
        w(f"| {name} | {r['nodes']} | {r['paths']:,} | {r['path_mults']:,} | {r['forward']} | "
          f"{r['reverse']} | {r['markowitz']} | {best} |")
    w("")
    w("Forward elimination wins with few inputs, reverse with few outputs; on the square "
      "and bottleneck graphs the Markowitz order beats both.  It is a greedy heuristic, "
      "not the optimum (which is NP-hard to find): on the fan-in graph it is worse than "
      "reverse.\n")
    if "reuse_diamonds_forward.png" in files:
        w("Step by step, on two diamonds, each order in its colour of the figure above "
          "(solid: the vertex eliminated next and its edges; dashed: the edges the previous "
          "step wrote):\n")
        for order in ORDERS:
            w(f"![{order} elimination of two diamonds](reuse_diamonds_{order}.png)\n")
    w("### 3. The same Jacobian from all of them\n")
    w("Largest absolute difference from `jacfwd` (the Jacobian's largest entry in "
      "brackets):\n")
    cols = ["forward", "reverse", "markowitz", "path sum", "jacrev"]
    w("| graph | " + " | ".join(cols) + " |")
    w("|---|" + "---:|" * len(cols))
    for name, r in fam.items():
        e = r["max_abs_diff_vs_jacfwd"]
        cells = [f"{e[c]:.1e}" if c in e else "(too many paths)" for c in cols]
        w(f"| {name} [{r['jacobian_scale']:.3g}] | " + " | ".join(cells) + " |")
    w("")
    return "\n".join(L)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m admodes.bench.reuse_report",
                                     description="Write the 'why reuse wins' section.")
    parser.add_argument("--out", default="reports")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    say = None if args.quiet else (lambda msg: print(msg, file=sys.stderr))
    md, nums = reuse_section(args.out, progress=say)
    out = Path(args.out)
    (out / "why-reuse-wins.md").write_text(md, encoding="utf-8")
    with open(out / "reuse.json", "w", encoding="utf-8") as fh:
        json.dump(nums, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
