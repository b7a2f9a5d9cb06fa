"""Other autodiff libraries, timed on the same problems when they are installed.

A peer that is not installed is reported as such (``available()`` says why); nothing is
ever substituted for it.  Every builder returns zero-argument callables that compute the
same gradient on the same inputs (converted once, outside the timed call), so the
report can interleave their repeats.
"""

from __future__ import annotations

import importlib
import sys
from importlib import metadata

import numpy as np

__all__ = ["PEERS", "available", "mlp_grad_fns", "chain_grad_fns"]

# name -> (module to import, distribution name for the version)
PEERS = {
    "autograd": ("autograd", "autograd"),
    "jax": ("jax", "jax"),
    "torch": ("torch", "torch"),
    "micrograd": ("micrograd.engine", "micrograd"),
}


def available():
    """``name -> version string`` for installed peers, ``None`` for missing ones."""
    out = {}
    for name, (mod, dist) in PEERS.items():
        try:
            importlib.import_module(mod)
        except Exception:  # noqa: BLE001 - any import failure means "not usable"
            out[name] = None
            continue
        try:
            out[name] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[name] = "unknown version"
    return out


def _jax():
    import jax
    jax.config.update("jax_enable_x64", True)  # float64, like numpy and admodes
    return jax


# ---------------------------------------------------------------- MLP gradient --------


def mlp_grad_fns(prob, peers):
    """``name -> (fn, to_numpy)`` for the MLP gradient of ``prob`` (an
    :func:`admodes.bench.problems.mlp_problem`); ``fn()`` returns the library's
    gradients and ``to_numpy`` turns them into a tuple of numpy arrays."""
    params, X, Y = prob.params, prob.X, prob.Y
    out = {}
    ident = lambda g: tuple(np.asarray(a) for a in g)  # noqa: E731
    if peers.get("autograd"):
        from types import SimpleNamespace

        import autograd
        import autograd.numpy as agnp
        from autograd.scipy.special import logsumexp

        from .problems import mlp_loss_fn
        loss = mlp_loss_fn(SimpleNamespace(relu=lambda a: agnp.maximum(a, 0.0),
                                           logsumexp=logsumexp, sum=agnp.sum))
        g = autograd.grad(loss)
        out["autograd"] = (lambda: g(params, X, Y), ident)
    if peers.get("jax"):
        jax = _jax()
        from types import SimpleNamespace

        import jax.numpy as jnp

        from .problems import mlp_loss_fn
        loss = mlp_loss_fn(SimpleNamespace(relu=jax.nn.relu,
                                           logsumexp=jax.scipy.special.logsumexp, sum=jnp.sum))
        jp = tuple(jnp.asarray(p) for p in params)
        jX, jY = jnp.asarray(X), jnp.asarray(Y)
        g_eager = jax.grad(loss)
        g_jit = jax.jit(jax.grad(loss))

        def eager():
            with jax.disable_jit():
                return jax.block_until_ready(g_eager(jp, jX, jY))

        def jitted():
            return jax.block_until_ready(g_jit(jp, jX, jY))

        out["jax (eager)"] = (eager, ident)
        out["jax (jit)"] = (jitted, ident)
    if peers.get("torch"):
        import torch
        tp = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in params]
        tX = torch.tensor(X, dtype=torch.float64)
        tY = torch.tensor(Y, dtype=torch.float64)

        def torch_grad():
            W1, b1, W2, b2 = tp
            z = torch.relu(tX @ W1 + b1) @ W2 + b2
            loss = (torch.logsumexp(z, dim=1).sum() - (z * tY).sum()) / tX.shape[0]
            return torch.autograd.grad(loss, tp)

        out["torch"] = (torch_grad, lambda g: tuple(a.detach().numpy() for a in g))
    return out


# ---------------------------------------------------------------- scalar chain --------


def chain_grad_fns(chain, args, ops, peers):
    """``name -> fn`` computing the gradient of ``chain(*args, ops)`` with each peer:
    ``fn()`` returns a tuple of floats, one derivative per entry of ``args`` (floats,
    every one of them differentiated; ``chain`` is e.g. :func:`.problems.scalar_chain`
    or :func:`.problems.scalar_chain_1`)."""
    args = tuple(float(a) for a in args)
    idx = tuple(range(len(args)))

    def f(*a):
        return chain(*a, ops)

    out = {}
    if peers.get("autograd"):
        import autograd
        if len(args) == 1:
            g1 = autograd.grad(f, 0)
            out["autograd"] = lambda: (g1(*args),)
        elif _autograd_has_tuple_argnum():
            g = autograd.grad(f, argnum=idx)
            out["autograd"] = lambda: tuple(g(*args))
        else:
            gs = [autograd.grad(f, i) for i in idx]
            out["autograd"] = lambda: tuple(g(*args) for g in gs)
    if peers.get("micrograd"):
        from micrograd.engine import Value

        def micro():
            limit = sys.getrecursionlimit()
            sys.setrecursionlimit(max(limit, 4 * ops + 100))  # its topo sort recurses
            try:
                vs = [Value(a) for a in args]
                f(*vs).backward()
                return tuple(v.grad for v in vs)
            finally:
                sys.setrecursionlimit(limit)

        out["micrograd"] = micro
    if peers.get("torch"):
        import torch

        def torch_chain():
            ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in args]
            return tuple(float(v) for v in torch.autograd.grad(f(*ts), ts))

        out["torch"] = torch_chain
    return out


def _autograd_has_tuple_argnum():
    try:
        import autograd
        autograd.grad(lambda a, b: a * b, argnum=(0, 1))(1.0, 2.0)
        return True
    except Exception:  # noqa: BLE001
        return False
