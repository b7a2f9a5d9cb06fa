"""Path sums and vertex elimination on the linearised computational graph.

Label every edge ``u → v`` of a traced graph with its local partial derivative
``c_vu = ∂v/∂u`` (from the registry's rules, exactly as the drawings label them).  Then
(Griewank & Walther, *Evaluating Derivatives*, ch. 9–10):

* **Path sums.**  ``∂y/∂x`` is the sum, over all paths from ``x`` to ``y``, of the
  product of the edge labels along the path.  That is the baseline both modes improve on:
  on a chain of ``d`` diamonds there are ``2^d`` paths (:func:`count_paths`,
  :func:`path_sum`).
* **Vertex elimination.**  Eliminating an intermediate vertex ``j`` connects each
  predecessor ``i`` to each successor ``k`` with ``c_ki += c_kj · c_ji`` and removes ``j``:
  ``|pred(j)| · |succ(j)|`` multiplications, plus one addition for every product that
  lands on an edge that already exists.  Once every intermediate vertex is gone, the
  edges from inputs to outputs are the Jacobian.  Sums over exponentially many paths
  become products of a linear number of shared prefixes: that is the reuse.
* **Orders.**  Eliminating in topological order is forward mode (each vertex, when it
  goes, has the inputs as predecessors: its edges carry ``∂v/∂x``, the tangents);
  reverse topological order is reverse mode (its successors are the outputs: its edges
  carry ``∂y/∂v``, the adjoints).  Any other order ("cross-country") gives the same
  Jacobian; Markowitz's greedy order (smallest ``|pred| · |succ|`` first, ties by
  position in the Wengert list) can need fewer multiplications than both.  Finding the
  cheapest order is NP-complete (Naumann 2008).

**Scope.**  Labels and eliminations work on *scalar* graphs: every differentiable node a
single number (Python floats in, floats out).  An array node raises a ``ValueError``
naming it; :func:`count_paths` is structural and works on any graph.

**The linearised graph.**  Its vertices are the differentiable nodes.  An argument used
twice (``x * x``) gives one edge whose label is the sum of the two slots' partials
(``2x``), so the linearised graph is a simple DAG.  Outputs are the dependent vertices
and are never eliminated; an output node that is also used further on, is an input, or
is returned twice gets a *sink* copy per output position, joined to it by a unit edge.
A product with a unit edge is free (``c · 1 = c``) and is not counted.  Nodes that reach
no output stay in the graph: forward order pays for them (as forward mode computes their
tangents), the other orders eliminate them for free.

**Relation to** :meth:`Graph.op_counts` (graphs without joint-rule primitives, i.e. no
custom ``Operation``/``checkpoint``): with ``chunk_size=1`` the modes apply one rule per
argument slot and sweep, so::

    op_counts("forward")["rules"] == eliminate("forward").mults + op_count_offset(g, "forward")
    op_counts("reverse")["rules"] == eliminate("reverse").mults + op_count_offset(g, "reverse")

where the offset is, for forward mode, the number of argument slots that read an input
(a product with the unit seed, which elimination never forms), and for reverse mode the
number of argument slots of the output nodes (the unit seed at the other end), plus, in
both, the products a mode repeats for a repeated argument (``x * x``: two rule
applications per sweep against one product of the merged edge).  :func:`op_count_offset`
computes it; ``tests/test_elimination.py`` checks the identity on random programs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..dispatch import value

__all__ = ["count_paths", "path_sum", "path_sum_cost", "eliminate", "intermediates",
           "op_count_offset", "Elimination", "PathSum"]

DEFAULT_MAX_PATHS = 100_000


# ---------------------------------------------------------------- the linearised graph ---


class _Linear:
    """The linearised graph: ``pred[v][u] = succ[u][v] = c_vu`` (None when only the
    structure was built), unit edges into sink copies, inputs and per-position outputs."""

    def __init__(self, graph, vals=None, fname="eliminate"):
        nodes = graph.nodes
        n = len(nodes)
        self.graph = graph
        self.pred, self.succ = {}, {}
        self.slots_in, self.slots_out = {}, {}  # argument slots, before merging
        for nd in nodes:
            if nd.diff:
                self.pred[nd.id], self.succ[nd.id] = {}, {}
                self.slots_in[nd.id] = self.slots_out[nd.id] = 0
        for nd in nodes:
            if nd.primitive is None or not nd.diff:
                continue
            for i, j in nd.node_args():
                if i in nd.stopped or not nodes[j].diff:
                    continue
                c = None if vals is None else local_partial(graph, nd, i, vals, fname)
                old = self.pred[nd.id].get(j)
                new = c if old is None else old + c if c is not None else None
                self.pred[nd.id][j] = self.succ[j][nd.id] = new
                self.slots_in[nd.id] += 1
                self.slots_out[j] += 1
        self.inputs = list(graph.input_ids)
        self.unit = set()
        uses = {}
        for r in graph.outputs:
            if isinstance(r, int):
                uses[r] = uses.get(r, 0) + 1
        self.outputs = []  # per output position: its dependent vertex, or None
        self.sink_of = {}  # sink vertex -> the node it copies
        for k, r in enumerate(graph.outputs):
            if not isinstance(r, int) or not nodes[r].diff:
                self.outputs.append(None)
                continue
            if nodes[r].primitive is None or self.succ[r] or uses[r] > 1:
                s = n + k
                one = None if vals is None else 1.0
                self.pred[s], self.succ[s] = {r: one}, {}
                self.succ[r][s] = one
                self.unit.add((r, s))
                self.sink_of[s] = r
                self.outputs.append(s)
            else:
                self.outputs.append(r)
        dependent = set(self.outputs)
        self.intermediates = [nd.id for nd in nodes if nd.diff and nd.primitive is not None
                              and nd.id not in dependent]

    def vertices(self):
        return sorted(self.pred)  # sinks (ids >= len(nodes)) come after their nodes

    def edges(self):
        return {(u, v): c for v in self.pred for u, c in self.pred[v].items()}

    def eliminate(self, j):
        """Eliminate vertex ``j``; return ``(mults, adds, new edges, edges added onto)``."""
        P, S = self.pred.pop(j), self.succ.pop(j)
        for i in P:
            del self.succ[i][j]
        for k in S:
            del self.pred[k][j]
        mults = adds = 0
        fresh, grown = [], []
        for i, cji in P.items():
            si = self.succ[i]
            for k, ckj in S.items():
                if (j, k) in self.unit:
                    p = cji
                else:
                    p = ckj * cji
                    mults += 1
                if k in si:
                    p = si[k] + p
                    adds += 1
                    self.unit.discard((i, k))
                    grown.append((i, k))
                else:
                    fresh.append((i, k))
                si[k] = self.pred[k][i] = p
        self.unit = {e for e in self.unit if j not in e}
        return mults, adds, fresh, grown


def _scalar_values(graph, args, fname):
    """Node values at ``args`` (default: the example inputs), refusing array nodes."""
    args = graph.example_args if not args else tuple(args)
    inputs = graph._inputs(args, fname)
    for nd in graph.nodes:
        if nd.diff and nd.shape != ():
            what = f"input {nd.name}" if nd.primitive is None else \
                f"%{nd.id} = {nd.op}(...)"
            raise ValueError(
                f"{fname}: node {what} has shape {nd.shape}; path sums and vertex "
                "elimination here work on scalar graphs (every differentiable node a single "
                "number) — trace a scalar version (one float argument per entry) or use "
                "graph.jacobian for arrays")
    return graph._values(inputs.leaves)


def local_partial(graph, node, i, vals, fname="eliminate"):
    """``∂node/∂(argument i)`` at ``vals`` from the registry's rules (scalar nodes): the
    JVP rule for argument ``i`` applied to the unit tangent (the VJP rule to the unit
    cotangent when the JVP rule is missing)."""
    prim = node.primitive
    primals = tuple(vals[j] for j in graph._slots[node.id])
    d = rule_partial(prim, i, primals, vals[node.id], node.params, 1.0)
    if d is None:
        raise NotImplementedError(f"{fname}: {prim.name} has no derivative rule for argument "
                                  f"{i} (node %{node.id}), so its edge has no label")
    d = np.asarray(value(d), dtype=float)
    if d.size != 1:
        raise ValueError(f"{fname}: the local partial of %{node.id} = {prim.name}(...) with "
                         f"respect to argument {i} has shape {d.shape}, not a number")
    return float(d.reshape(()))


def rule_partial(prim, i, primals, ans, params, t):
    """The registry's rule for argument ``i`` applied to the unit tangent ``t`` (a unit
    cotangent to the VJP rule when there is no JVP rule): a local partial, or its
    diagonal for same-shape elementwise edges.  None when no rule exists.  The drawings'
    edge labels and the elimination's edge values both come from here."""
    try:
        if prim.jvp_joint is not None:
            ts = tuple(t if p == i else (0.0 if np.shape(value(x)) == () else
                                         np.zeros(np.shape(value(x))))
                       for p, x in enumerate(primals))
            return prim.jvp_joint(ts, ans, primals, params)
        rule = _rule(prim.jvps, i) if prim.jvps is not None else None
        if rule is not None:
            return rule(t, ans, *primals, **params)
        if prim.vjp_joint is not None:
            return prim.vjp_joint(t, ans, primals, params)[i]
        rule = _rule(prim.vjps, i) if prim.vjps is not None else None
        if rule is not None:
            return rule(t, ans, *primals, **params)
    except NotImplementedError:
        return None
    return None


