"""The report's visual language, defined once for every section's figures.

* One colour (and marker) per mode or library, whatever the figure: reverse mode is
  always blue, vectorised forward mode orange, jvp-based forward mode red, the function
  itself (or the hand-written numpy it is compared with) black; the static forms of the
  reverse-mode gradient are blues too (``ad.jit`` navy, without its passes light blue),
  the node-by-node ``ad.trace`` replay rust.  :func:`style` maps a
  candidate's name (``"reverse"``, ``"admodes (reverse)"``, ``"jacrev"`` ...) to it.
* Reference lines carry their own label (:func:`reference_line`), so a dotted line is
  never left for the reader to guess.
* Legends go outside the plotting area (:func:`legend_below`), or curves are labelled
  where they end (:func:`end_labels`); neither may cover data, and
  :func:`layout_problems` checks that from matplotlib's own layout.
* Log axes only where the values span decades (:func:`wants_log`), and never for bar
  lengths (bars start at zero; log data are drawn as dots).
* Titles state the finding; the finding is computed from the numbers it summarises.

A section without matplotlib still writes its text: :func:`have_matplotlib` says whether
figures can be drawn and :data:`INSTALL_HINT` is the one command that adds them.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["COLORS", "MARKERS", "INSTALL_HINT", "style", "have_matplotlib", "figure",
           "reference_line", "free_text", "legend_below", "end_labels", "tidy_log_axes", "wants_log", "no_data",
           "fmt_vs", "layout_problems"]

INSTALL_HINT = "pip install 'admodes[report]'"

# Families share a hue: reverse = blue, forward (vectorised tangents) = orange,
# forward one jvp per direction = red, f / plain numpy = black.
COLORS = {
    "f": "#222222",
    "reverse": "#1f77b4",
    "reverse + checkpoint": "#17becf",
    "forward (vectorised)": "#ff7f0e",
    "forward (jvp)": "#d62728",
    "markowitz": "#2ca02c",
    "path sum": "#7f7f7f",
    "sparse": "#9467bd",
    "sparse (jit)": "#3f007d",
    "detect": "#8c564b",
    "hessian": "#e6ab02",
    "autograd": "#bcbd22",
    "jax (eager)": "#f781bf",
    "jax (jit)": "#a6326f",
    "torch": "#5e3c99",
    "micrograd": "#1b9e77",
    "jit": "#08306b",
    "jit (no passes)": "#6baed6",
    "trace replay": "#b15928",
    "other": "#999999",
}

MARKERS = {
    "f": "s", "reverse": "o", "reverse + checkpoint": "D", "forward (vectorised)": "^",
    "forward (jvp)": "v", "markowitz": "P", "path sum": "X", "sparse": "*", "sparse (jit)": "P", "detect": "h",
    "hessian": "p", "autograd": "<", "jax (eager)": ">", "jax (jit)": ">", "torch": "d",
    "micrograd": "8", "jit": "H", "jit (no passes)": "h", "trace replay": "x", "other": ".",
}

# every name a section uses -> its family (the key of COLORS)
_ALIASES = {
    "f": "f", "numpy (hand-written)": "f", "python floats (f only)": "f",
    "f (traced once)": "f", "paths (2^d)": "path sum",
    "reverse": "reverse", "admodes (reverse)": "reverse", "jacrev": "reverse",
    "dynamic": "reverse", "numpy": "f",
    "reverse elimination": "reverse",
    "reverse + checkpoint": "reverse + checkpoint",
    "forward (vectorised)": "forward (vectorised)", "admodes (forward)": "forward (vectorised)",
    "jacfwd": "forward (vectorised)", "forward elimination": "forward (vectorised)",
    "forward": "forward (vectorised)",
    "forward (jvp per direction)": "forward (jvp)", "forward (jvp, one direction)": "forward (jvp)",
    "admodes (jvp, one direction)": "forward (jvp)", "n jvps": "forward (jvp)",
    "markowitz": "markowitz", "markowitz elimination": "markowitz",
    "path sum": "path sum", "path sum (enumerated)": "path sum",
    "sparse": "sparse", "detect": "detect", "hessian": "hessian",
}


def _family(name):
    if name in _ALIASES:
        return _ALIASES[name]
    if name in COLORS:
        return name
    low = name.lower()
    for key in ("jax (jit)", "jax (eager)", "autograd", "torch", "micrograd"):
        if key in low:
            return key
    return "other"


def style(name):
    """Colour, marker and line style of a mode or library, the same in every figure.

    Args:
        name: a candidate's name as the report uses it (``"reverse"``,
            ``"admodes (forward)"``, ``"jacfwd"``, ``"torch"``, ...).

    Returns:
        ``dict(color=..., marker=..., ls=...)``, ready for ``ax.plot(..., **style(n))``.

    >>> style("admodes (reverse)") == style("jacrev") == style("reverse")
    True
    >>> style("numpy (hand-written)")["color"] == style("f")["color"]
    True
    """
    fam = _family(name)
    ls = "--" if fam == "f" and name not in ("f", "numpy (hand-written)") else "-"
    return {"color": COLORS[fam], "marker": MARKERS[fam], "ls": ls}


def have_matplotlib():
    """Whether matplotlib can be imported (figures can be drawn).

    Returns:
        ``True`` or ``False``; never raises.

    >>> isinstance(have_matplotlib(), bool)
    True
    """
    try:
        import matplotlib  # noqa: F401
        from matplotlib.figure import Figure  # noqa: F401
    except ImportError:
        return False
    return True


def figure(nrows=1, ncols=1, *, figsize=(11, 4.6), **kw):
    """A figure with the report's layout engine (constrained), not tied to pyplot.

    Args:
        nrows, ncols: the panel grid.
        figsize: inches.
        **kw: passed to ``Figure.subplots``.

    Returns:
        ``(fig, axes)`` as ``Figure.subplots`` returns them.

    >>> fig, ax = figure()
    >>> type(fig).__name__
    'Figure'
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.subplots(nrows, ncols, **kw)


