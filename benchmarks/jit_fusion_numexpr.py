"""Would fusing elementwise chains with numexpr (an optional extra) speed up ``ad.jit``'s
generated code?  The Rosenbrock gradient's elementwise chain, numpy statement by statement
(what ``ad.jit`` generates) vs the same expressions fused by ``numexpr.evaluate``, one
thread each, interleaved::

    PYTHONPATH=$PWD python benchmarks/jit_fusion_numexpr.py
"""

if __name__ == "__main__":
    import numpy as np

    try:
        import numexpr as ne
    except ImportError:
        raise SystemExit("numexpr is not installed: nothing to compare") from None
    from admodes.bench.report import limit_threads
    from admodes.bench.timing import interleaved, ratio_stats

    ne.set_num_threads(1)
    ctx, _ = limit_threads(1)
    with ctx:
        for n in (1_000, 100_000, 1_000_000):
            x = np.random.default_rng(0).uniform(-1, 1, n)
            a, b = x[:-1], x[1:]

            def numpy_statements(a=a, b=b):
                r = b - a * a
                return -400.0 * a * r - 2.0 * (1.0 - a), 200.0 * r

            def numexpr_fused(a=a, b=b):
                r = ne.evaluate("b - a*a", local_dict={"a": a, "b": b})
                return (ne.evaluate("-400.0*a*r - 2.0*(1.0-a)", local_dict={"a": a, "r": r}),
                        ne.evaluate("200.0*r", local_dict={"r": r}))

            s = interleaved({"numpy": numpy_statements, "numexpr": numexpr_fused},
                            repeats=15, min_time=0.02)
            print(f"n = {n:>9}: numexpr / numpy = "
                  f"{ratio_stats(s['numexpr'], s['numpy']).fmt('')}")
