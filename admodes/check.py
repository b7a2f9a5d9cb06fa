"""Checking derivatives: numerical references, ``check_grads`` and ``crosscheck``.

Three numerical references, one entry point (:func:`numerical_jacobian`):

* **central differences** ``(f(x + h) - f(x - h)) / 2h``;
* **Richardson extrapolation** (Ridders' method): central differences at a shrinking
  sequence of steps, extrapolated to step zero in a Neville tableau, with an error
  estimate taken from the tableau;
* **complex step** ``Im f(x + ih) / h``: no subtraction, so no cancellation; exact to
  rounding for real-analytic functions.  Valid only when every primitive the function
  uses is complex-analytic (the ``analytic`` flag of its record in ``ad.registry``);
  otherwise the reference falls back to differences and says so.

**The step rule.**  Input element ``x_i`` of a leaf ``x`` (dtype epsilon ``eps``) has
the *scale* ``s_i = max(|x_i|, 0.1 * rms(x))`` (``s_i = 1`` when the leaf is all
zeros), and the steps are relative to it:

==============  ========================  =================================================
method          step                      why
==============  ========================  =================================================
central         ``eps ** (1/3) * s_i``    balances truncation ``~h**2`` and rounding ``~eps/h``
Richardson      ``0.1 * s_i``, then /1.4  Ridders starts large; the tableau removes ``h**2k``
complex step    ``eps * s_i``             no rounding penalty: the smaller the better
==============  ========================  =================================================

Scaling with ``|x_i|`` makes every check invariant under rescaling the inputs (``x`` at
``1e-8`` or ``1e8`` behaves like ``x`` at 1); each step is rounded so that ``x_i + h`` is
exactly representable.

:func:`check_grads` uses directional differences: one random direction ``v`` whose
components are ``s_i`` times standard normals, stepped by ``h`` and ``h/2`` (four
evaluations, one Richardson step).  ``|D(h) - D(h/2)|`` estimates the truncation error
and ``eps * |f| / h`` the rounding error; both enter the tolerance, so tolerances scale
with the input and output magnitudes.  When the estimate is poor the step is moved by
factors of 10 (up when rounding dominates, down when truncation does).
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np

from .api import jacfwd, jacrev, jvp, vjp
from .dispatch import Box, counting
from .registry import registry
from .tree import flatten, leaf_paths, unflatten

__all__ = ["numerical_jacobian", "check_grads", "crosscheck", "CrossCheckReport",
           "input_scale"]

_METHODS = ("central", "richardson", "complex")
_MODES = {"forward": "forward", "fwd": "forward", "reverse": "reverse", "rev": "reverse"}


# ---------------------------------------------------------------- leaves and scales ---


def input_scale(x):
    """The per-element scale that all finite-difference steps are proportional to.

    ``s_i = max(|x_i|, 0.1 * rms(x))``, or 1 everywhere when ``x`` is all zeros.

    Args:
        x: a float or a float array.

    Returns:
        A float64 array of ``x``'s shape.

    >>> input_scale(np.array([2.0, 0.0, -1e-8]))
    array([2.        , 0.11547005, 0.11547005])
    """
    a = np.abs(np.asarray(x, dtype=np.float64))
    if a.size == 0:
        return a
    finite = a[np.isfinite(a)]
    top = finite.max() if finite.size else 0.0
    if top == 0.0:
        return np.ones_like(a)
    rms = top * math.sqrt(float(np.mean((finite / top) ** 2)))
    return np.maximum(a, 0.1 * rms)


class _Inputs:
    """The float leaves of a tuple of arguments, and how to rebuild the arguments."""

    def __init__(self, args, prefix="args"):
        leaves, self.td = flatten(list(args))
        self.paths = leaf_paths(list(args), prefix)
        self.kinds, self.arrays = [], []
        for x, p in zip(leaves, self.paths):
            if isinstance(x, (bool, np.bool_)) or np.iscomplexobj(x):
                raise TypeError(f"{p} is {type(x).__name__}: derivative checks need real "
                                "float inputs")
            if isinstance(x, (float, int)):
                self.kinds.append("py")
                a = np.asarray(float(x))
            elif isinstance(x, np.generic) and not isinstance(x, np.ndarray):
                self.kinds.append("scalar")
                a = np.asarray(x)
            else:
                self.kinds.append("array")
                a = np.asarray(x)
            if a.dtype.kind in "iu":
                a = a.astype(np.float64)
            if a.dtype.kind != "f":
                raise TypeError(f"{p} has dtype {a.dtype}: derivative checks need float inputs")
            self.arrays.append(a)
        self.shapes = [a.shape for a in self.arrays]
        self.sizes = [a.size for a in self.arrays]
        self.scales = [input_scale(a) for a in self.arrays]

    @property
    def eps(self):
        return max((np.finfo(a.dtype).eps for a in self.arrays), default=np.finfo(float).eps)

    def leaf(self, k, a):
        """``a`` as input ``k``'s kind: a Python number, a numpy scalar, or an array."""
        if isinstance(a, Box):
            return a
        if self.kinds[k] == "py":
            return complex(a) if np.iscomplexobj(a) else float(a)
        if self.kinds[k] == "scalar":
            return np.asarray(a)[()]
        return np.asarray(a)

    def build(self, arrays):
        return unflatten(self.td, [self.leaf(k, a) for k, a in enumerate(arrays)])

    def shifted(self, v, h):
        """Inputs moved by ``h * v`` (v: one array per leaf, None = no move)."""
        return [a if d is None else (a + h * d).astype(a.dtype) for a, d in zip(self.arrays, v)]


