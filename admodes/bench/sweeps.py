"""The sweeps behind ``admodes report``: each measures one section and returns its raw
samples (medians, IQRs and ratios from interleaved repeats)."""

from __future__ import annotations

import datetime as _dt
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import admodes as ad
from admodes.api import choose_mode
from admodes.bench import peers as _peers
from admodes.bench import problems as P
from admodes.bench.tape import tape_size
from admodes.bench.timing import interleaved, peak_memory, summarize
from admodes.bench.work import counting_elements

CONFIGS = {
    "quick": dict(
        repeats=7, min_time=0.005,
        rosen_n=[10, 30, 100, 300, 1_000, 10_000, 100_000, 1_000_000],
        mlp_n=[30, 100, 300, 1_000, 3_000, 10_000, 100_000, 1_000_000],
        jvp_loop_max=3_000, fwd_vec_max=3_000, fwd_budget=0.1,
        counts_n=[10, 100, 1_000],
        mem_n=[100, 1_000, 10_000, 100_000, 1_000_000], mem_fwd_max=1_000,
        depth_n=10_000, depths=[10, 30, 100, 300],
        jac_grid=[4, 16, 64, 256, 1024], jac_n=200,
        chain_ops=1_000,
        numeric_n=200,
        jit_rosen_n=[10, 1_000, 1_000_000], jit_compile_ops=[100, 1_000],
        reuse=dict(depths=list(range(1, 17)), timed_depths=[2, 4, 6, 8, 10], repeats=5),
        sparse=True,
    ),
    "full": dict(
        repeats=11, min_time=0.02,
        rosen_n=[10, 30, 100, 300, 1_000, 3_000, 10_000, 30_000, 100_000, 300_000,
                 1_000_000],
        mlp_n=[30, 100, 300, 1_000, 3_000, 10_000, 30_000, 100_000, 300_000, 1_000_000],
        jvp_loop_max=30_000, fwd_vec_max=30_000, fwd_budget=1.0,
        counts_n=[10, 100, 1_000, 3_000],
        mem_n=[100, 300, 1_000, 3_000, 10_000, 100_000, 1_000_000], mem_fwd_max=3_000,
        depth_n=30_000, depths=[10, 30, 100, 300, 1000],
        jac_grid=[1, 4, 16, 64, 256, 1024, 2048], jac_n=200,
        chain_ops=1_000,
        numeric_n=1_000,
        jit_rosen_n=[10, 100, 1_000, 10_000, 100_000, 1_000_000],
        jit_compile_ops=[100, 300, 1_000, 3_000],
        reuse=dict(),
        sparse=True,
    ),
}

MODES = ("f", "reverse", "forward (vectorised)", "forward (jvp per direction)")


# ---------------------------------------------------------------- helpers -------------


class Progress:
    """One line per step on stderr, with the time since the start."""

    def __init__(self, enabled=True, stream=None):
        self.t0 = time.perf_counter()
        self.enabled = enabled
        self.stream = stream or sys.stderr

    def __call__(self, msg):
        if self.enabled:
            print(f"[{time.perf_counter() - self.t0:6.1f}s] {msg}", file=self.stream, flush=True)

    def elapsed(self):
        return time.perf_counter() - self.t0


def _leaves(x):
    if isinstance(x, (tuple, list)):
        return [a for item in x for a in _leaves(item)]
    return [np.asarray(x, dtype=float)]


def rel_diff(a, b):
    """Norm-wise relative difference ``max|a - b| / max|b|`` over all leaves."""
    la, lb = _leaves(a), _leaves(b)
    num = max((float(np.max(np.abs(x - y))) if x.size else 0.0) for x, y in zip(la, lb))
    den = max((float(np.max(np.abs(y))) if y.size else 0.0) for y in lb)
    return num / den if den > 0 else num


def numerical_jacobian(f, x):
    """Central-difference Jacobian (``out.shape + x.shape``) of ``f`` at the array ``x``
    (:func:`admodes.numerical_jacobian`)."""
    return np.asarray(ad.numerical_jacobian(f, x))


def numerical_gradient(f, x):
    """Central-difference gradient of a scalar ``f`` at the array ``x``."""
    return numerical_jacobian(f, x).reshape(np.shape(x))


