"""The public transformations: grad, value_and_grad, jvp, vjp, jacfwd, jacrev, jacobian,
hessian, hvp.  Plain numpy (and Python floats) in, plain numpy out: no box leaks.

Integer inputs are differentiated as float64 (as HIPS autograd does); booleans and
non-numeric leaves raise ``TypeError``.  Complex inputs are accepted by ``grad``,
``value_and_grad``, ``jvp`` and ``vjp`` with JAX's convention (see
:mod:`admodes.ops.complex`); the Jacobian and Hessian transforms take real inputs only.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .arguments import (
    _argnums,
    _Args,
    _as_input,
    _check_outputs,
    _dtype,
    _finish,
    _mode,
    _unbox,
    _zeros_like,
)
from .dispatch import Box, shape_of, value
from .forward import Dual, ForwardLevel
from .hasaux import plain_aux, split_aux, with_aux
from .reverse import ReverseLevel, Var, backward
from .tree import flatten, leaf_paths, unflatten

__all__ = ["grad", "value_and_grad", "jvp", "vjp", "jacfwd", "jacrev", "jacobian",
           "hessian", "hvp"]

# Elements per chunk of batched tangents/cotangents (times the largest input or output
# leaf): bounds the memory of jacfwd/jacrev/forward grad.
CHUNK_ELEMENTS = 1 << 24

# Forward-mode grad of a function of at most this many Python floats runs one pass per
# input with float tangents instead of one batched pass.
SCALAR_PASSES = 4

# ---------------------------------------------------------------- reverse mode --------


def _record(fun, args, kwargs, argnums, fname):
    """Run ``fun`` on a fresh tape; return (level, inputs, leaf ids, out leaves, tree)."""
    inputs = _Args(args, argnums, fname)
    level = ReverseLevel()
    level.name = fname
    try:
        boxed = [level.leaf(x) for x in inputs.leaves]
        ids = [b._idx for b in boxed]  # before the call: fun may assign into its inputs
        out = inputs.call(fun, boxed, kwargs)
    finally:
        level.close()
    out_leaves, out_td = flatten(out)
    out_leaves = _check_outputs(out_leaves, out, fname)
    return level, inputs, ids, out_leaves, out_td


def _sweep(level, leaf_ids, out_leaves, cts, consume=False):
    seeds = {}
    for o, ct in zip(out_leaves, cts):
        if ct is None or not (isinstance(o, Var) and o._level is level):
            continue
        prev = seeds.get(o._idx)
        seeds[o._idx] = ct if prev is None else prev + ct
    got = backward(level.tape, seeds, leaf_ids, consume)
    return [got.get(i) for i in leaf_ids]


def value_and_grad(fun: Callable[..., Any], argnums: int | Sequence[int] = 0, *, mode: str = "reverse",
                   chunk_size: int | None = None, has_aux: bool = False
                   ) -> Callable[..., tuple[Any, Any]]:
    """Make a function that returns ``(fun(*args), gradient)``.

    Args:
        fun: a function whose output is a real scalar.
        argnums: which positional argument(s) to differentiate (int or tuple).
        mode: ``"reverse"`` (one forward pass, one backward sweep) or ``"forward"``
            (tangent directions pushed in chunks); ``"rev"``/``"fwd"`` also accepted.
        chunk_size: forward mode only: directions per pass (default bounds memory).
        has_aux: ``fun`` returns ``(value, aux)``; the result is ``((value, aux), grad)``
            and aux carries no derivative (as in JAX).

    Returns:
        A function of the same arguments returning ``(value, grad)``; ``grad`` has the
        structure of the argument (a tuple of them when ``argnums`` is a tuple).

    >>> import admodes as ad
    >>> ad.value_and_grad(lambda x, y: x * y + y, argnums=(0, 1))(2.0, 3.0)
    (9.0, (3.0, 3.0))
    """
    mode = _mode(mode, "value_and_grad")
    if has_aux:
        return with_aux(lambda f: value_and_grad(f, argnums, mode=mode, chunk_size=chunk_size),
                        fun, "value_and_grad", lambda r, aux: ((r[0], aux), r[1]))

    @functools.wraps(fun)
    def vg(*args, **kwargs):
        single, nums = _argnums(argnums, len(args), "grad")
        if mode == "reverse":
            level, inputs, ids, outs, td = _record(fun, args, kwargs, nums, "grad")
            out = _scalar_output(outs, td, "grad")
            one = 1.0 if _seed_dtype(out) == np.float64 else _seed_dtype(out).type(1.0)
            cts = _sweep(level, ids, [out], [one], consume=True)  # one sweep: free as we go
            ans = _unbox(out, level)
        else:
            ans, cts, inputs = _forward_grad(fun, args, kwargs, nums, chunk_size)
        grads = inputs.per_arg([_finish(c, x) for c, x in zip(cts, inputs.leaves)])
        return _plain_scalar(ans), grads[0] if single else tuple(grads)

    return vg


def grad(fun: Callable[..., Any], argnums: int | Sequence[int] = 0, *, mode: str = "reverse",
         chunk_size: int | None = None, has_aux: bool = False) -> Callable[..., Any]:
    """Make a function that returns the gradient of a scalar-valued ``fun``.

    Args:
        fun: a function whose output is a real scalar (a float or a 0-d array).
        argnums: int or tuple of ints: the positional argument(s) to differentiate.
        mode: ``"reverse"`` (default) or ``"forward"`` (``"rev"`` / ``"fwd"``).
        chunk_size: forward mode only: tangent directions pushed per pass.
        has_aux: ``fun`` returns ``(value, aux)``; the result is ``(grad, aux)``.

    Returns:
        A function returning the gradient, shaped like the argument(s).

    >>> import admodes as ad
    >>> f = lambda a, b: (a + b) * (b + 1)      # the course's graph
    >>> ad.grad(f, argnums=(0, 1))(2.0, 1.0)
    (2.0, 5.0)
    >>> ad.grad(f, argnums=(0, 1), mode="forward")(2.0, 1.0)
    (2.0, 5.0)
    """
    if has_aux:
        return with_aux(lambda f: grad(f, argnums, mode=mode, chunk_size=chunk_size),
                        fun, "grad", lambda r, aux: (r, aux))
    vg = value_and_grad(fun, argnums, mode=mode, chunk_size=chunk_size)

    @functools.wraps(fun)
    def g(*args, **kwargs):
        return vg(*args, **kwargs)[1]

    return g


def _scalar_output(outs, td, fname):
    if len(outs) != 1 or td[0] != "*":
        raise TypeError(f"{fname} requires a scalar output, but the function returned a "
                        f"{td[0]} of {len(outs)} values; use jacrev/jacobian/vjp instead")
    out = outs[0]
    shape = shape_of(out)
    if shape != ():
        raise TypeError(f"{fname} requires a scalar output, got an array of shape {shape}; "
                        "reduce it (e.g. sum) or use jacrev/jacobian/vjp for non-scalar outputs")
    if np.iscomplexobj(value(out)):
        raise TypeError(f"{fname} requires a real scalar output, got a complex one")
    return out


def _plain_scalar(x):
    if isinstance(x, Box):
        return x
    if isinstance(x, np.ndarray) and x.ndim == 0:
        return x[()]
    return x


def vjp(fun: Callable[..., Any], *primals: Any, has_aux: bool = False
        ) -> tuple[Any, Callable[[Any], tuple[Any, ...]]]:
    """Reverse mode: ``(fun(*primals), vjp_fun)`` where ``vjp_fun(ct)`` returns the
    cotangents of all primals (a tuple) for an output cotangent ``ct``.  With
    ``has_aux=True``, ``fun`` returns ``(out, aux)`` and the result is
    ``(out, vjp_fun, aux)``.

    The forward pass runs once; ``vjp_fun`` sweeps the same tape for every call.

    Args:
        fun: a function of the primals.
        *primals: the point (floats, float arrays, pytrees of them).
        has_aux: ``fun`` returns ``(out, aux)``; ``aux`` is returned as it was computed.

    Returns:
        ``(out, vjp_fun)`` (``(out, vjp_fun, aux)`` with ``has_aux``); ``vjp_fun(ct)``
        takes a cotangent shaped like ``out`` and returns one cotangent per primal.

    >>> import admodes as ad, numpy as np
    >>> out, f_vjp = ad.vjp(lambda x: x * 2.0, np.array([1.0, 2.0]))
    >>> f_vjp(np.array([1.0, 10.0]))
    (array([ 2., 20.]),)
    """
    if has_aux:
        inner, store = split_aux(fun, "vjp")
        return vjp(inner, *primals) + (plain_aux(store[0]),)
    level, inputs, ids, outs, td = _record(fun, primals, {}, tuple(range(len(primals))), "vjp")
    out_shapes = [shape_of(o) for o in outs]
    out = unflatten(td, [_plain_scalar(_unbox(o, level)) for o in outs])

    def vjp_fun(ct):
        cts, ct_td = flatten(ct)
        if ct_td != td and not (len(cts) == 1 and len(outs) == 1):
            raise ValueError("vjp: the cotangent must have the structure of the output")
        for c, s, p in zip(cts, out_shapes, leaf_paths(ct)):
            if shape_of(c) != s:
                raise ValueError(f"vjp: cotangent {p or ''} has shape {shape_of(c)}, but the "
                                 f"output has shape {s}")
        got = _sweep(level, ids, outs, cts)
        return tuple(inputs.per_arg([_finish(c, x) for c, x in zip(got, inputs.leaves)]))

    return out, vjp_fun


# ---------------------------------------------------------------- forward mode --------


def jvp(fun: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    """Forward mode: ``(fun(*primals), J @ tangents)`` in one pass.

    Args:
        fun: the function.
        primals: a tuple (or list) of the positional arguments.
        tangents: a tuple of the same structure and shapes: the direction.

    Returns:
        ``(out, out_tangent)`` with the output's structure.

    >>> import admodes as ad
    >>> ad.jvp(lambda x, y: x * y, (2.0, 3.0), (1.0, 0.0))
    (6.0, 3.0)
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp: primals and tangents must be tuples (or lists) of arguments")
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    inputs = _Args(primals, tuple(range(len(primals))), "jvp")
    tleaves, ttd = flatten(list(tangents))
    if len(tleaves) != len(inputs.leaves):
        raise ValueError("jvp: tangents must have the same structure as primals")
    paths = leaf_paths(list(primals), "primals")
    ts = []
    for t, x, p in zip(tleaves, inputs.leaves, paths):
        t = _as_input(t, p.replace("primals", "tangents", 1), "jvp")
        t = _tangent_dtype(t, x, p)
        if shape_of(t) != shape_of(x):
            raise ValueError(f"jvp: tangent {p.replace('primals', '', 1)} has shape "
                             f"{shape_of(t)}, but the primal has shape {shape_of(x)}")
        ts.append(t)
    outs, td, out_ts, level = _push(fun, inputs, ts, {}, batch=False, fname="jvp")
    out = unflatten(td, [_plain_scalar(o) for o in outs])
    tan = unflatten(td, [_plain_scalar(_finish(t, o)) if t is not None else _zeros_like(o)
                         for t, o in zip(out_ts, outs)])
    return out, tan


