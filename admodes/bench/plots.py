"""The report's figures (matplotlib, optional), in the visual language of
:mod:`admodes.bench.style`: one colour per mode everywhere, legends outside the data,
labelled reference lines, titles that state the finding computed from the plotted
numbers."""

from __future__ import annotations

import math

import numpy as np

from admodes.bench.style import (
    end_labels,
    figure,
    fmt_vs,
    have_matplotlib,
    legend_below,
    reference_line,
    style,
    tidy_log_axes,
    wants_log,
)
from admodes.bench.sweeps import MODES

__all__ = ["plot", "FIGURES"]

# results key -> the figures drawn from it
FIGURES = {"gradient_cost": ("gradient_cost.png", "gradient_ratio.png"),
           "op_counts": ("op_counts.png",), "memory": ("memory.png",),
           "jacobian": ("jacobian_crossover.png",), "peers": ("peers.png",)}

_DPI = 110


def _fit(xs, ys):
    """Log–log slope over the (up to) three largest x, as the sweeps fit them."""
    pts = sorted(zip(xs, ys))[-3:]
    if len(pts) < 2:
        return None
    return float(np.polyfit(np.log([p[0] for p in pts]), np.log([p[1] for p in pts]), 1)[0])


def _like(s):
    """'like n' / 'like n²' when a fitted slope is close to an integer power, else n^s."""
    if s is None:
        return "—"
    for k, name in ((1, "n"), (2, "n²")):
        if abs(s - k) <= 0.2:
            return f"like {name} (slope {s:.2f})"
    return f"like n^{s:.2f}"


def _curve(rows, mode, value):
    pts = [(r["n"], value(r, mode)) for r in rows if value(r, mode) is not None]
    return [p[0] for p in pts], [p[1] for p in pts]


def _overhead_limit(rows):
    """The largest n at which f still costs less than twice its cost at the smallest n:
    below it, f is mostly fixed per-call overhead, not arithmetic."""
    t0 = rows[0]["time"]["f"]["median"]
    small = [r["n"] for r in rows if r["time"]["f"]["median"] < 2 * t0]
    return max(small) if small else None


def plot(results, out):
    """Write the PNG figures of ``results`` into ``out``.

    Args:
        results: what :func:`admodes.bench.report.run` returns.
        out: a folder (``pathlib.Path``).

    Returns:
        The file names written; ``[]`` without matplotlib (the report says which figures
        it skipped and how to add them).
    """
    if not have_matplotlib():
        return []
    files = []

    def save(fig, name):
        fig.savefig(out / name, dpi=_DPI)
        files.append(name)

    gc_ = results.get("gradient_cost")
    if gc_:
        save(_gradient_cost(gc_), "gradient_cost.png")
        save(_gradient_ratio(gc_), "gradient_ratio.png")
    if results.get("op_counts"):
        save(_op_counts(results["op_counts"]), "op_counts.png")
    if results.get("memory"):
        save(_memory(results["memory"]), "memory.png")
    if results.get("jacobian"):
        save(_jacobian(results["jacobian"]), "jacobian_crossover.png")
    if results.get("peers"):
        save(_peers(results["peers"]), "peers.png")
    return files


# ---------------------------------------------------------------- gradient cost -------


