"""The report section "Beyond one mode: sparse Jacobians and Hessians".

``run_section(quick, out_dir, timer=interleaved)`` measures, for each problem of
:mod:`admodes.bench.sparse_problems` and a range of sizes, the function itself, the
pattern detection, the compressed Jacobian/Hessian with the pattern cached — dynamic
(the engine's passes) and compiled (``ad.jit`` of it: the same passes as generated
code) — and dense ``jacfwd``/``jacrev`` (or ``hessian``) while they are affordable, all
interleaved in one run per size; it writes ``sparse.png`` (pattern, colouring and time
against n) and ``sparse_times.png`` (more problems, and the target ratios against n) when
matplotlib is available and returns the markdown text and the raw samples.
"""

from __future__ import annotations

import pathlib

import numpy as np

import admodes as ad

from .sparse_problems import (
    chained_rosenbrock,
    dense_column,
    dense_row,
    laplacian_2d,
    reaction_diffusion_1d,
    start,
)
from .timing import interleaved, ratio_stats, summarize

__all__ = ["run_section", "PROBLEMS", "FIGURES"]

FIGURES = ("sparse.png", "sparse_times.png")

# name -> (function, kind, shape for size n)
PROBLEMS = {
    "1-D reaction-diffusion": (reaction_diffusion_1d, "jacobian", lambda n: (n,)),
    "2-D 5-point Laplacian + u^3": (laplacian_2d, "jacobian",
                                    lambda n: (int(round(n ** 0.5)),) * 2),
    "one dense row": (dense_row, "jacobian", lambda n: (n,)),
    "one dense column": (dense_column, "jacobian", lambda n: (n,)),
    "chained Rosenbrock (Hessian)": (chained_rosenbrock, "hessian", lambda n: (n,)),
}

DENSE_LIMIT = 2000  # dense jacfwd/jacrev/hessian only up to this n
TARGET_N = 100_000  # the size the issue's target ratios are set for


def run_section(quick: bool, out_dir: pathlib.Path, timer=interleaved, *, sizes=None,
                repeats=None, min_time=None) -> dict:
    """Measure the sparse section.

    Args:
        quick: small sizes and few repeats (for CI); else up to n = 10**5.
        out_dir: where ``sparse.png`` goes.
        timer: ``timer(fns, repeats=, min_time=) -> {name: [seconds per call]}``.
        sizes, repeats, min_time: override the sizes n, the repeats and the least time
            per sample that ``quick`` picks.

    Returns:
        ``{"markdown": str, "samples": {problem: {n: {candidate: [s]}}}, "info": ...,
        "targets": {...}, "figures": [paths]}``.
    """
    sizes = list(sizes or ([100, 1000] if quick else [100, 1000, 10_000, 100_000]))
    repeats = repeats or (3 if quick else 7)
    samples, infos = {}, {}
    for name, (fun, kind, shape) in PROBLEMS.items():
        samples[name], infos[name] = {}, {}
        for n in sizes:
            x = start(int(np.prod(shape(n)))).reshape(shape(n))
            nn = x.size
            if kind == "jacobian":
                sj = ad.sparse_jacobian(fun)
                fns = {"f": lambda fun=fun, x=x: fun(x),
                       "detect": lambda fun=fun, x=x: ad.jacobian_sparsity(fun, x),
                       "sparse": lambda sj=sj, x=x: sj(x)}
                if nn <= DENSE_LIMIT:
                    fns["jacfwd"] = lambda fun=fun, x=x: ad.jacfwd(fun)(x)
                    fns["jacrev"] = lambda fun=fun, x=x: ad.jacrev(fun)(x)
            else:
                sj = ad.sparse_hessian(fun)
                fns = {"f": lambda fun=fun, x=x: fun(x),
                       "detect": lambda fun=fun, x=x: ad.hessian_sparsity(fun, x),
                       "sparse": lambda sj=sj, x=x: sj(x)}
                if nn <= DENSE_LIMIT:
                    fns["hessian"] = lambda fun=fun, x=x: ad.hessian(fun)(x)
            jitted = ad.jit(sj)
            fns["sparse (jit)"] = lambda jitted=jitted, x=x: jitted(x)
            # pattern, colouring and the compiled program once, outside the timings
            want = sj(x)
            got = jitted(x)
            if abs(got - want).max() > 1e-12 * max(1.0, abs(want).max()):
                raise AssertionError(f"sparse report: {name} at n = {nn}: ad.jit of the "
                                     "compressed derivative differs from the dynamic one")
            infos[name][nn] = sj.info(x)
            samples[name][nn] = timer(fns, repeats=repeats,
                                      min_time=min_time or (0.02 if quick else 0.05))
    targets = _targets(samples, sizes[-1])
    figures = _figure(samples, infos, out_dir)
    return {"markdown": _markdown(samples, infos, targets, quick), "samples": samples,
            "info": infos, "targets": targets, "figures": figures}


