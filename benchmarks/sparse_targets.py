"""The issue-12 target ratios at n = 10**5, interleaved in one run, BLAS limited to one
thread: ``PYTHONPATH=$PWD python benchmarks/sparse_targets.py [--pin-malloc] [--n N]``.

Times the residual ``f`` and the Rosenbrock function, the dynamic sparse Jacobian
(forward and reverse compression) and sparse Hessian with the pattern cached, the same
under ``ad.jit``, and the pattern detection; prints medians and per-repeat ratios.
``--pin-malloc`` pins glibc's allocator thresholds first (see
``admodes.bench.jit_report.pin_malloc``): without it, the (3 x n) tangent temporaries are
either reused from the heap or freshly mapped (page faults), depending on the process's
allocation history."""

if __name__ == "__main__":
    import sys

    import numpy as np

    import admodes as ad
    from admodes.bench.jit_report import pin_malloc
    from admodes.bench.report import limit_threads
    from admodes.bench.sparse_problems import chained_rosenbrock, reaction_diffusion_1d, start
    from admodes.bench.timing import interleaved, ratio_stats
    from admodes.sparse.detect import detect

    pinned = "--pin-malloc" in sys.argv and pin_malloc()
    n = int(sys.argv[sys.argv.index("--n") + 1]) if "--n" in sys.argv else 100_000
    u = start(n)
    sj = ad.sparse_jacobian(reaction_diffusion_1d)
    sjr = ad.sparse_jacobian(reaction_diffusion_1d, "reverse")
    sh = ad.sparse_hessian(chained_rosenbrock)
    jj, jjr, jh = ad.jit(sj), ad.jit(sjr), ad.jit(sh)
    for dyn, comp in ((sj, jj), (sjr, jjr), (sh, jh)):  # plans and programs, untimed
        assert abs(dyn(u) - comp(u)).max() <= 1e-12 * abs(dyn(u)).max()
    ctx, threads = limit_threads(1)
    with ctx:
        s = interleaved({
            "f": lambda: reaction_diffusion_1d(u),
            "jac": lambda: sj(u), "jac (jit)": lambda: jj(u),
            "jacrev": lambda: sjr(u), "jacrev (jit)": lambda: jjr(u),
            "detect": lambda: detect(reaction_diffusion_1d, u, "x"),
            "rosen": lambda: chained_rosenbrock(u),
            "hess": lambda: sh(u), "hess (jit)": lambda: jh(u)}, repeats=11, min_time=0.05)
    print(f"n = {n}, BLAS threads: {threads}, malloc pinned: {bool(pinned)}")
    for k, v in s.items():
        print(f"{k:14s} {np.median(v) * 1e6:10.1f} us")
    for k, den, target in (("jac", "f", 10), ("jac (jit)", "f", 10), ("jacrev", "f", 10),
                           ("jacrev (jit)", "f", 10), ("detect", "f", 50),
                           ("hess", "rosen", 40), ("hess (jit)", "rosen", 40)):
        print(f"{k + ' / ' + den:22s} {ratio_stats(s[k], s[den]).fmt('')}   (target <= {target})")