def _rule(rules, i):
    try:
        return rules[i]
    except (IndexError, TypeError):
        return None


# ---------------------------------------------------------------- picking ends ---------


def _input_index(graph, input, fname):
    if input is None:
        return None
    if isinstance(input, str):
        for t, k in enumerate(graph.input_ids):
            if graph.nodes[k].name == input:
                return t
        raise ValueError(f"{fname}: no input named {input!r}; inputs are "
                         f"{[graph.nodes[k].name for k in graph.input_ids]}")
    t = int(input)
    if not 0 <= t < len(graph.input_ids):
        raise ValueError(f"{fname}: input {input} is out of range for "
                         f"{len(graph.input_ids)} inputs")
    return t


def _output_index(graph, output, fname):
    if output is None:
        return None
    if isinstance(output, str):
        if output in graph.output_names:
            return graph.output_names.index(output)
        raise ValueError(f"{fname}: no output named {output!r}; outputs are "
                         f"{list(graph.output_names)}")
    k = int(output)
    if not 0 <= k < len(graph.outputs):
        raise ValueError(f"{fname}: output {output} is out of range for "
                         f"{len(graph.outputs)} outputs")
    return k


def _pairs(graph, lin, output, input, fname):
    ts = range(len(lin.inputs)) if input is None else [_input_index(graph, input, fname)]
    ks = range(len(lin.outputs)) if output is None else [_output_index(graph, output, fname)]
    return list(ts), list(ks)