def _dtype_of_eps(eps):
    for dt in (np.float16, np.float32, np.float64, np.longdouble):
        if np.finfo(dt).eps <= eps:
            return dt
    return np.float64


def _outputs(out):
    """Flatten an output tree: (arrays, tree, the largest float epsilon among them)."""
    leaves, td = flatten(out)
    arrs, eps = [], np.finfo(np.float64).eps
    for o in leaves:
        a = np.asarray(o)
        if a.dtype.kind == "f":
            eps = max(eps, np.finfo(a.dtype).eps)
        arrs.append(a)
    return arrs, td, eps


def _real64(arrs):
    return [np.asarray(a, dtype=np.float64) if np.asarray(a).dtype.kind != "c"
            else np.asarray(a).real.astype(np.float64) for a in arrs]


# ---------------------------------------------------------------- analyticity ---------


def _primitives_used(fun, inputs):
    """Names of the primitives ``fun`` runs at ``inputs`` (one traced real evaluation),
    or None if it cannot be traced."""
    saved = {n: (p.n_impl, p.n_jvp, p.n_vjp) for n, p in registry.items()}
    try:
        with counting() as snapshot:
            vjp(lambda *xs: fun(*inputs.build(xs)), *inputs.arrays)
            _, per = snapshot(by_primitive=True)
        return set(per)
    except Exception:
        return None
    finally:
        for n, (a, b, c) in saved.items():
            p = registry.get(n)
            if p is not None:
                p.n_impl, p.n_jvp, p.n_vjp = a + p.n_impl, b + p.n_jvp, c + p.n_vjp


def complex_step_problem(fun, inputs):
    """Why complex step is not valid for ``fun`` at ``inputs`` (None when it is): a
    primitive it runs is not complex-analytic (its registry flag), or it cannot be
    traced to find out."""
    used = _primitives_used(fun, inputs)
    if used is None:
        return "the function could not be traced to list its primitives"
    bad = sorted(n for n in used if n in registry and not registry[n].analytic)
    if bad:
        return "not complex-analytic: " + ", ".join(bad)
    return None


# ---------------------------------------------------------------- numerical_jacobian --


def _flat_fun(fun, inputs):
    """fun of a list of per-leaf arrays -> list of output arrays."""
    def call(arrays):
        return [np.asarray(o) for o in flatten(fun(*inputs.build(arrays)))[0]]
    return call


def _exact_step(x, h):
    """Round the step so that x + h is exact (the difference quotient then divides by
    the step that was really taken)."""
    return (x + h) - x


def _central(call, inputs, k, i):
    """``d(h)``: the central difference of every output along element ``i`` of input
    ``k``, with the step rounded so that ``x + h`` is exact."""
    a = inputs.arrays[k]
    flat = a.reshape(-1)

    def d(h):
        h = float(_exact_step(flat[i], flat.dtype.type(h))) or float(h)
        arrays = list(inputs.arrays)
        p, m = flat.copy(), flat.copy()
        p[i] += h
        m[i] -= h
        arrays[k] = p.reshape(a.shape)
        fp = _vec(call(arrays))
        arrays[k] = m.reshape(a.shape)
        fm = _vec(call(arrays))
        return (fp - fm) / (2.0 * h)

    return d


def _jac_central(call, inputs, out_sizes, rel, with_error):
    cols, errs = [], []
    for k, a in enumerate(inputs.arrays):
        s = inputs.scales[k].reshape(-1)
        for i in range(a.size):
            diff = _central(call, inputs, k, i)

            def d(hrel, i=i, s=s, diff=diff):
                return diff(hrel * s[i])
            col = d(rel)
            cols.append(col)
            if with_error:
                errs.append(np.abs(d(2.0 * rel) - col) / 3.0)
    return _stack(cols, out_sizes), (_stack(errs, out_sizes) if with_error else None)


def _vec(outs):
    return np.concatenate([o.astype(np.float64).reshape(-1) if o.dtype.kind != "c"
                           else o.reshape(-1) for o in outs]) if outs else np.zeros(0)


def _stack(cols, out_sizes):
    m = sum(out_sizes)
    if not cols:
        return np.zeros((m, 0))
    return np.stack(cols, axis=1).reshape(m, len(cols))


def _ridders(d, h0, con=1.4, ntab=10, safe=2.0):
    """Ridders' method: ``d(h)`` is a central difference (vector over the outputs).
    Returns (estimate, error estimate), both per output."""
    con2 = con * con
    prev = [d(h0)]
    best = prev[0].copy()
    err = np.full(best.shape, np.inf)
    h = h0
    for i in range(1, ntab):
        h /= con
        row = [d(h)]
        fac = con2
        for j in range(1, i + 1):
            row.append((row[j - 1] * fac - prev[j - 1]) / (fac - 1.0))
            fac *= con2
            e = np.maximum(np.abs(row[j] - row[j - 1]), np.abs(row[j] - prev[j - 1]))
            e = np.where(np.isfinite(e), e, np.inf)
            better = e <= err
            best = np.where(better, row[j], best)
            err = np.where(better, e, err)
        grew = np.abs(row[i] - prev[i - 1])
        prev = row
        if np.all(~(grew < safe * err)):  # NaN counts as "grew": stop
            break
    return best, err


