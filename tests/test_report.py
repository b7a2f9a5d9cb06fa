"""Smoke test of the report machinery at tiny sizes (the real sweep is `admodes report`)."""

import json

import numpy as np
import pytest

import admodes as ad
from admodes.bench import interleaved, markdown, peak_memory, summarize, sweeps, tape_size
from admodes.bench import peers as peers_mod

TINY = dict(
    repeats=3, min_time=1e-4,
    rosen_n=[10, 30, 100, 300], mlp_n=[40, 100],
    jvp_loop_max=30, fwd_vec_max=100,
    counts_n=[10, 30],
    mem_n=[100, 1000], mem_fwd_max=100,
    depth_n=100, depths=[4, 9],
    jac_grid=[2, 8], jac_n=10,
    chain_ops=20,
    numeric_n=10,
)


@pytest.fixture
def no_peers(monkeypatch):
    monkeypatch.setattr(peers_mod, "available", lambda: {k: None for k in peers_mod.PEERS})


def test_cli_writes_report(tmp_path, monkeypatch, no_peers, capsys):
    from admodes.__main__ import main
    monkeypatch.setitem(sweeps.CONFIGS, "quick", TINY)
    assert main(["report", "--out", str(tmp_path), "--quiet"]) == 0
    md = (tmp_path / "forward-vs-reverse.md").read_text()
    for heading in ("## 1. Gradient cost", "## 2. Operation counts", "## 3. Memory",
                    "## 4. Jacobian crossover", "## 5. Against the limit", "## 6. Correctness",
                    "## Performance targets"):
        assert heading in md
    assert "numpy " + np.__version__ in md
    assert "autograd: **not installed**" in md and "torch: **not installed**" in md
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["mode"] == "quick"
    rows = data["gradient_cost"]["rosenbrock"]["rows"]
    assert [r["n"] for r in rows] == TINY["rosen_n"]
    assert len(rows[0]["samples"]["reverse"]) == 3  # raw samples are kept
    assert "forward (jvp per direction)" in rows[0]["time"]
    assert "forward (jvp per direction)" not in rows[-1]["time"]
    assert set(data["peers"]["mlp"]["time"]) == {"numpy (hand-written)", "admodes (reverse)"}
    chains = data["peers"]["chains"]
    assert set(chains) == {"two inputs", "one input"}
    for ch in chains.values():
        assert set(ch["per_op"]) == {"python floats (f only)", "admodes (reverse)",
                                     "admodes (forward)", "admodes (jvp, one direction)"}
        assert all(v < 1e-12 for v in ch["max_rel_diff_vs_admodes_reverse"].values())
    assert "z ← z·y + x" in md and "z ← z·0.999 + x" in md
    names = [t["target"] for t in data["targets"]]
    for cname in ("two inputs", "one input"):
        assert sum(n.startswith(f"scalar chain, {cname} ") for n in names) == 3
    for name in ("gradient_cost", "gradient_ratio", "op_counts", "memory",
                 "jacobian_crossover", "peers"):
        assert (tmp_path / f"{name}.png").stat().st_size > 1000
    for row in data["correctness"]["rows"]:
        for key, v in row.items():
            if key.endswith(("reverse", "numerical", "written")):
                assert v < 1e-5, (row["function"], key, v)


def test_op_counts_show_the_mechanism(no_peers):
    res = sweeps.sweep_op_counts(dict(TINY, counts_n=[10, 30]), sweeps.Progress(False))
    small, big = res["rosenbrock"]
    # one pass for reverse and vectorised forward whatever n; n passes for jvp-per-direction
    assert small["reverse"]["total"] == big["reverse"]["total"]
    assert small["forward (vectorised)"]["total"] == big["forward (vectorised)"]["total"]
    per_dir = big["forward (jvp per direction)"]["total"]
    assert per_dir == 3 * small["forward (jvp per direction)"]["total"]
    assert small["reverse"]["vjp"] > 0 and small["reverse"]["jvp"] == 0


def test_timing_helpers():
    samples = interleaved({"a": lambda: sum(range(100)), "b": lambda: None}, repeats=4,
                          min_time=1e-4)
    assert set(samples) == {"a", "b"} and all(len(v) == 4 for v in samples.values())
    s = summarize([1.0, 2.0, 3.0, 4.0, 5.0])
    assert (s.median, s.q1, s.q3, s.n) == (3.0, 2.0, 4.0, 5)
    assert "ms" in summarize([0.002]).fmt("s")
    assert peak_memory(lambda: np.ones(100_000)).median >= 800_000


def test_tape_size_counts_entries_and_bytes():
    n, b = tape_size(lambda x: np.sum(np.sin(x) * x), np.ones(1000))
    assert n == 4 and b >= 8000


def test_numerical_reference_and_rel_diff():
    x = np.array([0.3, -1.2, 2.0])
    g = sweeps.numerical_gradient(lambda v: np.sum(np.sin(v) * v), x)
    assert sweeps.rel_diff(g, np.cos(x) * x + np.sin(x)) < 1e-8
    assert sweeps.rel_diff((np.ones(2), 2.0), (2 * np.ones(2), 1.0)) == 0.5
    assert sweeps.directional_check(lambda v: np.sum(v ** 3), x, 3 * x ** 2,
                                    np.random.default_rng(0)) < 1e-8


def test_targets_handle_missing_figures():
    rows = markdown.targets({})
    assert len(rows) == 11 and all(r["reached"] is None and not r["met"] for r in rows)


def test_chain_grad_fns_agree_with_admodes():
    from admodes.bench import scalar_chain, scalar_chain_1
    avail = {k: v for k, v in peers_mod.available().items() if k != "jax"}
    for chain, args, argnums in ((scalar_chain, (0.3, 0.99), (0, 1)),
                                 (scalar_chain_1, (0.3,), (0,))):
        want = ad.grad(lambda *a: chain(*a, 40), argnums=argnums)(*args)
        for name, fn in peers_mod.chain_grad_fns(chain, args, 40, avail).items():
            assert [float(v) for v in fn()] == pytest.approx(want, rel=1e-12), name


def test_grad_cost_candidates_agree():
    f, x = sweeps._problem("mlp", 60)
    c = sweeps._grad_candidates(f, x, dict(TINY, jvp_loop_max=100))
    g = c["reverse"]()
    for k in ("forward (vectorised)", "forward (jvp per direction)"):
        np.testing.assert_allclose(c[k](), g, rtol=1e-10, atol=1e-14)
    assert np.shape(ad.grad(f)(x)) == x.shape
