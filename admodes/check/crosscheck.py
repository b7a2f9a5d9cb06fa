"""``crosscheck``: the full Jacobian five ways, timed, with pairwise errors."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..api import jacfwd, jacrev
from ..tree import flatten
from .numerical import _flat_fun, _Inputs, _jac_central, _jac_richardson, _outputs, _try_complex

__all__ = ["crosscheck", "CrossCheckReport"]


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


def crosscheck(fun: Callable[..., Any], *args: Any) -> CrossCheckReport:
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
    got, why = _try_complex(fun, inputs, call, out_sizes, False)
    J = None if got is None else got[0]
    if J is None:
        jacobians["complex"], seconds["complex"] = None, None
        notes["complex"] = f"not valid: {why}"
    else:
        jacobians["complex"], seconds["complex"] = J, time.perf_counter() - t0
    dtype = np.result_type(*[a.dtype for a in inputs.arrays]) if inputs.arrays else None
    return CrossCheckReport(jacobians, seconds, notes, sum(inputs.sizes), sum(out_sizes),
                            dtype, eps, estimates={"richardson": err})