def reference_line(ax, y, label, *, ls="--", where=None, vertical=False):
    """A grey horizontal (or vertical) reference line with its label written on it.

    Args:
        ax: the axes (call after plotting the data, so the label can avoid it).
        y: the line's height (data coordinates); its x position when ``vertical``.
        label: what the line means, e.g. ``"1 = cost of f"``.
        ls: line style.
        where: ``"left"``, ``"right"`` or ``"middle"`` of the axes for the label
            (``"top"`` or ``"bottom"`` when ``vertical``); default: the first of these,
            on either side of the line, where the label covers no plotted point (else
            the fewest).
        vertical: a vertical line at x = ``y`` (e.g. ratio 1 on a dot plot whose
            values run along x).

    Returns:
        The label's ``Text``, or ``None`` when no spot is free: then the line carries
        the label into the legend.

    >>> fig, ax = figure()
    >>> reference_line(ax, 1.0, "ratio 1").get_text().strip()
    'ratio 1'
    >>> reference_line(ax, 0.5, "x = 0.5", vertical=True).get_text().strip()
    'x = 0.5'
    """
    spots = []
    if vertical:
        line = ax.axvline(y, color="0.45", ls=ls, lw=1, zorder=1)
        for w in (("top", "bottom") if where is None else (where,)):
            yy, va = {"top": (0.99, "top"), "bottom": (0.01, "bottom")}[w]
            for ha in ("left", "right"):
                spots.append(dict(x=y, y=yy, s=" " + label + " ",
                                  transform=ax.get_xaxis_transform(), ha=ha, va=va))
    else:
        line = ax.axhline(y, color="0.45", ls=ls, lw=1, zorder=1)
        for w in (("left", "right", "middle") if where is None else (where,)):
            x, ha = {"left": (0.01, "left"), "right": (0.99, "right"),
                     "middle": (0.5, "center")}[w]
            for va in ("bottom", "top"):
                spots.append(dict(x=x, y=y, s=" " + label + " ",
                                  transform=ax.get_yaxis_transform(), ha=ha, va=va))
    t = free_text(ax, spots, fontsize=8, color="0.3", zorder=5)
    if t is None:  # no free spot on the panel: the line joins the legend instead
        line.set_label(label)
    return t


