"""What every transformation does with its arguments and results: the one mode-name
parser (``_mode``), ``argnums``, validating input leaves (floats, float arrays, complex
where allowed, integer data), the one argument/pytree handler (``_Args``), and shaping
and typing a derivative like its input (``_finish``).  Shared by :mod:`.api`, the
checker and the static graphs."""

from __future__ import annotations

import math

import numpy as np

from .dispatch import Box, shape_of, value
from .tree import flatten, leaf_paths, unflatten

_MODES = {"reverse": "reverse", "rev": "reverse", "forward": "forward", "fwd": "forward"}


def _mode(mode, fname, also=()):
    """The one mode-name parser: ``"forward"``/``"fwd"``, ``"reverse"``/``"rev"``, and the
    extra names ``also`` that a caller accepts as they are (``op_counts``' "value")."""
    if mode in also:
        return mode
    try:
        return _MODES[mode]
    except (KeyError, TypeError):
        extra = "".join(f", {a!r}" for a in also)
        raise ValueError(f"{fname}: unknown mode {mode!r}; expected 'forward' (or 'fwd') "
                         f"or 'reverse' (or 'rev'){extra}") from None


def _argnums(argnums, nargs, fname):
    single = isinstance(argnums, (int, np.integer))
    nums = (int(argnums),) if single else tuple(int(a) for a in argnums)
    if not nums:
        raise ValueError(f"{fname}: argnums is empty")
    for a in nums:
        if not -nargs <= a < nargs:
            raise ValueError(f"{fname}: argnums {a} is out of range for a function called "
                             f"with {nargs} positional argument(s)")
    norm = tuple(a % nargs for a in nums)
    if len(set(norm)) != len(norm):
        raise ValueError(f"{fname}: argnums {nums} names the same argument more than once "
                         "(each argument can be differentiated once per call)")
    return single, norm


def _as_input(x, path, fname):
    """Check and normalise a leaf that is to be differentiated."""
    if isinstance(x, Box):
        return x
    if type(x) is float:
        return x
    if isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{fname}: input {path} is a bool; differentiation needs float inputs")
    if isinstance(x, int):
        return float(x)
    if isinstance(x, np.generic):
        x = np.asarray(x)
    if isinstance(x, np.ndarray):
        k = x.dtype.kind
        if k == "f":
            return x if x.ndim else x[()]
        if k in "iu":
            return x.astype(np.float64) if x.ndim else np.float64(x)
        if k == "c":
            _complex_ok(path, fname)
            return x if x.ndim else x[()]
        raise TypeError(f"{fname}: input {path} has dtype {x.dtype}; differentiation needs "
                        "float inputs")
    if isinstance(x, complex):
        _complex_ok(path, fname)
        return x
    raise TypeError(f"{fname}: input {path} is a {type(x).__name__}; expected a float, a "
                    "numpy float array, or a tuple/list/dict of them")


# The transforms that take complex inputs (JAX's convention, admodes.ops.complex).  A
# Jacobian over a complex input would need the real and imaginary directions as separate
# columns (JAX asks for holomorphic=True there): refused rather than half-computed.
_COMPLEX_INPUTS = ("grad", "vjp", "jvp")


def _complex_ok(path, fname):
    if fname not in _COMPLEX_INPUTS:
        raise TypeError(f"{fname}: input {path} is complex; {fname} differentiates real "
                        "inputs only (a complex input has two real directions per "
                        "element); use grad, vjp or jvp, or split it into real and "
                        "imaginary parts")


def _ready(x):
    """Already a valid input leaf (the common case, checked without building paths)."""
    t = type(x)
    return t is float or (t is np.ndarray and x.dtype.kind == "f" and x.ndim > 0) or \
        isinstance(x, Box)


def _check_outputs(outs, tree, fname):
    if all(map(_ready, outs)):
        return outs
    return [_check_output(o, p, fname) for o, p in zip(outs, leaf_paths(tree))]


def _check_output(x, path, fname):
    if isinstance(x, Box) or type(x) is float:
        return x
    if isinstance(x, (int, np.number, np.ndarray, np.bool_)) and np.asarray(x).dtype.kind in "biufc":
        return x
    raise TypeError(f"{fname}: the function returned {type(x).__name__} at {path or 'the output'}; "
                    "expected a float, a numpy array, or a tuple/list/dict of them")


