"""The issue-12 target ratios at n = 10**5, interleaved in one run:
``PYTHONPATH=$PWD python benchmarks/sparse_targets.py``."""

if __name__ == "__main__":
    import numpy as np

    import admodes as ad
    from admodes.bench.sparse_problems import chained_rosenbrock, reaction_diffusion_1d, start
    from admodes.bench.timing import interleaved, ratio_stats
    from admodes.sparse.detect import detect
    n=100_000
    u=start(n)
    sj = ad.sparse_jacobian(reaction_diffusion_1d)
    sj(u)
    sjr = ad.sparse_jacobian(reaction_diffusion_1d, "reverse")
    sjr(u)
    sh = ad.sparse_hessian(chained_rosenbrock)
    sh(u)
    s=interleaved({"f": lambda: reaction_diffusion_1d(u), "jac": lambda: sj(u), "jacrev": lambda: sjr(u),
      "detect": lambda: detect(reaction_diffusion_1d, u, "x"),
      "rosen": lambda: chained_rosenbrock(u), "hess": lambda: sh(u)}, repeats=7, min_time=0.05)
    for k, v in s.items():
        print(k, np.median(v))
    print("jac/f", ratio_stats(s["jac"], s["f"]).fmt(""))
    print("jacrev/f", ratio_stats(s["jacrev"], s["f"]).fmt(""))
    print("detect/f", ratio_stats(s["detect"], s["f"]).fmt(""))
    print("hess/f", ratio_stats(s["hess"], s["rosen"]).fmt(""))
