"""The report's figures (matplotlib)."""

from __future__ import annotations

import math

import numpy as np

from admodes.bench.sweeps import MODES


def _decorate(ax, title, xlabel, ylabel, hlines=()):
    """Title, labels, a grid and the legend of one panel; ``hlines`` are grey reference
    lines ``(y, linestyle, label or None)``, drawn before the legend so they join it."""
    for y, ls, label in hlines:
        ax.axhline(y, color="gray", ls=ls, lw=1, label=label)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)


def _loglog_panel(ax, lines, title, xlabel, ylabel, hlines=()):
    """A log–log panel of ``lines``, each ``(label, color, xs, ys)``; empty ones are left
    out."""
    for label, color, xs, ys in lines:
        if len(xs):
            ax.loglog(xs, ys, "o-", color=color, label=label)
    _decorate(ax, title, xlabel, ylabel, hlines)


def _peak_lines(rows, x):
    """``_loglog_panel`` lines of the median peak memory of each candidate vs ``x``."""
    keys = list(rows[0]["peak"])
    return [(k, f"C{i}", [r[x] for r in rows if k in r["peak"]],
             [r["peak"][k]["median"] for r in rows if k in r["peak"]])
            for i, k in enumerate(keys)]


def plot(results, out):
    """Write the PNG plots; returns their file names."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []

    def save(fig, name):
        fig.tight_layout()
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        files.append(name)

    colors = {"f": "k", "reverse": "C0", "forward (vectorised)": "C1",
              "forward (jvp per direction)": "C3"}
    gc_ = results.get("gradient_cost")
    if gc_:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
        for ax, (name, data) in zip(axes, gc_.items()):
            for mode in MODES:
                pts = [(r["n"], r["time"][mode]) for r in data["rows"] if mode in r["time"]]
                if not pts:
                    continue
                ns = [p[0] for p in pts]
                med = [p[1]["median"] for p in pts]
                lo = [p[1]["q1"] for p in pts]
                hi = [p[1]["q3"] for p in pts]
                sl = data["slopes"].get(mode)
                lab = mode + (f" (slope {sl:.2f})" if sl is not None else "")
                ax.loglog(ns, med, "o-", color=colors[mode], label=lab)
                ax.fill_between(ns, lo, hi, color=colors[mode], alpha=0.2)
            _decorate(ax, f"{name}: time vs number of parameters n", "n",
                      "seconds (median, IQR shaded)")
        save(fig, "gradient_cost.png")

        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
        for ax, (name, data) in zip(axes, gc_.items()):
            rows = data["rows"]
            lines = [(mode, colors[mode], [r["n"] for r in rows if mode in r["ratio_to_f"]],
                      [r["ratio_to_f"][mode]["median"] for r in rows if mode in r["ratio_to_f"]])
                     for mode in MODES[1:]]
            _loglog_panel(ax, lines, f"{name}: cost(gradient) / cost(f)", "n",
                          "ratio (median of per-repeat ratios)",
                          hlines=((5, "--", "5× (cheap gradient bound)"), (1, ":", None)))
        save(fig, "gradient_ratio.png")

    oc = results.get("op_counts")
    if oc:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
        for ax, (name, rows) in zip(axes, oc.items()):
            modes = [m for m in rows[0] if m != "n"]
            lines = [(mode, f"C{i}", [r["n"] for r in rows if mode in r],
                      [r[mode]["total"] for r in rows if mode in r])
                     for i, mode in enumerate(modes)]
            _loglog_panel(ax, lines, f"{name}: primitive + rule applications per gradient",
                          "n", "count (impl + jvp + vjp)")
        save(fig, "op_counts.png")

    mem = results.get("memory")
    if mem:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
        _loglog_panel(axes[0], _peak_lines(mem["by_n"], "n"), "Rosenbrock: peak memory vs n",
                      "n", "peak bytes (tracemalloc)")
        _loglog_panel(axes[1], _peak_lines(mem["by_depth"], "depth"),
                      f"deep chain (n={mem['by_depth'][0]['n']}): peak memory vs depth",
                      "depth (layers)", "peak bytes (tracemalloc)")
        save(fig, "memory.png")

    jac = results.get("jacobian")
    if jac:
        grid = jac["grid"]
        z = np.zeros((len(grid), len(grid)))
        fig, ax = plt.subplots(figsize=(6, 5))
        for c in jac["cells"]:
            i, j = grid.index(c["m"]), grid.index(c["n"])
            z[i, j] = math.log2(c["fwd_over_rev"]["median"])
        lim = max(1.0, float(np.max(np.abs(z))))
        im = ax.imshow(z, origin="lower", cmap="coolwarm", vmin=-lim, vmax=lim)
        for c in jac["cells"]:
            i, j = grid.index(c["m"]), grid.index(c["n"])
            mark = "F" if c["choice"] == "forward" else "R"
            ax.text(j, i, mark + ("" if c["right"] else "✗"), ha="center", va="center",
                    fontsize=9, color="k")
        ax.set_xticks(range(len(grid)), [str(g) for g in grid])
        ax.set_yticks(range(len(grid)), [str(g) for g in grid])
        ax.set_xlabel("n (inputs)")
        ax.set_ylabel("m (outputs)")
        ax.set_title("log2 time(jacfwd)/time(jacrev)\nblue: forward wins; letter: jacobian's "
                     "choice, ✗ = wrong", fontsize=9)
        fig.colorbar(im, ax=ax)
        save(fig, "jacobian_crossover.png")

    peers = results.get("peers")
    if peers:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
        ax = axes[0]
        rat = peers["mlp"]["ratio_to_numpy"]
        names = list(rat)
        ax.barh(names, [rat[k]["median"] for k in names],
                xerr=[[rat[k]["median"] - rat[k]["q1"] for k in names],
                      [rat[k]["q3"] - rat[k]["median"] for k in names]], color="C0")
        ax.axvline(1, color="k", lw=1)
        ax.set_xscale("log")
        ax.set_title("MLP 784-256-10 gradient, time / hand-written numpy")
        _chain_bars(axes[1], peers["chains"])
        save(fig, "peers.png")
    return files


def _chain_bars(ax, chains):
    """Grouped horizontal bars: µs per op of every candidate, one bar per chain."""
    names = list(dict.fromkeys(k for ch in chains.values() for k in ch["per_op"]))
    h = 0.8 / len(chains)
    ys = np.arange(len(names))
    for i, (cname, ch) in enumerate(chains.items()):
        per = ch["per_op"]
        pos = [y - 0.4 + (i + 0.5) * h for y, k in zip(ys, names) if k in per]
        med = [per[k]["median"] * 1e6 for k in names if k in per]
        err = [[per[k]["median"] * 1e6 - per[k]["q1"] * 1e6 for k in names if k in per],
               [per[k]["q3"] * 1e6 - per[k]["median"] * 1e6 for k in names if k in per]]
        ax.barh(pos, med, height=h, xerr=err, color=f"C{i + 1}",
                label=f"{cname}: {ch['expr']}")
    ax.set_yticks(ys, names)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ops = next(iter(chains.values()))["ops"]
    ax.set_title(f"{ops}-op scalar chains, gradient: µs per op")
    ax.legend(fontsize=8)
