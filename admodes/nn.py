"""Neural nets on the admodes tape: parameters, ``loss.backward()``, layers, losses,
optimisers.

Two styles, one engine.  The *PyTorch-style* loop records a define-by-run tape as the
forward code runs and sweeps it with :meth:`Variable.backward`:

>>> import numpy as np, admodes as ad
>>> from admodes import nn
>>> rng = np.random.default_rng(0)
>>> X, y = rng.normal(size=(8, 2)), np.array([0, 1] * 4)
>>> net = nn.MLP([2, 16, 2], rng=0)
>>> opt = nn.SGD(net.parameters(), lr=0.5)
>>> for step in range(50):
...     opt.zero_grad()
...     loss = nn.cross_entropy(net(X), y)
...     loss.backward()
...     opt.step()
>>> float(loss) < 0.5
True

The *functional* style needs no parameters at all: a loss over a dict (any pytree) of
arrays, ``ad.value_and_grad``, and ``opt.update(params, grads) -> params``:

>>> def loss_fn(p, X, y):
...     h = ad.numpy.tanh(X @ p["W1"] + p["b1"])
...     return nn.cross_entropy(h @ p["W2"] + p["b2"], y)
>>> p = {"W1": rng.normal(size=(2, 16)), "b1": np.zeros(16),
...      "W2": rng.normal(size=(16, 2)) * 0.1, "b2": np.zeros(2)}
>>> opt = nn.SGD(lr=0.5)
>>> for step in range(50):
...     loss, grads = ad.value_and_grad(loss_fn)(p, X, y)
...     p = opt.update(p, grads)
>>> bool(loss < 0.5)
True

A module runs in the functional style too: ``net.apply(params, x)`` evaluates it with the
arrays of ``params`` (a ``state_dict``-shaped dict) in place of its parameters.

How the define-by-run tape works (no second engine).  Each thread has one *current*
:class:`~admodes.reverse.ReverseLevel` (a ``_Tape``): a :class:`Parameter` is a tape
variable whose level is always the current tape (it becomes a leaf entry of that tape the
first time it is used), so every primitive applied to a parameter, or to a result computed
from one, is recorded on that tape by the same ``process`` as ``ad.grad``'s.
``loss.backward()`` runs :func:`admodes.reverse.backward` over it, adds each parameter's
cotangent into ``.grad``, and releases the tape (``retain_graph=True`` keeps it); the next
forward pass opens a fresh tape.  The tape is below every transformation level: inside
``ad.grad(f)`` a parameter is a constant to ``f``'s level, and a gradient that depends on
a parameter comes out as a :class:`Variable` (differentiable in turn with respect to the
parameters; ``ad.value`` it, or compute under :func:`no_grad`, for a plain array).

Tape lifetime: one tape holds everything computed from parameters since the last
release, and ``backward()`` releases all of it (two losses sharing a tape need
``retain_graph=True`` on the first backward).  A tape with no ``backward()`` is freed when
no value recorded on it is left; a loop that keeps a result alive while computing the next
one without ever calling ``backward()`` (evaluation) keeps one growing tape, so evaluate
under :func:`no_grad`.  Using a value of a released tape in a differentiable operation
raises :class:`ReleasedGraphError`; its plain value (``float(x)``, ``x.item()``,
``ad.value(x)``) and non-differentiable uses (``argmax``, comparisons) stay available.

A layer with a hand-written derivative is an :class:`admodes.Operation` (the course's
node class) wrapped in a :class:`Module`; here Swish, ``x * sigmoid(x)``:

>>> import admodes.numpy as anp
>>> class SwishOp(ad.Operation):
...     name = "swish_doc"
...     def forward(self, x):
...         return x * (1 + np.tanh(x / 2)) / 2          # plain numpy, stable
...     def backward(self, output_grad):                 # rules use admodes ops
...         (x,) = self.inputs
...         s = anp.sigmoid(x)
...         return (output_grad * (s + x * s * (1 - s)),)
...     def jvp(self, x_dot):
...         (x,) = self.inputs
...         s = anp.sigmoid(x)
...         return x_dot * (s + x * s * (1 - s))
>>> class Swish(nn.Module):
...     def forward(self, x):
...         return SwishOp()(x)
>>> swish_net = nn.Sequential(nn.Linear(2, 4, rng=0), Swish(), nn.Linear(4, 1, rng=1))
>>> loss = nn.mse(swish_net(X), np.ones((8, 1)))
>>> loss.backward()
>>> swish_net[0].weight.grad.shape
(2, 4)
>>> swish = SwishOp()
>>> ad.grad(swish)(0.0), ad.grad(swish, mode="forward")(0.0)     # both modes: 1/2
(0.5, 0.5)
"""