# ---------------------------------------------------------------- path sums ------------


def _path_dp(lin, x):
    """From input vertex ``x``: per vertex, the number of paths, the total number of
    labelled (non-unit) edges over those paths, and the number of paths with none."""
    cnt, edges, bare = {x: 1}, {x: 0}, {x: 1}
    for v in lin.vertices():
        if v == x:
            continue
        c = e = b = 0
        for u in lin.pred[v]:
            cu = cnt.get(u, 0)
            if not cu:
                continue
            c += cu
            if (u, v) in lin.unit:
                e += edges[u]
                b += bare[u]
            else:
                e += edges[u] + cu
        if c:
            cnt[v], edges[v], bare[v] = c, e, b
    return cnt, edges, bare


def count_paths(graph, output=None, input=None):
    """The number of paths from an input to an output in the graph (exact, a Python int).

    Edges are the differentiable argument links (an argument used twice is one edge);
    this is structural and works on array graphs too.

    Args:
        graph: a traced :class:`~admodes.graph.Graph`.
        output: an output position or name (default: every output).
        input: an input leaf index or name (default: every input).

    Returns:
        The number of input→output paths, summed over the chosen pairs.

    >>> import admodes as ad
    >>> from admodes.graph.paths import count_paths
    >>> g = ad.trace(lambda a, b: (a + b) * (b + 1.0), 2.0, 1.0)
    >>> count_paths(g, input="a"), count_paths(g, input="b"), count_paths(g)
    (1, 2, 3)
    """
    lin = _Linear(graph)
    ts, ks = _pairs(graph, lin, output, input, "count_paths")
    total = 0
    for t in ts:
        cnt = _path_dp(lin, lin.inputs[t])[0]
        total += sum(cnt.get(lin.outputs[k], 0) for k in ks if lin.outputs[k] is not None)
    return total