def _gradient_cost(gc_):
    fig, axes = figure(1, len(gc_), figsize=(11, 5.2))
    axes = np.atleast_1d(axes)
    for ax, (name, data) in zip(axes, gc_.items()):
        rows = data["rows"]
        ends = []
        for mode in MODES:
            ns, ts = _curve(rows, mode, lambda r, m: r["time"][m]["median"]
                            if m in r["time"] else None)
            if not ns:
                continue
            st = style(mode)
            ax.loglog(ns, ts, label=mode, **st)
            lo = [r["time"][mode]["q1"] for r in rows if mode in r["time"]]
            hi = [r["time"][mode]["q3"] for r in rows if mode in r["time"]]
            ax.fill_between(ns, lo, hi, color=st["color"], alpha=0.2, lw=0)
            sl = data["slopes"].get(mode)
            if sl is not None:
                a, b = data["slope_ranges"][mode]
                ends.append((ns[-1], ts[-1], f"n^{sl:.2f} ({a:,}–{b:,})", st["color"]))
        ax.set_title(f"{name}", fontsize=10)
        ax.set_xlabel("n (parameters)")
        ax.set_ylabel("seconds per gradient (median, IQR shaded)")
        ax.grid(True, which="major", alpha=0.3)
        ax.set_xlim(right=ax.get_xlim()[1] * 12)  # room for the end labels
        tidy_log_axes(ax)
        end_labels(ax, ends)
    fig.suptitle(_cost_finding(gc_) + "\nlabels: time ∝ n^slope, fitted over the largest n "
                 "of each curve (range in brackets)", fontsize=10)
    legend_below(fig)
    return fig


def _cost_finding(gc_):
    """The sentence the time figure shows, from the fitted slopes it labels: whether
    reverse mode grows as f does, and how fast forward mode grows."""
    tracks, fwd = [], []
    for data in gc_.values():
        s = data["slopes"]
        if s.get("reverse") is not None and s.get("f") is not None:
            tracks.append(abs(s["reverse"] - s["f"]) <= 0.25)
        for m in MODES[2:]:
            if s.get(m) is not None:
                fwd.append(s[m])
    rev = ("reverse mode grows as f does" if tracks and all(tracks) else
           "reverse mode's slope differs from f's" if tracks else "")
    fw = (f"forward mode grows with slope {min(fwd):.2f}–{max(fwd):.2f}" if fwd else "")
    return "Time per gradient against n: " + "; ".join(x for x in (rev, fw) if x)


def _gradient_ratio(gc_):
    fig, axes = figure(1, len(gc_), figsize=(11, 5.0))
    axes = np.atleast_1d(axes)
    lasts, fslopes = [], []
    for ax, (name, data) in zip(axes, gc_.items()):
        rows = data["rows"]
        limit = _overhead_limit(rows)
        if limit is not None and limit > rows[0]["n"]:
            ax.axvspan(rows[0]["n"] / 1.5, limit, color="0.92", zorder=0, lw=0)
        ends = []
        for mode in MODES[1:]:
            ns, rs = _curve(rows, mode, lambda r, m: r["ratio_to_f"][m]["median"]
                            if m in r["ratio_to_f"] else None)
            if not ns:
                continue
            st = style(mode)
            ax.loglog(ns, rs, label=mode, **st)
            ends.append((ns[-1], rs[-1], f"{fmt_vs(rs[-1], 5, 2)}×", st["color"]))
            if mode == "reverse":
                lasts.append((name, ns[-1], rs[-1]))
            else:
                fslopes.append((mode, _fit(ns, rs)))
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("n (parameters)")
        ax.set_ylabel("time(gradient) / time(f)  (median of per-repeat ratios)")
        ax.grid(True, which="major", alpha=0.3)
        lo, hi = ax.get_ylim()
        ax.set_ylim(min(lo, 0.5), hi * 2)
        ax.set_xlim(right=ax.get_xlim()[1] * 5)
        tidy_log_axes(ax)
        end_labels(ax, ends)
        reference_line(ax, 5, "5×: cheap-gradient bound (arithmetic only)")
        reference_line(ax, 1, "1 = cost of f", ls=":")
        if limit is not None and limit > rows[0]["n"]:
            ax.set_xlabel("n (parameters); shaded: f is mostly per-call overhead there")
    rev = ", ".join(f"{fmt_vs(r, 5, 2)}× f at n = {n:,} for {name}" for name, n, r in lasts)
    parts = []
    for mode in MODES[2:]:
        fs = [s for m, s in fslopes if m == mode and s is not None]
        if fs:
            lo, hi = min(fs), max(fs)
            parts.append(f"{_like(lo) if abs(hi - lo) < 0.15 else f'like n^{lo:.2f}–{hi:.2f}'}"
                         f" ({mode.removeprefix('forward ').strip('()')})")
    grow = "forward mode's ratio grows " + " and ".join(parts) if parts else ""
    fig.suptitle(f"cost(gradient) / cost(f): reverse mode stays bounded, {rev};\n{grow}",
                 fontsize=10)
    legend_below(fig)
    return fig