class _Args:
    """The differentiated leaves of the positional arguments named by argnums."""

    def __init__(self, args, argnums, fname, data_ok=False):
        self.args = list(args)
        self.argnums = argnums
        self.trees = []
        self.leaves = []  # flat over all argnums
        self.bounds = []
        for a in argnums:
            leaves, td = flatten(args[a])
            if not all(map(_ready, leaves)):
                paths = leaf_paths(args[a], f"argument {a}")
                leaves = [x if data_ok and _is_data(x) else _as_input(x, p, fname)
                          for x, p in zip(leaves, paths)]
            start = len(self.leaves)
            self.leaves.extend(leaves)
            self.bounds.append((start, len(self.leaves)))
            self.trees.append(td)
        self.shapes = [shape_of(x) for x in self.leaves]
        self.sizes = [math.prod(s) for s in self.shapes]

    def call(self, fun, boxed, kwargs):
        args = list(self.args)
        for (a, (s, e)), td in zip(zip(self.argnums, self.bounds), self.trees):
            args[a] = unflatten(td, boxed[s:e])
        return fun(*args, **kwargs)

    def per_arg(self, flat):
        """Regroup a flat list of per-leaf results into one tree per argnum."""
        return [unflatten(td, flat[s:e]) for td, (s, e) in zip(self.trees, self.bounds)]


def _is_data(x):
    """An integer or boolean array (or a bool): ad.trace keeps it as non-differentiable
    data (Python ints stay differentiable inputs, as everywhere else)."""
    if isinstance(x, (bool, np.bool_)):
        return True
    return isinstance(x, np.ndarray) and x.dtype.kind in "biu"


def _zeros_like(x):
    if type(x) is float:
        return 0.0
    v = value(x)
    if type(v) is np.ndarray:
        return np.zeros(v.shape, v.dtype if v.dtype.kind in "fc" else np.float64)
    if type(v) is float:
        return 0.0
    if type(v) is complex:
        return 0j
    if not hasattr(v, "dtype"):  # (a static graph's stand-in has a shape and a dtype only)
        v = np.asarray(v)
    return np.zeros(v.shape, v.dtype if v.dtype.kind in "fc" else np.float64)


def _dtype(x):
    """The dtype of a value or box, without converting it (a static graph's stand-in for
    a traced value has a dtype but no data)."""
    v = value(x)
    dt = getattr(v, "dtype", None)
    return dt if isinstance(dt, np.dtype) else np.asarray(v).dtype


def _finish(ct, like):
    """A cotangent/tangent shaped and typed like the input ``like``."""
    if ct is None:
        return _zeros_like(like)
    if isinstance(ct, Box):
        return ct
    if type(like) is float or isinstance(like, np.floating):
        v = _real_part(np.asarray(ct).reshape(()))
        if isinstance(like, (np.float32, np.float16)):  # float32 in, float32 out
            return like.dtype.type(v)
        return float(v)
    if isinstance(like, complex):
        return complex(np.asarray(ct).reshape(()))
    if type(ct) is not np.ndarray:
        ct = np.asarray(ct)
    dt = like.dtype if type(like) is np.ndarray else _dtype(like)
    if ct.dtype.kind == "c" and dt.kind == "f":
        ct = _real_part(ct)
    if ct.dtype != dt and dt.kind in "fc":
        ct = ct.astype(dt)
    elif not ct.flags.writeable:  # a broadcast view (constant cotangent): the caller's own
        ct = ct.copy()
    return ct


def _real_part(ct):
    """The derivative of a real value is real: the rules project onto the reals where a
    real value meets a complex one, so only rounding may be left in the imaginary part;
    anything more is a bug, reported rather than dropped."""
    if ct.dtype.kind != "c":
        return ct
    im = np.max(np.abs(ct.imag), initial=0.0)
    if im > 1e-12 * max(1.0, float(np.max(np.abs(ct.real), initial=0.0))):
        raise RuntimeError("admodes: a complex derivative reached a real value (largest "
                           f"imaginary part {im:.3g}); a rule is missing its projection "
                           "onto the reals, please report it")
    return ct.real


def _unbox(x, level):
    if isinstance(x, Box) and x._level is level:
        return x._primal
    return x