def path_sum_cost(graph):
    """Paths and the cost of the literal path sum, counted without enumerating the paths.

    Each path of ``L`` labelled edges costs ``L - 1`` multiplications; an entry reached
    by ``p`` paths costs ``p - 1`` additions.

    Args:
        graph: a traced graph.

    Returns:
        ``{"paths", "mults", "adds"}`` (Python ints) over all input/output pairs.

    >>> import admodes as ad
    >>> from admodes.graph.paths import path_sum_cost
    >>> path_sum_cost(ad.trace(lambda a, b: (a + b) * (b + 1.0), 2.0, 1.0))
    {'paths': 3, 'mults': 3, 'adds': 1}
    """
    lin = _Linear(graph)
    paths = mults = adds = 0
    for x in lin.inputs:
        cnt, edges, bare = _path_dp(lin, x)
        for v in lin.outputs:
            p = cnt.get(v, 0) if v is not None else 0
            if p:
                paths += p
                mults += edges[v] - (p - bare[v])
                adds += p - 1
    return {"paths": paths, "mults": mults, "adds": adds}


@dataclass(frozen=True)
class PathSum:
    """The Jacobian as a literal sum over paths.

    Attributes:
        jacobian: ``(n_outputs, n_inputs)`` float array (outputs and inputs in leaf order).
        paths: number of input→output paths summed.
        mults, adds: multiplications of edge labels (``L - 1`` per path of ``L``
            labelled edges) and additions (``p - 1`` per entry reached by ``p`` paths).
    """

    jacobian: np.ndarray
    paths: int
    mults: int
    adds: int


def path_sum(graph, *args, max_paths=DEFAULT_MAX_PATHS):
    """The Jacobian of a scalar graph as the sum over all paths of the products of the
    edges' local partials — exponential on purpose: the baseline both modes improve on.

    Args:
        graph: a traced scalar graph.
        *args: the point (default: the example inputs).
        max_paths: refuse (``ValueError`` stating the count) beyond this many paths.

    Returns:
        A :class:`PathSum`.

    >>> import admodes as ad
    >>> from admodes.graph.paths import path_sum
    >>> r = path_sum(ad.trace(lambda a, b: (a + b) * (b + 1.0), 2.0, 1.0))
    >>> r.jacobian, r.paths, r.mults
    (array([[2., 5.]]), 3, 3)
    """
    vals = _scalar_values(graph, args, "jacobian_by_paths")
    total = count_paths(graph)
    if total > max_paths:
        raise ValueError(f"jacobian_by_paths: the graph of {graph.name} has {total} "
                         f"input→output paths, more than max_paths={max_paths}; the path "
                         "sum is exponential on purpose — use graph.eliminate(...) or "
                         "graph.jacobian(...), or raise max_paths")
    lin = _Linear(graph, vals, "jacobian_by_paths")
    jac = np.zeros((len(lin.outputs), len(lin.inputs)))
    paths = mults = adds = 0
    for k, y in enumerate(lin.outputs):
        if y is None:
            continue
        for t, x in enumerate(lin.inputs):
            terms = []
            for labels in _walk(lin, x, y):
                prod = labels[0] if labels else 1.0
                for c in labels[1:]:
                    prod = prod * c
                mults += max(len(labels) - 1, 0)
                terms.append(prod)
            if terms:
                s = terms[0]
                for p in terms[1:]:
                    s = s + p
                adds += len(terms) - 1
                paths += len(terms)
                jac[k, t] = s
    return PathSum(jac, paths, mults, adds)


