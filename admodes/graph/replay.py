"""The static :class:`Graph`: replay in both modes, a traced gradient program, and the
inputs' checks.  Its reverse sweep is :func:`admodes.reverse.backward`."""

from __future__ import annotations

import math

import numpy as np

from .. import dispatch
from ..api import _plain_scalar, choose_mode
from ..arguments import _Args, _dtype, _finish, _mode
from ..dispatch import Box, bind, shape_of, value
from ..reverse import backward
from ..tree import flatten, unflatten
from .counts import OpCounts
from .draw import Drawing
from .hooks import _sweep_apply
from .nodes import Constant, RetraceRequired, _arg_list, _formula, _summary
from .trace import _CALL, _ImpureRule, _trace, _Tracer, trace

__all__ = ["Graph"]


class Graph(OpCounts, Drawing):
    """A static computation graph: a Wengert list recorded by :func:`trace`.

    ``len(graph)`` counts nodes (inputs included), iteration yields
    :class:`GraphNode`\\ s in topological order, ``str(graph)`` lists them.

    >>> import admodes as ad, numpy as np
    >>> g = ad.trace(lambda x: np.sin(x).sum(), np.zeros(3))
    >>> print(g)
    Graph <lambda>(x) -> out: 3 nodes (1 input, 2 operations), 0 guards
      %0 = input x                          float64 (3,)
      %1 = sin(%0)                          float64 (3,)
      %2 = sum(%1, axis=(-1,), keepdims=False)  float64 ()
      return %2
    """

    def __init__(self, fun, nodes, guards, input_ids, inputs, out_refs, out_td,
                 out_names, arg_names, prune=False, static=()):
        self.fun = fun
        self.name = getattr(fun, "__name__", "f")
        self.nodes = tuple(nodes)
        self.guards = tuple(guards)
        self.input_ids = tuple(input_ids)
        self.arg_names = tuple(arg_names)
        self.outputs = tuple(out_refs)
        self.output_names = tuple(out_names)
        self.example_args = tuple(inputs.args)
        self.static_argnums = tuple(static)
        self._dyn = tuple(a for a in range(len(arg_names)) if a not in self.static_argnums)
        self._in_trees = [flatten(a)[1] for a in inputs.args]
        self._in_shapes = tuple(inputs.shapes)
        self._out_td = out_td
        for k in self.input_ids:  # integer / boolean inputs are data, not differentiated
            self.nodes[k].diff = self.nodes[k].dtype.kind in "fc"
        for node in self.nodes:
            if node.primitive is not None and not node.primitive.nondiff:
                node.diff = any(self.nodes[j].diff for i, j in node.node_args()
                                if i not in node.stopped)
        self._compile(prune)
        self._rplan_cache = None
        self._program = None

    # -------------------------------------------------------------- listing ----------

    def __len__(self):
        return len(self.nodes)

    def __iter__(self):
        return iter(self.nodes)

    def __getitem__(self, k):
        return self.nodes[k]

    @property
    def n_ops(self):
        """Number of operation nodes (inputs excluded)."""
        return len(self.nodes) - len(self.input_ids)

    def __repr__(self):
        return (f"<Graph {self.name}: {len(self)} nodes, {len(self.outputs)} output(s), "
                f"{len(self.guards)} guard(s)>")

    def __str__(self):
        n_in = len(self.input_ids)
        outs = ", ".join(self.output_names)
        lines = [f"Graph {self.name}({', '.join(self.arg_names)}) -> {outs}: {len(self)} nodes "
                 f"({n_in} input{'s' * (n_in != 1)}, {self.n_ops} operation"
                 f"{'s' * (self.n_ops != 1)}), {len(self.guards)} guard"
                 f"{'s' * (len(self.guards) != 1)}"]
        for node in self.nodes:
            text = f"input {node.name}" if node.primitive is None else \
                f"{node.op}({_arg_list(node)})"
            left = f"  %{node.id} = {text}"
            lines.append(f"{left:<38} {np.dtype(node.dtype).name} {node.shape}")
        rets = ", ".join(f"%{r}" if isinstance(r, int) else _summary(r.value)
                         for r in self.outputs)
        lines.append(f"  return {rets}")
        for g in self.guards:
            lines.append("  " + g.describe(self.nodes))
        return "\n".join(lines)

    # -------------------------------------------------------------- compilation ------

    def _compile(self, prune=False):
        """Precompute the flat lists the replay loops walk: every argument becomes an
        index into one value list (nodes first, then constants).  ``prune`` drops nodes
        that reach neither an output nor a guard (left by a rule that was retried as an
        opaque call)."""
        n = len(self.nodes)
        template = [None] * n
        slots = []
        for node in self.nodes:
            s = []
            for a in node.args:
                if isinstance(a, Constant):
                    template.append(a.value)
                    s.append(len(template) - 1)
                else:
                    s.append(a)
            slots.append(tuple(s))
        self._template = template
        self._slots = slots
        guards = {}
        for g in self.guards:
            guards.setdefault(g.node, []).append(g)
        self._node_guards = guards
        self._input_guards = [(k, guards[k]) for k in self.input_ids if k in guards]
        live = None
        if prune:
            live = [False] * n
            for k in [r for r in self.outputs if isinstance(r, int)] + list(guards):
                live[k] = True
            for node in reversed(self.nodes):
                if live[node.id]:
                    for _, j in node.node_args():
                        live[j] = True
        self._plan = [(node.id, node.primitive, node.primitive.impl, node.params,
                       slots[node.id], guards.get(node.id))
                      for node in self.nodes if node.primitive is not None and
                      (live is None or live[node.id])]
        out_nodes = {r for r in self.outputs if isinstance(r, int)}
        # lead[k]: node k leads differentiably to an output.
        lead = [False] * n
        for k in out_nodes:
            lead[k] = self.nodes[k].diff
        for node in reversed(self.nodes):
            if lead[node.id] and node.primitive is not None:
                for i, j in node.node_args():
                    if i not in node.stopped and self.nodes[j].diff:
                        lead[j] = True
        self._lead = lead

    def _rplan(self):
        """Per node that leads to an output: ``(id, primitive, params, slots, parents)``,
        ``parents[i]`` the node of argument ``i`` when it carries a derivative."""
        if self._rplan_cache is None:
            plan = []
            for node in self.nodes:
                if node.primitive is None or not self._lead[node.id]:
                    continue
                parents = [None] * len(node.args)
                for i, j in node.node_args():
                    if i not in node.stopped and self.nodes[j].diff:
                        parents[i] = j
                plan.append((node.id, node.primitive, node.params, self._slots[node.id],
                             parents))
            self._rplan_cache = plan
        return self._rplan_cache

    # -------------------------------------------------------------- inputs -----------

    def _inputs(self, args, fname):
        if len(args) != len(self.arg_names):
            raise TypeError(f"{fname}: the graph of {self.name} takes {len(self.arg_names)} "
                            f"argument(s), got {len(args)}")
        for a in self.static_argnums:
            if not _same_static(args[a], self.example_args[a]):
                raise RetraceRequired(
                    f"{fname}: argument {a} ({self.arg_names[a]}) is static "
                    f"(static_argnums) and was {_short(self.example_args[a])} when the graph "
                    f"of {self.name} was traced, but is {_short(args[a])} now; trace again "
                    "at these arguments (graph.retrace(*args) or ad.trace)")
        for a, (arg, td) in enumerate(zip(args, self._in_trees)):
            if a in self.static_argnums:
                continue
            if flatten(arg)[1] != td:
                raise ValueError(f"{fname}: argument {a} ({self.arg_names[a]}) does not have "
                                 "the structure it had when the graph was traced")
        inputs = _Args(args, self._dyn, fname, data_ok=True)
        for k, x, want in zip(self.input_ids, inputs.leaves, self._in_shapes):
            if self.nodes[k].diff != _diff_leaf(x):
                raise TypeError(
                    f"{fname}: input {self.nodes[k].name} was traced as "
                    f"{'differentiable' if self.nodes[k].diff else 'integer/boolean data'} "
                    f"({self.nodes[k].dtype}) but is {_dtype(x)} now; "
                    "trace again for another kind of input")
            got = shape_of(x)
            if got != want:
                raise ValueError(
                    f"{fname}: input {self.nodes[k].name} has shape {got}, but the graph of "
                    f"{self.name} was traced with shape {want}; shapes are frozen into a "
                    "static graph — trace again (ad.trace) for new shapes")
        return inputs

    # -------------------------------------------------------------- replay -----------

    def _values(self, leaves):
        """All node values at ``leaves`` (plain: the fast loop; boxed: through bind, so
        outer transformations see every primitive)."""
        vals = self._template.copy()
        boxed = False
        for k, x in zip(self.input_ids, leaves):
            vals[k] = x
            boxed = boxed or isinstance(x, Box)
        for k, guards in self._input_guards:  # int(n), if flag: guards on inputs too
            self._check(guards, vals[k])
        counting = dispatch._counting
        node = None
        try:
            if boxed:
                for node, prim, _impl, params, slots, guards in self._plan:
                    args = [vals[j] for j in slots]
                    if prim is _CALL:
                        _opaque_boxed(self, node, args)
                    for i in self.nodes[node].stopped:  # ad.value(...) when traced
                        args[i] = _stopped(args[i])
                    v = vals[node] = bind(prim, *args, **params)
                    if guards:
                        self._check(guards, v)
                return vals
            for node, prim, impl, params, slots, guards in self._plan:
                if params:
                    v = impl(*[vals[j] for j in slots], **params)
                elif len(slots) == 2:
                    a, b = slots
                    v = impl(vals[a], vals[b])
                elif len(slots) == 1:
                    v = impl(vals[slots[0]])
                else:
                    v = impl(*[vals[j] for j in slots])
                vals[node] = v
                if guards:
                    self._check(guards, v)
                if counting:
                    prim.n_impl += 1
        except (ValueError, TypeError, IndexError) as e:
            if node is None or isinstance(e, RetraceRequired):
                raise
            raise type(e)(f"replaying %{node} = {_formula(self.nodes[node], self.nodes)}: "
                          f"{e}") from e
        return vals

    def _check(self, guards, v):
        for g in guards:
            if isinstance(v, _Tracer) and v._level.alive:  # replayed inside a trace
                if g.holds(v._val):  # (else: this graph is not the path taken here)
                    v._level.carry(v, g, g.describe(self.nodes))
                    continue
                v = v._val
            if not g.holds(v):
                now = bool(value(v)) if g.kind == "truth" else _summary(value(v))
                raise RetraceRequired(
                    f"{g.describe(self.nodes)}, but is {now} at these inputs: the Python "
                    f"control flow of {self.name} would take another path, so the recorded "
                    "graph does not apply; trace again at these inputs "
                    "(graph.retrace(*args) or ad.trace)", g)

    def _reverse(self, vals, seeds, level=None, every=False):
        """Cotangents swept from ``seeds`` (``{node: cotangent}``) by THE reverse sweep
        (:func:`admodes.reverse.backward`): the replayed values are laid out as a tape.

        Returns ``{input node: cotangent}`` (every node with ``every``).  With ``level``
        (a trace level recording a gradient program) each rule is traced, and a rule that
        cannot be traced is recorded as an opaque call instead."""
        tape = [None] * len(self.nodes)
        for k, prim, params, slots, parents in self._rplan():
            tape[k] = (prim, params, [vals[j] for j in slots], vals[k], parents)
        apply = None if level is None else _sweep_apply(level)
        return backward(tape, seeds, self.input_ids, apply=apply, every=every)

    def _grad_program(self):
        """The gradient as a static program of its own: the forward replay and the
        reverse sweep traced once (the VJP rules are written in admodes ops, so they
        trace), then replayed by the plain evaluation loop — no rule dispatch per call.
        None when the program cannot be built."""
        if self._program is None:
            r = self._scalar_ref("grad")

            def value_and_cotangents(*args):
                inputs = _Args(args, self._dyn, "grad", data_ok=True)
                leaves = inputs.leaves
                level = leaves[0]._level
                vals = self._values(leaves)
                # The seed is a node, so that rules fed only by it and by masks (where,
                # relu) are traced rather than replayed as opaque calls.
                one = level.call(_one, (), "seed")
                seeds = {r: one} if isinstance(r, int) and self.nodes[r].diff else {}
                cts = self._reverse(vals, seeds, level=level)
                zeros = [0.0 if s == () else np.zeros(s) for s in self._in_shapes]
                return (self._out(vals, r),) + tuple(
                    cts.get(k, z) for k, z in zip(self.input_ids, zeros))

            try:
                self._program = _trace(value_and_cotangents, self.example_args,
                                       opaque=True, prune=True,
                                       static_argnums=self.static_argnums)
                self._program.name = self.name
            except (Exception, _ImpureRule):  # pragma: no cover - interpreted sweep instead
                self._program = False
        return self._program or None

    def _per_arg(self, inputs, flat):
        """Per-leaf results regrouped per argument: None for data leaves (integer or
        boolean inputs) and for static arguments, which have no gradient."""
        flat = [f if self.nodes[k].diff else None for f, k in zip(flat, self.input_ids)]
        per = dict(zip(self._dyn, inputs.per_arg(flat)))
        return [per.get(a) for a in range(len(self.arg_names))]

    def _out(self, vals, r):
        return vals[r] if isinstance(r, int) else r.value

    def __call__(self, *args):
        """Evaluate the graph at ``args`` (same structure and shapes as when traced),
        without running the traced Python.  Works under every transformation:
        ``ad.grad(graph)``, ``ad.jvp(graph, ...)``, ``ad.jacfwd(graph)``.

        >>> import admodes as ad
        >>> ad.trace(lambda x: x * x + 1.0, 3.0)(4.0)
        17.0
        """
        inputs = self._inputs(args, "graph")
        vals = self._values(inputs.leaves)
        return unflatten(self._out_td, [_plain_scalar(self._out(vals, r))
                                        for r in self.outputs])

    def retrace(self, *args):
        """Trace the same function again at ``args`` (after :class:`RetraceRequired`)."""
        return trace(self.fun, *args, static_argnums=self.static_argnums)

    def _scalar_ref(self, fname):
        if len(self.outputs) != 1 or self._out_td[0] != "*" or \
                (isinstance(self.outputs[0], int) and self.nodes[self.outputs[0]].shape != ()):
            raise TypeError(f"{fname} requires a scalar output; this graph returns "
                            f"{', '.join(self.output_names)} (use graph.jacobian or graph.vjp)")
        return self.outputs[0]

    def value_and_grad(self, *args):
        """``(value, gradient)`` by one replay and one reverse sweep over the graph.

        Args:
            *args: inputs of the traced structure and shapes.

        Returns:
            ``(value, grad)``; ``grad`` is shaped like the input, a tuple of them when the
            graph has several arguments.

        >>> import admodes as ad
        >>> ad.trace(lambda x, y: x * y, 2.0, 3.0).value_and_grad(2.0, 5.0)
        (10.0, (5.0, 2.0))
        """
        r = self._scalar_ref("grad")
        inputs = self._inputs(args, "grad")
        leaves = inputs.leaves
        prog = None
        if not dispatch._counting and not any(isinstance(x, Box) for x in leaves):
            prog = self._grad_program()
        if prog is not None:
            vals = prog._values(leaves)
            ans = prog._out(vals, prog.outputs[0])
            cts = [prog._out(vals, q) for q in prog.outputs[1:]]
        else:  # under ad.counting() or another transformation: the interpreted sweep
            vals = self._values(leaves)
            ans = self._out(vals, r)
            seeds = {r: 1.0} if isinstance(r, int) and self.nodes[r].diff else {}
            swept = self._reverse(vals, seeds)
            cts = [swept.get(k) for k in self.input_ids]
        grads = self._per_arg(inputs, [_finish(c, x) for c, x in zip(cts, leaves)])
        return _plain_scalar(ans), grads[0] if len(grads) == 1 else tuple(grads)

    def grad(self, *args):
        """The gradient of a scalar-output graph with respect to every input (reverse
        mode: one replay, one backward sweep over precomputed lists).

        Args:
            *args: inputs of the traced structure and shapes.

        Returns:
            The gradient, shaped like the input (a tuple for several arguments).

        >>> import admodes as ad, numpy as np
        >>> ad.trace(lambda x: (x ** 2).sum(), np.ones(2)).grad(np.array([1.0, 3.0]))
        array([2., 6.])
        """
        return self.value_and_grad(*args)[1]

    def jvp(self, args, tangents):
        """Forward mode: ``(graph(*args), J @ tangents)``, the node list replayed under a
        forward-mode level (the same machinery as :func:`admodes.jvp`).

        Args:
            args: tuple of inputs.
            tangents: tuple of the same structure and shapes.

        Returns:
            ``(out, out_tangent)``.

        >>> import admodes as ad
        >>> ad.trace(lambda a, b: (a + b) * (b + 1.0), 2.0, 1.0).jvp((2.0, 1.0), (0.0, 1.0))
        (6.0, 5.0)
        """
        from ..api import jvp
        args, tangents = tuple(args), tuple(tangents)
        self._inputs(args, "jvp")
        if not self.static_argnums:
            return jvp(self, args, tangents)
        if len(tangents) != len(args):
            raise ValueError(f"jvp: {len(args)} arguments but {len(tangents)} tangents")

        def dynamic(*dyn):  # static arguments take no tangent (theirs is ignored)
            full = list(args)
            for a, x in zip(self._dyn, dyn):
                full[a] = x
            return self(*full)
        return jvp(dynamic, tuple(args[a] for a in self._dyn),
                   tuple(tangents[a] for a in self._dyn))

    def vjp(self, args, cotangent):
        """Reverse mode: ``(graph(*args), cotangents)`` for an output cotangent.

        Args:
            args: tuple of inputs.
            cotangent: of the output's structure and shapes.

        Returns:
            ``(out, cotangents)``: a tuple with one cotangent per argument.

        >>> import admodes as ad, numpy as np
        >>> g = ad.trace(lambda x: x * 2.0, np.zeros(2))
        >>> g.vjp((np.ones(2),), np.array([1.0, 10.0]))
        (array([2., 2.]), (array([ 2., 20.]),))
        """
        inputs = self._inputs(tuple(args), "vjp")
        vals = self._values(inputs.leaves)
        cts, ct_td = flatten(cotangent)
        if ct_td != self._out_td and not (len(cts) == 1 and len(self.outputs) == 1):
            raise ValueError("vjp: the cotangent must have the structure of the output")
        seeds = {}
        for r, c, name in zip(self.outputs, cts, self.output_names):
            want = shape_of(self._out(vals, r))
            if shape_of(c) != want:
                raise ValueError(f"vjp: cotangent for {name} has shape {shape_of(c)}, but "
                                 f"the output has shape {want}")
            if isinstance(r, int) and self.nodes[r].diff:
                seeds[r] = c if r not in seeds else seeds[r] + c
        got = self._reverse(vals, seeds)
        out = unflatten(self._out_td, [_plain_scalar(self._out(vals, r)) for r in self.outputs])
        grads = self._per_arg(inputs, [_finish(got.get(k), x)
                                       for k, x in zip(self.input_ids, inputs.leaves)])
        return out, tuple(grads)

    def jacobian(self, *args, mode=None, chunk_size=None):
        """The Jacobian of the outputs with respect to every input.

        Args:
            *args: inputs of the traced structure and shapes.
            mode: ``"forward"`` (tangents pushed in chunks), ``"reverse"`` (one replay,
                then batched cotangent sweeps), or None to pick by the shapes.
            chunk_size: directions (or rows) per sweep.

        Returns:
            Blocks of shape ``out.shape + in.shape`` (a tuple over the arguments when
            there are several, nested in the output's structure).

        >>> import admodes as ad, numpy as np
        >>> ad.trace(lambda x: x ** 2, np.zeros(2)).jacobian(np.array([1.0, 2.0]))
        array([[2., 0.],
               [0., 4.]])
        """
        from ..api import _jacfwd_impl, _jacrev_by_rows
        inputs = self._inputs(args, "jacobian")
        nums = self._dyn
        single = len(args) == 1
        out_shapes = [self.nodes[r].shape if isinstance(r, int) else shape_of(r.value)
                      for r in self.outputs]
        out_sizes = [math.prod(s) for s in out_shapes]
        if mode is None:
            mode = choose_mode(sum(inputs.sizes), sum(out_sizes))
        if _mode(mode, "jacobian") == "forward":
            return _jacfwd_impl(self, args, {}, nums, single, chunk_size, "jacobian")
        vals = self._values(inputs.leaves)

        def sweep(rows):
            seeds = {}
            for r, c in zip(self.outputs, rows):
                if c is not None and isinstance(r, int) and self.nodes[r].diff:
                    seeds[r] = c if r not in seeds else seeds[r] + c
            if not seeds:
                return [None] * len(self.input_ids)
            cts = self._reverse(vals, seeds)
            b = next(np.shape(c)[0] for c in rows if c is not None)
            return [None if cts.get(k) is None else np.broadcast_to(cts[k], (b,) + tuple(shape))
                    for k, shape in zip(self.input_ids, inputs.shapes)]

        out_dtypes = [self.nodes[r].dtype if isinstance(r, int) else
                      np.asarray(r.value).dtype for r in self.outputs]
        out_dtypes = [d if d.kind == "f" and d.itemsize < 8 else np.float64 for d in out_dtypes]
        return _jacrev_by_rows(sweep, inputs, out_shapes, self._out_td, single, chunk_size,
                               out_dtypes)

    # -------------------------------------------------------------- path sums --------
    # Path sums and vertex elimination live in admodes.graph.paths; these call into it.

    def count_paths(self, output=None, input=None):
        """The number of input→output paths (exact, a Python int; structural).

        Args:
            output: an output position or name (default: every output).
            input: an input leaf index or name (default: every input).

        Returns:
            The number of paths, summed over the chosen pairs.

        >>> import admodes as ad
        >>> ad.trace(lambda a, b: (a + b) * (b + 1.0), 2.0, 1.0).count_paths(input="b")
        2
        """
        from .paths import count_paths
        return count_paths(self, output=output, input=input)

    def jacobian_by_paths(self, *args, max_paths=100_000):
        """The Jacobian of a scalar graph as the literal sum over paths of the products
        of the edges' local partials (exponential on purpose; see
        :mod:`admodes.graph.paths`).

        Args:
            *args: the point (default: the example inputs).
            max_paths: refuse with a ``ValueError`` stating the count beyond this.

        Returns:
            ``(n_outputs, n_inputs)`` float array.

        >>> import admodes as ad
        >>> ad.trace(lambda a, b: (a + b) * (b + 1.0), 2.0, 1.0).jacobian_by_paths()
        array([[2., 5.]])
        """
        from .paths import path_sum
        return path_sum(self, *args, max_paths=max_paths).jacobian

    def eliminate(self, order="forward", *args):
        """Vertex elimination on the linearised scalar graph: the Jacobian, the
        multiplications and additions of edge labels, and the sequence.

        Args:
            order: ``"forward"``, ``"reverse"``, ``"markowitz"`` or a sequence of node ids.
            *args: the point (default: the example inputs).

        Returns:
            An :class:`admodes.graph.paths.Elimination`.

        >>> import admodes as ad
        >>> r = ad.trace(lambda a, b: (a + b) * (b + 1.0), 2.0, 1.0).eliminate("reverse")
        >>> r.jacobian, r.sequence, r.mults
        (array([[2., 5.]]), (3, 2), 3)
        """
        from .paths import eliminate
        return eliminate(self, order, *args)

    def draw_paths(self, path=None, **options):
        """Draw every input→output path highlighted, one panel each (matplotlib).

        Args:
            path: where to save the PNG (None: only return the figure).
            **options: ``output``, ``input``, ``at``, ``names``, ``max_panels``, ``dpi``
                (see :func:`admodes.graph.draw_paths.draw_paths`).

        Returns:
            The matplotlib ``Figure``.

        >>> import admodes as ad
        >>> g = ad.trace(lambda a, b: (a + b) * (b + 1.0), 2.0, 1.0)
        >>> len(g.draw_paths().axes)
        3
        """
        from .draw_paths import draw_paths
        return draw_paths(self, path, **options)

    def draw_elimination(self, order="forward", path=None, **options):
        """Draw a vertex elimination as a strip of panels, one per step (matplotlib).

        Args:
            order: as for :meth:`eliminate`.
            path: where to save the PNG (None: only return the figure).
            **options: ``at``, ``names``, ``edge_text``, ``dpi`` (see
                :func:`admodes.graph.draw_paths.draw_elimination`).

        Returns:
            The matplotlib ``Figure``.

        >>> import admodes as ad
        >>> g = ad.trace(lambda a, b: (a + b) * (b + 1.0), 2.0, 1.0)
        >>> len(g.draw_elimination("markowitz").axes)
        3
        """
        from .draw_paths import draw_elimination
        return draw_elimination(self, order, path, **options)


