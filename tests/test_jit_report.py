"""The report section "static vs dynamic" at tiny settings (the real one: admodes report)."""

from admodes.bench import jit_report
from admodes.bench.sweeps import Progress


def test_static_dynamic_section(tmp_path, monkeypatch):
    monkeypatch.setattr("admodes.bench.peers.available", lambda: {})
    cfg = dict(repeats=3, min_time=1e-4, jit_rosen_n=[10, 1000], jit_compile_ops=[1000])
    res = jit_report.sweep_static_dynamic(cfg, Progress(False))
    assert set(res["problems"]) == {"chain", "rosenbrock n=10", "rosenbrock n=1000", "mlp",
                                    "spiral"}
    for r in res["problems"].values():
        assert {"dynamic", "trace replay", "jit", "jit (no passes)"} <= set(r["times"])
        assert r["ratios"][r["reference"]]["median"] == 1.0
    got = {t["key"]: t["reached"] for t in res["targets"]}
    assert got["rosen_big_vs_f"] is None  # n = 1e6 was not run: not measured, not faked
    assert got["rosen_small_vs_f"] > 0 and got["compile_1000"] > 0
    assert res["compile"][0]["instructions"] > 1000
    fig = jit_report.plot(res, tmp_path)
    md = jit_report.markdown_section(res, fig)
    assert "## Static vs dynamic" in md and "not measured" in md and "| jit |" in md
    assert (tmp_path / fig).stat().st_size > 1000


def test_static_dynamic_targets_print_enough_digits():
    res = {"targets": jit_report._targets(
        {"problems": {"mlp": {"ratios": {"jit": {"median": 1.0204}}}}}, [])}
    md = jit_report.markdown_section(res)
    assert "| MLP 784–256–10 gradient, jit / hand-written | <= 1.02 | 1.0204 | **no** |" in md
    assert "| 1000-op scalar chain, dynamic grad / jit grad | >= 10 | not measured | " \
           "not measured |" in md