from __future__ import annotations

import contextlib
import itertools
import math
import threading
import weakref

import numpy as np

from . import numpy as anp
from .dispatch import Box, bind, shape_of, value
from .ops.reductions import softmax_cross_entropy
from .reverse import ReverseLevel, Var, backward
from .tree import flatten, unflatten

__all__ = [
    "Variable", "Parameter", "no_grad", "ReleasedGraphError",
    "Module", "Linear", "ReLU", "Tanh", "Sigmoid", "Sequential", "MLP",
    "mse", "cross_entropy", "binary_cross_entropy_with_logits", "accuracy",
    "Optimizer", "SGD", "Adam",
]


# ---------------------------------------------------------------- the define-by-run tape


class ReleasedGraphError(RuntimeError):
    """A value whose tape an earlier ``backward()`` released was differentiated again."""


_state = threading.local()
_tape_ids = itertools.count(1)


def _grad_enabled():
    return getattr(_state, "enabled", True)


class _Tape(ReverseLevel):
    """The per-thread define-by-run tape: a reverse level that never closes.

    Its id is negative, below every transformation level, so ``ad.grad`` & co. see
    parameters as constants and the eager tape records what lies beneath them.
    """

    __slots__ = ("leaves", "released", "__weakref__")
    kind = "define-by-run"

    def __init__(self):
        super().__init__()
        self.id = -next(_tape_ids)
        self.leaves = {}  # id(parameter) -> (tape entry, parameter)
        self.released = False

    def leaf_of(self, p):
        got = self.leaves.get(id(p))
        if got is None:
            self.tape.append(None)
            got = (len(self.tape) - 1, p)
            self.leaves[id(p)] = got
        return got[0]

    def process(self, prim, args, params):
        if self.released or not _grad_enabled():
            return self._untracked(prim, args, params)
        return self._relabel(ReverseLevel.process(self, prim, args, params))

    def process2(self, prim, a, b, params):
        if self.released or not _grad_enabled():
            return self._untracked(prim, (a, b), params)
        return self._relabel(ReverseLevel.process2(self, prim, a, b, params))

    def _relabel(self, out):
        if type(out) is Var and out._level is self:
            out.__class__ = Variable  # same slots: a cheap re-labelling
        return out

    def _untracked(self, prim, args, params):
        if self.released and not prim.nondiff:
            raise ReleasedGraphError(
                f"{prim.name}: this value was computed on a tape that backward() has "
                "already released; recompute it from the parameters, pass "
                "retain_graph=True to the earlier backward(), or use ad.value(x) / "
                "x.item() for its plain value")
        primals = [a._primal if isinstance(a, Box) and a._level is self else a for a in args]
        return bind(prim, *primals, **params)

    def release(self):
        self.released = True
        self.tape = []
        self.leaves = {}


def _current_tape():
    ref = getattr(_state, "tape", None)
    tape = ref() if ref is not None else None
    if tape is None or tape.released:
        tape = _Tape()
        # Weak: a tape lives as long as some value recorded on it, so forward passes
        # whose results are dropped (evaluation without backward) free their tape.
        _state.tape = weakref.ref(tape)
    return tape