def _targets(samples, n):
    rd = samples["1-D reaction-diffusion"][n]
    ro = samples["chained Rosenbrock (Hessian)"][n]
    return {"n": n,
            "sparse_jacobian_over_f": ratio_stats(rd["sparse"], rd["f"]).as_dict(),
            "sparse_jacobian_jit_over_f": ratio_stats(rd["sparse (jit)"], rd["f"]).as_dict(),
            "detection_over_f": ratio_stats(rd["detect"], rd["f"]).as_dict(),
            "sparse_hessian_over_f": ratio_stats(ro["sparse"], ro["f"]).as_dict(),
            "sparse_hessian_jit_over_f": ratio_stats(ro["sparse (jit)"], ro["f"]).as_dict()}


# target name -> (problem, candidate, bound) for the ratio panel and the text
TARGETS = {
    "sparse_jacobian_over_f": ("1-D reaction-diffusion", "sparse", 10),
    "sparse_jacobian_jit_over_f": ("1-D reaction-diffusion", "sparse (jit)", 10),
    "detection_over_f": ("1-D reaction-diffusion", "detect", 50),
    "sparse_hessian_over_f": ("chained Rosenbrock (Hessian)", "sparse", 40),
    "sparse_hessian_jit_over_f": ("chained Rosenbrock (Hessian)", "sparse (jit)", 40),
}


