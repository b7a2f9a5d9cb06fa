"""THE table of primitives, grouped: elementwise, reductions, shape (with indexing),
contractions (matmul, einsum) and linear algebra (``numpy.linalg``).

Importing this package registers every primitive in :data:`admodes.registry`."""

from . import contractions, elementwise, linalg, reductions, shape  # noqa: F401  (registers)
