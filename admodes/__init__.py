"""admodes: differentiate numpy code in forward and reverse mode from one op registry.

>>> import admodes as ad
>>> ad.grad(lambda a, b: (a + b) * (b + 1), argnums=(0, 1))(2.0, 1.0)
(2.0, 5.0)
"""

from . import nn, numpy  # noqa: F401  (ad.nn; admodes.numpy installs array behaviour on boxes)
from . import ops as _ops  # noqa: F401  (registers the primitives)
from .api import grad, hessian, hvp, jacfwd, jacobian, jacrev, jvp, value_and_grad, vjp  # noqa: F401
from .checkpoint import checkpoint  # noqa: F401
from .conversions import TracerConversionError  # noqa: F401
from .custom import Operation, primitive  # noqa: F401
from .dispatch import EscapedBoxError, counting, value  # noqa: F401
from .registry import registry  # noqa: F401

__version__ = "0.1.0"

# The parts a program may never touch are loaded on first use (PEP 562), so that
# ``import admodes`` costs what the transformations need: sparse Jacobians (scipy.sparse,
# whose import costs more than the rest of admodes together), static graphs and jit,
# and the checker.
_LAZY = {
    "sparse": ("sparse", None), "jacobian_sparsity": ("sparse", None),
    "hessian_sparsity": ("sparse", None), "sparse_jacobian": ("sparse", None),
    "sparse_hessian": ("sparse", None),
    "trace": ("graph", None), "Graph": ("graph", None), "RetraceRequired": ("graph", None),
    "jit": ("graph.jit", None),
    "check_grads": ("check", None), "crosscheck": ("check", None),
    "numerical_jacobian": ("check", None),
}


def __getattr__(name):
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib
    module = importlib.import_module("." + where[0], __name__)
    obj = module if name == where[0] else getattr(module, name)
    globals()[name] = obj  # later look-ups skip this function
    return obj


def __dir__():
    return sorted(set(globals()) | set(_LAZY))

__all__ = [
    "grad", "value_and_grad", "jvp", "vjp", "jacfwd", "jacrev", "jacobian", "hessian",
    "hvp", "registry", "Operation", "primitive", "value", "counting", "EscapedBoxError",
    "check_grads", "numerical_jacobian", "crosscheck", "checkpoint", "trace", "Graph",
    "RetraceRequired", "TracerConversionError", "jit", "numpy", "nn", "sparse",
    "jacobian_sparsity", "hessian_sparsity", "sparse_jacobian", "sparse_hessian",
]