def free_text(ax, spots, **kw):
    """Write a label at the first of ``spots`` where it covers no plotted point and no
    other label.

    Args:
        ax: the axes (call after plotting the data).
        spots: candidate placements, each a dict of ``ax.text`` arguments (``x``, ``y``,
            ``s`` and e.g. ``transform``, ``ha``, ``va``).
        **kw: text properties shared by every spot.

    Returns:
        The ``Text`` (its gid is ``"reference-label"``, which :func:`layout_problems`
        checks), or ``None`` when every spot covers something (nothing is drawn).
    """
    fig = ax.figure
    if not hasattr(fig.canvas, "get_renderer"):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        FigureCanvasAgg(fig)
    r = fig.canvas.get_renderer()
    pts = _points(ax)
    others = [o.get_window_extent(r) for o in ax.texts]
    for spot in spots:
        t = ax.text(**spot, **kw)
        t.set_gid("reference-label")
        bb = t.get_window_extent(r)
        if not _inside(pts, bb) and not any(_overlaps([bb, o]) for o in others):
            return t
        t.remove()
    return None


def legend_below(fig_or_ax, handles=None, labels=None, *, ncol=None):
    """A legend outside the plotting area, below the panels, so it covers no data.

    Args:
        fig_or_ax: a figure (one legend for all panels: colours mean the same in each)
            or one axes (a legend under that panel).
        handles, labels: as for ``legend``; default: collected from the axes (each label
            once).
        ncol: columns; default: as many as fit (at most 4).

    Returns:
        The ``Legend``, or ``None`` when there is nothing to label.

    >>> fig, ax = figure()
    >>> _ = ax.plot([1, 2], [1, 2], label="reverse")
    >>> legend_below(fig).get_texts()[0].get_text()
    'reverse'
    """
    from matplotlib.figure import Figure
    is_fig = isinstance(fig_or_ax, Figure)
    if handles is None:
        seen = {}
        for ax in (fig_or_ax.axes if is_fig else [fig_or_ax]):
            for h, lab in zip(*ax.get_legend_handles_labels()):
                seen.setdefault(lab, h)
        labels, handles = list(seen), list(seen.values())
    if not handles:
        return None
    ncol = ncol or (len(handles) if len(handles) <= 5 else 4)
    if is_fig:
        return fig_or_ax.legend(handles, labels, loc="outside lower center", ncol=ncol,
                                fontsize=8, frameon=False)
    return fig_or_ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.16),
                            ncol=ncol, fontsize=8, frameon=False)


def end_labels(ax, items, *, min_gap=11):
    """Label curves where they end, right of their last point, nudged apart vertically.

    Args:
        ax: the axes (its limits must be final, i.e. call after plotting).
        items: ``(x, y, text, color)`` of each curve's last point.
        min_gap: least vertical distance between two labels, in points.

    Returns:
        The ``Text`` objects.
    """
    if not items:
        return []
    fig = ax.figure
    if not hasattr(fig.canvas, "get_renderer"):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        FigureCanvasAgg(fig)
    fig.canvas.draw()  # limits and transforms are final from here on
    to_pts = 72.0 / fig.dpi
    disp = [ax.transData.transform((x, y)) for x, y, _, _ in items]
    order = sorted(range(len(items)), key=lambda i: disp[i][1])
    ys = [disp[i][1] * to_pts for i in order]
    for k in range(1, len(ys)):  # push each label up until it clears the one below
        ys[k] = max(ys[k], ys[k - 1] + min_gap)
    texts = []
    for k, i in enumerate(order):
        x, y, text, color = items[i]
        dy = ys[k] - disp[i][1] * to_pts
        t = ax.annotate(text, (x, y), xytext=(6, dy), textcoords="offset points",
                        va="center", ha="left", fontsize=8, color=color,
                        annotation_clip=False)
        t.set_gid("end-label")
        texts.append(t)
    return texts