def _jac_richardson(call, inputs, out_sizes):
    """Ridders per input element, then a consistency check against a small-step central
    difference: where a kink lies within Ridders' (large) steps the two disagree beyond
    their error bars, and the small-step estimate is kept instead."""
    cols, errs = [], []
    eps = inputs.eps
    big = max((_absmax(o) for o in call(inputs.arrays)), default=0.0)
    for k, a in enumerate(inputs.arrays):
        s = inputs.scales[k].reshape(-1)
        for i in range(a.size):
            d = _central(call, inputs, k, i)
            est, e = _ridders(d, 0.1 * float(s[i]))
            hc = eps ** (1 / 3) * float(s[i])
            dc1, dc2 = d(hc), d(2 * hc)
            ec = np.abs(dc1 - dc2) + 16 * eps * big / hc
            with np.errstate(invalid="ignore"):
                off = ~(np.abs(est - dc1) <= e + 3 * ec) & np.isfinite(dc1)
            est = np.where(off, (4 * dc1 - dc2) / 3, est)
            e = np.where(off, ec, e)
            cols.append(est)
            errs.append(e)
    return _stack(cols, out_sizes), _stack(errs, out_sizes)


def _jac_complex(call, inputs, out_sizes):
    cols = []
    for k, a in enumerate(inputs.arrays):
        flat = a.reshape(-1)
        s = inputs.scales[k].reshape(-1)
        ctype = np.result_type(flat.dtype, np.complex64)
        eps = np.finfo(flat.dtype).eps
        for i in range(flat.size):
            h = float(eps * s[i])
            z = flat.astype(ctype)
            z[i] += 1j * h
            arrays = list(inputs.arrays)
            arrays[k] = z.reshape(a.shape)
            outs = call(arrays)
            for o in outs:
                if o.dtype.kind == "f":  # a float output lost its imaginary part
                    raise _NotAnalytic("an output was real for complex input")
            cols.append(np.imag(_vec(outs)).astype(np.float64) / h)
    return _stack(cols, out_sizes)


class _NotAnalytic(Exception):
    pass


def _try_complex(fun, inputs, call, out_sizes):
    """Complex-step Jacobian, or (None, reason) when complex step is not valid."""
    why = complex_step_problem(fun, inputs)
    if why is not None:
        return None, why
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("error", np.exceptions.ComplexWarning)
            return _jac_complex(call, inputs, out_sizes), None
    except (_NotAnalytic, TypeError, ValueError, np.exceptions.ComplexWarning) as e:
        return None, f"the function does not accept complex input ({e})"


def _numerical_flat(fun, inputs, method, step=None, with_error=False):
    """Flat Jacobian (rows: concatenated outputs, columns: concatenated inputs).
    Returns (J, error or None, out info, note)."""
    call = _flat_fun(fun, inputs)
    outs, out_td, out_eps = _outputs(fun(*inputs.build(inputs.arrays)))
    out_sizes = [o.size for o in outs]
    eps = max(inputs.eps, out_eps)
    note = ""
    if method == "complex":
        J, why = _try_complex(fun, inputs, call, out_sizes)
        if J is not None:
            err = 4 * eps * np.abs(J) if with_error else None
            return J, err, (outs, out_td), note
        note = f"complex step not valid ({why}); used Richardson differences"
        warnings.warn(f"numerical_jacobian: {note}", stacklevel=3)
        method = "richardson"
    if method == "central":
        rel = eps ** (1 / 3) if step is None else step
        J, err = _jac_central(call, inputs, out_sizes, rel, with_error)
    else:
        J, err = _jac_richardson(call, inputs, out_sizes)
    return J, err, (outs, out_td), note


def _assemble(J, inputs, outs, out_td):
    """Flat Jacobian -> ``out.shape + x.shape`` blocks, in the output's tree of the
    input's tree (a plain array when both are single arrays)."""
    per_out, r = [], 0
    for o in outs:
        blocks, c = [], 0
        for shape, size in zip(inputs.shapes, inputs.sizes):
            blocks.append(J[r:r + o.size, c:c + size].reshape(o.shape + shape))
            c += size
        r += o.size
        tree = unflatten(inputs.td, blocks)
        per_out.append(tree[0])
    return unflatten(out_td, per_out)


def numerical_jacobian(fun, x, method="central", *, step=None, return_error=False):
    """The Jacobian of ``fun`` at ``x`` by finite differences or complex step.

    Args:
        fun: a function of one argument (a float, an array, or a pytree of them).
        x: the point.
        method: ``"central"`` (central differences, step ``eps**(1/3)`` times the
            input's scale), ``"richardson"`` (Ridders' extrapolation, with an error
            estimate) or ``"complex"`` (complex step; ``fun`` must accept complex input
            and use only complex-analytic primitives, otherwise this warns and falls
            back to ``"richardson"``).  See the module docstring for the step rule.
        step: central differences only: the relative step (default ``eps ** (1/3)``).
        return_error: also return an error estimate of the same shape (Richardson: from
            the tableau; central: from a second step ``2h``; complex: rounding level).

    Returns:
        An array of shape ``out.shape + x.shape`` (the gradient for a scalar ``fun``);
        for pytrees, the output's tree of ``x``'s tree of such blocks.  With
        ``return_error``, a pair ``(jacobian, error)``.

    >>> import numpy as np
    >>> J = numerical_jacobian(np.sin, np.array([0.0, 1.0]), method="complex")
    >>> np.allclose(J, np.diag(np.cos([0.0, 1.0])), rtol=1e-15, atol=0)
    True
    >>> g, err = numerical_jacobian(lambda x: (x ** 3).sum(), np.array([1.0, 2.0]),
    ...                             method="richardson", return_error=True)
    >>> g.round(10), bool(err.max() < 1e-9)
    (array([ 3., 12.]), True)
    """
    if method not in _METHODS:
        raise ValueError(f"numerical_jacobian: unknown method {method!r}; expected one of "
                         f"{', '.join(_METHODS)}")
    inputs = _Inputs((x,))
    J, err, (outs, out_td), _ = _numerical_flat(
        lambda a: fun(a), inputs, method, step, with_error=return_error)
    jac = _assemble(J, inputs, outs, out_td)
    if return_error:
        return jac, _assemble(err, inputs, outs, out_td)
    return jac