@contextlib.contextmanager
def no_grad():
    """Inside the block, operations on parameters are not recorded (plain results).

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

    def backward(self, grad=None, *, retain_graph=False):
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
        if tape.released:
            raise ReleasedGraphError(
                "backward() was already called on this graph and its tape was released; "
                "pass retain_graph=True to the first backward() to sweep it again, or "
                "recompute the loss")
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
        idx = self._idx
        leaves = list(tape.leaves.values())
        # without retain_graph the tape is released after this sweep: free it as we go
        got = backward(tape.tape, {idx: grad}, [i for i, _ in leaves],
                       consume=not retain_graph)
        for i, p in leaves:
            g = got.get(i)
            if g is None:
                continue
            if not isinstance(g, Box):
                g = np.asarray(g, dtype=p._primal.dtype)
            p.grad = g if p.grad is None else np.asarray(p.grad + g)
        if not retain_graph:
            tape.release()

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

    __slots__ = ("grad", "name")

    def __init__(self, data, name=None):
        arr = np.array(value(data), copy=True)
        if arr.dtype.kind != "f":
            if arr.dtype.kind not in "biu":
                raise TypeError(f"Parameter: expected real numbers, got dtype {arr.dtype}")
            arr = arr.astype(np.float64)
        self._primal = arr
        self.grad = None
        self.name = name

    # A parameter belongs to whichever tape is current, as a lazily created leaf.
    @property
    def _level(self):
        return _current_tape()

    @property
    def _idx(self):
        return _current_tape().leaf_of(self)

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


# ---------------------------------------------------------------- modules --------------


class Module:
    """Base class of layers: ``forward`` plus parameter bookkeeping.

    Parameters are found among the attributes (in assignment order), recursively in
    sub-modules and in lists/tuples of them.  ``net(x)`` calls ``net.forward(x)``.

    >>> from admodes import nn
    >>> class Affine(nn.Module):
    ...     def __init__(self):
    ...         self.scale = nn.Parameter(2.0)
    ...         self.shift = nn.Parameter(0.5)
    ...     def forward(self, x):
    ...         return self.scale * x + self.shift
    >>> m = Affine()
    >>> [name for name, _ in m.named_parameters()]
    ['scale', 'shift']
    >>> float(m(3.0))
    6.5
    >>> m.apply({"scale": 10.0, "shift": 0.0}, 3.0)
    30.0
    """

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def _children(self):
        for name, obj in vars(self).items():
            if isinstance(obj, (Parameter, Module)):
                yield name, obj
            elif isinstance(obj, (list, tuple)):
                for i, o in enumerate(obj):
                    if isinstance(o, (Parameter, Module)):
                        yield f"{name}.{i}", o

    def _slots(self, prefix="", seen=None):
        """(owner module, attribute, dotted name, parameter) for each parameter once."""
        seen = set() if seen is None else seen
        for name, obj in self._children():
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            if isinstance(obj, Parameter):
                yield self, name, prefix + name, obj
            else:
                yield from obj._slots(prefix + name + ".", seen)

    def named_parameters(self):
        """Returns a list of ``(dotted name, Parameter)`` pairs, each parameter once.

        >>> from admodes import nn
        >>> [n for n, _ in nn.MLP([2, 3, 1], rng=0).named_parameters()]
        ['0.weight', '0.bias', '2.weight', '2.bias']
        """
        return [(name, p) for _, _, name, p in self._slots()]

    def parameters(self):
        """Returns the list of all parameters (recursively over sub-modules).

        >>> from admodes import nn
        >>> [p.shape for p in nn.Linear(3, 2, rng=0).parameters()]
        [(3, 2), (2,)]
        """
        return [p for _, _, _, p in self._slots()]

    def zero_grad(self):
        """Reset every parameter's ``.grad`` to ``None``."""
        for p in self.parameters():
            p.grad = None

    def state_dict(self):
        """Returns ``{dotted name: numpy array}``, copies of the parameter values: the
        functional-style parameter pytree of this module.

        >>> from admodes import nn
        >>> sorted(nn.Linear(3, 2, rng=0).state_dict())
        ['bias', 'weight']
        """
        return {name: np.array(p._primal) for name, p in self.named_parameters()}

    def load_state_dict(self, state):
        """Set the parameter values from ``{dotted name: array}`` (all names, same shapes).

        Args:
            state: a dict as returned by :meth:`state_dict`.

        Returns:
            self.
        """
        named = dict(self.named_parameters())
        _check_keys(state, named, "load_state_dict")
        for name, p in named.items():
            p.data = state[name]
        return self

    def apply(self, params, *args, **kwargs):
        """Run ``forward`` with the values of ``params`` (``{dotted name: array}``)
        standing in for the parameters: the functional form of the module, for
        ``ad.grad`` over a dict of arrays.  (Swaps attributes for the duration of the
        call: not thread-safe on a shared module.)

        Args:
            params: a dict with the keys of :meth:`state_dict`.
            *args, **kwargs: the inputs of ``forward``.

        Returns:
            What ``forward`` returns.

        >>> import admodes as ad
        >>> from admodes import nn
        >>> lin = nn.Linear(2, 1, rng=0)
        >>> f = lambda p: lin.apply(p, np.ones((1, 2))).sum()
        >>> ad.grad(f)(lin.state_dict())["weight"]
        array([[1.],
               [1.]])
        """
        slots = list(self._slots())
        _check_keys(params, {name: None for _, _, name, _ in slots}, "apply")
        try:
            for owner, attr, name, _ in slots:
                _set_child(owner, attr, params[name])
            return self.forward(*args, **kwargs)
        finally:
            for owner, attr, _, p in slots:
                _set_child(owner, attr, p)

    def __repr__(self):
        inner = ", ".join(f"{n}={tuple(p.shape)}" for n, p in self.named_parameters())
        return f"{type(self).__name__}({inner})"


