"""``admodes report``: measure forward vs reverse mode and write ``reports/``.

Runs the sweeps of issue 4 and writes ``forward-vs-reverse.md``, PNG plots and
``results.json`` (every raw sample) into the output folder::

    admodes report            # --quick (default): about 20-60 s on 2 cores
    admodes report --full     # larger sizes, more repeats
    python -m admodes.report --out /tmp/r

Every timing is a median over interleaved repeats with its interquartile range; ratios
are taken per repeat between candidates timed in the same round.  The problems and the
timing helpers live in :mod:`admodes.bench`, which the pytest-benchmark suite shares.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import json
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

__all__ = ["CONFIGS", "run", "write_report", "main", "numerical_gradient", "numerical_jacobian",
           "rel_diff", "limit_threads"]

CONFIGS = {
    "quick": dict(
        repeats=7, min_time=0.005,
        rosen_n=[10, 100, 1_000, 10_000, 100_000, 1_000_000],
        mlp_n=[100, 1_000, 10_000, 100_000, 1_000_000],
        jvp_loop_max=100, fwd_vec_max=1_000,
        counts_n=[10, 100, 1_000],
        mem_n=[1_000, 10_000, 100_000, 1_000_000], mem_fwd_max=1_000,
        depth_n=10_000, depths=[10, 30, 100, 300],
        jac_grid=[4, 16, 64, 256, 1024], jac_n=200,
        chain_ops=1_000,
        numeric_n=200,
    ),
    "full": dict(
        repeats=11, min_time=0.02,
        rosen_n=[10, 30, 100, 300, 1_000, 3_000, 10_000, 100_000, 1_000_000],
        mlp_n=[30, 100, 300, 1_000, 3_000, 10_000, 100_000, 1_000_000],
        jvp_loop_max=1_000, fwd_vec_max=3_000,
        counts_n=[10, 100, 1_000, 3_000],
        mem_n=[1_000, 10_000, 100_000, 1_000_000], mem_fwd_max=3_000,
        depth_n=30_000, depths=[10, 30, 100, 300, 1000],
        jac_grid=[1, 4, 16, 64, 256, 1024, 2048], jac_n=200,
        chain_ops=1_000,
        numeric_n=1_000,
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
    """Central-difference Jacobian (``out.shape + x.shape``) of ``f`` at the array ``x``:
    :func:`admodes.check.numerical_jacobian` when present, else a plain loop."""
    try:
        from admodes.check import numerical_jacobian as checker
    except ImportError:
        checker = None
    if checker is not None:
        return np.asarray(checker(f, x))
    x = np.asarray(x, dtype=float)
    xf = x.ravel().copy()
    cols = []
    for i in range(x.size):
        h = np.finfo(float).eps ** (1 / 3) * max(1.0, abs(xf[i]))
        old = xf[i]
        xf[i] = old + h
        fp = np.asarray(f(xf.reshape(x.shape)), dtype=float)
        xf[i] = old - h
        fm = np.asarray(f(xf.reshape(x.shape)), dtype=float)
        xf[i] = old
        cols.append((fp - fm) / (2 * h))
    J = np.stack(cols, axis=-1)
    return J.reshape(J.shape[:-1] + x.shape)


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


def _slope(ns, ts):
    """Log–log slope fitted over the largest half of the points (at least two): small n
    is dominated by fixed per-call overhead, not by the asymptotic cost."""
    pts = sorted(zip(ns, ts))
    if len(pts) < 2:
        return None
    if len(pts) >= 4:
        pts = pts[len(pts) // 2:]
    lx = np.log([p[0] for p in pts])
    ly = np.log([p[1] for p in pts])
    return float(np.polyfit(lx, ly, 1)[0])


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


def _grad_candidates(f, x, cfg):
    n = x.size
    c = {"f": lambda: f(x), "reverse": lambda: ad.grad(f)(x)}
    if n <= cfg["fwd_vec_max"]:
        c["forward (vectorised)"] = lambda: ad.grad(f, mode="forward")(x)
    if n <= cfg["jvp_loop_max"]:
        c["forward (jvp per direction)"] = lambda: P.forward_grad_by_jvps(f, x)
    return c


def sweep_gradient_cost(cfg, progress):
    out = {}
    for name, key in (("rosenbrock", "rosen_n"), ("mlp", "mlp_n")):
        rows = []
        for n_target in cfg[key]:
            f, x = _problem(name, n_target)
            progress(f"(1/6) gradient cost: {name} n={x.size}")
            cands = _grad_candidates(f, x, cfg)
            samples = interleaved(cands, repeats=cfg["repeats"], min_time=cfg["min_time"],
                                  max_time=20.0)
            rows.append({
                "n": int(x.size),
                "samples": samples,
                "time": {k: _stats(v) for k, v in samples.items()},
                "ratio_to_f": {k: _ratio(v, samples["f"]) for k, v in samples.items()
                               if k != "f"},
            })
        slopes = {}
        for mode in MODES:
            pts = [(r["n"], r["time"][mode]["median"]) for r in rows if mode in r["time"]]
            slopes[mode] = _slope([p[0] for p in pts], [p[1] for p in pts])
        out[name] = {"rows": rows, "slopes": slopes}
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
                row[mode] = {**total, "total": sum(total.values()), "by_primitive": per}
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
            tf = summarize(samples["jacfwd"]).median
            tr = summarize(samples["jacrev"]).median
            winner = "forward" if tf <= tr else "reverse"
            pick = choose_mode(n, m)
            cells.append({"n": n, "m": m, "jacfwd": _stats(samples["jacfwd"]),
                          "jacrev": _stats(samples["jacrev"]),
                          "fwd_over_rev": _ratio(samples["jacfwd"], samples["jacrev"]),
                          "winner": winner, "choice": pick, "right": pick == winner,
                          "regret": (max(tf, tr) / min(tf, tr)) if pick != winner else 1.0,
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
    return {"rows": rows, "reference": _numeric_name()}


def _numeric_name():
    try:
        from admodes.check import numerical_jacobian  # noqa: F401
        return "admodes.check.numerical_jacobian"
    except Exception:  # noqa: BLE001
        return "central differences (admodes.report.numerical_gradient)"


def limit_threads(n):
    """A context limiting BLAS/OpenMP pools to ``n`` threads (``0``: leave the library
    defaults), and a sentence saying what was done."""
    if not n:
        return contextlib.nullcontext(), "library defaults"
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext(), "library defaults (threadpoolctl is not installed)"
    return threadpool_limits(n), f"limited to {n} (threadpoolctl; torch.set_num_threads)"


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


# ---------------------------------------------------------------- writing -------------


def _t(s):
    from admodes.bench.timing import Stats
    return Stats(**s).fmt("s")


def _r(s):
    return f"{s['median']:.3g} [{s['q1']:.3g}–{s['q3']:.3g}]"


def _b(s):
    from admodes.bench.timing import Stats
    return Stats(**s).fmt("B")


def _e(x):
    return "–" if x is None else f"{x:.1e}"


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


def markdown(results, files=()):
    """The report text."""
    m = results["machine"]
    blas = "; ".join(", ".join(f"{k}={v}" for k, v in b.items()) for b in m["blas"])
    L = []
    w = L.append
    w("# Forward vs reverse mode: what a gradient costs in admodes\n")
    w(f"Generated by `admodes report --{results['mode']}` in {results['seconds']:.0f} s on "
      f"{m['date']}.  Regenerate with `admodes report` whenever the code it measures changes.\n")
    w("**Machine.** " + f"{m['cpu']}, {m['cores']} cores; {m['platform']}; Python {m['python']}; "
      f"numpy {m['numpy']}; BLAS: {blas}; admodes {m['admodes']}"
      + (f" (commit {m['commit']})" if m.get("commit") else "")
      + (f"; env {m['openblas_env']}" if m.get("openblas_env") else "")
      + f".  Threads during the run: {m.get('threads', 'library defaults')}.\n")
    w("**How to read the figures.** Every time is the median over interleaved repeats "
      "(the candidates of one table take turns, so machine noise hits them alike) with the "
      "interquartile range in brackets; ratios are medians of per-repeat ratios measured "
      "in the same round.  Peak memory is tracemalloc's peak (numpy reports its buffers to "
      "it) above the memory in use before the call.  The machine is shared (2 cores, other "
      "jobs running), so expect some noise in absolute times; ratios are steadier.\n")
    if "gradient_cost.png" in files:
        w("![gradient cost](gradient_cost.png)\n")

    gc_ = results.get("gradient_cost")
    if gc_:
        w("## 1. Gradient cost vs number of parameters\n")
        w("`f` is the function in plain numpy; *reverse* is `ad.grad(f)`; *forward "
          "(vectorised)* is `ad.grad(f, mode=\"forward\")`, which pushes all n tangent "
          "directions in chunks (one Python-level pass per chunk, O(n) work per op); "
          "*forward (jvp per direction)* calls `ad.jvp` once per basis vector (n passes).  "
          "Rosenbrock is `sum 100 (x[i+1] - x[i]²)² + (1 - x[i])²`; the MLP is a 16–h–4 "
          "ReLU net with softmax cross-entropy on a batch of 32, h chosen so that the flat "
          "parameter vector has about n entries.\n")
        for name, data in gc_.items():
            w(f"### {name}\n")
            w("| n | f | reverse | forward (vectorised) | forward (jvp per direction) |")
            w("|---:|---:|---:|---:|---:|")
            for r in data["rows"]:
                cells = [_t(r["time"][k]) if k in r["time"] else "–" for k in MODES]
                w(f"| {r['n']:,} | " + " | ".join(cells) + " |")
            w("")
            w("cost(gradient) / cost(f):\n")
            w("| n | reverse | forward (vectorised) | forward (jvp per direction) |")
            w("|---:|---:|---:|---:|")
            for r in data["rows"]:
                cells = [_r(r["ratio_to_f"][k]) if k in r["ratio_to_f"] else "–"
                         for k in MODES[1:]]
                w(f"| {r['n']:,} | " + " | ".join(cells) + " |")
            w("")
            sl = ", ".join(f"{k}: {v:.2f}" for k, v in data["slopes"].items() if v is not None)
            w(f"Fitted log–log slopes (time ∝ n^slope, over the larger half of the n "
              f"measured for each mode): {sl}.\n")
        if "gradient_ratio.png" in files:
            w("![gradient / f](gradient_ratio.png)\n")
        w("Reverse mode's ratio to f stays bounded as n grows (one recording pass plus one "
          "backward sweep, each a small multiple of f), while both forward-mode variants "
          "grow linearly with n: the one-direction-per-pass version in Python-level passes, "
          "the vectorised one in the size of every tangent array.  At small n every mode is "
          "dominated by fixed per-op overhead, which is why the ratios there are large.\n")

    oc = results.get("op_counts")
    if oc:
        w("## 2. Operation counts (measured with `ad.counting()`)\n")
        w("*impl* counts primitive value evaluations (including those made inside rules), "
          "*jvp*/*vjp* count rule applications.  *f (traced once)* is one recording pass "
          "(`ad.vjp`) — the primitive count of the function itself.\n")
        for name, rows in oc.items():
            w(f"### {name}\n")
            modes = [k for k in rows[0] if k != "n"]
            w("| n | " + " | ".join(f"{k}: impl / jvp / vjp" for k in modes) + " |")
            w("|---:|" + "---:|" * len(modes))
            for r in rows:
                cells = [(f"{r[k]['impl']} / {r[k]['jvp']} / {r[k]['vjp']}" if k in r else "–")
                         for k in modes]
                w(f"| {r['n']:,} | " + " | ".join(cells) + " |")
            w("")
        if "op_counts.png" in files:
            w("![op counts](op_counts.png)\n")
        w("The count of reverse mode and of vectorised forward mode does not depend on n: "
          "both make one pass over the same primitives (reverse adds one VJP rule per "
          "recorded input of each entry).  One jvp per direction repeats the whole pass n "
          "times.  The vectorised forward count hides its cost in the array sizes: every "
          "tangent has n times the elements of its primal, hence its O(n²) total work "
          "against reverse mode's O(n).\n")

    mem = results.get("memory")
    if mem:
        w("## 3. Memory: the price of reverse mode, and what `checkpoint` buys\n")
        w("### Rosenbrock, peak memory vs n\n")
        keys = list(mem["by_n"][0]["peak"])
        w("| n | " + " | ".join(keys) + " | reverse / f | tape entries | tape keeps |")
        w("|---:|" + "---:|" * (len(keys) + 3))
        for r in mem["by_n"]:
            cells = [_b(r["peak"][k]) if k in r["peak"] else "–" for k in keys]
            ratio = r["peak"]["reverse"]["median"] / max(r["peak"]["f"]["median"], 1)
            w(f"| {r['n']:,} | " + " | ".join(cells)
              + f" | {ratio:.2f} | {r['tape_entries']} | {_b({'median': r['tape_bytes'], 'q1': r['tape_bytes'], 'q3': r['tape_bytes'], 'min': 0, 'max': 0, 'n': 1}).split(' [')[0]} |")
        w("")
        w("### Depth: a residual chain `x ← x + 0.1 sin(x)` of L layers, n = "
          f"{mem['by_depth'][0]['n']:,}\n")
        w("*reverse + checkpoint* wraps each run of √L layers in `ad.checkpoint`: the tape "
          "keeps only each segment's input, and the backward sweep recomputes one segment "
          "at a time.\n")
        keys = list(mem["by_depth"][0]["peak"])
        w("| depth | " + " | ".join(f"peak: {k}" for k in keys)
          + " | tape entries (reverse / checkpointed) | time / f: reverse | time / f: checkpointed |")
        w("|---:|" + "---:|" * (len(keys) + 3))
        for r in mem["by_depth"]:
            cells = [_b(r["peak"][k]) for k in keys]
            w(f"| {r['depth']} | " + " | ".join(cells)
              + f" | {r['tape_entries']['reverse']} / {r['tape_entries']['reverse + checkpoint']}"
              + f" | {_r(r['ratio_to_f']['reverse'])} | {_r(r['ratio_to_f']['reverse + checkpoint'])} |")
        w("")
        if "memory.png" in files:
            w("![memory](memory.png)\n")
        w("Reverse mode keeps every intermediate its rules need until the backward sweep "
          "reaches it, so its memory grows with depth; forward mode (one direction) holds "
          "only the live values and their tangents, so its memory does not.  Checkpointing "
          "√L-layer segments cuts the tape to about 2√L entries and the peak accordingly, "
          "for roughly one extra forward evaluation of the chain.\n")

    jac = results.get("jacobian")
    if jac:
        w("## 4. Jacobian crossover: `jacfwd` vs `jacrev`\n")
        w("f(x) = tanh(B tanh(A x)), Rⁿ → Rᵐ through 32 hidden units.  Each cell: "
          "time(jacfwd) / time(jacrev) (median of per-repeat ratios; < 1 means forward "
          "wins), then `ad.jacobian`'s choice (`admodes.api.choose_mode`), ✗ when it is "
          "not the faster one.\n")
        grid = jac["grid"]
        w("| m \\ n | " + " | ".join(str(n) for n in grid) + " |")
        w("|---:|" + "---:|" * len(grid))
        by = {(c["n"], c["m"]): c for c in jac["cells"]}
        for mm in grid:
            cells = []
            for n in grid:
                c = by[(n, mm)]
                cells.append(f"{c['fwd_over_rev']['median']:.2f} "
                             f"{'F' if c['choice'] == 'forward' else 'R'}"
                             f"{'' if c['right'] else ' ✗'}")
            w(f"| **{mm}** | " + " | ".join(cells) + " |")
        w("")
        wrong = [c for c in jac["cells"] if not c["right"]]
        w(f"`jacobian` picked the faster mode in **{jac['right']} of {jac['total']}** cells "
          f"({jac['right_off_diagonal']} of {jac['total_off_diagonal']} off the diagonal n = m)."
          + (" Where it picked the slower one it lost at most "
             f"{max(c['regret'] for c in wrong):.2f}× (cells: "
             + ", ".join(f"n={c['n']}, m={c['m']}" for c in wrong) + ")." if wrong else "")
          + "\n")
        if "jacobian_crossover.png" in files:
            w("![jacobian crossover](jacobian_crossover.png)\n")
        j = jac["jacfwd_vs_jvps"]
        w(f"### `jacfwd` vs {j['n']} separate `jvp` calls (tanh(W x), n = m = {j['n']})\n")
        w(f"jacfwd: {_t(j['time']['jacfwd'])}; {j['n']} jvps: {_t(j['time']['n jvps'])}; "
          f"ratio {_r(j['ratio'])} (max relative difference {j['max_rel_diff']:.1e}).\n")

    peers = results.get("peers")
    if peers:
        w("## 5. Against the limit and the peers\n")
        av = peers["available"]
        w("Peers: " + ", ".join(f"{k} {v}" if v else f"{k}: **not installed**"
                                for k, v in av.items())
          + ".  Install them with `pip install -e '.[compare]'` (torch pinned to the "
          "CPU build).  All run in float64 on the same inputs, repeats interleaved.\n")
        mlp = peers["mlp"]
        w(f"### MLP gradient ({mlp['shape']})\n")
        w("| library | time | time / hand-written numpy | max rel. diff vs numpy |")
        w("|---|---:|---:|---:|")
        for k in mlp["time"]:
            d = mlp["max_rel_diff_vs_numpy"].get(k)
            w(f"| {k} | {_t(mlp['time'][k])} | {_r(mlp['ratio_to_numpy'][k])} | {_e(d)} |")
        w("")
        sp = peers["spiral"]
        w("### cs231n spiral net: one SGD step (300 points, 100 hidden, ReLU, softmax, L2)\n")
        w("admodes writes the loss the way a user would: `anp.relu`, `@`, and "
          "`ad.nn.cross_entropy(z, labels)` with integer labels (one fused primitive whose "
          "cotangent is softmax − onehot), plus the L2 term; the hand-written step is "
          "explicit numpy backprop of the same loss.  On arrays this small (300 × 100) "
          "numpy does little work per call, so the per-operation cost of recording and "
          "sweeping the tape (about 1–2 µs per primitive) is what the ratio measures.\n")
        w("| | time |\n|---|---:|")
        for k, v in sp["time"].items():
            w(f"| {k} | {_t(v)} |")
        w(f"\nadmodes / hand-written: **{_r(sp['ratio_to_numpy'])}** "
          f"(max rel. diff of the updated parameters {sp['max_rel_diff_vs_numpy']:.1e}).\n")
        chains = peers["chains"]
        ops = next(iter(chains.values()))["ops"]
        w(f"### Scalar overhead: two {ops}-op scalar chains\n")
        w(f"Each chain is {ops // 2} multiplications and {ops // 2} additions on Python "
          "scalars, the same Python function for every library: *two inputs* is "
          "`z ← z·y + x`, differentiated in x and y; *one input* is `z ← z·0.999 + x`, "
          "differentiated in x, its multiplications taking a Python-float constant.  Both "
          "chains are timed in the same interleaved run.  *admodes (forward)* is "
          "`ad.grad(f, mode=\"forward\")`, one tangent direction per input (two for the "
          "first chain, one for the second, where it does the work of the single jvp); "
          "*admodes (jvp, one direction)* is one `ad.jvp` along x.  admodes, HIPS autograd "
          "and torch take the constant 0.999 as the plain float it is, an operand they never "
          "differentiate; micrograd wraps it in a new "
          "`Value` at every multiplication (that is how micrograd's `__mul__` works), so in "
          "the one-input chain it builds a graph node for the constant too.  micrograd's "
          "recursion limit is raised for its recursive topological sort.\n")
        for cname, ch in chains.items():
            w(f"#### {cname}: `{ch['expr']}`, gradient in {ch['inputs']}\n")
            w("| | time per gradient | per op | / admodes reverse | max rel. diff |")
            w("|---|---:|---:|---:|---:|")
            for k in ch["time"]:
                d = ch["max_rel_diff_vs_admodes_reverse"].get(k)
                w(f"| {k} | {_t(ch['time'][k])} | {_t(ch['per_op'][k])} | "
                  f"{_r(ch['ratio_to_admodes_reverse'][k])} | {_e(d)} |")
            w("")
        if "peers.png" in files:
            w("![peers](peers.png)\n")

    cor = results.get("correctness")
    if cor:
        w("## 6. Correctness alongside speed\n")
        w(f"Max relative difference (max|a − b| / max|b|) between forward mode, reverse "
          f"mode, the numerical reference ({cor['reference']}) and hand-written gradients "
          "where they exist.  *directional* compares ⟨∇f, v⟩ with a central difference of f "
          "along three random unit vectors v (two evaluations of f each, so it scales to "
          "n = 10⁶).  – : not computed at that size.\n")
        cols = ["forward_vs_reverse", "reverse_vs_numerical", "forward_vs_numerical",
                "reverse_vs_numerical_directional", "reverse_vs_hand_written"]
        w("| function | n | " + " | ".join(c.replace("_", " ") for c in cols) + " |")
        w("|---|---:|" + "---:|" * len(cols))
        for r in cor["rows"]:
            w(f"| {r['function']} | {r['n']:,} | " + " | ".join(_e(r.get(c)) for c in cols) + " |")
        w("")
    w(targets_markdown(results))
    return "\n".join(L) + "\n"


def targets(results):
    """The issue's performance targets with the figure reached (``None``: not measured)."""
    out = []

    def add(name, goal, value, ok):
        out.append({"target": name, "goal": goal, "reached": value, "met": ok})

    gc_ = results.get("gradient_cost", {}).get("rosenbrock")
    row = next((r for r in (gc_ or {}).get("rows", []) if r["n"] == 1_000_000), None)
    v = row["ratio_to_f"]["reverse"]["median"] if row else None
    add("reverse gradient of Rosenbrock at n = 10⁶ / f", "≤ 3", v, v is not None and v <= 3)
    peers = results.get("peers") or {}
    v = peers.get("mlp", {}).get("ratio_to_numpy", {}).get("admodes (reverse)", {}).get("median")
    add("MLP 784-256-10 gradient / hand-written numpy", "≤ 1.05", v, v is not None and v <= 1.05)
    v = peers.get("spiral", {}).get("ratio_to_numpy", {}).get("median")
    add("spiral net training step / hand-written", "≤ 1.5", v, v is not None and v <= 1.5)
    chains = peers.get("chains", {})
    for cname, spec in CHAINS.items():
        per = chains.get(cname, {}).get("per_op", {})
        rev = per.get("admodes (reverse)", {}).get("median")
        ag = per.get("autograd", {}).get("median")
        mg = per.get("micrograd", {}).get("median")
        fw = per.get("admodes (forward)", {}).get("median")
        pre = f"scalar chain, {cname} (`{spec['expr']}`)"
        v = ag / rev if (ag and rev) else None
        add(f"{pre}: HIPS autograd per op / admodes reverse per op", "≥ 3", v,
            v is not None and v >= 3)
        v = rev / mg if (mg and rev) else None
        add(f"{pre}: admodes reverse per op / micrograd per op", "≤ 1", v,
            v is not None and v <= 1)
        v = fw / rev if (fw and rev) else None
        add(f"{pre}: admodes forward / admodes reverse", "≤ 1", v, v is not None and v <= 1)
    j = results.get("jacobian", {}).get("jacfwd_vs_jvps")
    v = j["ratio"]["median"] if j else None
    add(f"jacfwd at n = {j['n'] if j else 200} / {j['n'] if j else 200} separate jvps", "≤ 0.1",
        v, v is not None and v <= 0.1)
    mem = results.get("memory", {}).get("by_n", [])
    row = next((r for r in mem if r["n"] == 1_000_000), None)
    v = (row["peak"]["reverse"]["median"] / row["peak"]["f"]["median"]) if row else None
    add("peak memory of reverse gradient of Rosenbrock at n = 10⁶ / f", "≤ 4", v,
        v is not None and v <= 4)
    return out


def targets_markdown(results):
    rows = targets(results)
    L = ["## Performance targets (issue 4), figures from this run\n",
         "| target | goal | reached | met |", "|---|---:|---:|:---:|"]
    for t in rows:
        v = "not measured" if t["reached"] is None else f"{t['reached']:.3g}"
        L.append(f"| {t['target']} | {t['goal']} | {v} | {'yes' if t['met'] else 'no'} |")
    return "\n".join(L) + "\n"


def write_report(results, out):
    """Write plots, ``forward-vs-reverse.md`` and ``results.json`` into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    results["targets"] = targets(results)
    files = plot(results, out)
    (out / "forward-vs-reverse.md").write_text(markdown(results, files), encoding="utf-8")
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
    results = run(mode, progress, threads=args.threads)
    paths = write_report(results, args.out)
    progress(f"done in {progress.elapsed():.0f} s: " + ", ".join(str(p) for p in paths))
    for t in results["targets"]:
        v = "not measured" if t["reached"] is None else f"{t['reached']:.3g}"
        progress(f"  target {t['target']}: {v} (goal {t['goal']}, "
                 f"{'met' if t['met'] else 'not met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