def _tangent_dtype(t, x, path):
    """A complex primal's tangent is complex (a real one is promoted); a real primal's
    tangent must be real."""
    tc, xc = np.iscomplexobj(value(t)), np.iscomplexobj(value(x))
    if tc and not xc:
        raise TypeError(f"jvp: tangent {path.replace('primals', '', 1)} is complex but "
                        "its primal is real; a real input has real tangents")
    if xc and not tc and not isinstance(t, Box):
        t = complex(t) if type(x) is complex else np.asarray(t) + 0j
    return t


def _push(fun, inputs, tangents, kwargs, batch, fname):
    level = ForwardLevel(batch=batch)
    level.name = fname
    try:
        boxed = [x if t is None else Dual(x, t, level) for x, t in zip(inputs.leaves, tangents)]
        out = inputs.call(fun, boxed, kwargs)
    finally:
        level.close()
    outs, td = flatten(out)
    outs = _check_outputs(outs, out, fname)
    prim, tans = [], []
    for o in outs:
        if isinstance(o, Dual) and o._level is level:
            prim.append(o._primal)
            tans.append(o._tangent)
        else:
            prim.append(o)
            tans.append(None)
    return prim, td, tans, level


def _chunks(n, per_row, chunk_size):
    if chunk_size is None:
        chunk_size = max(1, CHUNK_ELEMENTS // max(1, per_row))
    chunk_size = max(1, min(int(chunk_size), n))
    return [(s, min(n, s + chunk_size)) for s in range(0, n, chunk_size)]


def _seed(shapes, sizes, s, e, dtypes=None):
    """Rows s..e of the identity over the concatenated leaves, split per leaf (None
    where a leaf has no row in this chunk: a symbolic zero).  ``dtypes``: each leaf's
    seed dtype (float32 leaves get float32 seeds, so float32 stays float32)."""
    out = []
    off = 0
    for i, (shape, size) in enumerate(zip(shapes, sizes)):
        lo, hi = max(s, off), min(e, off + size)
        if lo >= hi:
            out.append(None)
        else:
            # row r is direction s + r: a one at local column s + r - off
            t = np.eye(e - s, size, k=s - off, dtype=dtypes[i] if dtypes else float)
            out.append(t.reshape((e - s,) + tuple(shape)))
        off += size
    return out


def _forward_grad(fun, args, kwargs, nums, chunk_size):
    inputs = _Args(args, nums, "grad")
    n = sum(inputs.sizes)
    if n == 1 or (n <= SCALAR_PASSES and all(type(x) is float for x in inputs.leaves)):
        # Scalar code: a pass per input with Python-float tangents beats one pass with
        # numpy arrays of n directions (each numpy op on a tiny array costs ~1 us).
        cts = []
        out = None
        for j, x in enumerate(inputs.leaves):
            if not inputs.sizes[j]:
                cts.append(None)
                continue
            ts = [None] * len(inputs.leaves)
            ts[j] = 1.0 if type(x) is float else np.ones(shape_of(x))
            outs, td, tans, _ = _push(fun, inputs, ts, kwargs, False, "grad")
            out = _scalar_output(outs, td, "grad")
            ct = tans[0]
            if np.iscomplexobj(value(x)):  # df/dx - i df/dy (JAX's convention)
                ts[j] = ts[j] * 1j
                ct = (0.0 if ct is None else ct) - 1j * _or_zero(
                    _push(fun, inputs, ts, kwargs, False, "grad")[2][0])
            if ct is not None and type(x) is not float and shape_of(ct) != shape_of(x):
                from .ops.shape import reshape  # a size-1 array keeps its shape (1,), (1, 1)
                ct = reshape(ct, shape_of(x))
            cts.append(ct)
        return out, cts, inputs
    outs, td, cols = _forward_columns(fun, inputs, kwargs, chunk_size, "grad")
    ans = _scalar_output(outs, td, "grad")
    cts = _split_rows(cols[0], inputs.shapes, inputs.sizes, ())
    cplx = [np.iscomplexobj(value(x)) for x in inputs.leaves]
    if any(cplx):
        # JAX's convention: the gradient of a real f at z = x + iy is df/dx - i df/dy, so
        # the imaginary directions i e_k are pushed as well (a second set of columns).
        _, _, icols = _forward_columns(fun, inputs, kwargs, chunk_size, "grad",
                                       scale=[1j if c else None for c in cplx])
        icts = _split_rows(icols[0], inputs.shapes, inputs.sizes, ())
        cts = [c - 1j * ic if z else c for c, ic, z in zip(cts, icts, cplx)]
    return ans, cts, inputs


def _or_zero(t):
    return 0.0 if t is None else t


def _forward_columns(fun, inputs, kwargs, chunk_size, fname, scale=None):
    """Push every input direction forward, a chunk of directions per pass.

    Returns ``(out leaves, out tree, cols)``: ``cols[k]`` stacks the tangents of output
    leaf ``k`` for all ``n`` directions, shape ``(n,) + out_shape``.  ``scale[j]``, when
    given, multiplies leaf j's directions (None: leaf j gets zero tangents)."""
    n = sum(inputs.sizes)
    chunks = []
    outs = td = None
    for s, e in _chunks(max(n, 1), max(inputs.sizes, default=1), chunk_size):
        ts = _seed(inputs.shapes, inputs.sizes, s, e, [_seed_dtype(x) for x in inputs.leaves]) \
            if n else [None] * len(inputs.leaves)
        if scale is not None:
            ts = [None if t is None or c is None else t * c for t, c in zip(ts, scale)]
        outs, td, tans, _ = _push(fun, inputs, ts, kwargs, True, fname)
        chunks.append([t if t is not None else np.zeros((e - s,) + shape_of(o),
                                                        np.result_type(_dtype(o), 0.0))
                       for t, o in zip(tans, outs)])
    cols = [_stack_rows([c[k] for c in chunks], n, shape_of(o)) for k, o in enumerate(outs)]
    return outs, td, cols


def _stack_rows(parts, n, tail):
    """Chunks of rows, each ``(rows,) + tail``, as one ``(n,) + tail`` array."""
    from .ops.shape import concatenate
    if not n:
        return np.zeros((0,) + tuple(tail))
    return parts[0] if len(parts) == 1 else concatenate(parts, axis=0)


def _split_rows(full, shapes, sizes, tail):
    """The rows of ``full`` split per leaf: leaf j's rows reshaped to ``shapes[j] + tail``."""
    from .ops.shape import reshape
    out = []
    off = 0
    for shape, size in zip(shapes, sizes):
        out.append(reshape(full[off:off + size], tuple(shape) + tuple(tail)))
        off += size
    return out


# ---------------------------------------------------------------- Jacobians -----------


def _jac_assemble(rows_per_out, out_shapes, inputs, single, out_td, in_major):
    """Build the Jacobian tree: for each output leaf, per argnum, a tree of blocks with
    shape ``out_shape + in_shape``.

    ``rows_per_out[k][j]`` is the block of output leaf k and input leaf j, laid out as
    ``in_shape + out_shape`` (forward: in_major) or ``out_shape + in_shape``."""
    from .ops.shape import transpose
    per_out = []
    for k, oshape in enumerate(out_shapes):
        blocks = []
        for j, ishape in enumerate(inputs.shapes):
            b = rows_per_out[k][j]
            if in_major:
                ni, no = len(ishape), len(oshape)
                b = transpose(b, tuple(range(ni, ni + no)) + tuple(range(ni)))
            blocks.append(_finish(b, None) if not isinstance(b, Box) else b)
        trees = inputs.per_arg(blocks)
        per_out.append(trees[0] if single else tuple(trees))
    return unflatten(out_td, per_out)


def _jacfwd_impl(fun, args, kwargs, nums, single, chunk_size, fname):
    inputs = _Args(args, nums, fname)
    outs, td, cols = _forward_columns(fun, inputs, kwargs, chunk_size, fname)
    out_shapes = [shape_of(o) for o in outs]
    blocks = [_split_rows(col, inputs.shapes, inputs.sizes, oshape)
              for col, oshape in zip(cols, out_shapes)]
    return _jac_assemble(blocks, out_shapes, inputs, single, td, in_major=True)


def _jacrev_by_rows(sweep, inputs, out_shapes, out_td, single, chunk_size, out_dtypes=None):
    """The reverse-mode Jacobian, one chunk of output rows per backward sweep.

    ``sweep(seeds)`` takes the cotangent rows of one chunk, per output leaf (None where
    the chunk has no row of that leaf), and returns the cotangents of the input leaves
    (None for zero), each with the chunk's leading batch axis.  Shared by ``jacrev``
    (sweeping a tape) and ``Graph.jacobian`` (sweeping a static graph)."""
    out_sizes = [math.prod(s) for s in out_shapes]
    m = sum(out_sizes)
    per_leaf = [[] for _ in inputs.leaves]
    for s, e in _chunks(max(m, 1), max(inputs.sizes, default=1), chunk_size):
        seeds = _seed(out_shapes, out_sizes, s, e, out_dtypes) if m else [None] * len(out_shapes)
        for j, (g, shape) in enumerate(zip(sweep(seeds), inputs.shapes)):
            per_leaf[j].append(g if g is not None else np.zeros(
                (e - s,) + tuple(shape), _seed_dtype(inputs.leaves[j])))
    # per input leaf j, its rows split per output leaf k: blocks[k][j]
    per_in = [_split_rows(_stack_rows(parts, m, shape), out_shapes, out_sizes, shape)
              for parts, shape in zip(per_leaf, inputs.shapes)]
    blocks = [list(row) for row in zip(*per_in)] if per_in else [[] for _ in out_shapes]
    return _jac_assemble(blocks, out_shapes, inputs, single, out_td, in_major=False)


def _jacrev_from_tape(level, inputs, ids, outs, td, single, chunk_size):
    return _jacrev_by_rows(lambda seeds: _sweep(level, ids, outs, seeds), inputs,
                           [shape_of(o) for o in outs], td, single, chunk_size,
                           [_seed_dtype(o) for o in outs])


def _seed_dtype(x):
    """float32 (or float16) for such values, float64 otherwise."""
    dt = _dtype(x) if not isinstance(x, float) else None
    return dt if dt is not None and dt.kind == "f" and dt.itemsize < 8 else np.float64


def _real_outputs(outs, fname):
    for o in outs:
        if np.iscomplexobj(value(o)):
            raise TypeError(f"{fname}: the function has a complex output; a reverse-mode "
                            "Jacobian needs real outputs (a complex output is two real "
                            "rows per element); use jacfwd, vjp, or return the real and "
                            "imaginary parts")


def jacfwd(fun: Callable[..., Any], argnums: int | Sequence[int] = 0, *,
           chunk_size: int | None = None, has_aux: bool = False) -> Callable[..., Any]:
    """The Jacobian by forward mode: tangent directions pushed in chunks, each chunk in
    one pass (tangents carry a leading batch axis).

    Returns an array of shape ``out.shape + in.shape`` (trees of them for pytrees).
    ``has_aux=True`` (here and in jacrev/jacobian): ``fun`` returns ``(out, aux)`` and
    the result is ``(jacobian, aux)``, aux without derivative, as in JAX.

    >>> import admodes as ad, numpy as np
    >>> ad.jacfwd(lambda x: x ** 2)(np.array([1.0, 2.0]))
    array([[2., 0.],
           [0., 4.]])
    """
    if has_aux:  # fun returns (out, aux): the result is (jacobian, aux)
        return with_aux(lambda f: jacfwd(f, argnums, chunk_size=chunk_size), fun, "jacfwd",
                        lambda r, aux: (r, aux))

    @functools.wraps(fun)
    def jac(*args, **kwargs):
        single, nums = _argnums(argnums, len(args), "jacfwd")
        return _jacfwd_impl(fun, args, kwargs, nums, single, chunk_size, "jacfwd")

    return jac


def jacrev(fun: Callable[..., Any], argnums: int | Sequence[int] = 0, *,
           chunk_size: int | None = None, has_aux: bool = False) -> Callable[..., Any]:
    """The Jacobian by reverse mode: one forward pass (one tape), then backward sweeps
    of batched cotangent rows over that same tape.

    Args:
        fun: a function of real inputs with real outputs.
        argnums: the argument (or tuple of arguments) to differentiate.
        chunk_size: output rows per backward sweep (None: all in one batched sweep).
        has_aux: ``fun`` returns ``(out, aux)``; the result is ``(jacobian, aux)``.

    Returns:
        A function returning blocks of shape ``out.shape + in.shape`` (nested in the
        output's and the inputs' pytree structure).

    >>> import admodes as ad, numpy as np
    >>> ad.jacrev(lambda x: x ** 2)(np.array([1.0, 2.0]))
    array([[2., 0.],
           [0., 4.]])
    """
    if has_aux:  # fun returns (out, aux): the result is (jacobian, aux)
        return with_aux(lambda f: jacrev(f, argnums, chunk_size=chunk_size), fun, "jacrev",
                        lambda r, aux: (r, aux))

    @functools.wraps(fun)
    def jac(*args, **kwargs):
        single, nums = _argnums(argnums, len(args), "jacrev")
        level, inputs, ids, outs, td = _record(fun, args, kwargs, nums, "jacrev")
        _real_outputs(outs, "jacrev")
        return _jacrev_from_tape(level, inputs, ids, outs, td, single, chunk_size)

    return jac


# The cost model's constants, fitted to the report's jacfwd/jacrev crossover grid
# (tanh(B tanh(A x)), n and m from 4 to 1024): a forward pass carrying w tangent
# directions costs about FORWARD_OVERHEAD times a reverse record-and-sweep carrying w
# cotangent rows, and either costs about (1 + w / FIXED_WIDTH) times a pass of width 1
# (below FIXED_WIDTH directions the per-op overhead dominates the array work).
FORWARD_OVERHEAD = 1.1
FIXED_WIDTH = 256


def choose_mode(n_in: int, n_out: int) -> str:
    """The cost model behind :func:`jacobian`.

    With chunked (vectorised) passes, ``jacfwd`` costs one forward pass carrying ``n_in``
    tangent directions and ``jacrev`` one recording pass plus one sweep carrying
    ``n_out`` cotangent rows.  Forward mode wins when
    ``FORWARD_OVERHEAD * (1 + n_in / FIXED_WIDTH) < 1 + n_out / FIXED_WIDTH``: clearly
    fewer inputs than outputs, and not by a handful when both are small.

    >>> choose_mode(4, 1024), choose_mode(1024, 4), choose_mode(4, 16)
    ('forward', 'reverse', 'reverse')
    """
    cost_forward = FORWARD_OVERHEAD * (1 + n_in / FIXED_WIDTH)
    cost_reverse = 1 + n_out / FIXED_WIDTH
    return "forward" if cost_forward < cost_reverse else "reverse"


def jacobian(fun: Callable[..., Any], argnums: int | Sequence[int] = 0, *,
             chunk_size: int | None = None, has_aux: bool = False) -> Callable[..., Any]:
    """The Jacobian, by whichever mode the shapes favour (see :func:`choose_mode`).

    The function is first recorded on a tape (which reveals the output size); if
    reverse mode is chosen, that same tape is swept, so nothing is wasted.

    Args:
        fun: a function of real inputs.
        argnums: the argument (or tuple of arguments) to differentiate.
        chunk_size: directions or rows per sweep.
        has_aux: ``fun`` returns ``(out, aux)``; the result is ``(jacobian, aux)``.

    Returns:
        A function returning the Jacobian, laid out as :func:`jacfwd`'s and
        :func:`jacrev`'s.

    >>> import admodes as ad, numpy as np
    >>> ad.jacobian(lambda x: np.sin(x).sum())(np.zeros(3))
    array([1., 1., 1.])
    """
    if has_aux:  # fun returns (out, aux): the result is (jacobian, aux)
        return with_aux(lambda f: jacobian(f, argnums, chunk_size=chunk_size), fun, "jacobian",
                        lambda r, aux: (r, aux))

    @functools.wraps(fun)
    def jac(*args, **kwargs):
        single, nums = _argnums(argnums, len(args), "jacobian")
        level, inputs, ids, outs, td = _record(fun, args, kwargs, nums, "jacobian")
        n_in = sum(inputs.sizes)
        n_out = sum(int(np.prod(shape_of(o), dtype=np.int64)) for o in outs)
        if choose_mode(n_in, n_out) == "forward":
            return _jacfwd_impl(fun, args, kwargs, nums, single, chunk_size, "jacobian")
        _real_outputs(outs, "jacobian")
        return _jacrev_from_tape(level, inputs, ids, outs, td, single, chunk_size)

    return jac


def hessian(fun: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """The Hessian of a scalar function, forward-over-reverse (``jacfwd(jacrev(f))``).

    Args:
        fun: a scalar function of real inputs.
        argnums: the argument (or tuple of arguments) to differentiate.

    Returns:
        A function returning blocks of shape ``in.shape + in.shape``.

    >>> import admodes as ad, numpy as np
    >>> ad.hessian(lambda x: (x ** 3).sum())(np.array([1.0, 2.0]))
    array([[ 6.,  0.],
           [ 0., 12.]])
    """
    return jacfwd(jacrev(fun, argnums), argnums)


def hvp(fun: Callable[..., Any], x: Any, v: Any) -> Any:
    """The Hessian-vector product ``H(x) @ v`` without forming ``H``:
    forward mode over the reverse-mode gradient (one pass of each).

    Args:
        fun: a scalar function of one argument.
        x: the point.
        v: the direction, shaped like ``x``.

    Returns:
        ``H(x) @ v``, shaped like ``x``.

    >>> import admodes as ad, numpy as np
    >>> ad.hvp(lambda x: (x ** 3).sum(), np.array([1.0, 2.0]), np.array([1.0, 0.0]))
    array([6., 0.])
    """
    return jvp(grad(fun), (x,), (v,))[1]