# ---------------------------------------------------------------- check_grads ---------


class _Directional:
    """Directional derivatives ``J v`` of one function at one point, with error bars."""

    def __init__(self, fun, inputs, eps_mach, rel_step, use_complex):
        self.call = _flat_fun(fun, inputs)
        self.inputs = inputs
        self.eps = eps_mach
        self.h0 = rel_step
        self.target = 10 * math.sqrt(eps_mach)
        self.complex = use_complex
        self.name = ("complex step" if use_complex else
                     "central differences + 1 Richardson step")

    def __call__(self, v):
        """(estimate, error estimate, rounding estimate) per output leaf."""
        if self.complex:
            h = self.eps
            ctype = [np.result_type(a.dtype, np.complex64) for a in self.inputs.arrays]
            arrays = [a.astype(c) + (0 if d is None else 1j * h * d)
                      for a, c, d in zip(self.inputs.arrays, ctype, v)]
            outs = self.call(arrays)
            est = [np.imag(o).astype(np.float64) / h for o in outs]
            zero = [np.zeros(e.shape) for e in est]
            return est, zero, [self.eps * np.abs(e) for e in est]
        h, best, best_rel, moved = self.h0, None, np.inf, 0
        for _ in range(6):
            got = self._pair(v, h)
            rel = _relative(got)
            if best is None or rel < best_rel:
                best, best_rel = got, rel
            if rel <= self.target:
                break
            est_max = max((float(np.max(e, initial=0.0)) for e in _finite(got[1])), default=0)
            noise_max = max((float(np.max(n, initial=0.0)) for n in _finite(got[2])),
                            default=0)
            factor = 10.0 if est_max <= 4 * noise_max else 0.1
            if (moved and factor != moved) or h * factor > 1e-2:
                break
            moved = factor
            h *= factor
        return best

    def _pair(self, v, h):
        with np.errstate(all="ignore"):
            f1p = _real64(self.call(self.inputs.shifted(v, h)))
            f1m = _real64(self.call(self.inputs.shifted(v, -h)))
            f2p = _real64(self.call(self.inputs.shifted(v, h / 2)))
            f2m = _real64(self.call(self.inputs.shifted(v, -h / 2)))
            est, err, noise = [], [], []
            for a, b, c, d in zip(f1p, f1m, f2p, f2m):
                d1 = (a - b) / (2 * h)
                d2 = (c - d) / h
                est.append((4 * d2 - d1) / 3)
                err.append(np.abs(d1 - d2))
                # Rounding is relative to the leaf's largest value, not to each element:
                # an element can be small because large terms cancelled inside f.
                big = max(_absmax(a), _absmax(b), _absmax(c), _absmax(d))
                noise.append(np.full(np.shape(a), self.eps * big / h))
        return est, err, noise


def _absmax(a):
    a = np.abs(np.asarray(a, dtype=np.float64))
    a = a[np.isfinite(a)]
    return float(a.max()) if a.size else 0.0


def _finite(arrs):
    return [a[np.isfinite(a)] for a in arrs]


def _relative(got):
    est, err, noise = got
    e = max((float(np.max(x, initial=0.0)) for x in _finite(err)), default=0.0)
    e += max((float(np.max(x, initial=0.0)) for x in _finite(noise)), default=0.0)
    s = max((float(np.max(np.abs(x), initial=0.0)) for x in _finite(est)), default=0.0)
    d = max((float(np.max(x, initial=0.0)) for x in _finite(err)), default=0.0)
    if e == 0.0 or (s == 0.0 and d == 0.0):  # exact, or a derivative that is exactly 0
        return 0.0
    return e / s if s > 0 else np.inf


class _Row:
    __slots__ = ("mode", "arg", "order", "output", "ad", "ref", "err", "tol")

    def __init__(self, **kw):
        for k, v in kw.items():
            setattr(self, k, v)


def _label(kind, chain):
    base = {"forward": "forward", "reverse": "reverse",
            "adjoint": "forward vs reverse"}[kind]
    if chain:
        base += " over " + " over ".join(reversed(chain))
    return base


def _tree_dirs(inputs, rng):
    return [(rng.standard_normal(s) * sc).astype(a.dtype)
            for s, sc, a in zip(inputs.shapes, inputs.scales, inputs.arrays)]


def _cotangents(outs, rng):
    u = []
    for o in outs:
        if o.dtype.kind == "f":
            u.append(rng.standard_normal(o.shape).astype(o.dtype))
        else:
            u.append(np.zeros(o.shape))
    return u


