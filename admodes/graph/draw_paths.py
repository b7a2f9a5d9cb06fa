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


def _palette(name):
    """The report's colour of an elimination order or the path sum
    (:func:`admodes.bench.style.style`: forward orange, reverse blue, Markowitz green,
    path sum grey), so that a drawing means what the report's figures mean."""
    from admodes.bench.style import style
    return style(name)["color"]


def _tint(color, amount=0.78):
    """``color`` mixed with white (a node's fill)."""
    from matplotlib.colors import to_hex, to_rgb
    return to_hex([c + (1 - c) * amount for c in to_rgb(color)])


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
           gone=(), title="", edge_text=True, color="#b91c1c", base="#6b7280"):
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
        # hot: solid in the order's colour; fresh (written by the previous step): dashed
        ecol = color if hot or new else base
        d = math.hypot(x1 - x0, y1 - y0) or 1.0
        sx, sy = x0 + (x1 - x0) * r / d, y0 + (y1 - y0) * r / d
        ex, ey = x1 - (x1 - x0) * r / d, y1 - (y1 - y0) * r / d
        ax.annotate("", xy=(ex, ey), xytext=(sx, sy), arrowprops=dict(
            arrowstyle="-|>", color=ecol, lw=2.4 if hot else 2.0 if new else 1.0,
            ls="--" if new and not hot else "-",
            shrinkA=0, shrinkB=0, connectionstyle="arc3,rad=0.12" if new else "arc3"))
        if edge_text:
            ax.text((sx + ex) / 2, (sy + ey) / 2, _num(c), fontsize=7, ha="center",
                    va="center", color=ecol,
                    bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.85))
    for v, (x, y) in xy.items():
        if v in gone:
            continue
        hot = v in hot_nodes
        ax.add_patch(Circle((x, y), r, fc=_tint(color) if hot else "#f9fafb",
                            ec=color if hot else "#374151", lw=2.0 if hot else 1.0))
        ax.text(x, y, label[v], ha="center", va="center", fontsize=8)


def draw_paths(graph, path=None, *, output=None, input=None, at=None, names=None,
               max_panels=16, dpi=120, color=None):
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
        color: of the highlighted path (default: the report's colour of the path sum,
            grey; the other edges are drawn lighter).

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
    color = color or _palette("path sum")
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
    width = int(pw * 72 / (0.6 * 9))  # characters of a 9-point title that fit a panel
    total, titles = {}, []
    for x, y, route in panels:
        pairs = list(zip(route, route[1:]))
        cs = [edges[e] for e in pairs if e not in lin.unit]
        prod = 1.0
        for c in cs:
            prod *= c
        total[(x, y)] = total.get((x, y), 0.0) + prod
        text = _wrap([label[v] for v in route], " → ", width)
        factors = _wrap([_num(c) for c in cs] or ["1"], " · ", width - 3)
        titles.append(f"{text}\n{factors} = {prod:.4g}")
    extra = 0.16 * (max(t.count("\n") for t in titles) - 1)  # inches for wrapped lines
    fig = Figure(figsize=(pw * len(panels), ph + 0.3 + extra))
    for q, ((_, _, route), title) in enumerate(zip(panels, titles)):
        pairs = list(zip(route, route[1:]))
        ax = fig.add_subplot(1, len(panels), q + 1)
        _panel(ax, Circle, xy, label, edges, hot_nodes=set(route), hot_edges=set(pairs),
               title=title, color=color, base="#b8bcc4")
    sums = ", ".join(f"∂{label[y]}/∂{label[x]} = {s:.4g}" for (x, y), s in total.items())
    fig.suptitle(f"{n} path{'s' * (n != 1)}; the sum over paths: {sums}", fontsize=10)
    fig.subplots_adjust(top=1 - (1.0 + extra) / (ph + 0.3 + extra), bottom=0.02, left=0.01,
                        right=0.99, wspace=0.05)
    if path is not None:
        fig.savefig(str(path), dpi=dpi)
    return fig


def _wrap(items, sep, width):
    """``sep.join(items)``, broken into lines of at most ``width`` characters between
    items (a panel's title must not run into its neighbour's)."""
    lines, cur = [], ""
    for it in items:
        if cur and len(cur) + len(sep) + len(it) > width:
            lines.append(cur + sep.rstrip())
            cur = it
        else:
            cur = cur + sep + it if cur else it
    return "\n".join(lines + [cur])


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
                     edge_text=True, dpi=120, color=None):
    """A strip of panels showing a vertex elimination step by step, in the order's
    colour: in each panel the vertex about to go and its edges (solid), the edges the
    previous step wrote (dashed), the running count of multiplications; the last panel
    is the Jacobian (input→output edges only).

    Args:
        graph: a traced scalar graph.
        order: as for :func:`eliminate`.
        path: where to save the PNG (None: only return the figure).
        at: a tuple of inputs (default: the example inputs).
        names: ``{node id: display name}``.
        edge_text: print the edge labels.
        dpi: resolution of a PNG.
        color: of the strip (default: the report's colour of the order — forward
            orange, reverse blue, Markowitz green, as in every figure of
            ``admodes report``; a custom order grey).

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
    color = color or _palette(res.order if res.order != "custom" else "other")
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
                   title=title, edge_text=edge_text, color=color)
            spent += st.mults
            gone.add(j)
            fresh = set(st.fill) | set(st.grown)
        else:
            _panel(ax, Circle, pos, label, edges, fresh=fresh, edge_text=edge_text,
                   title=f"the Jacobian\n{res.mults} mult, {res.adds} add in all",
                   color=color)
    fig.suptitle(f"{res.order} elimination of {graph.name}: order "
                 f"{', '.join(label[v] for v in res.sequence)}\n"
                 "solid: the vertex eliminated next and its edges; dashed: the edges the "
                 "previous step wrote", fontsize=10)
    fig.subplots_adjust(top=1 - 1.0 / (ph + 0.3), bottom=0.02, left=0.01, right=0.99,
                        wspace=0.05)
    if path is not None:
        fig.savefig(str(path), dpi=dpi)
    return fig
