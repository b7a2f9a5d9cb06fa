"""Drawings of path sums and vertex eliminations (matplotlib): every path highlighted,
and a strip of panels per elimination order."""

from __future__ import annotations

import math

from .paths import _Linear, _pairs, _scalar_values, count_paths, eliminate

__all__ = ["draw_paths", "draw_elimination"]


def _figure_classes(fname):
    try:
        from matplotlib.figure import Figure
        from matplotlib.patches import Circle
    except ImportError as e:
        raise ImportError(f"{fname} needs matplotlib (pip install admodes[report])") from e
    return Figure, Circle


def _labels(graph, lin, names):
    label = {nd.id: nd.name or f"v{nd.id}" for nd in graph.nodes}
    for r, y, name in zip(graph.outputs, lin.outputs, graph.output_names):
        if isinstance(r, int) and y == r:
            label[r] = name
    label.update(names or {})
    for s in lin.sink_of:
        label[s] = graph.output_names[s - len(graph.nodes)]
    return label


def _positions(graph, lin):
    layer, pos, _ = graph._layout()
    xy = {k: (1.6 * pos[k], 1.3 * layer[k]) for k in lin.pred if k < len(graph.nodes)}
    for s, r in lin.sink_of.items():
        x, y = xy[r]
        xy[s] = (x + 0.8, y + 1.3)
    return xy


def _panel_size(xy):
    """Inches of one panel: about 0.85 inch per unit of the layout, plus the title."""
    xs = [p[0] for p in xy.values()]
    ys = [p[1] for p in xy.values()]
    return max(2.4, 0.85 * (max(xs) - min(xs) + 1.6)), 0.85 * (max(ys) - min(ys) + 1.2) + 0.9


def _num(c):
    return "1" if c is None else f"{c:.3g}"


def _panel(ax, Circle, xy, label, edges, *, hot_nodes=(), hot_edges=(), fresh=(),
           gone=(), title="", edge_text=True):
    xs = [p[0] for p in xy.values()]
    ys = [p[1] for p in xy.values()]
    ax.set_xlim(min(xs) - 0.8, max(xs) + 0.8)
    ax.set_ylim(min(ys) - 0.6, max(ys) + 0.6)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(title, fontsize=9)
    r = 0.24
    for (u, v), c in edges.items():
        (x0, y0), (x1, y1) = xy[u], xy[v]
        hot = (u, v) in hot_edges
        new = (u, v) in fresh
        color = "#b91c1c" if hot else "#1d4ed8" if new else "#6b7280"
        d = math.hypot(x1 - x0, y1 - y0) or 1.0
        sx, sy = x0 + (x1 - x0) * r / d, y0 + (y1 - y0) * r / d
        ex, ey = x1 - (x1 - x0) * r / d, y1 - (y1 - y0) * r / d
        ax.annotate("", xy=(ex, ey), xytext=(sx, sy), arrowprops=dict(
            arrowstyle="-|>", color=color, lw=2.2 if hot or new else 1.0,
            shrinkA=0, shrinkB=0, connectionstyle="arc3,rad=0.12" if new else "arc3"))
        if edge_text:
            ax.text((sx + ex) / 2, (sy + ey) / 2, _num(c), fontsize=7, ha="center",
                    va="center", color=color,
                    bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.85))
    for v, (x, y) in xy.items():
        if v in gone:
            continue
        hot = v in hot_nodes
        ax.add_patch(Circle((x, y), r, fc="#fecaca" if hot else "#f9fafb",
                            ec="#b91c1c" if hot else "#374151", lw=2.0 if hot else 1.0))
        ax.text(x, y, label[v], ha="center", va="center", fontsize=8)