def _ct_tree(u, outs, out_td):
    leaves = []
    for c, o in zip(u, outs):
        leaves.append(float(c) if o.shape == () else c)
    return unflatten(out_td, leaves)


def _dot(a, b):
    return float(sum(np.sum(np.asarray(x, np.float64) * np.asarray(y, np.float64))
                     for x, y in zip(a, b)))


def _absdot(a, b):
    return float(sum(np.sum(np.abs(np.asarray(x, np.float64) * np.asarray(y, np.float64)))
                     for x, y in zip(a, b)))


class _Level:
    """All checks of one function (the user's, or a derivative function) at one order."""

    def __init__(self, fun, args, chain, opts):
        self.fun, self.args, self.chain, self.opts = fun, tuple(args), chain, opts
        self.inputs = _Inputs(self.args)
        out = fun(*self.args)
        self.outs, self.out_td, out_eps = _outputs(out)
        self.out_paths = leaf_paths(out) if len(self.outs) > 1 else [""]
        self.eps = max(self.inputs.eps, out_eps)
        self.rtol = opts["rtol"] if opts["rtol"] is not None else 10 * math.sqrt(self.eps)
        # Below tiny/eps a value is underflow, not a derivative.
        floor = float(np.finfo(_dtype_of_eps(self.eps)).tiny / self.eps)
        self.atol = max(opts["atol"] if opts["atol"] is not None else 0.0, floor)
        self.out_mag = [np.full(o.shape, _absmax(o)) for o in self.outs]
        for o, p in zip(self.outs, self.out_paths):
            if o.dtype.kind in "fc" and not np.all(np.isfinite(o)):
                what = ("the function" if not chain else
                        f"its {' over '.join(reversed(chain))}-mode derivative")
                raise ValueError(f"check_grads: {what} is not finite at this point (output "
                                 f"{p or 'out'} holds inf or nan): choose another point")
        rel = opts["eps"] if opts["eps"] is not None else self.eps ** (1 / 3)
        use_complex = False
        self.note = ""
        if not chain and opts["complex"]:
            why = complex_step_problem(fun, self.inputs)
            if why is None:
                use_complex = self._complex_ok()
                if not use_complex:
                    why = "the function does not accept complex input"
            if why:
                self.note = f"complex step not used: {why}"
        self.numeric = _Directional(fun, self.inputs, self.eps, rel, use_complex)
        self.order = len(chain) + 1
        self.vjp_fun = None

    def _complex_ok(self):
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("error", np.exceptions.ComplexWarning)
                v = [np.ones(s) for s in self.inputs.shapes]
                outs = self.numeric_call_complex(v)
            return all(o.dtype.kind == "c" for o, r in zip(outs, self.outs)
                       if r.dtype.kind == "f")
        except Exception:
            return False

    def numeric_call_complex(self, v):
        call = _flat_fun(self.fun, self.inputs)
        arrays = [a.astype(np.result_type(a.dtype, np.complex64)) + 1j * self.eps * d
                  for a, d in zip(self.inputs.arrays, v)]
        return call(arrays)

    # -- AD pieces ---------------------------------------------------------------------

    def jv(self, v):
        tangents = self.inputs.build([np.zeros(s, a.dtype) if d is None else d
                                      for s, a, d in zip(self.inputs.shapes,
                                                         self.inputs.arrays, v)])
        _, t = jvp(self.fun, self.args, tuple(tangents))
        return _real64([np.asarray(x) for x in flatten(t)[0]])

    def jtu(self, u):
        if self.vjp_fun is None:
            _, self.vjp_fun = vjp(self.fun, *self.args)
        cts = self.vjp_fun(_ct_tree(u, self.outs, self.out_td))
        return _real64([np.asarray(c) for c in flatten(list(cts))[0]])

    # -- the checks --------------------------------------------------------------------

    def run(self, v, u, modes, arg=None):
        """Failures (rows) of every check in direction v, cotangent u."""
        if arg is None:
            arg = self.inputs.paths[0] if len(v) == 1 else "all arguments"
        rows = []
        est, err, noise = self.numeric(v)
        vv = [np.zeros(s) if d is None else d for s, d in zip(self.inputs.shapes, v)]
        jv = jtu = None
        if "forward" in modes:
            jv = self.jv(v)
            row = self._compare_forward(jv, est, err, noise, arg)
            if row:
                rows.append(row)
        if "reverse" in modes:
            jtu = self.jtu(u)
            ok = all(np.all(np.isfinite(r) | (w == 0)) for r, w in zip(est, u))
            if ok:
                ad = _dot(jtu, vv)
                ref = _dot(u, [np.where(w == 0, 0.0, r) for r, w in zip(est, u)])
                tol = (self.atol + self.rtol * (_absdot(jtu, vv) + _absdot(u, est))
                       + _absdot(u, [3 * e + 16 * n for e, n in zip(err, noise)]))
                if not abs(ad - ref) <= tol:
                    rows.append(_Row(mode=_label("reverse", self.chain), arg=arg,
                                     order=self.order, output="<J^T u, v>", ad=ad, ref=ref,
                                     err=abs(ad - ref), tol=tol))
        if jv is not None and jtu is not None:
            a, b = _dot(u, jv), _dot(jtu, vv)
            # Both are exact up to rounding, which is relative to the magnitudes inside
            # the computation: bounded here by the output's largest value per leaf.
            tol = (self.atol + self.rtol * (_absdot(u, jv) + _absdot(jtu, vv))
                   + 64 * self.eps * _absdot(u, self.out_mag))
            if (np.isfinite(a) or np.isfinite(b)) and not abs(a - b) <= tol:
                rows.append(_Row(mode=_label("adjoint", self.chain), arg=arg,
                                 order=self.order, output="<u, J v> vs <J^T u, v>", ad=a,
                                 ref=b, err=abs(a - b), tol=tol))
        return rows

    def _compare_forward(self, jv, est, err, noise, arg):
        worst = None
        for k, (a, r, e, n) in enumerate(zip(jv, est, err, noise)):
            a = np.broadcast_to(a, r.shape)
            fin = np.isfinite(r) & np.isfinite(e)
            tol = self.atol + self.rtol * np.maximum(np.abs(a), np.abs(r)) + 3 * e + 16 * n
            diff = np.abs(a - r)
            bad = fin & ~(diff <= tol)
            if not bad.any():
                continue
            with np.errstate(all="ignore"):
                ratio = np.where(bad, np.nan_to_num(diff / np.where(tol > 0, tol, 1e-300),
                                                    nan=np.inf), -1.0)
            idx = np.unravel_index(int(np.argmax(ratio)), r.shape) if r.ndim else ()
            score = float(ratio[idx])
            if worst is None or score > worst[0]:
                where = self.out_paths[k] if len(self.outs) > 1 else ""
                where = f"out{where}" + (f"[{', '.join(map(str, idx))}]" if idx else "")
                worst = (score, _Row(mode=_label("forward", self.chain), arg=arg,
                                     order=self.order, output=f"(J v) {where}",
                                     ad=float(a[idx]), ref=float(r[idx]),
                                     err=float(diff[idx]), tol=float(tol[idx])))
        return worst[1] if worst else None

    def localize(self, v, u, modes):
        """Re-run the checks with the direction restricted to one leaf at a time."""
        if len(v) == 1:
            return None
        rows = []
        for k, path in enumerate(self.inputs.paths):
            if self.inputs.sizes[k] == 0:
                continue
            only = [d if j == k else None for j, d in enumerate(v)]
            rows.extend(self.run(only, u, modes, arg=path))
        return rows