def _set_child(owner, attr, obj):
    if isinstance(owner, Sequential) and attr.isdigit():  # Sequential's layers list
        owner.layers[int(attr)] = obj
    elif "." in attr:  # an item of a list/tuple attribute
        name, i = attr.rsplit(".", 1)
        seq = getattr(owner, name)
        if isinstance(seq, tuple):
            seq = list(seq)
            seq[int(i)] = obj
            object.__setattr__(owner, name, tuple(seq))
        else:
            seq[int(i)] = obj
    else:
        object.__setattr__(owner, attr, obj)


def _check_keys(given, wanted, fname):
    if not isinstance(given, dict):
        raise TypeError(f"{fname}: expected a dict of arrays keyed by parameter name "
                        f"(see state_dict()), got {type(given).__name__}")
    missing = sorted(set(wanted) - set(given))
    extra = sorted(set(given) - set(wanted))
    if missing or extra:
        raise KeyError(f"{fname}: parameter names do not match: missing {missing}, "
                       f"unexpected {extra}")


def _rng(rng):
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


class Linear(Module):
    """``y = x @ weight + bias`` with ``weight`` of shape ``(in_features, out_features)``.

    Initialisation: He (Kaiming) normal, ``weight ~ N(0, 2 / in_features)``, which keeps
    the scale of ReLU activations from layer to layer; ``bias = 0``.

    Args:
        in_features, out_features: sizes.
        bias: whether to add a bias.
        rng: a seed or ``numpy.random.Generator`` for the initial weights.

    >>> from admodes import nn
    >>> lin = nn.Linear(3, 2, rng=0)
    >>> lin(np.ones((5, 3))).shape
    (5, 2)
    """

    def __init__(self, in_features, out_features, bias=True, *, rng=None):
        self.in_features, self.out_features = int(in_features), int(out_features)
        w = _rng(rng).normal(0.0, math.sqrt(2.0 / self.in_features),
                             (self.in_features, self.out_features))
        self.weight = Parameter(w, "weight")
        self.bias = Parameter(np.zeros(self.out_features), "bias") if bias else None

    def forward(self, x):
        s = shape_of(x)
        if not s or s[-1] != self.in_features:
            raise ValueError(f"Linear({self.in_features}, {self.out_features}): input has "
                             f"shape {s}; its last axis must have {self.in_features} features")
        out = anp.matmul(x, self.weight)
        return out if self.bias is None else out + self.bias


class ReLU(Module):
    """``max(x, 0)`` elementwise.

    >>> from admodes import nn
    >>> nn.ReLU()(np.array([-1.0, 2.0]))
    array([0., 2.])
    """

    def forward(self, x):
        return anp.relu(x)


class Tanh(Module):
    """``tanh(x)`` elementwise.

    >>> from admodes import nn
    >>> nn.Tanh()(np.array([0.0]))
    array([0.])
    """

    def forward(self, x):
        return anp.tanh(x)


class Sigmoid(Module):
    """The logistic sigmoid ``1 / (1 + exp(-x))`` elementwise (stable for any x).

    >>> from admodes import nn
    >>> nn.Sigmoid()(np.array([0.0, -1000.0]))
    array([0.5, 0. ])
    """

    def forward(self, x):
        return anp.sigmoid(x)


class Sequential(Module):
    """Layers applied in order; ``seq[i]`` is the i-th layer.

    >>> from admodes import nn
    >>> net = nn.Sequential(nn.Linear(2, 3, rng=0), nn.Tanh(), nn.Linear(3, 1, rng=1))
    >>> net(np.zeros((4, 2))).shape, len(net)
    ((4, 1), 3)
    """

    def __init__(self, *layers):
        for i, layer in enumerate(layers):
            if not callable(layer):
                raise TypeError(f"Sequential: layer {i} is a {type(layer).__name__}, "
                                "not a module or function")
        self.layers = list(layers)

    def _children(self):
        for i, layer in enumerate(self.layers):
            if isinstance(layer, (Module, Parameter)):
                yield str(i), layer

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self.layers)