def _walk(lin, x, y):
    """Every path from ``x`` to ``y``, as the list of its labels (unit edges left out)."""
    reach = _path_dp(lin, x)[0]
    back = {y}  # vertices that reach y
    for v in reversed(lin.vertices()):
        if v in back:
            back.update(lin.pred[v])
    stack = [(x, [])]
    while stack:
        v, labels = stack.pop()
        if v == y:
            yield labels
            continue
        for k, c in lin.succ[v].items():
            if k in back and k in reach:
                stack.append((k, labels if (v, k) in lin.unit else labels + [c]))


# ---------------------------------------------------------------- vertex elimination ----


@dataclass(frozen=True)
class Step:
    """One vertex elimination: the vertex, its predecessors and successors at that time,
    the multiplications and additions it cost, the edges it created (``fill``) and the
    existing edges it added onto (``grown``)."""

    vertex: int
    preds: tuple
    succs: tuple
    mults: int
    adds: int
    fill: tuple
    grown: tuple


@dataclass(frozen=True)
class Elimination:
    """The result of :func:`eliminate`.

    Attributes:
        order: ``"forward"``, ``"reverse"``, ``"markowitz"`` or ``"custom"``.
        sequence: the eliminated node ids, in order.
        jacobian: ``(n_outputs, n_inputs)`` float array.
        mults, adds: multiplications and additions of edge labels.
        steps: one :class:`Step` per eliminated vertex.
        snapshots: with ``snapshots=True``, the edges ``{(u, v): label}`` before each
            step and after the last.
    """

    order: str
    sequence: tuple
    jacobian: np.ndarray
    mults: int
    adds: int
    steps: tuple = field(repr=False)
    snapshots: tuple = field(repr=False)

    @property
    def cost(self):
        """``{"mults", "adds"}``."""
        return {"mults": self.mults, "adds": self.adds}


def intermediates(graph):
    """The vertices an elimination order must list: the differentiable operation nodes
    that are not dependent (output) vertices, in Wengert-list order.

    Args:
        graph: a traced graph.

    Returns:
        A list of node ids.

    >>> import admodes as ad
    >>> from admodes.graph.paths import intermediates
    >>> intermediates(ad.trace(lambda a, b: (a + b) * (b + 1.0), 2.0, 1.0))
    [2, 3]
    """
    return list(_Linear(graph).intermediates)


def eliminate(graph, order="forward", *args, snapshots=False):
    """Vertex elimination on the linearised graph of a scalar graph.

    Args:
        graph: a traced scalar graph.
        order: ``"forward"`` (topological order: forward mode), ``"reverse"`` (reverse
            topological order: reverse mode), ``"markowitz"`` (smallest
            ``|pred| · |succ|`` first, ties to the earlier node) or a sequence of node
            ids listing every vertex of :func:`intermediates` once.
        *args: the point (default: the example inputs).
        snapshots: keep the edges before every step (for drawings).

    Returns:
        An :class:`Elimination`: the Jacobian, the multiplications and additions of edge
        labels, and the sequence.

    >>> import admodes as ad
    >>> from admodes.graph.paths import eliminate
    >>> g = ad.trace(lambda a, b: (a + b) * (b + 1.0), 2.0, 1.0)
    >>> r = eliminate(g, "forward")
    >>> r.jacobian, r.sequence, r.mults, r.adds
    (array([[2., 5.]]), (2, 3), 3, 1)
    """
    vals = _scalar_values(graph, args, "eliminate")
    lin = _Linear(graph, vals, "eliminate")
    todo = list(lin.intermediates)
    if isinstance(order, str):
        name = {"fwd": "forward", "rev": "reverse"}.get(order, order)
        if name not in ("forward", "reverse", "markowitz"):
            raise ValueError(f"eliminate: unknown order {order!r}; expected 'forward', "
                             "'reverse', 'markowitz' or a sequence of node ids")
        seq = todo if name == "forward" else todo[::-1] if name == "reverse" else None
    else:
        name = "custom"
        seq = [int(v) for v in order]
        if sorted(seq) != sorted(todo):
            missing = sorted(set(todo) - set(seq))
            extra = sorted(set(seq) - set(todo))
            dup = sorted({v for v in seq if seq.count(v) > 1})
            raise ValueError(f"eliminate: the order must list every intermediate vertex "
                             f"{todo} exactly once; missing {missing}, not intermediate "
                             f"{extra}, repeated {dup}")
    steps, snaps = [], [lin.edges()] if snapshots else []
    mults = adds = 0
    left = set(todo)
    done = []
    while left:
        if seq is None:
            j = min(left, key=lambda v: (len(lin.pred[v]) * len(lin.succ[v]), v))
        else:
            j = seq[len(done)]
        preds, succs = tuple(lin.pred[j]), tuple(lin.succ[j])
        m, a, fresh, grown = lin.eliminate(j)
        mults += m
        adds += a
        steps.append(Step(j, preds, succs, m, a, tuple(fresh), tuple(grown)))
        if snapshots:
            snaps.append(lin.edges())
        left.discard(j)
        done.append(j)
    jac = np.zeros((len(lin.outputs), len(lin.inputs)))
    for k, y in enumerate(lin.outputs):
        if y is None:
            continue
        for t, x in enumerate(lin.inputs):
            jac[k, t] = lin.pred[y].get(x, 0.0)
    return Elimination(name, tuple(done), jac, mults, adds, tuple(steps), tuple(snaps))


