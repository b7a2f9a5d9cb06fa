"""Rematerialisation (gradient checkpointing) for reverse mode.

``checkpoint(fun)`` makes ``fun`` one step of the tape: under reverse mode its tape entry
holds only its inputs (and output), not the entries of everything ``fun`` computes.  The
backward sweep recomputes ``fun``'s internals when it reaches that entry (records
``fun`` on a fresh, short-lived tape and sweeps it), trading one extra evaluation of
``fun`` for the memory of its intermediates.  Checkpointing the ``k`` segments of a
depth-``L`` chain keeps O(L/k + k) arrays alive instead of O(L).

It is a higher-order primitive: its value function runs ``fun``, its VJP runs reverse
mode on ``fun`` at the (possibly traced) primals and its JVP runs forward mode on
``fun``, all through the ordinary dispatcher, so it nests (checkpoints inside
checkpoints) and composes with every transformation, higher orders included.  Under
forward mode alone there is no tape and the checkpointed function simply runs.

Its record is deliberately kept out of ``ad.registry``: that table holds numeric
primitives with test domains, and this one carries a function as a parameter.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from .dispatch import Box, EscapedBoxError, bind, ndim_of, shape_of
from .forward import Dual, ForwardLevel
from .registry import Primitive
from .reverse import ReverseLevel, Var, backward
from .tree import flatten, unflatten

__all__ = ["checkpoint"]


def _differentiable(x):
    if isinstance(x, Box) or type(x) is float:
        return True
    return isinstance(x, (np.ndarray, np.floating)) and np.asarray(x).dtype.kind == "f"


def _impl(*leaves, fun):
    return fun(*leaves)


def _vjp(g, ans, primals, params):
    """Recompute ``fun`` on a fresh tape and sweep it with ``g``."""
    fun = params["fun"]
    level = ReverseLevel()
    level.name = "checkpoint"
    try:
        boxed = [level.leaf(x) if _differentiable(x) else x for x in primals]
        out = fun(*boxed)
    finally:
        level.close()
    ids = [b._idx for b in boxed if isinstance(b, Var) and b._level is level]
    if not (isinstance(out, Var) and out._level is level):
        return (None,) * len(primals)
    got = backward(level.tape, {out._idx: g}, ids)
    return tuple(got.get(b._idx) if isinstance(b, Var) and b._level is level else None
                 for b in boxed)


def _jvp(tangents, ans, primals, params):
    """Push the tangents through ``fun`` (reached only when a reverse level sits above
    a forward one, e.g. in ``hessian``; plain forward mode never binds the primitive)."""
    fun = params["fun"]
    t0 = tangents[0]
    level = ForwardLevel(batch=ndim_of(t0) > ndim_of(primals[0]))
    level.name = "checkpoint"
    try:
        boxed = [Dual(x, t, level) if _differentiable(x) else x
                 for x, t in zip(primals, tangents)]
        out = fun(*boxed)
    finally:
        level.close()
    if isinstance(out, Dual) and out._level is level:
        return out._tangent
    lead = shape_of(t0)[:ndim_of(t0) - ndim_of(primals[0])]
    return np.zeros(lead + shape_of(out))


_checkpoint = Primitive("checkpoint", _impl, jvp_joint=_jvp, vjp_joint=_vjp, analytic=False,
                        doc="rematerialise a function during the backward sweep")


def checkpoint(fun: Callable[..., Any]) -> Callable[..., Any]:
    """Rematerialise ``fun`` in reverse mode: store only its inputs on the tape and
    recompute its internals during the backward sweep.

    Args:
        fun: a function of arrays (pytrees allowed, positional or keyword) returning
            one array or scalar.  Traced values it closes over directly are lifted into
            inputs, so they are differentiated through as well.

    Returns:
        A function with the same signature and value.  Gradients through it equal those
        through ``fun``; reverse mode keeps one tape entry for the whole call.

    >>> import admodes as ad, numpy as np
    >>> block = ad.checkpoint(lambda x: np.sin(x) * x)
    >>> x = np.array([0.5, 1.0])
    >>> bool(np.allclose(ad.grad(lambda x: np.sum(block(x)))(x), np.cos(x) * x + np.sin(x)))
    True
    """

    @functools.wraps(fun)
    def wrapped(*args, **kwargs):
        cells = _traced_cells(fun)
        leaves, td = flatten((list(args), kwargs))
        n = len(leaves)
        leaves = leaves + [c.cell_contents for c in cells]
        top = None
        for x in leaves:
            if isinstance(x, Box) and (top is None or x._level.id > top.id):
                top = x._level
        if top is None or isinstance(top, ForwardLevel):
            # No tape to save: plain values or forward mode simply evaluate.
            return fun(*args, **kwargs)

        def flat_fun(*xs):
            a, kw = unflatten(td, list(xs[:n]))
            saved = [c.cell_contents for c in cells]
            for c, v in zip(cells, xs[n:]):  # the closure sees this evaluation's values
                c.cell_contents = v
            try:
                out = fun(*a, **kw)
            except EscapedBoxError as e:
                raise EscapedBoxError(
                    "checkpoint: the checkpointed function uses a traced value that it "
                    "neither receives as an argument nor closes over directly (a global, "
                    "or a closure of a function it calls); pass that value as an "
                    f"argument. ({e})") from None
            finally:
                for c, v in zip(cells, saved):
                    c.cell_contents = v
            if isinstance(out, (tuple, list, dict)):
                raise TypeError("checkpoint: the checkpointed function must return one "
                                "array or scalar, not a " + type(out).__name__)
            return out

        return bind(_checkpoint, *leaves, fun=flat_fun)

    return wrapped


def _traced_cells(fun):
    """The closure cells of ``fun`` holding traced values: lifted into explicit inputs
    of the checkpoint, so the recomputation differentiates through them too."""
    out = []
    for c in getattr(fun, "__closure__", None) or ():
        try:
            v = c.cell_contents
        except ValueError:  # an empty cell (a name not yet assigned)
            continue
        if isinstance(v, Box):
            out.append(c)
    return out