def directional_check(f, x, g, rng, directions=3):
    """Max relative difference between ``<g, v>`` and a central difference of ``f``
    along random unit directions ``v``: a numerical check that costs two ``f``
    evaluations per direction, at any ``n``."""
    worst = 0.0
    for _ in range(directions):
        v = rng.normal(size=x.shape)
        v /= np.linalg.norm(v)
        h = 1e-5 * max(1.0, float(np.max(np.abs(x))))
        num = (float(f(x + h * v)) - float(f(x - h * v))) / (2 * h)
        ana = float(np.sum(g * v))
        worst = max(worst, abs(num - ana) / max(abs(num), abs(ana), 1e-12))
    return worst


def _stats(samples):
    return summarize(samples).as_dict()


def _ratio(num, den):
    return summarize(np.asarray(num) / np.asarray(den)).as_dict()


SLOPE_POINTS = 3  # a slope is fitted over this many largest n of a curve


def _slope(ns, ts):
    """Log–log slope fitted over the ``SLOPE_POINTS`` largest n (at least two points):
    small n is dominated by fixed per-call overhead, not by the asymptotic cost, and the
    figure labels the slope on exactly the segment it was fitted to."""
    pts = sorted(zip(ns, ts))
    if len(pts) < 2:
        return None
    pts = pts[-SLOPE_POINTS:]
    lx = np.log([p[0] for p in pts])
    ly = np.log([p[1] for p in pts])
    return float(np.polyfit(lx, ly, 1)[0])


def _slope_range(ns):
    """``[n_from, n_to]`` of the points :func:`_slope` fits (``None``: no slope)."""
    ns = sorted(ns)
    return [int(ns[-SLOPE_POINTS:][0]), int(ns[-1])] if len(ns) >= 2 else None


# ---------------------------------------------------------------- machine -------------