_ACTIVATIONS = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid}


class MLP(Sequential):
    """A feedforward net: ``Linear`` layers of the given sizes with an activation
    between them (none after the last, which gives logits).

    Args:
        sizes: ``[in, hidden..., out]``.
        activation: ``"relu"``, ``"tanh"``, ``"sigmoid"`` or a Module class.
        rng: a seed or generator for the initial weights.

    >>> from admodes import nn
    >>> net = nn.MLP([2, 100, 3], rng=0)
    >>> net
    MLP(0.weight=(2, 100), 0.bias=(100,), 2.weight=(100, 3), 2.bias=(3,))
    """

    def __init__(self, sizes, activation="relu", *, rng=None):
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2:
            raise ValueError(f"MLP: sizes needs at least [in, out], got {sizes}")
        if isinstance(activation, str):
            try:
                act = _ACTIVATIONS[activation.lower()]
            except KeyError:
                raise ValueError(f"MLP: unknown activation {activation!r}; expected one "
                                 f"of {sorted(_ACTIVATIONS)} or a Module class") from None
        else:
            act = activation
        gen = _rng(rng)
        layers = []
        for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(Linear(a, b, rng=gen))
            if k < len(sizes) - 2:
                layers.append(act())
        super().__init__(*layers)


# ---------------------------------------------------------------- losses ---------------

_REDUCTIONS = ("mean", "sum", "none")