def op_count_offset(graph, mode):
    """``graph.op_counts(mode, chunk_size=1)["rules"] - eliminate(graph, mode).mults``,
    computed from the structure alone (see the module docstring).

    Args:
        graph: a traced scalar graph without joint-rule primitives.
        mode: ``"forward"`` or ``"reverse"``.

    Returns:
        The offset, a Python int.

    >>> import admodes as ad
    >>> from admodes.graph.paths import op_count_offset
    >>> g = ad.trace(lambda a, b: (a + b) * (b + 1.0), 2.0, 1.0)
    >>> op_count_offset(g, "forward"), op_count_offset(g, "reverse")
    (3, 2)
    """
    for nd in graph.nodes:
        p = nd.primitive
        if p is not None and nd.diff and (p.jvp_joint is not None or p.vjp_joint is not None):
            raise ValueError(f"op_count_offset: %{nd.id} = {p.name} has a joint rule (one "
                             "application serves every argument); the relation holds for "
                             "per-argument rules only")
    lin = _Linear(graph)
    nodes = graph.nodes
    real = {v: {u for u in lin.pred[v] if (u, v) not in lin.unit} for v in lin.pred}
    if mode in ("forward", "fwd"):
        xs = {}  # inputs each vertex depends on
        for v in lin.vertices():
            xs[v] = {v} if v in lin.inputs else set().union(*(xs[u] for u in lin.pred[v]))
        total = 0
        for v in lin.pred:
            if v >= len(nodes):
                continue
            out_simple = sum(1 for k in lin.succ[v] if (v, k) not in lin.unit)
            eliminated = 0 if v in lin.inputs else out_simple
            total += len(xs[v]) * (lin.slots_out[v] - eliminated)
        return total
    if mode in ("reverse", "rev"):
        ys = {}  # output positions each vertex reaches
        pos = {}
        for k, y in enumerate(lin.outputs):
            if y is not None:
                pos.setdefault(y, set()).add(k)
        for v in reversed(lin.vertices()):
            ys[v] = set(pos.get(v, ())).union(*(ys[k] for k in lin.succ[v]))
        total = 0
        for v in lin.pred:
            if v >= len(nodes) or v in lin.inputs or not ys[v]:
                continue
            copies = sum(1 for k in lin.succ[v] if (v, k) in lin.unit)
            own = copies if v in lin.intermediates else len(ys[v])
            total += lin.slots_in[v] * len(ys[v]) - len(real[v]) * (len(ys[v]) - own)
        return total
    raise ValueError(f"op_count_offset: unknown mode {mode!r}; expected 'forward' or "
                     "'reverse'")