def _derivative_function(fun, level, mode, rng):
    """The derivative of ``fun`` in mode ``mode`` along a fixed random direction: a new
    function of the same arguments, to be checked one order up."""
    inputs = level.inputs
    if mode == "forward":
        v = inputs.build(_tree_dirs(inputs, rng))
        tangents = tuple(v)

        def d_fun(*args):
            return jvp(fun, args, tangents)[1]
    else:
        ct = _ct_tree(_cotangents(level.outs, rng), level.outs, level.out_td)

        def d_fun(*args):
            return vjp(fun, *args)[1](ct)
    return d_fun


def _check_level(fun, args, order, modes, chain, opts, rows):
    level = _Level(fun, args, chain, opts)
    seed = [opts["seed"], len(chain)] + [1 if m == "reverse" else 2 for m in chain]
    rng = np.random.default_rng(seed)
    if sum(level.inputs.sizes) and sum(o.size for o in level.outs):
        for _ in range(opts["n_dirs"]):
            v = _tree_dirs(level.inputs, rng)
            u = _cotangents(level.outs, rng)
            found = level.run(v, u, modes)
            if found:
                where = level.localize(v, u, modes)
                rows.extend(where if where else found)
                if level.note:
                    opts["notes"].add(level.note)
                opts["reference"].add(level.numeric.name)
                return
        opts["reference"].add(level.numeric.name)
    if order > 1:
        for m in modes:
            d_fun = _derivative_function(fun, level, m, rng)
            _check_level(d_fun, args, order - 1, modes, chain + (m,), opts, rows)


def _fmt(x):
    return f"{x:.6e}" if isinstance(x, float) else str(x)