# ---------------------------------------------------------------- op counts -----------


def _op_counts(oc):
    fig, axes = figure(2, len(oc), figsize=(11, 7.6), squeeze=False)
    same = []
    for col, (name, rows) in enumerate(oc.items()):
        modes = [m for m in rows[0] if m != "n"]
        for row_i, (key, ylabel) in enumerate((
                ("total", "primitive + rule applications"),
                ("elements", "array elements computed"))):
            ax = axes[row_i, col]
            ends = []
            for mode in modes:
                ns, vs = _curve(rows, mode, lambda r, m, k=key: r[m].get(k) if m in r else None)
                if not ns:
                    continue
                st = style(mode)
                hollow = mode == "forward (vectorised)"
                ax.loglog(ns, vs, label=mode, mfc="none" if hollow else st["color"],
                          ms=9 if hollow else 6, mew=1.5, **st)
                lab = f"{vs[-1]:,}" if key == "total" else f"∝ n^{_fit(ns, vs) or 0:.2f}"
                ends.append((ns[-1], vs[-1], lab, st["color"]))
            ax.set_xlabel("n (parameters)")
            ax.set_ylabel(ylabel)
            ax.grid(True, which="major", alpha=0.3)
            ax.set_xlim(right=ax.get_xlim()[1] * 6)
            tidy_log_axes(ax)
            end_labels(ax, ends)
            if key == "total":
                r = [x["reverse"]["total"] for x in rows]
                v = [x["forward (vectorised)"]["total"] for x in rows]
                same.append(r == v)
                every = "at every n" if len(set(r)) == len(set(v)) == 1 else \
                    f"at n = {rows[-1]['n']:,}"
                ax.set_title(f"{name}: reverse {r[-1]:,}, vectorised forward {v[-1]:,} "
                             f"applications {every}", fontsize=9)
            else:
                ax.set_title(f"{name}: but every forward tangent carries n directions",
                             fontsize=9)
    def grow(mode):
        sl = [_fit([r["n"] for r in rows if mode in r], [r[mode]["elements"] for r in rows
                                                       if mode in r]) for rows in oc.values()]
        sl = [x for x in sl if x is not None]
        return f"n^{min(sl):.2f}–{max(sl):.2f}" if sl else "—"

    fig.suptitle("One pass each: reverse and vectorised forward mode make a fixed number of "
                 "applications (" + ("equal" if all(same) else "near-equal")
                 + " counts at every n);\nthe work differs: elements computed grow like "
                 f"{grow('reverse')} in reverse mode, {grow('forward (vectorised)')} in "
                 "vectorised forward mode", fontsize=10)
    legend_below(fig)
    return fig


# ---------------------------------------------------------------- memory --------------


