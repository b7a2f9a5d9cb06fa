"""The define-by-run tape of ``ad.nn``: parameters, variables, ``loss.backward()``."""

from __future__ import annotations

import contextlib
import itertools
import operator
import threading
from typing import Any

import numpy as np

from ..dispatch import Box, bind, shape_of, value
from ..reverse import ReverseLevel, Var, backward

__all__ = ["Variable", "Parameter", "no_grad", "ReleasedGraphError"]


# ---------------------------------------------------------------- the define-by-run tape


class ReleasedGraphError(RuntimeError):
    """A value whose graph an earlier ``backward()`` released was differentiated again.

    >>> import numpy as np
    >>> from admodes import nn
    >>> w = nn.Parameter(np.array([1.0, 2.0]))
    >>> loss = (w * w).sum()
    >>> loss.backward()
    >>> try:
    ...     loss.backward()
    ... except nn.ReleasedGraphError:
    ...     print("released")
    released
    """


_state = threading.local()
_tape_ids = itertools.count(1)
_serials = itertools.count()
_SERIAL = operator.attrgetter("serial")


def _grad_enabled():
    return getattr(_state, "enabled", True)


_FREED = ("freed",)  # the entry of a node whose graph a backward() released


class _Node:
    """One recorded operation, owned by the values computed from it (as in PyTorch):
    ``entry`` is the tape entry ``(prim, params, primals, ans, parent nodes)`` (None
    for a parameter's leaf, ``_FREED`` once released).  A graph nobody references is
    freed by reference counting; independent losses have disjoint graphs."""

    __slots__ = ("entry", "serial", "param")

    def __init__(self, entry, param=None):
        self.entry = entry
        self.serial = next(_serials)  # parents are created before their children
        self.param = param


class _Tape(ReverseLevel):
    """The per-thread define-by-run level: a reverse level that never closes and keeps
    no tape of its own.  Each recorded value holds its :class:`_Node`; ``backward()``
    lays out the nodes its loss reaches as a tape and runs THE reverse sweep on it.

    Its id is negative, below every transformation level, so ``ad.grad`` & co. see
    parameters as constants and the define-by-run level records what lies beneath them.
    """

    __slots__ = ()
    kind = "define-by-run"

    def __init__(self):
        super().__init__()
        self.id = -next(_tape_ids)

    def process(self, prim, args, params):
        if not _grad_enabled():
            return self._untracked(prim, args, params)
        return self._relabel(ReverseLevel.process(self, prim, args, params))

    def process2(self, prim, a, b, params):
        if not _grad_enabled():
            return self._untracked(prim, (a, b), params)
        return self._relabel(ReverseLevel.process2(self, prim, a, b, params))

    def wrap(self, prim, params, primals, ans, mine):
        _check_live(prim, mine)
        return self._own(ReverseLevel.wrap(self, prim, params, primals, ans, mine))

    def wrap2(self, prim, params, a, b, ans, ma, mb):
        if (ma is not None and ma._idx.entry is _FREED) or \
                (mb is not None and mb._idx.entry is _FREED):
            _check_live(prim, (ma, mb))
        return self._own(ReverseLevel.wrap2(self, prim, params, a, b, ans, ma, mb))

    def _own(self, v):
        if type(v._idx) is int:  # the entry ReverseLevel appended: move it into a node
            v._idx = _Node(self.tape.pop())
        return v

    def _relabel(self, out):
        if type(out) is Var and out._level is self:
            out.__class__ = Variable  # same slots: a cheap re-labelling
        return out

    def _untracked(self, prim, args, params):
        primals = [a._primal if isinstance(a, Box) and a._level is self else a for a in args]
        return bind(prim, *primals, **params)


def _check_live(prim, mine):
    for m in mine:
        if m is not None and m._idx.entry is _FREED:
            raise ReleasedGraphError(
                f"{prim.name}: this value was computed on a graph that backward() has "
                "already released; recompute it from the parameters, pass "
                "retain_graph=True to the earlier backward(), or use ad.value(x) / "
                "x.item() for its plain value")


def _current_tape():
    tape = getattr(_state, "tape", None)
    if tape is None:
        tape = _state.tape = _Tape()
    return tape


def _graph_of(root):
    """The nodes ``root`` reaches in creation (topological) order, and their positions."""
    seen = {id(root): root}
    stack = [root]
    while stack:
        entry = stack.pop().entry
        if entry is None:
            continue
        if entry is _FREED:
            raise ReleasedGraphError(
                "backward() was already called on this graph and it was released; pass "
                "retain_graph=True to the first backward() to sweep it again, or "
                "recompute the loss")
        for p in entry[4]:
            if p is not None and id(p) not in seen:
                seen[id(p)] = p
                stack.append(p)
    order = sorted(seen.values(), key=_SERIAL)
    return order, {id(n): i for i, n in enumerate(order)}


@contextlib.contextmanager
def no_grad():
    """Inside the block, operations on parameters are not recorded (plain results).

    Returns:
        A context manager; evaluation loops run under it so that no graph is kept.

    >>> from admodes import nn
    >>> lin = nn.Linear(3, 2, rng=0)
    >>> with nn.no_grad():
    ...     out = lin(np.ones((1, 3)))
    >>> type(out).__name__
    'ndarray'
    """
    previous = _grad_enabled()
    _state.enabled = False
    try:
        yield
    finally:
        _state.enabled = previous


