"""Sparse Jacobians and Hessians: structural sparsity detected from the registry,
colourings, and compressed evaluation with the forward and reverse engines."""

from .coloring import color_columns, color_rows, star_coloring  # noqa: F401
from .compressed import SparseHessian, SparseJacobian, sparse_hessian, sparse_jacobian  # noqa: F401
from .detect import hessian_sparsity, jacobian_sparsity  # noqa: F401
