"""The records of a static graph (nodes, constants, guards) and their text forms."""

from __future__ import annotations

import numpy as np

from ..dispatch import value

__all__ = ["RetraceRequired", "Constant", "GraphNode", "Guard"]


class RetraceRequired(RuntimeError):
    """A guard recorded during tracing has a different outcome at the replay inputs.

    Attributes:
        guard: the :class:`Guard` whose outcome flipped.

    >>> import admodes as ad
    >>> g = ad.trace(lambda x: x * x if x > 0 else -x, 1.0)
    >>> try:
    ...     g(-1.0)
    ... except ad.RetraceRequired as e:
    ...     print(e.guard.kind, e.guard.expected)
    truth True
    """

    def __init__(self, message, guard=None):
        super().__init__(message)
        self.guard = guard


class Constant:
    """A constant argument of a graph node (a value that did not depend on the inputs)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __repr__(self):
        return f"Constant({_summary(self.value)})"


class GraphNode:
    """One entry of the Wengert list.

    Attributes:
        id: position in the list (a topological order).
        op: primitive name (``"input"`` for an input).
        primitive: the registry record (``None`` for an input).
        args: per argument, a node id (int) or a :class:`Constant`.
        stopped: argument positions linked to a node through ``ad.value`` (they carry
            no derivative).
        params: static parameters (``axis``, ``shape``, ...).
        shape, dtype: of the output at trace time.
        name: a display name (inputs: the argument name).
        diff: whether the node depends differentiably on an input.
    """

    __slots__ = ("id", "op", "primitive", "args", "stopped", "params", "shape", "dtype",
                 "name", "diff")

    def __init__(self, id, primitive, args, stopped, params, shape, dtype, name=None):
        self.id = id
        self.primitive = primitive
        self.op = "input" if primitive is None else primitive.name
        self.args = tuple(args)
        self.stopped = frozenset(stopped)
        self.params = dict(params)
        self.shape = tuple(shape)
        self.dtype = dtype
        self.name = name
        self.diff = False

    def node_args(self):
        """``(position, node id)`` of the arguments that are nodes."""
        return [(i, a) for i, a in enumerate(self.args) if not isinstance(a, Constant)]

    def __repr__(self):
        if self.primitive is None:
            return f"GraphNode(%{self.id} = input {self.name})"
        return f"GraphNode(%{self.id} = {self.op}({_arg_list(self)}))"


class Guard:
    """A traced value that Python consumed, and the outcome seen at trace time.

    Attributes:
        index: position in ``graph.guards``.
        node: the node id whose value was consumed.
        kind: ``"truth"`` (``bool``) or ``"value"`` (the exact value was used).
        expected: the outcome at trace time.
        where: ``file:line  source`` of the user code that consumed it.
    """

    __slots__ = ("index", "node", "kind", "expected", "where", "label")

    def __init__(self, index, node, kind, expected, where):
        self.index, self.node, self.kind = index, node, kind
        self.expected, self.where = expected, where
        self.label = None  # set when the guard was carried over from another graph

    def holds(self, v):
        v = value(v)
        if self.kind == "truth":
            return bool(v) == self.expected
        v = np.asarray(v)
        if v.shape != self.expected.shape:
            return False
        return bool(np.array_equal(v, self.expected, equal_nan=v.dtype.kind in "fc"))

    def describe(self, nodes=None):
        if self.label is not None:
            return self.label
        what = f"%{self.node}"
        if nodes is not None:
            what = f"%{self.node} = {_formula(nodes[self.node], nodes)}"
        seen = self.expected if self.kind == "truth" else _summary(self.expected)
        how = f"bool({what})" if self.kind == "truth" else f"the value of {what}"
        loc = f" ({self.where})" if self.where else ""
        return f"guard {self.index}{loc}: {how} was {seen} when traced"

    def __repr__(self):
        return f"<{self.describe()}>"


# ---------------------------------------------------------------- text helpers --------

_INFIX = {"add": "+", "subtract": "−", "multiply": "×", "divide": "/", "power": "^"}


def _shape_text(s):
    return "(" + ",".join(str(n) for n in s) + ("," if len(s) == 1 else "") + ")"


def _summary(v):
    """A short text for a value: the number, a short list, or shape and mean."""
    a = np.asarray(value(v))
    if a.dtype.kind == "b":
        if a.size <= 4:
            return str(bool(a)) if a.ndim == 0 else "[" + ", ".join(map(str, a.ravel())) + "]"
        return f"{_shape_text(a.shape)} {int(a.sum())} true"
    if a.dtype.kind not in "iufc":
        return type(v).__name__
    if a.ndim == 0:
        return f"{a.item():.4g}"
    if a.size <= 3:
        return "[" + ", ".join(f"{x:.3g}" for x in a.ravel()) + "]"
    return f"{_shape_text(a.shape)} mean {a.mean():.3g}"


def _param_text(v):
    if isinstance(v, np.ndarray):
        return _summary(v)
    name = getattr(v, "name", None)
    if isinstance(name, str) and not isinstance(v, (str, tuple)):
        return name
    r = repr(v)
    return r if len(r) <= 32 else r[:29] + "..."


def _arg_list(node):
    parts = [f"%{a}" if not isinstance(a, Constant) else _summary(a.value) for a in node.args]
    parts += [f"{k}={_param_text(v)}" for k, v in node.params.items()]
    return ", ".join(parts)


def _formula(node, nodes, label=None):
    if node.primitive is None:
        return f"input {node.name}"

    def arg(a):
        if isinstance(a, Constant):
            return _summary(a.value)
        return label[a] if label is not None else f"%{a}"

    args = [arg(a) for a in node.args]
    if node.op in _INFIX and len(args) == 2:
        return f"{args[0]} {_INFIX[node.op]} {args[1]}"
    if node.op == "negative":
        return f"−{args[0]}"
    extra = [f"{k}={_param_text(v)}" for k, v in node.params.items()
             if not (k == "keepdims" and v is False)]
    return f"{node.op}({', '.join(args + extra)})"


def _dot_escape(s):
    return str(s).replace("\\", "\\\\").replace('"', '\\"')
