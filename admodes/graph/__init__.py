"""Static graphs: trace a function once, replay it in both modes, count its operations,
and draw it.

``grad`` builds its graph *dynamically* (define-by-run): every call re-runs the user's
Python and records a fresh tape.  :func:`trace` builds a *static* graph instead, as the
classic tape-based tools (ADOL-C) do: the function runs once, on example inputs, under a
tracing level whose boxes are graph nodes.  Every primitive application goes through
:func:`~admodes.dispatch.bind` like any other, so the level sees each one and appends a
node to a Wengert list (primitive, input node ids, static parameters such as ``axis``,
output shape and dtype).  The resulting :class:`Graph` is then evaluated and
differentiated many times without running the user's Python again.

Replay uses the same registry rules as the dynamic modes.  Forward mode replays the node
list under a :class:`~admodes.forward.ForwardLevel` (so ``ad.jvp(graph, ...)``,
``ad.jacfwd(graph)`` and ``ad.grad(graph)`` simply work); reverse mode runs a dedicated
loop over precomputed lists — the static graph already knows which nodes lead to the
output, which arguments carry derivatives and which cotangents need un-broadcasting, so
none of that is rediscovered per call.

**Branch guards.**  Python control flow that looked at a traced value is frozen into
the trace.  Comparisons (and the other non-differentiable primitives) on traced values
become graph nodes, so ``where(x > 0, x, 0.0)`` stays data flow and is re-evaluated on
every replay.  When Python *consumes* such a value — ``if x > 0:``, ``bool``, ``float``,
``int``, indexing with it, or a numpy function with no primitive — the trace records a
:class:`Guard` (the node and the outcome seen).  Replay re-checks every guard and raises
:class:`RetraceRequired`, naming the guard and the source line, when an outcome flips,
instead of returning a silently wrong value or derivative.

Limit: ``ad.value(x)`` deliberately steps outside differentiation.  On an array node the
trace still follows it (the array is re-linked to its node as a constant-for-derivatives
input); on a Python-float node the plain float is frozen as a constant.

The package: :mod:`.nodes` (the graph's records and their text), :mod:`.trace` (the
tracing level and :func:`trace`), :mod:`.replay` (:class:`Graph`: replay in both modes; its
reverse sweep is :func:`admodes.reverse.backward`, the same sweep as ``grad``),
:mod:`.counts` (``op_counts``) and :mod:`.draw` (matplotlib drawings and DOT).
"""

from .nodes import Constant, GraphNode, Guard, RetraceRequired
from .replay import Graph
from .trace import trace

__all__ = ["trace", "Graph", "GraphNode", "Guard", "Constant", "RetraceRequired"]
