"""``check_grads``: forward mode against numerical directional derivatives, reverse
mode by the adjoint identity, the two modes against each other, recursing to any order."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..api import jvp, vjp
from ..arguments import _mode
from ..tree import flatten, leaf_paths, unflatten
from .numerical import (
    _absmax,
    _dtype_of_eps,
    _flat_fun,
    _Inputs,
    _outputs,
    _real64,
    complex_step_problem,
    complex_step_truncation,
)

__all__ = ["check_grads"]


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
            ctype = [np.result_type(a.dtype, np.complex64) for a in self.inputs.arrays]
            h, big = self.eps, self.eps ** (1 / 3)
            ests = []
            for step in (h, big):
                arrays = [a.astype(c) + (0 if d is None else 1j * step * d)
                          for a, c, d in zip(self.inputs.arrays, ctype, v)]
                ests.append([np.imag(o).astype(np.float64) / step for o in self.call(arrays)])
            est = ests[0]
            err = [complex_step_truncation(e, b, h, big) for e, b in zip(*ests)]
            return est, err, [self.eps * np.abs(e) for e in est]
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


def check_grads(fun: Callable[..., Any], args: Sequence[Any], order: int = 2,
                modes: Sequence[str] = ("forward", "reverse"), eps: float | None = None,
                rtol: float | None = None, atol: float | None = None, *, n_dirs: int = 3,
                seed: int = 0) -> None:
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
    modes = tuple(dict.fromkeys(_mode(m, "check_grads") for m in modes))
    if not modes:
        raise ValueError("check_grads: modes is empty")
    if int(order) < 1:
        raise ValueError(f"check_grads: order must be at least 1, got {order}")
    from ..ops.complex import split_complex
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