def _markdown(samples, infos, targets, quick):
    n = targets["n"]
    lines = ["## Beyond one mode: sparse Jacobians and Hessians", "",
             "Structural sparsity detected from the registry, greedy colourings (largest-"
             "first), one batched forward pass over the column colours or one reverse sweep "
             "over the row colours (`auto` picks fewer colours), and forward-over-reverse "
             "Hessian-vector products over a star colouring.  *sparse* runs these passes "
             "through the engine at every call; *sparse (jit)* is `ad.jit` of the same "
             "sparse Jacobian or Hessian: the pattern and colouring stay outside, the "
             "compressed evaluation and the gather of the CSR data are generated code "
             "(where a tangent does not depend on x — a linear stencil's — it is a "
             "constant folded at compile time).  Times are medians of interleaved repeats; "
             "ratios are per repeat.", "",
             "| problem | n | mode | colours (other mode) | nnz | f | detection | sparse "
             "(pattern cached) | sparse (jit) | dense |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, per_n in samples.items():
        for nn, s in per_n.items():
            info = infos[name][nn]
            dense = [f"{k} {summarize(s[k]).fmt()}" for k in ("jacfwd", "jacrev", "hessian")
                     if k in s]
            lines.append(f"| {name} | {nn} | {info['mode']} | {info['n_colors']} "
                         f"({info['n_colors_other']}) | {info['nnz']} | "
                         f"{summarize(s['f']).fmt()} | {summarize(s['detect']).fmt()} | "
                         f"{summarize(s['sparse']).fmt()} | "
                         f"{summarize(s['sparse (jit)']).fmt()} | {'; '.join(dense) or '—'} |")
    t = targets
    fmt = lambda d: f"{d['median']:.3g} [{d['q1']:.3g}–{d['q3']:.3g}]"
    at_size = n >= TARGET_N

    def verdict(d, bound):
        if not at_size:
            return f"(set for n = {TARGET_N:,})"
        return "met" if d["median"] <= bound else "**missed**"

    lines += ["", f"Targets at n = {n}{' (quick run: small n)' if quick else ''} (median "
              "[quartiles] of the per-repeat ratios):", "",
              "| measure | ratio | target | |", "|---|---|---|---|"]
    names = {"sparse_jacobian_over_f": "1-D residual: sparse Jacobian / f",
             "sparse_jacobian_jit_over_f": "1-D residual: sparse Jacobian (jit) / f",
             "detection_over_f": "pattern detection / f",
             "sparse_hessian_over_f": "chained Rosenbrock: sparse Hessian / f",
             "sparse_hessian_jit_over_f": "chained Rosenbrock: sparse Hessian (jit) / f"}
    for key, label in names.items():
        bound = TARGETS[key][2]
        lines.append(f"| {label} | {fmt(t[key])} | ≤ {bound} | {verdict(t[key], bound)} |")
    lines.append("")
    return "\n".join(lines)


def _figure(samples, infos, out_dir):
    from .style import have_matplotlib
    if not have_matplotlib():
        return []
    from .style import figure, legend_below
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fig, axes = figure(2, 3, figsize=(13, 8.6))
    # pattern and colouring of two small problems
    for ax, (fun, shape, title) in zip(axes[0, :2], [
            (reaction_diffusion_1d, (30,), "1-D residual: Jacobian pattern"),
            (laplacian_2d, (6, 6), "2-D Laplacian: Jacobian pattern")]):
        x = start(int(np.prod(shape))).reshape(shape)
        P = ad.jacobian_sparsity(fun, x)
        colors = ad.sparse.color_columns(P)
        _pattern(ax, P, colors, f"{title}:\n{colors.max() + 1} column colours for "
                 f"{P.shape[1]} columns (colour = colour class)")
    x = start(30)
    H = ad.hessian_sparsity(chained_rosenbrock, x)
    colors = ad.sparse.star_coloring(H)
    _pattern(axes[0, 2], H, colors, f"chained Rosenbrock Hessian:\n{colors.max() + 1} star "
             f"colours for {H.shape[1]} columns")
    for ax, name in zip(axes[1], list(samples)[:3]):
        _time_plot(ax, name, samples[name])
    fig.suptitle("Sparse derivatives: a few colours replace n directions; compressed / f at "
                 f"the largest n: {_ratios(samples, list(samples)[:3])}", fontsize=10)
    legend_below(fig)
    path = out_dir / "sparse.png"
    fig.savefig(path, dpi=110)
    fig, axes = figure(1, 3, figsize=(15, 4.8))
    for ax, name in zip(axes, list(samples)[3:]):
        _time_plot(ax, name, samples[name])
    _ratio_plot(axes[2], samples)
    fig.suptitle("Sparse derivatives, continued; compressed / f at the largest n: "
                 f"{_ratios(samples, list(samples)[3:])}", fontsize=10)
    legend_below(fig)
    path2 = out_dir / "sparse_times.png"
    fig.savefig(path2, dpi=110)
    return [path, path2]


def _ratio_at_largest(per_n, key="sparse"):
    big = max(per_n)
    return big, float(np.median(np.asarray(per_n[big][key]) / np.asarray(per_n[big]["f"])))


def _ratio_plot(ax, samples):
    """The target ratios (time / f, median of the per-repeat ratios) against n, with the
    targets as reference lines."""
    from .style import reference_line, style, tidy_log_axes
    for key in ("sparse_jacobian_over_f", "sparse_jacobian_jit_over_f",
                "sparse_hessian_over_f", "sparse_hessian_jit_over_f"):
        problem, cand, _ = TARGETS[key]
        per_n = samples[problem]
        ns = sorted(per_n)
        ys = [float(np.median(np.asarray(per_n[n][cand]) / np.asarray(per_n[n]["f"])))
              for n in ns]
        st = style(cand)
        if "Hessian" in problem:
            st = {**st, "ls": ":"}
        short = "1-D residual Jacobian" if "reaction" in problem else "Rosenbrock Hessian"
        ax.loglog(ns, ys, label=f"{short}: {cand}", **st)
    ax.set_xlabel("n")
    ax.set_ylabel("time / f (median of per-repeat ratios)")
    ax.set_title("the targets: compressed derivative / f", fontsize=9)
    ax.grid(True, which="major", alpha=0.3)
    lo, hi = ax.get_ylim()
    ax.set_ylim(min(lo, 0.8), max(hi, 60))
    tidy_log_axes(ax)
    reference_line(ax, 10, "Jacobian target 10")
    reference_line(ax, 40, "Hessian target 40", ls=":")


def _ratios(samples, names):
    return "; ".join(f"{k} {_ratio_at_largest(samples[k])[1]:.3g}×" for k in names)


def _pattern(ax, P, colors, title):
    """The nonzero pattern of ``P`` (rows down), each entry coloured by its column's
    colour class."""
    rows = np.repeat(np.arange(P.shape[0]), np.diff(P.indptr))
    ax.scatter(P.indices, rows, c=colors[P.indices], cmap="tab10", s=12, marker="s",
               vmin=0, vmax=9)
    ax.set_xlim(-1, P.shape[1])
    ax.set_ylim(P.shape[0], -1)
    ax.set_xlabel("column (input)")
    ax.set_ylabel("row (output)")
    ax.set_title(title, fontsize=9)


_NAMES = {"f": "f", "detect": "detect (pattern)", "sparse": "sparse (pattern cached)",
          "sparse (jit)": "sparse, ad.jit (pattern cached)",
          "jacfwd": "jacfwd (dense)", "jacrev": "jacrev (dense)", "hessian": "hessian (dense)"}


def _time_plot(ax, name, per_n):
    from .style import end_labels, style, tidy_log_axes
    ns = sorted(per_n)
    ends = []
    for key in ("f", "detect", "sparse", "sparse (jit)", "jacfwd", "jacrev", "hessian"):
        pts = [(n, float(np.median(per_n[n][key]))) for n in ns if key in per_n[n]]
        if pts:
            ax.loglog(*zip(*pts), label=_NAMES[key], **style(key))
    big, r = _ratio_at_largest(per_n)
    _, rj = _ratio_at_largest(per_n, "sparse (jit)")
    ends.append((big, float(np.median(per_n[big]["sparse"])), f"{r:.3g}× f", style("sparse")["color"]))
    ends.append((big, float(np.median(per_n[big]["sparse (jit)"])), f"{rj:.3g}× f",
                 style("sparse (jit)")["color"]))
    ax.set_title(f"{name}: sparse = {r:.3g}× f, jit {rj:.3g}× f at n = {big:,}", fontsize=9)
    ax.set_xlabel("n")
    ax.set_ylabel("seconds (median)")
    ax.grid(True, which="major", alpha=0.3)
    ax.set_xlim(right=ax.get_xlim()[1] * 4)
    tidy_log_axes(ax)
    end_labels(ax, ends)