def _memory(mem):
    fig, axes = figure(1, 2, figsize=(11, 5.0))
    for ax, rows, x, xlabel in ((axes[0], mem["by_n"], "n", "n (parameters)"),
                                (axes[1], mem["by_depth"], "depth", "depth L (layers)")):
        keys = list(dict.fromkeys(k for r in rows for k in r["peak"]))
        ends = []
        for k in keys:
            xs = [r[x] for r in rows if k in r["peak"]]
            ys = [r["peak"][k]["median"] for r in rows if k in r["peak"]]
            st = style(k)
            ax.loglog(xs, ys, label=k, **st)
            if k == "forward (vectorised)" and xs[-1] < rows[-1][x]:
                ends.append((xs[-1], ys[-1], f"measured to n = {xs[-1]:,}", st["color"]))
        ax.set_xlabel(xlabel)
        ax.set_ylabel("peak bytes above baseline (tracemalloc)")
        ax.grid(True, which="major", alpha=0.3)
        tidy_log_axes(ax)
        end_labels(ax, ends)
    big = mem["by_n"][-1]
    r = big["peak"]["reverse"]["median"] / max(big["peak"]["f"]["median"], 1)
    axes[0].set_title(f"Rosenbrock: reverse needs {r:.2g}× f's memory at n = {big['n']:,};\n"
                      "vectorised forward holds n × n tangents", fontsize=9)
    deep = mem["by_depth"][-1]
    c = deep["peak"]["reverse"]["median"] / max(deep["peak"]["reverse + checkpoint"]["median"], 1)
    axes[1].set_title(f"deep chain (n = {deep['n']:,}): reverse grows with depth L;\n"
                      f"checkpointing cuts its peak {c:.2g}× at L = {deep['depth']}", fontsize=9)
    fig.suptitle("Memory: reverse mode keeps the tape (grows with depth), forward mode one "
                 "direction only live values", fontsize=10)
    legend_below(fig)
    return fig


# ---------------------------------------------------------------- jacobian ------------


def _jacobian(jac):
    grid = jac["grid"]
    k = len(grid)
    z = np.zeros((k, k))
    fig, ax = figure(figsize=(7.4, 6.4))
    for c in jac["cells"]:
        z[grid.index(c["m"]), grid.index(c["n"])] = math.log2(c["fwd_over_rev"]["median"])
    lim = max(1.0, float(np.max(np.abs(z))))
    im = ax.imshow(z, origin="lower", cmap="coolwarm", vmin=-lim, vmax=lim)
    for c in jac["cells"]:
        i, j = grid.index(c["m"]), grid.index(c["n"])
        r = c["fwd_over_rev"]["median"]
        mark = ("F" if c["choice"] == "forward" else "R") + ("" if c["right"] else " ✗")
        noise = " ~" if c.get("within_noise", False) else ""
        ax.text(j, i, f"{fmt_vs(r, 1, 2)}{noise}\n{mark}", ha="center", va="center",
                fontsize=7 if k > 5 else 8, color="k" if abs(z[i, j]) < 0.7 * lim else "w")
    ax.set_xticks(range(k), [str(g) for g in grid])
    ax.set_yticks(range(k), [str(g) for g in grid])
    ax.set_xlabel("n (inputs)")
    ax.set_ylabel("m (outputs)")
    noisy = sum(c.get("within_noise", False) for c in jac["cells"])
    wrong = [c for c in jac["cells"] if not c["right"]]
    wrong_noisy = sum(c.get("within_noise", False) for c in wrong)
    ax.set_title(f"jacobian picked the faster mode in {jac['right']} of {jac['total']} cells"
                 + (f" ({wrong_noisy} of the {len(wrong)} misses within noise)" if wrong
                    else "") + "\n"
                 "cell: time(jacfwd)/time(jacrev) (median of per-repeat ratios), then "
                 "jacobian's choice\nF forward, R reverse, ✗ the slower one"
                 + (f"; ~ within noise (IQR contains 1: {noisy} cells)" if noisy else
                    "; ~ would mark a cell within noise (IQR contains 1): none"),
                 fontsize=9)
    cb = fig.colorbar(im, ax=ax)
    cb.set_label("log₂ time(jacfwd) / time(jacrev)\n< 0 (blue): jacfwd faster; "
                 "> 0 (red): jacrev faster", fontsize=8)
    return fig


# ---------------------------------------------------------------- peers ---------------


