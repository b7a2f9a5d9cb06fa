"""admodes: differentiate numpy code in forward and reverse mode from one op registry.

>>> import admodes as ad
>>> ad.grad(lambda a, b: (a + b) * (b + 1), argnums=(0, 1))(2.0, 1.0)
(2.0, 5.0)
"""

from . import nn, numpy, sparse  # noqa: F401  (ad.nn; admodes.numpy installs array behaviour on boxes)
from . import ops as _ops  # noqa: F401  (registers the primitives)
from .api import grad, hessian, hvp, jacfwd, jacobian, jacrev, jvp, value_and_grad, vjp  # noqa: F401
from .check import check_grads, crosscheck, numerical_jacobian  # noqa: F401
from .checkpoint import checkpoint  # noqa: F401
from .conversions import TracerConversionError  # noqa: F401
from .custom import Operation, primitive  # noqa: F401
from .dispatch import EscapedBoxError, counting, value  # noqa: F401
from .graph import Graph, RetraceRequired, trace  # noqa: F401
from .graph.jit import jit  # noqa: F401
from .registry import registry  # noqa: F401
from .sparse import hessian_sparsity, jacobian_sparsity, sparse_hessian, sparse_jacobian  # noqa: F401

__version__ = "0.1.0"

__all__ = [
    "grad", "value_and_grad", "jvp", "vjp", "jacfwd", "jacrev", "jacobian", "hessian",
    "hvp", "registry", "Operation", "primitive", "value", "counting", "EscapedBoxError",
    "check_grads", "numerical_jacobian", "crosscheck", "checkpoint", "trace", "Graph",
    "RetraceRequired", "TracerConversionError", "jit", "numpy", "nn", "sparse",
    "jacobian_sparsity", "hessian_sparsity", "sparse_jacobian", "sparse_hessian",
]
