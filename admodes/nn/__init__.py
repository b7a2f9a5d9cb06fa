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

How the define-by-run tape works (no second engine).  Each thread has one define-by-run
:class:`~admodes.reverse.ReverseLevel` (a ``_Tape``): a :class:`Parameter` is a variable of
that level, so every primitive applied to a parameter, or to a result computed from one,
is recorded by the same ``process`` as ``ad.grad``'s.  The record is kept in the value it
produced (a node holding its inputs' nodes), as in PyTorch: ``loss.backward()`` lays out
the nodes that ``loss`` reaches as a tape, runs :func:`admodes.reverse.backward` over it,
adds each parameter's cotangent into ``.grad``, and releases that graph
(``retain_graph=True`` keeps it).  The level is below every transformation level: inside
``ad.grad(f)`` a parameter is a constant to ``f``'s level, and a gradient that depends on
a parameter comes out as a :class:`Variable` (differentiable in turn with respect to the
parameters; ``ad.value`` it, or compute under :func:`no_grad`, for a plain array).

Graph lifetime: each loss owns the graph that produced it.  Independent losses backward
independently; a value computed before an unrelated ``backward()`` stays usable; a graph
that no value references is freed (a forward-only loop does not grow memory, even while
an earlier output is kept).  Two losses that share part of a graph need
``retain_graph=True`` on the first backward; using a value of a released graph in a
differentiable operation raises :class:`ReleasedGraphError`; its plain value
(``float(x)``, ``x.item()``, ``ad.value(x)``) and non-differentiable uses (``argmax``,
comparisons) stay available.

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

from .losses import accuracy, binary_cross_entropy_with_logits, cross_entropy, mse
from .modules import MLP, Linear, Module, ReLU, Sequential, Sigmoid, Tanh
from .optim import SGD, Adam, Optimizer
from .tape import Parameter, ReleasedGraphError, Variable, no_grad

__all__ = [
    "Variable", "Parameter", "no_grad", "ReleasedGraphError",
    "Module", "Linear", "ReLU", "Tanh", "Sigmoid", "Sequential", "MLP",
    "mse", "cross_entropy", "binary_cross_entropy_with_logits", "accuracy",
    "Optimizer", "SGD", "Adam",
]