def _peers(peers):
    from matplotlib.ticker import FuncFormatter

    fig, axes = figure(1, 2, figsize=(12, 5.4), width_ratios=(1, 1.15))
    missing = [k for k, v in peers.get("available", {}).items() if not v]
    note = ("; not installed: " + ", ".join(missing) + " (pip install -e '.[compare]')"
            if missing else "")
    ax = axes[0]
    rat = peers["mlp"]["ratio_to_numpy"]
    names = list(rat)
    med = [rat[k]["median"] for k in names]
    ys = np.arange(len(names))
    ax.barh(ys, med, xerr=[[rat[k]["median"] - rat[k]["q1"] for k in names],
                           [rat[k]["q3"] - rat[k]["median"] for k in names]],
            color=[style(k)["color"] for k in names], height=0.6, capsize=3,
            error_kw={"lw": 1, "ecolor": "0.3"})
    ax.set_yticks(ys, names)
    ax.set_ylim(len(names) - 0.4, -1.0)  # first on top; room above for the line's label
    ax.set_xlim(0, max(max(r["q3"] for r in rat.values()) * 1.3, 1.4))
    # the values in a column at the right edge: clear of the bars, whiskers and the line
    for y, k in zip(ys, names):
        ax.text(0.995, y, f"{fmt_vs(rat[k]['median'], 1.05, 3)}×", va="center", ha="right",
                fontsize=8, transform=ax.get_yaxis_transform())
    reference_line(ax, 1.0, "1 = hand-written numpy", vertical=True, where="top")
    ax.set_xlabel("time / hand-written numpy (median of per-repeat ratios; IQR bars)",
                  fontsize=8)
    a = rat.get("admodes (reverse)", {}).get("median")
    ax.set_title(f"MLP 784-256-10 gradient: admodes {fmt_vs(a, 1.05, 3)}× hand-written numpy",
                 fontsize=9)

    ax = axes[1]
    chains = peers["chains"]
    names = list(dict.fromkeys(k for ch in chains.values() for k in ch["per_op"]))
    ys = np.arange(len(names))
    shapes = ("o", "s")
    offs = np.linspace(-0.15, 0.15, len(chains)) if len(chains) > 1 else [0.0]
    for (cname, ch), marker, off in zip(chains.items(), shapes, offs):
        per = ch["per_op"]
        for y, k in zip(ys, names):
            if k not in per:
                continue
            col = style(k)["color"]
            ax.errorbar(per[k]["median"] * 1e6, y + off,
                        xerr=[[per[k]["median"] * 1e6 - per[k]["q1"] * 1e6],
                              [per[k]["q3"] * 1e6 - per[k]["median"] * 1e6]],
                        fmt=marker, color=col, mfc=col if marker == "o" else "none", ms=7,
                        mew=1.5, capsize=2, lw=1)
        ax.plot([], [], marker, color="0.3", mfc="0.3" if marker == "o" else "none", ls="",
                label=f"{cname}: {ch['expr']}")
    ax.set_yticks(ys, names)
    ax.set_ylim(len(names) - 0.5, -0.5)
    vals = [ch["per_op"][k]["median"] * 1e6 for ch in chains.values() for k in ch["per_op"]]
    if wants_log(vals):
        ax.set_xscale("log")
        tidy_log_axes(ax)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.grid(True, axis="x", which="major", alpha=0.3)
    ops = next(iter(chains.values()))["ops"]
    rev = {c: ch["per_op"]["admodes (reverse)"]["median"] * 1e6 for c, ch in chains.items()}
    ax.set_xlabel("µs per op (median, IQR bars; log axis: values span decades)", fontsize=8)
    ax.set_title(f"{ops}-op scalar chains: admodes reverse "
                 + " / ".join(f"{v:.2g}" for v in rev.values()) + " µs per op", fontsize=9)
    legend_below(ax, ncol=1)
    fig.suptitle("Against hand-written numpy and the peers (same inputs, float64, "
                 "interleaved repeats)" + note, fontsize=10)
    return fig
