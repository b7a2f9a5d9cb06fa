"""Drawings of a static graph: values, local partials, forward and reverse views
(matplotlib, PNG or SVG) and Graphviz DOT."""

from __future__ import annotations

import os

import numpy as np

from ..dispatch import shape_of, value
from ..forward import Dual, ForwardLevel
from .nodes import _dot_escape, _formula, _shape_text, _summary
from .paths import _input_index, rule_partial

__all__ = ["Drawing"]


class Drawing:
    """``Graph.draw`` and ``Graph.to_dot``."""


    def _annotate(self, at, views, wrt, output, names):
        """Values, local partials and the per-view derivative of every node."""
        args = self.example_args if at is None else tuple(at)
        inputs = self._inputs(args, "draw")
        vals = self._values(inputs.leaves)
        label = {nd.id: nd.name or f"v{nd.id}" for nd in self.nodes}
        outs = [r for r in self.outputs if isinstance(r, int)]
        for r, name in zip(self.outputs, self.output_names):
            if isinstance(r, int) and self.nodes[r].primitive is not None:
                label[r] = name
        label.update(names or {})
        partial = {}
        for nd in self.nodes:
            if nd.primitive is None or not nd.diff:
                continue
            for i, j in nd.node_args():
                if i not in nd.stopped and self.nodes[j].diff:
                    partial[(nd.id, i)] = self._local_partial(nd, i, vals)
        ann = {"vals": vals, "label": label, "partial": partial, "views": views,
               "inputs": inputs}
        if "forward" in views:
            leaf = self._pick_input(wrt)
            level = ForwardLevel()
            try:
                boxed = [Dual(x, 1.0 if type(x) is float else np.ones(shape_of(x)), level)
                         if t == leaf else x for t, x in enumerate(inputs.leaves)]
                fv = self._values(boxed)
            finally:
                level.close()
            ann["wrt"] = label[self.input_ids[leaf]]
            ann["wrt_array"] = shape_of(inputs.leaves[leaf]) != ()
            ann["forward"] = [v._tangent if isinstance(v, Dual) and v._level is level else
                              None for v in fv[:len(self.nodes)]]
        if "reverse" in views:
            o = 0 if output is None else int(output)
            if not outs or not 0 <= o < len(self.outputs) or \
                    not isinstance(self.outputs[o], int):
                raise ValueError(f"draw: output {output} is not a node of the graph")
            r = self.outputs[o]
            seed = 1.0 if self.nodes[r].shape == () else np.ones(self.nodes[r].shape)
            swept = self._reverse(vals, {r: seed} if self.nodes[r].diff else {}, every=True)
            ann["reverse"] = [swept.get(k) for k in range(len(self.nodes))]
            ann["of"] = label[r]
        return ann

    def _pick_input(self, wrt):
        return 0 if wrt is None else _input_index(self, wrt, "draw")

    def _local_partial(self, node, i, vals):
        """The edge label: ∂node/∂(argument i) from the registry's rule (a number for
        scalars, the diagonal for same-shape elementwise edges, else the Jacobian's shape)."""
        prim = node.primitive
        primals = tuple(vals[j] for j in self._slots[node.id])
        ans = vals[node.id]
        xs = shape_of(primals[i])
        if not (xs == node.shape and (xs == () or prim.elementwise)):
            return f"J {_shape_text(node.shape)}×{_shape_text(xs)}"
        t = 1.0 if xs == () else np.ones(xs)
        try:
            d = rule_partial(prim, i, primals, ans, node.params, t)
        except Exception:  # a rule that fails here: the drawing still shows the graph
            d = None
        if d is None:
            return "?"
        return _summary(d) if xs == () else "diag " + _summary(d)

    def _node_lines(self, nd, ann, view):
        lab = ann["label"]
        name = lab[nd.id]
        v = ann["vals"][nd.id]
        if nd.primitive is None:
            lines = [f"{name}  (input)", f"= {_summary(v)}"]
        else:
            lines = [f"{name} = {_formula(nd, self.nodes, lab)}", f"= {_summary(v)}"]
        if view == "forward":
            t = ann["forward"][nd.id]
            d = "0" if t is None else _summary(t)
            lines.append(f"∂{name}/∂{ann['wrt']} = {d}")
        elif view == "reverse":
            c = ann["reverse"][nd.id]
            d = "0" if c is None else _summary(c)
            lines.append(f"∂{ann['of']}/∂{name} = {d}")
        return lines

    def _layout(self):
        """Layers from the topological order (longest path from an input), ordered within
        a layer by the mean position of the arguments (fewer crossings)."""
        layer = [0] * len(self.nodes)
        for nd in self.nodes:
            ks = [j for _, j in nd.node_args()]
            layer[nd.id] = 1 + max((layer[j] for j in ks), default=-1) if ks else 0
        rows = {}
        for nd in self.nodes:
            rows.setdefault(layer[nd.id], []).append(nd.id)
        pos = {}
        for ly in sorted(rows):
            ids = rows[ly]
            if ly:
                def bary(k):
                    ks = [pos[j] for _, j in self.nodes[k].node_args()]
                    return sum(ks) / len(ks)
                ids = sorted(ids, key=bary)
            n = len(ids)
            for q, k in enumerate(ids):
                pos[k] = q - (n - 1) / 2
            rows[ly] = ids
        return layer, pos, rows

    def draw(self, path=None, *, at=None, show="values", wrt=None, output=None,
             names=None, title=None, dpi=150):
        """Draw the graph with matplotlib (no Graphviz): layered from the inputs (bottom)
        to the outputs (top), each node labelled with its operation and value, each edge
        with the local partial derivative.

        Args:
            path: where to save (``.png`` or ``.svg``); None only returns the figure.
            at: a tuple of inputs to evaluate at (default: the example inputs).
            show: ``"values"``, ``"forward"`` (each node also shows ∂node/∂wrt, the
                tangent one forward sweep carries), ``"reverse"`` (∂output/∂node, the
                cotangent one reverse sweep carries), or a sequence of them drawn side
                by side.
            wrt: the input of the forward view (name or leaf index; default the first);
                an array input is pushed along the all-ones direction.
            output: the output index of the reverse view (default 0; an array output is
                seeded with ones).
            names: ``{node id: display name}`` for intermediate nodes.
            title: an overall title.
            dpi: resolution of a PNG.

        Returns:
            The matplotlib ``Figure``.

        >>> import admodes as ad
        >>> g = ad.trace(lambda a, b: (a + b) * (b + 1), 2.0, 1.0)
        >>> fig = g.draw(show=("forward", "reverse"), wrt="b")
        >>> len(fig.axes)
        2
        """
        try:
            from matplotlib.figure import Figure
            from matplotlib.patches import FancyBboxPatch
        except ImportError as e:  # pragma: no cover - optional dependency
            raise ImportError("Graph.draw needs matplotlib (pip install admodes[report]); "
                              "graph.to_dot() needs nothing") from e
        views = (show,) if isinstance(show, str) else tuple(show)
        for v in views:
            if v not in ("values", "forward", "reverse"):
                raise ValueError(f"draw: unknown view {v!r}; expected 'values', 'forward' "
                                 "or 'reverse'")
        if len(self.nodes) > 300:
            raise ValueError(f"draw: {len(self.nodes)} nodes are too many to draw legibly; "
                             "use graph.to_dot() with Graphviz")
        ann = self._annotate(at, views, wrt, output, names)
        layer, pos, rows = self._layout()
        texts = {(v, nd.id): self._node_lines(nd, ann, v) for v in views for nd in self.nodes}
        fs = 9  # font size, points; 1 data unit = 1 inch
        char_w, line_h = 0.62 * fs / 72, 1.35 * fs / 72
        box_w = max(len(max(t, key=len)) for t in texts.values()) * char_w + 0.3
        box_h = max(len(t) for t in texts.values()) * line_h + 0.22
        dx, dy = box_w + 0.5, box_h + 1.0
        heads = {v: self._view_title(v, ann) for v in views}
        head_w = max(len(line) for h in heads.values() for line in h.split("\n"))
        width = max(max(len(r) for r in rows.values()) * dx + 0.4,
                    head_w * 0.62 * (fs + 1) / 72 + 0.4)
        n_layers = max(rows) + 1
        height = n_layers * dy + 0.8
        fig = Figure(figsize=(width * len(views), height + (0.4 if title else 0)))
        top = height / (height + (0.4 if title else 0))
        if title:
            fig.text(0.5, 1 - 0.2 / (height + 0.4), title, ha="center", va="center",
                     fontsize=fs + 3, weight="bold")
        out_ids = {r for r in self.outputs if isinstance(r, int)}
        for col, view in enumerate(views):
            ax = fig.add_axes((col / len(views), 0, 1 / len(views), top))
            ax.set_xlim(-width / 2, width / 2)
            ax.set_ylim(-box_h / 2 - 0.3, (n_layers - 1) * dy + box_h / 2 + 0.8)
            ax.set_axis_off()
            ax.text(0, (n_layers - 1) * dy + box_h / 2 + 0.45, heads[view],
                    ha="center", va="center", fontsize=fs + 1, weight="bold")
            xy = {k: (pos[k] * dx, layer[k] * dy) for k in pos}
            derivs = ann.get(view)
            for nd in self.nodes:
                x, y = xy[nd.id]
                if nd.primitive is None:
                    face = "#dbeafe"
                elif nd.id in out_ids:
                    face = "#fde68a"
                elif not nd.diff:
                    face = "#e5e7eb"
                else:
                    face = "#f9fafb"
                hot = derivs is not None and isinstance(derivs, list) and \
                    _nonzero(derivs[nd.id])
                edge = {"forward": "#15803d", "reverse": "#b91c1c"}.get(view, "#374151")
                ax.add_patch(FancyBboxPatch(
                    (x - box_w / 2, y - box_h / 2), box_w, box_h,
                    boxstyle="round,pad=0,rounding_size=0.12", fc=face,
                    ec=edge if hot else "#6b7280", lw=2.0 if hot else 1.0,
                    ls="-" if nd.diff or nd.primitive is None else "--"))
                lines = texts[(view, nd.id)]
                for q, line in enumerate(lines):
                    yy = y + ((len(lines) - 1) / 2 - q) * line_h
                    color = edge if q == 2 else "#111827"
                    ax.text(x, yy, line, ha="center", va="center", fontsize=fs, color=color,
                            weight="bold" if q == 2 else "normal")
            for nd in self.nodes:
                args = nd.node_args()
                for slot, (i, j) in enumerate(args):
                    (x0, y0), (x1, y1) = xy[j], xy[nd.id]
                    x1 += (slot - (len(args) - 1) / 2) * min(0.35, box_w / (len(args) + 1))
                    start, end = (x0, y0 + box_h / 2), (x1, y1 - box_h / 2)
                    rad = 0.25 if layer[nd.id] - layer[j] > 1 else 0.0
                    ax.annotate("", xy=end, xytext=start, arrowprops=dict(
                        arrowstyle="-|>", color="#4b5563", lw=1.0, shrinkA=0, shrinkB=0,
                        connectionstyle=f"arc3,rad={rad}"))
                    text = ann["partial"].get((nd.id, i))
                    if text is None:
                        continue
                    lab = ann["label"]
                    # Repeated edges (x * x) put their labels at different heights; a
                    # curved edge has its label on the curve's midpoint.
                    same = [q for q, (_, jj) in enumerate(args) if jj == j]
                    f = 0.5 if len(same) == 1 else 0.3 + 0.4 * same.index(slot) / (len(same) - 1)
                    ddx, ddy = end[0] - start[0], end[1] - start[1]
                    mx = start[0] + f * ddx + 0.5 * rad * ddy
                    my = start[1] + f * ddy - 0.5 * rad * ddx
                    ax.text(mx, my, f"∂{lab[nd.id]}/∂{lab[j]} = {text}", ha="center",
                            va="center", fontsize=fs - 1, color="#7c2d12",
                            bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none",
                                      alpha=0.9))
        if path is not None:
            fig.savefig(os.fspath(path), dpi=dpi)
        return fig

    def _view_title(self, view, ann):
        if view == "forward":
            w = ann["wrt"]
            how = " (all-ones direction)" if ann["wrt_array"] else ""
            return f"forward mode, seeded at {w}{how}:\none sweep up gives ∂·/∂{w} at every node"
        if view == "reverse":
            o = ann["of"]
            return f"reverse mode, seeded at {o}:\none sweep down gives ∂{o}/∂· at every node"
        at = ", ".join(f"{self.nodes[k].name}={_summary(x)}"
                       for k, x in zip(self.input_ids, ann["inputs"].leaves))
        return f"{self.name} at {at}"

    def to_dot(self, *, at=None, show="values", wrt=None, output=None, names=None):
        """Graphviz DOT text of the graph (for those who have Graphviz), with the same
        node and edge labels as :meth:`draw`.

        Args:
            at, show, wrt, output, names: as for :meth:`draw` (one view).

        Returns:
            The DOT source, a string.

        >>> import admodes as ad
        >>> dot = ad.trace(lambda a, b: (a + b) * (b + 1), 2.0, 1.0).to_dot()
        >>> dot.startswith("digraph"), dot.count("->")
        (True, 5)
        """
        ann = self._annotate(at, (show,), wrt, output, names)
        out_ids = {r for r in self.outputs if isinstance(r, int)}
        lines = [f'digraph "{_dot_escape(self.name)}" {{', "  rankdir=BT;",
                 '  node [shape=box, style="rounded,filled", fontname="Helvetica"];']
        for nd in self.nodes:
            color = "#dbeafe" if nd.primitive is None else \
                "#fde68a" if nd.id in out_ids else "#f9fafb"
            text = "\\n".join(_dot_escape(s) for s in self._node_lines(nd, ann, show))
            lines.append(f'  n{nd.id} [label="{text}", fillcolor="{color}"];')
        lab = ann["label"]
        for nd in self.nodes:
            for i, j in nd.node_args():
                p = ann["partial"].get((nd.id, i))
                attr = "" if p is None else \
                    f' [label="{_dot_escape(f"∂{lab[nd.id]}/∂{lab[j]} = {p}")}"]'
                lines.append(f"  n{j} -> n{nd.id}{attr};")
        lines.append("}")
        return "\n".join(lines) + "\n"


def _nonzero(v):
    if v is None:
        return False
    a = np.asarray(value(v))
    return bool(np.any(a != 0))