def machine_info():
    """CPU, cores, Python, numpy and its BLAS, date: what the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    blas = []
    try:
        from threadpoolctl import threadpool_info
        for pool in threadpool_info():
            blas.append({k: pool.get(k) for k in
                         ("internal_api", "version", "num_threads", "architecture",
                          "threading_layer") if pool.get(k) is not None})
    except Exception:  # noqa: BLE001 - threadpoolctl is optional
        pass
    if not blas:
        try:
            cfg = np.show_config(mode="dicts")
            dep = cfg.get("Build Dependencies", {}).get("blas", {})
            blas.append({"internal_api": dep.get("name"), "version": dep.get("version")})
        except Exception:  # noqa: BLE001
            blas.append({"internal_api": "unknown"})
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=5,
                                cwd=Path(__file__).resolve().parent).stdout.strip() or None
    except Exception:  # noqa: BLE001
        commit = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": blas,
        "admodes": ad.__version__,
        "commit": commit,
        "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "openblas_env": {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                                    "OMP_NUM_THREADS") if k in os.environ},
    }


# ---------------------------------------------------------------- the sweeps ----------


def _problem(name, n):
    """``(f, x)`` for a problem name at about ``n`` parameters."""
    if name == "rosenbrock":
        x = np.random.default_rng(n).uniform(-1.0, 1.5, size=n)
        return P.rosenbrock, x
    if name == "mlp":
        return P.flat_mlp_problem(n)
    raise ValueError(name)


def _grad_candidates(f, x, cfg, skip=()):
    n = x.size
    c = {"f": lambda: f(x), "reverse": lambda: ad.grad(f)(x)}
    if n <= cfg["fwd_vec_max"] and "forward (vectorised)" not in skip:
        c["forward (vectorised)"] = lambda: ad.grad(f, mode="forward")(x)
    if n <= cfg["jvp_loop_max"] and "forward (jvp per direction)" not in skip:
        c["forward (jvp per direction)"] = lambda: P.forward_grad_by_jvps(f, x)
    return c


def _over_budget(seen, n, budget):
    """Whether a forward-mode variant timed at ``seen = [(n, seconds), ...]`` should stop
    before ``n``: it already took ``budget`` seconds, or extrapolating its last two
    points (slope at least 1; 2, its worst case, from a single point) says the next size
    would take over four times that."""
    if budget is None or not seen:
        return False
    n0, t0 = seen[-1]
    slope = 2.0
    if len(seen) >= 2:
        (na, ta), (nb, tb) = seen[-2:]
        slope = max(1.0, math.log(tb / ta) / math.log(nb / na))
    return t0 >= budget or t0 * (n / n0) ** slope > 4 * budget


def sweep_gradient_cost(cfg, progress):
    out = {}
    budget = cfg.get("fwd_budget")
    for name, key in (("rosenbrock", "rosen_n"), ("mlp", "mlp_n")):
        rows = []
        seen = {m: [] for m in MODES[2:]}  # forward variant -> [(n, median seconds)]
        for n_target in cfg[key]:
            f, x = _problem(name, n_target)
            progress(f"(1/6) gradient cost: {name} n={x.size}")
            skip = {m for m in MODES[2:] if _over_budget(seen[m], x.size, budget)}
            cands = _grad_candidates(f, x, cfg, skip)
            samples = interleaved(cands, repeats=cfg["repeats"], min_time=cfg["min_time"],
                                  max_time=20.0)
            for m in MODES[2:]:
                if m in samples:
                    seen[m].append((x.size, float(np.median(samples[m]))))
            rows.append({
                "n": int(x.size),
                "samples": samples,
                "time": {k: _stats(v) for k, v in samples.items()},
                "ratio_to_f": {k: _ratio(v, samples["f"]) for k, v in samples.items()
                               if k != "f"},
            })
        slopes, ranges = {}, {}
        for mode in MODES:
            pts = [(r["n"], r["time"][mode]["median"]) for r in rows if mode in r["time"]]
            slopes[mode] = _slope([p[0] for p in pts], [p[1] for p in pts])
            ranges[mode] = _slope_range([p[0] for p in pts])
        out[name] = {"rows": rows, "slopes": slopes, "slope_ranges": ranges}
    return out


def sweep_op_counts(cfg, progress):
    out = {}
    for name in ("rosenbrock", "mlp"):
        rows = []
        seen = set()
        for n_target in cfg["counts_n"]:
            f, x = _problem(name, n_target)
            if x.size in seen:
                continue
            seen.add(x.size)
            progress(f"(2/6) op counts: {name} n={x.size}")
            row = {"n": int(x.size)}
            runs = {"f (traced once)": lambda: ad.vjp(f, x),
                    "reverse": lambda: ad.grad(f)(x),
                    "forward (vectorised)": lambda: ad.grad(f, mode="forward")(x)}
            if x.size <= max(cfg["jvp_loop_max"], 100):
                runs["forward (jvp per direction)"] = lambda: P.forward_grad_by_jvps(f, x)
            for mode, fn in runs.items():
                with ad.counting() as snap:
                    fn()
                    total, per = snap(by_primitive=True)
                with counting_elements() as elements:
                    fn()
                row[mode] = {**total, "total": sum(total.values()), "by_primitive": per,
                             "elements": elements()}
            rows.append(row)
        out[name] = rows
    return out


def sweep_memory(cfg, progress):
    rows = []
    for n in cfg["mem_n"]:
        f, x = _problem("rosenbrock", n)
        progress(f"(3/6) memory: rosenbrock n={n}")
        row = {"n": n}
        row["peak"] = {"f": peak_memory(lambda: f(x)).as_dict(),
                       "reverse": peak_memory(lambda: ad.grad(f)(x)).as_dict(),
                       "forward (jvp, one direction)": peak_memory(
                           lambda: ad.jvp(f, (x,), (np.ones_like(x),))).as_dict()}
        if n <= cfg["mem_fwd_max"]:
            row["peak"]["forward (vectorised)"] = peak_memory(
                lambda: ad.grad(f, mode="forward")(x)).as_dict()
        row["tape_entries"], row["tape_bytes"] = tape_size(f, x)
        row["input_bytes"] = x.nbytes
        rows.append(row)
    depth_rows = []
    n = cfg["depth_n"]
    x = np.random.default_rng(1).normal(size=n)
    for depth in cfg["depths"]:
        progress(f"(3/6) memory: depth {depth} (n={n}), with and without checkpoint")
        f = lambda x, d=depth: P.deep_chain(x, d)  # noqa: E731
        fc = lambda x, d=depth: P.deep_chain_checkpointed(x, d)  # noqa: E731
        row = {"depth": depth, "n": n, "segment": max(1, math.isqrt(depth))}
        row["peak"] = {"f": peak_memory(lambda: f(x)).as_dict(),
                       "reverse": peak_memory(lambda: ad.grad(f)(x)).as_dict(),
                       "reverse + checkpoint": peak_memory(lambda: ad.grad(fc)(x)).as_dict(),
                       "forward (jvp, one direction)": peak_memory(
                           lambda: ad.jvp(f, (x,), (np.ones_like(x),))).as_dict()}
        row["tape_entries"] = {"reverse": tape_size(f, x)[0],
                               "reverse + checkpoint": tape_size(fc, x)[0]}
        row["tape_bytes"] = {"reverse": tape_size(f, x)[1],
                             "reverse + checkpoint": tape_size(fc, x)[1]}
        samples = interleaved({"f": lambda: f(x), "reverse": lambda: ad.grad(f)(x),
                               "reverse + checkpoint": lambda: ad.grad(fc)(x)},
                              repeats=cfg["repeats"], min_time=cfg["min_time"], max_time=10.0)
        row["time"] = {k: _stats(v) for k, v in samples.items()}
        row["ratio_to_f"] = {k: _ratio(v, samples["f"]) for k, v in samples.items() if k != "f"}
        row["samples"] = samples
        depth_rows.append(row)
    return {"by_n": rows, "by_depth": depth_rows}


def sweep_jacobian(cfg, progress):
    grid = cfg["jac_grid"]
    cells = []
    for n in grid:
        progress(f"(4/6) jacobian crossover: n={n}, m in {grid}")
        for m in grid:
            f, x = P.two_layer_map(n, m)
            samples = interleaved({"jacfwd": lambda: ad.jacfwd(f)(x),
                                   "jacrev": lambda: ad.jacrev(f)(x)},
                                  repeats=max(3, cfg["repeats"] - 2),
                                  min_time=cfg["min_time"], max_time=5.0)
            # the verdict comes from the statistic the report prints: the median of the
            # per-repeat ratios jacfwd / jacrev
            ratio = _ratio(samples["jacfwd"], samples["jacrev"])
            r = ratio["median"]
            winner = "forward" if r < 1 else "reverse"
            pick = choose_mode(n, m)
            cells.append({"n": n, "m": m, "jacfwd": _stats(samples["jacfwd"]),
                          "jacrev": _stats(samples["jacrev"]), "fwd_over_rev": ratio,
                          "winner": winner, "choice": pick, "right": pick == winner,
                          "regret": max(r, 1 / r) if pick != winner else 1.0,
                          "within_noise": ratio["q1"] <= 1 <= ratio["q3"],
                          "samples": samples})
    right = sum(c["right"] for c in cells)
    off_diag = [c for c in cells if c["n"] != c["m"]]
    # jacfwd vs n separate jvps on tanh(W x), the issue's target
    n = cfg["jac_n"]
    progress(f"(4/6) jacfwd vs {n} separate jvp calls (tanh(W x), n = m = {n})")
    rng = np.random.default_rng(2)
    W = rng.normal(size=(n, n)) / math.sqrt(n)
    f = P.tanh_layer(W)
    x = rng.normal(size=n)
    eye = np.eye(n)

    def jvps():
        return np.stack([ad.jvp(f, (x,), (eye[i],))[1] for i in range(n)], axis=1)

    samples = interleaved({"jacfwd": lambda: ad.jacfwd(f)(x), "n jvps": jvps},
                          repeats=cfg["repeats"], min_time=cfg["min_time"], max_time=10.0)
    jvp_cmp = {"n": n, "time": {k: _stats(v) for k, v in samples.items()},
               "ratio": _ratio(samples["jacfwd"], samples["n jvps"]),
               "max_rel_diff": rel_diff(ad.jacfwd(f)(x), jvps()), "samples": samples}
    return {"grid": grid, "cells": cells, "right": right, "total": len(cells),
            "right_off_diagonal": sum(c["right"] for c in off_diag),
            "total_off_diagonal": len(off_diag), "jacfwd_vs_jvps": jvp_cmp}


def sweep_peers(cfg, progress):
    progress("(5/6) peers: importing installed peers (autograd, jax, torch, micrograd)")
    avail = _peers.available()
    out = {"available": avail}
    if cfg.get("threads") and avail.get("torch"):
        import torch
        torch.set_num_threads(cfg["threads"])
    # MLP 784-256-10, batch 256
    prob = P.mlp_problem()
    progress("(5/6) MLP 784-256-10 gradient: admodes vs hand-written numpy vs peers")
    g_ad = ad.grad(P.mlp_loss)
    cands = {"numpy (hand-written)": lambda: P.mlp_loss_and_grad_numpy(prob.params, prob.X, prob.Y),
             "admodes (reverse)": lambda: g_ad(prob.params, prob.X, prob.Y)}
    peer_fns = _peers.mlp_grad_fns(prob, avail)
    for k, (fn, _) in peer_fns.items():
        cands[k] = fn
    ref = P.mlp_loss_and_grad_numpy(prob.params, prob.X, prob.Y)[1]
    agree = {"admodes (reverse)": rel_diff(g_ad(prob.params, prob.X, prob.Y), ref)}
    for k, (fn, conv) in peer_fns.items():
        agree[k] = rel_diff(conv(fn()), ref)
    samples = interleaved(cands, repeats=2 * cfg["repeats"] + 1,
                          min_time=max(cfg["min_time"], 0.02), max_time=40.0)
    base = samples["numpy (hand-written)"]
    out["mlp"] = {"time": {k: _stats(v) for k, v in samples.items()},
                  "ratio_to_numpy": {k: _ratio(v, base) for k, v in samples.items()},
                  "max_rel_diff_vs_numpy": agree, "samples": samples,
                  "shape": "784-256-10, batch 256, ReLU, softmax cross-entropy, float64"}
    # cs231n spiral net step
    progress("(5/6) cs231n spiral net training step (300 points, 100 hidden)")
    X, Y, labels = P.spiral_data()
    params = P.spiral_init()
    samples = interleaved({"numpy (hand-written)": lambda: P.spiral_step_numpy(params, X, Y),
                           "admodes (reverse)": lambda: P.spiral_step(params, X, labels)},
                          repeats=cfg["repeats"] + 2, min_time=max(cfg["min_time"], 0.02),
                          max_time=20.0)
    out["spiral"] = {"time": {k: _stats(v) for k, v in samples.items()},
                     "ratio_to_numpy": _ratio(samples["admodes (reverse)"],
                                              samples["numpy (hand-written)"]),
                     "max_rel_diff_vs_numpy": rel_diff(P.spiral_step(params, X, labels)[1],
                                                       P.spiral_step_numpy(params, X, Y)[1]),
                     "samples": samples}
    # the scalar chains, all in one interleaved run
    ops = cfg["chain_ops"]
    progress(f"(5/6) {ops}-op scalar chains (two inputs, one input): admodes both modes "
             "vs peers")
    cands, refs = {}, {}
    for cname, spec in CHAINS.items():
        for k, fn in _chain_candidates(spec, ops, avail).items():
            cands[f"{cname}: {k}"] = fn
        refs[cname] = cands[f"{cname}: admodes (reverse)"]()
    samples = interleaved(cands, repeats=cfg["repeats"] + 2, min_time=max(cfg["min_time"], 0.02),
                          max_time=40.0)
    out["chains"] = {}
    for cname, spec in CHAINS.items():
        pre = f"{cname}: "
        own = {k[len(pre):]: v for k, v in samples.items() if k.startswith(pre)}
        agree = {k[len(pre):]: rel_diff(fn(), refs[cname]) for k, fn in cands.items()
                 if k.startswith(pre) and k[len(pre):] not in _NO_GRADIENT}
        out["chains"][cname] = {
            "expr": spec["expr"], "inputs": spec["inputs"], "ops": ops,
            "time": {k: _stats(v) for k, v in own.items()},
            "per_op": {k: _stats(np.asarray(v) / ops) for k, v in own.items()},
            "ratio_to_admodes_reverse": {k: _ratio(v, own["admodes (reverse)"])
                                         for k, v in own.items()},
            "max_rel_diff_vs_admodes_reverse": agree, "samples": own}
    return out


# The scalar chains of the peers' section: the function, its (float) inputs, all of them
# differentiated, and how the report names them.
CHAINS = {
    "two inputs": dict(fn=P.scalar_chain, args=(0.3, 0.99), expr="z ← z·y + x",
                       inputs="x and y"),
    "one input": dict(fn=P.scalar_chain_1, args=(0.3,), expr="z ← z·0.999 + x", inputs="x"),
}

# candidates that do not compute the whole gradient (not compared with reverse mode)
_NO_GRADIENT = ("python floats (f only)", "admodes (jvp, one direction)")


def _chain_candidates(spec, ops, avail):
    """``name -> fn`` for one scalar chain: Python floats, admodes reverse, forward and
    one jvp, and the installed peers (the same function, the same inputs)."""
    args = spec["args"]
    n = len(args)

    def chain(*a):
        return spec["fn"](*a, ops)

    argnums = 0 if n == 1 else tuple(range(n))
    g_rev = ad.grad(chain, argnums=argnums)
    g_fwd = ad.grad(chain, argnums=argnums, mode="forward")
    e0 = (1.0,) + (0.0,) * (n - 1)
    cands = {"python floats (f only)": lambda: chain(*args),
             "admodes (reverse)": lambda: g_rev(*args),
             "admodes (forward)": lambda: g_fwd(*args),
             "admodes (jvp, one direction)": lambda: ad.jvp(chain, args, e0)}
    cands.update(_peers.chain_grad_fns(spec["fn"], args, ops, avail))
    return cands


def sweep_correctness(cfg, progress):
    """Forward vs reverse vs numerical (and vs hand-written where one exists)."""
    progress("(6/6) correctness: forward vs reverse vs numerical reference")
    rng = np.random.default_rng(3)
    rows = []

    def add(name, f, x, fwd=True, numeric=True, exact=None):
        gr = ad.grad(f)(x)
        row = {"function": name, "n": int(np.size(x))}
        if fwd:
            gf = ad.grad(f, mode="forward")(x)
            row["forward_vs_reverse"] = rel_diff(gf, gr)
        if numeric:
            gn = numerical_gradient(f, x)
            row["reverse_vs_numerical"] = rel_diff(gr, gn)
            if fwd:
                row["forward_vs_numerical"] = rel_diff(gf, gn)
        row["reverse_vs_numerical_directional"] = directional_check(f, x, gr, rng)
        if exact is not None:
            row["reverse_vs_hand_written"] = rel_diff(gr, exact)
        rows.append(row)

    k = cfg["numeric_n"]
    x = rng.uniform(-1, 1.5, size=k)
    add("rosenbrock", P.rosenbrock, x, exact=P.rosenbrock_grad_numpy(x))
    x = rng.uniform(-1, 1.5, size=1_000_000)
    add("rosenbrock", P.rosenbrock, x, fwd=False, numeric=False,
        exact=P.rosenbrock_grad_numpy(x))
    f, th = P.flat_mlp_problem(k)
    add("MLP loss (flat parameters)", f, th)
    prob = P.mlp_problem()
    ref = np.concatenate([g.ravel() for g in
                          P.mlp_loss_and_grad_numpy(prob.params, prob.X, prob.Y)[1]])
    shapes = [p.shape for p in prob.params]
    bounds = np.cumsum([0] + [int(np.prod(s)) for s in shapes])

    def mlp784(theta):
        ps = tuple(theta[bounds[i]:bounds[i + 1]].reshape(s) for i, s in enumerate(shapes))
        return P.mlp_loss(ps, prob.X, prob.Y)

    th = np.concatenate([p.ravel() for p in prob.params])
    add("MLP loss 784-256-10", mlp784, th, fwd=False, numeric=False, exact=ref)
    X, Y, _ = P.spiral_data()
    # unit-scale weights: pre-activations far from the ReLU kink at 0 compared with the
    # finite-difference step (the tiny initial weights put many of them within reach)
    params = [rng.normal(size=p.shape) for p in P.spiral_init()]
    sh = [p.shape for p in params]
    bd = np.cumsum([0] + [int(np.prod(s)) for s in sh])

    def spiral(theta):
        ps = [theta[bd[i]:bd[i + 1]].reshape(s) for i, s in enumerate(sh)]
        return P.spiral_loss(ps, X, Y)

    add("spiral net loss", spiral, np.concatenate([p.ravel() for p in params]), fwd=False,
        numeric=False)
    for cname, spec in CHAINS.items():
        add(f"scalar chain {spec['expr']}, {cname} ({cfg['chain_ops']} ops)",
            lambda v, spec=spec: spec["fn"](*(v[i] for i in range(len(spec["args"]))),
                                            cfg["chain_ops"]),
            np.array(spec["args"]))
    x = rng.normal(size=64)
    add("deep chain, depth 30", lambda x: P.deep_chain(x, 30), x)
    add("deep chain, depth 30, checkpointed", lambda x: P.deep_chain_checkpointed(x, 30), x)
    # a Jacobian: jacfwd vs jacrev vs numerical
    f, x = P.two_layer_map(20, 30)
    jf, jr = ad.jacfwd(f)(x), ad.jacrev(f)(x)
    jn = numerical_jacobian(f, x)
    rows.append({"function": "tanh(B tanh(A x)) Jacobian, 20 -> 30", "n": 20,
                 "forward_vs_reverse": rel_diff(jf, jr), "reverse_vs_numerical": rel_diff(jr, jn),
                 "forward_vs_numerical": rel_diff(jf, jn)})
    return {"rows": rows, "reference": "admodes.check.numerical_jacobian"}
