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
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from ..api import _jac_assemble, vjp
from ..arguments import _Args
from ..dispatch import Box, counting
from ..registry import registry
from ..tree import flatten, leaf_paths

__all__ = ["numerical_jacobian", "input_scale", "complex_step_problem",
           "complex_step_truncation"]


_METHODS = ("central", "richardson", "complex")


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


class _Inputs(_Args):
    """Every argument's float leaves (the same handler as the transformations', all
    arguments differentiated) with what the checker adds: the leaves as arrays, their
    kinds and scales, and how to rebuild the arguments from arrays."""

    def __init__(self, args, prefix="args"):
        leaves = flatten(list(args))[0]
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
        super().__init__(args, tuple(range(len(args))), "check_grads")
        self.shapes = [a.shape for a in self.arrays]
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
        return self.per_arg([self.leaf(k, a) for k, a in enumerate(arrays)])

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


def _primitives_used(fun, arrays, build):
    """Names of the primitives ``fun`` runs at ``arrays`` (one traced evaluation), or
    None if it cannot be traced."""
    try:
        with counting() as snapshot:
            vjp(lambda *xs: fun(*build(xs)), *arrays)
            _, per = snapshot(by_primitive=True)
        return set(per)
    except Exception:
        return None


def complex_step_problem(fun, inputs):
    """Why complex step is not valid for ``fun`` at ``inputs`` (None when it is): a
    primitive it runs is not complex-analytic (its registry flag), or it cannot be
    traced to find out.  The primitives are listed at the real point and at a complex
    one, since code may branch on the dtype (``numpy.vdot`` conjugates complex input)."""
    real = _primitives_used(fun, inputs.arrays, inputs.build)
    if real is None:
        return "the function could not be traced to list its primitives"
    cplx_arrays = [a.astype(np.result_type(a.dtype, np.complex64)) + 1j * 1e-30
                   for a in inputs.arrays]
    cplx = _primitives_used(fun, cplx_arrays, inputs.build)
    if cplx is None:
        return "the function does not accept complex input"
    bad = sorted(n for n in real | cplx if n in registry and not registry[n].analytic)
    if bad:
        return "not complex-analytic: " + ", ".join(bad)
    return None


def _absmax(a):
    a = np.abs(np.asarray(a, dtype=np.float64))
    a = a[np.isfinite(a)]
    return float(a.max()) if a.size else 0.0


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


def complex_step_truncation(est_h, est_big, h, big):
    """Error bar of a complex-step estimate at step ``h`` from a second one at a larger
    step ``big``: Im f(x + ih) / h = f' - h² d³f / 6 + O(h^4), so the truncation at
    ``h`` is (est_h - est_big) h² / (big² - h²).  It matters where f' is 0 but d³f is
    not (cumprod across two zeros: the cross term (ih)(ih) = -h²), which a bar relative
    to the estimate misses.  Where either estimate is not finite the bar is 0."""
    with np.errstate(all="ignore"):
        d = np.abs(np.asarray(est_h) - np.asarray(est_big)) * (h * h / (big * big - h * h))
    return np.where(np.isfinite(d), d, 0.0)


def _jac_complex(call, inputs, out_sizes, with_error=False):
    cols, errs = [], []
    for k, a in enumerate(inputs.arrays):
        flat = a.reshape(-1)
        s = inputs.scales[k].reshape(-1)
        ctype = np.result_type(flat.dtype, np.complex64)
        eps = np.finfo(flat.dtype).eps
        for i in range(flat.size):
            col = []
            for step in ((eps, eps ** (1 / 3)) if with_error else (eps,)):
                h = float(step * s[i])
                z = flat.astype(ctype)
                z[i] += 1j * h
                arrays = list(inputs.arrays)
                arrays[k] = z.reshape(a.shape)
                outs = call(arrays)
                for o in outs:
                    if o.dtype.kind == "f":  # a float output lost its imaginary part
                        raise _NotAnalytic("an output was real for complex input")
                col.append(np.imag(_vec(outs)).astype(np.float64) / h)
            cols.append(col[0])
            if with_error:
                errs.append(complex_step_truncation(col[0], col[1], eps, eps ** (1 / 3))
                            + 4 * eps * np.abs(col[0]))
    return _stack(cols, out_sizes), (_stack(errs, out_sizes) if with_error else None)


class _NotAnalytic(Exception):
    pass


def _try_complex(fun, inputs, call, out_sizes, with_error):
    """Complex-step (Jacobian, error), or (None, reason) when complex step is not valid."""
    why = complex_step_problem(fun, inputs)
    if why is not None:
        return None, why
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("error", np.exceptions.ComplexWarning)
            return _jac_complex(call, inputs, out_sizes, with_error), None
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
        got, why = _try_complex(fun, inputs, call, out_sizes, with_error)
        if got is not None:
            J, err = got
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
    input's tree (the transformations' assembly: a plain array when both are arrays)."""
    rows, r = [], 0
    for o in outs:
        blocks, c = [], 0
        for shape, size in zip(inputs.shapes, inputs.sizes):
            blocks.append(J[r:r + o.size, c:c + size].reshape(o.shape + shape))
            c += size
        r += o.size
        rows.append(blocks)
    return _jac_assemble(rows, [o.shape for o in outs], inputs, True, out_td, in_major=False)


def numerical_jacobian(fun: Callable[..., Any], x: Any, method: str = "central", *, step: float | None = None,
                       return_error: bool = False) -> Any:
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