def tidy_log_axes(ax):
    """Tick labels a reader can read on log axes: plain numbers at 1-2-5 steps when an
    axis spans under two decades (else powers of ten), never minor-tick labels (they are
    what smears into an unreadable row).

    Args:
        ax: the axes; linear axes are left alone.

    Returns:
        ``None``.
    """
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
    for axis, lim in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
        if axis.get_scale() != "log":
            continue
        lo, hi = sorted(lim)
        axis.set_minor_formatter(NullFormatter())
        if lo > 0 and math.log10(hi / lo) < 2:
            axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.6g}"))


def wants_log(values, decades=1.5):
    """Whether positive ``values`` span enough decades to deserve a log axis.

    Args:
        values: the numbers an axis must show.
        decades: the least span (log10(max / min)) that calls for a log axis.

    Returns:
        ``True`` or ``False``.

    >>> wants_log([1.0, 1.05, 5.6]), wants_log([0.02, 20.0])
    (False, True)
    """
    v = np.asarray([x for x in values if x is not None and x > 0], float)
    return bool(v.size and math.log10(v.max() / v.min()) >= decades)


def no_data(ax, message):
    """Say in the panel why it is empty (instead of an empty frame).

    Args:
        ax: the axes.
        message: what is missing and how to add it.

    Returns:
        The ``Text``.
    """
    ax.set_xticks([])
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_color("0.8")
    return ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes,
                   fontsize=9, color="0.3", wrap=True)


def fmt_vs(value, threshold, digits=3):
    """``value`` with enough significant digits that the printed number falls on the
    same side of ``threshold`` as the value itself (so "1.05 ≤ 1.05, not met" cannot
    happen: it prints "1.052").

    Args:
        value: the measured figure.
        threshold: the goal it is compared with.
        digits: significant digits to start from.

    Returns:
        The formatted string.

    >>> fmt_vs(1.052, 1.05), fmt_vs(0.996, 1.0), fmt_vs(4.62, 3)
    ('1.052', '0.996', '4.62')
    >>> fmt_vs(0.99996, 1.0), fmt_vs(1612.3, 5, 2)
    ('0.99996', '1,600')
    """
    for d in range(digits, 17):
        s = f"{value:.{d}g}"
        v = float(s)
        if (v < threshold) == (value < threshold) and (v > threshold) == (value > threshold):
            return f"{v:,.0f}" if "e+" in s else s
    return repr(value)


# ---------------------------------------------------------------- layout checks ------


def _points(ax):
    """Display coordinates of every plotted point of ``ax`` (lines' vertices, scatter
    offsets, bar rectangles' corners and centres) that lies inside the axes."""
    from matplotlib.collections import Collection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle
    pts = []
    for art in ax.get_children():
        if not art.get_visible():
            continue
        if isinstance(art, Line2D):
            xy = np.asarray(art.get_xydata(), float)
            if xy.size and art.get_transform() is ax.transData:
                pts.append(ax.transData.transform(xy))
        elif isinstance(art, Collection):
            off = np.asarray(art.get_offsets(), float)
            if off.size and len(off) > 0 and art.get_offset_transform() is ax.transData:
                pts.append(ax.transData.transform(off))
        elif isinstance(art, Rectangle) and art is not ax.patch:
            bb = art.get_window_extent()
            if bb.width > 0 and bb.height > 0:
                pts.append(np.array([[bb.x0, bb.y0], [bb.x1, bb.y1], [bb.x0, bb.y1],
                                     [bb.x1, bb.y0], [(bb.x0 + bb.x1) / 2, (bb.y0 + bb.y1) / 2]]))
    if not pts:
        return np.zeros((0, 2))
    p = np.concatenate(pts)
    p = p[np.all(np.isfinite(p), axis=1)]
    box = ax.get_window_extent()
    inside = ((p[:, 0] >= box.x0 - 0.5) & (p[:, 0] <= box.x1 + 0.5)
              & (p[:, 1] >= box.y0 - 0.5) & (p[:, 1] <= box.y1 + 0.5))
    return p[inside]