class Variable(Var):
    """A value recorded on the define-by-run tape (the result of computing with
    :class:`Parameter` s).  It behaves like an array (operators, ``.T``, ``.sum()``,
    numpy functions) and adds :meth:`backward`.

    >>> from admodes import nn
    >>> w = nn.Parameter(np.array([1.0, 2.0]))
    >>> loss = (w * w).sum()
    >>> loss
    Variable(5.0)
    >>> loss.backward()
    >>> w.grad
    array([2., 4.])
    """

    __slots__ = ()

    def backward(self, grad: Any = None, *, retain_graph: bool = False) -> None:
        """Sweep the tape from this value; add each parameter's gradient into ``.grad``.

        Args:
            grad: the output cotangent; may be omitted (meaning 1) for a scalar.
            retain_graph: keep the tape so that ``backward`` can run on it again;
                otherwise the tape is released and a second call is an error.

        Returns:
            None.  Gradients accumulate in ``p.grad`` until the optimiser's (or the
            module's) ``zero_grad()``.

        >>> from admodes import nn
        >>> w = nn.Parameter(3.0)
        >>> y = w * w
        >>> y.backward(retain_graph=True); y.backward()
        >>> w.grad
        array(12.)
        """
        tape = self._level
        if not isinstance(tape, _Tape):  # pragma: no cover - defensive
            raise TypeError("backward() works on values computed from nn.Parameter s")
        shape = shape_of(self)
        if grad is None:
            if shape != ():
                raise ValueError(
                    f"backward() needs a scalar (a loss), but this value has shape {shape}; "
                    "reduce it (.sum(), .mean()) or pass grad= an array of that shape")
            grad = 1.0
        elif shape_of(grad) != shape:
            raise ValueError(f"backward(grad): grad has shape {shape_of(grad)}, but the "
                             f"value has shape {shape}")
        nodes, pos = _graph_of(self._idx)
        flat = [None if n.entry is None else
                n.entry[:4] + ([None if p is None else pos[id(p)] for p in n.entry[4]],)
                for n in nodes]
        leaves = [(i, n.param) for i, n in enumerate(nodes) if n.param is not None]
        # without retain_graph the graph is released after this sweep: free it as we go
        got = backward(flat, {pos[id(self._idx)]: grad}, [i for i, _ in leaves],
                       consume=not retain_graph)
        for i, p in leaves:
            g = got.get(i)
            if g is None:
                continue
            if not isinstance(g, Box):
                g = np.asarray(g, dtype=p._primal.dtype)
            p.grad = g if p.grad is None else np.asarray(p.grad + g)
        if not retain_graph:
            for n in nodes:  # this loss's graph only: other graphs are untouched
                if n.entry is not None:
                    n.entry = _FREED

    def item(self):
        """The value as a Python float (a size-1 value only)."""
        return value(self).item()

    def numpy(self):
        """The plain numpy value (as ``ad.value``)."""
        return np.asarray(value(self))

    def detach(self):
        """The plain numpy value: a constant to every tape."""
        return value(self)

    def __format__(self, spec):
        return format(value(self), spec)

    def __array__(self, dtype=None, copy=None):
        raise TypeError(
            f"a {type(self).__name__} cannot be converted to a numpy array implicitly "
            "(that would drop its gradient); use ad.value(x) or x.numpy()")

    def __repr__(self):
        v = value(self)
        return f"{type(self).__name__}({v!r})" if np.ndim(v) else f"{type(self).__name__}({float(v)!r})"


class Parameter(Variable):
    """A trainable array: a leaf of the define-by-run tape with a ``.grad``.

    Args:
        data: the initial value (copied, as float64 unless already floating).
        name: optional label.

    ``p.data`` is the current numpy value (also ``ad.value(p)``); ``p.grad`` is
    ``None`` until a ``backward()`` reaches ``p``, then the accumulated gradient.

    >>> import admodes as ad
    >>> from admodes import nn
    >>> p = nn.Parameter([1.0, -2.0])
    >>> (p ** 2).sum().backward()
    >>> p.grad, ad.value(p)
    (array([ 2., -4.]), array([ 1., -2.]))
    """

    __slots__ = ("grad", "name", "_leaf")

    def __init__(self, data, name=None):
        arr = np.array(value(data), copy=True)
        if arr.dtype.kind != "f":
            if arr.dtype.kind not in "biu":
                raise TypeError(f"Parameter: expected real numbers, got dtype {arr.dtype}")
            arr = arr.astype(np.float64)
        self._primal = arr
        self.grad = None
        self.name = name
        self._leaf = _Node(None, self)  # its leaf in every graph that uses it

    # A parameter belongs to the thread's define-by-run level, as a leaf of each graph.
    @property
    def _level(self):
        return _current_tape()

    @property
    def _idx(self):
        return self._leaf

    @property
    def data(self):
        """The current value (a numpy array); assign to replace it (same shape)."""
        return self._primal

    @data.setter
    def data(self, new):
        new = np.asarray(value(new), dtype=self._primal.dtype)
        if new.shape != self._primal.shape:
            raise ValueError(f"Parameter.data: new value has shape {new.shape}, the "
                             f"parameter has shape {self._primal.shape}")
        self._primal = new

    def __reduce__(self):
        return (_rebuild_parameter, (self._primal, self.name, self.grad))

    def __repr__(self):
        return f"Parameter({self._primal!r})"


def _rebuild_parameter(data, name, grad):
    p = Parameter(data, name)
    p.grad = grad
    return p