def _reduce(per_example, n, reduction, fname):
    if reduction == "mean":
        return anp.sum(per_example) / float(n)
    if reduction == "sum":
        return anp.sum(per_example)
    if reduction == "none":
        return per_example
    raise ValueError(f"{fname}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _same_shape(a, b, fname, names):
    sa, sb = shape_of(a), shape_of(b)
    if sa != sb:
        raise ValueError(f"{fname}: {names[0]} has shape {sa} but {names[1]} has shape "
                         f"{sb}; they must match exactly (no broadcasting: a (N, 1) vs (N,) "
                         "mismatch is almost always a bug)")


def _as_target(t):
    if isinstance(t, Box):
        return t
    t = np.asarray(t)
    if t.dtype.kind not in "biuf":
        raise TypeError(f"target has dtype {t.dtype}; expected numbers")
    return t if t.dtype.kind == "f" else t.astype(np.float64)


def mse(pred, target, reduction="mean"):
    """Mean squared error ``mean((pred - target) ** 2)``; gradient
    ``2 (pred - target) / n``.

    Args:
        pred: predictions (any shape).
        target: same shape as ``pred``.
        reduction: ``"mean"`` (over all elements), ``"sum"`` or ``"none"``.

    Returns:
        A scalar (or the elementwise squared errors for ``"none"``).

    >>> from admodes import nn
    >>> float(nn.mse(np.array([1.0, 3.0]), np.array([0.0, 1.0])))
    2.5
    """
    _same_shape(pred, target, "mse", ("pred", "target"))
    d = pred - _as_target(target)
    sq = d * d
    n = max(1, int(np.prod(shape_of(pred), dtype=np.int64)))
    return _reduce(sq, n, reduction, "mse")


def cross_entropy(logits, labels, reduction="mean"):
    """Softmax cross-entropy from logits, computed with log-sum-exp (stable for logits
    of any size).

    ``loss_i = logsumexp(z_i) - z_i[y_i]`` for integer labels, ``-sum_c t_ic
    log_softmax(z_i)_c`` for targets ``t`` of the logits' shape (one-hot or
    probabilities).  With ``reduction="mean"`` the gradient is the textbook
    ``(softmax(z) - onehot(y)) / N``.

    Args:
        logits: shape ``(N, C)``.
        labels: integer class indices of shape ``(N,)`` in ``[0, C)``, or targets of
            shape ``(N, C)``.
        reduction: ``"mean"`` (over examples), ``"sum"`` or ``"none"``.

    Returns:
        The loss (a scalar unless ``reduction="none"``).

    >>> import admodes as ad
    >>> from admodes import nn
    >>> z = np.array([[1000.0, -1000.0], [0.0, 0.0]])
    >>> float(nn.cross_entropy(z, np.array([0, 1]))), float(np.log(2) / 2)
    (0.34657359027997264, 0.34657359027997264)
    >>> ad.grad(nn.cross_entropy)(z, np.array([1, 0]))       # (softmax - onehot) / N
    array([[ 0.5 , -0.5 ],
           [-0.25,  0.25]])
    """
    shape = shape_of(logits)
    if len(shape) != 2:
        raise ValueError(f"cross_entropy: logits must have shape (N, C), one row of class "
                         f"scores per example; got shape {shape}")
    n, c = shape
    if not isinstance(labels, Box):
        y = np.asarray(labels)
        if y.dtype.kind in "iu" or (y.dtype.kind == "f" and y.shape == (n,)) or y.dtype.kind == "b":
            if y.dtype.kind not in "iu":
                raise TypeError(f"cross_entropy: labels of shape {y.shape} must be integer "
                                f"class indices, got dtype {y.dtype}; use labels.astype(int), "
                                f"or pass targets of shape {(n, c)}")
            if y.shape != (n,):
                raise ValueError(f"cross_entropy: integer labels must have shape ({n},) to "
                                 f"match logits of shape {shape}; got {y.shape}")
            if n and (y.min() < 0 or y.max() >= c):
                bad = y[(y < 0) | (y >= c)]
                raise ValueError(f"cross_entropy: labels must lie in [0, {c}) for {c} "
                                 f"classes; got out-of-range label(s) {bad[:5].tolist()}")
            # one primitive: logsumexp(z_i) - z_i[y_i], cotangent softmax - onehot
            return _reduce(softmax_cross_entropy(logits, y), n, reduction, "cross_entropy")
    _same_shape(logits, labels, "cross_entropy", ("logits", "targets"))
    t = _as_target(labels)
    lse = anp.logsumexp(logits, axis=1)
    per = anp.sum(t, axis=1) * lse - anp.sum(t * logits, axis=1)
    return _reduce(per, n, reduction, "cross_entropy")


def binary_cross_entropy_with_logits(logits, targets, reduction="mean"):
    """Binary cross-entropy of ``sigmoid(logits)`` against ``targets`` in [0, 1],
    computed from the logits as ``softplus(z) - t z`` (stable for any z); gradient
    ``(sigmoid(z) - t) / n``.

    Args:
        logits: any shape.
        targets: same shape, values in [0, 1] (bools and ints accepted).
        reduction: ``"mean"`` (over all elements), ``"sum"`` or ``"none"``.

    Returns:
        The loss.

    >>> from admodes import nn
    >>> z, t = np.array([0.0, 1000.0]), np.array([1.0, 1.0])
    >>> float(nn.binary_cross_entropy_with_logits(z, t)), float(np.log(2) / 2)
    (0.34657359027997264, 0.34657359027997264)
    """
    _same_shape(logits, targets, "binary_cross_entropy_with_logits", ("logits", "targets"))
    t = _as_target(targets)
    per = anp.softplus(logits) - t * logits
    n = max(1, int(np.prod(shape_of(logits), dtype=np.int64)))
    return _reduce(per, n, reduction, "binary_cross_entropy_with_logits")


def accuracy(logits, labels):
    """Fraction of rows whose largest logit is at the label (a plain float).

    >>> from admodes import nn
    >>> nn.accuracy(np.array([[2.0, 1.0], [0.0, 3.0]]), np.array([0, 0]))
    0.5
    """
    pred = np.argmax(value(logits), axis=-1)
    y = np.asarray(labels)
    if y.ndim == pred.ndim + 1:
        y = np.argmax(y, axis=-1)
    return float(np.mean(pred == y))


# ---------------------------------------------------------------- optimisers -----------


class Optimizer:
    """Base of the optimisers: per-slot state, ``step()`` over parameters and
    ``update(params, grads)`` over a pytree of arrays.

    Subclasses implement ``_rule(state, x, g) -> new x`` using only operators and
    ``admodes.numpy``, so an update can itself be differentiated.
    """

    def __init__(self, params=None):
        if isinstance(params, Module):
            params = params.parameters()
        self.params = [] if params is None else list(params)
        for i, p in enumerate(self.params):
            if not isinstance(p, Parameter):
                raise TypeError(
                    f"{type(self).__name__}: item {i} of params is a {type(p).__name__}, "
                    "not an nn.Parameter; for arrays use the functional "
                    "opt.update(params, grads) and build the optimiser without params")
        self.state = {}

    def zero_grad(self):
        """Reset the ``.grad`` of every managed parameter to ``None``."""
        for p in self.params:
            p.grad = None

    def step(self):
        """Update every managed parameter that has a ``.grad`` (in place of ``.data``)."""
        if not self.params:
            raise RuntimeError(f"{type(self).__name__}.step(): no parameters to update; "
                               "pass them to the constructor, or use update(params, grads)")
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            p._primal = self._apply(("param", i), p._primal, p.grad)

    def update(self, params, grads):
        """The functional step: returns new params (same pytree) from ``grads``.

        Args:
            params: a pytree (dict, list, tuple) of arrays.
            grads: gradients with the same structure (e.g. from ``ad.grad``).

        Returns:
            The updated pytree.  Optimiser state (momentum, moments) is kept per leaf
            position, so pass the same structure every time.
        """
        leaves, td = flatten(params)
        gleaves, gtd = flatten(grads)
        if gtd != td:
            raise ValueError(f"{type(self).__name__}.update: grads must have the "
                             "structure of params")
        new = []
        for i, (x, g) in enumerate(zip(leaves, gleaves)):
            if shape_of(x) != shape_of(g):
                raise ValueError(f"{type(self).__name__}.update: leaf {i} has shape "
                                 f"{shape_of(x)} but its gradient has shape {shape_of(g)}")
            new.append(self._apply(("leaf", i), x, g))
        return unflatten(td, new)

    def _apply(self, key, x, g):
        st = self.state.get(key)
        if st is None:
            st = self.state[key] = {"t": 0}
        st["t"] += 1
        return self._rule(st, x, g)

    def _rule(self, state, x, g):  # pragma: no cover - abstract
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum and L2 weight decay:
    ``d = g + weight_decay * x``; ``v = momentum * v + d``; ``x = x - lr * v``
    (``v = d`` without momentum).

    Args:
        params: parameters (or a Module) for ``step()``; omit for ``update()``.
        lr: step size (required).
        momentum, weight_decay: as in the formula.

    >>> from admodes import nn
    >>> nn.SGD(lr=0.1).update({"w": np.array([1.0])}, {"w": np.array([2.0])})
    {'w': array([0.8])}
    """

    def __init__(self, params=None, lr=None, momentum=0.0, weight_decay=0.0):
        if lr is None:
            raise TypeError("SGD: lr (the step size) is required, e.g. SGD(params, lr=0.1)")
        super().__init__(params)
        self.lr, self.momentum, self.weight_decay = float(lr), float(momentum), float(weight_decay)

    def _rule(self, st, x, g):
        if self.weight_decay:
            g = g + self.weight_decay * x
        if self.momentum:
            v = st.get("v")
            g = st["v"] = g if v is None else self.momentum * v + g
        return x - self.lr * g


class Adam(Optimizer):
    """Adam: moment estimates with bias correction.  With step count ``t``,
    ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g**2``,
    ``x = x - lr * (m / (1 - b1**t)) / (sqrt(v / (1 - b2**t)) + eps)``
    (``g`` includes ``weight_decay * x`` when set).

    Args:
        params: parameters (or a Module) for ``step()``; omit for ``update()``.
        lr, betas, eps, weight_decay: as in the formula.

    >>> from admodes import nn
    >>> nn.Adam(lr=0.1).update([np.array([1.0])], [np.array([5.0])])   # first step: lr * sign(g)
    [array([0.9])]
    """

    def __init__(self, params=None, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params)
        b1, b2 = betas
        if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
            raise ValueError(f"Adam: betas must lie in [0, 1), got {betas}")
        self.lr, self.betas, self.eps = float(lr), (float(b1), float(b2)), float(eps)
        self.weight_decay = float(weight_decay)

    def _rule(self, st, x, g):
        b1, b2 = self.betas
        t = st["t"]
        if self.weight_decay:
            g = g + self.weight_decay * x
        m = st.get("m")
        v = st.get("v")
        m = st["m"] = (1 - b1) * g if m is None else b1 * m + (1 - b1) * g
        v = st["v"] = (1 - b2) * (g * g) if v is None else b2 * v + (1 - b2) * (g * g)
        m_hat = m / (1 - b1 ** t)
        v_hat = v / (1 - b2 ** t)
        return x - self.lr * m_hat / (anp.sqrt(v_hat) + self.eps)