def _overlaps(boxes, pad=0.5):
    """Pairs ``(i, j)`` of overlapping boxes (shrunk by ``pad`` pixels)."""
    out = []
    for i in range(len(boxes)):
        a = boxes[i]
        for j in range(i + 1, len(boxes)):
            b = boxes[j]
            if (min(a.x1, b.x1) - max(a.x0, b.x0) > pad
                    and min(a.y1, b.y1) - max(a.y0, b.y0) > pad):
                out.append((i, j))
    return out


def layout_problems(fig):
    """What a reader would trip over, read from matplotlib's own layout of ``fig``.

    Checks, in display coordinates after drawing: tick labels of one axis overlapping
    each other; a legend (of an axes or the figure) covering a plotted point of any
    panel; a curve's end label covering a plotted point; two labels (end labels,
    reference-line labels) overlapping; two panels' titles (or a panel's and the
    figure's) overlapping.

    Args:
        fig: a matplotlib ``Figure``.

    Returns:
        A list of sentences, empty when the layout is clean.

    >>> fig, ax = figure(figsize=(3, 2))
    >>> _ = ax.plot(range(10), range(10))
    >>> _ = ax.legend(["covers the line"], loc="center")
    >>> [p.split(" covers")[0] for p in layout_problems(fig)]
    ['legend of panel 0']
    """
    if not hasattr(fig.canvas, "get_renderer"):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        FigureCanvasAgg(fig)
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    problems = []
    axes = [ax for ax in fig.axes if ax.get_visible()]
    pts = {id(ax): _points(ax) for ax in axes}
    for k, ax in enumerate(axes):
        name = f"panel {k}" + (f" ({ax.get_title()!r})" if ax.get_title() else "")
        for which, labels in (("x", ax.get_xticklabels()), ("y", ax.get_yticklabels())):
            shown = [t for t in labels if t.get_visible() and t.get_text().strip()]
            boxes = [t.get_window_extent(r) for t in shown]
            for i, j in _overlaps(boxes):
                problems.append(f"{name}: {which} tick labels {shown[i].get_text()!r} and "
                                f"{shown[j].get_text()!r} overlap")
        covers = []
        leg = ax.get_legend()
        if leg is not None and leg.get_visible():
            covers.append((f"legend of panel {k}", leg.get_window_extent(r)))
        labels = [t for t in ax.texts if t.get_gid() in ("end-label", "reference-label")]
        for t in labels:
            covers.append((f"{name}: label {t.get_text().strip()!r}", t.get_window_extent(r)))
        for i, j in _overlaps([t.get_window_extent(r) for t in labels]):
            problems.append(f"{name}: labels {labels[i].get_text()!r} and "
                            f"{labels[j].get_text()!r} overlap")
        for what, bb in covers:
            n = _inside(pts[id(ax)], bb) if what.startswith(name) else sum(
                _inside(pts[id(a)], bb) for a in axes)
            if n:
                problems.append(f"{what} covers {n} plotted point{'s' * (n != 1)}")
    titles = [(f"title of panel {k}", ax.title) for k, ax in enumerate(axes)
              if ax.title.get_visible() and ax.title.get_text().strip()]
    if fig._suptitle is not None and fig._suptitle.get_text().strip():
        titles.append(("the figure's title", fig._suptitle))
    for i, j in _overlaps([t.get_window_extent(r) for _, t in titles]):
        problems.append(f"{titles[i][0]} and {titles[j][0]} overlap "
                        f"({titles[i][1].get_text()!r}, {titles[j][1].get_text()!r})")
    for leg in fig.legends:
        bb = leg.get_window_extent(r)
        n = sum(_inside(pts[id(a)], bb) for a in axes)
        if n:
            problems.append(f"figure legend covers {n} plotted point{'s' * (n != 1)}")
    return problems


def _inside(p, bb, pad=1.0):
    if not len(p):
        return 0
    return int(np.sum((p[:, 0] > bb.x0 + pad) & (p[:, 0] < bb.x1 - pad)
                      & (p[:, 1] > bb.y0 + pad) & (p[:, 1] < bb.y1 - pad)))