def draw_paths(graph, path=None, *, output=None, input=None, at=None, names=None,
               max_panels=16, dpi=120):
    """A strip of panels, one per input→output path, each path highlighted and titled
    with its product of local partials; the strip's title gives their sum.

    Args:
        graph: a traced scalar graph.
        path: where to save the PNG (None: only return the figure).
        output, input: restrict to one output / input (name or index).
        at: a tuple of inputs (default: the example inputs).
        names: ``{node id: display name}``.
        max_panels: refuse (``ValueError``) to draw more paths than this.
        dpi: resolution of a PNG.

    Returns:
        The matplotlib ``Figure``.

    >>> import admodes as ad
    >>> from admodes.graph.draw_paths import draw_paths
    >>> g = ad.trace(lambda a, b: (a + b) * (b + 1.0), 2.0, 1.0)
    >>> len(draw_paths(g, input="b").axes)
    2
    """
    Figure, Circle = _figure_classes("draw_paths")
    vals = _scalar_values(graph, at or (), "draw_paths")
    lin = _Linear(graph, vals, "draw_paths")
    ts, ks = _pairs(graph, lin, output, input, "draw_paths")
    n = sum(count_paths(graph, output=k, input=t) for t in ts for k in ks)
    if n > max_panels:
        raise ValueError(f"draw_paths: {n} paths, more than max_panels={max_panels}; "
                         "pick one output and input, or raise max_panels")
    if n == 0:
        raise ValueError("draw_paths: no input→output path to draw")
    label = _labels(graph, lin, names)
    xy = _positions(graph, lin)
    edges = lin.edges()
    panels = []
    for k in ks:
        y = lin.outputs[k]
        if y is None:
            continue
        for t in ts:
            x = lin.inputs[t]
            for route in _routes(lin, x, y):
                panels.append((x, y, route))
    pw, ph = _panel_size(xy)
    fig = Figure(figsize=(pw * len(panels), ph + 0.3))
    total = {}
    for q, (x, y, route) in enumerate(panels):
        pairs = list(zip(route, route[1:]))
        cs = [edges[e] for e in pairs if e not in lin.unit]
        prod = 1.0
        for c in cs:
            prod *= c
        total[(x, y)] = total.get((x, y), 0.0) + prod
        ax = fig.add_subplot(1, len(panels), q + 1)
        text = " → ".join(label[v] for v in route)
        factors = " · ".join(_num(c) for c in cs) or "1"
        _panel(ax, Circle, xy, label, edges, hot_nodes=set(route), hot_edges=set(pairs),
               title=f"{text}\n{factors} = {prod:.4g}")
    sums = ", ".join(f"∂{label[y]}/∂{label[x]} = {s:.4g}" for (x, y), s in total.items())
    fig.suptitle(f"{n} path{'s' * (n != 1)}; the sum over paths: {sums}", fontsize=10)
    fig.subplots_adjust(top=1 - 1.0 / (ph + 0.3), bottom=0.02, left=0.01, right=0.99,
                        wspace=0.05)
    if path is not None:
        fig.savefig(str(path), dpi=dpi)
    return fig


def _routes(lin, x, y):
    """Every path from ``x`` to ``y`` as its vertex list."""
    out = []
    stack = [(x, [x])]
    while stack:
        v, route = stack.pop()
        if v == y:
            out.append(route)
            continue
        for k in sorted(lin.succ[v], reverse=True):
            stack.append((k, route + [k]))
    return out


def draw_elimination(graph, order="forward", path=None, *, at=None, names=None,
                     edge_text=True, dpi=120):
    """A strip of panels showing a vertex elimination step by step: in each panel the
    vertex about to go (red) and its edges, the edges the previous step wrote (blue),
    the running count of multiplications; the last panel is the Jacobian (input→output
    edges only).

    Args:
        graph: a traced scalar graph.
        order: as for :func:`eliminate`.
        path: where to save the PNG (None: only return the figure).
        at: a tuple of inputs (default: the example inputs).
        names: ``{node id: display name}``.
        edge_text: print the edge labels.
        dpi: resolution of a PNG.

    Returns:
        The matplotlib ``Figure``.

    >>> import admodes as ad
    >>> from admodes.graph.draw_paths import draw_elimination
    >>> g = ad.trace(lambda a, b: (a + b) * (b + 1.0), 2.0, 1.0)
    >>> len(draw_elimination(g, "reverse").axes)
    3
    """
    Figure, Circle = _figure_classes("draw_elimination")
    res = eliminate(graph, order, *(at or ()), snapshots=True)
    lin = _Linear(graph)
    label = _labels(graph, lin, names)
    xy = _positions(graph, lin)
    n = len(res.steps) + 1
    pw, ph = _panel_size(xy)
    pw = max(pw, 2.9)
    fig = Figure(figsize=(pw * n, ph + 0.3))
    gone = set()
    fresh = ()
    spent = 0
    for q in range(n):
        ax = fig.add_subplot(1, n, q + 1)
        edges = res.snapshots[q]
        pos = {v: p for v, p in xy.items() if v not in gone}
        if q < len(res.steps):
            st = res.steps[q]
            j = st.vertex
            hot = {(i, j) for i in st.preds} | {(j, k) for k in st.succs}
            title = (f"step {q + 1}: eliminate {label[j]}\n"
                     f"{len(st.preds)}×{len(st.succs)}: +{st.mults} mult, +{st.adds} add"
                     f" (→ {spent + st.mults} mult)")
            _panel(ax, Circle, pos, label, edges, hot_nodes={j}, hot_edges=hot, fresh=fresh,
                   title=title, edge_text=edge_text)
            spent += st.mults
            gone.add(j)
            fresh = set(st.fill) | set(st.grown)
        else:
            _panel(ax, Circle, pos, label, edges, fresh=fresh, edge_text=edge_text,
                   title=f"the Jacobian\n{res.mults} mult, {res.adds} add in all")
    fig.suptitle(f"{res.order} elimination of {graph.name}: order "
                 f"{', '.join(label[v] for v in res.sequence)}", fontsize=10)
    fig.subplots_adjust(top=1 - 1.0 / (ph + 0.3), bottom=0.02, left=0.01, right=0.99,
                        wspace=0.05)
    if path is not None:
        fig.savefig(str(path), dpi=dpi)
    return fig
