"""Operation counts read off a static graph, without running it."""

from __future__ import annotations

import math

from ..api import _chunks
from ..arguments import _mode

__all__ = ["OpCounts"]


class OpCounts:
    """``Graph.op_counts``."""

    def op_counts(self, mode="reverse", *, chunk_size=1):
        """Primitive evaluations and rule applications, counted from the graph itself.

        * ``"value"``: one pass: every operation node evaluated once.
        * ``"forward"``: the full Jacobian by columns (for a scalar output, the gradient):
          one forward sweep per chunk of ``chunk_size`` input directions; each sweep
          evaluates every node and applies the JVP rule of every argument that carries a
          tangent (a symbolic-zero tangent costs nothing).
        * ``"reverse"``: the Jacobian by rows (for a scalar output, the gradient): one
          value pass, then one backward sweep per chunk of output rows applying the VJP
          rule of every differentiable argument of every node that leads to the output.
        * ``"all"``: a dict of the three.

        Rule applications match ``ad.counting()`` on the dynamic modes (a rule that calls
        other primitives is one application).

        Args:
            mode: ``"value"``, ``"forward"``, ``"reverse"`` or ``"all"``.
            chunk_size: directions (forward) or output rows (reverse) per sweep; 1 is the
                textbook "one sweep per input"; None chunks as ``ad.grad(mode="forward")``.

        Returns:
            ``{"mode", "sweeps", "evaluations", "rules", "total", "by_primitive"}``.

        >>> import admodes as ad
        >>> g = ad.trace(lambda a, b: (a + b) * (b + 1), 2.0, 1.0)
        >>> [g.op_counts(m)["rules"] for m in ("value", "forward", "reverse")]
        [0, 6, 5]
        """
        if mode == "all":
            return {m: self.op_counts(m, chunk_size=chunk_size)
                    for m in ("value", "forward", "reverse")}
        mode = _mode(mode, "op_counts", also=("value", "all"))
        ops = [nd for nd in self.nodes if nd.primitive is not None]
        by = {}

        def bump(node, key, n):
            d = by.setdefault(node.op, {"evaluations": 0, "rules": 0})
            d[key] += n

        def diff_args(node):
            return [j for i, j in node.node_args()
                    if i not in node.stopped and self.nodes[j].diff]

        def rules_for(node, active):
            return 0 if not active else (1 if node.primitive.vjp_joint is not None and
                                         mode == "reverse" else
                                         1 if node.primitive.jvp_joint is not None and
                                         mode == "forward" else len(active))

        if mode == "value":
            sweeps, passes = 0, 1
            chunks = []
        elif mode == "forward":
            sizes = [math.prod(s) for s in self._in_shapes]
            dep = [0] * len(self.nodes)
            for t, k in enumerate(self.input_ids):
                dep[k] |= 1 << t
            for nd in ops:
                if nd.diff:
                    for j in diff_args(nd):
                        dep[nd.id] |= dep[j]
            chunks = _chunks(max(sum(sizes), 1), max(sizes, default=1), chunk_size) \
                if sum(sizes) else []
            sweeps = passes = len(chunks)
            masks = [_leaf_mask(sizes, s, e) for s, e in chunks]
            for mask in masks:
                for nd in ops:
                    if nd.diff:
                        bump(nd, "rules", rules_for(nd, [j for j in diff_args(nd)
                                                         if dep[j] & mask]))
        else:
            out_shapes = [self.nodes[r].shape if isinstance(r, int) else () for r in
                          self.outputs]
            sizes = [math.prod(s) for s in out_shapes]
            reach = [0] * len(self.nodes)
            for t, r in enumerate(self.outputs):
                if isinstance(r, int) and self.nodes[r].diff:
                    reach[r] |= 1 << t
            for nd in reversed(ops):
                if reach[nd.id] and nd.diff:
                    for j in diff_args(nd):
                        reach[j] |= reach[nd.id]
            chunks = _chunks(max(sum(sizes), 1), 1, chunk_size) if sum(sizes) else []
            sweeps, passes = len(chunks), 1
            for s, e in chunks:
                mask = _leaf_mask(sizes, s, e)
                for nd in ops:
                    if nd.diff and reach[nd.id] & mask:
                        bump(nd, "rules", rules_for(nd, diff_args(nd)))
        for nd in ops:
            bump(nd, "evaluations", passes)
        ev = sum(d["evaluations"] for d in by.values())
        ru = sum(d["rules"] for d in by.values())
        return {"mode": mode, "sweeps": sweeps, "evaluations": ev, "rules": ru,
                "total": ev + ru, "by_primitive": by}


def _leaf_mask(sizes, s, e):
    """Bitmask of the leaves that own some of the rows s..e of the concatenation."""
    mask, off = 0, 0
    for t, size in enumerate(sizes):
        if max(s, off) < min(e, off + size):
            mask |= 1 << t
        off += size
    return mask
