"""Compare two checkouts of admodes in interleaved processes: import time, the two
1000-op scalar-chain gradients and the 784-256-10 MLP gradient (BLAS on one thread).

    git worktree add /tmp/before <rev>
    python benchmarks/before_after.py /tmp/before . --rounds 10

Each round runs one process per checkout, alternating, so machine noise hits both
alike; the figures are medians of the per-round ratios (after / before) with their IQR.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import numpy as np

_PROBE = r"""
import json, sys, time, timeit
t0 = time.perf_counter()
import admodes as ad
imp = time.perf_counter() - t0
import numpy as np
from threadpoolctl import threadpool_limits
from admodes.bench import problems as P
threadpool_limits(1)
def med(f, n, r=7):
    return float(np.median([timeit.timeit(f, number=n) / n for _ in range(r)]))
g2 = ad.grad(P.scalar_chain, argnums=(0, 1))
g1 = ad.grad(P.scalar_chain_1)
p = P.mlp_problem()
gm = ad.grad(P.mlp_loss_fn())
print(json.dumps({"import": imp, "chain, two inputs": med(lambda: g2(0.5, 0.9), 20),
                  "chain, one input": med(lambda: g1(0.5), 20),
                  "MLP gradient": med(lambda: gm(p.params, p.X, p.Y), 10)}))
"""


def _probe(path):
    env = dict(os.environ, PYTHONPATH=os.path.abspath(path))
    out = subprocess.run([sys.executable, "-c", _PROBE], env=env, cwd=path,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--rounds", type=int, default=10)
    args = ap.parse_args(argv)
    rows = []
    for _ in range(args.rounds):
        rows.append((_probe(args.before), _probe(args.after)))
    print(f"{'measure':<20} {'before':>10} {'after':>10} {'after/before [IQR]':>24}")
    for key in rows[0][0]:
        b = np.array([r[0][key] for r in rows])
        a = np.array([r[1][key] for r in rows])
        q = a / b
        lo, hi = np.percentile(q, [25, 75])
        print(f"{key:<20} {np.median(b) * 1e3:>8.3g}ms {np.median(a) * 1e3:>8.3g}ms "
              f"{np.median(q):>10.3f} [{lo:.3f}-{hi:.3f}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
