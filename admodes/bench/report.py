"""``admodes report``: measure forward vs reverse mode and write ``reports/``.

Runs the sweeps of issue 4 and writes ``forward-vs-reverse.md``, PNG plots and
``results.json`` (every raw sample) into the output folder::

    admodes report            # --quick (default): about 20-60 s on 2 cores
    admodes report --full     # larger sizes, more repeats
    python -m admodes report --out /tmp/r

Every timing is a median over interleaved repeats with its interquartile range; ratios
are taken per repeat between candidates timed in the same round.  The problems and the
timing helpers live in :mod:`admodes.bench`, which the pytest-benchmark suite shares.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path

import numpy as np

from admodes.bench import reuse_report, sparse_report
from admodes.bench.jit_report import FIGURES as jit_figures
from admodes.bench.jit_report import markdown_section as jit_markdown
from admodes.bench.jit_report import plot as jit_plot
from admodes.bench.jit_report import sweep_static_dynamic
from admodes.bench.markdown import markdown, targets, verdict
from admodes.bench.plots import FIGURES, plot
from admodes.bench.reuse_report import reuse_section
from admodes.bench.sparse_report import run_section
from admodes.bench.style import INSTALL_HINT, have_matplotlib
from admodes.bench.sweeps import (
    CONFIGS,
    Progress,
    machine_info,
    sweep_correctness,
    sweep_gradient_cost,
    sweep_jacobian,
    sweep_memory,
    sweep_op_counts,
    sweep_peers,
)

__all__ = ["run", "write_report", "main", "limit_threads"]


def limit_threads(n):
    """A context limiting BLAS/OpenMP pools to ``n`` threads (``0``: leave the library
    defaults), and a sentence saying what was done."""
    if not n:
        return contextlib.nullcontext(), "library defaults"
    # XLA keeps its own thread pool, which threadpoolctl does not see: it reads its
    # limits from XLA_FLAGS when JAX is first imported (the peers are imported later).
    xla = ""
    if "jax" not in sys.modules and n == 1:
        flags = os.environ.get("XLA_FLAGS", "")
        if "multi_thread_eigen" not in flags:
            os.environ["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=false "
                                       "intra_op_parallelism_threads=1").strip()
        xla = "; XLA_FLAGS single-threaded"
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext(), "library defaults (threadpoolctl is not installed)"
    return threadpool_limits(n), (f"limited to {n} (threadpoolctl; torch.set_num_threads"
                                  f"{xla})")


def run(mode="quick", progress=None, config=None, sections=None, threads=1):
    """Run the sweeps; return the results dict (what ``results.json`` holds).

    ``threads`` limits the BLAS pools (and torch's) for the whole run: on a small shared
    machine a second BLAS thread mostly waits for a busy core, which makes mid-sized
    matrix products many times slower and very noisy.  ``0`` leaves the defaults.
    """
    cfg = dict(CONFIGS[mode])
    if config:
        cfg.update(config)
    cfg["threads"] = threads
    progress = progress or Progress()
    steps = {"gradient_cost": sweep_gradient_cost, "op_counts": sweep_op_counts,
             "memory": sweep_memory, "jacobian": sweep_jacobian, "peers": sweep_peers,
             "correctness": sweep_correctness}
    if "jit_rosen_n" in cfg:  # the section "static vs dynamic" (issue 11)
        steps["static_dynamic"] = sweep_static_dynamic
    results = {"mode": mode, "config": cfg, "machine": machine_info()}
    ctx, how = limit_threads(threads)
    results["machine"]["threads"] = how
    with ctx:
        results["machine"]["blas_in_run"] = _blas_pools()
        for key, fn in steps.items():
            if sections is None or key in sections:
                results[key] = fn(cfg, progress)
    results["seconds"] = progress.elapsed()
    return results


def _blas_pools():
    try:
        from threadpoolctl import threadpool_info
        return [{k: p.get(k) for k in ("internal_api", "num_threads")} for p in threadpool_info()]
    except Exception:  # noqa: BLE001
        return []


def figure_names(results_or_config):
    """The PNG files a report with these sections draws (what is skipped without
    matplotlib)."""
    r = results_or_config
    cfg = r.get("config", r)
    names = [f for key, fs in FIGURES.items() if key in r or "config" not in r for f in fs]
    if ("static_dynamic" in r) if "config" in r else cfg.get("jit_rosen_n"):
        names += list(jit_figures)
    if cfg.get("sparse") is not None:
        names += list(sparse_report.FIGURES)
    if cfg.get("reuse") is not None:
        names += list(reuse_report.FIGURES)
    return names


def skipped_note(names):
    """The sentence naming the figures skipped for want of matplotlib and the command
    that adds them."""
    return (f"matplotlib is not installed: the report skips its {len(names)} figures "
            f"({', '.join(names)}); the markdown and results.json are written.  "
            f"Add the figures with: {INSTALL_HINT}")


def write_report(results, out, progress=None):
    """Write plots, ``forward-vs-reverse.md`` and ``results.json`` into ``out``.

    The section "why reuse wins" (path sums and vertex elimination, exact counts and its
    own figures) is built here, when ``results["config"]["reuse"]`` holds its settings.
    Without matplotlib the figures are skipped, and ``results["figures_skipped"]`` and
    the markdown say which."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    results["targets"] = targets(results)
    mpl = have_matplotlib()
    results["figures_skipped"] = [] if mpl else figure_names(results)
    files = plot(results, out)
    text = markdown(results, files)
    sparse = results.get("config", {}).get("sparse")
    if sparse is not None:
        kw = sparse if isinstance(sparse, dict) else {}
        section = run_section(results["mode"] == "quick", out, **kw)
        text += "\n" + section.pop("markdown")
        files = list(files) + [Path(f).name for f in section.pop("figures", [])]
        results["sparse"] = section
    if "static_dynamic" in results:
        fig = jit_plot(results["static_dynamic"], out)
        text += "\n" + jit_markdown(results["static_dynamic"], fig)
        files = list(files) + ([fig] if fig else [])
    reuse = results.get("config", {}).get("reuse")
    if reuse is not None:
        reuse_md, results["reuse"] = reuse_section(out, progress=progress, figures=mpl,
                                                   **reuse)
        text += "\n" + reuse_md
        files = list(files) + list(results["reuse"].get("files", []))
    (out / "forward-vs-reverse.md").write_text(text, encoding="utf-8")
    with open(out / "results.json", "w", encoding="utf-8") as fh:
        json.dump(results, fh, indent=1, default=_json_default)
    return [out / "forward-vs-reverse.md", out / "results.json"] + [out / f for f in files]


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o).__name__)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="admodes report",
        description="Measure forward vs reverse mode and write the report "
                    "(markdown, PNG plots, results.json).")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", dest="mode", action="store_const", const="quick",
                      help="small sweep, under a minute on 2 cores (default)")
    size.add_argument("--full", dest="mode", action="store_const", const="full",
                      help="larger sizes and more repeats")
    parser.add_argument("--out", default="reports", help="output folder (default: reports)")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS (and torch) threads during the run; 0 keeps the library "
                             "defaults (default: 1, steadier on a small shared machine)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    mode = args.mode or "quick"
    progress = Progress(enabled=not args.quiet)
    progress(f"admodes report --{mode}: writing into {args.out}/")
    if not have_matplotlib():  # said even with --quiet: the reader should know up front
        print("admodes report: " + skipped_note(figure_names(dict(CONFIGS[mode]))),
              file=sys.stderr)
    results = run(mode, progress, threads=args.threads)
    paths = write_report(results, args.out, progress)
    progress(f"done in {progress.elapsed():.0f} s: " + ", ".join(str(p) for p in paths))
    for t in results["targets"]:
        if t["reached"] is None:
            progress(f"  target {t['target']}: not measured (goal {t['goal']})")
        else:
            progress(f"  target {t['target']}: {t['shown']} (goal {t['goal']}, "
                     + ("met" if verdict(t) == "yes" else "not met") + ")")
    if results["figures_skipped"]:
        print("admodes report: " + skipped_note(results["figures_skipped"]), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
