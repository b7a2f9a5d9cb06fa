"""The course's computational graph ``e = (a + b) * (b + 1)`` (from Chris Olah's
"Calculus on Computational Graphs: Backpropagation"), differentiated both ways.

    c = a + b        d = b + 1        e = c * d        at a = 2, b = 1

Edge derivatives: dc/da = 1, dc/db = 1, dd/db = 1, de/dc = d = 2, de/dd = c = 3.
Forward mode pushes one input's perturbation through the graph per pass (de/da = 2 from
a = 1 seed; de/db = 1*2 + 1*3 = 5 summed over b's two paths).  Reverse mode pulls de/de =
1 back through the graph once and gets both derivatives in one sweep.  The same numbers
come out of ``ad.jvp`` (forward), ``ad.grad`` (reverse), and the PyTorch-style
``e.backward()`` on ``nn.Parameter`` s.

    python examples/colah_graph.py [--a 2 --b 1]
"""

from __future__ import annotations

import argparse
import sys

import admodes as ad
from admodes import nn


def graph(a, b):
    """``e = (a + b) * (b + 1)``; returns ``(c, d, e)``."""
    c = a + b
    d = b + 1.0
    return c, d, c * d


def e_of(a, b):
    return graph(a, b)[2]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--a", type=float, default=2.0)
    ap.add_argument("--b", type=float, default=1.0)
    args = ap.parse_args(argv)
    a, b = args.a, args.b
    c, d, e = graph(a, b)
    print(f"values:       a = {a:g}, b = {b:g}, c = a + b = {c:g}, d = b + 1 = {d:g}, "
          f"e = c * d = {e:g}")
    print(f"edges:        dc/da = 1, dc/db = 1, dd/db = 1, de/dc = d = {d:g}, de/dd = c = {c:g}")

    # Forward mode: one pass per input direction.
    with ad.counting() as fwd_count:
        _, de_da = ad.jvp(e_of, (a, b), (1.0, 0.0))
        _, de_db = ad.jvp(e_of, (a, b), (0.0, 1.0))
    fwd_ops = fwd_count()
    print(f"forward mode: de/da = {de_da:g}, de/db = {de_db:g}   "
          f"(2 passes, {fwd_ops['jvp']} JVP rule applications)")

    # Reverse mode: one recorded pass, one backward sweep for both inputs.
    with ad.counting() as rev_count:
        rev = ad.grad(e_of, argnums=(0, 1))(a, b)
    rev_ops = rev_count()
    print(f"reverse mode: de/da = {rev[0]:g}, de/db = {rev[1]:g}   "
          f"(1 pass + 1 sweep, {rev_ops['vjp']} VJP rule applications)")

    # The PyTorch-style loop: parameters, define-by-run tape, e.backward().
    pa, pb = nn.Parameter(a, "a"), nn.Parameter(b, "b")
    e_var = e_of(pa, pb)
    e_var.backward()
    bw = (float(pa.grad), float(pb.grad))
    print(f"e.backward(): a.grad = {bw[0]:g}, b.grad = {bw[1]:g}")

    # And a numerical check by central differences.
    h = 1e-6
    num = ((e_of(a + h, b) - e_of(a - h, b)) / (2 * h),
           (e_of(a, b + h) - e_of(a, b - h)) / (2 * h))
    print(f"numerical:    de/da = {num[0]:.6f}, de/db = {num[1]:.6f}")
    return {"values": (c, d, e), "forward": (de_da, de_db), "reverse": rev,
            "backward": bw, "numerical": num, "forward_ops": fwd_ops, "reverse_ops": rev_ops}


if __name__ == "__main__":
    main(sys.argv[1:])