def _stopped(x):
    """``x`` without the boxes of differentiating levels (what ``ad.value`` gave when the
    graph was traced carries no derivative); a static graph's own traced value stays."""
    while isinstance(x, Box) and x._level.kind != "graph":
        x = x._primal
    return x


def _opaque_boxed(graph, node, args):
    """An opaque call (a rule that reads plain values) cannot carry a derivative: replayed
    on values of a differentiating transformation it raises rather than give zero."""
    for a in args:
        if isinstance(a, Box) and a._level.kind != "graph":
            raise TypeError(
                f"replaying %{node} ({graph.nodes[node].params['name']}) of the graph of "
                f"{graph.name} under {a._level.kind}-mode differentiation: that rule reads "
                "plain values, so the graph holds it as an opaque call, which has no "
                "derivative; differentiate the function itself (e.g. ad.hessian(f)) "
                "instead of its traced derivative")


def _one():
    return 1.0


def _same_static(a, b):
    """A static argument unchanged: the same object, or equal (arrays element-wise)."""
    if a is b:
        return True
    try:
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            a, b = np.asarray(a), np.asarray(b)
            return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b))
        return type(a) is type(b) and bool(a == b)
    except Exception:  # an object without a usable ==: only itself is the same
        return False


def _short(v):
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _diff_leaf(x):
    t = type(x)
    if t is float:
        return True
    if t is np.ndarray:
        return x.dtype.kind in "fc"
    return _dtype(x).kind in "fc"