def _table(rows, header):
    cols = ["mode", "argument", "order", "output", "AD", "reference", "error", "tolerance"]
    body = [[r.mode, r.arg, str(r.order), r.output, _fmt(r.ad), _fmt(r.ref),
             f"{r.err:.2e}", f"{r.tol:.2e}"] for r in rows]
    widths = [max(len(c), *(len(b[i]) for b in body)) for i, c in enumerate(cols)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
    return "\n".join([header, line(cols), line(["-" * w for w in widths])]
                     + [line(b) for b in body])


def check_grads(fun, args, order=2, modes=("forward", "reverse"), eps=None, rtol=None,
                atol=None, *, n_dirs=3, seed=0):
    """Check ``fun``'s forward- and reverse-mode derivatives, up to ``order``.

    At every order, in ``n_dirs`` random directions ``v`` (with cotangents ``u``):

    * **forward**: ``jvp`` gives ``J v``, compared elementwise with a numerical
      directional derivative (complex step at first order when every primitive is
      analytic, else central differences with one Richardson step and an error bar);
    * **reverse**: ``vjp`` gives ``J^T u``; ``<J^T u, v>`` is compared with ``<u, J v>``
      from the numerical reference;
    * **forward vs reverse**: the adjoint identity ``<u, J v> = <J^T u, v>`` between the
      two modes, to rounding.

    Then, for ``order > 1``, each mode's derivative function (``x -> J(x) v`` for a
    fixed ``v``, ``x -> J(x)^T u`` for a fixed ``u``) is checked the same way, so a
    second-order failure is reported as e.g. ``"reverse over forward"``.  The
    tolerance of each comparison is ``atol + rtol * |values| + 3 * (truncation
    estimate) + 16 * (rounding estimate)``, so it scales with the input and output
    magnitudes.  Seeds are fixed: a check gives the same verdict every run.

    Args:
        fun: the function; all of ``args`` are differentiated (fix other parameters
            with ``functools.partial`` or a lambda).
        args: a tuple (or list) of positional arguments: floats, float arrays, or
            pytrees (tuples, lists, dicts) of them.  Complex inputs and outputs are
            checked as pairs of real ones (:func:`admodes.ops.complex.split_complex`),
            which pins the complex convention of every rule on the way.
        order: highest derivative order to check (1, 2, ...).
        modes: any of ``"forward"``/``"fwd"`` and ``"reverse"``/``"rev"``.
        eps: relative finite-difference step (default ``eps_dtype ** (1/3)``; the
            absolute step is this times each input's scale, see :func:`input_scale`).
        rtol: relative tolerance (default ``10 * sqrt(eps_dtype)``: 1.5e-7 in float64).
        atol: absolute tolerance (default 0: the error bars already cover rounding).
        n_dirs: random directions per order.
        seed: seed of the random directions.

    Returns:
        None.

    Raises:
        AssertionError: a table of the failed checks: mode, argument (pytree path),
            order, output, the AD value, the reference value, the error, the tolerance.

    >>> import admodes.numpy as anp, numpy as np
    >>> check_grads(lambda x, p: anp.sum(anp.tanh(x) * p["w"]),
    ...             (np.array([0.5, -1.0]), {"w": np.array([2.0, 3.0])}))
    """
    if not isinstance(args, (tuple, list)):
        raise TypeError("check_grads: args must be a tuple (or list) of positional "
                        "arguments, e.g. (x,)")
    if isinstance(modes, str):
        modes = (modes,)
    try:
        modes = tuple(dict.fromkeys(_MODES[m] for m in modes))
    except (KeyError, TypeError):
        raise ValueError(f"check_grads: unknown mode in {modes!r}; expected 'forward' "
                         "('fwd') and/or 'reverse' ('rev')") from None
    if not modes:
        raise ValueError("check_grads: modes is empty")
    if int(order) < 1:
        raise ValueError(f"check_grads: order must be at least 1, got {order}")
    from .ops.complex import split_complex
    fun, args = split_complex(fun, args)  # complex leaves as (re, im) pairs
    opts = dict(eps=eps, rtol=rtol, atol=atol, n_dirs=int(n_dirs), seed=int(seed),
                complex=True, notes=set(), reference=set())
    rows = []
    _check_level(fun, tuple(args), int(order), modes, (), opts, rows)
    if rows:
        head = (f"check_grads: {len(rows)} mismatch(es) "
                f"(reference: {', '.join(sorted(opts['reference']))}; seed {seed})")
        if opts["notes"]:
            head += "\n" + "\n".join(sorted(opts["notes"]))
        raise AssertionError(_table(rows, head))


# ---------------------------------------------------------------- crosscheck ----------

_REPORT_METHODS = ("forward", "reverse", "central", "richardson", "complex")


def _method_tol(name, eps):
    """Expected normwise relative accuracy of each method (AD and complex step: to
    rounding; Richardson: a few digits less; central: about eps**(2/3), with margin)."""
    power = {"forward": 0.6, "reverse": 0.6, "complex": 0.6, "richardson": 0.45,
             "central": 0.3}[name]
    return eps ** power


def _flat_ad(jac_tree, inputs, out_sizes):
    blocks = flatten(jac_tree)[0]
    m, n = sum(out_sizes), sum(inputs.sizes)
    J = np.zeros((m, n))
    it = iter(blocks)
    r = 0
    for osz in out_sizes:
        c = 0
        for isz in inputs.sizes:
            J[r:r + osz, c:c + isz] = np.asarray(next(it), dtype=np.float64).reshape(osz, isz)
            c += isz
        r += osz
    return J


class CrossCheckReport:
    """The derivative of one function at one point, computed five ways.

    Attributes:
        jacobians: method name -> flat Jacobian (rows: outputs, columns: inputs, both
            flattened and concatenated), or None when the method was not available.
        seconds: method name -> wall time.
        notes: method name -> a remark (why it was unavailable, its error estimate).
        errors: ``(a, b)`` -> normwise maximum relative error
            ``max|J_a - J_b| / max(max|J_a|, max|J_b|)``.
        tolerances: ``(a, b)`` -> the accuracy expected of the less accurate method.
        ok: every pair agrees within its tolerance.
    """

    def __init__(self, jacobians, seconds, notes, n_in, n_out, dtype, eps, estimates=None):
        self.jacobians = jacobians
        self.seconds = seconds
        self.notes = notes
        self.n_in, self.n_out, self.dtype = n_in, n_out, dtype
        self.errors, self.tolerances = {}, {}
        names = [m for m in _REPORT_METHODS if jacobians.get(m) is not None]
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                A, B = jacobians[a], jacobians[b]
                scale = max(float(np.max(np.abs(A), initial=0.0)),
                            float(np.max(np.abs(B), initial=0.0)))
                diff = float(np.max(np.abs(A - B), initial=0.0))
                self.errors[a, b] = diff / scale if scale > 0 else diff
                # A method with its own error estimate (Richardson) widens its pairs'
                # tolerance where it knows it is less accurate (a kink within its steps).
                own = [2 * float(np.max(estimates[m], initial=0.0)) / scale
                       for m in (a, b) if estimates and m in estimates and scale > 0]
                self.tolerances[a, b] = max(_method_tol(a, eps), _method_tol(b, eps), *own)
        self.ok = all(np.isfinite(e) and e <= self.tolerances[k]
                      for k, e in self.errors.items())

    def to_dict(self):
        """A JSON-able dict of everything in the report."""
        return {
            "ok": bool(self.ok), "n_inputs": self.n_in, "n_outputs": self.n_out,
            "dtype": str(self.dtype),
            "methods": {m: {"available": self.jacobians.get(m) is not None,
                            "seconds": self.seconds.get(m),
                            "note": self.notes.get(m, ""),
                            "jacobian": (None if self.jacobians.get(m) is None
                                         else self.jacobians[m].tolist())}
                        for m in _REPORT_METHODS},
            "errors": [{"a": a, "b": b, "max_rel_error": float(e),
                        "tolerance": float(self.tolerances[a, b]),
                        "ok": bool(e <= self.tolerances[a, b])}
                       for (a, b), e in self.errors.items()],
        }

    def __str__(self):
        lines = [f"crosscheck: {self.n_in} input(s) -> {self.n_out} output(s), "
                 f"{self.dtype}: {'ok' if self.ok else 'MISMATCH'}",
                 f"{'method':<11} {'time':>10}  note"]
        for m in _REPORT_METHODS:
            t = self.seconds.get(m)
            ts = "-" if t is None else f"{t * 1e3:.2f} ms"
            lines.append(f"{m:<11} {ts:>10}  {self.notes.get(m, '')}".rstrip())
        names = [m for m in _REPORT_METHODS if self.jacobians.get(m) is not None]
        lines.append("max relative error (normwise), '!' = above tolerance:")
        lines.append(" " * 11 + "".join(f"{b:>12}" for b in names[1:]))
        for i, a in enumerate(names[:-1]):
            cells = []
            for j, b in enumerate(names[1:], start=1):
                if j <= i:
                    cells.append(" " * 12)
                else:
                    e = self.errors[a, b]
                    flag = "!" if not e <= self.tolerances[a, b] else " "
                    cells.append(f"{e:>11.1e}{flag}")
            lines.append(f"{a:<11}" + "".join(cells).rstrip())
        return "\n".join(lines)

    def __repr__(self):
        return f"<CrossCheckReport ok={self.ok}>"


def crosscheck(fun, *args):
    """Compute the full derivative of ``fun`` at ``args`` five ways and compare them.

    The ways: forward mode (``jacfwd``), reverse mode (``jacrev``), central differences,
    Richardson extrapolation (Ridders) and complex step (only where valid: every
    primitive analytic and the function accepting complex input).

    Args:
        fun: the function; every positional argument is differentiated.
        *args: the point (floats, float arrays, or pytrees of them).

    Returns:
        A :class:`CrossCheckReport`: ``str(report)`` is a table of the times and the
        pairwise normwise maximum relative errors, ``report.ok`` says whether every pair
        agrees within its tolerance, ``report.to_dict()`` is JSON-able.

    >>> import admodes.numpy as anp, numpy as np
    >>> report = crosscheck(lambda x: anp.exp(anp.sin(x)), np.array([0.1, 0.7]))
    >>> report.ok, sorted(report.jacobians)
    (True, ['central', 'complex', 'forward', 'reverse', 'richardson'])
    """
    inputs = _Inputs(args)
    argnums = tuple(range(len(args)))
    outs, _, out_eps = _outputs(fun(*args))
    out_sizes = [o.size for o in outs]
    eps = max(inputs.eps, out_eps)
    jacobians, seconds, notes = {}, {}, {}
    for name, make in (("forward", lambda: jacfwd(fun, argnums)(*args)),
                       ("reverse", lambda: jacrev(fun, argnums)(*args))):
        t0 = time.perf_counter()
        try:
            jac = make()
        except NotImplementedError as e:
            seconds[name] = None
            jacobians[name] = None
            notes[name] = f"not available: {e}"
            continue
        seconds[name] = time.perf_counter() - t0
        jacobians[name] = _flat_ad(jac, inputs, out_sizes)
    call = _flat_fun(fun, inputs)
    t0 = time.perf_counter()
    jacobians["central"], _ = _jac_central(call, inputs, out_sizes, eps ** (1 / 3), False)
    seconds["central"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    jacobians["richardson"], err = _jac_richardson(call, inputs, out_sizes)
    seconds["richardson"] = time.perf_counter() - t0
    notes["richardson"] = f"error estimate {float(np.max(err, initial=0.0)):.1e}"
    t0 = time.perf_counter()
    J, why = _try_complex(fun, inputs, call, out_sizes)
    if J is None:
        jacobians["complex"], seconds["complex"] = None, None
        notes["complex"] = f"not valid: {why}"
    else:
        jacobians["complex"], seconds["complex"] = J, time.perf_counter() - t0
    dtype = np.result_type(*[a.dtype for a in inputs.arrays]) if inputs.arrays else None
    return CrossCheckReport(jacobians, seconds, notes, sum(inputs.sizes), sum(out_sizes),
                            dtype, eps, estimates={"richardson": err})
