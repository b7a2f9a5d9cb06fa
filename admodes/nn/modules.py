"""Layers: ``Module`` (parameters, ``state_dict``, functional ``apply``), ``Linear``,
activations, ``Sequential``, ``MLP``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import numpy as anp
from ..dispatch import shape_of
from .tape import Parameter

__all__ = ["Module", "Linear", "ReLU", "Tanh", "Sigmoid", "Sequential", "MLP"]


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

    def named_parameters(self) -> list[tuple[str, Parameter]]:
        """Returns a list of ``(dotted name, Parameter)`` pairs, each parameter once.

        >>> from admodes import nn
        >>> [n for n, _ in nn.MLP([2, 3, 1], rng=0).named_parameters()]
        ['0.weight', '0.bias', '2.weight', '2.bias']
        """
        return [(name, p) for _, _, name, p in self._slots()]

    def parameters(self) -> list[Parameter]:
        """Returns the list of all parameters (recursively over sub-modules).

        >>> from admodes import nn
        >>> [p.shape for p in nn.Linear(3, 2, rng=0).parameters()]
        [(3, 2), (2,)]
        """
        return [p for _, _, _, p in self._slots()]

    def zero_grad(self) -> None:
        """Reset every parameter's ``.grad`` to ``None``."""
        for p in self.parameters():
            p.grad = None

    def state_dict(self) -> dict[str, np.ndarray]:
        """Returns ``{dotted name: numpy array}``, copies of the parameter values: the
        functional-style parameter pytree of this module.

        >>> from admodes import nn
        >>> sorted(nn.Linear(3, 2, rng=0).state_dict())
        ['bias', 'weight']
        """
        return {name: np.array(p._primal) for name, p in self.named_parameters()}

    def load_state_dict(self, state: dict[str, Any]) -> Module:
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

    def apply(self, params: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``forward`` with the values of ``params`` (``{dotted name: array}``)
        standing in for the parameters: the functional form of the module, for
        ``ad.grad`` over a dict of arrays.  (Swaps attributes for the duration of the
        call: not thread-safe on a shared module.)

        Args:
            params: a dict with the keys of :meth:`state_dict`.
            *args: the positional inputs of ``forward``.
            **kwargs: its keyword inputs.

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
