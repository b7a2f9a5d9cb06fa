"""User-defined primitives: the seed-style :class:`Operation` class and :func:`primitive`.

Both register a :class:`~admodes.registry.Primitive` whose rules are *joint* (one call
serves every input), which is the shape of the course's ``backward(output_grad)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .dispatch import bind, ndim_of, shape_of
from .registry import Primitive, registry

__all__ = ["Operation", "primitive"]


def _check_grads(name, kind, grads, primals, lead_of):
    if not isinstance(grads, (tuple, list)):
        grads = (grads,)
    if len(grads) != len(primals):
        raise ValueError(f"{name}.{kind} returned {len(grads)} gradient(s) for "
                         f"{len(primals)} input(s); return a tuple with one per input")
    out = []
    for i, (gi, x) in enumerate(zip(grads, primals)):
        if gi is None:
            out.append(None)
            continue
        want = lead_of + shape_of(x)
        got = shape_of(gi)
        if got != want:
            if len(got) <= len(want) and _broadcasts(got, want):
                from .ops.shape import broadcast_to
                gi = broadcast_to(gi, want)
            else:
                raise ValueError(f"{name}.{kind}: gradient {i} has shape {got}, but input "
                                 f"{i} has shape {shape_of(x)}")
        out.append(gi)
    return tuple(out)


def _one_direction_at_a_time(rule, lead, batched_args, nout):
    """Apply ``rule`` to each direction of a batch of directions (issue 9).

    ``jacfwd``, ``jacrev`` and forward-mode ``grad`` push a batch of directions through
    a primitive at once (leading batch axes ``lead`` on tangents / cotangents).  A user's
    rule written for one direction (``A @ t``) would be silently wrong on a batch, so
    unless the primitive declares ``batched=True`` its rule runs once per direction and
    the results are stacked (with admodes ops, so they differentiate again).

    ``batched_args`` are the rule's batched arguments; ``rule(*one_direction)`` returns
    one result (``nout`` None) or a tuple of ``nout`` results, each possibly None."""
    from .ops.shape import getitem, reshape, stack
    n = int(np.prod(lead, dtype=np.int64))
    flat = [reshape(a, (n,) + shape_of(a)[len(lead):]) for a in batched_args]
    rows = [rule(*[getitem(a, k) for a in flat]) for k in range(n)]
    if nout is None:
        out = stack(rows, 0) if n else None
        return reshape(out, lead + shape_of(out)[1:]) if n else out
    results = []
    for i in range(nout):
        col = [r[i] for r in rows]
        if all(c is None for c in col):
            results.append(None)
            continue
        shape = next(shape_of(c) for c in col if c is not None)
        col = [np.zeros(shape) if c is None else c for c in col]
        out = stack(col, 0)
        results.append(reshape(out, lead + shape_of(out)[1:]))
    return tuple(results)


def _lead(t, x):
    return shape_of(t)[:ndim_of(t) - ndim_of(x)]


def _broadcasts(got, want):
    try:
        return np.broadcast_shapes(got, want) == want
    except ValueError:
        return False


class Operation:
    """A computation-graph node with a hand-written derivative (the course's class).

    Subclass it, give it a ``name``, a ``forward`` (values in, value out, plain numpy
    allowed), a ``backward(output_grad)`` returning one input gradient per input (a
    tuple) and, for forward mode, ``jvp(*tangents)`` returning the output tangent.
    The rules receive ONE direction (a tangent shaped like its input, a cotangent
    shaped like the output); ``jacfwd``/``jacrev``/forward ``grad`` call them once per
    direction, unless the class sets ``batched = True`` to declare that its rules
    accept leading batch axes (then one call serves a batch of directions).
    Inside the rules ``self.inputs`` are the primal inputs and ``self.value`` the
    output; write the rules with operators or ``admodes.numpy`` so they differentiate
    again.  After a backward sweep ``self.grads`` holds the input gradients.

    The subclass registers itself in ``ad.registry`` under ``name``.

    >>> import admodes as ad
    >>> class Cube(ad.Operation):
    ...     name = "cube_doc"
    ...     def forward(self, x):
    ...         return x ** 3
    ...     def backward(self, output_grad):
    ...         (x,) = self.inputs
    ...         return (3 * x ** 2 * output_grad,)
    ...     def jvp(self, x_dot):
    ...         (x,) = self.inputs
    ...         return 3 * x ** 2 * x_dot
    >>> cube = Cube()
    >>> ad.grad(lambda x: cube(x))(2.0), ad.grad(lambda x: cube(x), mode="forward")(2.0)
    (12.0, 12.0)
    """

    name: str | None = None
    batched: bool = False  # True: the rules accept leading batch axes
    inputs: tuple = ()
    value = None
    grads: tuple | None = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("name") or cls.__name__.lower()
        cls.name = name
        has_bwd = cls.backward is not Operation.backward
        has_jvp = cls.jvp is not Operation.jvp
        existing = registry.get(name)
        if existing is not None and name not in registry._custom:
            raise ValueError(f"Operation {cls.__name__}: the name {name!r} belongs to a "
                             "built-in primitive; choose another name")
        prim = Primitive(
            name, _op_impl,
            jvp_joint=_op_jvp if has_jvp else None,
            vjp_joint=_op_vjp if has_bwd else None,
            doc=(cls.__doc__ or "").strip())
        if not has_jvp:
            prim.jvps = None
        if not has_bwd:
            prim.vjps = None
        prim.analytic = False
        cls._primitive = prim
        registry._add(prim, replace=True)
        registry._custom.add(name)

    def forward(self, *inputs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def backward(self, output_grad):  # pragma: no cover - marker only
        raise NotImplementedError

    def jvp(self, *tangents):  # pragma: no cover - marker only
        raise NotImplementedError

    def __call__(self, *inputs):
        return bind(type(self)._primitive, *inputs, op=self)

    def _node(self, primals, ans):
        node = object.__new__(type(self))
        node.__dict__.update(self.__dict__)
        node.inputs = tuple(primals)
        node.value = ans
        return node


def _op_impl(*inputs, op):
    return op.forward(*inputs)


def _op_vjp(g, ans, primals, params):
    op = params["op"]
    node = op._node(primals, ans)
    lead = _lead(g, ans)
    if lead and not op.batched:
        grads = _one_direction_at_a_time(
            lambda gk: _check_grads(op.name, "backward", node.backward(gk), primals, ()),
            lead, [g], len(primals))
    else:
        grads = node.backward(g)
    grads = _check_grads(op.name, "backward", grads, primals, lead)
    node.grads = op.grads = grads
    return grads


def _op_jvp(tangents, ans, primals, params):
    op = params["op"]
    node = op._node(primals, ans)
    lead = _lead(tangents[0], primals[0]) if tangents else ()
    if lead and not op.batched:
        out = _one_direction_at_a_time(lambda *ts: _check_jvp(op.name, node.jvp(*ts), ans),
                                       lead, tangents, None)
    else:
        out = node.jvp(*tangents)
    want = lead + shape_of(ans)
    if shape_of(out) != want:
        raise ValueError(f"{op.name}.jvp returned shape {shape_of(out)}; the output tangent "
                         f"must have shape {want}")
    return out


def _check_jvp(name, out, ans):
    if shape_of(out) != shape_of(ans):
        raise ValueError(f"{name}.jvp returned shape {shape_of(out)} for one direction; "
                         f"the output tangent must have the output's shape {shape_of(ans)}")
    return out


def primitive(impl: Callable[..., Any], jvp: Callable[..., Any] | None = None,
              vjp: Callable[..., Any] | None = None, *, name: str | None = None,
              batched: bool = False) -> Callable[..., Any]:
    """Make ``impl`` a primitive with hand-written rules (the function form).

    Args:
        impl: the value function (plain numpy; it only sees unboxed values).
        jvp: ``jvp(tangents, ans, *primals) -> output tangent`` (tangents is a tuple,
            zeros for inputs without one), or None for reverse mode only.
        vjp: ``vjp(g, ans, *primals) -> tuple of input cotangents``, or None for forward
            mode only.
        name: registry name (default ``impl.__name__``).
        batched: the rules are written for ONE direction (a tangent shaped like its
            input, a cotangent shaped like the output) unless this is True; then
            ``jacfwd``/``jacrev``/forward ``grad`` call them once per direction.  Set
            it when the rules accept leading batch axes (one call per batch).

    Returns:
        A function that applies the primitive; its ``.primitive`` is the record.

    >>> import admodes as ad, numpy as np
    >>> softsign = ad.primitive(lambda x: x / (1 + np.abs(x)), name="softsign_doc",
    ...     vjp=lambda g, ans, x: (g / (1 + abs(x)) ** 2,))
    >>> ad.grad(softsign)(1.0)
    0.25
    """
    name = name or getattr(impl, "__name__", None)
    if not name or name == "<lambda>":
        raise ValueError("primitive: give a name= for a lambda")
    existing = registry.get(name)
    if existing is not None and name not in registry._custom:
        raise ValueError(f"primitive: the name {name!r} belongs to a built-in primitive")

    def jvp_joint(tangents, ans, primals, params):
        lead = _lead(tangents[0], primals[0]) if tangents else ()
        if lead and not batched:
            return _one_direction_at_a_time(
                lambda *ts: _check_jvp(name, jvp(ts, ans, *primals), ans),
                lead, tangents, None)
        return jvp(tangents, ans, *primals)

    def vjp_joint(g, ans, primals, params):
        lead = _lead(g, ans)
        if lead and not batched:
            grads = _one_direction_at_a_time(
                lambda gk: _check_grads(name, "vjp", vjp(gk, ans, *primals), primals, ()),
                lead, [g], len(primals))
        else:
            grads = vjp(g, ans, *primals)
        return _check_grads(name, "vjp", grads, primals, lead)

    prim = Primitive(name, impl, jvp_joint=jvp_joint if jvp else None,
                     vjp_joint=vjp_joint if vjp else None, analytic=False)
    registry._add(prim, replace=True)
    registry._custom.add(name)

    def apply(*args):
        return bind(prim, *args)

    apply.__name__ = name
    apply.__doc__ = getattr(impl, "__doc__", None)
    apply.primitive = prim
    return apply
